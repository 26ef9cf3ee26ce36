/*
 * log: one line per event on stderr, "time level component: message".
 * The level comes from XFER_LOG (error, warn, info, debug); the default is warn.
 */
#ifndef XL_LOG_H
#define XL_LOG_H

enum xl_log_level { XL_LOG_ERROR, XL_LOG_WARN, XL_LOG_INFO, XL_LOG_DEBUG };

void xl_log(enum xl_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Override the level chosen from the environment. */
void xl_log_set_level(enum xl_log_level level);

#endif
