/*
 * Tests for sim/model.c: the on-track-to-exceed arithmetic, billing period
 * rollover, limit crossings, metering, battery drain and saver (each event at
 * its computed time), next_change, every validation rule, the text parser's
 * errors and the canonical format's round trips, and the listener.
 *
 * Expected times and levels are worked out by hand in the comments, with
 * values chosen so the arithmetic is exact (powers of two, whole numbers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

#define HOUR 3600000LL
#define DAY  86400000LL
#define GB   1000000000ULL
#define MB   1000000ULL
#define GIB  1073741824ULL

/* ---- helpers ------------------------------------------------------------ */

static bool net_eq(const struct sim_network *a, const struct sim_network *b)
{
    return a->connectivity == b->connectivity && a->type == b->type && a->cost == b->cost &&
           a->roaming == b->roaming && a->data_limit == b->data_limit && a->usage == b->usage &&
           a->period_ms == b->period_ms && a->period_start_ms == b->period_start_ms &&
           a->overage == b->overage && a->background_restricted == b->background_restricted &&
           a->down_bps == b->down_bps && a->up_bps == b->up_bps && a->latency_ms == b->latency_ms &&
           a->jitter_ms == b->jitter_ms && a->connect_delay_ms == b->connect_delay_ms &&
           a->loss == b->loss && a->seed == b->seed;
}

static bool bat_eq(const struct sim_battery *a, const struct sim_battery *b)
{
    return a->present == b->present && a->level == b->level && a->charging == b->charging &&
           a->saver_manual == b->saver_manual && a->saver_threshold == b->saver_threshold &&
           a->drain_idle == b->drain_idle && a->drain_active == b->drain_active;
}

/* Parse onto the defaults; the test fails on an error. */
static struct sim_network net(const char *text)
{
    struct sim_network n;
    sim_network_default(&n);
    size_t col = 0;
    char err[256] = "";
    if (sim_network_parse(text, &n, &col, err, sizeof err) < 0)
        fail_msg("'%s' did not parse: %s", text, err);
    return n;
}

static struct sim_battery bat(const char *text)
{
    struct sim_battery b;
    sim_battery_default(&b);
    size_t col = 0;
    char err[256] = "";
    if (sim_battery_parse(text, &b, &col, err, sizeof err) < 0)
        fail_msg("'%s' did not parse: %s", text, err);
    return b;
}

static void set_net(struct sim_model *m, int64_t at, const char *text)
{
    struct sim_network n = net(text);
    char err[256] = "";
    if (sim_model_set_network(m, at, &n, err, sizeof err) < 0)
        fail_msg("set_network '%s': %s", text, err);
}

static void set_bat(struct sim_model *m, int64_t at, const char *text)
{
    struct sim_battery b = bat(text);
    char err[256] = "";
    if (sim_model_set_battery(m, at, &b, err, sizeof err) < 0)
        fail_msg("set_battery '%s': %s", text, err);
}

/* Events are in time order; returns how many there are of kind. */
static size_t count(const struct sim_model *m, enum sim_event_kind kind)
{
    size_t c = 0;
    for (size_t i = 0; i < m->nevents; i++) {
        if (i > 0 && m->events[i].time_ms < m->events[i - 1].time_ms)
            fail_msg("event %zu at %lld before event %zu at %lld", i,
                     (long long)m->events[i].time_ms, i - 1, (long long)m->events[i - 1].time_ms);
        c += m->events[i].kind == kind;
    }
    return c;
}

static void expect_event(const struct sim_model *m, size_t i, enum sim_event_kind kind, int64_t at)
{
    if (i >= m->nevents)
        fail_msg("no event %zu (only %zu)", i, m->nevents);
    const struct sim_event *ev = &m->events[i];
    if (ev->kind != kind || ev->time_ms != at)
        fail_msg("event %zu: kind %d at %lld ('%s'), want kind %d at %lld", i, (int)ev->kind,
                 (long long)ev->time_ms, ev->what, (int)kind, (long long)at);
}

/* ---- defaults ----------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    assert_int_equal(m.net.type, SIM_NET_ETHERNET);
    assert_int_equal(m.net.cost, SIM_COST_UNRESTRICTED);
    assert_int_equal(m.net.connectivity, SIM_CONN_INTERNET);
    assert_int_equal(m.net.period_ms, 30 * DAY);
    assert_false(m.bat.present);
    assert_false(m.derived.over_limit || m.derived.near_limit || m.derived.saver_on);
    assert_true(sim_model_next_change(&m, false) == INT64_MAX);
    assert_true(sim_model_next_change(&m, true) == INT64_MAX);
    assert_string_equal(sim_connectivity_name(SIM_CONN_LOCAL), "local");
    assert_string_equal(sim_net_type_name(SIM_NET_CELLULAR), "cellular");
    assert_string_equal(sim_cost_name(SIM_COST_VARIABLE), "variable");
    /* An unrestricted network is not metered and has no billing period. */
    sim_model_advance(&m, 100 * DAY, 5 * GIB, true);
    assert_int_equal(m.net.usage, 0);
    assert_int_equal(m.nevents, 0);
    assert_int_equal(m.now_ms, 100 * DAY);
    sim_model_free(&m);
}

/* ---- on track to exceed ------------------------------------------------- */

/* Half the period, and usage u: near iff u * 2 > limit (strictly). */
static void on_track_at_half(uint64_t usage, bool want_near, bool want_over)
{
    struct sim_model m;
    sim_model_init(&m, 0);
    set_net(&m, 0, "cellular fixed limit=1GB");
    sim_model_advance(&m, 15 * DAY, usage, false);
    if (m.derived.near_limit != want_near || m.derived.over_limit != want_over)
        fail_msg("usage %llu at half the period: near %d over %d, want %d %d",
                 (unsigned long long)usage, m.derived.near_limit, m.derived.over_limit, want_near,
                 want_over);
    assert_int_equal(m.net.usage, usage);
    assert_int_equal(count(&m, SIM_EV_NEAR_LIMIT), want_near);
    assert_int_equal(count(&m, SIM_EV_OVER_LIMIT), want_over);
    if (want_near)
        expect_event(&m, 1, SIM_EV_NEAR_LIMIT, 15 * DAY);
    sim_model_free(&m);
}

