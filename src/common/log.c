/* log: leveled stderr logging with a monotonic timestamp. */
#include "log.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int current = -1;

static const char *level_name(enum xl_log_level l)
{
    switch (l) {
    case XL_LOG_ERROR:
        return "error";
    case XL_LOG_WARN:
        return "warn";
    case XL_LOG_INFO:
        return "info";
    case XL_LOG_DEBUG:
        return "debug";
    }
    return "?";
}

static int level_from_env(void)
{
    const char *e = getenv("XFER_LOG");
    if (!e)
        return XL_LOG_WARN;
    for (int l = XL_LOG_ERROR; l <= XL_LOG_DEBUG; l++)
        if (strcmp(e, level_name((enum xl_log_level)l)) == 0)
            return l;
    return XL_LOG_WARN;
}

void xl_log_set_level(enum xl_log_level level)
{
    current = (int)level;
}

void xl_log(enum xl_log_level level, const char *component, const char *fmt, ...)
{
    if (current < 0)
        current = level_from_env();
    if ((int)level > current)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    double t = (double)xl_mono_ns() / 1e9;
    fprintf(stderr, "%.3f %s %s: %s\n", t, level_name(level), component, line);
}
