/*
 * Tests for the HTTP faults of faults/http.c that test_http.c does not cover,
 * with libcurl as the client. Each test asserts the exact effect the client
 * sees and the journal entry the server wrote (status, sent, length, outcome,
 * fired). Each test builds its own servers on free ports and tears them down.
 * Times are only ever checked from below, where a delay is physically certain.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fltenv.h"
#include "http.h"
#include "pki.h"

#define SIZE       (1024 * 1024)
#define SEED       7
#define SMALL      1000
#define SMALL_SEED 3
#define OTHER      5000
#define OTHER_SEED 11

/* A second server next to the first: none, one that shares the first one's
 * content, or one with content of its own (only /other.bin). */
enum peer { PEER_NONE, PEER_SHARED, PEER_OWN };

struct world {
    struct fltenv env;
    struct flt_http *http;
    struct flt_http *https;
    struct flt_http *peer;
    struct flt_pki *pki;
    struct flt_rules peer_rules; /* the peer's own, empty unless a test adds some */
    struct flt_content peer_content;
    struct flt_journal peer_journal;
    char url[128];      /* http://127.0.0.1:PORT/big.bin */
    char base[64];      /* http://127.0.0.1:PORT */
    char tls_base[64];  /* https://localhost:PORT */
    char peer_base[64]; /* http://127.0.0.1:PEERPORT */
    char ca[300];
};

static struct world *world_new(const char *const *rules, bool tls, enum peer peer)
{
    struct world *w = calloc(1, sizeof *w);
    char err[XL_ERRLEN];
    assert_non_null(w);
    assert_int_equal(fltenv_init(&w->env), 0);
    flt_rules_init(&w->peer_rules);
    flt_content_init(&w->peer_content);
    flt_journal_init(&w->peer_journal);
    fltenv_gen(&w->env, "/big.bin", SIZE, SEED);
    fltenv_gen(&w->env, "/small.bin", SMALL, SMALL_SEED);
    for (size_t i = 0; rules && rules[i]; i++)
        fltenv_rule(&w->env, rules[i]);
    struct flt_http_config hc = {.idle_timeout_s = 10};
    w->http = fltenv_http(&w->env, &hc);
    if (tls) {
        if (flt_pki_create(w->env.dir, &w->pki, err) < 0)
            fail_msg("pki: %s", err);
        struct flt_http_config tc = {.cert_pem = flt_pki_cert_pem(w->pki, FLT_CERT_VALID),
                                     .key_pem = flt_pki_key_pem(w->pki, FLT_CERT_VALID),
                                     .idle_timeout_s = 10};
        w->https = fltenv_http(&w->env, &tc);
        snprintf(w->tls_base, sizeof w->tls_base, "https://localhost:%u", flt_http_port(w->https));
        snprintf(w->ca, sizeof w->ca, "%s", flt_pki_ca_path(w->pki));
    }
    if (peer != PEER_NONE) {
        if (peer == PEER_OWN &&
            flt_content_add_gen(&w->peer_content, "/other.bin", OTHER, OTHER_SEED, err) < 0)
            fail_msg("peer content: %s", err);
        w->peer = flt_http_new(w->env.base, &hc, &w->peer_rules,
                               peer == PEER_SHARED ? &w->env.content : &w->peer_content,
                               &w->peer_journal, &w->env.clock, err);
        if (!w->peer)
            fail_msg("peer: %s", err);
        snprintf(w->peer_base, sizeof w->peer_base, "http://127.0.0.1:%u", flt_http_port(w->peer));
    }
    snprintf(w->base, sizeof w->base, "http://127.0.0.1:%u", flt_http_port(w->http));
    snprintf(w->url, sizeof w->url, "%s/big.bin", w->base);
    assert_int_equal(fltenv_run(&w->env), 0);
    return w;
}

static void world_free(struct world *w)
{
    fltenv_stop(&w->env);
    flt_http_free(w->http);
    flt_http_free(w->https);
    flt_http_free(w->peer);
    flt_pki_free(w->pki);
    flt_rules_clear(&w->peer_rules);
    flt_content_clear(&w->peer_content);
    flt_journal_free(&w->peer_journal);
    fltenv_free(&w->env);
    free(w);
}

/* A handle for url with an overall timeout; the caller adds options. */
static CURL *easy(const char *url, long timeout_ms)
{
    CURL *h = curl_easy_init();
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    return h;
}

/* GET url with a Range (NULL: none) and extra headers; timeout in ms. */
static int get(const char *url, const char *range, const char *const *headers, long timeout_ms,
               struct fltenv_fetch *f)
{
    CURL *h = easy(url, timeout_ms);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (range)
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    int rc = fltenv_perform(h, f);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return rc;
}

static void assert_genv(const struct fltenv_fetch *f, uint64_t seed, unsigned version, uint64_t off,
                        uint64_t len)
{
    char want[65], got[65];
    assert_int_equal(f->body_len, len);
    fltenv_gen_sha256(seed, version, off, len, want);
    fltenv_sha256(f->body, f->body_len, got);
    assert_string_equal(got, want);
}

static void assert_gen(const struct fltenv_fetch *f, uint64_t off, uint64_t len)
{
    assert_genv(f, SEED, 0, off, len);
}

static bool header_has(const struct fltenv_fetch *f, const char *line)
{
    return strcasestr(f->headers, line) != NULL;
}

/* The value of a response header (first occurrence in the last head) into buf. */
static const char *header_value(const struct fltenv_fetch *f, const char *name, char *buf,
                                size_t len)
{
    char key[64];
    const char *head = f->headers, *p;
    /* After redirects the block holds several heads: use the last one. */
    while ((p = strstr(head + 1, "\r\nHTTP/")) != NULL)
        head = p;
    snprintf(key, sizeof key, "\n%s: ", name);
    p = strcasestr(head, key);
    buf[0] = '\0';
    if (p)
        snprintf(buf, len, "%.*s", (int)strcspn(p + strlen(key), "\r\n"), p + strlen(key));
    return buf;
}

static struct flt_jentry entry_of(struct flt_journal *j, size_t idx)
{
    struct flt_jentry e;
    memset(&e, 0, sizeof e);
    assert_true(fltenv_wait_journal(j, idx + 1));
    assert_int_equal(flt_journal_get(j, idx, &e), 0);
    return e;
}

static struct flt_jentry journal(struct world *w, size_t idx)
{
    return entry_of(&w->env.journal, idx);
}

/* Print every entry of j (on a failure, to show what the server saw). */
static void dump_journal(struct flt_journal *j)
{
    size_t n = flt_journal_count(j);
    for (size_t i = 0; i < n; i++) {
        struct flt_jentry e;
        if (flt_journal_get(j, i, &e) < 0)
            continue;
        print_message("  [%zu] conn %llu %s %s: status %d sent %llu length %lld %s fired '%s'\n", i,
                      (unsigned long long)e.conn, e.method, e.target ? e.target : "?", e.status,
                      (unsigned long long)e.sent, (long long)e.length, flt_outcome_name(e.outcome),
                      e.fired);
        flt_jentry_release(&e);
    }
}

