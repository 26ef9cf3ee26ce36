/*
 * Tests for sim/link.c measured through libcurl (socks5h) against the fault
 * HTTP server, both on the fltenv loop thread: the relay (bytes and names),
 * every impairment measured in simulated time (bandwidth at 64 kbit/s and
 * 1 Gbit/s, shared by 4 connections, upload; latency and jitter; connect
 * delay; seeded loss), disconnects (reset, black hole, new connections
 * refused or never answered, network back), metering, exact byte triggers,
 * and malformed SOCKS input on raw sockets. Every test ends with no
 * connection left open in the link.
 *
 * The link's functions run on the loop thread: the test thread calls them
 * through on_loop() (event_base_once plus a wait), triggers call them directly.
 * Rates are measured between 1/8 and 7/8 of a transfer with curl's progress
 * callback and the simulated clock, so set-up and the bucket's first burst do
 * not count; the clock's scale makes each test a second or two of wall time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fltenv.h"
#include "http.h"
#include "link.h"

#define BIG      (16 * 1024 * 1024)
#define SEED_BIG 7
#define SEED_A   11 /* /who.bin on files.test */
#define SEED_B   12 /* /who.bin on cdn.test */
#define WHO      4096
#define MAX_EV   4096

struct world {
    struct fltenv env; /* server A (files.test) uses its rules, content, journal */
    struct flt_rules rules_b;
    struct flt_content content_b;
    struct flt_journal journal_b;
    struct flt_http *a, *b;
    struct sim_link *link;
    uint16_t port_a, port_b, link_port;
    char proxy[64];
    pthread_mutex_t lock; /* the fields below: written on the loop thread */
    struct sim_link_event *ev;
    size_t nev;
    size_t kinds[8];
    uint64_t metered_up, metered_down;
};

/* ---- the loop thread ------------------------------------------------------ */

static void on_bytes(void *arg, uint64_t up, uint64_t down)
{
    struct world *w = arg;
    pthread_mutex_lock(&w->lock);
    w->metered_up += up;
    w->metered_down += down;
    pthread_mutex_unlock(&w->lock);
}

static void on_event(void *arg, const struct sim_link_event *ev)
{
    struct world *w = arg;
    pthread_mutex_lock(&w->lock);
    if (w->nev < MAX_EV)
        w->ev[w->nev++] = *ev;
    if ((size_t)ev->kind < 8)
        w->kinds[ev->kind]++;
    pthread_mutex_unlock(&w->lock);
}

struct call {
    void (*fn)(struct world *w, void *arg);
    struct world *w;
    void *arg;
    atomic_bool done;
};

