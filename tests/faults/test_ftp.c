/*
 * test_ftp: the FTP fault server, seen from libcurl and from a raw socket.
 *
 * Each test builds its own world (struct world: a fltenv with its loop thread
 * and one server on a free port), adds content and rules, talks to the server
 * with blocking libcurl calls or a raw TCP socket, asserts on what arrived and
 * on the journal, and tears the world down. Downloads are checked byte for
 * byte against the generator (fltenv_gen_sha256). Waiting is bounded: libcurl
 * calls carry their own timeouts, journal polls give up after 5 s, and no test
 * sleeps longer than it must. The first group tests the pure parser in
 * ftp_cmd.c without a server.
 *
 * Where a test asserts a libcurl error code, it is the code libcurl 7.88
 * really returns for that fault; the comment next to it says why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
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
#include "ftp.h"
#include "ftp_cmd.h"
#include "units.h"

#define SEED 7
#define KiB  1024
#define MiB  (1024 * 1024)

/* ---- the world ----------------------------------------------------------- */

struct world {
    struct fltenv e;
    struct flt_ftp *ftp;
    uint16_t port;
};

static void world_init(struct world *w)
{
    memset(w, 0, sizeof *w);
    assert_int_equal(fltenv_init(&w->e), 0);
}

/* Create the server (cfg may be NULL) and start the loop. */
static void world_start(struct world *w, const struct flt_ftp_config *cfg)
{
    char err[XL_ERRLEN] = "";

    w->ftp =
        flt_ftp_new(w->e.base, cfg, &w->e.rules, &w->e.content, &w->e.journal, &w->e.clock, err);
    if (!w->ftp)
        fail_msg("flt_ftp_new: %s", err);
    w->port = flt_ftp_port(w->ftp);
    assert_true(w->port > 0);
    assert_int_equal(fltenv_run(&w->e), 0);
}

static void world_end(struct world *w)
{
    fltenv_stop(&w->e);
    flt_ftp_free(w->ftp);
    fltenv_free(&w->e);
}

static void url_of(const struct world *w, const char *userinfo, const char *path, char *buf,
                   size_t len)
{
    snprintf(buf, len, "ftp://%s%s127.0.0.1:%u%s", userinfo ? userinfo : "", userinfo ? "@" : "",
             (unsigned)w->port, path);
}

/* A handle for path with a 20 s overall timeout (the test may tighten it). */
static CURL *easy(const struct world *w, const char *path)
{
    char url[256];
    CURL *h = curl_easy_init();

    assert_non_null(h);
    url_of(w, NULL, path, url, sizeof url);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    return h;
}

/* Download path with default options. */
static int get(const struct world *w, const char *path, struct fltenv_fetch *f)
{
    char url[256];

    url_of(w, NULL, path, url, sizeof url);
    return fltenv_get(url, f);
}

static int perform(CURL *h, struct fltenv_fetch *f)
{
    int rc = fltenv_perform(h, f);

    curl_easy_cleanup(h);
    return rc;
}

static void assert_gen_bytes(const struct fltenv_fetch *f, unsigned version, uint64_t off,
                             uint64_t len)
{
    char want[65], got[65];

    assert_int_equal(f->body_len, len);
    fltenv_gen_sha256(SEED, version, off, len, want);
    fltenv_sha256(f->body, f->body_len, got);
    assert_string_equal(got, want);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double elapsed_s(int64_t t0_ns)
{
    return (double)(xl_mono_ns() - t0_ns) / 1e9;
}

/*
 * Wait (up to 5 s) until the nth (1-based) journal entry with this method has
 * ended and copy it to *out (release with flt_jentry_release).
 */
static void jwait(struct world *w, const char *method, int nth, struct flt_jentry *out)
{
    for (int tries = 0; tries < 500; tries++) {
        size_t n = flt_journal_count(&w->e.journal);
        int seen = 0;

        for (size_t k = 0; k < n; k++) {
            struct flt_jentry je;

            if (flt_journal_get(&w->e.journal, k, &je) < 0)
                continue;
            if (strcmp(je.method, method) == 0 && ++seen == nth && je.outcome != FLT_OUT_PENDING) {
                *out = je;
                return;
            }
            flt_jentry_release(&je);
        }
        sleep_ms(10);
    }
    fail_msg("no ended %s #%d in the journal", method, nth);
}

/* Entries with this method so far. */
static int jcount(struct world *w, const char *method)
{
    size_t n = flt_journal_count(&w->e.journal);
    int seen = 0;

    for (size_t k = 0; k < n; k++) {
        struct flt_jentry je;

        if (flt_journal_get(&w->e.journal, k, &je) < 0)
            continue;
        seen += strcmp(je.method, method) == 0;
        flt_jentry_release(&je);
    }
    return seen;
}

/* Wait (up to 5 s) until the server has no session left. */
static void wait_no_sessions(struct world *w)
{
    for (int tries = 0; tries < 500 && flt_ftp_sessions(w->ftp) > 0; tries++)
        sleep_ms(10);
    assert_int_equal(flt_ftp_sessions(w->ftp), 0);
}

/* ---- raw control connections --------------------------------------------- */

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void raw_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

/* One line without its CRLF; its length, or -1 at EOF or after 5 s of silence. */
static int raw_line(int fd, char *buf, size_t len)
{
    size_t n = 0;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char ch;

        if (poll(&p, 1, 5000) <= 0 || recv(fd, &ch, 1, 0) <= 0)
            return -1;
        if (ch == '\n') {
            if (n > 0 && buf[n - 1] == '\r')
                n--;
            buf[n] = '\0';
            return (int)n;
        }
        if (n + 1 < len)
            buf[n++] = ch;
    }
}

/* A whole reply (multi-line too): its code, or -1. text (may be NULL) gets the last line. */
static int raw_reply(int fd, char *text, size_t len)
{
    char line[2048];

    if (raw_line(fd, line, sizeof line) < 4)
        return -1;
    int code = atoi(line);
    if (line[3] == '-') {
        char end[5];
        snprintf(end, sizeof end, "%.3s ", line);
        while (raw_line(fd, line, sizeof line) >= 0 && strncmp(line, end, 4) != 0)
            ;
    }
    if (text)
        snprintf(text, len, "%s", line);
    return code;
}

static int raw_cmd(int fd, const char *line, char *text, size_t len)
{
    raw_send(fd, line, strlen(line));
    return raw_reply(fd, text, len);
}

/* True when the server closed the connection (within 5 s), nothing else arriving. */
static bool raw_eof(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char ch;

    return poll(&p, 1, 5000) == 1 && recv(fd, &ch, 1, 0) == 0;
}

static void raw_login(int fd)
{
    assert_int_equal(raw_reply(fd, NULL, 0), 220);
    assert_int_equal(raw_cmd(fd, "USER anonymous\r\n", NULL, 0), 331);
    assert_int_equal(raw_cmd(fd, "PASS guest@\r\n", NULL, 0), 230);
}

/* The port of a "229 Entering Extended Passive Mode (|||port|)." reply. */
static uint16_t epsv_port(const char *text)
{
    const char *p = strstr(text, "(|||");

    assert_non_null(p);
    return (uint16_t)atoi(p + 4);
}

