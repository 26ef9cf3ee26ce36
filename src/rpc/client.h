/*
 * client: a blocking JSON-RPC client of xferd's Unix socket (xferctl, tests,
 * the harness). It owns one connected socket, an input buffer that is split
 * into lines, and a queue of notifications that arrived while it waited for a
 * reply. Replies are matched by id; replies to other ids are dropped.
 *
 * Callers that run their own event loop watch rpc_client_fd() for reading,
 * call rpc_client_pump() when it is readable and then drain
 * rpc_next_notification(c, 0, ...).
 */
#ifndef RPC_CLIENT_H
#define RPC_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "rpc.h"

struct rpc_client;

/* Connect to the socket at path. Caller owns; rpc_client_close. NULL with a message in err. */
struct rpc_client *rpc_client_open(const char *path, char *err, size_t errlen);
void rpc_client_close(struct rpc_client *c);
int rpc_client_fd(const struct rpc_client *c);

/*
 * Send a request and wait up to timeout_ms (-1 forever) for its reply;
 * notifications that arrive meanwhile are queued. params is stolen (may be
 * NULL). Returns 0 with *result (caller owns), 1 with *error (the JSON-RPC
 * error object, caller owns), -1 on transport failure/timeout (err).
 */
int rpc_call(struct rpc_client *c, const char *method, json_t *params, int timeout_ms,
             json_t **result, json_t **error, char *err, size_t errlen);

/*
 * Read whatever is available on the fd without blocking and queue
 * notifications. 0 ok, -1 closed/error (err).
 */
int rpc_client_pump(struct rpc_client *c, char *err, size_t errlen);

/*
 * Next queued notification (the whole {"jsonrpc","method","params"} object,
 * caller owns), waiting up to timeout_ms (0: only what is queued, -1:
 * forever). NULL on timeout (err is "") or when the connection closed (then
 * err says so, never empty).
 */
json_t *rpc_next_notification(struct rpc_client *c, int timeout_ms, char *err, size_t errlen);

/* Send raw bytes as they are (tests: malformed input). 0 or -1 (err). */
int rpc_client_send_raw(struct rpc_client *c, const void *buf, size_t len, char *err,
                        size_t errlen);
/*
 * Wait up to timeout_ms for the next complete line that is not a notification
 * (tests: replies to raw input). Caller owns. NULL on timeout (err "") or
 * close (err says so).
 */
json_t *rpc_client_read_reply(struct rpc_client *c, int timeout_ms, char *err, size_t errlen);

#endif