static void on_call(evutil_socket_t fd, short what, void *arg)
{
    struct call *k = arg;
    (void)fd;
    (void)what;
    k->fn(k->w, k->arg);
    atomic_store(&k->done, true);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Run fn on the loop thread and wait for it (directly while the loop is not running). */
static void on_loop(struct world *w, void (*fn)(struct world *w, void *arg), void *arg)
{
    if (!w->env.running) {
        fn(w, arg);
        return;
    }
    struct call k = {.fn = fn, .w = w, .arg = arg};
    atomic_init(&k.done, false);
    assert_int_equal(event_base_once(w->env.base, -1, EV_TIMEOUT, on_call, &k, NULL), 0);
    while (!atomic_load(&k.done)) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
}

struct netchange {
    struct sim_network net;
    enum sim_cut cut;
    struct sim_link_stats after; /* the link's stats right after the change */
};

static void do_set_net(struct world *w, void *arg)
{
    struct netchange *n = arg;
    sim_link_set_network(w->link, &n->net, n->cut);
    sim_link_stats(w->link, &n->after);
}

static void do_stats(struct world *w, void *arg)
{
    sim_link_stats(w->link, arg);
}

static struct sim_network net_up(void)
{
    struct sim_network n;
    memset(&n, 0, sizeof n);
    n.connectivity = SIM_CONN_INTERNET;
    n.type = SIM_NET_ETHERNET;
    n.cost = SIM_COST_UNRESTRICTED;
    n.period_ms = 30LL * 24 * 3600 * 1000;
    return n;
}

static struct sim_network net_down(void)
{
    struct sim_network n = net_up();
    n.connectivity = SIM_CONN_NONE;
    return n;
}

static void set_net(struct world *w, struct sim_network n, enum sim_cut cut)
{
    struct netchange c = {.net = n, .cut = cut};
    on_loop(w, do_set_net, &c);
}

static struct sim_link_stats stats(struct world *w)
{
    struct sim_link_stats s;
    on_loop(w, do_stats, &s);
    return s;
}

/* Wait (up to 10 s) until the link holds exactly n connections. */
static void assert_open(struct world *w, uint64_t n)
{
    struct sim_link_stats s = stats(w);
    for (int i = 0; i < 1000 && s.open != n; i++) {
        sleep_ms(10);
        s = stats(w);
    }
    if (s.open != n)
        fail_msg("the link holds %llu connection(s), want %llu", (unsigned long long)s.open,
                 (unsigned long long)n);
}

static void assert_no_open(struct world *w)
{
    assert_open(w, 0);
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Wait (up to 5 s) until the process has n file descriptors open again. */
static void assert_fds(int n)
{
    int now = count_fds();
    for (int i = 0; i < 500 && now != n; i++) {
        sleep_ms(10);
        now = count_fds();
    }
    if (now != n)
        fail_msg("%d file descriptors open, %d before: the link leaked", now, n);
}

static size_t kind_count(struct world *w, enum sim_link_event_kind k)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->kinds[k];
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* The first event of kind k after index from (a copy), or false. */
static bool find_event(struct world *w, enum sim_link_event_kind k, size_t from,
                       struct sim_link_event *out)
{
    bool found = false;
    pthread_mutex_lock(&w->lock);
    for (size_t i = from; i < w->nev && !found; i++)
        if (w->ev[i].kind == k) {
            *out = w->ev[i];
            found = true;
        }
    pthread_mutex_unlock(&w->lock);
    return found;
}

static double sim_s(const struct world *w)
{
    const struct xl_clock *c = &w->env.clock;
    return (double)c->sim0_ms / 1e3 + (double)(xl_mono_ns() - c->wall0_ns) * c->scale / 1e9;
}

/* ---- the world ------------------------------------------------------------- */

static void map(struct world *w, const char *name, uint16_t port, uint16_t to_port)
{
    char err[XL_ERRLEN];
    if (sim_link_map(w->link, name, port, "127.0.0.1", to_port, err, sizeof err) < 0)
        fail_msg("map %s: %s", name, err);
}

struct map_args {
    const char *name;
    uint16_t port, to_port;
};

static void do_map(struct world *w, void *arg)
{
    struct map_args *m = arg;
    map(w, m->name, m->port, m->to_port);
}

/* Servers A and B, the link with files.test -> A and cdn.test -> B; the loop running. */
static struct world *world_new(double scale)
{
    struct world *w = calloc(1, sizeof *w);
    char err[XL_ERRLEN];
    assert_non_null(w);
    pthread_mutex_init(&w->lock, NULL);
    w->ev = calloc(MAX_EV, sizeof *w->ev);
    assert_non_null(w->ev);
    assert_int_equal(fltenv_init(&w->env), 0);
    xl_clock_init(&w->env.clock, scale);
    fltenv_gen(&w->env, "/big.bin", BIG, SEED_BIG);
    fltenv_gen(&w->env, "/64m.bin", 64 * 1024 * 1024, 4);
    fltenv_gen(&w->env, "/1m.bin", 1024 * 1024, 5);
    fltenv_gen(&w->env, "/80k.bin", 80000, 6);
    fltenv_gen(&w->env, "/who.bin", WHO, SEED_A);
    fltenv_gen(&w->env, "/small.bin", 100, 3);
    struct flt_http_config hc = {.idle_timeout_s = 60};
    w->a = fltenv_http(&w->env, &hc);
    flt_rules_init(&w->rules_b);
    flt_content_init(&w->content_b);
    flt_journal_init(&w->journal_b);
    if (flt_content_add_gen(&w->content_b, "/who.bin", WHO, SEED_B, err) < 0)
        fail_msg("content: %s", err);
    w->b = flt_http_new(w->env.base, &hc, &w->rules_b, &w->content_b, &w->journal_b, &w->env.clock,
                        err);
    if (!w->b)
        fail_msg("server b: %s", err);
    w->port_a = flt_http_port(w->a);
    w->port_b = flt_http_port(w->b);
    struct sim_link_config lc = {
        .clock = &w->env.clock, .on_bytes = on_bytes, .on_event = on_event, .arg = w};
    w->link = sim_link_new(w->env.base, &lc, err, sizeof err);
    if (!w->link)
        fail_msg("link: %s", err);
    w->link_port = sim_link_port(w->link);
    map(w, "files.test", 0, w->port_a);
    map(w, "cdn.test", 0, w->port_b);
    snprintf(w->proxy, sizeof w->proxy, "socks5h://127.0.0.1:%u", w->link_port);
    assert_int_equal(fltenv_run(&w->env), 0);
    return w;
}

static void world_free(struct world *w)
{
    fltenv_stop(&w->env);
    sim_link_free(w->link);
    flt_http_free(w->a);
    flt_http_free(w->b);
    flt_rules_clear(&w->rules_b);
    flt_content_clear(&w->content_b);
    flt_journal_free(&w->journal_b);
    fltenv_free(&w->env);
    pthread_mutex_destroy(&w->lock);
    free(w->ev);
    free(w);
}

/* ---- libcurl through the link ------------------------------------------------ */

/* Steady-state rate and an optional network change at a byte, from curl's progress. */
struct probe {
    struct world *w;
    uint64_t total;  /* bytes expected: samples at 1/8 and 7/8 */
    uint64_t b1, b2; /* dlnow at the samples */
    double t1, t2;   /* simulated s */
    uint64_t cut_at; /* change the network once dlnow >= cut_at (0: never) */
    struct netchange change;
    bool cut_done;
};

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct probe *p = arg;
    (void)dltotal;
    (void)ultotal;
    (void)ulnow;
    uint64_t now = (uint64_t)dlnow;
    if (p->total) {
        if (!p->b1 && now >= p->total / 8) {
            p->b1 = now;
            p->t1 = sim_s(p->w);
        }
        if (!p->b2 && now >= p->total / 8 * 7) {
            p->b2 = now;
            p->t2 = sim_s(p->w);
        }
    }
    if (p->cut_at && !p->cut_done && now >= p->cut_at) {
        p->cut_done = true;
        on_loop(p->w, do_set_net, &p->change);
    }
    return 0;
}

static double probe_rate(const struct probe *p)
{
    assert_true(p->b2 > p->b1 && p->t2 > p->t1);
    return (double)(p->b2 - p->b1) / (p->t2 - p->t1);
}

struct res {
    int rc;
    long proxy_err, status;
    uint64_t header, body, request;
    bool keep;
    unsigned char *data;
    size_t cap;
    double pre, start, total; /* curl's times, wall s */
    double sim;               /* simulated s the transfer took */
    char error[CURL_ERROR_SIZE];
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct res *r = arg;
    size_t len = size * n;
    if (r->keep) {
        if (r->body + len > r->cap) {
            size_t ncap = r->cap ? r->cap * 2 : 65536;
            while (ncap < r->body + len)
                ncap *= 2;
            unsigned char *nd = realloc(r->data, ncap);
            if (!nd)
                return 0;
            r->data = nd;
            r->cap = ncap;
        }
        memcpy(r->data + r->body, p, len);
    }
    r->body += len;
    return len;
}

struct req {
    long connect_timeout_ms; /* 0: 5000 */
    long timeout_ms;         /* 0: 60000 */
    long low_speed_time;     /* s of less than 1 byte/s that abort (0: none) */
    bool keep, head;
    struct probe *probe;
};

static CURL *easy_new(struct world *w, const char *url, const struct req *q, struct res *r)
{
    CURL *h = curl_easy_init();
    assert_non_null(h);
    r->keep = q->keep;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROXY, w->proxy);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     q->connect_timeout_ms ? q->connect_timeout_ms : 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, q->timeout_ms ? q->timeout_ms : 60000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->error);
    if (q->head)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (q->low_speed_time) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, q->low_speed_time);
    }
    if (q->probe) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, q->probe);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    return h;
}

