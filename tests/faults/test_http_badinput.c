/*
 * Hostile input to faults/http.c over raw sockets: oversized request lines and
 * headers, bogus ranges, path traversal against a content root, garbage instead
 * of a request, a slowloris client and a crowd of idle connections. After each
 * the server must still serve /big.bin byte-exact. Each test builds its own
 * server on a free port and tears it down; every socket has a receive timeout
 * so nothing can hang.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fltenv.h"
#include "http.h"

#define SIZE   (1024 * 1024)
#define SEED   7
#define SECRET "TOP-SECRET-0123456789-do-not-serve\n"
#define INSIDE "inside the root\n"

struct world {
    struct fltenv env;
    struct flt_http *http;
    uint16_t port;
    char url[128]; /* http://127.0.0.1:PORT/big.bin */
};

static struct world *world_new(unsigned idle_timeout_s)
{
    struct world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(fltenv_init(&w->env), 0);
    fltenv_gen(&w->env, "/big.bin", SIZE, SEED);
    struct flt_http_config hc = {.idle_timeout_s = idle_timeout_s};
    w->http = fltenv_http(&w->env, &hc);
    w->port = flt_http_port(w->http);
    snprintf(w->url, sizeof w->url, "http://127.0.0.1:%u/big.bin", w->port);
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

static int64_t now_ms(void)
{
    return xl_mono_ns() / 1000000;
}

/* ---- raw sockets ------------------------------------------------------------- */

/* A blocking TCP connection to the server whose reads give up after rcv_ms. */
static int dial(uint16_t port, int rcv_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = rcv_ms / 1000, .tv_usec = (rcv_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        fail_msg("connect to %u: %s", port, strerror(errno));
    return fd;
}

/* Send all of buf; false if the server closed or reset first. */
static bool send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* How a read ended. */
enum ending { END_EOF, END_RESET, END_TIMEOUT };

struct reply {
    char *data; /* NUL-terminated */
    size_t len;
    enum ending ending;
    int status;       /* from the status line, 0 if none */
    const char *body; /* after the head, NULL if no complete head */
    size_t body_len;
};

/* Read until the server closes (or resets, or rcv timeout); parse what came. */
static void read_reply(int fd, struct reply *r)
{
    size_t cap = 64 * 1024;
    memset(r, 0, sizeof *r);
    r->data = malloc(cap + 1);
    assert_non_null(r->data);
    for (;;) {
        if (r->len == cap) {
            cap *= 2;
            r->data = realloc(r->data, cap + 1);
            assert_non_null(r->data);
        }
        ssize_t n = recv(fd, r->data + r->len, cap - r->len, 0);
        if (n > 0) {
            r->len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            r->ending = END_EOF;
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            r->ending = END_TIMEOUT;
        else
            r->ending = END_RESET; /* ECONNRESET: the server reset, or closed unread data */
        break;
    }
    r->data[r->len] = '\0';
    if (r->len >= 12 && strncmp(r->data, "HTTP/1.", 7) == 0)
        r->status = atoi(r->data + 9);
    const char *eoh = strstr(r->data, "\r\n\r\n");
    if (eoh) {
        r->body = eoh + 4;
        r->body_len = r->len - (size_t)(r->body - r->data);
    }
}

static void reply_release(struct reply *r)
{
    free(r->data);
    memset(r, 0, sizeof *r);
}

/* One request on a fresh connection; the reply is read until the server closes. */
static void exchange(struct world *w, const char *req, size_t len, struct reply *r)
{
    int fd = dial(w->port, 10000);
    bool sent = send_all(fd, req, len);
    read_reply(fd, r);
    close(fd);
    (void)sent; /* the server may close before reading it all; the reply tells */
}

/* A GET of target with extra header lines (each ending in \r\n) and Connection: close. */
static void get_raw(struct world *w, const char *target, const char *extra, struct reply *r)
{
    size_t len = strlen(target) + (extra ? strlen(extra) : 0) + 128;
    char *req = malloc(len);
    assert_non_null(req);
    int n = snprintf(req, len, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n",
                     target, extra ? extra : "");
    exchange(w, req, (size_t)n, r);
    free(req);
}

/* The value of a header in a raw reply, or "" . */
static const char *reply_header(const struct reply *r, const char *name, char *buf, size_t len)
{
    char key[64];
    snprintf(key, sizeof key, "\r\n%s: ", name);
    const char *p = strcasestr(r->data, key);
    buf[0] = '\0';
    if (p && (!r->body || p < r->body))
        snprintf(buf, len, "%.*s", (int)strcspn(p + strlen(key), "\r\n"), p + strlen(key));
    return buf;
}

static void assert_body_gen(const char *body, size_t len, uint64_t off, uint64_t want_len)
{
    char want[65], got[65];
    assert_int_equal(len, want_len);
    fltenv_gen_sha256(SEED, 0, off, want_len, want);
    fltenv_sha256(body, len, got);
    assert_string_equal(got, want);
}

/* The server is alive and correct: a libcurl GET of /big.bin is byte-exact. */
static void assert_still_serves(struct world *w)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, w->url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    struct fltenv_fetch f;
    assert_int_equal(fltenv_perform(h, &f), CURLE_OK);
    curl_easy_cleanup(h);
    assert_int_equal(f.status, 200);
    assert_body_gen(f.body, f.body_len, 0, SIZE);
    fltenv_fetch_release(&f);
}

/* ---- oversized requests ---------------------------------------------------- */

/* A reply that refuses an oversized request: a 4xx head, or just a close. */
static int refused_status(const struct reply *r)
{
    if (r->len == 0) {
        assert_true(r->ending == END_EOF || r->ending == END_RESET);
        return 0;
    }
    assert_true(r->status >= 400 && r->status <= 499);
    assert_true(r->ending != END_TIMEOUT); /* and the connection is closed */
    return r->status;
}

static void bad_request_line(struct world *w)
{
    const size_t n = 100 * 1024;
    char *target = malloc(n + 1);
    assert_non_null(target);
    target[0] = '/';
    memset(target + 1, 'a', n - 1);
    target[n] = '\0';
    struct reply r;
    get_raw(w, target, NULL, &r);
    /* libmicrohttpd answers a request line that does not fit its buffer with 414. */
    assert_int_equal(refused_status(&r), 414);
    reply_release(&r);
    free(target);
}

static void bad_headers(struct world *w)
{
    const size_t count = 200, each = 1024;
    char *extra = malloc(count * (each + 32) + 1);
    assert_non_null(extra);
    size_t len = 0;
    for (size_t i = 0; i < count; i++) {
        len += (size_t)sprintf(extra + len, "X-Filler-%03zu: ", i);
        memset(extra + len, 'h', each);
        len += each;
        memcpy(extra + len, "\r\n", 2);
        len += 2;
    }
    extra[len] = '\0';
    struct reply r;
    get_raw(w, "/big.bin", extra, &r);
    /* ... and headers that do not fit with 431. */
    assert_int_equal(refused_status(&r), 431);
    reply_release(&r);
    free(extra);
}

static void test_oversized_request_line(void **state)
{
    (void)state;
    struct world *w = world_new(10);
    bad_request_line(w);
    assert_still_serves(w);
    world_free(w);
}

static void test_oversized_headers(void **state)
{
    (void)state;
    struct world *w = world_new(10);
    bad_headers(w);
    assert_still_serves(w);
    world_free(w);
}

/* ---- bogus ranges ------------------------------------------------------------ */

static void bogus_ranges(struct world *w)
{
    struct reply r;
    char v[128];
    /* last < first is invalid syntax; range.c ignores it (RFC 9110 §14.2 allows
     * ignoring or rejecting): the whole entity. */
    get_raw(w, "/big.bin", "Range: bytes=5-2\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(reply_header(&r, "Content-Range", v, sizeof v), "");
    assert_body_gen(r.body, r.body_len, 0, SIZE);
    reply_release(&r);
    /* A zero-length suffix is unsatisfiable. */
    get_raw(w, "/big.bin", "Range: bytes=-0\r\n", &r);
    assert_int_equal(r.status, 416);
    assert_string_equal(reply_header(&r, "Content-Range", v, sizeof v), "bytes */1048576");
    assert_int_equal(r.body_len, 0);
    reply_release(&r);
    /* So is a start past the end. */
    get_raw(w, "/big.bin", "Range: bytes=1048576-\r\n", &r);
    assert_int_equal(r.status, 416);
    reply_release(&r);
    /* Overflowing numbers are unusable, not wrapped. */
    get_raw(w, "/big.bin", "Range: bytes=99999999999999999999999-\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_body_gen(r.body, r.body_len, 0, SIZE);
    reply_release(&r);
    /* 5000 ranges in one header: no multipart storm, just the whole entity. */
    const size_t nranges = 5000;
    char *h = malloc(nranges * 10 + 32);
    assert_non_null(h);
    size_t len = (size_t)sprintf(h, "Range: bytes=");
    for (size_t i = 0; i < nranges; i++)
        len += (size_t)sprintf(h + len, "%s%zu-%zu", i ? "," : "", i % 500, i % 500);
    memcpy(h + len, "\r\n", 3);
    get_raw(w, "/big.bin", h, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(reply_header(&r, "Content-Length", v, sizeof v), "1048576");
    assert_body_gen(r.body, r.body_len, 0, SIZE);
    reply_release(&r);
    free(h);
}

static void test_bogus_ranges(void **state)
{
    (void)state;
    struct world *w = world_new(10);
    bogus_ranges(w);
    assert_still_serves(w);
    world_free(w);
}

/* ---- path traversal ---------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A content root dir/root with inside.txt and a/; the secret next to it. */
static void make_root(struct world *w)
{
    char path[256], err[XL_ERRLEN];
    snprintf(path, sizeof path, "%s/root", w->env.dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/root/a", w->env.dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/root/inside.txt", w->env.dir);
    write_file(path, INSIDE);
    snprintf(path, sizeof path, "%s/secret", w->env.dir);
    write_file(path, SECRET);
    snprintf(path, sizeof path, "%s/root", w->env.dir);
    if (flt_content_set_root(&w->env.content, path, err) < 0)
        fail_msg("root: %s", err);
}

static void traversal(struct world *w)
{
    /* 403: a ".." segment, a backslash or a control byte after decoding (or a
     * directory); 404: names nothing under the root (decoded once only). */
    static const struct {
        const char *target;
        int status;
    } cases[] = {
        {"/../secret", 403},           {"/a/../../secret", 403},
        {"/./../secret", 403},         {"//../secret", 403},
        {"/%2e%2e/secret", 403},       {"/%2E%2E/secret", 403},
        {"/.%2e/secret", 403},         {"/%252e%252e/secret", 404},
        {"/a/..%2f..%2fsecret", 403},  {"/a/%2e%2e%2f%2e%2e%2fsecret", 403},
        {"/%c0%ae%c0%ae/secret", 404}, {"/%c0%ae%c0%ae%c0%afsecret", 404},
        {"/..%5csecret", 403},         {"/a/..%5c..%5csecret", 403},
        {"/..\\secret", 403},          {"/secret%00", 404},
        {"/../secret%00.txt", 403},    {"/inside.txt%00/../../secret", 403},
        {"/%00/../../secret", 403},    {"/a", 403},
    };
    struct reply r;
    make_root(w);
    /* The root itself works. */
    get_raw(w, "/inside.txt", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(r.body);
    assert_string_equal(r.body, INSIDE);
    reply_release(&r);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        get_raw(w, cases[i].target, NULL, &r);
        if (memmem(r.data, r.len, "TOP-SECRET", 10))
            fail_msg("%s: the secret was served:\n%s", cases[i].target, r.data);
        if (r.status != cases[i].status)
            fail_msg("%s: status %d, want %d:\n%.300s", cases[i].target, r.status, cases[i].status,
                     r.data);
        reply_release(&r);
    }
    /* The journal shows the path as the server saw it: the NUL left encoded. */
    bool seen = false;
    for (size_t i = 0; i < flt_journal_count(&w->env.journal); i++) {
        struct flt_jentry e;
        assert_int_equal(flt_journal_get(&w->env.journal, i, &e), 0);
        if (e.target && strcmp(e.target, "/inside.txt%00/../../secret") == 0) {
            assert_int_equal(e.status, 403);
            seen = true;
        }
        flt_jentry_release(&e);
    }
    assert_true(seen);
}

static void test_path_traversal(void **state)
{
    (void)state;
    struct world *w = world_new(10);
    traversal(w);
    assert_still_serves(w);
    world_free(w);
}

/* ---- garbage ----------------------------------------------------------------- */

static void garbage(struct world *w)
{
    unsigned char junk[4096];
    flt_gen_fill(0xbad, 0, 0, junk, sizeof junk);
    for (size_t i = 0; i < sizeof junk; i += 97)
        junk[i] = '\n'; /* lines, so the parser sees many bogus request lines */
    struct reply r;
    exchange(w, (const char *)junk, sizeof junk, &r);
    /* libmicrohttpd does not answer a request line it cannot parse: it closes. */
    assert_int_equal(r.len, 0);
    assert_true(r.ending == END_EOF || r.ending == END_RESET);
    reply_release(&r);
    /* An HTTP version it does not speak: 505, then the close. */
    static const char bad[] = "FROB /big.bin HTTP/9.9\r\nHost: x\r\n\r\n";
    exchange(w, bad, sizeof bad - 1, &r);
    assert_int_equal(r.status, 505);
    assert_true(r.ending != END_TIMEOUT);
    reply_release(&r);
}

static void test_garbage_request(void **state)
{
    (void)state;
    struct world *w = world_new(10);
    garbage(w);
    assert_still_serves(w);
    world_free(w);
}

/* ---- slowloris ----------------------------------------------------------------- */

/* Sends a request head one byte per 200 ms; returns ms until the server cut it. */
static int64_t slowloris(struct world *w)
{
    static const char head[] = "GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    int fd = dial(w->port, 200);
    int64_t t0 = now_ms(), cut = -1;
    assert_true(send_all(fd, head, sizeof head - 1));
    /* 10 s is this loop's own safety bound, not a performance claim. */
    while (now_ms() - t0 < 10000) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) > 0) {
            char buf[512];
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
                cut = now_ms() - t0;
                break;
            }
            continue; /* an error reply before the close */
        }
        if (!send_all(fd, "a", 1)) {
            cut = now_ms() - t0;
            break;
        }
    }
    close(fd);
    return cut;
}

static void test_slowloris_cut(void **state)
{
    (void)state;
    struct world *w = world_new(1);
    int64_t cut = slowloris(w);
    if (cut < 0)
        fail_msg("a client trickling one header byte per 200 ms was never cut off");
    /* Not before the 1 s timeout (less the event loop's cached-clock slack). */
    assert_true(cut >= 900);
    assert_still_serves(w);
    world_free(w);
}

/* ---- many idle connections ------------------------------------------------- */

static void idle_crowd(struct world *w)
{
    enum { N = 300 };
    int fds[N];
    for (size_t i = 0; i < N; i++) {
        fds[i] = dial(w->port, 1000);
        if (i % 2) /* half send an incomplete request line, half nothing */
            assert_true(send_all(fds[i], "GET /big", 8));
    }
    assert_still_serves(w);
    for (size_t i = 0; i < N; i++)
        close(fds[i]);
}

static void test_many_idle_connections(void **state)
{
    (void)state;
    struct world *w = world_new(10);
    idle_crowd(w);
    assert_still_serves(w);
    world_free(w);
}

/* ---- all of it on one server ------------------------------------------------- */

static void test_one_server_survives_everything(void **state)
{
    (void)state;
    struct world *w = world_new(1);
    bad_request_line(w);
    bad_headers(w);
    bogus_ranges(w);
    traversal(w);
    garbage(w);
    idle_crowd(w);
    assert_true(slowloris(w) >= 900);
    assert_still_serves(w);
    world_free(w);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oversized_request_line),
        cmocka_unit_test(test_oversized_headers),
        cmocka_unit_test(test_bogus_ranges),
        cmocka_unit_test(test_path_traversal),
        cmocka_unit_test(test_garbage_request),
        cmocka_unit_test(test_slowloris_cut),
        cmocka_unit_test(test_many_idle_connections),
        cmocka_unit_test(test_one_server_survives_everything),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
