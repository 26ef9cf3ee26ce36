/*
 * link: a SOCKS5 proxy (RFC 1928, CONNECT, no authentication) that enforces
 * the simulated network on every byte. Everything runs on the caller's event
 * loop; no function here is thread-safe (the harness calls them on the loop
 * thread, or before the loop runs).
 *
 * Connections. Each accepted client is numbered (1-based, in accept order,
 * whatever happens to it later: that is the k of sim_link_at_conn_bytes). It
 * goes through these states:
 *   C_HANDSHAKE  greeting and request read into a small buffer; the whole
 *                handshake must be done within HANDSHAKE_MS of simulated time;
 *   C_DELAY      a CONNECT accepted, waiting connect_delay_ms plus one round
 *                trip (2 x latency: the TCP handshake to the target);
 *   C_CONNECTING non-blocking connect to the target (at most CONNECT_MS);
 *   C_RELAY      answered with reply 0 and the bound address; bytes flow;
 *   C_HELD       a CONNECT that arrived while the network was black-holed:
 *                never answered;
 *   C_BLACKHOLED live when the network was black-holed: nothing moves;
 *   C_RESETTING  closing with a RST once the client has received what was
 *                already written to it;
 *   C_CLOSED     sockets closed, memory kept until the reaper (a fresh loop
 *                callback) frees it, so no callback chain can touch freed
 *                memory.
 * stats.open counts every client socket the link holds, whatever its state.
 * While the link does not read the client (C_DELAY, C_CONNECTING, C_HELD,
 * C_BLACKHOLED) a sweep (every SWEEP_US of wall time) asks the kernel whether
 * the client is still there (TCP_INFO) and closes the connection once it has
 * gone, so a client that gives up never leaks a connection.
 *
 * Protocol checks. A greeting must be version 5 and offer method 0 (else
 * 05 FF and close). The request must be version 5 with RSV 0 (else reply 1),
 * CONNECT (else reply 7), ATYP 1, 3 or 4 (else reply 8); a name must be 1..255
 * printable bytes. Names resolve only through sim_link_map (a literal name
 * is taken as an address); unknown names get reply 4; address literals must
 * be loopback (else reply 2). Target refused: reply 5; unreachable or no
 * answer within CONNECT_MS: 4. Every malformed, truncated or stalled
 * handshake is a SIM_LINK_BAD_REQUEST event (BIND and UDP ASSOCIATE too);
 * refusals of a well-formed CONNECT are SIM_LINK_REFUSED. Bytes the client
 * sends after its request, before the answer, are kept and relayed.
 *
 * Relay. Each direction moves bytes with splice(2): source socket -> a pipe
 * -> destination socket. The kernel passes page references, the link never
 * copies a byte. The pipe holds the bytes "in flight"; beside it a ring of
 * segments says when each run of them is due (simulated ns). The pipe holds
 * 256 KiB, or 1 MiB while the network has latency, jitter or loss (what is in
 * flight over the latency: 1 MiB / 40 ms is 200 Mbit/s). Relay sockets have
 * TCP_NOTSENT_LOWAT (128 KiB): unsent bytes wait in the pipe, not in the
 * socket, so the kernel does not send them later in the receiver's time slice
 * (measured: the relay went from 0.6x to about 0.8x direct loopback).
 * splice() to a socket can raise SIGPIPE, so the link blocks SIGPIPE around
 * it and consumes the one it caused; the process's disposition is untouched.
 *
 * Latency, jitter, loss. Each arrival (one read from a source) is due at
 * now + latency + jitter, jitter uniform in 0..jitter_ms; order is kept per
 * direction (a segment is never due before the one ahead of it). Loss works
 * per packet: an arrival counts as ceil(len / 1460) packets; each is lost
 * with probability loss and is then delivered one retransmission timeout
 * (200 ms) late, and everything behind it with it. Jitter and loss draws are
 * a hash of (seed, connection, direction, stream offset), not a running
 * generator, so the same traffic gives the same draws whatever the timing
 * (a request/response exchange is one arrival each way: exactly reproducible).
 *
 * Bandwidth. One token bucket per direction shared by every connection,
 * refilled from the clock in simulated nanoseconds (not ms), so 64 kbit/s is
 * as accurate as 1 Gbit/s. Its depth is BURST_NS of the rate while idle; while
 * connections are waiting the depth is not applied, so a timer that fires late
 * (libevent wakes at 1 ms wall granularity, which is 10 ms simulated at scale
 * 10) releases the tokens that accrued instead of losing them: the long-run
 * rate is exact and the error is one burst per transfer. Waiting directions
 * are served round robin, a full turn each (QUANTUM bytes, or the bucket's
 * depth at low rates, or what the connection has due). Without a rate
 * (0) nothing is queued and nothing is timed. While rate-limited a pipe holds
 * at most ~0.5 s of the rate (plus latency), so memory stays bounded.
 *
 * Disconnect. With connectivity none or local:
 *   SIM_CUT_RESET: live connections stop at once; the upstream socket is
 *     closed with a RST; the client gets a RST as soon as its send queue is
 *     empty (so it has received exactly what the link had delivered); pending
 *     and held CONNECTs and new ones get reply 3 (network unreachable). A
 *     black-holed connection is reset too (a silent drop the platform then
 *     notices).
 *   SIM_CUT_BLACKHOLE: live connections keep both sockets open and nothing
 *     moves either way: the link no longer reads the client (its sends block
 *     once the buffers are full, as on a real black hole) nor the target (the
 *     target's sends block too; it sees a stalled client), and the bytes in
 *     the pipes are dropped. New CONNECTs are never answered. Black-holed
 *     connections stay dead when connectivity returns, as their bytes were
 *     lost; they end when the client leaves (or by a later RESET cut).
 * New connections work again as soon as connectivity is back.
 *
 * Metering and triggers. on_bytes gets the bytes as they are written to their
 * destination. A trigger counts bytes written to clients (the relayed bytes,
 * not SOCKS replies); a write never crosses a trigger's byte, the trigger runs
 * right after the write that reaches it and before any other byte moves, and
 * it may change the network: a RESET cut there leaves the client with exactly
 * N bytes. A trigger whose byte count is already reached fires at once.
 */
#include "link.h"
#include "units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define PIPE_FAST      (256 * 1024)  /* pipe capacity without latency: keeps the relay in cache */
#define PIPE_SLOW      (1024 * 1024) /* with latency, jitter or loss (the unprivileged maximum) */
#define NOTSENT_LOWAT  (128 * 1024)  /* unsent bytes a relay socket may hold */
#define FILL_MIN       (64 * 1024)   /* a rate-limited pipe may always hold this much */
#define HOLD_MS        500           /* ... and this long at the rate */
#define HS_MAX         1024      /* handshake buffer: greeting (257) + request (262) + early data */
#define HANDSHAKE_MS   30000     /* simulated ms to finish the handshake */
#define CONNECT_MS     30000     /* simulated ms for the target to accept */
#define RTO_MS         200       /* a lost packet arrives this late */
#define MSS            1460      /* bytes per packet for the loss draws */
#define BURST_NS       5000000LL /* bucket depth while idle: 5 ms of the rate */
#define QUANTUM        (16 * 1024) /* bytes granted per turn */
#define SWEEP_US       20000       /* wall us between client liveness checks */
#define RESET_POLL_US  1000        /* wall us between send-queue checks before a RST */
#define RESET_POLL_MAX 2000        /* checks before resetting anyway */
#define MAX_CONNS      8192        /* client sockets held at once; beyond, closed at accept */
#define NS_PER_MS      1000000LL

