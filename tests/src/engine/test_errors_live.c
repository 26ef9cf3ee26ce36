/*
 * test_errors_live: every failure the fault servers and the local file system
 * can produce, run through the real engine, lands on the right error-table
 * row. test_errtab checks the rows and the classifiers on paper; this file
 * checks what a job actually reports.
 *
 * One table-driven runner: a case is {fault rules, job setup, expected state,
 * expected row (and the exact HTTP status the HRESULT carries)}. For each
 * case check_failure() asserts, once the job settles in ERROR or
 * TRANSIENT_ERROR:
 *   - the state and the exact HRESULT, xe_find(hr) and info->error.row;
 *   - the error context (the row's), the failing file index, a description
 *     naming the URL (remote) or the directory (local file);
 *   - WinRT status (Error for ERROR, Running for a job that will retry);
 *   - error_count 1 and the files done before the failing one;
 *   - the state sequence (whether it reached TRANSFERRING), the newest
 *     history row (state, hr, cause) and how many requests reached the server
 *     (1 for a fatal failure, 1 + the automatic retries for a transient one).
 *
 * Groups: HTTP statuses; transport faults (refuse, reset, empty, garbage,
 * silence, slow headers, short bodies, redirects, HTTP/1.0, no length, bad
 * ranges, max download time); Retry-After; TLS with the test PKI (four
 * HTTPS servers, the engine trusting the test CA, then the system bundle);
 * FTP replies and a missing size; credentials and custom headers (which must
 * succeed); the local file system (directory gone, EFBIG via RLIMIT_FSIZE,
 * EMFILE via RLIMIT_NOFILE, ENOSPC and EROFS on a tmpfs — root only, they
 * skip otherwise — and EACCES, which as root runs in a child of this binary
 * that dropped to nobody). The last test walks the whole table and prints
 * which rows this file produced live and which only test_errtab covers.
 *
 * The clock runs 200 times faster than the wall, so the 2-minute no-response
 * timeout costs 600 wall ms: short enough to wait for, long enough that a
 * loaded machine does not time out a request that was answered. The TLS
 * cases wait for no timer and run in real time.
 */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engenv.h"
#include "engine.h" /* ENG_AUTO_RETRIES */
#include "errtab.h"
#include "http.h"
#include "journal.h"
#include "pki.h"

#define SEED      7
#define SIZE      100000 /* the failing entity, /a.bin */
#define OK_SIZE   1000   /* clean files around it, /ok.bin */
#define SCALE     200.0  /* 5 wall ms per simulated second: 600 ms for the 2-minute timeout */
#define TLS_SCALE 1.0    /* loading the system CA bundle under ASan can take 100 ms and more */
#define ME        1000
#define WAIT_MS   20000
#define NOBODY    65534
/* decisions.md: the HRESULT of an HTTP status, BG_E_HTTP_ERROR_xxx, written out
 * here rather than taken from xe_http_hr() so the engine's arithmetic is checked. */
#define BG_E_HTTP(status) ((xfer_hr)(0x80190000u | (uint32_t)(status)))

/* Rows a job reported in this run, and rows of tests that skipped (the coverage walk). */
static bool produced[XE_COUNT];
static size_t skipped_rows;
/* This binary, for the child that runs as nobody. */
static char self_exe[4096];

/* ------------------------------------------------------------------ cases */

enum moved {
    M_CONNECTING,   /* failed before the response was accepted */
    M_TRANSFERRING, /* failed after: the job went TRANSFERRING first */
    M_EITHER        /* a race of the kernel (an RST can drop the head the client had) */
};

#define REQ_NONE (-1) /* no request reached the server */
#define REQ_ANY  (-2) /* not checked (FTP: the journal holds commands) */

struct live_case {
    const char *name;        /* NULL: rules[0] */
    const char *rules[6];    /* fault rules, NULL-terminated */
    const char *props[3];    /* "name=value" set before Resume */
    const char *path;        /* of the failing file, NULL: /a.bin */
    uint64_t size;           /* of it, 0: SIZE */
    struct xfer_range range; /* length 0: the whole file, else AddFileWithRanges */
    int file;                /* index of the failing file: clean files go before and after it */
    enum xfer_state want;
    enum xe_id row;
    long status;       /* the HTTP status the job's HRESULT carries, 0: the row's HRESULT */
    enum moved moved;  /* whether TRANSFERRING came first */
    int requests;      /* requests for /a.bin: 0 derived (1 fatal, 1 + retries transient) */
    const char *cause; /* cause of the last transition; NULL: fatal-error / transient-error */
    const char *desc;  /* text the error description holds; NULL: the URL (or directory) */
};

static const char *label(const struct live_case *c)
{
    return c->name ? c->name : c->rules[0] ? c->rules[0] : "?";
}

static const char *path_of(const struct live_case *c)
{
    return c && c->path ? c->path : "/a.bin";
}

/* -------------------------------------------------------------- helpers */

static void add_file(struct engenv *t, const xfer_guid *g, const char *url, const char *dir,
                     const char *name, const struct xfer_range *range)
{
    char local[512];
    snprintf(local, sizeof local, "%s/%s", dir, name);
    xfer_hr hr = range && range->length
                     ? xfer_job_add_file_ranges(t->eng, ME, g, url, local, range, 1)
                     : xfer_job_add_file(t->eng, ME, g, url, local);
    if (hr != 0)
        fail_msg("add_file %s: 0x%08X %s", url, (unsigned)hr, xfer_last_error(t->eng));
}

/*
 * The job of case c, not resumed: c->file clean files, then base/a.bin into
 * dir (NULL: t->dl), then one more clean file when c->file > 0; c->props set.
 */
