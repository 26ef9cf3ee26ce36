/*
 * model: the simulated network and battery, their rules, their self-changes,
 * and their text form.
 *
 * Rules chosen here (model.h leaves them open):
 *
 * Metering. The caller hands advance() every byte that crossed the link; the
 * model decides what counts. Bytes count toward usage on a variable plan, and
 * on a fixed plan whose limit is known (data_limit > 0). An unrestricted
 * network is not metered. A fixed plan with no limit known is BITS's "capped,
 * usage unknown": nobody tracks its usage, so it stays 0. The bytes of one
 * advance() call are attributed at its end time, after any rollover inside the
 * interval (the link reports bytes in small steps, so this costs little
 * precision and keeps the arithmetic exact).
 *
 * Over the limit: data_limit > 0 && usage > data_limit (usage == limit is not
 * over). On track to exceed ("near"): with t = now - period_start > 0 the
 * elapsed part of the period and u the usage, the projection u * period / t is
 * above the limit, computed exactly as u * period > limit * t in 128 bits (no
 * division, no overflow); near = limit set && !over && that. At t == 0 there is
 * no rate yet, so near is false. Near changes by itself as time passes with no
 * bytes: it turns off at period_start + ceil(u * period / limit) — an event at
 * that exact time, and a time next_change() reports — and on at t = 1 ms when
 * usage was already there at t = 0.
 *
 * Billing periods exist on costed networks (fixed or variable). When the time
 * reaches period_start + period, usage resets to 0 and period_start moves to
 * that boundary: SIM_EV_PERIOD dated exactly there. When several boundaries pass
 * in one quiet stretch (no other event between them), the first gets its event
 * and the rest are folded into one event at the last of them, so a jump of
 * years with a one-day period costs one event, not hundreds. A command's
 * period_start anchors the billing cycle: set_network moves it by whole periods
 * to the period that contains now, and keeps the usage the command states (a
 * command describes the network as it is now). An unrestricted network has no
 * billing: its period fields are carried unchanged.
 *
 * Battery. Draining runs at drain_active while a transfer is active (instead
 * of drain_idle, not on top of it), percent per hour of simulated time, and
 * stops at 0. Charging holds the level (the model has no charge rate: a
 * scenario states the level when it unplugs). saver_on = present && !charging
 * && (saver_manual || (threshold > 0 && level <= threshold)). The time the
 * level reaches the threshold (and 0) is computed, rounded up to the next
 * millisecond, and the event is dated there; the level is snapped to the
 * threshold (to 0) at that instant so rounding cannot hide the crossing.
 *
 * Events. Every successful set_* that changes something appends SIM_EV_NETWORK
 * or SIM_EV_BATTERY (an identical state appends nothing); self-changes append
 * SIM_EV_PERIOD and SIM_EV_BATTERY ("battery empty"). After any change, each
 * derived fact that flipped gets its own event at the same time, in the order
 * SIM_EV_OVER_LIMIT, SIM_EV_NEAR_LIMIT, SIM_EV_SAVER — both directions, so a
 * listener can follow a fact from its events alone. All events of one instant
 * carry the state after all of that instant's changes. The listener is called
 * after each event is appended; it must not call back into the model's
 * mutators. An event the log cannot store (out of memory) still reaches the
 * listener. Time never runs backwards: an earlier now_ms is taken as the
 * model's now. set_* first lets time run to now_ms as idle with no bytes; the
 * harness advances with the real activity before a command.
 *
 * Validation (sim_network_check / sim_battery_check) — impossible states:
 *   - roaming on a network that is not cellular;
 *   - a data limit, or usage, on an unrestricted network;
 *   - usage on a fixed plan with no limit set (its usage is unknown);
 *   - period outside 1 ms..3650 d; period start beyond +-INT64_MAX/2;
 *   - latency, jitter, connect delay negative, or above INT64_MAX/2 ms
 *     without being "forever";
 *   - loss outside 0..1, or between 0 and 1e-12 (what units.h can spell);
 *   - an enum value out of range;
 *   - battery level or threshold outside 0..100, drains outside
 *     0..1000000 %/h, NaN anywhere; charging or manual saver with no battery.
 * A variable plan may have usage without a limit; a fixed plan may be over its
 * limit; connectivity none with bandwidth is fine. Messages name the field as
 * the text spells it, with the value: "roaming: only a cellular network can
 * roam (this one is ethernet)".
 *
 * Text. Words and key=value in any order, separated by blanks.
 *   network: reset | ethernet wifi cellular | none (offline) local internet
 *            (online) | unrestricted fixed (metered) variable | roaming
 *            no-roaming; limit= usage= (sizes; limit=0: no limit known)
 *            period= start= (durations as units.h spells them, 0ms not 0;
 *            start may be negative) latency=
 *            jitter= connect-delay= (durations or forever) down= up= (rates,
 *            or 0 / unlimited) loss= (0.01 or 1%) seed= overage=charged|
 *            throttled background=restricted|allowed.
 *   A type word starts a new network: every field from the defaults, cost
 *   unrestricted for ethernet and wifi, fixed with no limit known for
 *   cellular; the rest of the text then applies, whatever its order. Text
 *   without a type word (or "reset") changes the current network.
 *   battery: battery (a new battery: level 100%, threshold 20%, no drain) |
 *            none (no battery) | charging discharging | saver no-saver;
 *            level= threshold= (percent, 40% or 12.5%) drain= active= (percent
 *            per hour, 5%/h). Any of these but "none" on a state with no
 *            battery adds one.
 *   Parsing works on a copy and checks the result: on error *n (*b) is
 *   unchanged, *col is the 0-based column (as in units.h) and err reads
 *   "col N: ..." with N 1-based. An impossible result is blamed on the token
 *   that set the offending field. Unknown words and keys get a suggestion
 *   from xl_closest. Percentages are the one spelling units.h lacks, so the
 *   battery's "40%" and "5%/h" are read here.
 * Format writes the canonical text: the network's type word first (so the
 * text is absolute: it parses back to the same state from any starting state),
 * then the cost, then only what differs from the type's defaults; the battery
 * as "battery level=.. threshold=.. drain=.. active=.." plus its flags, or
 * "none". Numbers are written in the shortest decimal that reads back
 * exactly.
 */
#include "model.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#define HOUR_MS           3600000.0
#define DAY_MS            86400000LL
#define DEFAULT_PERIOD_MS (30 * DAY_MS)
#define MAX_PERIOD_MS     (3650 * DAY_MS)
#define MAX_DURATION_MS   (INT64_MAX / 2)
#define MAX_DRAIN         1e6
#define MIN_LOSS          1e-12
#define DEFAULT_THRESHOLD 20.0
#define DEFAULT_SEED      1
#define WORD_MAX          128

