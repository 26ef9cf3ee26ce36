/*
 * clock: the one timeline (decisions.md, "Time").
 *
 * Everything that waits — fault-server stalls, throttles, later the engine's
 * timeouts — reads time and converts durations through an xl_clock. In
 * production the clock is the monotonic clock at scale 1. In the harness it runs
 * `scale` times faster than the wall clock and can jump forward, so a 5-minute
 * timeout costs a fraction of a second. A NULL clock means the real one.
 */
#ifndef XL_CLOCK_H
#define XL_CLOCK_H

#include <stdint.h>
#include <sys/time.h>

struct xl_clock {
    double scale;     /* simulated seconds per wall second, > 0 */
    int64_t wall0_ns; /* monotonic wall time at simulated time sim0_ms */
    int64_t sim0_ms;  /* simulated time at wall0_ns (advanced by jumps) */
};

/* Start a clock at simulated time 0 running scale times faster than the wall. */
void xl_clock_init(struct xl_clock *c, double scale);
/* Simulated milliseconds since the clock started (real monotonic ms for NULL). */
int64_t xl_clock_now_ms(const struct xl_clock *c);
/* Jump simulated time forward by ms (harness only; never backwards). */
void xl_clock_advance(struct xl_clock *c, int64_t ms);
/* The wall-clock timeval that lasts sim_ms of simulated time (for libevent timers). */
struct timeval xl_clock_wall_tv(const struct xl_clock *c, int64_t sim_ms);
/* Real monotonic time in nanoseconds. */
int64_t xl_mono_ns(void);

#endif