/*
 * Status, redirect and auth answers carry a short text body ("302 Found\n"):
 * TEXT_SENT / TEXT_LEN stand for "the whole short body was announced and sent".
 */
#define TEXT_SENT UINT64_MAX
#define TEXT_LEN  (-2)

/* The five fields every test checks, from the journal j at idx. */
static void assert_entry_in(struct flt_journal *j, size_t idx, int status, uint64_t sent,
                            int64_t length, enum flt_outcome outcome, const char *fired)
{
    struct flt_jentry e = entry_of(j, idx);
    if (sent == TEXT_SENT && length == TEXT_LEN && e.length > 0 && e.length < 256 &&
        e.sent == (uint64_t)e.length) {
        sent = e.sent;
        length = e.length;
    }
    if (e.status != status || e.sent != sent || e.length != length || e.outcome != outcome ||
        strcmp(e.fired, fired) != 0) {
        dump_journal(j);
        fail_msg("journal[%zu] %s: status %d sent %llu length %lld outcome %s fired '%s'; "
                 "want %d %llu %lld %s '%s'",
                 idx, e.target ? e.target : "?", e.status, (unsigned long long)e.sent,
                 (long long)e.length, flt_outcome_name(e.outcome), e.fired, status,
                 (unsigned long long)sent, (long long)length, flt_outcome_name(outcome), fired);
    }
    flt_jentry_release(&e);
}

static void assert_entry(struct world *w, size_t idx, int status, uint64_t sent, int64_t length,
                         enum flt_outcome outcome, const char *fired)
{
    assert_entry_in(&w->env.journal, idx, status, sent, length, outcome, fired);
}

static int64_t now_ms(void)
{
    return xl_mono_ns() / 1000000;
}

/* ---- connection-level faults ---------------------------------------------- */

static void test_silent_client_times_out(void **state)
{
    (void)state;
    const char *rules[] = {"silent path=/big.bin nth=1", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    int64_t t0 = now_ms();
    assert_int_equal(get(w->url, NULL, NULL, 400, &f), CURLE_OPERATION_TIMEDOUT);
    assert_true(now_ms() - t0 >= 399); /* libcurl's own 400 ms, in whole ms */
    assert_int_equal(f.status, 0);
    assert_int_equal(f.body_len, 0);
    assert_string_equal(f.headers, "");
    fltenv_fetch_release(&f);
    /* The server read the request and never answered; once the client gives
     * up and closes, the entry ends as stalled with nothing sent. */
    assert_entry(w, 0, 0, 0, -1, FLT_OUT_STALLED, "silent-1");
    struct flt_jentry e = journal(w, 0);
    assert_string_equal(e.method, "GET");
    assert_string_equal(e.target, "/big.bin");
    flt_jentry_release(&e);
    /* Only the first request is silent; the server still answers others. */
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    assert_entry(w, 1, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "");
    world_free(w);
}

/* Removes the rule named "hold" once the server has sent half the entity. */
static void *release_at_half(void *arg)
{
    struct world *w = arg;
    for (int i = 0; i < 10000; i++) {
        struct flt_jentry e;
        if (flt_journal_get(&w->env.journal, 0, &e) == 0) { /* pending entries too */
            bool half = e.sent >= SIZE / 2;
            flt_jentry_release(&e);
            if (half)
                break;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    flt_rules_remove(&w->env.rules, "hold");
    return NULL;
}

/* A stall ends when its rule is removed (a harness's byte trigger releases the origin). */
static void test_stall_released_by_removing_its_rule(void **state)
{
    (void)state;
    const char *rules[] = {"hold: stall at=524288", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_at_half, w), 0);
    struct fltenv_fetch f;
    /* Held forever unless the removal releases it: the 20 s timeout would end it. */
    assert_int_equal(get(w->url, NULL, NULL, 20000, &f), CURLE_OK);
    pthread_join(t, NULL);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "hold");
    world_free(w);
}

static void test_slow_headers(void **state)
{
    (void)state;
    const char *rules[] = {"slow-headers 300ms nth=1", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    CURL *h = easy(w->url, 10000);
    assert_int_equal(fltenv_perform(h, &f), CURLE_OK);
    curl_off_t ttfb = 0;
    curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
    curl_easy_cleanup(h);
    /* The head waited 300 ms (less a little: the event loop arms timers from
     * the time cached when its iteration began). In microseconds. */
    assert_true(ttfb >= 290 * 1000);
    assert_int_equal(f.status, 200);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "slow-headers-1");
    world_free(w);
}

/* Two GETs of url on one handle; returns the connections libcurl opened. */
static long two_gets_one_handle(const char *url, struct fltenv_fetch *f1, struct fltenv_fetch *f2,
                                long *version)
{
    CURL *h = easy(url, 10000);
    long total = 0, n = 0;
    assert_int_equal(fltenv_perform(h, f1), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &n);
    total += n;
    if (version)
        curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, version);
    assert_int_equal(fltenv_perform(h, f2), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &n);
    total += n;
    curl_easy_cleanup(h);
    return total;
}

static void assert_conn(struct world *w, size_t idx, uint64_t conn)
{
    struct flt_jentry e = journal(w, idx);
    assert_int_equal(e.conn, conn);
    flt_jentry_release(&e);
}

