/*
 * listener: socket, accept loop and refuse windows.
 *
 * State: `fd` is -1 while refusing. Every rule change (a watcher callback,
 * possibly from another thread) activates `recheck`, which runs on the loop:
 * it asks the rule set whether a refuse window is open, closes or reopens the
 * socket to match, and arms `recheck` as a timer for when the window ends.
 */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

struct flt_listener {
    struct event_base *base;
    struct flt_rules *rules;
    const struct xl_clock *clock;
    flt_accept_fn fn;
    void *arg;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint16_t port;
    int fd;
    struct event *accept_ev;
    struct event *recheck; /* runs on rule changes and when a refuse window ends */
    uint64_t conns;
    void (*changed)(void *arg); /* the server's: the rules changed */
    void *changed_arg;
};

static int open_socket(struct flt_listener *l, char *err)
{
    int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&l->addr, l->addrlen) < 0 || listen(fd, 512) < 0)
        goto fail;
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    getsockname(fd, (struct sockaddr *)&got, &gl);
    l->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                              : ((struct sockaddr_in *)&got)->sin_port);
    /* Later reopenings must take the same port. */
    if (l->addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&l->addr)->sin6_port = htons(l->port);
    else
        ((struct sockaddr_in *)&l->addr)->sin_port = htons(l->port);
    l->fd = fd;
    return 0;
fail:
    snprintf(err, XL_ERRLEN, "listen on port %u: %s", (unsigned)l->port, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
    struct flt_listener *l = arg;
    (void)fd;
    (void)what;
    for (int burst = 0; burst < 64 && l->fd >= 0; burst++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int c = accept4(l->fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                xl_log(XL_LOG_WARN, "listener", "accept on port %u: %s", l->port, strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        l->fn(c, (struct sockaddr *)&sa, sl, ++l->conns, l->arg);
    }
}

static int start_accepting(struct flt_listener *l, char *err)
{
    if (open_socket(l, err) < 0)
        return -1;
    l->accept_ev = event_new(l->base, l->fd, EV_READ | EV_PERSIST, on_accept, l);
    if (!l->accept_ev || event_add(l->accept_ev, NULL) < 0) {
        snprintf(err, XL_ERRLEN, "cannot watch the listening socket");
        return -1;
    }
    return 0;
}

static void stop_accepting(struct flt_listener *l)
{
    if (l->accept_ev) {
        event_free(l->accept_ev);
        l->accept_ev = NULL;
    }
    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
}

static void on_recheck(evutil_socket_t fd, short what, void *arg)
{
    struct flt_listener *l = arg;
    (void)fd;
    (void)what;
    int64_t now = xl_clock_now_ms(l->clock), until;
    char err[XL_ERRLEN];
    bool refusing = flt_rules_refusing(l->rules, now, &until);
    if (refusing && l->fd >= 0) {
        stop_accepting(l);
        xl_log(XL_LOG_INFO, "listener", "port %u refusing connections", l->port);
    } else if (!refusing && l->fd < 0) {
        if (start_accepting(l, err) < 0) {
            /* Someone took the port in between; try again shortly. */
            xl_log(XL_LOG_WARN, "listener", "%s; retrying", err);
            stop_accepting(l);
            struct timeval tv = {0, 100000};
            evtimer_add(l->recheck, &tv);
            return;
        }
        xl_log(XL_LOG_INFO, "listener", "port %u accepting again", l->port);
    }
    if (refusing && until != XL_FOREVER) {
        struct timeval tv = xl_clock_wall_tv(l->clock, until - now);
        evtimer_add(l->recheck, &tv);
    }
    if (l->changed)
        l->changed(l->changed_arg);
}

static void on_rules_changed(void *arg)
{
    struct flt_listener *l = arg;
    event_active(l->recheck, EV_TIMEOUT, 0);
}

struct flt_listener *flt_listener_new(struct event_base *base, const char *addr, uint16_t port,
                                      struct flt_rules *rules, const struct xl_clock *clock,
                                      flt_accept_fn fn, void *arg, char *err)
{
    struct flt_listener *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, XL_ERRLEN, "out of memory");
        return NULL;
    }
    l->base = base;
    l->rules = rules;
    l->clock = clock;
    l->fn = fn;
    l->arg = arg;
    l->fd = -1;
    l->port = port;
    if (!addr)
        addr = "127.0.0.1";
    struct sockaddr_in *in4 = (struct sockaddr_in *)&l->addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&l->addr;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        l->addrlen = sizeof *in4;
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        l->addrlen = sizeof *in6;
    } else {
        snprintf(err, XL_ERRLEN, "'%s' is not an IPv4 or IPv6 address", addr);
        free(l);
        return NULL;
    }
    l->recheck = evtimer_new(base, on_recheck, l);
    if (!l->recheck || start_accepting(l, err) < 0)
        goto fail;
    if (flt_rules_watch(rules, on_rules_changed, l) < 0) {
        snprintf(err, XL_ERRLEN, "too many servers share one rule set");
        goto fail;
    }
    on_recheck(-1, 0, l); /* a refuse rule may be in force already */
    return l;
fail:
    stop_accepting(l);
    if (l->recheck)
        event_free(l->recheck);
    free(l);
    return NULL;
}

void flt_listener_free(struct flt_listener *l)
{
    if (!l)
        return;
    flt_rules_unwatch(l->rules, on_rules_changed, l);
    stop_accepting(l);
    event_free(l->recheck);
    free(l);
}

uint16_t flt_listener_port(const struct flt_listener *l)
{
    return l->port;
}

uint64_t flt_listener_connections(const struct flt_listener *l)
{
    return l->conns;
}

void flt_listener_on_rules_changed(struct flt_listener *l, void (*fn)(void *arg), void *arg)
{
    l->changed = fn;
    l->changed_arg = arg;
}
