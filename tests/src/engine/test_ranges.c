/*
 * test_ranges: files added with ranges (AddFileWithRanges, semantics.md §1.10)
 * moving bytes against the fault server.
 *
 *   in order          the ranges land back to back in the order given (not
 *                     sorted), one request `Range: bytes=a-b` per range; the
 *                     file's length is the sum; Complete renames it.
 *   to EOF            a range to the end of the file is asked as bytes=a-
 *                     when it comes first, and closed at the size learned
 *                     from an earlier Content-Range otherwise.
 *   server errors     a range past the end (learned from Content-Range, or a
 *                     416) → BG_E_INVALID_RANGE; a 200 to a range →
 *                     BG_E_INSUFFICIENT_RANGE_SUPPORT; a 206 elsewhere →
 *                     BG_E_INVALID_SERVER_RESPONSE. All fatal (ERROR).
 *   interruption      a cut inside a range resumes inside that range, with
 *                     If-Range.
 *   entity changed    between two ranges: the file starts over (its first
 *                     range again) with the new version.
 *   cancel            removes the temporary file.
 *
 * The expected bytes are slices of the generated entity (flt_gen_fill).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engenv.h"
#include "errtab.h"
#include "journal.h"

#define ME    1000
#define SEED  23
#define SIZE  (UINT64_C(1) << 20) /* the remote entity */
#define SCALE 100.0
#define WAIT  30000

/* ------------------------------------------------------------------ helpers */

static void local_path(struct engenv *t, const char *name, char out[256])
{
    snprintf(out, 256, "%s/%s", t->dl, name);
}

/* A job with one file of ranges of path, saved as dl/name, resumed. */
static xfer_guid start_ranges(struct engenv *t, const char *path, const char *name,
                              const struct xfer_range *r, size_t n)
{
    xfer_guid g;
    char u[128], local[256];
    snprintf(u, sizeof u, "%s%s", t->http_url, path);
    local_path(t, name, local);
    assert_int_equal(xfer_job_create(t->eng, ME, XFER_DOWNLOAD, name, &g), 0);
    xfer_hr hr = xfer_job_add_file_ranges(t->eng, ME, &g, u, local, r, n);
    if (hr != 0)
        fail_msg("add_file_ranges: 0x%08X %s", (unsigned)hr, xfer_last_error(t->eng));
    assert_int_equal(xfer_job_resume(t->eng, ME, &g), 0);
    return g;
}

static void wait_state(struct engenv *t, const xfer_guid *g, enum xfer_state s)
{
    if (!engenv_wait_state(t, g, s, WAIT)) {
        char states[512];
        engenv_states(t, g, states, sizeof states);
        fail_msg("job never reached %s; states: %s", xfer_state_name(s), states);
    }
}

static void expect_states(struct engenv *t, const xfer_guid *g, const char *want)
{
    char states[512];
    engenv_states(t, g, states, sizeof states);
    assert_string_equal(states, want);
}

static struct xfer_job_info *info(struct engenv *t, const xfer_guid *g)
{
    struct xfer_job_info *in = NULL;
    assert_int_equal(xfer_job_info(t->eng, ME, g, &in), 0);
    return in;
}

/* Length of range r of an entity of `size` bytes. */
static uint64_t range_len(const struct xfer_range *r, uint64_t size)
{
    return r->length == XFER_LENGTH_TO_EOF ? size - r->offset : r->length;
}

/*
 * The file at path holds the slices r[0..n) of version `version` of the
 * entity (seed, SIZE), back to back, and nothing more.
 */
static void expect_slices(const char *path, unsigned version, const struct xfer_range *r, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += range_len(&r[i], SIZE);
    unsigned char *want = malloc(total + 1), *got = malloc(total + 1);
    assert_non_null(want);
    assert_non_null(got);
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t len = range_len(&r[i], SIZE);
        flt_gen_fill(SEED, version, r[i].offset, want + off, len);
        off += len;
    }
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t nread = fread(got, 1, total + 1, fp); /* one more: the file must end there */
    fclose(fp);
    assert_int_equal(nread, total);
    assert_memory_equal(got, want, total);
    free(want);
    free(got);
}

