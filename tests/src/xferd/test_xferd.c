/*
 * test_xferd: xferd as a real process (tests/support/xferdenv), driven over
 * its socket with src/rpc's client, against in-process fault servers
 * (fltenv). Every method and its bad params, owners, a client that dies and
 * one that reattaches, SIGKILL at seeded points during 20 downloads, the
 * notify command line and completion groups, bad input and SIGTERM.
 *
 * Waits are bounded (generous safety limits); nothing asserts on timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fltenv.h"
#include "http.h"
#include "rpc.h"
#include "xferdenv.h"

#define SEED    7
#define WAIT_MS 60000 /* safety bound for anything to happen */

struct world {
    struct fltenv f;
    struct flt_http *http;
    char url[64];
    struct xferdenv d;
    struct rpc_client *c;
    char err[512];
};

static void world_up(struct world *w, const char *const *args)
{
    struct flt_http_config hc = {0};
    memset(w, 0, sizeof *w);
    assert_int_equal(fltenv_init(&w->f), 0);
    w->http = fltenv_http(&w->f, &hc);
    snprintf(w->url, sizeof w->url, "http://127.0.0.1:%u", (unsigned)flt_http_port(w->http));
    assert_int_equal(fltenv_run(&w->f), 0);
    if (xferdenv_init(&w->d, XFERD_BIN, args, w->err, sizeof w->err) < 0 ||
        xferdenv_start(&w->d, w->err, sizeof w->err) < 0)
        fail_msg("xferd: %s", w->err);
    w->c = xferdenv_connect(&w->d, w->err, sizeof w->err);
    if (!w->c)
        fail_msg("connect: %s", w->err);
}

static void world_down(struct world *w)
{
    rpc_client_close(w->c);
    xferdenv_free(&w->d);
    fltenv_stop(&w->f);
    flt_http_free(w->http);
    fltenv_free(&w->f);
}

/* A call that must succeed; returns the result (caller owns). */
static json_t *ok(struct rpc_client *c, const char *method, json_t *params)
{
    json_t *res = NULL, *error = NULL;
    char err[256];
    int r = rpc_call(c, method, params, WAIT_MS, &res, &error, err, sizeof err);
    if (r == 1) {
        char *s = json_dumps(error, 0);
        print_error("%s: %s\n", method, s);
        free(s);
        json_decref(error);
        fail();
    }
    if (r < 0)
        fail_msg("%s: %s", method, err);
    return res;
}

static void ok0(struct rpc_client *c, const char *method, json_t *params)
{
    json_decref(ok(c, method, params));
}

/* A call that must fail with code; returns the error's data member name (or "") check helper. */
static json_t *fails(struct rpc_client *c, const char *method, json_t *params, int code)
{
    json_t *res = NULL, *error = NULL;
    char err[256];
    int r = rpc_call(c, method, params, WAIT_MS, &res, &error, err, sizeof err);
    if (r != 1) {
        json_decref(res);
        fail_msg("%s: expected error %d, got %s", method, code, r == 0 ? "a result" : err);
    }
    assert_int_equal(json_integer_value(json_object_get(error, "code")), code);
    return error;
}

static void fails0(struct rpc_client *c, const char *method, json_t *params, int code,
                   const char *param)
{
    json_t *e = fails(c, method, params, code);
    if (param)
        assert_string_equal(json_string_value(json_object_get(json_object_get(e, "data"), "param")),
                            param);
    json_decref(e);
}

static char *new_download(struct world *w, const char *name, const char *path, const char *dst)
{
    json_t *r = ok(w->c, "job.create", json_pack("{s:s}", "name", name));
    char *g = strdup(json_string_value(json_object_get(r, "job")));
    char url[128];
    json_decref(r);
    snprintf(url, sizeof url, "%s%s", w->url, path);
    ok0(w->c, "job.add_file", json_pack("{s:s, s:s, s:s}", "job", g, "url", url, "path", dst));
    return g;
}

