/*
 * runner: the scheduling loop of `xferlab run` (see runner.h).
 *
 * Tasks are (scenario, attempt) pairs in list order. The loop starts children
 * until `jobs` run, then sleeps in sigtimedwait() on SIGCHLD, SIGINT and
 * SIGTERM (blocked for the duration, so none is lost between a check and the
 * wait) with a short timeout that also drives the wall-limit kills and the
 * live progress line. A finished child's result.json is read with jansson and
 * stamped with its attempt; a child that left none gets a result made from
 * its exit code (result-schema.md: 0 passed, 1 failed, 2 script error,
 * 3 timeout, 4 harness failure) and the tail of its output.
 */
#include "runner.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "clock.h"
#include "doc.h"
#include "scenario.h"
#include "text.h"
#include "units.h"

#define TICK_MS    100
#define OUTPUT_MAX (64 * 1024)
#define GRACE_MS   10000
#define LOG_LINES  20

struct task {
    size_t scn;
    unsigned attempt;
    struct xl_child child;
    bool started, done;
    int64_t wall_limit_ms;
    json_t *result;
};

struct runner {
    const struct xl_runner_opts *o;
    const struct xl_scn_list *list;
    struct task *tasks;
    size_t ntasks, next, running, finished;
    size_t by[RPT_STATUS_COUNT];
    bool tty;
    bool line_shown; /* a live progress line is on the terminal */
};

/*
 * The child's wall limit: the option, else twice the child's own (--time-limit,
 * else the script's) plus a grace: a child normally stops itself first.
 */
static int64_t wall_limit(const struct xl_runner_opts *o, const char *file)
{
    if (o->wall_limit_ms > 0)
        return o->wall_limit_ms;
    int64_t ms = SCN_DEFAULT_WALL_LIMIT_MS;
    size_t col;
    char err[XL_ERRLEN];
    struct scn_script *s = NULL;
    if (o->time_limit && xl_parse_duration(o->time_limit, &ms, &col, err) == 0) {
        /* ms is the child's limit */
    } else if (scn_parse_file(file, &s, NULL) == 0) {
        ms = s->wall_limit_ms;
        scn_script_free(s);
    }
    return ms * 2 + GRACE_MS;
}

/* The first OUTPUT_MAX bytes of the child's output (caller frees), "" when none. */
static char *read_output(const struct xl_child *c)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", c->dir, XL_CHILD_OUTPUT);
    char *buf = calloc(1, OUTPUT_MAX + 1);
    if (!buf)
        return NULL;
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, OUTPUT_MAX, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

/* "FILE:LINE:COL: message" at the start of text: line and col, when text says so. */
static void diag_place(const char *text, const char *file, json_t *err)
{
    size_t fl = strlen(file);
    if (strncmp(text, file, fl) != 0 || text[fl] != ':')
        return;
    char *end;
    long line = strtol(text + fl + 1, &end, 10);
    if (end == text + fl + 1 || *end != ':')
        return;
    json_object_set_new(err, "line", json_integer(line));
    long col = strtol(end + 1, &end, 10);
    if (*end == ':')
        json_object_set_new(err, "col", json_integer(col));
}

/* The exit code scenario-exec gives a result of status st (result-schema.md). */
static int exit_code_of(enum rpt_status st)
{
    switch (st) {
    case RPT_PASSED:
        return 0;
    case RPT_FAILED:
        return 1;
    case RPT_ERROR:
        return 2;
    case RPT_TIMEOUT:
        return 3;
    case RPT_HARNESS_ERROR:
        return 4;
    }
    return 4;
}

