/*
 * methods: the JSON-RPC methods of PROTOCOL.md, one table (name, handler).
 * A handler checks its params (every bad member is -32602 naming it), calls
 * the engine or a module with the caller's uid, and returns the result or an
 * error object; xd_dispatch wraps either into the response.
 */
#ifndef XFERD_METHODS_H
#define XFERD_METHODS_H

#include <jansson.h>

#include "rpc.h"
#include "xferd.h"

struct xd_conn;

struct evbuffer;

/*
 * The response to req (caller owns), or NULL for a notification (no id). With
 * out (not inside a batch), a method whose reply is large (job.list) may write
 * its response line to out itself and return NULL.
 */
json_t *xd_dispatch(struct xferd *x, struct xd_conn *c, const struct rpc_request *req,
                    struct evbuffer *out);

#endif
