/*
 * Tests for src/engine/store.c: every persisted field round-trips, the update
 * and checkpoint paths write what they should and nothing else, deletes
 * cascade, the clock persists, stores that are not ours (newer, corrupt,
 * truncated, scribbled, another application's) are refused and left
 * byte-for-byte unchanged, a row the load cannot trust fails the load, a
 * SIGKILL at random instants never loses a reported commit or tears a state
 * change from its history, and a 10,000-job store loads.
 *
 * Each test works in a private mkdtemp directory under /tmp that its teardown
 * removes. Raw sqlite3 handles inspect and tamper with the files directly.
 * XFER_STORE_SEED overrides the seed of the crash test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

#define ERRLEN 1024

struct fx {
    char dir[64];
    char path[128]; /* dir/store.db */
    pid_t child;    /* a child to kill at teardown, or 0 */
};

/* ------------------------------------------------------------------ helpers */

static int chmod_dirs(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_D || type == FTW_DNR)
        chmod(p, 0700);
    return 0;
}

static int remove_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    remove(p);
    return 0;
}

static void rm_rf(const char *dir)
{
    nftw(dir, chmod_dirs, 16, FTW_PHYS);
    nftw(dir, remove_one, 16, FTW_PHYS | FTW_DEPTH);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/xferlab-store-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/store.db", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    if (fx->child > 0) {
        kill(fx->child, SIGKILL);
        waitpid(fx->child, NULL, 0);
    }
    rm_rf(fx->dir);
    struct stat st;
    int gone = stat(fx->dir, &st) != 0;
    free(fx);
    return gone ? 0 : -1;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static bool side_exists(const char *path, const char *suffix)
{
    char p[256];
    snprintf(p, sizeof p, "%s%s", path, suffix);
    return exists(p);
}

/* The whole file; the caller frees it. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Asserts path's bytes are still want[0..len). */
static void assert_unchanged(const char *path, const unsigned char *want, size_t len)
{
    size_t n;
    unsigned char *now = slurp(path, &n);
    assert_int_equal(n, len);
    assert_memory_equal(now, want, len);
    free(now);
}

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *e = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &e);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, e ? e : "?");
}

static long long raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static long long count_in(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    long long v = raw_int(db, sql);
    sqlite3_close(db);
    return v;
}

static struct store *open_ok(const char *path)
{
    struct store *s = NULL;
    char err[ERRLEN] = "";
    if (store_open(path, &s, err, sizeof err) != 0)
        fail_msg("store_open: %s", err);
    assert_non_null(s);
    return s;
}

/* store_open must refuse path with a message holding path and every word of want (NULL-ended). */
static void assert_refused(const char *path, ...)
{
    struct store *s = NULL;
    char err[ERRLEN] = "";
    assert_int_equal(store_open(path, &s, err, sizeof err), -1);
    assert_null(s);
    print_message("refused: %s\n", err);
    assert_non_null(strstr(err, path));
    va_list ap;
    va_start(ap, path);
    for (const char *w; (w = va_arg(ap, const char *));)
        if (!strstr(err, w))
            fail_msg("'%s' not in: %s", w, err);
    va_end(ap);
}

static struct job **load_ok(struct store *s, size_t *n)
{
    struct job **jobs = NULL;
    char err[ERRLEN] = "";
    if (store_load(s, &jobs, n, err, sizeof err) != 0)
        fail_msg("store_load: %s", err);
    return jobs;
}

static void free_jobs(struct job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        job_free(jobs[i]);
    free(jobs);
}

static void set_guid(struct job *j, unsigned v)
{
    for (int i = 0; i < 16; i++)
        j->guid.b[i] = (unsigned char)(v * 31u + (unsigned)i * 17u + 1u);
    memcpy(j->guid.b, &v, sizeof v);
}

static void hist(struct job *j, int64_t t, enum xfer_state o, enum xfer_state n, xfer_hr hr,
                 const char *cause)
{
    struct xfer_transition tr = {.time_ms = t, .old_state = o, .new_state = n, .hr = hr};
    snprintf(tr.cause, sizeof tr.cause, "%s", cause);
    assert_int_equal(job_hist_append(j, &tr), 0);
}

#define HR_404   ((xfer_hr)(INT32_MIN + 0x190194)) /* 0x80190194 */
#define CAUSE_31 "0123456789abcdefghijklmnopqrstu"

/* A job with a distinctive non-default value in every persisted field. */
static struct job *rich_job(unsigned seed)
{
    struct job *j = job_new(XFER_UPLOAD_REPLY, 4000000123u, "Ünïcode ☃ job 'quoted'; --");
    assert_non_null(j);
    set_guid(j, seed);
    j->state = XFER_TRANSIENT_ERROR;
    j->priority = XFER_FOREGROUND;
    assert_int_equal(job_set_str(&j->description, ""), 0); /* empty, not NULL */
    j->created_wall = 1700000000123;
    j->modified_wall = 1700000000456;
    j->transferred_wall = -7;
    j->cost_flags = 0xFFFFFFFEu;
    j->no_progress_timeout_s = 12345;
    j->min_retry_delay_s = 61;
    j->max_download_time_s = INT64_MAX;
    j->dynamic_content = true;
    assert_int_equal(job_set_str(&j->headers, "X-A: 1\nX-B: two"), 0);
    assert_int_equal(job_set_str(&j->server_creds.scheme, "digest"), 0);
    assert_int_equal(job_set_str(&j->server_creds.user, "alice"), 0);
    assert_int_equal(job_set_str(&j->server_creds.password, "pä'ss\"; DROP TABLE jobs"), 0);
    assert_int_equal(job_set_str(&j->proxy_creds.scheme, "basic"), 0);
    assert_int_equal(job_set_str(&j->proxy_creds.user, ""), 0);
    /* proxy_creds.password stays NULL */
    assert_int_equal(job_set_str(&j->proxy, "socks5h://127.0.0.1:1080"), 0);
    j->notify_flags = 0x8000000Bu;
    assert_int_equal(job_set_str(&j->notify_cmdline, "/bin/echo \"%s\""), 0);
    j->err_hr = HR_404;
    j->err_ctx = XFER_CTX_REMOTE_FILE;
    j->err_file = 2;
    assert_int_equal(job_set_str(&j->err_desc, "Not found: 404"), 0);
    j->error_count = 4000000000u;
    j->retry_at = 987654321;
    j->no_progress_since = 5555;
    j->active_ms = 77777;
    j->active_since = 88888;
    j->last_activity = 99999;
    j->blocked_hr = -2147024891; /* E_ACCESSDENIED */

