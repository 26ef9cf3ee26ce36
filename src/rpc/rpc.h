/*
 * rpc: the JSON-RPC 2.0 codec shared by xferd and its clients.
 *
 * Server side: rpc_decode_line() turns one received line (PROTOCOL.md
 * framing: one JSON value per line) into a list of requests to dispatch and
 * error responses to send back at once; it never fails on any bytes. The
 * response builders (rpc_result_response, rpc_error_response, ...) make the
 * objects the server writes; rpc_encode_line() serialises one value as a
 * line. Clients use the same builders for requests (rpc_request).
 *
 * Data flow: bytes -> rpc_decode_line -> struct rpc_decoded {requests[],
 * errors[]} -> (server dispatch) -> responses -> rpc_encode_line -> bytes.
 */
#ifndef RPC_RPC_H
#define RPC_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RPC_MAX_LINE (1u << 20)

/* JSON-RPC error codes */
#define RPC_PARSE_ERROR      -32700
#define RPC_INVALID_REQUEST  -32600
#define RPC_METHOD_NOT_FOUND -32601
#define RPC_INVALID_PARAMS   -32602
#define RPC_INTERNAL_ERROR   -32603

/* One valid request (or notification, when id is NULL). */
struct rpc_request {
    json_t *id;         /* the id as sent (string, number or null), or NULL for a notification */
    const char *method; /* inside msg */
    json_t *params;     /* object or array, or NULL when absent; borrowed from msg */
    json_t *msg;        /* the whole request object; owned by the rpc_decoded */
};

struct rpc_decoded {
    bool batch; /* the line was an array: answer with an array */
    size_t nrequests;
    struct rpc_request *requests; /* in the order received */
    size_t nerrors;
    json_t **errors; /* error responses to send as they are */
};

/*
 * Decode one line (len bytes, no trailing newline needed). Never fails on
 * input: what is wrong becomes an error response in out->errors. Returns 0,
 * or -1 only when memory ran out. The caller frees out with rpc_decoded_free.
 */
int rpc_decode_line(const char *line, size_t len, struct rpc_decoded *out);
void rpc_decoded_free(struct rpc_decoded *d);

/* {"jsonrpc":"2.0","id":id,"result":result}; result stolen, id borrowed (NULL = null). */
json_t *rpc_result_response(json_t *id, json_t *result);
/* {"jsonrpc":"2.0","id":id,"error":{code,message[,data]}}; data stolen (may be NULL). */
json_t *rpc_error_response(json_t *id, int code, const char *message, json_t *data);
/* The error object alone: {code, message[, data]}; data stolen (may be NULL). */
json_t *rpc_error_object(int code, const char *message, json_t *data);
/* -32602 with data {param, reason}. */
json_t *rpc_invalid_params(json_t *id, const char *param, const char *reason);
/* {"jsonrpc":"2.0","method":method,"params":params} (+ "id" when id >= 0); params stolen. */
json_t *rpc_request(const char *method, json_t *params, long long id);

/*
 * Serialise v compactly followed by '\n'. Caller owns the returned string
 * (free()); *len gets its length. NULL when out of memory.
 */
char *rpc_encode_line(const json_t *v, size_t *len);

#endif
