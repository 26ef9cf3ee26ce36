/*
 * ftp: sessions, commands, passive data connections and faulty transfers.
 *
 * Ownership. The server (struct flt_ftp) owns its listener and a list of
 * sessions. A session owns its control fd with its two evbuffers and events,
 * its timers, its passive listener, its data connection, the transfer in
 * progress and the journal entries it has open (the command being answered,
 * a transfer's entry, a silent command's entry). Nothing else points into a
 * session, so freeing one (client gone, closed, server freed) is local and
 * closes its sockets at once.
 *
 * Control connection. Input is read into an evbuffer of at most
 * CTRL_INPUT_MAX bytes (reading pauses while it is full) and cut at LF; a
 * line longer than FLT_FTP_LINE_MAX is answered 500 once and skipped to its
 * LF without being stored. Replies are queued in the output evbuffer and
 * written with send(MSG_NOSIGNAL), so a vanished client never raises SIGPIPE;
 * while more than CTRL_OUTPUT_MAX bytes of replies wait for a client that does
 * not read, commands wait too. Commands run strictly one after another: while
 * a transfer runs, later lines wait in the buffer. MAX_BAD_COMMANDS
 * unparseable or unknown commands in a row get 421 and the session closes. A
 * closing session flushes its last reply, shuts down its write side, and
 * waits for the client's FIN (at most CLOSE_LINGER_MS) so the reply is never
 * lost to a RST.
 *
 * Per command: flt_rules_plan() with the verb, the resolved path (or "") and
 * the connection number; a journal entry (method, target, status, fired);
 * then, in this order: `silent` (the session goes deaf: it reads and drops
 * everything and never answers again; its entry stays open and ends STALLED,
 * or TIMED_OUT by the idle timeout); a reply override with a code >= 400 (the
 * command does nothing, a transfer command also drops the data connection;
 * 421 closes the session); the login check (530); the command itself, whose
 * final reply an override < 400 replaces (USER or PASS overridden with 2xx
 * also log the session in). For RETR, LIST and NLST an override 1xx replaces
 * only the preliminary reply and the transfer goes on; 2xx or 3xx replaces the
 * whole answer and nothing is sent. `change` bumps the entity at the planned
 * path before the command looks at it.
 *
 * Choices RFC 959 leaves open: REST beyond the end of the file makes the RETR
 * answer 554 (RFC 1123 §4.1.3.4 uses 554 for a bad REST); REST equal to the
 * size is a valid empty transfer. The 150 reply announces the bytes this
 * transfer carries ("(N bytes)", the size minus REST), which is what libcurl
 * reads when SIZE failed. TYPE A changes nothing on the wire (like vsftpd's
 * default). With configured credentials only they log in; without, any
 * USER/PASS does, anonymous included. A missing LIST target is 550.
 *
 * Transfers (struct xfer): the plan's byte events become response offsets
 * (entity offsets before the first byte, or equal to the first byte of a
 * resumed transfer, never fire), sorted; sending stops exactly at each one, so
 * a close at N delivers exactly N bytes. A reset waits (briefly) until the
 * kernel has delivered what was written, then closes with SO_LINGER 0. Stall,
 * throttle and dribble waits are converted with xl_clock_wall_tv(); the
 * throttle is a budget counted from the first byte, so a transfer of S bytes
 * at R bytes/s never ends before S/R.
 */
#include "ftp.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ftp_cmd.h"
#include "listener.h"
#include "log.h"

#define CTRL_INPUT_MAX   8192          /* control input buffered per session, at most */
#define CTRL_OUTPUT_MAX  8192          /* replies queued before commands wait for the client */
#define MAX_BAD_COMMANDS 10            /* in a row, then 421 */
#define DEFAULT_IDLE_S   60            /* clock seconds without a command */
#define DATA_BUF         (64 * 1024)   /* bytes read from the source at a time */
#define PUMP_BUDGET      (1024 * 1024) /* bytes sent per callback before yielding */
#define CLOSE_LINGER_MS  2000          /* wall ms a closing session waits for the client's FIN */
#define RESET_POLL_MS    2             /* wall ms between send-queue checks before a RST */
#define RESET_POLL_MAX   1000          /* checks before resetting anyway */
#define TEXT_MAX         (FLT_PATH_MAX + 256)

struct flt_ftp {
    struct event_base *base;
    struct flt_rules *rules;
    struct flt_content *content;
    struct flt_journal *journal;
    const struct xl_clock *clock;
    char *user, *pass; /* NULL: any */
    unsigned idle_s;
    struct flt_listener *listener;
    struct session *sessions; /* doubly linked */
    atomic_size_t nsessions;
};

/* What a transfer is doing now. */
enum xfer_state {
    X_NONE,      /* no transfer: commands are processed */
    X_WAIT_CONN, /* RETR/LIST/NLST answered 150, the data connection is not there yet */
    X_SENDING,   /* writing (or waiting for the socket to be writable) */
    X_WAITING,   /* a throttle or dribble pause */
    X_STALLED,   /* a stall event */
    X_RESETTING  /* waiting for the send queue to drain before a RST */
};

enum xfer_event_kind { EV_STALL, EV_CLOSE, EV_RESET, EV_ABORT };

struct xfer_event {
    uint64_t at; /* response offset */
    enum xfer_event_kind kind;
    int64_t for_ms;          /* EV_STALL */
    char rule[FLT_NAME_LEN]; /* EV_STALL: removing this rule ends the stall */
};

struct xfer {
    enum xfer_state state;
    struct flt_jentry *entry; /* owned until ended */
    /* source: an entity (file_fd open for FLT_SRC_FILE) or a listing in mem */
    struct flt_entity ent;
    int file_fd;
    char *mem;
    uint64_t first;  /* entity offset of the first byte (REST) */
    uint64_t length; /* bytes this transfer carries */
    uint64_t pos;    /* bytes written to the data socket */
    unsigned char *buf;
    size_t buf_off, buf_len;
    struct xfer_event ev[FLT_MAX_EVENTS];
    size_t nev, next_ev;
    uint64_t corrupt[FLT_MAX_EVENTS]; /* entity offsets */
    size_t ncorrupt;
    uint64_t rate;
    int64_t t0_ms;
    uint64_t dribble_chunk, dribble_left;
    int64_t dribble_pause_ms;
    int reset_polls;
    char stall_rule[FLT_NAME_LEN]; /* X_STALLED: the rule holding it */
};

struct session {
    struct flt_ftp *srv;
    struct session *prev, *next;
    uint64_t conn;
    int fd;                    /* control connection */
    struct evbuffer *in, *out; /* control input (<= CTRL_INPUT_MAX), queued replies */
    struct event *ctrl_rd, *ctrl_wr;
    struct sockaddr_storage local, peer;
    socklen_t local_len;
    struct event *idle; /* idle timeout; the close linger of a closing session */
    char cwd[FLT_PATH_MAX];
    bool have_user, user_ok, logged_in, ascii;
    uint64_t rest;
    unsigned bad;
    bool discarding; /* inside an overlong line: drop input up to its LF */
    bool closing;    /* the last reply is queued: no more commands */
    bool shut;       /* closing and flushed: write side shut down */
    bool deaf;       /* a silent command: never answer again */
    struct flt_jentry *silent_entry;
    /* passive listener, data connection, transfer */
    int pasv_fd;
    struct event *pasv_ev, *pasv_timer;
    int data_fd;
    struct event *data_rd, *data_wr;
    struct event *xfer_timer;
    struct xfer x;
};

/* The command being answered. */
struct cmd {
    struct session *s;
    const char *verb;
    const char *arg; /* "" when none */
    bool has_arg;
    char path[FLT_PATH_MAX]; /* resolved path, or "" */
    bool path_bad;           /* the resolved path does not fit */
    struct flt_plan plan;
    struct flt_jentry *entry;
    int ov_code; /* reply override for this verb, 0 if none */
    const char *ov_text;
    int prelim_code; /* transfer commands: a 1xx override of the preliminary reply */
    const char *prelim_text;
};