    struct jfile *f =
        job_add_file(j, "https://example.test/a?x=1&y=2", "/srv/dl/a", "/srv/dl/.a.xfer", NULL, 0);
    assert_non_null(f);
    f->total = 1ull << 40;
    f->done = 12345;
    f->has_restarted = true;
    f->ck_bytes = 12000;
    for (int i = 0; i < 32; i++)
        f->ck_digest[i] = (unsigned char)(i * 7 + (int)seed);
    assert_int_equal(job_set_str(&f->etag, "\"abc\""), 0);
    f->remote_size = UINT64_MAX;

    const struct xfer_range r1[3] = {{0, 100}, {UINT64_MAX, UINT64_MAX}, {(1ull << 63), 5}};
    f = job_add_file(j, "https://example.test/b", "/srv/dl/b", NULL, r1, 3);
    assert_non_null(f);
    f->total = UINT64_MAX;
    f->done = (1ull << 63) + 5;
    f->complete = true;
    f->response_changed = true;
    f->ck_bytes = UINT64_MAX - 1;
    memset(f->ck_digest, 0xFF, sizeof f->ck_digest);
    assert_int_equal(job_set_str(&f->etag, ""), 0);
    assert_int_equal(job_set_str(&f->last_modified, "Wed, 21 Oct 2015 07:28:00 GMT"), 0);
    f->remote_size = 0;

    const struct xfer_range r2[1] = {{5, XFER_LENGTH_TO_EOF}};
    f = job_add_file(j, "ftp://x/y", "", "", r2, 1);
    assert_non_null(f);
    f->total = 0;
    f->complete = true;
    assert_int_equal(job_set_str(&f->last_modified, ""), 0);
    f->remote_size = 42;

    hist(j, 1000, XFER_SUSPENDED, XFER_QUEUED, 0, "resume");
    hist(j, 1001, XFER_QUEUED, XFER_CONNECTING, 0, "scheduled");
    hist(j, 1500, XFER_CONNECTING, XFER_TRANSFERRING, 0, "connected");
    hist(j, -5, XFER_TRANSFERRING, XFER_TRANSIENT_ERROR, HR_404, "network-lost");
    hist(j, INT64_MAX, XFER_TRANSIENT_ERROR, XFER_TRANSIENT_ERROR, -1, CAUSE_31);

    /* runtime fields: must not be stored */
    j->slice_end = 5;
    j->seq = 77;
    j->retries = 3;
    return j;
}

#define assert_str_same(a, b)                                                                      \
    do {                                                                                           \
        if (!(a)) {                                                                                \
            assert_null(b);                                                                        \
        } else {                                                                                   \
            assert_non_null(b);                                                                    \
            assert_string_equal(a, b);                                                             \
        }                                                                                          \
    } while (0)

static void assert_file_eq(const struct jfile *a, const struct jfile *b)
{
    assert_int_equal(a->id, b->id);
    assert_str_same(a->url, b->url);
    assert_str_same(a->local, b->local);
    assert_str_same(a->temp, b->temp);
    assert_int_equal(a->nranges, b->nranges);
    if (a->nranges == 0) {
        assert_null(b->ranges);
    }
    for (size_t k = 0; k < a->nranges; k++) {
        assert_int_equal(a->ranges[k].offset, b->ranges[k].offset);
        assert_int_equal(a->ranges[k].length, b->ranges[k].length);
    }
    assert_int_equal(a->total, b->total);
    assert_int_equal(a->done, b->done);
    assert_int_equal(a->complete, b->complete);
    assert_int_equal(a->has_restarted, b->has_restarted);
    assert_int_equal(a->response_changed, b->response_changed);
    assert_int_equal(a->ck_bytes, b->ck_bytes);
    assert_memory_equal(a->ck_digest, b->ck_digest, sizeof a->ck_digest);
    assert_str_same(a->etag, b->etag);
    assert_str_same(a->last_modified, b->last_modified);
    assert_int_equal(a->remote_size, b->remote_size);
}

/* Every persisted field of want equals got's; got's runtime fields are job_new's. */
static void assert_job_eq(const struct job *want, const struct job *got)
{
    assert_int_equal(want->id, got->id);
    assert_memory_equal(want->guid.b, got->guid.b, 16);
    assert_int_equal(want->owner, got->owner);
    assert_int_equal(want->type, got->type);
    assert_int_equal(want->state, got->state);
    assert_int_equal(want->priority, got->priority);
    assert_str_same(want->display_name, got->display_name);
    assert_str_same(want->description, got->description);
    assert_int_equal(want->created_wall, got->created_wall);
    assert_int_equal(want->modified_wall, got->modified_wall);
    assert_int_equal(want->transferred_wall, got->transferred_wall);
    assert_int_equal(want->cost_flags, got->cost_flags);
    assert_int_equal(want->no_progress_timeout_s, got->no_progress_timeout_s);
    assert_int_equal(want->min_retry_delay_s, got->min_retry_delay_s);
    assert_int_equal(want->max_download_time_s, got->max_download_time_s);
    assert_int_equal(want->dynamic_content, got->dynamic_content);
    assert_str_same(want->headers, got->headers);
    assert_str_same(want->server_creds.scheme, got->server_creds.scheme);
    assert_str_same(want->server_creds.user, got->server_creds.user);
    assert_str_same(want->server_creds.password, got->server_creds.password);
    assert_str_same(want->proxy_creds.scheme, got->proxy_creds.scheme);
    assert_str_same(want->proxy_creds.user, got->proxy_creds.user);
    assert_str_same(want->proxy_creds.password, got->proxy_creds.password);
    assert_str_same(want->proxy, got->proxy);
    assert_int_equal(want->notify_flags, got->notify_flags);
    assert_str_same(want->notify_cmdline, got->notify_cmdline);
    assert_int_equal(want->err_hr, got->err_hr);
    assert_int_equal(want->err_ctx, got->err_ctx);
    assert_int_equal(want->err_file, got->err_file);
    assert_str_same(want->err_desc, got->err_desc);
    assert_int_equal(want->error_count, got->error_count);
    assert_int_equal(want->retry_at, got->retry_at);
    assert_int_equal(want->no_progress_since, got->no_progress_since);
    assert_int_equal(want->active_ms, got->active_ms);
    assert_int_equal(want->active_since, got->active_since);
    assert_int_equal(want->last_activity, got->last_activity);
    assert_int_equal(want->blocked_hr, got->blocked_hr);

    assert_int_equal(want->nfiles, got->nfiles);
    for (size_t i = 0; i < want->nfiles; i++)
        assert_file_eq(&want->files[i], &got->files[i]);

    assert_int_equal(want->nhist, got->nhist);
    assert_int_equal(got->hist_saved, got->nhist);
    for (size_t k = 0; k < want->nhist; k++) {
        assert_int_equal(want->hist[k].time_ms, got->hist[k].time_ms);
        assert_int_equal(want->hist[k].old_state, got->hist[k].old_state);
        assert_int_equal(want->hist[k].new_state, got->hist[k].new_state);
        assert_int_equal(want->hist[k].hr, got->hist[k].hr);
        assert_string_equal(want->hist[k].cause, got->hist[k].cause);
    }

    assert_null(got->fetch);
    assert_int_equal(got->slice_end, -1);
    assert_int_equal(got->seq, 0);
    assert_int_equal(got->retries, 0);
    assert_null(got->next);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ round trip */

static void test_roundtrip_every_field(void **state)
{
    struct fx *fx = *state;
    struct store *s = open_ok(fx->path);

    struct job *a = rich_job(1);
    struct job *b = job_new(XFER_DOWNLOAD, 0, NULL);
    assert_non_null(b);
    set_guid(b, 2);
    assert_int_equal(job_set_str(&b->display_name, NULL), 0); /* NULL, not "" */

    assert_int_equal(store_save_job(s, a), 0);
    assert_int_equal(store_save_job(s, b), 0);
    assert_true(a->id > 0);
    assert_true(b->id > a->id);
    for (size_t i = 0; i < a->nfiles; i++)
        assert_true(a->files[i].id > 0);
    assert_int_equal(a->hist_saved, 5);
    assert_int_equal(b->hist_saved, 0);
    store_close(s);

    /* UINT64_MAX is stored as the int64 of the same bits. */
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT length FROM ranges WHERE file_id = %lld AND idx = 1",
             (long long)a->files[1].id);
    assert_int_equal(count_in(fx->path, sql), -1);

    s = open_ok(fx->path);
    size_t n = 0;
    struct job **jobs = load_ok(s, &n);
    assert_int_equal(n, 2);
    assert_job_eq(a, jobs[0]); /* oldest first */
    assert_job_eq(b, jobs[1]);
    assert_null(jobs[1]->display_name);
    assert_string_equal(jobs[0]->description, "");
    assert_string_equal(jobs[0]->hist[4].cause, CAUSE_31);
    free_jobs(jobs, n);
    store_close(s);
    job_free(a);
    job_free(b);
}