static void test_no_length_close(void **state)
{
    (void)state;
    const char *rules[] = {"no-length mode=close", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f1, f2;
    /* The server closes after each body, so the second GET needs a new connection. */
    assert_int_equal(two_gets_one_handle(w->url, &f1, &f2, NULL), 2);
    assert_int_equal(f1.status, 200);
    assert_gen(&f1, 0, SIZE);
    assert_gen(&f2, 0, SIZE);
    assert_false(header_has(&f1, "Content-Length:"));
    assert_false(header_has(&f1, "Transfer-Encoding:"));
    assert_true(header_has(&f1, "Connection: close"));
    fltenv_fetch_release(&f1);
    fltenv_fetch_release(&f2);
    assert_entry(w, 0, 200, SIZE, -1, FLT_OUT_COMPLETE, "no-length-1");
    assert_entry(w, 1, 200, SIZE, -1, FLT_OUT_COMPLETE, "no-length-1");
    assert_conn(w, 0, 1);
    assert_conn(w, 1, 2);
    world_free(w);
}

static void test_no_length_chunked(void **state)
{
    (void)state;
    const char *rules[] = {"no-length mode=chunked", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f1, f2;
    /* Chunked framing ends the body in-band: the connection is kept. */
    assert_int_equal(two_gets_one_handle(w->url, &f1, &f2, NULL), 1);
    assert_int_equal(f1.status, 200);
    assert_gen(&f1, 0, SIZE);
    assert_gen(&f2, 0, SIZE);
    assert_false(header_has(&f1, "Content-Length:"));
    assert_true(header_has(&f1, "Transfer-Encoding: chunked"));
    fltenv_fetch_release(&f1);
    fltenv_fetch_release(&f2);
    assert_entry(w, 0, 200, SIZE, -1, FLT_OUT_COMPLETE, "no-length-1");
    assert_entry(w, 1, 200, SIZE, -1, FLT_OUT_COMPLETE, "no-length-1");
    assert_conn(w, 0, 1);
    assert_conn(w, 1, 1);
    world_free(w);
}

static void test_http10(void **state)
{
    (void)state;
    const char *rules[] = {"http10", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f1, f2;
    long version = 0;
    assert_int_equal(two_gets_one_handle(w->url, &f1, &f2, &version), 2);
    assert_int_equal(version, CURL_HTTP_VERSION_1_0);
    assert_true(strncmp(f1.headers, "HTTP/1.0 200", 12) == 0);
    assert_true(header_has(&f1, "Content-Length: 1048576"));
    assert_gen(&f1, 0, SIZE);
    assert_gen(&f2, 0, SIZE);
    fltenv_fetch_release(&f1);
    fltenv_fetch_release(&f2);
    assert_entry(w, 0, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "http10-1");
    assert_conn(w, 0, 1);
    assert_conn(w, 1, 2);
    world_free(w);
}

static void test_short_body(void **state)
{
    (void)state;
    const char *rules[] = {"short by=1000 nth=1", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_PARTIAL_FILE);
    assert_int_equal(f.status, 200);
    assert_true(header_has(&f, "Content-Length: 1048576"));
    assert_gen(&f, 0, SIZE - 1000);
    fltenv_fetch_release(&f);
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 200, SIZE - 1000, SIZE, FLT_OUT_CLOSED, "short-1");
    assert_entry(w, 1, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "");
    world_free(w);
}

/* ---- ranges -------------------------------------------------------------- */

static void test_ignore_range(void **state)
{
    (void)state;
    const char *rules[] = {"ignore-range path=/a.bin", "ignore-range mode=none path=/b.bin",
                           "ignore-range mode=advertised path=/c.bin", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    const char *paths[] = {"/a.bin", "/b.bin", "/c.bin"};
    const char *accept[] = {"none", "none", "bytes"};
    const char *fired[] = {"ignore-range-1", "ignore-range-2", "ignore-range-3"};
    for (size_t i = 0; i < 3; i++) {
        char url[160], v[64];
        fltenv_gen(&w->env, paths[i], SIZE, SEED);
        snprintf(url, sizeof url, "%s%s", w->base, paths[i]);
        struct fltenv_fetch f;
        assert_int_equal(get(url, "1000-", NULL, 10000, &f), CURLE_OK);
        assert_int_equal(f.status, 200);
        assert_gen(&f, 0, SIZE);
        assert_false(header_has(&f, "Content-Range:"));
        assert_string_equal(header_value(&f, "Accept-Ranges", v, sizeof v), accept[i]);
        fltenv_fetch_release(&f);
        assert_entry(w, i, 200, SIZE, SIZE, FLT_OUT_COMPLETE, fired[i]);
        struct flt_jentry e = journal(w, i);
        assert_string_equal(e.range, "bytes=1000-");
        assert_int_equal(e.offset, 0);
        flt_jentry_release(&e);
    }
    world_free(w);
}

static void test_bad_206_shift(void **state)
{
    (void)state;
    const char *rules[] = {"bad-206 shift=+100 first=2", "bad-206 shift=-500 nth=3", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    /* An open range: the body starts 100 bytes later, as Content-Range says. */
    assert_int_equal(get(w->url, "1000-", NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    assert_true(header_has(&f, "Content-Range: bytes 1100-1048575/1048576"));
    assert_gen(&f, 1100, SIZE - 1100);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 206, SIZE - 1100, SIZE - 1100, FLT_OUT_COMPLETE, "bad-206-1");
    struct flt_jentry e = journal(w, 0);
    assert_int_equal(e.offset, 1100);
    flt_jentry_release(&e);
    /* A closed range keeps its length and moves. */
    assert_int_equal(get(w->url, "1000-1999", NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    assert_true(header_has(&f, "Content-Range: bytes 1100-2099/1048576"));
    assert_gen(&f, 1100, 1000);
    fltenv_fetch_release(&f);
    assert_entry(w, 1, 206, 1000, 1000, FLT_OUT_COMPLETE, "bad-206-1");
    /* A negative shift moves it back. */
    assert_int_equal(get(w->url, "1000-1999", NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    assert_true(header_has(&f, "Content-Range: bytes 500-1499/1048576"));
    assert_gen(&f, 500, 1000);
    fltenv_fetch_release(&f);
    assert_entry(w, 2, 206, 1000, 1000, FLT_OUT_COMPLETE, "bad-206-2");
    world_free(w);
}

static void test_bad_206_no_content_range(void **state)
{
    (void)state;
    const char *rules[] = {"bad-206 mode=no-content-range", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, "3000-", NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    assert_false(header_has(&f, "Content-Range:"));
    assert_true(header_has(&f, "Content-Length: 1045576"));
    assert_gen(&f, 3000, SIZE - 3000);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 206, SIZE - 3000, SIZE - 3000, FLT_OUT_COMPLETE, "bad-206-1");
    /* Without a Range there is no 206 to spoil. */
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    assert_entry(w, 1, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "bad-206-1");
    world_free(w);
}

static void test_bad_206_total(void **state)
{
    (void)state;
    const char *rules[] = {"bad-206 total=5000", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, "1000-", NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    assert_true(header_has(&f, "Content-Range: bytes 1000-1048575/5000"));
    assert_gen(&f, 1000, SIZE - 1000);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 206, SIZE - 1000, SIZE - 1000, FLT_OUT_COMPLETE, "bad-206-1");
    world_free(w);
}

/* ---- entity changes and validators ------------------------------------------ */

static void test_change_between_requests(void **state)
{
    (void)state;
    const char *rules[] = {"change nth=2 size=500000 path=/big.bin", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    char etag1[96], lm1[96], etag2[96], lm2[96], v[96];
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_gen(&f, 0, SIZE);
    header_value(&f, "ETag", etag1, sizeof etag1);
    header_value(&f, "Last-Modified", lm1, sizeof lm1);
    fltenv_fetch_release(&f);

    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_string_equal(header_value(&f, "Content-Length", v, sizeof v), "500000");
    assert_genv(&f, SEED, 1, 0, 500000);
    header_value(&f, "ETag", etag2, sizeof etag2);
    header_value(&f, "Last-Modified", lm2, sizeof lm2);
    fltenv_fetch_release(&f);
    assert_true(etag1[0] == '"' && etag2[0] == '"');
    assert_string_not_equal(etag1, etag2);
    assert_string_equal(lm1, "Tue, 15 Nov 1994 12:45:26 GMT");
    assert_string_equal(lm2, "Wed, 16 Nov 1994 12:45:26 GMT");

    /* The entity stays changed: the third request sees version 1 again. */
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_genv(&f, SEED, 1, 0, 500000);
    assert_string_equal(header_value(&f, "ETag", v, sizeof v), etag2);
    fltenv_fetch_release(&f);

    assert_entry(w, 0, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "");
    assert_entry(w, 1, 200, 500000, 500000, FLT_OUT_COMPLETE, "change-1");
    assert_entry(w, 2, 200, 500000, 500000, FLT_OUT_COMPLETE, "");
    world_free(w);
}

static void test_if_range_after_change(void **state)
{
    (void)state;
    const char *rules[] = {"change nth=2 path=/big.bin", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    char etag[96], ifr[128], v[96];
    /* The first part of version 0 ... */
    assert_int_equal(get(w->url, "0-99999", NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    assert_gen(&f, 0, 100000);
    header_value(&f, "ETag", etag, sizeof etag);
    fltenv_fetch_release(&f);
    /* ... then a resume against the old ETag gets all of version 1. */
    snprintf(ifr, sizeof ifr, "If-Range: %s", etag);
    const char *h[] = {ifr, NULL};
    assert_int_equal(get(w->url, "100000-", h, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_false(header_has(&f, "Content-Range:"));
    assert_genv(&f, SEED, 1, 0, SIZE);
    assert_string_not_equal(header_value(&f, "ETag", v, sizeof v), etag);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 206, 100000, 100000, FLT_OUT_COMPLETE, "");
    assert_entry(w, 1, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "change-1");
    struct flt_jentry e = journal(w, 1);
    assert_string_equal(e.if_range, etag);
    assert_string_equal(e.range, "bytes=100000-");
    assert_int_equal(e.offset, 0);
    flt_jentry_release(&e);
    /* A date If-Range from before the change does not match either. */
    const char *d[] = {"If-Range: Tue, 15 Nov 1994 12:45:26 GMT", NULL};
    assert_int_equal(get(w->url, "100000-", d, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_genv(&f, SEED, 1, 0, SIZE);
    fltenv_fetch_release(&f);
    world_free(w);
}

static void test_validators_weak(void **state)
{
    (void)state;
    const char *rules[] = {"validators weak", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    char etag[96], ifr[128], lm[96];
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_gen(&f, 0, SIZE);
    header_value(&f, "ETag", etag, sizeof etag);
    header_value(&f, "Last-Modified", lm, sizeof lm);
    fltenv_fetch_release(&f);
    assert_true(strncmp(etag, "W/\"", 3) == 0);
    assert_string_equal(lm, "Tue, 15 Nov 1994 12:45:26 GMT");
    /* A weak validator never satisfies If-Range: the whole entity. */
    snprintf(ifr, sizeof ifr, "If-Range: %s", etag);
    const char *h[] = {ifr, NULL};
    assert_int_equal(get(w->url, "1000-", h, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    /* Nor does the strong form of the same tag. */
    snprintf(ifr, sizeof ifr, "If-Range: %s", etag + 2);
    assert_int_equal(get(w->url, "1000-", h, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    fltenv_fetch_release(&f);
    /* A plain Range is still honoured. */
    assert_int_equal(get(w->url, "1000-", NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    assert_gen(&f, 1000, SIZE - 1000);
    fltenv_fetch_release(&f);
    assert_entry(w, 1, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "validators-1");
    assert_entry(w, 3, 206, SIZE - 1000, SIZE - 1000, FLT_OUT_COMPLETE, "validators-1");
    world_free(w);
}

static void test_validators_none(void **state)
{
    (void)state;
    const char *rules[] = {"validators none", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_gen(&f, 0, SIZE);
    assert_false(header_has(&f, "\nETag:"));
    assert_false(header_has(&f, "\nLast-Modified:"));
    fltenv_fetch_release(&f);
    /* With nothing to compare, an If-Range date fails and the answer is whole. */
    const char *d[] = {"If-Range: Tue, 15 Nov 1994 12:45:26 GMT", NULL};
    assert_int_equal(get(w->url, "1000-", d, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "validators-1");
    assert_entry(w, 1, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "validators-1");
    world_free(w);
}

/* ---- redirects ----------------------------------------------------------- */

/* Follow redirects from url; returns the CURLcode, count and final URL. */
static int follow(const char *url, const char *ca, long maxredirs, struct fltenv_fetch *f,
                  long *count, char *final, size_t final_len)
{
    CURL *h = easy(url, 10000);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, maxredirs);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    int rc = fltenv_perform(h, f);
    curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, count);
    char *eff = NULL;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
    if (final)
        snprintf(final, final_len, "%s", eff ? eff : "");
    curl_easy_cleanup(h);
    return rc;
}

static void assert_target(struct flt_journal *j, size_t idx, const char *proto, const char *target)
{
    struct flt_jentry e = entry_of(j, idx);
    assert_string_equal(e.proto, proto);
    assert_string_equal(e.target, target);
    flt_jentry_release(&e);
}

static void test_redirect_same_origin(void **state)
{
    (void)state;
    const char *rules[] = {"redirect to=/small.bin path=/big.bin", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    char v[128], final[160], want[160];
    /* Not followed: a 302 with a relative Location. */
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 302);
    assert_string_equal(header_value(&f, "Location", v, sizeof v), "/small.bin");
    fltenv_fetch_release(&f);
    long count = -1;
    assert_int_equal(follow(w->url, NULL, 5, &f, &count, final, sizeof final), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_int_equal(count, 1);
    snprintf(want, sizeof want, "%s/small.bin", w->base);
    assert_string_equal(final, want);
    assert_genv(&f, SMALL_SEED, 0, 0, SMALL);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 302, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "redirect-1");
    assert_entry(w, 1, 302, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "redirect-1");
    assert_entry(w, 2, 200, SMALL, SMALL, FLT_OUT_COMPLETE, "");
    assert_target(&w->env.journal, 2, "http", "/small.bin");
    world_free(w);
}

static void test_redirect_cross_origin_shared_content(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, false, PEER_SHARED);
    char rule[256], final[160], want[160];
    snprintf(rule, sizeof rule, "redirect to=%s/big.bin path=/big.bin code=307", w->peer_base);
    fltenv_rule(&w->env, rule);
    struct fltenv_fetch f;
    long count = -1;
    assert_int_equal(follow(w->url, NULL, 5, &f, &count, final, sizeof final), CURLE_OK);
    assert_int_equal(count, 1);
    assert_int_equal(f.status, 200);
    snprintf(want, sizeof want, "%s/big.bin", w->peer_base);
    assert_string_equal(final, want);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    /* Each server journals its own part of the story. */
    assert_entry(w, 0, 307, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "redirect-1");
    assert_int_equal(flt_journal_count(&w->env.journal), 1);
    assert_entry_in(&w->peer_journal, 0, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "");
    world_free(w);
}

static void test_redirect_cross_origin_own_content(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, false, PEER_OWN);
    char rule[256];
    snprintf(rule, sizeof rule, "redirect to=%s/other.bin path=/big.bin", w->peer_base);
    fltenv_rule(&w->env, rule);
    snprintf(rule, sizeof rule, "redirect to=%s/small.bin path=/small.bin", w->peer_base);
    fltenv_rule(&w->env, rule);
    struct fltenv_fetch f;
    long count = -1;
    assert_int_equal(follow(w->url, NULL, 5, &f, &count, NULL, 0), CURLE_OK);
    assert_int_equal(count, 1);
    assert_int_equal(f.status, 200);
    assert_genv(&f, OTHER_SEED, 0, 0, OTHER);
    fltenv_fetch_release(&f);
    /* The peer does not have what the first server has. */
    char url[160];
    snprintf(url, sizeof url, "%s/small.bin", w->base);
    assert_int_equal(follow(url, NULL, 5, &f, &count, NULL, 0), CURLE_OK);
    assert_int_equal(count, 1);
    assert_int_equal(f.status, 404);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 302, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "redirect-1");
    assert_entry(w, 1, 302, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "redirect-2");
    assert_entry_in(&w->peer_journal, 0, 200, OTHER, OTHER, FLT_OUT_COMPLETE, "");
    assert_entry_in(&w->peer_journal, 1, 404, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "");
    world_free(w);
}

static void test_redirect_between_http_and_https(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, true, PEER_NONE);
    char rule[256], url[160], final[160], want[160];
    snprintf(rule, sizeof rule, "redirect to=%s/big.bin path=/to-tls", w->tls_base);
    fltenv_rule(&w->env, rule);
    snprintf(rule, sizeof rule, "redirect to=%s/small.bin path=/to-plain", w->base);
    fltenv_rule(&w->env, rule);
    struct fltenv_fetch f;
    long count = -1;
    /* http -> https */
    snprintf(url, sizeof url, "%s/to-tls", w->base);
    assert_int_equal(follow(url, w->ca, 5, &f, &count, final, sizeof final), CURLE_OK);
    assert_int_equal(count, 1);
    assert_int_equal(f.status, 200);
    snprintf(want, sizeof want, "%s/big.bin", w->tls_base);
    assert_string_equal(final, want);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 302, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "redirect-1");
    assert_target(&w->env.journal, 0, "http", "/to-tls");
    assert_entry(w, 1, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "");
    assert_target(&w->env.journal, 1, "https", "/big.bin");
    /* https -> http */
    snprintf(url, sizeof url, "%s/to-plain", w->tls_base);
    assert_int_equal(follow(url, w->ca, 5, &f, &count, final, sizeof final), CURLE_OK);
    assert_int_equal(count, 1);
    assert_int_equal(f.status, 200);
    snprintf(want, sizeof want, "%s/small.bin", w->base);
    assert_string_equal(final, want);
    assert_genv(&f, SMALL_SEED, 0, 0, SMALL);
    fltenv_fetch_release(&f);
    assert_entry(w, 2, 302, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "redirect-2");
    assert_target(&w->env.journal, 2, "https", "/to-plain");
    assert_entry(w, 3, 200, SMALL, SMALL, FLT_OUT_COMPLETE, "");
    assert_target(&w->env.journal, 3, "http", "/small.bin");
    world_free(w);
}

static void test_redirect_chain(void **state)
{
    (void)state;
    const char *rules[] = {"redirect to=/small.bin hops=3 code=307 path=/big.bin", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    long count = -1;
    assert_int_equal(follow(w->url, NULL, 10, &f, &count, NULL, 0), CURLE_OK);
    /* three hops on this server, then the redirect to the target */
    assert_int_equal(count, 4);
    assert_int_equal(f.status, 200);
    assert_genv(&f, SMALL_SEED, 0, 0, SMALL);
    fltenv_fetch_release(&f);
    for (size_t i = 0; i < 4; i++) {
        assert_entry(w, i, 307, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "redirect-1");
        struct flt_jentry e = journal(w, i);
        if (i == 0)
            assert_string_equal(e.target, "/big.bin");
        else
            assert_true(strncmp(e.target, "/big.bin?xl-hop=", 16) == 0);
        flt_jentry_release(&e);
    }
    assert_entry(w, 4, 200, SMALL, SMALL, FLT_OUT_COMPLETE, "");
    assert_int_equal(flt_journal_count(&w->env.journal), 5);
    world_free(w);
}

static void test_redirect_loop(void **state)
{
    (void)state;
    const char *rules[] = {"redirect mode=loop path=/big.bin", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    long count = -1;
    assert_int_equal(follow(w->url, NULL, 5, &f, &count, NULL, 0), CURLE_TOO_MANY_REDIRECTS);
    assert_int_equal(count, 5);
    assert_int_equal(f.status, 302);
    fltenv_fetch_release(&f);
    /* the first request and five followed redirects */
    assert_true(fltenv_wait_journal(&w->env.journal, 6));
    assert_int_equal(flt_journal_count(&w->env.journal), 6);
    for (size_t i = 0; i < 6; i++) {
        assert_entry(w, i, 302, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "redirect-1");
        assert_target(&w->env.journal, i, "http", "/big.bin");
    }
    world_free(w);
}

static void test_redirect_codes(void **state)
{
    (void)state;
    const char *rules[] = {"redirect to=/small.bin code=301 path=/r301",
                           "redirect to=/small.bin code=307 path=/r307",
                           "redirect to=/small.bin code=308 path=/r308", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    const int codes[] = {301, 307, 308};
    size_t idx = 0;
    for (size_t i = 0; i < 3; i++) {
        char url[160], v[128], fired[32];
        snprintf(url, sizeof url, "%s/r%d", w->base, codes[i]);
        snprintf(fired, sizeof fired, "redirect-%zu", i + 1);
        struct fltenv_fetch f;
        assert_int_equal(get(url, NULL, NULL, 10000, &f), CURLE_OK);
        assert_int_equal(f.status, codes[i]);
        assert_string_equal(header_value(&f, "Location", v, sizeof v), "/small.bin");
        fltenv_fetch_release(&f);
        assert_entry(w, idx++, codes[i], TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, fired);
        long count = -1;
        assert_int_equal(follow(url, NULL, 5, &f, &count, NULL, 0), CURLE_OK);
        assert_int_equal(count, 1);
        assert_int_equal(f.status, 200);
        assert_genv(&f, SMALL_SEED, 0, 0, SMALL);
        fltenv_fetch_release(&f);
        assert_entry(w, idx++, codes[i], TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, fired);
        assert_entry(w, idx++, 200, SMALL, SMALL, FLT_OUT_COMPLETE, "");
    }
    world_free(w);
}

/* ---- shaping ------------------------------------------------------------- */

static void test_dribble(void **state)
{
    (void)state;
    const char *rules[] = {"dribble chunk=100 pause=50ms path=/small.bin", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    char url[160];
    snprintf(url, sizeof url, "%s/small.bin", w->base);
    struct fltenv_fetch f;
    int64_t t0 = now_ms();
    assert_int_equal(get(url, NULL, NULL, 20000, &f), CURLE_OK);
    int64_t took = now_ms() - t0;
    assert_int_equal(f.status, 200);
    assert_genv(&f, SMALL_SEED, 0, 0, SMALL);
    fltenv_fetch_release(&f);
    /* ten chunks of 100 bytes with a pause between each: 9 x 50 ms, less a
     * little per timer for the event loop's cached clock */
    assert_true(took >= 400);
    assert_entry(w, 0, 200, SMALL, SMALL, FLT_OUT_COMPLETE, "dribble-1");
    world_free(w);
}

/* ---- authentication --------------------------------------------------------- */

static int get_auth(const char *url, long how, const char *userpwd, struct fltenv_fetch *f)
{
    CURL *h = easy(url, 10000);
    if (userpwd) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, how);
        curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
    }
    int rc = fltenv_perform(h, f);
    curl_easy_cleanup(h);
    return rc;
}

static void test_auth_basic(void **state)
{
    (void)state;
    const char *rules[] = {"auth user=alice pass=secret path=/big.bin", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    char v[128];
    assert_int_equal(get_auth(w->url, CURLAUTH_BASIC, NULL, &f), CURLE_OK);
    assert_int_equal(f.status, 401);
    assert_string_equal(header_value(&f, "WWW-Authenticate", v, sizeof v),
                        "Basic realm=\"xferlab\"");
    fltenv_fetch_release(&f);
    assert_int_equal(get_auth(w->url, CURLAUTH_BASIC, "alice:wrong", &f), CURLE_OK);
    assert_int_equal(f.status, 401);
    assert_string_equal(header_value(&f, "WWW-Authenticate", v, sizeof v),
                        "Basic realm=\"xferlab\"");
    fltenv_fetch_release(&f);
    assert_int_equal(get_auth(w->url, CURLAUTH_BASIC, "alice:secret", &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 401, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "auth-1");
    assert_entry(w, 1, 401, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "auth-1");
    assert_entry(w, 2, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "auth-1");
    struct flt_jentry e = journal(w, 2);
    assert_non_null(strstr(e.headers, "Authorization: Basic "));
    flt_jentry_release(&e);
    world_free(w);
}

static void test_auth_digest(void **state)
{
    (void)state;
    const char *rules[] = {"auth digest user=alice pass=secret realm=lab path=/big.bin", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    char v[512];
    /* Digest: libcurl asks without credentials, gets the challenge, answers it. */
    assert_int_equal(get_auth(w->url, CURLAUTH_DIGEST, "alice:wrong", &f), CURLE_OK);
    assert_int_equal(f.status, 401);
    header_value(&f, "WWW-Authenticate", v, sizeof v);
    assert_true(strncmp(v, "Digest ", 7) == 0);
    assert_non_null(strstr(v, "realm=\"lab\""));
    assert_non_null(strstr(v, "nonce=\""));
    fltenv_fetch_release(&f);
    assert_int_equal(get_auth(w->url, CURLAUTH_DIGEST, "alice:secret", &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    for (size_t i = 0; i < 3; i++)
        assert_entry(w, i, 401, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "auth-1");
    assert_entry(w, 3, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "auth-1");
    struct flt_jentry e = journal(w, 3);
    assert_non_null(strstr(e.headers, "Authorization: Digest "));
    flt_jentry_release(&e);
    assert_int_equal(flt_journal_count(&w->env.journal), 4);
    world_free(w);
}

/* ---- status codes ---------------------------------------------------------- */

static void test_status_codes(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *reason;
        const char *header; /* expected header line, or NULL */
    } table[] = {
        {401, "Unauthorized", "WWW-Authenticate: Basic realm=\"fault\""},
        {403, "Forbidden", NULL},
        {404, "Not Found", NULL},
        {407, "Proxy Authentication Required", NULL},
        {408, "Request Timeout", NULL},
        {410, "Gone", NULL},
        {412, "Precondition Failed", NULL},
        {413, "Content Too Large", NULL},
        {416, "Range Not Satisfiable", NULL},
        {429, "Too Many Requests", "Retry-After: 5"},
        {503, "Service Unavailable", "Retry-After: 120"},
        {500, "Internal Server Error", NULL},
        {501, "Not Implemented", NULL},
        {505, "HTTP Version Not Supported", NULL},
    };
    const size_t n = sizeof table / sizeof table[0];
    struct world *w = world_new(NULL, false, PEER_NONE);
    for (size_t i = 0; i < n; i++) {
        char rule[256];
        if (table[i].header) {
            char esc[128];
            size_t k = 0;
            for (const char *p = table[i].header; *p && k + 2 < sizeof esc; p++) {
                if (*p == '"')
                    esc[k++] = '\\';
                esc[k++] = *p;
            }
            esc[k] = '\0';
            snprintf(rule, sizeof rule, "status %d header=\"%s\" path=/s%d", table[i].code, esc,
                     table[i].code);
        } else {
            snprintf(rule, sizeof rule, "status %d path=/s%d", table[i].code, table[i].code);
        }
        fltenv_rule(&w->env, rule);
    }
    for (size_t i = 0; i < n; i++) {
        char url[160], body[128], fired[32];
        snprintf(url, sizeof url, "%s/s%d", w->base, table[i].code);
        struct fltenv_fetch f;
        int rc = get(url, NULL, NULL, 10000, &f);
        if (rc != CURLE_OK || f.status != table[i].code)
            fail_msg("status %d: got curl %d (%s) status %ld", table[i].code, rc, f.error,
                     f.status);
        snprintf(body, sizeof body, "%d %s\n", table[i].code, table[i].reason);
        if (strcmp(f.body, body) != 0)
            fail_msg("status %d: body '%s', want '%s'", table[i].code, f.body, body);
        if (table[i].header && !header_has(&f, table[i].header))
            fail_msg("status %d: no '%s' in\n%s", table[i].code, table[i].header, f.headers);
        fltenv_fetch_release(&f);
        snprintf(fired, sizeof fired, "status-%zu", i + 1);
        assert_entry(w, i, table[i].code, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, fired);
    }
    world_free(w);
}

/* ---- selectors ------------------------------------------------------------- */

static void test_selectors_nth_first_every(void **state)
{
    (void)state;
    const char *rules[] = {"status 503 nth=3 path=/n.bin", "status 503 first=2 path=/f.bin",
                           "status 503 every=3 path=/e.bin", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    const char *paths[] = {"/n.bin", "/f.bin", "/e.bin"};
    const int want[3][6] = {
        {200, 200, 503, 200, 200, 200},
        {503, 503, 200, 200, 200, 200},
        {200, 200, 503, 200, 200, 503},
    };
    size_t idx = 0;
    for (size_t p = 0; p < 3; p++) {
        char url[160], fired[32];
        fltenv_gen(&w->env, paths[p], SMALL, SMALL_SEED);
        snprintf(url, sizeof url, "%s%s", w->base, paths[p]);
        snprintf(fired, sizeof fired, "status-%zu", p + 1);
        for (size_t i = 0; i < 6; i++) {
            struct fltenv_fetch f;
            assert_int_equal(get(url, NULL, NULL, 10000, &f), CURLE_OK);
            if (f.status != want[p][i])
                fail_msg("%s request %zu: status %ld, want %d", paths[p], i + 1, f.status,
                         want[p][i]);
            fltenv_fetch_release(&f);
            if (want[p][i] == 503)
                assert_entry(w, idx, 503, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, fired);
            else
                assert_entry(w, idx, 200, SMALL, SMALL, FLT_OUT_COMPLETE, "");
            idx++;
        }
    }
    world_free(w);
}

static void test_selector_conn(void **state)
{
    (void)state;
    const char *rules[] = {"status 503 conn=2", NULL};
    /* New connections for every request: only the second is hit. */
    struct world *w = world_new(rules, false, PEER_NONE);
    for (size_t i = 0; i < 3; i++) {
        struct fltenv_fetch f;
        CURL *h = easy(w->url, 10000);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
        assert_int_equal(fltenv_perform(h, &f), CURLE_OK);
        curl_easy_cleanup(h);
        assert_int_equal(f.status, i == 1 ? 503 : 200);
        fltenv_fetch_release(&f);
        assert_conn(w, i, i + 1);
    }
    assert_entry(w, 0, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "");
    assert_entry(w, 1, 503, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "status-1");
    assert_entry(w, 2, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "");
    world_free(w);

    /* Keep-alive: two requests on connection 1, then two on connection 2. */
    w = world_new(rules, false, PEER_NONE);
    for (size_t c = 0; c < 2; c++) {
        CURL *h = easy(w->url, 10000);
        for (size_t i = 0; i < 2; i++) {
            struct fltenv_fetch f;
            assert_int_equal(fltenv_perform(h, &f), CURLE_OK);
            assert_int_equal(f.status, c == 1 ? 503 : 200);
            fltenv_fetch_release(&f);
        }
        curl_easy_cleanup(h);
    }
    const uint64_t conns[] = {1, 1, 2, 2};
    for (size_t i = 0; i < 4; i++)
        assert_conn(w, i, conns[i]);
    assert_entry(w, 1, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "");
    assert_entry(w, 2, 503, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "status-1");
    assert_entry(w, 3, 503, TEXT_SENT, TEXT_LEN, FLT_OUT_COMPLETE, "status-1");
    world_free(w);
}

#define PROB_RUNS 40

/* Which of PROB_RUNS requests a prob= rule hit in a fresh world. */
static void prob_pattern(const char *rule, char out[PROB_RUNS + 1])
{
    const char *rules[] = {rule, NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    char url[160];
    snprintf(url, sizeof url, "%s/small.bin", w->base);
    for (size_t i = 0; i < PROB_RUNS; i++) {
        struct fltenv_fetch f;
        assert_int_equal(get(url, NULL, NULL, 10000, &f), CURLE_OK);
        assert_true(f.status == 200 || f.status == 503);
        out[i] = f.status == 503 ? 'x' : '.';
        fltenv_fetch_release(&f);
        struct flt_jentry e = journal(w, i);
        assert_string_equal(e.fired, out[i] == 'x' ? "status-1" : "");
        flt_jentry_release(&e);
    }
    out[PROB_RUNS] = '\0';
    world_free(w);
}

static void test_prob_seeded_is_deterministic(void **state)
{
    (void)state;
    char a[PROB_RUNS + 1], b[PROB_RUNS + 1], c[PROB_RUNS + 1];
    prob_pattern("status 503 prob=50% seed=42", a);
    prob_pattern("status 503 prob=50% seed=42", b);
    prob_pattern("status 503 prob=50% seed=43", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    size_t hits = 0;
    for (size_t i = 0; i < PROB_RUNS; i++)
        hits += a[i] == 'x';
    assert_true(hits > 0 && hits < PROB_RUNS);
}

/* ---- combinations ---------------------------------------------------------- */

static void test_throttle_and_close(void **state)
{
    (void)state;
    const char *rules[] = {"throttle 1MiB/s", "close after=100000", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    int64_t t0 = now_ms();
    assert_int_equal(get(w->url, NULL, NULL, 20000, &f), CURLE_PARTIAL_FILE);
    int64_t took = now_ms() - t0;
    assert_int_equal(f.status, 200);
    assert_gen(&f, 0, 100000);
    fltenv_fetch_release(&f);
    /* 100000 bytes at 1 MiB/s less the largest bucket (1/20 s): at least 40 ms. */
    assert_true(took >= 40);
    assert_entry(w, 0, 200, 100000, SIZE, FLT_OUT_CLOSED, "throttle-1,close-2");
    world_free(w);
}

static void test_chunked_body_cut(void **state)
{
    (void)state;
    /* A chunked body cut by close, reset or short: never a clean end, and the
     * cut is on the wire at once (the client does not wait for a timeout). */
    const char *rules[] = {"no-length mode=chunked", "corrupt at=10 nth=1",
                           "close after=5000 nth=1", "reset after=7000 nth=2",
                           "short by=1000000 nth=3", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_PARTIAL_FILE);
    assert_int_equal(f.body_len, 5000);
    unsigned char want[5000];
    flt_gen_fill(SEED, 0, 0, want, sizeof want);
    want[10] ^= 0xff;
    assert_memory_equal(f.body, want, sizeof want);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 200, 5000, -1, FLT_OUT_CLOSED, "no-length-1,corrupt-2,close-3");

    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_RECV_ERROR);
    assert_true(f.body_len <= 7000);
    fltenv_fetch_release(&f);
    assert_entry(w, 1, 200, 7000, -1, FLT_OUT_RESET, "no-length-1,reset-4");

    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_PARTIAL_FILE);
    assert_gen(&f, 0, SIZE - 1000000);
    fltenv_fetch_release(&f);
    assert_entry(w, 2, 200, SIZE - 1000000, -1, FLT_OUT_CLOSED, "no-length-1,short-5");
    world_free(w);
}

static void test_cuts_over_https(void **state)
{
    (void)state;
    const char *rules[] = {"close after=100000 nth=1", "reset after=100000 nth=2",
                           "no-length mode=chunked nth=3", "close after=5000 nth=3", NULL};
    struct world *w = world_new(rules, true, PEER_NONE);
    char url[160];
    snprintf(url, sizeof url, "%s/big.bin", w->tls_base);
    /* close: the TCP FIN comes without a TLS close_notify */
    const int want_rc[] = {CURLE_PARTIAL_FILE, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE};
    const char *fired[] = {"close-1", "reset-2", "no-length-3,close-4"};
    const enum flt_outcome outcome[] = {FLT_OUT_CLOSED, FLT_OUT_RESET, FLT_OUT_CLOSED};
    const uint64_t sent[] = {100000, 100000, 5000};
    const int64_t length[] = {SIZE, SIZE, -1};
    for (size_t i = 0; i < 3; i++) {
        struct fltenv_fetch f;
        CURL *h = easy(url, 10000);
        curl_easy_setopt(h, CURLOPT_CAINFO, w->ca);
        int rc = fltenv_perform(h, &f);
        curl_easy_cleanup(h);
        if (rc != want_rc[i])
            fail_msg("request %zu: curl %d (%s), want %d", i + 1, rc, f.error, want_rc[i]);
        assert_true(f.body_len <= sent[i]);
        if (outcome[i] == FLT_OUT_CLOSED)
            assert_gen(&f, 0, sent[i]);
        fltenv_fetch_release(&f);
        assert_entry(w, i, 200, sent[i], length[i], outcome[i], fired[i]);
    }
    world_free(w);
}

static void test_header_action(void **state)
{
    (void)state;
    const char *rules[] = {"header \"Cache-Control: no-store\" path=/big.bin",
                           "header \"ETag: \\\"fake\\\"\" path=/big.bin nth=2", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    char v[96];
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_string_equal(header_value(&f, "Cache-Control", v, sizeof v), "no-store");
    assert_string_equal(header_value(&f, "ETag", v, sizeof v), "\"7-0-100000\"");
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    /* A header the server sends anyway is replaced, not doubled. */
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_string_equal(header_value(&f, "ETag", v, sizeof v), "\"fake\"");
    assert_true(strstr(strcasestr(f.headers, "\nETag:") + 1, "\nETag:") == NULL);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "header-1");
    assert_entry(w, 1, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "header-1,header-2");
    world_free(w);
}

/* ---- refuse ---------------------------------------------------------------- */

static int try_get(const char *url, struct fltenv_fetch *f)
{
    CURL *h = easy(url, 5000);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    int rc = fltenv_perform(h, f);
    curl_easy_cleanup(h);
    return rc;
}

/* GET url until it succeeds (up to 10 s); returns the CURLcode of the last try. */
static int get_until_served(const char *url, struct fltenv_fetch *f)
{
    int rc = CURLE_COULDNT_CONNECT;
    for (int i = 0; i < 200; i++) {
        rc = try_get(url, f);
        if (rc != CURLE_COULDNT_CONNECT)
            return rc;
        fltenv_fetch_release(f);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return try_get(url, f);
}

static void test_refuse_until_removed(void **state)
{
    (void)state;
    const char *rules[] = {"blocker: refuse", NULL};
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(try_get(w->url, &f), CURLE_COULDNT_CONNECT);
        fltenv_fetch_release(&f);
    }
    assert_int_equal(flt_journal_count(&w->env.journal), 0);
    assert_int_equal(flt_rules_remove(&w->env.rules, "blocker"), 0);
    /* The listener reopens on the loop thread, on the same port. */
    assert_int_equal(get_until_served(w->url, &f), CURLE_OK);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    assert_entry(w, 0, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "");
    assert_conn(w, 0, 1);
    world_free(w);
}

static void test_refuse_for_a_while(void **state)
{
    (void)state;
    const char *rules[] = {"refuse for=300ms", NULL};
    int64_t t0 = now_ms();
    struct world *w = world_new(rules, false, PEER_NONE);
    struct fltenv_fetch f;
    assert_int_equal(try_get(w->url, &f), CURLE_COULDNT_CONNECT);
    fltenv_fetch_release(&f);
    assert_int_equal(get_until_served(w->url, &f), CURLE_OK);
    /* The window opened after t0 and lasts 300 ms (the listener re-checks the
     * clock before it reopens; 299 allows for whole-ms rounding). */
    assert_true(now_ms() - t0 >= 299);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    assert_int_equal(flt_journal_count(&w->env.journal), 1);
    assert_entry(w, 0, 200, SIZE, SIZE, FLT_OUT_COMPLETE, "");
    world_free(w);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silent_client_times_out),
        cmocka_unit_test(test_stall_released_by_removing_its_rule),
        cmocka_unit_test(test_slow_headers),
        cmocka_unit_test(test_no_length_close),
        cmocka_unit_test(test_no_length_chunked),
        cmocka_unit_test(test_http10),
        cmocka_unit_test(test_short_body),
        cmocka_unit_test(test_ignore_range),
        cmocka_unit_test(test_bad_206_shift),
        cmocka_unit_test(test_bad_206_no_content_range),
        cmocka_unit_test(test_bad_206_total),
        cmocka_unit_test(test_change_between_requests),
        cmocka_unit_test(test_if_range_after_change),
        cmocka_unit_test(test_validators_weak),
        cmocka_unit_test(test_validators_none),
        cmocka_unit_test(test_redirect_same_origin),
        cmocka_unit_test(test_redirect_cross_origin_shared_content),
        cmocka_unit_test(test_redirect_cross_origin_own_content),
        cmocka_unit_test(test_redirect_between_http_and_https),
        cmocka_unit_test(test_redirect_chain),
        cmocka_unit_test(test_redirect_loop),
        cmocka_unit_test(test_redirect_codes),
        cmocka_unit_test(test_dribble),
        cmocka_unit_test(test_auth_basic),
        cmocka_unit_test(test_auth_digest),
        cmocka_unit_test(test_status_codes),
        cmocka_unit_test(test_selectors_nth_first_every),
        cmocka_unit_test(test_selector_conn),
        cmocka_unit_test(test_prob_seeded_is_deterministic),
        cmocka_unit_test(test_throttle_and_close),
        cmocka_unit_test(test_chunked_body_cut),
        cmocka_unit_test(test_cuts_over_https),
        cmocka_unit_test(test_header_action),
        cmocka_unit_test(test_refuse_until_removed),
        cmocka_unit_test(test_refuse_for_a_while),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
