/*
 * test_download: the engine moving bytes against the fault servers — plain
 * downloads, resume after interruptions, restarts, size and protocol checks.
 * Every test ends with the file's SHA-256 or the exact error row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engenv.h"
#include "errtab.h"
#include "journal.h"

#define SEED  7
#define SCALE 1000.0 /* one wall millisecond is one simulated second */

static char url_buf[256];
static const char *url(struct engenv *t, const char *path)
{
    snprintf(url_buf, sizeof url_buf, "%s%s", t->http_url, path);
    return url_buf;
}

static void test_plain(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", 1 << 20, SEED);
    engenv_open(&t);
    xfer_guid g = engenv_download(&t, url(&t, "/a.bin"), "a.bin");
    assert_true(engenv_wait_state(&t, &g, XFER_TRANSFERRED, 20000));
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(t.eng, 1000, &g, &in), 0);
    assert_int_equal(in->bytes_total, 1 << 20);
    assert_int_equal(in->bytes_done, 1 << 20);
    assert_int_equal(in->files_done, 1);
    char temp[256];
    snprintf(temp, sizeof temp, "%s", in->files[0].temp_path);
    free(in);
    assert_int_equal(access(temp, F_OK), 0);
    engenv_complete_and_check(&t, &g, "a.bin", SEED, 1 << 20);
    assert_int_not_equal(access(temp, F_OK), 0);
    char states[256];
    engenv_states(&t, &g, states, sizeof states);
    assert_string_equal(states,
                        "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED ACKNOWLEDGED");
    assert_int_equal(engenv_count(&t, &g, XFER_EV_FILE_TRANSFERRED), 1);
    assert_int_equal(flt_journal_count(&t.f.journal), 1);
    engenv_free(&t);
}

static void test_resume_after_close(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", 3 << 20, SEED);
    fltenv_rule(&t.f, "close after=1MiB nth=1");
    engenv_open(&t);
    xfer_guid g = engenv_download(&t, url(&t, "/a.bin"), "a.bin");
    assert_true(engenv_wait_state(&t, &g, XFER_TRANSFERRED, 20000));
    struct flt_jentry e2;
    assert_int_equal(flt_journal_get(&t.f.journal, 1, &e2), 0);
    assert_non_null(e2.range);
    assert_string_equal(e2.range, "bytes=1048576-");
    assert_non_null(e2.if_range);
    assert_int_equal(e2.status, 206);
    flt_jentry_release(&e2);
    char states[256];
    engenv_states(&t, &g, states, sizeof states);
    assert_string_equal(states, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    engenv_complete_and_check(&t, &g, "a.bin", SEED, 3 << 20);
    engenv_free(&t);
}

static void expect_error(const char *rule, bool dynamic, enum xfer_state want, enum xe_id id)
{
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", 100000, SEED);
    if (rule)
        fltenv_rule(&t.f, rule);
    engenv_open(&t);
    xfer_guid g;
    char local[256];
    snprintf(local, sizeof local, "%s/a.bin", t.dl);
    assert_int_equal(xfer_job_create(t.eng, 1000, XFER_DOWNLOAD, "e", &g), 0);
    assert_int_equal(xfer_job_add_file(t.eng, 1000, &g, url(&t, "/a.bin"), local), 0);
    if (dynamic)
        assert_int_equal(xfer_job_set(t.eng, 1000, &g, "dynamic_content", "true", NULL, 0), 0);
    assert_int_equal(xfer_job_resume(t.eng, 1000, &g), 0);
    assert_true(engenv_wait_state(&t, &g, want, 20000));
    xfer_hr hr;
    engenv_state(&t, &g, &hr);
    if (want == XFER_TRANSFERRED) {
        assert_int_equal(hr, 0);
        engenv_complete_and_check(&t, &g, "a.bin", SEED, 100000);
    } else {
        if (xe_find(hr) != id)
            fail_msg("rule '%s': got 0x%08X, want %s", rule, (unsigned)hr, xe_row(id)->name);
    }
    engenv_free(&t);
}

static void test_missing_size(void **state)
{
    (void)state;
    expect_error("no-length", false, XFER_ERROR, XE_MISSING_FILE_SIZE);
    expect_error("no-length", true, XFER_TRANSFERRED, XE_S_OK);
    expect_error("no-length chunked", false, XFER_ERROR, XE_MISSING_FILE_SIZE);
}

static void test_http10(void **state)
{
    (void)state;
    expect_error("http10", false, XFER_ERROR, XE_INSUFFICIENT_HTTP_SUPPORT);
}

static void test_http_status(void **state)
{
    (void)state;
    expect_error("status 404", false, XFER_ERROR, XE_HTTP_404);
    expect_error("status 403", false, XFER_ERROR, XE_HTTP_403);
    expect_error("status 503", false, XFER_TRANSIENT_ERROR, XE_HTTP_503);
    expect_error("status 501", false, XFER_ERROR, XE_HTTP_501);
    expect_error("status 408", false, XFER_TRANSIENT_ERROR, XE_HTTP_408);
    /* Transient for the first requests only: the automatic retries win. */
    expect_error("status 503 first=2", false, XFER_TRANSFERRED, XE_S_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),        cmocka_unit_test(test_resume_after_close),
        cmocka_unit_test(test_missing_size), cmocka_unit_test(test_http10),
        cmocka_unit_test(test_http_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
