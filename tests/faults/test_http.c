/*
 * Tests for faults/http.c with libcurl as the client: the correct server
 * (ranges, validators, HEAD) and every fault, each asserting the exact effect a
 * client sees and what the journal recorded. Each test has its own servers on
 * free ports, so the file runs in parallel with the others under ctest -j.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fltenv.h"
#include "http.h"
#include "pki.h"

#define SIZE (1024 * 1024)
#define SEED 7

struct world {
    struct fltenv env;
    struct flt_http *http;
    struct flt_http *https;
    struct flt_pki *pki;
    char url[128];     /* http://127.0.0.1:PORT/big.bin */
    char base[64];     /* http://127.0.0.1:PORT */
    char tls_base[64]; /* https://localhost:PORT */
};

static struct world *world_new(const char *const *rules, bool tls, enum flt_cert_kind kind)
{
    struct world *w = calloc(1, sizeof *w);
    char err[XL_ERRLEN];
    assert_non_null(w);
    assert_int_equal(fltenv_init(&w->env), 0);
    fltenv_gen(&w->env, "/big.bin", SIZE, SEED);
    fltenv_gen(&w->env, "/small.bin", 1000, 3);
    for (size_t i = 0; rules && rules[i]; i++)
        fltenv_rule(&w->env, rules[i]);
    struct flt_http_config hc = {.idle_timeout_s = 10};
    w->http = fltenv_http(&w->env, &hc);
    if (tls) {
        if (flt_pki_create(w->env.dir, &w->pki, err) < 0)
            fail_msg("pki: %s", err);
        struct flt_http_config tc = {.cert_pem = flt_pki_cert_pem(w->pki, kind),
                                     .key_pem = flt_pki_key_pem(w->pki, kind)};
        w->https = fltenv_http(&w->env, &tc);
        snprintf(w->tls_base, sizeof w->tls_base, "https://localhost:%u", flt_http_port(w->https));
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
    flt_pki_free(w->pki);
    fltenv_free(&w->env);
    free(w);
}

/* GET url with a Range (NULL: none) and extra headers; timeout in ms. */
static int get(const char *url, const char *range, const char *const *headers, long timeout_ms,
               struct fltenv_fetch *f)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (range)
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    int rc = fltenv_perform(h, f);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return rc;
}

static void assert_gen(const struct fltenv_fetch *f, uint64_t off, uint64_t len)
{
    char want[65], got[65];
    assert_int_equal(f->body_len, len);
    fltenv_gen_sha256(SEED, 0, off, len, want);
    fltenv_sha256(f->body, f->body_len, got);
    assert_string_equal(got, want);
}

static bool header_has(const struct fltenv_fetch *f, const char *line)
{
    return strcasestr(f->headers, line) != NULL;
}

/* The value of a response header (first occurrence) into buf. */
static const char *header_value(const struct fltenv_fetch *f, const char *name, char *buf,
                                size_t len)
{
    char key[64];
    snprintf(key, sizeof key, "\n%s: ", name);
    const char *p = strcasestr(f->headers, key);
    buf[0] = '\0';
    if (p)
        snprintf(buf, len, "%.*s", (int)strcspn(p + strlen(key), "\r\n"), p + strlen(key));
    return buf;
}

static struct flt_jentry journal(struct world *w, size_t idx)
{
    struct flt_jentry e;
    memset(&e, 0, sizeof e);
    assert_true(fltenv_wait_ended(&w->env, idx + 1));
    assert_int_equal(flt_journal_get(&w->env.journal, idx, &e), 0);
    return e;
}

/* ---- a correct server --------------------------------------------------- */

static void test_get_whole(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_gen(&f, 0, SIZE);
    assert_true(header_has(&f, "Content-Length: 1048576"));
    assert_true(header_has(&f, "Accept-Ranges: bytes"));
    assert_true(header_has(&f, "Last-Modified: Tue, 15 Nov 1994 12:45:26 GMT"));
    assert_true(header_has(&f, "\nDate: "));
    char etag[96];
    assert_true(header_value(&f, "ETag", etag, sizeof etag)[0] == '"');
    fltenv_fetch_release(&f);
    struct flt_jentry e = journal(w, 0);
    assert_string_equal(e.method, "GET");
    assert_string_equal(e.target, "/big.bin");
    assert_string_equal(e.proto, "http");
    assert_int_equal(e.status, 200);
    assert_int_equal(e.sent, SIZE);
    assert_int_equal(e.length, SIZE);
    assert_int_equal(e.outcome, FLT_OUT_COMPLETE);
    assert_int_equal(e.conn, 1);
    assert_null(e.range);
    flt_jentry_release(&e);
    world_free(w);
}

