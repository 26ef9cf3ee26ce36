/*
 * http: libmicrohttpd on a libevent loop, bent by fault plans.
 *
 * Loop integration. The daemon runs with MHD_USE_EPOLL and no listen socket:
 * its epoll descriptor is one libevent read event, MHD_get_timeout() drives one
 * libevent timer, and after every MHD_run() both are re-armed. The listener
 * accepts sockets and passes them in with MHD_add_connection(), recording each
 * socket's connection number in `conn_of_fd`.
 *
 * A request's life (struct req, MHD's per-request closure):
 *   1. first call of the access handler: open a journal entry, make the plan
 *      (rule.c), and answer at once what must be answered before a body is read
 *      (Expect: 100-continue refused, Content-Length above max-upload);
 *   2. body calls: count, hash and (multipart) split the upload; received=N
 *      faults fire here;
 *   3. last call: connection-level faults (silent, empty, garbage), the head
 *      delay (suspend + timer, then MHD calls again), redirects, auth, status,
 *      and finally the content with range logic (range.c);
 *   4. the content reader produces body bytes: byte events (close, reset, stall,
 *      short), shaping (throttle, dribble) and corruption happen here. Waiting
 *      is MHD_suspend_connection() plus a libevent timer that resumes;
 *   5. MHD's completion callback ends the journal entry and frees the request.
 *
 * Exactness: MHD calls the reader with pos = bytes already written to the
 * socket and only once its buffer has drained, so stopping the reader at pos N
 * puts exactly N body bytes on the wire before the FIN. A reset waits until the
 * kernel's send queue is empty (SIOCOUTQ) before the RST, so the bytes before
 * it are not discarded on our side.
 */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "range.h"

#define BLOCK_SIZE  (256 * 1024)
#define HEADERS_MAX (16 * 1024)

struct req;

struct flt_http {
    struct event_base *base;
    struct flt_rules *rules;
    struct flt_content *content;
    struct flt_journal *journal;
    const struct xl_clock *clock;
    const char *proto; /* "http" or "https" */
    struct MHD_Daemon *mhd;
    struct event *mhd_ev;    /* MHD's epoll fd is readable */
    struct event *mhd_timer; /* MHD_get_timeout() */
    struct flt_listener *listener;
    uint64_t *conn_of_fd;
    size_t conn_cap;
    struct req *suspended; /* list of suspended requests */
    bool stopping;
    bool in_run;
    unsigned idle_timeout_s;
    /* MHD keeps a pointer to the digest nonce secret, not a copy: it lives here. */
    unsigned char digest_rnd[32];
};

struct part {
    char *field, *filename;
    uint64_t size;
    EVP_MD_CTX *sha;
};

struct req {
    struct flt_http *srv;
    struct MHD_Connection *conn;
    struct flt_jentry *je;
    struct flt_plan plan;
    char path[FLT_PATH_MAX];
    char method[16];
    int fd;
    bool answered;                 /* a response is queued */
    int64_t fixed_len;             /* body length of a buffer response, -1 for the content reader */
    bool head_waited;              /* the head delay has passed */
    bool stalling;                 /* suspended by a stall (or silent) */
    char stall_rule[FLT_NAME_LEN]; /* the stall's rule: removing it ends the stall */
    bool suspended;
    bool client_gone; /* the client left while we were suspended */
    struct event *timer;
    struct event *watch;     /* the socket, while suspended: has the client left? */
    struct req *next, *prev; /* in srv->suspended while suspended */
    /* upload */
    bool has_body;
    uint64_t received;
    bool too_large;
    EVP_MD_CTX *sha;
    struct MHD_PostProcessor *pp;
    struct part part;
    char *parts;
    size_t parts_len;
    /* body */
    struct flt_entity ent;
    int file_fd;
    uint64_t start, len;
    bool partial;
    bool known_len;
    bool event_done[FLT_MAX_EVENTS];
    double tokens;
    int64_t tokens_ms;
    uint64_t burst;
};

static void run_mhd(struct flt_http *s);

/* ---- suspend / resume ---------------------------------------------------- */

static void on_req_timer(evutil_socket_t fd, short what, void *arg);
static void resume(struct req *r);

/*
 * MHD does not poll a suspended connection, so a client that gives up on a
 * stalled response would go unnoticed until the stall ends (or never). While
 * suspended we watch the socket ourselves: end of file or an error means the
 * client has left, and the request is resumed only to be closed.
 */
static void on_client_activity(evutil_socket_t fd, short what, void *arg)
{
    struct req *r = arg;
    char c;
    (void)what;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        return; /* data (a pipelined request, a TLS alert): stop watching */
    r->client_gone = true;
    if (r->timer)
        evtimer_del(r->timer);
    resume(r);
    run_mhd(r->srv);
}

static void suspend_for(struct req *r, int64_t sim_ms)
{
    struct flt_http *s = r->srv;
    if (!r->suspended) {
        if (!r->watch && r->fd >= 0)
            r->watch = event_new(s->base, r->fd, EV_READ, on_client_activity, r);
        if (r->watch)
            event_add(r->watch, NULL);
        MHD_suspend_connection(r->conn);
        r->suspended = true;
        r->next = s->suspended;
        r->prev = NULL;
        if (s->suspended)
            s->suspended->prev = r;
        s->suspended = r;
    }
    if (sim_ms == XL_FOREVER)
        return;
    if (!r->timer)
        r->timer = evtimer_new(s->base, on_req_timer, r);
    struct timeval tv = xl_clock_wall_tv(s->clock, sim_ms);
    if (r->timer)
        evtimer_add(r->timer, &tv);
}

