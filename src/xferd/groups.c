/*
 * groups: completion groups on xferd.db (see groups.h).
 */
#include "groups.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobjson.h"
#include "log.h"
#include "notify.h"
#include "rpc.h"
#include "server.h"
#include "spawn.h"

struct xd_groups {
    struct xferd *x;
};

/* A command that is running: what its exit is reported with. */
struct firing {
    struct xd_groups *g;
    uid_t owner;
    char *name;
    char *cmdline;
};

struct xd_groups *xd_groups_new(struct xferd *x)
{
    struct xd_groups *g = calloc(1, sizeof *g);
    if (g)
        g->x = x;
    return g;
}

void xd_groups_free(struct xd_groups *g)
{
    free(g);
}

static json_t *db_error(struct xd_groups *g)
{
    return rpc_error_object(RPC_INTERNAL_ERROR, "xferd.db",
                            json_pack("{s:s}", "reason", sqlite3_errmsg(g->x->db)));
}

static json_t *not_found(const char *name, uid_t owner)
{
    const struct xfer_error_row *r = xfer_error_by_name("BG_E_NOT_FOUND");
    char why[512];
    snprintf(why, sizeof why, "no group '%s' for uid %u", name, (unsigned)owner);
    return rpc_engine_error(r->hr, why);
}

static json_t *invalid_state(const char *why)
{
    return rpc_engine_error(xfer_error_by_name("BG_E_INVALID_STATE")->hr, why);
}

/* Load a group: 1 found, 0 not, -1 db error. Strings are the caller's (free). */
static int load(struct xd_groups *g, uid_t owner, const char *name, char **cmdline, int *enabled,
                int *fired, int64_t *fired_ms)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (sqlite3_prepare_v2(g->x->db,
                           "SELECT cmdline, enabled, fired, fired_ms FROM groups "
                           "WHERE owner=? AND name=?",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, owner);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (cmdline)
            *cmdline = strdup((const char *)sqlite3_column_text(st, 0));
        if (enabled)
            *enabled = sqlite3_column_int(st, 1);
        if (fired)
            *fired = sqlite3_column_int(st, 2);
        if (fired_ms)
            *fired_ms = sqlite3_column_int64(st, 3);
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    return rc;
}

static int exec_sql(struct xd_groups *g, const char *sql, uid_t owner, const char *name,
                    const char *text, int64_t num)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (sqlite3_prepare_v2(g->x->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, owner);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_bind_parameter_count(st) >= 3) {
        if (text)
            sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(st, 3, num);
    }
    if (sqlite3_bind_parameter_count(st) >= 4)
        sqlite3_bind_int64(st, 4, num);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

json_t *xd_group_create(struct xd_groups *g, uid_t owner, const char *name, const char *cmdline,
                        json_t **result)
{
    int found = load(g, owner, name, NULL, NULL, NULL, NULL);
    if (found < 0)
        return db_error(g);
    if (found)
        return rpc_error_object(
            RPC_INVALID_PARAMS, "Invalid params",
            json_pack("{s:s, s:s}", "param", "name", "reason", "a group of that name exists"));
    if (exec_sql(g,
                 "INSERT INTO groups(owner, name, cmdline, enabled, fired, fired_ms) "
                 "VALUES(?, ?, ?, 0, 0, 0)",
                 owner, name, cmdline ? cmdline : "", 0) < 0)
        return db_error(g);
    *result = json_pack("{s:s}", "group", name);
    return NULL;
}

json_t *xd_group_add(struct xd_groups *g, uid_t owner, const char *name, const xfer_guid *job,
                     json_t **result)
{
    char gs[XFER_GUID_LEN];
    int enabled = 0, found = load(g, owner, name, NULL, &enabled, NULL, NULL);
    if (found < 0)
        return db_error(g);
    if (!found)
        return not_found(name, owner);
    if (enabled)
        return invalid_state("the group is enabled: no job can be added to it");
    xfer_guid_format(job, gs);
    if (exec_sql(g,
                 "INSERT OR IGNORE INTO group_jobs(owner, name, guid, seq) VALUES(?, ?, ?, "
                 "(SELECT COUNT(*) FROM group_jobs))",
                 owner, name, gs, 0) < 0)
        return db_error(g);
    *result = json_object();
    return NULL;
}

