/*
 * trace: see trace.h. The document is built as jansson objects from the
 * start; hx_trace_write adds the header members and sorts the timeline by
 * time (stable: entries of one instant keep their order).
 */
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hx_trace {
    json_t *doc;      /* top-level members set with hx_trace_set */
    json_t *timeline; /* [{sim_ms, kind, line, text, ok}] */
    json_t *jobs;     /* [{id, guid, total, progress, states}] */
    json_t *network, *battery, *requests, *failures;
    json_t *error;  /* NULL until a script error */
    json_t *covers; /* set by the caller via hx_trace_set */
    char *log_tail;
    int64_t origin; /* world time of scenario time 0 */
};

void hx_trace_set_origin(struct hx_trace *t, int64_t world_ms)
{
    t->origin = world_ms;
}

/* Make a time of the world a scenario time (what came before 0 counts as 0). */
static json_t *scenario_ms(const struct hx_trace *t, json_t *v)
{
    json_int_t ms = json_integer_value(v) - t->origin;
    return json_integer(ms > 0 ? ms : 0);
}

/* Every "sim_ms" member of the objects in a (and of their "states"), and the first
 * element of [ms, bytes] pairs (job progress), as scenario times. */
static void to_scenario_time(const struct hx_trace *t, json_t *a)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (json_is_array(v) && json_array_size(v) == 2) {
            json_array_set_new(v, 0, scenario_ms(t, json_array_get(v, 0)));
            continue;
        }
        json_t *ms = json_object_get(v, "sim_ms");
        if (json_is_integer(ms))
            json_object_set_new(v, "sim_ms", scenario_ms(t, ms));
        to_scenario_time(t, json_object_get(v, "states"));
        to_scenario_time(t, json_object_get(v, "progress"));
    }
}

struct hx_trace *hx_trace_new(void)
{
    struct hx_trace *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->doc = json_object();
    t->timeline = json_array();
    t->jobs = json_array();
    t->network = json_array();
    t->battery = json_array();
    t->requests = json_array();
    t->failures = json_array();
    if (!t->doc || !t->timeline || !t->jobs || !t->network || !t->battery || !t->requests ||
        !t->failures) {
        hx_trace_free(t);
        return NULL;
    }
    return t;
}

void hx_trace_free(struct hx_trace *t)
{
    if (!t)
        return;
    json_decref(t->doc);
    json_decref(t->timeline);
    json_decref(t->jobs);
    json_decref(t->network);
    json_decref(t->battery);
    json_decref(t->requests);
    json_decref(t->failures);
    json_decref(t->error);
    free(t->log_tail);
    free(t);
}

void hx_trace_event(struct hx_trace *t, int64_t sim_ms, const char *kind, int line, bool ok,
                    const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_array_append_new(t->timeline,
                          json_pack("{s:I, s:s, s:i, s:s, s:b}", "sim_ms", (json_int_t)sim_ms,
                                    "kind", kind, "line", line, "text", text, "ok", ok));
}

static json_t *job_by(struct hx_trace *t, const char *key, const char *value)
{
    size_t i;
    json_t *j;
    json_array_foreach(t->jobs, i, j)
    {
        const char *v = json_string_value(json_object_get(j, key));
        if (v && strcmp(v, value) == 0)
            return j;
    }
    return NULL;
}

void hx_trace_job(struct hx_trace *t, const char *id, const char *guid)
{
    json_t *j = job_by(t, "id", id);
    if (!j) {
        j = json_pack("{s:s, s:n, s:n, s:[], s:[]}", "id", id, "guid", "total", "progress",
                      "states");
        if (!j)
            return;
        json_array_append_new(t->jobs, j);
    }
    if (guid)
        json_object_set_new(j, "guid", json_string(guid));
}

const char *hx_trace_job_id(struct hx_trace *t, const char *guid)
{
    json_t *j = job_by(t, "guid", guid);
    return j ? json_string_value(json_object_get(j, "id")) : NULL;
}