static struct flt_jentry jget(struct engenv *t, size_t i)
{
    struct flt_jentry e;
    if (flt_journal_get(&t->f.journal, i, &e) != 0)
        fail_msg("journal has no entry %zu (%zu entries)", i, flt_journal_count(&t->f.journal));
    return e;
}

/* Request i asked exactly `range` ("bytes=a-b") and got status. */
static void expect_request(struct engenv *t, size_t i, const char *range, int status)
{
    struct flt_jentry e = jget(t, i);
    if (!e.range || strcmp(e.range, range) != 0)
        fail_msg("request %zu: Range '%s', want '%s'", i, e.range ? e.range : "(none)", range);
    if (e.status != status)
        fail_msg("request %zu: status %d, want %d", i, e.status, status);
    flt_jentry_release(&e);
}

/* The one request per range, in order, each a 206 for "bytes=a-b". */
static void expect_one_request_per_range(struct engenv *t, const struct xfer_range *r, size_t n)
{
    assert_int_equal(flt_journal_count(&t->f.journal), n);
    for (size_t i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "bytes=%" PRIu64 "-%" PRIu64, r[i].offset,
                 r[i].offset + range_len(&r[i], SIZE) - 1);
        expect_request(t, i, want, 206);
    }
}

/* Request i carried If-Range: want (NULL: none). */
static void expect_if_range(struct engenv *t, size_t i, const char *want)
{
    struct flt_jentry e = jget(t, i);
    if (want ? !e.if_range || strcmp(e.if_range, want) != 0 : e.if_range != NULL)
        fail_msg("request %zu: If-Range '%s', want '%s'", i, e.if_range ? e.if_range : "(none)",
                 want ? want : "(none)");
    flt_jentry_release(&e);
}

static void etag_of(struct engenv *t, const char *path, char etag[64])
{
    struct flt_entity ent;
    assert_int_equal(flt_content_lookup(&t->f.content, path, &ent), FLT_FOUND);
    snprintf(etag, 64, "%s", ent.etag);
}

/* cause_hr of the job's first XFER_EV_RESTART, 0 when there was none. */
static xfer_hr restart_cause(const struct engenv *t, const xfer_guid *g)
{
    for (size_t i = 0; i < t->nlog; i++)
        if (t->log[i].ev.type == XFER_EV_RESTART && memcmp(&t->log[i].ev.job, g, sizeof *g) == 0)
            return t->log[i].ev.cause_hr;
    return 0;
}

/* ------------------------------------------------------------------ tests */

/* semantics.md §1.10's example: 100-199, 900-999, 400-499 → a 300-byte file. */
static void test_in_order_and_complete(void **state)
{
    (void)state;
    const struct xfer_range r[] = {{100, 100}, {900, 100}, {400, 100}};
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/r.bin", SIZE, SEED);
    engenv_open(&t);
    xfer_guid g = start_ranges(&t, "/r.bin", "r.bin", r, 3);
    wait_state(&t, &g, XFER_TRANSFERRED);
    expect_one_request_per_range(&t, r, 3);
    /* The first range has nothing to protect; the later ones carry If-Range. */
    char etag[64];
    etag_of(&t, "/r.bin", etag);
    for (size_t i = 0; i < 3; i++)
        expect_if_range(&t, i, i == 0 ? NULL : etag);
    struct xfer_job_info *in = info(&t, &g);
    assert_int_equal(in->files[0].nranges, 3);
    assert_int_equal(in->files[0].bytes_total, 300);
    assert_int_equal(in->files[0].bytes_done, 300);
    assert_true(in->files[0].completed);
    char temp[256], local[256];
    snprintf(temp, sizeof temp, "%s", in->files[0].temp_path);
    free(in);
    expect_slices(temp, 0, r, 3);
    local_path(&t, "r.bin", local);
    assert_int_not_equal(access(local, F_OK), 0); /* not before Complete */
    assert_int_equal(xfer_job_complete(t.eng, ME, &g), 0);
    expect_slices(local, 0, r, 3);
    assert_int_not_equal(access(temp, F_OK), 0);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED ACKNOWLEDGED");
    engenv_free(&t);
}

