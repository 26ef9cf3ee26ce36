/*
 * Tests for faults/listener.c on its own, with a trivial accept callback that
 * closes each socket and records its connection number: numbering 1..n, refuse
 * rules added and removed from the test thread while the loop runs (the socket
 * closes, connects get ECONNREFUSED, it reopens on the same port), timed refuse
 * windows, and the errors for a port in use and an address that is not one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fltenv.h"
#include "listener.h"

#define MAX_SEEN 64

/* What the accept callback saw; written on the loop thread, read on the test thread. */
struct seen {
    pthread_mutex_t lock;
    uint64_t conns[MAX_SEEN];
    size_t n;
};

struct world {
    struct fltenv env;
    struct flt_listener *l;
    struct seen seen;
    uint16_t port;
};

static void on_accept(int fd, const struct sockaddr *sa, socklen_t salen, uint64_t conn, void *arg)
{
    struct seen *s = arg;
    (void)sa;
    (void)salen;
    close(fd);
    pthread_mutex_lock(&s->lock);
    if (s->n < MAX_SEEN)
        s->conns[s->n] = conn;
    s->n++;
    pthread_mutex_unlock(&s->lock);
}

static size_t seen_count(struct world *w)
{
    pthread_mutex_lock(&w->seen.lock);
    size_t n = w->seen.n;
    pthread_mutex_unlock(&w->seen.lock);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/*
 * A listener on 127.0.0.1 with rules already in force, its loop running. Its
 * port lies below the ephemeral range: while it is refusing, no other socket
 * on the machine (another test's port 0, a client's source port, which would
 * connect to itself) can be given that port, so a connect there is refused.
 */
static struct world *world_new(const char *const *rules)
{
    struct world *w = calloc(1, sizeof *w);
    char err[XL_ERRLEN] = "";
    assert_non_null(w);
    pthread_mutex_init(&w->seen.lock, NULL);
    assert_int_equal(fltenv_init(&w->env), 0);
    for (size_t i = 0; rules && rules[i]; i++)
        fltenv_rule(&w->env, rules[i]);
    unsigned lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2)
            lo = 32768;
        fclose(f);
    }
    unsigned span = lo > 11024 ? 10000 : 0, r = (unsigned)getpid() ^ (unsigned)xl_mono_ns();
    for (int i = 0; i < 100 && !w->l; i++) {
        uint16_t port = span ? (uint16_t)(lo - 1 - (unsigned)rand_r(&r) % span) : 0;
        w->l = flt_listener_new(w->env.base, NULL, port, &w->env.rules, &w->env.clock, on_accept,
                                &w->seen, err);
    }
    if (!w->l)
        fail_msg("listener: %s", err);
    w->port = flt_listener_port(w->l);
    assert_true(w->port != 0);
    assert_int_equal(fltenv_run(&w->env), 0);
    return w;
}

static void world_free(struct world *w)
{
    fltenv_stop(&w->env);
    flt_listener_free(w->l);
    fltenv_free(&w->env);
    pthread_mutex_destroy(&w->seen.lock);
    free(w);
}

static int64_t now_ms(void)
{
    return xl_mono_ns() / 1000000;
}

