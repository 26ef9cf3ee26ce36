/*
 * test_jobs: the job API without moving many bytes — creation and defaults,
 * every refused input (and the store left unchanged), methods in each state,
 * properties, limits, and the timers that act on jobs (retry delay,
 * NoProgressTimeout, MaxDownloadTime, inactivity) on a fast clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engenv.h"
#include "errtab.h"

#define ME    1000
#define SCALE 1000.0

static xfer_guid create(struct engenv *t, enum xfer_job_type type)
{
    xfer_guid g;
    assert_int_equal(xfer_job_create(t->eng, ME, type, "job", &g), 0);
    return g;
}

static void expect_hr(xfer_hr got, enum xe_id want, struct engenv *t, const char *what)
{
    if (got != xe_hr(want))
        fail_msg("%s: got 0x%08X (%s), want %s", what, (unsigned)got, xfer_last_error(t->eng),
                 xe_row(want)->name);
    if (want != XE_S_OK)
        assert_true(xfer_last_error(t->eng)[0] != '\0');
}

static void test_create_defaults(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    engenv_open(&t);
    xfer_guid g = create(&t, XFER_DOWNLOAD);
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(t.eng, ME, &g, &in), 0);
    assert_int_equal(in->state, XFER_SUSPENDED);
    assert_int_equal(in->priority, XFER_NORMAL);
    assert_int_equal(in->min_retry_delay_s, 600);
    assert_int_equal(in->no_progress_timeout_s, 1209600);
    assert_int_equal(in->max_download_time_s, 7776000);
    assert_int_equal(in->cost_flags, 0x80000067u);
    assert_int_equal(in->notify_flags, 3);
    assert_int_equal(in->winrt_status, XFER_WINRT_IDLE);
    assert_int_equal(in->nfiles, 0);
    assert_int_equal(in->owner, ME);
    assert_true(in->created_ms > 0);
    free(in);
    /* Another user does not see it. */
    struct xfer_job_info *other;
    expect_hr(xfer_job_info(t.eng, ME + 1, &g, &other), XE_NOT_FOUND, &t, "other user");
    xfer_guid *list;
    size_t n;
    assert_int_equal(xfer_job_enum(t.eng, ME + 1, &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(xfer_job_enum(t.eng, XFER_OWNER_ANY, &list, &n), 0);
    assert_int_equal(n, 1);
    free(list);
    /* GUID text round trip. */
    char s[XFER_GUID_LEN];
    xfer_guid back;
    xfer_guid_format(&g, s);
    assert_int_equal(strlen(s), 38);
    assert_true(xfer_guid_parse(s, &back));
    assert_memory_equal(&g, &back, sizeof g);
    assert_false(xfer_guid_parse("{not-a-guid}", &back));
    engenv_free(&t);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    engenv_open(&t);
    xfer_guid g = create(&t, XFER_DOWNLOAD);
    char ok_local[256], long_name[400], long_path[300];
    snprintf(ok_local, sizeof ok_local, "%s/x.bin", t.dl);
    memset(long_path, 'n', 299);
    long_path[299] = '\0';
    snprintf(long_name, sizeof long_name, "%s/%s", t.dl, long_path);
    const struct {
        const char *url, *local;
        enum xe_id want;
    } cases[] = {
        {"not a url", ok_local, XE_E_INVALIDARG},
        {"", ok_local, XE_E_INVALIDARG},
        {"gopher://127.0.0.1/x", ok_local, XE_PROTOCOL_NOT_AVAILABLE},
        {"file:///etc/passwd", ok_local, XE_PROTOCOL_NOT_AVAILABLE},
        {"http://exa mple.test/x", ok_local, XE_E_INVALIDARG},
        {"http://127.0.0.1/x", "relative/x.bin", XE_E_INVALIDARG},
        {"http://127.0.0.1/x", "/nonexistent-dir-xferlab/x.bin", XE_PATH_NOT_FOUND},
        {"http://127.0.0.1/x", "/tmp/../etc/x.bin", XE_E_INVALIDARG},
        {"http://127.0.0.1/x", "/tmp/./x.bin", XE_E_INVALIDARG},
        {"http://127.0.0.1/x", "/tmp/", XE_E_INVALIDARG},
        {"http://127.0.0.1/x", "/tmp", XE_E_INVALIDARG},
        {"http://127.0.0.1/x", long_name, XE_FILENAME_TOO_LONG},
        {"http://127.0.0.1/x", "", XE_E_INVALIDARG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "case %zu", i);
        expect_hr(xfer_job_add_file(t.eng, ME, &g, cases[i].url, cases[i].local), cases[i].want, &t,
                  what);
    }
    /* A URL over the limit. */
    char *huge = malloc(3000);
    snprintf(huge, 3000, "http://127.0.0.1/%02990d", 0);
    expect_hr(xfer_job_add_file(t.eng, ME, &g, huge, ok_local), XE_STRING_TOO_LONG, &t, "long url");
    free(huge);
    char name[300];
    memset(name, 'a', 299);
    name[299] = '\0';
    xfer_guid g2;
    expect_hr(xfer_job_create(t.eng, ME, XFER_DOWNLOAD, name, &g2), XE_STRING_TOO_LONG, &t,
              "long display name");
    expect_hr(xfer_job_create(t.eng, ME, (enum xfer_job_type)7, "x", &g2), XE_E_INVALIDARG, &t,
              "job type");
    /* Resume with no files. */
    expect_hr(xfer_job_resume(t.eng, ME, &g), XE_EMPTY, &t, "resume empty");
    assert_int_equal(engenv_state(&t, &g, NULL), XFER_SUSPENDED);
    /* An unknown job, a NULL job. */
    xfer_guid nobody = {{0}};
    expect_hr(xfer_job_resume(t.eng, ME, &nobody), XE_NOT_FOUND, &t, "unknown job");
    expect_hr(xfer_job_cancel(t.eng, ME, NULL), XE_NOT_FOUND, &t, "null job");
    /* Upload jobs: one file, no FTP, no ranges, not resumable yet. */
    xfer_guid up = create(&t, XFER_UPLOAD);
    expect_hr(xfer_job_add_file(t.eng, ME, &up, "ftp://127.0.0.1/up", ok_local),
              XE_PROTOCOL_NOT_AVAILABLE, &t, "ftp upload");
    assert_int_equal(xfer_job_add_file(t.eng, ME, &up, "http://127.0.0.1/up", ok_local), 0);
    expect_hr(xfer_job_add_file(t.eng, ME, &up, "http://127.0.0.1/up2", ok_local),
              XE_TOO_MANY_FILES, &t, "second upload file");
    expect_hr(xfer_job_complete(t.eng, ME, &up), XE_INVALID_STATE, &t, "complete upload");
    /* The store holds exactly what was accepted. */
    engenv_reopen(&t);
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(t.eng, ME, &g, &in), 0);
    assert_int_equal(in->nfiles, 0);
    assert_int_equal(in->state, XFER_SUSPENDED);
    free(in);
    assert_int_equal(xfer_job_info(t.eng, ME, &up, &in), 0);
    assert_int_equal(in->nfiles, 1);
    free(in);
    engenv_free(&t);
}

