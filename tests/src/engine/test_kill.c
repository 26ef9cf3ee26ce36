/*
 * test_kill: a download survives SIGKILL at any instant (semantics.md §1,
 * decisions.md "Crash and restart").
 *
 * The parent runs the fault HTTP server (fltenv, its own thread) serving a
 * generated 64 MiB entity throttled to THROTTLE, so one download lasts about
 * two seconds and kill points land all over it. The parent creates the job
 * in-process (engine opened, job created, file added, resumed, engine closed
 * before its loop ever ran: the store holds a QUEUED job). Then, per kill
 * point, a child — this binary re-executed with --child, so it inherits none
 * of the parent's threads or locks — opens its own event base and engine on
 * the same store (the engine re-queues a job that was moving), lets the job
 * run, and tells the parent through a pipe what it sees: the bytes it opened
 * with, the bytes done (polled every millisecond), state changes and
 * restarts. The parent SIGKILLs it at the point. A point is a byte offset
 * of the file, drawn from the seed; the offsets are sorted, so the kills
 * walk through the whole file, and the child dies as soon as the parent reads
 * that it passed the offset, wherever it is by then (in a write, in a
 * checkpoint's transaction, in a progress event). One point in five also has
 * a delay of 0-60 ms after the fork and the child dies at whichever comes
 * first, so kills also land in exec, the store's open and recovery, the
 * partial-file check and the connect.
 * Children checkpoint every CK_BYTES (not the default 16 MiB), so the file
 * has 32 checkpoints a kill can fall before, after or inside.
 *
 * Each child resumes from the last checkpoint, at most CK_BYTES (or one
 * second) behind where the one before died, so a round costs a child's start
 * and a few MiB: 1,000 points (64 KiB apart on average) stay cheap. When a
 * download ends before the points run out (a child got past the last offsets
 * before the parent read its report), the parent completes that job and
 * starts another on a new entity (/k1.bin, ...); the points keep counting, so
 * the soak still kills 1,000 times. After the last point the parent opens the
 * store itself and runs the job to TRANSFERRED. For every job it checks:
 *   - the completed file's SHA-256, and that no temporary file is left;
 *   - no restart from byte 0 (no XFER_EV_RESTART in any process, HasRestarted
 *     false): a checkpoint is one transaction and the file always holds at
 *     least the checkpoint's bytes, so the partial check never fails;
 *   - the bytes each process opened with never go backwards, and the request
 *     journal agrees: every request with a Range asks "bytes=D-" with If-Range,
 *     D what a process opened with; requests without a Range are no more than
 *     the opens at byte 0;
 *   - the history (xfer_job_history, before Complete) is a chain of rows of
 *     the transition table, each old state the previous new state, with a
 *     "restored" row for at least every child killed in TRANSFERRING, and its
 *     times never run backwards. The children's engines run on the monotonic
 *     clock, the parent's on the fltenv clock, which started at 0 with the
 *     test: each time the parent opens the store it is as if the machine had
 *     rebooted, and engine time must go on from the newest time in the store.
 *
 * Usage: test_kill [--points N] [--seed S] (20 points and a fixed seed by
 * default; the soak test, label soak, runs 1,000). The seed is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>
#include <event2/event.h>

#include "engenv.h"
#include "journal.h"
#include "state.h"

#define ME            1000
#define SIZE          (64ull << 20)
#define THROTTLE      "throttle 32MiB/s"
#define CK_BYTES      (2u << 20)
#define MAX_DELAY_MS  60
#define ROUND_WALL_MS 60000 /* a child that neither progresses nor ends by then fails */

static unsigned opt_points = 20;
static uint64_t opt_seed = 20240611;

/* ----------------------------------------------------------------- child */

