/*
 * test_platform: the engine under a changing platform (simulation provider),
 * with a real fault server. A block stops a moving job at once (within one
 * second of simulated time), the job waits in TRANSIENT_ERROR with the block's
 * code and WinRT status, and resumes by itself when allowed — with a Range
 * request from its checkpoint — ending with the right SHA-256.
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

#define ME    1000
#define SCALE 100.0
#define SIZE  (2u << 20)
#define SEED  11

static const struct xfer_platform ONLINE = {.connectivity = XFER_NET_INTERNET,
                                            .cost = XFER_COST_UNRESTRICTED};

struct world {
    struct engenv t; /* first: engenv_run_until's struct engenv * is this world */
    struct xfer_platform_sim *sim;
    struct xfer_platform_provider prov;
};

static void world_init(struct world *w)
{
    engenv_init(&w->t, SCALE, false);
    fltenv_gen(&w->t.f, "/a.bin", SIZE, SEED);
    fltenv_gen(&w->t.f, "/b.bin", SIZE, SEED + 1);
    fltenv_rule(&w->t.f, "throttle 256KiB/s"); /* 8 s of simulated time per file */
    w->sim = xfer_platform_sim_new();
    assert_non_null(w->sim);
    w->prov = xfer_platform_sim_provider(w->sim);
    w->t.cfg.platform = &w->prov;
    engenv_open(&w->t);
}

static void world_free(struct world *w)
{
    engenv_free(&w->t);
    xfer_platform_sim_free(w->sim);
}

static xfer_guid start(struct world *w, const char *path, const char *priority, const char *cost)
{
    char u[128];
    snprintf(u, sizeof u, "%s%s", w->t.http_url, path);
    xfer_guid g = engenv_download(&w->t, u, path + 1);
    if (priority)
        assert_int_equal(xfer_job_set(w->t.eng, ME, &g, "priority", priority, NULL, 0), 0);
    if (cost)
        assert_int_equal(xfer_job_set(w->t.eng, ME, &g, "cost_policy", cost, NULL, 0), 0);
    return g;
}

static uint64_t done_bytes(struct world *w, const xfer_guid *g)
{
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(w->t.eng, ME, g, &in), 0);
    uint64_t b = in->bytes_done;
    free(in);
    return b;
}

static bool has_bytes(struct engenv *t, void *arg)
{
    (void)t;
    struct world *w = (struct world *)t;
    return done_bytes(w, arg) >= SIZE / 4;
}

/* Block mid-file with `p`; check the wait; unblock; check the resume. */
static void block_and_release(struct world *w, const xfer_guid *g, const struct xfer_platform *p,
                              enum xe_id why, int winrt)
{
    assert_true(engenv_run_until(&w->t, has_bytes, (void *)g, 20000));
    int64_t t0 = xfer_engine_now(w->t.eng);
    xfer_platform_sim_push(w->sim, p);
    /* stopped at once: no transfer in flight, in simulated time well under 1 s */
    assert_int_equal(xfer_engine_in_flight(w->t.eng), 0);
    assert_true(xfer_engine_now(w->t.eng) - t0 < 1000);
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(w->t.eng, ME, g, &in), 0);
    assert_int_equal(in->state, XFER_TRANSIENT_ERROR);
    assert_int_equal(xe_find(in->error.hr), why);
    assert_int_equal(in->winrt_status, winrt);
    uint64_t at = in->bytes_done;
    free(in);
    /* it stays blocked: no retries while the block lasts */
    size_t before = flt_journal_count(&w->t.f.journal);
    engenv_spin(&w->t, 200); /* 20 simulated seconds */
    assert_int_equal(engenv_state(&w->t, g, NULL), XFER_TRANSIENT_ERROR);
    assert_int_equal(flt_journal_count(&w->t.f.journal), before);
    xfer_platform_sim_push(w->sim, &ONLINE);
    assert_true(engenv_wait_state(&w->t, g, XFER_TRANSFERRED, 30000));
    /* the request after the block resumed from the checkpoint */
    struct flt_jentry e;
    assert_int_equal(flt_journal_get(&w->t.f.journal, before, &e), 0);
    assert_non_null(e.range);
    char want[64];
    snprintf(want, sizeof want, "bytes=%llu-", (unsigned long long)at);
    assert_string_equal(e.range, want);
    flt_jentry_release(&e);
}

static void test_network_lost(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    xfer_guid g = start(&w, "/a.bin", NULL, NULL);
    struct xfer_platform off = ONLINE;
    off.connectivity = XFER_NET_NONE;
    block_and_release(&w, &g, &off, XE_NETWORK_DISCONNECTED, XFER_WINRT_PAUSED_NO_NETWORK);
    char states[256];
    engenv_states(&w.t, &g, states, sizeof states);
    assert_string_equal(states, "SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSIENT_ERROR QUEUED "
                                "CONNECTING TRANSFERRING TRANSFERRED");
    engenv_complete_and_check(&w.t, &g, "a.bin", SEED, SIZE);
    world_free(&w);
}

