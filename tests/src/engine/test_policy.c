/*
 * test_policy: the engine's policy (policy.h), as a table.
 *   - the seeds' cost table, all 15 cells (5 device states × UnrestrictedOnly,
 *     Default, Always), one cmocka test per cell;
 *   - every BITS preset against every cost state the network can be in;
 *   - battery saver: background priorities pause, FOREGROUND does not, charging
 *     lifts it;
 *   - the order of the checks (no network first, then system, battery, cost);
 *   - the WinRT status each block shows comes from its error row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "policy.h"

#define UNRESTRICTED_ONLY 0x80000021u
#define DEFAULT           0x80000067u
#define ALWAYS            0x800000FFu

/* The five device states of the seeds' table (000_…txt, "Device State"). */
static const struct xfer_platform WIFI = {.connectivity = XFER_NET_INTERNET,
                                          .cost = XFER_COST_UNRESTRICTED};
static const struct xfer_platform METERED_STAY = {
    .connectivity = XFER_NET_INTERNET, .cost = XFER_COST_FIXED, .limit_known = true};
static const struct xfer_platform METERED_EXCEED = {.connectivity = XFER_NET_INTERNET,
                                                    .cost = XFER_COST_FIXED,
                                                    .limit_known = true,
                                                    .near_limit = true};
static const struct xfer_platform METERED_ROAMING = {.connectivity = XFER_NET_INTERNET,
                                                     .cost = XFER_COST_FIXED,
                                                     .limit_known = true,
                                                     .roaming = true};
static const struct xfer_platform METERED_OVER_RESTRICTED = {.connectivity = XFER_NET_INTERNET,
                                                             .cost = XFER_COST_FIXED,
                                                             .limit_known = true,
                                                             .over_limit = true,
                                                             .background_restricted = true};

struct cell {
    const char *state;
    const struct xfer_platform *p;
    uint32_t policy;
    const char *policy_name;
    bool allow;
};

#define ROW(name, p, uo, def, al)                                                                  \
    {name, &p, UNRESTRICTED_ONLY, "UnrestrictedOnly", uo}, {name, &p, DEFAULT, "Default", def},    \
    {                                                                                              \
        name, &p, ALWAYS, "Always", al                                                             \
    }
static const struct cell cells[15] = {
    ROW("Connected to WiFi", WIFI, true, true, true),
    ROW("Metered, not roaming, under limit, on track to stay under", METERED_STAY, false, true,
        true),
    ROW("Metered, not roaming, under limit, on track to exceed", METERED_EXCEED, false, false,
        true),
    ROW("Metered, roaming, under limit", METERED_ROAMING, false, false, true),
    ROW("Metered, over limit, background data restricted", METERED_OVER_RESTRICTED, false, false,
        false),
};

static void test_cell(void **state)
{
    const struct cell *c = *state;
    for (int prio = XFER_HIGH; prio <= XFER_LOW; prio++) {
        struct policy_verdict v = policy_decide(c->policy, (enum xfer_priority)prio, c->p);
        if (v.allowed != c->allow)
            fail_msg("%s / %s: %s, want %s", c->state, c->policy_name, v.allowed ? "Allow" : "Deny",
                     c->allow ? "Allow" : "Deny");
        if (!v.allowed) {
            /* decisions.md: over the limit with restricted background data is a
             * system restriction (PausedSystemPolicy), not a cost decision. */
            enum xe_id want = c->p == &METERED_OVER_RESTRICTED ? XE_BLOCKED_BY_SYSTEM_POLICY
                                                               : XE_BLOCKED_BY_COST_TRANSFER_POLICY;
            assert_int_equal(v.why, want);
            assert_int_equal(xe_row(v.why)->winrt_status, want == XE_BLOCKED_BY_SYSTEM_POLICY
                                                              ? XFER_WINRT_PAUSED_SYSTEM_POLICY
                                                              : XFER_WINRT_PAUSED_COSTED_NETWORK);
            assert_true(xe_row(v.why)->transient);
        } else {
            assert_int_equal(v.why, XE_S_OK);
        }
    }
}