static void resume(struct req *r)
{
    struct flt_http *s = r->srv;
    if (!r->suspended)
        return;
    if (r->prev)
        r->prev->next = r->next;
    else
        s->suspended = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->suspended = false;
    if (r->watch)
        event_del(r->watch);
    MHD_resume_connection(r->conn);
}

static void on_req_timer(evutil_socket_t fd, short what, void *arg)
{
    struct req *r = arg;
    (void)fd;
    (void)what;
    r->stalling = false;
    r->stall_rule[0] = '\0';
    resume(r);
    run_mhd(r->srv);
}

/* The rules changed: a response held by a stall whose rule is gone goes on now. */
static void on_rules_changed(void *arg)
{
    struct flt_http *s = arg;
    bool any = false;
    for (struct req *r = s->suspended, *next; r; r = next) {
        next = r->next;
        if (!r->stall_rule[0] || flt_rules_has(s->rules, r->stall_rule))
            continue;
        if (r->timer)
            evtimer_del(r->timer);
        r->stalling = false;
        r->stall_rule[0] = '\0';
        resume(r);
        any = true;
    }
    if (any)
        run_mhd(s);
}

/* ---- connections ---------------------------------------------------------- */

/*
 * The request head deadline. MHD's timeout is an idle timeout: a client that
 * trickles a header byte now and then (slowloris) keeps it from ever firing. So
 * each connection also gets a timer, armed when it opens and after each
 * response, cleared when a request head is complete (first call of the access
 * handler): a head must arrive within the idle timeout. When it fires the
 * socket is shut down, which wakes MHD's epoll and MHD closes the connection.
 */
struct conn_guard {
    struct event *timer;
    int fd;
};

static void on_head_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct conn_guard *g = arg;
    (void)fd;
    (void)what;
    xl_log(XL_LOG_DEBUG, "http", "request head not complete in time: closing");
    shutdown(g->fd, SHUT_RDWR);
}

