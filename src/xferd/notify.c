/*
 * notify: run records, retries and the per-user limit (see notify.h).
 *
 * A run is keyed by (job, state, entered_ms): the engine time of the
 * transition into the state, from the job's history. Leaving the state and
 * entering it again is a new run; a retry timer that fires for a run whose
 * job moved on simply drops it.
 */
#include "notify.h"

#include <event2/event.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobjson.h"
#include "log.h"
#include "server.h"
#include "spawn.h"

#define BG_NOTIFY_JOB_TRANSFERRED 0x1u
#define BG_NOTIFY_JOB_ERROR       0x2u
#define BG_NOTIFY_DISABLE         0x4u

struct run {
    struct xd_notify *n;
    xfer_guid g;
    uid_t owner;
    enum xfer_state state;
    int64_t entered_ms;
    char *cmdline;
    unsigned attempt;
    bool running, waiting;
    struct event *timer;
    int64_t due_clock_ms;
    struct run *prev, *next;
};

struct xd_notify {
    struct xferd *x;
    struct run *runs;
};

struct xd_notify *xd_notify_new(struct xferd *x)
{
    struct xd_notify *n = calloc(1, sizeof *n);
    if (n)
        n->x = x;
    return n;
}

static void run_free(struct run *r)
{
    struct xd_notify *n = r->n;
    if (r->prev)
        r->prev->next = r->next;
    else
        n->runs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->timer)
        event_free(r->timer);
    free(r->cmdline);
    free(r);
}

void xd_notify_free(struct xd_notify *n)
{
    if (!n)
        return;
    while (n->runs) {
        /* A running child's callback points here: main.c frees spawn (and its callbacks) first. */
        run_free(n->runs);
    }
    free(n);
}

static const char *reason_of(enum xfer_state s)
{
    return s == XFER_TRANSFERRED ? "transferred" : "error";
}

/* When the job entered its current state (engine ms), or -1. */
static int64_t entered_ms(struct xferd *x, const xfer_guid *g, enum xfer_state state)
{
    struct xfer_transition *t = NULL;
    size_t nt = 0, i;
    int64_t at = -1;
    if (XFER_FAILED(xfer_job_history(x->eng, XFER_OWNER_ANY, g, &t, &nt)))
        return -1;
    for (i = nt; i-- > 0;) {
        if (t[i].new_state == state) {
            at = t[i].time_ms;
            break;
        }
    }
    free(t);
    return at;
}

static bool still_in_state(struct run *r)
{
    struct xfer_job_info *info = NULL;
    bool same;
    if (XFER_FAILED(xfer_job_info(r->n->x->eng, XFER_OWNER_ANY, &r->g, &info)))
        return false;
    same = info->state == r->state;
    free(info);
    return same && entered_ms(r->n->x, &r->g, r->state) == r->entered_ms;
}