static void session_free(struct session *s, enum flt_outcome out);
static void process_input(struct session *s);
static void pump(struct session *s);

/* ---- small helpers ----------------------------------------------------- */

static int64_t now_ms(const struct session *s)
{
    return xl_clock_now_ms(s->srv->clock);
}

static struct timeval real_tv(int64_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

static const char *std_text(int code)
{
    switch (code) {
    case 110:
        return "Restart marker reply.";
    case 120:
        return "Service ready in a few minutes.";
    case 125:
        return "Data connection already open; transfer starting.";
    case 150:
        return "File status okay; about to open data connection.";
    case 200:
        return "Command okay.";
    case 202:
        return "Command not implemented, superfluous at this site.";
    case 211:
        return "System status.";
    case 213:
        return "File status.";
    case 215:
        return "UNIX Type: L8";
    case 220:
        return "Service ready for new user.";
    case 221:
        return "Goodbye.";
    case 225:
        return "Data connection open; no transfer in progress.";
    case 226:
        return "Closing data connection.";
    case 230:
        return "User logged in, proceed.";
    case 250:
        return "Requested file action okay, completed.";
    case 331:
        return "User name okay, need password.";
    case 332:
        return "Need account for login.";
    case 350:
        return "Requested file action pending further information.";
    case 421:
        return "Service not available, closing control connection.";
    case 425:
        return "Can't open data connection.";
    case 426:
        return "Connection closed; transfer aborted.";
    case 450:
        return "Requested file action not taken.";
    case 451:
        return "Requested action aborted: local error in processing.";
    case 452:
        return "Requested action not taken: insufficient storage space.";
    case 500:
        return "Syntax error, command unrecognized.";
    case 501:
        return "Syntax error in parameters or arguments.";
    case 502:
        return "Command not implemented.";
    case 503:
        return "Bad sequence of commands.";
    case 504:
        return "Command not implemented for that parameter.";
    case 530:
        return "Not logged in.";
    case 550:
        return "Requested action not taken: file unavailable.";
    case 552:
        return "Requested file action aborted: exceeded storage allocation.";
    case 553:
        return "Requested action not taken: file name not allowed.";
    case 554:
        return "Requested action not taken.";
    default:
        return "Fault injected by xferlab.";
    }
}

/* ---- journal ------------------------------------------------------------ */

/*
 * Open an entry for method. The journal owns it; this server may write it (under
 * the journal's lock) until j_end(). NULL when out of memory: every j_* takes NULL.
 */
static struct flt_jentry *j_open(struct session *s, const char *method, const char *target,
                                 const char *fired)
{
    struct flt_journal *j = s->srv->journal;
    struct flt_jentry *e = flt_journal_open(j, "ftp", s->conn, now_ms(s));

    if (!e)
        return NULL;
    flt_journal_lock(j);
    snprintf(e->method, sizeof e->method, "%s", method);
    e->target = target ? strdup(target) : NULL;
    snprintf(e->fired, sizeof e->fired, "%s", fired ? fired : "");
    flt_journal_unlock(j);
    return e;
}

static void j_status(struct session *s, struct flt_jentry *e, int code)
{
    if (!e)
        return;
    flt_journal_lock(s->srv->journal);
    e->status = code;
    flt_journal_unlock(s->srv->journal);
}

static void j_end(struct session *s, struct flt_jentry *e, enum flt_outcome o)
{
    if (e)
        flt_journal_end(s->srv->journal, e, o, now_ms(s));
}

/* ---- control connection ------------------------------------------------ */

static void idle_arm(struct session *s)
{
    if (s->closing)
        return; /* the idle event times the close linger now */
    struct timeval tv = xl_clock_wall_tv(s->srv->clock, (int64_t)s->srv->idle_s * 1000);

    evtimer_add(s->idle, &tv);
}

static void close_soon(struct session *s)
{
    if (s->closing)
        return;
    s->closing = true;
    struct timeval tv = real_tv(CLOSE_LINGER_MS);
    evtimer_add(s->idle, &tv);
}

/* Queue one reply line; text loses CR and LF. 421 closes the session. */
static void ctrl_send(struct session *s, int code, const char *text)
{
    char clean[TEXT_MAX];
    size_t n = 0;

    if (s->shut)
        return;
    for (const char *p = text; *p && n + 1 < sizeof clean; p++)
        clean[n++] = (*p == '\r' || *p == '\n') ? ' ' : *p;
    clean[n] = '\0';
    evbuffer_add_printf(s->out, "%03d %s\r\n", code, clean);
    event_add(s->ctrl_wr, NULL);
    if (code == 421)
        close_soon(s);
}

/* The command's final reply; an override replaces it (see the top of the file). */
static void cmd_reply(struct cmd *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cmd_reply(struct cmd *c, int code, const char *fmt, ...)
{
    char text[TEXT_MAX];
    va_list ap;
    int sent = code;
    const char *t = text;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (c->ov_code) {
        sent = c->ov_code;
        t = c->ov_text ? c->ov_text : sent == code ? text : std_text(sent);
    }
    j_status(c->s, c->entry, sent);
    ctrl_send(c->s, sent, t);
}

/* A line that is no command, or an unknown command: count it, maybe give up. */
static void count_bad(struct session *s)
{
    if (++s->bad >= MAX_BAD_COMMANDS && !s->closing) {
        xl_log(XL_LOG_INFO, "ftp", "conn %llu: %u bad commands in a row, closing",
               (unsigned long long)s->conn, s->bad);
        ctrl_send(s, 421, "Too many bad commands; closing control connection.");
    }
}

static void bad_line(struct session *s, int err)
{
    const char *text;
    int code = flt_ftp_parse_reply(err, &text);
    struct flt_jentry *e = j_open(s, "?", NULL, NULL);

    j_status(s, e, code);
    j_end(s, e, FLT_OUT_COMPLETE);
    ctrl_send(s, code, text);
    count_bad(s);
}

/* ---- data connection ---------------------------------------------------- */

static void pasv_close(struct session *s)
{
    if (s->pasv_ev) {
        event_free(s->pasv_ev);
        s->pasv_ev = NULL;
    }
    if (s->pasv_fd >= 0) {
        close(s->pasv_fd);
        s->pasv_fd = -1;
    }
    if (s->pasv_timer)
        evtimer_del(s->pasv_timer);
}

enum close_how { CLOSE_FIN, CLOSE_RST };

static void data_conn_close(struct session *s, enum close_how how)
{
    if (s->data_fd < 0)
        return;
    if (s->data_rd)
        event_free(s->data_rd);
    if (s->data_wr)
        event_free(s->data_wr);
    s->data_rd = s->data_wr = NULL;
    switch (how) {
    case CLOSE_FIN: {
        /* Unread input would turn the close into a RST: drop it first. */
        char tmp[512];
        while (recv(s->data_fd, tmp, sizeof tmp, MSG_DONTWAIT) > 0)
            ;
        break;
    }
    case CLOSE_RST: {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(s->data_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        break;
    }
    }
    close(s->data_fd);
    s->data_fd = -1;
}

static void data_close(struct session *s)
{
    pasv_close(s);
    data_conn_close(s, CLOSE_FIN);
}

static void xfer_clear(struct session *s)
{
    struct xfer *x = &s->x;

    if (s->xfer_timer)
        evtimer_del(s->xfer_timer);
    if (x->file_fd >= 0)
        close(x->file_fd);
    free(x->mem);
    free(x->buf);
    memset(x, 0, sizeof *x);
    x->file_fd = -1;
    x->state = X_NONE;
}

/* End the transfer: close the data connection, reply, end the entry, go on with commands. */
static void xfer_end(struct session *s, enum close_how how, int code, const char *text,
                     enum flt_outcome out)
{
    struct xfer *x = &s->x;

    data_conn_close(s, how);
    pasv_close(s);
    ctrl_send(s, code, text);
    j_status(s, x->entry, code);
    j_end(s, x->entry, out);
    x->entry = NULL;
    xl_log(XL_LOG_INFO, "ftp", "conn %llu: transfer ended after %llu of %llu bytes: %d, %s",
           (unsigned long long)s->conn, (unsigned long long)x->pos, (unsigned long long)x->length,
           code, flt_outcome_name(out));
    xfer_clear(s);
    idle_arm(s);
    process_input(s);
}

/* The session goes away during a transfer: no reply, just the entry. */
static void xfer_abandon(struct session *s, enum flt_outcome out)
{
    struct xfer *x = &s->x;

    if (x->state == X_NONE)
        return;
    j_end(s, x->entry, x->state == X_STALLED ? FLT_OUT_STALLED : out);
    x->entry = NULL;
    xfer_clear(s);
}

static void xfer_client_gone(struct session *s)
{
    enum flt_outcome o = s->x.state == X_STALLED ? FLT_OUT_STALLED : FLT_OUT_CLIENT_GONE;

    xfer_end(s, CLOSE_FIN, 426, "Connection closed; transfer aborted.", o);
}

static void on_data_read(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    char tmp[4096];
    (void)what;

    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);

        if (n > 0)
            continue; /* nothing is expected on a download's data connection */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        /* EOF or an error: the client closed the data connection. */
        if (s->x.state == X_NONE)
            data_conn_close(s, CLOSE_FIN);
        else
            xfer_client_gone(s);
        return;
    }
}

static void on_data_write(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)fd;
    (void)what;

    if (s->x.state == X_SENDING)
        pump(s);
}

