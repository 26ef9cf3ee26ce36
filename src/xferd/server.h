/*
 * server: the Unix socket and its connections. It owns the listener, every
 * connection (a libevent bufferevent, the peer's uid from SO_PEERCRED, its
 * subscriptions) and the limits of PROTOCOL.md: a line over RPC_MAX_LINE is
 * answered with -32600 and the connection closed once the answer is out; a
 * connection with more than XD_MAX_OUTPUT bytes queued is closed. Each
 * connection handles at most a few lines per loop turn, so a flooding client
 * shares the loop with everyone else.
 *
 * Lines go to rpc_decode_line; requests to xd_dispatch (methods.c); the
 * responses (one, or a batch array) are written back in order.
 */
#ifndef XFERD_SERVER_H
#define XFERD_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "subs.h"
#include "xferd.h"

#define XD_MAX_OUTPUT (8u << 20)

struct xd_conn {
    struct xd_server *srv;
    struct bufferevent *bev;
    uid_t uid;
    pid_t pid;
    struct xd_sub *subs;
    long next_sub;
    bool closing;       /* answer sent, close when flushed */
    struct event *more; /* continue with lines left in the input */
    struct event *linger;
    struct xd_conn *prev, *next;
};

/*
 * Listen on x->o.socket (creating its directory; refusing a socket another
 * xferd answers on). Caller owns; xd_server_close. NULL with err.
 */
struct xd_server *xd_server_open(struct xferd *x, char *err, size_t errlen);
/* Close every connection and the listener, remove the socket. */
void xd_server_close(struct xd_server *s);

/*
 * Send an "event" notification to every subscription that wants it. params
 * (borrowed) gets "subscription" and "type" added in each copy. job NULL for
 * events not about a job; owner XFER_OWNER_ANY for events every user sees.
 */
void xd_server_broadcast(struct xd_server *s, const char *type, const xfer_guid *job, uid_t owner,
                         int64_t time_ms, const json_t *params);

/* Add a subscription (taken over) to a connection. */
void xd_conn_subscribe(struct xd_conn *c, struct xd_sub *sub);
/* Remove one; false when the connection has no such subscription. */
bool xd_conn_unsubscribe(struct xd_conn *c, long id);

#endif