static xfer_guid make_job(struct engenv *t, const char *base, const struct live_case *c,
                          const char *dir)
{
    xfer_guid g;
    char url[256], name[32];
    assert_int_equal(xfer_job_create(t->eng, ME, XFER_DOWNLOAD, "live", &g), 0);
    snprintf(url, sizeof url, "%s/ok.bin", base);
    for (int i = 0; i < c->file; i++) {
        snprintf(name, sizeof name, "ok%d.bin", i);
        add_file(t, &g, url, t->dl, name, NULL);
    }
    char failing[256];
    snprintf(failing, sizeof failing, "%s%s", base, path_of(c));
    add_file(t, &g, failing, dir ? dir : t->dl, "a.bin", &c->range);
    if (c->file > 0)
        add_file(t, &g, url, t->dl, "after.bin", NULL);
    for (size_t i = 0; i < sizeof c->props / sizeof c->props[0] && c->props[i]; i++) {
        char prop[128], err[256];
        const char *eq = strchr(c->props[i], '=');
        assert_non_null(eq);
        snprintf(prop, sizeof prop, "%.*s", (int)(eq - c->props[i]), c->props[i]);
        if (xfer_job_set(t->eng, ME, &g, prop, eq + 1, err, sizeof err) != 0)
            fail_msg("%s: set %s: %s", label(c), c->props[i], err);
    }
    return g;
}

static bool settled(struct engenv *t, void *arg)
{
    const xfer_guid *g = arg;
    for (size_t i = t->nlog; i-- > 0;) {
        const struct xfer_event *ev = &t->log[i].ev;
        if (ev->type == XFER_EV_STATE && memcmp(&ev->job, g, sizeof *g) == 0)
            return ev->new_state == XFER_ERROR || ev->new_state == XFER_TRANSIENT_ERROR ||
                   ev->new_state == XFER_TRANSFERRED;
    }
    return false;
}

/* Run until the job is in ERROR, TRANSIENT_ERROR or TRANSFERRED (or fail). */
static void wait_settled(struct engenv *t, const xfer_guid *g, const char *what)
{
    if (!engenv_run_until(t, settled, (void *)g, WAIT_MS)) {
        char states[256];
        engenv_states(t, g, states, sizeof states);
        fail_msg("%s: the job did not settle: %s", what, states);
    }
}

/* Requests the HTTP server saw for path (a query string aside). */
static int requests_for(struct engenv *t, const char *path)
{
    int n = 0;
    size_t len = strlen(path);
    for (size_t i = 0; i < flt_journal_count(&t->f.journal); i++) {
        struct flt_jentry je;
        assert_int_equal(flt_journal_get(&t->f.journal, i, &je), 0);
        if (je.target && strncmp(je.target, path, len) == 0 &&
            (je.target[len] == '\0' || je.target[len] == '?'))
            n++;
        flt_jentry_release(&je);
    }
    return n;
}

#define EXPECT(c, cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("%s: expected %s", label(c), #cond);                                          \
    } while (0)

/* The job g of case c has settled as c says; needle is in its error description. */
static void check_failure(struct engenv *t, const xfer_guid *g, const struct live_case *c,
                          const char *needle)
{
    wait_settled(t, g, label(c));
    xfer_hr want_hr = c->status ? BG_E_HTTP(c->status) : xe_hr(c->row);
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(t->eng, ME, g, &in), 0);
    if (in->state != c->want || in->error.hr != want_hr) {
        const struct xfer_error_row *got = xfer_error_find(in->error.hr);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s: got %s 0x%08X (%s) \"%s\", want %s 0x%08X (%s)", label(c),
                 xfer_state_name(in->state), (unsigned)in->error.hr, got ? got->name : "?",
                 in->error.description, xfer_state_name(c->want), (unsigned)want_hr,
                 xe_row(c->row)->name);
        free(in);
        fail_msg("%s", msg);
    }
    const struct xfer_error_row *row = xe_row(c->row);
    EXPECT(c, xe_find(in->error.hr) == c->row);
    EXPECT(c, in->error.row == row);
    EXPECT(c, in->error.context == row->context);
    EXPECT(c, in->error.file == c->file);
    if (c->desc)
        needle = c->desc;
    if (!strstr(in->error.description, needle))
        fail_msg("%s: description \"%s\" does not name %s", label(c), in->error.description,
                 needle);
    EXPECT(c, in->winrt_status == (c->want == XFER_ERROR ? XFER_WINRT_ERROR : XFER_WINRT_RUNNING));
    EXPECT(c, in->error_count == 1);
    EXPECT(c, in->files_done == (size_t)c->file);
    free(in);

    char states[256], direct[256], via[256];
    engenv_states(t, g, states, sizeof states);
    snprintf(direct, sizeof direct, "SUSPENDED QUEUED CONNECTING %s", xfer_state_name(c->want));
    snprintf(via, sizeof via, "SUSPENDED QUEUED CONNECTING TRANSFERRING %s",
             xfer_state_name(c->want));
    /* Clean files before the failing one moved the job already. */
    bool moved = c->moved == M_TRANSFERRING || c->file > 0;
    bool ok = strcmp(states, moved ? via : direct) == 0 ||
              (c->moved == M_EITHER && strcmp(states, via) == 0);
    if (!ok)
        fail_msg("%s: states \"%s\", want \"%s\"", label(c), states, moved ? via : direct);

    struct xfer_transition *h;
    size_t n;
    assert_int_equal(xfer_job_history(t->eng, ME, g, &h, &n), 0);
    assert_true(n > 0);
    const char *cause = c->cause                ? c->cause
                        : c->want == XFER_ERROR ? "fatal-error"
                                                : "transient-error";
    bool last_ok = h[n - 1].new_state == c->want && h[n - 1].hr == want_hr &&
                   strcmp(h[n - 1].cause, cause) == 0;
    char last_cause[32];
    snprintf(last_cause, sizeof last_cause, "%s", h[n - 1].cause);
    free(h);
    if (!last_ok)
        fail_msg("%s: last transition caused by '%s', want '%s'", label(c), last_cause, cause);

    if (c->requests != REQ_ANY) {
        int want = c->requests == REQ_NONE ? 0
                   : c->requests > 0       ? c->requests
                   : c->want == XFER_ERROR ? 1
                                           : 1 + ENG_AUTO_RETRIES;
        int got = requests_for(t, path_of(c));
        if (got != want)
            fail_msg("%s: %d requests for %s, want %d", label(c), got, path_of(c), want);
    }
    produced[c->row] = true;
}