static void begin_sending(struct session *s)
{
    s->x.state = X_SENDING;
    s->x.t0_ms = now_ms(s);
    event_add(s->data_wr, NULL);
}

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)(const void *)a)->sin_addr,
                      &((const struct sockaddr_in *)(const void *)b)->sin_addr,
                      sizeof(struct in_addr)) == 0;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
                      sizeof(struct in6_addr)) == 0;
    return false;
}

static void on_pasv_accept(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    (void)what;

    int c = accept4(fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return;
    if (!same_host(&sa, &s->peer)) {
        /* Not the client's address: someone else's connection (port theft). */
        xl_log(XL_LOG_WARN, "ftp", "conn %llu: data connection from a foreign address refused",
               (unsigned long long)s->conn);
        close(c);
        return;
    }
    pasv_close(s);
    data_conn_close(s, CLOSE_FIN);
    s->data_fd = c;
    s->data_rd = event_new(s->srv->base, c, EV_READ | EV_PERSIST, on_data_read, s);
    s->data_wr = event_new(s->srv->base, c, EV_WRITE, on_data_write, s);
    if (!s->data_rd || !s->data_wr) {
        data_conn_close(s, CLOSE_FIN);
        if (s->x.state == X_WAIT_CONN)
            xfer_end(s, CLOSE_FIN, 425, "Can't open data connection.", FLT_OUT_ERROR);
        return;
    }
    event_add(s->data_rd, NULL);
    if (s->x.state == X_WAIT_CONN)
        begin_sending(s);
}

static void on_pasv_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)fd;
    (void)what;

    pasv_close(s);
    if (s->x.state == X_WAIT_CONN)
        xfer_end(s, CLOSE_FIN, 425, "Can't open data connection.", FLT_OUT_TIMED_OUT);
}

/* Open a passive listener on the control connection's local address; *port gets its port. */
static int pasv_open(struct session *s, uint16_t *port)
{
    struct sockaddr_storage a = s->local;
    socklen_t al = s->local_len;
    int fd;

    data_close(s);
    if (a.ss_family == AF_INET)
        ((struct sockaddr_in *)&a)->sin_port = 0;
    else if (a.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&a)->sin6_port = 0;
    else
        return -1;
    fd = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, al) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        goto fail;
    s->pasv_ev = event_new(s->srv->base, fd, EV_READ | EV_PERSIST, on_pasv_accept, s);
    if (!s->pasv_ev)
        goto fail;
    event_add(s->pasv_ev, NULL);
    s->pasv_fd = fd;
    struct timeval tv = xl_clock_wall_tv(s->srv->clock, (int64_t)s->srv->idle_s * 1000);
    evtimer_add(s->pasv_timer, &tv);
    *port = ntohs(a.ss_family == AF_INET ? ((struct sockaddr_in *)&a)->sin_port
                                         : ((struct sockaddr_in6 *)&a)->sin6_port);
    return 0;
fail:
    close(fd);
    return -1;
}

/* ---- transfers ---------------------------------------------------------- */

static void xfer_wait(struct session *s, enum xfer_state st, int64_t ms)
{
    struct timeval tv = xl_clock_wall_tv(s->srv->clock, ms);

    s->x.state = st;
    evtimer_add(s->xfer_timer, &tv);
}

static void reset_poll(struct session *s)
{
    int queued = 0;

    if (ioctl(s->data_fd, SIOCOUTQ, &queued) == 0 && queued > 0 &&
        s->x.reset_polls++ < RESET_POLL_MAX) {
        struct timeval tv = real_tv(RESET_POLL_MS);
        evtimer_add(s->xfer_timer, &tv);
        return;
    }
    xfer_end(s, CLOSE_RST, 426, "Connection closed; transfer aborted.", FLT_OUT_RESET);
}

static void on_xfer_timer(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)fd;
    (void)what;

    switch (s->x.state) {
    case X_WAITING:
    case X_STALLED:
        s->x.state = X_SENDING;
        s->x.stall_rule[0] = '\0';
        pump(s);
        break;
    case X_RESETTING:
        reset_poll(s);
        break;
    case X_NONE:
    case X_WAIT_CONN:
    case X_SENDING:
        break;
    }
}

/*
 * Throttle: bytes may go when pos + q <= rate * elapsed. Returns 0 and trims
 * *want to what may go now, or the clock ms to wait. Elapsed time is counted
 * one ms short so integer clock ticks never let bytes out early.
 */
static int64_t throttle_wait(struct session *s, uint64_t *want)
{
    struct xfer *x = &s->x;
    int64_t el = now_ms(s) - x->t0_ms - 1;
    uint64_t allowed, q = x->rate / 50;

    if (el < 0)
        el = 0;
    allowed = (uint64_t)el > UINT64_MAX / x->rate ? UINT64_MAX : (uint64_t)el * x->rate / 1000;
    if (q == 0)
        q = 1;
    if (q > DATA_BUF)
        q = DATA_BUF;
    if (q > *want)
        q = *want;
    if (allowed >= x->pos && allowed - x->pos >= q) {
        if (*want > allowed - x->pos)
            *want = allowed - x->pos;
        return 0;
    }
    uint64_t need = x->pos + q;
    uint64_t at = need > (UINT64_MAX - x->rate) / 1000 ? (uint64_t)INT64_MAX
                                                       : (need * 1000 + x->rate - 1) / x->rate;
    int64_t w = (int64_t)(at > (uint64_t)INT64_MAX ? INT64_MAX : at) - el;
    return w > 0 ? w : 1;
}

static ssize_t read_source(struct xfer *x, uint64_t off, void *buf, size_t len)
{
    if (x->mem) {
        memcpy(buf, x->mem + off, len);
        return (ssize_t)len;
    }
    return flt_entity_read(&x->ent, x->file_fd, off, buf, len);
}