/* Read exactly n bytes (5 s at most for each piece). */
static void raw_read_n(int fd, char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t r = recv(fd, buf + got, n - got, 0);
        assert_true(r > 0);
        got += (size_t)r;
    }
}

/* ---- ftp_cmd: the parser ------------------------------------------------- */

static int parse(const char *s, struct flt_ftp_cmd *c)
{
    return flt_ftp_parse(s, strlen(s), c);
}

static void test_parse_lines(void **state)
{
    struct flt_ftp_cmd c;
    (void)state;

    assert_int_equal(parse("retr /big.bin\r\n", &c), FLT_FTP_OK);
    assert_string_equal(c.verb, "RETR");
    assert_string_equal(c.arg, "/big.bin");
    assert_int_equal(c.arg_len, 8);
    assert_true(c.has_arg);
    assert_int_equal(parse("NOOP", &c), FLT_FTP_OK);
    assert_string_equal(c.verb, "NOOP");
    assert_string_equal(c.arg, "");
    assert_false(c.has_arg);
    assert_int_equal(parse("PWD\n", &c), FLT_FTP_OK);
    assert_string_equal(c.verb, "PWD");
    /* Exactly one space separates: the rest, blanks included, is the argument. */
    assert_int_equal(parse("CWD  a b \r\n", &c), FLT_FTP_OK);
    assert_string_equal(c.arg, " a b ");
    assert_int_equal(parse("REST \r\n", &c), FLT_FTP_OK);
    assert_true(c.has_arg);
    assert_string_equal(c.arg, "");
    /* HT and UTF-8 are allowed in an argument. */
    assert_int_equal(parse("RETR a\tb\xc3\xa9", &c), FLT_FTP_OK);
    assert_string_equal(c.arg, "a\tb\xc3\xa9");
    /* A bare CR at the end is a terminator too. */
    assert_int_equal(parse("QUIT\r", &c), FLT_FTP_OK);
    assert_string_equal(c.verb, "QUIT");
}

static void test_parse_errors(void **state)
{
    struct flt_ftp_cmd c;
    char line[FLT_FTP_LINE_MAX + 8];
    const char *text = NULL;
    (void)state;

    assert_int_equal(parse("", &c), FLT_FTP_E_EMPTY);
    assert_int_equal(parse("\r\n", &c), FLT_FTP_E_EMPTY);
    assert_int_equal(flt_ftp_parse("RE\0TR x\r\n", 9, &c), FLT_FTP_E_NUL);
    assert_int_equal(flt_ftp_parse("RETR a\0b", 8, &c), FLT_FTP_E_NUL);
    assert_string_equal(c.verb, "");
    assert_int_equal(parse("RETRX a", &c), FLT_FTP_E_VERB);
    assert_int_equal(parse("RET1 a", &c), FLT_FTP_E_VERB);
    assert_int_equal(parse(" RETR a", &c), FLT_FTP_E_VERB);
    assert_int_equal(parse("RETR\ta", &c), FLT_FTP_E_VERB);
    assert_int_equal(parse("\x01\xfe\xff", &c), FLT_FTP_E_VERB);
    assert_int_equal(parse("\xc3\xa9TR a", &c), FLT_FTP_E_VERB);
    assert_int_equal(parse("RETR a\x01", &c), FLT_FTP_E_CONTROL);
    assert_int_equal(parse("RETR a\rb", &c), FLT_FTP_E_CONTROL);
    assert_int_equal(parse("RETR a\nb", &c), FLT_FTP_E_CONTROL);
    assert_int_equal(parse("RETR a\x7f", &c), FLT_FTP_E_CONTROL);
    /* 1024 bytes are fine, 1025 are not, terminator excluded. */
    memset(line, 'a', sizeof line);
    memcpy(line, "RETR ", 5);
    assert_int_equal(flt_ftp_parse(line, FLT_FTP_LINE_MAX, &c), FLT_FTP_OK);
    assert_int_equal(c.arg_len, FLT_FTP_LINE_MAX - 5);
    memcpy(line + FLT_FTP_LINE_MAX, "\r\n", 2);
    assert_int_equal(flt_ftp_parse(line, FLT_FTP_LINE_MAX + 2, &c), FLT_FTP_OK);
    assert_int_equal(flt_ftp_parse(line, FLT_FTP_LINE_MAX + 1, &c), FLT_FTP_OK);
    line[FLT_FTP_LINE_MAX] = 'a';
    assert_int_equal(flt_ftp_parse(line, FLT_FTP_LINE_MAX + 1, &c), FLT_FTP_E_TOO_LONG);
    /* Replies. */
    assert_int_equal(flt_ftp_parse_reply(FLT_FTP_E_TOO_LONG, &text), 500);
    assert_non_null(strstr(text, "too long"));
    assert_int_equal(flt_ftp_parse_reply(FLT_FTP_E_EMPTY, NULL), 500);
    assert_int_equal(flt_ftp_parse_reply(FLT_FTP_E_NUL, NULL), 500);
    assert_int_equal(flt_ftp_parse_reply(FLT_FTP_E_VERB, NULL), 500);
    assert_int_equal(flt_ftp_parse_reply(FLT_FTP_E_CONTROL, NULL), 501);
    assert_int_equal(flt_ftp_parse_reply(-99, NULL), 500);
}