enum { UP = 0, DOWN = 1 };

struct seg {
    uint64_t len;
    int64_t due; /* simulated ns; 0: at once */
};

struct conn;

/* One direction of a relayed connection: src -> pipe -> dst. */
struct dir {
    struct conn *c;
    int which;    /* UP: client -> target, DOWN: target -> client */
    int src, dst; /* the connection's sockets, borrowed */
    int pr, pw;   /* the pipe, -1 when none */
    uint64_t cap; /* its capacity */
    uint64_t inpipe;
    struct seg *seg; /* ring of the bytes in the pipe */
    size_t shead, nseg, scap;
    int64_t last_due;
    uint64_t in, out; /* bytes read from src, written to dst */
    bool eof;         /* src ended */
    bool shut;        /* the end was passed on */
    bool blocked;     /* dst full: waiting for EV_WRITE */
    bool full;        /* pipe full: not reading src */
    bool queued;      /* waiting for tokens */
    struct dir *qnext, *qprev;
    struct event *rd, *wr, *timer;
    bool rd_on, wr_on;
};

enum cstate {
    C_HANDSHAKE,
    C_DELAY,
    C_CONNECTING,
    C_RELAY,
    C_HELD,
    C_BLACKHOLED,
    C_RESETTING,
    C_CLOSED
};

struct conn {
    struct sim_link *l;
    struct conn *prev, *next;
    uint64_t id;
    enum cstate st;
    int64_t delay_end_ns; /* C_DELAY: simulated time the connect starts */
    int cfd, sfd;
    bool greeted;
    bool answered; /* reply 0 was sent */
    bool reported; /* its last event was REFUSED or BAD_REQUEST: no CLOSED */
    unsigned char hs[HS_MAX];
    size_t hslen;
    char target[300];
    struct sockaddr_storage to;
    socklen_t tolen;
    struct event *hs_rd;   /* the client, during the handshake */
    struct event *conn_wr; /* the target, while connecting */
    struct event *timer;   /* handshake, delay, connect timeout, reset drain */
    int polls;
    char why[160]; /* for the CLOSED event after a reset drain */
    struct dir d[2];
};

struct bucket {
    uint64_t rate; /* bytes per simulated second, 0: unlimited */
    double tokens, burst;
    int64_t last; /* simulated ns of the last refill */
    bool waiting; /* someone was queued after the last run */
    bool running;
    struct dir *qhead, *qtail;
    struct event *timer;
};

struct trigger {
    uint64_t conn; /* 0: bytes of all connections */
    uint64_t at;
    sim_trigger_fn fn;
    void *arg;
    bool fired;
};

struct map {
    char name[256];
    uint16_t port; /* 0: any */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint16_t to_port; /* 0: the requested port */
};

struct sim_link {
    struct event_base *base;
    const struct xl_clock *clock;
    void (*on_bytes)(void *arg, uint64_t up, uint64_t down);
    void (*on_event)(void *arg, const struct sim_link_event *ev);
    void *arg;
    int lfd;
    uint16_t port;
    struct event *accept_ev, *sweep, *reaper;
    struct conn *conns, *dead;
    uint64_t next_id;
    struct sim_network net;
    enum sim_cut cut;
    bool up; /* connectivity internet */
    struct bucket bk[2];
    struct trigger *trig;
    size_t ntrig, trigcap;
    struct map *map;
    size_t nmap, mapcap;
    uint64_t down_total;
    struct sim_link_stats st;
};

static void dir_push(struct dir *d);
static void dir_after(struct dir *d);
static void bucket_run(struct sim_link *l, struct bucket *b);
static void check_triggers(struct sim_link *l, struct conn *c);

/* ---- time ---------------------------------------------------------------- */

static int64_t now_ns(const struct sim_link *l)
{
    int64_t w = xl_mono_ns();
    const struct xl_clock *c = l->clock;
    if (!c)
        return w;
    return c->sim0_ms * NS_PER_MS + (int64_t)((double)(w - c->wall0_ns) * c->scale);
}

/* The wall timeval lasting sim_ns of simulated time, rounded up. */
static struct timeval wall_tv(const struct sim_link *l, int64_t sim_ns)
{
    double scale = l->clock ? l->clock->scale : 1.0;
    if (sim_ns < 0)
        sim_ns = 0;
    int64_t us = (int64_t)((double)sim_ns / scale / 1000.0) + 1;
    struct timeval tv = {.tv_sec = (time_t)(us / 1000000), .tv_usec = (suseconds_t)(us % 1000000)};
    return tv;
}

static void timer_in(const struct sim_link *l, struct event *ev, int64_t sim_ns)
{
    struct timeval tv = wall_tv(l, sim_ns);
    evtimer_add(ev, &tv);
}

/* ---- small helpers ------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A draw for (connection, direction, stream offset, purpose) under the network's seed. */
static uint64_t draw(const struct sim_link *l, const struct dir *d, uint64_t off, uint64_t salt)
{
    uint64_t h = mix64(l->net.seed ^ 0x6c696e6bULL);
    h = mix64(h ^ d->c->id);
    h = mix64(h ^ ((uint64_t)d->which << 62) ^ salt);
    return mix64(h ^ off);
}