/* ---- small helpers ---------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void say(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    (void)r;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    i128 s = (i128)a + b;
    if (s > INT64_MAX)
        return INT64_MAX;
    if (s < INT64_MIN)
        return INT64_MIN;
    return (int64_t)s;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Milliseconds, rounded up, of a non-negative double; at least 1 when x > 0. */
static int64_t ceil_ms(double x)
{
    if (!(x < 9.0e18))
        return INT64_MAX;
    int64_t r = (int64_t)ceil(x);
    return r < 1 && x > 0 ? 1 : r;
}

/* The shortest fixed-point decimal that strtod reads back as v (no exponent). */
static void fmt_num(double v, char *buf, size_t len)
{
    if (!isfinite(v) || fabs(v) >= 1e15) {
        say(buf, len, "%g", v);
        return;
    }
    char tmp[64];
    for (int p = 0; p <= 40; p++) {
        say(tmp, sizeof tmp, "%.*f", p, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    say(buf, len, "%s", tmp);
}

static void fmt_size(uint64_t v, char *buf, size_t len)
{
    xl_format_size(v, buf, len);
}

static void fmt_dur(int64_t ms, char *buf, size_t len)
{
    if (ms < 0 && ms != INT64_MIN) {
        char t[40];
        xl_format_duration(-ms, t, sizeof t);
        say(buf, len, "-%s", t);
    } else {
        xl_format_duration(ms, buf, len);
    }
}

static void fmt_rate(uint64_t v, char *buf, size_t len)
{
    if (v == 0) {
        say(buf, len, "unlimited");
        return;
    }
    char t[40];
    xl_format_size(v, t, sizeof t);
    say(buf, len, "%s/s", t);
}

/* ---- names ------------------------------------------------------------ */

const char *sim_connectivity_name(enum sim_connectivity c)
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

const char *sim_net_type_name(enum sim_net_type t)
{
    switch (t) {
    case SIM_NET_ETHERNET:
        return "ethernet";
    case SIM_NET_WIFI:
        return "wifi";
    case SIM_NET_CELLULAR:
        return "cellular";
    }
    return "?";
}

const char *sim_cost_name(enum sim_cost c)
{
    switch (c) {
    case SIM_COST_UNRESTRICTED:
        return "unrestricted";
    case SIM_COST_FIXED:
        return "fixed";
    case SIM_COST_VARIABLE:
        return "variable";
    }
    return "?";
}

static const char *overage_name(enum sim_overage o)
{
    switch (o) {
    case SIM_OVER_CHARGED:
        return "charged";
    case SIM_OVER_THROTTLED:
        return "throttled";
    }
    return "?";
}

/* ---- defaults --------------------------------------------------------- */

void sim_network_default(struct sim_network *n)
{
    memset(n, 0, sizeof *n);
    n->connectivity = SIM_CONN_INTERNET;
    n->type = SIM_NET_ETHERNET;
    n->cost = SIM_COST_UNRESTRICTED;
    n->period_ms = DEFAULT_PERIOD_MS;
    n->overage = SIM_OVER_CHARGED;
    n->seed = DEFAULT_SEED;
}

/* A new network of type t: the defaults, with that type's usual cost. */
static void network_of_type(struct sim_network *n, enum sim_net_type t)
{
    sim_network_default(n);
    n->type = t;
    n->cost = t == SIM_NET_CELLULAR ? SIM_COST_FIXED : SIM_COST_UNRESTRICTED;
}

void sim_battery_default(struct sim_battery *b)
{
    memset(b, 0, sizeof *b);
    b->present = false;
    b->level = 100;
    b->saver_threshold = DEFAULT_THRESHOLD;
}

static bool net_equal(const struct sim_network *a, const struct sim_network *b)
{
    return a->connectivity == b->connectivity && a->type == b->type && a->cost == b->cost &&
           a->roaming == b->roaming && a->data_limit == b->data_limit && a->usage == b->usage &&
           a->period_ms == b->period_ms && a->period_start_ms == b->period_start_ms &&
           a->overage == b->overage && a->background_restricted == b->background_restricted &&
           a->down_bps == b->down_bps && a->up_bps == b->up_bps && a->latency_ms == b->latency_ms &&
           a->jitter_ms == b->jitter_ms && a->connect_delay_ms == b->connect_delay_ms &&
           a->loss == b->loss && a->seed == b->seed;
}

static bool bat_equal(const struct sim_battery *a, const struct sim_battery *b)
{
    return a->present == b->present && a->level == b->level && a->charging == b->charging &&
           a->saver_manual == b->saver_manual && a->saver_threshold == b->saver_threshold &&
           a->drain_idle == b->drain_idle && a->drain_active == b->drain_active;
}

/* ---- validation --------------------------------------------------------- */

/* Network fields, as the text names them; parse blames the token that set one. */
enum nf {
    NF_CONN,
    NF_TYPE,
    NF_COST,
    NF_ROAMING,
    NF_LIMIT,
    NF_USAGE,
    NF_PERIOD,
    NF_START,
    NF_OVERAGE,
    NF_BACKGROUND,
    NF_DOWN,
    NF_UP,
    NF_LATENCY,
    NF_JITTER,
    NF_CDELAY,
    NF_LOSS,
    NF_SEED,
    NF__COUNT
};

static bool duration_ok(int64_t ms)
{
    return ms == XL_FOREVER || (ms >= 0 && ms <= MAX_DURATION_MS);
}

/* 0, or -1 with a message and the blamed fields (then a fallback). */
static int check_net(const struct sim_network *n, char *err, size_t errlen, int *blame, int *blame2)
{
    char a[48], b[48];
    *blame2 = -1;
    if ((unsigned)n->connectivity > SIM_CONN_INTERNET) {
        *blame = NF_CONN;
        say(err, errlen, "connectivity: %d is not none, local or internet", (int)n->connectivity);
        return -1;
    }
    if ((unsigned)n->type > SIM_NET_CELLULAR) {
        *blame = NF_TYPE;
        say(err, errlen, "type: %d is not ethernet, wifi or cellular", (int)n->type);
        return -1;
    }
    if ((unsigned)n->cost > SIM_COST_VARIABLE) {
        *blame = NF_COST;
        say(err, errlen, "cost: %d is not unrestricted, fixed or variable", (int)n->cost);
        return -1;
    }
    if ((unsigned)n->overage > SIM_OVER_THROTTLED) {
        *blame = NF_OVERAGE;
        say(err, errlen, "overage: %d is not charged or throttled", (int)n->overage);
        return -1;
    }
    if (n->roaming && n->type != SIM_NET_CELLULAR) {
        *blame = NF_ROAMING;
        *blame2 = NF_TYPE;
        say(err, errlen, "roaming: only a cellular network can roam (this one is %s)",
            sim_net_type_name(n->type));
        return -1;
    }
    if (n->cost == SIM_COST_UNRESTRICTED && n->data_limit != 0) {
        fmt_size(n->data_limit, a, sizeof a);
        *blame = NF_LIMIT;
        *blame2 = NF_COST;
        say(err, errlen,
            "limit=%s: an unrestricted network has no data limit (make the cost fixed or "
            "variable)",
            a);
        return -1;
    }
    if (n->cost == SIM_COST_UNRESTRICTED && n->usage != 0) {
        fmt_size(n->usage, a, sizeof a);
        *blame = NF_USAGE;
        *blame2 = NF_COST;
        say(err, errlen,
            "usage=%s: usage is counted only on a costed network (this one is unrestricted)", a);
        return -1;
    }
    if (n->cost == SIM_COST_FIXED && n->data_limit == 0 && n->usage != 0) {
        fmt_size(n->usage, a, sizeof a);
        *blame = NF_USAGE;
        *blame2 = NF_LIMIT;
        say(err, errlen,
            "usage=%s with no limit set: on a fixed plan whose limit is unknown the usage is "
            "unknown too (give limit=)",
            a);
        return -1;
    }
    if (n->period_ms <= 0 || n->period_ms > MAX_PERIOD_MS) {
        fmt_dur(n->period_ms, a, sizeof a);
        *blame = NF_PERIOD;
        say(err, errlen, "period=%s: a billing period is 1ms to 3650d", a);
        return -1;
    }
    if (n->period_start_ms < -MAX_DURATION_MS || n->period_start_ms > MAX_DURATION_MS) {
        say(err, errlen, "start=%lldms: out of range", (long long)n->period_start_ms);
        *blame = NF_START;
        return -1;
    }
    const struct {
        int64_t v;
        const char *name;
        int field;
    } durs[] = {{n->latency_ms, "latency", NF_LATENCY},
                {n->jitter_ms, "jitter", NF_JITTER},
                {n->connect_delay_ms, "connect-delay", NF_CDELAY}};
    for (size_t i = 0; i < sizeof durs / sizeof *durs; i++) {
        if (!duration_ok(durs[i].v)) {
            *blame = durs[i].field;
            say(err, errlen, "%s=%lldms: must be 0 or more (or forever)", durs[i].name,
                (long long)durs[i].v);
            return -1;
        }
    }
    if (!(n->loss >= 0 && n->loss <= 1) || (n->loss > 0 && n->loss < MIN_LOSS)) {
        fmt_num(n->loss, b, sizeof b);
        *blame = NF_LOSS;
        say(err, errlen, "loss=%s: must be 0, or a probability from 1e-12 to 1", b);
        return -1;
    }
    return 0;
}

int sim_network_check(const struct sim_network *n, char *err, size_t errlen)
{
    int f, f2;
    return check_net(n, err, errlen, &f, &f2);
}

enum bf {
    BF_PRESENT,
    BF_LEVEL,
    BF_CHARGING,
    BF_SAVER,
    BF_THRESHOLD,
    BF_DRAIN,
    BF_ACTIVE,
    BF__COUNT
};

static int check_percent(double v, double max, const char *name, const char *unit, int field,
                         char *err, size_t errlen, int *blame)
{
    if (v >= 0 && v <= max)
        return 0;
    char a[48], b[48];
    fmt_num(v, a, sizeof a);
    fmt_num(max, b, sizeof b);
    *blame = field;
    say(err, errlen, "%s=%s%s: must be from 0 to %s%s", name, a, unit, b, unit);
    return -1;
}

static int check_bat(const struct sim_battery *b, char *err, size_t errlen, int *blame, int *blame2)
{
    *blame2 = BF_PRESENT;
    if (!b->present && b->charging) {
        *blame = BF_CHARGING;
        say(err, errlen, "charging: there is no battery to charge (battery none)");
        return -1;
    }
    if (!b->present && b->saver_manual) {
        *blame = BF_SAVER;
        say(err, errlen, "saver: battery saver needs a battery (battery none)");
        return -1;
    }
    *blame2 = -1;
    if (check_percent(b->level, 100, "level", "%", BF_LEVEL, err, errlen, blame) < 0 ||
        check_percent(b->saver_threshold, 100, "threshold", "%", BF_THRESHOLD, err, errlen, blame) <
            0 ||
        check_percent(b->drain_idle, MAX_DRAIN, "drain", "%/h", BF_DRAIN, err, errlen, blame) < 0 ||
        check_percent(b->drain_active, MAX_DRAIN, "active", "%/h", BF_ACTIVE, err, errlen, blame) <
            0)
        return -1;
    return 0;
}

int sim_battery_check(const struct sim_battery *b, char *err, size_t errlen)
{
    int f, f2;
    return check_bat(b, err, errlen, &f, &f2);
}

/* ---- derived facts ---------------------------------------------------- */

static bool costed(const struct sim_network *n)
{
    return n->cost != SIM_COST_UNRESTRICTED;
}

static bool metered(const struct sim_network *n)
{
    return n->cost == SIM_COST_VARIABLE || (n->cost == SIM_COST_FIXED && n->data_limit != 0);
}

static bool over_limit(const struct sim_network *n)
{
    return n->data_limit != 0 && n->usage > n->data_limit;
}

/* On track to exceed at time `at`: u * period > limit * t, exactly. */
static bool near_at(const struct sim_network *n, int64_t at)
{
    if (n->data_limit == 0 || over_limit(n) || n->usage == 0 || n->period_ms <= 0)
        return false;
    i128 t = (i128)at - n->period_start_ms;
    if (t <= 0)
        return false;
    return (u128)n->usage * (u128)n->period_ms > (u128)n->data_limit * (u128)t;
}

static bool saver_on(const struct sim_battery *b)
{
    return b->present && !b->charging &&
           (b->saver_manual || (b->saver_threshold > 0 && b->level <= b->saver_threshold));
}

static struct sim_derived derive(const struct sim_model *m)
{
    struct sim_derived d = {over_limit(&m->net), near_at(&m->net, m->now_ms), saver_on(&m->bat)};
    return d;
}

/* ---- self-change times ------------------------------------------------ */

static int64_t period_end(const struct sim_model *m)
{
    if (!costed(&m->net))
        return INT64_MAX;
    return sat_add(m->net.period_start_ms, m->net.period_ms);
}

/* When near_limit next flips with no bytes, or INT64_MAX. */
static int64_t near_flip(const struct sim_model *m)
{
    const struct sim_network *n = &m->net;
    if (n->data_limit == 0 || n->usage == 0 || over_limit(n))
        return INT64_MAX;
    i128 t = (i128)m->now_ms - n->period_start_ms;
    if (t <= 0) {
        int64_t first = sat_add(n->period_start_ms, 1);
        return near_at(n, first) ? first : INT64_MAX;
    }
    if (!near_at(n, m->now_ms))
        return INT64_MAX; /* the projection only falls as time passes */
    u128 num = (u128)n->usage * (u128)n->period_ms;
    u128 off = (num + n->data_limit - 1) / n->data_limit; /* <= period, since usage <= limit */
    return sat_add(n->period_start_ms, (int64_t)off);
}

static double drain_rate(const struct sim_battery *b, bool active)
{
    if (!b->present || b->charging)
        return 0;
    return active ? b->drain_active : b->drain_idle;
}

static int64_t battery_reaches(const struct sim_model *m, double target, bool active)
{
    double r = drain_rate(&m->bat, active);
    if (!(r > 0) || !(m->bat.level > target))
        return INT64_MAX;
    return sat_add(m->now_ms, ceil_ms((m->bat.level - target) * HOUR_MS / r));
}

static int64_t saver_time(const struct sim_model *m, bool active)
{
    if (saver_on(&m->bat) || !(m->bat.saver_threshold > 0))
        return INT64_MAX;
    return battery_reaches(m, m->bat.saver_threshold, active);
}

static int64_t empty_time(const struct sim_model *m, bool active)
{
    return battery_reaches(m, 0, active);
}

int64_t sim_model_next_change(const struct sim_model *m, bool active)
{
    int64_t t = period_end(m);
    t = min64(t, near_flip(m));
    t = min64(t, saver_time(m, active));
    t = min64(t, empty_time(m, active));
    return t;
}

/* ---- events ----------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static void
push(struct sim_model *m, int64_t at, enum sim_event_kind kind, const char *fmt, ...)
{
    struct sim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.time_ms = at;
    ev.kind = kind;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(ev.what, sizeof ev.what, fmt, ap);
    va_end(ap);
    (void)r;
    ev.network = m->net;
    ev.battery = m->bat;
    ev.derived = m->derived;
    const struct sim_event *stored = &ev;
    if (m->nevents == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        struct sim_event *grown = realloc(m->events, cap * sizeof *grown);
        if (grown) {
            m->events = grown;
            m->cap = cap;
        }
    }
    if (m->nevents < m->cap) {
        m->events[m->nevents] = ev;
        stored = &m->events[m->nevents++];
    }
    if (m->listener)
        m->listener(m->listener_arg, stored);
}

/* Recompute the derived facts at m->now_ms; returns the old ones. */
static struct sim_derived refresh(struct sim_model *m)
{
    struct sim_derived old = m->derived;
    m->derived = derive(m);
    return old;
}

/* Record each derived fact that differs between old and m->derived. */
static void push_flips(struct sim_model *m, struct sim_derived old)
{
    char u[40], l[40], p[40];
    fmt_size(m->net.usage, u, sizeof u);
    fmt_size(m->net.data_limit, l, sizeof l);
    if (old.over_limit != m->derived.over_limit)
        push(m, m->now_ms, SIM_EV_OVER_LIMIT,
             m->derived.over_limit ? "usage %s is over the data limit %s"
                                   : "usage %s is within the data limit %s again",
             u, l);
    if (old.near_limit != m->derived.near_limit) {
        if (m->derived.near_limit) {
            fmt_dur(m->now_ms - m->net.period_start_ms, p, sizeof p);
            push(m, m->now_ms, SIM_EV_NEAR_LIMIT,
                 "on track to exceed the data limit %s: usage %s after %s of the period", l, u, p);
        } else {
            push(m, m->now_ms, SIM_EV_NEAR_LIMIT,
                 "no longer on track to exceed the data limit %s (usage %s)", l, u);
        }
    }
    if (old.saver_on != m->derived.saver_on) {
        char lv[48];
        fmt_num(m->bat.level, lv, sizeof lv);
        const char *why =
            m->derived.saver_on
                ? (m->bat.saver_manual ? ", turned on by the user" : ", at or below the threshold")
                : (m->bat.charging ? ", charging" : "");
        push(m, m->now_ms, SIM_EV_SAVER, "battery saver %s (level %s%%%s)",
             m->derived.saver_on ? "on" : "off", lv, why);
    }
}

/* ---- time ------------------------------------------------------------- */

/* Let the battery drain until `to` (never backwards). */
static void run_to(struct sim_model *m, int64_t to, bool active)
{
    if (to <= m->now_ms)
        return;
    double r = drain_rate(&m->bat, active);
    if (r > 0 && m->bat.level > 0) {
        double dt = (double)((i128)to - m->now_ms);
        m->bat.level -= r * dt / HOUR_MS;
        if (m->bat.level < 0)
            m->bat.level = 0;
    }
    m->now_ms = to;
}

/* Move period_start by whole periods to the period that contains `at`. */
static void align_period(struct sim_network *n, int64_t at)
{
    i128 d = (i128)at - n->period_start_ms;
    i128 k = d / n->period_ms;
    if (d % n->period_ms != 0 && d < 0)
        k--;
    n->period_start_ms = (int64_t)(n->period_start_ms + k * n->period_ms);
}

void sim_model_advance(struct sim_model *m, int64_t now_ms, uint64_t bytes, bool active)
{
    int64_t end = now_ms < m->now_ms ? m->now_ms : now_ms;
    int64_t prev = INT64_MIN;
    for (;;) {
        int64_t pe = period_end(m), nf = near_flip(m);
        int64_t st = saver_time(m, active), et = empty_time(m, active);
        int64_t t = min64(min64(pe, nf), min64(st, et));
        /* Each instant is handled once: a time that comes back would be a bug, not a hang. */
        if (t == INT64_MAX || t > end || t == prev)
            break;
        prev = t;
        run_to(m, t, active);
        bool emptied = false;
        if (t == st && m->bat.level > m->bat.saver_threshold)
            m->bat.level = m->bat.saver_threshold;
        if (t == et) {
            m->bat.level = 0;
            emptied = true;
        }
        bool rolled = t == pe;
        uint64_t old_usage = m->net.usage;
        if (rolled) {
            m->net.usage = 0;
            m->net.period_start_ms = t;
        }
        struct sim_derived old = refresh(m);
        if (rolled) {
            char u[40];
            fmt_size(old_usage, u, sizeof u);
            push(m, t, SIM_EV_PERIOD, "a new billing period began: usage %s reset to 0", u);
        }
        if (emptied)
            push(m, t, SIM_EV_BATTERY, "battery empty");
        push_flips(m, old);
        if (rolled) {
            /* Fold the boundaries of a quiet stretch into one event at the last. */
            int64_t lim = min64(
                end, min64(sat_add(saver_time(m, active), -1), sat_add(empty_time(m, active), -1)));
            i128 j = ((i128)lim - m->net.period_start_ms) / m->net.period_ms;
            if (j >= 2) {
                int64_t last = (int64_t)(m->net.period_start_ms + j * m->net.period_ms);
                run_to(m, last, active);
                m->net.period_start_ms = last;
                m->derived = derive(m);
                push(m, last, SIM_EV_PERIOD,
                     "a new billing period began, the last of %lld without usage", (long long)j);
            }
        }
    }
    run_to(m, end, active);
    if (bytes != 0 && metered(&m->net))
        m->net.usage = m->net.usage > UINT64_MAX - bytes ? UINT64_MAX : m->net.usage + bytes;
    push_flips(m, refresh(m));
}

/* ---- the model ---------------------------------------------------------- */

void sim_model_init(struct sim_model *m, int64_t now_ms)
{
    memset(m, 0, sizeof *m);
    sim_network_default(&m->net);
    sim_battery_default(&m->bat);
    m->now_ms = now_ms;
    m->derived = derive(m);
}

void sim_model_free(struct sim_model *m)
{
    free(m->events);
    m->events = NULL;
    m->nevents = m->cap = 0;
}

int sim_model_set_network(struct sim_model *m, int64_t now_ms, const struct sim_network *n,
                          char *err, size_t errlen)
{
    if (sim_network_check(n, err, errlen) < 0)
        return -1;
    sim_model_advance(m, now_ms, 0, false);
    struct sim_network nn = *n;
    if (costed(&nn))
        align_period(&nn, m->now_ms);
    if (net_equal(&nn, &m->net))
        return 0;
    m->net = nn;
    char text[512];
    sim_network_format(&m->net, text, sizeof text);
    struct sim_derived old = refresh(m);
    push(m, m->now_ms, SIM_EV_NETWORK, "network: %s", text);
    push_flips(m, old);
    return 0;
}

int sim_model_set_battery(struct sim_model *m, int64_t now_ms, const struct sim_battery *b,
                          char *err, size_t errlen)
{
    if (sim_battery_check(b, err, errlen) < 0)
        return -1;
    sim_model_advance(m, now_ms, 0, false);
    if (bat_equal(b, &m->bat))
        return 0;
    m->bat = *b;
    char text[256];
    sim_battery_format(&m->bat, text, sizeof text);
    struct sim_derived old = refresh(m);
    push(m, m->now_ms, SIM_EV_BATTERY, "battery: %s", text);
    push_flips(m, old);
    return 0;
}

/* ---- text: tokens ------------------------------------------------------- */

struct token {
    char word[WORD_MAX]; /* the whole token */
    char *value;         /* after '=', or NULL for a bare word */
    size_t col, vcol;
};

__attribute__((format(printf, 5, 6))) static int perr(size_t *col, char *err, size_t errlen,
                                                      size_t at, const char *fmt, ...)
{
    char msg[XL_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (void)r;
    if (col)
        *col = at;
    say(err, errlen, "col %zu: %s", at + 1, msg);
    return -1;
}

/* The next blank-separated token at s[*i]: 1, 0 at the end, -1 on error. */
static int next_token(const char *s, size_t *i, struct token *t, size_t *col, char *err,
                      size_t errlen)
{
    while (isspace((unsigned char)s[*i]))
        (*i)++;
    if (s[*i] == '\0')
        return 0;
    size_t start = *i, len = 0;
    while (s[*i] != '\0' && !isspace((unsigned char)s[*i]))
        (*i)++;
    len = *i - start;
    if (len >= WORD_MAX)
        return perr(col, err, errlen, start, "word too long (%zu characters)", len);
    memcpy(t->word, s + start, len);
    t->word[len] = '\0';
    t->col = start;
    t->value = NULL;
    char *eq = strchr(t->word, '=');
    if (eq) {
        *eq = '\0';
        t->value = eq + 1;
        t->vcol = start + (size_t)(t->value - t->word);
        if (t->word[0] == '\0')
            return perr(col, err, errlen, start, "'=' without a key before it");
        if (*t->value == '\0')
            return perr(col, err, errlen, t->vcol, "key '%s' needs a value", t->word);
    }
    return 1;
}

static int find_name(const char *w, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(w, names[i]) == 0)
            return (int)i;
    return -1;
}

static int unknown(const char *what, const char *w, const char *const *cands, size_t n, size_t at,
                   size_t *col, char *err, size_t errlen)
{
    int c = xl_closest(w, cands, n);
    if (c >= 0)
        return perr(col, err, errlen, at, "unknown %s '%s' (did you mean '%s'?)", what, w,
                    cands[c]);
    return perr(col, err, errlen, at, "unknown %s '%s'", what, w);
}

/* A value's parse error from units.h: "key: message" at the value's column. */
static int value_err(const struct token *t, size_t vc, const char *sub, size_t *col, char *err,
                     size_t errlen)
{
    return perr(col, err, errlen, t->vcol + vc, "%s: %s", t->word, sub);
}

/* "40%" or, with per_hour, "5%/h": a number in percent. */
static int parse_percent(const char *v, bool per_hour, double *out, size_t *vc)
{
    size_t i = 0;
    while (isdigit((unsigned char)v[i]))
        i++;
    if (i == 0) {
        *vc = 0;
        return -1;
    }
    if (v[i] == '.') {
        if (!isdigit((unsigned char)v[i + 1])) {
            *vc = i + 1;
            return -1;
        }
        i++;
        while (isdigit((unsigned char)v[i]))
            i++;
    }
    const char *unit = per_hour ? "%/h" : "%";
    if (strcmp(v + i, unit) != 0) {
        *vc = i;
        return -1;
    }
    *out = strtod(v, NULL);
    return 0;
}

static int once(bool *have, size_t *cols, int f, const struct token *t, const char *what,
                size_t *col, char *err, size_t errlen)
{
    if (have[f])
        return perr(col, err, errlen, t->col, "%s given twice: '%s' here and at col %zu", what,
                    t->word, cols[f] + 1);
    have[f] = true;
    cols[f] = t->col;
    return 0;
}

/* ---- text: network ------------------------------------------------------ */

enum word_class { W_RESET, W_CONN, W_TYPE, W_COST, W_ROAM };

static const struct {
    const char *name;
    enum word_class cls;
    int value;
} net_words[] = {
    {"reset", W_RESET, 0},
    {"none", W_CONN, SIM_CONN_NONE},
    {"offline", W_CONN, SIM_CONN_NONE},
    {"local", W_CONN, SIM_CONN_LOCAL},
    {"internet", W_CONN, SIM_CONN_INTERNET},
    {"online", W_CONN, SIM_CONN_INTERNET},
    {"ethernet", W_TYPE, SIM_NET_ETHERNET},
    {"wifi", W_TYPE, SIM_NET_WIFI},
    {"cellular", W_TYPE, SIM_NET_CELLULAR},
    {"unrestricted", W_COST, SIM_COST_UNRESTRICTED},
    {"fixed", W_COST, SIM_COST_FIXED},
    {"metered", W_COST, SIM_COST_FIXED},
    {"variable", W_COST, SIM_COST_VARIABLE},
    {"roaming", W_ROAM, 1},
    {"no-roaming", W_ROAM, 0},
};
#define N_NET_WORDS (sizeof net_words / sizeof *net_words)

/* Key names, indexed by their field. */
static const char *const net_keys[NF__COUNT] = {
    [NF_CONN] = "connectivity",
    [NF_TYPE] = "type",
    [NF_COST] = "cost",
    [NF_ROAMING] = "roaming",
    [NF_LIMIT] = "limit",
    [NF_USAGE] = "usage",
    [NF_PERIOD] = "period",
    [NF_START] = "start",
    [NF_OVERAGE] = "overage",
    [NF_BACKGROUND] = "background",
    [NF_DOWN] = "down",
    [NF_UP] = "up",
    [NF_LATENCY] = "latency",
    [NF_JITTER] = "jitter",
    [NF_CDELAY] = "connect-delay",
    [NF_LOSS] = "loss",
    [NF_SEED] = "seed",
};
/* The keys a text may use (the first four are words). */
#define FIRST_NET_KEY NF_LIMIT

static int net_key(const char *w)
{
    for (int f = FIRST_NET_KEY; f < NF__COUNT; f++)
        if (strcmp(w, net_keys[f]) == 0)
            return f;
    return -1;
}

static int net_set_key(struct sim_network *v, int f, const struct token *t, size_t *col, char *err,
                       size_t errlen)
{
    char sub[XL_ERRLEN];
    size_t vc = 0;
    int rc = 0;
    const char *s = t->value;
    switch ((enum nf)f) {
    case NF_LIMIT:
        rc = xl_parse_size(s, &v->data_limit, &vc, sub);
        break;
    case NF_USAGE:
        rc = xl_parse_size(s, &v->usage, &vc, sub);
        break;
    case NF_PERIOD:
        rc = xl_parse_duration(s, &v->period_ms, &vc, sub);
        break;
    case NF_START: {
        bool neg = *s == '-';
        rc = xl_parse_duration(s + neg, &v->period_start_ms, &vc, sub);
        vc += neg;
        if (rc == 0 && neg) {
            if (v->period_start_ms == XL_FOREVER)
                return perr(col, err, errlen, t->vcol, "start: cannot be -forever");
            v->period_start_ms = -v->period_start_ms;
        }
        break;
    }
    case NF_OVERAGE: {
        static const char *const names[] = {"charged", "throttled"};
        int i = find_name(s, names, 2);
        if (i < 0)
            return unknown("overage", s, names, 2, t->vcol, col, err, errlen);
        v->overage = i == 0 ? SIM_OVER_CHARGED : SIM_OVER_THROTTLED;
        break;
    }
    case NF_BACKGROUND: {
        static const char *const names[] = {"restricted", "allowed"};
        int i = find_name(s, names, 2);
        if (i < 0)
            return unknown("background setting", s, names, 2, t->vcol, col, err, errlen);
        v->background_restricted = i == 0;
        break;
    }
    case NF_DOWN:
    case NF_UP: {
        uint64_t *r = f == NF_DOWN ? &v->down_bps : &v->up_bps;
        if (strcmp(s, "unlimited") == 0 || strcmp(s, "0") == 0)
            *r = 0;
        else
            rc = xl_parse_rate(s, r, &vc, sub);
        break;
    }
    case NF_LATENCY:
        rc = xl_parse_duration(s, &v->latency_ms, &vc, sub);
        break;
    case NF_JITTER:
        rc = xl_parse_duration(s, &v->jitter_ms, &vc, sub);
        break;
    case NF_CDELAY:
        rc = xl_parse_duration(s, &v->connect_delay_ms, &vc, sub);
        break;
    case NF_LOSS:
        rc = xl_parse_prob(s, &v->loss, &vc, sub);
        break;
    case NF_SEED:
        rc = xl_parse_u64(s, &v->seed, &vc, sub);
        break;
    case NF_CONN:
    case NF_TYPE:
    case NF_COST:
    case NF_ROAMING:
    case NF__COUNT:
        break;
    }
    return rc < 0 ? value_err(t, vc, sub, col, err, errlen) : 0;
}

/* Copy field f of src into dst. */
static void net_copy_field(struct sim_network *dst, const struct sim_network *src, int f)
{
    switch ((enum nf)f) {
    case NF_CONN:
        dst->connectivity = src->connectivity;
        break;
    case NF_TYPE:
        dst->type = src->type;
        break;
    case NF_COST:
        dst->cost = src->cost;
        break;
    case NF_ROAMING:
        dst->roaming = src->roaming;
        break;
    case NF_LIMIT:
        dst->data_limit = src->data_limit;
        break;
    case NF_USAGE:
        dst->usage = src->usage;
        break;
    case NF_PERIOD:
        dst->period_ms = src->period_ms;
        break;
    case NF_START:
        dst->period_start_ms = src->period_start_ms;
        break;
    case NF_OVERAGE:
        dst->overage = src->overage;
        break;
    case NF_BACKGROUND:
        dst->background_restricted = src->background_restricted;
        break;
    case NF_DOWN:
        dst->down_bps = src->down_bps;
        break;
    case NF_UP:
        dst->up_bps = src->up_bps;
        break;
    case NF_LATENCY:
        dst->latency_ms = src->latency_ms;
        break;
    case NF_JITTER:
        dst->jitter_ms = src->jitter_ms;
        break;
    case NF_CDELAY:
        dst->connect_delay_ms = src->connect_delay_ms;
        break;
    case NF_LOSS:
        dst->loss = src->loss;
        break;
    case NF_SEED:
        dst->seed = src->seed;
        break;
    case NF__COUNT:
        break;
    }
}

int sim_network_parse(const char *text, struct sim_network *n, size_t *col, char *err,
                      size_t errlen)
{
    bool have[NF__COUNT] = {false};
    size_t cols[NF__COUNT] = {0};
    bool reset = false;
    size_t reset_col = 0;
    struct sim_network v;
    sim_network_default(&v);
    struct token t;
    size_t i = 0;
    int r;
    while ((r = next_token(text, &i, &t, col, err, errlen)) > 0) {
        if (t.value) {
            int f = net_key(t.word);
            if (f < 0)
                return unknown("key", t.word, net_keys + FIRST_NET_KEY, NF__COUNT - FIRST_NET_KEY,
                               t.col, col, err, errlen);
            if (once(have, cols, f, &t, net_keys[f], col, err, errlen) < 0 ||
                net_set_key(&v, f, &t, col, err, errlen) < 0)
                return -1;
            continue;
        }
        size_t w = 0;
        while (w < N_NET_WORDS && strcmp(net_words[w].name, t.word) != 0)
            w++;
        if (w == N_NET_WORDS) {
            if (net_key(t.word) >= 0)
                return perr(col, err, errlen, t.col, "key '%s' needs a value (%s=...)", t.word,
                            t.word);
            const char *cands[N_NET_WORDS + NF__COUNT];
            size_t nc = 0;
            for (size_t k = 0; k < N_NET_WORDS; k++)
                cands[nc++] = net_words[k].name;
            for (int f = FIRST_NET_KEY; f < NF__COUNT; f++)
                cands[nc++] = net_keys[f];
            return unknown("word", t.word, cands, nc, t.col, col, err, errlen);
        }
        int val = net_words[w].value;
        switch (net_words[w].cls) {
        case W_RESET:
            if (reset)
                return perr(col, err, errlen, t.col, "'reset' given twice");
            reset = true;
            reset_col = t.col;
            break;
        case W_CONN:
            if (once(have, cols, NF_CONN, &t, "connectivity", col, err, errlen) < 0)
                return -1;
            v.connectivity = (enum sim_connectivity)val;
            break;
        case W_TYPE:
            if (once(have, cols, NF_TYPE, &t, "network type", col, err, errlen) < 0)
                return -1;
            v.type = (enum sim_net_type)val;
            break;
        case W_COST:
            if (once(have, cols, NF_COST, &t, "cost", col, err, errlen) < 0)
                return -1;
            v.cost = (enum sim_cost)val;
            break;
        case W_ROAM:
            if (once(have, cols, NF_ROAMING, &t, "roaming", col, err, errlen) < 0)
                return -1;
            v.roaming = val != 0;
            break;
        }
    }
    if (r < 0)
        return -1;

    struct sim_network out = *n;
    if (reset)
        sim_network_default(&out);
    if (have[NF_TYPE])
        network_of_type(&out, v.type);
    for (int f = 0; f < NF__COUNT; f++)
        if (have[f] && f != NF_TYPE)
            net_copy_field(&out, &v, f);

    char msg[XL_ERRLEN];
    int b1, b2;
    if (check_net(&out, msg, sizeof msg, &b1, &b2) < 0) {
        size_t at = have[b1]              ? cols[b1]
                    : b2 >= 0 && have[b2] ? cols[b2]
                    : have[NF_TYPE]       ? cols[NF_TYPE]
                    : reset               ? reset_col
                                          : 0;
        return perr(col, err, errlen, at, "%s", msg);
    }
    *n = out;
    return 0;
}

/* Append " text" to buf at *pos, keeping it terminated. */
__attribute__((format(printf, 4, 5))) static void add(char *buf, size_t len, size_t *pos,
                                                      const char *fmt, ...)
{
    if (*pos >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    va_end(ap);
    if (r > 0)
        *pos = *pos + (size_t)r < len ? *pos + (size_t)r : len;
}

void sim_network_format(const struct sim_network *n, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    size_t pos = 0;
    char v[64];
    struct sim_network d;
    network_of_type(&d, n->type);
    add(buf, len, &pos, "%s", sim_net_type_name(n->type));
    if (n->connectivity != d.connectivity)
        add(buf, len, &pos, " %s", sim_connectivity_name(n->connectivity));
    add(buf, len, &pos, " %s", sim_cost_name(n->cost));
    if (n->roaming)
        add(buf, len, &pos, " roaming");
    if (n->data_limit != 0) {
        fmt_size(n->data_limit, v, sizeof v);
        add(buf, len, &pos, " limit=%s", v);
    }
    if (n->usage != 0) {
        fmt_size(n->usage, v, sizeof v);
        add(buf, len, &pos, " usage=%s", v);
    }
    if (n->period_ms != d.period_ms) {
        fmt_dur(n->period_ms, v, sizeof v);
        add(buf, len, &pos, " period=%s", v);
    }
    if (n->period_start_ms != 0) {
        fmt_dur(n->period_start_ms, v, sizeof v);
        add(buf, len, &pos, " start=%s", v);
    }
    if (n->overage != d.overage)
        add(buf, len, &pos, " overage=%s", overage_name(n->overage));
    if (n->background_restricted)
        add(buf, len, &pos, " background=restricted");
    if (n->down_bps != 0) {
        fmt_rate(n->down_bps, v, sizeof v);
        add(buf, len, &pos, " down=%s", v);
    }
    if (n->up_bps != 0) {
        fmt_rate(n->up_bps, v, sizeof v);
        add(buf, len, &pos, " up=%s", v);
    }
    if (n->latency_ms != 0) {
        fmt_dur(n->latency_ms, v, sizeof v);
        add(buf, len, &pos, " latency=%s", v);
    }
    if (n->jitter_ms != 0) {
        fmt_dur(n->jitter_ms, v, sizeof v);
        add(buf, len, &pos, " jitter=%s", v);
    }
    if (n->connect_delay_ms != 0) {
        fmt_dur(n->connect_delay_ms, v, sizeof v);
        add(buf, len, &pos, " connect-delay=%s", v);
    }
    if (n->loss != 0) {
        fmt_num(n->loss, v, sizeof v);
        add(buf, len, &pos, " loss=%s", v);
    }
    if (n->seed != d.seed)
        add(buf, len, &pos, " seed=%llu", (unsigned long long)n->seed);
}

/* ---- text: battery ------------------------------------------------------ */

enum bword { BW_BATTERY, BW_NONE, BW_CHARGING, BW_DISCHARGING, BW_SAVER, BW_NO_SAVER };

static const char *const bat_words[] = {
    [BW_BATTERY] = "battery",         [BW_NONE] = "none",   [BW_CHARGING] = "charging",
    [BW_DISCHARGING] = "discharging", [BW_SAVER] = "saver", [BW_NO_SAVER] = "no-saver",
};
#define N_BAT_WORDS (sizeof bat_words / sizeof *bat_words)

static const char *const bat_keys[] = {"level", "threshold", "drain", "active"};
static const int bat_key_field[] = {BF_LEVEL, BF_THRESHOLD, BF_DRAIN, BF_ACTIVE};
#define N_BAT_KEYS (sizeof bat_keys / sizeof *bat_keys)

int sim_battery_parse(const char *text, struct sim_battery *b, size_t *col, char *err,
                      size_t errlen)
{
    bool have[BF__COUNT] = {false};
    size_t cols[BF__COUNT] = {0};
    bool none = false, fresh = false;
    size_t start_col = 0;
    struct sim_battery v;
    sim_battery_default(&v);
    struct token t;
    size_t i = 0;
    int r;
    while ((r = next_token(text, &i, &t, col, err, errlen)) > 0) {
        if (t.value) {
            int k = find_name(t.word, bat_keys, N_BAT_KEYS);
            if (k < 0)
                return unknown("key", t.word, bat_keys, N_BAT_KEYS, t.col, col, err, errlen);
            int f = bat_key_field[k];
            if (once(have, cols, f, &t, bat_keys[k], col, err, errlen) < 0)
                return -1;
            double *dst = f == BF_LEVEL       ? &v.level
                          : f == BF_THRESHOLD ? &v.saver_threshold
                          : f == BF_DRAIN     ? &v.drain_idle
                                              : &v.drain_active;
            bool per_hour = f == BF_DRAIN || f == BF_ACTIVE;
            size_t vc = 0;
            if (parse_percent(t.value, per_hour, dst, &vc) < 0)
                return perr(col, err, errlen, t.vcol + vc, "%s: expected a percentage such as %s",
                            t.word, per_hour ? "5%/h" : "40% or 12.5%");
            continue;
        }
        int w = find_name(t.word, bat_words, N_BAT_WORDS);
        if (w < 0) {
            if (find_name(t.word, bat_keys, N_BAT_KEYS) >= 0)
                return perr(col, err, errlen, t.col, "key '%s' needs a value (%s=...)", t.word,
                            t.word);
            const char *cands[N_BAT_WORDS + N_BAT_KEYS];
            size_t nc = 0;
            for (size_t k = 0; k < N_BAT_WORDS; k++)
                cands[nc++] = bat_words[k];
            for (size_t k = 0; k < N_BAT_KEYS; k++)
                cands[nc++] = bat_keys[k];
            return unknown("word", t.word, cands, nc, t.col, col, err, errlen);
        }
        switch ((enum bword)w) {
        case BW_BATTERY:
        case BW_NONE:
            if (none || fresh)
                return perr(col, err, errlen, t.col, "'%s': 'battery' or 'none' given before",
                            t.word);
            none = w == BW_NONE;
            fresh = w == BW_BATTERY;
            start_col = t.col;
            break;
        case BW_CHARGING:
        case BW_DISCHARGING:
            if (once(have, cols, BF_CHARGING, &t, "charging", col, err, errlen) < 0)
                return -1;
            v.charging = w == BW_CHARGING;
            break;
        case BW_SAVER:
        case BW_NO_SAVER:
            if (once(have, cols, BF_SAVER, &t, "saver", col, err, errlen) < 0)
                return -1;
            v.saver_manual = w == BW_SAVER;
            break;
        }
    }
    if (r < 0)
        return -1;

    struct sim_battery out = *b;
    if (none || fresh)
        sim_battery_default(&out);
    if (fresh)
        out.present = true;
    bool any = false;
    for (int f = 0; f < BF__COUNT; f++)
        any = any || have[f];
    if (!none && any)
        out.present = true;
    if (have[BF_LEVEL])
        out.level = v.level;
    if (have[BF_CHARGING])
        out.charging = v.charging;
    if (have[BF_SAVER])
        out.saver_manual = v.saver_manual;
    if (have[BF_THRESHOLD])
        out.saver_threshold = v.saver_threshold;
    if (have[BF_DRAIN])
        out.drain_idle = v.drain_idle;
    if (have[BF_ACTIVE])
        out.drain_active = v.drain_active;

    char msg[XL_ERRLEN];
    int b1, b2;
    if (check_bat(&out, msg, sizeof msg, &b1, &b2) < 0) {
        size_t at = have[b1] ? cols[b1] : start_col;
        return perr(col, err, errlen, at, "%s", msg);
    }
    *b = out;
    return 0;
}

void sim_battery_format(const struct sim_battery *b, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    size_t pos = 0;
    char v[64];
    struct sim_battery d;
    sim_battery_default(&d);
    if (b->present) {
        add(buf, len, &pos, "battery");
    } else {
        add(buf, len, &pos, "none");
        /* Nothing else matters without a battery; kept only so the text is exact. */
    }
    if (b->present || b->level != d.level) {
        fmt_num(b->level, v, sizeof v);
        add(buf, len, &pos, " level=%s%%", v);
    }
    if (b->present || b->saver_threshold != d.saver_threshold) {
        fmt_num(b->saver_threshold, v, sizeof v);
        add(buf, len, &pos, " threshold=%s%%", v);
    }
    if (b->present || b->drain_idle != d.drain_idle) {
        fmt_num(b->drain_idle, v, sizeof v);
        add(buf, len, &pos, " drain=%s%%/h", v);
    }
    if (b->present || b->drain_active != d.drain_active) {
        fmt_num(b->drain_active, v, sizeof v);
        add(buf, len, &pos, " active=%s%%/h", v);
    }
    if (b->charging)
        add(buf, len, &pos, " charging");
    if (b->saver_manual)
        add(buf, len, &pos, " saver");
}