static bool done_before(struct xd_notify *n, const xfer_guid *g, enum xfer_state s, int64_t at)
{
    char gs[XFER_GUID_LEN];
    sqlite3_stmt *st = NULL;
    bool found = false;
    xfer_guid_format(g, gs);
    if (sqlite3_prepare_v2(n->x->db,
                           "SELECT 1 FROM notify_done WHERE guid=? AND state=? AND entered_ms=?",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, gs, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, (int)s);
    sqlite3_bind_int64(st, 3, at);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static void record_done(struct run *r)
{
    char gs[XFER_GUID_LEN];
    sqlite3_stmt *st = NULL;
    xfer_guid_format(&r->g, gs);
    if (sqlite3_prepare_v2(r->n->x->db,
                           "INSERT OR IGNORE INTO notify_done(guid, state, entered_ms) "
                           "VALUES(?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        xl_log(XL_LOG_ERROR, "notify", "xferd.db: %s", sqlite3_errmsg(r->n->x->db));
        return;
    }
    sqlite3_bind_text(st, 1, gs, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, (int)r->state);
    sqlite3_bind_int64(st, 3, r->entered_ms);
    if (sqlite3_step(st) != SQLITE_DONE)
        xl_log(XL_LOG_ERROR, "notify", "xferd.db: %s", sqlite3_errmsg(r->n->x->db));
    sqlite3_finalize(st);
}

static void run_start(struct run *r);

static void emit(struct run *r, int code)
{
    struct xferd *x = r->n->x;
    char gs[XFER_GUID_LEN];
    int64_t now = xfer_engine_now(x->eng);
    json_t *p;
    xfer_guid_format(&r->g, gs);
    p = json_pack("{s:s, s:I, s:s, s:s, s:i, s:i}", "job", gs, "time_ms", (json_int_t)now, "reason",
                  reason_of(r->state), "cmdline", r->cmdline, "exit", code, "attempt",
                  (int)r->attempt);
    if (p)
        xd_server_broadcast(x->srv, "notify", &r->g, r->owner, now, p);
    json_decref(p);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct run *r = arg;
    (void)fd;
    (void)what;
    if (!still_in_state(r)) {
        run_free(r);
        return;
    }
    run_start(r);
}

static void arm(struct run *r)
{
    int64_t left = r->due_clock_ms - xl_clock_now_ms(&r->n->x->clock);
    struct timeval tv = xl_clock_wall_tv(&r->n->x->clock, left > 0 ? left : 0);
    if (!r->timer)
        r->timer = evtimer_new(r->n->x->base, on_retry, r);
    if (r->timer)
        evtimer_add(r->timer, &tv);
}

static void on_exit_code(void *arg, int code)
{
    struct run *r = arg;
    struct xd_notify *n = r->n;
    uid_t owner = r->owner;
    struct xfer_job_info *info = NULL;

    r->running = false;
    xl_log(XL_LOG_INFO, "notify", "job's command exited %d (attempt %u)", code, r->attempt);
    emit(r, code);
    if (code == 0) {
        record_done(r);
        run_free(r);
    } else if (!still_in_state(r) ||
               XFER_FAILED(xfer_job_info(n->x->eng, XFER_OWNER_ANY, &r->g, &info))) {
        run_free(r);
    } else {
        r->due_clock_ms = xl_clock_now_ms(&n->x->clock) + info->min_retry_delay_s * 1000;
        arm(r);
    }
    free(info);
    xd_notify_slot_free(n, owner);
}

static void run_start(struct run *r)
{
    struct xferd *x = r->n->x;
    char gs[XFER_GUID_LEN], ej[64], es[64], err[256];
    const char *env[3];
    if (xd_spawn_running(x->spawn, r->owner) >= XD_NOTIFY_PER_USER) {
        r->waiting = true;
        return;
    }
    r->waiting = false;
    xfer_guid_format(&r->g, gs);
    snprintf(ej, sizeof ej, "XFER_JOB=%s", gs);
    snprintf(es, sizeof es, "XFER_STATE=%s", xfer_state_name(r->state));
    env[0] = ej;
    env[1] = es;
    env[2] = NULL;
    r->attempt++;
    if (xd_spawn_run(x->spawn, r->owner, r->cmdline, env, on_exit_code, r, err, sizeof err) < 0) {
        xl_log(XL_LOG_ERROR, "notify", "job %s: %s", gs, err);
        r->running = true; /* report it as a failed run, retried like one */
        on_exit_code(r, 127);
        return;
    }
    r->running = true;
}

void xd_notify_slot_free(struct xd_notify *n, uid_t uid)
{
    struct run *r;
    for (r = n->runs; r; r = r->next) {
        if (r->waiting && r->owner == uid) {
            run_start(r);
            if (r->waiting)
                return;
        }
    }
}

void xd_notify_check_job(struct xd_notify *n, const xfer_guid *job)
{
    struct xferd *x = n->x;
    struct xfer_job_info *info = NULL;
    char cmd[8192];
    uint32_t want;
    int64_t at;
    struct run *r;

    if (XFER_FAILED(xfer_job_info(x->eng, XFER_OWNER_ANY, job, &info)))
        return;
    if (info->state != XFER_TRANSFERRED && info->state != XFER_ERROR)
        goto done;
    want = info->state == XFER_TRANSFERRED ? BG_NOTIFY_JOB_TRANSFERRED : BG_NOTIFY_JOB_ERROR;
    if (!(info->notify_flags & want) || (info->notify_flags & BG_NOTIFY_DISABLE))
        goto done;
    if (XFER_FAILED(xfer_job_get(x->eng, XFER_OWNER_ANY, job, "notify_cmdline", cmd, sizeof cmd)) ||
        !cmd[0])
        goto done;
    at = entered_ms(x, job, info->state);
    for (r = n->runs; r; r = r->next)
        if (!memcmp(&r->g, job, sizeof *job) && r->state == info->state && r->entered_ms == at)
            goto done;
    if (done_before(n, job, info->state, at))
        goto done;
    r = calloc(1, sizeof *r);
    if (!r || !(r->cmdline = strdup(cmd))) {
        free(r);
        goto done;
    }
    r->n = n;
    r->g = *job;
    r->owner = info->owner;
    r->state = info->state;
    r->entered_ms = at;
    r->next = n->runs;
    if (n->runs)
        n->runs->prev = r;
    n->runs = r;
    run_start(r);
done:
    free(info);
}

void xd_notify_check_all(struct xd_notify *n)
{
    xfer_guid *all = NULL;
    size_t nall = 0, i;
    if (XFER_FAILED(xfer_job_enum(n->x->eng, XFER_OWNER_ANY, &all, &nall)))
        return;
    for (i = 0; i < nall; i++)
        xd_notify_check_job(n, &all[i]);
    free(all);
}

void xd_notify_on_event(struct xd_notify *n, const struct xfer_event *ev)
{
    if (ev->type != XFER_EV_STATE)
        return;
    if (ev->new_state == XFER_TRANSFERRED || ev->new_state == XFER_ERROR)
        xd_notify_check_job(n, &ev->job);
}

int64_t xd_notify_next_due(const struct xd_notify *n)
{
    int64_t due = INT64_MAX;
    for (const struct run *r = n->runs; r; r = r->next)
        if (r->timer && evtimer_pending(r->timer, NULL) && r->due_clock_ms < due)
            due = r->due_clock_ms;
    return due;
}

void xd_notify_clock_jumped(struct xd_notify *n)
{
    struct run *r;
    for (r = n->runs; r; r = r->next)
        if (r->timer && evtimer_pending(r->timer, NULL))
            arm(r);
}
