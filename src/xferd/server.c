/*
 * server: listener, connections, framing and limits (see server.h).
 */
#include "server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "methods.h"
#include "rpc.h"

/* Lines handled per connection per loop turn. */
#define LINES_PER_TURN 16
/* How long a closing connection may take to read its last answer. */
#define LINGER_S 5

struct xd_server {
    struct xferd *x;
    struct evconnlistener *lis;
    struct xd_conn *conns;
    char path[108];
};

static void conn_free(struct xd_conn *c)
{
    struct xd_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    while (c->subs) {
        struct xd_sub *n = c->subs->next;
        xd_sub_free(c->subs);
        c->subs = n;
    }
    if (c->more)
        event_free(c->more);
    if (c->linger)
        event_free(c->linger);
    if (c->bev)
        bufferevent_free(c->bev);
    free(c);
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_free(arg);
}

/* Close once the output is written (or after LINGER_S). */
static void conn_close_after_flush(struct xd_conn *c)
{
    struct timeval tv = {LINGER_S, 0};
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        conn_free(c);
        return;
    }
    if (!c->linger)
        c->linger = evtimer_new(bufferevent_get_base(c->bev), on_linger, c);
    if (c->linger)
        evtimer_add(c->linger, &tv);
}

/*
 * Drop a connection from inside a call chain: stop it now, free it on the
 * next loop turn (a dispatch that caused a broadcast may still hold it).
 */
static void conn_kill(struct xd_conn *c)
{
    struct timeval zero = {0, 0};
    struct evbuffer *out = bufferevent_get_output(c->bev);
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    evbuffer_drain(out, evbuffer_get_length(out));
    if (!c->linger)
        c->linger = evtimer_new(bufferevent_get_base(c->bev), on_linger, c);
    if (c->linger)
        evtimer_add(c->linger, &zero);
}

/* Queue one value as a line. false when the connection is closing (output limit). */
static bool conn_send(struct xd_conn *c, const json_t *v)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t len;
    char *line;
    if (c->closing)
        return false;
    if (evbuffer_get_length(out) > XD_MAX_OUTPUT) {
        xl_log(XL_LOG_WARN, "xferd", "client pid %d uid %u: over %u bytes unread, disconnected",
               (int)c->pid, (unsigned)c->uid, XD_MAX_OUTPUT);
        conn_kill(c);
        return false;
    }
    line = rpc_encode_line(v, &len);
    if (!line)
        return true;
    evbuffer_add(out, line, len);
    free(line);
    return true;
}

/* Handle one line. false when the connection is gone. */
static bool conn_line(struct xd_conn *c, const char *line, size_t len)
{
    struct rpc_decoded d;
    json_t *batch = NULL;
    size_t i;
    bool alive = true;

    if (rpc_decode_line(line, len, &d) < 0) {
        json_t *e = rpc_error_response(NULL, RPC_INTERNAL_ERROR, "out of memory", NULL);
        alive = e ? conn_send(c, e) : true;
        json_decref(e);
        rpc_decoded_free(&d);
        return alive;
    }
    if (d.batch)
        batch = json_array();
    for (i = 0; i < d.nerrors; i++) {
        if (batch)
            json_array_append(batch, d.errors[i]);
        else if (!(alive = conn_send(c, d.errors[i])))
            goto done;
    }
    for (i = 0; i < d.nrequests; i++) {
        json_t *resp = xd_dispatch(c->srv->x, c, &d.requests[i],
                                   batch ? NULL : bufferevent_get_output(c->bev));
        if (!resp)
            continue;
        if (batch)
            json_array_append_new(batch, resp);
        else {
            alive = conn_send(c, resp);
            json_decref(resp);
            if (!alive)
                goto done;
        }
    }
    if (batch && json_array_size(batch) > 0)
        alive = conn_send(c, batch);
done:
    json_decref(batch);
    rpc_decoded_free(&d);
    return alive;
}

static void schedule_more(struct xd_conn *c)
{
    if (!c->more)
        return;
    event_active(c->more, EV_TIMEOUT, 0);
}

/* Handle up to LINES_PER_TURN complete lines; enforce the line limit. */
static void conn_process(struct xd_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    int n;
    for (n = 0; n < LINES_PER_TURN && !c->closing; n++) {
        struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
        size_t len;
        char *line;
        bool alive;
        if (eol.pos < 0) {
            if (evbuffer_get_length(in) > RPC_MAX_LINE) {
                json_t *e =
                    rpc_error_response(NULL, RPC_INVALID_REQUEST, "message too large",
                                       json_pack("{s:I}", "limit", (json_int_t)RPC_MAX_LINE));
                xl_log(XL_LOG_WARN, "xferd", "client pid %d uid %u: line over %u bytes, closing",
                       (int)c->pid, (unsigned)c->uid, RPC_MAX_LINE);
                if (conn_send(c, e))
                    conn_close_after_flush(c);
                json_decref(e);
            }
            return;
        }
        if ((size_t)eol.pos > RPC_MAX_LINE) {
            json_t *e = rpc_error_response(NULL, RPC_INVALID_REQUEST, "message too large",
                                           json_pack("{s:I}", "limit", (json_int_t)RPC_MAX_LINE));
            if (conn_send(c, e))
                conn_close_after_flush(c);
            json_decref(e);
            return;
        }
        len = (size_t)eol.pos;
        line = malloc(len + 1);
        if (!line)
            return;
        evbuffer_remove(in, line, len);
        evbuffer_drain(in, 1);
        line[len] = '\0';
        alive = conn_line(c, line, len);
        free(line);
        if (!alive)
            return;
    }
    if (!c->closing && evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF).pos >= 0)
        schedule_more(c);
}