static double unit(uint64_t x)
{
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

static void close_rst(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static int send_all(int fd, const void *buf, size_t len)
{
    ssize_t n;
    do
        n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)len ? 0 : -1;
}

/* A SOCKS5 reply with an all-zero IPv4 bound address. */
static void send_reply(int fd, int code)
{
    unsigned char r[10] = {5, (unsigned char)code, 0, 1, 0, 0, 0, 0, 0, 0};
    (void)send_all(fd, r, sizeof r);
}

/*
 * splice() into a socket raises SIGPIPE when the peer has gone (kernel
 * splice_to_socket has no MSG_NOSIGNAL). Block it for the call and consume
 * the one this call raised, so the process's disposition does not matter.
 */
static ssize_t splice_out(int pr, int fd, size_t len)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t n;
    do
        n = splice(pr, NULL, fd, NULL, len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    while (n < 0 && errno == EINTR);
    int e = errno;
    if (n < 0 && e == EPIPE && !sigismember(&old, SIGPIPE)) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return n;
}

static void ev_set(struct event *ev, bool *on, bool want)
{
    if (!ev || *on == want)
        return;
    *on = want;
    if (want)
        event_add(ev, NULL);
    else
        event_del(ev);
}

static const char *state_name(enum cstate s)
{
    switch (s) {
    case C_HANDSHAKE:
        return "handshake";
    case C_DELAY:
        return "connect delay";
    case C_CONNECTING:
        return "connecting";
    case C_RELAY:
        return "relaying";
    case C_HELD:
        return "held";
    case C_BLACKHOLED:
        return "black-holed";
    case C_RESETTING:
        return "resetting";
    case C_CLOSED:
        return "closed";
    }
    return "?";
}

static const char *conn_name(enum sim_connectivity c)
{
    switch (c) {
    case SIM_CONN_NONE:
        return "none";
    case SIM_CONN_LOCAL:
        return "local";
    case SIM_CONN_INTERNET:
        return "internet";
    }
    return "?";
}

static void emit(struct sim_link *l, enum sim_link_event_kind kind, const struct conn *c,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void emit(struct sim_link *l, enum sim_link_event_kind kind, const struct conn *c,
                 const char *fmt, ...)
{
    if (!l->on_event)
        return;
    struct sim_link_event ev;
    memset(&ev, 0, sizeof ev);
    ev.time_ms = xl_clock_now_ms(l->clock);
    ev.kind = kind;
    if (c) {
        ev.conn = c->id;
        snprintf(ev.target, sizeof ev.target, "%s", c->target);
        ev.up = c->d[UP].out;
        ev.down = c->d[DOWN].out;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev.detail, sizeof ev.detail, fmt, ap);
    va_end(ap);
    l->on_event(l->arg, &ev);
}

/* ---- the bandwidth buckets ----------------------------------------------- */

static void bucket_refill(struct sim_link *l, struct bucket *b)
{
    int64_t now = now_ns(l);
    if (b->rate && now > b->last) {
        b->tokens += (double)(now - b->last) * (double)b->rate / 1e9;
        if ((!b->waiting || !b->qhead) && b->tokens > b->burst)
            b->tokens = b->burst;
    }
    b->last = now;
}

static void bucket_set_rate(struct sim_link *l, struct bucket *b, uint64_t rate)
{
    bucket_refill(l, b);
    if (rate == b->rate)
        return;
    bool was_unlimited = b->rate == 0;
    b->rate = rate;
    b->burst = (double)rate * (double)BURST_NS / 1e9;
    if (b->burst < 1)
        b->burst = 1;
    if (was_unlimited || b->tokens > b->burst)
        b->tokens = b->burst;
}

static void bucket_enqueue(struct bucket *b, struct dir *d)
{
    if (d->queued)
        return;
    d->queued = true;
    d->qnext = NULL;
    d->qprev = b->qtail;
    if (b->qtail)
        b->qtail->qnext = d;
    else
        b->qhead = d;
    b->qtail = d;
}

static void bucket_dequeue(struct bucket *b, struct dir *d)
{
    if (!d->queued)
        return;
    d->queued = false;
    if (d->qprev)
        d->qprev->qnext = d->qnext;
    else
        b->qhead = d->qnext;
    if (d->qnext)
        d->qnext->qprev = d->qprev;
    else
        b->qtail = d->qprev;
    d->qnext = d->qprev = NULL;
}

/* ---- segments ------------------------------------------------------------ */

static int seg_push(struct dir *d, uint64_t len, int64_t due)
{
    if (due < d->last_due)
        due = d->last_due;
    d->last_due = due;
    if (d->nseg > 0) {
        struct seg *t = &d->seg[(d->shead + d->nseg - 1) % d->scap];
        if (t->due == due) {
            t->len += len;
            return 0;
        }
    }
    if (d->nseg == d->scap) {
        size_t ncap = d->scap ? d->scap * 2 : 16;
        struct seg *ns = malloc(ncap * sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < d->nseg; i++)
            ns[i] = d->seg[(d->shead + i) % d->scap];
        free(d->seg);
        d->seg = ns;
        d->scap = ncap;
        d->shead = 0;
    }
    d->seg[(d->shead + d->nseg) % d->scap] = (struct seg){.len = len, .due = due};
    d->nseg++;
    return 0;
}

static struct seg *seg_head(struct dir *d)
{
    return d->nseg ? &d->seg[d->shead] : NULL;
}

static void seg_consume(struct dir *d, uint64_t n)
{
    struct seg *s = seg_head(d);
    s->len -= n;
    if (s->len == 0) {
        d->shead = (d->shead + 1) % d->scap;
        d->nseg--;
    }
}

/* Bytes [d->in, d->in + n) have just arrived: schedule them. */
static int add_arrival(struct dir *d, uint64_t n)
{
    struct sim_link *l = d->c->l;
    const struct sim_network *net = &l->net;
    int64_t due = 0;
    uint64_t split = n; /* bytes before the first lost packet */
    if (net->latency_ms > 0 || net->jitter_ms > 0 || net->loss > 0) {
        due = now_ns(l) + (net->latency_ms > 0 ? net->latency_ms * NS_PER_MS : 0);
        if (net->jitter_ms > 0)
            due += (int64_t)(draw(l, d, d->in, 1) % (uint64_t)(net->jitter_ms * NS_PER_MS + 1));
        if (net->loss > 0)
            for (uint64_t off = 0; off < n; off += MSS)
                if (unit(draw(l, d, d->in + off, 2)) < net->loss) {
                    split = off;
                    break;
                }
    }
    d->in += n;
    d->inpipe += n;
    if (split > 0 && seg_push(d, split, due) < 0)
        return -1;
    if (split < n && seg_push(d, n - split, due + RTO_MS * NS_PER_MS) < 0)
        return -1;
    return 0;
}

/* ---- connections: ending --------------------------------------------------- */

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    struct sim_link *l = arg;
    (void)fd;
    (void)what;
    while (l->dead) {
        struct conn *c = l->dead;
        l->dead = c->next;
        free(c);
    }
}

static void dir_close(struct dir *d)
{
    if (d->c)
        bucket_dequeue(&d->c->l->bk[d->which], d);
    if (d->rd)
        event_free(d->rd);
    if (d->wr)
        event_free(d->wr);
    if (d->timer)
        event_free(d->timer);
    d->rd = d->wr = d->timer = NULL;
    d->rd_on = d->wr_on = false;
    if (d->pr >= 0)
        close(d->pr);
    if (d->pw >= 0)
        close(d->pw);
    d->pr = d->pw = -1;
    free(d->seg);
    d->seg = NULL;
    d->nseg = d->scap = d->shead = 0;
    d->inpipe = 0;
}

static void conn_events_free(struct conn *c)
{
    if (c->hs_rd)
        event_free(c->hs_rd);
    if (c->conn_wr)
        event_free(c->conn_wr);
    c->hs_rd = c->conn_wr = NULL;
}

/* Close both sockets (with a RST if rst) and hand the memory to the reaper. */
static void conn_close(struct conn *c, bool rst, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_close(struct conn *c, bool rst, const char *fmt, ...)
{
    struct sim_link *l = c->l;
    if (c->st == C_CLOSED)
        return;
    c->st = C_CLOSED;
    dir_close(&c->d[UP]);
    dir_close(&c->d[DOWN]);
    conn_events_free(c);
    if (c->timer)
        event_free(c->timer);
    c->timer = NULL;
    if (c->sfd >= 0) {
        if (rst)
            close_rst(c->sfd);
        else
            close(c->sfd);
    }
    if (c->cfd >= 0) {
        if (rst)
            close_rst(c->cfd);
        else
            close(c->cfd);
    }
    c->sfd = c->cfd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = NULL;
    c->next = l->dead;
    l->dead = c;
    event_active(l->reaper, EV_TIMEOUT, 0);
    l->st.open--;
    if (!c->reported) {
        char why[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        emit(l, SIM_LINK_CLOSED, c, "%s", why);
    }
}

/* A well-formed CONNECT the link will not serve: reply code, then close. */
static void conn_refuse(struct conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_refuse(struct conn *c, int code, const char *fmt, ...)
{
    char why[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    send_reply(c->cfd, code);
    c->l->st.refused++;
    c->reported = true;
    emit(c->l, SIM_LINK_REFUSED, c, "reply %d: %s", code, why);
    conn_close(c, false, "refused");
}

#define BAD_METHOD 0xff /* conn_bad: answer the greeting with 05 FF */

/* A malformed request: an optional reply (-1: none), then close. */
static void conn_bad(struct conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_bad(struct conn *c, int code, const char *fmt, ...)
{
    char why[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (code == BAD_METHOD) {
        static const unsigned char no[2] = {5, 0xff};
        (void)send_all(c->cfd, no, sizeof no);
    } else if (code >= 0) {
        send_reply(c->cfd, code);
    }
    c->reported = true;
    emit(c->l, SIM_LINK_BAD_REQUEST, c, "%s", why);
    xl_log(XL_LOG_INFO, "link", "connection %llu: bad request: %s", (unsigned long long)c->id, why);
    conn_close(c, false, "bad request");
}

static void reset_poll(struct conn *c)
{
    int q = 0;
    if (c->polls++ < RESET_POLL_MAX && ioctl(c->cfd, SIOCOUTQ, &q) == 0 && q > 0) {
        struct timeval tv = {0, RESET_POLL_US};
        evtimer_add(c->timer, &tv);
        return;
    }
    conn_close(c, true, "%s", c->why);
}

/*
 * End a relayed (or black-holed) connection abruptly: nothing moves any more,
 * the target gets a RST now, the client once it holds every byte already
 * written to it.
 */
static void conn_abort(struct conn *c, const char *why)
{
    if (c->st == C_CLOSED || c->st == C_RESETTING)
        return;
    snprintf(c->why, sizeof c->why, "%s", why);
    dir_close(&c->d[UP]);
    dir_close(&c->d[DOWN]);
    conn_events_free(c);
    if (c->sfd >= 0)
        close_rst(c->sfd);
    c->sfd = -1;
    c->st = C_RESETTING;
    c->polls = 0;
    evtimer_del(c->timer);
    reset_poll(c);
}

static void sweep_arm(struct sim_link *l)
{
    if (!evtimer_pending(l->sweep, NULL)) {
        struct timeval tv = {0, SWEEP_US};
        evtimer_add(l->sweep, &tv);
    }
}

/* A CONNECT black-holed: never answered. */
static void conn_hold(struct conn *c)
{
    evtimer_del(c->timer);
    conn_events_free(c);
    if (c->sfd >= 0)
        close(c->sfd);
    c->sfd = -1;
    c->st = C_HELD;
    emit(c->l, SIM_LINK_BLACKHOLED, c, "CONNECT never answered (connectivity %s)",
         conn_name(c->l->net.connectivity));
    sweep_arm(c->l);
}

static void conn_blackhole(struct conn *c)
{
    dir_close(&c->d[UP]);
    dir_close(&c->d[DOWN]);
    c->st = C_BLACKHOLED;
    emit(c->l, SIM_LINK_BLACKHOLED, c, "bytes stop silently (connectivity %s)",
         conn_name(c->l->net.connectivity));
    sweep_arm(c->l);
}

static bool client_alive(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return false;
    return ti.tcpi_state == TCP_ESTABLISHED;
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct sim_link *l = arg;
    (void)fd;
    (void)what;
    bool again = false;
    for (struct conn *c = l->conns, *next; c; c = next) {
        next = c->next;
        switch (c->st) {
        case C_DELAY:
        case C_CONNECTING:
        case C_HELD:
        case C_BLACKHOLED:
            if (client_alive(c->cfd))
                again = true;
            else
                conn_close(c, false, "the client left while %s", state_name(c->st));
            break;
        case C_HANDSHAKE:
        case C_RELAY:
        case C_RESETTING:
        case C_CLOSED:
            break;
        }
    }
    if (again)
        sweep_arm(l);
}

/* ---- relay ------------------------------------------------------------------ */

static uint64_t fill_limit(const struct dir *d)
{
    const struct sim_link *l = d->c->l;
    uint64_t rate = l->bk[d->which].rate;
    if (!rate)
        return d->cap;
    int64_t hold_ms = HOLD_MS + (l->net.latency_ms > 0 ? l->net.latency_ms : 0) +
                      (l->net.jitter_ms > 0 ? l->net.jitter_ms : 0) +
                      (l->net.loss > 0 ? RTO_MS : 0);
    uint64_t lim = rate / 1000 * (uint64_t)hold_ms;
    if (lim < FILL_MIN)
        lim = FILL_MIN;
    return lim < d->cap ? lim : d->cap;
}

/* Read what the source has into the pipe (one splice). */
static void dir_fill(struct dir *d)
{
    struct conn *c = d->c;
    if (c->st != C_RELAY || d->eof)
        return;
    uint64_t lim = fill_limit(d);
    if (d->inpipe >= lim) {
        d->full = true;
        ev_set(d->rd, &d->rd_on, false);
        return;
    }
    ssize_t n;
    do
        n = splice(d->src, NULL, d->pw, NULL, (size_t)(lim - d->inpipe),
                   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        if (add_arrival(d, (uint64_t)n) < 0) {
            conn_close(c, true, "out of memory");
            return;
        }
        bool full = d->inpipe >= lim;
        d->full = full;
        ev_set(d->rd, &d->rd_on, !full);
        return;
    }
    if (n == 0) {
        d->eof = true;
        ev_set(d->rd, &d->rd_on, false);
        return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        /* Either the socket is empty or the pipe has no free slot. */
        int avail = 0;
        if (d->inpipe > 0 && ioctl(d->src, FIONREAD, &avail) == 0 && avail > 0) {
            d->full = true;
            ev_set(d->rd, &d->rd_on, false);
        } else {
            ev_set(d->rd, &d->rd_on, true);
        }
        return;
    }
    if (d->which == UP) {
        conn_close(c, true, "the client reset the connection (%s)", strerror(errno));
        return;
    }
    /* The target reset: deliver what came before, then reset the client. */
    snprintf(c->why, sizeof c->why, "the target reset the connection (%s)", strerror(errno));
    d->eof = true;
    ev_set(d->rd, &d->rd_on, false);
    c->d[UP].eof = true; /* nothing more goes up */
    ev_set(c->d[UP].rd, &c->d[UP].rd_on, false);
}

static uint64_t trigger_room(const struct sim_link *l, const struct conn *c)
{
    uint64_t room = UINT64_MAX;
    for (size_t i = 0; i < l->ntrig; i++) {
        const struct trigger *t = &l->trig[i];
        if (t->fired)
            continue;
        if (t->conn == 0 && t->at > l->down_total && t->at - l->down_total < room)
            room = t->at - l->down_total;
        else if (t->conn == c->id && t->at > c->d[DOWN].out && t->at - c->d[DOWN].out < room)
            room = t->at - c->d[DOWN].out;
    }
    return room;
}

static void account(struct sim_link *l, struct dir *d, uint64_t n)
{
    d->out += n;
    if (d->which == DOWN) {
        l->down_total += n;
        l->st.down += n;
    } else {
        l->st.up += n;
    }
    if (l->on_bytes)
        l->on_bytes(l->arg, d->which == UP ? n : 0, d->which == DOWN ? n : 0);
}

static void dir_dst_error(struct dir *d, int err)
{
    struct conn *c = d->c;
    if (d->which == DOWN) {
        conn_close(c, true, "the client went away (%s)", strerror(err));
    } else {
        char why[160];
        snprintf(why, sizeof why, "the target went away (%s)", strerror(err));
        conn_abort(c, why);
    }
}

/*
 * Write up to max due bytes to the destination; returns how many. Stops at a
 * trigger's byte (and runs the trigger), when the destination is full, or
 * when the connection leaves C_RELAY.
 */
static uint64_t dir_send(struct dir *d, uint64_t max)
{
    struct conn *c = d->c;
    struct sim_link *l = c->l;
    uint64_t sent = 0;
    int64_t now = now_ns(l);
    while (sent < max && c->st == C_RELAY && !d->blocked && d->nseg > 0) {
        struct seg *s = seg_head(d);
        if (s->due > now)
            break;
        uint64_t want = s->len < max - sent ? s->len : max - sent;
        if (d->which == DOWN) {
            uint64_t room = trigger_room(l, c);
            if (want > room)
                want = room;
        }
        ssize_t n = splice_out(d->pr, d->dst, (size_t)want);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                d->blocked = true;
                ev_set(d->wr, &d->wr_on, true);
            } else {
                dir_dst_error(d, errno);
            }
            break;
        }
        if (n == 0)
            break;
        seg_consume(d, (uint64_t)n);
        d->inpipe -= (uint64_t)n;
        sent += (uint64_t)n;
        account(l, d, (uint64_t)n);
        if (d->full && !d->eof) {
            d->full = false;
            ev_set(d->rd, &d->rd_on, true);
        }
        if ((uint64_t)n < want) {
            d->blocked = true;
            ev_set(d->wr, &d->wr_on, true);
        }
        if (d->which == DOWN)
            check_triggers(l, c);
    }
    return sent;
}

static bool head_due(struct dir *d, int64_t now)
{
    struct seg *s = seg_head(d);
    return s && s->due <= now;
}

/* The source ended and everything was delivered: pass the end on. */
static void dir_finish(struct dir *d)
{
    struct conn *c = d->c;
    if (d->shut)
        return;
    d->shut = true;
    if (d->which == DOWN && c->why[0]) {
        char why[160];
        snprintf(why, sizeof why, "%s", c->why);
        conn_abort(c, why);
        return;
    }
    shutdown(d->dst, SHUT_WR);
    if (c->d[UP].shut && c->d[DOWN].shut)
        conn_close(c, false, "closed (%llu bytes up, %llu down)", (unsigned long long)c->d[UP].out,
                   (unsigned long long)c->d[DOWN].out);
}

/* After a send: wait for the next due segment, or pass the end on. */
static void dir_after(struct dir *d)
{
    struct conn *c = d->c;
    if (c->st != C_RELAY || d->blocked || d->queued)
        return;
    struct seg *s = seg_head(d);
    if (!s) {
        if (d->eof)
            dir_finish(d);
        return;
    }
    int64_t now = now_ns(c->l);
    timer_in(c->l, d->timer, s->due > now ? s->due - now : NS_PER_MS);
}

static void dir_push(struct dir *d)
{
    struct conn *c = d->c;
    struct sim_link *l = c->l;
    if (c->st != C_RELAY || d->blocked || d->queued)
        return;
    if (head_due(d, now_ns(l))) {
        struct bucket *b = &l->bk[d->which];
        if (b->rate) {
            bucket_refill(l, b);
            bucket_enqueue(b, d);
            bucket_run(l, b);
            return;
        }
        dir_send(d, UINT64_MAX);
    }
    dir_after(d);
}

/*
 * What the head of the queue needs before its turn: a full turn (QUANTUM, or
 * the bucket's depth at low rates), or less if it has less due. Handing out
 * leftovers smaller than a turn would send a connection to the back of the
 * queue with less than its share.
 */
static double turn_need(const struct bucket *b, struct dir *d)
{
    double q = b->burst < QUANTUM ? b->burst : QUANTUM;
    struct seg *s = seg_head(d);
    if (s && (double)s->len < q)
        q = (double)s->len;
    return q < 1 ? 1 : q;
}

static void bucket_run(struct sim_link *l, struct bucket *b)
{
    if (b->running)
        return;
    b->running = true;
    bucket_refill(l, b);
    while (b->qhead) {
        struct dir *d = b->qhead;
        uint64_t grant = UINT64_MAX;
        if (b->rate) {
            if (b->tokens < turn_need(b, d))
                break;
            double q = b->burst < QUANTUM ? b->burst : QUANTUM;
            grant = (uint64_t)(b->tokens < q ? b->tokens : q);
        }
        bucket_dequeue(b, d);
        uint64_t sent = dir_send(d, grant);
        if (b->rate)
            b->tokens -= (double)sent;
        if (sent > 0 && d->c->st == C_RELAY && !d->blocked && head_due(d, now_ns(l)))
            bucket_enqueue(b, d);
        else
            dir_after(d);
    }
    if (b->qhead && b->rate) {
        double want = turn_need(b, b->qhead) - b->tokens;
        if (want < 1)
            want = 1;
        timer_in(l, b->timer, (int64_t)(want * 1e9 / (double)b->rate) + 1);
    }
    b->waiting = b->qhead != NULL;
    b->running = false;
}

static void on_bucket(evutil_socket_t fd, short what, void *arg)
{
    struct bucket *b = arg;
    (void)fd;
    (void)what;
    struct sim_link *l = b->qhead ? b->qhead->c->l : NULL;
    if (l)
        bucket_run(l, b);
}

static void on_dir_read(evutil_socket_t fd, short what, void *arg)
{
    struct dir *d = arg;
    (void)fd;
    (void)what;
    dir_fill(d);
    dir_push(d);
}

static void on_dir_write(evutil_socket_t fd, short what, void *arg)
{
    struct dir *d = arg;
    (void)fd;
    (void)what;
    d->blocked = false;
    ev_set(d->wr, &d->wr_on, false);
    dir_push(d);
    /* The pipe may have room again; reading resumes through dir_send. */
}

static void on_dir_due(evutil_socket_t fd, short what, void *arg)
{
    struct dir *d = arg;
    (void)fd;
    (void)what;
    dir_push(d);
}

/*
 * Pipe capacity: without delay impairments a small pipe keeps the relayed
 * pages in cache; latency needs room for the bytes in flight (capacity /
 * latency bounds the rate). A pipe holding more than the new size keeps its
 * old one (EBUSY); so does one the user's pipe quota refuses (EPERM).
 */
static void dir_resize(struct dir *d)
{
    const struct sim_network *n = &d->c->l->net;
    int want = n->latency_ms > 0 || n->jitter_ms > 0 || n->loss > 0 ? PIPE_SLOW : PIPE_FAST;
    if (d->pw < 0 || d->cap == (uint64_t)want)
        return;
    int got = fcntl(d->pw, F_SETPIPE_SZ, want);
    if (got < 0)
        got = fcntl(d->pw, F_GETPIPE_SZ);
    d->cap = got > 0 ? (uint64_t)got : 65536;
}

static int dir_open(struct dir *d, struct conn *c, int which, int src, int dst)
{
    struct event_base *base = c->l->base;
    int p[2];
    d->c = c;
    d->which = which;
    d->src = src;
    d->dst = dst;
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    d->pr = p[0];
    d->pw = p[1];
    d->cap = 0;
    dir_resize(d);
    d->rd = event_new(base, src, EV_READ | EV_PERSIST, on_dir_read, d);
    d->wr = event_new(base, dst, EV_WRITE | EV_PERSIST, on_dir_write, d);
    d->timer = evtimer_new(base, on_dir_due, d);
    return d->rd && d->wr && d->timer ? 0 : -1;
}

/* ---- connections: the SOCKS side -------------------------------------------- */

static int reply_for(int err)
{
    switch (err) {
    case ECONNREFUSED:
        return 5;
    case ENETUNREACH:
        return 3;
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ETIMEDOUT:
        return 4;
    default:
        return 1;
    }
}

/* The network is down: refuse (reset) or never answer (black hole). */
static void refuse_down(struct conn *c)
{
    if (c->l->cut == SIM_CUT_RESET)
        conn_refuse(c, 3, "network unreachable (connectivity %s)",
                    conn_name(c->l->net.connectivity));
    else
        conn_hold(c);
}

static void answer(struct conn *c)
{
    struct sim_link *l = c->l;
    struct sockaddr_storage b;
    socklen_t bl = sizeof b;
    unsigned char r[22] = {5, 0, 0, 1};
    size_t rl = 10;
    memset(&b, 0, sizeof b);
    getsockname(c->sfd, (struct sockaddr *)&b, &bl);
    if (b.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&b;
        r[3] = 4;
        memcpy(r + 4, &s6->sin6_addr, 16);
        memcpy(r + 20, &s6->sin6_port, 2);
        rl = 22;
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&b;
        memcpy(r + 4, &s4->sin_addr, 4);
        memcpy(r + 8, &s4->sin_port, 2);
    }
    evtimer_del(c->timer);
    conn_events_free(c);
    if (dir_open(&c->d[UP], c, UP, c->cfd, c->sfd) < 0 ||
        dir_open(&c->d[DOWN], c, DOWN, c->sfd, c->cfd) < 0) {
        conn_refuse(c, 1, "out of pipes or memory");
        return;
    }
    if (send_all(c->cfd, r, rl) < 0) {
        conn_close(c, true, "the client left before the answer");
        return;
    }
    /* A relay socket holds at most NOTSENT_LOWAT unsent bytes; the rest waits in the
     * pipe. Else the kernel sends the excess when the peer acknowledges, in the
     * peer's time slice (on loopback the receiver pays for the link's sends). */
    int lowat = NOTSENT_LOWAT;
    setsockopt(c->cfd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
    setsockopt(c->sfd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
    c->st = C_RELAY;
    c->answered = true;
    l->st.connections++;
    char to[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (c->to.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&c->to)->sin6_addr, to, sizeof to);
        port = ntohs(((struct sockaddr_in6 *)&c->to)->sin6_port);
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&c->to)->sin_addr, to, sizeof to);
        port = ntohs(((struct sockaddr_in *)&c->to)->sin_port);
    }
    emit(l, SIM_LINK_OPEN, c, "to %s:%u", to, (unsigned)port);
    if (c->st != C_RELAY)
        return;
    if (c->hslen > 0) {
        /* Bytes the client sent ahead of the answer go up first. */
        ssize_t n = write(c->d[UP].pw, c->hs, c->hslen);
        if (n != (ssize_t)c->hslen || add_arrival(&c->d[UP], (uint64_t)n) < 0) {
            conn_close(c, true, "cannot keep early data");
            return;
        }
        c->hslen = 0;
    }
    ev_set(c->d[UP].rd, &c->d[UP].rd_on, true);
    ev_set(c->d[DOWN].rd, &c->d[DOWN].rd_on, true);
    check_triggers(l, c); /* a trigger at byte 0 of this connection */
    dir_push(&c->d[UP]);
}

static void on_connected(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    int err = 0;
    socklen_t len = sizeof err;
    (void)what;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        conn_refuse(c, reply_for(err), "connect: %s", strerror(err));
        return;
    }
    answer(c);
}

static void connect_start(struct conn *c)
{
    struct sim_link *l = c->l;
    if (!l->up) {
        refuse_down(c);
        return;
    }
    int fd = socket(c->to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        conn_refuse(c, 1, "socket: %s", strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->sfd = fd;
    if (connect(fd, (struct sockaddr *)&c->to, c->tolen) == 0) {
        answer(c);
        return;
    }
    if (errno != EINPROGRESS) {
        int e = errno;
        conn_refuse(c, reply_for(e), "connect: %s", strerror(e));
        return;
    }
    c->st = C_CONNECTING;
    c->conn_wr = event_new(l->base, fd, EV_WRITE, on_connected, c);
    if (!c->conn_wr || event_add(c->conn_wr, NULL) < 0) {
        conn_refuse(c, 1, "out of memory");
        return;
    }
    timer_in(l, c->timer, (int64_t)CONNECT_MS * NS_PER_MS);
    sweep_arm(l);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a))
        return true;
    return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
}

static int parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        *len = sizeof *in4;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        *len = sizeof *in6;
        return 0;
    }
    return -1;
}

static const struct map *lookup(const struct sim_link *l, const char *name, uint16_t port)
{
    const struct map *any = NULL;
    for (size_t i = 0; i < l->nmap; i++) {
        const struct map *m = &l->map[i];
        if (strcasecmp(m->name, name) != 0)
            continue;
        if (m->port == port)
            return m;
        if (m->port == 0)
            any = m;
    }
    return any;
}

/* A complete CONNECT request: ATYP 1 or 4 (addr bytes) or 3 (name). */
static void request(struct conn *c, int atyp, const unsigned char *a, size_t alen, uint16_t port)
{
    struct sim_link *l = c->l;
    char name[256];
    bool literal = atyp != 3;
    memset(&c->to, 0, sizeof c->to);
    if (atyp == 1) {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&c->to;
        in4->sin_family = AF_INET;
        memcpy(&in4->sin_addr, a, 4);
        c->tolen = sizeof *in4;
        inet_ntop(AF_INET, a, name, sizeof name);
        snprintf(c->target, sizeof c->target, "%s:%u", name, (unsigned)port);
    } else if (atyp == 4) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&c->to;
        in6->sin6_family = AF_INET6;
        memcpy(&in6->sin6_addr, a, 16);
        c->tolen = sizeof *in6;
        inet_ntop(AF_INET6, a, name, sizeof name);
        snprintf(c->target, sizeof c->target, "[%s]:%u", name, (unsigned)port);
    } else {
        memcpy(name, a, alen);
        name[alen] = '\0';
        snprintf(c->target, sizeof c->target, "%s:%u", name, (unsigned)port);
        for (size_t i = 0; i < alen; i++)
            if (a[i] <= 0x20 || a[i] >= 0x7f) {
                conn_bad(c, 1, "name with a byte 0x%02x", a[i]);
                return;
            }
    }
    if (!l->up) {
        refuse_down(c);
        return;
    }
    uint16_t to_port = port;
    if (!literal) {
        const struct map *m = lookup(l, name, port);
        if (m) {
            c->to = m->addr;
            c->tolen = m->addrlen;
            if (m->to_port)
                to_port = m->to_port;
        } else if (parse_addr(name, &c->to, &c->tolen) == 0) {
            literal = true;
        } else {
            conn_refuse(c, 4, "unknown host %s", name);
            return;
        }
    }
    if (literal && !is_loopback(&c->to)) {
        conn_refuse(c, 2, "%s is not a loopback address", name);
        return;
    }
    set_port(&c->to, to_port);
    if (l->net.connect_delay_ms >= INT64_MAX / NS_PER_MS / 4) { /* forever, or as good as */
        c->st = C_DELAY; /* never answered; only the client's giving up ends it */
        c->delay_end_ns = INT64_MAX;
        sweep_arm(l);
        return;
    }
    int64_t delay_ms = (l->net.connect_delay_ms > 0 ? l->net.connect_delay_ms : 0) +
                       2 * (l->net.latency_ms > 0 ? l->net.latency_ms : 0);
    if (delay_ms > 0) {
        c->st = C_DELAY;
        c->delay_end_ns = now_ns(l) + delay_ms * NS_PER_MS;
        timer_in(l, c->timer, delay_ms * NS_PER_MS);
        sweep_arm(l);
        return;
    }
    connect_start(c);
}