static void test_ranges_and_if_range(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, "3000-", NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    assert_gen(&f, 3000, SIZE - 3000);
    assert_true(header_has(&f, "Content-Range: bytes 3000-1048575/1048576"));
    char etag[96], ifr[128];
    header_value(&f, "ETag", etag, sizeof etag);
    fltenv_fetch_release(&f);

    snprintf(ifr, sizeof ifr, "If-Range: %s", etag);
    const char *h[] = {ifr, NULL};
    assert_int_equal(get(w->url, "1048000-", h, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    assert_gen(&f, 1048000, SIZE - 1048000);
    fltenv_fetch_release(&f);

    const char *stale[] = {"If-Range: \"nope\"", NULL};
    assert_int_equal(get(w->url, "1048000-", stale, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);

    const char *date[] = {"If-Range: Tue, 15 Nov 1994 12:45:26 GMT", NULL};
    assert_int_equal(get(w->url, "10-19", date, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    assert_gen(&f, 10, 10);
    fltenv_fetch_release(&f);

    assert_int_equal(get(w->url, "2000000-", NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 416);
    assert_true(header_has(&f, "Content-Range: bytes */1048576"));
    fltenv_fetch_release(&f);

    const char *ifm[] = {"If-Match: \"other\"", NULL};
    assert_int_equal(get(w->url, NULL, ifm, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 412);
    fltenv_fetch_release(&f);

    struct flt_jentry e = journal(w, 1);
    assert_string_equal(e.range, "bytes=1048000-");
    assert_string_equal(e.if_range, etag);
    assert_int_equal(e.offset, 1048000);
    assert_int_equal(e.sent, SIZE - 1048000);
    flt_jentry_release(&e);
    world_free(w);
}

static void test_head_and_missing(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, w->url);
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(fltenv_perform(h, &f), CURLE_OK);
    curl_easy_cleanup(h);
    assert_int_equal(f.status, 200);
    assert_int_equal(f.body_len, 0);
    assert_true(header_has(&f, "Content-Length: 1048576"));
    fltenv_fetch_release(&f);
    char url[160];
    snprintf(url, sizeof url, "%s/nothing-here", w->base);
    assert_int_equal(get(url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 404);
    fltenv_fetch_release(&f);
    h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, w->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(fltenv_perform(h, &f), CURLE_OK);
    curl_easy_cleanup(h);
    assert_int_equal(f.status, 405);
    assert_true(header_has(&f, "Allow: "));
    fltenv_fetch_release(&f);
    world_free(w);
}

/* ---- byte faults ---------------------------------------------------------- */

static void test_close_at_byte(void **state)
{
    (void)state;
    const char *rules[] = {"close after=123457 nth=1", NULL};
    struct world *w = world_new(rules, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_PARTIAL_FILE);
    assert_gen(&f, 0, 123457);
    fltenv_fetch_release(&f);
    /* the second request is served whole: nth=1 */
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_gen(&f, 0, SIZE);
    fltenv_fetch_release(&f);
    struct flt_jentry e = journal(w, 0);
    assert_int_equal(e.outcome, FLT_OUT_CLOSED);
    assert_int_equal(e.sent, 123457);
    assert_string_equal(e.fired, "close-1");
    flt_jentry_release(&e);
    world_free(w);
}

static void test_close_at_entity_offset_and_resume(void **state)
{
    (void)state;
    /* at= is an entity offset: it cuts the first download at 300000, and a
     * resume from exactly there is not cut again (Chromium's rule). */
    const char *rules[] = {"close at=300000", NULL};
    struct world *w = world_new(rules, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_PARTIAL_FILE);
    assert_int_equal(f.body_len, 300000);
    fltenv_fetch_release(&f);
    assert_int_equal(get(w->url, "300000-", NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    assert_gen(&f, 300000, SIZE - 300000);
    fltenv_fetch_release(&f);
    assert_int_equal(get(w->url, "1000-", NULL, 10000, &f), CURLE_PARTIAL_FILE);
    assert_int_equal(f.body_len, 299000);
    fltenv_fetch_release(&f);
    world_free(w);
}

static void test_reset_at_byte(void **state)
{
    (void)state;
    const char *rules[] = {"reset after=200000", NULL};
    struct world *w = world_new(rules, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    int rc = get(w->url, NULL, NULL, 10000, &f);
    /* A reset is a receive error, never a clean end. */
    assert_int_equal(rc, CURLE_RECV_ERROR);
    assert_true(f.body_len <= 200000);
    fltenv_fetch_release(&f);
    struct flt_jentry e = journal(w, 0);
    assert_int_equal(e.outcome, FLT_OUT_RESET);
    assert_int_equal(e.sent, 200000);
    flt_jentry_release(&e);
    world_free(w);
}

static void test_stall_then_client_timeout(void **state)
{
    (void)state;
    const char *rules[] = {"stall after=65536", NULL};
    struct world *w = world_new(rules, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, NULL, NULL, 700, &f), CURLE_OPERATION_TIMEDOUT);
    assert_gen(&f, 0, 65536);
    fltenv_fetch_release(&f);
    /* The server notices the client leaving the stalled connection. */
    struct flt_jentry e = journal(w, 0);
    assert_int_equal(e.outcome, FLT_OUT_STALLED);
    assert_int_equal(e.sent, 65536);
    flt_jentry_release(&e);
    world_free(w);
}

static void test_stall_for_a_while(void **state)
{
    (void)state;
    const char *rules[] = {"stall after=1000 for=300ms", NULL};
    struct world *w = world_new(rules, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    int64_t t0 = xl_mono_ns();
    assert_int_equal(get(w->url, NULL, NULL, 20000, &f), CURLE_OK);
    int64_t took_ms = (xl_mono_ns() - t0) / 1000000;
    assert_gen(&f, 0, SIZE);
    /* A lower bound only (it cannot be faster), less 20 ms for timer granularity. */
    assert_true(took_ms >= 280);
    fltenv_fetch_release(&f);
    world_free(w);
}

static void test_throttle_lower_bound(void **state)
{
    (void)state;
    const char *rules[] = {"throttle 2MiB/s path=/big.bin", NULL};
    struct world *w = world_new(rules, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    int64_t t0 = xl_mono_ns();
    assert_int_equal(get(w->url, NULL, NULL, 30000, &f), CURLE_OK);
    int64_t took_ms = (xl_mono_ns() - t0) / 1000000;
    assert_gen(&f, 0, SIZE);
    /* 1 MiB at 2 MiB/s less the initial bucket (1/20 s): 450 ms, less 20 ms of timer slack. */
    assert_true(took_ms >= 430);
    fltenv_fetch_release(&f);
    world_free(w);
}

static void test_corrupt_one_byte(void **state)
{
    (void)state;
    const char *rules[] = {"corrupt at=777777", NULL};
    struct world *w = world_new(rules, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    unsigned char *want = malloc(SIZE);
    flt_gen_fill(SEED, 0, 0, want, SIZE);
    assert_int_equal(f.body_len, SIZE);
    size_t diffs = 0, where = 0;
    for (size_t i = 0; i < SIZE; i++)
        if ((unsigned char)f.body[i] != want[i]) {
            diffs++;
            where = i;
        }
    assert_int_equal(diffs, 1);
    assert_int_equal(where, 777777);
    assert_int_equal((unsigned char)f.body[where], want[where] ^ 0xff);
    free(want);
    fltenv_fetch_release(&f);
    world_free(w);
}

/* ---- head faults ----------------------------------------------------------- */

static void test_status_with_headers(void **state)
{
    (void)state;
    const char *rules[] = {"status 503 header=\"Retry-After: 7\" first=2", NULL};
    struct world *w = world_new(rules, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
        assert_int_equal(f.status, 503);
        assert_true(header_has(&f, "Retry-After: 7"));
        fltenv_fetch_release(&f);
    }
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    fltenv_fetch_release(&f);
    world_free(w);
}

static void test_empty_and_garbage(void **state)
{
    (void)state;
    const char *rules[] = {"empty nth=1", "garbage nth=2", NULL};
    struct world *w = world_new(rules, false, FLT_CERT_VALID);
    struct fltenv_fetch f;
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_GOT_NOTHING);
    fltenv_fetch_release(&f);
    assert_int_equal(get(w->url, NULL, NULL, 10000, &f), CURLE_UNSUPPORTED_PROTOCOL);
    fltenv_fetch_release(&f);
    world_free(w);
}

static void test_https_certificates(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, true, FLT_CERT_VALID);
    char url[128], ca[300];
    snprintf(url, sizeof url, "%s/big.bin", w->tls_base);
    snprintf(ca, sizeof ca, "%s", flt_pki_ca_path(w->pki));
    struct fltenv_fetch f;
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_RANGE, "100-");
    assert_int_equal(fltenv_perform(h, &f), CURLE_OK);
    curl_easy_cleanup(h);
    assert_int_equal(f.status, 206);
    assert_gen(&f, 100, SIZE - 100);
    fltenv_fetch_release(&f);
    struct flt_jentry e = journal(w, 0);
    assert_string_equal(e.proto, "https");
    flt_jentry_release(&e);
    world_free(w);

    enum flt_cert_kind bad[] = {FLT_CERT_EXPIRED, FLT_CERT_WRONG_HOST, FLT_CERT_SELF_SIGNED};
    for (size_t i = 0; i < 3; i++) {
        w = world_new(NULL, true, bad[i]);
        snprintf(url, sizeof url, "%s/small.bin", w->tls_base);
        snprintf(ca, sizeof ca, "%s", flt_pki_ca_path(w->pki));
        h = curl_easy_init();
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
        assert_int_equal(fltenv_perform(h, &f), CURLE_PEER_FAILED_VERIFICATION);
        curl_easy_cleanup(h);
        fltenv_fetch_release(&f);
        world_free(w);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_whole),
        cmocka_unit_test(test_ranges_and_if_range),
        cmocka_unit_test(test_head_and_missing),
        cmocka_unit_test(test_close_at_byte),
        cmocka_unit_test(test_close_at_entity_offset_and_resume),
        cmocka_unit_test(test_reset_at_byte),
        cmocka_unit_test(test_stall_then_client_timeout),
        cmocka_unit_test(test_stall_for_a_while),
        cmocka_unit_test(test_throttle_lower_bound),
        cmocka_unit_test(test_corrupt_one_byte),
        cmocka_unit_test(test_status_with_headers),
        cmocka_unit_test(test_empty_and_garbage),
        cmocka_unit_test(test_https_certificates),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