static void test_on_track_arithmetic(void **state)
{
    (void)state;
    on_track_at_half(500 * MB, false, false); /* projects exactly the limit: not above */
    on_track_at_half(600 * MB, true, false);  /* projects 1.2GB */
    on_track_at_half(GB, true, false);        /* at the limit, not over it: projects 2GB */
    on_track_at_half(GB + 1, false, true);    /* over: over_limit, and so not near */
    on_track_at_half(0, false, false);
}

static void test_on_track_no_rate_at_period_start(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    /* Usage already there at t = 0: no rate yet, so not near. */
    set_net(&m, 0, "cellular fixed limit=1GB usage=600MB");
    assert_false(m.derived.near_limit);
    /* At t = 1 ms the projection is huge: near turns on by itself. */
    assert_int_equal(sim_model_next_change(&m, false), 1);
    sim_model_advance(&m, 1, 0, false);
    assert_true(m.derived.near_limit);
    expect_event(&m, 1, SIM_EV_NEAR_LIMIT, 1);
    /* With no more bytes it stops at 600MB * 30d / 1GB = 18d exactly. */
    assert_int_equal(sim_model_next_change(&m, false), 18 * DAY);
    sim_model_advance(&m, 18 * DAY - 1, 0, false);
    assert_true(m.derived.near_limit);
    sim_model_advance(&m, 20 * DAY, 0, false);
    assert_false(m.derived.near_limit);
    expect_event(&m, 2, SIM_EV_NEAR_LIMIT, 18 * DAY);
    assert_false(m.events[2].derived.near_limit);
    assert_int_equal(m.nevents, 3);
    sim_model_free(&m);

    /* A stop time that is not a whole millisecond is rounded up: 5 bytes of a 7-byte
     * limit over 1d stop projecting above it at 5 * 86400000 / 7 = 61714285.71 ms. */
    sim_model_init(&m, 0);
    set_net(&m, 0, "cellular fixed limit=7 period=1d");
    sim_model_advance(&m, 1000, 5, false);
    assert_true(m.derived.near_limit);
    assert_int_equal(sim_model_next_change(&m, false), 61714286);
    sim_model_advance(&m, 61714285, 0, false);
    assert_true(m.derived.near_limit);
    sim_model_advance(&m, 61714286, 0, false);
    assert_false(m.derived.near_limit);
    expect_event(&m, 2, SIM_EV_NEAR_LIMIT, 61714286);
    assert_int_equal(m.nevents, 3);
    sim_model_free(&m);
}

static void test_on_track_no_overflow(void **state)
{
    (void)state;
    /* usage * period overflows 64 bits: 2^63 * 3650d. Half the period. */
    const int64_t period = 3650 * DAY;
    struct sim_network n = net("cellular variable period=3650d");
    n.data_limit = UINT64_MAX - 1;
    n.usage = 1ULL << 63; /* projects 2^64 > limit */
    struct sim_model m;
    sim_model_init(&m, period / 2);
    char err[256];
    assert_int_equal(sim_model_set_network(&m, period / 2, &n, err, sizeof err), 0);
    assert_true(m.derived.near_limit);
    assert_false(m.derived.over_limit);
    sim_model_free(&m);

    n.usage = (1ULL << 63) - (1ULL << 40); /* projects 2^64 - 2^41 < limit */
    sim_model_init(&m, period / 2);
    assert_int_equal(sim_model_set_network(&m, period / 2, &n, err, sizeof err), 0);
    assert_false(m.derived.near_limit);
    sim_model_free(&m);
}

/* ---- the limit ---------------------------------------------------------- */

static void test_limit_crossing(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    set_net(&m, 0, "cellular fixed limit=1GB");
    /* 500MB in 5 days projects 3GB: near at 5d. */
    sim_model_advance(&m, 5 * DAY, 500 * MB, true);
    expect_event(&m, 1, SIM_EV_NEAR_LIMIT, 5 * DAY);
    assert_true(m.events[1].derived.near_limit);
    /* 600MB more at 6d: over the limit; over first, then near stops, both at 6d. */
    sim_model_advance(&m, 6 * DAY, 600 * MB, true);
    expect_event(&m, 2, SIM_EV_OVER_LIMIT, 6 * DAY);
    expect_event(&m, 3, SIM_EV_NEAR_LIMIT, 6 * DAY);
    assert_int_equal(m.nevents, 4);
    assert_true(m.events[2].derived.over_limit);
    assert_false(m.events[3].derived.near_limit);
    assert_int_equal(m.events[2].network.usage, 1100 * MB);
    /* Over stays over, and near stays off, until the period ends. */
    assert_int_equal(sim_model_next_change(&m, false), 30 * DAY);
    /* A command raising the limit: the network event, then over off, then near on. */
    set_net(&m, 7 * DAY, "cellular fixed limit=2GB usage=1100MB");
    expect_event(&m, 4, SIM_EV_NETWORK, 7 * DAY);
    expect_event(&m, 5, SIM_EV_OVER_LIMIT, 7 * DAY);
    expect_event(&m, 6, SIM_EV_NEAR_LIMIT, 7 * DAY);
    assert_false(m.events[5].derived.over_limit);
    assert_true(m.events[6].derived.near_limit);
    assert_non_null(strstr(m.events[4].what, "limit=1953125KiB"));
    assert_non_null(strstr(m.events[5].what, "within"));
    sim_model_free(&m);
}