/* The group's jobs, oldest first, as GUID strings. NULL on db error. */
static json_t *members(struct xd_groups *g, uid_t owner, const char *name)
{
    sqlite3_stmt *st = NULL;
    json_t *a = json_array();
    int rc;
    if (sqlite3_prepare_v2(g->x->db,
                           "SELECT guid FROM group_jobs WHERE owner=? AND name=? ORDER BY seq", -1,
                           &st, NULL) != SQLITE_OK) {
        json_decref(a);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, owner);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(a, json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static bool job_ended(struct xd_groups *g, const char *gs)
{
    struct xfer_job_info *info = NULL;
    xfer_guid id;
    bool ended = true;
    if (!xfer_guid_parse(gs, &id) ||
        XFER_FAILED(xfer_job_info(g->x->eng, XFER_OWNER_ANY, &id, &info)))
        return true; /* gone from the store: it ended */
    switch (info->state) {
    case XFER_QUEUED:
    case XFER_CONNECTING:
    case XFER_TRANSFERRING:
    case XFER_SUSPENDED:
    case XFER_TRANSIENT_ERROR:
        ended = false;
        break;
    case XFER_ERROR:
    case XFER_TRANSFERRED:
    case XFER_ACKNOWLEDGED:
    case XFER_CANCELLED:
        ended = true;
        break;
    }
    free(info);
    return ended;
}

static void on_group_exit(void *arg, int code)
{
    struct firing *f = arg;
    struct xferd *x = f->g->x;
    int64_t now = xfer_engine_now(x->eng);
    json_t *p = json_pack("{s:s, s:I, s:s, s:i}", "group", f->name, "time_ms", (json_int_t)now,
                          "cmdline", f->cmdline, "exit", code);
    xl_log(XL_LOG_INFO, "groups", "group '%s' command exited %d", f->name, code);
    /* Not about a job: the owner's subscriptions (and root's with all_users) get it. */
    if (p)
        xd_server_broadcast(x->srv, "group", NULL, f->owner, now, p);
    json_decref(p);
    xd_notify_slot_free(x->notify, f->owner);
    free(f->name);
    free(f->cmdline);
    free(f);
}

/* Fire the group if it is enabled, not fired, and every job ended. */
static void check(struct xd_groups *g, uid_t owner, const char *name)
{
    struct xferd *x = g->x;
    char *cmdline = NULL, err[256], eg[600];
    int enabled = 0, fired = 0;
    json_t *jobs = NULL, *v;
    size_t i;
    int64_t now;
    struct firing *f = NULL;
    const char *env[2];

    if (load(g, owner, name, &cmdline, &enabled, &fired, NULL) != 1 || !enabled || fired)
        goto done;
    if (!(jobs = members(g, owner, name)))
        goto done;
    json_array_foreach(jobs, i, v)
    {
        if (!job_ended(g, json_string_value(v)))
            goto done;
    }
    now = xfer_engine_now(x->eng);
    if (exec_sql(g, "UPDATE groups SET fired=1, fired_ms=?3 WHERE owner=?1 AND name=?2", owner,
                 name, NULL, now) < 0) {
        xl_log(XL_LOG_ERROR, "groups", "xferd.db: %s", sqlite3_errmsg(x->db));
        goto done;
    }
    xl_log(XL_LOG_INFO, "groups", "group '%s' of uid %u complete", name, (unsigned)owner);
    f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(name)) || !(f->cmdline = strdup(cmdline ? cmdline : "")))
        goto done;
    f->g = g;
    f->owner = owner;
    if (!f->cmdline[0]) {
        json_t *p = json_pack("{s:s, s:I, s:s, s:n}", "group", name, "time_ms", (json_int_t)now,
                              "cmdline", "", "exit");
        if (p)
            xd_server_broadcast(x->srv, "group", NULL, owner, now, p);
        json_decref(p);
        goto done;
    }
    snprintf(eg, sizeof eg, "XFER_GROUP=%s", name);
    env[0] = eg;
    env[1] = NULL;
    if (xd_spawn_run(x->spawn, owner, f->cmdline, env, on_group_exit, f, err, sizeof err) < 0) {
        xl_log(XL_LOG_ERROR, "groups", "group '%s': %s", name, err);
        on_group_exit(f, 127);
    }
    f = NULL;
done:
    if (f) {
        free(f->name);
        free(f->cmdline);
        free(f);
    }
    json_decref(jobs);
    free(cmdline);
}

