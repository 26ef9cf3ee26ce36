/*
 * policy: see policy.h. The device-state → cost-state mapping follows the
 * BITS cost states (semantics.md §1.7), most specific first: roaming is
 * ROAMING whatever the plan; an unrestricted network is UNRESTRICTED; a pay-per-use
 * plan is USAGE_BASED; a capped plan is CAPPED_USAGE_UNKNOWN without a known
 * limit, then OVERCAP_THROTTLED or OVERCAP_CHARGED over it, NEAR_CAP when on
 * track to exceed it, BELOW_CAP otherwise. With the WinRT presets this gives
 * the seeds' table exactly (tests/src/engine/test_policy.c walks its 15 cells).
 */
#include "policy.h"

uint32_t xfer_cost_state(const struct xfer_platform *p)
{
    if (p->roaming) /* roaming surcharges whatever the plan says at home */
        return XFER_COST_STATE_ROAMING;
    switch (p->cost) {
    case XFER_COST_UNRESTRICTED:
        return XFER_COST_STATE_UNRESTRICTED;
    case XFER_COST_VARIABLE:
        return XFER_COST_STATE_USAGE_BASED;
    case XFER_COST_FIXED:
        if (!p->limit_known)
            return XFER_COST_STATE_CAPPED_USAGE_UNKNOWN;
        if (p->over_limit)
            return p->overage_throttled ? XFER_COST_STATE_OVERCAP_THROTTLED
                                        : XFER_COST_STATE_OVERCAP_CHARGED;
        return p->near_limit ? XFER_COST_STATE_NEAR_CAP : XFER_COST_STATE_BELOW_CAP;
    }
    return XFER_COST_STATE_UNRESTRICTED;
}

struct policy_verdict policy_decide(uint32_t cost_flags, enum xfer_priority priority,
                                    const struct xfer_platform *p)
{
    struct policy_verdict v = {.allowed = false, .why = XE_S_OK};
    if (p->connectivity != XFER_NET_INTERNET)
        v.why = XE_NETWORK_DISCONNECTED;
    else if (p->cost != XFER_COST_UNRESTRICTED && p->over_limit && p->background_restricted)
        v.why = XE_BLOCKED_BY_SYSTEM_POLICY;
    else if (p->battery_saver && !p->charging && priority != XFER_FOREGROUND)
        v.why = XE_BLOCKED_BY_BATTERY_SAVER;
    else if (!(cost_flags & xfer_cost_state(p)))
        v.why = XE_BLOCKED_BY_COST_TRANSFER_POLICY;
    else
        v.allowed = true;
    return v;
}
