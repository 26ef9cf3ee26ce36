/*
 * test_resume: how the engine resumes a file, and when it must start over.
 *
 * Every test runs the engine against the fault servers and ends with the
 * SHA-256 of the file against the generated entity, the request journal
 * (what the engine asked for: Range, If-Range, REST) and the job's state
 * sequence or error row.
 *
 *   seeded interruptions   1, 2 and 10 cuts (close/reset at an entity byte) at
 *                          offsets from a fixed seed: each resume asks
 *                          `Range: bytes=<cut>-` with If-Range = the ETag, and
 *                          no TRANSIENT_ERROR (progress resets the automatic
 *                          retries).
 *   retry budget           a failed request is retried at once up to
 *                          ENG_AUTO_RETRIES (3) times in a row without
 *                          progress: 3 failures still finish without
 *                          TRANSIENT_ERROR, the 4th is TRANSIENT_ERROR.
 *   full 200 to a resume   restart inside that response (HasRestarted).
 *   entity changed         If-Range mismatch → 200 of the new version: restart,
 *                          HasResponseChanged, the new version's validators are
 *                          used for the next resume; in a 2-file job only the
 *                          changed file is fetched again.
 *   wrong 206              start elsewhere → restart from 0 (E_BOUNDS);
 *                          no Content-Range → ERROR BG_E_INVALID_SERVER_RESPONSE.
 *   validators             none → the resume restarts from 0; weak ETag → the
 *                          If-Range carries Last-Modified.
 *   redirects              followed on a first request; a redirect answering a
 *                          resume is TRANSIENT_ERROR (ERROR_WINHTTP_RESEND_REQUEST).
 *   length                 a short body resumes; dynamic content restarts.
 *   partial file           across an engine stop: untouched → Range from the
 *                          checkpoint; truncated → FileTooShort restart; a
 *                          byte changed in a sampled window → FileHashMismatch.
 *   service stop           mid-transfer: QUEUED ("restored"), then resumes from
 *                          the checkpoint taken at the stop.
 *   HTTPS and FTP          a resume over each (If-Range over TLS, REST on FTP).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "engenv.h"
#include "errtab.h"
#include "http.h"
#include "journal.h"
#include "pki.h"

#define ME    1000
#define SEED  11
#define MIB   (UINT64_C(1) << 20)
#define SCALE 100.0 /* one wall millisecond is 0.1 simulated second */
#define SLOW  10.0  /* for tests that act while a transfer is held: the 2-min timeout is 12 s */
#define WAIT  30000 /* wall ms to reach a state */

/* ------------------------------------------------------------------ helpers */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void mkurl(char out[128], const char *base, const char *path)
{
    snprintf(out, 128, "%s%s", base, path);
}

/* A job over the given remote paths (local name = the path's last part), resumed. */
static xfer_guid start_job(struct engenv *t, const char *base, const char *const *paths, size_t n,
                           bool dynamic)
{
    xfer_guid g;
    assert_int_equal(xfer_job_create(t->eng, ME, XFER_DOWNLOAD, "resume", &g), 0);
    for (size_t i = 0; i < n; i++) {
        char u[128], local[256];
        mkurl(u, base, paths[i]);
        snprintf(local, sizeof local, "%s%s", t->dl, strrchr(paths[i], '/'));
        xfer_hr hr = xfer_job_add_file(t->eng, ME, &g, u, local);
        if (hr != 0)
            fail_msg("add_file %s: 0x%08X %s", u, (unsigned)hr, xfer_last_error(t->eng));
    }
    if (dynamic)
        assert_int_equal(xfer_job_set(t->eng, ME, &g, "dynamic_content", "true", NULL, 0), 0);
    assert_int_equal(xfer_job_resume(t->eng, ME, &g), 0);
    return g;
}

static xfer_guid start_one(struct engenv *t, const char *path)
{
    return start_job(t, t->http_url, &path, 1, false);
}