/* One line to the parent (stdout is the pipe); a short write() is atomic. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0 && write(STDOUT_FILENO, line, (size_t)n) != n)
        _exit(3);
}

struct child {
    struct event_base *base;
    struct xfer_engine *eng;
    xfer_guid g;
    uint64_t reported;
};

static void child_event(void *arg, const struct xfer_event *ev)
{
    struct child *c = arg;
    switch (ev->type) {
    case XFER_EV_STATE:
        say("S %d %d %d\n", (int)ev->old_state, (int)ev->new_state, (int)ev->cause_hr);
        if (ev->new_state == XFER_TRANSFERRED)
            event_base_loopbreak(c->base);
        break;
    case XFER_EV_RESTART:
        say("R %d\n", (int)ev->cause_hr);
        break;
    case XFER_EV_PROGRESS:
    case XFER_EV_FILE_TRANSFERRED:
        break;
    }
}

static void child_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct child *c = arg;
    struct xfer_job_info *in;
    if (xfer_job_info(c->eng, ME, &c->g, &in) != 0)
        return;
    if (in->nfiles == 1 && in->files[0].bytes_done != c->reported) {
        c->reported = in->files[0].bytes_done;
        say("P %" PRIu64 "\n", c->reported);
    }
    free(in);
}

/* Child: run the store's one job until killed, or until it is TRANSFERRED (exit 0). */
static int child_main(const char *store)
{
    struct child c = {0};
    c.base = event_base_new();
    struct xfer_config cfg = {.base = c.base,
                              .store_path = store,
                              .on_event = child_event,
                              .event_arg = &c,
                              .checkpoint_bytes = CK_BYTES};
    char err[512];
    xfer_hr hr = xfer_engine_open(&cfg, &c.eng, err, sizeof err);
    if (hr != 0) {
        fprintf(stderr, "child: xfer_engine_open: 0x%08X %s\n", (unsigned)hr, err);
        event_base_free(c.base);
        return 2;
    }
    xfer_guid *list = NULL;
    size_t n = 0;
    struct xfer_job_info *in = NULL;
    if (xfer_job_enum(c.eng, ME, &list, &n) != 0 || n != 1 ||
        xfer_job_info(c.eng, ME, &list[0], &in) != 0 || in->nfiles != 1) {
        fprintf(stderr, "child: expected one job with one file in the store, found %zu\n", n);
        free(list);
        free(in);
        xfer_engine_close(c.eng);
        event_base_free(c.base);
        return 2;
    }
    c.g = list[0];
    free(list);
    c.reported = in->files[0].bytes_done;
    enum xfer_state s = in->state;
    free(in);
    say("O %" PRIu64 " %d\n", c.reported, (int)s);
    if (s != XFER_TRANSFERRED) {
        struct event *tick = event_new(c.base, -1, EV_PERSIST, child_poll, &c);
        struct timeval ms = {0, 1000};
        event_add(tick, &ms);
        event_base_dispatch(c.base);
        event_free(tick);
    }
    xfer_engine_close(c.eng);
    event_base_free(c.base);
    return 0;
}

/* ---------------------------------------------------------------- points */

struct point {
    uint64_t offset; /* kill once the file has passed this byte */
    int delay_ms;    /* or this long after the fork, whichever comes first; -1: no delay */
};

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* n points from seed: offsets ascending, one in five with a delay too. */
static struct point *draw_points(unsigned n, uint64_t seed)
{
    struct point *p = calloc(n, sizeof *p);
    uint64_t *offs = calloc(n, sizeof *offs);
    assert_true(p && offs);
    uint64_t s = seed;
    for (unsigned i = 0; i < n; i++) {
        offs[i] = splitmix(&s) % SIZE;
        p[i].delay_ms = splitmix(&s) % 5 == 0 ? (int)(splitmix(&s) % MAX_DELAY_MS) : -1;
    }
    qsort(offs, n, sizeof *offs, cmp_u64);
    for (unsigned i = 0; i < n; i++)
        p[i].offset = offs[i];
    free(offs);
    return p;
}

/* ---------------------------------------------------------------- parent */

/* One download job of the run and what the processes that ran it reported. */
struct job_run {
    int no;
    char name[32]; /* k0.bin: the local name */
    char path[32]; /* /k0.bin: the entity */
    uint64_t seed;
    xfer_guid g;
    uint64_t *opens; /* bytes done each process opened the store with, in order */
    size_t nopens;
    size_t children;
    size_t killed_transferring; /* children killed after reporting TRANSFERRING */
    size_t resumed_answered;    /* processes that opened past byte 0 and were answered */
};

