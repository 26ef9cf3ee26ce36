/*
 * exec: `xferlab scenario-exec` — the command line, the run's directory, the
 * order of a run and its teardown.
 *
 *   parse the script (script error: exit 2, diagnostics on stderr)
 *   -> the world: origins on free ports, link, model, clock (scale)
 *   -> xferd started on DIR/state with DIR/xferd.sock, its clock on ours
 *   -> setup lines, then the timeline (interp.c) until it ends, fails or
 *      reaches its time limit
 *   -> teardown on every path: xferd killed and reaped, the journals and the
 *      trace written (journal.json, result.json), the world freed.
 *
 * Layout of --out DIR: state/ (xferd's state directory), xferd.sock,
 * xferd.log, result.json, journal.json, downloads/ (job files; scenario paths
 * are relative to it), pki/ (the test CA), www/ (text content). Nothing is
 * written outside DIR.
 */
#include "harness.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "run.h"

#define DEFAULT_SCALE 50.0

static const char *status_name(enum hx_status s)
{
    switch (s) {
    case HX_PASSED:
        return "passed";
    case HX_FAILED:
        return "failed";
    case HX_SCRIPT_ERROR:
        return "error";
    case HX_TIMEOUT:
        return "timeout";
    case HX_HARNESS_ERROR:
    case HX_RUNNING:
        return "harness-error";
    }
    return "harness-error";
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xferlab scenario-exec FILE --out DIR [--seed N] [--xferd PATH]\n"
            "                              [--time-limit DUR] [--scale X]\n\n"
            "Run one scenario against a real xferd and write DIR/result.json.\n"
            "  --out DIR          the run's directory (created)\n"
            "  --seed N           recorded in the result (the script's seed otherwise)\n"
            "  --xferd PATH       xferd binary (else $XFERLAB_XFERD, else beside xferlab)\n"
            "  --time-limit DUR   wall-clock limit (default: the script's, else 20s)\n"
            "  --scale X          simulated seconds per wall second (default %g)\n\n"
            "Exit: 0 passed, 1 failed, 2 script or usage error, 3 time limit, 4 harness "
            "failure.\n",
            DEFAULT_SCALE);
}

int hx_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* "disconnects/drop-resume" for ".../scenarios/disconnects/drop-resume.scn". */
static void scenario_name(const char *path, char *out, size_t len)
{
    const char *p = path, *hit;
    while ((hit = strstr(p, "scenarios/")) != NULL)
        p = hit + strlen("scenarios/");
    if (p == path) {
        const char *slash = strrchr(path, '/');
        p = slash ? slash + 1 : path;
    }
    snprintf(out, len, "%s", p);
    size_t n = strlen(out);
    if (n > 4 && strcmp(out + n - 4, ".scn") == 0)
        out[n - 4] = '\0';
}