/* ------------------------------------------------------------------ update paths */

static void test_save_twice_and_progress(void **state)
{
    struct fx *fx = *state;
    struct store *s = open_ok(fx->path);
    struct job *j = rich_job(3);
    assert_int_equal(store_save_job(s, j), 0);
    int64_t jid = j->id, f0 = j->files[0].id;

    /* Second save: update the row and files, add a file and one transition. */
    assert_int_equal(job_set_str(&j->display_name, "renamed"), 0);
    assert_int_equal(job_set_str(&j->description, NULL), 0);
    j->files[0].done = 999;
    const struct xfer_range r[2] = {{10, 20}, {30, 40}};
    assert_non_null(job_add_file(j, "http://h/new", "/srv/new", "/srv/.new", r, 2));
    hist(j, 2000, XFER_TRANSIENT_ERROR, XFER_QUEUED, 0, "retry-delay");
    assert_int_equal(j->hist_saved, 5);
    assert_int_equal(store_save_job(s, j), 0);
    assert_int_equal(j->id, jid);
    assert_int_equal(j->files[0].id, f0);
    assert_true(j->files[3].id > j->files[2].id);
    assert_int_equal(j->hist_saved, 6);
    /* A third save with nothing new appends nothing. */
    assert_int_equal(store_save_job(s, j), 0);
    assert_int_equal(j->hist_saved, 6);

    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM jobs"), 1);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM history"), 6);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM files"), 4);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM ranges"), 6);
    assert_int_equal(count_in(fx->path, "SELECT max(seq) FROM history"), 5);
    store_close(s);

    s = open_ok(fx->path);
    size_t n;
    struct job **jobs = load_ok(s, &n);
    assert_int_equal(n, 1);
    assert_job_eq(j, jobs[0]);
    struct job *lj = jobs[0];

    /* A checkpoint of file 1: its progress fields and the job's timers, error and state. */
    struct jfile *f = &lj->files[1];
    f->done = 777;
    f->ck_bytes = 700;
    memset(f->ck_digest, 0x5A, sizeof f->ck_digest);
    assert_int_equal(job_set_str(&f->etag, "\"v2\""), 0);
    assert_int_equal(job_set_str(&f->last_modified, NULL), 0);
    f->remote_size = 123456;
    f->total = 123456;
    f->complete = false;
    f->has_restarted = true;
    f->response_changed = false;
    lj->state = XFER_TRANSFERRING;
    hist(lj, 3000, XFER_QUEUED, XFER_TRANSFERRING, 0, "connected");
    lj->modified_wall = 1800000000000;
    lj->transferred_wall = 1800000000001;
    lj->err_hr = 0;
    lj->err_ctx = XFER_CTX_NONE;
    lj->err_file = -1;
    assert_int_equal(job_set_str(&lj->err_desc, NULL), 0);
    lj->error_count = 9;
    lj->retry_at = -1;
    lj->no_progress_since = -1;
    lj->active_ms = 424242;
    lj->active_since = 3000;
    lj->last_activity = 3001;
    lj->blocked_hr = 0;
    /* ... and changes a checkpoint must not write */
    assert_int_equal(job_set_str(&lj->display_name, "must not persist"), 0);
    lj->priority = XFER_LOW;
    assert_int_equal(job_set_str(&lj->headers, "Changed: yes"), 0);
    lj->cost_flags = 1;
    assert_int_equal(job_set_str(&f->url, "http://changed/"), 0);
    assert_int_equal(job_set_str(&f->local, "/changed"), 0);
    lj->files[0].done = 1;
    lj->files[3].ck_bytes = 5;

    assert_int_equal(store_save_progress(s, lj, f), 0);
    assert_int_equal(lj->hist_saved, 7);
    size_t n2;
    struct job **again = load_ok(s, &n2);
    assert_int_equal(n2, 1);
    struct job *g = again[0];
    /* written */
    struct jfile want = {.id = f->id,
                         .url = j->files[1].url,
                         .local = j->files[1].local,
                         .temp = j->files[1].temp,
                         .ranges = j->files[1].ranges,
                         .nranges = j->files[1].nranges,
                         .total = 123456,
                         .done = 777,
                         .has_restarted = true,
                         .ck_bytes = 700,
                         .etag = "\"v2\"",
                         .remote_size = 123456};
    memset(want.ck_digest, 0x5A, sizeof want.ck_digest);
    assert_file_eq(&want, &g->files[1]);
    assert_int_equal(g->state, XFER_TRANSFERRING);
    assert_int_equal(g->nhist, 7);
    assert_int_equal(g->hist[6].new_state, XFER_TRANSFERRING);
    assert_int_equal(g->modified_wall, 1800000000000);
    assert_int_equal(g->transferred_wall, 1800000000001);
    assert_int_equal(g->err_hr, 0);
    assert_int_equal(g->err_ctx, XFER_CTX_NONE);
    assert_int_equal(g->err_file, -1);
    assert_null(g->err_desc);
    assert_int_equal(g->error_count, 9);
    assert_int_equal(g->retry_at, -1);
    assert_int_equal(g->no_progress_since, -1);
    assert_int_equal(g->active_ms, 424242);
    assert_int_equal(g->active_since, 3000);
    assert_int_equal(g->last_activity, 3001);
    assert_int_equal(g->blocked_hr, 0);
    /* not written */
    assert_string_equal(g->display_name, "renamed");
    assert_int_equal(g->priority, j->priority);
    assert_string_equal(g->headers, j->headers);
    assert_int_equal(g->cost_flags, j->cost_flags);
    assert_int_equal(g->files[0].done, 999);
    assert_int_equal(g->files[3].ck_bytes, 0);
    assert_file_eq(&j->files[0], &g->files[0]);
    assert_file_eq(&j->files[2], &g->files[2]);
    free_jobs(again, n2);

    /* A checkpoint needs a saved job and a file of that job. */
    struct job *fresh = job_new(XFER_DOWNLOAD, 1, "x");
    assert_non_null(job_add_file(fresh, "u", "l", "t", NULL, 0));
    assert_int_equal(store_save_progress(s, fresh, &fresh->files[0]), -1);
    assert_true(strlen(store_errmsg(s)) > 0);
    set_guid(fresh, 99);
    assert_int_equal(store_save_job(s, fresh), 0);
    assert_int_equal(store_save_progress(s, fresh, &lj->files[0]), -1); /* another job's file */
    assert_non_null(strstr(store_errmsg(s), "no such row"));
    job_free(fresh);

    free_jobs(jobs, n);
    store_close(s);
    job_free(j);
}