static void consume_hs(struct conn *c, size_t n)
{
    memmove(c->hs, c->hs + n, c->hslen - n);
    c->hslen -= n;
}

static void hs_parse(struct conn *c)
{
    if (!c->greeted) {
        if (c->hslen >= 1 && c->hs[0] != 5) {
            conn_bad(c, -1, "greeting: version %u, not 5", c->hs[0]);
            return;
        }
        if (c->hslen < 2)
            return;
        size_t nm = c->hs[1];
        if (nm == 0) {
            conn_bad(c, BAD_METHOD, "greeting offers no method");
            return;
        }
        if (c->hslen < 2 + nm)
            return;
        if (!memchr(c->hs + 2, 0, nm)) {
            conn_bad(c, BAD_METHOD, "greeting does not offer method 0 (no authentication)");
            return;
        }
        static const unsigned char ok[2] = {5, 0};
        if (send_all(c->cfd, ok, sizeof ok) < 0) {
            conn_bad(c, -1, "the client left during the greeting");
            return;
        }
        consume_hs(c, 2 + nm);
        c->greeted = true;
    }
    const unsigned char *h = c->hs;
    if (c->hslen >= 1 && h[0] != 5) {
        conn_bad(c, -1, "request: version %u, not 5", h[0]);
        return;
    }
    if (c->hslen >= 2 && h[1] != 1) {
        conn_bad(c, 7, "command %u not supported (CONNECT only)", h[1]);
        return;
    }
    if (c->hslen >= 3 && h[2] != 0) {
        conn_bad(c, 1, "request: reserved byte %u", h[2]);
        return;
    }
    if (c->hslen < 4)
        return;
    size_t need;
    switch (h[3]) {
    case 1:
        need = 4 + 4 + 2;
        break;
    case 4:
        need = 4 + 16 + 2;
        break;
    case 3:
        if (c->hslen < 5)
            return;
        if (h[4] == 0) {
            conn_bad(c, 1, "request: empty name");
            return;
        }
        need = 5 + (size_t)h[4] + 2;
        break;
    default:
        conn_bad(c, 8, "address type %u not supported", h[3]);
        return;
    }
    if (c->hslen < need)
        return;
    unsigned char addr[256];
    size_t alen = h[3] == 3 ? h[4] : need - 6;
    memcpy(addr, h + (h[3] == 3 ? 5 : 4), alen);
    uint16_t port = (uint16_t)(h[need - 2] << 8 | h[need - 1]);
    int atyp = h[3];
    consume_hs(c, need);
    /* The handshake is over: stop reading the client until the answer. */
    if (c->hs_rd)
        event_free(c->hs_rd);
    c->hs_rd = NULL;
    evtimer_del(c->timer);
    request(c, atyp, addr, alen, port);
}