/* A result for a child that left no usable result.json. */
static json_t *made_result(const struct xl_scn *s, const struct task *t, const char *output,
                           const char *why)
{
    int sig;
    int code = xl_child_exit_code(&t->child, &sig);
    enum rpt_status st = RPT_HARNESS_ERROR;
    char reason[256];
    if (t->child.killed) {
        st = RPT_TIMEOUT;
        snprintf(reason, sizeof reason, "killed by the runner at its wall limit (%" PRId64 " ms)",
                 t->wall_limit_ms);
    } else if (sig) {
        snprintf(reason, sizeof reason, "scenario-exec was killed by signal %d (%s)", sig,
                 strsignal(sig));
    } else {
        for (int k = 0; k < RPT_STATUS_COUNT; k++) {
            if (k != RPT_PASSED && exit_code_of((enum rpt_status)k) == code)
                st = (enum rpt_status)k;
        }
        snprintf(reason, sizeof reason, "scenario-exec exited %d and %s", code, why);
    }
    /* The message: the child's first output line when it said something, else the reason. */
    const char *text = output && *output ? output : reason;
    size_t first = strcspn(text, "\n");
    json_t *err = json_pack("{s:s, s:i, s:i, s:s%, s:s}", "file", s->file, "line", 0, "col", 0,
                            "message", text, first, "excerpt", text[first] ? text + first + 1 : "");
    if (err)
        diag_place(text, s->file, err);
    if (output && *output && text != reason && err) {
        char *msg = NULL;
        if (asprintf(&msg, "%.*s (%s)", (int)first, text, reason) > 0)
            json_object_set_new(err, "message", json_string(msg));
        free(msg);
    }
    int64_t wall = (xl_mono_ns() - t->child.start_ns) / 1000000;
    return json_pack("{s:i, s:s, s:s, s:n, s:s, s:n, s:I, s:i, s:{s:[], s:[], s:[]}, s:[], "
                     "s:o?, s:[], s:[], s:[], s:[], s:[], s:s}",
                     "schema", RPT_SCHEMA, "scenario", s->name, "file", s->file, "title", "status",
                     rpt_status_name(st), "seed", "wall_ms", (json_int_t)wall, "sim_ms", 0,
                     "covers", "codes", "interrupts", "states", "failures", "error", err, "jobs",
                     "network", "battery", "timeline", "requests", "log_tail", "");
}

/*
 * A child whose exit disagrees with its result.json (a sanitizer's report at
 * exit, a crash after writing it) is a harness error: nothing may hide it.
 */
static void check_exit(json_t *r, const struct task *t, const char *output)
{
    int sig;
    int code = xl_child_exit_code(&t->child, &sig);
    enum rpt_status st = rpt_result_status(r);
    if (!sig && code == exit_code_of(st))
        return;
    char msg[512];
    const char *out = output && *output ? output : "";
    if (sig)
        snprintf(msg, sizeof msg, "scenario-exec was killed by signal %d after writing a %s result",
                 sig, rpt_status_name(st));
    else
        snprintf(msg, sizeof msg,
                 "scenario-exec exited %d after writing a %s result (which exits %d)", code,
                 rpt_status_name(st), exit_code_of(st));
    json_object_set_new(r, "status", json_string(rpt_status_name(RPT_HARNESS_ERROR)));
    json_object_set_new(r, "error",
                        json_pack("{s:s, s:i, s:i, s:s, s:s}", "file", rpt_str(r, "file", ""),
                                  "line", 0, "col", 0, "message", msg, "excerpt", out));
}

static json_t *collect(struct runner *rn, struct task *t)
{
    const struct xl_scn *s = &rn->list->v[t->scn];
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/result.json", t->child.dir);
    json_error_t jerr;
    json_t *r = json_load_file(path, 0, &jerr);
    char *output = read_output(&t->child);
    if (r && !json_is_object(r)) {
        json_decref(r);
        r = NULL;
        snprintf(jerr.text, sizeof jerr.text, "result.json is not an object");
    }
    if (!r) {
        char why[300];
        snprintf(why, sizeof why, "left no usable result.json (%s)", jerr.text);
        r = made_result(s, t, output, why);
    } else if (t->child.killed) {
        json_object_set_new(r, "status", json_string(rpt_status_name(RPT_TIMEOUT)));
        if (!json_is_object(json_object_get(r, "error")))
            json_object_set_new(r, "error",
                                json_pack("{s:s, s:i, s:i, s:s, s:s}", "file", s->file, "line", 0,
                                          "col", 0, "message",
                                          "killed by the runner at its wall limit", "excerpt", ""));
    }
    if (r && !t->child.killed)
        check_exit(r, t, output);
    free(output);
    if (!r)
        return NULL;
    json_object_set_new(r, "attempt", json_integer(t->attempt));
    if (!json_is_string(json_object_get(r, "scenario")))
        json_object_set_new(r, "scenario", json_string(s->name));
    if (!json_is_string(json_object_get(r, "file")))
        json_object_set_new(r, "file", json_string(s->file));
    return r;
}

static void clear_line(struct runner *rn)
{
    if (rn->tty && rn->line_shown) {
        fputs("\r\033[K", rn->o->out);
        rn->line_shown = false;
    }
}

