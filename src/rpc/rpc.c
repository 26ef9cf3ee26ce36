/*
 * rpc: JSON-RPC 2.0 framing and validation (see rpc.h). One line in, a list of
 * valid requests and of error responses out; jansson does all the parsing.
 */
#include "rpc.h"

#include <stdlib.h>
#include <string.h>

static bool valid_id(const json_t *id)
{
    return json_is_string(id) || json_is_integer(id) || json_is_real(id) || json_is_null(id);
}

static int push_error(struct rpc_decoded *d, json_t *resp)
{
    json_t **n;
    if (!resp)
        return -1;
    n = realloc(d->errors, (d->nerrors + 1) * sizeof *n);
    if (!n) {
        json_decref(resp);
        return -1;
    }
    d->errors = n;
    d->errors[d->nerrors++] = resp;
    return 0;
}

static json_t *invalid_request(json_t *id, const char *reason)
{
    return rpc_error_response(id, RPC_INVALID_REQUEST, "Invalid Request",
                              json_pack("{s:s}", "reason", reason));
}

/* Validate one request object; on success append it, else append an error response. */
static int take_one(struct rpc_decoded *d, json_t *msg)
{
    json_t *id, *ver, *method, *params;
    struct rpc_request *n;

    if (!json_is_object(msg))
        return push_error(d, invalid_request(NULL, "a request must be a JSON object"));
    id = json_object_get(msg, "id");
    if (id && !valid_id(id))
        return push_error(d, invalid_request(NULL, "\"id\" must be a string, a number or null"));
    ver = json_object_get(msg, "jsonrpc");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0)
        return push_error(d, invalid_request(id, "\"jsonrpc\" must be \"2.0\""));
    method = json_object_get(msg, "method");
    if (!json_is_string(method))
        return push_error(d, invalid_request(id, "\"method\" must be a string"));
    params = json_object_get(msg, "params");
    if (params && !json_is_object(params) && !json_is_array(params))
        return push_error(d, invalid_request(id, "\"params\" must be an object or an array"));
    n = realloc(d->requests, (d->nrequests + 1) * sizeof *n);
    if (!n)
        return -1;
    d->requests = n;
    d->requests[d->nrequests].msg = json_incref(msg);
    d->requests[d->nrequests].id = id;
    d->requests[d->nrequests].method = json_string_value(method);
    d->requests[d->nrequests].params = params;
    d->nrequests++;
    return 0;
}

int rpc_decode_line(const char *line, size_t len, struct rpc_decoded *out)
{
    json_error_t jerr;
    json_t *v = NULL;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > RPC_MAX_LINE)
        return push_error(
            out, rpc_error_response(NULL, RPC_INVALID_REQUEST, "message too large",
                                    json_pack("{s:I}", "limit", (json_int_t)RPC_MAX_LINE)));
    v = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v)
        return push_error(out,
                          rpc_error_response(NULL, RPC_PARSE_ERROR, "Parse error",
                                             json_pack("{s:s, s:i, s:i}", "reason", jerr.text,
                                                       "line", jerr.line, "column", jerr.column)));
    if (json_is_array(v)) {
        size_t i;
        json_t *el;
        if (json_array_size(v) == 0) {
            rc = push_error(out, invalid_request(NULL, "empty batch"));
            goto done;
        }
        out->batch = true;
        json_array_foreach(v, i, el)
        {
            if (take_one(out, el) < 0) {
                rc = -1;
                goto done;
            }
        }
    } else {
        rc = take_one(out, v);
    }
done:
    json_decref(v);
    return rc;
}

void rpc_decoded_free(struct rpc_decoded *d)
{
    size_t i;
    if (!d)
        return;
    for (i = 0; i < d->nrequests; i++)
        json_decref(d->requests[i].msg);
    for (i = 0; i < d->nerrors; i++)
        json_decref(d->errors[i]);
    free(d->requests);
    free(d->errors);
    memset(d, 0, sizeof *d);
}

json_t *rpc_result_response(json_t *id, json_t *result)
{
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "result",
                     result ? result : json_object());
}

json_t *rpc_error_object(int code, const char *message, json_t *data)
{
    json_t *e = json_pack("{s:i, s:s}", "code", code, "message", message ? message : "");
    if (!e) {
        json_decref(data);
        return NULL;
    }
    if (data)
        json_object_set_new(e, "data", data);
    return e;
}

json_t *rpc_error_response(json_t *id, int code, const char *message, json_t *data)
{
    json_t *e = rpc_error_object(code, message, data);
    if (!e)
        return NULL;
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", e);
}

json_t *rpc_invalid_params(json_t *id, const char *param, const char *reason)
{
    return rpc_error_response(
        id, RPC_INVALID_PARAMS, "Invalid params",
        json_pack("{s:s, s:s}", "param", param ? param : "", "reason", reason ? reason : ""));
}

json_t *rpc_request(const char *method, json_t *params, long long id)
{
    json_t *r = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method);
    if (!r) {
        json_decref(params);
        return NULL;
    }
    if (params)
        json_object_set_new(r, "params", params);
    if (id >= 0)
        json_object_set_new(r, "id", json_integer((json_int_t)id));
    return r;
}

char *rpc_encode_line(const json_t *v, size_t *len)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *out;
    size_t n;
    if (!s)
        return NULL;
    n = strlen(s);
    out = realloc(s, n + 2);
    if (!out) {
        free(s);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    if (len)
        *len = n + 1;
    return out;
}