/* Every network shape to its BITS cost state. */
static void test_cost_states(void **state)
{
    (void)state;
    const struct {
        struct xfer_platform p;
        uint32_t want;
    } cases[] = {
        {{.cost = XFER_COST_UNRESTRICTED}, XFER_COST_STATE_UNRESTRICTED},
        {{.cost = XFER_COST_FIXED}, XFER_COST_STATE_CAPPED_USAGE_UNKNOWN},
        {{.cost = XFER_COST_FIXED, .limit_known = true}, XFER_COST_STATE_BELOW_CAP},
        {{.cost = XFER_COST_FIXED, .limit_known = true, .near_limit = true},
         XFER_COST_STATE_NEAR_CAP},
        {{.cost = XFER_COST_FIXED, .limit_known = true, .over_limit = true},
         XFER_COST_STATE_OVERCAP_CHARGED},
        {{.cost = XFER_COST_FIXED,
          .limit_known = true,
          .over_limit = true,
          .overage_throttled = true},
         XFER_COST_STATE_OVERCAP_THROTTLED},
        {{.cost = XFER_COST_VARIABLE}, XFER_COST_STATE_USAGE_BASED},
        {{.cost = XFER_COST_VARIABLE, .roaming = true}, XFER_COST_STATE_ROAMING},
        {{.cost = XFER_COST_FIXED, .limit_known = true, .over_limit = true, .roaming = true},
         XFER_COST_STATE_ROAMING},
        {{.cost = XFER_COST_UNRESTRICTED, .roaming = true}, XFER_COST_STATE_ROAMING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(xfer_cost_state(&cases[i].p), cases[i].want);
}

/* The BITS presets (semantics.md §1.7) against each cost state. */
static void test_presets(void **state)
{
    (void)state;
    const uint32_t states[] = {
        XFER_COST_STATE_UNRESTRICTED,    XFER_COST_STATE_CAPPED_USAGE_UNKNOWN,
        XFER_COST_STATE_BELOW_CAP,       XFER_COST_STATE_NEAR_CAP,
        XFER_COST_STATE_OVERCAP_CHARGED, XFER_COST_STATE_OVERCAP_THROTTLED,
        XFER_COST_STATE_USAGE_BASED,     XFER_COST_STATE_ROAMING};
    const struct xfer_platform shapes[] = {
        {.connectivity = XFER_NET_INTERNET, .cost = XFER_COST_UNRESTRICTED},
        {.connectivity = XFER_NET_INTERNET, .cost = XFER_COST_FIXED},
        {.connectivity = XFER_NET_INTERNET, .cost = XFER_COST_FIXED, .limit_known = true},
        {.connectivity = XFER_NET_INTERNET,
         .cost = XFER_COST_FIXED,
         .limit_known = true,
         .near_limit = true},
        {.connectivity = XFER_NET_INTERNET,
         .cost = XFER_COST_FIXED,
         .limit_known = true,
         .over_limit = true},
        {.connectivity = XFER_NET_INTERNET,
         .cost = XFER_COST_FIXED,
         .limit_known = true,
         .over_limit = true,
         .overage_throttled = true},
        {.connectivity = XFER_NET_INTERNET, .cost = XFER_COST_VARIABLE},
        {.connectivity = XFER_NET_INTERNET, .cost = XFER_COST_FIXED, .roaming = true},
    };
    /* allowed[preset][state], from the presets' compositions */
    const struct {
        const char *name;
        uint32_t flags;
        const char *allowed; /* one char per state above: 1 allowed */
    } presets[] = {
        {"ALWAYS", 0x800000FFu, "11111111"},       {"NOT_ROAMING", 0x8000007Fu, "11111110"},
        {"NO_SURCHARGE", 0x8000006Fu, "11110110"}, {"STANDARD", 0x80000067u, "11100110"},
        {"UNRESTRICTED", 0x80000021u, "10000100"},
    };
    for (size_t s = 0; s < 8; s++)
        assert_int_equal(xfer_cost_state(&shapes[s]), states[s]);
    for (size_t k = 0; k < sizeof presets / sizeof presets[0]; k++) {
        for (size_t s = 0; s < 8; s++) {
            struct policy_verdict v = policy_decide(presets[k].flags, XFER_NORMAL, &shapes[s]);
            bool want = presets[k].allowed[s] == '1';
            if (v.allowed != want)
                fail_msg("%s on cost state 0x%02X: %s", presets[k].name, states[s],
                         v.allowed ? "allowed" : "blocked");
        }
    }
}

static void test_battery(void **state)
{
    (void)state;
    struct xfer_platform p = WIFI;
    p.battery_saver = true;
    for (int prio = XFER_FOREGROUND; prio <= XFER_LOW; prio++) {
        struct policy_verdict v = policy_decide(ALWAYS, (enum xfer_priority)prio, &p);
        if (prio == XFER_FOREGROUND) {
            assert_true(v.allowed);
        } else {
            assert_false(v.allowed);
            assert_int_equal(v.why, XE_BLOCKED_BY_BATTERY_SAVER);
            assert_int_equal(xe_row(v.why)->winrt_status, XFER_WINRT_PAUSED_SYSTEM_POLICY);
        }
    }
    p.charging = true;
    assert_true(policy_decide(DEFAULT, XFER_LOW, &p).allowed);
}

static void test_order(void **state)
{
    (void)state;
    /* No network beats everything. */
    struct xfer_platform p = METERED_OVER_RESTRICTED;
    p.connectivity = XFER_NET_NONE;
    p.battery_saver = true;
    struct policy_verdict v = policy_decide(UNRESTRICTED_ONLY, XFER_LOW, &p);
    assert_int_equal(v.why, XE_NETWORK_DISCONNECTED);
    assert_int_equal(xe_row(v.why)->winrt_status, XFER_WINRT_PAUSED_NO_NETWORK);
    p.connectivity = XFER_NET_LOCAL; /* local only is no internet */
    assert_int_equal(policy_decide(ALWAYS, XFER_FOREGROUND, &p).why, XE_NETWORK_DISCONNECTED);
    /* The system restriction beats battery and cost, even for FOREGROUND and Always. */
    p.connectivity = XFER_NET_INTERNET;
    assert_int_equal(policy_decide(ALWAYS, XFER_FOREGROUND, &p).why, XE_BLOCKED_BY_SYSTEM_POLICY);
    /* Battery before cost. */
    p = METERED_ROAMING;
    p.battery_saver = true;
    assert_int_equal(policy_decide(DEFAULT, XFER_NORMAL, &p).why, XE_BLOCKED_BY_BATTERY_SAVER);
    assert_int_equal(policy_decide(DEFAULT, XFER_FOREGROUND, &p).why,
                     XE_BLOCKED_BY_COST_TRANSFER_POLICY);
    /* Restricted background data alone, under the limit, changes nothing. */
    p = METERED_STAY;
    p.background_restricted = true;
    assert_true(policy_decide(DEFAULT, XFER_NORMAL, &p).allowed);
}

int main(void)
{
    struct CMUnitTest tests[15 + 5];
    static char names[15][160];
    for (size_t i = 0; i < 15; i++) {
        snprintf(names[i], sizeof names[i], "cell %02zu %s / %s", i + 1, cells[i].state,
                 cells[i].policy_name);
        tests[i] = (struct CMUnitTest){
            .name = names[i], .test_func = test_cell, .initial_state = (void *)&cells[i]};
    }
    tests[15] = (struct CMUnitTest)cmocka_unit_test(test_cost_states);
    tests[16] = (struct CMUnitTest)cmocka_unit_test(test_presets);
    tests[17] = (struct CMUnitTest)cmocka_unit_test(test_battery);
    tests[18] = (struct CMUnitTest)cmocka_unit_test(test_order);
    return _cmocka_run_group_tests("test_policy", tests, 19, NULL, NULL);
}