/* Send what may be sent now; stop exactly at byte events; end the transfer at the end. */
static void pump(struct session *s)
{
    struct xfer *x = &s->x;
    uint64_t budget = PUMP_BUDGET;

    for (;;) {
        if (x->buf_off < x->buf_len) {
            if (budget == 0) {
                event_add(s->data_wr, NULL);
                return;
            }
            ssize_t n = send(s->data_fd, x->buf + x->buf_off, x->buf_len - x->buf_off,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    event_add(s->data_wr, NULL);
                    return;
                }
                xfer_client_gone(s);
                return;
            }
            x->buf_off += (size_t)n;
            x->pos += (uint64_t)n;
            budget = (uint64_t)n >= budget ? 0 : budget - (uint64_t)n;
            if (x->entry) {
                flt_journal_lock(s->srv->journal);
                x->entry->sent = x->pos;
                flt_journal_unlock(s->srv->journal);
            }
            continue;
        }
        x->buf_off = x->buf_len = 0;
        while (x->next_ev < x->nev && x->ev[x->next_ev].at == x->pos) {
            const struct xfer_event *ev = &x->ev[x->next_ev++];

            switch (ev->kind) {
            case EV_STALL:
                xl_log(XL_LOG_INFO, "ftp", "conn %llu: stall at byte %llu",
                       (unsigned long long)s->conn, (unsigned long long)x->pos);
                s->x.state = X_STALLED;
                snprintf(s->x.stall_rule, sizeof s->x.stall_rule, "%s", ev->rule);
                if (ev->for_ms != XL_FOREVER)
                    xfer_wait(s, X_STALLED, ev->for_ms);
                return;
            case EV_CLOSE:
                xfer_end(s, CLOSE_FIN, 226, "Transfer complete.",
                         x->pos < x->length ? FLT_OUT_CLOSED : FLT_OUT_COMPLETE);
                return;
            case EV_ABORT:
                xfer_end(s, CLOSE_FIN, 426, "Connection closed; transfer aborted.", FLT_OUT_CLOSED);
                return;
            case EV_RESET:
                x->state = X_RESETTING;
                reset_poll(s);
                return;
            }
        }
        if (x->pos == x->length) {
            xfer_end(s, CLOSE_FIN, 226, "Transfer complete.", FLT_OUT_COMPLETE);
            return;
        }
        uint64_t want = x->length - x->pos;
        if (want > DATA_BUF)
            want = DATA_BUF;
        if (x->next_ev < x->nev && x->ev[x->next_ev].at - x->pos < want)
            want = x->ev[x->next_ev].at - x->pos;
        if (x->dribble_chunk) {
            if (x->dribble_left == 0) {
                x->dribble_left = x->dribble_chunk;
                xfer_wait(s, X_WAITING, x->dribble_pause_ms);
                return;
            }
            if (want > x->dribble_left)
                want = x->dribble_left;
        }
        if (x->rate) {
            int64_t wait = throttle_wait(s, &want);
            if (wait > 0) {
                xfer_wait(s, X_WAITING, wait);
                return;
            }
        }
        ssize_t got = read_source(x, x->first + x->pos, x->buf, (size_t)want);
        if (got <= 0) {
            xfer_end(s, CLOSE_FIN, 451, "Requested action aborted: local error in processing.",
                     FLT_OUT_ERROR);
            return;
        }
        uint64_t base = x->first + x->pos;
        for (size_t i = 0; i < x->ncorrupt; i++)
            if (x->corrupt[i] >= base && x->corrupt[i] - base < (uint64_t)got)
                x->buf[x->corrupt[i] - base] ^= 0xFF;
        x->buf_len = (size_t)got;
        if (x->dribble_chunk)
            x->dribble_left -= (uint64_t)got;
    }
}

static int event_cmp(const void *a, const void *b)
{
    const struct xfer_event *x = a, *y = b;

    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    /* At one offset a stall comes before whatever ends the transfer. */
    return (x->kind != EV_STALL) - (y->kind != EV_STALL);
}

/* Turn the plan's data faults into this transfer's schedule. */
static void xfer_plan(struct xfer *x, const struct flt_plan *p)
{
    for (size_t i = 0; i < p->nevents; i++) {
        const struct flt_byte_event *e = &p->events[i];
        enum xfer_event_kind k;
        uint64_t at = 0;

        if (e->action == FLT_A_STALL)
            k = EV_STALL;
        else if (e->action == FLT_A_CLOSE)
            k = EV_CLOSE;
        else if (e->action == FLT_A_RESET)
            k = EV_RESET;
        else if (e->action == FLT_A_ABORT)
            k = EV_ABORT;
        else
            continue;
        switch (e->anchor) {
        case FLT_ANCHOR_ENTITY:
            /* Like Chromium's test server: not before the first byte, and not at the first
             * byte of a resumed transfer (so the resume can get past it). */
            if (e->offset < x->first || (x->first > 0 && e->offset == x->first))
                continue;
            at = e->offset - x->first;
            break;
        case FLT_ANCHOR_RESPONSE:
            at = e->offset;
            break;
        case FLT_ANCHOR_RECEIVED:
            continue; /* uploads only */
        }
        if (at > x->length)
            continue;
        x->ev[x->nev].at = at;
        x->ev[x->nev].kind = k;
        x->ev[x->nev].for_ms = e->for_ms;
        snprintf(x->ev[x->nev].rule, sizeof x->ev[x->nev].rule, "%s", e->rule);
        x->nev++;
    }
    qsort(x->ev, x->nev, sizeof x->ev[0], event_cmp);
    for (size_t i = 0; i < p->ncorrupt; i++)
        if (p->corrupt[i] >= x->first && p->corrupt[i] - x->first < x->length)
            x->corrupt[x->ncorrupt++] = p->corrupt[i];
    x->rate = p->rate;
    x->dribble_chunk = p->dribble_chunk;
    x->dribble_left = p->dribble_chunk;
    x->dribble_pause_ms = p->dribble_pause_ms;
}

/*
 * Start a transfer answering c: from ent (file_fd for FLT_SRC_FILE, which the
 * transfer then owns) at first, or from mem (owned from here, mem_len bytes).
 */
static void xfer_start(struct cmd *c, const struct flt_entity *ent, int file_fd, char *mem,
                       size_t mem_len, uint64_t first)
{
    struct session *s = c->s;
    struct xfer *x = &s->x;
    char text[TEXT_MAX];

    xfer_clear(s);
    x->buf = malloc(DATA_BUF);
    if (!x->buf) {
        if (file_fd >= 0)
            close(file_fd);
        free(mem);
        xfer_clear(s);
        cmd_reply(c, 451, "Requested action aborted: out of memory.");
        return;
    }
    x->file_fd = file_fd;
    x->mem = mem;
    if (ent) {
        x->ent = *ent;
        x->first = first;
        x->length = ent->size - first;
    } else {
        x->length = mem_len;
    }
    xfer_plan(x, &c->plan);
    x->entry = c->entry;
    c->entry = NULL;
    if (x->entry) {
        flt_journal_lock(s->srv->journal);
        x->entry->offset = x->first;
        x->entry->length = (int64_t)x->length;
        if (x->first > 0) {
            char r[24];
            snprintf(r, sizeof r, "%llu", (unsigned long long)x->first);
            x->entry->range = strdup(r);
        }
        flt_journal_unlock(s->srv->journal);
    }
    if (ent)
        snprintf(text, sizeof text, "Opening %s mode data connection for %s (%llu bytes).",
                 s->ascii ? "ASCII" : "BINARY", c->path, (unsigned long long)x->length);
    else
        snprintf(text, sizeof text, "Here comes the directory listing.");
    int code = c->prelim_code ? c->prelim_code : 150;
    ctrl_send(s, code, c->prelim_text ? c->prelim_text : text);
    j_status(s, x->entry, code);
    evtimer_del(s->idle);
    if (s->data_fd >= 0)
        begin_sending(s);
    else
        x->state = X_WAIT_CONN;
}

/* ---- content: directories and listings ---------------------------------- */

