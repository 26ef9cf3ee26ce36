/*
 * platjson: the platform object of PROTOCOL.md (struct xfer_platform as
 * JSON) both ways. xferd answers platform.get and reads platform.set with it;
 * the harness and xferctl build and read the same object.
 */
#ifndef RPC_PLATJSON_H
#define RPC_PLATJSON_H

#include <jansson.h>
#include <stddef.h>

#include "xfer/xfer.h"

/* {connectivity, cost, roaming, ...}. Caller owns. */
json_t *rpc_platform_json(const struct xfer_platform *p);
/*
 * Apply the members present in obj to *p (missing ones keep their value).
 * 0, or -1 with err naming the member and what was wrong with it; *p is
 * unchanged on error.
 */
int rpc_platform_apply(const json_t *obj, struct xfer_platform *p, char *err, size_t errlen);

const char *rpc_connectivity_name(enum xfer_connectivity c);
const char *rpc_net_cost_name(enum xfer_net_cost c);

#endif