static char *job_state(struct rpc_client *c, const char *g)
{
    json_t *r = ok(c, "job.info", json_pack("{s:s}", "job", g));
    char *s = strdup(json_string_value(json_object_get(r, "state")));
    json_decref(r);
    return s;
}

/* Poll until the job is in state (bounded by WAIT_MS). */
static void wait_state(struct rpc_client *c, const char *g, const char *state)
{
    int i;
    for (i = 0; i < WAIT_MS / 20; i++) {
        char *s = job_state(c, g);
        int same = strcmp(s, state) == 0;
        free(s);
        if (same)
            return;
        usleep(20000);
    }
    fail_msg("job %s never reached %s", g, state);
}

static void file_sha256(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    fltenv_sha256(buf, (size_t)n, hex);
    free(buf);
}

/* ------------------------------------------------------------------ methods */

static void test_methods(void **state)
{
    static const char *const args[] = {"--platform", "sim", NULL};
    struct world w;
    char dst[200];
    char *g, *g2;
    json_t *r, *e;
    (void)state;
    world_up(&w, args);
    fltenv_gen(&w.f, "/a.bin", 100000, SEED);
    snprintf(dst, sizeof dst, "%s/a.bin", w.d.dir);

    r = ok(w.c, "service.info", NULL);
    assert_int_equal(json_integer_value(json_object_get(r, "uid")), (json_int_t)getuid());
    assert_string_equal(json_string_value(json_object_get(r, "platform")), "sim");
    json_decref(r);

    g = new_download(&w, "d1", "/a.bin", dst);
    r = ok(w.c, "job.info", json_pack("{s:s}", "job", "d1")); /* by display name */
    assert_string_equal(json_string_value(json_object_get(r, "job")), g);
    assert_string_equal(json_string_value(json_object_get(r, "type")), "download");
    assert_int_equal(json_array_size(json_object_get(r, "files")), 1);
    json_decref(r);
    ok0(w.c, "job.set",
        json_pack("{s:s, s:s, s:s}", "job", g, "prop", "priority", "value", "HIGH"));
    r = ok(w.c, "job.get", json_pack("{s:s, s:s}", "job", g, "prop", "priority"));
    assert_string_equal(json_string_value(json_object_get(r, "value")), "HIGH");
    json_decref(r);
    r = ok(w.c, "job.props", NULL);
    assert_true(json_array_size(r) > 5);
    json_decref(r);
    ok0(w.c, "job.suspend", json_pack("{s:s}", "job", g));
    ok0(w.c, "job.resume", json_pack("{s:s}", "job", g));
    wait_state(w.c, g, "TRANSFERRED");
    r = ok(w.c, "job.complete", json_pack("{s:s}", "job", g));
    assert_string_equal(json_string_value(json_object_get(r, "hr_name")), "S_OK");
    json_decref(r);
    {
        char hex[65], want[65];
        file_sha256(dst, hex);
        fltenv_gen_sha256(SEED, 0, 0, 100000, want);
        assert_string_equal(hex, want);
    }
    r = ok(w.c, "job.history", json_pack("{s:s}", "job", g));
    assert_true(json_array_size(r) >= 3);
    json_decref(r);
    r = ok(w.c, "job.list", NULL);
    assert_true(json_is_array(r));
    json_decref(r);

    g2 = new_download(&w, "d2", "/a.bin", dst);
    ok0(w.c, "job.add_file_ranges",
        json_pack("{s:s, s:s, s:s, s:[[i,i],[i,n]]}", "job", g2, "url", w.url, "path", dst,
                  "ranges", 0, 10, 100, 50));
    ok0(w.c, "job.cancel", json_pack("{s:s}", "job", g2));

    r = ok(w.c, "events.subscribe",
           json_pack("{s:[s], s:i}", "types", "platform", "progress_ms", 100));
    ok0(w.c, "platform.set", json_pack("{s:s, s:b}", "connectivity", "none", "battery_saver", 1));
    {
        json_t *n = rpc_next_notification(w.c, WAIT_MS, w.err, sizeof w.err);
        assert_non_null(n);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(n, "params"), "type")), "platform");
        json_decref(n);
    }
    ok0(w.c, "events.unsubscribe",
        json_pack("{s:O}", "subscription", json_object_get(r, "subscription")));
    json_decref(r);
    r = ok(w.c, "platform.get", NULL);
    assert_string_equal(json_string_value(json_object_get(r, "connectivity")), "none");
    json_decref(r);
    r = ok(w.c, "clock.get", NULL);
    assert_true(json_is_integer(json_object_get(r, "now_ms")));
    ok0(w.c, "clock.sync",
        json_pack("{s:O, s:I}", "wall0_ns", json_object_get(r, "wall0_ns"), "sim0_ms",
                  (json_int_t)1000));
    json_decref(r);

    /* bad params, one of each kind */
    fails0(w.c, "job.create", NULL, RPC_INVALID_PARAMS, "name");
    fails0(w.c, "job.create", json_pack("{s:i}", "name", 3), RPC_INVALID_PARAMS, "name");
    fails0(w.c, "job.create", json_pack("{s:s, s:s}", "name", "x", "type", "sideways"),
           RPC_INVALID_PARAMS, "type");
    fails0(w.c, "job.info", json_pack("[s]", g), RPC_INVALID_PARAMS, "params");
    fails0(w.c, "job.info", json_pack("{s:s}", "job", "{00000000-0000-0000-0000-000000000000}"),
           -2145386495, NULL);
    fails0(w.c, "job.info", json_pack("{s:s}", "job", "nobody-has-this"), -2145386495, NULL);
    json_decref(ok(w.c, "job.create", json_pack("{s:s}", "name", "twin")));
    json_decref(ok(w.c, "job.create", json_pack("{s:s}", "name", "twin")));
    fails0(w.c, "job.info", json_pack("{s:s}", "job", "twin"), RPC_INVALID_PARAMS, "job");
    fails0(w.c, "job.add_file_ranges",
           json_pack("{s:s, s:s, s:s, s:[[i]]}", "job", g, "url", w.url, "path", dst, "ranges", 1),
           RPC_INVALID_PARAMS, "ranges");
    json_decref(ok(w.c, "job.create", json_pack("{s:s}", "name", "fresh")));
    fails0(w.c, "job.set",
           json_pack("{s:s, s:s, s:s}", "job", "fresh", "prop", "nope", "value", "1"), -2145386409,
           NULL); /* BG_E_UNKNOWN_PROPERTY_ID */
    fails0(w.c, "events.subscribe", json_pack("{s:[s]}", "types", "weather"), RPC_INVALID_PARAMS,
           "types");
    fails0(w.c, "events.subscribe", json_pack("{s:i}", "progress_ms", -1), RPC_INVALID_PARAMS,
           "progress_ms");
    fails0(w.c, "events.unsubscribe", json_pack("{s:i}", "subscription", 99), RPC_INVALID_PARAMS,
           "subscription");
    fails0(w.c, "platform.set", json_pack("{s:s}", "cost", "free"), RPC_INVALID_PARAMS, "cost");
    fails0(w.c, "clock.sync", json_pack("{s:s}", "wall0_ns", "x"), RPC_INVALID_PARAMS, "wall0_ns");
    fails0(w.c, "group.info", json_pack("{s:s}", "group", "none"), -2145386495, NULL);
    fails0(w.c, "job.list", json_pack("{s:s}", "all_users", "yes"), RPC_INVALID_PARAMS,
           "all_users");
    e = fails(w.c, "no.such.method", NULL, RPC_METHOD_NOT_FOUND);
    assert_true(json_array_size(json_object_get(json_object_get(e, "data"), "known")) > 20);
    json_decref(e);
    free(g);
    free(g2);
    world_down(&w);
}

