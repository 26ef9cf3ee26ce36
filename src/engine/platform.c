/*
 * platform: how the engine learns the platform, and what a change does.
 *
 * A provider (xfer.h) calls platform_changed() with every new state. The
 * engine keeps the state and re-evaluates every job at once (eng_reevaluate):
 * a job the policy blocks while it is QUEUED, moving or retrying goes to
 * TRANSIENT_ERROR with the block's code (a moving one stops at once, keeping
 * its checkpoint); a blocked job the policy allows again goes back to QUEUED
 * and resumes from its checkpoint with a Range request. When connectivity
 * returns, every TRANSIENT_ERROR job is re-queued, whatever its error
 * (semantics.md §1.2: "TRANSIENT_ERROR (any error code) | network connection
 * re-established | QUEUED").
 *
 * The simulation provider below holds a state that the harness pushes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"
#include "policy.h"

void eng_reevaluate(struct xfer_engine *e, struct job *j, bool reconnected)
{
    if (j->gone)
        return;
    switch (j->state) {
    case XFER_QUEUED:
    case XFER_CONNECTING:
    case XFER_TRANSFERRING:
    case XFER_TRANSIENT_ERROR:
        break;
    case XFER_SUSPENDED:
    case XFER_ERROR:
    case XFER_TRANSFERRED:
    case XFER_ACKNOWLEDGED:
    case XFER_CANCELLED:
        return;
    }
    struct policy_verdict v = policy_decide(j->cost_flags, j->priority, &e->platform);
    if (!v.allowed) {
        xfer_hr hr = xe_hr(v.why);
        if (j->state == XFER_TRANSIENT_ERROR && j->blocked_hr == hr)
            return;
        char desc[512];
        size_t f = job_current_file(j);
        snprintf(desc, sizeof desc, "%s%s%s", xe_row(v.why)->message, f < j->nfiles ? " " : "",
                 f < j->nfiles ? j->files[f].url : "");
        eng_set_error(e, j, hr, xe_row(v.why)->context, f < j->nfiles ? (int)f : -1, desc);
        j->blocked_hr = hr;
        j->retry_at = -1;
        if (j->state == XFER_TRANSIENT_ERROR) {
            eng_save(e, j); /* another block, or a block over a retry: the code changes */
            return;
        }
        eng_trigger(e, j, ST_BLOCKED, hr);
        return;
    }
    if (j->state == XFER_TRANSIENT_ERROR && (j->blocked_hr || reconnected)) {
        j->blocked_hr = 0;
        eng_trigger(e, j, ST_UNBLOCKED, 0);
    }
}

static void platform_changed(void *arg, const struct xfer_platform *p)
{
    struct xfer_engine *e = arg;
    bool reconnected =
        e->platform.connectivity != XFER_NET_INTERNET && p->connectivity == XFER_NET_INTERNET;
    e->platform = *p;
    for (struct job *j = e->jobs; j; j = j->next)
        eng_reevaluate(e, j, reconnected);
    eng_kick(e);
}

int eng_platform_start(struct xfer_engine *e)
{
    e->platform =
        (struct xfer_platform){.connectivity = XFER_NET_INTERNET, .cost = XFER_COST_UNRESTRICTED};
    if (!e->cfg.platform)
        return 0;
    e->provider = *e->cfg.platform;
    return e->provider.start(e->provider.self, e->base, platform_changed, e);
}

void eng_platform_stop(struct xfer_engine *e)
{
    if (e->provider.stop)
        e->provider.stop(e->provider.self);
    e->provider.stop = NULL;
}

void xfer_engine_platform(const struct xfer_engine *e, struct xfer_platform *out)
{
    *out = e->platform;
}

/* ------------------------------------------------------------ simulation */

struct xfer_platform_sim {
    struct xfer_platform state;
    void (*changed)(void *arg, const struct xfer_platform *p);
    void *arg;
};

struct xfer_platform_sim *xfer_platform_sim_new(void)
{
    struct xfer_platform_sim *s = calloc(1, sizeof *s);
    if (s)
        s->state = (struct xfer_platform){.connectivity = XFER_NET_INTERNET,
                                          .cost = XFER_COST_UNRESTRICTED};
    return s;
}

void xfer_platform_sim_free(struct xfer_platform_sim *s)
{
    free(s);
}

static int sim_start(void *self, struct event_base *base,
                     void (*changed)(void *arg, const struct xfer_platform *p), void *arg)
{
    (void)base;
    struct xfer_platform_sim *s = self;
    s->changed = changed;
    s->arg = arg;
    changed(arg, &s->state);
    return 0;
}

static void sim_stop(void *self)
{
    struct xfer_platform_sim *s = self;
    s->changed = NULL;
    s->arg = NULL;
}

struct xfer_platform_provider xfer_platform_sim_provider(struct xfer_platform_sim *s)
{
    return (struct xfer_platform_provider){
        .name = "sim", .start = sim_start, .stop = sim_stop, .self = s};
}

void xfer_platform_sim_push(struct xfer_platform_sim *s, const struct xfer_platform *p)
{
    s->state = *p;
    if (s->changed)
        s->changed(s->arg, &s->state);
}
