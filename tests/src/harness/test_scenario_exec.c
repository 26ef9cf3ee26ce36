/*
 * test_scenario_exec: `scenario-exec` end to end on the scenarios in data/ —
 * a real xferd child, the origins, the link and the model. Each test runs the
 * driver in a fresh directory under one mkdtemp dir, checks the exit code and
 * result.json, and that the run left no xferd behind. Wall times are printed,
 * never asserted (shared machines).
 */
#include <errno.h>
#include <ftw.h>
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
#include <jansson.h>

static char tmp[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Run one scenario with extra flags; returns the exit code and *doc (result.json). */
static int run(const char *name, const char *extra, json_t **doc)
{
    char out[256], cmd[2048];
    snprintf(out, sizeof out, "%s/%s", tmp, name);
    snprintf(cmd, sizeof cmd, "'%s' '%s/%s.scn' --out '%s' --xferd '%s' %s 2>'%s.stderr'",
             HX_DRIVER, HX_DATA, name, out, HX_XFERD, extra ? extra : "", out);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int st = system(cmd);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(WIFEXITED(st));
    char path[512];
    snprintf(path, sizeof path, "%s/result.json", out);
    json_error_t e;
    *doc = json_load_file(path, 0, &e);
    if (!*doc)
        fail_msg("%s: %s", path, e.text);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("# %-16s exit %d, %s, %.0f ms wall (process), %lld ms simulated\n", name,
           WEXITSTATUS(st), json_string_value(json_object_get(*doc, "status")), ms,
           (long long)json_integer_value(json_object_get(*doc, "sim_ms")));
    return WEXITSTATUS(st);
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Every xferd the run started is gone. */
static void no_xferd_left(json_t *doc)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "timeline"), i, t)
    {
        int pid;
        if (sscanf(str(t, "text"), "xferd started (pid %d)", &pid) == 1) {
            errno = 0;
            assert_int_equal(kill(pid, 0), -1);
            assert_int_equal(errno, ESRCH);
        }
    }
}

static void test_passes(void **state)
{
    (void)state;
    json_t *doc;
    assert_int_equal(run("pass", NULL, &doc), 0);
    assert_string_equal(str(doc, "status"), "passed");
    assert_int_equal(json_integer_value(json_object_get(doc, "schema")), 1);
    assert_string_equal(str(doc, "title"),
                        "A plain HTTP download finishes and completes with the right bytes.");
    assert_int_equal(json_array_size(json_object_get(doc, "failures")), 0);
    assert_true(json_is_null(json_object_get(doc, "error")));
    json_t *job = json_array_get(json_object_get(doc, "jobs"), 0);
    assert_string_equal(str(job, "id"), "d1");
    assert_int_equal(str(job, "guid")[0], '{');
    assert_true(json_array_size(json_object_get(job, "progress")) > 0);
    assert_true(json_array_size(json_object_get(job, "states")) >= 5);
    assert_int_equal(json_array_size(json_object_get(doc, "requests")), 1);
    no_xferd_left(doc);
    json_decref(doc);
}

static void test_expectation_fails(void **state)
{
    (void)state;
    json_t *doc;
    assert_int_equal(run("fail", NULL, &doc), 1);
    assert_string_equal(str(doc, "status"), "failed");
    json_t *f = json_array_get(json_object_get(doc, "failures"), 0);
    assert_non_null(f);
    assert_int_equal(json_integer_value(json_object_get(f, "line")), 8);
    assert_non_null(strstr(str(f, "file"), "fail.scn"));
    assert_string_equal(str(f, "expected"), "d1 state ERROR");
    assert_string_equal(str(f, "got"), "state TRANSFERRED");
    no_xferd_left(doc);
    json_decref(doc);
}

static void test_time_limit(void **state)
{
    (void)state;
    json_t *doc;
    assert_int_equal(run("limit", NULL, &doc), 3);
    assert_string_equal(str(doc, "status"), "timeout");
    assert_true(json_integer_value(json_object_get(doc, "sim_ms")) >= 2 * 60 * 1000);
    no_xferd_left(doc);
    json_decref(doc);
}

static void test_syntax_error(void **state)
{
    (void)state;
    json_t *doc;
    assert_int_equal(run("syntax", NULL, &doc), 2);
    assert_string_equal(str(doc, "status"), "error");
    json_t *e = json_object_get(doc, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "line")), 7);
    assert_int_equal(json_integer_value(json_object_get(e, "col")), 17);
    assert_non_null(strstr(str(e, "message"), "TRANSFERRING"));
    assert_non_null(strstr(str(e, "excerpt"), "^"));
    json_decref(doc);
}

/* The network drops at exactly 3 MiB: the second request resumes at that byte. */
static void test_byte_trigger_exact(void **state)
{
    (void)state;
    json_t *doc;
    assert_int_equal(run("bytes", NULL, &doc), 0);
    json_t *req2 = json_array_get(json_object_get(doc, "requests"), 1);
    assert_non_null(req2);
    assert_string_equal(str(req2, "range"), "bytes=3145728-");
    json_t *req1 = json_array_get(json_object_get(doc, "requests"), 0);
    assert_int_equal(json_integer_value(json_object_get(req1, "sent")), 3145728);
    no_xferd_left(doc);
    json_decref(doc);
}

/* Four 5-minute connect timeouts in a black hole (about 20 simulated minutes). */
static void test_connect_timeout(void **state)
{
    (void)state;
    json_t *doc;
    assert_int_equal(run("connect-timeout", "--scale 1000", &doc), 0);
    assert_true(json_integer_value(json_object_get(doc, "sim_ms")) >= 4 * 5 * 60 * 1000);
    no_xferd_left(doc);
    json_decref(doc);
}

/* HTTPS, a byte trigger that kills xferd, a restart on the same state, detach and attach. */
static void test_kill_restart(void **state)
{
    (void)state;
    json_t *doc;
    assert_int_equal(run("crash", NULL, &doc), 0);
    no_xferd_left(doc);
    json_decref(doc);
}

/* FTP: passive data connections resolve through the link; the trigger is exact there too. */
static void test_ftp(void **state)
{
    (void)state;
    json_t *doc;
    assert_int_equal(run("ftp", NULL, &doc), 0);
    no_xferd_left(doc);
    json_decref(doc);
}

static void test_usage(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' 2>/dev/null", HX_DRIVER);
    int st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 2);
    snprintf(cmd, sizeof cmd, "'%s' x.scn --out %s/u --xferd /nonexistent 2>/dev/null", HX_DRIVER,
             tmp);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 2); /* x.scn does not exist: a script error */
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/xferlab-h5-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passes),
        cmocka_unit_test(test_expectation_fails),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_byte_trigger_exact),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_kill_restart),
        cmocka_unit_test(test_ftp),
        cmocka_unit_test(test_usage),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