static void test_parse_rest_type(void **state)
{
    uint64_t v = 42;
    bool ascii = true;
    (void)state;

    assert_int_equal(flt_ftp_parse_rest("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(flt_ftp_parse_rest("1234567", &v), 0);
    assert_int_equal(v, 1234567);
    assert_int_equal(flt_ftp_parse_rest("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    v = 42;
    assert_int_equal(flt_ftp_parse_rest("18446744073709551616", &v), -2);
    assert_int_equal(flt_ftp_parse_rest("99999999999999999999999", &v), -2);
    assert_int_equal(v, 42);
    assert_int_equal(flt_ftp_parse_rest("", &v), -1);
    assert_int_equal(flt_ftp_parse_rest("-1", &v), -1);
    assert_int_equal(flt_ftp_parse_rest("+1", &v), -1);
    assert_int_equal(flt_ftp_parse_rest(" 1", &v), -1);
    assert_int_equal(flt_ftp_parse_rest("1 ", &v), -1);
    assert_int_equal(flt_ftp_parse_rest("0x10", &v), -1);
    assert_int_equal(flt_ftp_parse_rest(NULL, &v), -1);
    assert_int_equal(v, 42);

    assert_int_equal(flt_ftp_parse_type("I", &ascii), 0);
    assert_false(ascii);
    assert_int_equal(flt_ftp_parse_type("a", &ascii), 0);
    assert_true(ascii);
    assert_int_equal(flt_ftp_parse_type("A N", &ascii), 0);
    assert_int_equal(flt_ftp_parse_type("", &ascii), -1);
    assert_int_equal(flt_ftp_parse_type("E", &ascii), -2);
    assert_int_equal(flt_ftp_parse_type("L 8", &ascii), -2);
    assert_int_equal(flt_ftp_parse_type("A T", &ascii), -2);
}

static void test_resolve(void **state)
{
    char out[FLT_PATH_MAX];
    char small[8];
    (void)state;

    assert_int_equal(flt_ftp_resolve("/", "big.bin", out, sizeof out), 0);
    assert_string_equal(out, "/big.bin");
    assert_int_equal(flt_ftp_resolve("/a/b", "c", out, sizeof out), 0);
    assert_string_equal(out, "/a/b/c");
    assert_int_equal(flt_ftp_resolve("/a/b", "/x//y/./z/", out, sizeof out), 0);
    assert_string_equal(out, "/x/y/z");
    assert_int_equal(flt_ftp_resolve("/a/b", "..", out, sizeof out), 0);
    assert_string_equal(out, "/a");
    assert_int_equal(flt_ftp_resolve("/a", "../../../etc/passwd", out, sizeof out), 0);
    assert_string_equal(out, "/etc/passwd");
    assert_int_equal(flt_ftp_resolve("/a", "", out, sizeof out), 0);
    assert_string_equal(out, "/a");
    assert_int_equal(flt_ftp_resolve("/", "..", out, sizeof out), 0);
    assert_string_equal(out, "/");
    assert_int_equal(flt_ftp_resolve(NULL, "x/..", out, sizeof out), 0);
    assert_string_equal(out, "/");
    assert_int_equal(flt_ftp_resolve("/", "abcdefgh", small, sizeof small), -1);
    assert_string_equal(small, "");
    assert_int_equal(flt_ftp_resolve("/", "abcdef", small, sizeof small), 0);
    assert_string_equal(small, "/abcdef");
    assert_int_equal(flt_ftp_resolve("/", "a", small, 1), -1);
}

static void test_format_passive(void **state)
{
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    char buf[128];
    (void)state;

    inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
    assert_true(flt_ftp_format_passive(false, (struct sockaddr *)&a4, 50001, buf, sizeof buf) > 0);
    assert_string_equal(buf, "227 Entering Passive Mode (127,0,0,1,195,81).");
    assert_true(flt_ftp_format_passive(true, (struct sockaddr *)&a4, 50001, buf, sizeof buf) > 0);
    assert_string_equal(buf, "229 Entering Extended Passive Mode (|||50001|).");
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    assert_int_equal(flt_ftp_format_passive(false, (struct sockaddr *)&a6, 1, buf, sizeof buf), -1);
    assert_true(flt_ftp_format_passive(true, (struct sockaddr *)&a6, 21, buf, sizeof buf) > 0);
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &a6.sin6_addr);
    assert_true(flt_ftp_format_passive(false, (struct sockaddr *)&a6, 258, buf, sizeof buf) > 0);
    assert_string_equal(buf, "227 Entering Passive Mode (10,1,2,3,1,2).");
    assert_int_equal(flt_ftp_format_passive(false, (struct sockaddr *)&a4, 1, buf, 10), -1);
    assert_int_equal(flt_ftp_format_passive(false, NULL, 1, buf, sizeof buf), -1);
}

/* ---- downloads ----------------------------------------------------------- */

static void test_retr_full(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 4 * MiB, SEED);
    world_start(&w, NULL);
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_OK);
    assert_int_equal(f.status, 226);
    assert_gen_bytes(&f, 0, 0, 4 * MiB);
    fltenv_fetch_release(&f);
    jwait(&w, "RETR", 1, &je);
    assert_string_equal(je.proto, "ftp");
    assert_string_equal(je.target, "big.bin");
    assert_int_equal(je.status, 226);
    assert_int_equal(je.sent, 4 * MiB);
    assert_int_equal(je.length, 4 * MiB);
    assert_int_equal(je.offset, 0);
    assert_null(je.range);
    assert_int_equal(je.outcome, FLT_OUT_COMPLETE);
    flt_jentry_release(&je);
    jwait(&w, "CONNECT", 1, &je);
    assert_int_equal(je.status, 220);
    flt_jentry_release(&je);
    jwait(&w, "SIZE", 1, &je);
    assert_int_equal(je.status, 213);
    flt_jentry_release(&je);
    world_end(&w);
}

static void test_resume(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    const uint64_t size = 1 * MiB, from = 300001;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", size, SEED);
    world_start(&w, NULL);
    CURL *h = easy(&w, "/big.bin");
    curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)from);
    assert_int_equal(perform(h, &f), CURLE_OK);
    assert_gen_bytes(&f, 0, from, size - from);
    fltenv_fetch_release(&f);
    jwait(&w, "REST", 1, &je);
    assert_string_equal(je.target, "300001");
    assert_int_equal(je.status, 350);
    flt_jentry_release(&je);
    jwait(&w, "RETR", 1, &je);
    assert_string_equal(je.range, "300001");
    assert_int_equal(je.offset, from);
    assert_int_equal(je.length, size - from);
    assert_int_equal(je.sent, size - from);
    assert_int_equal(je.outcome, FLT_OUT_COMPLETE);
    flt_jentry_release(&je);
    world_end(&w);
}

static void test_login_anonymous(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/a.bin", 1000, SEED);
    world_start(&w, NULL);
    assert_int_equal(get(&w, "/a.bin", &f), CURLE_OK);
    assert_gen_bytes(&f, 0, 0, 1000);
    fltenv_fetch_release(&f);
    jwait(&w, "USER", 1, &je);
    assert_string_equal(je.target, "anonymous");
    assert_int_equal(je.status, 331);
    flt_jentry_release(&je);
    jwait(&w, "PASS", 1, &je);
    assert_int_equal(je.status, 230);
    flt_jentry_release(&je);
    world_end(&w);
}

static void test_login_userpass(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_ftp_config cfg = {.user = "alice", .pass = "s3cret"};
    char url[256];
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/a.bin", 1000, SEED);
    world_start(&w, &cfg);
    url_of(&w, "alice:s3cret", "/a.bin", url, sizeof url);
    assert_int_equal(fltenv_get(url, &f), CURLE_OK);
    assert_gen_bytes(&f, 0, 0, 1000);
    fltenv_fetch_release(&f);
    /* Wrong password, wrong user, anonymous: all 530 -> CURLE_LOGIN_DENIED. */
    url_of(&w, "alice:wrong", "/a.bin", url, sizeof url);
    assert_int_equal(fltenv_get(url, &f), CURLE_LOGIN_DENIED);
    assert_int_equal(f.status, 530);
    fltenv_fetch_release(&f);
    url_of(&w, "bob:s3cret", "/a.bin", url, sizeof url);
    assert_int_equal(fltenv_get(url, &f), CURLE_LOGIN_DENIED);
    fltenv_fetch_release(&f);
    assert_int_equal(get(&w, "/a.bin", &f), CURLE_LOGIN_DENIED);
    fltenv_fetch_release(&f);
    world_end(&w);
}

static void test_login_denied_by_rule(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/a.bin", 1000, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "nopass: reply 530 method=PASS");
    assert_int_equal(get(&w, "/a.bin", &f), CURLE_LOGIN_DENIED);
    assert_int_equal(f.status, 530);
    fltenv_fetch_release(&f);
    jwait(&w, "PASS", 1, &je);
    assert_int_equal(je.status, 530);
    assert_string_equal(je.fired, "nopass");
    flt_jentry_release(&je);
    world_end(&w);
}

