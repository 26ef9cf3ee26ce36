/*
 * Tests for uploads to faults/http.c with libcurl as the client: raw PUT and
 * POST bodies (journal received/received_sha256 and the JSON reply agree with
 * the bytes sent), multipart parts, max-upload (413 before the body when
 * Content-Length tells, after it when chunked), close and reset at a received
 * byte, and Expect: 100-continue honoured or refused. Each test builds its own
 * server on a free port and tears it down.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fltenv.h"
#include "http.h"

#define UP_SEED 99

struct world {
    struct fltenv env;
    struct flt_http *http;
    char base[64]; /* http://127.0.0.1:PORT */
    char url[128]; /* http://127.0.0.1:PORT/up.bin */
};

static struct world *world_new(const char *const *rules)
{
    struct world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(fltenv_init(&w->env), 0);
    for (size_t i = 0; rules && rules[i]; i++)
        fltenv_rule(&w->env, rules[i]);
    struct flt_http_config hc = {.idle_timeout_s = 10};
    w->http = fltenv_http(&w->env, &hc);
    snprintf(w->base, sizeof w->base, "http://127.0.0.1:%u", flt_http_port(w->http));
    snprintf(w->url, sizeof w->url, "%s/up.bin", w->base);
    assert_int_equal(fltenv_run(&w->env), 0);
    return w;
}

static void world_free(struct world *w)
{
    fltenv_stop(&w->env);
    flt_http_free(w->http);
    fltenv_free(&w->env);
    free(w);
}

static struct flt_jentry journal(struct world *w, size_t idx)
{
    struct flt_jentry e;
    memset(&e, 0, sizeof e);
    assert_true(fltenv_wait_ended(&w->env, idx + 1));
    assert_int_equal(flt_journal_get(&w->env.journal, idx, &e), 0);
    return e;
}

static bool header_has(const struct fltenv_fetch *f, const char *line)
{
    return strcasestr(f->headers, line) != NULL;
}

/* n bytes of upload data (a generated entity, so it is neither text nor zeros). */
static unsigned char *payload(size_t n, char sha[65])
{
    unsigned char *p = malloc(n ? n : 1);
    assert_non_null(p);
    flt_gen_fill(UP_SEED, 0, 0, p, n);
    fltenv_sha256(p, n, sha);
    return p;
}

struct reader {
    const unsigned char *p;
    size_t len, off;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct reader *r = arg;
    size_t n = size * nitems;
    if (n > r->len - r->off)
        n = r->len - r->off;
    memcpy(buf, r->p + r->off, n);
    r->off += n;
    return n;
}

struct upload {
    const char *method;  /* "PUT" or "POST" */
    bool chunked;        /* no length: Transfer-Encoding: chunked */
    const char *expect;  /* NULL: no Expect header; else its value */
    long expect_wait_ms; /* CURLOPT_EXPECT_100_TIMEOUT_MS */
    curl_off_t uploaded; /* out: CURLINFO_SIZE_UPLOAD_T */
};

/* Send data to url as u describes; collects the reply in *f; returns the CURLcode. */
static int upload(const char *url, const unsigned char *data, size_t len, struct upload *u,
                  struct fltenv_fetch *f)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    struct reader rd = {data, len, 0};
    char expect[64];
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 20000L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &rd);
    if (strcmp(u->method, "PUT") == 0)
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    else
        curl_easy_setopt(h, CURLOPT_POST, 1L);
    if (!u->chunked) {
        if (strcmp(u->method, "PUT") == 0)
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
        else
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
    }
    hl = curl_slist_append(hl, "Content-Type: application/octet-stream");
    snprintf(expect, sizeof expect, "Expect:%s%s", u->expect ? " " : "",
             u->expect ? u->expect : "");
    hl = curl_slist_append(hl, expect);
    if (u->expect_wait_ms)
        curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, u->expect_wait_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    int rc = fltenv_perform(h, f);
    curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &u->uploaded);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return rc;
}

