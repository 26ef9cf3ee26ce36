/*
 * methods: the method table and the handlers (see methods.h). Params come
 * in as a JSON object; names are resolved to GUIDs here (PROTOCOL.md "Names
 * and values"); results are built with src/rpc's encoders.
 */
#include "methods.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "groups.h"
#include "jobjson.h"
#include "notify.h"
#include "platjson.h"
#include "server.h"
#include "spawn.h"

/* One call: who asks, with what. A handler sets either *result or *error. */
struct call {
    struct xferd *x;
    struct xd_conn *conn;
    uid_t uid;
    json_t *params; /* an object (empty when none was sent) */
    json_t *result;
    json_t *error;
};

typedef void (*handler_fn)(struct call *k);

static bool bad_param(struct call *k, const char *param, const char *reason)
{
    k->error = rpc_error_object(RPC_INVALID_PARAMS, "Invalid params",
                                json_pack("{s:s, s:s}", "param", param, "reason", reason));
    return false;
}

static bool engine_failed(struct call *k, xfer_hr hr)
{
    if (!XFER_FAILED(hr))
        return false;
    k->error = rpc_engine_error(hr, xfer_last_error(k->x->eng));
    return true;
}

/* A string member: required (def NULL) or defaulted. */
static bool get_str(struct call *k, const char *name, const char *def, const char **out)
{
    json_t *v = json_object_get(k->params, name);
    if (!v) {
        if (!def)
            return bad_param(k, name, "missing");
        *out = def;
        return true;
    }
    if (!json_is_string(v))
        return bad_param(k, name, "expected a string");
    *out = json_string_value(v);
    return true;
}

static bool get_bool(struct call *k, const char *name, bool def, bool *out)
{
    json_t *v = json_object_get(k->params, name);
    if (!v) {
        *out = def;
        return true;
    }
    if (!json_is_boolean(v))
        return bad_param(k, name, "expected true or false");
    *out = json_is_true(v);
    return true;
}

/* The owner for listing calls: root with all_users sees everyone. */
static bool get_scope(struct call *k, uid_t *owner)
{
    bool all;
    if (!get_bool(k, "all_users", false, &all))
        return false;
    if (all && k->uid != 0)
        return bad_param(k, "all_users", "only root may list every user's jobs");
    *owner = all ? XFER_OWNER_ANY : k->uid;
    return true;
}

/* A job by GUID or display name, among the caller's jobs. */
static bool resolve_job(struct call *k, const char *s, const char *param, xfer_guid *out)
{
    xfer_guid *all = NULL;
    size_t n = 0, i, hits = 0;
    char why[400];
    xfer_hr hr;
    if (xfer_guid_parse(s, out))
        return true;
    hr = xfer_job_enum(k->x->eng, k->uid, &all, &n);
    if (engine_failed(k, hr))
        return false;
    for (i = 0; i < n; i++) {
        struct xfer_job_info *info = NULL;
        if (XFER_FAILED(xfer_job_info(k->x->eng, k->uid, &all[i], &info)))
            continue;
        if (strcmp(info->display_name, s) == 0) {
            if (hits++ == 0)
                *out = all[i];
        }
        free(info);
    }
    free(all);
    if (hits == 1)
        return true;
    if (hits > 1)
        return bad_param(k, param, "ambiguous: two or more of your jobs have that name");
    snprintf(why, sizeof why, "no job named '%.300s' for uid %u", s, (unsigned)k->uid);
    k->error = rpc_engine_error(xfer_error_by_name("BG_E_NOT_FOUND")->hr, why);
    return false;
}

static bool get_job(struct call *k, xfer_guid *out)
{
    const char *s;
    return get_str(k, "job", NULL, &s) && resolve_job(k, s, "job", out);
}

/* ------------------------------------------------------------------ service */

/*
 * What the harness needs to jump the clock: xferd is busy while a transfer
 * has a connection or a notify or group command runs (in_flight), and its
 * next timer is the engine's or a notify rerun's.
 */
static json_t *clock_json(struct xferd *x)
{
    int64_t due = xfer_engine_next_due(x->eng);
    int64_t rerun = xd_notify_next_due(x->notify);
    if (rerun < due)
        due = rerun;
    unsigned busy = xfer_engine_in_flight(x->eng) + xd_spawn_running(x->spawn, (uid_t)-1);
    return json_pack("{s:I, s:f, s:I, s:I, s:i, s:i, s:o}", "now_ms",
                     (json_int_t)xfer_engine_now(x->eng), "scale", x->clock.scale, "wall0_ns",
                     (json_int_t)x->clock.wall0_ns, "sim0_ms", (json_int_t)x->clock.sim0_ms,
                     "in_flight", (int)busy, "connecting", (int)xfer_engine_connecting(x->eng),
                     "next_due_ms", due == INT64_MAX ? json_null() : json_integer(due));
}