/* An engine with HTTP (and FTP) servers, /a.bin and /ok.bin declared, and the rules of c. */
static void env_for(struct engenv *t, bool ftp, const struct live_case *c)
{
    engenv_init(t, SCALE, ftp);
    fltenv_gen(&t->f, path_of(c), c && c->size ? c->size : SIZE, SEED);
    fltenv_gen(&t->f, "/ok.bin", OK_SIZE, SEED + 1);
    for (size_t i = 0; c && i < sizeof c->rules / sizeof c->rules[0] && c->rules[i]; i++)
        fltenv_rule(&t->f, c->rules[i]);
    engenv_open(t);
}

/* Case c against the server at base (its files into t->dl): resume and check. */
static xfer_guid run_in(struct engenv *t, const char *base, const struct live_case *c)
{
    xfer_guid g = make_job(t, base, c, NULL);
    assert_int_equal(xfer_job_resume(t->eng, ME, &g), 0);
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path_of(c));
    check_failure(t, &g, c, url);
    return g;
}

/* Case c against the HTTP server (or the FTP server), in an environment of its own. */
static void run_case(const struct live_case *c, bool ftp)
{
    struct engenv t;
    env_for(&t, ftp, c);
    run_in(&t, ftp ? t.ftp_url : t.http_url, c);
    engenv_free(&t);
}

static void run_table(const struct live_case *cases, size_t n, bool ftp)
{
    for (size_t i = 0; i < n; i++)
        run_case(&cases[i], ftp);
}

#define RUN_TABLE(cases, ftp) run_table(cases, sizeof cases / sizeof cases[0], ftp)

/* The job settles in TRANSFERRED; Complete gives the generated bytes of /a.bin. */
static void expect_complete(struct engenv *t, const xfer_guid *g, const char *what)
{
    wait_settled(t, g, what);
    xfer_hr hr;
    enum xfer_state s = engenv_state(t, g, &hr);
    if (s != XFER_TRANSFERRED)
        fail_msg("%s: %s 0x%08X, want TRANSFERRED", what, xfer_state_name(s), (unsigned)hr);
    engenv_complete_and_check(t, g, "a.bin", SEED, SIZE);
}

/* ------------------------------------------------------------ HTTP statuses */