static void test_metering(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    /* Fixed with no limit known: usage unknown, not counted. */
    set_net(&m, 0, "cellular");
    assert_int_equal(m.net.cost, SIM_COST_FIXED);
    sim_model_advance(&m, HOUR, 5 * MB, true);
    assert_int_equal(m.net.usage, 0);
    /* Variable: counted, with no limit. */
    set_net(&m, HOUR, "cellular variable");
    sim_model_advance(&m, 2 * HOUR, 5 * MB, true);
    assert_int_equal(m.net.usage, 5 * MB);
    assert_false(m.derived.near_limit || m.derived.over_limit);
    /* A metered wifi with a limit: counted. */
    set_net(&m, 2 * HOUR, "wifi metered limit=1GB");
    sim_model_advance(&m, 3 * HOUR, 7, false);
    assert_int_equal(m.net.usage, 7);
    /* Usage saturates instead of wrapping. */
    struct sim_network n = net("cellular variable");
    n.usage = UINT64_MAX - 10;
    char err[256];
    assert_int_equal(sim_model_set_network(&m, 3 * HOUR, &n, err, sizeof err), 0);
    sim_model_advance(&m, 4 * HOUR, 100, false);
    assert_true(m.net.usage == UINT64_MAX);
    sim_model_free(&m);
}

/* ---- billing periods ---------------------------------------------------- */

static void test_rollover(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    set_net(&m, 0, "cellular fixed limit=2GB");
    assert_int_equal(sim_model_next_change(&m, false), 30 * DAY);
    /* 1GB in 10 days projects 3GB: near at 10d; off at 1GB*30d/2GB = 15d. */
    sim_model_advance(&m, 10 * DAY, GB, false);
    /* 100 bytes arrive by 35d: the period ends at 30d, the bytes count in the new one. */
    sim_model_advance(&m, 35 * DAY, 100, false);
    expect_event(&m, 0, SIM_EV_NETWORK, 0);
    expect_event(&m, 1, SIM_EV_NEAR_LIMIT, 10 * DAY);
    expect_event(&m, 2, SIM_EV_NEAR_LIMIT, 15 * DAY);
    expect_event(&m, 3, SIM_EV_PERIOD, 30 * DAY);
    assert_int_equal(m.nevents, 4);
    assert_int_equal(m.events[3].network.usage, 0);
    assert_int_equal(m.events[3].network.period_start_ms, 30 * DAY);
    assert_non_null(strstr(m.events[3].what, "usage 1000000000 reset"));
    assert_int_equal(m.net.usage, 100);
    assert_int_equal(m.net.period_start_ms, 30 * DAY);
    assert_int_equal(sim_model_next_change(&m, false), 60 * DAY);
    sim_model_free(&m);

    /* Over the limit at the boundary: the period event, then over off. */
    sim_model_init(&m, 0);
    set_net(&m, 0, "cellular fixed limit=1GB overage=throttled");
    sim_model_advance(&m, 10 * DAY, 1500 * MB, false);
    assert_true(m.derived.over_limit);
    sim_model_advance(&m, 31 * DAY, 0, false);
    expect_event(&m, 2, SIM_EV_PERIOD, 30 * DAY);
    expect_event(&m, 3, SIM_EV_OVER_LIMIT, 30 * DAY);
    assert_false(m.events[2].derived.over_limit); /* the state after the instant */
    assert_false(m.derived.over_limit);
    assert_int_equal(m.nevents, 4);
    sim_model_free(&m);
}

static void test_rollover_many_periods(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    set_net(&m, 0, "cellular fixed limit=2GB period=1d");
    /* 1.5GB in 12h projects 3GB: near; it stops at 1.5GB*1d/2GB = 18h. */
    sim_model_advance(&m, 12 * HOUR, 1500 * MB, false);
    assert_true(m.derived.near_limit);
    /* One call across ten boundaries: an event at the first, one at the last. */
    sim_model_advance(&m, 10 * DAY + 6 * HOUR, 0, false);
    expect_event(&m, 2, SIM_EV_NEAR_LIMIT, 18 * HOUR);
    expect_event(&m, 3, SIM_EV_PERIOD, DAY);
    expect_event(&m, 4, SIM_EV_PERIOD, 10 * DAY);
    assert_int_equal(m.nevents, 5);
    assert_int_equal(m.net.usage, 0);
    assert_int_equal(m.net.period_start_ms, 10 * DAY);
    assert_int_equal(sim_model_next_change(&m, false), 11 * DAY);
    sim_model_free(&m);
}

static void test_rollover_around_battery_event(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    set_net(&m, 0, "cellular period=10d");
    /* 14.0625 points above the threshold at 1/128 %/h: 1800h = 75d. */
    set_bat(&m, 0, "battery level=34.0625% threshold=20% drain=0.0078125%/h");
    assert_int_equal(sim_model_next_change(&m, false), 10 * DAY);
    sim_model_advance(&m, 100 * DAY, 0, false);
    /* Boundaries 10d..70d fold into 10d and 70d; the saver at 75d; 80d; 90d..100d folded. */
    expect_event(&m, 2, SIM_EV_PERIOD, 10 * DAY);
    expect_event(&m, 3, SIM_EV_PERIOD, 70 * DAY);
    expect_event(&m, 4, SIM_EV_SAVER, 75 * DAY);
    expect_event(&m, 5, SIM_EV_PERIOD, 80 * DAY);
    expect_event(&m, 6, SIM_EV_PERIOD, 100 * DAY);
    assert_int_equal(m.nevents, 7);
    assert_true(m.events[4].derived.saver_on);
    assert_true(m.events[4].battery.level == 20);
    assert_true(m.events[3].battery.level == 34.0625 - 70 * 24 * 0.0078125);
    /* 25 days below the threshold: 20 - 600h/128 = 15.3125 exactly. */
    assert_true(m.bat.level == 15.3125);
    sim_model_free(&m);
}

static void test_period_anchor(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 27 * DAY);
    /* start anchors the cycle: -5d + 3 * 10d = 25d contains 27d. */
    set_net(&m, 27 * DAY, "cellular fixed limit=1GB period=10d start=-5d");
    assert_int_equal(m.net.period_start_ms, 25 * DAY);
    assert_int_equal(sim_model_next_change(&m, false), 35 * DAY);
    /* A start in the future moves back: 100d - 8 * 10d = 20d. */
    set_net(&m, 27 * DAY, "cellular fixed limit=1GB period=10d start=100d usage=1MB");
    assert_int_equal(m.net.period_start_ms, 20 * DAY);
    assert_int_equal(m.net.usage, MB); /* the command's usage is kept */
    /* The same network again, restated with another anchor of the cycle: no event. */
    size_t n = m.nevents;
    set_net(&m, 27 * DAY, "cellular fixed limit=1GB period=10d start=0ms usage=1MB");
    assert_int_equal(m.nevents, n);
    /* An unrestricted network has no billing: its period is carried as given. */
    set_net(&m, 27 * DAY, "wifi start=3d");
    assert_int_equal(m.net.period_start_ms, 3 * DAY);
    assert_true(sim_model_next_change(&m, false) == INT64_MAX);
    sim_model_free(&m);
}

