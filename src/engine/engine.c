/*
 * engine: the public API of xfer.h over jobs (engine.h has the module map).
 *
 * Every call finds the job by GUID among the caller's own (BG_E_NOT_FOUND
 * otherwise), validates its arguments before touching anything (a rejected
 * call leaves job and store as they were and says why in xfer_last_error),
 * then applies the transition table: eng_trigger asks st_next() what the
 * trigger does and eng_set_state makes the move. eng_set_state is the only
 * writer of job->state; it records the transition, writes the job to the
 * store in one transaction and emits the event.
 *
 * Jobs that reach a final state leave the store at once; eng_reap keeps the
 * newest of them in memory for callers that still hold their GUID.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "engine.h"
#include "log.h"
#include "partial.h"

#define MAX_NAME 256  /* display name */
#define MAX_URL  2083 /* INTERNET_MAX_URL_LENGTH */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t eng_now(const struct xfer_engine *e)
{
    return xl_clock_now_ms(e->clock) + e->time_base;
}

int64_t xfer_engine_now(const struct xfer_engine *e)
{
    return eng_now(e);
}

/* Record why the last call failed and return its HRESULT. */
static xfer_hr refuse(struct xfer_engine *e, enum xe_id id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static xfer_hr refuse(struct xfer_engine *e, enum xe_id id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->last_err, sizeof e->last_err, fmt, ap);
    va_end(ap);
    return xe_hr(id);
}

const char *xfer_last_error(const struct xfer_engine *e)
{
    return e->last_err;
}

void eng_emit(struct xfer_engine *e, const struct xfer_event *ev)
{
    if (e->cfg.on_event)
        e->cfg.on_event(e->cfg.event_arg, ev);
}

void eng_save(struct xfer_engine *e, struct job *j)
{
    if (j->gone)
        return;
    if (store_save_job(e->store, j) != 0)
        xl_log(XL_LOG_ERROR, "engine", "cannot save job: %s", store_errmsg(e->store));
}

void eng_kick(struct xfer_engine *e)
{
    if (!e->closing)
        event_active(e->kick, 0, 0);
}

/* Append a transition to the job's history (the store gets it with the next save). */
static struct xfer_transition record(struct xfer_engine *e, struct job *j, enum xfer_state old,
                                     enum xfer_state to, const char *cause, xfer_hr hr)
{
    struct xfer_transition t = {.time_ms = eng_now(e), .old_state = old, .new_state = to, .hr = hr};
    snprintf(t.cause, sizeof t.cause, "%s", cause);
    if (job_hist_append(j, &t) != 0)
        xl_log(XL_LOG_ERROR, "engine", "out of memory recording a transition");
    return t;
}

/* Tell the listener about a transition, once it is in the store. */
static void announce(struct xfer_engine *e, const struct job *j, const struct xfer_transition *t)
{
    struct xfer_event ev = {.type = XFER_EV_STATE,
                            .job = j->guid,
                            .owner = j->owner,
                            .time_ms = t->time_ms,
                            .old_state = t->old_state,
                            .new_state = t->new_state,
                            .cause_hr = t->hr,
                            .cause = t->cause,
                            .file = -1};
    eng_emit(e, &ev);
}

void eng_set_state(struct xfer_engine *e, struct job *j, enum xfer_state to, enum st_trigger cause,
                   xfer_hr hr)
{
    enum xfer_state old = j->state;
    int64_t now = eng_now(e);
    if (st_is_moving(old) && !st_is_moving(to)) {
        fetch_stop(e, j, true);
        if (j->active_since >= 0)
            j->active_ms += now - j->active_since;
        j->active_since = -1;
        j->slice_end = -1;
    } else if (!st_is_moving(old) && st_is_moving(to)) {
        j->active_since = now;
    }
    j->state = to;
    if (to != XFER_TRANSIENT_ERROR) {
        j->retry_at = -1;
        j->blocked_hr = 0;
    }
    if (to == XFER_TRANSFERRED)
        j->transferred_wall = wall_ms();
    j->modified_wall = wall_ms();
    if (st_is_final(to)) {
        j->gone = true;
        if (j->id && store_delete_job(e->store, j->id) != 0)
            xl_log(XL_LOG_ERROR, "engine", "cannot delete job: %s", store_errmsg(e->store));
    }
    struct xfer_transition t = record(e, j, old, to, st_trigger_name(cause), hr);
    eng_save(e, j);
    announce(e, j, &t); /* after the save: a listener never sees a state the store lacks */
    eng_kick(e);
}