static void expect_realistic(const struct xfer_range *r, size_t n, const char *first_range)
{
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/r.bin", SIZE, SEED);
    engenv_open(&t);
    xfer_guid g = start_ranges(&t, "/r.bin", "r.bin", r, n);
    wait_state(&t, &g, XFER_TRANSFERRED);
    if (first_range) {
        /* Before the size is known, a range to EOF is open-ended. */
        expect_request(&t, 0, first_range, 206);
        assert_int_equal(flt_journal_count(&t.f.journal), n);
        for (size_t i = 1; i < n; i++) {
            char want[64];
            snprintf(want, sizeof want, "bytes=%" PRIu64 "-%" PRIu64, r[i].offset,
                     r[i].offset + range_len(&r[i], SIZE) - 1);
            expect_request(&t, i, want, 206);
        }
    } else {
        expect_one_request_per_range(&t, r, n);
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += range_len(&r[i], SIZE);
    struct xfer_job_info *in = info(&t, &g);
    assert_int_equal(in->bytes_total, sum);
    assert_int_equal(in->files[0].bytes_done, sum);
    assert_int_equal(in->files[0].nranges, n);
    free(in);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    assert_int_equal(xfer_job_complete(t.eng, ME, &g), 0);
    char local[256];
    local_path(&t, "r.bin", local);
    expect_slices(local, 0, r, n);
    engenv_free(&t);
}

static void test_realistic_with_eof(void **state)
{
    (void)state;
    /* To EOF in the middle of the list: its end comes from the first 206. */
    const struct xfer_range mid[] = {
        {524288, 65536}, {1040000, XFER_LENGTH_TO_EOF}, {0, 4096}, {8192, 100000}, {1000000, 1}};
    expect_realistic(mid, 5, NULL);
    /* To EOF first: asked open-ended. */
    const struct xfer_range first[] = {
        {1040000, XFER_LENGTH_TO_EOF}, {4096, 4096}, {700000, 123457}, {200, 1}, {300000, 99999}};
    expect_realistic(first, 5, "bytes=1040000-");
}

/* One range set against one fault: the job stops in ERROR with row id. */
static void expect_failure(const char *rule, const struct xfer_range *r, size_t n, enum xe_id id,
                           size_t requests)
{
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/r.bin", SIZE, SEED);
    if (rule)
        fltenv_rule(&t.f, rule);
    engenv_open(&t);
    xfer_guid g = start_ranges(&t, "/r.bin", "r.bin", r, n);
    wait_state(&t, &g, XFER_ERROR);
    struct xfer_job_info *in = info(&t, &g);
    if (xe_find(in->error.hr) != id)
        fail_msg("rule '%s': error 0x%08X, want %s", rule ? rule : "", (unsigned)in->error.hr,
                 xe_row(id)->name);
    assert_int_equal(in->error.context, XFER_CTX_REMOTE_FILE);
    assert_int_equal(in->error.file, 0);
    free(in);
    assert_int_equal(flt_journal_count(&t.f.journal), requests);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING ERROR");
    engenv_free(&t);
}

static void test_server_errors(void **state)
{
    (void)state;
    const struct xfer_range past[] = {{100, 100}, {SIZE - 10, 20}};
    const struct xfer_range past_first[] = {{SIZE + 100, 10}, {100, 100}};
    const struct xfer_range ok[] = {{100, 100}, {900, 100}};
    /* The first 206 tells the size: the second range ends past it. */
    expect_failure(NULL, past, 2, XE_INVALID_RANGE, 1);
    /* The first range starts past the end: 416. */
    expect_failure(NULL, past_first, 2, XE_INVALID_RANGE, 1);
    expect_failure("ignore-range", ok, 2, XE_INSUFFICIENT_RANGE_SUPPORT, 1);
    expect_failure("ignore-range advertised", ok, 2, XE_INSUFFICIENT_RANGE_SUPPORT, 1);
    expect_failure("bad-206 shift=+10", ok, 2, XE_INVALID_SERVER_RESPONSE, 1);
}

static void test_interrupted_range(void **state)
{
    (void)state;
    const struct xfer_range r[] = {{100000, 200000}, {500000, 300000}, {0, 1000}};
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/r.bin", SIZE, SEED);
    fltenv_rule(&t.f, "close at=650000 nth=2");
    engenv_open(&t);
    xfer_guid g = start_ranges(&t, "/r.bin", "r.bin", r, 3);
    wait_state(&t, &g, XFER_TRANSFERRED);
    assert_int_equal(flt_journal_count(&t.f.journal), 4);
    expect_request(&t, 0, "bytes=100000-299999", 206);
    expect_request(&t, 1, "bytes=500000-799999", 206);
    expect_request(&t, 2, "bytes=650000-799999", 206);
    expect_request(&t, 3, "bytes=0-999", 206);
    char etag[64];
    etag_of(&t, "/r.bin", etag);
    expect_if_range(&t, 2, etag);
    assert_true(fltenv_wait_ended(&t.f, 4));
    struct flt_jentry e = jget(&t, 1);
    assert_int_equal(e.outcome, FLT_OUT_CLOSED);
    assert_int_equal(e.sent, 150000);
    flt_jentry_release(&e);
    struct xfer_job_info *in = info(&t, &g);
    assert_false(in->files[0].has_restarted);
    free(in);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    assert_int_equal(xfer_job_complete(t.eng, ME, &g), 0);
    char local[256];
    local_path(&t, "r.bin", local);
    expect_slices(local, 0, r, 3);
    engenv_free(&t);
}

static void test_entity_changed(void **state)
{
    (void)state;
    const struct xfer_range r[] = {{100000, 200000}, {500000, 300000}};
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/r.bin", SIZE, SEED);
    char v0[64], v1[64];
    etag_of(&t, "/r.bin", v0);
    fltenv_rule(&t.f, "change nth=2");
    engenv_open(&t);
    xfer_guid g = start_ranges(&t, "/r.bin", "r.bin", r, 2);
    wait_state(&t, &g, XFER_TRANSFERRED);
    etag_of(&t, "/r.bin", v1);
    /* The second range's If-Range no longer matches: the file starts over. */
    assert_int_equal(flt_journal_count(&t.f.journal), 4);
    expect_request(&t, 0, "bytes=100000-299999", 206);
    expect_request(&t, 1, "bytes=500000-799999", 200);
    expect_request(&t, 2, "bytes=100000-299999", 206);
    expect_request(&t, 3, "bytes=500000-799999", 206);
    expect_if_range(&t, 1, v0);
    expect_if_range(&t, 2, NULL);
    expect_if_range(&t, 3, v1);
    assert_int_equal(xe_find(restart_cause(&t, &g)), XE_REMOTE_FILE_CHANGED);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    struct xfer_job_info *in = info(&t, &g);
    assert_true(in->files[0].has_restarted);
    assert_true(in->files[0].has_response_changed);
    free(in);
    assert_int_equal(xfer_job_complete(t.eng, ME, &g), 0);
    char local[256];
    local_path(&t, "r.bin", local);
    expect_slices(local, 1, r, 2);
    engenv_free(&t);
}

static void test_cancel_removes_temp(void **state)
{
    (void)state;
    const struct xfer_range r[] = {{0, 300000}, {600000, 300000}};
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/r.bin", SIZE, SEED);
    fltenv_rule(&t.f, "stall at=100000");
    engenv_open(&t);
    xfer_guid g = start_ranges(&t, "/r.bin", "r.bin", r, 2);
    wait_state(&t, &g, XFER_TRANSFERRING);
    struct xfer_job_info *in = info(&t, &g);
    char temp[256];
    snprintf(temp, sizeof temp, "%s", in->files[0].temp_path);
    free(in);
    assert_int_equal(access(temp, F_OK), 0);
    assert_int_equal(xfer_job_cancel(t.eng, ME, &g), 0);
    assert_int_not_equal(access(temp, F_OK), 0);
    char local[256];
    local_path(&t, "r.bin", local);
    assert_int_not_equal(access(local, F_OK), 0);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING CANCELLED");
    engenv_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_and_complete), cmocka_unit_test(test_realistic_with_eof),
        cmocka_unit_test(test_server_errors),         cmocka_unit_test(test_interrupted_range),
        cmocka_unit_test(test_entity_changed),        cmocka_unit_test(test_cancel_removes_temp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
