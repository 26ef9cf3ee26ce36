/*
 * self-check: `xferlab self-check`, the servers checking themselves.
 *
 * It starts one origin (HTTP, HTTPS, FTP) on free loopback ports, runs the
 * event loop on a thread, and drives a list of probes with libcurl from the
 * main thread: a correct download, ranges and validators, a few faults. Each
 * probe is a row in a table (name, what it checked, pass or fail and why). The
 * run writes JSON and JUnit XML under a new directory of --reports (default
 * "reports") and points `latest` at it.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "xferlab.h"

#define CHECK_SIZE (4u * 1024 * 1024)
#define CHECK_SEED 7

struct probe_result {
    const char *name;
    bool ok;
    char detail[256];
    double seconds;
};

struct ctx {
    struct xl_serve w;
    char base_url[64], tls_url[64], ftp_url[64];
    char ca[512];
    struct probe_result results[32];
    size_t n;
};

struct fetch {
    CURLcode rc;
    long status;
    size_t len;
    char *headers;
    size_t hlen;
    EVP_MD_CTX *sha;
    char hex[65];
};

static size_t on_body(char *d, size_t sz, size_t nm, void *arg)
{
    struct fetch *f = arg;
    EVP_DigestUpdate(f->sha, d, sz * nm);
    f->len += sz * nm;
    return sz * nm;
}

static size_t on_header(char *d, size_t sz, size_t nm, void *arg)
{
    struct fetch *f = arg;
    size_t n = sz * nm;
    char *h = realloc(f->headers, f->hlen + n + 1);
    if (!h)
        return 0;
    memcpy(h + f->hlen, d, n);
    f->hlen += n;
    h[f->hlen] = '\0';
    f->headers = h;
    return n;
}

/* Fetch url with extra request headers (NULL-terminated) and options. */
static void fetch(struct fetch *f, const char *url, const char *ca, const char *range,
                  const char *const *headers, bool head, long timeout_s)
{
    memset(f, 0, sizeof *f);
    f->sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(f->sha, EVP_sha256(), NULL);
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    if (range)
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    if (head)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    f->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->status);
    unsigned char md[32];
    EVP_DigestFinal_ex(f->sha, md, NULL);
    EVP_MD_CTX_free(f->sha);
    for (int i = 0; i < 32; i++)
        snprintf(f->hex + 2 * i, 3, "%02x", md[i]);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
}

static void gen_sha(uint64_t off, uint64_t len, char hex[65])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char buf[65536], md[32];
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    while (len) {
        size_t n = len < sizeof buf ? (size_t)len : sizeof buf;
        flt_gen_fill(CHECK_SEED, 0, off, buf, n);
        EVP_DigestUpdate(c, buf, n);
        off += n;
        len -= n;
    }
    EVP_DigestFinal_ex(c, md, NULL);
    EVP_MD_CTX_free(c);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