static void progress(struct runner *rn)
{
    if (!rn->tty)
        return;
    const char *name = "";
    for (size_t i = 0; i < rn->ntasks; i++) {
        if (rn->tasks[i].started && !rn->tasks[i].done) {
            name = rn->list->v[rn->tasks[i].scn].name;
            break;
        }
    }
    fprintf(rn->o->out, "\r\033[K[%zu/%zu] %zu passed %zu failed", rn->finished, rn->ntasks,
            rn->by[RPT_PASSED], rn->ntasks ? rn->finished - rn->by[RPT_PASSED] : 0);
    if (rn->running)
        fprintf(rn->o->out, " %zu running: %s", rn->running, name);
    fflush(rn->o->out);
    rn->line_shown = true;
}

static void finished(struct runner *rn, struct task *t)
{
    const struct xl_scn *s = &rn->list->v[t->scn];
    t->done = true;
    rn->running--;
    rn->finished++;
    t->result = collect(rn, t);
    enum rpt_status st = t->result ? rpt_result_status(t->result) : RPT_HARNESS_ERROR;
    rn->by[st]++;
    bool keep = rn->o->keep && st != RPT_PASSED;
    if (keep && t->result)
        json_object_set_new(t->result, "kept_dir", json_string(t->child.dir));
    if (!keep)
        xl_child_remove_dir(&t->child);

    FILE *f = rn->o->out;
    clear_line(rn);
    if (!rn->tty || st != RPT_PASSED) {
        char w[32], sim[32];
        rpt_fmt_ms(w, sizeof w, rpt_int(t->result, "wall_ms", 0));
        rpt_fmt_ms(sim, sizeof sim, rpt_int(t->result, "sim_ms", 0));
        fprintf(f, "[%*zu/%zu] %-13s %s", rn->ntasks >= 10 ? 2 : 1, rn->finished, rn->ntasks,
                rpt_status_name(st), s->name);
        if (rn->o->repeat > 1)
            fprintf(f, " #%u", t->attempt);
        fprintf(f, "  (%s wall, %s simulated)\n", w, sim);
    }
    if (st != RPT_PASSED && t->result && !rn->o->quiet_failures)
        rpt_text_failure(f, t->result, LOG_LINES);
    if (keep)
        fprintf(f, "  kept: %s\n", t->child.dir);
    if (st != RPT_PASSED)
        fputc('\n', f);
    fflush(f);
}

static int start_next(struct runner *rn, char *err, size_t errlen)
{
    struct task *t = &rn->tasks[rn->next++];
    const struct xl_scn *s = &rn->list->v[t->scn];
    char seed[32];
    char *argv[16];
    size_t n = 0;
    argv[n++] = "scenario-exec";
    argv[n++] = s->file;
    if (rn->o->has_seed) {
        snprintf(seed, sizeof seed, "%" PRIu64, rn->o->seed);
        argv[n++] = "--seed";
        argv[n++] = seed;
    }
    if (rn->o->xferd) {
        argv[n++] = "--xferd";
        argv[n++] = (char *)rn->o->xferd;
    }
    if (rn->o->time_limit) {
        argv[n++] = "--time-limit";
        argv[n++] = (char *)rn->o->time_limit;
    }
    argv[n] = NULL;
    t->wall_limit_ms = wall_limit(rn->o, s->file);
    if (xl_child_start(&t->child, argv, t->wall_limit_ms, err, errlen) < 0)
        return -1;
    t->started = true;
    rn->running++;
    return 0;
}