static void on_hs_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)what;
    if (c->hslen >= HS_MAX) {
        conn_bad(c, -1, "handshake too long");
        return;
    }
    ssize_t n = recv(fd, c->hs + c->hslen, HS_MAX - c->hslen, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        if (n == 0 && c->hslen == 0 && !c->greeted)
            conn_bad(c, -1, "closed before a greeting");
        else
            conn_bad(c, -1, "%s during the handshake (%zu bytes pending)",
                     n == 0 ? "closed" : strerror(errno), c->hslen);
        return;
    }
    c->hslen += (size_t)n;
    hs_parse(c);
}

static void on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)fd;
    (void)what;
    switch (c->st) {
    case C_HANDSHAKE:
        conn_bad(c, -1, "handshake not finished within %d s (%zu bytes pending)",
                 HANDSHAKE_MS / 1000, c->hslen);
        break;
    case C_DELAY:
        connect_start(c);
        break;
    case C_CONNECTING:
        conn_refuse(c, 4, "the target did not accept within %d s", CONNECT_MS / 1000);
        break;
    case C_RESETTING:
        reset_poll(c);
        break;
    case C_RELAY:
    case C_HELD:
    case C_BLACKHOLED:
    case C_CLOSED:
        break;
    }
}

static void conn_new(struct sim_link *l, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->l = l;
    c->id = ++l->next_id;
    c->st = C_HANDSHAKE;
    c->cfd = fd;
    c->sfd = -1;
    for (int i = 0; i < 2; i++)
        c->d[i].pr = c->d[i].pw = -1;
    c->hs_rd = event_new(l->base, fd, EV_READ | EV_PERSIST, on_hs_read, c);
    c->timer = evtimer_new(l->base, on_conn_timer, c);
    if (!c->hs_rd || !c->timer || event_add(c->hs_rd, NULL) < 0) {
        if (c->hs_rd)
            event_free(c->hs_rd);
        if (c->timer)
            event_free(c->timer);
        free(c);
        close(fd);
        return;
    }
    timer_in(l, c->timer, (int64_t)HANDSHAKE_MS * NS_PER_MS);
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    l->st.open++;
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
    struct sim_link *l = arg;
    (void)what;
    for (int burst = 0; burst < 64; burst++) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                xl_log(XL_LOG_WARN, "link", "accept: %s", strerror(errno));
            return;
        }
        if (l->st.open >= MAX_CONNS) {
            xl_log(XL_LOG_WARN, "link", "%d connections open: closing a new one", MAX_CONNS);
            close(c);
            continue;
        }
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn_new(l, c);
    }
}