/* A failed save leaves the store and the job's ids and hist_saved as they were. */
static void test_failed_save_changes_nothing(void **state)
{
    struct fx *fx = *state;
    struct store *s = open_ok(fx->path);
    struct job *a = rich_job(5);
    assert_int_equal(store_save_job(s, a), 0);

    struct job *b = rich_job(5); /* same GUID: the INSERT violates UNIQUE */
    assert_int_equal(store_save_job(s, b), -1);
    print_message("duplicate guid: %s\n", store_errmsg(s));
    assert_non_null(strstr(store_errmsg(s), "UNIQUE"));
    assert_int_equal(b->id, 0);
    for (size_t i = 0; i < b->nfiles; i++)
        assert_int_equal(b->files[i].id, 0);
    assert_int_equal(b->hist_saved, 0);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM jobs"), 1);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM files"), 3);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM ranges"), 4);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM history"), 5);
    set_guid(b, 6);
    assert_int_equal(store_save_job(s, b), 0); /* the store is still usable */
    assert_true(b->id > a->id);

    /* Updating a job whose row is gone fails; new files keep id 0, history stays unsaved. */
    int64_t old = a->id;
    assert_int_equal(store_delete_job(s, a->id), 0);
    assert_non_null(job_add_file(a, "http://h/late", "/l", "/t", NULL, 0));
    hist(a, 5000, XFER_TRANSIENT_ERROR, XFER_QUEUED, 0, "resume");
    assert_int_equal(store_save_job(s, a), -1);
    assert_int_equal(a->id, old);
    assert_int_equal(a->files[3].id, 0);
    assert_int_equal(a->hist_saved, 5);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM jobs"), 1);

    /*
     * A failure late in the transaction, after the job and its files were
     * inserted: a trigger (planted for the test) rejects one history row.
     */
    store_close(s);
    sqlite3 *raw = raw_open(fx->path);
    raw_exec(raw, "CREATE TRIGGER boom BEFORE INSERT ON history WHEN NEW.cause = 'boom' "
                  "BEGIN SELECT RAISE(ABORT, 'boom'); END");
    sqlite3_close(raw);
    s = open_ok(fx->path);
    struct job *c = rich_job(10);
    hist(c, 6000, XFER_TRANSIENT_ERROR, XFER_ERROR, 0, "boom");
    assert_int_equal(store_save_job(s, c), -1);
    assert_non_null(strstr(store_errmsg(s), "boom"));
    assert_int_equal(c->id, 0);
    for (size_t i = 0; i < c->nfiles; i++)
        assert_int_equal(c->files[i].id, 0);
    assert_int_equal(c->hist_saved, 0);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM jobs"), 1);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM files"), 3);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM history"), 5);

    /* The same in a checkpoint: the file's progress does not land without its history row. */
    uint64_t done_before = b->files[0].done;
    b->files[0].done = 31337;
    b->state = XFER_ERROR;
    hist(b, 6001, XFER_TRANSIENT_ERROR, XFER_ERROR, 0, "boom");
    assert_int_equal(store_save_progress(s, b, &b->files[0]), -1);
    assert_int_equal(b->hist_saved, 5);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT done FROM files WHERE id = %lld", (long long)b->files[0].id);
    assert_int_equal(count_in(fx->path, sql), done_before);
    snprintf(sql, sizeof sql, "SELECT state FROM jobs WHERE id = %lld", (long long)b->id);
    assert_int_equal(count_in(fx->path, sql), XFER_TRANSIENT_ERROR);
    snprintf(b->hist[5].cause, sizeof b->hist[5].cause, "fatal-error");
    assert_int_equal(store_save_progress(s, b, &b->files[0]), 0);
    assert_int_equal(b->hist_saved, 6);
    snprintf(sql, sizeof sql, "SELECT done FROM files WHERE id = %lld", (long long)b->files[0].id);
    assert_int_equal(count_in(fx->path, sql), 31337);

    store_close(s);
    job_free(a);
    job_free(b);
    job_free(c);
}

/* ------------------------------------------------------------------ delete */