static void test_sim_only(void **state)
{
    struct world w;
    (void)state;
    world_up(&w, NULL);
    fails0(w.c, "platform.set", json_pack("{s:s}", "connectivity", "none"), RPC_METHOD_NOT_FOUND,
           NULL);
    fails0(w.c, "clock.sync", json_pack("{s:i, s:i}", "wall0_ns", 1, "sim0_ms", 0),
           RPC_METHOD_NOT_FOUND, NULL);
    world_down(&w);
}

/* ------------------------------------------------------------------ reattach */

static void test_reattach(void **state)
{
    struct world w;
    char dst[200], hex[65], want[65];
    char *g;
    json_t *n, *list;
    pid_t pid;
    int st;
    bool done = false;
    (void)state;
    world_up(&w, NULL);
    fltenv_gen(&w.f, "/b.bin", 4 << 20, SEED);
    fltenv_rule(&w.f, "throttle 4MiB/s");
    snprintf(dst, sizeof dst, "%s/b.bin", w.d.dir);
    g = new_download(&w, "reattach", "/b.bin", dst);
    /* A client process starts the job, subscribes, and is killed mid-transfer. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        struct rpc_client *c = xferdenv_connect(&w.d, err, sizeof err);
        json_t *res = NULL, *error = NULL;
        if (!c ||
            rpc_call(c, "job.resume", json_pack("{s:s}", "job", g), WAIT_MS, &res, &error, err,
                     sizeof err) != 0 ||
            rpc_call(c, "events.subscribe", NULL, WAIT_MS, &res, &error, err, sizeof err) != 0)
            _exit(1);
        for (;;)
            pause();
    }
    wait_state(w.c, g, "TRANSFERRING");
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    /* A new client: enumerate, subscribe to the job, see it finish. */
    rpc_client_close(w.c);
    w.c = xferdenv_connect(&w.d, w.err, sizeof w.err);
    assert_non_null(w.c);
    list = ok(w.c, "job.list", NULL);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "job")), g);
    json_decref(list);
    ok0(w.c, "events.subscribe", json_pack("{s:[s], s:[s]}", "jobs", g, "types", "state"));
    {
        char *s = job_state(w.c, g);
        done = strcmp(s, "TRANSFERRED") == 0;
        free(s);
    }
    while (!done && (n = rpc_next_notification(w.c, WAIT_MS, w.err, sizeof w.err))) {
        json_t *p = json_object_get(n, "params");
        assert_string_equal(json_string_value(json_object_get(p, "job")), g);
        done = strcmp(json_string_value(json_object_get(p, "new")), "TRANSFERRED") == 0;
        json_decref(n);
    }
    assert_true(done);
    ok0(w.c, "job.complete", json_pack("{s:s}", "job", g));
    file_sha256(dst, hex);
    fltenv_gen_sha256(SEED, 0, 0, 4 << 20, want);
    assert_string_equal(hex, want);
    free(g);
    world_down(&w);
}