/* ---- triggers ------------------------------------------------------------- */

static bool trigger_hit(const struct sim_link *l, const struct trigger *t, const struct conn *c)
{
    if (t->conn == 0)
        return l->down_total >= t->at;
    return c && c->answered && t->conn == c->id && c->d[DOWN].out >= t->at;
}

/* Run every trigger whose byte was reached (c: the connection that moved, or NULL). */
static void check_triggers(struct sim_link *l, struct conn *c)
{
    for (size_t i = 0; i < l->ntrig; i++) {
        struct trigger *t = &l->trig[i];
        if (t->fired || !trigger_hit(l, t, c))
            continue;
        t->fired = true;
        sim_trigger_fn fn = t->fn;
        void *arg = t->arg;
        uint64_t at = t->at, conn = t->conn;
        if (conn)
            emit(l, SIM_LINK_TRIGGER, c, "trigger %zu: %llu bytes of connection %llu", i + 1,
                 (unsigned long long)at, (unsigned long long)conn);
        else
            emit(l, SIM_LINK_TRIGGER, c, "trigger %zu: %llu bytes through the link", i + 1,
                 (unsigned long long)at);
        fn(arg, c ? c->id : 0, at); /* may add triggers: l->trig is read afresh */
    }
}

static int trigger_add(struct sim_link *l, uint64_t conn, uint64_t n, sim_trigger_fn fn, void *arg)
{
    if (!fn)
        return -1;
    if (l->ntrig == l->trigcap) {
        size_t ncap = l->trigcap ? l->trigcap * 2 : 8;
        struct trigger *nt = realloc(l->trig, ncap * sizeof *nt);
        if (!nt)
            return -1;
        l->trig = nt;
        l->trigcap = ncap;
    }
    l->trig[l->ntrig++] = (struct trigger){.conn = conn, .at = n, .fn = fn, .arg = arg};
    int id = (int)l->ntrig;
    struct conn *c = NULL;
    for (struct conn *k = l->conns; k && conn; k = k->next)
        if (k->id == conn)
            c = k;
    if (trigger_hit(l, &l->trig[id - 1], c))
        check_triggers(l, c);
    return id;
}