static void test_delete_cascades(void **state)
{
    struct fx *fx = *state;
    struct store *s = open_ok(fx->path);
    struct job *a = rich_job(7), *b = rich_job(8);
    assert_int_equal(store_save_job(s, a), 0);
    assert_int_equal(store_save_job(s, b), 0);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM ranges"), 8);

    assert_int_equal(store_delete_job(s, a->id), 0);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM files WHERE job_id = %lld", (long long)a->id);
    assert_int_equal(count_in(fx->path, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM history WHERE job_id = %lld", (long long)a->id);
    assert_int_equal(count_in(fx->path, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ranges WHERE file_id IN (%lld, %lld, %lld)",
             (long long)a->files[0].id, (long long)a->files[1].id, (long long)a->files[2].id);
    assert_int_equal(count_in(fx->path, sql), 0);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM ranges WHERE file_id NOT IN "
                                        "(SELECT id FROM files)"),
                     0);
    /* b is untouched */
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM jobs"), 1);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM files"), 3);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM ranges"), 4);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM history"), 5);
    /* a job that is not there: nothing to do */
    assert_int_equal(store_delete_job(s, 123456), 0);

    size_t n;
    struct job **jobs = load_ok(s, &n);
    assert_int_equal(n, 1);
    assert_job_eq(b, jobs[0]);
    free_jobs(jobs, n);
    store_close(s);
    job_free(a);
    job_free(b);
}

/* ------------------------------------------------------------------ clock */

static void test_clock(void **state)
{
    struct fx *fx = *state;
    struct store *s = open_ok(fx->path);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* credentials inside */
    assert_int_equal(store_get_clock(s), 0);
    assert_int_equal(store_set_clock(s, 123456789012), 0);
    assert_int_equal(store_get_clock(s), 123456789012);
    assert_int_equal(store_set_clock(s, 123456789999), 0);
    store_close(s);
    s = open_ok(fx->path);
    assert_int_equal(store_get_clock(s), 123456789999);
    assert_int_equal(store_set_clock(s, INT64_MAX), 0);
    store_close(s);
    s = open_ok(fx->path);
    assert_int_equal(store_get_clock(s), INT64_MAX);
    store_close(s);
    assert_int_equal(count_in(fx->path, "SELECT count(*) FROM meta"), 1);
}

/* One engine per store: a second open of the same file is refused until the first closes. */
static void test_one_engine_per_store(void **state)
{
    struct fx *fx = *state;
    struct store *s = open_ok(fx->path);
    struct store *again = NULL;
    char err[512] = "";
    assert_int_equal(store_open(fx->path, &again, err, sizeof err), -1);
    assert_null(again);
    assert_non_null(strstr(err, fx->path));
    assert_non_null(strstr(err, "in use"));
    store_close(s);
    s = open_ok(fx->path);
    store_close(s);
}

/* ------------------------------------------------------------------ refusals */

static void make_store(const char *path, int njobs)
{
    struct store *s = open_ok(path);
    for (int i = 0; i < njobs; i++) {
        struct job *j = rich_job((unsigned)i + 100);
        assert_int_equal(store_save_job(s, j), 0);
        job_free(j);
    }
    store_close(s);
    assert_false(side_exists(path, "-wal"));
}

static void test_newer_schema_refused(void **state)
{
    struct fx *fx = *state;
    make_store(fx->path, 1);

    /* In the file's header. */
    sqlite3 *raw = raw_open(fx->path);
    raw_exec(raw, "PRAGMA user_version = 2");
    sqlite3_close(raw);
    size_t len;
    unsigned char *before = slurp(fx->path, &len);
    assert_refused(fx->path, "store schema 2 is newer than this build (reads 1)", "refusing", NULL);
    assert_unchanged(fx->path, before, len);
    assert_false(side_exists(fx->path, "-wal"));
    assert_false(side_exists(fx->path, "-shm"));
    free(before);

    /* Only in the WAL (a newer build still has it open): the header still says 1. */
    raw = raw_open(fx->path);
    raw_exec(raw, "PRAGMA user_version = 1");
    sqlite3_close(raw);
    raw = raw_open(fx->path);
    sqlite3_wal_autocheckpoint(raw, 0);
    raw_exec(raw, "PRAGMA user_version = 7");
    before = slurp(fx->path, &len);
    assert_int_equal(before[63], 1);
    assert_refused(fx->path, "store schema 7 is newer", NULL);
    assert_unchanged(fx->path, before, len);
    sqlite3_close(raw);
    free(before);
}

static void test_garbage_refused(void **state)
{
    struct fx *fx = *state;
    unsigned char junk[8192];
    unsigned seed = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        seed = seed * 1103515245u + 12345u;
        junk[i] = (unsigned char)(seed >> 16);
    }
    spit(fx->path, junk, sizeof junk);
    assert_refused(fx->path, "corrupt store (file is not a database)", "move it aside", NULL);
    assert_unchanged(fx->path, junk, sizeof junk);
    assert_false(side_exists(fx->path, "-wal"));
    assert_false(side_exists(fx->path, "-shm"));
    assert_false(side_exists(fx->path, "-journal"));

    /* The SQLite magic followed by garbage: corrupt, not "schema <random> is newer". */
    memcpy(junk, "SQLite format 3", 16);
    spit(fx->path, junk, sizeof junk);
    assert_refused(fx->path, "corrupt store", NULL);
    assert_unchanged(fx->path, junk, sizeof junk);
    assert_false(side_exists(fx->path, "-wal"));
    assert_false(side_exists(fx->path, "-shm"));

    /* A plausible header over garbage pages gets as far as SQLite, read-only. */
    static const unsigned char hdr[24] = {'S',  'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                          'o',  'r', 'm', 'a', 't', ' ', '3', 0,
                                          0x10, 0,   2,   2,   0,   64,  32,  32};
    memcpy(junk, hdr, sizeof hdr);
    memset(junk + 60, 0, 4); /* user_version 0 */
    spit(fx->path, junk, sizeof junk);
    assert_refused(fx->path, "corrupt store", NULL);
    assert_unchanged(fx->path, junk, sizeof junk);
    assert_false(side_exists(fx->path, "-wal"));
    assert_false(side_exists(fx->path, "-shm"));

    /* Shorter than a header. */
    spit(fx->path, "SQLite", 6);
    assert_refused(fx->path, "corrupt store", NULL);
    assert_unchanged(fx->path, (const unsigned char *)"SQLite", 6);
}

