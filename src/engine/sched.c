/*
 * sched: which jobs move, and every engine timer (semantics.md §1.3, §1.5).
 *
 * sched_run decides who holds a transfer:
 *   - every QUEUED FOREGROUND job starts, up to max_transfers in all;
 *   - of the background priorities (HIGH, NORMAL, LOW) one job moves at a
 *     time: the highest priority, FIFO within it. A queued job of a higher
 *     priority preempts the running one; one of the same priority takes over
 *     when the running job's slice (slice_ms) ends, and the old one goes to
 *     the back of its priority (round robin).
 *   - files of a job move one after the other (fetch.c).
 *
 * sched_tick fires what is due, in engine time: the no-response and
 * checkpoint timers of running fetches, MaxDownloadTime, the retry delay and
 * NoProgressTimeout of TRANSIENT_ERROR jobs, and JobInactivityTimeout.
 * sched_next_due computes the earliest of the same deadlines, so engine.c
 * arms one libevent timer for it and the harness knows how far it may jump.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"

static int64_t npt_due(const struct job *j)
{
    if (j->state != XFER_TRANSIENT_ERROR || j->blocked_hr || j->no_progress_since < 0)
        return INT64_MAX;
    return j->no_progress_since + j->no_progress_timeout_s * 1000;
}

static int64_t retry_due(const struct job *j)
{
    if (j->state != XFER_TRANSIENT_ERROR || j->blocked_hr || j->retry_at < 0)
        return INT64_MAX;
    return j->retry_at;
}

static int64_t maxtime_due(const struct job *j)
{
    if (!st_is_moving(j->state) || j->active_since < 0)
        return INT64_MAX;
    return j->active_since + (j->max_download_time_s * 1000 - j->active_ms);
}

static int64_t inactive_due(const struct job *j)
{
    if (st_is_final(j->state) || j->last_activity < 0)
        return INT64_MAX;
    return j->last_activity + ENG_INACTIVITY_MS;
}

void sched_tick(struct xfer_engine *e)
{
    int64_t now = eng_now(e);
    for (struct job *j = e->jobs; j; j = j->next) {
        if (j->gone)
            continue;
        if (j->fetch)
            fetch_tick(e, j, now);
        if (now >= maxtime_due(j)) {
            size_t f = job_current_file(j);
            char desc[512];
            snprintf(desc, sizeof desc, "%s (%" PRId64 " s connecting and transferring%s%s)",
                     xe_row(XE_MAXDOWNLOAD_TIMEOUT)->message, j->max_download_time_s,
                     f < j->nfiles ? "; at " : "", f < j->nfiles ? j->files[f].url : "");
            eng_set_error(e, j, xe_hr(XE_MAXDOWNLOAD_TIMEOUT), XFER_CTX_GENERAL_QUEUE_MANAGER,
                          (int)f, desc);
            j->error_count++;
            eng_trigger(e, j, ST_MAX_TIME, xe_hr(XE_MAXDOWNLOAD_TIMEOUT));
        } else if (now >= npt_due(j)) {
            /* decisions.md: ERROR keeps the last transient error's code and context. */
            eng_trigger(e, j, ST_NO_PROGRESS, j->err_hr);
        } else if (now >= retry_due(j)) {
            eng_trigger(e, j, ST_RETRY_DUE, j->err_hr);
        }
        if (now >= inactive_due(j)) {
            xl_log(XL_LOG_INFO, "sched", "job inactive for 90 days: cancelled");
            fetch_stop(e, j, false);
            for (size_t i = 0; i < j->nfiles; i++)
                unlink(j->files[i].temp);
            eng_trigger(e, j, ST_INACTIVE, 0);
        }
    }
    if (now - e->clock_saved >= 1000) {
        store_set_clock(e->store, now);
        e->clock_saved = now;
    }
}

/* Another job of j's priority waits: j's slice ending will matter. */
static bool slice_contested(const struct xfer_engine *e, const struct job *j)
{
    for (const struct job *o = e->jobs; o; o = o->next)
        if (o != j && !o->gone && o->state == XFER_QUEUED && o->priority == j->priority)
            return true;
    return false;
}

int64_t sched_next_due(const struct xfer_engine *e)
{
    int64_t due = INT64_MAX;
#define MIN(x)                                                                                     \
    do {                                                                                           \
        int64_t v_ = (x);                                                                          \
        if (v_ < due)                                                                              \
            due = v_;                                                                              \
    } while (0)
    for (const struct job *j = e->jobs; j; j = j->next) {
        if (j->gone)
            continue;
        MIN(fetch_next_due(j));
        MIN(maxtime_due(j));
        MIN(npt_due(j));
        MIN(retry_due(j));
        MIN(inactive_due(j));
        if (j->slice_end >= 0 && j->priority != XFER_FOREGROUND && slice_contested(e, j))
            MIN(j->slice_end);
    }
#undef MIN
    return due;
}

static void start(struct xfer_engine *e, struct job *j, int64_t now)
{
    eng_reevaluate(e, j, false); /* the policy first: a blocked job waits in TRANSIENT_ERROR */
    if (j->state != XFER_QUEUED)
        return;
    j->retries = 0;
    eng_trigger(e, j, ST_SCHEDULE, 0);
    if (j->state != XFER_CONNECTING)
        return;
    j->slice_end = now + e->cfg.slice_ms;
    xfer_hr hr = fetch_start(e, j);
    if (XFER_FAILED(hr)) {
        const struct xfer_error_row *row = xfer_error_find(hr);
        eng_fail(e, j, hr, row && row->transient, (int)job_current_file(j), j->err_desc, 0);
    } else if (!j->fetch) {
        eng_trigger(e, j, ST_ALL_DONE, 0); /* nothing left to move */
    }
}

/* a goes before b: higher priority (smaller number), then FIFO. */
static bool before(const struct job *a, const struct job *b)
{
    return !b || a->priority < b->priority || (a->priority == b->priority && a->seq < b->seq);
}

void sched_run(struct xfer_engine *e)
{
    eng_reap(e);
    if (e->closing)
        return;
    int64_t now = eng_now(e);
    unsigned running = 0;
    struct job *bg = NULL, *best = NULL;
    for (struct job *j = e->jobs; j; j = j->next) {
        if (st_is_moving(j->state)) {
            running++;
            if (j->priority != XFER_FOREGROUND)
                bg = before(j, bg) ? j : bg;
        } else if (j->state == XFER_QUEUED && j->priority != XFER_FOREGROUND && before(j, best)) {
            best = j;
        }
    }
    if (bg && best) {
        if (best->priority < bg->priority) {
            eng_trigger(e, bg, ST_PREEMPTED, 0);
        } else if (best->priority == bg->priority && bg->slice_end >= 0 && now >= bg->slice_end) {
            bg->seq = ++e->seq; /* to the back of its priority */
            eng_trigger(e, bg, ST_SLICE_END, 0);
        }
        if (!st_is_moving(bg->state)) {
            running--;
            bg = NULL;
        }
    }
    for (struct job *j = e->jobs; j && running < e->cfg.max_transfers; j = j->next) {
        if (j->state == XFER_QUEUED && j->priority == XFER_FOREGROUND && !j->gone) {
            start(e, j, now);
            running++;
        }
    }
    if (!bg && best && running < e->cfg.max_transfers && best->state == XFER_QUEUED)
        start(e, best, now);
    eng_reap(e);
}
