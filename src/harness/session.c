/*
 * session: see session.h. Notifications are delivered from one place,
 * drain(), called when the socket is readable and after every call.
 */
#include "session.h"

#include <stdio.h>
#include <string.h>

#include "client.h"

static void drain(struct hx_session *s)
{
    while (s->c) {
        char err[256] = "";
        json_t *n = rpc_next_notification(s->c, 0, err, sizeof err);
        if (!n) {
            if (err[0])
                s->lost = true;
            return;
        }
        json_t *params = json_object_get(n, "params");
        s->delivered++;
        if (params && s->on_event)
            s->on_event(s->arg, params);
        json_decref(n);
    }
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hx_session *s = arg;
    char err[256] = "";
    if (rpc_client_pump(s->c, err, sizeof err) < 0) {
        drain(s);
        s->lost = true;
        if (s->ev)
            event_del(s->ev);
        return;
    }
    drain(s);
}

void hx_session_init(struct hx_session *s, struct event_base *base, const char *socket,
                     hx_event_fn on_event, void *arg)
{
    memset(s, 0, sizeof *s);
    s->base = base;
    snprintf(s->socket, sizeof s->socket, "%s", socket);
    s->on_event = on_event;
    s->arg = arg;
    s->call_timeout_ms = 10000;
}

bool hx_session_attached(const struct hx_session *s)
{
    return s->c != NULL && !s->lost;
}

int hx_session_attach(struct hx_session *s, char *err, size_t errlen)
{
    hx_session_detach(s);
    s->c = rpc_client_open(s->socket, err, errlen);
    if (!s->c)
        return -1;
    s->lost = false;
    s->ev = event_new(s->base, rpc_client_fd(s->c), EV_READ | EV_PERSIST, on_readable, s);
    if (!s->ev || event_add(s->ev, NULL) < 0) {
        snprintf(err, errlen, "cannot watch the control socket");
        hx_session_detach(s);
        return -1;
    }
    json_t *p = json_pack("{s:[s,s,s,s,s,s], s:i}", "types", "state", "progress", "file", "restart",
                          "notify", "group", "progress_ms", 100);
    if (hx_session_call(s, "events.subscribe", p, NULL, NULL, err, errlen) != 0) {
        hx_session_detach(s);
        return -1;
    }
    return 0;
}

void hx_session_detach(struct hx_session *s)
{
    if (s->ev)
        event_free(s->ev);
    s->ev = NULL;
    if (s->c)
        rpc_client_close(s->c);
    s->c = NULL;
    s->lost = false;
}

static void error_text(json_t *error, char *err, size_t errlen)
{
    json_t *data = json_object_get(error, "data");
    const char *msg = json_string_value(json_object_get(error, "message"));
    const char *name = json_string_value(json_object_get(data, "name"));
    const char *hr = json_string_value(json_object_get(data, "hr"));
    const char *reason = json_string_value(json_object_get(data, "reason"));
    const char *param = json_string_value(json_object_get(data, "param"));
    if (name)
        snprintf(err, errlen, "%s (%s): %s", name, hr ? hr : "?", reason ? reason : msg ? msg : "");
    else if (param)
        snprintf(err, errlen, "%s: %s: %s", msg ? msg : "invalid params", param,
                 reason ? reason : "");
    else
        snprintf(err, errlen, "%s", msg ? msg : "error");
}

int hx_session_call(struct hx_session *s, const char *method, json_t *params, json_t **result,
                    json_t **error, char *err, size_t errlen)
{
    if (result)
        *result = NULL;
    if (error)
        *error = NULL;
    if (!s->c || s->lost) {
        json_decref(params);
        snprintf(err, errlen, "%s: not connected to xferd", method);
        return -1;
    }
    json_t *res = NULL, *e = NULL;
    char terr[256] = "";
    int rc = rpc_call(s->c, method, params, s->call_timeout_ms, &res, &e, terr, sizeof terr);
    if (rc < 0) {
        s->lost = true;
        snprintf(err, errlen, "%s: %s", method, terr);
    } else if (rc == 1) {
        error_text(e, err, errlen);
        if (error)
            *error = json_incref(e);
    }
    if (result && rc == 0)
        *result = json_incref(res);
    json_decref(res);
    json_decref(e);
    drain(s);
    return rc;
}