static void test_truncated_refused(void **state)
{
    struct fx *fx = *state;
    make_store(fx->path, 300);
    size_t len;
    unsigned char *full = slurp(fx->path, &len);
    assert_true(len > 16 * 4096);
    print_message("store of 300 jobs: %zu bytes\n", len);

    const size_t cuts[] = {len / 2 / 4096 * 4096, len - 4096, 4096, 1000};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        spit(fx->path, full, cuts[i]);
        assert_refused(fx->path, "corrupt store", NULL);
        assert_unchanged(fx->path, full, cuts[i]);
        assert_false(side_exists(fx->path, "-wal"));
    }

    /* Whole length, one page in the middle scribbled over: only quick_check sees it. */
    unsigned char *bad = malloc(len);
    assert_non_null(bad);
    memcpy(bad, full, len);
    memset(bad + len / 2 / 4096 * 4096, 0x55, 4096);
    spit(fx->path, bad, len);
    assert_refused(fx->path, "corrupt store", NULL);
    assert_unchanged(fx->path, bad, len);
    free(bad);
    free(full);
}

static void test_empty_file_is_new(void **state)
{
    struct fx *fx = *state;
    int fd = open(fx->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    close(fd);
    struct store *s = open_ok(fx->path);
    struct job *j = rich_job(9);
    assert_int_equal(store_save_job(s, j), 0);
    store_close(s);
    s = open_ok(fx->path);
    size_t n;
    struct job **jobs = load_ok(s, &n);
    assert_int_equal(n, 1);
    assert_job_eq(j, jobs[0]);
    free_jobs(jobs, n);
    store_close(s);
    job_free(j);

    /* An empty file beside a non-empty -wal: SQLite would delete the -wal, so refuse. */
    char p1[160], w1[170];
    snprintf(p1, sizeof p1, "%s/lost.db", fx->dir);
    snprintf(w1, sizeof w1, "%s-wal", p1);
    spit(p1, "", 0);
    spit(w1, "not empty", 9);
    assert_refused(p1, "corrupt store", "-wal", NULL);
    assert_unchanged(w1, (const unsigned char *)"not empty", 9);
    assert_unchanged(p1, (const unsigned char *)"", 0);

    /* A first start killed after journal_mode=WAL wrote page 1 but before the schema. */
    char p2[160];
    snprintf(p2, sizeof p2, "%s/half.db", fx->dir);
    sqlite3 *raw = raw_open(p2);
    raw_exec(raw, "PRAGMA journal_mode = WAL");
    sqlite3_close(raw);
    struct stat st;
    assert_int_equal(stat(p2, &st), 0);
    assert_true(st.st_size > 0);
    s = open_ok(p2);
    jobs = load_ok(s, &n);
    assert_int_equal(n, 0);
    free(jobs);
    store_close(s);
    assert_int_equal(count_in(p2, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

static void test_foreign_db_refused(void **state)
{
    struct fx *fx = *state;
    size_t len;
    unsigned char *before;

    /* Another application's database, rollback journal. */
    sqlite3 *raw = raw_open(fx->path);
    raw_exec(raw, "CREATE TABLE foo (x); INSERT INTO foo VALUES (1), (2)");
    sqlite3_close(raw);
    before = slurp(fx->path, &len);
    assert_refused(fx->path, "not an xferlab store", NULL);
    assert_unchanged(fx->path, before, len);
    assert_false(side_exists(fx->path, "-wal"));
    assert_false(side_exists(fx->path, "-shm"));
    assert_false(side_exists(fx->path, "-journal"));
    free(before);

    /* The same in WAL mode: a plain read-only check would leave -wal and -shm beside it. */
    char p2[160];
    snprintf(p2, sizeof p2, "%s/walfoo.db", fx->dir);
    raw = raw_open(p2);
    raw_exec(raw, "PRAGMA journal_mode = WAL; CREATE TABLE foo (x); INSERT INTO foo VALUES (1)");
    sqlite3_close(raw);
    assert_false(side_exists(p2, "-wal"));
    before = slurp(p2, &len);
    assert_refused(p2, "not an xferlab store", NULL);
    assert_unchanged(p2, before, len);
    assert_false(side_exists(p2, "-wal"));
    assert_false(side_exists(p2, "-shm"));
    free(before);

    /* Our version number, not our tables. */
    char p3[160];
    snprintf(p3, sizeof p3, "%s/v1.db", fx->dir);
    raw = raw_open(p3);
    raw_exec(raw, "CREATE TABLE foo (x); PRAGMA user_version = 1");
    sqlite3_close(raw);
    before = slurp(p3, &len);
    assert_refused(p3, "not an xferlab store", "no table 'meta'", NULL);
    assert_unchanged(p3, before, len);
    free(before);

    /* One of our tables missing. */
    char p4[160];
    snprintf(p4, sizeof p4, "%s/nohist.db", fx->dir);
    make_store(p4, 0);
    raw = raw_open(p4);
    raw_exec(raw, "DROP TABLE history");
    sqlite3_close(raw);
    assert_refused(p4, "not an xferlab store", "no table 'history'", NULL);
}

/* A row the load cannot trust fails the whole load, frees what it built (ASan checks) and says why.
 */
static void test_load_rejects_bad_rows(void **state)
{
    struct fx *fx = *state;
    make_store(fx->path, 3);
    struct {
        const char *tamper, *undo, *want;
    } cases[] = {
        {"UPDATE jobs SET state = 17 WHERE id = 3", "UPDATE jobs SET state = 5 WHERE id = 3",
         "job 3: bad state"},
        {"UPDATE files SET ck_digest = x'00' WHERE id = 5",
         "UPDATE files SET ck_digest = zeroblob(32) WHERE id = 5", "bad ck_digest"},
        {"DELETE FROM history WHERE job_id = 2 AND seq = 2", NULL, "job 2: bad history row 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sqlite3 *raw = raw_open(fx->path);
        raw_exec(raw, "PRAGMA ignore_check_constraints = ON");
        raw_exec(raw, cases[i].tamper);
        sqlite3_close(raw);
        struct store *s = open_ok(fx->path);
        struct job **jobs = (struct job **)&jobs;
        size_t n = 99;
        char err[ERRLEN] = "";
        assert_int_equal(store_load(s, &jobs, &n, err, sizeof err), -1);
        print_message("load refused: %s\n", err);
        assert_non_null(strstr(err, fx->path));
        assert_null(jobs);
        assert_int_equal(n, 0);
        if (!strstr(err, cases[i].want))
            fail_msg("'%s' not in: %s", cases[i].want, err);
        assert_non_null(strstr(store_errmsg(s), cases[i].want));
        store_close(s);
        if (cases[i].undo) {
            raw = raw_open(fx->path);
            raw_exec(raw, cases[i].undo);
            sqlite3_close(raw);
        }
    }
}

/* ------------------------------------------------------------------ crash safety */

#define CRASH_ROUNDS 10
#define STATE_EVERY  7 /* the child changes state on every 7th commit */

static void digest_of(uint64_t c, unsigned char d[32])
{
    for (int i = 0; i < 32; i++)
        d[i] = (unsigned char)(c >> (8 * (i % 8))) ^ (unsigned char)i;
}

static void write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(14);
        b += w;
        n -= (size_t)w;
    }
}

/*
 * The child: open, load (or create) the one job, then commit forever: the
 * counter c as the file's progress, and on every STATE_EVERY-th commit a
 * state change with its history row (store_save_job). After each commit it
 * writes c to the pipe. Never returns.
 */
static void crash_child(const char *path, int wfd)
{
    char err[ERRLEN];
    struct store *s = NULL;
    struct job **jobs = NULL;
    size_t n = 0;
    struct job *j;
    if (store_open(path, &s, err, sizeof err) != 0) {
        fprintf(stderr, "child: %s\n", err);
        _exit(10);
    }
    if (store_load(s, &jobs, &n, err, sizeof err) != 0) {
        fprintf(stderr, "child: %s\n", err);
        _exit(11);
    }
    if (n == 0) {
        j = job_new(XFER_DOWNLOAD, 1000, "crash");
        if (!j || !job_add_file(j, "http://h/f", "/srv/f", "/srv/.f", NULL, 0))
            _exit(12);
        set_guid(j, 4242);
        j->state = XFER_QUEUED;
        if (store_save_job(s, j) != 0)
            _exit(12);
    } else {
        j = jobs[0];
    }
    free(jobs);
    for (uint64_t c = j->files[0].done + 1;; c++) {
        struct jfile *f = &j->files[0];
        f->done = c;
        f->ck_bytes = c;
        digest_of(c, f->ck_digest);
        j->active_ms = (int64_t)c;
        int rc;
        if (c % STATE_EVERY == 0) {
            enum xfer_state ns = (enum xfer_state)((j->state + 1) % XFER_STATE_COUNT);
            struct xfer_transition t = {
                .time_ms = (int64_t)c, .old_state = j->state, .new_state = ns};
            snprintf(t.cause, sizeof t.cause, "c%llu", (unsigned long long)c);
            if (job_hist_append(j, &t) != 0)
                _exit(13);
            j->state = ns;
            rc = store_save_job(s, j);
        } else {
            rc = store_save_progress(s, j, f);
        }
        if (rc != 0) {
            fprintf(stderr, "child: %s\n", store_errmsg(s));
            _exit(13);
        }
        write_all(wfd, &c, sizeof c);
    }
}

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/*
 * Read counters from fd until deadline (ms, monotonic; -1 none) or EOF, or
 * with first, until one arrives; *last gets the newest complete one.
 */
static void drain(int fd, int64_t deadline, bool first, uint64_t *last, bool *any)
{
    static unsigned char part[8];
    static size_t npart;
    for (;;) {
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                return;
            wait = (int)left;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, wait);
        if (pr < 0 && errno == EINTR)
            continue;
        assert_true(pr >= 0);
        if (pr == 0)
            continue;
        unsigned char buf[4096];
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        assert_true(r >= 0);
        if (r == 0) {
            npart = 0;
            return;
        }
        for (ssize_t i = 0; i < r; i++) {
            part[npart++] = buf[i];
            if (npart == 8) {
                memcpy(last, part, 8);
                *any = true;
                npart = 0;
            }
        }
        if (first && *any)
            return;
    }
}

static void test_crash_safety(void **state)
{
    struct fx *fx = *state;
    uint64_t seed = 20240611;
    const char *env = getenv("XFER_STORE_SEED");
    if (env && *env)
        seed = strtoull(env, NULL, 0);
    print_message("crash test seed %llu (XFER_STORE_SEED)\n", (unsigned long long)seed);
    uint64_t rng = seed ? seed : 1;
    uint64_t floor = 0; /* progress no later round may be below */

    for (int round = 0; round < CRASH_ROUNDS; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            crash_child(fx->path, p[1]);
        }
        fx->child = pid;
        close(p[1]);
        assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);

        uint64_t last = 0;
        bool any = false;
        /* Every fourth round kills early, during open and recovery; the rest mid-commits. */
        bool early = xorshift(&rng) % 4 == 0;
        int64_t delay = early ? (int64_t)(xorshift(&rng) % 8) : (int64_t)(xorshift(&rng) % 60);
        if (!early) {
            while (!any)
                drain(p[0], now_ms() + 5000, true, &last, &any);
        }
        drain(p[0], now_ms() + delay, false, &last, &any);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        fx->child = 0;
        drain(p[0], -1, false, &last, &any);
        close(p[0]);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
            fail_msg("round %d: the child failed on its own (status 0x%x)", round, status);

        /* Reopen (recovering the WAL), load, and check the job is a consistent past. */
        struct store *s = open_ok(fx->path);
        size_t n;
        struct job **jobs = load_ok(s, &n);
        print_message("round %d: %s kill after %lld ms, last reported %llu, stored %llu\n", round,
                      early ? "early" : "late", (long long)delay, (unsigned long long)last,
                      n ? (unsigned long long)jobs[0]->files[0].done : 0ull);
        if (n == 0) {
            assert_false(any);
            assert_int_equal(floor, 0);
            free(jobs);
            store_close(s);
            continue;
        }
        assert_int_equal(n, 1);
        struct job *j = jobs[0];
        struct jfile *f = &j->files[0];
        uint64_t done = f->done;
        if (any)
            assert_true(done >= last);
        assert_true(done >= floor);
        floor = done;
        assert_int_equal(f->ck_bytes, done);
        assert_int_equal(j->active_ms, (int64_t)done);
        unsigned char d[32];
        if (done > 0) {
            digest_of(done, d);
            assert_memory_equal(f->ck_digest, d, 32);
        }
        /* Each state change committed with its progress: exactly done/7 of them. */
        assert_int_equal(j->nhist, done / STATE_EVERY);
        enum xfer_state st = XFER_QUEUED;
        for (size_t k = 0; k < j->nhist; k++) {
            assert_int_equal(j->hist[k].old_state, st);
            assert_int_equal(j->hist[k].time_ms, (int64_t)((k + 1) * STATE_EVERY));
            st = j->hist[k].new_state;
        }
        assert_int_equal(j->state, st); /* the new_state of the last history row */
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) = max(seq) + 1 AND min(seq) = 0 FROM history WHERE job_id = %lld",
                 (long long)j->id);
        if (j->nhist > 0)
            assert_int_equal(count_in(fx->path, sql), 1);
        free_jobs(jobs, n);
        store_close(s);
    }
    assert_true(floor > 0);
}