static struct conn_guard *guard_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void guard_arm(struct flt_http *s, struct conn_guard *g, bool on)
{
    struct timeval tv = {.tv_sec = (time_t)s->idle_timeout_s};
    if (!g || !g->timer)
        return;
    if (on)
        evtimer_add(g->timer, &tv);
    else
        evtimer_del(g->timer);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    struct flt_http *s = cls;
    struct conn_guard *g = *ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        g = calloc(1, sizeof *g);
        if (!g)
            return;
        g->fd = ci ? ci->connect_fd : -1;
        g->timer = evtimer_new(s->base, on_head_deadline, g);
        *ctx = g;
        guard_arm(s, g, true);
    } else if (g) {
        if (g->timer)
            event_free(g->timer);
        free(g);
        *ctx = NULL;
    }
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Percent-decoding of the path and query, as MHD's own except that "%00" stays
 * encoded: a decoded NUL would end the C string, so "/a.txt%00/../../x" would
 * be served as "/a.txt", a resource the client did not name.
 */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *w = s;
    int hi, lo;
    (void)cls;
    (void)c;
    for (const char *p = s; *p;) {
        if (p[0] == '%' && (hi = hex_digit(p[1])) >= 0 && (lo = hex_digit(p[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi << 4 | lo);
            p += 3;
        } else {
            *w++ = *p++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* ---- request bookkeeping ------------------------------------------------- */

/*
 * Request headers ("Name: value\n" each) and the query ("?k=v&k2") are collected
 * by one MHD iterator into a bounded buffer; `kind` tells which layout.
 */
struct hdr_acc {
    char *buf;
    size_t len;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct hdr_acc *a = cls;
    size_t need = strlen(key) + strlen(value ? value : "") + 3;
    if (a->len + need >= HEADERS_MAX)
        return MHD_NO;
    if (kind == MHD_HEADER_KIND)
        a->len += (size_t)snprintf(a->buf + a->len, HEADERS_MAX - a->len, "%s: %s\n", key,
                                   value ? value : "");
    else
        a->len += (size_t)snprintf(a->buf + a->len, HEADERS_MAX - a->len, "%c%s%s%s",
                                   a->len ? '&' : '?', key, value ? "=" : "", value ? value : "");
    return MHD_YES;
}

static char *dup_header(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v ? strdup(v) : NULL;
}

static void set_outcome(struct req *r, enum flt_outcome o)
{
    flt_journal_lock(r->srv->journal);
    if (r->je->outcome == FLT_OUT_PENDING)
        r->je->outcome = o;
    flt_journal_unlock(r->srv->journal);
}

static struct req *req_new(struct flt_http *s, struct MHD_Connection *c, const char *url,
                           const char *method)
{
    struct req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->srv = s;
    r->conn = c;
    r->file_fd = -1;
    r->fixed_len = -1;
    guard_arm(s, guard_of(c), false); /* the head is complete */
    snprintf(r->path, sizeof r->path, "%s", url);
    snprintf(r->method, sizeof r->method, "%s", method);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    r->fd = ci ? ci->connect_fd : -1;
    uint64_t conn = (r->fd >= 0 && (size_t)r->fd < s->conn_cap) ? s->conn_of_fd[r->fd] : 0;
    r->je = flt_journal_open(s->journal, s->proto, conn, xl_clock_now_ms(s->clock));
    if (!r->je) {
        free(r);
        return NULL;
    }
    struct flt_request fr = {.method = method, .path = url, .conn = conn};
    flt_rules_plan(s->rules, FLT_P_HTTP, &fr, &r->plan);

    char hbuf[HEADERS_MAX], tbuf[HEADERS_MAX];
    struct hdr_acc h = {hbuf, 0}, t = {tbuf, 0};
    hbuf[0] = tbuf[0] = '\0';
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect, &h);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &t);
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    r->has_body = (cl && strtoull(cl, NULL, 10) > 0) || te;

    flt_journal_lock(s->journal);
    snprintf(r->je->method, sizeof r->je->method, "%s", method);
    size_t ul = strlen(url);
    r->je->target = malloc(ul + t.len + 1);
    if (r->je->target) {
        memcpy(r->je->target, url, ul);
        memcpy(r->je->target + ul, tbuf, t.len + 1);
    }
    r->je->headers = strndup(hbuf, h.len);
    r->je->range = dup_header(c, MHD_HTTP_HEADER_RANGE);
    r->je->if_range = dup_header(c, MHD_HTTP_HEADER_IF_RANGE);
    memcpy(r->je->fired, r->plan.fired, sizeof r->je->fired);
    flt_journal_unlock(s->journal);
    return r;
}

static void part_close(struct req *r)
{
    struct part *p = &r->part;
    if (!p->sha)
        return;
    unsigned char md[32];
    char hex[65];
    EVP_DigestFinal_ex(p->sha, md, NULL);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    char line[512];
    int n = snprintf(line, sizeof line, "field=%s;filename=%s;size=%llu;sha256=%s\n",
                     p->field ? p->field : "", p->filename ? p->filename : "",
                     (unsigned long long)p->size, hex);
    char *np = realloc(r->parts, r->parts_len + (size_t)n + 1);
    if (np) {
        memcpy(np + r->parts_len, line, (size_t)n + 1);
        r->parts = np;
        r->parts_len += (size_t)n;
    }
    EVP_MD_CTX_free(p->sha);
    free(p->field);
    free(p->filename);
    memset(p, 0, sizeof *p);
}

static void req_free(struct req *r)
{
    if (r->timer)
        event_free(r->timer);
    if (r->watch)
        event_free(r->watch);
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    part_close(r);
    if (r->sha)
        EVP_MD_CTX_free(r->sha);
    if (r->file_fd >= 0)
        close(r->file_fd);
    free(r->parts);
    flt_plan_release(&r->plan);
    free(r);
}

/* ---- responses ----------------------------------------------------------- */

static enum MHD_Result queue(struct req *r, int status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    for (size_t i = 0; i < r->plan.nheaders; i++) {
        char *h = r->plan.headers[i];
        char *colon = strchr(h, ':');
        if (!colon)
            continue;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        if (strcasecmp(h, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
            MHD_set_response_options(resp, MHD_RF_INSANITY_HEADER_CONTENT_LENGTH, MHD_RO_END);
        MHD_del_response_header(resp, h, MHD_get_response_header(resp, h));
        MHD_add_response_header(resp, h, v);
        *colon = ':';
    }
    if (r->plan.http10)
        MHD_set_response_options(resp, MHD_RF_HTTP_1_0_SERVER | MHD_RF_HTTP_1_0_COMPATIBLE_STRICT,
                                 MHD_RO_END);
    flt_journal_lock(r->srv->journal);
    r->je->status = status;
    if (r->fixed_len >= 0)
        r->je->length = r->fixed_len;
    flt_journal_unlock(r->srv->journal);
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->answered = true;
    return rc;
}

/* A small fixed body; r records its length for the journal. */
static struct MHD_Response *text_response(struct req *r, const char *text)
{
    r->fixed_len = (int64_t)strlen(text);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    return resp;
}

static enum MHD_Result answer_status(struct req *r, int status)
{
    char body[128];
    const char *reason = MHD_get_reason_phrase_for((unsigned)status);
    snprintf(body, sizeof body, "%d %s\n", status, reason && *reason ? reason : "Status");
    return queue(r, status, text_response(r, body));
}

/* Percent-encode s for a query value. */
static void url_encode(const char *s, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s && n + 4 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c)) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
}

/*
 * Redirect chains are stateless: hop k of n carries its position in the query
 * (xl-hop, xl-hops, xl-to), so the chain holds whatever rules do meanwhile.
 */
static enum MHD_Result answer_redirect(struct req *r, const char *to, int code, uint64_t hop,
                                       uint64_t hops)
{
    char loc[4096];
    if (hop < hops) {
        char enc[3072];
        url_encode(to, enc, sizeof enc);
        snprintf(loc, sizeof loc, "%s?xl-hop=%llu&xl-hops=%llu&xl-code=%d&xl-to=%s", r->path,
                 (unsigned long long)hop + 1, (unsigned long long)hops, code, enc);
    } else {
        snprintf(loc, sizeof loc, "%s", to);
    }
    struct MHD_Response *resp = text_response(r, "redirect\n");
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
    return queue(r, code, resp);
}

static enum MHD_Result check_auth(struct req *r, bool *ok)
{
    struct flt_plan *p = &r->plan;
    *ok = false;
    switch (p->auth) {
    case FLT_AUTH_NONE:
        *ok = true;
        return MHD_YES;
    case FLT_AUTH_BASIC: {
        char *pass = NULL;
        char *user = MHD_basic_auth_get_username_password(r->conn, &pass);
        *ok = user && pass && strcmp(user, p->auth_user) == 0 && strcmp(pass, p->auth_pass) == 0;
        if (user)
            MHD_free(user);
        if (pass)
            MHD_free(pass);
        if (*ok)
            return MHD_YES;
        struct MHD_Response *resp = text_response(r, "401 Unauthorized\n");
        if (!resp)
            return MHD_NO;
        flt_journal_lock(r->srv->journal);
        r->je->status = 401;
        r->je->length = r->fixed_len;
        flt_journal_unlock(r->srv->journal);
        enum MHD_Result rc = MHD_queue_basic_auth_fail_response(r->conn, p->auth_realm, resp);
        MHD_destroy_response(resp);
        r->answered = true;
        return rc;
    }
    case FLT_AUTH_DIGEST: {
        int v = MHD_digest_auth_check2(r->conn, p->auth_realm, p->auth_user, p->auth_pass, 300,
                                       MHD_DIGEST_ALG_MD5);
        *ok = v == MHD_YES;
        if (*ok)
            return MHD_YES;
        struct MHD_Response *resp = text_response(r, "401 Unauthorized\n");
        if (!resp)
            return MHD_NO;
        flt_journal_lock(r->srv->journal);
        r->je->status = 401;
        r->je->length = r->fixed_len;
        flt_journal_unlock(r->srv->journal);
        enum MHD_Result rc = MHD_queue_auth_fail_response2(
            r->conn, p->auth_realm, "xferlab-opaque", resp,
            v == MHD_INVALID_NONCE ? MHD_YES : MHD_NO, MHD_DIGEST_ALG_MD5);
        MHD_destroy_response(resp);
        r->answered = true;
        return rc;
    }
    }
    return MHD_NO;
}

/* ---- the body ------------------------------------------------------------- */

/* Body offset at which event i fires, or UINT64_MAX if it never does. */
static uint64_t event_pos(const struct req *r, size_t i)
{
    const struct flt_byte_event *e = &r->plan.events[i];
    switch (e->anchor) {
    case FLT_ANCHOR_RESPONSE:
        return e->offset;
    case FLT_ANCHOR_ENTITY:
        /* Like Chromium's test server: an error below the first byte is
         * history, and one exactly at the first byte of a resumed request
         * was the one that interrupted it. */
        if (e->offset < r->start || (r->partial && e->offset == r->start))
            return UINT64_MAX;
        return e->offset - r->start;
    case FLT_ANCHOR_RECEIVED:
        return UINT64_MAX;
    }
    return UINT64_MAX;
}

/* Wait until the kernel has sent all we wrote, so an RST discards nothing of ours. */
static bool send_queue_empty(int fd)
{
    int pending = 0;
    return fd < 0 || ioctl(fd, SIOCOUTQ, &pending) < 0 || pending == 0;
}

static void arm_reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/*
 * Put a FIN (or an RST) on the wire now, before the reader returns an error.
 * With MHD_USE_TURBO libmicrohttpd does not shut the socket down when a reader
 * fails; it only closes it when it next processes the connection, and when the
 * failure came from its idle handler (every chunked body) that waits for its
 * next timeout pass: the client would hang for the idle timeout. A shutdown, or
 * a disconnect (connect to AF_UNSPEC, which resets a TCP connection), acts at
 * once and wakes MHD's epoll (EPOLLHUP), which then closes the connection.
 */
static void end_now(int fd, bool reset)
{
    if (fd < 0)
        return;
    if (reset) {
        struct sockaddr sa = {.sa_family = AF_UNSPEC};
        arm_reset(fd);
        if (connect(fd, &sa, sizeof sa) < 0)
            xl_log(XL_LOG_DEBUG, "http", "reset: %s", strerror(errno));
    } else {
        shutdown(fd, SHUT_RDWR);
    }
}

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct req *r = cls;
    struct flt_http *s = r->srv;
    struct flt_plan *p = &r->plan;
    if (s->stopping || r->client_gone)
        return MHD_CONTENT_READER_END_WITH_ERROR;

    flt_journal_lock(s->journal);
    r->je->sent = pos;
    flt_journal_unlock(s->journal);

    /* Byte events: fire those we have reached, stop short of the next. */
    for (size_t i = 0; i < p->nevents; i++) {
        if (r->event_done[i])
            continue;
        uint64_t at = event_pos(r, i);
        if (at == UINT64_MAX || at > r->len) {
            r->event_done[i] = true;
            continue;
        }
        if (pos < at) {
            if (max > at - pos)
                max = (size_t)(at - pos);
            continue;
        }
        switch (p->events[i].action) {
        case FLT_A_STALL:
            r->event_done[i] = true;
            r->stalling = true;
            snprintf(r->stall_rule, sizeof r->stall_rule, "%s", p->events[i].rule);
            suspend_for(r, p->events[i].for_ms);
            return 0;
        case FLT_A_RESET:
            if (!send_queue_empty(r->fd)) {
                suspend_for(r, 0);
                return 0;
            }
            end_now(r->fd, true);
            set_outcome(r, FLT_OUT_RESET);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        case FLT_A_CLOSE:
        case FLT_A_ABORT:
            end_now(r->fd, false);
            set_outcome(r, FLT_OUT_CLOSED);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        case FLT_A_REFUSE:
        case FLT_A_SILENT:
        case FLT_A_EMPTY:
        case FLT_A_GARBAGE:
        case FLT_A_STATUS:
        case FLT_A_HEADER:
        case FLT_A_REDIRECT:
        case FLT_A_NO_LENGTH:
        case FLT_A_HTTP10:
        case FLT_A_SHORT:
        case FLT_A_IGNORE_RANGE:
        case FLT_A_BAD_206:
        case FLT_A_CHANGE:
        case FLT_A_VALIDATORS:
        case FLT_A_SLOW_HEADERS:
        case FLT_A_AUTH:
        case FLT_A_THROTTLE:
        case FLT_A_DRIBBLE:
        case FLT_A_CORRUPT:
        case FLT_A_MAX_UPLOAD:
        case FLT_A_NO_CONTINUE:
        case FLT_A_REPLY:
        case FLT_A__COUNT:
            r->event_done[i] = true;
            break;
        }
    }

    /* short: Content-Length promised more than we send. */
    uint64_t limit = r->len - (p->short_by < r->len ? p->short_by : r->len);
    if (pos >= limit) {
        if (!r->known_len && pos >= r->len)
            return MHD_CONTENT_READER_END_OF_STREAM;
        end_now(r->fd, false);
        set_outcome(r, FLT_OUT_CLOSED);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (max > limit - pos)
        max = (size_t)(limit - pos);

    /* Shaping. */
    if (p->dribble_chunk) {
        if (r->burst >= p->dribble_chunk) {
            r->burst = 0;
            suspend_for(r, p->dribble_pause_ms);
            return 0;
        }
        if (max > p->dribble_chunk - r->burst)
            max = (size_t)(p->dribble_chunk - r->burst);
    }
    if (p->rate) {
        int64_t now = xl_clock_now_ms(s->clock);
        double bucket = (double)p->rate / 20 > 512 ? (double)p->rate / 20 : 512;
        r->tokens += (double)(now - r->tokens_ms) * (double)p->rate / 1000.0;
        r->tokens_ms = now;
        if (r->tokens > bucket)
            r->tokens = bucket;
        if (r->tokens < 1) {
            double need = bucket < (double)max ? bucket : (double)max;
            int64_t wait = (int64_t)((need - r->tokens) * 1000.0 / (double)p->rate) + 1;
            suspend_for(r, wait);
            return 0;
        }
        if ((double)max > r->tokens)
            max = (size_t)r->tokens;
        r->tokens -= (double)max;
    }

    ssize_t n = flt_entity_read(&r->ent, r->file_fd, r->start + pos, buf, max);
    if (n < 0) {
        set_outcome(r, FLT_OUT_ERROR);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (n == 0)
        return r->known_len ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    for (size_t i = 0; i < p->ncorrupt; i++) {
        uint64_t c = p->corrupt[i];
        uint64_t from = r->start + pos;
        if (c >= from && c < from + (uint64_t)n)
            buf[c - from] ^= (char)0xff;
    }
    r->burst += (uint64_t)n;
    return n;
}

static enum MHD_Result answer_content(struct req *r)
{
    struct flt_http *s = r->srv;
    struct flt_plan *p = &r->plan;
    bool head = strcmp(r->method, "HEAD") == 0;
    if (!head && strcmp(r->method, "GET") != 0) {
        struct MHD_Response *resp = text_response(r, "405 Method Not Allowed\n");
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, PUT, POST");
        return queue(r, 405, resp);
    }
    if (p->change)
        flt_content_change(s->content, r->path, p->change_size);
    switch (flt_content_lookup(s->content, r->path, &r->ent)) {
    case FLT_FOUND:
        break;
    case FLT_NOT_FOUND:
        return answer_status(r, 404);
    case FLT_FORBIDDEN:
        return answer_status(r, 403);
    }
    if (r->ent.src == FLT_SRC_FILE) {
        r->file_fd = open(r->ent.file, O_RDONLY | O_CLOEXEC);
        if (r->file_fd < 0)
            return answer_status(r, 403);
    }

    char lastmod[64];
    flt_entity_http_date(&r->ent, lastmod, sizeof lastmod);
    struct flt_validators v = {
        .etag = p->validators == FLT_VALID_NONE ? NULL : r->ent.etag,
        .last_modified = p->validators == FLT_VALID_NONE ? NULL : lastmod,
        .weak = p->validators == FLT_VALID_WEAK,
    };
    const char *range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Range");
    const char *if_range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-Range");
    const char *if_match = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-Match");
    if (p->range_mode != FLT_RANGE_OBEY)
        range = NULL;
    struct flt_range_answer a;
    flt_range_decide(range, if_range, if_match, r->ent.size, &v, &a);

    struct MHD_Response *resp;
    char cr[128];
    if (a.status == 416 || a.status == 412) {
        resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        r->fixed_len = 0;
        if (resp && a.status == 416) {
            snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)r->ent.size);
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
        }
        return queue(r, a.status, resp);
    }
    r->start = a.start;
    r->len = a.length;
    r->partial = a.status == 206;
    uint64_t claimed_start = a.start;
    if (r->partial && p->bad206 == FLT_206_SHIFT) {
        int64_t st = (int64_t)a.start + p->bad206_shift;
        if (st < 0)
            st = 0;
        if ((uint64_t)st >= r->ent.size)
            st = r->ent.size ? (int64_t)r->ent.size - 1 : 0;
        r->start = claimed_start = (uint64_t)st;
        if (r->len > r->ent.size - r->start)
            r->len = r->ent.size - r->start;
    }
    r->known_len = p->length_mode == FLT_LEN_NORMAL;
    r->tokens_ms = xl_clock_now_ms(s->clock);
    r->tokens = 0;
    /* MHD allocates the block per response: small bodies get a small one. */
    size_t block = !r->known_len || r->len >= BLOCK_SIZE ? BLOCK_SIZE : (size_t)r->len + 1;
    resp = MHD_create_response_from_callback(r->known_len ? r->len : MHD_SIZE_UNKNOWN, block,
                                             read_body, r, NULL);
    if (!resp)
        return MHD_NO;
    if (p->length_mode == FLT_LEN_CLOSE)
        MHD_set_response_options(resp, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES,
                            p->range_mode == FLT_RANGE_IGNORE ? "none" : "bytes");
    if (v.etag) {
        char weak[80];
        snprintf(weak, sizeof weak, "W/%s", r->ent.etag);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, v.weak ? weak : r->ent.etag);
    }
    if (v.last_modified)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, lastmod);
    if (r->partial && p->bad206 != FLT_206_NO_CONTENT_RANGE) {
        uint64_t total = p->bad206 == FLT_206_TOTAL ? p->bad206_total : r->ent.size;
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)claimed_start,
                 (unsigned long long)(claimed_start + r->len - (r->len ? 1 : 0)),
                 (unsigned long long)total);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    }
    flt_journal_lock(s->journal);
    r->je->offset = r->start;
    r->je->length = r->known_len ? (int64_t)r->len : -1;
    flt_journal_unlock(s->journal);
    (void)head; /* MHD sends no body for HEAD and never calls the reader */
    return queue(r, a.status, resp);
}