static json_t *names(const struct scn_script *s, enum scn_cover_kind k)
{
    const char *v[128];
    size_t n = scn_covers(s, k, v, 128);
    json_t *a = json_array();
    for (size_t i = 0; i < n && i < 128; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void describe(struct hx_run *r)
{
    const struct scn_script *s = r->s;
    char name[PATH_MAX];
    scenario_name(s->path, name, sizeof name);
    hx_trace_set(r->trace, "scenario", json_string(name));
    hx_trace_set(r->trace, "file", json_string(s->path));
    hx_trace_set(r->trace, "title", json_string(s->title ? s->title : ""));
    hx_trace_set(r->trace, "covers",
                 json_pack("{s:o, s:o, s:o}", "codes", names(s, SCN_COVER_CODE), "interrupts",
                           names(s, SCN_COVER_INTERRUPT), "states", names(s, SCN_COVER_STATE)));
}

static enum flt_cert_kind cert_of(enum scn_cert c)
{
    switch (c) {
    case SCN_CERT_VALID:
        return FLT_CERT_VALID;
    case SCN_CERT_EXPIRED:
        return FLT_CERT_EXPIRED;
    case SCN_CERT_WRONG_HOST:
        return FLT_CERT_WRONG_HOST;
    case SCN_CERT_SELF_SIGNED:
        return FLT_CERT_SELF_SIGNED;
    }
    return FLT_CERT_VALID;
}

static int paths(struct hx_run *r, const char *out, char *err, size_t errlen)
{
    if (hx_mkdir_p(out) < 0 || !realpath(out, r->out)) {
        snprintf(err, errlen, "--out %s: %s", out, strerror(errno));
        return -1;
    }
    struct {
        char *dst;
        const char *name;
        bool dir;
    } v[] = {{r->state_dir, "state", true},  {r->downloads, "downloads", true},
             {r->pki, "pki", true},          {r->www, "www", false},
             {r->sock, "xferd.sock", false}, {r->log, "xferd.log", false}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        if ((size_t)snprintf(v[i].dst, PATH_MAX, "%s/%s", r->out, v[i].name) >= PATH_MAX) {
            snprintf(err, errlen, "--out %s: path too long", out);
            return -1;
        }
        if (v[i].dir && hx_mkdir_p(v[i].dst) < 0) {
            snprintf(err, errlen, "%s: %s", v[i].dst, strerror(errno));
            return -1;
        }
    }
    if (strlen(r->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        snprintf(err, errlen, "--out %s: the socket path %s is too long for a Unix socket", out,
                 r->sock);
        return -1;
    }
    unlink(r->log); /* a fresh log per run */
    return 0;
}

/* The world and xferd. 0, or -1 with the status set. */
static int start(struct hx_run *r)
{
    char err[1024] = "";
    if (hx_world_init(&r->world, r->scale, r->pki, r->trace, err, sizeof err) < 0)
        goto fail;
    r->world_ok = true;
    r->world.on_platform = hx_interp_on_platform;
    r->world.platform_arg = r;
    for (size_t i = 0; i < r->s->norigins; i++) {
        const struct scn_origin *o = &r->s->origins[i];
        unsigned p = ((o->protos & SCN_PROTO_HTTP) ? HX_HTTP : 0) |
                     ((o->protos & SCN_PROTO_HTTPS) ? HX_HTTPS : 0) |
                     ((o->protos & SCN_PROTO_FTP) ? HX_FTP : 0);
        /* Index i of the script is index i of the world. */
        if (!hx_world_origin_add(&r->world, o->name, p, cert_of(o->cert), err, sizeof err))
            goto fail;
    }
    if (hx_world_start(&r->world, err, sizeof err) < 0)
        goto fail;
    hx_world_link_url(&r->world, r->link, sizeof r->link);
    r->pcfg = (struct hx_proc_config){.xferd = r->xferd,
                                      .state_dir = r->state_dir,
                                      .socket = r->sock,
                                      .log_path = r->log,
                                      .ca_file = hx_world_ca_path(&r->world),
                                      .scale = r->scale,
                                      .start_timeout_ms = 10000};
    r->pcfg.link = r->link;
    hx_session_init(&r->sess, r->world.base, r->sock, hx_interp_on_event, r);
    hx_session_init(&r->app, r->world.base, r->sock, NULL, NULL);
    hx_trace_model_state(r->trace, hx_world_now(&r->world), &r->world.model);
    if (hx_run_start_xferd(r, err, sizeof err) < 0)
        goto fail;
    return 0;
fail:
    hx_run_stop(r, HX_HARNESS_ERROR, "%s", err);
    return -1;
}

static void write_journal(struct hx_run *r)
{
    json_t *doc = json_pack("{s:[]}", "origins");
    for (size_t i = 0; r->world_ok && i < r->world.norigins; i++) {
        struct hx_origin *o = r->world.origins[i];
        json_array_append_new(json_object_get(doc, "origins"),
                              json_pack("{s:s, s:o}", "name", o->name, "entries",
                                        flt_journal_json(&o->o.journal, 0)));
        hx_trace_requests(r->trace, o->name, &o->o.journal);
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/journal.json", r->out);
    if (json_dump_file(doc, path, JSON_INDENT(1)) < 0)
        fprintf(stderr, "xferlab: cannot write %s\n", path);
    json_decref(doc);
}

static void teardown(struct hx_run *r)
{
    hx_session_detach(&r->app);
    hx_session_detach(&r->sess);
    hx_proc_kill(&r->proc);
    write_journal(r);
    hx_trace_log_tail(r->trace, r->log, 60);
}

static int finish(struct hx_run *r, uint64_t seed)
{
    int64_t wall = (xl_mono_ns() - r->wall0_ns) / 1000000;
    int64_t now = r->world_ok ? hx_world_now(&r->world) : 0;
    int64_t sim = now > r->t0_ms ? now - r->t0_ms : 0; /* scenario time */
    if (r->status == HX_RUNNING)
        r->status = HX_HARNESS_ERROR;
    if (r->status == HX_HARNESS_ERROR && !hx_trace_has_error(r->trace))
        hx_trace_event(r->trace, now, "note", 0, false, "harness failure: %s", r->why);
    if (r->status == HX_HARNESS_ERROR)
        hx_trace_set(r->trace, "harness_error", json_string(r->why));
    char path[PATH_MAX + 32], err[512];
    snprintf(path, sizeof path, "%s/result.json", r->out);
    if (hx_trace_write(r->trace, path, status_name(r->status), seed, wall, sim, err, sizeof err) <
        0)
        fprintf(stderr, "xferlab: %s\n", err);
    const char *file = r->s ? r->s->path : "?";
    switch (r->status) {
    case HX_PASSED:
        printf("passed %s (%lld ms wall, %lld ms simulated)\n", file, (long long)wall,
               (long long)sim);
        break;
    case HX_FAILED:
    case HX_TIMEOUT:
    case HX_HARNESS_ERROR:
        fprintf(stderr, "%s: %s\n", status_name(r->status), r->why);
        break;
    case HX_SCRIPT_ERROR:
    case HX_RUNNING:
        break;
    }
    return r->status;
}

struct opts {
    const char *file, *out, *xferd, *time_limit;
    uint64_t seed;
    bool seed_given;
    double scale;
};

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {{"out", required_argument, NULL, 'o'},
                                       {"seed", required_argument, NULL, 's'},
                                       {"xferd", required_argument, NULL, 'x'},
                                       {"time-limit", required_argument, NULL, 't'},
                                       {"scale", required_argument, NULL, 'S'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->scale = DEFAULT_SCALE;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:s:x:t:S:h", lo, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o':
            o->out = optarg;
            break;
        case 's':
            errno = 0;
            o->seed = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg) {
                fprintf(stderr, "xferlab scenario-exec: --seed %s: not a number\n", optarg);
                return -1;
            }
            o->seed_given = true;
            break;
        case 'x':
            o->xferd = optarg;
            break;
        case 't':
            o->time_limit = optarg;
            break;
        case 'S':
            o->scale = strtod(optarg, &end);
            if (*end || !(o->scale > 0)) {
                fprintf(stderr, "xferlab scenario-exec: --scale %s: not a positive number\n",
                        optarg);
                return -1;
            }
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc - 1 || !o->out) {
        fprintf(stderr, "xferlab scenario-exec: %s\n",
                optind >= argc ? "missing the scenario FILE"
                : !o->out      ? "missing --out DIR"
                               : "one scenario FILE only");
        usage(stderr);
        return -1;
    }
    o->file = argv[optind];
    return 0;
}

int hx_exec_main(int argc, char **argv)
{
    struct opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : HX_SCRIPT_ERROR;
    signal(SIGPIPE, SIG_IGN);
    struct hx_run *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(stderr, "xferlab scenario-exec: out of memory\n");
        return HX_HARNESS_ERROR;
    }
    r->status = HX_RUNNING;
    r->wall0_ns = xl_mono_ns();
    r->scale = o.scale;
    char err[1024] = "";
    struct scn_script *script = NULL;
    r->trace = hx_trace_new();
    if (!r->trace) {
        fprintf(stderr, "xferlab scenario-exec: out of memory\n");
        free(r);
        return HX_HARNESS_ERROR;
    }
    if (paths(r, o.out, err, sizeof err) < 0) {
        fprintf(stderr, "xferlab scenario-exec: %s\n", err);
        hx_trace_free(r->trace);
        free(r);
        return HX_SCRIPT_ERROR;
    }
    uint64_t seed = o.seed;
    struct scn_diag diag;
    memset(&diag, 0, sizeof diag);
    if (scn_parse_file(o.file, &script, &diag) < 0) {
        scn_diag_print(&diag, stderr);
        char excerpt[SCN_DIAG_LEN * 2 + 2];
        snprintf(excerpt, sizeof excerpt, "%s\n%s", diag.source, diag.caret);
        hx_trace_error(r->trace, diag.file[0] ? diag.file : o.file, (int)diag.line, (int)diag.col,
                       diag.message, excerpt);
        hx_trace_set(r->trace, "file", json_string(o.file));
        char name[PATH_MAX];
        scenario_name(o.file, name, sizeof name);
        hx_trace_set(r->trace, "scenario", json_string(name));
        r->status = HX_SCRIPT_ERROR;
        goto out;
    }
    r->s = script;
    if (!o.seed_given)
        seed = script->seed;
    describe(r);
    r->sim_limit_ms = script->limit_ms;
    r->wall_limit_ms = script->wall_limit_ms;
    if (o.time_limit) {
        size_t col = 0;
        char uerr[XL_ERRLEN];
        if (xl_parse_duration(o.time_limit, &r->wall_limit_ms, &col, uerr) < 0) {
            fprintf(stderr, "xferlab scenario-exec: --time-limit %s: %s\n", o.time_limit, uerr);
            r->status = HX_SCRIPT_ERROR;
            snprintf(r->why, sizeof r->why, "--time-limit: %s", uerr);
            goto out;
        }
    }
    r->jobs = calloc(script->njobs ? script->njobs : 1, sizeof *r->jobs);
    r->group_ran = calloc(script->ngroups ? script->ngroups : 1, sizeof *r->group_ran);
    r->stall_added = calloc(script->nstmts ? script->nstmts : 1, sizeof *r->stall_added);
    if (!r->jobs || !r->group_ran || !r->stall_added) {
        hx_run_stop(r, HX_HARNESS_ERROR, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < script->njobs; i++)
        hx_trace_job(r->trace, script->jobs[i].id, NULL);
    if (hx_proc_find_xferd(o.xferd, r->xferd, sizeof r->xferd, err, sizeof err) < 0) {
        hx_run_stop(r, HX_HARNESS_ERROR, "%s", err);
        goto out;
    }
    if (start(r) < 0)
        goto out;
    if (hx_interp_setup(r) == 0)
        hx_interp_run(r);
out:
    teardown(r);
    rc = finish(r, seed);
    if (r->world_ok)
        hx_world_free(&r->world);
    hx_trace_free(r->trace);
    free(r->jobs);
    free(r->group_ran);
    free(r->stall_added);
    scn_script_free(script);
    free(r);
    return rc;
}