struct run {
    struct engenv t;
    struct job_run job;
    size_t jobs_done;
    size_t kills, kills_delay, ended_early;
    size_t restarts; /* XFER_EV_RESTART reported by children */
    char restart_why[128];
    size_t ranged, plain; /* journal requests with and without Range, all jobs */
};

static void note_open(struct job_run *j, uint64_t done)
{
    if (j->nopens > 0 && done < j->opens[j->nopens - 1])
        fail_msg("%s: a process opened the store at byte %" PRIu64 ", the one before at %" PRIu64
                 ": the checkpoint went backwards",
                 j->name, done, j->opens[j->nopens - 1]);
    if (done > SIZE)
        fail_msg("%s: opened at byte %" PRIu64 " of %llu", j->name, done, SIZE);
    j->opens = realloc(j->opens, (j->nopens + 1) * sizeof *j->opens);
    assert_non_null(j->opens);
    j->opens[j->nopens++] = done;
}

/* Create job number no in the store (in-process; the engine closes before it moves). */
static void new_job(struct run *r, int no)
{
    struct job_run *j = &r->job;
    free(j->opens);
    memset(j, 0, sizeof *j);
    j->no = no;
    j->seed = 100 + (uint64_t)no;
    snprintf(j->name, sizeof j->name, "k%d.bin", no);
    snprintf(j->path, sizeof j->path, "/k%d.bin", no);
    fltenv_gen(&r->t.f, j->path, SIZE, j->seed);
    char url[128];
    snprintf(url, sizeof url, "%s%s", r->t.http_url, j->path);
    engenv_open(&r->t);
    j->g = engenv_download(&r->t, url, j->name);
    xfer_engine_close(r->t.eng);
    r->t.eng = NULL;
}

/* The history is a chain of transition-table rows from SUSPENDED to TRANSFERRED. */
static void check_history(struct run *r)
{
    struct job_run *j = &r->job;
    struct xfer_transition *h;
    size_t n;
    assert_int_equal(xfer_job_history(r->t.eng, ME, &j->g, &h, &n), 0);
    assert_true(n >= 4);
    size_t restored = 0;
    for (size_t i = 0; i < n; i++) {
        enum xfer_state from = i == 0 ? XFER_SUSPENDED : h[i - 1].new_state;
        if (h[i].old_state != from)
            fail_msg("%s: history row %zu goes %s -> %s, but the row before ended in %s", j->name,
                     i, xfer_state_name(h[i].old_state), xfer_state_name(h[i].new_state),
                     xfer_state_name(from));
        if (i == 0) { /* the job's creation */
            assert_string_equal(h[0].cause, "create");
            assert_int_equal(h[0].new_state, XFER_SUSPENDED);
            continue;
        }
        const struct st_row *row = NULL;
        for (int t = 0; t < ST_TRIGGER_COUNT && !row; t++)
            if (strcmp(h[i].cause, st_trigger_name((enum st_trigger)t)) == 0)
                row = st_next(h[i].old_state, (enum st_trigger)t, XFER_DOWNLOAD);
        if (!row || row->to != (int)h[i].new_state)
            fail_msg("%s: history row %zu (%s -> %s, cause %s) is not a transition of the table",
                     j->name, i, xfer_state_name(h[i].old_state), xfer_state_name(h[i].new_state),
                     h[i].cause);
        if (h[i].hr != 0)
            fail_msg("%s: history row %zu carries error 0x%08X", j->name, i, (unsigned)h[i].hr);
        if (i > 0 && h[i].time_ms < h[i - 1].time_ms)
            fail_msg("%s: history row %zu (%s) at engine time %" PRId64
                     ", before row %zu at %" PRId64,
                     j->name, i, h[i].cause, h[i].time_ms, i - 1, h[i - 1].time_ms);
        restored += strcmp(h[i].cause, st_trigger_name(ST_RESTORED)) == 0;
    }
    assert_int_equal(h[n - 1].new_state, XFER_TRANSFERRED);
    if (restored < j->killed_transferring || restored > j->nopens)
        fail_msg("%s: %zu 'restored' transitions; %zu children were killed in TRANSFERRING, "
                 "%zu processes opened the store",
                 j->name, restored, j->killed_transferring, j->nopens);
    free(h);
}

