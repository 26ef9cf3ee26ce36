/*
 * clock: simulated time as an affine function of the monotonic wall clock.
 * now = sim0 + (wall - wall0) * scale; a jump moves sim0 forward.
 */
#include "clock.h"

#include <time.h>

int64_t xl_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void xl_clock_init(struct xl_clock *c, double scale)
{
    c->scale = scale > 0 ? scale : 1;
    c->wall0_ns = xl_mono_ns();
    c->sim0_ms = 0;
}

int64_t xl_clock_now_ms(const struct xl_clock *c)
{
    if (!c)
        return xl_mono_ns() / 1000000;
    double elapsed_ms = (double)(xl_mono_ns() - c->wall0_ns) / 1e6 * c->scale;
    return c->sim0_ms + (int64_t)elapsed_ms;
}

void xl_clock_advance(struct xl_clock *c, int64_t ms)
{
    if (ms > 0)
        c->sim0_ms += ms;
}

struct timeval xl_clock_wall_tv(const struct xl_clock *c, int64_t sim_ms)
{
    double wall_us = (double)sim_ms * 1000.0 / (c ? c->scale : 1.0);
    if (wall_us < 0)
        wall_us = 0;
    struct timeval tv = {.tv_sec = (time_t)(wall_us / 1e6),
                         .tv_usec = (suseconds_t)((int64_t)wall_us % 1000000)};
    return tv;
}