/* ------------------------------------------------------------------ SIGKILL */

#define NJOBS 20
#define NKILL 3

static void test_sigkill(void **state)
{
    struct world w;
    char *g[NJOBS], dst[NJOBS][200], want[65], hex[65];
    unsigned seed = 20240601u;
    int i, k;
    (void)state;
    world_up(&w, NULL);
    fltenv_gen(&w.f, "/k.bin", 2 << 20, SEED);
    fltenv_rule(&w.f, "throttle 4MiB/s");
    fltenv_gen_sha256(SEED, 0, 0, 2 << 20, want);
    for (i = 0; i < NJOBS; i++) {
        char name[16];
        snprintf(name, sizeof name, "k%d", i);
        snprintf(dst[i], sizeof dst[i], "%s/k%d.bin", w.d.dir, i);
        g[i] = new_download(&w, name, "/k.bin", dst[i]);
        ok0(w.c, "job.resume", json_pack("{s:s}", "job", g[i]));
    }
    for (k = 0; k < NKILL; k++) {
        unsigned ms = (unsigned)(rand_r(&seed) % 400);
        print_message("kill %d after %u ms\n", k, ms);
        usleep(ms * 1000);
        rpc_client_close(w.c);
        w.c = NULL;
        xferdenv_stop(&w.d, SIGKILL, NULL);
        if (xferdenv_start(&w.d, w.err, sizeof w.err) < 0)
            fail_msg("restart: %s", w.err);
        w.c = xferdenv_connect(&w.d, w.err, sizeof w.err);
        assert_non_null(w.c);
    }
    for (i = 0; i < NJOBS; i++) {
        wait_state(w.c, g[i], "TRANSFERRED");
        ok0(w.c, "job.complete", json_pack("{s:s}", "job", g[i]));
        file_sha256(dst[i], hex);
        assert_string_equal(hex, want);
        free(g[i]);
    }
    world_down(&w);
}