__attribute__((format(printf, 4, 5))) static void record(struct ctx *c, const char *name, bool ok,
                                                         const char *fmt, ...)
{
    struct probe_result *r = &c->results[c->n++];
    r->name = name;
    r->ok = ok;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

static bool has_header(const struct fetch *f, const char *line)
{
    return f->headers && strcasestr(f->headers, line) != NULL;
}

static void probes(struct ctx *c)
{
    char url[128], want[65];
    struct fetch f;
    snprintf(url, sizeof url, "%s/check.bin", c->base_url);

    fetch(&f, url, NULL, NULL, NULL, false, 30);
    gen_sha(0, CHECK_SIZE, want);
    record(c, "get",
           f.rc == CURLE_OK && f.status == 200 && f.len == CHECK_SIZE && strcmp(f.hex, want) == 0,
           "GET 4 MiB: curl %d, status %ld, %zu bytes, sha256 %s", f.rc, f.status, f.len,
           strcmp(f.hex, want) == 0 ? "matches" : "DIFFERS");
    free(f.headers);

    fetch(&f, url, NULL, "1000-", NULL, false, 30);
    gen_sha(1000, CHECK_SIZE - 1000, want);
    char cr[96];
    snprintf(cr, sizeof cr, "Content-Range: bytes 1000-%u/%u", CHECK_SIZE - 1, CHECK_SIZE);
    record(c, "range", f.status == 206 && has_header(&f, cr) && strcmp(f.hex, want) == 0,
           "Range bytes=1000-: status %ld, %s, tail %s", f.status,
           has_header(&f, cr) ? "Content-Range right" : "Content-Range WRONG",
           strcmp(f.hex, want) == 0 ? "matches" : "DIFFERS");
    free(f.headers);

    fetch(&f, url, NULL, NULL, NULL, true, 30);
    char etag[96] = "";
    const char *e = f.headers ? strcasestr(f.headers, "\nETag: ") : NULL;
    if (e)
        sscanf(e + 7, "%90[^\r\n]", etag);
    record(
        c, "head",
        f.status == 200 && f.len == 0 && has_header(&f, "Accept-Ranges: bytes") && etag[0] == '"',
        "HEAD: status %ld, Accept-Ranges %s, ETag %s", f.status,
        has_header(&f, "Accept-Ranges: bytes") ? "bytes" : "MISSING", etag[0] ? etag : "MISSING");
    free(f.headers);

    char ifr[128];
    snprintf(ifr, sizeof ifr, "If-Range: %s", etag);
    const char *h1[] = {ifr, NULL};
    fetch(&f, url, NULL, "100-", h1, false, 30);
    int s1 = (int)f.status;
    free(f.headers);
    const char *h2[] = {"If-Range: \"stale\"", NULL};
    fetch(&f, url, NULL, "100-", h2, false, 30);
    record(c, "if-range", s1 == 206 && f.status == 200 && f.len == CHECK_SIZE,
           "If-Range current ETag: %d (want 206); stale ETag: %ld with %zu bytes (want 200, "
           "whole entity)",
           s1, f.status, f.len);
    free(f.headers);

    fetch(&f, url, NULL, "99999999-", NULL, false, 30);
    snprintf(cr, sizeof cr, "Content-Range: bytes */%u", CHECK_SIZE);
    record(c, "unsatisfiable", f.status == 416 && has_header(&f, cr),
           "Range past the end: status %ld, %s", f.status,
           has_header(&f, cr) ? "Content-Range bytes */size" : "Content-Range MISSING");
    free(f.headers);

    char err[XL_ERRLEN];
    flt_rules_add_text(&c->w.origin.rules, "sc-close: close after=1MiB path=/check.bin", 0, err);
    fetch(&f, url, NULL, NULL, NULL, false, 30);
    flt_rules_remove(&c->w.origin.rules, "sc-close");
    record(c, "fault-close", f.rc == CURLE_PARTIAL_FILE && f.len == 1048576,
           "close after=1MiB: curl %d (want %d, partial file), %zu bytes (want 1048576)", f.rc,
           CURLE_PARTIAL_FILE, f.len);
    free(f.headers);

    flt_rules_add_text(&c->w.origin.rules, "sc-503: status 503 header=\"Retry-After: 5\"", 0, err);
    fetch(&f, url, NULL, NULL, NULL, false, 30);
    flt_rules_remove(&c->w.origin.rules, "sc-503");
    record(c, "fault-status", f.status == 503 && has_header(&f, "Retry-After: 5"),
           "status 503: got %ld, Retry-After %s", f.status,
           has_header(&f, "Retry-After: 5") ? "present" : "MISSING");
    free(f.headers);

    flt_rules_add_text(&c->w.origin.rules, "sc-stall: stall after=64KiB", 0, err);
    fetch(&f, url, NULL, NULL, NULL, false, 1);
    flt_rules_remove(&c->w.origin.rules, "sc-stall");
    record(c, "fault-stall", f.rc == CURLE_OPERATION_TIMEDOUT && f.len == 65536,
           "stall after=64KiB: curl %d (want %d, the client's timeout), %zu bytes", f.rc,
           CURLE_OPERATION_TIMEDOUT, f.len);
    free(f.headers);

    snprintf(url, sizeof url, "%s/check.bin", c->tls_url);
    fetch(&f, url, c->ca, NULL, NULL, false, 30);
    gen_sha(0, CHECK_SIZE, want);
    record(c, "https", f.rc == CURLE_OK && strcmp(f.hex, want) == 0,
           "HTTPS with the test CA: curl %d, sha256 %s", f.rc,
           strcmp(f.hex, want) == 0 ? "matches" : "DIFFERS");
    free(f.headers);
    fetch(&f, url, NULL, NULL, NULL, false, 30);
    record(c, "https-untrusted", f.rc == CURLE_PEER_FAILED_VERIFICATION,
           "HTTPS without the CA: curl %d (want %d, peer verification failed)", f.rc,
           CURLE_PEER_FAILED_VERIFICATION);
    free(f.headers);

    snprintf(url, sizeof url, "%s/check.bin", c->ftp_url);
    fetch(&f, url, NULL, NULL, NULL, false, 30);
    record(c, "ftp", f.rc == CURLE_OK && f.len == CHECK_SIZE && strcmp(f.hex, want) == 0,
           "FTP RETR: curl %d, %zu bytes, sha256 %s", f.rc, f.len,
           strcmp(f.hex, want) == 0 ? "matches" : "DIFFERS");
    free(f.headers);
}

static void *loop_main(void *arg)
{
    event_base_loop(arg, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '"':
            fputs("&quot;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* Write JSON and JUnit XML into a new run directory and point latest at it. */
static int write_report(struct ctx *c, const char *reports, double total, char *dir, size_t dirlen)
{
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    mkdir(reports, 0755);
    snprintf(dir, dirlen, "%s/selfcheck-%s-%d", reports, stamp, (int)getpid());
    if (mkdir(dir, 0755) < 0)
        return -1;
    json_t *arr = json_array();
    size_t failures = 0;
    for (size_t i = 0; i < c->n; i++) {
        failures += !c->results[i].ok;
        json_array_append_new(arr, json_pack("{ss sb ss}", "name", c->results[i].name, "ok",
                                             c->results[i].ok, "detail", c->results[i].detail));
    }
    json_t *doc = json_pack("{ss ss si si sf so}", "suite", "self-check", "started", stamp, "tests",
                            (int)c->n, "failures", (int)failures, "seconds", total, "results", arr);
    char path[600];
    snprintf(path, sizeof path, "%s/results.json", dir);
    int rc = json_dump_file(doc, path, JSON_INDENT(2));
    json_decref(doc);
    snprintf(path, sizeof path, "%s/junit.xml", dir);
    FILE *f = fopen(path, "w");
    if (!f || rc < 0) {
        if (f)
            fclose(f);
        return -1;
    }
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuite name=\"self-check\" tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n",
            c->n, failures, total);
    for (size_t i = 0; i < c->n; i++) {
        fprintf(f, "  <testcase classname=\"self-check\" name=\"%s\">", c->results[i].name);
        if (!c->results[i].ok) {
            fputs("<failure message=\"", f);
            xml_escape(f, c->results[i].detail);
            fputs("\"/>", f);
        }
        fputs("</testcase>\n", f);
    }
    fputs("</testsuite>\n", f);
    fclose(f);
    char latest[600];
    snprintf(latest, sizeof latest, "%s/latest", reports);
    unlink(latest);
    const char *slash = strrchr(dir, '/');
    if (symlink(slash ? slash + 1 : dir, latest) < 0)
        return -1;
    return 0;
}

int xl_cmd_selfcheck(int argc, char **argv)
{
    static const struct option longopts[] = {{"reports", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *reports = "reports";
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            reports = optarg;
            break;
        case 'h':
            printf("usage: xferlab self-check [--reports DIR]\n\n"
                   "Start the fault servers on free loopback ports, check them with libcurl\n"
                   "(downloads, ranges, validators, faults, HTTPS, FTP) and write JSON and\n"
                   "JUnit XML under DIR (default: reports), pointing DIR/latest at the run.\n");
            return XL_EXIT_OK;
        default:
            fprintf(stderr, "xferlab self-check: unknown option '%s'\n", argv[optind - 1]);
            return XL_EXIT_USAGE;
        }
    }
    struct ctx *c = calloc(1, sizeof *c);
    char err[4096], dirbuf[256] = "";
    snprintf(dirbuf, sizeof dirbuf, "/tmp/xferlab-selfcheck-XXXXXX");
    if (!c || !mkdtemp(dirbuf)) {
        fprintf(stderr, "xferlab self-check: cannot make a temporary directory\n");
        free(c);
        return XL_EXIT_FAIL;
    }
    const char *args[] = {"self-check", "--http", "0",      "--https",          "0", "--ftp", "0",
                          "--certs",    dirbuf,   "--file", "/check.bin=4MiB:7"};
    struct xl_serve_opts o;
    if (xl_serve_parse((int)(sizeof args / sizeof *args), (char **)args, &o, err) < 0 ||
        xl_serve_setup(&c->w, &o, err, sizeof err) != 0) {
        fprintf(stderr, "xferlab self-check: %s\n", err);
        xl_serve_teardown(&c->w);
        free(c);
        return XL_EXIT_FAIL;
    }
    snprintf(c->base_url, sizeof c->base_url, "http://127.0.0.1:%u",
             flt_http_port(c->w.origin.http));
    snprintf(c->tls_url, sizeof c->tls_url, "https://localhost:%u",
             flt_http_port(c->w.origin.https));
    snprintf(c->ftp_url, sizeof c->ftp_url, "ftp://127.0.0.1:%u", flt_ftp_port(c->w.origin.ftp));
    snprintf(c->ca, sizeof c->ca, "%s", flt_pki_ca_path(c->w.pki));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t t;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_create(&t, NULL, loop_main, c->w.base);
    probes(c);
    event_base_loopbreak(c->w.base);
    pthread_join(t, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double total = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    size_t failed = 0;
    for (size_t i = 0; i < c->n; i++) {
        printf("%-4s %-16s %s\n", c->results[i].ok ? "ok" : "FAIL", c->results[i].name,
               c->results[i].detail);
        failed += !c->results[i].ok;
    }
    char dir[512];
    if (write_report(c, reports, total, dir, sizeof dir) < 0)
        fprintf(stderr, "xferlab self-check: cannot write the report under %s: %s\n", reports,
                strerror(errno));
    else
        printf("report: %s (JSON and JUnit XML)\n", dir);
    printf("%zu passed, %zu failed\n", c->n - failed, failed);
    xl_serve_teardown(&c->w);
    curl_global_cleanup();
    char cmd[300];
    /* Remove the certificates we wrote, then the directory. */
    static const char *const names[] = {"ca.pem",         "valid.crt",       "valid.key",
                                        "expired.crt",    "expired.key",     "wrong-host.crt",
                                        "wrong-host.key", "self-signed.crt", "self-signed.key"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(cmd, sizeof cmd, "%s/%s", dirbuf, names[i]);
        unlink(cmd);
    }
    rmdir(dirbuf);
    free(c);
    return failed ? XL_EXIT_FAIL : XL_EXIT_OK;
}