static bool was_opened_at(const struct job_run *j, uint64_t d)
{
    for (size_t i = 0; i < j->nopens; i++)
        if (j->opens[i] == d)
            return true;
    return false;
}

/* Every request for the job's entity resumed where a process opened, or started at 0. */
static void check_journal(struct run *r)
{
    struct job_run *j = &r->job;
    size_t plain = 0, ranged = 0, at_zero = 0;
    int last_status = 0;
    for (size_t i = 0; i < j->nopens; i++)
        at_zero += j->opens[i] == 0;
    size_t count = flt_journal_count(&r->t.f.journal);
    /* The server notices dead children at its next write (the body is throttled, so soon). */
    assert_true(fltenv_wait_ended(&r->t.f, count));
    for (size_t i = 0; i < count; i++) {
        struct flt_jentry e;
        assert_int_equal(flt_journal_get(&r->t.f.journal, i, &e), 0);
        if (!e.target || strcmp(e.target, j->path) != 0) {
            flt_jentry_release(&e);
            continue;
        }
        if (e.range) {
            uint64_t d;
            char tail;
            if (sscanf(e.range, "bytes=%" SCNu64 "-%c", &d, &tail) != 1 || d == 0 ||
                !was_opened_at(j, d) || !e.if_range)
                fail_msg("%s: request %" PRIu64 " asked Range '%s' If-Range '%s': not a resume "
                         "at a byte a process opened with",
                         j->name, e.id, e.range, e.if_range ? e.if_range : "(none)");
            if (e.status != 0 && e.status != 206)
                fail_msg("%s: resume request %" PRIu64 " got %d", j->name, e.id, e.status);
            ranged++;
        } else {
            if (e.status != 0 && e.status != 200)
                fail_msg("%s: request %" PRIu64 " got %d", j->name, e.id, e.status);
            plain++;
        }
        last_status = e.outcome == FLT_OUT_COMPLETE ? e.status : 0;
        flt_jentry_release(&e);
    }
    if (plain < 1 || plain > at_zero)
        fail_msg("%s: %zu requests without Range, but %zu processes opened at byte 0", j->name,
                 plain, at_zero);
    if (ranged < j->resumed_answered)
        fail_msg("%s: %zu requests with Range, but %zu processes resumed and were answered",
                 j->name, ranged, j->resumed_answered);
    /* The last request is the one that finished the file. */
    assert_true(last_status == 200 || last_status == 206);
    r->plain += plain;
    r->ranged += ranged;
}

static bool job_transferred(struct engenv *t, void *arg)
{
    struct job_run *j = arg;
    xfer_hr hr;
    enum xfer_state s = engenv_state(t, &j->g, &hr);
    if (s == XFER_ERROR || s == XFER_TRANSIENT_ERROR || s == XFER_SUSPENDED)
        fail_msg("%s: %s, error 0x%08X", j->name, xfer_state_name(s), (unsigned)hr);
    return s == XFER_TRANSFERRED;
}