xfer_hr eng_trigger(struct xfer_engine *e, struct job *j, enum st_trigger t, xfer_hr hr)
{
    const struct st_row *row = st_next(j->state, t, j->type);
    if (!row)
        return 0;
    if (row->to >= 0 && (enum xfer_state)row->to != j->state)
        eng_set_state(e, j, (enum xfer_state)row->to, t, hr);
    return xe_hr(row->result);
}

void eng_set_error(struct xfer_engine *e, struct job *j, xfer_hr hr, enum xfer_context ctx,
                   int file, const char *desc)
{
    (void)e;
    j->err_hr = hr;
    j->err_ctx = ctx;
    j->err_file = file;
    job_set_str(&j->err_desc, desc);
}

static void clear_error(struct job *j)
{
    j->err_hr = 0;
    j->err_ctx = XFER_CTX_NONE;
    j->err_file = -1;
    job_set_str(&j->err_desc, NULL);
}

void eng_fail(struct xfer_engine *e, struct job *j, xfer_hr hr, bool transient, int file,
              const char *desc, int64_t retry_after_ms)
{
    int64_t now = eng_now(e);
    const struct xfer_error_row *row = xfer_error_find(hr);
    char copy[512];
    snprintf(copy, sizeof copy, "%s", desc ? desc : (row ? row->message : ""));
    fetch_stop(e, j, true);
    eng_set_error(e, j, hr, row ? row->context : XFER_CTX_UNKNOWN, file, copy);
    j->error_count++;
    xl_log(XL_LOG_INFO, "engine", "job error 0x%08X (%s): %s", (unsigned)hr,
           transient ? "transient" : "fatal", copy);
    if (!transient || j->no_progress_timeout_s == 0) {
        eng_trigger(e, j, ST_FATAL, hr);
        return;
    }
    if (j->no_progress_since < 0)
        j->no_progress_since = now;
    int64_t delay = (j->min_retry_delay_s < ENG_MIN_RETRY_DELAY_S ? ENG_MIN_RETRY_DELAY_S
                                                                  : j->min_retry_delay_s) *
                    1000;
    if (retry_after_ms > delay)
        delay = retry_after_ms;
    j->retry_at = now + delay;
    eng_trigger(e, j, ST_TRANSIENT, hr);
}

/* ------------------------------------------------------------- timers */

void eng_rearm(struct xfer_engine *e)
{
    if (e->closing)
        return;
    int64_t due = sched_next_due(e);
    if (due == INT64_MAX) {
        evtimer_del(e->tick);
        return;
    }
    int64_t wait = due - eng_now(e);
    struct timeval tv = xl_clock_wall_tv(e->clock, wait > 0 ? wait : 0);
    /* Round up so the timer never fires a hair before it is due. */
    tv.tv_usec += 1000;
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    evtimer_add(e->tick, &tv);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct xfer_engine *e = arg;
    sched_tick(e);
    sched_run(e);
    eng_rearm(e);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct xfer_engine *e = arg;
    sched_run(e);
    eng_rearm(e);
}

unsigned xfer_engine_in_flight(const struct xfer_engine *e)
{
    return curlev_running(e->curl);
}

unsigned xfer_engine_connecting(const struct xfer_engine *e)
{
    unsigned n = 0;
    for (const struct job *j = e->jobs; j; j = j->next)
        n += !j->gone && fetch_connecting(j);
    return n;
}

int64_t xfer_engine_next_due(const struct xfer_engine *e)
{
    return sched_next_due(e);
}

void xfer_engine_clock_jumped(struct xfer_engine *e)
{
    sched_tick(e);
    sched_run(e);
    eng_rearm(e);
}

/* ------------------------------------------------------------ open/close */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/*
 * The GUID index, so that a call on a job does not walk the list (enumerating
 * 10,000 jobs with xfer_job_info each was quadratic: 0.5 s). Open addressing
 * with linear probing; GUIDs are random, so their first bytes are the hash.
 * Rebuilt when it must grow and after eng_reap frees jobs (no deletions in
 * place). Without it (out of memory) find() walks the list.
 */
static size_t index_slot(const struct xfer_engine *e, const xfer_guid *g)
{
    uint64_t h;
    memcpy(&h, g->b, sizeof h);
    return (size_t)((h * 0x9E3779B97F4A7C15ull) >> 17) & (e->index_cap - 1);
}

static void index_put(struct xfer_engine *e, struct job *j)
{
    size_t i = index_slot(e, &j->guid);
    while (e->index[i])
        i = (i + 1) & (e->index_cap - 1);
    e->index[i] = j;
}