static struct xfer_job_info *info(struct engenv *t, const xfer_guid *g)
{
    struct xfer_job_info *in = NULL;
    assert_int_equal(xfer_job_info(t->eng, ME, g, &in), 0);
    return in;
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

/* The job's error row is id. */
static void expect_error(struct engenv *t, const xfer_guid *g, enum xe_id id)
{
    xfer_hr hr;
    engenv_state(t, g, &hr);
    if (xe_find(hr) != id)
        fail_msg("error 0x%08X (%s), want %s", (unsigned)hr,
                 xe_find(hr) ? xe_row(xe_find(hr))->name : "?", xe_row(id)->name);
}

/* Entry i of the journal (fails the test if there is none). */
static struct flt_jentry jget(struct engenv *t, size_t i)
{
    struct flt_jentry e;
    if (flt_journal_get(&t->f.journal, i, &e) != 0)
        fail_msg("journal has no entry %zu (%zu entries)", i, flt_journal_count(&t->f.journal));
    return e;
}

static void expect_str(const char *what, size_t i, const char *got, const char *want)
{
    if (!want && got)
        fail_msg("request %zu: %s '%s', want none", i, what, got);
    if (want && (!got || strcmp(got, want) != 0))
        fail_msg("request %zu: %s '%s', want '%s'", i, what, got ? got : "(none)", want);
}

/*
 * HTTP request i asked for target with this Range and If-Range (NULL: none)
 * and was answered with status.
 */
static void expect_request(struct engenv *t, size_t i, const char *target, const char *range,
                           const char *if_range, int status)
{
    struct flt_jentry e = jget(t, i);
    expect_str("target", i, e.target, target);
    expect_str("Range", i, e.range, range);
    expect_str("If-Range", i, e.if_range, if_range);
    if (e.status != status)
        fail_msg("request %zu: status %d, want %d", i, e.status, status);
    flt_jentry_release(&e);
}

static const char *range_from(char buf[48], uint64_t off)
{
    snprintf(buf, 48, "bytes=%" PRIu64 "-", off);
    return buf;
}

/* The ETag and Last-Modified the server sends for path now. */
static void validators_of(struct engenv *t, const char *path, char etag[64], char lm[64])
{
    struct flt_entity ent;
    assert_int_equal(flt_content_lookup(&t->f.content, path, &ent), FLT_FOUND);
    snprintf(etag, 64, "%s", ent.etag);
    flt_entity_http_date(&ent, lm, 64);
}

/* dl/name holds version `version` of the generated entity (seed, size). */
static void expect_content(struct engenv *t, const char *name, uint64_t seed, unsigned version,
                           uint64_t size)
{
    char path[256], got[65], want[65];
    snprintf(path, sizeof path, "%s/%s", t->dl, name);
    assert_true(engenv_file_sha256(path, got));
    fltenv_gen_sha256(seed, version, 0, size, want);
    assert_string_equal(got, want);
}

/* cause_hr of the first XFER_EV_RESTART of file `file`, 0 when there was none. */
static xfer_hr restart_cause(const struct engenv *t, const xfer_guid *g, int file)
{
    for (size_t i = 0; i < t->nlog; i++) {
        const struct xfer_event *ev = &t->log[i].ev;
        if (ev->type == XFER_EV_RESTART && ev->file == file && memcmp(&ev->job, g, sizeof *g) == 0)
            return ev->cause_hr;
    }
    return 0;
}

/* A progress event of file `file` said HasRestarted. */
static bool progress_restarted(const struct engenv *t, const xfer_guid *g, int file)
{
    for (size_t i = 0; i < t->nlog; i++) {
        const struct xfer_event *ev = &t->log[i].ev;
        if (ev->type == XFER_EV_PROGRESS && ev->file == file && ev->has_restarted &&
            memcmp(&ev->job, g, sizeof *g) == 0)
            return true;
    }
    return false;
}

struct want_bytes {
    const xfer_guid *g;
    uint64_t n;
};

static bool has_bytes(struct engenv *t, void *arg)
{
    struct want_bytes *w = arg;
    struct xfer_job_info *in = info(t, w->g);
    bool ok = in->bytes_done >= w->n;
    free(in);
    return ok;
}

static void wait_bytes(struct engenv *t, const xfer_guid *g, uint64_t n)
{
    struct want_bytes w = {g, n};
    if (!engenv_run_until(t, has_bytes, &w, WAIT))
        fail_msg("the job never had %" PRIu64 " bytes", n);
}

/* ------------------------------------------------------------------ tests */

/* k cuts at distinct seeded offsets in (0, size), ascending. */
static void seeded_offsets(uint64_t seed, uint64_t size, size_t k, uint64_t *out)
{
    size_t n = 0;
    while (n < k) {
        uint64_t v = 1 + splitmix64(&seed) % (size - 1);
        size_t i = n;
        while (i > 0 && out[i - 1] > v)
            i--;
        if (i > 0 && out[i - 1] == v)
            continue;
        memmove(out + i + 1, out + i, (n - i) * sizeof *out);
        out[i] = v;
        n++;
    }
}

static void interrupted_download(size_t k)
{
    const uint64_t size = 8 * MIB;
    uint64_t cuts[10];
    assert_true(k <= sizeof cuts / sizeof cuts[0]);
    seeded_offsets(0x5eed0000u + k, size, k, cuts);
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    /* Request i+1 is cut at cuts[i]: FIN and RST in turn. */
    for (size_t i = 0; i < k; i++) {
        char rule[96];
        snprintf(rule, sizeof rule, "%s at=%" PRIu64 " nth=%zu", i % 2 ? "reset" : "close", cuts[i],
                 i + 1);
        fltenv_rule(&t.f, rule);
    }
    engenv_open(&t);
    xfer_guid g = start_one(&t, "/a.bin");
    wait_state(&t, &g, XFER_TRANSFERRED);
    char etag[64], lm[64], range[48];
    validators_of(&t, "/a.bin", etag, lm);
    assert_int_equal(flt_journal_count(&t.f.journal), k + 1);
    expect_request(&t, 0, "/a.bin", NULL, NULL, 200);
    for (size_t i = 1; i <= k; i++)
        expect_request(&t, i, "/a.bin", range_from(range, cuts[i - 1]), etag, 206);
    assert_true(fltenv_wait_ended(&t.f, k + 1));
    for (size_t i = 0; i < k; i++) {
        struct flt_jentry e = jget(&t, i);
        assert_int_equal(e.outcome, i % 2 ? FLT_OUT_RESET : FLT_OUT_CLOSED);
        flt_jentry_release(&e);
    }
    /* Each cut was retried at once: every request made progress, so the
     * automatic retries never ran out. */
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    struct xfer_job_info *in = info(&t, &g);
    assert_false(in->files[0].has_restarted);
    assert_int_equal(in->error_count, 0);
    free(in);
    assert_int_equal(restart_cause(&t, &g, 0), 0);
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    engenv_free(&t);
}

static void test_seeded_interruptions(void **state)
{
    (void)state;
    interrupted_download(1);
    interrupted_download(2);
    interrupted_download(10);
}

/* n empty replies in a row from the first request on. */
static void failures_in_a_row(unsigned n, const char *want_states)
{
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", MIB, SEED);
    for (unsigned i = 1; i <= n; i++) {
        char rule[32];
        snprintf(rule, sizeof rule, "empty nth=%u", i);
        fltenv_rule(&t.f, rule);
    }
    engenv_open(&t);
    xfer_guid g = start_one(&t, "/a.bin");
    assert_int_equal(xfer_job_set(t.eng, ME, &g, "min_retry_delay", "5", NULL, 0), 0);
    wait_state(&t, &g, XFER_TRANSFERRED);
    expect_states(&t, &g, want_states);
    assert_int_equal(flt_journal_count(&t.f.journal), n + 1);
    expect_request(&t, n, "/a.bin", NULL, NULL, 200);
    engenv_complete_and_check(&t, &g, "a.bin", SEED, MIB);
    engenv_free(&t);
}

static void test_retry_budget(void **state)
{
    (void)state;
    /* The first request and ENG_AUTO_RETRIES (3) retries fail: still no
     * TRANSIENT_ERROR, the fourth retry succeeds. */
    failures_in_a_row(3, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    /* One more: TRANSIENT_ERROR, then the retry delay and success. */
    failures_in_a_row(4, "SUSPENDED QUEUED CONNECTING TRANSIENT_ERROR QUEUED CONNECTING "
                         "TRANSFERRING TRANSFERRED");
}

static void test_full_200_to_resume(void **state)
{
    (void)state;
    const uint64_t size = 4 * MIB;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    fltenv_rule(&t.f, "close at=1MiB nth=1");
    fltenv_rule(&t.f, "ignore-range advertised");
    engenv_open(&t);
    xfer_guid g = start_one(&t, "/a.bin");
    wait_state(&t, &g, XFER_TRANSFERRED);
    char etag[64], lm[64], range[48];
    validators_of(&t, "/a.bin", etag, lm);
    assert_int_equal(flt_journal_count(&t.f.journal), 2);
    expect_request(&t, 1, "/a.bin", range_from(range, MIB), etag, 200);
    assert_true(progress_restarted(&t, &g, 0));
    struct xfer_job_info *in = info(&t, &g);
    assert_true(in->files[0].has_restarted);
    assert_false(in->files[0].has_response_changed);
    assert_int_equal(in->files[0].bytes_done, size);
    free(in);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    engenv_free(&t);
}

static void test_entity_changed(void **state)
{
    (void)state;
    const uint64_t size = 4 * MIB;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    char v0[64], lm[64], v1[64], range[48];
    validators_of(&t, "/a.bin", v0, lm);
    fltenv_rule(&t.f, "close at=1MiB nth=1");
    fltenv_rule(&t.f, "change nth=2");
    /* The new version's own response is cut too: its resume must use the new ETag. */
    fltenv_rule(&t.f, "close at=2MiB nth=2");
    engenv_open(&t);
    xfer_guid g = start_one(&t, "/a.bin");
    wait_state(&t, &g, XFER_TRANSFERRED);
    validators_of(&t, "/a.bin", v1, lm);
    assert_string_not_equal(v0, v1);
    assert_int_equal(flt_journal_count(&t.f.journal), 3);
    expect_request(&t, 1, "/a.bin", range_from(range, MIB), v0, 200);
    expect_request(&t, 2, "/a.bin", range_from(range, 2 * MIB), v1, 206);
    struct xfer_job_info *in = info(&t, &g);
    assert_true(in->files[0].has_restarted);
    assert_true(in->files[0].has_response_changed);
    free(in);
    assert_true(progress_restarted(&t, &g, 0));
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    assert_int_equal(xfer_job_complete(t.eng, ME, &g), 0);
    expect_content(&t, "a.bin", SEED, 1, size);
    engenv_free(&t);
}

static void test_entity_changed_second_file(void **state)
{
    (void)state;
    const uint64_t size_a = MIB, size_b = 4 * MIB;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size_a, SEED);
    fltenv_gen(&t.f, "/b.bin", size_b, SEED + 1);
    char v0[64], lm[64], range[48];
    validators_of(&t, "/b.bin", v0, lm);
    fltenv_rule(&t.f, "close at=1MiB nth=1 path=/b.bin");
    fltenv_rule(&t.f, "change nth=2 path=/b.bin");
    engenv_open(&t);
    const char *paths[] = {"/a.bin", "/b.bin"};
    xfer_guid g = start_job(&t, t.http_url, paths, 2, false);
    wait_state(&t, &g, XFER_TRANSFERRED);
    /* a.bin once; b.bin, then its resume answered with the new version. */
    assert_int_equal(flt_journal_count(&t.f.journal), 3);
    expect_request(&t, 0, "/a.bin", NULL, NULL, 200);
    expect_request(&t, 1, "/b.bin", NULL, NULL, 200);
    expect_request(&t, 2, "/b.bin", range_from(range, MIB), v0, 200);
    struct xfer_job_info *in = info(&t, &g);
    assert_false(in->files[0].has_restarted);
    assert_false(in->files[0].has_response_changed);
    assert_true(in->files[1].has_restarted);
    assert_true(in->files[1].has_response_changed);
    free(in);
    assert_false(progress_restarted(&t, &g, 0));
    assert_true(progress_restarted(&t, &g, 1));
    assert_int_equal(xfer_job_complete(t.eng, ME, &g), 0);
    expect_content(&t, "a.bin", SEED, 0, size_a);
    expect_content(&t, "b.bin", SEED + 1, 1, size_b);
    engenv_free(&t);
}

static void test_wrong_206(void **state)
{
    (void)state;
    const uint64_t size = 2 * MIB;
    char etag[64], lm[64], range[48];
    /* Starts 100 bytes later than asked: restart from 0 at once. */
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    validators_of(&t, "/a.bin", etag, lm);
    fltenv_rule(&t.f, "close at=1MiB nth=1");
    fltenv_rule(&t.f, "bad-206 shift=+100");
    engenv_open(&t);
    xfer_guid g = start_one(&t, "/a.bin");
    wait_state(&t, &g, XFER_TRANSFERRED);
    assert_int_equal(flt_journal_count(&t.f.journal), 3);
    expect_request(&t, 1, "/a.bin", range_from(range, MIB), etag, 206);
    expect_request(&t, 2, "/a.bin", NULL, NULL, 200);
    assert_int_equal(xe_find(restart_cause(&t, &g, 0)), XE_RANGE_START_MISMATCH);
    struct xfer_job_info *in = info(&t, &g);
    assert_true(in->files[0].has_restarted);
    free(in);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    engenv_free(&t);

    /* No Content-Range at all: the server is broken, ERROR. */
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    fltenv_rule(&t.f, "close at=1MiB nth=1");
    fltenv_rule(&t.f, "bad-206 mode=no-content-range");
    engenv_open(&t);
    g = start_one(&t, "/a.bin");
    wait_state(&t, &g, XFER_ERROR);
    expect_error(&t, &g, XE_INVALID_SERVER_RESPONSE);
    assert_int_equal(flt_journal_count(&t.f.journal), 2);
    expect_request(&t, 1, "/a.bin", range_from(range, MIB), etag, 206);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING ERROR");
    engenv_free(&t);
}

static void test_validators(void **state)
{
    (void)state;
    const uint64_t size = 2 * MIB;
    char etag[64], lm[64], range[48];
    /* None: nothing to make a resume safe, so the retry starts from byte 0. */
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    fltenv_rule(&t.f, "validators none");
    fltenv_rule(&t.f, "close at=1MiB nth=1");
    engenv_open(&t);
    xfer_guid g = start_one(&t, "/a.bin");
    wait_state(&t, &g, XFER_TRANSFERRED);
    assert_int_equal(flt_journal_count(&t.f.journal), 2);
    expect_request(&t, 1, "/a.bin", NULL, NULL, 200);
    assert_true(progress_restarted(&t, &g, 0));
    struct xfer_job_info *in = info(&t, &g);
    assert_true(in->files[0].has_restarted);
    free(in);
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    engenv_free(&t);

    /* A weak ETag is no validator for a range: If-Range carries Last-Modified.
     * In this mode the server holds every validator weak, so it answers the
     * whole entity and the file restarts inside that response. */
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    validators_of(&t, "/a.bin", etag, lm);
    fltenv_rule(&t.f, "validators weak");
    fltenv_rule(&t.f, "close at=1MiB nth=1");
    engenv_open(&t);
    g = start_one(&t, "/a.bin");
    wait_state(&t, &g, XFER_TRANSFERRED);
    assert_int_equal(flt_journal_count(&t.f.journal), 2);
    expect_request(&t, 1, "/a.bin", range_from(range, MIB), lm, 200);
    assert_true(progress_restarted(&t, &g, 0));
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    engenv_free(&t);
}

static void test_redirects(void **state)
{
    (void)state;
    const uint64_t size = 2 * MIB;
    char rule[192], to[128], etag[64], lm[64], range[48];
    /* On the first request: followed. /b.bin has the same bytes. */
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    fltenv_gen(&t.f, "/b.bin", size, SEED);
    mkurl(to, t.http_url, "/b.bin");
    snprintf(rule, sizeof rule, "redirect to=%s path=/a.bin nth=1", to);
    fltenv_rule(&t.f, rule);
    engenv_open(&t);
    xfer_guid g = start_one(&t, "/a.bin");
    wait_state(&t, &g, XFER_TRANSFERRED);
    assert_int_equal(flt_journal_count(&t.f.journal), 2);
    expect_request(&t, 0, "/a.bin", NULL, NULL, 302);
    expect_request(&t, 1, "/b.bin", NULL, NULL, 200);
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    engenv_free(&t);

    /* Answering a resume: refused; the automatic retries meet the same
     * redirect and the job goes to TRANSIENT_ERROR. */
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    fltenv_gen(&t.f, "/b.bin", size, SEED);
    validators_of(&t, "/b.bin", etag, lm);
    mkurl(to, t.http_url, "/b.bin");
    snprintf(rule, sizeof rule, "redirect to=%s path=/a.bin", to);
    fltenv_rule(&t.f, rule);
    fltenv_rule(&t.f, "close at=1MiB path=/b.bin nth=1");
    engenv_open(&t);
    g = start_one(&t, "/a.bin");
    wait_state(&t, &g, XFER_TRANSIENT_ERROR);
    expect_error(&t, &g, XE_RESUME_REDIRECT);
    expect_request(&t, 0, "/a.bin", NULL, NULL, 302);
    expect_request(&t, 1, "/b.bin", NULL, NULL, 200);
    /* The resume is the first automatic retry; two more, then TRANSIENT_ERROR. */
    assert_int_equal(flt_journal_count(&t.f.journal), 5);
    for (size_t i = 2; i < 5; i++)
        expect_request(&t, i, "/a.bin", range_from(range, MIB), etag, 302);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSIENT_ERROR");
    struct xfer_job_info *in = info(&t, &g);
    assert_int_equal(in->files[0].bytes_done, MIB);
    assert_int_equal(in->error.context, XFER_CTX_REMOTE_FILE);
    free(in);
    engenv_free(&t);
}

static void test_length(void **state)
{
    (void)state;
    const uint64_t size = 2 * MIB;
    char etag[64], lm[64], range[48];
    /* 1000 bytes fewer than Content-Length: resumed where the body ended. */
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    validators_of(&t, "/a.bin", etag, lm);
    fltenv_rule(&t.f, "short by=1000 nth=1");
    engenv_open(&t);
    xfer_guid g = start_one(&t, "/a.bin");
    wait_state(&t, &g, XFER_TRANSFERRED);
    assert_int_equal(flt_journal_count(&t.f.journal), 2);
    expect_request(&t, 1, "/a.bin", range_from(range, size - 1000), etag, 206);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    engenv_free(&t);

    /* Dynamic content (no length; chunked, so a cut is not mistaken for the
     * end): an interruption restarts from byte 0. */
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    fltenv_rule(&t.f, "no-length chunked");
    fltenv_rule(&t.f, "close at=1MiB nth=1");
    engenv_open(&t);
    const char *path = "/a.bin";
    g = start_job(&t, t.http_url, &path, 1, true);
    wait_state(&t, &g, XFER_TRANSFERRED);
    assert_int_equal(flt_journal_count(&t.f.journal), 2);
    expect_request(&t, 1, "/a.bin", NULL, NULL, 200);
    assert_true(progress_restarted(&t, &g, 0));
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    engenv_free(&t);
}

enum tamper { UNTOUCHED, TRUNCATE, FLIP };

/*
 * Download until the server holds the file at 3 MiB, stop the engine, tamper
 * with the partial file, let the server go on and start the engine again.
 */
static void partial_across_stop(enum tamper how)
{
    const uint64_t size = 6 * MIB, held = 3 * MIB;
    struct engenv t;
    engenv_init(&t, SLOW, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    fltenv_rule(&t.f, "hold: stall at=3MiB");
    engenv_open(&t);
    xfer_guid g = start_one(&t, "/a.bin");
    wait_bytes(&t, &g, held);
    struct xfer_job_info *in = info(&t, &g);
    assert_int_equal(in->files[0].bytes_done, held);
    char temp[256];
    snprintf(temp, sizeof temp, "%s", in->files[0].temp_path);
    free(in);
    xfer_engine_close(t.eng); /* checkpoints the 3 MiB */
    t.eng = NULL;
    if (how == TRUNCATE) {
        assert_int_equal(truncate(temp, (off_t)MIB), 0);
    } else if (how == FLIP) {
        /* Byte 100 lies in the first sampled window of the checkpoint digest. */
        int fd = open(temp, O_RDWR);
        assert_true(fd >= 0);
        unsigned char b;
        assert_int_equal(pread(fd, &b, 1, 100), 1);
        b ^= 0xff;
        assert_int_equal(pwrite(fd, &b, 1, 100), 1);
        close(fd);
    }
    assert_int_equal(flt_rules_remove(&t.f.rules, "hold"), 0);
    engenv_open(&t);
    wait_state(&t, &g, XFER_TRANSFERRED);
    char etag[64], lm[64], range[48];
    validators_of(&t, "/a.bin", etag, lm);
    assert_int_equal(flt_journal_count(&t.f.journal), 2);
    xfer_hr cause = restart_cause(&t, &g, 0);
    if (how == UNTOUCHED) {
        expect_request(&t, 1, "/a.bin", range_from(range, held), etag, 206);
        assert_int_equal(cause, 0);
    } else {
        expect_request(&t, 1, "/a.bin", NULL, NULL, 200);
        assert_int_equal(cause, xe_hr(how == TRUNCATE ? XE_FILE_TOO_SHORT : XE_FILE_HASH_MISMATCH));
        assert_true(progress_restarted(&t, &g, 0));
    }
    in = info(&t, &g);
    assert_int_equal(in->files[0].has_restarted, how != UNTOUCHED);
    free(in);
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    engenv_free(&t);
}

static void test_partial_untouched(void **state)
{
    (void)state;
    partial_across_stop(UNTOUCHED);
}

static void test_partial_too_short(void **state)
{
    (void)state;
    partial_across_stop(TRUNCATE);
}

static void test_partial_hash_mismatch(void **state)
{
    (void)state;
    partial_across_stop(FLIP);
}

static void test_service_stop(void **state)
{
    (void)state;
    const uint64_t size = 8 * MIB;
    struct engenv t;
    engenv_init(&t, SLOW, false);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    fltenv_rule(&t.f, "slow: throttle 1MiB/s");
    engenv_open(&t);
    xfer_guid g = start_one(&t, "/a.bin");
    wait_bytes(&t, &g, 2 * MIB);
    /* No loop turn between this read and the stop: no byte moves in between. */
    struct xfer_job_info *in = info(&t, &g);
    uint64_t at_stop = in->files[0].bytes_done;
    free(in);
    assert_true(at_stop >= 2 * MIB && at_stop < size);
    size_t mark = t.nlog;
    engenv_reopen(&t);
    /* Restored: queued again, at the checkpoint the stop wrote. */
    in = info(&t, &g);
    assert_int_equal(in->state, XFER_QUEUED);
    assert_int_equal(in->files[0].bytes_done, at_stop);
    free(in);
    assert_int_equal(flt_rules_remove(&t.f.rules, "slow"), 0);
    wait_state(&t, &g, XFER_TRANSFERRED);
    char etag[64], lm[64], range[48];
    validators_of(&t, "/a.bin", etag, lm);
    assert_int_equal(flt_journal_count(&t.f.journal), 2);
    expect_request(&t, 1, "/a.bin", range_from(range, at_stop), etag, 206);
    /* The states after the reopen, and why the first one happened. */
    char states[256] = "";
    const char *first_cause = NULL;
    size_t n = 0;
    for (size_t i = mark; i < t.nlog; i++) {
        const struct xfer_event *ev = &t.log[i].ev;
        if (ev->type != XFER_EV_STATE || memcmp(&ev->job, &g, sizeof g) != 0)
            continue;
        if (!first_cause)
            first_cause = t.log[i].cause;
        n += (size_t)snprintf(states + n, sizeof states - n, "%s%s", n ? " " : "",
                              xfer_state_name(ev->new_state));
    }
    assert_non_null(first_cause);
    assert_string_equal(first_cause, "restored");
    assert_string_equal(states, "QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    assert_int_equal(restart_cause(&t, &g, 0), 0);
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    engenv_free(&t);
}

static void test_https_resume(void **state)
{
    (void)state;
    const uint64_t size = 2 * MIB;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    /* An HTTPS server on the same rules, content and journal: stop the
     * servers' loop to add it. */
    fltenv_stop(&t.f);
    struct flt_pki *pki;
    char err[256], base[64], etag[64], lm[64], range[48];
    if (flt_pki_create(t.f.dir, &pki, err) < 0)
        fail_msg("pki: %s", err);
    struct flt_http_config tc = {.cert_pem = flt_pki_cert_pem(pki, FLT_CERT_VALID),
                                 .key_pem = flt_pki_key_pem(pki, FLT_CERT_VALID)};
    struct flt_http *https = fltenv_http(&t.f, &tc);
    assert_int_equal(fltenv_run(&t.f), 0);
    snprintf(base, sizeof base, "https://127.0.0.1:%u", (unsigned)flt_http_port(https));
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    validators_of(&t, "/a.bin", etag, lm);
    fltenv_rule(&t.f, "close at=1MiB nth=1");
    t.cfg.ca_file = flt_pki_ca_path(pki);
    engenv_open(&t);
    const char *path = "/a.bin";
    xfer_guid g = start_job(&t, base, &path, 1, false);
    wait_state(&t, &g, XFER_TRANSFERRED);
    assert_int_equal(flt_journal_count(&t.f.journal), 2);
    expect_request(&t, 0, "/a.bin", NULL, NULL, 200);
    expect_request(&t, 1, "/a.bin", range_from(range, MIB), etag, 206);
    struct flt_jentry e = jget(&t, 1);
    assert_string_equal(e.proto, "https");
    flt_jentry_release(&e);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    xfer_engine_close(t.eng);
    t.eng = NULL;
    fltenv_stop(&t.f);
    flt_http_free(https);
    flt_pki_free(pki);
    engenv_free(&t);
}

/* Index of the n-th (0-based) journal entry with this FTP command. */
static size_t ftp_entry(struct engenv *t, const char *cmd, size_t n)
{
    size_t count = flt_journal_count(&t->f.journal);
    for (size_t i = 0; i < count; i++) {
        struct flt_jentry e = jget(t, i);
        bool hit = strcmp(e.method, cmd) == 0;
        flt_jentry_release(&e);
        if (hit && n-- == 0)
            return i;
    }
    fail_msg("no %s command number %zu in the journal", cmd, n);
    return 0;
}

static void test_ftp_resume(void **state)
{
    (void)state;
    const uint64_t size = 2 * MIB;
    struct engenv t;
    engenv_init(&t, SCALE, true);
    fltenv_gen(&t.f, "/a.bin", size, SEED);
    fltenv_rule(&t.f, "abort after=1MiB method=RETR nth=1");
    engenv_open(&t);
    const char *path = "/a.bin";
    xfer_guid g = start_job(&t, t.ftp_url, &path, 1, false);
    wait_state(&t, &g, XFER_TRANSFERRED);
    struct flt_jentry e = jget(&t, ftp_entry(&t, "RETR", 0));
    assert_null(e.range);
    assert_int_equal(e.status, 426);
    flt_jentry_release(&e);
    e = jget(&t, ftp_entry(&t, "REST", 0));
    assert_string_equal(e.target, "1048576");
    assert_int_equal(e.status, 350);
    flt_jentry_release(&e);
    e = jget(&t, ftp_entry(&t, "RETR", 1));
    assert_non_null(e.range);
    assert_string_equal(e.range, "1048576");
    assert_int_equal(e.sent, size - MIB);
    flt_jentry_release(&e);
    expect_states(&t, &g, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSFERRED");
    engenv_complete_and_check(&t, &g, "a.bin", SEED, size);
    engenv_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeded_interruptions),
        cmocka_unit_test(test_retry_budget),
        cmocka_unit_test(test_full_200_to_resume),
        cmocka_unit_test(test_entity_changed),
        cmocka_unit_test(test_entity_changed_second_file),
        cmocka_unit_test(test_wrong_206),
        cmocka_unit_test(test_validators),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_partial_untouched),
        cmocka_unit_test(test_partial_too_short),
        cmocka_unit_test(test_partial_hash_mismatch),
        cmocka_unit_test(test_service_stop),
        cmocka_unit_test(test_https_resume),
        cmocka_unit_test(test_ftp_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