static void easy_collect(CURL *h, struct res *r)
{
    long hs = 0, rs = 0;
    curl_off_t pre = 0, start = 0, total = 0;
    curl_easy_getinfo(h, CURLINFO_PROXY_ERROR, &r->proxy_err);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_HEADER_SIZE, &hs);
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &rs);
    curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pre);
    curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &start);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total);
    r->header = (uint64_t)hs;
    r->request = (uint64_t)rs;
    r->pre = (double)pre / 1e6;
    r->start = (double)start / 1e6;
    r->total = (double)total / 1e6;
}

/* One transfer on a fresh connection. */
static int fetch(struct world *w, const char *url, const struct req *q, struct res *r)
{
    memset(r, 0, sizeof *r);
    CURL *h = easy_new(w, url, q, r);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    double t0 = sim_s(w);
    r->rc = (int)curl_easy_perform(h);
    r->sim = sim_s(w) - t0;
    easy_collect(h, r);
    curl_easy_cleanup(h);
    return r->rc;
}

static void res_release(struct res *r)
{
    free(r->data);
    r->data = NULL;
}

static void assert_gen(const struct res *r, uint64_t seed, uint64_t len)
{
    char want[65], got[65];
    assert_int_equal(r->body, len);
    fltenv_gen_sha256(seed, 0, 0, len, want);
    fltenv_sha256(r->data, (size_t)r->body, got);
    assert_string_equal(got, want);
}

static void assert_rate(double got, double want, const char *what)
{
    double ratio = got / want;
    printf("    %s: %.0f B/s simulated, want %.0f (x%.4f)\n", what, got, want, ratio);
    if (ratio < 0.95 || ratio > 1.05)
        fail_msg("%s: %.0f B/s is not within 5%% of %.0f B/s", what, got, want);
}

/* A port nothing listens on (bound, read, closed). */
static uint16_t closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- the relay ------------------------------------------------------------- */