static void index_rebuild(struct xfer_engine *e)
{
    size_t cap = 64;
    while (cap <= 2 * e->njobs)
        cap *= 2;
    free(e->index);
    e->index_cap = 0;
    if (!(e->index = calloc(cap, sizeof *e->index)))
        return;
    e->index_cap = cap;
    for (struct job *j = e->jobs; j; j = j->next)
        index_put(e, j);
}

static void append_job(struct xfer_engine *e, struct job *j)
{
    j->next = NULL;
    if (e->tail)
        e->tail->next = j;
    else
        e->jobs = j;
    e->tail = j;
    e->njobs++;
    if (e->index_cap <= 2 * e->njobs)
        index_rebuild(e);
    else
        index_put(e, j);
}

xfer_hr xfer_engine_open(const struct xfer_config *cfg, struct xfer_engine **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    if (!cfg || !cfg->base || !cfg->store_path) {
        snprintf(err, errlen, "engine: a libevent base and a store path are required");
        return xe_hr(XE_E_INVALIDARG);
    }
    struct xfer_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "engine: out of memory");
        return xe_hr(XE_E_OUTOFMEMORY);
    }
    e->cfg = *cfg;
    e->store_path = dup_or_null(cfg->store_path);
    e->ca_file = dup_or_null(cfg->ca_file);
    e->link_proxy = dup_or_null(cfg->link_proxy);
    e->cfg.store_path = e->store_path;
    e->cfg.ca_file = e->ca_file;
    e->cfg.link_proxy = e->link_proxy;
    e->base = cfg->base;
    e->clock = cfg->clock;
#define DEFAULT(f, v)                                                                              \
    if (!e->cfg.f)                                                                                 \
    e->cfg.f = (v)
    DEFAULT(max_transfers, 100);
    DEFAULT(max_jobs_per_owner, 200);
    DEFAULT(max_jobs, 300);
    DEFAULT(max_files_per_job, 200);
    DEFAULT(max_ranges_per_file, 500);
    DEFAULT(slice_ms, 60 * 1000);
    DEFAULT(checkpoint_ms, 1000);
    DEFAULT(checkpoint_bytes, 16u << 20);
#undef DEFAULT
    xfer_hr hr = xe_hr(XE_E_FAIL);
    struct job **loaded = NULL;
    size_t n = 0;
    if (store_open(e->store_path, &e->store, err, errlen) != 0)
        goto fail;
    if (store_load(e->store, &loaded, &n, err, errlen) != 0)
        goto fail;
    /* Engine time continues from the store's. The saved clock is only written
     * every second or so by sched_tick (and at close), so after a SIGKILL it
     * can be older than the times the jobs recorded since: resume after the
     * newest of those too, or history times would run backwards (and retry
     * delays stretch) when the clock restarted (a reboot). */
    int64_t saved = store_get_clock(e->store);
    for (size_t i = 0; i < n; i++) {
        const struct job *j = loaded[i];
        if (j->nhist > 0 && j->hist[j->nhist - 1].time_ms > saved)
            saved = j->hist[j->nhist - 1].time_ms;
        if (j->last_activity > saved)
            saved = j->last_activity;
    }
    int64_t now = xl_clock_now_ms(e->clock);
    e->time_base = saved > now ? saved - now : 0;
    e->curl = curlev_new(e->base, fetch_done, e);
    e->tick = evtimer_new(e->base, on_tick, e);
    e->kick = event_new(e->base, -1, 0, on_kick, e);
    if (!e->curl || !e->tick || !e->kick) {
        snprintf(err, errlen, "engine: out of memory");
        hr = xe_hr(XE_E_OUTOFMEMORY);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        struct job *j = loaded[i];
        loaded[i] = NULL;
        j->seq = ++e->seq;
        append_job(e, j);
        if (st_is_moving(j->state)) {
            /* It was moving when the service stopped: queue it again; it resumes
             * from its checkpoint. Time spent down does not count as active. */
            j->active_since = -1;
            for (size_t k = 0; k < j->nfiles; k++)
                if (!j->files[k].complete)
                    j->files[k].done = j->files[k].ck_bytes;
            eng_trigger(e, j, ST_RESTORED, 0);
        }
    }
    free(loaded);
    if (eng_platform_start(e) != 0) {
        snprintf(err, errlen, "engine: the %s platform provider did not start",
                 e->cfg.platform->name ? e->cfg.platform->name : "given");
        loaded = NULL;
        goto fail;
    }
    *out = e;
    eng_kick(e);
    return 0;
fail:
    if (loaded) {
        for (size_t i = 0; i < n; i++)
            job_free(loaded[i]);
        free(loaded);
    }
    xfer_engine_close(e);
    return hr;
}