static void test_ranges_input(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    t.cfg.max_ranges_per_file = 4;
    engenv_open(&t);
    xfer_guid g = create(&t, XFER_DOWNLOAD);
    char local[256];
    snprintf(local, sizeof local, "%s/r.bin", t.dl);
    const char *u = "http://127.0.0.1/r";
    struct xfer_range overlap[] = {{100, 100}, {150, 10}};
    struct xfer_range same_off[] = {{100, 10}, {100, 20}};
    struct xfer_range eof_then[] = {{500, XFER_LENGTH_TO_EOF}, {900, 10}};
    struct xfer_range bad_off[] = {{XFER_LENGTH_TO_EOF, 10}};
    struct xfer_range zero[] = {{0, 0}};
    struct xfer_range five[] = {{0, 1}, {2, 1}, {4, 1}, {6, 1}, {8, 1}};
    struct xfer_range good[] = {{100, 100}, {900, 100}, {400, 100}};
    expect_hr(xfer_job_add_file_ranges(t.eng, ME, &g, u, local, overlap, 2), XE_OVERLAPPING_RANGES,
              &t, "overlap");
    expect_hr(xfer_job_add_file_ranges(t.eng, ME, &g, u, local, same_off, 2), XE_OVERLAPPING_RANGES,
              &t, "same offset");
    expect_hr(xfer_job_add_file_ranges(t.eng, ME, &g, u, local, eof_then, 2), XE_OVERLAPPING_RANGES,
              &t, "to-eof then more");
    expect_hr(xfer_job_add_file_ranges(t.eng, ME, &g, u, local, bad_off, 1), XE_INVALID_RANGE, &t,
              "offset eof");
    expect_hr(xfer_job_add_file_ranges(t.eng, ME, &g, u, local, zero, 1), XE_E_INVALIDARG, &t,
              "zero length");
    expect_hr(xfer_job_add_file_ranges(t.eng, ME, &g, u, local, good, 0), XE_E_INVALIDARG, &t,
              "no ranges");
    expect_hr(xfer_job_add_file_ranges(t.eng, ME, &g, u, local, five, 5),
              XE_TOO_MANY_RANGES_IN_FILE, &t, "too many");
    assert_int_equal(xfer_job_add_file_ranges(t.eng, ME, &g, u, local, good, 3), 0);
    /* Dynamic content does not go with ranges. */
    char err[256];
    expect_hr(xfer_job_set(t.eng, ME, &g, "dynamic_content", "true", err, sizeof err),
              XE_E_INVALIDARG, &t, "dynamic with ranges");
    xfer_guid up = create(&t, XFER_UPLOAD);
    expect_hr(xfer_job_add_file_ranges(t.eng, ME, &up, u, local, good, 3), XE_E_NOTIMPL, &t,
              "ranges on upload");
    engenv_free(&t);
}