static void test_relay_whole_entity(void **state)
{
    (void)state;
    struct world *w = world_new(1.0);
    struct res r;
    struct req q = {.keep = true};
    assert_int_equal(fetch(w, "http://files.test/big.bin", &q, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_gen(&r, SEED_BIG, BIG);
    struct sim_link_event ev;
    assert_true(find_event(w, SIM_LINK_OPEN, 0, &ev));
    assert_int_equal(ev.conn, 1);
    assert_string_equal(ev.target, "files.test:80");
    assert_no_open(w);
    struct sim_link_stats s = stats(w);
    assert_int_equal(s.connections, 1);
    assert_int_equal(s.refused, 0);
    assert_int_equal(s.down, r.header + r.body);
    assert_int_equal(s.up, r.request);
    assert_true(find_event(w, SIM_LINK_CLOSED, 0, &ev));
    assert_int_equal(ev.down, r.header + r.body);
    res_release(&r);
    world_free(w);
}

static void test_names_resolve_at_the_link(void **state)
{
    (void)state;
    struct world *w = world_new(1.0);
    struct res r;
    struct req q = {.keep = true};
    assert_int_equal(fetch(w, "http://files.test/who.bin", &q, &r), CURLE_OK);
    assert_gen(&r, SEED_A, WHO);
    res_release(&r);
    assert_int_equal(fetch(w, "http://CDN.test/who.bin", &q, &r), CURLE_OK);
    assert_gen(&r, SEED_B, WHO);
    res_release(&r);
    /* A port-specific entry beats the name's wildcard. */
    struct map_args m = {"cdn.test", 8080, w->port_a};
    on_loop(w, do_map, &m);
    assert_int_equal(fetch(w, "http://cdn.test:8080/who.bin", &q, &r), CURLE_OK);
    assert_gen(&r, SEED_A, WHO);
    res_release(&r);
    assert_int_equal(fetch(w, "http://cdn.test:81/who.bin", &q, &r), CURLE_OK);
    assert_gen(&r, SEED_B, WHO);
    res_release(&r);
    assert_int_equal(flt_journal_count(&w->journal_b), 2);
    assert_int_equal(flt_journal_count(&w->env.journal), 2);

    /* Unknown: reply 4. Mapped to a port nobody listens on: reply 5. */
    assert_int_equal(fetch(w, "http://nowhere.test/who.bin", &q, &r), CURLE_PROXY);
    assert_int_equal(r.proxy_err, CURLPX_REPLY_HOST_UNREACHABLE);
    res_release(&r);
    struct map_args dead = {"closed.test", 0, closed_port()};
    on_loop(w, do_map, &dead);
    assert_int_equal(fetch(w, "http://closed.test/who.bin", &q, &r), CURLE_PROXY);
    assert_int_equal(r.proxy_err, CURLPX_REPLY_CONNECTION_REFUSED);
    res_release(&r);
    struct sim_link_event ev;
    assert_true(find_event(w, SIM_LINK_REFUSED, 0, &ev));
    assert_string_equal(ev.target, "nowhere.test:80");
    assert_non_null(strstr(ev.detail, "reply 4"));
    assert_no_open(w);
    struct sim_link_stats s = stats(w);
    assert_int_equal(s.connections, 4);
    assert_int_equal(s.refused, 2);
    world_free(w);
}

static void test_address_literals(void **state)
{
    (void)state;
    struct world *w = world_new(1.0);
    struct res r;
    struct req q = {.keep = true};
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/who.bin", w->port_a);
    assert_int_equal(fetch(w, url, &q, &r), CURLE_OK);
    assert_gen(&r, SEED_A, WHO);
    res_release(&r);
    assert_int_equal(fetch(w, "http://10.1.2.3/who.bin", &q, &r), CURLE_PROXY);
    assert_int_equal(r.proxy_err, CURLPX_REPLY_NOT_ALLOWED);
    res_release(&r);
    assert_int_equal(fetch(w, "http://[2001:db8::1]/who.bin", &q, &r), CURLE_PROXY);
    assert_int_equal(r.proxy_err, CURLPX_REPLY_NOT_ALLOWED);
    res_release(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/who.bin", closed_port());
    assert_int_equal(fetch(w, url, &q, &r), CURLE_PROXY);
    assert_int_equal(r.proxy_err, CURLPX_REPLY_CONNECTION_REFUSED);
    res_release(&r);
    assert_no_open(w);
    assert_int_equal(stats(w).refused, 3);
    world_free(w);
}

/* ---- bandwidth ------------------------------------------------------------- */

static void test_bandwidth_64kbit(void **state)
{
    (void)state;
    struct world *w = world_new(10.0); /* 80000 bytes: 10 s simulated, 1 s wall */
    struct sim_network n = net_up();
    n.down_bps = 8000;
    set_net(w, n, SIM_CUT_RESET);
    struct probe p = {.w = w, .total = 80000};
    struct req q = {.probe = &p};
    struct res r;
    assert_int_equal(fetch(w, "http://files.test/80k.bin", &q, &r), CURLE_OK);
    assert_int_equal(r.body, 80000);
    assert_rate(probe_rate(&p), 8000, "64 kbit/s steady");
    assert_rate((double)(r.header + r.body) / r.sim, 8000, "64 kbit/s whole transfer");
    assert_no_open(w);
    world_free(w);
}

static void test_bandwidth_1gbit(void **state)
{
    (void)state;
    struct world *w = world_new(0.5); /* 125 MB/s simulated is 62.5 MB/s of wall time */
    struct sim_network n = net_up();
    n.down_bps = 125000000;
    set_net(w, n, SIM_CUT_RESET);
    struct probe p = {.w = w, .total = 64 * 1024 * 1024};
    struct req q = {.probe = &p};
    struct res r;
    assert_int_equal(fetch(w, "http://files.test/64m.bin", &q, &r), CURLE_OK);
    assert_int_equal(r.body, 64 * 1024 * 1024);
    assert_rate(probe_rate(&p), 125e6, "1 Gbit/s steady");
    assert_rate((double)(r.header + r.body) / r.sim, 125e6, "1 Gbit/s whole transfer");
    assert_no_open(w);
    world_free(w);
}

/* 4 transfers at once share 8 Mbit/s: the sum is the rate, each gets its share. */
static void test_bandwidth_shared(void **state)
{
    (void)state;
    struct world *w = world_new(4.0);
    struct sim_network n = net_up();
    n.down_bps = 1000000;
    set_net(w, n, SIM_CUT_RESET);
    CURLM *m = curl_multi_init();
    CURL *h[4];
    struct res r[4];
    struct req q = {0};
    memset(r, 0, sizeof r);
    for (int i = 0; i < 4; i++) {
        h[i] = easy_new(w, "http://files.test/1m.bin", &q, &r[i]);
        curl_easy_setopt(h[i], CURLOPT_FORBID_REUSE, 1L);
        curl_multi_add_handle(m, h[i]);
    }
    int running = 1;
    while (running) {
        assert_int_equal(curl_multi_perform(m, &running), CURLM_OK);
        if (running)
            curl_multi_poll(m, NULL, 0, 10, NULL);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)))
        for (int i = 0; i < 4; i++)
            if (msg->easy_handle == h[i])
                r[i].rc = (int)msg->data.result;
    uint64_t bytes = 0;
    double first = 1e9, last = 0;
    for (int i = 0; i < 4; i++) {
        easy_collect(h[i], &r[i]);
        assert_int_equal(r[i].rc, CURLE_OK);
        assert_int_equal(r[i].body, 1024 * 1024);
        bytes += r[i].header + r[i].body;
        first = r[i].total < first ? r[i].total : first;
        last = r[i].total > last ? r[i].total : last;
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
    }
    curl_multi_cleanup(m);
    double scale = w->env.clock.scale;
    assert_rate((double)bytes / (last * scale), 1e6, "4 connections, sum");
    printf("    first done at %.2f s, last at %.2f s (simulated)\n", first * scale, last * scale);
    assert_true(first >= 0.9 * last); /* round robin: all finish together */
    assert_no_open(w);
    world_free(w);
}

/* Upload at 1 Mbit/s, measured by the server (its journal, simulated ms). */
static void test_bandwidth_upload(void **state)
{
    (void)state;
    struct world *w = world_new(10.0);
    struct sim_network n = net_up();
    n.up_bps = 125000;
    set_net(w, n, SIM_CUT_RESET);
    size_t len = 2 * 1024 * 1024;
    char *body = malloc(len);
    assert_non_null(body);
    memset(body, 'u', len);
    struct res r;
    struct req q = {0};
    memset(&r, 0, sizeof r);
    CURL *h = easy_new(w, "http://files.test/up.bin", &q, &r);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    r.rc = (int)curl_easy_perform(h);
    easy_collect(h, &r);
    curl_easy_cleanup(h);
    free(body);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 201);
    assert_true(fltenv_wait_ended(&w->env, 1));
    struct flt_jentry e;
    assert_int_equal(flt_journal_get(&w->env.journal, 0, &e), 0);
    assert_int_equal(e.received, len);
    double secs = (double)(e.end_ms - e.t_ms) / 1e3;
    flt_jentry_release(&e);
    assert_rate((double)len / secs, 125000, "upload 1 Mbit/s");
    assert_no_open(w);
    world_free(w);
}

/* ---- latency, jitter, connect delay, loss ------------------------------------- */