static void test_greeting_421(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/a.bin", 1000, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "reply 421 method=CONNECT");
    /* libcurl treats any 421 on the control connection as the server timing out
     * (ftp_readresp: "We got a 421 - timeout!"), so it reports a timeout. */
    assert_int_equal(get(&w, "/a.bin", &f), CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(f.status, 421);
    fltenv_fetch_release(&f);
    jwait(&w, "CONNECT", 1, &je);
    assert_int_equal(je.status, 421);
    flt_jentry_release(&je);
    /* The server closed the session by itself. */
    wait_no_sessions(&w);
    world_end(&w);
}

static void test_missing_file(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/a.bin", 1000, SEED);
    world_start(&w, NULL);
    /* A real missing file: SIZE answers 550 and libcurl stops there. */
    assert_int_equal(get(&w, "/nope.bin", &f), CURLE_REMOTE_FILE_NOT_FOUND);
    assert_int_equal(f.status, 550);
    fltenv_fetch_release(&f);
    jwait(&w, "SIZE", 1, &je);
    assert_int_equal(je.status, 550);
    flt_jentry_release(&je);
    /* A file that exists, refused by a rule on RETR. */
    fltenv_rule(&w.e, "reply 550 method=RETR");
    assert_int_equal(get(&w, "/a.bin", &f), CURLE_REMOTE_FILE_NOT_FOUND);
    assert_int_equal(f.status, 550);
    assert_int_equal(f.body_len, 0);
    fltenv_fetch_release(&f);
    jwait(&w, "RETR", 1, &je);
    assert_int_equal(je.status, 550);
    assert_int_equal(je.sent, 0);
    flt_jentry_release(&je);
    world_end(&w);
}

static void test_size_unsupported(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 1 * MiB + 17, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "reply 502 method=SIZE");
    /* libcurl falls back to the "(N bytes)" of the 150 reply. */
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_OK);
    assert_gen_bytes(&f, 0, 0, 1 * MiB + 17);
    fltenv_fetch_release(&f);
    jwait(&w, "SIZE", 1, &je);
    assert_int_equal(je.status, 502);
    flt_jentry_release(&je);
    world_end(&w);
}

static void test_rest_unsupported(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 100000, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "reply 502 method=REST");
    CURL *h = easy(&w, "/big.bin");
    curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)5000);
    /* ftp_state_rest_resp: anything but 350 to REST is "Couldn't use REST". */
    assert_int_equal(perform(h, &f), CURLE_FTP_COULDNT_USE_REST);
    assert_int_equal(f.status, 502);
    fltenv_fetch_release(&f);
    assert_int_equal(jcount(&w, "RETR"), 0);
    world_end(&w);
}

static void test_retr_425(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 100000, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "reply 425 method=RETR");
    /* A RETR reply other than 1xx (and not 550) is CURLE_FTP_COULDNT_RETR_FILE. */
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_FTP_COULDNT_RETR_FILE);
    assert_int_equal(f.status, 425);
    assert_int_equal(f.body_len, 0);
    fltenv_fetch_release(&f);
    jwait(&w, "RETR", 1, &je);
    assert_int_equal(je.status, 425);
    assert_int_equal(je.sent, 0);
    flt_jentry_release(&je);
    world_end(&w);
}

static void test_close_at(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    const uint64_t n = 100003;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 1 * MiB, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "cut: close after=100003 nth=1");
    /* Exactly n bytes, then FIN and 226: SIZE told libcurl 1 MiB, so it reports the
     * short body as CURLE_PARTIAL_FILE ("Received only partial file"). */
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_PARTIAL_FILE);
    assert_gen_bytes(&f, 0, 0, n);
    fltenv_fetch_release(&f);
    jwait(&w, "RETR", 1, &je);
    assert_int_equal(je.sent, n);
    assert_int_equal(je.status, 226);
    assert_int_equal(je.outcome, FLT_OUT_CLOSED);
    assert_string_equal(je.fired, "cut");
    flt_jentry_release(&je);
    /* nth=1: the next download is whole. */
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_OK);
    assert_gen_bytes(&f, 0, 0, 1 * MiB);
    fltenv_fetch_release(&f);
    world_end(&w);
}

static void test_close_at_entity_offset(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    const uint64_t size = 200000, at = 50000;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", size, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "close at=50000");
    /* From 0: cut at entity byte 50000. */
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_PARTIAL_FILE);
    assert_gen_bytes(&f, 0, 0, at);
    fltenv_fetch_release(&f);
    /* Resumed at 40000: cut after 10000 bytes, still at entity byte 50000. */
    CURL *h = easy(&w, "/big.bin");
    curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)40000);
    assert_int_equal(perform(h, &f), CURLE_PARTIAL_FILE);
    assert_gen_bytes(&f, 0, 40000, at - 40000);
    fltenv_fetch_release(&f);
    /* Resumed exactly at 50000: the event does not fire again (Chromium's rule). */
    h = easy(&w, "/big.bin");
    curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)at);
    assert_int_equal(perform(h, &f), CURLE_OK);
    assert_gen_bytes(&f, 0, at, size - at);
    fltenv_fetch_release(&f);
    jwait(&w, "RETR", 3, &je);
    assert_int_equal(je.outcome, FLT_OUT_COMPLETE);
    assert_string_equal(je.range, "50000");
    flt_jentry_release(&je);
    world_end(&w);
}

static void test_reset(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    const uint64_t n = 200000;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 1 * MiB, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "reset after=200000");
    /* The RST makes libcurl's recv() fail: CURLE_RECV_ERROR ("Recv failure:
     * Connection reset by peer"). The server waits until the n bytes are acknowledged
     * before resetting, so they arrive first. */
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_RECV_ERROR);
    assert_gen_bytes(&f, 0, 0, n);
    fltenv_fetch_release(&f);
    jwait(&w, "RETR", 1, &je);
    assert_int_equal(je.sent, n);
    assert_int_equal(je.status, 426);
    assert_int_equal(je.outcome, FLT_OUT_RESET);
    flt_jentry_release(&je);
    world_end(&w);
}

static void test_abort(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    const uint64_t n = 300000;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 1 * MiB, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "abort after=300000");
    /* Data closed at n, then 426: libcurl reads the short body, then the final
     * reply; with a known size it reports CURLE_PARTIAL_FILE. */
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_PARTIAL_FILE);
    assert_gen_bytes(&f, 0, 0, n);
    fltenv_fetch_release(&f);
    jwait(&w, "RETR", 1, &je);
    assert_int_equal(je.sent, n);
    assert_int_equal(je.status, 426);
    assert_int_equal(je.outcome, FLT_OUT_CLOSED);
    flt_jentry_release(&je);
    world_end(&w);
}