/* ---- battery ------------------------------------------------------------ */

static void test_battery_drain(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    set_bat(&m, 0, "level=80% threshold=0% drain=5%/h active=12.5%/h");
    assert_true(m.bat.present);
    assert_int_equal(sim_model_next_change(&m, false), 16 * HOUR);            /* 80 / 5 */
    assert_int_equal(sim_model_next_change(&m, true), 6 * HOUR + 24 * 60000); /* 80 / 12.5 */
    sim_model_advance(&m, 4 * HOUR, 0, false);
    assert_true(m.bat.level == 60);
    sim_model_advance(&m, 6 * HOUR, 123, true);
    assert_true(m.bat.level == 35);
    /* 35 / 5 = 7h more: empty at 13h, and never below 0. */
    sim_model_advance(&m, 106 * HOUR, 0, false);
    assert_true(m.bat.level == 0);
    expect_event(&m, 1, SIM_EV_BATTERY, 13 * HOUR);
    assert_non_null(strstr(m.events[1].what, "empty"));
    assert_true(m.events[1].battery.level == 0);
    assert_int_equal(m.nevents, 2);
    assert_false(m.derived.saver_on); /* threshold 0: never */
    assert_true(sim_model_next_change(&m, true) == INT64_MAX);
    sim_model_free(&m);
}

static void test_battery_charging(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    set_bat(&m, 0, "battery level=50% charging drain=5%/h active=9%/h");
    assert_true(sim_model_next_change(&m, false) == INT64_MAX);
    assert_true(sim_model_next_change(&m, true) == INT64_MAX);
    sim_model_advance(&m, 5 * HOUR, 0, false);
    sim_model_advance(&m, 10 * HOUR, 0, true);
    assert_true(m.bat.level == 50); /* charging holds the level */
    /* Unplugged: (50 - 20) / 5 = 6h to the default 20% threshold. */
    struct sim_battery b = m.bat;
    char err[256];
    size_t col;
    assert_int_equal(sim_battery_parse("discharging", &b, &col, err, sizeof err), 0);
    assert_int_equal(sim_model_set_battery(&m, 10 * HOUR, &b, err, sizeof err), 0);
    assert_int_equal(sim_model_next_change(&m, false), 16 * HOUR);
    sim_model_free(&m);
}

static void test_saver_threshold_time(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    set_bat(&m, 0, "level=50% threshold=20% drain=7%/h active=14%/h");
    /* 30 points at 7%/h: 108000000 / 7 = 15428571.43 ms, so 15428572. */
    assert_int_equal(sim_model_next_change(&m, false), 15428572);
    assert_int_equal(sim_model_next_change(&m, true), 7714286); /* 7714285.71 */
    sim_model_advance(&m, 15428571, 0, false);
    assert_false(m.derived.saver_on);
    assert_int_equal(m.nevents, 1);
    sim_model_advance(&m, 10 * HOUR, 0, false);
    expect_event(&m, 1, SIM_EV_SAVER, 15428572);
    assert_true(m.events[1].derived.saver_on);
    assert_true(m.events[1].battery.level <= 20 && m.events[1].battery.level > 19.999);
    /* Empty at 50 / 7 h = 25714285.71 ms, so 25714286. */
    expect_event(&m, 2, SIM_EV_BATTERY, 25714286);
    assert_int_equal(m.nevents, 3);
    sim_model_free(&m);

    /* 46.8 points at 50%/h: 3369600 ms exactly, where the double arithmetic leaves
     * 26.200000000000003; the level is snapped so the saver turns on there, not 1 ms later. */
    sim_model_init(&m, 0);
    set_bat(&m, 0, "level=73% threshold=26.2% drain=50%/h");
    assert_int_equal(sim_model_next_change(&m, false), 3369600);
    sim_model_advance(&m, 2 * HOUR, 0, false);
    expect_event(&m, 1, SIM_EV_SAVER, 3369600);
    assert_true(m.events[1].battery.level == 26.2);
    sim_model_free(&m);
}

static void test_saver_by_command(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    /* Set below the threshold: the battery event, then saver on, same time. */
    set_bat(&m, HOUR, "level=10% threshold=20%");
    expect_event(&m, 0, SIM_EV_BATTERY, HOUR);
    expect_event(&m, 1, SIM_EV_SAVER, HOUR);
    assert_true(m.derived.saver_on);
    /* Plugged in: off. */
    set_bat(&m, 2 * HOUR, "level=10% threshold=20% charging");
    expect_event(&m, 3, SIM_EV_SAVER, 2 * HOUR);
    assert_false(m.derived.saver_on);
    assert_non_null(strstr(m.events[3].what, "charging"));
    /* Turned on by the user above the threshold. */
    set_bat(&m, 3 * HOUR, "level=90% saver");
    expect_event(&m, 5, SIM_EV_SAVER, 3 * HOUR);
    assert_true(m.derived.saver_on);
    assert_non_null(strstr(m.events[5].what, "user"));
    /* Already on: no threshold event to wait for. */
    set_bat(&m, 3 * HOUR, "level=90% saver drain=10%/h");
    assert_int_equal(sim_model_next_change(&m, false), 3 * HOUR + 9 * HOUR);
    assert_int_equal(m.nevents, 7);
    sim_model_free(&m);
}

/* ---- next change -------------------------------------------------------- */