static void test_latency_and_jitter(void **state)
{
    (void)state;
    struct world *w = world_new(2.0);
    double scale = w->env.clock.scale;
    struct sim_network n = net_up();
    n.latency_ms = 100;
    set_net(w, n, SIM_CUT_RESET);
    struct res r;
    struct req q = {0};
    assert_int_equal(fetch(w, "http://files.test/who.bin", &q, &r), CURLE_OK);
    double connect = r.pre * scale, ttfb = (r.start - r.pre) * scale;
    printf("    latency 100 ms: CONNECT answered after %.0f ms, first byte %.0f ms after the "
           "request\n",
           connect * 1e3, ttfb * 1e3);
    assert_true(connect >= 0.200 && connect < 0.300); /* the round trip to the target */
    assert_true(ttfb >= 0.200 && ttfb < 0.300);       /* request + response, one way each */

    /* Jitter 0..100 ms each way: every exchange in [2L, 2(L+J)], and not all alike. */
    n.latency_ms = 50;
    n.jitter_ms = 100;
    n.seed = 3;
    set_net(w, n, SIM_CUT_RESET);
    CURL *h = easy_new(w, "http://files.test/who.bin", &q, &r);
    double lo = 1e9, hi = 0;
    for (int i = 0; i < 8; i++) {
        memset(&r, 0, sizeof r);
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        easy_collect(h, &r);
        double t = (r.start - r.pre) * scale;
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    curl_easy_cleanup(h);
    printf("    latency 50 ms, jitter 100 ms: first byte after %.0f..%.0f ms\n", lo * 1e3,
           hi * 1e3);
    assert_true(lo >= 0.100);
    assert_true(hi < 0.300 + 0.050);
    assert_true(hi - lo > 0.020);
    assert_no_open(w);
    world_free(w);
}

static void test_connect_delay(void **state)
{
    (void)state;
    struct world *w = world_new(1.0);
    struct sim_network n = net_up();
    n.connect_delay_ms = 5000;
    set_net(w, n, SIM_CUT_RESET);
    struct res r;
    struct req q = {.connect_timeout_ms = 300};
    assert_int_equal(fetch(w, "http://files.test/who.bin", &q, &r), CURLE_OPERATION_TIMEDOUT);
    assert_no_open(w); /* the link noticed the client gave up */
    assert_int_equal(stats(w).connections, 0);

    n.connect_delay_ms = 200;
    set_net(w, n, SIM_CUT_RESET);
    q.connect_timeout_ms = 5000;
    assert_int_equal(fetch(w, "http://files.test/who.bin", &q, &r), CURLE_OK);
    assert_true(r.pre * w->env.clock.scale >= 0.200);
    assert_no_open(w);
    world_free(w);
}

static void do_jump(struct world *w, void *arg)
{
    xl_clock_advance(&w->env.clock, *(int64_t *)arg);
    sim_link_clock_jumped(w->link);
}

/*
 * A CONNECT held by a connect delay is counted as held and unanswered, the
 * stats say when the delay ends, and a clock jump to that time answers it at
 * once (what lets a harness jump over a connect timeout exactly).
 */
static void test_connect_delay_held_then_jumped(void **state)
{
    (void)state;
    struct world *w = world_new(1.0);
    struct sim_network n = net_up();
    n.connect_delay_ms = 3600 * 1000;
    set_net(w, n, SIM_CUT_RESET);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(w->link_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const unsigned char req[] = {5,   1,   0,   5,   1,   0,   3,   10,  'f', 'i',
                                 'l', 'e', 's', '.', 't', 'e', 's', 't', 0,   80};
    assert_int_equal(send(fd, req, sizeof req, MSG_NOSIGNAL), (ssize_t)sizeof req);
    struct sim_link_stats st = stats(w);
    for (int i = 0; i < 1000 && st.unanswered != 1; i++) {
        sleep_ms(10);
        st = stats(w);
    }
    int64_t now = xl_clock_now_ms(&w->env.clock);
    assert_int_equal(st.open, 1);
    assert_int_equal(st.held, 1);
    assert_int_equal(st.unanswered, 1);
    assert_true(st.next_ms > now + 3590 * 1000 && st.next_ms <= now + 3600 * 1000);
    unsigned char rep[10];
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(recv(fd, rep, 2, MSG_WAITALL), 2); /* the greeting's answer only */
    assert_int_equal(recv(fd, rep, sizeof rep, MSG_DONTWAIT), -1);
    int64_t jump = st.next_ms - now;
    on_loop(w, do_jump, &jump);
    assert_int_equal(recv(fd, rep, sizeof rep, MSG_WAITALL), (ssize_t)sizeof rep);
    assert_int_equal(rep[1], 0); /* answered: connected */
    st = stats(w);
    assert_int_equal(st.held, 0);
    assert_int_equal(st.unanswered, 0);
    assert_true(st.next_ms == INT64_MAX);
    close(fd);
    assert_no_open(w);
    world_free(w);
}

/* k[i]: how many 200 ms retransmission delays the i-th of 10 HEAD exchanges took. */
static void heads_with_loss(struct world *w, double loss, uint64_t seed, long k[10])
{
    struct sim_network n = net_up();
    n.loss = loss;
    n.seed = seed;
    set_net(w, n, SIM_CUT_RESET);
    struct res r;
    struct req q = {.head = true};
    memset(&r, 0, sizeof r);
    CURL *h = easy_new(w, "http://files.test/who.bin", &q, &r);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        easy_collect(h, &r);
        double t = r.total * w->env.clock.scale;
        k[i] = (long)(t / 0.2 + 0.5);
        double off = t - 0.2 * (double)k[i];
        assert_true(off > -0.08 && off < 0.08);
    }
    curl_easy_cleanup(h);
}

static void test_loss_is_seeded(void **state)
{
    (void)state;
    long k1[10], k2[10], all[10], none[10];
    struct world *w = world_new(4.0);
    heads_with_loss(w, 0.5, 42, k1);
    heads_with_loss(w, 1.0, 1, all);
    heads_with_loss(w, 0.0, 1, none);
    assert_no_open(w);
    world_free(w);
    w = world_new(4.0); /* the same connection numbers, seed and bytes: the same losses */
    heads_with_loss(w, 0.5, 42, k2);
    assert_no_open(w);
    world_free(w);
    long sum = 0;
    printf("    loss 50%%, seed 42: retransmissions per exchange:");
    for (int i = 0; i < 10; i++) {
        printf(" %ld", k1[i]);
        assert_int_equal(k1[i], k2[i]);
        assert_int_equal(all[i], 2); /* the request and the response, one RTO each */
        assert_int_equal(none[i], 0);
        assert_true(k1[i] >= 0 && k1[i] <= 2);
        sum += k1[i];
    }
    printf("\n");
    assert_true(sum >= 2 && sum <= 18);
}

/* ---- disconnects ------------------------------------------------------------- */

static void test_reset_then_refused_then_back(void **state)
{
    (void)state;
    struct world *w = world_new(1.0);
    struct sim_network n = net_up();
    n.down_bps = 20000000; /* so the cut lands mid-transfer */
    set_net(w, n, SIM_CUT_RESET);
    struct probe p = {.w = w, .cut_at = 2 * 1024 * 1024};
    p.change.net = net_down();
    p.change.cut = SIM_CUT_RESET;
    struct res r;
    struct req q = {.probe = &p};
    assert_int_equal(fetch(w, "http://files.test/big.bin", &q, &r), CURLE_RECV_ERROR);
    assert_true(p.cut_done);
    assert_true(r.body >= 2 * 1024 * 1024 && r.body < BIG);
    /* The client got exactly what the link had delivered when it cut. */
    assert_int_equal(r.header + r.body, p.change.after.down);
    assert_int_equal(kind_count(w, SIM_LINK_RESET), 1);
    assert_no_open(w);

    /* New connections: reply 3. */
    struct req plain = {0};
    assert_int_equal(fetch(w, "http://files.test/who.bin", &plain, &r), CURLE_PROXY);
    assert_int_equal(r.proxy_err, CURLPX_REPLY_NETWORK_UNREACHABLE);
    set_net(w, net_up(), SIM_CUT_RESET);
    assert_int_equal(fetch(w, "http://files.test/who.bin", &plain, &r), CURLE_OK);
    assert_int_equal(r.body, WHO);
    assert_no_open(w);
    world_free(w);
}

/* A SOCKS CONNECT on a raw socket; returns the fd after reply 0 (or -1 with *reply). */
static int raw_socks(struct world *w, const char *name, uint16_t port, int *reply)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(w->link_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    unsigned char req[300] = {5, 1, 0, 5, 1, 0, 3};
    size_t nl = strlen(name);
    req[7] = (unsigned char)nl;
    memcpy(req + 8, name, nl);
    req[8 + nl] = (unsigned char)(port >> 8);
    req[9 + nl] = (unsigned char)port;
    assert_int_equal(send(fd, req, 10 + nl, MSG_NOSIGNAL), (ssize_t)(10 + nl));
    unsigned char rep[12];
    assert_int_equal(recv(fd, rep, 2, MSG_WAITALL), 2);
    assert_int_equal(recv(fd, rep, 10, MSG_WAITALL), 10);
    *reply = rep[1];
    if (rep[1] != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read everything already there; returns bytes read (the socket stays open). */
static size_t drain(int fd, int wait_ms)
{
    size_t total = 0;
    unsigned char buf[65536];
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    while (poll(&pf, 1, wait_ms) > 0) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    return total;
}

static void test_blackhole_then_reset_then_back(void **state)
{
    (void)state;
    struct world *w = world_new(1.0);
    struct sim_network n = net_up();
    n.down_bps = 20000000;
    set_net(w, n, SIM_CUT_RESET);
    struct probe p = {.w = w, .cut_at = 2 * 1024 * 1024};
    p.change.net = net_down();
    p.change.cut = SIM_CUT_BLACKHOLE;
    struct res r;
    struct req q = {.probe = &p, .low_speed_time = 1};
    assert_int_equal(fetch(w, "http://files.test/big.bin", &q, &r), CURLE_OPERATION_TIMEDOUT);
    assert_true(p.cut_done);
    /* Silence: not one byte after the cut, and the client saw no error until its timeout. */
    assert_int_equal(r.header + r.body, p.change.after.down);
    assert_int_equal(stats(w).down, p.change.after.down);
    assert_int_equal(kind_count(w, SIM_LINK_BLACKHOLED), 1);
    assert_int_equal(kind_count(w, SIM_LINK_RESET), 0);
    assert_no_open(w); /* gone once curl gave up */

    /* New connections are never answered: the connect timeout, not a SOCKS error. */
    struct req quick = {.connect_timeout_ms = 300};
    assert_int_equal(fetch(w, "http://files.test/who.bin", &quick, &r), CURLE_OPERATION_TIMEDOUT);
    assert_no_open(w);

    /* A live connection goes silent, stays dead when the network returns, then a RESET cut
     * resets it. */
    set_net(w, n, SIM_CUT_RESET);
    int reply = -1;
    int fd = raw_socks(w, "files.test", 80, &reply);
    assert_int_equal(reply, 0);
    const char get[] = "GET /big.bin HTTP/1.1\r\nHost: files.test\r\n\r\n";
    assert_int_equal(send(fd, get, sizeof get - 1, MSG_NOSIGNAL), (ssize_t)(sizeof get - 1));
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 5000), 1); /* bytes flow */
    set_net(w, net_down(), SIM_CUT_BLACKHOLE);
    drain(fd, 50);                       /* what was delivered before the cut */
    assert_int_equal(drain(fd, 300), 0); /* then nothing */
    set_net(w, n, SIM_CUT_RESET);
    assert_int_equal(drain(fd, 300), 0); /* still nothing: its bytes were lost */
    struct req plain = {0};
    assert_int_equal(fetch(w, "http://cdn.test/who.bin", &plain, &r), CURLE_OK); /* new: fine */
    assert_open(w, 1); /* only the dead one */
    set_net(w, net_down(), SIM_CUT_RESET);
    char c;
    ssize_t got = recv(fd, &c, 1, 0);
    assert_true(got < 0 && errno == ECONNRESET);
    close(fd);
    assert_int_equal(kind_count(w, SIM_LINK_RESET), 1);
    set_net(w, net_up(), SIM_CUT_RESET);
    assert_int_equal(fetch(w, "http://files.test/who.bin", &plain, &r), CURLE_OK);
    assert_no_open(w);
    world_free(w);
}

/* ---- metering and triggers ------------------------------------------------------ */

static void test_metering_counts_forwarded_bytes(void **state)
{
    (void)state;
    struct world *w = world_new(1.0);
    struct res r1, r2;
    struct req q = {0};
    assert_int_equal(fetch(w, "http://files.test/1m.bin", &q, &r1), CURLE_OK);
    assert_int_equal(fetch(w, "http://cdn.test/who.bin", &q, &r2), CURLE_OK);
    assert_no_open(w);
    uint64_t down = r1.header + r1.body + r2.header + r2.body, up = r1.request + r2.request;
    pthread_mutex_lock(&w->lock);
    uint64_t mu = w->metered_up, md = w->metered_down;
    pthread_mutex_unlock(&w->lock);
    assert_int_equal(md, down);
    assert_int_equal(mu, up);
    struct sim_link_stats s = stats(w);
    assert_int_equal(s.down, down);
    assert_int_equal(s.up, up);
    world_free(w);
}

struct trig {
    struct world *w;
    atomic_int fired;
    uint64_t conn, at;
};

static void on_trigger_cut(void *arg, uint64_t conn, uint64_t at)
{
    struct trig *t = arg;
    pthread_mutex_lock(&t->w->lock);
    t->conn = conn;
    t->at = at;
    pthread_mutex_unlock(&t->w->lock);
    atomic_fetch_add(&t->fired, 1);
    struct sim_network down = net_down();
    sim_link_set_network(t->w->link, &down, SIM_CUT_RESET);
}

struct trig_args {
    struct trig *t;
    uint64_t conn, n;
    int id;
};

static void do_trigger(struct world *w, void *arg)
{
    struct trig_args *a = arg;
    if (a->conn)
        a->id = sim_link_at_conn_bytes(w->link, a->conn, a->n, on_trigger_cut, a->t);
    else
        a->id = sim_link_at_bytes(w->link, a->n, on_trigger_cut, a->t);
}

static void test_trigger_at_total_bytes(void **state)
{
    (void)state;
    struct world *w = world_new(1.0);
    struct trig t = {.w = w};
    struct trig_args a = {.t = &t, .n = 100000};
    on_loop(w, do_trigger, &a);
    assert_true(a.id > 0);
    struct res r;
    struct req q = {0};
    assert_int_equal(fetch(w, "http://files.test/big.bin", &q, &r), CURLE_RECV_ERROR);
    assert_int_equal(atomic_load(&t.fired), 1);
    assert_int_equal(r.header + r.body, 100000); /* exactly, through an unlimited link */
    assert_int_equal(t.conn, 1);
    assert_int_equal(t.at, 100000);
    assert_int_equal(stats(w).down, 100000);
    struct sim_link_event ev;
    assert_true(find_event(w, SIM_LINK_TRIGGER, 0, &ev));
    assert_int_equal(ev.down, 100000);
    assert_no_open(w);
    world_free(w);
}

static void test_trigger_at_connection_bytes(void **state)
{
    (void)state;
    struct world *w = world_new(1.0);
    struct sim_network n = net_up();
    n.down_bps = 50000000; /* through the bucket this time */
    set_net(w, n, SIM_CUT_RESET);
    struct trig t = {.w = w};
    struct trig_args a = {.t = &t, .conn = 2, .n = 54321};
    on_loop(w, do_trigger, &a);
    assert_true(a.id > 0);
    struct res r;
    struct req q = {0};
    assert_int_equal(fetch(w, "http://files.test/1m.bin", &q, &r), CURLE_OK); /* connection 1 */
    assert_int_equal(atomic_load(&t.fired), 0);
    uint64_t first = r.header + r.body;
    assert_int_equal(fetch(w, "http://files.test/big.bin", &q, &r), CURLE_RECV_ERROR);
    assert_int_equal(atomic_load(&t.fired), 1);
    assert_int_equal(r.header + r.body, 54321);
    assert_int_equal(t.conn, 2);
    assert_int_equal(stats(w).down, first + 54321);
    assert_no_open(w);
    world_free(w);
}

/* ---- bad input ------------------------------------------------------------------ */

/*
 * Send bytes on a fresh connection to the link (then SHUT_WR if shut), collect
 * what comes back until the link closes. Returns 0 (FIN), an errno, or -2 if
 * the link kept it open for 5 s.
 */
static int raw_talk(struct world *w, const void *buf, size_t len, bool shut, unsigned char *reply,
                    size_t cap, size_t *got)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(w->link_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, (const char *)buf + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the link closed early: fine */
        off += (size_t)n;
    }
    if (shut)
        shutdown(fd, SHUT_WR);
    *got = 0;
    int end = -2;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    while (poll(&pf, 1, 5000) > 0) {
        unsigned char tmp[512];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n > 0) {
            size_t k = (size_t)n < cap - *got ? (size_t)n : cap - *got;
            memcpy(reply + *got, tmp, k);
            *got += k;
            continue;
        }
        end = n == 0 ? 0 : errno;
        break;
    }
    close(fd);
    return end;
}