static void test_stall_forever(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    const uint64_t n = 65536;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 1 * MiB, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "stall after=64KiB");
    CURL *h = easy(&w, "/big.bin");
    /* The client's own timeout fires. (CURLOPT_LOW_SPEED_* would too, but libcurl
     * averages the speed over about 5 s, so after a fast start it needs ~7 s.) */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1500L);
    assert_int_equal(perform(h, &f), CURLE_OPERATION_TIMEDOUT);
    assert_gen_bytes(&f, 0, 0, n);
    fltenv_fetch_release(&f);
    jwait(&w, "RETR", 1, &je);
    assert_int_equal(je.sent, n);
    assert_int_equal(je.outcome, FLT_OUT_STALLED);
    flt_jentry_release(&je);
    wait_no_sessions(&w);
    world_end(&w);
}

static void test_stall_for(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 256 * KiB, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "stall after=1000 for=300ms");
    int64_t t0 = xl_mono_ns();
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_OK);
    assert_true(elapsed_s(t0) >= 0.3);
    assert_gen_bytes(&f, 0, 0, 256 * KiB);
    fltenv_fetch_release(&f);
    world_end(&w);
}

static void test_throttle(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    const uint64_t size = 300 * KiB, rate = 1 * MiB;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", size, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "throttle 1MiB/s");
    int64_t t0 = xl_mono_ns();
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_OK);
    /* A lower bound only: a slow machine may take longer. */
    assert_true(elapsed_s(t0) >= (double)size / (double)rate);
    assert_gen_bytes(&f, 0, 0, size);
    fltenv_fetch_release(&f);
    jwait(&w, "RETR", 1, &je);
    assert_int_equal(je.sent, size);
    assert_true(je.end_ms - je.t_ms >= (int64_t)(size * 1000 / rate));
    flt_jentry_release(&je);
    world_end(&w);
}

static void test_dribble(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 64 * KiB, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "dribble chunk=16KiB pause=30ms");
    int64_t t0 = xl_mono_ns();
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_OK);
    assert_true(elapsed_s(t0) >= 0.09); /* three pauses between four chunks */
    assert_gen_bytes(&f, 0, 0, 64 * KiB);
    fltenv_fetch_release(&f);
    world_end(&w);
}

static void test_corrupt(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    const size_t size = 100000, at = 12345;
    unsigned char *want = malloc(size);
    (void)state;

    assert_non_null(want);
    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", size, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "corrupt at=12345");
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_OK);
    assert_int_equal(f.body_len, size);
    flt_gen_fill(SEED, 0, 0, want, size);
    for (size_t i = 0; i < size; i++)
        if (i == at)
            assert_int_equal((unsigned char)f.body[i], want[i] ^ 0xFF);
        else if ((unsigned char)f.body[i] != want[i])
            fail_msg("byte %zu differs", i);
    fltenv_fetch_release(&f);
    /* Resumed past it: untouched. */
    CURL *h = easy(&w, "/big.bin");
    curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)(at + 1));
    assert_int_equal(perform(h, &f), CURLE_OK);
    assert_gen_bytes(&f, 0, at + 1, size - at - 1);
    fltenv_fetch_release(&f);
    free(want);
    world_end(&w);
}

/* Download with FILETIME; size and time from SIZE and MDTM. */
static void get_with_meta(struct world *w, struct fltenv_fetch *f, curl_off_t *size, long *ftime)
{
    CURL *h = easy(w, "/big.bin");

    curl_easy_setopt(h, CURLOPT_FILETIME, 1L);
    assert_int_equal(fltenv_perform(h, f), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, size);
    curl_easy_getinfo(h, CURLINFO_FILETIME, ftime);
    curl_easy_cleanup(h);
}

static void test_change(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    curl_off_t size1 = 0, size2 = 0;
    long t1 = 0, t2 = 0;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 100000, SEED);
    world_start(&w, NULL);
    /* libcurl sends MDTM first in a session, so the change hits before SIZE and RETR. */
    fltenv_rule(&w.e, "change size=5000 method=MDTM conn=2");
    get_with_meta(&w, &f, &size1, &t1);
    assert_gen_bytes(&f, 0, 0, 100000);
    fltenv_fetch_release(&f);
    get_with_meta(&w, &f, &size2, &t2);
    assert_gen_bytes(&f, 1, 0, 5000);
    fltenv_fetch_release(&f);
    assert_int_equal(size1, 100000);
    assert_int_equal(size2, 5000);
    assert_int_equal(t1, 784903526); /* version 0: Tue, 15 Nov 1994 12:45:26 GMT */
    assert_int_equal(t2, 784903526 + 86400);
    world_end(&w);
}

static void test_list_nlst(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    char err[XL_ERRLEN], path[256];
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 4 * MiB, SEED);
    fltenv_gen(&w.e, "/dir/sub/a.txt", 10, SEED);
    snprintf(path, sizeof path, "%s/real.txt", w.e.dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("hello from disk\n", fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/disk", w.e.dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(flt_content_set_root(&w.e.content, w.e.dir, err), 0);
    world_start(&w, NULL);

    /* Listings go in ASCII mode (TYPE A) with CRLF line ends, which libcurl turns into LF;
     * the journal shows the CRLF bytes that were on the wire. */
    assert_int_equal(get(&w, "/", &f), CURLE_OK);
    assert_non_null(
        strstr(f.body, "-rw-r--r--    1 ftp      ftp       4194304 Nov 15  1994 big.bin\n"));
    assert_non_null(strstr(f.body, " real.txt\n"));
    assert_non_null(strstr(f.body, "drwxr-xr-x    2 ftp      ftp          4096 "));
    assert_non_null(strstr(f.body, " dir\n"));
    assert_non_null(strstr(f.body, " disk\n"));
    jwait(&w, "LIST", 1, &je);
    assert_int_equal(je.sent, f.body_len + 4);
    assert_int_equal(je.status, 226);
    flt_jentry_release(&je);
    fltenv_fetch_release(&f);

    CURL *h = easy(&w, "/");
    curl_easy_setopt(h, CURLOPT_DIRLISTONLY, 1L);
    assert_int_equal(perform(h, &f), CURLE_OK);
    assert_string_equal(f.body, "big.bin\ndir\ndisk\nreal.txt\n");
    fltenv_fetch_release(&f);

    /* libcurl walks there with CWD dir, CWD sub, then LIST. */
    assert_int_equal(get(&w, "/dir/sub/", &f), CURLE_OK);
    assert_non_null(strstr(f.body, " 10 Nov 15  1994 a.txt\n"));
    fltenv_fetch_release(&f);
    assert_int_equal(get(&w, "/dir/sub/a.txt", &f), CURLE_OK);
    assert_gen_bytes(&f, 0, 0, 10);
    fltenv_fetch_release(&f);
    assert_int_equal(get(&w, "/real.txt", &f), CURLE_OK);
    assert_string_equal(f.body, "hello from disk\n");
    fltenv_fetch_release(&f);
    /* CWD into a missing directory: 550 -> CURLE_REMOTE_ACCESS_DENIED. */
    assert_int_equal(get(&w, "/nodir/", &f), CURLE_REMOTE_ACCESS_DENIED);
    fltenv_fetch_release(&f);
    world_end(&w);
}

static void test_pasv(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 500000, SEED);
    world_start(&w, NULL);
    CURL *h = easy(&w, "/big.bin");
    curl_easy_setopt(h, CURLOPT_FTP_USE_EPSV, 0L);
    assert_int_equal(perform(h, &f), CURLE_OK);
    assert_gen_bytes(&f, 0, 0, 500000);
    fltenv_fetch_release(&f);
    jwait(&w, "PASV", 1, &je);
    assert_int_equal(je.status, 227);
    flt_jentry_release(&je);
    assert_int_equal(jcount(&w, "EPSV"), 0);
    /* EPSV refused: libcurl falls back to PASV by itself. */
    fltenv_rule(&w.e, "reply 500 method=EPSV");
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_OK);
    assert_gen_bytes(&f, 0, 0, 500000);
    fltenv_fetch_release(&f);
    assert_int_equal(jcount(&w, "PASV"), 2);
    world_end(&w);
}