/* The real path of directory path under root, if it is one that stays under root (caller frees). */
static char *root_dir(const char *root, const char *path)
{
    char full[2 * FLT_PATH_MAX + 2];
    struct stat st;
    size_t rl = strlen(root);

    for (const char *p = path; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
            return NULL;
    if (snprintf(full, sizeof full, "%s%s", root, path) >= (int)sizeof full)
        return NULL;
    char *real = realpath(full, NULL);
    if (!real)
        return NULL;
    if ((rl > 1 && (strncmp(real, root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))) ||
        stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return NULL;
    }
    return real;
}

/* Length of the prefix a child of dir starts with: "/" -> 0, "/a" -> 2 (then '/'). */
static size_t dir_prefix(const char *dir)
{
    return strcmp(dir, "/") == 0 ? 0 : strlen(dir);
}

/* "/", a directory implied by a generated entity's path, or a directory under the root. */
static bool is_dir(struct flt_content *ct, const char *path)
{
    size_t pl = dir_prefix(path);
    bool found = pl == 0;
    char *root = NULL;

    pthread_mutex_lock(&ct->lock);
    for (size_t i = 0; i < ct->n && !found; i++)
        if (strncmp(ct->v[i].path, path, pl) == 0 && ct->v[i].path[pl] == '/')
            found = true;
    if (!found && ct->root)
        root = strdup(ct->root);
    pthread_mutex_unlock(&ct->lock);
    if (root) {
        char *real = root_dir(root, path);
        found = real != NULL;
        free(real);
        free(root);
    }
    return found;
}

struct lentry {
    char *name;
    bool dir;
    uint64_t size;
    time_t mtime;
    int order; /* generated entities shadow root files of the same name */
};

struct listing {
    struct lentry *v;
    size_t n, cap;
};

static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int listing_add(struct listing *l, const char *name, size_t nlen, bool dir, uint64_t size,
                       time_t mtime, int order)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct lentry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    char *copy = strndup(name, nlen);
    if (!copy)
        return -1;
    l->v[l->n++] = (struct lentry){copy, dir, size, mtime, order};
    return 0;
}

static int lentry_cmp(const void *a, const void *b)
{
    const struct lentry *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : x->order - y->order;
}

/* Children of directory dir, sorted by name, each name once. Returns 0 or -1 (out of memory). */
static int collect(struct flt_content *ct, const char *dir, struct listing *l)
{
    size_t pl = dir_prefix(dir);
    char *root = NULL;
    int rc = 0;

    pthread_mutex_lock(&ct->lock);
    for (size_t i = 0; i < ct->n && rc == 0; i++) {
        const struct flt_entity *e = &ct->v[i];
        if (strncmp(e->path, dir, pl) != 0 || e->path[pl] != '/' || e->path[pl + 1] == '\0')
            continue;
        const char *rest = e->path + pl + 1;
        const char *slash = strchr(rest, '/');
        if (slash)
            rc = listing_add(l, rest, (size_t)(slash - rest), true, 4096, e->mtime, 0);
        else
            rc = listing_add(l, rest, strlen(rest), false, e->size, e->mtime, 0);
    }
    if (ct->root)
        root = strdup(ct->root);
    pthread_mutex_unlock(&ct->lock);
    char *real = root ? root_dir(root, dir) : NULL;
    DIR *d = real ? opendir(real) : NULL;
    for (struct dirent *de; d && rc == 0 && (de = readdir(d)) != NULL;) {
        char vpath[FLT_PATH_MAX];
        struct stat st;
        struct flt_entity e;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (snprintf(vpath, sizeof vpath, "%.*s/%s", (int)pl, dir, de->d_name) >=
                (int)sizeof vpath ||
            fstatat(dirfd(d), de->d_name, &st, 0) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            char *sub = root_dir(root, vpath);
            if (sub)
                rc = listing_add(l, de->d_name, strlen(de->d_name), true, 4096, st.st_mtime, 1);
            free(sub);
        } else if (S_ISREG(st.st_mode) && flt_content_lookup(ct, vpath, &e) == FLT_FOUND) {
            rc = listing_add(l, de->d_name, strlen(de->d_name), false, e.size, e.mtime, 1);
        }
    }
    if (d)
        closedir(d);
    free(real);
    free(root);
    if (rc < 0)
        return -1;
    if (l->n > 1)
        qsort(l->v, l->n, sizeof l->v[0], lentry_cmp);
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (k > 0 && strcmp(l->v[k - 1].name, l->v[i].name) == 0) {
            free(l->v[i].name);
            continue;
        }
        l->v[k++] = l->v[i];
    }
    l->n = k;
    return 0;
}