static void m_service_info(struct call *k)
{
    k->result =
        json_pack("{s:s, s:i, s:I, s:s, s:s, s:o}", "version", XFERD_VERSION, "pid", (int)getpid(),
                  "uid", (json_int_t)k->uid, "store", k->x->store, "platform",
                  k->x->o.platform_sim ? "sim" : "none", "clock", clock_json(k->x));
}

/* ------------------------------------------------------------------ jobs */

static void m_job_create(struct call *k)
{
    const char *type, *name;
    enum xfer_job_type t;
    xfer_guid g;
    char gs[XFER_GUID_LEN];
    if (!get_str(k, "type", "download", &type) || !get_str(k, "name", NULL, &name))
        return;
    if (!rpc_job_type_parse(type, &t)) {
        bad_param(k, "type", "expected \"download\" or \"upload\"");
        return;
    }
    if (engine_failed(k, xfer_job_create(k->x->eng, k->uid, t, name, &g)))
        return;
    xfer_guid_format(&g, gs);
    k->result = json_pack("{s:s}", "job", gs);
}

static void m_job_add_file(struct call *k)
{
    const char *url, *path;
    xfer_guid g;
    if (!get_job(k, &g) || !get_str(k, "url", NULL, &url) || !get_str(k, "path", NULL, &path))
        return;
    if (!engine_failed(k, xfer_job_add_file(k->x->eng, k->uid, &g, url, path)))
        k->result = json_object();
}

static void m_job_add_file_ranges(struct call *k)
{
    const char *url, *path;
    json_t *ranges = json_object_get(k->params, "ranges"), *r;
    struct xfer_range *rs = NULL;
    size_t i, n;
    xfer_guid g;
    char why[128];
    if (!get_job(k, &g) || !get_str(k, "url", NULL, &url) || !get_str(k, "path", NULL, &path))
        return;
    if (!json_is_array(ranges)) {
        bad_param(k, "ranges", ranges ? "expected an array of [offset, length|null]" : "missing");
        return;
    }
    n = json_array_size(ranges);
    rs = calloc(n ? n : 1, sizeof *rs);
    if (!rs) {
        k->error = rpc_error_object(RPC_INTERNAL_ERROR, "out of memory", NULL);
        return;
    }
    json_array_foreach(ranges, i, r)
    {
        json_t *off = json_array_get(r, 0), *len = json_array_get(r, 1);
        if (!json_is_array(r) || json_array_size(r) != 2 || !json_is_integer(off) ||
            json_integer_value(off) < 0 || !(json_is_null(len) || json_is_integer(len)) ||
            (json_is_integer(len) && json_integer_value(len) < 0)) {
            snprintf(why, sizeof why,
                     "element %zu: expected [offset, length|null] with integers >= 0", i);
            bad_param(k, "ranges", why);
            goto done;
        }
        rs[i].offset = (uint64_t)json_integer_value(off);
        rs[i].length = json_is_null(len) ? XFER_LENGTH_TO_EOF : (uint64_t)json_integer_value(len);
    }
    if (!engine_failed(k, xfer_job_add_file_ranges(k->x->eng, k->uid, &g, url, path, rs, n)))
        k->result = json_object();
done:
    free(rs);
}

static void job_action(struct call *k,
                       xfer_hr (*fn)(struct xfer_engine *, uid_t, const xfer_guid *))
{
    xfer_guid g;
    if (get_job(k, &g) && !engine_failed(k, fn(k->x->eng, k->uid, &g)))
        k->result = json_object();
}

static void m_job_resume(struct call *k)
{
    job_action(k, xfer_job_resume);
}
static void m_job_suspend(struct call *k)
{
    job_action(k, xfer_job_suspend);
}
static void m_job_cancel(struct call *k)
{
    job_action(k, xfer_job_cancel);
}

static void m_job_complete(struct call *k)
{
    xfer_guid g;
    xfer_hr hr;
    if (!get_job(k, &g))
        return;
    hr = xfer_job_complete(k->x->eng, k->uid, &g);
    if (engine_failed(k, hr))
        return;
    k->result = json_object();
    rpc_put_hr(k->result, hr);
}

