/*
 * conn: xferctl's one connection to xferd (src/rpc/client.h) and how its
 * answers reach the user. A refusal is printed from the JSON-RPC error object
 * as it came (hr_name, hr, the table's message, the engine's reason); a
 * protocol error with its code, message and data. Nothing is looked up here.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "ctl.h"

void ctl_default_socket(char *buf, size_t len)
{
    const char *env = getenv("XFERD_SOCKET");
    const char *run = getenv("XDG_RUNTIME_DIR");
    if (env && env[0])
        snprintf(buf, len, "%s", env);
    else if (run && run[0])
        snprintf(buf, len, "%s/xferd/xferd.sock", run);
    else
        snprintf(buf, len, "/tmp/xferd-%u/xferd.sock", (unsigned)getuid());
}

int ctl_connect(struct ctl *c)
{
    if (c->rpc)
        return CTL_OK;
    char err[CTL_ERRLEN] = "";
    c->rpc = rpc_client_open(c->socket, err, sizeof err);
    if (!c->rpc) {
        fprintf(stderr, "xferctl: %s: cannot reach xferd at %s: %s\n", c->verb->name, c->socket,
                err);
        return CTL_FAIL;
    }
    return CTL_OK;
}

void ctl_close(struct ctl *c)
{
    if (c->rpc)
        rpc_client_close(c->rpc);
    c->rpc = NULL;
}

int ctl_call_raw(struct ctl *c, const char *method, json_t *params, json_t **result, json_t **error)
{
    *result = NULL;
    *error = NULL;
    if (ctl_connect(c) != CTL_OK) {
        json_decref(params);
        return -1;
    }
    char err[CTL_ERRLEN] = "";
    int rc = rpc_call(c->rpc, method, params, CTL_CALL_TIMEOUT_MS, result, error, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "xferctl: %s: xferd at %s did not answer %s: %s\n", c->verb->name,
                c->socket, method, err);
    return rc;
}

int ctl_call(struct ctl *c, const char *method, json_t *params, json_t **result)
{
    json_t *error = NULL;
    int rc = ctl_call_raw(c, method, params, result, &error);
    if (rc == 1) {
        ctl_print_refusal(c, error);
        json_decref(error);
    }
    return rc == 0 ? CTL_OK : CTL_FAIL;
}

int ctl_call_job(struct ctl *c, const char *method, const char *job, json_t **result)
{
    return ctl_call(c, method, json_pack("{s:s}", "job", job), result);
}

static const char *member(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && s[0] ? s : NULL;
}

void ctl_refusal_text(const json_t *error, char *buf, size_t len)
{
    const json_t *data = json_object_get(error, "data");
    const char *message = member(error, "message");
    const char *hr_name = member(data, "name");
    const char *hr = member(data, "hr");
    const char *reason = member(data, "reason");
    if (hr_name && hr) {
        /* An engine refusal. */
        snprintf(buf, len, "%s (%s): %s%s%s", hr_name, hr, message ? message : "",
                 reason ? " \xE2\x80\x94 " : "", reason ? reason : "");
        return;
    }
    /* A protocol error: -32602 names the member and why. */
    const char *param = member(data, "param");
    snprintf(buf, len, "%s (%lld)%s%s%s%s", message ? message : "error",
             (long long)json_integer_value(json_object_get(error, "code")),
             param || reason ? ": " : "", param ? param : "", param && reason ? ": " : "",
             reason ? reason : "");
}

void ctl_print_refusal(const struct ctl *c, const json_t *error)
{
    char text[2 * CTL_ERRLEN];
    ctl_refusal_text(error, text, sizeof text);
    fprintf(stderr, "xferctl: %s: %s\n", c->verb->name, text);
    if (c->json) {
        json_t *wrap = json_pack("{s:O}", "error", (json_t *)error);
        ctl_print_json(wrap);
        json_decref(wrap);
    }
}

void ctl_print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    puts(s ? s : "null");
    free(s);
}

int ctl_done(const struct ctl *c, const json_t *v)
{
    if (c->json)
        ctl_print_json(v);
    return CTL_OK;
}