/* ---- uploads ------------------------------------------------------------- */

static enum MHD_Result on_post_part(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *filename, const char *content_type,
                                    const char *transfer_encoding, const char *data, uint64_t off,
                                    size_t size)
{
    struct req *r = cls;
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    bool same = r->part.sha && off > 0 && r->part.field && key && strcmp(r->part.field, key) == 0;
    if (!same) {
        part_close(r);
        r->part.sha = EVP_MD_CTX_new();
        if (!r->part.sha)
            return MHD_NO;
        EVP_DigestInit_ex(r->part.sha, EVP_sha256(), NULL);
        r->part.field = key ? strdup(key) : NULL;
        r->part.filename = filename ? strdup(filename) : NULL;
    }
    EVP_DigestUpdate(r->part.sha, data, size);
    r->part.size += size;
    return MHD_YES;
}

static bool upload_method(const char *m)
{
    return strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0;
}

/* Add body bytes to the request body's SHA-256 (started on first use). */
static void hash_body(struct req *r, const char *data, size_t size)
{
    if (!r->sha) {
        r->sha = EVP_MD_CTX_new();
        if (r->sha)
            EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL);
    }
    if (r->sha && size)
        EVP_DigestUpdate(r->sha, data, size);
}

/* Finish the body's SHA-256 (of no bytes if none came) into hex and the journal. */
static void finish_body_hash(struct req *r, char hex[65])
{
    unsigned char md[32];
    hex[0] = '\0';
    hash_body(r, NULL, 0);
    if (r->sha && EVP_DigestFinal_ex(r->sha, md, NULL) == 1)
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    flt_journal_lock(r->srv->journal);
    snprintf(r->je->received_sha256, sizeof r->je->received_sha256, "%s", hex);
    flt_journal_unlock(r->srv->journal);
}