static void m_job_set(struct call *k)
{
    const char *prop, *value;
    char err[512];
    xfer_guid g;
    xfer_hr hr;
    if (!get_job(k, &g) || !get_str(k, "prop", NULL, &prop) || !get_str(k, "value", NULL, &value))
        return;
    err[0] = '\0';
    hr = xfer_job_set(k->x->eng, k->uid, &g, prop, value, err, sizeof err);
    if (XFER_FAILED(hr)) {
        k->error = rpc_engine_error(hr, err[0] ? err : xfer_last_error(k->x->eng));
        return;
    }
    k->result = json_object();
    /* "Still fires if set after the event" (semantics.md §1.12). */
    if (strcmp(prop, "notify_cmdline") == 0 || strcmp(prop, "notify_flags") == 0)
        xd_notify_check_job(k->x->notify, &g);
}

static void m_job_get(struct call *k)
{
    const char *prop;
    char *buf;
    xfer_guid g;
    if (!get_job(k, &g) || !get_str(k, "prop", NULL, &prop))
        return;
    buf = malloc(65536);
    if (!buf) {
        k->error = rpc_error_object(RPC_INTERNAL_ERROR, "out of memory", NULL);
        return;
    }
    buf[0] = '\0';
    if (!engine_failed(k, xfer_job_get(k->x->eng, k->uid, &g, prop, buf, 65536)))
        k->result = json_pack("{s:s}", "value", buf);
    free(buf);
}

static void m_job_props(struct call *k)
{
    const char *const *p;
    k->result = json_array();
    for (p = xfer_job_props(); *p; p++)
        json_array_append_new(k->result, json_string(*p));
}

/* The job object of g as owner sees it. NULL with k->error. */
static json_t *job_object(struct call *k, uid_t owner, const xfer_guid *g, bool files)
{
    struct xfer_job_info *info = NULL;
    char cmd[8192];
    json_t *o;
    if (engine_failed(k, xfer_job_info(k->x->eng, owner, g, &info)))
        return NULL;
    if (XFER_FAILED(xfer_job_get(k->x->eng, owner, g, "notify_cmdline", cmd, sizeof cmd)))
        cmd[0] = '\0';
    o = rpc_job_json(info, cmd, files);
    free(info);
    return o;
}

static void m_job_info(struct call *k)
{
    xfer_guid g;
    if (get_job(k, &g))
        k->result = job_object(k, k->uid, &g, true);
}

/*
 * job.list outside a batch writes its reply line itself, one job at a time:
 * 10,000 job objects held as one JSON tree cost about 30 MiB, their text 6.
 * The envelope's members are those of rpc_result_response; every value in it
 * is jansson's text. false with k->error when the call fails.
 */
static bool stream_job_list(struct call *k, const json_t *id, struct evbuffer *out)
{
    xfer_guid *all = NULL;
    size_t n = 0;
    uid_t owner;
    if (!get_scope(k, &owner) || engine_failed(k, xfer_job_enum(k->x->eng, owner, &all, &n)))
        return false;
    char *ids = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
    evbuffer_add_printf(out, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":[", ids ? ids : "null");
    free(ids);
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        json_t *o = job_object(k, owner, &all[i], false);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (text) {
            if (!first)
                evbuffer_add(out, ",", 1);
            evbuffer_add(out, text, strlen(text));
            first = false;
        }
        free(text);
        json_decref(o);
        json_decref(k->error); /* a job that went away meanwhile is simply not listed */
        k->error = NULL;
    }
    evbuffer_add(out, "]}\n", 3);
    free(all);
    return true;
}

static void m_job_list(struct call *k)
{
    xfer_guid *all = NULL;
    size_t n = 0, i;
    uid_t owner;
    if (!get_scope(k, &owner) || engine_failed(k, xfer_job_enum(k->x->eng, owner, &all, &n)))
        return;
    k->result = json_array();
    for (i = 0; i < n; i++) {
        json_t *o = job_object(k, owner, &all[i], false);
        if (o)
            json_array_append_new(k->result, o);
        json_decref(k->error); /* a job that went away meanwhile is simply not listed */
        k->error = NULL;
    }
    free(all);
}

static void m_job_history(struct call *k)
{
    struct xfer_transition *t = NULL;
    size_t n = 0, i;
    xfer_guid g;
    if (!get_job(k, &g) || engine_failed(k, xfer_job_history(k->x->eng, k->uid, &g, &t, &n)))
        return;
    k->result = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(k->result, rpc_transition_json(&t[i]));
    free(t);
}

/* ------------------------------------------------------------------ events */