static void test_next_change(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 5 * DAY);
    set_net(&m, 5 * DAY, "wifi");
    assert_true(sim_model_next_change(&m, false) == INT64_MAX);
    set_net(&m, 5 * DAY, "cellular");
    assert_int_equal(sim_model_next_change(&m, false), 30 * DAY);
    set_net(&m, 5 * DAY, "cellular variable");
    assert_int_equal(sim_model_next_change(&m, true), 30 * DAY);
    /* The battery first: 10% at 1%/h idle, 2%/h active, 0 threshold. */
    set_bat(&m, 5 * DAY, "level=10% threshold=0% drain=1%/h active=2%/h");
    assert_int_equal(sim_model_next_change(&m, false), 5 * DAY + 10 * HOUR);
    assert_int_equal(sim_model_next_change(&m, true), 5 * DAY + 5 * HOUR);
    /* The harness jumps: each jump lands on exactly one change. */
    sim_model_advance(&m, sim_model_next_change(&m, true), 0, true);
    assert_true(m.bat.level == 0);
    assert_int_equal(m.now_ms, 5 * DAY + 5 * HOUR);
    assert_int_equal(sim_model_next_change(&m, true), 30 * DAY);
    /* Without a battery present nothing drains. */
    set_bat(&m, m.now_ms, "none");
    assert_int_equal(sim_model_next_change(&m, true), 30 * DAY);
    sim_model_free(&m);
}

static void test_time_never_backwards(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    sim_model_advance(&m, 10 * HOUR, 0, false);
    sim_model_advance(&m, 5 * HOUR, 0, false);
    assert_int_equal(m.now_ms, 10 * HOUR);
    set_net(&m, HOUR, "cellular");
    expect_event(&m, 0, SIM_EV_NETWORK, 10 * HOUR);
    sim_model_free(&m);
}

/* ---- validation --------------------------------------------------------- */