static void test_ipv6(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_ftp_config cfg = {.addr = "::1"};
    char err[XL_ERRLEN] = "", url[128];
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 100000, SEED);
    w.ftp = flt_ftp_new(w.e.base, &cfg, &w.e.rules, &w.e.content, &w.e.journal, &w.e.clock, err);
    if (!w.ftp) {
        fltenv_free(&w.e);
        skip(); /* no IPv6 loopback here */
    }
    w.port = flt_ftp_port(w.ftp);
    assert_int_equal(fltenv_run(&w.e), 0);
    snprintf(url, sizeof url, "ftp://[::1]:%u/big.bin", (unsigned)w.port);
    assert_int_equal(fltenv_get(url, &f), CURLE_OK);
    assert_gen_bytes(&f, 0, 0, 100000);
    fltenv_fetch_release(&f);
    /* libcurl always uses EPSV on IPv6; a raw client asking PASV gets 425. */
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(w.port)};
    a.sin6_addr = in6addr_loopback;
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    raw_login(fd);
    assert_int_equal(raw_cmd(fd, "PASV\r\n", NULL, 0), 425);
    assert_int_equal(raw_cmd(fd, "EPSV 1\r\n", NULL, 0), 522);
    assert_int_equal(raw_cmd(fd, "EPSV 2\r\n", NULL, 0), 229);
    close(fd);
    world_end(&w);
}

static void test_refuse(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    int rc = -1;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 1000, SEED);
    fltenv_rule(&w.e, "closed: refuse");
    world_start(&w, NULL);
    assert_int_equal(get(&w, "/big.bin", &f), CURLE_COULDNT_CONNECT);
    fltenv_fetch_release(&f);
    assert_int_equal(flt_rules_remove(&w.e.rules, "closed"), 0);
    /* The listener reopens on the loop thread: allow it a moment. */
    for (int i = 0; i < 100 && rc != CURLE_OK; i++) {
        rc = get(&w, "/big.bin", &f);
        if (rc == CURLE_OK)
            assert_gen_bytes(&f, 0, 0, 1000);
        else
            sleep_ms(10);
        fltenv_fetch_release(&f);
    }
    assert_int_equal(rc, CURLE_OK);
    world_end(&w);
}

static void test_silent(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 1000, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "silent method=RETR");
    CURL *h = easy(&w, "/big.bin");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
    assert_int_equal(perform(h, &f), CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(f.body_len, 0);
    fltenv_fetch_release(&f);
    jwait(&w, "RETR", 1, &je);
    assert_int_equal(je.status, 0);
    assert_int_equal(je.outcome, FLT_OUT_STALLED);
    flt_jentry_release(&je);
    wait_no_sessions(&w);
    world_end(&w);
}

static void test_client_gone(void **state)
{
    struct world w;
    struct fltenv_fetch f;
    struct flt_jentry je;
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 1 * MiB, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "throttle 100KiB/s");
    CURL *h = easy(&w, "/big.bin");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
    assert_int_equal(perform(h, &f), CURLE_OPERATION_TIMEDOUT);
    assert_true(f.body_len < 1 * MiB);
    fltenv_fetch_release(&f);
    jwait(&w, "RETR", 1, &je);
    assert_int_equal(je.outcome, FLT_OUT_CLIENT_GONE);
    assert_true(je.sent < 1 * MiB);
    flt_jentry_release(&je);
    wait_no_sessions(&w);
    world_end(&w);
}

/* ---- raw control connections: commands and bad input ------------------- */