static void m_events_subscribe(struct call *k)
{
    json_t *jobs = json_object_get(k->params, "jobs");
    json_t *types = json_object_get(k->params, "types");
    json_t *pms = json_object_get(k->params, "progress_ms"), *v;
    xfer_guid *gs = NULL;
    uint32_t mask = 0;
    int64_t progress_ms = 500;
    bool all;
    size_t i;
    struct xd_sub *sub;
    uid_t scope;

    if (!get_scope(k, &scope))
        return;
    all = scope == XFER_OWNER_ANY;
    if (pms) {
        if (!json_is_integer(pms) || json_integer_value(pms) < 0) {
            bad_param(k, "progress_ms", "expected an integer >= 0");
            return;
        }
        progress_ms = json_integer_value(pms);
    }
    if (types) {
        if (!json_is_array(types)) {
            bad_param(k, "types", "expected an array of event type names");
            return;
        }
        json_array_foreach(types, i, v)
        {
            uint32_t bit = xd_event_type_bit(json_string_value(v));
            if (!bit) {
                bad_param(k, "types",
                          "unknown event type (state, progress, file, restart, platform, notify, "
                          "group)");
                return;
            }
            mask |= bit;
        }
    } else {
        mask = (1u << XD_EVENT_TYPE_COUNT) - 1;
    }
    if (jobs) {
        if (!json_is_array(jobs)) {
            bad_param(k, "jobs", "expected an array of jobs (GUID or name)");
            return;
        }
        gs = calloc(json_array_size(jobs) + 1, sizeof *gs);
        if (!gs) {
            k->error = rpc_error_object(RPC_INTERNAL_ERROR, "out of memory", NULL);
            return;
        }
        json_array_foreach(jobs, i, v)
        {
            struct xfer_job_info *info = NULL;
            if (!json_is_string(v)) {
                bad_param(k, "jobs", "expected an array of strings");
                goto done;
            }
            if (!resolve_job(k, json_string_value(v), "jobs", &gs[i]))
                goto done;
            /* The caller must see it. */
            if (engine_failed(k, xfer_job_info(k->x->eng, scope, &gs[i], &info)))
                goto done;
            free(info);
        }
    }
    sub =
        xd_sub_new(k->conn->next_sub, mask, all, gs, jobs ? json_array_size(jobs) : 0, progress_ms);
    if (!sub) {
        k->error = rpc_error_object(RPC_INTERNAL_ERROR, "out of memory", NULL);
        goto done;
    }
    k->conn->next_sub++;
    xd_conn_subscribe(k->conn, sub);
    k->result = json_pack("{s:I}", "subscription", (json_int_t)sub->id);
done:
    free(gs);
}

static void m_events_unsubscribe(struct call *k)
{
    json_t *v = json_object_get(k->params, "subscription");
    if (!json_is_integer(v)) {
        bad_param(k, "subscription", v ? "expected an integer" : "missing");
        return;
    }
    if (!xd_conn_unsubscribe(k->conn, (long)json_integer_value(v))) {
        bad_param(k, "subscription", "no such subscription on this connection");
        return;
    }
    k->result = json_object();
}

/* ------------------------------------------------------------------ groups */

static void m_group_create(struct call *k)
{
    const char *name, *cmd;
    if (get_str(k, "name", NULL, &name) && get_str(k, "cmdline", "", &cmd)) {
        if (!name[0]) {
            bad_param(k, "name", "must not be empty");
            return;
        }
        k->error = xd_group_create(k->x->groups, k->uid, name, cmd, &k->result);
    }
}

static void m_group_add(struct call *k)
{
    const char *name;
    xfer_guid g;
    struct xfer_job_info *info = NULL;
    if (!get_str(k, "group", NULL, &name) || !get_job(k, &g))
        return;
    if (engine_failed(k, xfer_job_info(k->x->eng, k->uid, &g, &info)))
        return;
    free(info);
    k->error = xd_group_add(k->x->groups, k->uid, name, &g, &k->result);
}

static void m_group_enable(struct call *k)
{
    const char *name;
    if (get_str(k, "group", NULL, &name))
        k->error = xd_group_enable(k->x->groups, k->uid, name, &k->result);
}

static void m_group_info(struct call *k)
{
    const char *name;
    if (get_str(k, "group", NULL, &name))
        k->error = xd_group_info(k->x->groups, k->uid, name, &k->result);
}

/* ------------------------------------------------------------------ platform, clock */

static void m_platform_get(struct call *k)
{
    struct xfer_platform p;
    xfer_engine_platform(k->x->eng, &p);
    k->result = rpc_platform_json(&p);
}

