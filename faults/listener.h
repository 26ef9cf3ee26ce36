/*
 * listener: the accepting end shared by the HTTP and FTP fault servers.
 *
 * It owns one listening TCP socket on the event loop, numbers the connections
 * it accepts (1, 2, ...: what conn= selects), and makes `refuse` real: while a
 * refuse rule's window is open the socket is closed, so connects get
 * ECONNREFUSED; when the window ends it listens again on the same port. It
 * watches its rule set, so a refuse rule added from any thread takes effect on
 * the loop at once, and tells its server of every change.
 *
 * Accepted sockets are handed to the server's callback, which owns them.
 */
#ifndef FLT_LISTENER_H
#define FLT_LISTENER_H

#include <event2/event.h>
#include <stdint.h>
#include <sys/socket.h>

#include "clock.h"
#include "rule.h"

typedef void (*flt_accept_fn)(int fd, const struct sockaddr *sa, socklen_t salen, uint64_t conn,
                              void *arg);

struct flt_listener;

/*
 * Listen on addr:port (port 0 picks a free one; addr NULL means 127.0.0.1).
 * The caller owns the result and frees it with flt_listener_free(). rules and
 * clock (may be NULL) must outlive it. Returns NULL with err on failure.
 */
struct flt_listener *flt_listener_new(struct event_base *base, const char *addr, uint16_t port,
                                      struct flt_rules *rules, const struct xl_clock *clock,
                                      flt_accept_fn fn, void *arg, char *err);
void flt_listener_free(struct flt_listener *l);
uint16_t flt_listener_port(const struct flt_listener *l);
/* Connections accepted so far. */
uint64_t flt_listener_connections(const struct flt_listener *l);
/*
 * Also call fn(arg) on the loop after every change of the rule set (the server
 * releases responses held by a stall rule that was removed).
 */
void flt_listener_on_rules_changed(struct flt_listener *l, void (*fn)(void *arg), void *arg);

#endif