/* The entry at idx: method, status, received bytes and their hash, outcome, fired. */
static void assert_upload_entry(struct world *w, size_t idx, const char *method, int status,
                                uint64_t received, const char *sha, enum flt_outcome outcome,
                                const char *fired)
{
    struct flt_jentry e = journal(w, idx);
    if (strcmp(e.method, method) != 0 || e.status != status || e.received != received ||
        (sha && strcmp(e.received_sha256, sha) != 0) || e.outcome != outcome ||
        strcmp(e.fired, fired) != 0)
        fail_msg("journal[%zu]: %s status %d received %llu sha '%s' outcome %s fired '%s'; "
                 "want %s %d %llu '%s' %s '%s'",
                 idx, e.method, e.status, (unsigned long long)e.received, e.received_sha256,
                 flt_outcome_name(e.outcome), e.fired, method, status, (unsigned long long)received,
                 sha ? sha : "(any)", flt_outcome_name(outcome), fired);
    flt_jentry_release(&e);
}

static void assert_json_reply(const struct fltenv_fetch *f, size_t received, const char *sha)
{
    char want[160];
    snprintf(want, sizeof want, "{\"received\":%zu,\"sha256\":\"%s\"}\n", received, sha);
    assert_string_equal(f->body, want);
    assert_true(header_has(f, "Content-Type: application/json"));
}

/* ---- raw bodies ------------------------------------------------------------ */

static void test_put_and_post_raw(void **state)
{
    (void)state;
    struct world *w = world_new(NULL);
    const size_t n = 300000;
    char sha[65];
    unsigned char *data = payload(n, sha);
    struct fltenv_fetch f;

    struct upload put = {.method = "PUT"};
    assert_int_equal(upload(w->url, data, n, &put, &f), CURLE_OK);
    assert_int_equal(f.status, 201);
    assert_int_equal(put.uploaded, (curl_off_t)n);
    assert_json_reply(&f, n, sha);
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 0, "PUT", 201, n, sha, FLT_OUT_COMPLETE, "");

    struct upload post = {.method = "POST"};
    assert_int_equal(upload(w->url, data, n, &post, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_json_reply(&f, n, sha);
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 1, "POST", 200, n, sha, FLT_OUT_COMPLETE, "");

    /* Without a length: a chunked body is counted the same. */
    struct upload chunked = {.method = "PUT", .chunked = true};
    assert_int_equal(upload(w->url, data, n, &chunked, &f), CURLE_OK);
    assert_int_equal(f.status, 201);
    assert_json_reply(&f, n, sha);
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 2, "PUT", 201, n, sha, FLT_OUT_COMPLETE, "");
    struct flt_jentry e = journal(w, 2);
    assert_non_null(strstr(e.headers, "Transfer-Encoding: chunked"));
    assert_string_equal(e.target, "/up.bin");
    assert_null(e.parts);
    flt_jentry_release(&e);

    /* An empty body hashes as the empty string. */
    char empty_sha[65];
    fltenv_sha256("", 0, empty_sha);
    struct upload none = {.method = "PUT"};
    assert_int_equal(upload(w->url, data, 0, &none, &f), CURLE_OK);
    assert_int_equal(f.status, 201);
    assert_json_reply(&f, 0, empty_sha);
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 3, "PUT", 201, 0, empty_sha, FLT_OUT_COMPLETE, "");
    free(data);
    world_free(w);
}

static void test_multipart_parts(void **state)
{
    (void)state;
    struct world *w = world_new(NULL);
    const size_t n = 200000;
    char sha[65], note_sha[65];
    unsigned char *data = payload(n, sha);
    fltenv_sha256("hello world", 11, note_sha);

    CURL *h = curl_easy_init();
    curl_mime *mime = curl_mime_init(h);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "note");
    curl_mime_data(part, "hello world", CURL_ZERO_TERMINATED);
    part = curl_mime_addpart(mime);
    curl_mime_name(part, "file");
    curl_mime_filename(part, "blob.bin");
    curl_mime_type(part, "application/octet-stream");
    curl_mime_data(part, (const char *)data, n);
    curl_easy_setopt(h, CURLOPT_URL, w->url);
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    struct fltenv_fetch f;
    assert_int_equal(fltenv_perform(h, &f), CURLE_OK);
    curl_off_t sent = 0;
    curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &sent);
    curl_easy_cleanup(h);
    curl_mime_free(mime);
    curl_slist_free_all(hl);
    assert_int_equal(f.status, 200);

    struct flt_jentry e = journal(w, 0);
    assert_string_equal(e.method, "POST");
    assert_int_equal(e.status, 200);
    assert_int_equal(e.outcome, FLT_OUT_COMPLETE);
    /* The whole encoded body is counted, and the reply says the same. */
    assert_int_equal(e.received, (uint64_t)sent);
    assert_true(e.received > n);
    assert_json_reply(&f, (size_t)e.received, e.received_sha256);
    char want[256];
    snprintf(want, sizeof want,
             "field=note;filename=;size=11;sha256=%s\n"
             "field=file;filename=blob.bin;size=%zu;sha256=%s\n",
             note_sha, n, sha);
    assert_non_null(e.parts);
    assert_string_equal(e.parts, want);
    flt_jentry_release(&e);
    fltenv_fetch_release(&f);
    free(data);
    world_free(w);
}