static void m_platform_set(struct call *k)
{
    struct xfer_platform p, before;
    char err[256];
    xfer_engine_platform(k->x->eng, &p);
    before = p;
    if (rpc_platform_apply(k->params, &p, err, sizeof err) < 0) {
        char *colon = strchr(err, ':');
        char param[64];
        snprintf(param, sizeof param, "%.*s", colon ? (int)(colon - err) : 0, err);
        bad_param(k, param[0] ? param : "platform", err);
        return;
    }
    xfer_platform_sim_push(k->x->sim, &p);
    k->result = json_object();
    if (memcmp(&before, &p, sizeof p) != 0) {
        json_t *ev = rpc_platform_json(&p);
        int64_t now = xfer_engine_now(k->x->eng);
        json_object_set_new(ev, "time_ms", json_integer(now));
        xd_server_broadcast(k->x->srv, "platform", NULL, XFER_OWNER_ANY, now, ev);
        json_decref(ev);
    }
}

static void m_clock_get(struct call *k)
{
    k->result = clock_json(k->x);
}

static void m_clock_sync(struct call *k)
{
    json_t *w = json_object_get(k->params, "wall0_ns"), *s = json_object_get(k->params, "sim0_ms");
    if (!json_is_integer(w)) {
        bad_param(k, "wall0_ns", w ? "expected an integer" : "missing");
        return;
    }
    if (!json_is_integer(s)) {
        bad_param(k, "sim0_ms", s ? "expected an integer" : "missing");
        return;
    }
    k->x->clock.wall0_ns = json_integer_value(w);
    k->x->clock.sim0_ms = json_integer_value(s);
    xfer_engine_clock_jumped(k->x->eng);
    xd_notify_clock_jumped(k->x->notify);
    k->result = json_pack("{s:I}", "now_ms", (json_int_t)xfer_engine_now(k->x->eng));
}

/* ------------------------------------------------------------------ table */

static const struct method {
    const char *name;
    handler_fn fn;
    bool sim_only; /* -32601 unless --platform sim */
} methods[] = {
    {"service.info", m_service_info, false},
    {"job.create", m_job_create, false},
    {"job.add_file", m_job_add_file, false},
    {"job.add_file_ranges", m_job_add_file_ranges, false},
    {"job.resume", m_job_resume, false},
    {"job.suspend", m_job_suspend, false},
    {"job.cancel", m_job_cancel, false},
    {"job.complete", m_job_complete, false},
    {"job.set", m_job_set, false},
    {"job.get", m_job_get, false},
    {"job.props", m_job_props, false},
    {"job.info", m_job_info, false},
    {"job.list", m_job_list, false},
    {"job.history", m_job_history, false},
    {"events.subscribe", m_events_subscribe, false},
    {"events.unsubscribe", m_events_unsubscribe, false},
    {"group.create", m_group_create, false},
    {"group.add", m_group_add, false},
    {"group.enable", m_group_enable, false},
    {"group.info", m_group_info, false},
    {"platform.get", m_platform_get, false},
    {"platform.set", m_platform_set, true},
    {"clock.get", m_clock_get, false},
    {"clock.sync", m_clock_sync, true},
};

static json_t *known_methods(const struct xferd *x)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (!methods[i].sim_only || x->o.platform_sim)
            json_array_append_new(a, json_string(methods[i].name));
    return a;
}

json_t *xd_dispatch(struct xferd *x, struct xd_conn *c, const struct rpc_request *req,
                    struct evbuffer *out)
{
    struct call k = {.x = x, .conn = c, .uid = c->uid};
    const struct method *m = NULL;
    json_t *resp;
    size_t i;

    for (i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i].name, req->method) == 0)
            m = &methods[i];
    if (!m || (m->sim_only && !x->o.platform_sim)) {
        if (!req->id)
            return NULL;
        return rpc_error_response(
            req->id, RPC_METHOD_NOT_FOUND,
            m ? "Method not found (needs --platform sim)" : "Method not found",
            json_pack("{s:s, s:o}", "method", req->method, "known", known_methods(x)));
    }
    if (req->params && !json_is_object(req->params)) {
        if (!req->id)
            return NULL;
        return rpc_invalid_params(req->id, "params", "expected an object (named params)");
    }
    k.params = req->params ? json_incref(req->params) : json_object();
    if (out && req->id && m->fn == m_job_list && stream_job_list(&k, req->id, out)) {
        json_decref(k.params);
        return NULL;
    }
    if (!k.error)
        m->fn(&k);
    json_decref(k.params);
    if (!req->id) {
        json_decref(k.result);
        json_decref(k.error);
        return NULL;
    }
    if (k.error) {
        json_decref(k.result);
        resp = rpc_error_response(req->id, 0, NULL, NULL);
        json_object_set_new(resp, "error", k.error);
        return resp;
    }
    if (!k.result)
        return rpc_error_response(req->id, RPC_INTERNAL_ERROR, "Internal error", NULL);
    return rpc_result_response(req->id, k.result);
}
