/*
 * client: the blocking JSON-RPC client (see client.h).
 *
 * It owns the socket (non-blocking; waits are poll() with the caller's
 * timeout), an input buffer, and two queues of parsed lines: notifications
 * (objects with "method" and no "id") and replies. rpc_call sends a request
 * with the next id and reads until the reply with that id is queued; replies
 * to older ids (an earlier call that timed out) are dropped on the way.
 */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Replies can be far larger than requests (job.list of 10,000 jobs). */
#define CLIENT_MAX_LINE (256u << 20)

struct rpc_client {
    int fd;
    bool closed;
    char closed_why[128];
    char *in;
    size_t inlen, incap;
    json_t *notes;   /* array, oldest first */
    json_t *replies; /* array, oldest first */
    long long next_id;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The poll timeout left until deadline (-1: none). */
static int left_ms(int64_t deadline)
{
    int64_t l;
    if (deadline < 0)
        return -1;
    l = deadline - now_ms();
    return l < 0 ? 0 : (int)(l > 1000000000 ? 1000000000 : l);
}

struct rpc_client *rpc_client_open(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    struct rpc_client *c = NULL;
    int fd = -1;

    if (!path || strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path %s: %s", path ? path : "(null)",
                 path ? "too long for a Unix socket" : "missing");
        return NULL;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        goto fail;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "connect %s: %s", path, strerror(errno));
        goto fail;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    c->fd = fd;
    c->notes = json_array();
    c->replies = json_array();
    c->next_id = 1;
    if (!c->notes || !c->replies) {
        snprintf(err, errlen, "out of memory");
        rpc_client_close(c);
        return NULL;
    }
    return c;
fail:
    if (fd >= 0)
        close(fd);
    return NULL;
}

void rpc_client_close(struct rpc_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    json_decref(c->notes);
    json_decref(c->replies);
    free(c->in);
    free(c);
}

int rpc_client_fd(const struct rpc_client *c)
{
    return c ? c->fd : -1;
}

static void mark_closed(struct rpc_client *c, const char *why)
{
    if (!c->closed) {
        c->closed = true;
        snprintf(c->closed_why, sizeof c->closed_why, "%s", why);
    }
}

/* Queue one received line. */
static void take_line(struct rpc_client *c, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *v;
    if (len == 0)
        return;
    v = json_loadb(line, len, 0, &jerr);
    if (!v) {
        mark_closed(c, "the server sent a line that is not JSON");
        return;
    }
    if (json_is_object(v) && json_object_get(v, "method") && !json_object_get(v, "id"))
        json_array_append_new(c->notes, v);
    else
        json_array_append_new(c->replies, v);
}

/* Split complete lines out of the input buffer. */
static void split_lines(struct rpc_client *c)
{
    size_t start = 0;
    char *nl;
    while (start < c->inlen && (nl = memchr(c->in + start, '\n', c->inlen - start)) != NULL) {
        size_t end = (size_t)(nl - c->in);
        take_line(c, c->in + start, end - start);
        start = end + 1;
    }
    if (start > 0) {
        memmove(c->in, c->in + start, c->inlen - start);
        c->inlen -= start;
    }
}

/* One non-blocking read pass: 1 read something, 0 nothing available, -1 closed/error. */
static int read_some(struct rpc_client *c)
{
    bool got = false;
    for (;;) {
        ssize_t r;
        if (c->incap - c->inlen < 65536) {
            size_t ncap = c->incap ? c->incap * 2 : 131072;
            char *n;
            if (c->inlen >= CLIENT_MAX_LINE) {
                mark_closed(c, "the server sent a line longer than the client's limit");
                return -1;
            }
            n = realloc(c->in, ncap);
            if (!n) {
                mark_closed(c, "out of memory");
                return -1;
            }
            c->in = n;
            c->incap = ncap;
        }
        r = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
        if (r > 0) {
            c->inlen += (size_t)r;
            got = true;
            split_lines(c);
            continue;
        }
        if (r == 0) {
            mark_closed(c, "the server closed the connection");
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return got ? 1 : 0;
        mark_closed(c, strerror(errno));
        return -1;
    }
}

/* Wait until readable or deadline; then read. 1 read, 0 timeout, -1 closed. */
static int wait_read(struct rpc_client *c, int64_t deadline)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int r;
    if (c->closed)
        return -1;
    r = poll(&p, 1, left_ms(deadline));
    if (r < 0 && errno == EINTR)
        return 1; /* the caller re-checks its queues and the deadline */
    if (r < 0) {
        mark_closed(c, strerror(errno));
        return -1;
    }
    if (r == 0)
        return 0;
    return read_some(c) < 0 ? -1 : 1;
}

