/*
 * run: the state of one scenario run, shared by the modules of the harness.
 *
 *   exec.c    the command line, the run's directory, setup and teardown, exit code
 *   interp.c  the timeline: triggers, actions, the tick, xferd's events
 *   expect.c  evaluating one expectation against xferd, the journals and files
 *   vtime.c   virtual time: when and how far the clock may jump
 *   world.c   origins, link, model, clock;  proc.c  the xferd child;
 *   session.c the control connection;  trace.c  what is recorded, result.json
 *
 * A run owns everything in it; the script is lent by exec.c.
 */
#ifndef HX_RUN_H
#define HX_RUN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "proc.h"
#include "scenario.h"
#include "session.h"
#include "trace.h"
#include "world.h"

/* How a run ended; the exit code is the value. */
enum hx_status {
    HX_RUNNING = -1,
    HX_PASSED = 0,
    HX_FAILED = 1,
    HX_SCRIPT_ERROR = 2,
    HX_TIMEOUT = 3,
    HX_HARNESS_ERROR = 4
};

#define HX_MAX_FILES 256 /* files per job the harness tracks */

struct hx_jfile {
    size_t origin; /* index in script->origins */
    char *path;    /* URL path (borrowed from the script) */
};

/* What the harness knows of one of the script's jobs. */
struct hx_job {
    char guid[XFER_GUID_LEN]; /* "" until created */
    struct hx_jfile files[HX_MAX_FILES];
    size_t nfiles;
    uint64_t file_bytes[HX_MAX_FILES]; /* from progress events, for the job's progress series */
    bool has_result;                   /* an action on the job returned */
    xfer_hr result;                    /* its HRESULT (complete: S_OK or BG_S_PARTIAL_COMPLETE) */
    unsigned notified;                 /* notify command runs seen */
    enum xfer_state state_seen;        /* a `when` trigger waits for it */
    bool state_hit;                    /* a state event for state_seen arrived */
};

/* What the current timeline line waits for. */
struct hx_wait {
    bool armed;
    int64_t due_ms;       /* timed trigger, wait: when; INT64_MAX: not timed */
    int64_t deadline_ms;  /* expect within: when it fails; INT64_MAX: none */
    bool bytes;           /* byte trigger armed */
    size_t bytes_origin;  /* its stall rule's origin */
    char rule[48];        /* its stall rule's name, "" when none */
    bool state;           /* state trigger armed */
    bool fired;           /* the trigger fired; the line's statement is running */
    int64_t last_eval_ns; /* within: when it was last evaluated (wall) */
};

struct hx_run {
    const struct scn_script *s;
    struct hx_trace *trace;
    struct hx_world world;
    bool world_ok;
    struct hx_proc proc;
    struct hx_proc_config pcfg;
    struct hx_session sess; /* the harness's own connection: observes every event, asks */
    struct hx_session app;  /* the application's: acts on jobs; detach and attach close and
                               reopen it */
    bool platform_known;    /* what xferd was last told */
    struct xfer_platform platform;
    bool platform_pending; /* a change to tell once xferd is back */
    struct hx_job *jobs;
    unsigned *group_ran;

    char xferd[PATH_MAX], out[PATH_MAX], downloads[PATH_MAX], state_dir[PATH_MAX], sock[PATH_MAX],
        log[PATH_MAX], pki[PATH_MAX], www[PATH_MAX];
    char link[128]; /* the link's URL for xferd (socks5h://127.0.0.1:PORT) */
    double scale;
    int64_t wall_limit_ms, sim_limit_ms;
    int64_t wall0_ns;

    size_t pc;           /* index in s->stmts of the line running or waiting */
    int64_t last_ran_ms; /* when the previous timeline line ran */
    int64_t t0_ms;       /* world time of scenario time 0: xferd is up, the script begins */
    struct hx_wait w;
    bool *stall_added; /* per statement: its byte trigger's stall rule is in place */
    struct event *tick;
    int64_t last_clock_get_ns; /* vtime: rate limit of clock.get */
    uint64_t quiet_moved;      /* vtime: link connections + bytes when last seen */
    int64_t quiet_since_ns;    /* vtime: wall time they last changed */
    enum hx_status status;
    char why[1024]; /* harness error or stop reason */
};

/* interp.c */
/* Run the setup lines (jobs, files, rules, ...) in order. 0, or -1 (status set). */
int hx_interp_setup(struct hx_run *r);
/* Run the timeline on the world's loop until it ends, fails, or hits a limit. */
void hx_interp_run(struct hx_run *r);
/* xferd's notifications (session callback). */
void hx_interp_on_event(void *arg, json_t *params);
/* The world's platform changes (world callback). */
void hx_interp_on_platform(void *arg, const struct xfer_platform *p);
/* Tell xferd the platform (after a start). 0 or -1. */
int hx_interp_push_platform(struct hx_run *r, const struct xfer_platform *p, char *err,
                            size_t errlen);
/* Stop the run with a status and a reason (the first stop wins). */
void hx_run_stop(struct hx_run *r, enum hx_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Start (or restart) xferd, connect, sync its clock, tell it the platform. 0 or -1 (err). */
int hx_run_start_xferd(struct hx_run *r, char *err, size_t errlen);
/* mkdir -p (mode 0755). 0, or -1 with errno. */
int hx_mkdir_p(const char *path);

/*
 * expect.c: evaluate an expectation now. Returns true when every check holds;
 * otherwise got describes what was seen (for `expected …, got …`).
 */
bool hx_expect_eval(struct hx_run *r, const struct scn_stmt *st, char *got, size_t gotlen);
/* job.info of job i (caller owns), or NULL with err. */
json_t *hx_job_info(struct hx_run *r, size_t job, char *err, size_t errlen);

/* vtime.c: jump the clock when nothing can happen before `target` (sim ms). */
void hx_vtime_maybe_jump(struct hx_run *r, int64_t target);
/* Tell xferd our clock exactly (clock.sync). 0 or -1. */
int hx_vtime_sync(struct hx_run *r, char *err, size_t errlen);

#endif