/* The parent opens the store, runs the job to TRANSFERRED, checks it and completes it. */
static void finish_job(struct run *r)
{
    struct job_run *j = &r->job;
    if (r->restarts)
        fail_msg("%zu restarts from byte 0 after a kill; first: %s", r->restarts, r->restart_why);
    size_t log0 = r->t.nlog;
    engenv_open(&r->t);
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(r->t.eng, ME, &j->g, &in), 0);
    note_open(j, in->files[0].bytes_done);
    if (in->state != XFER_TRANSFERRED && in->files[0].bytes_done > 0)
        j->resumed_answered++;
    free(in);
    assert_true(engenv_run_until(&r->t, job_transferred, j, ROUND_WALL_MS));
    for (size_t i = log0; i < r->t.nlog; i++)
        if (r->t.log[i].ev.type == XFER_EV_RESTART)
            fail_msg("%s: the parent's engine restarted the file from 0 (0x%08X)", j->name,
                     (unsigned)r->t.log[i].ev.cause_hr);
    assert_int_equal(xfer_job_info(r->t.eng, ME, &j->g, &in), 0);
    assert_int_equal(in->files[0].bytes_done, SIZE);
    assert_false(in->files[0].has_restarted);
    assert_false(in->files[0].has_response_changed);
    free(in);
    check_history(r);
    check_journal(r);
    engenv_complete_and_check(&r->t, &j->g, j->name, j->seed, SIZE);
    xfer_engine_close(r->t.eng);
    r->t.eng = NULL;
    r->jobs_done++;
}

/* What one child said. */
struct child_seen {
    bool opened;
    uint64_t bytes;
    bool transferring;
    bool transferred;
    char bad[160]; /* a state the job must not reach here, or a bad line */
};

static void child_line(struct run *r, struct child_seen *cs, const char *line)
{
    uint64_t v;
    int a, b, hr;
    if (sscanf(line, "O %" SCNu64 " %d", &v, &a) == 2) {
        cs->opened = true;
        cs->bytes = v;
        cs->transferred = a == XFER_TRANSFERRED;
        note_open(&r->job, v);
    } else if (sscanf(line, "P %" SCNu64, &v) == 1) {
        cs->bytes = v;
    } else if (sscanf(line, "S %d %d %d", &a, &b, &hr) == 3) {
        if (b == XFER_TRANSFERRING)
            cs->transferring = true;
        if (b == XFER_TRANSFERRED)
            cs->transferred = true;
        if (b == XFER_ERROR || b == XFER_TRANSIENT_ERROR || b == XFER_SUSPENDED)
            snprintf(cs->bad, sizeof cs->bad, "the job went %s -> %s (0x%08X)",
                     xfer_state_name((enum xfer_state)a), xfer_state_name((enum xfer_state)b),
                     (unsigned)hr);
    } else if (sscanf(line, "R %d", &hr) == 1) {
        if (r->restarts++ == 0)
            snprintf(r->restart_why, sizeof r->restart_why, "%s: restart from byte 0, 0x%08X",
                     r->job.name, (unsigned)hr);
    } else {
        snprintf(cs->bad, sizeof cs->bad, "unexpected line from the child: '%s'", line);
    }
}

