/*
 * live: what the verbs that keep running (monitor, transfer) share — Ctrl-C
 * caught as a flag rather than a killed process, the clocks they read, and
 * the next event from xferd with a bounded wait so the flag is seen.
 */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "ctl.h"

static volatile sig_atomic_t stopped;

static void on_signal(int sig)
{
    (void)sig;
    stopped = 1;
}

void ctl_live_catch(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool ctl_live_stopped(void)
{
    return stopped != 0;
}

int64_t ctl_live_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ctl_live_stamp(char *buf, size_t len)
{
    struct tm tm;
    time_t t = time(NULL);
    if (!localtime_r(&t, &tm) || !strftime(buf, len, "%H:%M:%S", &tm))
        snprintf(buf, len, "--:--:--");
}

json_t *ctl_live_next(struct ctl *c, int timeout_ms, bool *closed)
{
    /* Wait in short slices so that Ctrl-C is seen even if the wait is restarted. */
    int64_t until = ctl_live_now_ms() + timeout_ms;
    *closed = false;
    for (;;) {
        int64_t left = until - ctl_live_now_ms();
        int slice = left > 200 ? 200 : left < 0 ? 0 : (int)left;
        char err[CTL_ERRLEN] = "";
        json_t *n = rpc_next_notification(c->rpc, slice, err, sizeof err);
        if (n) {
            json_t *params = json_incref(json_object_get(n, "params"));
            json_decref(n);
            if (params)
                return params;
            continue;
        }
        if (err[0]) {
            fprintf(stderr, "\nxferctl: %s: lost xferd at %s: %s\n", c->verb->name, c->socket, err);
            *closed = true;
            return NULL;
        }
        if (stopped || ctl_live_now_ms() >= until)
            return NULL;
    }
}