/* Format l as `ls -l` lines (LIST) or bare names (NLST); caller frees. NULL when out of memory. */
static char *format_listing(const struct listing *l, bool names_only, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    time_t now = time(NULL);

    if (!f)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        const struct lentry *e = &l->v[i];
        char when[32];
        struct tm tm;

        if (names_only) {
            fprintf(f, "%s\r\n", e->name);
            continue;
        }
        gmtime_r(&e->mtime, &tm);
        /* ls -l: the time of day for the last six months, else the year. */
        if (e->mtime > now - 182 * 86400 && e->mtime <= now + 3600)
            strftime(when, sizeof when, "%b %e %H:%M", &tm);
        else
            strftime(when, sizeof when, "%b %e  %Y", &tm);
        fprintf(f, "%s %4d %-8s %-8s %8llu %s %s\r\n", e->dir ? "drwxr-xr-x" : "-rw-r--r--",
                e->dir ? 2 : 1, "ftp", "ftp", (unsigned long long)e->size, when, e->name);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- commands ------------------------------------------------------------ */

static void cmd_user(struct cmd *c)
{
    struct session *s = c->s;
    struct flt_ftp *srv = s->srv;

    if (!c->arg[0]) {
        cmd_reply(c, 501, "Syntax error: USER needs a name.");
        return;
    }
    s->logged_in = false;
    s->have_user = true;
    s->user_ok = !srv->user || strcmp(c->arg, srv->user) == 0;
    if (c->ov_code >= 200 && c->ov_code < 300)
        s->logged_in = true;
    cmd_reply(c, 331, "Please specify the password.");
}

static void cmd_pass(struct cmd *c)
{
    struct session *s = c->s;
    struct flt_ftp *srv = s->srv;

    if (s->logged_in && !s->have_user) {
        cmd_reply(c, 230, "Already logged in.");
        return;
    }
    if (!s->have_user) {
        cmd_reply(c, 503, "Login with USER first.");
        return;
    }
    s->have_user = false;
    if ((s->user_ok && (!srv->pass || strcmp(c->arg, srv->pass) == 0)) ||
        (c->ov_code >= 200 && c->ov_code < 300)) {
        s->logged_in = true;
        cmd_reply(c, 230, "Login successful.");
        return;
    }
    cmd_reply(c, 530, "Login incorrect.");
}

static void cmd_quit(struct cmd *c)
{
    cmd_reply(c, 221, "Goodbye.");
    close_soon(c->s);
}

static void cmd_feat(struct cmd *c)
{
    if (c->ov_code) {
        cmd_reply(c, 211, "End");
        return;
    }
    event_add(c->s->ctrl_wr, NULL);
    evbuffer_add_printf(c->s->out,
                        "211-Features:\r\n SIZE\r\n MDTM\r\n REST STREAM\r\n EPSV\r\n PASV\r\n"
                        " UTF8\r\n211 End\r\n");
    j_status(c->s, c->entry, 211);
}

static void cmd_noop(struct cmd *c)
{
    cmd_reply(c, 200, "NOOP ok.");
}

static void cmd_syst(struct cmd *c)
{
    cmd_reply(c, 215, "UNIX Type: L8");
}

static void cmd_opts(struct cmd *c)
{
    if (strcasecmp(c->arg, "UTF8 ON") == 0)
        cmd_reply(c, 200, "Always in UTF8 mode.");
    else
        cmd_reply(c, 501, "Option not understood.");
}

static void cmd_type(struct cmd *c)
{
    bool ascii = false;

    switch (flt_ftp_parse_type(c->arg, &ascii)) {
    case 0:
        c->s->ascii = ascii;
        cmd_reply(c, 200, "Switching to %s mode.", ascii ? "ASCII" : "Binary");
        break;
    case -1:
        cmd_reply(c, 501, "Syntax error: TYPE needs an argument.");
        break;
    default:
        cmd_reply(c, 504, "Command not implemented for that parameter.");
        break;
    }
}

static void cmd_pwd(struct cmd *c)
{
    char q[2 * FLT_PATH_MAX];
    size_t n = 0;

    /* RFC 959 appendix II: a quote inside the name is doubled. */
    for (const char *p = c->s->cwd; *p && n + 2 < sizeof q; p++) {
        if (*p == '"')
            q[n++] = '"';
        q[n++] = *p;
    }
    q[n] = '\0';
    cmd_reply(c, 257, "\"%s\" is the current directory.", q);
}

static void cmd_cwd(struct cmd *c)
{
    if (!c->arg[0]) {
        cmd_reply(c, 501, "Syntax error: CWD needs a directory.");
        return;
    }
    if (!is_dir(c->s->srv->content, c->path)) {
        cmd_reply(c, 550, "Failed to change directory.");
        return;
    }
    snprintf(c->s->cwd, sizeof c->s->cwd, "%s", c->path);
    cmd_reply(c, 250, "Directory successfully changed.");
}

static void cmd_cdup(struct cmd *c)
{
    char up[FLT_PATH_MAX];

    if (flt_ftp_resolve(c->s->cwd, "..", up, sizeof up) == 0)
        snprintf(c->s->cwd, sizeof c->s->cwd, "%s", up);
    cmd_reply(c, 250, "Directory successfully changed.");
}

static void passive(struct cmd *c, bool extended)
{
    struct session *s = c->s;
    char text[128];
    uint16_t port = 0;

    if (!extended &&
        flt_ftp_format_passive(false, (struct sockaddr *)&s->local, 1, text, sizeof text) < 0) {
        cmd_reply(c, 425, "PASV is IPv4 only; use EPSV.");
        return;
    }
    if (pasv_open(s, &port) < 0) {
        cmd_reply(c, 425, "Can't open passive listener: %s.", strerror(errno));
        return;
    }
    flt_ftp_format_passive(extended, (struct sockaddr *)&s->local, port, text, sizeof text);
    /* text is "NNN words": reply with the code and the words. */
    cmd_reply(c, extended ? 229 : 227, "%s", text + 4);
}

static void cmd_pasv(struct cmd *c)
{
    passive(c, false);
}

static void cmd_epsv(struct cmd *c)
{
    int fam = c->s->local.ss_family;

    if (c->arg[0] == '\0') {
        passive(c, true);
    } else if (strcasecmp(c->arg, "ALL") == 0) {
        cmd_reply(c, 200, "EPSV ALL ok.");
    } else if (strcmp(c->arg, "1") == 0 || strcmp(c->arg, "2") == 0) {
        if ((c->arg[0] == '1') != (fam == AF_INET))
            cmd_reply(c, 522, "Network protocol not supported, use (%c).",
                      fam == AF_INET ? '1' : '2');
        else
            passive(c, true);
    } else {
        cmd_reply(c, 501, "Syntax error: EPSV takes 1, 2 or ALL.");
    }
}

static void cmd_rest(struct cmd *c)
{
    uint64_t v;

    if (flt_ftp_parse_rest(c->arg, &v) < 0) {
        cmd_reply(c, 501, "REST needs a decimal byte offset.");
        return;
    }
    c->s->rest = v;
    cmd_reply(c, 350, "Restart position accepted (%llu).", (unsigned long long)v);
}

/* Look up a file for SIZE, MDTM, RETR. Replies 501/550 itself and returns false on failure. */
static bool find_file(struct cmd *c, struct flt_entity *e)
{
    if (!c->arg[0]) {
        cmd_reply(c, 501, "Syntax error: %s needs a file name.", c->verb);
        return false;
    }
    switch (flt_content_lookup(c->s->srv->content, c->path, e)) {
    case FLT_FOUND:
        return true;
    case FLT_NOT_FOUND:
        if (is_dir(c->s->srv->content, c->path))
            cmd_reply(c, 550, "%s: not a regular file.", c->path);
        else
            cmd_reply(c, 550, "%s: no such file.", c->path);
        return false;
    case FLT_FORBIDDEN:
        cmd_reply(c, 550, "%s: permission denied.", c->path);
        return false;
    }
    return false;
}

static void cmd_size(struct cmd *c)
{
    struct flt_entity e;

    if (find_file(c, &e))
        cmd_reply(c, 213, "%llu", (unsigned long long)e.size);
}

static void cmd_mdtm(struct cmd *c)
{
    struct flt_entity e;
    struct tm tm;
    char t[32];

    if (!find_file(c, &e))
        return;
    gmtime_r(&e.mtime, &tm);
    strftime(t, sizeof t, "%Y%m%d%H%M%S", &tm);
    cmd_reply(c, 213, "%s", t);
}

/* Common start of RETR, LIST, NLST: take REST, split a 1xx override off. */
static uint64_t xfer_prologue(struct cmd *c)
{
    uint64_t rest = c->s->rest;

    c->s->rest = 0;
    if (c->ov_code >= 100 && c->ov_code < 200) {
        c->prelim_code = c->ov_code;
        c->prelim_text = c->ov_text;
        c->ov_code = 0;
        c->ov_text = NULL;
    }
    return rest;
}

/* An override of 2xx or 3xx replaces the whole answer of a transfer command. */
static bool xfer_overridden(struct cmd *c)
{
    if (!c->ov_code)
        return false;
    data_close(c->s);
    cmd_reply(c, 226, "Transfer complete.");
    return true;
}

static bool have_data(struct cmd *c)
{
    if (c->s->data_fd >= 0 || c->s->pasv_fd >= 0)
        return true;
    cmd_reply(c, 425, "Use PASV or EPSV first.");
    return false;
}

static void cmd_retr(struct cmd *c)
{
    uint64_t rest = xfer_prologue(c);
    struct flt_entity e;
    int fd = -1;

    if (xfer_overridden(c) || !find_file(c, &e) || !have_data(c))
        return;
    if (rest > e.size) {
        cmd_reply(c, 554, "Invalid REST parameter: %llu is beyond the end (%llu bytes).",
                  (unsigned long long)rest, (unsigned long long)e.size);
        return;
    }
    switch (e.src) {
    case FLT_SRC_GEN:
        break;
    case FLT_SRC_FILE:
        fd = open(e.file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            cmd_reply(c, 451, "Cannot open %s: %s.", c->path, strerror(errno));
            return;
        }
        break;
    }
    xfer_start(c, &e, fd, NULL, 0, rest);
}

static void cmd_list(struct cmd *c)
{
    struct listing l = {0};
    struct flt_entity e;
    bool names = strcmp(c->verb, "NLST") == 0;
    size_t len = 0;
    char *text;

    xfer_prologue(c);
    if (xfer_overridden(c))
        return;
    if (is_dir(c->s->srv->content, c->path)) {
        if (collect(c->s->srv->content, c->path, &l) < 0)
            goto oom;
    } else if (flt_content_lookup(c->s->srv->content, c->path, &e) == FLT_FOUND) {
        const char *base = strrchr(c->path, '/');
        base = base ? base + 1 : c->path;
        if (listing_add(&l, base, strlen(base), false, e.size, e.mtime, 0) < 0)
            goto oom;
    } else {
        cmd_reply(c, 550, "%s: no such file or directory.", c->path);
        return;
    }
    if (!have_data(c)) {
        listing_free(&l);
        return;
    }
    text = format_listing(&l, names, &len);
    listing_free(&l);
    if (!text) {
        cmd_reply(c, 451, "Requested action aborted: out of memory.");
        return;
    }
    xfer_start(c, NULL, -1, text, len, 0);
    return;
oom:
    listing_free(&l);
    cmd_reply(c, 451, "Requested action aborted: out of memory.");
}

enum {
    V_NOLOGIN = 1, /* allowed before login */
    V_PATH = 2,    /* the argument is a path (planned as req.path) */
    V_XFER = 4,    /* uses the data connection */
    V_LIST = 8     /* LIST/NLST: leading "-options" are not part of the path */
};

struct verb {
    const char *name;
    void (*fn)(struct cmd *c); /* NULL: not implemented (502) */
    unsigned flags;
};

static const struct verb verbs[] = {
    {"USER", cmd_user, V_NOLOGIN},
    {"PASS", cmd_pass, V_NOLOGIN},
    {"QUIT", cmd_quit, V_NOLOGIN},
    {"FEAT", cmd_feat, V_NOLOGIN},
    {"NOOP", cmd_noop, V_NOLOGIN},
    {"OPTS", cmd_opts, V_NOLOGIN},
    {"SYST", cmd_syst, 0},
    {"TYPE", cmd_type, 0},
    {"PWD", cmd_pwd, 0},
    {"CWD", cmd_cwd, V_PATH},
    {"CDUP", cmd_cdup, 0},
    {"EPSV", cmd_epsv, 0},
    {"PASV", cmd_pasv, 0},
    {"SIZE", cmd_size, V_PATH},
    {"MDTM", cmd_mdtm, V_PATH},
    {"REST", cmd_rest, 0},
    {"RETR", cmd_retr, V_PATH | V_XFER},
    {"LIST", cmd_list, V_PATH | V_XFER | V_LIST},
    {"NLST", cmd_list, V_PATH | V_XFER | V_LIST},
    /* Uploads are not served; named so path= selectors see their argument. */
    {"STOR", NULL, V_PATH},
    {"APPE", NULL, V_PATH},
    {"STOU", NULL, V_PATH},
};

static const struct verb *find_verb(const char *name)
{
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    return NULL;
}

/* The path part of a LIST/NLST argument: skip "-la"-style options. */
static const char *list_path(const char *arg)
{
    while (*arg == '-') {
        arg += strcspn(arg, " ");
        arg += strspn(arg, " ");
    }
    return arg;
}

static void plan_command(struct cmd *c)
{
    struct session *s = c->s;
    struct flt_request req = {c->verb, c->path, s->conn};

    flt_rules_plan(s->srv->rules, FLT_P_FTP, &req, &c->plan);
    for (size_t i = 0; i < c->plan.nreplies; i++)
        if (strcasecmp(c->plan.replies[i].verb, c->verb) == 0) {
            c->ov_code = c->plan.replies[i].code;
            c->ov_text = c->plan.replies[i].text;
        }
    if (c->plan.fired[0])
        xl_log(XL_LOG_INFO, "ftp", "conn %llu: %s %s: %s", (unsigned long long)s->conn, c->verb,
               c->path, c->plan.fired);
    c->entry = j_open(s, c->verb, c->has_arg ? c->arg : NULL, c->plan.fired);
}

static void go_deaf(struct cmd *c)
{
    struct session *s = c->s;

    xl_log(XL_LOG_INFO, "ftp", "conn %llu: silent on %s", (unsigned long long)s->conn, c->verb);
    s->deaf = true;
    s->silent_entry = c->entry;
    c->entry = NULL;
    evbuffer_drain(s->in, evbuffer_get_length(s->in));
}

static void dispatch(struct session *s, const struct flt_ftp_cmd *pc)
{
    const struct verb *v = find_verb(pc->verb);
    unsigned flags = v ? v->flags : 0;
    struct cmd c;

    memset(&c, 0, sizeof c);
    c.s = s;
    c.verb = pc->verb;
    c.arg = pc->arg;
    c.has_arg = pc->has_arg;
    if (flags & V_PATH) {
        const char *p = (flags & V_LIST) ? list_path(pc->arg) : pc->arg;
        if ((p[0] || (flags & V_LIST)) && flt_ftp_resolve(s->cwd, p, c.path, sizeof c.path) < 0)
            c.path_bad = true;
    }
    plan_command(&c);
    if (c.plan.change && c.path[0])
        flt_content_change(s->srv->content, c.path, c.plan.change_size);
    if (c.plan.silent) {
        go_deaf(&c);
        goto out;
    }
    if (v && v->fn)
        s->bad = 0;
    if (c.ov_code >= 400) {
        if (flags & V_XFER) {
            data_close(s);
            s->rest = 0;
        }
        cmd_reply(&c, c.ov_code, "%s", std_text(c.ov_code));
    } else if (!v || !v->fn) {
        cmd_reply(&c, 502, "Command not implemented.");
        if (!c.ov_code)
            count_bad(s);
    } else if (!s->logged_in && !(flags & V_NOLOGIN)) {
        cmd_reply(&c, 530, "Please login with USER and PASS.");
    } else if (c.path_bad) {
        cmd_reply(&c, 550, "File name too long.");
    } else {
        v->fn(&c);
    }
out:
    j_end(s, c.entry, FLT_OUT_COMPLETE);
    flt_plan_release(&c.plan);
}

/* ---- the control connection's callbacks --------------------------------- */

static void handle_line(struct session *s, const char *line, size_t len)
{
    struct flt_ftp_cmd cmd;
    int rc = flt_ftp_parse(line, len, &cmd);

    if (rc < 0)
        bad_line(s, rc);
    else
        dispatch(s, &cmd);
}

static void process_input(struct session *s)
{
    struct evbuffer *in = s->in;
    char line[FLT_FTP_LINE_MAX + 2];
    bool any = false;

    /* Commands wait while a transfer runs and while the client is not reading replies. */
    while (!s->closing && !s->deaf && s->x.state == X_NONE &&
           evbuffer_get_length(s->out) < CTRL_OUTPUT_MAX) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            break;
        struct evbuffer_ptr p = evbuffer_search(in, "\n", 1, NULL);
        if (s->discarding) {
            if (p.pos < 0) {
                evbuffer_drain(in, avail);
                break;
            }
            evbuffer_drain(in, (size_t)p.pos + 1);
            s->discarding = false;
            continue;
        }
        if (p.pos < 0) {
            /* A line may hold FLT_FTP_LINE_MAX bytes and a CR before its LF. */
            if (avail > FLT_FTP_LINE_MAX + 1) {
                evbuffer_drain(in, avail);
                s->discarding = true;
                any = true;
                bad_line(s, FLT_FTP_E_TOO_LONG);
            }
            break;
        }
        size_t n = (size_t)p.pos + 1;
        any = true;
        if (n > sizeof line) {
            evbuffer_drain(in, n);
            bad_line(s, FLT_FTP_E_TOO_LONG);
            continue;
        }
        evbuffer_remove(in, line, n);
        handle_line(s, line, n);
    }
    if (s->closing || s->deaf)
        evbuffer_drain(in, evbuffer_get_length(in));
    if (any && !s->closing && !s->deaf && s->x.state == X_NONE)
        idle_arm(s);
    /* Bounded input: stop reading while the buffer is full. */
    if (evbuffer_get_length(in) >= CTRL_INPUT_MAX)
        event_del(s->ctrl_rd);
    else
        event_add(s->ctrl_rd, NULL);
}