static void test_raw_commands(void **state)
{
    struct world w;
    char text[2048];
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 4 * MiB, SEED);
    fltenv_gen(&w.e, "/dir/a.txt", 10, SEED);
    world_start(&w, NULL);
    int fd = raw_connect(w.port);
    assert_int_equal(raw_reply(fd, text, sizeof text), 220);
    assert_int_equal(raw_cmd(fd, "PWD\r\n", NULL, 0), 530);
    assert_int_equal(raw_cmd(fd, "SIZE /big.bin\r\n", NULL, 0), 530);
    assert_int_equal(raw_cmd(fd, "PASS x\r\n", NULL, 0), 503);
    assert_int_equal(raw_cmd(fd, "FEAT\r\n", text, sizeof text), 211);
    assert_string_equal(text, "211 End");
    assert_int_equal(raw_cmd(fd, "STOR up.bin\r\n", NULL, 0), 502);
    assert_int_equal(raw_cmd(fd, "USER anonymous\r\n", NULL, 0), 331);
    assert_int_equal(raw_cmd(fd, "PASS guest@\r\n", NULL, 0), 230);
    assert_int_equal(raw_cmd(fd, "SYST\r\n", text, sizeof text), 215);
    assert_string_equal(text, "215 UNIX Type: L8");
    assert_int_equal(raw_cmd(fd, "OPTS UTF8 ON\r\n", NULL, 0), 200);
    assert_int_equal(raw_cmd(fd, "OPTS MLST size\r\n", NULL, 0), 501);
    assert_int_equal(raw_cmd(fd, "TYPE X\r\n", NULL, 0), 504);
    assert_int_equal(raw_cmd(fd, "TYPE\r\n", NULL, 0), 501);
    assert_int_equal(raw_cmd(fd, "TYPE A\r\n", NULL, 0), 200);
    assert_int_equal(raw_cmd(fd, "type i\r\n", NULL, 0), 200);
    assert_int_equal(raw_cmd(fd, "PWD\r\n", text, sizeof text), 257);
    assert_string_equal(text, "257 \"/\" is the current directory.");
    assert_int_equal(raw_cmd(fd, "CWD dir\r\n", NULL, 0), 250);
    assert_int_equal(raw_cmd(fd, "PWD\r\n", text, sizeof text), 257);
    assert_string_equal(text, "257 \"/dir\" is the current directory.");
    assert_int_equal(raw_cmd(fd, "SIZE a.txt\r\n", text, sizeof text), 213);
    assert_string_equal(text, "213 10");
    assert_int_equal(raw_cmd(fd, "CWD nope\r\n", NULL, 0), 550);
    assert_int_equal(raw_cmd(fd, "CWD /big.bin\r\n", NULL, 0), 550);
    assert_int_equal(raw_cmd(fd, "CDUP\r\n", NULL, 0), 250);
    assert_int_equal(raw_cmd(fd, "CDUP\r\n", NULL, 0), 250);
    assert_int_equal(raw_cmd(fd, "PWD\r\n", text, sizeof text), 257);
    assert_string_equal(text, "257 \"/\" is the current directory.");
    assert_int_equal(raw_cmd(fd, "SIZE /big.bin\r\n", text, sizeof text), 213);
    assert_string_equal(text, "213 4194304");
    assert_int_equal(raw_cmd(fd, "SIZE /dir\r\n", NULL, 0), 550);
    assert_int_equal(raw_cmd(fd, "SIZE\r\n", NULL, 0), 501);
    assert_int_equal(raw_cmd(fd, "MDTM /big.bin\r\n", text, sizeof text), 213);
    assert_string_equal(text, "213 19941115124526");
    assert_int_equal(raw_cmd(fd, "MDTM /nope\r\n", NULL, 0), 550);
    assert_int_equal(raw_cmd(fd, "NOOP\r\n", NULL, 0), 200);
    /* Transfers need a data connection first. */
    assert_int_equal(raw_cmd(fd, "RETR /big.bin\r\n", NULL, 0), 425);
    assert_int_equal(raw_cmd(fd, "LIST\r\n", NULL, 0), 425);
    assert_int_equal(raw_cmd(fd, "REST abc\r\n", NULL, 0), 501);
    assert_int_equal(raw_cmd(fd, "REST 99999999999999999999\r\n", NULL, 0), 501);
    /* REST beyond the end: RETR answers 554 (documented in ftp.c). */
    assert_int_equal(raw_cmd(fd, "REST 4194305\r\n", text, sizeof text), 350);
    assert_int_equal(raw_cmd(fd, "PASV\r\n", text, sizeof text), 227);
    assert_non_null(strstr(text, "(127,0,0,1,"));
    assert_int_equal(raw_cmd(fd, "RETR /big.bin\r\n", NULL, 0), 554);
    /* REST is used up by that RETR. */
    assert_int_equal(raw_cmd(fd, "EPSV\r\n", text, sizeof text), 229);
    assert_non_null(strstr(text, "(|||"));
    assert_int_equal(raw_cmd(fd, "EPSV 2\r\n", NULL, 0), 522);
    assert_int_equal(raw_cmd(fd, "EPSV ALL\r\n", NULL, 0), 200);
    assert_int_equal(raw_cmd(fd, "RETR /missing\r\n", NULL, 0), 550);
    assert_int_equal(raw_cmd(fd, "RETR /dir\r\n", NULL, 0), 550);
    assert_int_equal(raw_cmd(fd, "RETR /../../etc/passwd\r\n", NULL, 0), 550);
    assert_int_equal(raw_cmd(fd, "QUIT\r\n", NULL, 0), 221);
    assert_true(raw_eof(fd));
    close(fd);
    wait_no_sessions(&w);
    world_end(&w);
}

static void test_raw_bad_input(void **state)
{
    struct world w;
    struct flt_jentry je;
    char big[3000];
    (void)state;

    world_init(&w);
    world_start(&w, NULL);
    int fd = raw_connect(w.port);
    raw_login(fd);
    /* An overlong line: one 500, and the rest of the line never reads as a command. */
    memset(big, 'A', sizeof big);
    memcpy(big, "NOOP ", 5);
    raw_send(fd, big, sizeof big);
    raw_send(fd, "\r\n", 2);
    assert_int_equal(raw_reply(fd, NULL, 0), 500);
    assert_int_equal(raw_cmd(fd, "NOOP\r\n", NULL, 0), 200);
    /* 200 KiB without a LF, in pieces: still one 500 and bounded memory. */
    memset(big, 'B', sizeof big);
    for (int i = 0; i < 70; i++)
        raw_send(fd, big, sizeof big);
    raw_send(fd, "\n", 1);
    assert_int_equal(raw_reply(fd, NULL, 0), 500);
    assert_int_equal(raw_cmd(fd, "NOOP\r\n", NULL, 0), 200);
    /* NUL bytes, binary garbage, an empty line, a control character in an argument. */
    raw_send(fd, "NO\0OP\r\n", 7);
    assert_int_equal(raw_reply(fd, NULL, 0), 500);
    raw_send(fd, "\x16\x03\x01\x02\x00\xfe\xff\r\n", 9);
    assert_int_equal(raw_reply(fd, NULL, 0), 500);
    assert_int_equal(raw_cmd(fd, "\r\n", NULL, 0), 500);
    assert_int_equal(raw_cmd(fd,
                             "CWD a\x01"
                             "b\r\n",
                             NULL, 0),
                     501);
    assert_int_equal(raw_cmd(fd, "XYZZY\r\n", NULL, 0), 500);
    assert_int_equal(raw_cmd(fd, "XYZ\r\n", NULL, 0), 502);
    /* A good command resets the count; then 11 bad ones in one burst: ten answers
     * 500, then 421 and the server closes; the 11th is never answered. */
    assert_int_equal(raw_cmd(fd, "NOOP\r\n", NULL, 0), 200);
    char burst[11 * 8];
    for (int i = 0; i < 11; i++)
        memcpy(burst + 8 * i, "\x01\x02zz\xff!\r\n", 8);
    raw_send(fd, burst, sizeof burst);
    for (int i = 0; i < 10; i++)
        assert_int_equal(raw_reply(fd, NULL, 0), 500);
    assert_int_equal(raw_reply(fd, NULL, 0), 421);
    assert_true(raw_eof(fd));
    close(fd);
    wait_no_sessions(&w);
    jwait(&w, "?", 1, &je);
    assert_int_equal(je.status, 500);
    assert_null(je.target);
    flt_jentry_release(&je);

    /* Clients that vanish at odd moments leave nothing behind. */
    fd = raw_connect(w.port);
    close(fd);
    fd = raw_connect(w.port);
    raw_send(fd, "USER anon", 9);
    close(fd);
    fd = raw_connect(w.port);
    raw_login(fd);
    assert_int_equal(raw_cmd(fd, "EPSV\r\n", NULL, 0), 229);
    close(fd);
    wait_no_sessions(&w);
    world_end(&w);
}