/* Read what is there (or wait up to timeout_ms); false at end of file. */
static bool child_read(struct run *r, struct child_seen *cs, int fd, char *buf, size_t *len,
                       int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int pr = poll(&pfd, 1, timeout_ms);
    if (pr <= 0)
        return pr == 0 || errno == EINTR;
    ssize_t got = read(fd, buf + *len, 4095 - *len);
    if (got <= 0)
        return got < 0 && errno == EINTR;
    *len += (size_t)got;
    buf[*len] = '\0';
    char *start = buf, *nl;
    while ((nl = strchr(start, '\n'))) {
        *nl = '\0';
        child_line(r, cs, start);
        start = nl + 1;
    }
    *len = strlen(start);
    memmove(buf, start, *len + 1);
    return true;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t spawn_child(const char *store, int *rfd)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Only async-signal-safe calls until exec: the parent has threads. */
        dup2(p[1], STDOUT_FILENO);
        close_range(3, ~0u, 0);
        execl("/proc/self/exe", "test_kill", "--child", store, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    *rfd = p[0];
    return pid;
}

/* One kill point: a child runs the job until the point; true when the job got TRANSFERRED. */
static bool kill_round(struct run *r, const struct point *pt)
{
    struct child_seen cs = {0};
    char buf[4096];
    size_t len = 0;
    int fd;
    int64_t t0 = mono_ms();
    pid_t pid = spawn_child(r->t.store, &fd);
    bool open = true, killed = false;
    while (open && !cs.bad[0]) {
        int64_t now = mono_ms();
        if (now - t0 >= ROUND_WALL_MS) {
            snprintf(cs.bad, sizeof cs.bad, "no kill point reached in %d ms (at byte %" PRIu64 ")",
                     ROUND_WALL_MS, cs.bytes);
            break;
        }
        bool at_offset = cs.opened && cs.bytes >= pt->offset;
        bool at_delay = pt->delay_ms >= 0 && now - t0 >= pt->delay_ms;
        if (at_offset || at_delay || cs.transferred) {
            kill(pid, SIGKILL);
            killed = true;
            r->kills_delay += !at_offset && at_delay;
            break;
        }
        int wait = pt->delay_ms >= 0 && t0 + pt->delay_ms - now < 100
                       ? (int)(t0 + pt->delay_ms - now)
                       : 100;
        open = child_read(r, &cs, fd, buf, &len, wait > 0 ? wait : 0);
    }
    if (!killed)
        kill(pid, SIGKILL);
    /* What the child wrote before it died still counts (restarts, states). */
    while (child_read(r, &cs, fd, buf, &len, 1000) && !cs.bad[0])
        ;
    close(fd);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (cs.bad[0])
        fail_msg("%s, point at byte %" PRIu64 " or %d ms: %s", r->job.name, pt->offset,
                 pt->delay_ms, cs.bad);
    bool sigkilled = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    bool ended_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && cs.transferred;
    if (!sigkilled && !ended_ok)
        fail_msg("%s: the child ended on its own (status 0x%x) before its kill point", r->job.name,
                 (unsigned)status);
    r->job.children++;
    if (cs.transferring && !cs.transferred)
        r->job.killed_transferring++;
    if (cs.transferring && r->job.opens[r->job.nopens - 1] > 0)
        r->job.resumed_answered++;
    r->kills++;
    return cs.transferred;
}

static void test_kill_points(void **state)
{
    (void)state;
    struct run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    printf("test_kill: %u points, seed %" PRIu64 " (rerun with --seed %" PRIu64 ")\n", opt_points,
           opt_seed, opt_seed);
    fflush(stdout);
    struct point *pts = draw_points(opt_points, opt_seed);
    engenv_init(&r->t, 1.0, false);
    r->t.cfg.checkpoint_bytes = CK_BYTES;
    fltenv_rule(&r->t.f, THROTTLE);
    new_job(r, 0);
    bool pending = true; /* the current job is not completed yet */
    for (unsigned i = 0; i < opt_points; i++) {
        if (kill_round(r, &pts[i])) {
            r->ended_early++;
            finish_job(r);
            pending = i + 1 < opt_points;
            if (pending)
                new_job(r, r->job.no + 1);
        }
    }
    if (pending)
        finish_job(r);
    /* No temporary file left behind. */
    DIR *d = opendir(r->t.dl);
    assert_non_null(d);
    struct dirent *de;
    size_t files = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' && strncmp(de->d_name, ".BIT", 4) == 0)
            fail_msg("temporary file %s left in the download directory", de->d_name);
        files += de->d_name[0] != '.';
    }
    closedir(d);
    assert_int_equal(files, r->jobs_done);
    printf("test_kill: %zu kills (%zu at offsets, %zu after delays), %zu job(s) completed "
           "(%zu finished between kills); requests: %zu resumed with Range, %zu from byte 0\n",
           r->kills, r->kills - r->kills_delay, r->kills_delay, r->jobs_done, r->ended_early,
           r->ranged, r->plain);
    free(pts);
    free(r->job.opens);
    engenv_free(&r->t);
    free(r);
}

static void usage(void)
{
    fprintf(stderr, "usage: test_kill [--points N] [--seed S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child_main(argv[2]);
    for (int i = 1; i < argc; i++) {
        char *end;
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--points") == 0)
            opt_points = (unsigned)strtoul(argv[++i], &end, 10);
        else if (strcmp(argv[i], "--seed") == 0)
            opt_seed = strtoull(argv[++i], &end, 0);
        else
            usage();
        if (*end)
            usage();
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kill_points)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