/* Process one chunk of request body. Returns false when a fault closes the connection. */
static bool take_upload(struct req *r, const char *data, size_t size)
{
    struct flt_http *s = r->srv;
    struct flt_plan *p = &r->plan;
    for (size_t i = 0; i < p->nevents; i++) {
        const struct flt_byte_event *e = &p->events[i];
        if (e->anchor != FLT_ANCHOR_RECEIVED || r->event_done[i])
            continue;
        if (r->received + size >= e->offset &&
            (e->action == FLT_A_CLOSE || e->action == FLT_A_RESET)) {
            char hex[65];
            size = (size_t)(e->offset - r->received);
            r->event_done[i] = true;
            hash_body(r, data, size);
            r->received += size;
            flt_journal_lock(s->journal);
            r->je->received = r->received;
            flt_journal_unlock(s->journal);
            finish_body_hash(r, hex); /* of the bytes taken before the cut */
            if (e->action == FLT_A_RESET)
                arm_reset(r->fd);
            set_outcome(r, e->action == FLT_A_RESET ? FLT_OUT_RESET : FLT_OUT_CLOSED);
            return false;
        }
    }
    hash_body(r, data, size);
    if (r->pp)
        MHD_post_process(r->pp, data, size);
    r->received += size;
    if (p->max_upload && r->received > p->max_upload)
        r->too_large = true;
    flt_journal_lock(s->journal);
    r->je->received = r->received;
    flt_journal_unlock(s->journal);
    return true;
}