/* ------------------------------------------------------------------ notify, groups */

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, ch;
    if (!f)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* The notify events of job g until one exits 0 (or the connection times out). */
static int notify_runs(struct world *w, const char *g, int *exits, int max)
{
    int n = 0;
    json_t *ev;
    while (n < max && (ev = rpc_next_notification(w->c, WAIT_MS, w->err, sizeof w->err))) {
        json_t *p = json_object_get(ev, "params");
        if (!strcmp(json_string_value(json_object_get(p, "type")), "notify") &&
            !strcmp(json_string_value(json_object_get(p, "job")), g)) {
            exits[n] = (int)json_integer_value(json_object_get(p, "exit"));
            assert_int_equal(json_integer_value(json_object_get(p, "attempt")), n + 1);
            n++;
            if (exits[n - 1] == 0) {
                json_decref(ev);
                break;
            }
        }
        json_decref(ev);
    }
    return n;
}

static void test_notify(void **state)
{
    static const char *const args[] = {"--scale", "100", NULL};
    struct world w;
    char dst[200], script[200], log[200], cmd[512], flag[200];
    int exits[8];
    char *g, *g2;
    FILE *f;
    (void)state;
    world_up(&w, args);
    fltenv_gen(&w.f, "/n.bin", 10000, SEED);
    snprintf(dst, sizeof dst, "%s/n.bin", w.d.dir);
    snprintf(log, sizeof log, "%s/notify.log", w.d.dir);
    snprintf(flag, sizeof flag, "%s/second", w.d.dir);
    snprintf(script, sizeof script, "%s/notify.sh", w.d.dir);
    /* Fails on its first run, succeeds on the next. */
    f = fopen(script, "w");
    assert_non_null(f);
    fprintf(f, "echo \"$XFER_JOB $XFER_STATE\" >> %s\n[ -e %s ] && exit 0\ntouch %s\nexit 3\n", log,
            flag, flag);
    fclose(f);
    ok0(w.c, "events.subscribe", json_pack("{s:[s]}", "types", "notify"));

    /* Success: exactly one run after a failing one, rerun after min_retry_delay. */
    g = new_download(&w, "n1", "/n.bin", dst);
    snprintf(cmd, sizeof cmd, "/bin/sh %s", script);
    ok0(w.c, "job.set",
        json_pack("{s:s, s:s, s:s}", "job", g, "prop", "notify_cmdline", "value", cmd));
    ok0(w.c, "job.set",
        json_pack("{s:s, s:s, s:s}", "job", g, "prop", "min_retry_delay", "value", "10"));
    ok0(w.c, "job.resume", json_pack("{s:s}", "job", g));
    assert_int_equal(notify_runs(&w, g, exits, 8), 2);
    assert_int_equal(exits[0], 3);
    assert_int_equal(exits[1], 0);
    assert_int_equal(count_lines(log), 2);
    /* Nothing more comes for it: complete it, then check with a barrier call. */
    ok0(w.c, "job.complete", json_pack("{s:s}", "job", g));
    ok0(w.c, "service.info", NULL);
    assert_int_equal(count_lines(log), 2);

    /* A transient error does not run it (503 is transient); a fatal one (404) does. */
    fltenv_rule(&w.f, "status 503 path=/t.bin");
    fltenv_gen(&w.f, "/t.bin", 1000, SEED);
    snprintf(dst, sizeof dst, "%s/t.bin", w.d.dir);
    g2 = new_download(&w, "n2", "/t.bin", dst);
    snprintf(cmd, sizeof cmd, "/bin/sh -c 'echo transient >> %s'", log);
    ok0(w.c, "job.set",
        json_pack("{s:s, s:s, s:s}", "job", g2, "prop", "notify_cmdline", "value", cmd));
    ok0(w.c, "job.resume", json_pack("{s:s}", "job", g2));
    wait_state(w.c, g2, "TRANSIENT_ERROR");
    ok0(w.c, "service.info", NULL);
    ok0(w.c, "job.cancel", json_pack("{s:s}", "job", g2));
    assert_int_equal(count_lines(log), 2);
    free(g2);

    snprintf(dst, sizeof dst, "%s/missing.bin", w.d.dir);
    g2 = new_download(&w, "n3", "/missing.bin", dst);
    snprintf(cmd, sizeof cmd, "/bin/sh -c 'echo \"$XFER_STATE\" >> %s'", log);
    ok0(w.c, "job.set",
        json_pack("{s:s, s:s, s:s}", "job", g2, "prop", "notify_cmdline", "value", cmd));
    ok0(w.c, "job.resume", json_pack("{s:s}", "job", g2));
    assert_int_equal(notify_runs(&w, g2, exits, 8), 1);
    assert_int_equal(count_lines(log), 3);
    free(g2);
    free(g);
    world_down(&w);
}