static void test_limits(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    t.cfg.max_jobs_per_owner = 3;
    t.cfg.max_jobs = 5;
    t.cfg.max_files_per_job = 2;
    engenv_open(&t);
    xfer_guid g;
    for (int i = 0; i < 3; i++)
        assert_int_equal(xfer_job_create(t.eng, ME, XFER_DOWNLOAD, "x", &g), 0);
    expect_hr(xfer_job_create(t.eng, ME, XFER_DOWNLOAD, "x", &g), XE_TOO_MANY_JOBS_PER_USER, &t,
              "per user");
    assert_int_equal(xfer_job_create(t.eng, ME + 1, XFER_DOWNLOAD, "x", &g), 0);
    assert_int_equal(xfer_job_create(t.eng, ME + 2, XFER_DOWNLOAD, "x", &g), 0);
    expect_hr(xfer_job_create(t.eng, ME + 3, XFER_DOWNLOAD, "x", &g), XE_TOO_MANY_JOBS_PER_MACHINE,
              &t, "per machine");
    char local[256];
    snprintf(local, sizeof local, "%s/f", t.dl);
    assert_int_equal(xfer_job_add_file(t.eng, ME + 2, &g, "http://127.0.0.1/1", local), 0);
    assert_int_equal(xfer_job_add_file(t.eng, ME + 2, &g, "http://127.0.0.1/2", local), 0);
    expect_hr(xfer_job_add_file(t.eng, ME + 2, &g, "http://127.0.0.1/3", local),
              XE_TOO_MANY_FILES_IN_JOB, &t, "files per job");
    /* A cancelled job frees its place. */
    assert_int_equal(xfer_job_cancel(t.eng, ME + 2, &g), 0);
    engenv_spin(&t, 10);
    assert_int_equal(xfer_job_create(t.eng, ME + 3, XFER_DOWNLOAD, "x", &g), 0);
    engenv_free(&t);
}