void xfer_engine_close(struct xfer_engine *e)
{
    if (!e)
        return;
    e->closing = true;
    eng_platform_stop(e);
    for (struct job *j = e->jobs; j; j = j->next) {
        if (j->fetch && !j->gone) {
            /* The service stops: keep the checkpoint, the job resumes on open. */
            fetch_stop(e, j, true);
            eng_save(e, j);
        }
    }
    if (e->store)
        store_set_clock(e->store, eng_now(e));
    struct job *j = e->jobs;
    while (j) {
        struct job *next = j->next;
        job_free(j);
        j = next;
    }
    if (e->tick)
        event_free(e->tick);
    if (e->kick)
        event_free(e->kick);
    curlev_free(e->curl);
    store_close(e->store);
    free(e->index);
    free(e->store_path);
    free(e->ca_file);
    free(e->link_proxy);
    free(e);
}

/*
 * Jobs in a final state leave the store and enumeration at once but stay in
 * memory, newest ENG_KEEP_FINAL of them, so a caller holding the GUID gets
 * BG_E_INVALID_STATE (not BG_E_NOT_FOUND) and can still read the final state
 * and history, as a BITS client holding the job's interface can.
 */
void eng_reap(struct xfer_engine *e)
{
    size_t final = 0;
    for (struct job *j = e->jobs; j; j = j->next)
        final += j->gone;
    struct job **pp = &e->jobs;
    e->tail = NULL;
    bool freed = false;
    while (*pp) {
        struct job *j = *pp;
        if (j->gone && final > ENG_KEEP_FINAL) {
            *pp = j->next;
            e->njobs--;
            final--;
            job_free(j);
            freed = true;
        } else {
            e->tail = j;
            pp = &j->next;
        }
    }
    if (freed)
        index_rebuild(e);
}

/* ------------------------------------------------------------- lookup */

static struct job *find(struct xfer_engine *e, uid_t owner, const xfer_guid *g)
{
    if (!g)
        return NULL;
    if (e->index_cap) {
        for (size_t i = index_slot(e, g); e->index[i]; i = (i + 1) & (e->index_cap - 1)) {
            struct job *j = e->index[i];
            if (memcmp(&j->guid, g, sizeof *g) == 0)
                return owner == XFER_OWNER_ANY || j->owner == owner ? j : NULL;
        }
        return NULL;
    }
    for (struct job *j = e->jobs; j; j = j->next)
        if (memcmp(&j->guid, g, sizeof *g) == 0 && (owner == XFER_OWNER_ANY || j->owner == owner))
            return j;
    return NULL;
}

#define FIND_OR_FAIL(j, e, owner, g)                                                               \
    struct job *j = find(e, owner, g);                                                             \
    if (!j)                                                                                        \
    return refuse(e, XE_NOT_FOUND, "no such job")

void xfer_guid_format(const xfer_guid *g, char out[XFER_GUID_LEN])
{
    char s[37];
    uuid_unparse_upper(g->b, s);
    snprintf(out, XFER_GUID_LEN, "{%s}", s);
}

bool xfer_guid_parse(const char *s, xfer_guid *g)
{
    char bare[37];
    size_t n = strlen(s);
    if (n == 38 && s[0] == '{' && s[37] == '}') {
        memcpy(bare, s + 1, 36);
        bare[36] = '\0';
    } else if (n == 36) {
        memcpy(bare, s, 37);
    } else {
        return false;
    }
    return uuid_parse(bare, g->b) == 0;
}

/* ------------------------------------------------------------- create */

xfer_hr xfer_job_create(struct xfer_engine *e, uid_t owner, enum xfer_job_type type,
                        const char *display_name, xfer_guid *out)
{
    switch (type) {
    case XFER_DOWNLOAD:
    case XFER_UPLOAD:
    case XFER_UPLOAD_REPLY:
        break;
    default:
        return refuse(e, XE_E_INVALIDARG, "type: %d is not a job type", (int)type);
    }
    if (!display_name)
        display_name = "";
    if (strlen(display_name) >= MAX_NAME)
        return refuse(e, XE_STRING_TOO_LONG, "display name: %zu characters (at most %d)",
                      strlen(display_name), MAX_NAME - 1);
    size_t mine = 0, all = 0;
    for (struct job *j = e->jobs; j; j = j->next) {
        if (j->gone)
            continue;
        all++;
        if (j->owner == owner)
            mine++;
    }
    if (mine >= e->cfg.max_jobs_per_owner)
        return refuse(e, XE_TOO_MANY_JOBS_PER_USER, "uid %u already has %zu jobs (limit %u)",
                      (unsigned)owner, mine, e->cfg.max_jobs_per_owner);
    if (all >= e->cfg.max_jobs)
        return refuse(e, XE_TOO_MANY_JOBS_PER_MACHINE, "%zu jobs exist (limit %u)", all,
                      e->cfg.max_jobs);
    struct job *j = job_new(type, owner, display_name);
    if (!j)
        return refuse(e, XE_E_OUTOFMEMORY, "out of memory");
    uuid_generate_random(j->guid.b);
    j->created_wall = j->modified_wall = wall_ms();
    j->last_activity = eng_now(e);
    j->seq = ++e->seq;
    struct xfer_transition t = record(e, j, XFER_SUSPENDED, XFER_SUSPENDED, "create", 0);
    if (store_save_job(e->store, j) != 0) {
        job_free(j);
        return refuse(e, XE_E_FAIL, "job store: %s", store_errmsg(e->store));
    }
    append_job(e, j);
    announce(e, j, &t);
    *out = j->guid;
    return 0;
}