/* Connect to 127.0.0.1:port once. Returns 0, or the errno of the failed connect. */
static int try_connect(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

/* Connect until connect() returns want (0 or an errno), for up to timeout_ms. */
static bool wait_connect(uint16_t port, int want, long timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    for (;;) {
        if (try_connect(port) == want)
            return true;
        if (now_ms() > end)
            return false;
        sleep_ms(5);
    }
}

/* Wait (up to 5 s) until the callback has seen n connections. */
static bool wait_seen(struct world *w, size_t n)
{
    for (int i = 0; i < 1000; i++) {
        if (seen_count(w) >= n)
            return true;
        sleep_ms(5);
    }
    return false;
}

/* ---- numbering ------------------------------------------------------------ */

static void test_connections_numbered(void **state)
{
    (void)state;
    struct world *w = world_new(NULL);
    enum { N = 10 };
    for (int i = 0; i < N; i++) {
        assert_int_equal(try_connect(w->port), 0);
        /* one at a time, so the accept order is the connect order */
        assert_true(wait_seen(w, (size_t)i + 1));
    }
    pthread_mutex_lock(&w->seen.lock);
    assert_int_equal(w->seen.n, N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(w->seen.conns[i], i + 1);
    pthread_mutex_unlock(&w->seen.lock);
    fltenv_stop(&w->env);
    assert_int_equal(flt_listener_connections(w->l), N);
    world_free(w);
}

static void test_burst_numbered_without_gaps(void **state)
{
    (void)state;
    struct world *w = world_new(NULL);
    enum { N = 40 };
    /* all at once: the backlog holds them, the numbers are still 1..N once each */
    for (int i = 0; i < N; i++)
        assert_int_equal(try_connect(w->port), 0);
    assert_true(wait_seen(w, N));
    bool got[N + 1] = {false};
    pthread_mutex_lock(&w->seen.lock);
    assert_int_equal(w->seen.n, N);
    for (size_t i = 0; i < N; i++) {
        assert_in_range(w->seen.conns[i], 1, N);
        assert_false(got[w->seen.conns[i]]);
        got[w->seen.conns[i]] = true;
    }
    pthread_mutex_unlock(&w->seen.lock);
    world_free(w);
}

/* ---- refuse ----------------------------------------------------------------- */

static void test_refuse_added_and_removed(void **state)
{
    (void)state;
    struct world *w = world_new(NULL);
    assert_int_equal(try_connect(w->port), 0);
    assert_true(wait_seen(w, 1));

    /* from the test thread while the loop runs: the loop closes the socket */
    fltenv_rule(&w->env, "r1: refuse");
    assert_true(wait_connect(w->port, ECONNREFUSED, 2000));
    /* and it stays closed */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(try_connect(w->port), ECONNREFUSED);
        sleep_ms(20);
    }
    assert_int_equal(seen_count(w), 1);

    /* removing the rule reopens the same port; numbering goes on */
    assert_int_equal(flt_rules_remove(&w->env.rules, "r1"), 0);
    assert_true(wait_connect(w->port, 0, 2000));
    assert_true(wait_seen(w, 2));
    pthread_mutex_lock(&w->seen.lock);
    assert_int_equal(w->seen.conns[1], 2);
    pthread_mutex_unlock(&w->seen.lock);

    /* a second time, by clearing the whole set */
    fltenv_rule(&w->env, "refuse for=forever");
    assert_true(wait_connect(w->port, ECONNREFUSED, 2000));
    flt_rules_clear(&w->env.rules);
    assert_true(wait_connect(w->port, 0, 2000));
    fltenv_stop(&w->env);
    assert_int_equal(flt_listener_port(w->l), w->port);
    world_free(w);
}

static void test_refuse_window_ends(void **state)
{
    (void)state;
    struct world *w = world_new(NULL);
    /* The refusal must be seen while the window is open. Should this thread be
     * held up past the whole window, the try is inconclusive and a longer
     * window is tried, so a loaded machine cannot make the test flaky. */
    const char *rules[] = {"w1: refuse for=300ms", "w2: refuse for=2s", "w3: refuse for=8s"};
    const int64_t window[] = {300, 2000, 8000};
    bool refused = false;
    for (size_t i = 0; i < 3 && !refused; i++) {
        int64_t t0 = now_ms();
        fltenv_rule(&w->env, rules[i]);
        while (!refused && now_ms() - t0 < window[i] && now_ms() - t0 < 2000) {
            refused = try_connect(w->port) == ECONNREFUSED;
            if (!refused)
                sleep_ms(5);
        }
        if (!refused) {
            assert_true(now_ms() - t0 >= window[i]); /* missed it: only if held up */
            continue;
        }
        assert_true(wait_connect(w->port, 0, 5000 + window[i]));
        /* a lower bound only: it cannot reopen before the window ends */
        assert_true(now_ms() - t0 >= window[i]);
    }
    assert_true(refused);
    assert_true(wait_seen(w, 1));
    /* the rule is still there, but its window is over */
    assert_int_equal(try_connect(w->port), 0);
    world_free(w);
}

static void test_refuse_in_force_at_start(void **state)
{
    (void)state;
    const char *rules[] = {"r0: refuse", NULL};
    struct world *w = world_new(rules);
    /* the listener took a port, then closed it at once */
    assert_int_equal(try_connect(w->port), ECONNREFUSED);
    assert_int_equal(flt_rules_remove(&w->env.rules, "r0"), 0);
    assert_true(wait_connect(w->port, 0, 2000));
    assert_true(wait_seen(w, 1));
    pthread_mutex_lock(&w->seen.lock);
    assert_int_equal(w->seen.conns[0], 1);
    pthread_mutex_unlock(&w->seen.lock);
    world_free(w);
}

static void test_other_rules_do_not_refuse(void **state)
{
    (void)state;
    struct world *w = world_new(NULL);
    fltenv_rule(&w->env, "close after=0");
    fltenv_rule(&w->env, "silent");
    sleep_ms(50);
    assert_int_equal(try_connect(w->port), 0);
    assert_true(wait_seen(w, 1));
    world_free(w);
}

/* ---- errors ------------------------------------------------------------------ */

static void test_port_in_use(void **state)
{
    (void)state;
    struct fltenv env;
    char err[XL_ERRLEN] = "";
    struct seen s = {.n = 0};
    pthread_mutex_init(&s.lock, NULL);
    assert_int_equal(fltenv_init(&env), 0);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof sa;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    uint16_t port = ntohs(sa.sin_port);

    struct flt_listener *l =
        flt_listener_new(env.base, "127.0.0.1", port, &env.rules, &env.clock, on_accept, &s, err);
    assert_null(l);
    char want[32];
    snprintf(want, sizeof want, "%u", (unsigned)port);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "in use"));
    close(fd);
    fltenv_free(&env);
    pthread_mutex_destroy(&s.lock);
}

static void test_bad_address(void **state)
{
    (void)state;
    struct fltenv env;
    struct seen s = {.n = 0};
    pthread_mutex_init(&s.lock, NULL);
    assert_int_equal(fltenv_init(&env), 0);
    const char *bad[] = {"not-an-address", "127.0.0.256", "", "127.0.0.1:80", "::1::2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[XL_ERRLEN] = "";
        struct flt_listener *l =
            flt_listener_new(env.base, bad[i], 0, &env.rules, &env.clock, on_accept, &s, err);
        assert_null(l);
        char want[64];
        snprintf(want, sizeof want, "'%s'", bad[i]);
        assert_non_null(strstr(err, want));
        assert_non_null(strstr(err, "not an IPv4 or IPv6 address"));
    }
    fltenv_free(&env);
    pthread_mutex_destroy(&s.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connections_numbered),
        cmocka_unit_test(test_burst_numbered_without_gaps),
        cmocka_unit_test(test_refuse_added_and_removed),
        cmocka_unit_test(test_refuse_window_ends),
        cmocka_unit_test(test_refuse_in_force_at_start),
        cmocka_unit_test(test_other_rules_do_not_refuse),
        cmocka_unit_test(test_port_in_use),
        cmocka_unit_test(test_bad_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