void hx_trace_progress(struct hx_trace *t, const char *id, int64_t sim_ms, uint64_t bytes,
                       int64_t total)
{
    json_t *j = job_by(t, "id", id);
    if (!j)
        return;
    json_t *p = json_object_get(j, "progress");
    size_t n = json_array_size(p);
    if (n > 0) {
        json_t *last = json_array_get(p, n - 1);
        if ((uint64_t)json_integer_value(json_array_get(last, 1)) == bytes)
            return; /* nothing moved */
    }
    json_array_append_new(p, json_pack("[I, I]", (json_int_t)sim_ms, (json_int_t)bytes));
    if (total >= 0)
        json_object_set_new(j, "total", json_integer(total));
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

void hx_trace_state(struct hx_trace *t, const char *id, int64_t sim_ms, const char *old_state,
                    const char *new_state, const char *hr, const char *hr_name, const char *cause)
{
    json_t *j = job_by(t, "id", id);
    if (!j)
        return;
    json_t *s = json_object();
    json_object_set_new(s, "sim_ms", json_integer(sim_ms));
    json_object_set_new(s, "old", str_or_null(old_state));
    json_object_set_new(s, "new", str_or_null(new_state));
    json_object_set_new(s, "hr", str_or_null(hr));
    json_object_set_new(s, "hr_name", str_or_null(hr_name));
    json_object_set_new(s, "cause", str_or_null(cause));
    json_array_append_new(json_object_get(j, "states"), s);
}

static void add_network(struct hx_trace *t, int64_t ms, const struct sim_model *m,
                        const struct sim_network *n, const struct sim_derived *d)
{
    (void)m;
    json_array_append_new(t->network,
                          json_pack("{s:I, s:s, s:s, s:s, s:b, s:b, s:I, s:I}", "sim_ms",
                                    (json_int_t)ms, "name", sim_net_type_name(n->type),
                                    "connectivity", sim_connectivity_name(n->connectivity), "cost",
                                    sim_cost_name(n->cost), "roaming", n->roaming, "over_limit",
                                    d->over_limit, "usage", (json_int_t)n->usage, "limit",
                                    (json_int_t)n->data_limit));
}

static void add_battery(struct hx_trace *t, int64_t ms, const struct sim_battery *b,
                        const struct sim_derived *d)
{
    json_array_append_new(t->battery,
                          json_pack("{s:I, s:b, s:f, s:b, s:b}", "sim_ms", (json_int_t)ms,
                                    "present", b->present, "level", b->level, "charging",
                                    b->charging, "saver", d->saver_on));
}

void hx_trace_model(struct hx_trace *t, const struct sim_event *ev)
{
    switch (ev->kind) {
    case SIM_EV_NETWORK:
    case SIM_EV_OVER_LIMIT:
    case SIM_EV_NEAR_LIMIT:
    case SIM_EV_PERIOD:
        add_network(t, ev->time_ms, NULL, &ev->network, &ev->derived);
        break;
    case SIM_EV_BATTERY:
    case SIM_EV_SAVER:
        add_battery(t, ev->time_ms, &ev->battery, &ev->derived);
        break;
    }
    hx_trace_event(t, ev->time_ms, "note", 0, true, "%s", ev->what);
}

void hx_trace_model_state(struct hx_trace *t, int64_t sim_ms, const struct sim_model *m)
{
    add_network(t, sim_ms, m, &m->net, &m->derived);
    add_battery(t, sim_ms, &m->bat, &m->derived);
}

void hx_trace_failure(struct hx_trace *t, const char *file, int line, int col, const char *source,
                      const char *expected, const char *got, int64_t sim_ms)
{
    json_array_append_new(t->failures,
                          json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:I}", "file", file, "line",
                                    line, "col", col, "source", source, "expected", expected, "got",
                                    got, "sim_ms", (json_int_t)sim_ms));
}

size_t hx_trace_failures(const struct hx_trace *t)
{
    return json_array_size(t->failures);
}

void hx_trace_error(struct hx_trace *t, const char *file, int line, int col, const char *message,
                    const char *excerpt)
{
    if (t->error)
        return;
    t->error = json_pack("{s:s, s:i, s:i, s:s, s:s}", "file", file ? file : "", "line", line, "col",
                         col, "message", message, "excerpt", excerpt ? excerpt : "");
}

bool hx_trace_has_error(const struct hx_trace *t)
{
    return t->error != NULL;
}

void hx_trace_requests(struct hx_trace *t, const char *origin, struct flt_journal *j)
{
    size_t n = flt_journal_count(j);
    for (size_t i = 0; i < n; i++) {
        struct flt_jentry e;
        if (flt_journal_get(j, i, &e) < 0)
            break;
        json_t *r = json_object();
        json_object_set_new(r, "sim_ms", json_integer(e.t_ms));
        json_object_set_new(r, "origin", json_string(origin));
        json_object_set_new(r, "id", json_integer((json_int_t)e.id));
        json_object_set_new(r, "conn", json_integer((json_int_t)e.conn));
        json_object_set_new(r, "proto", json_string(e.proto));
        json_object_set_new(r, "method", json_string(e.method));
        json_object_set_new(r, "target", str_or_null(e.target));
        json_object_set_new(r, "range", str_or_null(e.range));
        json_object_set_new(r, "status", json_integer(e.status));
        json_object_set_new(r, "offset", json_integer((json_int_t)e.offset));
        json_object_set_new(r, "sent", json_integer((json_int_t)e.sent));
        json_object_set_new(r, "outcome", json_string(flt_outcome_name(e.outcome)));
        json_object_set_new(r, "fired", json_string(e.fired));
        json_array_append_new(t->requests, r);
        hx_trace_event(
            t, e.t_ms, "request", 0, true, "%s #%llu %s %s%s%s -> %d, %llu bytes, %s%s%s", origin,
            (unsigned long long)e.id, e.method, e.target ? e.target : "", e.range ? " Range: " : "",
            e.range ? e.range : "", e.status, (unsigned long long)e.sent,
            flt_outcome_name(e.outcome), e.fired[0] ? ", fired " : "", e.fired);
        flt_jentry_release(&e);
    }
}