static void test_properties(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    engenv_open(&t);
    xfer_guid g = create(&t, XFER_DOWNLOAD);
    const struct {
        const char *prop, *value, *readback;
    } good[] = {
        {"priority", "foreground", "FOREGROUND"},
        {"priority", "LOW", "LOW"},
        {"no_progress_timeout", "0", "0"},
        {"min_retry_delay", "5", "5"},
        {"max_download_time", "3600", "3600"},
        {"cost_policy", "UnrestrictedOnly", "UNRESTRICTED"},
        {"cost_policy", "Always", "ALWAYS"},
        {"cost_policy", "Default", "STANDARD"},
        {"cost_policy", "NOT_ROAMING", "NOT_ROAMING"},
        {"cost_policy", "0x80000003", "0x80000003"},
        {"headers", "X-A: 1\nX-B: two words", "X-A: 1\nX-B: two words"},
        {"server_credentials", "digest alice:secret", "digest alice:********"},
        {"proxy_credentials", "basic bob:pw", "basic bob:********"},
        {"server_credentials", "none", "none"},
        {"proxy", "http://127.0.0.1:3128", "http://127.0.0.1:3128"},
        {"proxy", "", ""},
        {"display_name", "renamed", "renamed"},
        {"description", "a job", "a job"},
        {"notify_flags", "0x10", "16"},
        {"notify_cmdline", "/bin/true arg", "/bin/true arg"},
        {"dynamic_content", "true", "true"},
    };
    char buf[256], err[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        xfer_hr hr = xfer_job_set(t.eng, ME, &g, good[i].prop, good[i].value, err, sizeof err);
        if (hr != 0)
            fail_msg("%s=%s: 0x%08X %s", good[i].prop, good[i].value, (unsigned)hr, err);
        assert_int_equal(xfer_job_get(t.eng, ME, &g, good[i].prop, buf, sizeof buf), 0);
        assert_string_equal(buf, good[i].readback);
    }
    const struct {
        const char *prop, *value;
        enum xe_id want;
    } bad[] = {
        {"priority", "urgent", XE_E_INVALIDARG},
        {"no_progress_timeout", "-1", XE_E_INVALIDARG},
        {"min_retry_delay", "10s", XE_E_INVALIDARG},
        {"cost_policy", "Cheap", XE_E_INVALIDARG},
        {"headers", "NoColon", XE_E_INVALIDARG},
        {"headers", "Bad Name: x", XE_E_INVALIDARG},
        {"headers", "X: a\r\nInjected: 1", XE_E_INVALIDARG},
        {"server_credentials", "ntlm a:b", XE_E_INVALIDARG},
        {"server_credentials", "basic nocolon", XE_E_INVALIDARG},
        {"proxy", "ftp://x", XE_E_INVALIDARG},
        {"dynamic_content", "maybe", XE_E_INVALIDARG},
        {"notify_cmdline", "relative/prog", XE_E_INVALIDARG},
        {"notify_flags", "0x100", XE_E_INVALIDARG},
        {"colour", "blue", XE_UNKNOWN_PROPERTY_ID},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        expect_hr(xfer_job_set(t.eng, ME, &g, bad[i].prop, bad[i].value, err, sizeof err),
                  bad[i].want, &t, bad[i].prop);
        assert_true(err[0] != '\0');
    }
    /* Properties survive a restart. */
    engenv_reopen(&t);
    assert_int_equal(xfer_job_get(t.eng, ME, &g, "cost_policy", buf, sizeof buf), 0);
    assert_string_equal(buf, "0x80000003");
    assert_int_equal(xfer_job_get(t.eng, ME, &g, "headers", buf, sizeof buf), 0);
    assert_string_equal(buf, "X-A: 1\nX-B: two words");
    /* dynamic_content is only for download jobs, and only before the first Resume. */
    xfer_guid up = create(&t, XFER_UPLOAD);
    expect_hr(xfer_job_set(t.eng, ME, &up, "dynamic_content", "true", err, sizeof err),
              XE_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY, &t, "dynamic on upload");
    char local[256];
    snprintf(local, sizeof local, "%s/f", t.dl);
    assert_int_equal(xfer_job_add_file(t.eng, ME, &g, "http://127.0.0.1:9/none", local), 0);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    expect_hr(xfer_job_set(t.eng, ME, &g, "dynamic_content", "false", err, sizeof err),
              XE_PROPERTY_AFTER_RESUME, &t, "dynamic after resume");
    engenv_free(&t);
}

