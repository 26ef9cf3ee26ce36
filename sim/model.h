/*
 * model: the simulated network and battery (issue 4, decisions.md "Process model").
 *
 * A sim_model holds the current network and battery and changes them over
 * simulated time: on command (sim_model_set_network / _set_battery, from the
 * scenario) and by itself as time passes and bytes flow (sim_model_advance):
 * data usage grows with the bytes the link meters, a new billing period resets
 * it, the battery drains (faster while transferring) and battery saver turns
 * on below its threshold. Every change is an event with a time, kept in order
 * for the reports and handed to a listener (the harness forwards them to the
 * link and to xferd's platform provider).
 *
 * Derived facts are computed, never declared: whether usage is over the data
 * limit, and whether it is on track to exceed it — the usage rate over the
 * period so far, projected to the end of the billing period.
 *
 * The model is plain data plus functions; it owns its event log. No I/O, no
 * threads: the caller drives it with the clock's time.
 */
#ifndef SIM_MODEL_H
#define SIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sim_connectivity { SIM_CONN_NONE, SIM_CONN_LOCAL, SIM_CONN_INTERNET };
enum sim_net_type { SIM_NET_ETHERNET, SIM_NET_WIFI, SIM_NET_CELLULAR };
enum sim_cost { SIM_COST_UNRESTRICTED, SIM_COST_FIXED, SIM_COST_VARIABLE };
/* What happens to usage beyond the limit on a fixed plan. */
enum sim_overage { SIM_OVER_CHARGED, SIM_OVER_THROTTLED };

struct sim_network {
    enum sim_connectivity connectivity;
    enum sim_net_type type;
    enum sim_cost cost;
    bool roaming;
    uint64_t data_limit;     /* bytes per billing period, 0 = no limit known */
    uint64_t usage;          /* bytes used in the current period */
    int64_t period_ms;       /* billing period length (default 30 days) */
    int64_t period_start_ms; /* simulated time the current period began */
    enum sim_overage overage;
    bool background_restricted;    /* the user restricts background data */
    uint64_t down_bps, up_bps;     /* bytes per second, 0 = unlimited */
    int64_t latency_ms, jitter_ms; /* one way, added to every chunk (jitter: uniform 0..j) */
    int64_t connect_delay_ms;      /* before a new connection is answered */
    double loss;                   /* probability a chunk is lost and resent (seeded) */
    uint64_t seed;
};

struct sim_battery {
    bool present; /* false: mains-powered, no battery */
    double level; /* percent, 0..100 */
    bool charging;
    bool saver_manual;      /* the user turned saver on */
    double saver_threshold; /* percent; saver turns on at or below it (0 = never) */
    double drain_idle;      /* percent per hour while idle */
    double drain_active;    /* percent per hour while transferring */
};

/* What the engine's policy needs, derived from network and battery. */
struct sim_derived {
    bool over_limit; /* usage > data_limit (limit set) */
    bool near_limit; /* on track to exceed the limit by the period's end */
    bool saver_on;   /* manual, or level <= threshold, and not charging */
};

enum sim_event_kind {
    SIM_EV_NETWORK,    /* the network changed (command or by itself) */
    SIM_EV_BATTERY,    /* the battery changed */
    SIM_EV_OVER_LIMIT, /* usage crossed the data limit */
    SIM_EV_NEAR_LIMIT, /* usage became on track to exceed the limit (or stopped being) */
    SIM_EV_PERIOD,     /* a new billing period began: usage reset */
    SIM_EV_SAVER       /* battery saver turned on or off */
};

struct sim_event {
    int64_t time_ms;
    enum sim_event_kind kind;
    char what[160];             /* a one-line description for traces and reports */
    struct sim_network network; /* state after the event */
    struct sim_battery battery;
    struct sim_derived derived;
};

typedef void (*sim_listener_fn)(void *arg, const struct sim_event *ev);

struct sim_model {
    struct sim_network net;
    struct sim_battery bat;
    struct sim_derived derived;
    int64_t now_ms;
    struct sim_event *events; /* owned, in time order */
    size_t nevents, cap;
    sim_listener_fn listener;
    void *listener_arg;
};

/* Defaults: ethernet, unrestricted, internet; no battery. */
void sim_model_init(struct sim_model *m, int64_t now_ms);
void sim_model_free(struct sim_model *m);
void sim_network_default(struct sim_network *n);
void sim_battery_default(struct sim_battery *b);

/*
 * Replace the network (or battery) at now_ms. An impossible state (roaming on
 * ethernet, usage with no limit on a fixed plan over it, a limit on an
 * unrestricted network, battery level outside 0..100, ...) is refused with -1
 * and a message naming the field; the model is then unchanged.
 */
int sim_model_set_network(struct sim_model *m, int64_t now_ms, const struct sim_network *n,
                          char *err, size_t errlen);
int sim_model_set_battery(struct sim_model *m, int64_t now_ms, const struct sim_battery *b,
                          char *err, size_t errlen);
/* Check a state without applying it (0, or -1 with a message). */
int sim_network_check(const struct sim_network *n, char *err, size_t errlen);
int sim_battery_check(const struct sim_battery *b, char *err, size_t errlen);

/*
 * Let time run to now_ms; bytes moved through the link since the last call
 * (metered on a costed network) and whether a transfer was active drive usage
 * and battery drain. Emits the events that happen on the way, each at its own
 * time (a period rollover in the middle is dated at the period's end).
 */
void sim_model_advance(struct sim_model *m, int64_t now_ms, uint64_t bytes, bool active);

/*
 * The next simulated time something would change by itself (the billing
 * period's end, the battery reaching the saver threshold or 0), assuming no
 * bytes and the given activity; INT64_MAX if never. Lets the harness jump.
 */
int64_t sim_model_next_change(const struct sim_model *m, bool active);

/* Names, for traces and the scenario language. */
const char *sim_connectivity_name(enum sim_connectivity c);
const char *sim_net_type_name(enum sim_net_type t);
const char *sim_cost_name(enum sim_cost c);

/*
 * Parse a network description, words and key=value in any order, e.g.
 *   "wifi"   "cellular fixed limit=2GiB usage=1GiB roaming"
 *   "none"   "ethernet down=8Mbit/s latency=40ms jitter=5ms loss=1% seed=3"
 * onto *n (starting from its current value; "reset" starts from defaults).
 * Errors name the word and its column (1-based) in err.
 */
int sim_network_parse(const char *text, struct sim_network *n, size_t *col, char *err,
                      size_t errlen);
/* The same for the battery: "level=40% charging saver threshold=20% drain=5%/h active=12%/h". */
int sim_battery_parse(const char *text, struct sim_battery *b, size_t *col, char *err,
                      size_t errlen);
/* A canonical text of each, which parses back to the same state. */
void sim_network_format(const struct sim_network *n, char *buf, size_t len);
void sim_battery_format(const struct sim_battery *b, char *buf, size_t len);

#endif