/* Wi-Fi → metered roaming mid-download, with each WinRT policy. */
static void test_roaming_each_policy(void **state)
{
    (void)state;
    struct xfer_platform roaming = {.connectivity = XFER_NET_INTERNET,
                                    .cost = XFER_COST_FIXED,
                                    .limit_known = true,
                                    .roaming = true};
    const char *policies[] = {"UnrestrictedOnly", "Default", "Always"};
    for (int i = 0; i < 3; i++) {
        struct world w;
        world_init(&w);
        xfer_guid g = start(&w, "/a.bin", NULL, policies[i]);
        if (i < 2) {
            block_and_release(&w, &g, &roaming, XE_BLOCKED_BY_COST_TRANSFER_POLICY,
                              XFER_WINRT_PAUSED_COSTED_NETWORK);
        } else {
            assert_true(engenv_run_until(&w.t, has_bytes, &g, 20000));
            xfer_platform_sim_push(w.sim, &roaming);
            assert_true(engenv_wait_state(&w.t, &g, XFER_TRANSFERRED, 30000));
            assert_int_equal(engenv_count(&w.t, &g, XFER_EV_STATE), 5); /* never blocked */
        }
        engenv_complete_and_check(&w.t, &g, "a.bin", SEED, SIZE);
        world_free(&w);
    }
}

/* Battery saver pauses background jobs, not FOREGROUND ones; off again resumes. */
static void test_battery_saver(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    xfer_guid bg = start(&w, "/a.bin", "NORMAL", NULL);
    xfer_guid fg = start(&w, "/b.bin", "FOREGROUND", NULL);
    assert_true(engenv_run_until(&w.t, has_bytes, &bg, 20000));
    struct xfer_platform saver = ONLINE;
    saver.battery_saver = true;
    xfer_platform_sim_push(w.sim, &saver);
    xfer_hr hr;
    assert_int_equal(engenv_state(&w.t, &bg, &hr), XFER_TRANSIENT_ERROR);
    assert_int_equal(xe_find(hr), XE_BLOCKED_BY_BATTERY_SAVER);
    assert_true(engenv_wait_state(&w.t, &fg, XFER_TRANSFERRED, 30000));
    assert_int_equal(engenv_state(&w.t, &bg, NULL), XFER_TRANSIENT_ERROR);
    saver.charging = true; /* plugged in: saver no longer holds jobs */
    xfer_platform_sim_push(w.sim, &saver);
    assert_true(engenv_wait_state(&w.t, &bg, XFER_TRANSFERRED, 30000));
    engenv_complete_and_check(&w.t, &bg, "a.bin", SEED, SIZE);
    engenv_complete_and_check(&w.t, &fg, "b.bin", SEED + 1, SIZE);
    world_free(&w);
}

/* A job's new cost policy releases it; a job queued on a costly network waits. */
static void test_policy_change(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    struct xfer_platform metered = {.connectivity = XFER_NET_INTERNET,
                                    .cost = XFER_COST_FIXED,
                                    .limit_known = true,
                                    .near_limit = true};
    xfer_platform_sim_push(w.sim, &metered);
    xfer_guid g = start(&w, "/a.bin", NULL, NULL); /* Default: near the cap is denied */
    engenv_spin(&w.t, 50);
    xfer_hr hr;
    assert_int_equal(engenv_state(&w.t, &g, &hr), XFER_TRANSIENT_ERROR);
    assert_int_equal(xe_find(hr), XE_BLOCKED_BY_COST_TRANSFER_POLICY);
    assert_int_equal(flt_journal_count(&w.t.f.journal), 0); /* never asked */
    assert_int_equal(xfer_job_set(w.t.eng, ME, &g, "cost_policy", "Always", NULL, 0), 0);
    assert_true(engenv_wait_state(&w.t, &g, XFER_TRANSFERRED, 30000));
    engenv_complete_and_check(&w.t, &g, "a.bin", SEED, SIZE);
    world_free(&w);
}

/* Connectivity returning re-queues TRANSIENT_ERROR jobs whatever their error. */
static void test_reconnect_requeues_any_error(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    fltenv_rule(&w.t.f, "status 503 first=4");
    xfer_guid g = start(&w, "/a.bin", NULL, NULL);
    assert_int_equal(xfer_job_set(w.t.eng, ME, &g, "min_retry_delay", "86400", NULL, 0), 0);
    xfer_hr hr;
    assert_true(engenv_wait_state(&w.t, &g, XFER_TRANSIENT_ERROR, 20000));
    engenv_state(&w.t, &g, &hr);
    assert_int_equal(xe_find(hr), XE_HTTP_503);
    struct xfer_platform off = ONLINE;
    off.connectivity = XFER_NET_NONE;
    xfer_platform_sim_push(w.sim, &off);
    engenv_state(&w.t, &g, &hr);
    assert_int_equal(xe_find(hr), XE_NETWORK_DISCONNECTED); /* the code follows the cause */
    xfer_platform_sim_push(w.sim, &ONLINE);
    assert_true(engenv_wait_state(&w.t, &g, XFER_TRANSFERRED, 30000)); /* not a day later */
    assert_true(xfer_engine_now(w.t.eng) < 86400 * 1000LL);
    engenv_complete_and_check(&w.t, &g, "a.bin", SEED, SIZE);
    world_free(&w);
}

/* Suspended, ERROR and TRANSFERRED jobs are not touched by the platform. */
static void test_untouched_states(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    xfer_guid s;
    assert_int_equal(xfer_job_create(w.t.eng, ME, XFER_DOWNLOAD, "s", &s), 0);
    struct xfer_platform off = ONLINE;
    off.connectivity = XFER_NET_NONE;
    xfer_platform_sim_push(w.sim, &off);
    assert_int_equal(engenv_state(&w.t, &s, NULL), XFER_SUSPENDED);
    struct xfer_platform got;
    xfer_engine_platform(w.t.eng, &got);
    assert_int_equal(got.connectivity, XFER_NET_NONE);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_lost),
        cmocka_unit_test(test_roaming_each_policy),
        cmocka_unit_test(test_battery_saver),
        cmocka_unit_test(test_policy_change),
        cmocka_unit_test(test_reconnect_requeues_any_error),
        cmocka_unit_test(test_untouched_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