#define FATAL(code, id)                                                                            \
    {                                                                                              \
        .rules = {"status " #code}, .want = XFER_ERROR, .row = XE_##id, .status = code             \
    }
#define TRANSIENT(code, id)                                                                        \
    {                                                                                              \
        .rules = {"status " #code}, .want = XFER_TRANSIENT_ERROR, .row = XE_##id, .status = code   \
    }

static const struct live_case http_statuses[] = {
    FATAL(400, HTTP_400),
    FATAL(401, HTTP_401),
    {.name = "401 from auth, no credentials",
     .rules = {"auth basic user=alice pass=pw"},
     .want = XFER_ERROR,
     .row = XE_HTTP_401,
     .status = 401},
    FATAL(402, HTTP_402),
    FATAL(403, HTTP_403),
    FATAL(404, HTTP_404),
    FATAL(405, HTTP_405),
    FATAL(406, HTTP_406),
    FATAL(407, HTTP_407),
    TRANSIENT(408, HTTP_408),
    FATAL(409, HTTP_409),
    FATAL(410, HTTP_410),
    FATAL(411, HTTP_411),
    FATAL(412, HTTP_412),
    FATAL(413, HTTP_413),
    FATAL(414, HTTP_414),
    FATAL(415, HTTP_415),
    FATAL(416, HTTP_416), /* to a request without Range */
    FATAL(417, HTTP_417),
    FATAL(449, HTTP_449),
    /* Statuses bitsmsg.h leaves undefined: the class row, the exact HRESULT. */
    FATAL(418, HTTP_4XX_OTHER),
    FATAL(422, HTTP_4XX_OTHER),
    TRANSIENT(429, HTTP_4XX_OTHER), /* decisions.md: transient although its class is fatal */
    TRANSIENT(500, HTTP_500),
    FATAL(501, HTTP_501),
    TRANSIENT(502, HTTP_502),
    TRANSIENT(503, HTTP_503),
    TRANSIENT(504, HTTP_504),
    FATAL(505, HTTP_505),
    TRANSIENT(599, HTTP_5XX_OTHER),
    /* 2xx without an entity to download (semantics.md §3.3), and 2xx BITS does not define. */
    FATAL(204, HTTP_204),
    FATAL(205, HTTP_205),
    FATAL(207, HTTP_2XX_OTHER),
    /* 3xx that cannot be followed (no Location). */
    FATAL(300, HTTP_300),
    FATAL(304, HTTP_304),
    /* The failing file is the second of three: its index, the first one done. */
    {.name = "404 on file 1",
     .rules = {"status 404 path=/a.bin"},
     .file = 1,
     .want = XFER_ERROR,
     .row = XE_HTTP_404,
     .status = 404},
};

static void test_http_statuses(void **state)
{
    (void)state;
    RUN_TABLE(http_statuses, false);
}

/* ------------------------------------------------------------ transport */

static const struct live_case transport[] = {
    {.rules = {"refuse"},
     .want = XFER_TRANSIENT_ERROR,
     .row = XE_CANNOT_CONNECT,
     .requests = REQ_NONE},
    /* Every request reset at byte 0 of its body: no retry ever gets a byte. */
    {.rules = {"reset after=0"},
     .want = XFER_TRANSIENT_ERROR,
     .row = XE_CONNECTION_RESET,
     .moved = M_EITHER},
    {.rules = {"empty"}, .want = XFER_TRANSIENT_ERROR, .row = XE_INVALID_SERVER_RESPONSE_WINHTTP},
    {.rules = {"garbage"}, .want = XFER_TRANSIENT_ERROR, .row = XE_INVALID_SERVER_RESPONSE_WINHTTP},
    /* No answer: the engine's 2-minute no-response timeout, four times. */
    {.rules = {"silent"}, .want = XFER_TRANSIENT_ERROR, .row = XE_TIMEOUT},
    {.rules = {"slow-headers 3min"}, .want = XFER_TRANSIENT_ERROR, .row = XE_TIMEOUT},
    /* Closed mid-body (1000 bytes in), then every resume closed before a byte. */
    {.name = "close mid-body, then at once",
     .rules = {"close after=1000 nth=1", "close after=0 nth=2", "close after=0 nth=3",
               "close after=0 nth=4"},
     .want = XFER_TRANSIENT_ERROR,
     .row = XE_CONTENT_LENGTH_MISMATCH,
     .moved = M_TRANSFERRING},
    {.rules = {"short by=1000"},
     .want = XFER_TRANSIENT_ERROR,
     .row = XE_CONTENT_LENGTH_MISMATCH,
     .moved = M_TRANSFERRING},
    /* decisions.md: beyond 10 redirects, BG_E_HTTP_ERROR of the last status, fatal. */
    {.rules = {"redirect mode=loop"},
     .want = XFER_ERROR,
     .row = XE_HTTP_302,
     .status = 302,
     .requests = 11},
    {.rules = {"redirect mode=loop code=301"},
     .want = XFER_ERROR,
     .row = XE_HTTP_301,
     .status = 301,
     .requests = 11},
    {.rules = {"redirect mode=loop code=303"},
     .want = XFER_ERROR,
     .row = XE_HTTP_303,
     .status = 303,
     .requests = 11},
    {.rules = {"redirect mode=loop code=307"},
     .want = XFER_ERROR,
     .row = XE_HTTP_307,
     .status = 307,
     .requests = 11},
    {.rules = {"redirect mode=loop code=308"},
     .want = XFER_ERROR,
     .row = XE_HTTP_3XX_OTHER,
     .status = 308,
     .requests = 11},
    {.rules = {"redirect ftp://127.0.0.1:9/a.bin"},
     .want = XFER_ERROR,
     .row = XE_REDIRECT_FAILED,
     .requests = 1},
    {.rules = {"http10"}, .want = XFER_ERROR, .row = XE_INSUFFICIENT_HTTP_SUPPORT},
    {.rules = {"no-length"}, .want = XFER_ERROR, .row = XE_MISSING_FILE_SIZE},
    {.rules = {"no-length chunked"}, .want = XFER_ERROR, .row = XE_MISSING_FILE_SIZE},
    /* A resume answered with a 206 that has no Content-Range. */
    {.rules = {"close after=1000 nth=1", "bad-206 no-content-range"},
     .want = XFER_ERROR,
     .row = XE_INVALID_SERVER_RESPONSE,
     .moved = M_TRANSFERRING,
     .requests = 2},
    /* Every resume redirected (a middle box): transient, retried. */
    {.name = "redirect on resume",
     .rules = {"close after=1000 nth=1", "redirect /ok.bin nth=2", "redirect /ok.bin nth=3",
               "redirect /ok.bin nth=4"},
     .want = XFER_TRANSIENT_ERROR,
     .row = XE_RESUME_REDIRECT,
     .moved = M_TRANSFERRING},
    /* AddFileWithRanges: a range past the end (the server answers 416). */
    {.name = "range beyond the end",
     .range = {SIZE * 2, 100},
     .want = XFER_ERROR,
     .row = XE_INVALID_RANGE},
    /* A range answered with the whole entity, or with another range. */
    {.rules = {"ignore-range"},
     .range = {1000, 100},
     .want = XFER_ERROR,
     .row = XE_INSUFFICIENT_RANGE_SUPPORT},
    {.rules = {"bad-206 shift=+100"},
     .range = {1000, 100},
     .want = XFER_ERROR,
     .row = XE_INVALID_SERVER_RESPONSE},
    /* MaxDownloadTime while the body trickles. */
    {.rules = {"throttle 100B/s"},
     .props = {"max_download_time=30"},
     .want = XFER_ERROR,
     .row = XE_MAXDOWNLOAD_TIMEOUT,
     .moved = M_TRANSFERRING,
     .cause = "max-download-time",
     .desc = "maximum download time"},
};

static void test_transport(void **state)
{
    (void)state;
    RUN_TABLE(transport, false);
}

/*
 * `close after=10000` on every request: each resume moves 10000 more bytes,
 * and progress resets the automatic retries, so the job completes through 10
 * short requests instead of failing (Chromium's IMMEDIATE_CONTINUE).
 */
static void test_close_every_request(void **state)
{
    (void)state;
    const struct live_case c = {.rules = {"close after=10000"}};
    struct engenv t;
    env_for(&t, false, &c);
    xfer_guid g = make_job(&t, t.http_url, &c, NULL);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    expect_complete(&t, &g, c.rules[0]);
    assert_int_equal(requests_for(&t, "/a.bin"), SIZE / 10000);
    engenv_free(&t);
}

/* ------------------------------------------------------------ Retry-After */

/* The engine time of the job's first transition to `to` with cause, or -1. */
static int64_t transition_time(struct engenv *t, const xfer_guid *g, enum xfer_state to,
                               const char *cause)
{
    struct xfer_transition *h;
    size_t n;
    assert_int_equal(xfer_job_history(t->eng, ME, g, &h, &n), 0);
    int64_t at = -1;
    for (size_t i = 0; i < n && at < 0; i++)
        if (h[i].new_state == to && (!cause || strcmp(h[i].cause, cause) == 0))
            at = h[i].time_ms;
    free(h);
    return at;
}

static bool was_retried(struct engenv *t, void *arg)
{
    return transition_time(t, arg, XFER_QUEUED, "retry-delay") >= 0;
}

/*
 * 429 and 503 with Retry-After: 300 on a job whose MinimumRetryDelay is 5 s:
 * the retry comes at least 300 s (engine time) after TRANSIENT_ERROR.
 */
static void test_retry_after(void **state)
{
    (void)state;
    static const struct live_case cases[] = {
        {.rules = {"status 429 header=\"Retry-After: 300\""},
         .props = {"min_retry_delay=5"},
         .want = XFER_TRANSIENT_ERROR,
         .row = XE_HTTP_4XX_OTHER,
         .status = 429},
        {.rules = {"status 503 header=\"Retry-After: 300\""},
         .props = {"min_retry_delay=5"},
         .want = XFER_TRANSIENT_ERROR,
         .row = XE_HTTP_503,
         .status = 503},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct live_case *c = &cases[i];
        struct engenv t;
        env_for(&t, false, c);
        xfer_guid g = run_in(&t, t.http_url, c);
        assert_true(engenv_run_until(&t, was_retried, &g, WAIT_MS));
        int64_t failed = transition_time(&t, &g, XFER_TRANSIENT_ERROR, NULL);
        int64_t retried = transition_time(&t, &g, XFER_QUEUED, "retry-delay");
        struct xfer_job_info *in;
        assert_int_equal(xfer_job_info(t.eng, ME, &g, &in), 0);
        int64_t min_delay_ms = in->min_retry_delay_s * 1000;
        free(in);
        if (retried - failed < 300 * 1000 || retried - failed <= min_delay_ms)
            fail_msg("%s: retried %lld ms after the failure, want >= 300000", label(c),
                     (long long)(retried - failed));
        engenv_free(&t);
    }
}

/* ------------------------------------------------------------------ TLS */

/* An engenv with one HTTPS server per certificate kind; the engine trusts the test CA. */
struct tls_env {
    struct engenv t;
    struct flt_pki *pki;
    struct flt_http *https[FLT_CERT__COUNT];
    char base[FLT_CERT__COUNT][64]; /* "https://127.0.0.1:PORT" */
};

/*
 * Servers are created while their loop is stopped (flt_http_new), and
 * engenv_init starts it: stop it, add the HTTPS servers, start it again.
 */
static void tls_env_init(struct tls_env *w)
{
    memset(w, 0, sizeof *w);
    struct engenv *t = &w->t;
    engenv_init(t, TLS_SCALE, false);
    fltenv_gen(&t->f, "/a.bin", SIZE, SEED);
    char err[XL_ERRLEN];
    if (flt_pki_create(t->f.dir, &w->pki, err) < 0)
        fail_msg("pki: %s", err);
    fltenv_stop(&t->f);
    for (int k = 0; k < FLT_CERT__COUNT; k++) {
        struct flt_http_config tc = {.cert_pem = flt_pki_cert_pem(w->pki, k),
                                     .key_pem = flt_pki_key_pem(w->pki, k)};
        w->https[k] = fltenv_http(&t->f, &tc);
        snprintf(w->base[k], sizeof w->base[k], "https://127.0.0.1:%u",
                 (unsigned)flt_http_port(w->https[k]));
    }
    assert_int_equal(fltenv_run(&t->f), 0);
    t->cfg.ca_file = flt_pki_ca_path(w->pki);
    engenv_open(t);
}

static void tls_env_free(struct tls_env *w)
{
    xfer_engine_close(w->t.eng);
    w->t.eng = NULL;
    fltenv_stop(&w->t.f);
    for (int k = 0; k < FLT_CERT__COUNT; k++)
        flt_http_free(w->https[k]);
    flt_pki_free(w->pki);
    engenv_free(&w->t);
}

/*
 * The valid certificate completes; the three bad ones, and TLS to a plain
 * HTTP server, fail before any request reaches a server; with the system
 * bundle instead of the test CA the valid certificate's issuer is unknown.
 */
static void test_tls(void **state)
{
    (void)state;
    if (!flt_http_tls_supported()) {
        skipped_rows += 4; /* the three certificate rows and SECURE_FAILURE */
        skip();
    }
    static const struct live_case bad[FLT_CERT__COUNT] = {
        [FLT_CERT_EXPIRED] = {.name = "expired certificate",
                              .want = XFER_ERROR,
                              .row = XE_CERT_DATE_INVALID,
                              .requests = REQ_ANY},
        [FLT_CERT_WRONG_HOST] = {.name = "wrong-host certificate",
                                 .want = XFER_ERROR,
                                 .row = XE_CERT_CN_INVALID,
                                 .requests = REQ_ANY},
        [FLT_CERT_SELF_SIGNED] = {.name = "self-signed certificate",
                                  .want = XFER_ERROR,
                                  .row = XE_CERT_INVALID_CA,
                                  .requests = REQ_ANY},
    };
    static const struct live_case no_tls = {.name = "HTTPS to an HTTP server",
                                            .want = XFER_ERROR,
                                            .row = XE_SECURE_FAILURE,
                                            .requests = REQ_ANY};
    static const struct live_case untrusted = {.name = "test CA not in the system bundle",
                                               .want = XFER_ERROR,
                                               .row = XE_CERT_INVALID_CA,
                                               .requests = REQ_ANY};
    struct tls_env w;
    tls_env_init(&w);
    struct engenv *t = &w.t;
    const struct live_case valid = {.name = "valid certificate"};
    xfer_guid g = make_job(t, w.base[FLT_CERT_VALID], &valid, NULL);
    assert_int_equal(xfer_job_resume(t->eng, ME, &g), 0);
    expect_complete(t, &g, valid.name);
    for (int k = 0; k < FLT_CERT__COUNT; k++)
        if (k != FLT_CERT_VALID)
            run_in(t, w.base[k], &bad[k]);
    /* TLS to a server that speaks plain HTTP. */
    char plain[64];
    snprintf(plain, sizeof plain, "https%s", t->http_url + strlen("http"));
    run_in(t, plain, &no_tls);
    /* Only the valid server answered a request. */
    assert_int_equal(requests_for(t, "/a.bin"), 1);
    t->cfg.ca_file = NULL;
    engenv_reopen(t);
    run_in(t, w.base[FLT_CERT_VALID], &untrusted);
    assert_int_equal(requests_for(t, "/a.bin"), 1);
    tls_env_free(&w);
}

/* ------------------------------------------------------------------ FTP */

#define NO_SIZE_RULES "reply 502 method=SIZE", "reply 150 method=RETR text=\"Here it comes.\""
#define FTP_CASE(...)                                                                              \
    {                                                                                              \
        .requests = REQ_ANY, __VA_ARGS__                                                           \
    }

static const struct live_case ftp_cases[] = {
    /* The greeting refused: errors.def puts 421 under FTP_TRANSIENT. */
    FTP_CASE(.rules = {"reply 421 method=CONNECT"}, .want = XFER_TRANSIENT_ERROR,
             .row = XE_FTP_TRANSIENT),
    FTP_CASE(.rules = {"reply 530 method=PASS"}, .want = XFER_ERROR, .row = XE_LOGIN_FAILURE),
    FTP_CASE(.rules = {"reply 550 method=RETR"}, .want = XFER_ERROR, .row = XE_FTP_FILE_NOT_FOUND),
    FTP_CASE(.rules = {"reply 550 method=CWD"}, .path = "/d/a.bin", .want = XFER_ERROR,
             .row = XE_REMOTE_ACCESS_DENIED),
    FTP_CASE(.rules = {"reply 425 method=RETR"}, .want = XFER_TRANSIENT_ERROR,
             .row = XE_FTP_TRANSIENT),
    /* The first RETR cut at 50000 bytes; the resume's REST refused. */
    FTP_CASE(.name = "REST refused on a resume",
             .rules = {"abort after=50000 method=RETR nth=1", "reply 502 method=REST"},
             .want = XFER_ERROR, .row = XE_INSUFFICIENT_RANGE_SUPPORT, .moved = M_TRANSFERRING),
    /* The first RETR cut at 50000 bytes, the resumes' at once. */
    FTP_CASE(.name = "abort mid-body, then at once",
             .rules = {"abort after=50000 method=RETR nth=1", "abort after=0 method=RETR nth=2",
                       "abort after=0 method=RETR nth=3", "abort after=0 method=RETR nth=4"},
             .want = XFER_TRANSIENT_ERROR, .row = XE_CONTENT_LENGTH_MISMATCH,
             .moved = M_TRANSFERRING),
    /* A deaf server: its own 60-s idle timeout drops the control connection
     * before the engine's 2-minute no-response timeout would fire. */
    FTP_CASE(.rules = {"silent method=RETR"}, .want = XFER_TRANSIENT_ERROR,
             .row = XE_CONNECTION_RESET),
    FTP_CASE(.rules = {"refuse"}, .want = XFER_TRANSIENT_ERROR, .row = XE_CANNOT_CONNECT),
    /* SIZE refused with 550 ("file unavailable"): libcurl stops at SIZE. */
    FTP_CASE(.rules = {"reply 550 method=SIZE"}, .want = XFER_ERROR, .row = XE_FTP_FILE_NOT_FOUND),
    /* No size at all: SIZE refused and a 150 reply without "(N bytes)". */
    FTP_CASE(.name = "no SIZE, no size in 150", .rules = {NO_SIZE_RULES}, .want = XFER_ERROR,
             .row = XE_MISSING_FILE_SIZE),
};

static void test_ftp(void **state)
{
    (void)state;
    RUN_TABLE(ftp_cases, true);
}

/*
 * decisions.md on a missing size, over FTP: SIZE refused (502) is not a
 * missing size when the 150 reply tells it; with no size anywhere the job
 * fails (test_ftp) unless it has dynamic content.
 */
static void test_ftp_size(void **state)
{
    (void)state;
    static const struct live_case ok[] = {
        {.name = "SIZE refused, size in 150", .rules = {"reply 502 method=SIZE"}},
        {.name = "no size, dynamic content",
         .rules = {NO_SIZE_RULES},
         .props = {"dynamic_content=true"}},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct engenv t;
        env_for(&t, true, &ok[i]);
        xfer_guid g = make_job(&t, t.ftp_url, &ok[i], NULL);
        assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
        expect_complete(&t, &g, label(&ok[i]));
        engenv_free(&t);
    }
}

/* ---------------------------------------------------------- credentials */

/* The headers of the last request for /a.bin contain line. */
static void expect_last_request_has(struct engenv *t, const char *line)
{
    size_t n = flt_journal_count(&t->f.journal);
    assert_true(n > 0);
    struct flt_jentry je;
    assert_int_equal(flt_journal_get(&t->f.journal, n - 1, &je), 0);
    bool has = je.headers && strstr(je.headers, line);
    char got[1024];
    snprintf(got, sizeof got, "%s", je.headers ? je.headers : "(none)");
    flt_jentry_release(&je);
    if (!has)
        fail_msg("the request did not carry '%s':\n%s", line, got);
}

static void test_credentials_ok(void **state)
{
    (void)state;
    static const struct {
        struct live_case c;
        const char *sent; /* a line of the authorized request */
        int requests;     /* digest: the challenge first */
    } ok[] = {
        {{.rules = {"auth basic user=alice pass=pw"},
          .props = {"server_credentials=basic alice:pw"}},
         "Authorization: Basic ",
         1},
        {{.rules = {"auth digest user=alice pass=pw"},
          .props = {"server_credentials=digest alice:pw"}},
         "Authorization: Digest ",
         2},
        {{.name = "custom header", .props = {"headers=X-Test: 1"}}, "X-Test: 1\n", 1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct engenv t;
        env_for(&t, false, &ok[i].c);
        xfer_guid g = make_job(&t, t.http_url, &ok[i].c, NULL);
        assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
        expect_complete(&t, &g, label(&ok[i].c));
        expect_last_request_has(&t, ok[i].sent);
        assert_int_equal(requests_for(&t, "/a.bin"), ok[i].requests);
        engenv_free(&t);
    }
}

static const struct live_case auth_failures[] = {
    {.name = "basic, wrong password",
     .rules = {"auth basic user=alice pass=pw"},
     .props = {"server_credentials=basic alice:nope"},
     .want = XFER_ERROR,
     .row = XE_HTTP_401,
     .status = 401},
    {.name = "digest, wrong password",
     .rules = {"auth digest user=alice pass=pw"},
     .props = {"server_credentials=digest alice:nope"},
     .want = XFER_ERROR,
     .row = XE_HTTP_401,
     .status = 401,
     .requests = 2},
};

static void test_credentials_refused(void **state)
{
    (void)state;
    RUN_TABLE(auth_failures, false);
}

/* ----------------------------------------------------- local file system */

/* check_failure for a local-file case: the job's files go into dir. */
static void check_local(struct engenv *t, const xfer_guid *g, const struct live_case *c,
                        const char *dir)
{
    check_failure(t, g, c, dir);
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(t->eng, ME, g, &in), 0);
    enum xfer_context ctx = in->error.context;
    free(in);
    assert_int_equal(ctx, XFER_CTX_LOCAL_FILE);
}

/* A directory under t->dl, made for the test. */
static void subdir(struct engenv *t, const char *name, mode_t mode, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", t->dl, name);
    assert_int_equal(mkdir(out, mode), 0);
}

static void test_local_dir_gone(void **state)
{
    (void)state;
    const struct live_case c = {.name = "destination directory removed",
                                .want = XFER_ERROR,
                                .row = XE_PATH_NOT_FOUND,
                                .requests = REQ_NONE};
    struct engenv t;
    env_for(&t, false, &c);
    char dir[256];
    subdir(&t, "gone", 0700, dir, sizeof dir);
    xfer_guid g = make_job(&t, t.http_url, &c, dir);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    check_local(&t, &g, &c, dir);
    engenv_free(&t);
}

/* EFBIG: RLIMIT_FSIZE below the entity (above what the store writes), SIGXFSZ ignored. */
static void test_local_file_too_large(void **state)
{
    (void)state;
    const struct live_case c = {.name = "RLIMIT_FSIZE",
                                .size = 12 << 20,
                                .want = XFER_ERROR,
                                .row = XE_FILE_TOO_LARGE,
                                .moved = M_TRANSFERRING};
    struct engenv t;
    env_for(&t, false, &c);
    xfer_guid g = make_job(&t, t.http_url, &c, NULL);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 8 << 20;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    bool ok = engenv_run_until(&t, settled, &g, WAIT_MS);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    assert_true(ok);
    check_local(&t, &g, &c, t.dl);
    engenv_free(&t);
}

/*
 * EMFILE: RLIMIT_NOFILE at the lowest free descriptor once the job is queued,
 * so the first descriptor the fetch asks for (its temporary file, opened
 * before any socket) is refused. Transient: with the limit back, Resume
 * completes the job.
 */
static void test_local_too_many_open_files(void **state)
{
    (void)state;
    const struct live_case c = {.name = "RLIMIT_NOFILE",
                                .want = XFER_TRANSIENT_ERROR,
                                .row = XE_TOO_MANY_OPEN_FILES,
                                .requests = REQ_NONE};
    struct engenv t;
    env_for(&t, false, &c);
    xfer_guid g = make_job(&t, t.http_url, &c, NULL);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int lowest = dup(0);
    assert_true(lowest >= 0);
    close(lowest);
    low = old;
    low.rlim_cur = (rlim_t)lowest;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    bool ok = engenv_run_until(&t, settled, &g, WAIT_MS);
    setrlimit(RLIMIT_NOFILE, &old);
    assert_true(ok);
    check_local(&t, &g, &c, t.dl);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    expect_complete(&t, &g, "resume after EMFILE");
    engenv_free(&t);
}

/* Mount a tmpfs on dir (root only); false when the system does not allow it. */
static bool mount_tmpfs(const char *dir, unsigned long flags, const char *opts)
{
    if (mount("tmpfs", dir, "tmpfs", flags, opts) == 0)
        return true;
    printf("mount tmpfs on %s: %s\n", dir, strerror(errno));
    return false;
}

/* ENOSPC: a 1 MiB tmpfs and a 4 MiB file; transient (space frees up). */
static void test_local_disk_full(void **state)
{
    (void)state;
    const struct live_case c = {.name = "tmpfs full",
                                .size = 4 << 20,
                                .want = XFER_TRANSIENT_ERROR,
                                .row = XE_DISK_FULL,
                                .moved = M_TRANSFERRING,
                                .requests = REQ_ANY};
    struct engenv t;
    env_for(&t, false, &c);
    char dir[256];
    subdir(&t, "small", 0700, dir, sizeof dir);
    if (!mount_tmpfs(dir, 0, "size=1m,mode=0700")) {
        engenv_free(&t);
        skipped_rows++;
        skip();
    }
    xfer_guid g = make_job(&t, t.http_url, &c, dir);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    bool ok = engenv_run_until(&t, settled, &g, WAIT_MS);
    assert_int_equal(umount2(dir, MNT_DETACH), 0);
    assert_true(ok);
    check_local(&t, &g, &c, dir);
    engenv_free(&t);
}

/* EROFS: a tmpfs mounted read-only. */
static void test_local_read_only(void **state)
{
    (void)state;
    const struct live_case c = {.name = "read-only tmpfs",
                                .want = XFER_ERROR,
                                .row = XE_WRITE_PROTECT,
                                .requests = REQ_NONE};
    struct engenv t;
    env_for(&t, false, &c);
    char dir[256];
    subdir(&t, "ro", 0700, dir, sizeof dir);
    if (!mount_tmpfs(dir, MS_RDONLY, "size=1m")) {
        engenv_free(&t);
        skipped_rows++;
        skip();
    }
    xfer_guid g = make_job(&t, t.http_url, &c, dir);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    bool ok = engenv_run_until(&t, settled, &g, WAIT_MS);
    assert_int_equal(umount2(dir, MNT_DETACH), 0);
    assert_true(ok);
    check_local(&t, &g, &c, dir);
    engenv_free(&t);
}

/* EACCES: a 0500 directory, for a user permission bits apply to. */
static void access_denied_case(void)
{
    const struct live_case c = {.name = "0500 directory",
                                .want = XFER_ERROR,
                                .row = XE_ACCESS_DENIED,
                                .requests = REQ_NONE};
    struct engenv t;
    env_for(&t, false, &c);
    char dir[256];
    subdir(&t, "locked", 0700, dir, sizeof dir);
    xfer_guid g = make_job(&t, t.http_url, &c, dir);
    assert_int_equal(chmod(dir, 0500), 0);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    bool ok = engenv_run_until(&t, settled, &g, WAIT_MS);
    chmod(dir, 0700);
    assert_true(ok);
    check_local(&t, &g, &c, dir);
    engenv_free(&t);
}

static void test_access_denied_child(void **state)
{
    (void)state;
    access_denied_case();
}

/*
 * Root ignores permission bits: a child drops to nobody and runs the case
 * in a fresh process of this binary (--access-denied-child); its exit code is
 * the number of its failed tests.
 */
static void test_local_access_denied(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        access_denied_case();
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            _exit(90);
        execl(self_exe, self_exe, "--access-denied-child", (char *)NULL);
        _exit(91);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status) && (WEXITSTATUS(status) == 90 || WEXITSTATUS(status) == 91)) {
        printf("cannot %s as uid %d here\n", WEXITSTATUS(status) == 90 ? "run" : "exec this binary",
               NOBODY);
        skipped_rows++;
        skip();
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the child running as uid %d failed (wait status 0x%x)", NOBODY, status);
    produced[XE_ACCESS_DENIED] = true;
}

/* --------------------------------------------------------------- coverage */

/* What this file reaches when nothing skips (see the report the test prints). */
#define LIVE_ROWS_MIN 64

static void test_coverage(void **state)
{
    (void)state;
    size_t n, live = 0;
    const struct xfer_error_row *rows = xfer_error_table(&n);
    printf("Error rows a job reported live in this run:\n");
    for (size_t i = 0; i < n; i++) {
        if (produced[i]) {
            printf("  live   0x%08X %s\n", (unsigned)rows[i].hr, rows[i].name);
            live++;
        }
    }
    printf("Error rows covered only by test_errtab:\n");
    for (size_t i = 0; i < n; i++)
        if (!produced[i])
            printf("  table  0x%08X %s\n", (unsigned)rows[i].hr, rows[i].name);
    printf("%zu of %zu rows live (%zu more skipped here)\n", live, n, skipped_rows);
    assert_true(live + skipped_rows >= LIVE_ROWS_MIN);
}

int main(int argc, char **argv)
{
    ssize_t len = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (len > 0)
        self_exe[len] = '\0';
    if (argc == 2 && strcmp(argv[1], "--access-denied-child") == 0) {
        const struct CMUnitTest child[] = {cmocka_unit_test(test_access_denied_child)};
        return cmocka_run_group_tests_name("access denied, as nobody", child, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_statuses),
        cmocka_unit_test(test_transport),
        cmocka_unit_test(test_close_every_request),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_ftp),
        cmocka_unit_test(test_ftp_size),
        cmocka_unit_test(test_credentials_ok),
        cmocka_unit_test(test_credentials_refused),
        cmocka_unit_test(test_local_dir_gone),
        cmocka_unit_test(test_local_file_too_large),
        cmocka_unit_test(test_local_too_many_open_files),
        cmocka_unit_test(test_local_disk_full),
        cmocka_unit_test(test_local_read_only),
        cmocka_unit_test(test_local_access_denied),
        cmocka_unit_test(test_coverage), /* last: it reads what the others produced */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