int sim_link_at_bytes(struct sim_link *l, uint64_t n, sim_trigger_fn fn, void *arg)
{
    return trigger_add(l, 0, n, fn, arg);
}

int sim_link_at_conn_bytes(struct sim_link *l, uint64_t k, uint64_t n, sim_trigger_fn fn, void *arg)
{
    if (k == 0)
        return -1;
    return trigger_add(l, k, n, fn, arg);
}

/* ---- the public interface ---------------------------------------------------- */

struct sim_link *sim_link_new(struct event_base *base, const struct sim_link_config *cfg, char *err,
                              size_t errlen)
{
    struct sim_link *l = calloc(1, sizeof *l);
    const char *addr = cfg && cfg->addr ? cfg->addr : "127.0.0.1";
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->base = base;
    l->lfd = -1;
    if (cfg) {
        l->clock = cfg->clock;
        l->on_bytes = cfg->on_bytes;
        l->on_event = cfg->on_event;
        l->arg = cfg->arg;
    }
    l->net.connectivity = SIM_CONN_INTERNET;
    l->net.type = SIM_NET_ETHERNET;
    l->net.cost = SIM_COST_UNRESTRICTED;
    l->up = true;
    l->cut = SIM_CUT_RESET;
    if (parse_addr(addr, &ss, &sl) < 0) {
        snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", addr);
        goto fail;
    }
    set_port(&ss, cfg ? cfg->port : 0);
    l->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (l->lfd < 0)
        goto fail_errno;
    setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(l->lfd, 1024) < 0)
        goto fail_errno;
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    getsockname(l->lfd, (struct sockaddr *)&got, &gl);
    l->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                              : ((struct sockaddr_in *)&got)->sin_port);
    l->accept_ev = event_new(base, l->lfd, EV_READ | EV_PERSIST, on_accept, l);
    l->sweep = evtimer_new(base, on_sweep, l);
    l->reaper = event_new(base, -1, 0, on_reap, l);
    for (int i = 0; i < 2; i++) {
        l->bk[i].timer = evtimer_new(base, on_bucket, &l->bk[i]);
        l->bk[i].last = now_ns(l);
    }
    if (!l->accept_ev || !l->sweep || !l->reaper || !l->bk[0].timer || !l->bk[1].timer ||
        event_add(l->accept_ev, NULL) < 0) {
        snprintf(err, errlen, "cannot set up the link's events");
        goto fail;
    }
    return l;