/* ------------------------------------------------------------- add file */

static xfer_hr check_url(struct xfer_engine *e, struct job *j, const char *url)
{
    if (!url || !url[0])
        return refuse(e, XE_E_INVALIDARG, "remote URL: empty");
    if (strlen(url) > MAX_URL)
        return refuse(e, XE_STRING_TOO_LONG, "remote URL: %zu characters (at most %d)", strlen(url),
                      MAX_URL);
    CURLU *u = curl_url();
    if (!u)
        return refuse(e, XE_E_OUTOFMEMORY, "out of memory");
    xfer_hr hr = 0;
    char *scheme = NULL, *host = NULL;
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc != CURLUE_OK) {
        hr = refuse(e, XE_E_INVALIDARG, "remote URL '%s': %s", url, curl_url_strerror(rc));
        goto out;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    bool http = scheme && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    bool ftp = scheme && strcmp(scheme, "ftp") == 0;
    if (!http && !ftp) {
        hr = refuse(e, XE_PROTOCOL_NOT_AVAILABLE,
                    "remote URL '%s': scheme '%s' is not supported (http, https, ftp)", url,
                    scheme ? scheme : "");
        goto out;
    }
    if (ftp && j->type != XFER_DOWNLOAD) {
        hr = refuse(e, XE_PROTOCOL_NOT_AVAILABLE,
                    "remote URL '%s': FTP is for downloads only; uploads need HTTP or HTTPS", url);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !host[0]) {
        hr = refuse(e, XE_E_INVALIDARG, "remote URL '%s': no host", url);
        goto out;
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return hr;
}

static xfer_hr check_local(struct xfer_engine *e, const char *path)
{
    if (!path || !path[0])
        return refuse(e, XE_E_INVALIDARG, "local path: empty");
    if (path[0] != '/')
        return refuse(e, XE_E_INVALIDARG, "local path '%s': must be absolute", path);
    if (strlen(path) >= PATH_MAX - 32)
        return refuse(e, XE_FILENAME_TOO_LONG, "local path: %zu characters (at most %d)",
                      strlen(path), PATH_MAX - 33);
    /* No "." or ".." component: the file stays in the directory it names. */
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return refuse(e, XE_E_INVALIDARG, "local path '%s': '.' and '..' are not allowed",
                          path);
        if (len > NAME_MAX)
            return refuse(e, XE_FILENAME_TOO_LONG,
                          "local path '%s': a name of %zu characters (at most %d)", path, len,
                          NAME_MAX);
        p += len;
    }
    const char *slash = strrchr(path, '/');
    if (!slash[1])
        return refuse(e, XE_E_INVALIDARG, "local path '%s': names a directory", path);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    struct stat st;
    if (stat(dir, &st) != 0)
        return refuse(e, xe_classify_errno(errno), "local path '%s': directory %s: %s", path, dir,
                      strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return refuse(e, XE_PATH_NOT_FOUND, "local path '%s': %s is not a directory", path, dir);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return refuse(e, XE_E_INVALIDARG, "local path '%s': is a directory", path);
    return 0;
}

static int cmp_range(const void *a, const void *b)
{
    const struct xfer_range *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return x->length < y->length ? -1 : x->length > y->length;
}

static xfer_hr check_ranges(struct xfer_engine *e, const struct xfer_range *r, size_t n)
{
    if (n == 0 || !r)
        return refuse(e, XE_E_INVALIDARG, "ranges: none given");
    if (n > e->cfg.max_ranges_per_file)
        return refuse(e, XE_TOO_MANY_RANGES_IN_FILE, "ranges: %zu (at most %u per file)", n,
                      e->cfg.max_ranges_per_file);
    for (size_t i = 0; i < n; i++) {
        if (r[i].offset == XFER_LENGTH_TO_EOF)
            return refuse(e, XE_INVALID_RANGE, "range %zu: offset is BG_LENGTH_TO_EOF", i + 1);
        if (r[i].length == 0)
            return refuse(e, XE_E_INVALIDARG, "range %zu: length 0", i + 1);
        if (r[i].length != XFER_LENGTH_TO_EOF && r[i].offset + r[i].length < r[i].offset)
            return refuse(e, XE_INVALID_RANGE, "range %zu: offset + length overflows", i + 1);
    }
    struct xfer_range *s = malloc(n * sizeof *s);
    if (!s)
        return refuse(e, XE_E_OUTOFMEMORY, "out of memory");
    memcpy(s, r, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_range);
    xfer_hr hr = 0;
    for (size_t i = 1; i < n; i++) {
        bool to_eof = s[i - 1].length == XFER_LENGTH_TO_EOF;
        if (to_eof || s[i - 1].offset + s[i - 1].length > s[i].offset) {
            hr = refuse(e, XE_OVERLAPPING_RANGES, "ranges: %llu:%llu overlaps %llu:%llu",
                        (unsigned long long)s[i - 1].offset, (unsigned long long)s[i - 1].length,
                        (unsigned long long)s[i].offset, (unsigned long long)s[i].length);
            break;
        }
    }
    free(s);
    return hr;
}

static xfer_hr add_file(struct xfer_engine *e, uid_t owner, const xfer_guid *g, const char *url,
                        const char *local, const struct xfer_range *ranges, size_t n)
{
    FIND_OR_FAIL(j, e, owner, g);
    if (st_is_final(j->state))
        return refuse(e, XE_INVALID_STATE, "the job is %s", xfer_state_name(j->state));
    if (j->type != XFER_DOWNLOAD && j->nfiles >= 1)
        return refuse(e, XE_TOO_MANY_FILES, "an upload job holds exactly one file");
    if (j->nfiles >= e->cfg.max_files_per_job)
        return refuse(e, XE_TOO_MANY_FILES_IN_JOB, "the job has %zu files (limit %u)", j->nfiles,
                      e->cfg.max_files_per_job);
    xfer_hr hr;
    if ((hr = check_url(e, j, url)) != 0 || (hr = check_local(e, local)) != 0)
        return hr;
    if (ranges) {
        if (j->type != XFER_DOWNLOAD)
            return refuse(e, XE_E_NOTIMPL, "ranges: download jobs only");
        if (j->dynamic_content)
            return refuse(e, XE_E_INVALIDARG, "ranges: not with dynamic content");
        if ((hr = check_ranges(e, ranges, n)) != 0)
            return hr;
    }
    char temp[PATH_MAX];
    if (partial_temp_name(local, temp, sizeof temp) != 0)
        return refuse(e, XE_FILENAME_TOO_LONG, "local path '%s': too long", local);
    if (!job_add_file(j, url, local, temp, ranges, ranges ? n : 0))
        return refuse(e, XE_E_OUTOFMEMORY, "out of memory");
    j->last_activity = eng_now(e);
    j->modified_wall = wall_ms();
    if (store_save_job(e->store, j) != 0) {
        /* Keep memory and store alike: drop the file again. */
        struct jfile *f = &j->files[--j->nfiles];
        free(f->url);
        free(f->local);
        free(f->temp);
        free(f->ranges);
        return refuse(e, XE_E_FAIL, "job store: %s", store_errmsg(e->store));
    }
    return 0;
}

xfer_hr xfer_job_add_file(struct xfer_engine *e, uid_t owner, const xfer_guid *job,
                          const char *remote_url, const char *local_path)
{
    return add_file(e, owner, job, remote_url, local_path, NULL, 0);
}

xfer_hr xfer_job_add_file_ranges(struct xfer_engine *e, uid_t owner, const xfer_guid *job,
                                 const char *remote_url, const char *local_path,
                                 const struct xfer_range *ranges, size_t n)
{
    if (!ranges || n == 0)
        return refuse(e, XE_E_INVALIDARG, "ranges: none given");
    return add_file(e, owner, job, remote_url, local_path, ranges, n);
}

/* ------------------------------------------------------------- methods */

static xfer_hr method_result(struct xfer_engine *e, struct job *j, enum st_trigger t)
{
    const struct st_row *row = st_next(j->state, t, j->type);
    if (row && row->result != XE_S_OK)
        return refuse(e, row->result, "%s is not allowed in state %s", st_trigger_name(t),
                      xfer_state_name(j->state));
    return 0;
}

xfer_hr xfer_job_resume(struct xfer_engine *e, uid_t owner, const xfer_guid *g)
{
    FIND_OR_FAIL(j, e, owner, g);
    enum st_trigger t = j->nfiles == 0 ? ST_RESUME_EMPTY : ST_RESUME;
    xfer_hr hr = method_result(e, j, t);
    if (hr != 0)
        return hr;
    if (j->type != XFER_DOWNLOAD)
        return refuse(e, XE_E_NOTIMPL, "upload jobs cannot be resumed yet");
    if (j->state == XFER_TRANSFERRED && job_current_file(j) >= j->nfiles)
        return 0; /* nothing new to move */
    if (j->state == XFER_ERROR || j->state == XFER_TRANSIENT_ERROR)
        clear_error(j);
    j->active_ms = 0; /* Resume() resets MaxDownloadTime */
    j->no_progress_since = -1;
    j->retries = 0;
    j->last_activity = eng_now(e);
    eng_trigger(e, j, t, 0);
    eng_save(e, j);
    return 0;
}

xfer_hr xfer_job_suspend(struct xfer_engine *e, uid_t owner, const xfer_guid *g)
{
    FIND_OR_FAIL(j, e, owner, g);
    xfer_hr hr = method_result(e, j, ST_SUSPEND);
    if (hr != 0)
        return hr;
    j->last_activity = eng_now(e);
    eng_trigger(e, j, ST_SUSPEND, 0);
    return 0;
}

static void remove_temps(struct job *j)
{
    for (size_t i = 0; i < j->nfiles; i++)
        if (j->files[i].temp)
            unlink(j->files[i].temp);
}

xfer_hr xfer_job_cancel(struct xfer_engine *e, uid_t owner, const xfer_guid *g)
{
    FIND_OR_FAIL(j, e, owner, g);
    xfer_hr hr = method_result(e, j, ST_CANCEL);
    if (hr != 0)
        return hr;
    fetch_stop(e, j, false);
    remove_temps(j);
    eng_trigger(e, j, ST_CANCEL, 0);
    return 0;
}

xfer_hr xfer_job_complete(struct xfer_engine *e, uid_t owner, const xfer_guid *g)
{
    FIND_OR_FAIL(j, e, owner, g);
    xfer_hr hr = method_result(e, j, ST_COMPLETE);
    if (hr != 0)
        return hr;
    fetch_stop(e, j, false);
    bool partial = false;
    for (size_t i = 0; i < j->nfiles; i++) {
        struct jfile *f = &j->files[i];
        if (!f->complete) {
            partial = true;
            unlink(f->temp);
            continue;
        }
        if (rename(f->temp, f->local) == 0)
            continue;
        int err = errno;
        struct stat st;
        if (err == ENOENT && stat(f->local, &st) == 0)
            continue; /* renamed by an earlier Complete that failed on a later file */
        char desc[512];
        snprintf(desc, sizeof desc, "cannot rename %s to %s: %s", f->temp, f->local, strerror(err));
        enum xe_id id = xe_classify_errno(err);
        eng_set_error(e, j, xe_hr(id), XFER_CTX_LOCAL_FILE, (int)i, desc);
        eng_trigger(e, j, ST_COMPLETE_FAILED, xe_hr(id));
        eng_save(e, j);
        return refuse(e, id, "%s", desc);
    }
    eng_trigger(e, j, ST_COMPLETE, 0);
    return partial ? xe_hr(XE_S_PARTIAL_COMPLETE) : 0;
}

/* ------------------------------------------------------------ properties */

xfer_hr xfer_job_set(struct xfer_engine *e, uid_t owner, const xfer_guid *g, const char *prop,
                     const char *value, char *err, size_t errlen)
{
    FIND_OR_FAIL(j, e, owner, g);
    if (st_is_final(j->state))
        return refuse(e, XE_INVALID_STATE, "the job is %s", xfer_state_name(j->state));
    char why[256] = "";
    xfer_hr hr = props_set(e, j, prop, value, why, sizeof why);
    if (err && errlen)
        snprintf(err, errlen, "%s", why);
    if (hr != 0)
        return refuse(e, xe_find(hr) < XE_COUNT ? xe_find(hr) : XE_E_INVALIDARG, "%s", why);
    j->last_activity = eng_now(e);
    j->modified_wall = wall_ms();
    eng_save(e, j);
    eng_reevaluate(e, j, false); /* a new cost policy or priority may block or release it */
    eng_kick(e);
    return 0;
}

xfer_hr xfer_job_get(struct xfer_engine *e, uid_t owner, const xfer_guid *g, const char *prop,
                     char *buf, size_t len)
{
    FIND_OR_FAIL(j, e, owner, g);
    return props_get(j, prop, buf, len);
}

/* -------------------------------------------------------------- reading */

static int winrt_status(const struct job *j)
{
    int s = st_states[j->state].winrt;
    if (s >= 0)
        return j->state == XFER_SUSPENDED && j->nhist <= 1 ? XFER_WINRT_IDLE : s;
    const struct xfer_error_row *row =
        xfer_error_find(j->blocked_hr ? (xfer_hr)j->blocked_hr : j->err_hr);
    /* A job retrying keeps running in WinRT's eyes, whatever the row's usual class. */
    if (!row || row->winrt_status == XFER_WINRT_ERROR)
        return XFER_WINRT_RUNNING;
    return row->winrt_status;
}

xfer_hr xfer_job_info(struct xfer_engine *e, uid_t owner, const xfer_guid *g,
                      struct xfer_job_info **out)
{
    FIND_OR_FAIL(j, e, owner, g);
    size_t strings = 0;
    for (size_t i = 0; i < j->nfiles; i++)
        strings +=
            strlen(j->files[i].url) + strlen(j->files[i].local) + strlen(j->files[i].temp) + 3;
    size_t size =
        sizeof(struct xfer_job_info) + j->nfiles * sizeof(struct xfer_file_info) + strings;
    struct xfer_job_info *in = calloc(1, size);
    if (!in)
        return refuse(e, XE_E_OUTOFMEMORY, "out of memory");
    in->guid = j->guid;
    in->type = j->type;
    in->state = j->state;
    in->priority = j->priority;
    in->owner = j->owner;
    snprintf(in->display_name, sizeof in->display_name, "%s",
             j->display_name ? j->display_name : "");
    snprintf(in->description, sizeof in->description, "%s", j->description ? j->description : "");
    in->created_ms = j->created_wall;
    in->modified_ms = j->modified_wall;
    in->transferred_ms = j->transferred_wall;
    in->cost_flags = j->cost_flags;
    in->no_progress_timeout_s = j->no_progress_timeout_s;
    in->min_retry_delay_s = j->min_retry_delay_s;
    in->max_download_time_s = j->max_download_time_s;
    in->dynamic_content = j->dynamic_content;
    in->notify_flags = j->notify_flags;
    in->files_total = j->nfiles;
    in->bytes_total = job_bytes_total(j);
    in->bytes_done = job_bytes_done(j);
    in->error_count = j->error_count;
    in->error.hr = j->err_hr;
    in->error.context = j->err_ctx;
    in->error.file = j->err_file;
    snprintf(in->error.description, sizeof in->error.description, "%s",
             j->err_desc ? j->err_desc : "");
    in->error.row = j->err_hr ? xfer_error_find(j->err_hr) : NULL;
    in->winrt_status = winrt_status(j);
    in->nfiles = j->nfiles;
    in->files = (struct xfer_file_info *)(in + 1);
    char *p = (char *)(in->files + j->nfiles);
    for (size_t i = 0; i < j->nfiles; i++) {
        const struct jfile *f = &j->files[i];
        struct xfer_file_info *fi = &in->files[i];
        fi->remote_url = p;
        p = stpcpy(p, f->url) + 1;
        fi->local_path = p;
        p = stpcpy(p, f->local) + 1;
        fi->temp_path = p;
        p = stpcpy(p, f->temp) + 1;
        fi->bytes_total = f->total;
        fi->bytes_done = f->done;
        fi->completed = f->complete;
        fi->has_restarted = f->has_restarted;
        fi->has_response_changed = f->response_changed;
        fi->nranges = f->nranges;
        if (f->complete)
            in->files_done++;
    }
    *out = in;
    return 0;
}

xfer_hr xfer_job_enum(struct xfer_engine *e, uid_t owner, xfer_guid **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    xfer_guid *v = malloc((e->njobs ? e->njobs : 1) * sizeof *v);
    if (!v)
        return refuse(e, XE_E_OUTOFMEMORY, "out of memory");
    size_t k = 0;
    for (struct job *j = e->jobs; j; j = j->next)
        if (!j->gone && (owner == XFER_OWNER_ANY || j->owner == owner))
            v[k++] = j->guid;
    *out = v;
    *n = k;
    return 0;
}

xfer_hr xfer_job_history(struct xfer_engine *e, uid_t owner, const xfer_guid *g,
                         struct xfer_transition **out, size_t *n)
{
    FIND_OR_FAIL(j, e, owner, g);
    struct xfer_transition *v = malloc((j->nhist ? j->nhist : 1) * sizeof *v);
    if (!v)
        return refuse(e, XE_E_OUTOFMEMORY, "out of memory");
    if (j->nhist)
        memcpy(v, j->hist, j->nhist * sizeof *v);
    *out = v;
    *n = j->nhist;
    return 0;
}