static void on_ctrl_read(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    size_t have = evbuffer_get_length(s->in);
    (void)what;

    if (have >= CTRL_INPUT_MAX) {
        event_del(s->ctrl_rd);
        return;
    }
    int n = evbuffer_read(s->in, fd, (int)(CTRL_INPUT_MAX - have));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        session_free(s, FLT_OUT_CLIENT_GONE);
        return;
    }
    process_input(s);
}

/*
 * Replies go out with send(MSG_NOSIGNAL): a client that vanished must never
 * raise SIGPIPE in a process that did not ask to ignore it.
 */
static void on_ctrl_write(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)what;

    while (evbuffer_get_length(s->out) > 0) {
        size_t n = evbuffer_get_contiguous_space(s->out);
        unsigned char *p = evbuffer_pullup(s->out, (ev_ssize_t)n);
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_add(s->ctrl_wr, NULL);
            return;
        }
        if (w < 0) {
            session_free(s, FLT_OUT_CLIENT_GONE);
            return;
        }
        evbuffer_drain(s->out, (size_t)w);
    }
    if (s->closing) {
        if (!s->shut) {
            /* Everything said: FIN, then wait for the client's (or the linger timer). */
            s->shut = true;
            shutdown(fd, SHUT_WR);
        }
        return;
    }
    process_input(s); /* commands may have waited for the replies to drain */
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    (void)fd;
    (void)what;

    if (s->closing || s->deaf) {
        session_free(s, FLT_OUT_TIMED_OUT);
        return;
    }
    if (s->x.state != X_NONE)
        return;
    xl_log(XL_LOG_INFO, "ftp", "conn %llu: idle timeout", (unsigned long long)s->conn);
    ctrl_send(s, 421, "Timeout: closing control connection.");
}