static void test_final_state_calls(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    engenv_open(&t);
    xfer_guid g = create(&t, XFER_DOWNLOAD);
    assert_int_equal(xfer_job_cancel(t.eng, ME, &g), 0);
    engenv_spin(&t, 5);
    char local[256];
    snprintf(local, sizeof local, "%s/f", t.dl);
    expect_hr(xfer_job_resume(t.eng, ME, &g), XE_INVALID_STATE, &t, "resume");
    expect_hr(xfer_job_suspend(t.eng, ME, &g), XE_INVALID_STATE, &t, "suspend");
    expect_hr(xfer_job_cancel(t.eng, ME, &g), XE_INVALID_STATE, &t, "cancel");
    expect_hr(xfer_job_complete(t.eng, ME, &g), XE_INVALID_STATE, &t, "complete");
    expect_hr(xfer_job_add_file(t.eng, ME, &g, "http://127.0.0.1/x", local), XE_INVALID_STATE, &t,
              "add file");
    expect_hr(xfer_job_set(t.eng, ME, &g, "priority", "HIGH", NULL, 0), XE_INVALID_STATE, &t,
              "set");
    assert_int_equal(engenv_state(&t, &g, NULL), XFER_CANCELLED);
    xfer_guid *list;
    size_t n;
    assert_int_equal(xfer_job_enum(t.eng, ME, &list, &n), 0);
    assert_int_equal(n, 0); /* final jobs leave the enumeration */
    free(list);
    /* and the store: after a restart the job is unknown. */
    engenv_reopen(&t);
    expect_hr(xfer_job_resume(t.eng, ME, &g), XE_NOT_FOUND, &t, "after restart");
    engenv_free(&t);
}

/* Connection refused: TRANSIENT_ERROR, retried after MinimumRetryDelay, then
 * ERROR when NoProgressTimeout expires, keeping the transient error's code. */
static void test_retry_then_no_progress(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    engenv_open(&t);
    xfer_guid g = create(&t, XFER_DOWNLOAD);
    char local[256];
    snprintf(local, sizeof local, "%s/f", t.dl);
    assert_int_equal(xfer_job_add_file(t.eng, ME, &g, "http://127.0.0.1:9/x", local), 0);
    assert_int_equal(xfer_job_set(t.eng, ME, &g, "min_retry_delay", "10", NULL, 0), 0);
    assert_int_equal(xfer_job_set(t.eng, ME, &g, "no_progress_timeout", "35", NULL, 0), 0);
    int64_t t0 = xfer_engine_now(t.eng);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    assert_true(engenv_wait_state(&t, &g, XFER_ERROR, 20000));
    int64_t t1 = xfer_engine_now(t.eng);
    xfer_hr hr;
    engenv_state(&t, &g, &hr);
    assert_int_equal(xe_find(hr), XE_CANNOT_CONNECT);
    /* retries at ~10 s, ~20 s, ~30 s, then ERROR at ~35 s */
    assert_true(t1 - t0 >= 35000);
    struct xfer_transition *h;
    size_t n;
    assert_int_equal(xfer_job_history(t.eng, ME, &g, &h, &n), 0);
    /* How many cycles fit in 35 s depends on how long the refused connects
     * take on this machine; the delays between them do not. */
    unsigned transient = 0, retries = 0;
    int64_t entered = -1;
    for (size_t i = 0; i < n; i++) {
        if (h[i].new_state == XFER_TRANSIENT_ERROR) {
            transient++;
            entered = h[i].time_ms;
        }
        if (strcmp(h[i].cause, "retry-delay") == 0) {
            retries++;
            assert_true(h[i].time_ms - entered >= 10000);
        }
    }
    assert_true(transient >= 3);
    assert_int_equal(retries, transient - 1);
    assert_string_equal(h[n - 1].cause, "no-progress-timeout");
    assert_int_equal(h[n - 1].hr, hr);
    free(h);
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(t.eng, ME, &g, &in), 0);
    assert_non_null(in->error.row);
    assert_int_equal(in->error.context, in->error.row->context);
    assert_int_equal(in->error_count, transient);
    assert_int_equal(in->winrt_status, XFER_WINRT_ERROR);
    free(in);
    engenv_free(&t);
}