/* ---- max-upload ------------------------------------------------------------ */

static void test_max_upload_by_content_length(void **state)
{
    (void)state;
    const char *rules[] = {"max-upload 1000", NULL};
    struct world *w = world_new(rules);
    const size_t n = 100000;
    char sha[65];
    unsigned char *data = payload(n, sha);
    struct fltenv_fetch f;
    /* With Expect: 100-continue the client waits: the 413 comes before any body. */
    struct upload u = {.method = "PUT", .expect = "100-continue", .expect_wait_ms = 60000};
    assert_int_equal(upload(w->url, data, n, &u, &f), CURLE_OK);
    assert_int_equal(f.status, 413);
    assert_false(header_has(&f, " 100 Continue"));
    assert_int_equal(u.uploaded, 0);
    assert_string_equal(f.body, "413 Content Too Large\n");
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 0, "PUT", 413, 0, NULL, FLT_OUT_COMPLETE, "max-upload-1");
    /* At the limit the body is taken. */
    struct upload ok = {.method = "PUT"};
    assert_int_equal(upload(w->url, data, 1000, &ok, &f), CURLE_OK);
    assert_int_equal(f.status, 201);
    fltenv_fetch_release(&f);
    char sha1000[65];
    fltenv_sha256(data, 1000, sha1000);
    assert_upload_entry(w, 1, "PUT", 201, 1000, sha1000, FLT_OUT_COMPLETE, "max-upload-1");
    free(data);
    world_free(w);
}

static void test_max_upload_chunked(void **state)
{
    (void)state;
    const char *rules[] = {"max-upload 1000", NULL};
    struct world *w = world_new(rules);
    const size_t n = 100000;
    char sha[65];
    unsigned char *data = payload(n, sha);
    struct fltenv_fetch f;
    /* No length to judge by: the body is read, counted, then refused. */
    struct upload u = {.method = "PUT", .chunked = true};
    assert_int_equal(upload(w->url, data, n, &u, &f), CURLE_OK);
    assert_int_equal(f.status, 413);
    assert_true(u.uploaded > (curl_off_t)n); /* the body and its chunk framing */
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 0, "PUT", 413, n, sha, FLT_OUT_COMPLETE, "max-upload-1");
    free(data);
    world_free(w);
}

/* ---- close and reset at a received byte -------------------------------------- */

static void test_close_at_received_byte(void **state)
{
    (void)state;
    const char *rules[] = {"close received=50000 nth=1", NULL};
    struct world *w = world_new(rules);
    const size_t n = 300000;
    char sha[65], sha_cut[65];
    unsigned char *data = payload(n, sha);
    fltenv_sha256(data, 50000, sha_cut);
    struct fltenv_fetch f;
    struct upload u = {.method = "PUT"};
    /* The server stops reading at 50000 and closes with the rest of the body
     * unread in its socket: the kernel turns that close into a reset, so the
     * client sees ECONNRESET on its next read, not a clean FIN. */
    int rc = upload(w->url, data, n, &u, &f);
    if (rc != CURLE_RECV_ERROR)
        fail_msg("curl %d (%s), want CURLE_RECV_ERROR", rc, f.error);
    assert_int_equal(f.status, 0);
    fltenv_fetch_release(&f);
    /* Exactly the bytes before the cut were taken, and hashed. */
    assert_upload_entry(w, 0, "PUT", 0, 50000, sha_cut, FLT_OUT_CLOSED, "close-1");
    /* The server goes on: the next upload is whole. */
    struct upload again = {.method = "PUT"};
    assert_int_equal(upload(w->url, data, n, &again, &f), CURLE_OK);
    assert_int_equal(f.status, 201);
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 1, "PUT", 201, n, sha, FLT_OUT_COMPLETE, "");
    free(data);
    world_free(w);
}