/* ---- sessions ----------------------------------------------------------- */

static void greet(struct session *s)
{
    struct cmd c;

    memset(&c, 0, sizeof c);
    c.s = s;
    c.verb = "CONNECT";
    c.arg = "";
    plan_command(&c);
    if (c.plan.silent) {
        go_deaf(&c);
    } else {
        cmd_reply(&c, 220, "xferlab FTP fault server ready.");
        if (c.ov_code >= 400)
            close_soon(s);
        j_end(s, c.entry, FLT_OUT_COMPLETE);
    }
    flt_plan_release(&c.plan);
}

static void session_free(struct session *s, enum flt_outcome out)
{
    struct flt_ftp *srv = s->srv;

    xfer_abandon(s, out);
    if (s->silent_entry) {
        j_end(s, s->silent_entry, out == FLT_OUT_TIMED_OUT ? FLT_OUT_TIMED_OUT : FLT_OUT_STALLED);
        s->silent_entry = NULL;
    }
    data_close(s);
    if (s->idle)
        event_free(s->idle);
    if (s->pasv_timer)
        event_free(s->pasv_timer);
    if (s->xfer_timer)
        event_free(s->xfer_timer);
    if (s->ctrl_rd)
        event_free(s->ctrl_rd);
    if (s->ctrl_wr)
        event_free(s->ctrl_wr);
    if (s->in)
        evbuffer_free(s->in);
    if (s->out)
        evbuffer_free(s->out);
    if (s->fd >= 0)
        close(s->fd);
    if (s->prev)
        s->prev->next = s->next;
    else if (srv->sessions == s)
        srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    atomic_fetch_sub(&srv->nsessions, 1);
    xl_log(XL_LOG_INFO, "ftp", "conn %llu: closed", (unsigned long long)s->conn);
    free(s);
}

static void on_accept(int fd, const struct sockaddr *sa, socklen_t salen, uint64_t conn, void *arg)
{
    struct flt_ftp *srv = arg;
    struct session *s = calloc(1, sizeof *s);

    if (!s) {
        close(fd);
        return;
    }
    s->srv = srv;
    s->conn = conn;
    s->fd = fd;
    s->pasv_fd = -1;
    s->data_fd = -1;
    s->x.file_fd = -1;
    snprintf(s->cwd, sizeof s->cwd, "/");
    memcpy(&s->peer, sa, salen < sizeof s->peer ? salen : sizeof s->peer);
    s->local_len = sizeof s->local;
    /* Linked first, so session_free() can undo any partial construction. */
    s->next = srv->sessions;
    if (s->next)
        s->next->prev = s;
    srv->sessions = s;
    atomic_fetch_add(&srv->nsessions, 1);
    s->in = evbuffer_new();
    s->out = evbuffer_new();
    s->ctrl_rd = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_ctrl_read, s);
    s->ctrl_wr = event_new(srv->base, fd, EV_WRITE, on_ctrl_write, s);
    s->idle = evtimer_new(srv->base, on_idle, s);
    s->pasv_timer = evtimer_new(srv->base, on_pasv_timeout, s);
    s->xfer_timer = evtimer_new(srv->base, on_xfer_timer, s);
    if (!s->in || !s->out || !s->ctrl_rd || !s->ctrl_wr || !s->idle || !s->pasv_timer ||
        !s->xfer_timer || getsockname(fd, (struct sockaddr *)&s->local, &s->local_len) < 0) {
        xl_log(XL_LOG_WARN, "ftp", "conn %llu: cannot set up a session", (unsigned long long)conn);
        session_free(s, FLT_OUT_ERROR);
        return;
    }
    event_add(s->ctrl_rd, NULL);
    xl_log(XL_LOG_INFO, "ftp", "conn %llu: connected", (unsigned long long)conn);
    greet(s);
    idle_arm(s);
}

/* ---- the server --------------------------------------------------------- */

/* The rules changed: a transfer held by a stall whose rule is gone goes on now. */
static void on_rules_changed(void *arg)
{
    struct flt_ftp *srv = arg;
    for (struct session *s = srv->sessions, *next; s; s = next) {
        next = s->next;
        if (s->x.state != X_STALLED || !s->x.stall_rule[0] ||
            flt_rules_has(srv->rules, s->x.stall_rule))
            continue;
        evtimer_del(s->xfer_timer);
        s->x.stall_rule[0] = '\0';
        s->x.state = X_SENDING;
        pump(s);
    }
}

struct flt_ftp *flt_ftp_new(struct event_base *base, const struct flt_ftp_config *cfg,
                            struct flt_rules *rules, struct flt_content *content,
                            struct flt_journal *journal, const struct xl_clock *clock, char *err)
{
    static const struct flt_ftp_config defaults = {0};
    struct flt_ftp *srv = calloc(1, sizeof *srv);

    if (!cfg)
        cfg = &defaults;
    if (!srv) {
        snprintf(err, XL_ERRLEN, "out of memory");
        return NULL;
    }
    srv->base = base;
    srv->rules = rules;
    srv->content = content;
    srv->journal = journal;
    srv->clock = clock;
    srv->idle_s = cfg->idle_timeout_s ? cfg->idle_timeout_s : DEFAULT_IDLE_S;
    atomic_init(&srv->nsessions, 0);
    if ((cfg->user && !(srv->user = strdup(cfg->user))) ||
        (cfg->pass && !(srv->pass = strdup(cfg->pass)))) {
        snprintf(err, XL_ERRLEN, "out of memory");
        goto fail;
    }
    srv->listener = flt_listener_new(base, cfg->addr, cfg->port, rules, clock, on_accept, srv, err);
    if (!srv->listener)
        goto fail;
    flt_listener_on_rules_changed(srv->listener, on_rules_changed, srv);
    xl_log(XL_LOG_INFO, "ftp", "listening on port %u", flt_listener_port(srv->listener));
    return srv;
fail:
    free(srv->user);
    free(srv->pass);
    free(srv);
    return NULL;
}

uint16_t flt_ftp_port(const struct flt_ftp *s)
{
    return flt_listener_port(s->listener);
}

size_t flt_ftp_sessions(const struct flt_ftp *s)
{
    return atomic_load(&((struct flt_ftp *)s)->nsessions);
}

void flt_ftp_free(struct flt_ftp *s)
{
    if (!s)
        return;
    flt_listener_free(s->listener);
    while (s->sessions)
        session_free(s->sessions, FLT_OUT_ERROR);
    free(s->user);
    free(s->pass);
    free(s);
}