json_t *xd_group_enable(struct xd_groups *g, uid_t owner, const char *name, json_t **result)
{
    int enabled = 0, found = load(g, owner, name, NULL, &enabled, NULL, NULL);
    if (found < 0)
        return db_error(g);
    if (!found)
        return not_found(name, owner);
    if (enabled)
        return invalid_state("the group is already enabled");
    if (exec_sql(g, "UPDATE groups SET enabled=1 WHERE owner=? AND name=?", owner, name, NULL, 0) <
        0)
        return db_error(g);
    *result = json_object();
    check(g, owner, name);
    return NULL;
}

json_t *xd_group_info(struct xd_groups *g, uid_t owner, const char *name, json_t **result)
{
    char *cmdline = NULL;
    int enabled = 0, fired = 0;
    int64_t fired_ms = 0;
    json_t *jobs;
    int found = load(g, owner, name, &cmdline, &enabled, &fired, &fired_ms);
    if (found < 0)
        return db_error(g);
    if (!found)
        return not_found(name, owner);
    jobs = members(g, owner, name);
    if (!jobs) {
        free(cmdline);
        return db_error(g);
    }
    *result = json_pack("{s:s, s:s, s:b, s:o, s:b, s:o}", "name", name, "cmdline",
                        cmdline ? cmdline : "", "enabled", enabled, "jobs", jobs, "fired", fired,
                        "fired_ms", fired ? json_integer(fired_ms) : json_null());
    free(cmdline);
    return NULL;
}

/* Check the groups selected by sql (bound to text when given). */
static void check_where(struct xd_groups *g, const char *sql, const char *text)
{
    sqlite3_stmt *st = NULL;
    struct pending {
        uid_t owner;
        char *name;
    } *list = NULL;
    size_t n = 0, i;
    if (sqlite3_prepare_v2(g->x->db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct pending *nl = realloc(list, (n + 1) * sizeof *nl);
        if (!nl)
            break;
        list = nl;
        list[n].owner = (uid_t)sqlite3_column_int64(st, 0);
        list[n].name = strdup((const char *)sqlite3_column_text(st, 1));
        if (list[n].name)
            n++;
    }
    sqlite3_finalize(st);
    for (i = 0; i < n; i++) {
        check(g, list[i].owner, list[i].name);
        free(list[i].name);
    }
    free(list);
}

void xd_groups_on_event(struct xd_groups *g, const struct xfer_event *ev)
{
    char gs[XFER_GUID_LEN];
    if (ev->type != XFER_EV_STATE)
        return;
    xfer_guid_format(&ev->job, gs);
    check_where(g,
                "SELECT g.owner, g.name FROM groups g JOIN group_jobs j "
                "ON g.owner=j.owner AND g.name=j.name WHERE j.guid=? AND g.enabled=1 "
                "AND g.fired=0",
                gs);
}

void xd_groups_check_all(struct xd_groups *g)
{
    check_where(g, "SELECT owner, name FROM groups WHERE enabled=1 AND fired=0", NULL);
}