json_t *xl_runner_run(const struct xl_runner_opts *o, const struct xl_scn_list *list,
                      bool *interrupted, char *err, size_t errlen)
{
    struct runner rn = {.o = o, .list = list};
    json_t *results = NULL;
    *interrupted = false;
    rn.ntasks = list->n * o->repeat;
    rn.tasks = calloc(rn.ntasks ? rn.ntasks : 1, sizeof *rn.tasks);
    if (!rn.tasks) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < rn.ntasks; i++) {
        rn.tasks[i].scn = i / o->repeat;
        rn.tasks[i].attempt = (unsigned)(i % o->repeat) + 1;
    }
    rn.tty = isatty(fileno(o->out));

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &old);

    bool failed_start = false;
    while (rn.finished < rn.ntasks) {
        while (!failed_start && rn.running < o->jobs && rn.next < rn.ntasks) {
            if (start_next(&rn, err, errlen) < 0)
                failed_start = true;
        }
        if (failed_start && rn.running == 0)
            break;
        progress(&rn);
        struct timespec tick = {0, TICK_MS * 1000000L};
        siginfo_t info;
        int sig = sigtimedwait(&set, &info, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            *interrupted = true;
            break;
        }
        int64_t now = xl_mono_ns();
        for (size_t i = 0; i < rn.ntasks; i++) {
            struct task *t = &rn.tasks[i];
            if (t->started && !t->done && xl_child_poll(&t->child, now))
                finished(&rn, t);
        }
    }
    clear_line(&rn);
    if (*interrupted) {
        fprintf(o->out, "xferlab run: interrupted; stopping %zu running scenario(s)\n", rn.running);
        for (size_t i = 0; i < rn.ntasks; i++) {
            struct task *t = &rn.tasks[i];
            if (t->started && !t->done) {
                xl_child_kill(&t->child);
                xl_child_remove_dir(&t->child);
            }
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);

    if (failed_start && rn.finished == 0)
        goto out;
    results = json_array();
    for (size_t i = 0; i < rn.ntasks && results; i++) {
        if (rn.tasks[i].result)
            json_array_append(results, rn.tasks[i].result);
    }
    if (failed_start)
        fprintf(o->out, "xferlab run: stopped starting scenarios: %s\n", err);
out:
    for (size_t i = 0; i < rn.ntasks; i++)
        json_decref(rn.tasks[i].result);
    free(rn.tasks);
    return results;
}

int xl_runner_exit_code(const json_t *results)
{
    struct rpt_counts c;
    rpt_count(results, &c);
    if (c.by[RPT_ERROR])
        return 2;
    return c.by[RPT_PASSED] == c.total ? 0 : 1;
}

void xl_runner_print_table(FILE *f, const json_t *results)
{
    size_t n = json_array_size(results), width = 8;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(rpt_str(json_array_get(results, i), "scenario", "?"));
        width = l > width ? l : width;
    }
    bool repeated = false;
    for (size_t i = 0; i < n; i++)
        repeated = repeated || rpt_int(json_array_get(results, i), "attempt", 1) > 1;
    fprintf(f, "%-*s  %-13s %10s %12s\n", (int)width, "scenario", repeated ? "passed" : "status",
            repeated ? "wall (max)" : "wall", repeated ? "sim (max)" : "simulated");
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(results, i);
        const char *name = rpt_str(r, "scenario", "?");
        if (repeated && i > 0 &&
            strcmp(name, rpt_str(json_array_get(results, i - 1), "scenario", "")) == 0)
            continue;
        int64_t wall = rpt_int(r, "wall_ms", 0), sim = rpt_int(r, "sim_ms", 0);
        char status[32], w[32], s[32];
        snprintf(status, sizeof status, "%s", rpt_status_name(rpt_result_status(r)));
        if (repeated) {
            size_t attempts = 0, passed = 0;
            for (size_t k = i; k < n; k++) {
                const json_t *o = json_array_get(results, k);
                if (strcmp(name, rpt_str(o, "scenario", "")) != 0)
                    break;
                attempts++;
                passed += rpt_result_status(o) == RPT_PASSED;
                wall = rpt_int(o, "wall_ms", 0) > wall ? rpt_int(o, "wall_ms", 0) : wall;
                sim = rpt_int(o, "sim_ms", 0) > sim ? rpt_int(o, "sim_ms", 0) : sim;
            }
            snprintf(status, sizeof status, "%zu/%zu", passed, attempts);
        }
        rpt_fmt_ms(w, sizeof w, wall);
        rpt_fmt_ms(s, sizeof s, sim);
        fprintf(f, "%-*s  %-13s %10s %12s\n", (int)width, name, status, w, s);
    }
    struct rpt_counts c;
    rpt_count(results, &c);
    fprintf(f, "\n%zu run: %zu passed", c.total, c.by[RPT_PASSED]);
    for (int s = RPT_FAILED; s < RPT_STATUS_COUNT; s++) {
        if (c.by[s])
            fprintf(f, ", %zu %s", c.by[s], rpt_status_name((enum rpt_status)s));
    }
    fputc('\n', f);
    const char *flaky[64];
    size_t nf = rpt_flaky(results, flaky, 64);
    for (size_t i = 0; i < nf && i < 64; i++)
        fprintf(f, "flaky: %s (its attempts did not all end the same way)\n", flaky[i]);
}
