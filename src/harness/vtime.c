/*
 * vtime: virtual time. The clock runs `scale` times faster than the wall and
 * jumps when nothing can happen before a known time:
 *   - nothing has moved through the link for QUIET_NS of wall time (no new
 *     connection, no byte: every request goes through it),
 *   - xferd says nothing is in flight (clock.get in_flight == 0: no transfer
 *     has a connection, no notify or group command runs; asked at most every
 *     JUMP_POLL_NS of wall time) — connections still open are idle in curl's
 *     pool,
 * or, while transfers have connections, when every open connection waits
 * with no timer:
 *   - held by the link: a black hole (no byte moves until the client gives up)
 *     or a connect delay (its end is a jump target; sim_link_clock_jumped),
 *   - or answering a request whose fault rules hold it forever (a silent
 *     server, a stall forever: flt_rules_hold_forever) —
 * and xferd has no request connecting beyond the CONNECTs the link holds
 * unanswered (clock.get's connecting: one it started a moment ago and the
 * link has not seen yet is about to move bytes) — then xferd's connect and
 * response timeouts (engine timers, in next_due_ms) are what comes next, and a
 * jump to them is exact;
 * and then it jumps to the earliest of: what the timeline waits for (a timed
 * trigger, a `wait`, an `expect … within` deadline, the time limit — the
 * caller's target), xferd's next timer (next_due_ms), the model's next change
 * by itself (billing period, battery) — unless xferd's answer came with
 * events, which may fire the waiting line first. Fault rules' `refuse for=` windows are
 * read from the clock, so a jump moves them too. After a jump, clock.sync
 * sets xferd's clock to exactly ours (wall0_ns, sim0_ms) and the model runs
 * to the new time.
 */
#include <inttypes.h>
#include <stdio.h>

#include "run.h"

#define JUMP_MIN_MS  100          /* not worth a jump below this much simulated time */
#define JUMP_POLL_NS (1000000LL)  /* ask xferd at most every 1 ms of wall time */
#define QUIET_NS     (20000000LL) /* open connections: nothing moved for 20 ms of wall time */

/* Requests the origins are answering now: how many, and whether all wait forever. */
static size_t origins_pending(struct hx_world *w, bool *forever)
{
    size_t pending = 0;
    *forever = true;
    for (size_t i = 0; i < w->norigins; i++) {
        struct flt_origin *o = &w->origins[i]->o;
        size_t n = flt_journal_count(&o->journal);
        for (size_t k = 0; k < n; k++) {
            struct flt_jentry e;
            if (flt_journal_get(&o->journal, k, &e) != 0)
                continue;
            if (e.outcome == FLT_OUT_PENDING) {
                pending++;
                if (!flt_rules_hold_forever(&o->rules, e.fired))
                    *forever = false;
            }
            flt_jentry_release(&e);
        }
    }
    return pending;
}

/* Open connections that only a timeout can end, with nothing moving for QUIET_NS. */
/* Nothing has moved through the link (connections, bytes) for QUIET_NS of wall time. */
static bool link_quiet(struct hx_run *r, const struct sim_link_stats *ls)
{
    uint64_t moved = ls->connections + ls->refused + ls->up + ls->down;
    int64_t wall = xl_mono_ns();
    if (moved != r->quiet_moved || r->quiet_since_ns == 0) {
        r->quiet_moved = moved;
        r->quiet_since_ns = wall;
        return false;
    }
    return wall - r->quiet_since_ns >= QUIET_NS;
}

/* Every open connection waits for something only a timeout can end. */
static bool all_waiting(struct hx_run *r, const struct sim_link_stats *ls)
{
    bool forever;
    size_t pending = origins_pending(&r->world, &forever);
    return forever && ls->held + pending >= ls->open;
}

int hx_vtime_sync(struct hx_run *r, char *err, size_t errlen)
{
    const struct xl_clock *c = &r->world.clock;
    json_t *p = json_pack("{s:I, s:I}", "wall0_ns", (json_int_t)c->wall0_ns, "sim0_ms",
                          (json_int_t)c->sim0_ms);
    return hx_session_call(&r->sess, "clock.sync", p, NULL, NULL, err, errlen) == 0 ? 0 : -1;
}

/*
 * xferd's next timer, or INT64_MAX, and how many of its requests are still
 * connecting; false when something is in flight or it cannot say.
 */
static bool xferd_idle(struct hx_run *r, int64_t *next_due, unsigned *connecting)
{
    *next_due = INT64_MAX;
    *connecting = 0;
    if (r->proc.pid <= 0)
        return true; /* killed: nothing runs there */
    if (!hx_session_attached(&r->sess))
        return false; /* we cannot know */
    char err[512];
    json_t *res = NULL;
    if (hx_session_call(&r->sess, "clock.get", NULL, &res, NULL, err, sizeof err) != 0)
        return false;
    bool idle = json_integer_value(json_object_get(res, "in_flight")) == 0;
    *connecting = (unsigned)json_integer_value(json_object_get(res, "connecting"));
    json_t *due = json_object_get(res, "next_due_ms");
    if (json_is_integer(due))
        *next_due = (int64_t)json_integer_value(due);
    json_decref(res);
    return idle;
}

void hx_vtime_maybe_jump(struct hx_run *r, int64_t target)
{
    struct hx_world *w = &r->world;
    int64_t now = hx_world_now(w);
    if (target - now < JUMP_MIN_MS)
        return;
    struct sim_link_stats ls;
    sim_link_stats(w->link, &ls);
    if (ls.open > 0 && !link_quiet(r, &ls))
        return;
    int64_t wall = xl_mono_ns();
    if (wall - r->last_clock_get_ns < JUMP_POLL_NS)
        return;
    r->last_clock_get_ns = wall;
    int64_t due;
    unsigned connecting;
    bool waiting = false;
    unsigned long seen = r->sess.delivered;
    bool idle = xferd_idle(r, &due, &connecting);
    /* Events that came with the answer (a state change, say) may fire the line's trigger
     * or settle its check: look again before moving the clock. */
    if (r->sess.delivered != seen)
        return;
    if (!idle) {
        /* Transfers are open: jump only when each waits for its timeout. */
        waiting = ls.open > 0 && all_waiting(r, &ls);
        if (!waiting)
            return;
        /* A request xferd started that the link has not seen wait is about to move. */
        if (connecting > ls.unanswered)
            return;
        if (due == INT64_MAX)
            return; /* xferd would wait forever too: let the time limit end it */
    }
    if (due < target)
        target = due;
    if (ls.next_ms < target)
        target = ls.next_ms; /* a connect delay ends */
    int64_t model = sim_model_next_change(&w->model, false);
    if (model < target)
        target = model;
    now = hx_world_now(w);
    if (target - now < JUMP_MIN_MS)
        return;
    xl_clock_advance(&w->clock, target - now);
    sim_link_clock_jumped(w->link);
    char err[512] = "";
    if (r->proc.pid > 0 && hx_vtime_sync(r, err, sizeof err) < 0)
        hx_trace_event(r->trace, target, "note", 0, false, "clock.sync: %s", err);
    char d[64];
    xl_format_duration(target - now, d, sizeof d);
    hx_trace_event(r->trace, now, "note", 0, true, "clock jumped %s (%s)", d,
                   waiting ? "every connection waits for a timeout" : "nothing in flight");
    hx_world_tick(w, false);
}
