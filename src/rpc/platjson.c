/*
 * platjson: struct xfer_platform <-> the protocol's platform object (see
 * platjson.h). The boolean members are one table, used both ways.
 */
#include "platjson.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    size_t off;
} bools[] = {
    {"roaming", offsetof(struct xfer_platform, roaming)},
    {"limit_known", offsetof(struct xfer_platform, limit_known)},
    {"over_limit", offsetof(struct xfer_platform, over_limit)},
    {"near_limit", offsetof(struct xfer_platform, near_limit)},
    {"overage_throttled", offsetof(struct xfer_platform, overage_throttled)},
    {"background_restricted", offsetof(struct xfer_platform, background_restricted)},
    {"battery_saver", offsetof(struct xfer_platform, battery_saver)},
    {"charging", offsetof(struct xfer_platform, charging)},
};
#define NBOOLS (sizeof bools / sizeof bools[0])

const char *rpc_connectivity_name(enum xfer_connectivity c)
{
    switch (c) {
    case XFER_NET_NONE:
        return "none";
    case XFER_NET_LOCAL:
        return "local";
    case XFER_NET_INTERNET:
        return "internet";
    }
    return "?";
}

const char *rpc_net_cost_name(enum xfer_net_cost c)
{
    switch (c) {
    case XFER_COST_UNRESTRICTED:
        return "unrestricted";
    case XFER_COST_FIXED:
        return "fixed";
    case XFER_COST_VARIABLE:
        return "variable";
    }
    return "?";
}

json_t *rpc_platform_json(const struct xfer_platform *p)
{
    json_t *o = json_pack("{s:s, s:s}", "connectivity", rpc_connectivity_name(p->connectivity),
                          "cost", rpc_net_cost_name(p->cost));
    size_t i;
    if (!o)
        return NULL;
    for (i = 0; i < NBOOLS; i++)
        json_object_set_new(o, bools[i].name,
                            json_boolean(*(const bool *)((const char *)p + bools[i].off)));
    return o;
}

static bool parse_conn(const char *s, enum xfer_connectivity *out)
{
    static const enum xfer_connectivity all[] = {XFER_NET_NONE, XFER_NET_LOCAL, XFER_NET_INTERNET};
    size_t i;
    for (i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, rpc_connectivity_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    return false;
}

static bool parse_cost(const char *s, enum xfer_net_cost *out)
{
    static const enum xfer_net_cost all[] = {XFER_COST_UNRESTRICTED, XFER_COST_FIXED,
                                             XFER_COST_VARIABLE};
    size_t i;
    for (i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, rpc_net_cost_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    return false;
}

int rpc_platform_apply(const json_t *obj, struct xfer_platform *p, char *err, size_t errlen)
{
    struct xfer_platform n = *p;
    const char *key;
    json_t *v;

    if (!json_is_object(obj)) {
        snprintf(err, errlen, "the platform must be a JSON object");
        return -1;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;
        bool known = false;
        if (strcmp(key, "connectivity") == 0) {
            if (!json_is_string(v) || !parse_conn(json_string_value(v), &n.connectivity)) {
                snprintf(err, errlen, "connectivity: expected \"none\", \"local\" or \"internet\"");
                return -1;
            }
            continue;
        }
        if (strcmp(key, "cost") == 0) {
            if (!json_is_string(v) || !parse_cost(json_string_value(v), &n.cost)) {
                snprintf(err, errlen, "cost: expected \"unrestricted\", \"fixed\" or \"variable\"");
                return -1;
            }
            continue;
        }
        for (i = 0; i < NBOOLS; i++) {
            if (strcmp(key, bools[i].name) == 0) {
                if (!json_is_boolean(v)) {
                    snprintf(err, errlen, "%s: expected true or false", key);
                    return -1;
                }
                *(bool *)((char *)&n + bools[i].off) = json_is_true(v);
                known = true;
            }
        }
        if (!known) {
            snprintf(err, errlen, "%s: not a member of the platform object", key);
            return -1;
        }
    }
    *p = n;
    return 0;
}
