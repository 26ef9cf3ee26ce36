/* fltenv: the event loop thread, a temporary directory and hashing helpers for tests. */
#include "fltenv.h"
#include "http.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <event2/thread.h>
#include <ftw.h>
#include <stdatomic.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int fltenv_init(struct fltenv *e)
{
    memset(e, 0, sizeof *e);
    evthread_use_pthreads();
    e->base = event_base_new();
    if (!e->base)
        return -1;
    flt_rules_init(&e->rules);
    flt_content_init(&e->content);
    flt_journal_init(&e->journal);
    xl_clock_init(&e->clock, 1.0);
    snprintf(e->dir, sizeof e->dir, "/tmp/xferlab-test-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    return 0;
}

static void *loop_main(void *arg)
{
    struct fltenv *e = arg;
    event_base_loop(e->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void on_loop_started(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    atomic_store((atomic_bool *)arg, true);
}

/*
 * Returns once the loop is dispatching: event_base_loopbreak() before that
 * would be lost, and fltenv_stop() would wait forever.
 */
int fltenv_run(struct fltenv *e)
{
    atomic_bool started = false;
    if (event_base_once(e->base, -1, EV_TIMEOUT, on_loop_started, &started, NULL) < 0 ||
        pthread_create(&e->thread, NULL, loop_main, e) != 0)
        return -1;
    e->running = true;
    while (!atomic_load(&started)) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

void fltenv_stop(struct fltenv *e)
{
    if (!e->running)
        return;
    event_base_loopbreak(e->base);
    pthread_join(e->thread, NULL);
    e->running = false;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void fltenv_free(struct fltenv *e)
{
    fltenv_stop(e);
    flt_rules_clear(&e->rules);
    flt_content_clear(&e->content);
    flt_journal_free(&e->journal);
    if (e->base)
        event_base_free(e->base);
    if (e->dir[0])
        nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    e->base = NULL;
}

struct flt_http *fltenv_http(struct fltenv *e, const struct flt_http_config *cfg)
{
    char err[XL_ERRLEN];
    struct flt_http *s =
        flt_http_new(e->base, cfg, &e->rules, &e->content, &e->journal, &e->clock, err);
    if (!s)
        fail_msg("%s server: %s", cfg->cert_pem ? "https" : "http", err);
    return s;
}

void fltenv_rule(struct fltenv *e, const char *text)
{
    char err[XL_ERRLEN];
    if (flt_rules_add_text(&e->rules, text, xl_clock_now_ms(&e->clock), err) < 0)
        fail_msg("rule '%s': %s", text, err);
}

void fltenv_gen(struct fltenv *e, const char *path, uint64_t size, uint64_t seed)
{
    char err[XL_ERRLEN];
    if (flt_content_add_gen(&e->content, path, size, seed, err) < 0)
        fail_msg("content '%s': %s", path, err);
}

static void to_hex(const unsigned char *md, char hex[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

void fltenv_sha256(const void *buf, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
    to_hex(md, hex);
}

void fltenv_gen_sha256(uint64_t seed, unsigned version, uint64_t off, uint64_t len, char hex[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[32];
    static unsigned char buf[1 << 16];
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while (len) {
        size_t n = len < sizeof buf ? (size_t)len : sizeof buf;
        flt_gen_fill(seed, version, off, buf, n);
        EVP_DigestUpdate(ctx, buf, n);
        off += n;
        len -= n;
    }
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    to_hex(md, hex);
}

bool fltenv_wait_ended(struct fltenv *e, size_t n)
{
    return fltenv_wait_journal(&e->journal, n);
}

bool fltenv_wait_journal(struct flt_journal *j, size_t n)
{
    for (int i = 0; i < 1000; i++) {
        size_t ended = 0, count = flt_journal_count(j);
        for (size_t k = 0; k < count; k++) {
            struct flt_jentry je;
            if (flt_journal_get(j, k, &je) == 0) {
                ended += je.outcome != FLT_OUT_PENDING;
                flt_jentry_release(&je);
            }
        }
        if (ended >= n)
            return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

void fltenv_fetch_release(struct fltenv_fetch *f)
{
    free(f->body);
    free(f->headers);
    memset(f, 0, sizeof *f);
}

struct growbuf {
    char **p;
    size_t *len;
};

static size_t append(char *data, size_t size, size_t nmemb, void *arg)
{
    struct growbuf *g = arg;
    size_t n = size * nmemb;
    char *np = realloc(*g->p, *g->len + n + 1);
    if (!np)
        return 0;
    memcpy(np + *g->len, data, n);
    *g->len += n;
    np[*g->len] = '\0';
    *g->p = np;
    return n;
}

int fltenv_perform(void *curl_easy, struct fltenv_fetch *f)
{
    CURL *h = curl_easy;
    size_t hlen = 0;
    memset(f, 0, sizeof *f);
    struct growbuf body = {&f->body, &f->body_len}, head = {&f->headers, &hlen};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, append);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &head);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->error);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    f->curl_code = (int)curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->status);
    if (!f->body)
        f->body = calloc(1, 1);
    if (!f->headers)
        f->headers = calloc(1, 1);
    return f->curl_code;
}

int fltenv_get(const char *url, struct fltenv_fetch *f)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    int rc = fltenv_perform(h, f);
    curl_easy_cleanup(h);
    return rc;
}
