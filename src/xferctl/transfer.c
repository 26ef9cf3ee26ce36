/*
 * transfer: a job in one step (bitsadmin /transfer). It creates the job,
 * sets its priority, adds the files, subscribes to the job's events, resumes
 * it and then follows it until it ends:
 *
 *   TRANSFERRED       complete it; exit 0 (--json: {job: the job object as
 *                     transferred, complete: job.complete's result})
 *   ERROR             print the error (geterror's form), cancel it; exit 1
 *                     (--json: {job: the job object in ERROR})
 *   TRANSIENT_ERROR   say so once per entry and keep waiting (xferd retries)
 *   CANCELLED, ACKNOWLEDGED by another client; exit 1
 *
 * The job's state is always read from job.info (on every state event and at
 * least once a second), so a missed event cannot hang it. Progress is a bar
 * redrawn in place on a terminal, else a plain line per state change and at
 * most one per second while bytes move. Ctrl-C leaves the job to xferd.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define POLL_MS     1000
#define MIN_POLL_MS 200
#define PROGRESS_MS 250
#define BAR_WIDTH   30

struct xfr {
    struct ctl *c;
    const char *guid;
    bool tty;
    bool drawn;           /* a bar is on the current terminal line */
    char last_state[32];  /* the state shown last */
    uint64_t last_bytes;  /* the bytes shown last (plain lines) */
    int64_t last_line_ms; /* when the last plain progress line was printed */
};

/* Cancel the job this verb made (after a failure); says nothing on success. */
static void cancel_job(struct xfr *x)
{
    json_t *res = NULL, *error = NULL;
    int rc = ctl_call_raw(x->c, "job.cancel", json_pack("{s:s}", "job", x->guid), &res, &error);
    if (rc == 1) {
        char text[2 * CTL_ERRLEN];
        ctl_refusal_text(error, text, sizeof text);
        fprintf(stderr, "xferctl: transfer: could not cancel job %s: %s\n", x->guid, text);
    }
    json_decref(res);
    json_decref(error);
}

static void end_bar(struct xfr *x)
{
    if (x->drawn)
        putchar('\n');
    x->drawn = false;
}

static void show(struct xfr *x, const json_t *job)
{
    if (x->c->json)
        return;
    const char *state = show_str(job, "state");
    uint64_t bytes = show_u64(job, "bytes_done");
    char line[512];
    show_progress_line(job, 0, BAR_WIDTH, line, sizeof line);
    if (x->tty) {
        printf("\r%s\033[K", line);
        x->drawn = true;
    } else {
        int64_t now = ctl_live_now_ms();
        bool changed = strcmp(state, x->last_state) != 0;
        if (changed || (bytes != x->last_bytes && now - x->last_line_ms >= 1000)) {
            printf("%s\n", line);
            x->last_line_ms = now;
            x->last_bytes = bytes;
        }
    }
    fflush(stdout);
}

/* After TRANSFERRED: complete the job (job: the job object as transferred). */
static int finish(struct xfr *x, const json_t *job)
{
    json_t *res = NULL;
    int rc = ctl_call_job(x->c, "job.complete", x->guid, &res);
    if (rc == CTL_OK && x->c->json) {
        /* The job as it was transferred and what Complete said (it is final now). */
        json_t *o = json_pack("{s:O, s:O}", "job", (json_t *)job, "complete", res);
        ctl_print_json(o);
        json_decref(o);
    } else if (rc == CTL_OK) {
        end_bar(x);
        printf("Transfer complete.\n");
    }
    json_decref(res);
    return rc;
}

/* After ERROR: say why, cancel. */
static int failed(struct xfr *x, const json_t *job)
{
    end_bar(x);
    fprintf(stderr, "xferctl: transfer: job %s failed:\n", x->guid);
    if (json_is_object(json_object_get(job, "error")))
        show_error(stderr, job);
    if (x->c->json) {
        json_t *o = json_pack("{s:O}", "job", (json_t *)job);
        ctl_print_json(o);
        json_decref(o);
    }
    cancel_job(x);
    fprintf(stderr, "xferctl: transfer: job %s canceled.\n", x->guid);
    return CTL_FAIL;
}

/* Read the job and act on its state: -1 go on, else the verb's exit code. */
static int step(struct xfr *x)
{
    json_t *job = NULL;
    if (ctl_call_job(x->c, "job.info", x->guid, &job) != CTL_OK)
        return CTL_FAIL;
    int rc = -1;
    const char *state = show_str(job, "state");
    show(x, job);
    if (strcmp(state, "TRANSFERRED") == 0) {
        rc = finish(x, job);
    } else if (strcmp(state, "ERROR") == 0) {
        rc = failed(x, job);
    } else if (strcmp(state, "CANCELLED") == 0 || strcmp(state, "ACKNOWLEDGED") == 0) {
        end_bar(x);
        fprintf(stderr, "xferctl: transfer: job %s was %s by another client\n", x->guid,
                strcmp(state, "CANCELLED") == 0 ? "canceled" : "completed");
        rc = CTL_FAIL;
    } else if (strcmp(state, "TRANSIENT_ERROR") == 0 && strcmp(x->last_state, state) != 0) {
        const json_t *err = json_object_get(job, "error");
        end_bar(x);
        fprintf(stderr,
                "xferctl: transfer: transient error %s (%s): %s \xE2\x80\x94 xferd retries\n",
                show_str(err, "hr_name"), show_str(err, "hr"), show_str(err, "message"));
    }
    snprintf(x->last_state, sizeof x->last_state, "%s", state);
    json_decref(job);
    return rc;
}