static enum MHD_Result answer_upload(struct req *r)
{
    struct flt_http *s = r->srv;
    char hex[65];
    finish_body_hash(r, hex);
    part_close(r);
    flt_journal_lock(s->journal);
    r->je->parts = r->parts ? strdup(r->parts) : NULL;
    flt_journal_unlock(s->journal);
    if (r->too_large)
        return answer_status(r, 413);
    char body[160];
    snprintf(body, sizeof body, "{\"received\":%llu,\"sha256\":\"%s\"}\n",
             (unsigned long long)r->received, hex);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    r->fixed_len = (int64_t)strlen(body);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return queue(r, strcmp(r->method, "PUT") == 0 ? 201 : 200, resp);
}

/* ---- the access handler ---------------------------------------------------- */

static enum MHD_Result first_call(struct req *r)
{
    struct flt_plan *p = &r->plan;
    if (!r->has_body || !upload_method(r->method))
        return MHD_YES;
    const char *expect = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Expect");
    if (p->no_continue && expect && strcasecmp(expect, "100-continue") == 0)
        return answer_status(r, p->no_continue);
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (p->max_upload && cl && strtoull(cl, NULL, 10) > p->max_upload)
        return answer_status(r, 413);
    const char *ct =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0)
        r->pp = MHD_create_post_processor(r->conn, 64 * 1024, on_post_part, r);
    return MHD_YES;
}

