/*
 * test_world: the engine in the simulated world — fault server, link, model
 * and engine on one loop, as in a harness process. Every connection of the
 * engine goes through the link (socks5h, files.test resolved there); the model
 * changes the network and the battery; its events reach the link (the bytes)
 * and, unless a scenario wants a silent change, the engine's platform
 * provider (what xferd is told).
 *
 * Each test ends with the file's SHA-256 right and the expected sequence of
 * states:
 *   - Wi-Fi → metered roaming mid-download, with each WinRT cost policy;
 *   - usage crossing the data limit mid-transfer (metered by the link), then a
 *     new billing period (a clock jump) releasing the job;
 *   - battery saver on and off;
 *   - a disconnect the platform reports, one it does not (reset), and a silent
 *     one (black hole).
 * Network changes fire at an exact byte through the link's triggers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engenv.h"
#include "errtab.h"
#include "http.h"
#include "link.h"
#include "model.h"
#include "platform_map.h"

#define ME   1000
#define SIZE (4u << 20)
#define SEED 21
#define MIB  (1u << 20)

struct world {
    struct engenv t; /* first: a struct engenv * is a struct world * */
    struct sim_link *link;
    struct sim_model model;
    struct xfer_platform_sim *sim;
    struct xfer_platform_provider prov;
    enum sim_cut cut;    /* what a loss of connectivity does to connections */
    bool silent;         /* model changes reach the link only, not the platform */
    uint64_t metered;    /* bytes through the link not yet given to the model */
    const char *at_text; /* network to switch to when the trigger fires */
    xfer_guid job;
};

static void push(struct world *w)
{
    struct xfer_platform p;
    sim_platform_of(&w->model, &p);
    xfer_platform_sim_push(w->sim, &p);
}

/* Every model event: the link enforces it; the platform hears of it unless silent. */
static void on_model(void *arg, const struct sim_event *ev)
{
    struct world *w = arg;
    sim_link_set_network(w->link, &ev->network, w->cut);
    if (!w->silent)
        push(w);
}

static void on_bytes(void *arg, uint64_t up, uint64_t down)
{
    struct world *w = arg;
    w->metered += up + down;
}

/* Give the model the time and the bytes since the last call. */
static void tick_model(struct world *w)
{
    uint64_t b = w->metered;
    w->metered = 0;
    sim_model_advance(&w->model, xl_clock_now_ms(&w->t.f.clock), b,
                      xfer_engine_in_flight(w->t.eng) > 0);
}

static void set_network(struct world *w, const char *text)
{
    struct sim_network n = w->model.net;
    size_t col = 0;
    char err[256];
    if (sim_network_parse(text, &n, &col, err, sizeof err) < 0)
        fail_msg("network '%s': %s", text, err);
    tick_model(w);
    if (sim_model_set_network(&w->model, xl_clock_now_ms(&w->t.f.clock), &n, err, sizeof err) < 0)
        fail_msg("network '%s': %s", text, err);
}

static void set_battery(struct world *w, const char *text)
{
    struct sim_battery b = w->model.bat;
    size_t col = 0;
    char err[256];
    if (sim_battery_parse(text, &b, &col, err, sizeof err) < 0)
        fail_msg("battery '%s': %s", text, err);
    tick_model(w);
    if (sim_model_set_battery(&w->model, xl_clock_now_ms(&w->t.f.clock), &b, err, sizeof err) < 0)
        fail_msg("battery '%s': %s", text, err);
}

static void on_trigger(void *arg, uint64_t conn, uint64_t at)
{
    (void)conn;
    (void)at;
    struct world *w = arg;
    set_network(w, w->at_text);
}

static void world_init(struct world *w, double scale, const char *rule)
{
    memset(w, 0, sizeof *w);
    engenv_init_one_loop(&w->t, scale, false);
    fltenv_gen(&w->t.f, "/big.bin", SIZE, SEED);
    if (rule)
        fltenv_rule(&w->t.f, rule);
    struct sim_link_config lc = {.clock = &w->t.f.clock, .on_bytes = on_bytes, .arg = w};
    char err[256];
    w->link = sim_link_new(w->t.base, &lc, err, sizeof err);
    if (!w->link)
        fail_msg("link: %s", err);
    assert_int_equal(sim_link_map(w->link, "files.test", 0, "127.0.0.1",
                                  (uint16_t)atoi(strrchr(w->t.http_url, ':') + 1), err, sizeof err),
                     0);
    sim_model_init(&w->model, xl_clock_now_ms(&w->t.f.clock));
    w->model.listener = on_model;
    w->model.listener_arg = w;
    sim_link_set_network(w->link, &w->model.net, SIM_CUT_RESET);
    w->sim = xfer_platform_sim_new();
    w->prov = xfer_platform_sim_provider(w->sim);
    static char proxy[64];
    snprintf(proxy, sizeof proxy, "socks5h://127.0.0.1:%u", (unsigned)sim_link_port(w->link));
    w->t.cfg.link_proxy = proxy;
    w->t.cfg.platform = &w->prov;
    engenv_open(&w->t);
    w->cut = SIM_CUT_RESET;
}

