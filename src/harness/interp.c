/*
 * interp: the scenario's timeline, executed against the world and xferd.
 *
 * Lines run one after the other in file order (scenario.h "Time"). The
 * current line first waits for its trigger, then its statement runs; an
 * `expect … within` and a `wait` keep the line running until they are
 * satisfied, fail, or their time is up. Everything is driven by one tick
 * (a 1 ms wall timer on the world's loop) plus xferd's notifications, which
 * only record (trace, state seen) and never call back into xferd.
 *
 * Byte triggers (`at d1 3MiB`) are exact whatever the machine's speed: when
 * the line is armed, a fault rule `stall at=N for=5s path=P` is added to the
 * origin serving the job's file, so the origin puts exactly N body bytes of
 * the entity on the wire and stops (for HTTP, HTTPS and FTP alike — the link
 * cannot count body bytes inside TLS). Each tick asks xferd for the file's
 * bytes; when they equal N the bytes have reached xferd, the rule is removed
 * and the line's statement runs at once, all within one loop callback, so
 * nothing else moves meanwhile: a `network none` there leaves xferd with
 * exactly N bytes and its resume asks for Range: bytes=N-. Removing the rule
 * ends the stall (the origins release a response whose stall rule is gone),
 * so a trigger whose action leaves the transfer alone costs it nothing; the
 * rule's own 5 s (well inside xferd's 2-minute no-response timeout) only
 * bounds a stall whose line is never reached. Had the stall ended before xferd
 * got the bytes, the overshoot is recorded in the timeline (ok false).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platjson.h"
#include "run.h"

#define TICK_US        1000
#define TRIGGER_STALL  "5s"
#define ENTITY_UNKNOWN UINT64_MAX

static int64_t now_ms(struct hx_run *r)
{
    return hx_world_now(&r->world);
}

void hx_run_stop(struct hx_run *r, enum hx_status st, const char *fmt, ...)
{
    if (r->status != HX_RUNNING)
        return;
    r->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    if (r->world.base)
        event_base_loopbreak(r->world.base);
}

/* A script error at a statement: result.json's error, exit 2. */
static void script_error(struct hx_run *r, const struct scn_stmt *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void script_error(struct hx_run *r, const struct scn_stmt *st, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char excerpt[1200];
    snprintf(excerpt, sizeof excerpt, "%s\n%*s^", st->source,
             (int)(st->pos.col ? st->pos.col - 1 : 0), "");
    hx_trace_error(r->trace, r->s->path, (int)st->pos.line, (int)st->pos.col, msg, excerpt);
    hx_trace_event(r->trace, now_ms(r), "note", (int)st->pos.line, false, "script error: %s", msg);
    hx_run_stop(r, HX_SCRIPT_ERROR, "%s:%u:%u: %s", r->s->path, st->pos.line, st->pos.col, msg);
}

static const char *job_id(struct hx_run *r, size_t j)
{
    return r->s->jobs[j].id;
}

/* ---- platform ------------------------------------------------------------ */

int hx_interp_push_platform(struct hx_run *r, const struct xfer_platform *p, char *err,
                            size_t errlen)
{
    json_t *o = rpc_platform_json(p);
    return hx_session_call(&r->sess, "platform.set", o, NULL, NULL, err, errlen) == 0 ? 0 : -1;
}

void hx_interp_on_platform(void *arg, const struct xfer_platform *p)
{
    struct hx_run *r = arg;
    r->platform = *p;
    r->platform_known = true;
    if (!hx_session_attached(&r->sess)) {
        r->platform_pending = true;
        return;
    }
    char err[512];
    int64_t t = now_ms(r);
    if (hx_interp_push_platform(r, p, err, sizeof err) < 0) {
        r->platform_pending = true;
        hx_trace_event(r->trace, t, "xferd", 0, false, "platform.set: %s", err);
        return;
    }
    r->platform_pending = false;
    hx_trace_event(r->trace, t, "xferd", 0, true, "platform told: %s, %s%s%s%s%s",
                   rpc_connectivity_name(p->connectivity), rpc_net_cost_name(p->cost),
                   p->roaming ? ", roaming" : "", p->over_limit ? ", over limit" : "",
                   p->battery_saver ? ", battery saver" : "", p->charging ? ", charging" : "");
}

/* ---- xferd --------------------------------------------------------------- */

int hx_run_start_xferd(struct hx_run *r, char *err, size_t errlen)
{
    /* Start xferd on our timeline: its sim 0 is at epoch (jumps included). */
    const struct xl_clock *c = &r->world.clock;
    int64_t epoch = c->wall0_ns - (int64_t)((double)c->sim0_ms * 1e6 / c->scale);
    r->pcfg.epoch_ns = epoch > 0 ? epoch : c->wall0_ns;
    if (hx_proc_start(&r->proc, &r->pcfg, err, errlen) < 0)
        return -1;
    if (hx_session_attach(&r->sess, err, errlen) < 0 || hx_session_attach(&r->app, err, errlen) < 0)
        return -1;
    if (hx_vtime_sync(r, err, errlen) < 0)
        return -1;
    struct xfer_platform p;
    if (r->platform_known)
        p = r->platform;
    else
        hx_world_platform(&r->world, &p);
    if (hx_interp_push_platform(r, &p, err, errlen) < 0)
        return -1;
    r->platform = p;
    r->platform_known = true;
    r->platform_pending = false;
    if (r->proc.starts == 1) {
        /* Scenario time 0 is now: xferd's start-up is not part of the script's time. */
        r->t0_ms = now_ms(r);
        r->last_ran_ms = r->t0_ms;
        hx_trace_set_origin(r->trace, r->t0_ms);
    }
    hx_trace_event(r->trace, now_ms(r), "xferd", 0, true, "xferd started (pid %d)",
                   (int)r->proc.pid);
    return 0;
}

/* ---- xferd's events ------------------------------------------------------ */

static int64_t event_ms(struct hx_run *r, json_t *params)
{
    int64_t now = now_ms(r);
    json_t *t = json_object_get(params, "time_ms");
    if (!json_is_integer(t))
        return now;
    int64_t v = (int64_t)json_integer_value(t);
    return v < 0 || v > now + 1000 ? now : v;
}

static size_t job_of(struct hx_run *r, json_t *params)
{
    const char *g = json_string_value(json_object_get(params, "job"));
    if (!g)
        return (size_t)-1;
    for (size_t i = 0; i < r->s->njobs; i++)
        if (strcasecmp(r->jobs[i].guid, g) == 0)
            return i;
    return (size_t)-1;
}

static void progress_sample(struct hx_run *r, size_t j, int64_t ms, json_t *params)
{
    struct hx_job *jb = &r->jobs[j];
    json_int_t f = json_integer_value(json_object_get(params, "file"));
    if (f < 0 || f >= HX_MAX_FILES)
        return;
    jb->file_bytes[f] = (uint64_t)json_integer_value(json_object_get(params, "bytes"));
    uint64_t sum = 0;
    for (size_t i = 0; i < HX_MAX_FILES && i < jb->nfiles; i++)
        sum += jb->file_bytes[i];
    json_t *total = json_object_get(params, "total");
    int64_t tot = jb->nfiles == 1 && json_is_integer(total) ? json_integer_value(total) : -1;
    hx_trace_progress(r->trace, job_id(r, j), ms, sum, tot);
}

void hx_interp_on_event(void *arg, json_t *params)
{
    struct hx_run *r = arg;
    const char *type = json_string_value(json_object_get(params, "type"));
    if (!type)
        return;
    int64_t ms = event_ms(r, params);
    if (strcmp(type, "group") == 0) {
        const char *g = json_string_value(json_object_get(params, "group"));
        size_t gi = g ? scn_group_find(r->s, g) : (size_t)-1;
        if (gi != (size_t)-1)
            r->group_ran[gi]++;
        hx_trace_event(r->trace, ms, "notify", 0, true, "group %s ran its command: exit %lld",
                       g ? g : "?", (long long)json_integer_value(json_object_get(params, "exit")));
        return;
    }
    size_t j = job_of(r, params);
    if (j == (size_t)-1)
        return;
    const char *id = job_id(r, j);
    if (strcmp(type, "state") == 0) {
        const char *old = json_string_value(json_object_get(params, "old"));
        const char *nw = json_string_value(json_object_get(params, "new"));
        const char *hr = json_string_value(json_object_get(params, "hr"));
        const char *hrn = json_string_value(json_object_get(params, "hr_name"));
        const char *cause = json_string_value(json_object_get(params, "cause"));
        hx_trace_state(r->trace, id, ms, old, nw, hr, hrn, cause);
        hx_trace_event(r->trace, ms, "state", 0, true, "%s %s -> %s%s%s%s", id, old ? old : "?",
                       nw ? nw : "?", cause ? " (" : "", cause ? cause : "", cause ? ")" : "");
        if (hrn && hr && strcmp(hr, "0x00000000") != 0)
            hx_trace_event(r->trace, ms, "state", 0, true, "%s error %s (%s)", id, hrn, hr);
        enum xfer_state s;
        if (nw && xfer_state_parse(nw, &s) && s == r->jobs[j].state_seen)
            r->jobs[j].state_hit = true;
    } else if (strcmp(type, "progress") == 0 || strcmp(type, "file") == 0) {
        progress_sample(r, j, ms, params);
    } else if (strcmp(type, "restart") == 0) {
        json_int_t f = json_integer_value(json_object_get(params, "file"));
        if (f >= 0 && f < HX_MAX_FILES)
            r->jobs[j].file_bytes[f] = 0;
        const char *hrn = json_string_value(json_object_get(params, "hr_name"));
        hx_trace_event(r->trace, ms, "state", 0, true, "%s file %lld restarted from byte 0%s%s", id,
                       (long long)f + 1, hrn ? ": " : "", hrn ? hrn : "");
    } else if (strcmp(type, "notify") == 0) {
        r->jobs[j].notified++;
        const char *reason = json_string_value(json_object_get(params, "reason"));
        hx_trace_event(r->trace, ms, "notify", 0, true,
                       "%s notify command ran (%s): exit %lld, attempt %lld", id,
                       reason ? reason : "?",
                       (long long)json_integer_value(json_object_get(params, "exit")),
                       (long long)json_integer_value(json_object_get(params, "attempt")));
    }
}

/* ---- actions ------------------------------------------------------------- */

static json_t *job_param(struct hx_run *r, size_t j)
{
    return json_pack("{s:s}", "job", r->jobs[j].guid);
}

/* The HRESULT of a refused call (data.hr), or E_INVALIDARG for a protocol error. */
static xfer_hr error_hr(json_t *error)
{
    const char *hr = json_string_value(json_object_get(json_object_get(error, "data"), "hr"));
    if (hr)
        return (xfer_hr)(uint32_t)strtoul(hr, NULL, 16);
    const struct xfer_error_row *row = xfer_error_by_name("E_INVALIDARG");
    return row ? row->hr : (xfer_hr)0x80070057u;
}

/*
 * A call made by a line: its outcome is the timeline entry; a refusal is the
 * job's last result (expect d1 result …), not a failure of the scenario.
 */
static int job_call(struct hx_run *r, const struct scn_stmt *st, size_t j, const char *method,
                    json_t *params, json_t **result)
{
    char err[1024] = "";
    json_t *error = NULL, *res = NULL;
    int64_t t = now_ms(r);
    int rc = hx_session_call(&r->app, method, params, &res, &error, err, sizeof err);
    if (rc == 0) {
        r->jobs[j].has_result = true;
        const char *hr = json_string_value(json_object_get(res, "hr"));
        r->jobs[j].result = hr ? (xfer_hr)(uint32_t)strtoul(hr, NULL, 16) : 0;
        const char *hrn = json_string_value(json_object_get(res, "hr_name"));
        hx_trace_event(r->trace, t, "action", (int)st->pos.line, true, "%s%s%s", st->source,
                       hrn ? " -> " : "", hrn ? hrn : "");
    } else if (rc == 1) {
        r->jobs[j].has_result = true;
        r->jobs[j].result = error_hr(error);
        hx_trace_event(r->trace, t, "action", (int)st->pos.line, false, "%s -> refused: %s",
                       st->source, err);
    } else {
        hx_trace_event(r->trace, t, "action", (int)st->pos.line, false, "%s -> %s", st->source,
                       err);
    }
    json_decref(error);
    if (result)
        *result = res;
    else
        json_decref(res);
    return rc;
}

static int do_job(struct hx_run *r, const struct scn_stmt *st)
{
    size_t j = st->u.job;
    const struct scn_job *sj = &r->s->jobs[j];
    json_t *p = json_pack("{s:s, s:s}", "type", xfer_job_type_name(sj->type), "name",
                          sj->display_name ? sj->display_name : sj->id);
    json_t *res = NULL;
    if (job_call(r, st, j, "job.create", p, &res) != 0) {
        json_decref(res);
        script_error(r, st, "xferd refused to create job %s (see the timeline)", sj->id);
        return -1;
    }
    const char *g = json_string_value(json_object_get(res, "job"));
    snprintf(r->jobs[j].guid, sizeof r->jobs[j].guid, "%s", g ? g : "");
    json_decref(res);
    hx_trace_job(r->trace, sj->id, r->jobs[j].guid);
    if (sj->has_priority) {
        json_t *sp = json_pack("{s:s, s:s, s:s}", "job", r->jobs[j].guid, "prop", "priority",
                               "value", xfer_priority_name(sj->priority));
        job_call(r, st, j, "job.set", sp, NULL);
    }
    return 0;
}

static int do_add(struct hx_run *r, const struct scn_stmt *st)
{
    const struct scn_add_args *a = &st->u.add;
    struct hx_job *jb = &r->jobs[a->job];
    char local[PATH_MAX * 2];
    snprintf(local, sizeof local, "%s/%s", r->downloads, a->local);
    json_t *p;
    if (a->ranges) {
        json_t *ranges = json_array();
        for (size_t i = 0; i < a->nranges; i++)
            json_array_append_new(ranges,
                                  json_pack("[I, o]", (json_int_t)a->ranges[i].offset,
                                            a->ranges[i].length == XFER_LENGTH_TO_EOF
                                                ? json_null()
                                                : json_integer((json_int_t)a->ranges[i].length)));
        p = json_pack("{s:s, s:s, s:s, s:o}", "job", jb->guid, "url", a->url, "path", local,
                      "ranges", ranges);
    } else {
        p = json_pack("{s:s, s:s, s:s}", "job", jb->guid, "url", a->url, "path", local);
    }
    int rc = job_call(r, st, a->job, a->ranges ? "job.add_file_ranges" : "job.add_file", p, NULL);
    if (rc == 0 && jb->nfiles < HX_MAX_FILES) {
        jb->files[jb->nfiles].origin = a->origin;
        jb->files[jb->nfiles].path = a->path;
        jb->nfiles++;
    }
    return 0;
}

static int do_set(struct hx_run *r, const struct scn_stmt *st)
{
    const struct scn_set_args *a = &st->u.set;
    json_t *p = json_pack("{s:s, s:s, s:s}", "job", r->jobs[a->job].guid, "prop", a->prop, "value",
                          a->value);
    job_call(r, st, a->job, "job.set", p, NULL);
    return 0;
}

static int do_group(struct hx_run *r, const struct scn_stmt *st)
{
    const struct scn_group *g = &r->s->groups[st->u.group];
    char err[1024];
    json_t *p = json_pack("{s:s}", "name", g->name);
    if (g->notify)
        json_object_set_new(p, "cmdline", json_string(g->notify));
    int rc = hx_session_call(&r->app, "group.create", p, NULL, NULL, err, sizeof err);
    for (size_t i = 0; rc == 0 && i < g->njobs; i++)
        rc = hx_session_call(
            &r->app, "group.add",
            json_pack("{s:s, s:s}", "group", g->name, "job", r->jobs[g->jobs[i]].guid), NULL, NULL,
            err, sizeof err);
    if (rc == 0)
        rc = hx_session_call(&r->app, "group.enable", json_pack("{s:s}", "group", g->name), NULL,
                             NULL, err, sizeof err);
    hx_trace_event(r->trace, now_ms(r), "action", (int)st->pos.line, rc == 0, "%s%s%s", st->source,
                   rc == 0 ? "" : " -> ", rc == 0 ? "" : err);
    return 0;
}

/* Text content: a file under www/<origin>/ served as the origin's content root. */
static int text_file(struct hx_run *r, const struct scn_stmt *st, struct hx_origin *o)
{
    const struct scn_file_args *a = &st->u.file;
    char root[PATH_MAX], file[PATH_MAX * 2];
    snprintf(root, sizeof root, "%s/%s", r->www, o->name);
    snprintf(file, sizeof file, "%s%s", root, a->path);
    char *slash = strrchr(file, '/');
    *slash = '\0';
    if (hx_mkdir_p(file) < 0) {
        script_error(r, st, "cannot create %s: %s", file, strerror(errno));
        return -1;
    }
    *slash = '/';
    FILE *f = fopen(file, "wb");
    if (!f || fwrite(a->text, 1, strlen(a->text), f) != strlen(a->text)) {
        if (f)
            fclose(f);
        script_error(r, st, "cannot write %s", file);
        return -1;
    }
    fclose(f);
    char err[XL_ERRLEN] = "";
    if (!o->o.content.root && flt_content_set_root(&o->o.content, root, err) < 0) {
        script_error(r, st, "content root %s: %s", root, err);
        return -1;
    }
    return 0;
}

static int do_content(struct hx_run *r, const struct scn_stmt *st)
{
    /* file, rule, unrule and change all name their origin first */
    size_t oi = st->kind == SCN_FILE     ? st->u.file.origin
                : st->kind == SCN_CHANGE ? st->u.change.origin
                                         : st->u.rule.origin;
    struct hx_origin *o = r->world.origins[oi];
    char err[XL_ERRLEN] = "";
    if (st->kind == SCN_FILE) {
        if (st->u.file.is_text) {
            if (text_file(r, st, o) < 0)
                return -1;
        } else if (flt_content_add_gen(&o->o.content, st->u.file.path, st->u.file.size,
                                       st->u.file.seed, err) < 0) {
            script_error(r, st, "%s", err);
            return -1;
        }
    } else if (st->kind == SCN_RULE) {
        if (flt_rules_add_text(&o->o.rules, st->u.rule.text, now_ms(r), err) < 0) {
            script_error(r, st, "%s", err);
            return -1;
        }
    } else if (st->kind == SCN_UNRULE) {
        if (flt_rules_remove(&o->o.rules, st->u.rule.name) < 0) {
            script_error(r, st, "origin %s has no rule named '%s'", o->name, st->u.rule.name);
            return -1;
        }
    } else if (flt_content_change(&o->o.content, st->u.change.path, st->u.change.new_size) < 0) {
        script_error(r, st, "%s%s is not generated content", o->name, st->u.change.path);
        return -1;
    }
    hx_trace_event(r->trace, now_ms(r), st->kind == SCN_FILE ? "action" : "fault",
                   (int)st->pos.line, true, "%s", st->source);
    return 0;
}

static enum sim_cut cut_of(enum scn_cut c)
{
    switch (c) {
    case SCN_CUT_DEFAULT:
    case SCN_CUT_RESET:
        return SIM_CUT_RESET;
    case SCN_CUT_BLACKHOLE:
        return SIM_CUT_BLACKHOLE;
    }
    return SIM_CUT_RESET;
}

static int do_world(struct hx_run *r, const struct scn_stmt *st)
{
    char err[512] = "";
    size_t col = 0;
    hx_trace_event(r->trace, now_ms(r), "action", (int)st->pos.line, true, "%s", st->source);
    int rc = st->kind == SCN_NETWORK
                 ? hx_world_set_network(&r->world, st->u.network.text, cut_of(st->u.network.cut),
                                        st->u.network.silent, &col, err, sizeof err)
                 : hx_world_set_battery(&r->world, st->u.battery.text, st->u.battery.silent, &col,
                                        err, sizeof err);
    if (rc < 0) {
        script_error(r, st, "%s", err);
        return -1;
    }
    return 0;
}

static int do_attach(struct hx_run *r, const struct scn_stmt *st)
{
    char err[1024] = "";
    int64_t t = now_ms(r);
    json_t *list = NULL;
    if (hx_session_attach(&r->app, err, sizeof err) < 0 ||
        hx_session_call(&r->app, "job.list", json_object(), &list, NULL, err, sizeof err) != 0) {
        hx_trace_event(r->trace, t, "action", (int)st->pos.line, false, "attach: %s", err);
        return 0;
    }
    hx_trace_event(r->trace, t, "action", (int)st->pos.line, true,
                   "client attached: %zu job(s) enumerated", json_array_size(list));
    json_decref(list);
    return 0;
}

static int do_restart(struct hx_run *r, const struct scn_stmt *st)
{
    char err[1024] = "";
    if (r->proc.pid > 0) {
        hx_session_detach(&r->app);
        hx_session_detach(&r->sess);
        hx_proc_kill(&r->proc);
    }
    if (hx_run_start_xferd(r, err, sizeof err) < 0) {
        hx_trace_event(r->trace, now_ms(r), "xferd", (int)st->pos.line, false, "restart: %s", err);
        hx_run_stop(r, HX_HARNESS_ERROR, "restarting xferd: %s", err);
        return -1;
    }
    return 0;
}

/* Run a statement that happens at once (everything but wait and expect). */
static int exec_stmt(struct hx_run *r, const struct scn_stmt *st)
{
    switch (st->kind) {
    case SCN_ORIGIN:
    case SCN_LIMIT:
    case SCN_SEED:
        return 0;
    case SCN_FILE:
    case SCN_RULE:
    case SCN_UNRULE:
    case SCN_CHANGE:
        return do_content(r, st);
    case SCN_NETWORK:
    case SCN_BATTERY:
        return do_world(r, st);
    case SCN_JOB:
        return do_job(r, st);
    case SCN_ADD:
        return do_add(r, st);
    case SCN_SET:
        return do_set(r, st);
    case SCN_GROUP:
        return do_group(r, st);
    case SCN_RESUME:
        job_call(r, st, st->u.job, "job.resume", job_param(r, st->u.job), NULL);
        return 0;
    case SCN_SUSPEND:
        job_call(r, st, st->u.job, "job.suspend", job_param(r, st->u.job), NULL);
        return 0;
    case SCN_CANCEL:
        job_call(r, st, st->u.job, "job.cancel", job_param(r, st->u.job), NULL);
        return 0;
    case SCN_COMPLETE:
        job_call(r, st, st->u.job, "job.complete", job_param(r, st->u.job), NULL);
        return 0;
    case SCN_DETACH:
        hx_session_detach(&r->app);
        hx_trace_event(r->trace, now_ms(r), "action", (int)st->pos.line, true, "client detached");
        return 0;
    case SCN_ATTACH:
        return do_attach(r, st);
    case SCN_KILL:
        hx_session_detach(&r->app);
        hx_session_detach(&r->sess);
        hx_proc_kill(&r->proc);
        hx_trace_event(r->trace, now_ms(r), "xferd", (int)st->pos.line, true,
                       "xferd killed (SIGKILL)");
        return 0;
    case SCN_RESTART:
        return do_restart(r, st);
    case SCN_WAIT:
    case SCN_EXPECT:
    case SCN_KIND__COUNT:
        return 0;
    }
    return 0;
}

int hx_interp_setup(struct hx_run *r)
{
    for (size_t i = 0; i < r->s->nsetup && r->status == HX_RUNNING; i++)
        if (exec_stmt(r, &r->s->stmts[i]) < 0)
            return -1;
    r->pc = r->s->nsetup;
    r->last_ran_ms = 0;
    return r->status == HX_RUNNING ? 0 : -1;
}

/* ---- triggers ------------------------------------------------------------ */

/* Bytes done of a job's file now, or UINT64_MAX (err) when xferd cannot say. */
static uint64_t file_bytes(struct hx_run *r, size_t job, size_t file, char *err, size_t errlen)
{
    json_t *info = hx_job_info(r, job, err, errlen);
    if (!info)
        return UINT64_MAX;
    json_t *f = json_array_get(json_object_get(info, "files"), file);
    uint64_t v = f ? (uint64_t)json_integer_value(json_object_get(f, "bytes_done")) : UINT64_MAX;
    if (!f)
        snprintf(err, errlen, "job %s has no file %zu", job_id(r, job), file + 1);
    json_decref(info);
    return v;
}

static enum xfer_state job_state(struct hx_run *r, size_t job, bool *ok)
{
    char err[512];
    json_t *info = hx_job_info(r, job, err, sizeof err);
    enum xfer_state s = XFER_QUEUED;
    *ok = info && xfer_state_parse(json_string_value(json_object_get(info, "state")), &s);
    json_decref(info);
    return s;
}

/*
 * Put statement k's byte-trigger stall in place. A response is planned when its
 * request arrives, so a rule added later does not stop it: every byte trigger's
 * rule goes in as soon as its job has the file (arm_ahead), before the
 * request that must stop at the byte.
 */
static int stall_rule(struct hx_run *r, size_t k)
{
    const struct scn_stmt *st = &r->s->stmts[k];
    const struct scn_trigger *t = &st->trigger;
    if (r->stall_added[k])
        return 0;
    const struct hx_jfile *f = &r->jobs[t->job].files[t->file];
    struct hx_origin *o = r->world.origins[f->origin];
    char rule[1024], err[XL_ERRLEN] = "";
    snprintf(rule, sizeof rule, "hx-at-line-%u: stall at=%" PRIu64 " for=%s path=%s", st->pos.line,
             t->bytes, TRIGGER_STALL, f->path);
    if (flt_rules_add_text(&o->o.rules, rule, now_ms(r), err) < 0) {
        script_error(r, st, "byte trigger: %s", err);
        return -1;
    }
    r->stall_added[k] = true;
    return 0;
}

static void arm_ahead(struct hx_run *r)
{
    for (size_t k = r->pc; k < r->s->nstmts && r->status == HX_RUNNING; k++) {
        const struct scn_trigger *t = &r->s->stmts[k].trigger;
        if (t->kind == SCN_TRIG_BYTES && !r->stall_added[k] && t->file < r->jobs[t->job].nfiles)
            stall_rule(r, k);
    }
}

static void arm(struct hx_run *r, const struct scn_stmt *st)
{
    struct hx_wait *w = &r->w;
    memset(w, 0, sizeof *w);
    w->armed = true;
    w->due_ms = INT64_MAX;
    w->deadline_ms = INT64_MAX;
    const struct scn_trigger *t = &st->trigger;
    switch (t->kind) {
    case SCN_TRIG_NONE:
        w->due_ms = now_ms(r);
        break;
    case SCN_TRIG_ABS:
        w->due_ms = r->t0_ms + t->ms;
        break;
    case SCN_TRIG_REL:
        w->due_ms = r->last_ran_ms + t->ms;
        break;
    case SCN_TRIG_STATE: {
        r->jobs[t->job].state_seen = t->state;
        r->jobs[t->job].state_hit = false;
        bool ok;
        if (job_state(r, t->job, &ok) == t->state && ok)
            r->jobs[t->job].state_hit = true;
        w->state = true;
        break;
    }
    case SCN_TRIG_BYTES: {
        struct hx_job *jb = &r->jobs[t->job];
        w->bytes = true;
        if (t->file >= jb->nfiles) {
            script_error(r, st, "job %s has no file %zu when this trigger is armed",
                         job_id(r, t->job), t->file + 1);
            return;
        }
        if (stall_rule(r, (size_t)(st - r->s->stmts)) < 0)
            return;
        snprintf(w->rule, sizeof w->rule, "hx-at-line-%u", st->pos.line);
        w->bytes_origin = jb->files[t->file].origin;
        break;
    }
    }
}

static void disarm_rule(struct hx_run *r)
{
    if (!r->w.rule[0])
        return;
    flt_rules_remove(&r->world.origins[r->w.bytes_origin]->o.rules, r->w.rule);
    r->w.rule[0] = '\0';
}

/* Has the current line's trigger fired? */
static bool triggered(struct hx_run *r, const struct scn_stmt *st)
{
    const struct scn_trigger *t = &st->trigger;
    int64_t now = now_ms(r);
    switch (t->kind) {
    case SCN_TRIG_NONE:
    case SCN_TRIG_ABS:
    case SCN_TRIG_REL:
        return now >= r->w.due_ms;
    case SCN_TRIG_STATE:
        return r->jobs[t->job].state_hit;
    case SCN_TRIG_BYTES: {
        char err[512] = "";
        uint64_t b = file_bytes(r, t->job, t->file, err, sizeof err);
        if (b == UINT64_MAX || b < t->bytes)
            return false;
        disarm_rule(r);
        hx_trace_event(r->trace, now, "fault", (int)st->pos.line, b == t->bytes,
                       "byte trigger: %s file %zu at %" PRIu64 " bytes%s", job_id(r, t->job),
                       t->file + 1, b, b == t->bytes ? "" : " (overshot the trigger's byte)");
        return true;
    }
    }
    return false;
}

/* ---- the timeline -------------------------------------------------------- */

static void expect_failed(struct hx_run *r, const struct scn_stmt *st, const char *got)
{
    const char *expected = st->source;
    while (*expected == ' ' || *expected == '\t')
        expected++;
    const char *kw = strstr(expected, "expect");
    if (kw)
        expected = kw + strlen("expect");
    while (*expected == ' ' || *expected == '\t')
        expected++;
    int64_t t = now_ms(r);
    hx_trace_failure(r->trace, r->s->path, (int)st->pos.line, (int)st->pos.col, st->source,
                     expected, got, t);
    hx_trace_event(r->trace, t, "expect", (int)st->pos.line, false, "%s -> got %s", st->source,
                   got);
    hx_run_stop(r, HX_FAILED, "%s:%u: expected %s, got %s", r->s->path, st->pos.line, expected,
                got);
}

/* The current line after its trigger: true when it is done. */
static bool run_line(struct hx_run *r, const struct scn_stmt *st)
{
    struct hx_wait *w = &r->w;
    int64_t now = now_ms(r);
    if (!w->fired) {
        w->fired = true;
        if (st->kind == SCN_WAIT)
            w->due_ms = now + st->u.wait_ms;
        if (st->kind == SCN_EXPECT && st->u.expect.within_ms != SCN_NOW)
            w->deadline_ms = now + st->u.expect.within_ms;
        if (st->kind != SCN_WAIT && st->kind != SCN_EXPECT)
            return exec_stmt(r, st) == 0;
    }
    if (st->kind == SCN_WAIT)
        return now >= w->due_ms;
    char got[2048] = "";
    if (hx_expect_eval(r, st, got, sizeof got)) {
        hx_trace_event(r->trace, now, "expect", (int)st->pos.line, true, "%s", st->source);
        return true;
    }
    if (st->u.expect.within_ms == SCN_NOW) {
        expect_failed(r, st, got);
        return false;
    }
    if (now >= w->deadline_ms) {
        char dur[64], full[2200];
        xl_format_duration(st->u.expect.within_ms, dur, sizeof dur);
        snprintf(full, sizeof full, "%s after %s", got, dur);
        expect_failed(r, st, full);
    }
    return false;
}

/* When the current line could next make progress by time alone (sim ms). */
static int64_t next_time(struct hx_run *r, const struct scn_stmt *st)
{
    const struct hx_wait *w = &r->w;
    int64_t t = r->t0_ms + r->sim_limit_ms;
    if (!w->fired && w->due_ms < t)
        t = w->due_ms;
    if (w->fired && st->kind == SCN_WAIT && w->due_ms < t)
        t = w->due_ms;
    if (w->fired && w->deadline_ms < t)
        t = w->deadline_ms;
    return t;
}

static void step(struct hx_run *r)
{
    while (r->status == HX_RUNNING && r->pc < r->s->nstmts) {
        const struct scn_stmt *st = &r->s->stmts[r->pc];
        if (!r->w.armed) {
            arm_ahead(r);
            arm(r, st);
        }
        if (r->status != HX_RUNNING)
            return;
        if (!r->w.fired && !triggered(r, st)) {
            hx_vtime_maybe_jump(r, next_time(r, st));
            return;
        }
        bool done = run_line(r, st);
        if (r->status != HX_RUNNING)
            return;
        if (!done) {
            hx_vtime_maybe_jump(r, next_time(r, st));
            return;
        }
        r->last_ran_ms = now_ms(r);
        r->pc++;
        memset(&r->w, 0, sizeof r->w);
    }
    if (r->status == HX_RUNNING)
        hx_run_stop(r, HX_PASSED, "every line ran");
}

static const struct scn_stmt *current(struct hx_run *r)
{
    return r->pc < r->s->nstmts ? &r->s->stmts[r->pc] : NULL;
}

static void limits(struct hx_run *r)
{
    int64_t wall = (xl_mono_ns() - r->wall0_ns) / 1000000;
    int64_t sim = now_ms(r) - r->t0_ms;
    const struct scn_stmt *st = current(r);
    char where[600] = "";
    if (st)
        snprintf(where, sizeof where, " waiting at line %u: %s", st->pos.line, st->source);
    if (sim >= r->sim_limit_ms) {
        char d[64];
        xl_format_duration(r->sim_limit_ms, d, sizeof d);
        hx_trace_event(r->trace, now_ms(r), "note", st ? (int)st->pos.line : 0, false,
                       "time limit: %s of simulated time%s", d, where);
        hx_run_stop(r, HX_TIMEOUT, "stopped at its time limit (%s simulated)%s", d, where);
    } else if (wall >= r->wall_limit_ms) {
        char d[64];
        xl_format_duration(r->wall_limit_ms, d, sizeof d);
        hx_trace_event(r->trace, sim, "note", st ? (int)st->pos.line : 0, false,
                       "time limit: %s of wall time%s", d, where);
        hx_run_stop(r, HX_TIMEOUT, "stopped at its time limit (%s wall)%s", d, where);
    }
}

static void check_xferd(struct hx_run *r)
{
    int status = 0;
    if (r->proc.pid <= 0 || !hx_proc_exited(&r->proc, &status))
        return;
    hx_session_detach(&r->app);
    hx_session_detach(&r->sess);
    char how[64];
    if (WIFSIGNALED(status))
        snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
    int64_t t = now_ms(r);
    hx_trace_event(r->trace, t, "xferd", 0, false, "xferd %s by itself", how);
    const struct scn_stmt *st = current(r);
    char got[128];
    snprintf(got, sizeof got, "xferd %s", how);
    hx_trace_failure(r->trace, r->s->path, st ? (int)st->pos.line : 0, st ? (int)st->pos.col : 0,
                     st ? st->source : "", "xferd keeps running", got, t);
    hx_run_stop(r, HX_FAILED, "xferd %s (see xferd.log)", how);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hx_run *r = arg;
    check_xferd(r);
    if (r->status != HX_RUNNING)
        return;
    struct sim_link_stats ls;
    sim_link_stats(r->world.link, &ls);
    hx_world_tick(&r->world, ls.open > 0);
    step(r);
    if (r->status == HX_RUNNING)
        limits(r);
}

void hx_interp_run(struct hx_run *r)
{
    r->tick = event_new(r->world.base, -1, EV_PERSIST, on_tick, r);
    struct timeval tv = {0, TICK_US};
    if (!r->tick || event_add(r->tick, &tv) < 0) {
        hx_run_stop(r, HX_HARNESS_ERROR, "cannot start the timeline's timer");
        return;
    }
    step(r);
    if (r->status == HX_RUNNING)
        event_base_loop(r->world.base, 0);
    disarm_rule(r);
    event_free(r->tick);
    r->tick = NULL;
}