fail_errno:
    snprintf(err, errlen, "listen on %s port %u: %s", addr, (unsigned)(cfg ? cfg->port : 0),
             strerror(errno));
fail:
    sim_link_free(l);
    return NULL;
}

void sim_link_free(struct sim_link *l)
{
    if (!l)
        return;
    while (l->conns)
        conn_close(l->conns, true, "the link was freed");
    if (l->accept_ev)
        event_free(l->accept_ev);
    if (l->sweep)
        event_free(l->sweep);
    if (l->reaper)
        event_free(l->reaper);
    for (int i = 0; i < 2; i++)
        if (l->bk[i].timer)
            event_free(l->bk[i].timer);
    on_reap(-1, 0, l);
    if (l->lfd >= 0)
        close(l->lfd);
    free(l->trig);
    free(l->map);
    free(l);
}

uint16_t sim_link_port(const struct sim_link *l)
{
    return l->port;
}

int sim_link_map(struct sim_link *l, const char *name, uint16_t port, const char *addr,
                 uint16_t to_port, char *err, size_t errlen)
{
    struct map m;
    memset(&m, 0, sizeof m);
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= sizeof m.name) {
        snprintf(err, errlen, "a name must have 1 to %zu bytes", sizeof m.name - 1);
        return -1;
    }
    if (!addr || parse_addr(addr, &m.addr, &m.addrlen) < 0) {
        snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", addr ? addr : "(null)");
        return -1;
    }
    memcpy(m.name, name, n + 1);
    m.port = port;
    m.to_port = to_port;
    for (size_t i = 0; i < l->nmap; i++)
        if (l->map[i].port == port && strcasecmp(l->map[i].name, name) == 0) {
            l->map[i] = m;
            return 0;
        }
    if (l->nmap == l->mapcap) {
        size_t ncap = l->mapcap ? l->mapcap * 2 : 8;
        struct map *nm = realloc(l->map, ncap * sizeof *nm);
        if (!nm) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        l->map = nm;
        l->mapcap = ncap;
    }
    l->map[l->nmap++] = m;
    return 0;
}

void sim_link_set_network(struct sim_link *l, const struct sim_network *n, enum sim_cut cut)
{
    bucket_set_rate(l, &l->bk[UP], n->up_bps);
    bucket_set_rate(l, &l->bk[DOWN], n->down_bps);
    l->net = *n;
    l->cut = cut;
    l->up = n->connectivity == SIM_CONN_INTERNET;
    for (struct conn *c = l->conns; c; c = c->next)
        if (c->st == C_RELAY) {
            dir_resize(&c->d[UP]);
            dir_resize(&c->d[DOWN]);
        }
    if (l->up) {
        /* Rates may have changed: wake the waiters (their timers used the old rate). */
        for (int i = 0; i < 2; i++)
            if (l->bk[i].qhead)
                bucket_run(l, &l->bk[i]);
        return;
    }
    for (struct conn *c = l->conns, *next; c; c = next) {
        next = c->next;
        switch (c->st) {
        case C_RELAY:
            if (cut == SIM_CUT_RESET) {
                emit(l, SIM_LINK_RESET, c, "network down (connectivity %s): reset",
                     conn_name(n->connectivity));
                conn_abort(c, "reset by the link (network down)");
            } else {
                conn_blackhole(c);
            }
            break;
        case C_BLACKHOLED:
            if (cut == SIM_CUT_RESET) {
                emit(l, SIM_LINK_RESET, c,
                     "network down (connectivity %s): reset (was black-holed)",
                     conn_name(n->connectivity));
                conn_abort(c, "reset by the link (network down)");
            }
            break;
        case C_DELAY:
        case C_CONNECTING:
        case C_HELD:
            if (cut == SIM_CUT_RESET)
                conn_refuse(c, 3, "network unreachable (connectivity %s)",
                            conn_name(n->connectivity));
            else if (c->st != C_HELD)
                conn_hold(c);
            break;
        case C_HANDSHAKE:
        case C_RESETTING:
        case C_CLOSED:
            break;
        }
    }
}

void sim_link_stats(const struct sim_link *l, struct sim_link_stats *out)
{
    *out = l->st;
    out->held = 0;
    out->unanswered = 0;
    out->next_ms = INT64_MAX;
    for (const struct conn *c = l->conns; c; c = c->next) {
        bool waiting = c->st == C_HELD || c->st == C_BLACKHOLED || c->st == C_DELAY;
        /* One whose client has gone is not waiting for anything (the sweep closes it). */
        if (!waiting || !client_alive(c->cfd))
            continue;
        out->held++;
        if (c->st == C_HELD || c->st == C_DELAY)
            out->unanswered++;
        if (c->st == C_DELAY && c->delay_end_ns != INT64_MAX &&
            c->delay_end_ns / NS_PER_MS < out->next_ms)
            out->next_ms = c->delay_end_ns / NS_PER_MS;
    }
}

void sim_link_clock_jumped(struct sim_link *l)
{
    int64_t now = now_ns(l);
    for (struct conn *c = l->conns; c; c = c->next)
        if (c->st == C_DELAY && c->delay_end_ns != INT64_MAX)
            timer_in(l, c->timer, c->delay_end_ns > now ? c->delay_end_ns - now : 0);
}