static void world_free(struct world *w)
{
    xfer_engine_close(w->t.eng);
    w->t.eng = NULL;
    struct sim_link_stats st;
    sim_link_stats(w->link, &st);
    sim_link_free(w->link);
    engenv_free(&w->t);
    sim_model_free(&w->model);
    xfer_platform_sim_free(w->sim);
}

static xfer_guid download(struct world *w, const char *cost, const char *priority)
{
    xfer_guid g = engenv_download(&w->t, "http://files.test/big.bin", "big.bin");
    if (cost)
        assert_int_equal(xfer_job_set(w->t.eng, ME, &g, "cost_policy", cost, NULL, 0), 0);
    if (priority)
        assert_int_equal(xfer_job_set(w->t.eng, ME, &g, "priority", priority, NULL, 0), 0);
    assert_int_equal(xfer_job_set(w->t.eng, ME, &g, "min_retry_delay", "5", NULL, 0), 0);
    w->job = g;
    return g;
}

struct until {
    struct world *w;
    enum xfer_state s;
};

/* Run, feeding the model, until the job is in state s. */
static bool reached(struct engenv *t, void *arg)
{
    struct until *u = arg;
    tick_model(u->w);
    xfer_hr hr;
    (void)t;
    return engenv_state(&u->w->t, &u->w->job, &hr) == u->s;
}

static void wait_for(struct world *w, enum xfer_state s)
{
    struct until u = {w, s};
    if (!engenv_run_until(&w->t, reached, &u, 30000)) {
        char states[512];
        engenv_states(&w->t, &w->job, states, sizeof states);
        fail_msg("never reached %s; states: %s", xfer_state_name(s), states);
    }
}

static void expect_blocked(struct world *w, enum xe_id why, int winrt)
{
    wait_for(w, XFER_TRANSIENT_ERROR);
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(w->t.eng, ME, &w->job, &in), 0);
    if (xe_find(in->error.hr) != why)
        fail_msg("blocked by %s, want %s", in->error.row ? in->error.row->name : "?",
                 xe_row(why)->name);
    assert_int_equal(in->winrt_status, winrt);
    free(in);
}

static void expect_states(struct world *w, const char *want)
{
    char states[512];
    engenv_states(&w->t, &w->job, states, sizeof states);
    assert_string_equal(states, want);
}

/* The last request the server saw resumed (Range) rather than restarted. */
static void expect_resumed(struct world *w)
{
    size_t n = flt_journal_count(&w->t.f.journal);
    assert_true(n >= 2);
    struct flt_jentry e;
    assert_int_equal(flt_journal_get(&w->t.f.journal, n - 1, &e), 0);
    assert_non_null(e.range);
    assert_non_null(e.if_range);
    flt_jentry_release(&e);
}

#define FULL  "SUSPENDED QUEUED CONNECTING TRANSFERRING"
#define AGAIN "QUEUED CONNECTING TRANSFERRING TRANSFERRED"

static void test_roaming_each_policy(void **state)
{
    (void)state;
    const char *policies[] = {"UnrestrictedOnly", "Default", "Always"};
    for (int i = 0; i < 3; i++) {
        struct world w;
        world_init(&w, 100, NULL);
        set_network(&w, "wifi down=2MiB/s");
        download(&w, policies[i], NULL);
        w.at_text = "cellular fixed limit=10GiB roaming down=2MiB/s";
        sim_link_at_bytes(w.link, MIB, on_trigger, &w);
        if (i < 2) {
            expect_blocked(&w, XE_BLOCKED_BY_COST_TRANSFER_POLICY,
                           XFER_WINRT_PAUSED_COSTED_NETWORK);
            set_network(&w, "wifi down=2MiB/s");
            wait_for(&w, XFER_TRANSFERRED);
            expect_states(&w, FULL " TRANSIENT_ERROR " AGAIN);
            expect_resumed(&w);
        } else {
            wait_for(&w, XFER_TRANSFERRED);
            expect_states(&w, FULL " TRANSFERRED");
        }
        engenv_complete_and_check(&w.t, &w.job, "big.bin", SEED, SIZE);
        world_free(&w);
    }
}

/* Usage crosses the limit (metered by the link); a new billing period releases it. */
static void test_data_limit(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, 100, NULL);
    /* 1 MiB left under the limit, in a 30-day period that has just begun. */
    set_network(&w, "cellular fixed limit=100MiB usage=99MiB down=2MiB/s");
    /* NO_SURCHARGE: near the cap is fine, over it (charged) is not. */
    download(&w, "NO_SURCHARGE", NULL);
    expect_blocked(&w, XE_BLOCKED_BY_COST_TRANSFER_POLICY, XFER_WINRT_PAUSED_COSTED_NETWORK);
    assert_true(w.model.derived.over_limit);
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(w.t.eng, ME, &w.job, &in), 0);
    assert_true(in->bytes_done > 0 && in->bytes_done < SIZE);
    free(in);
    /* Nothing moves: jump to the next billing period. */
    assert_int_equal(xfer_engine_in_flight(w.t.eng), 0);
    int64_t now = xl_clock_now_ms(&w.t.f.clock);
    int64_t next = sim_model_next_change(&w.model, false);
    assert_true(next > now && next != INT64_MAX);
    xl_clock_advance(&w.t.f.clock, next - now);
    tick_model(&w);
    assert_false(w.model.derived.over_limit);
    xfer_engine_clock_jumped(w.t.eng);
    wait_for(&w, XFER_TRANSFERRED);
    expect_states(&w, FULL " TRANSIENT_ERROR " AGAIN);
    expect_resumed(&w);
    engenv_complete_and_check(&w.t, &w.job, "big.bin", SEED, SIZE);
    world_free(&w);
}