/* n is refused with a message containing want, and the model is unchanged. */
static void net_bad(const struct sim_network *n, const char *want)
{
    char err[256] = "";
    if (sim_network_check(n, err, sizeof err) != -1 || !strstr(err, want))
        fail_msg("check: got '%s', want -1 with '%s'", err, want);
    struct sim_model m;
    sim_model_init(&m, 0);
    set_net(&m, 0, "cellular fixed limit=1GB usage=100MB");
    struct sim_model before = m;
    err[0] = '\0';
    assert_int_equal(sim_model_set_network(&m, DAY, n, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("set_network: got '%s', want '%s'", err, want);
    assert_true(net_eq(&m.net, &before.net));
    assert_int_equal(m.nevents, before.nevents);
    assert_int_equal(m.now_ms, before.now_ms);
    assert_memory_equal(&m.derived, &before.derived, sizeof m.derived);
    sim_model_free(&m);
}

static void net_good(const struct sim_network *n)
{
    char err[256] = "";
    if (sim_network_check(n, err, sizeof err) != 0)
        fail_msg("check refused a possible state: %s", err);
}

static void test_validation_network(void **state)
{
    (void)state;
    const struct sim_network base = net("cellular fixed limit=1GB usage=100MB");
    struct sim_network n;

    n = net("ethernet");
    n.roaming = true;
    net_bad(&n, "roaming: only a cellular network can roam (this one is ethernet)");
    n = net("wifi fixed");
    n.roaming = true;
    net_bad(&n, "roaming");

    n = net("wifi");
    n.data_limit = GB;
    net_bad(&n, "limit=1000000000: an unrestricted network has no data limit");
    n = net("wifi");
    n.usage = 5;
    net_bad(&n, "usage=5: usage is counted only on a costed network");
    n = base;
    n.data_limit = 0; /* usage above a limit that is not set */
    net_bad(&n, "usage=100000000 with no limit set");

    n = base;
    n.period_ms = 0;
    net_bad(&n, "period=0ms");
    n.period_ms = -DAY;
    net_bad(&n, "period=-1d");
    n.period_ms = 3651 * DAY;
    net_bad(&n, "period=3651d");
    n = base;
    n.period_start_ms = INT64_MAX;
    net_bad(&n, "start=");

    n = base;
    n.latency_ms = -1;
    net_bad(&n, "latency=-1ms");
    n = base;
    n.latency_ms = INT64_MAX - 1;
    net_bad(&n, "latency=");
    n = base;
    n.jitter_ms = -5;
    net_bad(&n, "jitter=-5ms");
    n = base;
    n.connect_delay_ms = -1;
    net_bad(&n, "connect-delay=-1ms");

    n = base;
    n.loss = -0.01;
    net_bad(&n, "loss=-0.01");
    n.loss = 1.5;
    net_bad(&n, "loss=1.5");
    n.loss = NAN;
    net_bad(&n, "loss=nan");
    n.loss = 1e-13;
    net_bad(&n, "loss=");

    n = base;
    n.connectivity = (enum sim_connectivity)7;
    net_bad(&n, "connectivity: 7");
    n = base;
    n.type = (enum sim_net_type)9;
    net_bad(&n, "type: 9");
    n = base;
    n.cost = (enum sim_cost)5;
    net_bad(&n, "cost: 5");
    n = base;
    n.overage = (enum sim_overage)3;
    net_bad(&n, "overage: 3");

    /* Possible, if unusual. */
    net_good(&base);
    n = net("cellular variable usage=5GB"); /* usage tracked, no limit */
    net_good(&n);
    n = net("cellular fixed limit=1GB usage=3GB"); /* over its limit */
    net_good(&n);
    n = net("wifi none down=1MiB/s"); /* no connectivity, some bandwidth */
    net_good(&n);
    n = net("cellular roaming latency=forever loss=1");
    net_good(&n);
}

static void bat_bad(const struct sim_battery *b, const char *want)
{
    char err[256] = "";
    if (sim_battery_check(b, err, sizeof err) != -1 || !strstr(err, want))
        fail_msg("check: got '%s', want -1 with '%s'", err, want);
    struct sim_model m;
    sim_model_init(&m, 0);
    set_bat(&m, 0, "level=50% drain=1%/h");
    struct sim_model before = m;
    assert_int_equal(sim_model_set_battery(&m, HOUR, b, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("set_battery: got '%s', want '%s'", err, want);
    assert_true(bat_eq(&m.bat, &before.bat));
    assert_int_equal(m.nevents, before.nevents);
    assert_int_equal(m.now_ms, before.now_ms);
    sim_model_free(&m);
}

static void test_validation_battery(void **state)
{
    (void)state;
    const struct sim_battery base = bat("battery level=50%");
    struct sim_battery b;
    b = base;
    b.level = 100.5;
    bat_bad(&b, "level=100.5%: must be from 0 to 100%");
    b.level = -1;
    bat_bad(&b, "level=-1%");
    b.level = NAN;
    bat_bad(&b, "level=nan");
    b = base;
    b.saver_threshold = 101;
    bat_bad(&b, "threshold=101%");
    b = base;
    b.drain_idle = -1;
    bat_bad(&b, "drain=-1%/h");
    b = base;
    b.drain_active = 2e6;
    bat_bad(&b, "active=2000000%/h");
    b = bat("none");
    b.charging = true;
    bat_bad(&b, "charging: there is no battery");
    b = bat("none");
    b.saver_manual = true;
    bat_bad(&b, "saver: battery saver needs a battery");

    char err[256];
    b = bat("none level=40%");
    assert_false(b.present);
    assert_int_equal(sim_battery_check(&b, err, sizeof err), 0);
    b = bat("level=0% threshold=100%");
    assert_int_equal(sim_battery_check(&b, err, sizeof err), 0);
}

static void test_set_identical(void **state)
{
    (void)state;
    struct sim_model m;
    sim_model_init(&m, 0);
    set_net(&m, 0, "cellular fixed limit=1GB");
    set_net(&m, HOUR, "cellular fixed limit=1GB");
    set_bat(&m, HOUR, "level=50%");
    set_bat(&m, 2 * HOUR, "level=50%");
    assert_int_equal(m.nevents, 2);
    /* After a rollover the same text still describes the same network. */
    sim_model_advance(&m, 31 * DAY, 0, false);
    assert_int_equal(m.nevents, 3);
    set_net(&m, 31 * DAY, "cellular fixed limit=1GB");
    assert_int_equal(m.nevents, 3);
    sim_model_free(&m);
}

/* ---- text --------------------------------------------------------------- */

static void net_parse_bad(const char *text, size_t want_col, const char *want)
{
    struct sim_network n = net("cellular roaming limit=3GB usage=1GB latency=7ms");
    struct sim_network before = n;
    size_t col = 999;
    char err[256] = "";
    assert_int_equal(sim_network_parse(text, &n, &col, err, sizeof err), -1);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "col %zu: ", want_col + 1);
    if (col != want_col || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, want))
        fail_msg("'%s': got col %zu '%s', want col %zu containing '%s'", text, col, err, want_col,
                 want);
    assert_true(net_eq(&n, &before));
}

static void bat_parse_bad(const char *text, size_t want_col, const char *want)
{
    struct sim_battery b = bat("level=33% charging");
    struct sim_battery before = b;
    size_t col = 999;
    char err[256] = "";
    assert_int_equal(sim_battery_parse(text, &b, &col, err, sizeof err), -1);
    if (col != want_col || !strstr(err, want))
        fail_msg("'%s': got col %zu '%s', want col %zu containing '%s'", text, col, err, want_col,
                 want);
    assert_true(bat_eq(&b, &before));
}

static void test_parse_errors(void **state)
{
    (void)state;
    net_parse_bad("cellular roamin", 9, "unknown word 'roamin' (did you mean 'roaming'?)");
    net_parse_bad("wifi limt=1GB", 5, "unknown key 'limt' (did you mean 'limit'?)");
    net_parse_bad("cellular fixed limit=2Gib", 22, "limit: unknown size unit");
    net_parse_bad("wifi cellular", 5, "network type given twice");
    net_parse_bad("ethernet roaming", 9, "roaming: only a cellular network can roam");
    net_parse_bad("cellular usage=1GB", 9, "with no limit set");
    net_parse_bad("wifi limit=1GB", 5, "unrestricted network has no data limit");
    net_parse_bad("limit=1GB wifi", 0, "unrestricted network has no data limit");
    net_parse_bad("cellular limit", 9, "key 'limit' needs a value");
    net_parse_bad("cellular limit=", 15, "needs a value");
    net_parse_bad("cellular limit=1GB overage=throtled", 27, "did you mean 'throttled'?");
    net_parse_bad("ethernet loss=150%", 14, "probability above 1");
    net_parse_bad("ethernet latency=5", 18, "duration needs a unit");
    net_parse_bad("ethernet down=fast", 14, "down: expected a rate");
    net_parse_bad("ethernet period=forever", 9, "period=forever");
    net_parse_bad("ethernet background=off", 20, "unknown background setting 'off'");
    net_parse_bad("reset  reset", 7, "'reset' given twice");
    net_parse_bad("limit=1GB limit=2GB", 10, "limit given twice");
    net_parse_bad("=5", 0, "without a key");
    /* Far from every word: no suggestion. */
    size_t col;
    char err[256];
    struct sim_network n = net("wifi");
    assert_int_equal(sim_network_parse("xyzzyplugh", &n, &col, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown word 'xyzzyplugh'"));
    assert_null(strstr(err, "did you mean"));

    bat_parse_bad("level=140%", 0, "level=140%: must be from 0 to 100%");
    bat_parse_bad("level=40", 8, "level: expected a percentage");
    bat_parse_bad("chargng", 0, "did you mean 'charging'?");
    bat_parse_bad("levl=40%", 0, "did you mean 'level'?");
    bat_parse_bad("none charging", 5, "charging: there is no battery");
    bat_parse_bad("drain=5%", 7, "5%/h");
    bat_parse_bad("battery none", 8, "given before");
    bat_parse_bad("charging discharging", 9, "charging given twice");
}

static void test_parse_examples(void **state)
{
    (void)state;
    struct sim_network n = net("wifi");
    assert_int_equal(n.type, SIM_NET_WIFI);
    assert_int_equal(n.cost, SIM_COST_UNRESTRICTED);

    n = net("cellular fixed limit=2GiB usage=1GiB roaming");
    assert_int_equal(n.type, SIM_NET_CELLULAR);
    assert_int_equal(n.cost, SIM_COST_FIXED);
    assert_true(n.roaming);
    assert_int_equal(n.data_limit, 2 * GIB);
    assert_int_equal(n.usage, GIB);

    /* Without a type word the text changes the current network. */
    size_t col;
    char err[256];
    assert_int_equal(sim_network_parse("none", &n, &col, err, sizeof err), 0);
    assert_int_equal(n.connectivity, SIM_CONN_NONE);
    assert_true(n.roaming);
    assert_int_equal(sim_network_parse("usage=1.5GiB online", &n, &col, err, sizeof err), 0);
    assert_int_equal(n.usage, 3 * GIB / 2);
    assert_int_equal(n.data_limit, 2 * GIB);
    assert_int_equal(n.connectivity, SIM_CONN_INTERNET);
    /* A type word starts a new network: roaming and the limit go. */
    assert_int_equal(sim_network_parse("wifi", &n, &col, err, sizeof err), 0);
    assert_true(net_eq(&n, &(struct sim_network){.connectivity = SIM_CONN_INTERNET,
                                                 .type = SIM_NET_WIFI,
                                                 .cost = SIM_COST_UNRESTRICTED,
                                                 .period_ms = 30 * DAY,
                                                 .overage = SIM_OVER_CHARGED,
                                                 .seed = 1}));

    n = net("ethernet down=8Mbit/s up=1MiB/s latency=40ms jitter=5ms loss=1% seed=3");
    assert_int_equal(n.down_bps, 1000000);
    assert_int_equal(n.up_bps, 1048576);
    assert_int_equal(n.latency_ms, 40);
    assert_int_equal(n.jitter_ms, 5);
    assert_true(n.loss == 0.01);
    assert_int_equal(n.seed, 3);
    assert_int_equal(sim_network_parse("down=unlimited up=0", &n, &col, err, sizeof err), 0);
    assert_int_equal(n.down_bps, 0);
    assert_int_equal(n.up_bps, 0);

    n = net("metered offline wifi background=restricted connect-delay=2s");
    assert_int_equal(n.cost, SIM_COST_FIXED);
    assert_int_equal(n.connectivity, SIM_CONN_NONE);
    assert_true(n.background_restricted);
    assert_int_equal(n.connect_delay_ms, 2000);
    n = net("cellular unrestricted local");
    assert_int_equal(n.cost, SIM_COST_UNRESTRICTED);
    assert_int_equal(n.connectivity, SIM_CONN_LOCAL);
    assert_int_equal(sim_network_parse("reset", &n, &col, err, sizeof err), 0);
    struct sim_network d;
    sim_network_default(&d);
    assert_true(net_eq(&n, &d));

    struct sim_battery b = bat("level=40% charging saver threshold=20% drain=5%/h active=12%/h");
    assert_true(b.present && b.charging && b.saver_manual);
    assert_true(b.level == 40 && b.saver_threshold == 20);
    assert_true(b.drain_idle == 5 && b.drain_active == 12);
    assert_int_equal(sim_battery_parse("discharging no-saver", &b, &col, err, sizeof err), 0);
    assert_false(b.charging || b.saver_manual);
    assert_true(b.level == 40);
    assert_int_equal(sim_battery_parse("none", &b, &col, err, sizeof err), 0);
    assert_false(b.present);
    b = bat("battery");
    assert_true(b.present && b.level == 100 && b.saver_threshold == 20 && b.drain_idle == 0);
}

/* A small deterministic generator for the round trips. */
static uint64_t rng = 88172645463325252ULL;
static uint64_t pick(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

static void test_network_roundtrip(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {0, 1, 1000, GIB, 1500 * MB, 3 * GIB / 2, UINT64_MAX};
    static const int64_t periods[] = {1, 1000, DAY, 30 * DAY, 3650 * DAY, 7 * DAY + 1};
    static const int64_t starts[] = {0, -5 * DAY, 12345, INT64_MAX / 2, -(INT64_MAX / 2)};
    static const uint64_t rates[] = {0, 1, 125000, 1048576, 1000, UINT64_MAX};
    static const int64_t durs[] = {0, 1, 40, 2000, INT64_MAX, INT64_MAX / 2};
    static const double losses[] = {0, 1e-12, 0.01, 1.0 / 3, 1, 0.1 + 0.2, 0.5};
    static const uint64_t seeds[] = {1, 0, 42, UINT64_MAX};
#define PICK(a) a[pick(sizeof a / sizeof *a)]
    struct sim_network other = net("cellular roaming limit=3GB usage=1GB latency=7ms seed=9");
    size_t valid = 0;
    for (int i = 0; i < 4000; i++) {
        struct sim_network n;
        sim_network_default(&n);
        n.connectivity = (enum sim_connectivity)pick(3);
        n.type = (enum sim_net_type)pick(3);
        n.cost = (enum sim_cost)pick(3);
        n.roaming = pick(2);
        n.data_limit = PICK(sizes);
        n.usage = PICK(sizes);
        n.period_ms = PICK(periods);
        n.period_start_ms = PICK(starts);
        n.overage = (enum sim_overage)pick(2);
        n.background_restricted = pick(2);
        n.down_bps = PICK(rates);
        n.up_bps = PICK(rates);
        n.latency_ms = PICK(durs);
        n.jitter_ms = PICK(durs);
        n.connect_delay_ms = PICK(durs);
        n.loss = PICK(losses);
        n.seed = PICK(seeds);
        char err[256];
        if (sim_network_check(&n, err, sizeof err) < 0)
            continue;
        valid++;
        char once[512], twice[512];
        sim_network_format(&n, once, sizeof once);
        struct sim_network back = other; /* the text is absolute */
        size_t col;
        if (sim_network_parse(once, &back, &col, err, sizeof err) < 0)
            fail_msg("'%s' does not parse back: %s", once, err);
        sim_network_format(&back, twice, sizeof twice);
        if (!net_eq(&n, &back))
            fail_msg("'%s' parses back as '%s'", once, twice);
        assert_string_equal(once, twice);
    }
    if (valid < 200)
        fail_msg("only %zu valid states generated", valid);
    char buf[512];
    sim_network_format(&(struct sim_network){.connectivity = SIM_CONN_INTERNET,
                                             .type = SIM_NET_CELLULAR,
                                             .cost = SIM_COST_FIXED,
                                             .roaming = true,
                                             .data_limit = 2 * GIB,
                                             .usage = GIB,
                                             .period_ms = 30 * DAY,
                                             .overage = SIM_OVER_THROTTLED,
                                             .loss = 0.01,
                                             .down_bps = 1000000,
                                             .seed = 1},
                       buf, sizeof buf);
    assert_string_equal(buf, "cellular fixed roaming limit=2GiB usage=1GiB overage=throttled "
                             "down=1000000/s loss=0.01");
}

static void test_battery_roundtrip(void **state)
{
    (void)state;
    static const double levels[] = {0, 12.5, 100.0 / 3, 100, 34.0625, 0.1, 99.99};
    static const double drains[] = {0, 0.1, 1e6, 1e-9, 5, 12.345678901234567};
    struct sim_battery other = bat("level=1% charging saver threshold=3% drain=4%/h");
    size_t valid = 0;
    for (int i = 0; i < 2000; i++) {
        struct sim_battery b;
        b.present = pick(2);
        b.level = PICK(levels);
        b.charging = pick(2);
        b.saver_manual = pick(2);
        b.saver_threshold = PICK(levels);
        b.drain_idle = PICK(drains);
        b.drain_active = PICK(drains);
        char err[256];
        if (sim_battery_check(&b, err, sizeof err) < 0)
            continue;
        valid++;
        char once[256], twice[256];
        sim_battery_format(&b, once, sizeof once);
        struct sim_battery back = other;
        size_t col;
        if (sim_battery_parse(once, &back, &col, err, sizeof err) < 0)
            fail_msg("'%s' does not parse back: %s", once, err);
        sim_battery_format(&back, twice, sizeof twice);
        if (!bat_eq(&b, &back))
            fail_msg("'%s' parses back as '%s'", once, twice);
        assert_string_equal(once, twice);
    }
    if (valid < 200)
        fail_msg("only %zu valid batteries generated", valid);
    char buf[256];
    sim_battery_format(&(struct sim_battery){.present = true,
                                             .level = 40,
                                             .charging = true,
                                             .saver_threshold = 20,
                                             .drain_idle = 5,
                                             .drain_active = 12.5},
                       buf, sizeof buf);
    assert_string_equal(buf, "battery level=40% threshold=20% drain=5%/h active=12.5%/h charging");
    struct sim_battery none;
    sim_battery_default(&none);
    sim_battery_format(&none, buf, sizeof buf);
    assert_string_equal(buf, "none");
}

/* ---- the listener ------------------------------------------------------- */

struct seen {
    size_t n;
    int64_t time[64];
    enum sim_event_kind kind[64];
    bool near[64];
};

static void record(void *arg, const struct sim_event *ev)
{
    struct seen *s = arg;
    if (s->n < 64) {
        s->time[s->n] = ev->time_ms;
        s->kind[s->n] = ev->kind;
        s->near[s->n] = ev->derived.near_limit;
    }
    s->n++;
}

static void test_listener(void **state)
{
    (void)state;
    struct seen s = {0};
    struct sim_model m;
    sim_model_init(&m, 0);
    m.listener = record;
    m.listener_arg = &s;
    set_net(&m, 0, "cellular fixed limit=1GB");
    set_bat(&m, 0, "level=30% threshold=20% drain=1%/h active=1%/h");
    sim_model_advance(&m, 5 * DAY, 500 * MB, true);
    sim_model_advance(&m, 6 * DAY, 600 * MB, true);
    set_net(&m, 7 * DAY, "wifi");
    sim_model_advance(&m, 70 * DAY, 0, false);
    assert_int_equal(s.n, m.nevents);
    assert_true(m.nevents >= 8);
    for (size_t i = 0; i < m.nevents; i++) {
        assert_int_equal(s.time[i], m.events[i].time_ms);
        assert_int_equal(s.kind[i], m.events[i].kind);
        assert_int_equal(s.near[i], m.events[i].derived.near_limit);
    }
    (void)count(&m, SIM_EV_NETWORK); /* checks the order */
    /* network, battery, saver at 10h, near at 5d, over + near at 6d, wifi: network + over
     * off, empty at 30h after 10h = 40h... which comes before 5d. */
    expect_event(&m, 2, SIM_EV_SAVER, 10 * HOUR);
    expect_event(&m, 3, SIM_EV_BATTERY, 30 * HOUR);
    expect_event(&m, 4, SIM_EV_NEAR_LIMIT, 5 * DAY);
    expect_event(&m, 5, SIM_EV_OVER_LIMIT, 6 * DAY);
    expect_event(&m, 6, SIM_EV_NEAR_LIMIT, 6 * DAY);
    expect_event(&m, 7, SIM_EV_NETWORK, 7 * DAY);
    expect_event(&m, 8, SIM_EV_OVER_LIMIT, 7 * DAY);
    assert_int_equal(m.nevents, 9); /* wifi: no billing periods after */
    sim_model_free(&m);
    assert_null(m.events);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_on_track_arithmetic),
        cmocka_unit_test(test_on_track_no_rate_at_period_start),
        cmocka_unit_test(test_on_track_no_overflow),
        cmocka_unit_test(test_limit_crossing),
        cmocka_unit_test(test_metering),
        cmocka_unit_test(test_rollover),
        cmocka_unit_test(test_rollover_many_periods),
        cmocka_unit_test(test_rollover_around_battery_event),
        cmocka_unit_test(test_period_anchor),
        cmocka_unit_test(test_battery_drain),
        cmocka_unit_test(test_battery_charging),
        cmocka_unit_test(test_saver_threshold_time),
        cmocka_unit_test(test_saver_by_command),
        cmocka_unit_test(test_next_change),
        cmocka_unit_test(test_time_never_backwards),
        cmocka_unit_test(test_validation_network),
        cmocka_unit_test(test_validation_battery),
        cmocka_unit_test(test_set_identical),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_examples),
        cmocka_unit_test(test_network_roundtrip),
        cmocka_unit_test(test_battery_roundtrip),
        cmocka_unit_test(test_listener),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
