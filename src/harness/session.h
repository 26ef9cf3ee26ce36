/*
 * session: the harness's client connection to xferd (src/rpc/client.h) on
 * the world's event loop.
 *
 * A session owns one rpc_client and a read event on its socket. Every
 * notification xferd sends (events.subscribe: state, progress, file,
 * restart, notify, group) is handed to on_event with its params object,
 * whether it arrived while the loop was idle or while a call was waiting
 * for its reply (those are queued by the client and drained after the
 * call). Calls are blocking with a timeout: xferd is another process, so a
 * call never waits for this loop.
 *
 * detach closes the connection (xferd keeps working); attach opens a new one
 * and subscribes again, as an application coming back would.
 */
#ifndef HX_SESSION_H
#define HX_SESSION_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct rpc_client;

typedef void (*hx_event_fn)(void *arg, json_t *params);

struct hx_session {
    struct event_base *base;
    char socket[256];
    struct rpc_client *c;
    struct event *ev;
    hx_event_fn on_event;
    void *arg;
    bool lost;               /* the connection closed under us (xferd died) */
    unsigned long delivered; /* notifications handed to on_event so far */
    int call_timeout_ms;
};

void hx_session_init(struct hx_session *s, struct event_base *base, const char *socket,
                     hx_event_fn on_event, void *arg);
/* Connect and subscribe to every event type. 0, or -1 with err. */
int hx_session_attach(struct hx_session *s, char *err, size_t errlen);
/* Close the connection (no-op when closed). */
void hx_session_detach(struct hx_session *s);
bool hx_session_attached(const struct hx_session *s);

/*
 * Call method with params (stolen, may be NULL). 0 with *result (caller owns;
 * result may be NULL to drop it); 1 when xferd answered with an error (err
 * gets "name (hr): reason" or the JSON-RPC message; *error, when not NULL,
 * the error object, caller owns); -1 when not attached or the transport
 * failed (err).
 */
int hx_session_call(struct hx_session *s, const char *method, json_t *params, json_t **result,
                    json_t **error, char *err, size_t errlen);

#endif