static int send_all(struct rpc_client *c, const char *buf, size_t len, int64_t deadline, char *err,
                    size_t errlen)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* Read meanwhile so a server that is writing to us never deadlocks with us. */
            struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLOUT};
            int r = poll(&p, 1, left_ms(deadline));
            if (r == 0) {
                snprintf(err, errlen, "timed out sending to the server");
                return -1;
            }
            if (r > 0 && (p.revents & POLLIN) && read_some(c) < 0 && !(p.revents & POLLOUT)) {
                snprintf(err, errlen, "%s", c->closed_why);
                return -1;
            }
            continue;
        }
        mark_closed(c, w < 0 ? strerror(errno) : "send returned 0");
        snprintf(err, errlen, "send: %s", c->closed_why);
        return -1;
    }
    return 0;
}

int rpc_client_send_raw(struct rpc_client *c, const void *buf, size_t len, char *err, size_t errlen)
{
    if (c->closed) {
        snprintf(err, errlen, "%s", c->closed_why);
        return -1;
    }
    return send_all(c, buf, len, -1, err, errlen);
}

/* Take the reply with this id out of the queue, dropping older ones. */
static json_t *find_reply(struct rpc_client *c, long long id)
{
    size_t i = 0;
    while (i < json_array_size(c->replies)) {
        json_t *r = json_array_get(c->replies, i);
        json_t *rid = json_object_get(r, "id");
        if (json_is_integer(rid) && json_integer_value(rid) == id) {
            json_incref(r);
            json_array_remove(c->replies, i);
            return r;
        }
        if (json_is_integer(rid) && json_integer_value(rid) < id) {
            json_array_remove(c->replies, i);
            continue;
        }
        i++;
    }
    return NULL;
}

int rpc_call(struct rpc_client *c, const char *method, json_t *params, int timeout_ms,
             json_t **result, json_t **error, char *err, size_t errlen)
{
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    long long id = c->next_id++;
    json_t *req = rpc_request(method, params, id);
    json_t *reply = NULL;
    char *line = NULL;
    size_t len = 0;
    int rc = -1;

    *result = NULL;
    if (error)
        *error = NULL;
    if (!req || !(line = rpc_encode_line(req, &len))) {
        snprintf(err, errlen, "out of memory encoding %s", method);
        goto done;
    }
    if (c->closed) {
        snprintf(err, errlen, "%s", c->closed_why);
        goto done;
    }
    if (send_all(c, line, len, deadline, err, errlen) < 0)
        goto done;
    while (!(reply = find_reply(c, id))) {
        int r = wait_read(c, deadline);
        if (r < 0) {
            if (!(reply = find_reply(c, id)))
                snprintf(err, errlen, "%s: %s", method, c->closed_why);
            break;
        }
        if (r == 0 && left_ms(deadline) == 0) {
            snprintf(err, errlen, "%s: no reply within %d ms", method, timeout_ms);
            break;
        }
    }
    if (!reply)
        goto done;
    if (json_object_get(reply, "error")) {
        if (error)
            *error = json_incref(json_object_get(reply, "error"));
        rc = 1;
    } else if (json_object_get(reply, "result")) {
        *result = json_incref(json_object_get(reply, "result"));
        rc = 0;
    } else {
        snprintf(err, errlen, "%s: reply with neither result nor error", method);
    }
done:
    json_decref(reply);
    json_decref(req);
    free(line);
    return rc;
}

int rpc_client_pump(struct rpc_client *c, char *err, size_t errlen)
{
    if (c->closed || read_some(c) < 0) {
        snprintf(err, errlen, "%s", c->closed_why);
        return -1;
    }
    return 0;
}

static json_t *pop_front(json_t *a)
{
    json_t *v;
    if (json_array_size(a) == 0)
        return NULL;
    v = json_incref(json_array_get(a, 0));
    json_array_remove(a, 0);
    return v;
}

static json_t *next_of(struct rpc_client *c, json_t *queue, int timeout_ms, char *err,
                       size_t errlen)
{
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    json_t *v;
    if (!c->closed && timeout_ms == 0)
        read_some(c);
    while (!(v = pop_front(queue))) {
        int r;
        if (timeout_ms == 0) {
            snprintf(err, errlen, "%s", c->closed ? c->closed_why : "");
            return NULL;
        }
        r = wait_read(c, deadline);
        if (r < 0) {
            if ((v = pop_front(queue)))
                return v;
            snprintf(err, errlen, "%s", c->closed_why);
            return NULL;
        }
        if (r == 0 && left_ms(deadline) == 0) {
            snprintf(err, errlen, "%s", "");
            return NULL;
        }
    }
    return v;
}

json_t *rpc_next_notification(struct rpc_client *c, int timeout_ms, char *err, size_t errlen)
{
    return next_of(c, c->notes, timeout_ms, err, errlen);
}

json_t *rpc_client_read_reply(struct rpc_client *c, int timeout_ms, char *err, size_t errlen)
{
    return next_of(c, c->replies, timeout_ms, err, errlen);
}