/* ------------------------------------------------------------------ scale */

#define MANY 10000

static void test_ten_thousand_jobs(void **state)
{
    struct fx *fx = *state;
    struct store *s = open_ok(fx->path);
    int64_t t0 = now_ms();
    for (unsigned i = 0; i < MANY; i++) {
        char name[64], url[96], local[96];
        snprintf(name, sizeof name, "job %u", i);
        snprintf(url, sizeof url, "https://mirror.test/pool/%u.deb", i);
        snprintf(local, sizeof local, "/srv/pool/%u.deb", i);
        struct job *j = job_new(i % 2 ? XFER_DOWNLOAD : XFER_UPLOAD, 1000 + i % 7, name);
        assert_non_null(j);
        set_guid(j, i);
        struct jfile *f = job_add_file(j, url, local, NULL, NULL, 0);
        assert_non_null(f);
        f->total = (uint64_t)i * 1000;
        f->done = i;
        hist(j, i, XFER_SUSPENDED, XFER_QUEUED, 0, "resume");
        j->state = XFER_QUEUED;
        assert_int_equal(store_save_job(s, j), 0);
        job_free(j);
    }
    int64_t t1 = now_ms();
    store_close(s);

    int64_t t2 = now_ms();
    s = open_ok(fx->path);
    int64_t t3 = now_ms();
    size_t n;
    struct job **jobs = load_ok(s, &n);
    int64_t t4 = now_ms();
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    print_message("%d jobs: saved one transaction each in %lld ms, store %lld bytes, "
                  "open (with quick_check) %lld ms, load %lld ms\n",
                  MANY, (long long)(t1 - t0), (long long)st.st_size, (long long)(t3 - t2),
                  (long long)(t4 - t3));

    assert_int_equal(n, MANY);
    for (unsigned i = 0; i < MANY; i += 997) {
        const struct job *j = jobs[i];
        char name[64], url[96];
        snprintf(name, sizeof name, "job %u", i);
        snprintf(url, sizeof url, "https://mirror.test/pool/%u.deb", i);
        assert_string_equal(j->display_name, name);
        assert_int_equal(j->type, i % 2 ? XFER_DOWNLOAD : XFER_UPLOAD);
        assert_int_equal(j->owner, 1000 + i % 7);
        assert_int_equal(j->guid.b[0], i & 0xff);
        assert_int_equal(j->nfiles, 1);
        assert_string_equal(j->files[0].url, url);
        assert_null(j->files[0].temp);
        assert_int_equal(j->files[0].total, (uint64_t)i * 1000);
        assert_int_equal(j->files[0].done, i);
        assert_int_equal(j->nhist, 1);
        assert_int_equal(j->hist[0].time_ms, i);
        if (i > 0)
            assert_true(j->id > jobs[i - 1]->id);
    }
    free_jobs(jobs, n);
    store_close(s);
}