static enum MHD_Result last_call(struct req *r)
{
    struct flt_plan *p = &r->plan;
    if (p->silent) {
        r->stalling = true;
        suspend_for(r, XL_FOREVER);
        return MHD_YES;
    }
    if (p->empty) {
        set_outcome(r, FLT_OUT_CLOSED);
        return MHD_NO;
    }
    if (p->garbage) {
        char junk[4096];
        size_t n = p->garbage_bytes < sizeof junk ? (size_t)p->garbage_bytes : sizeof junk;
        flt_gen_fill(0x6a756e6bull, 0, 0, junk, n);
        for (size_t i = 0; i < n; i++)
            junk[i] = (char)(0x80 | (junk[i] & 0x7f)); /* never a valid status line */
        if (r->fd >= 0 && write(r->fd, junk, n) < 0)
            xl_log(XL_LOG_DEBUG, "http", "garbage write: %s", strerror(errno));
        set_outcome(r, FLT_OUT_CLOSED);
        return MHD_NO;
    }
    if (p->head_delay_ms > 0 && !r->head_waited) {
        r->head_waited = true;
        suspend_for(r, p->head_delay_ms);
        return MHD_YES;
    }
    const char *hop = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "xl-hop");
    const char *to = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "xl-to");
    if (hop && to) {
        const char *hops = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "xl-hops");
        const char *code = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "xl-code");
        int c = code ? atoi(code) : 302;
        return answer_redirect(r, to, c >= 300 && c <= 399 ? c : 302, strtoull(hop, NULL, 10),
                               hops ? strtoull(hops, NULL, 10) : 0);
    }
    if (p->redirect_loop)
        return answer_redirect(r, r->path, p->redirect_code, 0, 0);
    if (p->redirect_to)
        return answer_redirect(r, p->redirect_to, p->redirect_code, 0, p->redirect_hops);
    bool ok;
    enum MHD_Result rc = check_auth(r, &ok);
    if (!ok)
        return rc;
    if (p->status)
        return answer_status(r, p->status);
    if (upload_method(r->method))
        return answer_upload(r);
    return answer_content(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
    struct flt_http *s = cls;
    struct req *r = *req_cls;
    (void)version;
    if (s->stopping || (r && r->client_gone))
        return MHD_NO;
    if (!r) {
        r = req_new(s, c, url, method);
        if (!r)
            return MHD_NO;
        *req_cls = r;
        return first_call(r);
    }
    if (r->answered) {
        *upload_size = 0; /* the answer is out; discard the rest of the body */
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        return take_upload(r, upload_data, n) ? MHD_YES : MHD_NO;
    }
    return last_call(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct flt_http *s = cls;
    struct req *r = *req_cls;
    if (!r)
        return;
    enum flt_outcome o = FLT_OUT_ERROR;
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        o = FLT_OUT_COMPLETE;
        break;
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        o = FLT_OUT_TIMED_OUT;
        break;
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
    case MHD_REQUEST_TERMINATED_READ_ERROR:
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        o = FLT_OUT_CLIENT_GONE;
        break;
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        o = FLT_OUT_ERROR;
        break;
    }
    if (r->stalling)
        o = FLT_OUT_STALLED;
    if (o == FLT_OUT_COMPLETE) {
        flt_journal_lock(s->journal);
        if (strcmp(r->method, "HEAD") == 0)
            r->je->sent = 0;
        else if (r->fixed_len >= 0)
            r->je->sent = (uint64_t)r->fixed_len;
        else if (r->known_len)
            r->je->sent = r->len - (r->plan.short_by < r->len ? r->plan.short_by : r->len);
        flt_journal_unlock(s->journal);
    }
    if (r->suspended) /* cannot happen: MHD completes only running connections */
        resume(r);
    guard_arm(s, guard_of(c), true); /* the next request's head, on keep-alive */
    flt_journal_end(s->journal, r->je, o, xl_clock_now_ms(s->clock));
    req_free(r);
    *req_cls = NULL;
}