struct bad_case {
    const char *what;
    unsigned char in[300];
    size_t len;
    bool shut;
    unsigned char out[16]; /* the expected reply bytes */
    size_t outlen;
};

static void test_malformed_socks(void **state)
{
    (void)state;
    struct world *w = world_new(100.0); /* the 30 s handshake timeout is 0.3 s of wall time */
    int fds = count_fds();
#define G       5, 1, 0 /* a good greeting */
#define OK      5, 0
#define R(code) 5, code, 0, 1, 0, 0, 0, 0, 0, 0 /* a reply with no address */
    static const struct bad_case cases[] = {
        {"bad version", {4, 1, 0}, 3, true, {0}, 0},
        {"no methods", {5, 0}, 2, true, {5, 0xff}, 2},
        {"no acceptable method", {5, 1, 2}, 3, true, {5, 0xff}, 2},
        {"truncated greeting", {5, 3, 0}, 3, true, {0}, 0},
        {"truncated request", {G, 5, 1, 0, 3, 10, 'a', 'b', 'c'}, 9, true, {OK}, 2},
        {"huge domain length, truncated", {G, 5, 1, 0, 3, 255, 'x', 'y'}, 10, true, {OK}, 2},
        {"empty name", {G, 5, 1, 0, 3, 0, 0, 80}, 10, false, {OK, R(1)}, 12},
        {"name with a NUL", {G, 5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80}, 13, false, {OK, R(1)}, 12},
        {"request version 4", {G, 4, 1, 0, 1, 127, 0, 0, 1, 0, 80}, 13, false, {OK}, 2},
        {"BIND", {G, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80}, 13, false, {OK, R(7)}, 12},
        {"UDP ASSOCIATE", {G, 5, 3, 0, 1, 127, 0, 0, 1, 0, 80}, 13, false, {OK, R(7)}, 12},
        {"reserved byte", {G, 5, 1, 1, 1, 127, 0, 0, 1, 0, 80}, 13, false, {OK, R(1)}, 12},
        {"address type 2", {G, 5, 1, 0, 2, 127, 0, 0, 1, 0, 80}, 13, false, {OK, R(8)}, 12},
        {"stall in the greeting", {5}, 1, false, {0}, 0},
        {"stall after the greeting", {G}, 3, false, {OK}, 2},
        {"stall in the request", {G, 5, 1, 0, 3, 20, 'f'}, 9, false, {OK}, 2},
        {"nothing at all", {0}, 0, true, {0}, 0},
    };
#undef G
#undef OK
#undef R
    size_t nbad = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < nbad; i++) {
        unsigned char reply[64];
        size_t got;
        int end = raw_talk(w, cases[i].in, cases[i].len, cases[i].shut, reply, sizeof reply, &got);
        if (end != 0 && end != ECONNRESET)
            fail_msg("%s: the link did not close the connection (%d)", cases[i].what, end);
        if (got != cases[i].outlen || memcmp(reply, cases[i].out, got) != 0)
            fail_msg("%s: %zu reply bytes, want %zu", cases[i].what, got, cases[i].outlen);
    }
    assert_int_equal(kind_count(w, SIM_LINK_BAD_REQUEST), nbad);
    struct sim_link_event ev;
    assert_true(find_event(w, SIM_LINK_BAD_REQUEST, 0, &ev));

    /* A valid 255-byte unknown name is refused (reply 4), not malformed. */
    unsigned char longname[3 + 7 + 255] = {5, 1, 0, 5, 1, 0, 3, 255};
    memset(longname + 8, 'a', 255);
    longname[8 + 255] = 0;
    longname[9 + 255] = 80;
    unsigned char reply[64];
    size_t got;
    assert_int_equal(raw_talk(w, longname, sizeof longname, false, reply, sizeof reply, &got), 0);
    assert_int_equal(got, 12);
    assert_int_equal(reply[3], 4);

    /* Oversized: a good greeting then 64 KiB of garbage; random garbage; seeded fuzz. */
    size_t blen = 65536;
    unsigned char *junk = malloc(blen);
    assert_non_null(junk);
    uint64_t x = 0x1234567;
    for (size_t i = 0; i < blen; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        junk[i] = (unsigned char)(x >> 56);
    }
    junk[0] = 5, junk[1] = 1, junk[2] = 0, junk[3] = 0x47;
    int end = raw_talk(w, junk, blen, true, reply, sizeof reply, &got);
    assert_true(end == 0 || end == ECONNRESET);
    junk[0] = 0x47;
    end = raw_talk(w, junk, 4096, true, reply, sizeof reply, &got);
    assert_true(end == 0 || end == ECONNRESET);
    assert_int_equal(got, 0);
    for (int i = 0; i < 200; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t len = (size_t)(x >> 40) % 600;
        unsigned char *in = junk + (size_t)(x >> 20) % (blen - 600);
        if (i % 2 && len > 3) { /* a good greeting first, so the request parser sees junk */
            in[0] = 5;
            in[1] = 1;
            in[2] = 0;
            in[3] = 5;
        }
        raw_talk(w, in, len, true, reply, sizeof reply, &got);
    }
    free(junk);

    /* The link is still fine, and holds nothing: no connection, no socket, no pipe. */
    struct res r;
    struct req q = {0};
    assert_int_equal(fetch(w, "http://files.test/who.bin", &q, &r), CURLE_OK);
    assert_int_equal(r.body, WHO);
    assert_no_open(w);
    assert_fds(fds);
    world_free(w);
}

/* An optional argument: run only the tests matching this pattern (cmocka's filter). */
int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay_whole_entity),
        cmocka_unit_test(test_names_resolve_at_the_link),
        cmocka_unit_test(test_address_literals),
        cmocka_unit_test(test_bandwidth_64kbit),
        cmocka_unit_test(test_bandwidth_1gbit),
        cmocka_unit_test(test_bandwidth_shared),
        cmocka_unit_test(test_bandwidth_upload),
        cmocka_unit_test(test_latency_and_jitter),
        cmocka_unit_test(test_connect_delay),
        cmocka_unit_test(test_connect_delay_held_then_jumped),
        cmocka_unit_test(test_loss_is_seeded),
        cmocka_unit_test(test_reset_then_refused_then_back),
        cmocka_unit_test(test_blackhole_then_reset_then_back),
        cmocka_unit_test(test_metering_counts_forwarded_bytes),
        cmocka_unit_test(test_trigger_at_total_bytes),
        cmocka_unit_test(test_trigger_at_connection_bytes),
        cmocka_unit_test(test_malformed_socks),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
