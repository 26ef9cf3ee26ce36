/*
 * platform_map: see platform_map.h. Every field of struct xfer_platform comes
 * from one model fact; the cost switch is exhaustive so a new cost kind cannot
 * be forgotten here.
 */
#include "platform_map.h"

static enum xfer_net_cost cost_of(enum sim_cost c)
{
    switch (c) {
    case SIM_COST_UNRESTRICTED:
        return XFER_COST_UNRESTRICTED;
    case SIM_COST_FIXED:
        return XFER_COST_FIXED;
    case SIM_COST_VARIABLE:
        return XFER_COST_VARIABLE;
    }
    return XFER_COST_UNRESTRICTED;
}

static enum xfer_connectivity connectivity_of(enum sim_connectivity c)
{
    switch (c) {
    case SIM_CONN_NONE:
        return XFER_NET_NONE;
    case SIM_CONN_LOCAL:
        return XFER_NET_LOCAL;
    case SIM_CONN_INTERNET:
        return XFER_NET_INTERNET;
    }
    return XFER_NET_NONE;
}

void sim_platform_of(const struct sim_model *m, struct xfer_platform *out)
{
    const struct sim_network *n = &m->net;
    *out = (struct xfer_platform){
        .connectivity = connectivity_of(n->connectivity),
        .cost = cost_of(n->cost),
        .roaming = n->roaming,
        .limit_known = n->data_limit > 0,
        .over_limit = m->derived.over_limit,
        .near_limit = m->derived.near_limit,
        .overage_throttled = n->overage == SIM_OVER_THROTTLED,
        .background_restricted = n->background_restricted,
        .battery_saver = m->derived.saver_on,
        .charging = m->bat.present && m->bat.charging,
    };
}