static void test_battery_saver(void **state)
{
    (void)state;
    struct world w;
    world_init(&w, 100, NULL);
    set_network(&w, "wifi down=2MiB/s");
    set_battery(&w, "level=50% threshold=20%");
    download(&w, NULL, NULL);
    wait_for(&w, XFER_TRANSFERRING);
    set_battery(&w, "level=50% threshold=20% saver");
    expect_blocked(&w, XE_BLOCKED_BY_BATTERY_SAVER, XFER_WINRT_PAUSED_SYSTEM_POLICY);
    set_battery(&w, "no-saver");
    wait_for(&w, XFER_TRANSFERRED);
    expect_states(&w, FULL " TRANSIENT_ERROR " AGAIN);
    engenv_complete_and_check(&w.t, &w.job, "big.bin", SEED, SIZE);
    world_free(&w);
}

/*
 * Wi-Fi, a download, the network gone at 1 MiB (cut as given, the platform
 * told or not); `check` looks at the job in TRANSIENT_ERROR; Wi-Fi again; the
 * job resumes with a Range request and completes.
 */
static void cut_and_return(double scale, enum sim_cut cut, bool silent,
                           void (*check)(struct world *w, int64_t t0))
{
    struct world w;
    world_init(&w, scale, NULL);
    set_network(&w, "wifi down=2MiB/s");
    w.silent = silent;
    w.cut = cut;
    download(&w, NULL, NULL);
    w.at_text = "none";
    sim_link_at_bytes(w.link, MIB, on_trigger, &w);
    int64_t t0 = xfer_engine_now(w.t.eng);
    wait_for(&w, XFER_TRANSIENT_ERROR);
    check(&w, t0);
    set_network(&w, "wifi down=2MiB/s");
    wait_for(&w, XFER_TRANSFERRED);
    expect_states(&w, FULL " TRANSIENT_ERROR " AGAIN);
    expect_resumed(&w);
    engenv_complete_and_check(&w.t, &w.job, "big.bin", SEED, SIZE);
    world_free(&w);
}

static xfer_hr job_error(struct world *w)
{
    xfer_hr hr;
    engenv_state(&w->t, &w->job, &hr);
    return hr;
}

static void check_notified(struct world *w, int64_t t0)
{
    (void)t0;
    expect_blocked(w, XE_NETWORK_DISCONNECTED, XFER_WINRT_PAUSED_NO_NETWORK);
}

static void check_reset(struct world *w, int64_t t0)
{
    (void)t0;
    const struct xfer_error_row *row = xfer_error_find(job_error(w));
    assert_non_null(row);
    assert_true(row->transient);
    assert_int_not_equal(xe_find(row->hr), XE_NETWORK_DISCONNECTED); /* nobody said so */
}

static void check_silent(struct world *w, int64_t t0)
{
    assert_int_equal(xe_find(job_error(w)), XE_TIMEOUT);
    /* the stall (2 min) and three connects that never got an answer (5 min each) */
    int64_t took = xfer_engine_now(w->t.eng) - t0;
    if (took < (2 + 3 * 5) * 60 * 1000)
        fail_msg("gave up after %lld ms of simulated time", (long long)took);
}

/* The platform reports the loss: NETWORK_DISCONNECTED at once, back to QUEUED on return. */
static void test_disconnect_notified(void **state)
{
    (void)state;
    cut_and_return(100, SIM_CUT_RESET, false, check_notified);
}

/* The link resets and refuses; the platform says nothing: the engine finds out
 * by itself (reset, then refused connects), retries after the delay, resumes. */
static void test_disconnect_reset_unnoticed(void **state)
{
    (void)state;
    cut_and_return(100, SIM_CUT_RESET, true, check_reset);
}

/* A black hole: bytes stop, nothing is reset, nobody is told. The engine's own
 * timeouts (2 min without a byte, 5 min to connect) find out. */
static void test_disconnect_silent(void **state)
{
    (void)state;
    cut_and_return(1000, SIM_CUT_BLACKHOLE, true, check_silent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roaming_each_policy),
        cmocka_unit_test(test_data_limit),
        cmocka_unit_test(test_battery_saver),
        cmocka_unit_test(test_disconnect_notified),
        cmocka_unit_test(test_disconnect_reset_unnoticed),
        cmocka_unit_test(test_disconnect_silent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