static void test_reset_at_received_byte(void **state)
{
    (void)state;
    const char *rules[] = {"reset received=50000 nth=1", NULL};
    struct world *w = world_new(rules);
    const size_t n = 300000;
    char sha[65], sha_cut[65];
    unsigned char *data = payload(n, sha);
    fltenv_sha256(data, 50000, sha_cut);
    struct fltenv_fetch f;
    struct upload u = {.method = "PUT"};
    int rc = upload(w->url, data, n, &u, &f);
    if (rc != CURLE_RECV_ERROR)
        fail_msg("curl %d (%s), want CURLE_RECV_ERROR", rc, f.error);
    assert_int_equal(f.status, 0);
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 0, "PUT", 0, 50000, sha_cut, FLT_OUT_RESET, "reset-1");
    struct upload again = {.method = "PUT"};
    assert_int_equal(upload(w->url, data, n, &again, &f), CURLE_OK);
    assert_int_equal(f.status, 201);
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 1, "PUT", 201, n, sha, FLT_OUT_COMPLETE, "");
    free(data);
    world_free(w);
}

/* ---- Expect: 100-continue ---------------------------------------------------- */

static void test_expect_continue_honoured(void **state)
{
    (void)state;
    struct world *w = world_new(NULL);
    const size_t n = 300000;
    char sha[65];
    unsigned char *data = payload(n, sha);
    struct fltenv_fetch f;
    /* The client would wait 60 s for the 100 (longer than its own 20 s
     * timeout), so success means the server sent 100 Continue. */
    struct upload u = {.method = "PUT", .expect = "100-continue", .expect_wait_ms = 60000};
    assert_int_equal(upload(w->url, data, n, &u, &f), CURLE_OK);
    assert_int_equal(f.status, 201);
    assert_true(header_has(&f, "HTTP/1.1 100 Continue\r\n"));
    assert_int_equal(u.uploaded, (curl_off_t)n);
    assert_json_reply(&f, n, sha);
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 0, "PUT", 201, n, sha, FLT_OUT_COMPLETE, "");
    struct flt_jentry e = journal(w, 0);
    assert_non_null(strstr(e.headers, "Expect: 100-continue"));
    flt_jentry_release(&e);
    free(data);
    world_free(w);
}

static void test_no_continue(void **state)
{
    (void)state;
    const char *rules[] = {"no-continue", NULL};
    struct world *w = world_new(rules);
    const size_t n = 300000;
    char sha[65];
    unsigned char *data = payload(n, sha);
    struct fltenv_fetch f;
    struct upload u = {.method = "PUT", .expect = "100-continue", .expect_wait_ms = 60000};
    assert_int_equal(upload(w->url, data, n, &u, &f), CURLE_OK);
    assert_int_equal(f.status, 417);
    assert_false(header_has(&f, " 100 Continue"));
    assert_int_equal(u.uploaded, 0);
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 0, "PUT", 417, 0, NULL, FLT_OUT_COMPLETE, "no-continue-1");
    /* Without Expect there is nothing to refuse. */
    struct upload plain = {.method = "PUT"};
    assert_int_equal(upload(w->url, data, n, &plain, &f), CURLE_OK);
    assert_int_equal(f.status, 201);
    fltenv_fetch_release(&f);
    assert_upload_entry(w, 1, "PUT", 201, n, sha, FLT_OUT_COMPLETE, "no-continue-1");
    free(data);
    world_free(w);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_and_post_raw),
        cmocka_unit_test(test_multipart_parts),
        cmocka_unit_test(test_max_upload_by_content_length),
        cmocka_unit_test(test_max_upload_chunked),
        cmocka_unit_test(test_close_at_received_byte),
        cmocka_unit_test(test_reset_at_received_byte),
        cmocka_unit_test(test_expect_continue_honoured),
        cmocka_unit_test(test_no_continue),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