/* ---- daemon and loop ------------------------------------------------------ */

static void run_mhd(struct flt_http *s)
{
    if (s->in_run)
        return;
    s->in_run = true;
    MHD_run(s->mhd);
    MHD_UNSIGNED_LONG_LONG to;
    if (MHD_get_timeout(s->mhd, &to) == MHD_YES) {
        struct timeval tv = {.tv_sec = (time_t)(to / 1000),
                             .tv_usec = (suseconds_t)(to % 1000) * 1000};
        evtimer_add(s->mhd_timer, &tv);
    } else {
        evtimer_del(s->mhd_timer);
    }
    s->in_run = false;
}

static void on_mhd_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_mhd(arg);
}

static void on_accept(int fd, const struct sockaddr *sa, socklen_t salen, uint64_t conn, void *arg)
{
    struct flt_http *s = arg;
    if ((size_t)fd >= s->conn_cap) {
        size_t cap = s->conn_cap ? s->conn_cap : 256;
        while (cap <= (size_t)fd)
            cap *= 2;
        uint64_t *v = realloc(s->conn_of_fd, cap * sizeof *v);
        if (!v) {
            close(fd);
            return;
        }
        memset(v + s->conn_cap, 0, (cap - s->conn_cap) * sizeof *v);
        s->conn_of_fd = v;
        s->conn_cap = cap;
    }
    s->conn_of_fd[fd] = conn;
    if (MHD_add_connection(s->mhd, fd, sa, salen) != MHD_YES) {
        /* MHD closed the socket itself */
        xl_log(XL_LOG_WARN, "http", "connection %llu not taken: %s", (unsigned long long)conn,
               strerror(errno));
        return;
    }
    run_mhd(s);
}

/* libmicrohttpd's messages, at debug level. Its format strings are its own. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    size_t l = strlen(line);
    while (l && line[l - 1] == '\n')
        line[--l] = '\0';
    xl_log(XL_LOG_DEBUG, "mhd", "%s", line);
}

int flt_http_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

struct flt_http *flt_http_new(struct event_base *base, const struct flt_http_config *cfg,
                              struct flt_rules *rules, struct flt_content *content,
                              struct flt_journal *journal, const struct xl_clock *clock, char *err)
{
    struct flt_http *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, XL_ERRLEN, "out of memory");
        return NULL;
    }
    bool tls = cfg->cert_pem && cfg->key_pem;
    s->base = base;
    s->rules = rules;
    s->content = content;
    s->journal = journal;
    s->clock = clock;
    s->proto = tls ? "https" : "http";
    if (tls && !flt_http_tls_supported()) {
        snprintf(err, XL_ERRLEN, "libmicrohttpd was built without TLS; HTTPS is unavailable");
        goto fail;
    }
    s->idle_timeout_s = cfg->idle_timeout_s ? cfg->idle_timeout_s : 30;
    RAND_bytes(s->digest_rnd, sizeof s->digest_rnd);
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET |
                     MHD_USE_TURBO | MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0);
    /* The logger comes first, so every later option's complaints reach it. */
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, s},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
        {MHD_OPTION_CONNECTION_TIMEOUT, s->idle_timeout_s, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, cfg->max_conns ? cfg->max_conns : 1024, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL},
        {MHD_OPTION_DIGEST_AUTH_RANDOM, sizeof s->digest_rnd, s->digest_rnd},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s},
        {MHD_OPTION_NONCE_NC_SIZE, 1000, NULL},
        {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)cfg->key_pem},
        {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)cfg->cert_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (!s->mhd) {
        snprintf(err, XL_ERRLEN, "libmicrohttpd would not start%s",
                 tls ? " (check the certificate and key)" : "");
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    s->mhd_ev = di ? event_new(base, di->epoll_fd, EV_READ | EV_PERSIST, on_mhd_event, s) : NULL;
    s->mhd_timer = evtimer_new(base, on_mhd_event, s);
    if (!s->mhd_ev || !s->mhd_timer || event_add(s->mhd_ev, NULL) < 0) {
        snprintf(err, XL_ERRLEN, "cannot put libmicrohttpd on the event loop");
        goto fail;
    }
    s->listener = flt_listener_new(base, cfg->addr, cfg->port, rules, clock, on_accept, s, err);
    if (!s->listener)
        goto fail;
    flt_listener_on_rules_changed(s->listener, on_rules_changed, s);
    return s;
fail:
    flt_http_free(s);
    return NULL;
}

void flt_http_free(struct flt_http *s)
{
    if (!s)
        return;
    flt_listener_free(s->listener);
    if (s->mhd) {
        /* MHD must not be stopped with suspended connections: wake them so they fail. */
        s->stopping = true;
        while (s->suspended)
            resume(s->suspended);
        MHD_run(s->mhd);
        MHD_stop_daemon(s->mhd);
    }
    if (s->mhd_ev)
        event_free(s->mhd_ev);
    if (s->mhd_timer)
        event_free(s->mhd_timer);
    free(s->conn_of_fd);
    free(s);
}

uint16_t flt_http_port(const struct flt_http *s)
{
    return flt_listener_port(s->listener);
}
