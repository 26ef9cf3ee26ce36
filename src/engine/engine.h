/*
 * engine: what the engine's modules share behind xfer.h.
 *
 *   engine.c  the public API: validation, jobs by GUID and owner, the one
 *             function that changes a job's state (eng_set_state), events,
 *             the store writes that go with them.
 *   props.c   the property table behind xfer_job_set / xfer_job_get.
 *   sched.c   which jobs move (priorities, slices, limits) and every timer:
 *             retry delay, no-progress, max download time, inactivity,
 *             checkpoints, the no-response timeout. One libevent timer is
 *             armed for the earliest of them, in engine time.
 *   fetch.c   one job's transfer of its current file over libcurl: requests,
 *             response checks, writing, checkpoints, resume, restart.
 *   curlev.c  libcurl multi on libevent.
 *   partial.c temporary files and the partial-file check.
 *   policy.c  may a job transfer on this network and battery (pure).
 *   platform.c the platform provider, and what a change does to the jobs.
 *
 * Data flows one way: an API call or a libcurl callback changes a job through
 * eng_set_state / eng_fail and then calls eng_kick; the scheduler runs once
 * per loop iteration after that and starts or stops fetches.
 */
#ifndef XFER_ENGINE_H
#define XFER_ENGINE_H

#include <event2/event.h>

#include "clock.h"
#include "curlev.h"
#include "errtab.h"
#include "job.h"
#include "state.h"
#include "store.h"
#include "xfer/xfer.h"

#define ENG_CONNECT_TIMEOUT_MS  (5 * 60 * 1000)           /* decisions.md: connect 5 min */
#define ENG_RESPONSE_TIMEOUT_MS (2 * 60 * 1000)           /* no response 2 min after the request */
#define ENG_AUTO_RETRIES        3                         /* automatic retries while connected */
#define ENG_MIN_RETRY_DELAY_S   5                         /* MinimumRetryDelay floor */
#define ENG_INACTIVITY_MS       (90LL * 24 * 3600 * 1000) /* JobInactivityTimeout */
#define ENG_KEEP_FINAL          1024                      /* final jobs kept in memory (eng_reap) */
#define ENG_PROGRESS_EVENT_MS   100 /* at most one progress event per file per 100 ms */

struct xfer_engine {
    struct xfer_config cfg; /* copy; its strings point into the owned copies below */
    char *store_path, *ca_file, *link_proxy;
    struct event_base *base;
    const struct xl_clock *clock;
    int64_t time_base; /* engine time = clock + time_base */
    struct store *store;
    struct curlev *curl;
    struct job *jobs, *tail; /* every job, oldest first */
    size_t njobs;
    struct job **index;  /* the same jobs by GUID, open addressing (engine.c, find) */
    size_t index_cap;    /* its slots: a power of two above 2 * njobs; 0 = no index */
    struct event *tick;  /* the one timer, at sched_next_due */
    struct event *kick;  /* runs the scheduler once the current callback returns */
    uint64_t seq;        /* FIFO order counter */
    int64_t clock_saved; /* engine time last written to the store */
    bool closing;
    char last_err[512];                     /* why the last refused call was refused */
    struct xfer_platform platform;          /* what the provider said last */
    struct xfer_platform_provider provider; /* a copy of cfg.platform's */
};

int64_t eng_now(const struct xfer_engine *e);

/*
 * The one function that changes a job's state: records (time, old, new, hr,
 * cause) in the history, keeps the timers that depend on the state, writes
 * the job to the store in one transaction and emits XFER_EV_STATE.
 */
void eng_set_state(struct xfer_engine *e, struct job *j, enum xfer_state to, enum st_trigger cause,
                   xfer_hr hr);
/* Apply a trigger through the transition table (st_next); returns the row's result. */
xfer_hr eng_trigger(struct xfer_engine *e, struct job *j, enum st_trigger t, xfer_hr hr);
/* Fill the job's error object (desc is copied). */
void eng_set_error(struct xfer_engine *e, struct job *j, xfer_hr hr, enum xfer_context ctx,
                   int file, const char *desc);
/*
 * A failure of the job's transfer (fetch.c, sched.c): stop it and move the job
 * to TRANSIENT_ERROR (retried after the delay, or ERROR after NoProgressTimeout)
 * or ERROR, per the row's transient flag unless transient is forced (HTTP).
 * retry_after_ms > 0 lengthens the next delay (Retry-After).
 */
void eng_fail(struct xfer_engine *e, struct job *j, xfer_hr hr, bool transient, int file,
              const char *desc, int64_t retry_after_ms);
void eng_emit(struct xfer_engine *e, const struct xfer_event *ev);
/* Write the job (state, files, history) to the store; logs failures. */
void eng_save(struct xfer_engine *e, struct job *j);
/* Ask the scheduler to run once control returns to the loop. */
void eng_kick(struct xfer_engine *e);
/* Recompute and arm the engine timer. */
void eng_rearm(struct xfer_engine *e);

/* Free the oldest final jobs beyond ENG_KEEP_FINAL (from the loop only). */
void eng_reap(struct xfer_engine *e);

void sched_run(struct xfer_engine *e);
void sched_tick(struct xfer_engine *e);
int64_t sched_next_due(const struct xfer_engine *e);

/* Start the job's next request (CONNECTING or TRANSFERRING). 0, or a failure HRESULT. */
xfer_hr fetch_start(struct xfer_engine *e, struct job *j);
/* Stop the job's transfer; checkpoint what it wrote when checkpoint is set. */
void fetch_stop(struct xfer_engine *e, struct job *j, bool checkpoint);
/* curlev's done callback. */
void fetch_done(void *arg, CURL *easy, CURLcode code);
/* Timers of a running fetch (no response, checkpoint); returns its next due time. */
int64_t fetch_tick(struct xfer_engine *e, struct job *j, int64_t now);
int64_t fetch_next_due(const struct job *j);
/* j's request is in the multi handle and not connected yet. */
bool fetch_connecting(const struct job *j);

/* platform.c: block or release the job per the policy now; reconnected: the
 * network just came back (every TRANSIENT_ERROR job is re-queued). */
void eng_reevaluate(struct xfer_engine *e, struct job *j, bool reconnected);
int eng_platform_start(struct xfer_engine *e);
void eng_platform_stop(struct xfer_engine *e);

/* props.c */
xfer_hr props_set(struct xfer_engine *e, struct job *j, const char *name, const char *value,
                  char *err, size_t errlen);
xfer_hr props_get(const struct job *j, const char *name, char *buf, size_t len);

#endif