static void test_raw_pipelined(void **state)
{
    struct world w;
    char text[256], buf[16], hex[65], want[65];
    enum { N = 2000 };
    char *burst = malloc(N * 6);
    (void)state;

    assert_non_null(burst);
    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 100000, SEED);
    world_start(&w, NULL);
    int fd = raw_connect(w.port);
    raw_login(fd);
    /* 2000 commands at once, replies unread: the server stops when 8 KiB of replies
     * wait, and goes on as the client reads; none is lost. */
    for (int i = 0; i < N; i++)
        memcpy(burst + 6 * i, "NOOP\r\n", 6);
    raw_send(fd, burst, N * 6);
    for (int i = 0; i < N; i++)
        assert_int_equal(raw_reply(fd, NULL, 0), 200);
    /* A resumed transfer pipelined with the command after it. */
    assert_int_equal(raw_cmd(fd, "EPSV\r\n", text, sizeof text), 229);
    int d = raw_connect(epsv_port(text));
    const char *cmds = "REST 99990\r\nRETR big.bin\r\nNOOP\r\n";
    raw_send(fd, cmds, strlen(cmds));
    assert_int_equal(raw_reply(fd, NULL, 0), 350);
    assert_int_equal(raw_reply(fd, text, sizeof text), 150);
    assert_non_null(strstr(text, "(10 bytes)"));
    raw_read_n(d, buf, 10);
    assert_true(raw_eof(d));
    fltenv_sha256(buf, 10, hex);
    fltenv_gen_sha256(SEED, 0, 99990, 10, want);
    assert_string_equal(hex, want);
    assert_int_equal(raw_reply(fd, NULL, 0), 226);
    assert_int_equal(raw_reply(fd, NULL, 0), 200);
    assert_int_equal(raw_cmd(fd, "QUIT\r\n", NULL, 0), 221);
    assert_true(raw_eof(fd));
    close(d);
    close(fd);
    free(burst);
    wait_no_sessions(&w);
    world_end(&w);
}

static void test_idle_timeout(void **state)
{
    struct world w;
    struct flt_ftp_config cfg = {.idle_timeout_s = 30};
    char text[256];
    (void)state;

    world_init(&w);
    /* 100 times faster than the wall: 30 s of clock time are 0.3 s. */
    xl_clock_init(&w.e.clock, 100.0);
    world_start(&w, &cfg);
    int fd = raw_connect(w.port);
    int64_t t0 = xl_mono_ns();
    raw_login(fd);
    assert_int_equal(raw_reply(fd, text, sizeof text), 421);
    assert_true(elapsed_s(t0) >= 0.29);
    assert_true(raw_eof(fd));
    close(fd);
    wait_no_sessions(&w);
    world_end(&w);
}

static void test_data_timeout(void **state)
{
    struct world w;
    struct flt_ftp_config cfg = {.idle_timeout_s = 30};
    struct flt_jentry je;
    char text[256];
    (void)state;

    world_init(&w);
    xl_clock_init(&w.e.clock, 100.0); /* 30 s of clock time are 0.3 s */
    fltenv_gen(&w.e, "/big.bin", 1000, SEED);
    world_start(&w, &cfg);
    int fd = raw_connect(w.port);
    raw_login(fd);
    /* The passive listener waits 30 s of clock time for its connection. */
    int64_t t0 = xl_mono_ns();
    assert_int_equal(raw_cmd(fd, "EPSV\r\n", text, sizeof text), 229);
    uint16_t port = epsv_port(text);
    /* RETR, but the client never opens the data connection. */
    assert_int_equal(raw_cmd(fd, "RETR /big.bin\r\n", NULL, 0), 150);
    assert_int_equal(raw_reply(fd, NULL, 0), 425);
    assert_true(elapsed_s(t0) >= 0.29);
    jwait(&w, "RETR", 1, &je);
    assert_int_equal(je.status, 425);
    assert_int_equal(je.outcome, FLT_OUT_TIMED_OUT);
    flt_jentry_release(&je);
    /* The passive listener is gone. */
    int d = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(d, (struct sockaddr *)&a, sizeof a), -1);
    close(d);
    /* The session still works, then idles out. */
    assert_int_equal(raw_cmd(fd, "NOOP\r\n", NULL, 0), 200);
    assert_int_equal(raw_reply(fd, NULL, 0), 421);
    assert_true(raw_eof(fd));
    close(fd);
    wait_no_sessions(&w);
    world_end(&w);
}

static void test_free_while_busy(void **state)
{
    struct world w;
    struct flt_jentry je;
    char text[256], buf[1000];
    (void)state;

    world_init(&w);
    fltenv_gen(&w.e, "/big.bin", 1 * MiB, SEED);
    world_start(&w, NULL);
    fltenv_rule(&w.e, "stall after=1000 path=/big.bin");
    fltenv_rule(&w.e, "silent method=NOOP");
    /* A transfer stalled after 1000 bytes. */
    int c1 = raw_connect(w.port);
    raw_login(c1);
    assert_int_equal(raw_cmd(c1, "EPSV\r\n", text, sizeof text), 229);
    uint16_t port = epsv_port(text);
    int d1 = raw_connect(port);
    assert_int_equal(raw_cmd(c1, "RETR big.bin\r\n", text, sizeof text), 150);
    assert_non_null(strstr(text, "(1048576 bytes)"));
    raw_read_n(d1, buf, sizeof buf);
    char hex[65], want[65];
    fltenv_sha256(buf, sizeof buf, hex);
    fltenv_gen_sha256(SEED, 0, 0, sizeof buf, want);
    assert_string_equal(hex, want);
    /* The passive listener took its one connection and closed. */
    int d = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(d, (struct sockaddr *)&a, sizeof a), -1);
    close(d);
    /* A session gone silent, one idle, one half way through a command line. */
    int c2 = raw_connect(w.port);
    raw_login(c2);
    raw_send(c2, "NOOP\r\n", 6);
    int c3 = raw_connect(w.port);
    raw_login(c3);
    int c4 = raw_connect(w.port);
    assert_int_equal(raw_reply(c4, NULL, 0), 220);
    raw_send(c4, "USER ano", 8);
    for (int i = 0; i < 500 && jcount(&w, "NOOP") == 0; i++)
        sleep_ms(10);
    assert_int_equal(flt_ftp_sessions(w.ftp), 4);
    /* Stop and free the server under them: every entry ends. */
    fltenv_stop(&w.e);
    flt_ftp_free(w.ftp);
    w.ftp = NULL;
    jwait(&w, "RETR", 1, &je);
    assert_int_equal(je.sent, 1000);
    assert_int_equal(je.outcome, FLT_OUT_STALLED);
    flt_jentry_release(&je);
    jwait(&w, "NOOP", 1, &je);
    assert_int_equal(je.outcome, FLT_OUT_STALLED);
    flt_jentry_release(&je);
    assert_true(raw_eof(c1));
    assert_true(raw_eof(c3));
    close(c1);
    close(d1);
    close(c2);
    close(c3);
    close(c4);
    fltenv_free(&w.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_lines),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_rest_type),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_format_passive),
        cmocka_unit_test(test_retr_full),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_login_anonymous),
        cmocka_unit_test(test_login_userpass),
        cmocka_unit_test(test_login_denied_by_rule),
        cmocka_unit_test(test_greeting_421),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_size_unsupported),
        cmocka_unit_test(test_rest_unsupported),
        cmocka_unit_test(test_retr_425),
        cmocka_unit_test(test_close_at),
        cmocka_unit_test(test_close_at_entity_offset),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_stall_forever),
        cmocka_unit_test(test_stall_for),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_dribble),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_change),
        cmocka_unit_test(test_list_nlst),
        cmocka_unit_test(test_pasv),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_refuse),
        cmocka_unit_test(test_silent),
        cmocka_unit_test(test_client_gone),
        cmocka_unit_test(test_raw_commands),
        cmocka_unit_test(test_raw_bad_input),
        cmocka_unit_test(test_raw_pipelined),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_data_timeout),
        cmocka_unit_test(test_free_while_busy),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