void hx_trace_set(struct hx_trace *t, const char *key, json_t *v)
{
    json_object_set_new(t->doc, key, v ? v : json_null());
}

void hx_trace_log_tail(struct hx_trace *t, const char *path, int lines)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char *buf = NULL;
    size_t len = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > 64 * 1024 ? size - 64 * 1024 : 0;
        if (size >= 0 && fseek(f, from, SEEK_SET) == 0) {
            buf = malloc((size_t)(size - from) + 1);
            if (buf)
                len = fread(buf, 1, (size_t)(size - from), f);
        }
    }
    fclose(f);
    if (!buf)
        return;
    buf[len] = '\0';
    /* Keep the last `lines` lines. */
    size_t start = len, seen = 0;
    while (start > 0) {
        if (buf[start - 1] == '\n' && start != len && ++seen >= (size_t)lines)
            break;
        start--;
    }
    free(t->log_tail);
    t->log_tail = strdup(buf + start);
    free(buf);
}

static int cmp_time(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t tx = json_integer_value(json_object_get(x, "sim_ms"));
    json_int_t ty = json_integer_value(json_object_get(y, "sim_ms"));
    if (tx != ty)
        return tx < ty ? -1 : 1;
    json_int_t sx = json_integer_value(json_object_get(x, "seq"));
    json_int_t sy = json_integer_value(json_object_get(y, "seq"));
    return sx < sy ? -1 : sx > sy;
}

/* A new array of a's members sorted by sim_ms, keeping the order of equal times. */
static json_t *sorted(json_t *a)
{
    size_t n = json_array_size(a);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    json_t *out = json_array();
    if (!v || !out) {
        free(v);
        json_decref(out);
        return json_incref(a);
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = json_array_get(a, i);
        json_object_set_new(v[i], "seq", json_integer((json_int_t)i));
    }
    qsort(v, n, sizeof *v, cmp_time);
    for (size_t i = 0; i < n; i++) {
        json_object_del(v[i], "seq");
        json_array_append(out, v[i]);
    }
    free(v);
    return out;
}

int hx_trace_write(struct hx_trace *t, const char *path, const char *status, uint64_t seed,
                   int64_t wall_ms, int64_t sim_ms, char *err, size_t errlen)
{
    json_t *d = t->doc;
    json_object_set_new(d, "schema", json_integer(1));
    json_object_set_new(d, "status", json_string(status));
    json_object_set_new(d, "seed", json_integer((json_int_t)seed));
    json_object_set_new(d, "wall_ms", json_integer(wall_ms));
    json_object_set_new(d, "sim_ms", json_integer(sim_ms));
    const char *keys[] = {"scenario", "file", "title"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_get(d, keys[i]))
            json_object_set_new(d, keys[i], json_string(""));
    if (!json_object_get(d, "covers"))
        json_object_set_new(d, "covers",
                            json_pack("{s:[], s:[], s:[]}", "codes", "interrupts", "states"));
    json_t *timed[] = {t->failures, t->jobs, t->network, t->battery, t->timeline, t->requests};
    for (size_t i = 0; i < sizeof timed / sizeof timed[0]; i++)
        to_scenario_time(t, timed[i]);
    json_object_set(d, "failures", t->failures);
    json_object_set(d, "error", t->error ? t->error : json_null());
    json_object_set(d, "jobs", t->jobs);
    json_object_set(d, "network", t->network);
    json_object_set(d, "battery", t->battery);
    json_object_set_new(d, "timeline", sorted(t->timeline));
    json_object_set_new(d, "requests", sorted(t->requests));
    json_object_set_new(d, "log_tail", json_string(t->log_tail ? t->log_tail : ""));
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (json_dump_file(d, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER) < 0) {
        snprintf(err, errlen, "cannot write %s", tmp);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