static void test_group(void **state)
{
    struct world w;
    char dst[200], log[200], cmd[300];
    char *g1, *g2;
    json_t *r, *n;
    bool seen = false;
    (void)state;
    world_up(&w, NULL);
    fltenv_gen(&w.f, "/g.bin", 200000, SEED);
    snprintf(log, sizeof log, "%s/group.log", w.d.dir);
    snprintf(dst, sizeof dst, "%s/g1.bin", w.d.dir);
    g1 = new_download(&w, "g1", "/g.bin", dst);
    snprintf(dst, sizeof dst, "%s/g2.bin", w.d.dir);
    g2 = new_download(&w, "g2", "/g.bin", dst);
    snprintf(cmd, sizeof cmd, "echo \"$XFER_GROUP\" >> %s", log);
    ok0(w.c, "events.subscribe", json_pack("{s:[s]}", "types", "group"));
    ok0(w.c, "group.create", json_pack("{s:s, s:s}", "name", "both", "cmdline", cmd));
    fails0(w.c, "group.create", json_pack("{s:s}", "name", "both"), RPC_INVALID_PARAMS, "name");
    ok0(w.c, "group.add", json_pack("{s:s, s:s}", "group", "both", "job", g1));
    ok0(w.c, "group.add", json_pack("{s:s, s:s}", "group", "both", "job", g2));
    ok0(w.c, "job.resume", json_pack("{s:s}", "job", g1));
    wait_state(w.c, g1, "TRANSFERRED");
    ok0(w.c, "group.enable", json_pack("{s:s}", "group", "both"));
    fails0(w.c, "group.enable", json_pack("{s:s}", "group", "both"), -2145386494, NULL);
    fails0(w.c, "group.add", json_pack("{s:s, s:s}", "group", "both", "job", g1), -2145386494,
           NULL);
    r = ok(w.c, "group.info", json_pack("{s:s}", "group", "both"));
    assert_false(json_is_true(json_object_get(r, "fired"))); /* g2 has not ended */
    assert_int_equal(json_array_size(json_object_get(r, "jobs")), 2);
    json_decref(r);
    ok0(w.c, "job.cancel", json_pack("{s:s}", "job", g2)); /* ended, not successfully */
    while (!seen && (n = rpc_next_notification(w.c, WAIT_MS, w.err, sizeof w.err))) {
        json_t *p = json_object_get(n, "params");
        seen = !strcmp(json_string_value(json_object_get(p, "group")), "both");
        assert_int_equal(json_integer_value(json_object_get(p, "exit")), 0);
        json_decref(n);
    }
    assert_true(seen);
    assert_int_equal(count_lines(log), 1);
    /* It survives a restart and does not run again. */
    rpc_client_close(w.c);
    xferdenv_stop(&w.d, SIGKILL, NULL);
    if (xferdenv_start(&w.d, w.err, sizeof w.err) < 0)
        fail_msg("restart: %s", w.err);
    w.c = xferdenv_connect(&w.d, w.err, sizeof w.err);
    r = ok(w.c, "group.info", json_pack("{s:s}", "group", "both"));
    assert_true(json_is_true(json_object_get(r, "fired")));
    assert_true(json_is_true(json_object_get(r, "enabled")));
    json_decref(r);
    assert_int_equal(count_lines(log), 1);
    free(g1);
    free(g2);
    world_down(&w);
}