/* NoProgressTimeout 0: the first error is final. */
static void test_no_progress_zero(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    engenv_open(&t);
    xfer_guid g = create(&t, XFER_DOWNLOAD);
    char local[256];
    snprintf(local, sizeof local, "%s/f", t.dl);
    assert_int_equal(xfer_job_add_file(t.eng, ME, &g, "http://127.0.0.1:9/x", local), 0);
    assert_int_equal(xfer_job_set(t.eng, ME, &g, "no_progress_timeout", "0", NULL, 0), 0);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    assert_true(engenv_wait_state(&t, &g, XFER_ERROR, 10000));
    char states[256];
    engenv_states(&t, &g, states, sizeof states);
    assert_string_equal(states, "SUSPENDED QUEUED CONNECTING ERROR");
    /* Resume from ERROR sets it up again. */
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    assert_true(engenv_wait_state(&t, &g, XFER_ERROR, 10000));
    engenv_free(&t);
}

/* MaxDownloadTime counts CONNECTING + TRANSFERRING only. */
static void test_max_download_time(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/slow.bin", 1 << 20, 3);
    fltenv_rule(&t.f, "stall after=1000 for=forever");
    engenv_open(&t);
    xfer_guid g = create(&t, XFER_DOWNLOAD);
    char local[256], u[128];
    snprintf(local, sizeof local, "%s/f", t.dl);
    snprintf(u, sizeof u, "%s/slow.bin", t.http_url);
    assert_int_equal(xfer_job_add_file(t.eng, ME, &g, u, local), 0);
    assert_int_equal(xfer_job_set(t.eng, ME, &g, "max_download_time", "60", NULL, 0), 0);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    assert_true(engenv_wait_state(&t, &g, XFER_ERROR, 20000));
    xfer_hr hr;
    engenv_state(&t, &g, &hr);
    assert_int_equal(xe_find(hr), XE_MAXDOWNLOAD_TIMEOUT);
    engenv_free(&t);
}

/* A stall of more than 2 minutes is a timeout, retried automatically. */
static void test_response_timeout(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", 200000, 3);
    fltenv_rule(&t.f, "stall after=50000 for=forever nth=1");
    engenv_open(&t);
    char u[128];
    snprintf(u, sizeof u, "%s/a.bin", t.http_url);
    xfer_guid g = engenv_download(&t, u, "a.bin");
    int64_t t0 = xfer_engine_now(t.eng);
    assert_true(engenv_wait_state(&t, &g, XFER_TRANSFERRED, 20000));
    assert_true(xfer_engine_now(t.eng) - t0 >= 120000);
    assert_int_equal(flt_journal_count(&t.f.journal), 2);
    engenv_complete_and_check(&t, &g, "a.bin", 3, 200000);
    engenv_free(&t);
}

/* JobInactivityTimeout: 90 days without activity cancels the job (clock jump). */
static void test_inactivity(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, 1.0, false);
    engenv_open(&t);
    xfer_guid g = create(&t, XFER_DOWNLOAD);
    assert_int_equal(xfer_engine_in_flight(t.eng), 0);
    int64_t due = xfer_engine_next_due(t.eng);
    assert_true(due - xfer_engine_now(t.eng) > 89LL * 86400 * 1000);
    xl_clock_advance(&t.f.clock, due - xfer_engine_now(t.eng));
    xfer_engine_clock_jumped(t.eng);
    assert_int_equal(engenv_state(&t, &g, NULL), XFER_CANCELLED);
    engenv_free(&t);
}

/* A store the engine cannot trust is refused with a message and left as it was. */
static void test_bad_store_refused(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    FILE *fp = fopen(t.store, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 4096; i++)
        fputc((i * 7919) & 0xff, fp);
    fclose(fp);
    char before[65], after[65], err[512] = "";
    assert_true(engenv_file_sha256(t.store, before));
    struct xfer_engine *e = NULL;
    xfer_hr hr = xfer_engine_open(&t.cfg, &e, err, sizeof err);
    assert_true(XFER_FAILED(hr));
    assert_null(e);
    assert_non_null(strstr(err, t.store));
    assert_non_null(strstr(err, "corrupt"));
    assert_true(engenv_file_sha256(t.store, after));
    assert_string_equal(before, after);
    engenv_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_defaults),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_ranges_input),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_final_state_calls),
        cmocka_unit_test(test_retry_then_no_progress),
        cmocka_unit_test(test_no_progress_zero),
        cmocka_unit_test(test_max_download_time),
        cmocka_unit_test(test_response_timeout),
        cmocka_unit_test(test_inactivity),
        cmocka_unit_test(test_bad_store_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
