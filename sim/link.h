/*
 * link: the simulated network made real for the bytes — a SOCKS5 proxy on
 * libevent (RFC 1928, CONNECT only, no authentication; socks5h: the client
 * sends names) through which every engine connection flows in the harness.
 *
 * Names resolve here: sim_link_map() says where "files.test:80" really is
 * (a fault server on 127.0.0.1:PORT), so cross-origin cases use real distinct
 * origins on loopback. An unknown name gets SOCKS reply 4 (host unreachable);
 * an address literal is allowed only if it is loopback.
 *
 * The link enforces the network it is given (sim_link_set_network):
 *   - connectivity none (or local): live connections are reset or silently
 *     black-holed, new ones refused (SOCKS reply 3, network unreachable) or
 *     black-holed (never answered) — chosen per change (enum sim_cut);
 *   - connect_delay_ms before a new connection is answered;
 *   - latency and jitter on every chunk, one way, order kept; loss: a chunk
 *     is "lost" with probability loss (seeded) and delivered one
 *     retransmission timeout (200 ms) late;
 *   - bandwidth: one token bucket per direction shared by every connection
 *     of the current network, in simulated time (the clock), accurate within
 *     ±5% from 64 kbit/s to 1 Gbit/s of simulated rate;
 *   - metering: every byte forwarded is reported to on_bytes (the harness adds
 *     it to the model's usage when the network is costed).
 * Triggers fire exactly at a byte: after N bytes delivered to clients through
 * the link, or after N bytes of connection k; the link splits the chunk, calls
 * the trigger (which may change the network) and only then goes on.
 *
 * The link owns its connections and their buffers; everything runs on the
 * caller's event loop. Every connection and every enforcement is an event
 * (on_event) for the traces and reports.
 */
#ifndef SIM_LINK_H
#define SIM_LINK_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "model.h"

/* What a loss of connectivity does to connections. */
enum sim_cut {
    SIM_CUT_RESET,     /* live: RST at once; new: refused (reply 3) */
    SIM_CUT_BLACKHOLE, /* live: bytes stop silently; new: never answered */
};

enum sim_link_event_kind {
    SIM_LINK_OPEN,       /* a CONNECT was answered: conn, target */
    SIM_LINK_REFUSED,    /* a CONNECT was refused: reply code in detail */
    SIM_LINK_CLOSED,     /* a connection ended: how in detail */
    SIM_LINK_RESET,      /* the link reset it (network down) */
    SIM_LINK_BLACKHOLED, /* the link stopped its bytes silently */
    SIM_LINK_TRIGGER,    /* a byte trigger fired */
    SIM_LINK_BAD_REQUEST /* a malformed SOCKS request was refused */
};

struct sim_link_event {
    int64_t time_ms;
    enum sim_link_event_kind kind;
    uint64_t conn;     /* 1-based connection number, 0 if none */
    char target[300];  /* "files.test:80" */
    uint64_t up, down; /* bytes so far on that connection */
    char detail[160];
};

struct sim_link_config {
    const char *addr;             /* NULL: 127.0.0.1 */
    uint16_t port;                /* 0: a free port */
    const struct xl_clock *clock; /* borrowed; NULL: real time */
    void (*on_bytes)(void *arg, uint64_t up, uint64_t down);
    void (*on_event)(void *arg, const struct sim_link_event *ev);
    void *arg;
};

struct sim_link;

/* Start listening on base. The caller owns the result (sim_link_free). NULL with err. */
struct sim_link *sim_link_new(struct event_base *base, const struct sim_link_config *cfg, char *err,
                              size_t errlen);
/* Close every connection and free. */
void sim_link_free(struct sim_link *l);
uint16_t sim_link_port(const struct sim_link *l);

/* name:port (port 0: any port, kept) resolves to addr:to_port (0: the requested port). */
int sim_link_map(struct sim_link *l, const char *name, uint16_t port, const char *addr,
                 uint16_t to_port, char *err, size_t errlen);

/* The network in force from now on; cut says what losing connectivity does. */
void sim_link_set_network(struct sim_link *l, const struct sim_network *n, enum sim_cut cut);

typedef void (*sim_trigger_fn)(void *arg, uint64_t conn, uint64_t at);
/* Fire fn once, when total bytes delivered to clients reach n. Returns an id. */
int sim_link_at_bytes(struct sim_link *l, uint64_t n, sim_trigger_fn fn, void *arg);
/* Fire fn once, when connection k (1-based) has delivered n bytes to its client. */
int sim_link_at_conn_bytes(struct sim_link *l, uint64_t k, uint64_t n, sim_trigger_fn fn,
                           void *arg);

struct sim_link_stats {
    uint64_t connections; /* answered */
    uint64_t refused;
    uint64_t open;       /* live now */
    uint64_t held;       /* of those, waiting with no byte moving (a black hole, a connect
                            delay) while their client is still there */
    uint64_t unanswered; /* of those, CONNECTs not answered yet (black hole, connect delay) */
    int64_t next_ms;     /* simulated time a connect delay ends (INT64_MAX: none) */
    uint64_t up, down;   /* bytes forwarded */
};
void sim_link_stats(const struct sim_link *l, struct sim_link_stats *out);
/* The clock jumped forward: connect delays end at their simulated time, not their wall time. */
void sim_link_clock_jumped(struct sim_link *l);

#endif