/* ------------------------------------------------------------------ paths */

/* store_open as uid/gid 65534 in a child; returns its rc and message. */
static int open_as_nobody(struct fx *fx, const char *path, char *err, size_t errlen)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(20);
        char e[ERRLEN] = "";
        struct store *s = NULL;
        int rc = store_open(path, &s, e, sizeof e);
        store_close(s);
        write_all(p[1], &rc, sizeof rc);
        write_all(p[1], e, strlen(e) + 1);
        _exit(0);
    }
    fx->child = pid;
    close(p[1]);
    int rc = 99;
    char buf[sizeof rc + ERRLEN] = "";
    size_t got = 0;
    for (ssize_t r; got < sizeof buf - 1 && (r = read(p[0], buf + got, sizeof buf - 1 - got));) {
        if (r < 0 && errno == EINTR)
            continue;
        assert_true(r > 0);
        got += (size_t)r;
    }
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    fx->child = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(got > sizeof rc);
    memcpy(&rc, buf, sizeof rc);
    snprintf(err, errlen, "%s", buf + sizeof rc);
    return rc;
}

static void test_unusable_paths(void **state)
{
    struct fx *fx = *state;
    char p[256];

    snprintf(p, sizeof p, "%s/missing/sub/store.db", fx->dir);
    assert_refused(p, "No such file or directory", NULL);

    char file[160];
    snprintf(file, sizeof file, "%s/afile", fx->dir);
    spit(file, "x", 1);
    snprintf(p, sizeof p, "%s/store.db", file);
    assert_refused(p, "Not a directory", NULL);

    assert_refused(fx->dir, "not a regular file", NULL);
    assert_refused("", NULL); /* an empty path names nothing */

    /* An unwritable directory, and an existing store the user may only read. */
    char ro[160], rostore[200], roexisting[200], err[ERRLEN];
    snprintf(ro, sizeof ro, "%s/ro", fx->dir);
    snprintf(rostore, sizeof rostore, "%s/store.db", ro);
    snprintf(roexisting, sizeof roexisting, "%s/existing.db", ro);
    assert_int_equal(mkdir(ro, 0755), 0);
    make_store(roexisting, 1);
    assert_int_equal(chmod(roexisting, 0644), 0);
    size_t len;
    unsigned char *before = slurp(roexisting, &len);
    if (geteuid() == 0) {
        assert_int_equal(chmod(fx->dir, 0755), 0);
        assert_int_equal(open_as_nobody(fx, rostore, err, sizeof err), -1);
        print_message("as nobody: %s\n", err);
        assert_non_null(strstr(err, rostore));
        assert_non_null(strstr(err, "Permission denied"));
        assert_int_equal(open_as_nobody(fx, roexisting, err, sizeof err), -1);
        print_message("as nobody: %s\n", err);
        assert_non_null(strstr(err, roexisting));
    } else {
        assert_int_equal(chmod(ro, 0555), 0);
        assert_refused(rostore, "Permission denied", NULL);
        assert_refused(roexisting, NULL);
        assert_int_equal(chmod(ro, 0755), 0);
    }
    assert_false(exists(rostore));
    assert_unchanged(roexisting, before, len);
    free(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_twice_and_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_save_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_rejects_bad_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_engine_per_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_is_new, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_db_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_safety, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ten_thousand_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unusable_paths, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