/* ------------------------------------------------------------------ bad input */

static void test_bad_input(void **state)
{
    struct world w;
    struct rpc_client *bad;
    json_t *rep;
    char *big;
    size_t bigsz = RPC_MAX_LINE + 4096, i;
    (void)state;
    world_up(&w, NULL);

    bad = xferdenv_connect(&w.d, w.err, sizeof w.err);
    assert_int_equal(rpc_client_send_raw(bad, "not json\n", 9, w.err, sizeof w.err), 0);
    rep = rpc_client_read_reply(bad, WAIT_MS, w.err, sizeof w.err);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "error"), "code")),
                     RPC_PARSE_ERROR);
    json_decref(rep);
    {
        static const char wrong_type[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"job.info\","
                                         "\"params\":{\"job\":42}}\n";
        assert_int_equal(
            rpc_client_send_raw(bad, wrong_type, strlen(wrong_type), w.err, sizeof w.err), 0);
    }
    rep = rpc_client_read_reply(bad, WAIT_MS, w.err, sizeof w.err);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "error"), "code")),
                     RPC_INVALID_PARAMS);
    json_decref(rep);
    /* oversized: -32600 then closed */
    big = malloc(bigsz);
    memset(big, 'x', bigsz);
    big[bigsz - 1] = '\n';
    rpc_client_send_raw(bad, big, bigsz, w.err, sizeof w.err);
    rep = rpc_client_read_reply(bad, WAIT_MS, w.err, sizeof w.err);
    assert_non_null(rep);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "error"), "code")),
                     RPC_INVALID_REQUEST);
    json_decref(rep);
    rep = rpc_client_read_reply(bad, WAIT_MS, w.err, sizeof w.err);
    assert_null(rep);
    assert_true(w.err[0] != '\0'); /* closed, not a timeout */
    rpc_client_close(bad);
    free(big);

    /* a client that floods requests and never reads: xferd drops it, others are served */
    bad = xferdenv_connect(&w.d, w.err, sizeof w.err);
    {
        const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"job.props\"}\n";
        size_t rl = strlen(req);
        int fd = rpc_client_fd(bad);
        size_t sent = 0;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        for (i = 0; i < 2000000 && sent < (64u << 20); i++) {
            ssize_t r = send(fd, req, rl, MSG_NOSIGNAL);
            if (r < 0 && errno == EAGAIN) {
                json_decref(ok(w.c, "service.info", NULL)); /* someone else is served */
                usleep(1000);
                continue;
            }
            if (r < 0)
                break; /* dropped */
            sent += (size_t)r;
        }
        print_message("flood: %zu bytes sent before the connection %s\n", sent,
                      i < 2000000 && sent < (64u << 20) ? "was closed" : "stayed open");
    }
    rpc_client_close(bad);

    /* a client that connects and never sends or reads anything: others still served */
    bad = xferdenv_connect(&w.d, w.err, sizeof w.err);
    ok0(w.c, "events.subscribe", NULL);
    json_decref(ok(w.c, "job.create", json_pack("{s:s}", "name", "still-served")));
    rpc_client_close(bad);
    world_down(&w);
}