static void on_more(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_process(arg);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_process(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct xd_conn *c = arg;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        conn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct xd_conn *c = arg;
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        xl_log(XL_LOG_DEBUG, "xferd", "client pid %d uid %u gone", (int)c->pid, (unsigned)c->uid);
        conn_free(c);
    }
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct xd_server *s = arg;
    struct event_base *base = evconnlistener_get_base(lis);
    struct ucred cred;
    socklen_t cl = sizeof cred;
    struct xd_conn *c;
    (void)sa;
    (void)salen;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
        xl_log(XL_LOG_WARN, "xferd", "SO_PEERCRED: %s; connection refused", strerror(errno));
        close(fd);
        return;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->srv = s;
    c->uid = cred.uid;
    c->pid = cred.pid;
    c->next_sub = 1;
    c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->more = event_new(base, -1, 0, on_more, c);
    if (!c->bev || !c->more) {
        if (!c->bev)
            close(fd);
        if (c->bev)
            bufferevent_free(c->bev);
        if (c->more)
            event_free(c->more);
        free(c);
        return;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    /* Stop reading while a whole over-long line is buffered; conn_process then refuses it. */
    bufferevent_setwatermark(c->bev, EV_READ, 0, RPC_MAX_LINE + 2);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    xl_log(XL_LOG_DEBUG, "xferd", "client pid %d uid %u connected", (int)c->pid, (unsigned)c->uid);
}

/* mkdir -p of the socket's directory with mode. */
static int make_dir(const char *sock, mode_t mode, char *err, size_t errlen)
{
    char dir[108];
    char *slash, *p;
    snprintf(dir, sizeof dir, "%s", sock);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(dir, mode) < 0) {
        if (errno != EEXIST) {
            snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
            return -1;
        }
        return 0; /* an existing directory keeps its mode: the administrator's choice */
    }
    if (chmod(dir, mode) < 0) {
        snprintf(err, errlen, "chmod %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* A socket file already there: refuse if someone answers, else remove it. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd, r;
    if (lstat(path, &st) < 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket", path);
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    close(fd);
    if (r == 0) {
        snprintf(err, errlen, "%s: another xferd is listening there", path);
        return -1;
    }
    unlink(path);
    return 0;
}

struct xd_server *xd_server_open(struct xferd *x, char *err, size_t errlen)
{
    struct xd_server *s = calloc(1, sizeof *s);
    struct sockaddr_un sa;
    mode_t old;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->x = x;
    snprintf(s->path, sizeof s->path, "%s", x->o.socket);
    if (make_dir(s->path, x->o.shared ? 0755 : 0700, err, errlen) < 0 ||
        clear_stale(s->path, err, errlen) < 0)
        goto fail;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s->path);
    old = umask(x->o.shared ? 0111 : 0177);
    s->lis = evconnlistener_new_bind(x->base, on_accept, s,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128,
                                     (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (!s->lis) {
        snprintf(err, errlen, "listen on %s: %s", s->path, strerror(errno));
        goto fail;
    }
    if (chmod(s->path, x->o.shared ? 0666 : 0600) < 0) {
        snprintf(err, errlen, "chmod %s: %s", s->path, strerror(errno));
        goto fail;
    }
    return s;
fail:
    if (s->lis) {
        evconnlistener_free(s->lis);
        unlink(s->path);
    }
    free(s);
    return NULL;
}

void xd_server_close(struct xd_server *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_free(s->conns);
    if (s->lis) {
        evconnlistener_free(s->lis);
        unlink(s->path);
    }
    free(s);
}

void xd_server_broadcast(struct xd_server *s, const char *type, const xfer_guid *job, uid_t owner,
                         int64_t time_ms, const json_t *params)
{
    uint32_t bit = xd_event_type_bit(type);
    struct xd_conn *c = s->conns, *next;
    for (; c; c = next) {
        struct xd_sub *sub;
        next = c->next;
        if (c->closing)
            continue;
        for (sub = c->subs; sub; sub = sub->next) {
            json_t *p, *note;
            bool alive;
            if (!xd_sub_wants(sub, bit, job, owner, c->uid, time_ms))
                continue;
            p = json_deep_copy(params);
            if (!p)
                continue;
            json_object_set_new(p, "subscription", json_integer(sub->id));
            json_object_set_new(p, "type", json_string(type));
            note = rpc_request("event", p, -1);
            alive = note ? conn_send(c, note) : true;
            json_decref(note);
            if (!alive)
                break;
        }
    }
}

void xd_conn_subscribe(struct xd_conn *c, struct xd_sub *sub)
{
    struct xd_sub **pp = &c->subs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = sub;
}

bool xd_conn_unsubscribe(struct xd_conn *c, long id)
{
    struct xd_sub **pp;
    for (pp = &c->subs; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct xd_sub *d = *pp;
            *pp = d->next;
            xd_sub_free(d);
            return true;
        }
    }
    return false;
}