/* Create, prioritise, add files, subscribe, resume. CTL_OK, or the failure (job cancelled). */
static int start(struct xfr *x, const struct ctl_args *a, const char *priority)
{
    struct ctl *c = x->c;
    json_t *res = NULL;
    int rc = CTL_OK;
    if (priority) {
        rc = ctl_call(
            c, "job.set",
            json_pack("{s:s, s:s, s:s}", "job", x->guid, "prop", "priority", "value", priority),
            &res);
        json_decref(res);
        res = NULL;
    }
    for (int i = 1; rc == CTL_OK && i + 1 < a->npos; i += 2) {
        char *path = ctl_abs_path(a->pos[i + 1]);
        if (!path) {
            fprintf(stderr, "xferctl: transfer: out of memory\n");
            rc = CTL_FAIL;
            break;
        }
        rc = ctl_call(c, "job.add_file",
                      json_pack("{s:s, s:s, s:s}", "job", x->guid, "url", a->pos[i], "path", path),
                      &res);
        json_decref(res);
        res = NULL;
        free(path);
    }
    if (rc == CTL_OK) {
        rc = ctl_call(c, "events.subscribe",
                      json_pack("{s:[s], s:[s,s,s], s:i}", "jobs", x->guid, "types", "state",
                                "progress", "file", "progress_ms", PROGRESS_MS),
                      &res);
        json_decref(res);
        res = NULL;
    }
    if (rc == CTL_OK) {
        rc = ctl_call_job(c, "job.resume", x->guid, &res);
        json_decref(res);
    }
    if (rc != CTL_OK)
        cancel_job(x);
    return rc;
}

int ctl_cmd_transfer(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    if ((a.npos - 1) % 2 != 0)
        return ctl_misuse(c, "URL and PATH come in pairs ('%s' has no PATH)", a.pos[a.npos - 1]);
    if (ctl_flag(c, &a, "--download") && ctl_flag(c, &a, "--upload"))
        return ctl_misuse(c, "--download and --upload exclude each other");
    const char *type = ctl_flag(c, &a, "--upload") ? "upload" : "download";
    struct xfr x = {.c = c, .tty = !c->json && isatty(STDOUT_FILENO)};
    ctl_live_catch();

    json_t *created = NULL;
    rc = ctl_call(c, "job.create", json_pack("{s:s, s:s}", "type", type, "name", a.pos[0]),
                  &created);
    if (rc != CTL_OK)
        return rc;
    x.guid = json_string_value(json_object_get(created, "job"));
    if (!x.guid) {
        fprintf(stderr, "xferctl: transfer: xferd's job.create result has no job\n");
        json_decref(created);
        return CTL_FAIL;
    }
    if (!c->json)
        printf("created job %s\n", x.guid);
    rc = start(&x, &a, ctl_flag(c, &a, "--priority"));
    int64_t last_poll = 0;
    while (rc == CTL_OK) {
        if (ctl_live_stopped()) {
            end_bar(&x);
            fprintf(stderr, "xferctl: transfer: interrupted; job %s is left to xferd (%s)\n",
                    x.guid, x.last_state);
            rc = CTL_FAIL;
            break;
        }
        int64_t wait = last_poll + POLL_MS - ctl_live_now_ms();
        if (wait > 0) {
            /* Poll early on a state change, and on progress at most every MIN_POLL_MS. */
            bool closed;
            json_t *ev = ctl_live_next(c, (int)wait, &closed);
            if (closed) {
                fprintf(stderr,
                        "xferctl: transfer: job %s is left to xferd (it continues when "
                        "xferd runs again)\n",
                        x.guid);
                rc = CTL_FAIL;
                break;
            }
            const char *kind = json_string_value(json_object_get(ev, "type"));
            bool now = kind &&
                       (strcmp(kind, "state") == 0 || ctl_live_now_ms() - last_poll >= MIN_POLL_MS);
            json_decref(ev);
            if (!now && ctl_live_now_ms() - last_poll < POLL_MS)
                continue;
        }
        last_poll = ctl_live_now_ms();
        int r = step(&x);
        if (r >= 0) {
            rc = r;
            break;
        }
    }
    json_decref(created);
    return rc;
}