/* ------------------------------------------------------------------ owners */

static void test_owners(void **state)
{
    static const char *const args[] = {"--access", "shared", NULL};
    struct world w;
    struct passwd *nobody;
    char *g;
    pid_t pid;
    int st;
    (void)state;
    if (geteuid() != 0) {
        print_message("SKIPPED: test_owners needs root (it drops a client to nobody)\n");
        skip();
    }
    nobody = getpwnam("nobody");
    if (!nobody) {
        print_message("SKIPPED: no user nobody\n");
        skip();
    }
    world_up(&w, args);
    chmod(w.d.dir, 0755);
    {
        json_t *r = ok(w.c, "job.create", json_pack("{s:s}", "name", "roots"));
        g = strdup(json_string_value(json_object_get(r, "job")));
        json_decref(r);
    }
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        struct rpc_client *c;
        json_t *res = NULL, *error = NULL;
        if (setgid(nobody->pw_gid) < 0 || setuid(nobody->pw_uid) < 0)
            _exit(10);
        c = xferdenv_connect(&w.d, err, sizeof err);
        if (!c)
            _exit(11);
        if (rpc_call(c, "job.list", NULL, WAIT_MS, &res, &error, err, sizeof err) != 0 ||
            json_array_size(res) != 0)
            _exit(12); /* sees none of root's jobs */
        json_decref(res);
        if (rpc_call(c, "job.info", json_pack("{s:s}", "job", g), WAIT_MS, &res, &error, err,
                     sizeof err) != 1 ||
            json_integer_value(json_object_get(error, "code")) != -2145386495)
            _exit(13); /* BG_E_NOT_FOUND */
        json_decref(error);
        if (rpc_call(c, "job.list", json_pack("{s:b}", "all_users", 1), WAIT_MS, &res, &error, err,
                     sizeof err) != 1)
            _exit(14); /* only root may ask */
        json_decref(error);
        if (rpc_call(c, "job.create", json_pack("{s:s}", "name", "nobodys"), WAIT_MS, &res, &error,
                     err, sizeof err) != 0)
            _exit(15);
        json_decref(res);
        rpc_client_close(c);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    {
        json_t *mine = ok(w.c, "job.list", NULL);
        json_t *all = ok(w.c, "job.list", json_pack("{s:b}", "all_users", 1));
        assert_int_equal(json_array_size(mine), 1);
        assert_int_equal(json_array_size(all), 2);
        json_decref(mine);
        json_decref(all);
    }
    free(g);
    world_down(&w);
}

/* ------------------------------------------------------------------ SIGTERM */

static void test_sigterm(void **state)
{
    struct world w;
    char dst[200];
    double ms;
    int st;
    struct stat sb;
    char *g;
    (void)state;
    world_up(&w, NULL);
    fltenv_gen(&w.f, "/s.bin", 8 << 20, SEED);
    fltenv_rule(&w.f, "throttle 1MiB/s");
    snprintf(dst, sizeof dst, "%s/s.bin", w.d.dir);
    g = new_download(&w, "s", "/s.bin", dst);
    ok0(w.c, "job.resume", json_pack("{s:s}", "job", g));
    wait_state(w.c, g, "TRANSFERRING");
    st = xferdenv_stop(&w.d, SIGTERM, &ms);
    print_message("SIGTERM: xferd exited in %.1f ms\n", ms);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(ms < 10000);                     /* safety bound only */
    assert_int_equal(stat(w.d.socket, &sb), -1); /* the socket is gone */
    free(g);
    world_down(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_methods),   cmocka_unit_test(test_sim_only),
        cmocka_unit_test(test_reattach),  cmocka_unit_test(test_sigkill),
        cmocka_unit_test(test_notify),    cmocka_unit_test(test_group),
        cmocka_unit_test(test_bad_input), cmocka_unit_test(test_owners),
        cmocka_unit_test(test_sigterm),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
