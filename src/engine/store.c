/*
 * store: the SQLite job store (store.h).
 *
 * What it owns. One sqlite3 connection to the store file, the prepared
 * statements it reuses for every write and read, and a message buffer. It
 * never owns a job: store_save_* read the caller's jobs (and write back only
 * row ids and hist_saved, after a commit), store_load allocates jobs with
 * job_new and hands them over.
 *
 * Schema (SCHEMA below; version in PRAGMA user_version, STORE_SCHEMA_VERSION):
 *
 *   meta    (key, value)                      'clock' = engine ms of the last write
 *   jobs    (id, guid, owner, ..., blocked_hr) one row per struct job, every field
 *                                             but the runtime ones
 *   files   (id, job_id -> jobs, idx, url, ..., remote_size)
 *                                             one row per struct jfile; idx is its
 *                                             position in the job
 *   ranges  (file_id -> files, idx, offset, length)
 *   history (job_id -> jobs, seq, time_ms, old_state, new_state, hr, cause)
 *                                             seq 0..n-1, the job's transitions
 *
 * Child rows go with their parent (ON DELETE CASCADE, foreign_keys=ON). All
 * tables are STRICT, so a value of the wrong type is an error, not a silent
 * conversion. uint64 values (sizes, byte counts, range offsets and lengths,
 * XFER_SIZE_UNKNOWN = UINT64_MAX included) are stored as the int64 with the
 * same bit pattern (u64_to_i64) and converted back on load. A file's ranges
 * are written when the file is inserted and never rewritten: job_add_file
 * fixes them. The column lists of the statements come from the X-macros
 * JOB_COLUMNS / FILE_COLUMNS, and one switch per direction (bind_job_col,
 * load_job_col, ...) maps each column to its field, so -Wswitch-enum flags a
 * column that is written but not read or the reverse.
 *
 * Opening. Nothing is written to a file until it has been found to be an
 * xferlab store of this version, or an empty one:
 *   1. A missing file is created empty with mode 0600 (the store holds
 *      credentials; SQLite gives -wal and -shm the same mode).
 *   2. A non-empty file is checked without writing: its 100-byte header is
 *      read with read(2) (the SQLite magic, and user_version at offset 60 for
 *      a newer schema), then a read-only connection reads user_version and
 *      the tables and runs PRAGMA quick_check. When no -wal or -journal lies
 *      beside the file, that connection is opened with immutable=1: a plain
 *      read-only connection to a WAL-mode file creates an empty -wal and a
 *      -shm next to it and leaves them there, even when it then finds the
 *      file is not ours.
 *   3. Only then the read-write connection: busy_timeout, the same version
 *      check, journal_mode=WAL, synchronous=NORMAL, foreign_keys=ON, and for
 *      an empty file the schema and user_version in one transaction.
 *   4. Every statement is prepared once (SQLITE_PREPARE_PERSISTENT); a
 *      statement that does not prepare means the tables are not ours.
 * A store with user_version 0 and no tables at all is new: a first start
 * that was killed after journal_mode=WAL wrote the header but before the
 * schema committed leaves exactly that, and it must open. So is an empty
 * file, unless a non-empty -wal lies beside it: SQLite deletes the -wal of a
 * zero-length database on open, even on a read-only connection, so that case
 * is refused as corrupt before SQLite sees it.
 *
 * A write. store_save_job and store_save_progress run BEGIN IMMEDIATE,
 * their INSERTs and UPDATEs, COMMIT. Row ids assigned by the inserts are kept
 * in locals and copied into the job (j->id, f->id, hist_saved) only after
 * COMMIT succeeded, so a failed save leaves both the store and the job as
 * they were. On any error the transaction is rolled back (unless SQLite
 * already did).
 *
 * Crash safety. In WAL mode a commit appends the transaction's pages and a
 * commit frame to the -wal file; readers and the next open see the
 * transaction only once that commit frame is there, and recovery on open
 * ignores a torn tail. With synchronous=NORMAL the WAL is not fsync'ed at
 * each commit, only at checkpoints: a committed transaction is in the
 * kernel's page cache when COMMIT returns, so a process crash or SIGKILL at
 * any instant never loses it, and never exposes half of one. Only an OS crash
 * or power loss can drop the last few commits, and then the store rolls back
 * to an earlier consistent point (a checkpoint's digest makes the engine
 * re-verify the partial file in any case).
 *
 * Threading: none; one connection used from one thread (SQLITE_OPEN_NOMUTEX).
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define BUSY_TIMEOUT_MS 5000

/* clang-format off */
static const char SCHEMA[] =
    "CREATE TABLE meta (\n"
    "    key   TEXT PRIMARY KEY,\n"
    "    value ANY\n"
    ") STRICT, WITHOUT ROWID;\n"
    "CREATE TABLE jobs (\n"
    "    id                    INTEGER PRIMARY KEY,\n"
    "    guid                  BLOB NOT NULL UNIQUE CHECK (length(guid) = 16),\n"
    "    owner                 INTEGER NOT NULL,\n"
    "    type                  INTEGER NOT NULL,\n"
    "    state                 INTEGER NOT NULL,\n"
    "    priority              INTEGER NOT NULL,\n"
    "    display_name          TEXT,\n"
    "    description           TEXT,\n"
    "    created_wall          INTEGER NOT NULL,\n"
    "    modified_wall         INTEGER NOT NULL,\n"
    "    transferred_wall      INTEGER NOT NULL,\n"
    "    cost_flags            INTEGER NOT NULL,\n"
    "    no_progress_timeout_s INTEGER NOT NULL,\n"
    "    min_retry_delay_s     INTEGER NOT NULL,\n"
    "    max_download_time_s   INTEGER NOT NULL,\n"
    "    dynamic_content       INTEGER NOT NULL,\n"
    "    headers               TEXT,\n"
    "    server_scheme         TEXT,\n"
    "    server_user           TEXT,\n"
    "    server_password       TEXT,\n"
    "    proxy_scheme          TEXT,\n"
    "    proxy_user            TEXT,\n"
    "    proxy_password        TEXT,\n"
    "    proxy                 TEXT,\n"
    "    notify_flags          INTEGER NOT NULL,\n"
    "    notify_cmdline        TEXT,\n"
    "    err_hr                INTEGER NOT NULL,\n"
    "    err_ctx               INTEGER NOT NULL,\n"
    "    err_file              INTEGER NOT NULL,\n"
    "    err_desc              TEXT,\n"
    "    error_count           INTEGER NOT NULL,\n"
    "    retry_at              INTEGER NOT NULL,\n"
    "    no_progress_since     INTEGER NOT NULL,\n"
    "    active_ms             INTEGER NOT NULL,\n"
    "    active_since          INTEGER NOT NULL,\n"
    "    last_activity         INTEGER NOT NULL,\n"
    "    blocked_hr            INTEGER NOT NULL\n"
    ") STRICT;\n"
    "CREATE TABLE files (\n"
    "    id               INTEGER PRIMARY KEY,\n"
    "    job_id           INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,\n"
    "    idx              INTEGER NOT NULL,\n"
    "    url              TEXT,\n"
    "    local            TEXT,\n"
    "    temp             TEXT,\n"
    "    total            INTEGER NOT NULL, -- uint64 as the int64 of the same bits\n"
    "    done             INTEGER NOT NULL, -- uint64\n"
    "    complete         INTEGER NOT NULL,\n"
    "    has_restarted    INTEGER NOT NULL,\n"
    "    response_changed INTEGER NOT NULL,\n"
    "    ck_bytes         INTEGER NOT NULL, -- uint64\n"
    "    ck_digest        BLOB NOT NULL CHECK (length(ck_digest) = 32),\n"
    "    etag             TEXT,\n"
    "    last_modified    TEXT,\n"
    "    remote_size      INTEGER NOT NULL, -- uint64\n"
    "    UNIQUE (job_id, idx)\n"
    ") STRICT;\n"
    "CREATE TABLE ranges (\n"
    "    file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,\n"
    "    idx     INTEGER NOT NULL,\n"
    "    offset  INTEGER NOT NULL, -- uint64\n"
    "    length  INTEGER NOT NULL, -- uint64; UINT64_MAX = to the end\n"
    "    PRIMARY KEY (file_id, idx)\n"
    ") STRICT, WITHOUT ROWID;\n"
    "CREATE TABLE history (\n"
    "    job_id    INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,\n"
    "    seq       INTEGER NOT NULL,\n"
    "    time_ms   INTEGER NOT NULL,\n"
    "    old_state INTEGER NOT NULL,\n"
    "    new_state INTEGER NOT NULL,\n"
    "    hr        INTEGER NOT NULL,\n"
    "    cause     TEXT NOT NULL,\n"
    "    PRIMARY KEY (job_id, seq)\n"
    ") STRICT, WITHOUT ROWID;\n";

/* The tables an xferlab store of this version has (checked before any statement is prepared). */
static const char *const TABLES[] = {"meta", "jobs", "files", "ranges", "history"};

/*
 * The columns of jobs after id, in statement order: X(enum, column, separator).
 * The separator puts ", " before every name but the first, so a list expands
 * to "guid, owner, ..." for the INSERT, the row-value UPDATE and the SELECT.
 */
#define JOB_COLUMNS(X)                                        \
    X(JC_GUID, guid, "")                                      \
    X(JC_OWNER, owner, ", ")                                  \
    X(JC_TYPE, type, ", ")                                    \
    X(JC_STATE, state, ", ")                                  \
    X(JC_PRIORITY, priority, ", ")                            \
    X(JC_DISPLAY_NAME, display_name, ", ")                    \
    X(JC_DESCRIPTION, description, ", ")                      \
    X(JC_CREATED_WALL, created_wall, ", ")                    \
    X(JC_MODIFIED_WALL, modified_wall, ", ")                  \
    X(JC_TRANSFERRED_WALL, transferred_wall, ", ")            \
    X(JC_COST_FLAGS, cost_flags, ", ")                        \
    X(JC_NO_PROGRESS_TIMEOUT_S, no_progress_timeout_s, ", ")  \
    X(JC_MIN_RETRY_DELAY_S, min_retry_delay_s, ", ")          \
    X(JC_MAX_DOWNLOAD_TIME_S, max_download_time_s, ", ")      \
    X(JC_DYNAMIC_CONTENT, dynamic_content, ", ")              \
    X(JC_HEADERS, headers, ", ")                              \
    X(JC_SERVER_SCHEME, server_scheme, ", ")                  \
    X(JC_SERVER_USER, server_user, ", ")                      \
    X(JC_SERVER_PASSWORD, server_password, ", ")              \
    X(JC_PROXY_SCHEME, proxy_scheme, ", ")                    \
    X(JC_PROXY_USER, proxy_user, ", ")                        \
    X(JC_PROXY_PASSWORD, proxy_password, ", ")                \
    X(JC_PROXY, proxy, ", ")                                  \
    X(JC_NOTIFY_FLAGS, notify_flags, ", ")                    \
    X(JC_NOTIFY_CMDLINE, notify_cmdline, ", ")                \
    JOB_PROGRESS_COLUMNS_AFTER(X)

/* The job row's part of a checkpoint (store_save_progress): state, timers, error, times. */
#define JOB_PROGRESS_COLUMNS(X)                        \
    X(JC_STATE, state, "")                             \
    X(JC_MODIFIED_WALL, modified_wall, ", ")           \
    X(JC_TRANSFERRED_WALL, transferred_wall, ", ")     \
    JOB_PROGRESS_COLUMNS_AFTER(X)

/* The tail of jobs: the error object and the timers (shared by both lists). */
#define JOB_PROGRESS_COLUMNS_AFTER(X)                  \
    X(JC_ERR_HR, err_hr, ", ")                         \
    X(JC_ERR_CTX, err_ctx, ", ")                       \
    X(JC_ERR_FILE, err_file, ", ")                     \
    X(JC_ERR_DESC, err_desc, ", ")                     \
    X(JC_ERROR_COUNT, error_count, ", ")               \
    X(JC_RETRY_AT, retry_at, ", ")                     \
    X(JC_NO_PROGRESS_SINCE, no_progress_since, ", ")   \
    X(JC_ACTIVE_MS, active_ms, ", ")                   \
    X(JC_ACTIVE_SINCE, active_since, ", ")             \
    X(JC_LAST_ACTIVITY, last_activity, ", ")           \
    X(JC_BLOCKED_HR, blocked_hr, ", ")

/* The columns of files after id, job_id, idx. */
#define FILE_COLUMNS(X)                                \
    X(FC_URL, url, "")                                 \
    X(FC_LOCAL, local, ", ")                           \
    X(FC_TEMP, temp, ", ")                             \
    FILE_PROGRESS_COLUMNS_AFTER(X)

/* A file's part of a checkpoint. */
#define FILE_PROGRESS_COLUMNS(X)                       \
    X(FC_TOTAL, total, "")                             \
    FILE_PROGRESS_COLUMNS_REST(X)

#define FILE_PROGRESS_COLUMNS_AFTER(X)                 \
    X(FC_TOTAL, total, ", ")                           \
    FILE_PROGRESS_COLUMNS_REST(X)

#define FILE_PROGRESS_COLUMNS_REST(X)                  \
    X(FC_DONE, done, ", ")                             \
    X(FC_COMPLETE, complete, ", ")                     \
    X(FC_HAS_RESTARTED, has_restarted, ", ")           \
    X(FC_RESPONSE_CHANGED, response_changed, ", ")     \
    X(FC_CK_BYTES, ck_bytes, ", ")                     \
    X(FC_CK_DIGEST, ck_digest, ", ")                   \
    X(FC_ETAG, etag, ", ")                             \
    X(FC_LAST_MODIFIED, last_modified, ", ")           \
    X(FC_REMOTE_SIZE, remote_size, ", ")

#define AS_ENUM(id, name, sep) id,
#define AS_NAME(id, name, sep) sep #name
#define AS_PARAM(id, name, sep) sep "?"
#define AS_STR(id, name, sep) #name,

/* Column numbers of the SELECTs, and parameter numbers of the INSERTs (id unbound there). */
enum job_col { JC_ID, JOB_COLUMNS(AS_ENUM) JC_COUNT };
enum file_col { FC_ID, FC_JOB_ID, FC_IDX, FILE_COLUMNS(AS_ENUM) FC_COUNT };
static const char *const JOB_COL_NAME[JC_COUNT] = {"id", JOB_COLUMNS(AS_STR)};
static const char *const FILE_COL_NAME[FC_COUNT] = {"id", "job_id", "idx", FILE_COLUMNS(AS_STR)};

static const enum job_col JOB_PROGRESS[] = {JOB_PROGRESS_COLUMNS(AS_ENUM)};
static const enum file_col FILE_PROGRESS[] = {FILE_PROGRESS_COLUMNS(AS_ENUM)};
#define NJOB_PROGRESS (sizeof JOB_PROGRESS / sizeof JOB_PROGRESS[0])
#define NFILE_PROGRESS (sizeof FILE_PROGRESS / sizeof FILE_PROGRESS[0])

enum stmt {
    S_BEGIN,          /* a read snapshot (store_load) */
    S_BEGIN_WRITE,    /* BEGIN IMMEDIATE: take the write lock now, not at the first write */
    S_COMMIT,
    S_ROLLBACK,
    S_JOB_INSERT,     /* ?n = enum job_col n */
    S_JOB_UPDATE,     /* ?n = enum job_col n; ?JC_COUNT = id */
    S_JOB_PROGRESS,   /* ?k+1 = JOB_PROGRESS[k]; ?NJOB_PROGRESS+1 = id */
    S_JOB_DELETE,
    S_FILE_INSERT,    /* ?n = enum file_col n */
    S_FILE_UPDATE,    /* ?n = enum file_col n+FC_URL-1; then id, job_id */
    S_FILE_PROGRESS,  /* ?k+1 = FILE_PROGRESS[k]; then id, job_id */
    S_RANGE_INSERT,
    S_HIST_INSERT,
    S_META_GET,
    S_META_SET,
    S_LOAD_JOBS,
    S_LOAD_FILES,
    S_LOAD_RANGES,
    S_LOAD_HIST,
    S_COUNT
};

static const char *const SQL[S_COUNT] = {
    [S_BEGIN] = "BEGIN",
    [S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_JOB_INSERT] = "INSERT INTO jobs (" JOB_COLUMNS(AS_NAME) ") VALUES ("
                     JOB_COLUMNS(AS_PARAM) ")",
    [S_JOB_UPDATE] = "UPDATE jobs SET (" JOB_COLUMNS(AS_NAME) ") = (" JOB_COLUMNS(AS_PARAM)
                     ") WHERE id = ?",
    [S_JOB_PROGRESS] = "UPDATE jobs SET (" JOB_PROGRESS_COLUMNS(AS_NAME) ") = ("
                       JOB_PROGRESS_COLUMNS(AS_PARAM) ") WHERE id = ?",
    [S_JOB_DELETE] = "DELETE FROM jobs WHERE id = ?",
    [S_FILE_INSERT] = "INSERT INTO files (job_id, idx, " FILE_COLUMNS(AS_NAME) ") VALUES (?, ?, "
                      FILE_COLUMNS(AS_PARAM) ")",
    [S_FILE_UPDATE] = "UPDATE files SET (" FILE_COLUMNS(AS_NAME) ") = (" FILE_COLUMNS(AS_PARAM)
                      ") WHERE id = ? AND job_id = ?",
    [S_FILE_PROGRESS] = "UPDATE files SET (" FILE_PROGRESS_COLUMNS(AS_NAME) ") = ("
                        FILE_PROGRESS_COLUMNS(AS_PARAM) ") WHERE id = ? AND job_id = ?",
    [S_RANGE_INSERT] = "INSERT INTO ranges (file_id, idx, offset, length) VALUES (?, ?, ?, ?)",
    [S_HIST_INSERT] = "INSERT INTO history (job_id, seq, time_ms, old_state, new_state, hr, cause)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?)",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?",
    [S_META_SET] = "INSERT INTO meta (key, value) VALUES (?, ?)"
                   " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_LOAD_JOBS] = "SELECT id, " JOB_COLUMNS(AS_NAME) " FROM jobs ORDER BY id",
    [S_LOAD_FILES] = "SELECT id, job_id, idx, " FILE_COLUMNS(AS_NAME)
                     " FROM files WHERE job_id = ? ORDER BY idx",
    [S_LOAD_RANGES] = "SELECT idx, offset, length FROM ranges WHERE file_id = ? ORDER BY idx",
    [S_LOAD_HIST] = "SELECT seq, time_ms, old_state, new_state, hr, cause FROM history"
                    " WHERE job_id = ? ORDER BY seq",
};
/* clang-format on */

struct store {
    int lock_fd; /* holds flock(LOCK_EX) on the store file: one engine per store */
    sqlite3 *db;
    char *path;
    sqlite3_stmt *st[S_COUNT];
    char errmsg[512]; /* the last failure, with SQLite's message in it */
};

/* ------------------------------------------------------------------ helpers */

static void msg(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void msg(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

#define SET_ERR(s, ...) msg((s)->errmsg, sizeof(s)->errmsg, __VA_ARGS__)

/* uint64 <-> int64 of the same bits (no implementation-defined conversion). */
static int64_t u64_to_i64(uint64_t u)
{
    int64_t i;
    memcpy(&i, &u, sizeof i);
    return i;
}

static uint64_t i64_to_u64(int64_t i)
{
    uint64_t u;
    memcpy(&u, &i, sizeof u);
    return u;
}

static bool is_corrupt(int rc)
{
    return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

static void corrupt_msg(char *err, size_t errlen, const char *path, const char *why)
{
    msg(err, errlen, "%s: corrupt store (%s); refusing to open it — move it aside to start afresh",
        path, why);
}

static void newer_msg(char *err, size_t errlen, const char *path, long long version)
{
    msg(err, errlen,
        "%s: store schema %lld is newer than this build (reads %d); refusing to open it", path,
        version, STORE_SCHEMA_VERSION);
}

/* The message for an SQLite failure while opening or checking path. */
static void open_fail_msg(char *err, size_t errlen, const char *path, sqlite3 *db, int rc)
{
    const char *why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (is_corrupt(rc)) {
        corrupt_msg(err, errlen, path, why);
        return;
    }
    int e = db ? sqlite3_system_errno(db) : 0;
    if (e)
        msg(err, errlen, "%s: cannot open store (%s: %s)", path, why, strerror(e));
    else
        msg(err, errlen, "%s: cannot open store (%s)", path, why);
}

/* Run one statement that returns no rows we need (a PRAGMA that sets, DDL). */
static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* One integer from a single-row query; rc is SQLite's. */
static int query_int(sqlite3 *db, const char *sql, long long *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        *out = 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/*
 * Whether db is a store this build may use. Sets *is_new for an empty
 * database (user_version 0, no schema objects). With quick, runs PRAGMA
 * quick_check too. Returns 0, or -1 with the refusal in err. Reads only.
 */
static int inspect(sqlite3 *db, const char *path, bool quick, bool *is_new, char *err,
                   size_t errlen)
{
    long long version = 0, objects = 0;
    int rc = query_int(db, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK)
        rc = query_int(db, "SELECT count(*) FROM sqlite_schema", &objects);
    if (rc != SQLITE_OK) {
        /*
         * A plain SQLITE_ERROR here is about the file, not the SQL: "unsupported
         * file format", "malformed database schema". Both mean corrupt to us.
         */
        open_fail_msg(err, errlen, path, db, rc == SQLITE_ERROR ? SQLITE_CORRUPT : rc);
        return -1;
    }
    *is_new = false;
    if (version > STORE_SCHEMA_VERSION) {
        newer_msg(err, errlen, path, version);
        return -1;
    }
    if (version == 0 && objects == 0) {
        *is_new = true;
        return 0;
    }
    if (version != STORE_SCHEMA_VERSION) {
        msg(err, errlen,
            "%s: not an xferlab store (schema version %lld, %lld schema objects of another "
            "application); refusing to open it",
            path, version, objects);
        return -1;
    }
    for (size_t i = 0; i < sizeof TABLES / sizeof TABLES[0]; i++) {
        char sql[128];
        long long n = 0;
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '%s'",
                 TABLES[i]);
        if ((rc = query_int(db, sql, &n)) != SQLITE_OK) {
            open_fail_msg(err, errlen, path, db, rc);
            return -1;
        }
        if (n != 1) {
            msg(err, errlen, "%s: not an xferlab store (no table '%s'); refusing to open it", path,
                TABLES[i]);
            return -1;
        }
    }
    if (!quick)
        return 0;

    sqlite3_stmt *st = NULL;
    if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL)) != SQLITE_OK) {
        open_fail_msg(err, errlen, path, db, rc);
        return -1;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            corrupt_msg(err, errlen, path, "quick_check gave no answer");
        else
            open_fail_msg(err, errlen, path, db, rc == SQLITE_ERROR ? SQLITE_CORRUPT : rc);
        sqlite3_finalize(st);
        return -1;
    }
    const char *res = (const char *)sqlite3_column_text(st, 0);
    int ret = 0;
    if (!res || strcmp(res, "ok") != 0) {
        char why[256];
        snprintf(why, sizeof why, "quick_check: %s", res ? res : "no answer");
        for (char *c = why; *c; c++)
            if (*c == '\n')
                *c = ' '; /* "*** in database main ***\nPage 38: ..." on one line */
        corrupt_msg(err, errlen, path, why);
        ret = -1;
    }
    sqlite3_finalize(st);
    return ret;
}

static bool exists_with_suffix(const char *path, const char *suffix)
{
    char side[4096];
    if ((size_t)snprintf(side, sizeof side, "%s%s", path, suffix) >= sizeof side)
        return true; /* cannot tell: assume it is there (no immutable=1) */
    struct stat st;
    return lstat(side, &st) == 0;
}

/* Whether path-wal exists and is not empty. */
static bool wal_has_content(const char *path)
{
    char wal[4096];
    struct stat st;
    if ((size_t)snprintf(wal, sizeof wal, "%s-wal", path) >= sizeof wal)
        return false;
    return stat(wal, &st) == 0 && st.st_size > 0;
}

/* "file:" URI for path with query appended; the caller frees it. */
static char *file_uri(const char *path, const char *query)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(path);
    char *uri = malloc(len * 3 + strlen(query) + 16);
    if (!uri)
        return NULL;
    char *p = uri;
    /* "file:///abs" for an absolute path (empty authority), "file:rel" otherwise. */
    memcpy(p, path[0] == '/' ? "file://" : "file:", path[0] == '/' ? 7 : 5);
    p += path[0] == '/' ? 7 : 5;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            strchr("/._~-", *c)) {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    strcpy(p, query);
    return uri;
}

/*
 * Whether the first n bytes of a file look like an SQLite header: the magic,
 * a page size, file format versions 1 or 2 and the fixed payload fractions
 * (the fields SQLite itself checks before it trusts the rest). Only then is
 * the user_version in it worth reading: a random header must read as corrupt,
 * not as "schema 1022965245 is newer".
 */
static bool header_valid(const unsigned char *h, size_t n)
{
    if (n < 100 || memcmp(h, "SQLite format 3", 16) != 0)
        return false;
    unsigned page = (unsigned)h[16] << 8 | h[17];
    if (page == 1)
        page = 65536;
    if (page < 512 || page > 65536 || (page & (page - 1)) != 0)
        return false;
    if (h[18] < 1 || h[18] > 2 || h[19] < 1 || h[19] > 2)
        return false;
    return h[21] == 64 && h[22] == 32 && h[23] == 32;
}

/*
 * Check an existing, non-empty file before anything opens it for writing:
 * the header by hand, then a read-only connection. Returns 0 when it is an
 * xferlab store of this version or an empty SQLite database, else -1 with
 * the refusal in err. Writes nothing to path; see the top of the file about
 * the side files.
 */
static int check_existing(const char *path, char *err, size_t errlen)
{
    unsigned char h[100];
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        msg(err, errlen, "%s: cannot open store (%s)", path, strerror(errno));
        return -1;
    }
    while (got < sizeof h) {
        ssize_t n = read(fd, h + got, sizeof h - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            msg(err, errlen, "%s: cannot read store (%s)", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!header_valid(h, got)) {
        corrupt_msg(err, errlen, path, sqlite3_errstr(SQLITE_NOTADB));
        return -1;
    }
    /*
     * user_version: big-endian 32-bit at offset 60. Read here first because a
     * newer build's schema may not even parse in this SQLite (which would then
     * call it corrupt). The WAL may hold a newer value still; inspect() reads
     * that one.
     */
    int32_t hv = (int32_t)((uint32_t)h[60] << 24 | (uint32_t)h[61] << 16 | (uint32_t)h[62] << 8 |
                           (uint32_t)h[63]);
    if (hv > STORE_SCHEMA_VERSION) {
        newer_msg(err, errlen, path, hv);
        return -1;
    }

    bool side = exists_with_suffix(path, "-wal") || exists_with_suffix(path, "-journal");
    char *uri = file_uri(path, side ? "" : "?immutable=1");
    if (!uri) {
        msg(err, errlen, "%s: out of memory", path);
        return -1;
    }
    sqlite3 *db = NULL;
    bool is_new = false;
    int ret = -1;
    int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        open_fail_msg(err, errlen, path, db, rc);
        goto out;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    ret = inspect(db, path, true, &is_new, err, errlen);
out:
    sqlite3_close(db);
    free(uri);
    return ret;
}

/* Create path empty with mode 0600. Returns 1 created, 0 already there, -1 error (in err). */
static int create_empty(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            msg(err, errlen, "%s: cannot open store (not a regular file)", path);
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        msg(err, errlen, "%s: cannot open store (%s)", path, strerror(errno));
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0;
        msg(err, errlen, "%s: cannot create store (%s)", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 1;
}

/* ------------------------------------------------------------------ open and close */

/* The new-store transaction: schema and version, or nothing. */
static int create_schema(struct store *s, char *err, size_t errlen)
{
    long long version = 0, objects = 0;
    int rc = exec(s->db, "BEGIN IMMEDIATE");
    if (rc == SQLITE_OK)
        rc = query_int(s->db, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK)
        rc = query_int(s->db, "SELECT count(*) FROM sqlite_schema", &objects);
    if (rc != SQLITE_OK)
        goto fail;
    if (version != 0 || objects != 0) {
        /* Another process created it since inspect(): use it if it is ours, else refuse. */
        exec(s->db, "ROLLBACK");
        bool is_new;
        return inspect(s->db, s->path, false, &is_new, err, errlen);
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
    if ((rc = exec(s->db, SCHEMA)) != SQLITE_OK || (rc = exec(s->db, pragma)) != SQLITE_OK ||
        (rc = exec(s->db, "COMMIT")) != SQLITE_OK)
        goto fail;
    return 0;
fail:
    msg(err, errlen, "%s: cannot create the store schema (%s)", s->path, sqlite3_errmsg(s->db));
    if (!sqlite3_get_autocommit(s->db))
        exec(s->db, "ROLLBACK");
    return -1;
}

int store_open(const char *path, struct store **out, char *err, size_t errlen)
{
    struct store *s = NULL;
    int created = 0;
    *out = NULL;
    if (!path || !*path) {
        msg(err, errlen, "store path is empty");
        return -1;
    }

    if ((created = create_empty(path, err, errlen)) < 0)
        return -1;
    /* One engine per store: a second xferd on the same state directory would run
     * every job twice. flock is apart from SQLite's fcntl locks; the descriptor
     * stays open until store_close, after SQLite's own are closed. */
    int lock_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        msg(err, errlen, "%s: %s", path,
            e == EWOULDBLOCK ? "the store is in use by another engine" : strerror(e));
        if (lock_fd >= 0)
            close(lock_fd);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        msg(err, errlen, "%s: cannot open store (%s)", path, strerror(errno));
        goto fail;
    }
    if (st.st_size > 0 && check_existing(path, err, errlen) != 0)
        goto fail;
    if (st.st_size == 0 && wal_has_content(path)) {
        /* SQLite would delete that -wal (even read-only): it is all that is left of a store. */
        msg(err, errlen,
            "%s: corrupt store (empty database file beside a non-empty -wal); refusing to open it "
            "— move it and its -wal aside to start afresh",
            path);
        goto fail;
    }

    if (!(s = calloc(1, sizeof *s))) {
        msg(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    s->lock_fd = lock_fd;
    lock_fd = -1;
    if (!(s->path = strdup(path))) {
        msg(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        open_fail_msg(err, errlen, path, s->db, rc);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        /* SQLite falls back to read-only when it may not write the file. */
        msg(err, errlen, "%s: cannot open store (no write permission)", path);
        goto fail;
    }
    /* Again with this connection, before journal_mode=WAL may write the header. */
    bool is_new = false;
    if (inspect(s->db, path, false, &is_new, err, errlen) != 0)
        goto fail;

    long long fk = 0;
    sqlite3_stmt *jm = NULL;
    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &jm, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(jm)) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(jm, 0);
        rc = mode && strcmp(mode, "wal") == 0 ? SQLITE_OK : SQLITE_ERROR;
        if (rc != SQLITE_OK)
            msg(err, errlen, "%s: cannot use WAL mode (journal_mode is %s)", path,
                mode ? mode : "unknown");
    } else {
        open_fail_msg(err, errlen, path, s->db, rc);
        rc = SQLITE_ERROR;
    }
    sqlite3_finalize(jm);
    if (rc != SQLITE_OK)
        goto fail;
    if ((rc = exec(s->db, "PRAGMA synchronous = NORMAL")) != SQLITE_OK ||
        (rc = exec(s->db, "PRAGMA foreign_keys = ON")) != SQLITE_OK ||
        (rc = query_int(s->db, "PRAGMA foreign_keys", &fk)) != SQLITE_OK) {
        open_fail_msg(err, errlen, path, s->db, rc);
        goto fail;
    }
    if (fk != 1) {
        msg(err, errlen, "%s: this SQLite has no foreign key support", path);
        goto fail;
    }
    if (is_new && create_schema(s, err, errlen) != 0)
        goto fail;

    for (int i = 0; i < S_COUNT; i++) {
        rc = sqlite3_prepare_v3(s->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
        if (rc != SQLITE_OK) {
            if (is_corrupt(rc))
                open_fail_msg(err, errlen, path, s->db, rc);
            else
                msg(err, errlen, "%s: not an xferlab store of schema %d (%s); refusing to open it",
                    path, STORE_SCHEMA_VERSION, sqlite3_errmsg(s->db));
            goto fail;
        }
    }
    *out = s;
    return 0;

fail:
    if (lock_fd >= 0)
        close(lock_fd);
    store_close(s);
    /* An empty file this call created goes again (SQLite removed its -wal on close). */
    if (created > 0 && stat(path, &st) == 0 && st.st_size == 0)
        unlink(path);
    return -1;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    /* The last connection checkpoints the WAL into the file and deletes it. */
    sqlite3_close(s->db);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s->path);
    free(s);
}

const char *store_errmsg(struct store *s)
{
    return s ? s->errmsg : "no store";
}

/* ------------------------------------------------------------------ statements */

/* Step a write statement to completion, then reset it. Returns 0, or -1 with errmsg set. */
static int step_done(struct store *s, enum stmt which, const char *what)
{
    sqlite3_stmt *st = s->st[which];
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        SET_ERR(s, "%s: %s", what, sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Like step_done, and the statement must have changed exactly one row. */
static int step_one_row(struct store *s, enum stmt which, const char *what)
{
    if (step_done(s, which, what) != 0)
        return -1;
    if (sqlite3_changes(s->db) != 1) {
        SET_ERR(s, "%s: no such row in the store", what);
        return -1;
    }
    return 0;
}

static int begin_write(struct store *s)
{
    return step_done(s, S_BEGIN_WRITE, "begin");
}

/* Commit; on failure the transaction is rolled back. */
static int commit(struct store *s)
{
    return step_done(s, S_COMMIT, "commit");
}

/* Undo the open transaction, if SQLite has not already (it does after some errors). */
static void rollback(struct store *s)
{
    if (sqlite3_get_autocommit(s->db))
        return;
    char keep[sizeof s->errmsg];
    memcpy(keep, s->errmsg, sizeof keep);
    step_done(s, S_ROLLBACK, "rollback");
    memcpy(s->errmsg, keep, sizeof keep); /* report the first failure, not this one */
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Bind job column col of j as parameter i. SQLITE_STATIC: j outlives the step. */
static int bind_job_col(sqlite3_stmt *st, int i, const struct job *j, enum job_col col)
{
    switch (col) {
    case JC_GUID:
        return sqlite3_bind_blob(st, i, j->guid.b, sizeof j->guid.b, SQLITE_STATIC);
    case JC_OWNER:
        return sqlite3_bind_int64(st, i, (int64_t)j->owner);
    case JC_TYPE:
        return sqlite3_bind_int(st, i, (int)j->type);
    case JC_STATE:
        return sqlite3_bind_int(st, i, (int)j->state);
    case JC_PRIORITY:
        return sqlite3_bind_int(st, i, (int)j->priority);
    case JC_DISPLAY_NAME:
        return bind_text(st, i, j->display_name);
    case JC_DESCRIPTION:
        return bind_text(st, i, j->description);
    case JC_CREATED_WALL:
        return sqlite3_bind_int64(st, i, j->created_wall);
    case JC_MODIFIED_WALL:
        return sqlite3_bind_int64(st, i, j->modified_wall);
    case JC_TRANSFERRED_WALL:
        return sqlite3_bind_int64(st, i, j->transferred_wall);
    case JC_COST_FLAGS:
        return sqlite3_bind_int64(st, i, j->cost_flags);
    case JC_NO_PROGRESS_TIMEOUT_S:
        return sqlite3_bind_int64(st, i, j->no_progress_timeout_s);
    case JC_MIN_RETRY_DELAY_S:
        return sqlite3_bind_int64(st, i, j->min_retry_delay_s);
    case JC_MAX_DOWNLOAD_TIME_S:
        return sqlite3_bind_int64(st, i, j->max_download_time_s);
    case JC_DYNAMIC_CONTENT:
        return sqlite3_bind_int(st, i, j->dynamic_content ? 1 : 0);
    case JC_HEADERS:
        return bind_text(st, i, j->headers);
    case JC_SERVER_SCHEME:
        return bind_text(st, i, j->server_creds.scheme);
    case JC_SERVER_USER:
        return bind_text(st, i, j->server_creds.user);
    case JC_SERVER_PASSWORD:
        return bind_text(st, i, j->server_creds.password);
    case JC_PROXY_SCHEME:
        return bind_text(st, i, j->proxy_creds.scheme);
    case JC_PROXY_USER:
        return bind_text(st, i, j->proxy_creds.user);
    case JC_PROXY_PASSWORD:
        return bind_text(st, i, j->proxy_creds.password);
    case JC_PROXY:
        return bind_text(st, i, j->proxy);
    case JC_NOTIFY_FLAGS:
        return sqlite3_bind_int64(st, i, j->notify_flags);
    case JC_NOTIFY_CMDLINE:
        return bind_text(st, i, j->notify_cmdline);
    case JC_ERR_HR:
        return sqlite3_bind_int64(st, i, j->err_hr);
    case JC_ERR_CTX:
        return sqlite3_bind_int(st, i, (int)j->err_ctx);
    case JC_ERR_FILE:
        return sqlite3_bind_int(st, i, j->err_file);
    case JC_ERR_DESC:
        return bind_text(st, i, j->err_desc);
    case JC_ERROR_COUNT:
        return sqlite3_bind_int64(st, i, j->error_count);
    case JC_RETRY_AT:
        return sqlite3_bind_int64(st, i, j->retry_at);
    case JC_NO_PROGRESS_SINCE:
        return sqlite3_bind_int64(st, i, j->no_progress_since);
    case JC_ACTIVE_MS:
        return sqlite3_bind_int64(st, i, j->active_ms);
    case JC_ACTIVE_SINCE:
        return sqlite3_bind_int64(st, i, j->active_since);
    case JC_LAST_ACTIVITY:
        return sqlite3_bind_int64(st, i, j->last_activity);
    case JC_BLOCKED_HR:
        return sqlite3_bind_int64(st, i, j->blocked_hr);
    case JC_ID:
    case JC_COUNT:
        break;
    }
    return SQLITE_MISUSE;
}

static int bind_file_col(sqlite3_stmt *st, int i, const struct jfile *f, enum file_col col)
{
    switch (col) {
    case FC_URL:
        return bind_text(st, i, f->url);
    case FC_LOCAL:
        return bind_text(st, i, f->local);
    case FC_TEMP:
        return bind_text(st, i, f->temp);
    case FC_TOTAL:
        return sqlite3_bind_int64(st, i, u64_to_i64(f->total));
    case FC_DONE:
        return sqlite3_bind_int64(st, i, u64_to_i64(f->done));
    case FC_COMPLETE:
        return sqlite3_bind_int(st, i, f->complete ? 1 : 0);
    case FC_HAS_RESTARTED:
        return sqlite3_bind_int(st, i, f->has_restarted ? 1 : 0);
    case FC_RESPONSE_CHANGED:
        return sqlite3_bind_int(st, i, f->response_changed ? 1 : 0);
    case FC_CK_BYTES:
        return sqlite3_bind_int64(st, i, u64_to_i64(f->ck_bytes));
    case FC_CK_DIGEST:
        return sqlite3_bind_blob(st, i, f->ck_digest, sizeof f->ck_digest, SQLITE_STATIC);
    case FC_ETAG:
        return bind_text(st, i, f->etag);
    case FC_LAST_MODIFIED:
        return bind_text(st, i, f->last_modified);
    case FC_REMOTE_SIZE:
        return sqlite3_bind_int64(st, i, u64_to_i64(f->remote_size));
    case FC_ID:
    case FC_JOB_ID:
    case FC_IDX:
    case FC_COUNT:
        break;
    }
    return SQLITE_MISUSE;
}

/* ------------------------------------------------------------------ writes */

/* Fails the enclosing function with errmsg set when a bind fails. */
#define BIND(s, expr, what)                                                                        \
    do {                                                                                           \
        if ((expr) != SQLITE_OK) {                                                                 \
            SET_ERR(s, "%s: %s", what, sqlite3_errmsg((s)->db));                                   \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* History rows hist_saved..nhist of job jid (inside the caller's transaction). */
static int insert_history(struct store *s, const struct job *j, int64_t jid)
{
    sqlite3_stmt *st = s->st[S_HIST_INSERT];
    for (size_t k = j->hist_saved; k < j->nhist; k++) {
        const struct xfer_transition *t = &j->hist[k];
        size_t clen = strnlen(t->cause, sizeof t->cause);
        BIND(s, sqlite3_bind_int64(st, 1, jid), "history");
        BIND(s, sqlite3_bind_int64(st, 2, (int64_t)k), "history");
        BIND(s, sqlite3_bind_int64(st, 3, t->time_ms), "history");
        BIND(s, sqlite3_bind_int(st, 4, (int)t->old_state), "history");
        BIND(s, sqlite3_bind_int(st, 5, (int)t->new_state), "history");
        BIND(s, sqlite3_bind_int64(st, 6, t->hr), "history");
        BIND(s, sqlite3_bind_text(st, 7, t->cause, (int)clen, SQLITE_STATIC), "history");
        if (step_done(s, S_HIST_INSERT, "history") != 0)
            return -1;
    }
    return 0;
fail:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return -1;
}

/* Insert file i of job jid with its ranges; *fid gets its row id. */
static int insert_file(struct store *s, const struct jfile *f, int64_t jid, size_t i, int64_t *fid)
{
    sqlite3_stmt *st = s->st[S_FILE_INSERT];
    BIND(s, sqlite3_bind_int64(st, FC_JOB_ID, jid), "file");
    BIND(s, sqlite3_bind_int64(st, FC_IDX, (int64_t)i), "file");
    for (int c = FC_URL; c < FC_COUNT; c++)
        BIND(s, bind_file_col(st, c, f, (enum file_col)c), "file");
    if (step_done(s, S_FILE_INSERT, "file") != 0)
        return -1;
    *fid = sqlite3_last_insert_rowid(s->db);

    st = s->st[S_RANGE_INSERT];
    for (size_t k = 0; k < f->nranges; k++) {
        BIND(s, sqlite3_bind_int64(st, 1, *fid), "range");
        BIND(s, sqlite3_bind_int64(st, 2, (int64_t)k), "range");
        BIND(s, sqlite3_bind_int64(st, 3, u64_to_i64(f->ranges[k].offset)), "range");
        BIND(s, sqlite3_bind_int64(st, 4, u64_to_i64(f->ranges[k].length)), "range");
        if (step_done(s, S_RANGE_INSERT, "range") != 0)
            return -1;
    }
    return 0;
fail:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return -1;
}

static int update_file(struct store *s, const struct jfile *f, int64_t jid)
{
    sqlite3_stmt *st = s->st[S_FILE_UPDATE];
    int n = 0;
    for (int c = FC_URL; c < FC_COUNT; c++)
        BIND(s, bind_file_col(st, ++n, f, (enum file_col)c), "file");
    BIND(s, sqlite3_bind_int64(st, n + 1, f->id), "file");
    BIND(s, sqlite3_bind_int64(st, n + 2, jid), "file");
    return step_one_row(s, S_FILE_UPDATE, "file");
fail:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return -1;
}

int store_save_job(struct store *s, struct job *j)
{
    int64_t jid = j->id;
    int64_t *fids = NULL; /* the files' row ids, copied into the job after COMMIT */
    sqlite3_stmt *st = NULL;

    if (j->nfiles > 0 && !(fids = calloc(j->nfiles, sizeof *fids))) {
        SET_ERR(s, "save job: out of memory");
        return -1;
    }
    if (begin_write(s) != 0)
        goto fail;

    st = s->st[jid == 0 ? S_JOB_INSERT : S_JOB_UPDATE];
    for (int c = JC_GUID; c < JC_COUNT; c++)
        BIND(s, bind_job_col(st, c, j, (enum job_col)c), "job");
    if (jid == 0) {
        if (step_done(s, S_JOB_INSERT, "job") != 0)
            goto fail;
        jid = sqlite3_last_insert_rowid(s->db);
    } else {
        BIND(s, sqlite3_bind_int64(st, JC_COUNT, jid), "job");
        if (step_one_row(s, S_JOB_UPDATE, "job") != 0)
            goto fail;
    }
    st = NULL;

    for (size_t i = 0; i < j->nfiles; i++) {
        const struct jfile *f = &j->files[i];
        fids[i] = f->id;
        if (f->id == 0 ? insert_file(s, f, jid, i, &fids[i]) : update_file(s, f, jid))
            goto fail;
    }
    if (insert_history(s, j, jid) != 0 || commit(s) != 0)
        goto fail;

    j->id = jid;
    for (size_t i = 0; i < j->nfiles; i++)
        j->files[i].id = fids[i];
    j->hist_saved = j->nhist;
    free(fids);
    return 0;

fail:
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    rollback(s);
    free(fids);
    return -1;
}

int store_save_progress(struct store *s, struct job *j, struct jfile *f)
{
    sqlite3_stmt *st = NULL;
    if (j->id == 0 || f->id == 0) {
        SET_ERR(s, "save progress: the job or file is not in the store yet (store_save_job first)");
        return -1;
    }
    if (begin_write(s) != 0)
        return -1;

    st = s->st[S_JOB_PROGRESS];
    for (size_t k = 0; k < NJOB_PROGRESS; k++)
        BIND(s, bind_job_col(st, (int)k + 1, j, JOB_PROGRESS[k]), "job progress");
    BIND(s, sqlite3_bind_int64(st, (int)NJOB_PROGRESS + 1, j->id), "job progress");
    if (step_one_row(s, S_JOB_PROGRESS, "job progress") != 0)
        goto fail;

    st = s->st[S_FILE_PROGRESS];
    for (size_t k = 0; k < NFILE_PROGRESS; k++)
        BIND(s, bind_file_col(st, (int)k + 1, f, FILE_PROGRESS[k]), "file progress");
    BIND(s, sqlite3_bind_int64(st, (int)NFILE_PROGRESS + 1, f->id), "file progress");
    BIND(s, sqlite3_bind_int64(st, (int)NFILE_PROGRESS + 2, j->id), "file progress");
    if (step_one_row(s, S_FILE_PROGRESS, "file progress") != 0)
        goto fail;
    st = NULL;

    /* A state change rides with the checkpoint: state and its history commit together. */
    if (insert_history(s, j, j->id) != 0 || commit(s) != 0)
        goto fail;
    j->hist_saved = j->nhist;
    return 0;

fail:
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    rollback(s);
    return -1;
}

int store_delete_job(struct store *s, int64_t job_id)
{
    /* One statement is one transaction; the foreign keys take files, ranges and history. */
    if (sqlite3_bind_int64(s->st[S_JOB_DELETE], 1, job_id) != SQLITE_OK) {
        SET_ERR(s, "delete job: %s", sqlite3_errmsg(s->db));
        return -1;
    }
    return step_done(s, S_JOB_DELETE, "delete job");
}

int64_t store_get_clock(struct store *s)
{
    sqlite3_stmt *st = s->st[S_META_GET];
    int64_t v = 0;
    if (sqlite3_bind_text(st, 1, "clock", -1, SQLITE_STATIC) != SQLITE_OK) {
        SET_ERR(s, "clock: %s", sqlite3_errmsg(s->db));
        return 0;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        SET_ERR(s, "clock: %s", sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return v;
}

int store_set_clock(struct store *s, int64_t engine_ms)
{
    sqlite3_stmt *st = s->st[S_META_SET];
    if (sqlite3_bind_text(st, 1, "clock", -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, engine_ms) != SQLITE_OK) {
        SET_ERR(s, "clock: %s", sqlite3_errmsg(s->db));
        sqlite3_clear_bindings(st);
        return -1;
    }
    return step_done(s, S_META_SET, "clock");
}

/* ------------------------------------------------------------------ load */

/* Copy a TEXT column (NULL stays NULL). Returns 0 or -1 (out of memory). */
static int load_text(sqlite3_stmt *st, int i, char **slot)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return job_set_str(slot, NULL);
    const char *v = (const char *)sqlite3_column_text(st, i);
    if (!v)
        return -1;
    return job_set_str(slot, v);
}

/* Whether integer column i lies in [lo, hi]; *v gets it. */
static bool load_range(sqlite3_stmt *st, int i, int64_t lo, int64_t hi, int64_t *v)
{
    *v = sqlite3_column_int64(st, i);
    return *v >= lo && *v <= hi;
}

/* Set field col of j from column col of the S_LOAD_JOBS row. Returns 0 or -1 (why in err). */
static int load_job_col(sqlite3_stmt *st, struct job *j, enum job_col col, char *err, size_t errlen)
{
    int i = (int)col;
    int64_t v = 0;
    switch (col) {
    case JC_GUID:
        if (sqlite3_column_bytes(st, i) != (int)sizeof j->guid.b)
            goto bad;
        memcpy(j->guid.b, sqlite3_column_blob(st, i), sizeof j->guid.b);
        return 0;
    case JC_OWNER:
        if (!load_range(st, i, 0, UINT32_MAX, &v))
            goto bad;
        j->owner = (uid_t)v;
        return 0;
    case JC_TYPE:
        if (!load_range(st, i, XFER_DOWNLOAD, XFER_UPLOAD_REPLY, &v))
            goto bad;
        j->type = (enum xfer_job_type)v;
        return 0;
    case JC_STATE:
        if (!load_range(st, i, 0, XFER_STATE_COUNT - 1, &v))
            goto bad;
        j->state = (enum xfer_state)v;
        return 0;
    case JC_PRIORITY:
        if (!load_range(st, i, XFER_FOREGROUND, XFER_LOW, &v))
            goto bad;
        j->priority = (enum xfer_priority)v;
        return 0;
    case JC_DISPLAY_NAME:
        return load_text(st, i, &j->display_name) ? -2 : 0;
    case JC_DESCRIPTION:
        return load_text(st, i, &j->description) ? -2 : 0;
    case JC_CREATED_WALL:
        j->created_wall = sqlite3_column_int64(st, i);
        return 0;
    case JC_MODIFIED_WALL:
        j->modified_wall = sqlite3_column_int64(st, i);
        return 0;
    case JC_TRANSFERRED_WALL:
        j->transferred_wall = sqlite3_column_int64(st, i);
        return 0;
    case JC_COST_FLAGS:
        if (!load_range(st, i, 0, UINT32_MAX, &v))
            goto bad;
        j->cost_flags = (uint32_t)v;
        return 0;
    case JC_NO_PROGRESS_TIMEOUT_S:
        j->no_progress_timeout_s = sqlite3_column_int64(st, i);
        return 0;
    case JC_MIN_RETRY_DELAY_S:
        j->min_retry_delay_s = sqlite3_column_int64(st, i);
        return 0;
    case JC_MAX_DOWNLOAD_TIME_S:
        j->max_download_time_s = sqlite3_column_int64(st, i);
        return 0;
    case JC_DYNAMIC_CONTENT:
        j->dynamic_content = sqlite3_column_int64(st, i) != 0;
        return 0;
    case JC_HEADERS:
        return load_text(st, i, &j->headers) ? -2 : 0;
    case JC_SERVER_SCHEME:
        return load_text(st, i, &j->server_creds.scheme) ? -2 : 0;
    case JC_SERVER_USER:
        return load_text(st, i, &j->server_creds.user) ? -2 : 0;
    case JC_SERVER_PASSWORD:
        return load_text(st, i, &j->server_creds.password) ? -2 : 0;
    case JC_PROXY_SCHEME:
        return load_text(st, i, &j->proxy_creds.scheme) ? -2 : 0;
    case JC_PROXY_USER:
        return load_text(st, i, &j->proxy_creds.user) ? -2 : 0;
    case JC_PROXY_PASSWORD:
        return load_text(st, i, &j->proxy_creds.password) ? -2 : 0;
    case JC_PROXY:
        return load_text(st, i, &j->proxy) ? -2 : 0;
    case JC_NOTIFY_FLAGS:
        if (!load_range(st, i, 0, UINT32_MAX, &v))
            goto bad;
        j->notify_flags = (uint32_t)v;
        return 0;
    case JC_NOTIFY_CMDLINE:
        return load_text(st, i, &j->notify_cmdline) ? -2 : 0;
    case JC_ERR_HR:
        if (!load_range(st, i, INT32_MIN, INT32_MAX, &v))
            goto bad;
        j->err_hr = (xfer_hr)v;
        return 0;
    case JC_ERR_CTX:
        if (!load_range(st, i, XFER_CTX_NONE, XFER_CTX_SERVER_CERTIFICATE_CALLBACK, &v))
            goto bad;
        j->err_ctx = (enum xfer_context)v;
        return 0;
    case JC_ERR_FILE:
        if (!load_range(st, i, -1, INT32_MAX, &v))
            goto bad;
        j->err_file = (int)v;
        return 0;
    case JC_ERR_DESC:
        return load_text(st, i, &j->err_desc) ? -2 : 0;
    case JC_ERROR_COUNT:
        if (!load_range(st, i, 0, UINT32_MAX, &v))
            goto bad;
        j->error_count = (unsigned)v;
        return 0;
    case JC_RETRY_AT:
        j->retry_at = sqlite3_column_int64(st, i);
        return 0;
    case JC_NO_PROGRESS_SINCE:
        j->no_progress_since = sqlite3_column_int64(st, i);
        return 0;
    case JC_ACTIVE_MS:
        j->active_ms = sqlite3_column_int64(st, i);
        return 0;
    case JC_ACTIVE_SINCE:
        j->active_since = sqlite3_column_int64(st, i);
        return 0;
    case JC_LAST_ACTIVITY:
        j->last_activity = sqlite3_column_int64(st, i);
        return 0;
    case JC_BLOCKED_HR:
        j->blocked_hr = sqlite3_column_int64(st, i);
        return 0;
    case JC_ID:
    case JC_COUNT:
        break;
    }
bad:
    msg(err, errlen, "job %lld: bad %s in the store", (long long)j->id, JOB_COL_NAME[i]);
    return -1;
}

static int load_file_col(sqlite3_stmt *st, struct jfile *f, enum file_col col, char *err,
                         size_t errlen)
{
    int i = (int)col;
    switch (col) {
    case FC_URL:
        return load_text(st, i, &f->url) ? -2 : 0;
    case FC_LOCAL:
        return load_text(st, i, &f->local) ? -2 : 0;
    case FC_TEMP:
        return load_text(st, i, &f->temp) ? -2 : 0;
    case FC_TOTAL:
        f->total = i64_to_u64(sqlite3_column_int64(st, i));
        return 0;
    case FC_DONE:
        f->done = i64_to_u64(sqlite3_column_int64(st, i));
        return 0;
    case FC_COMPLETE:
        f->complete = sqlite3_column_int64(st, i) != 0;
        return 0;
    case FC_HAS_RESTARTED:
        f->has_restarted = sqlite3_column_int64(st, i) != 0;
        return 0;
    case FC_RESPONSE_CHANGED:
        f->response_changed = sqlite3_column_int64(st, i) != 0;
        return 0;
    case FC_CK_BYTES:
        f->ck_bytes = i64_to_u64(sqlite3_column_int64(st, i));
        return 0;
    case FC_CK_DIGEST:
        if (sqlite3_column_bytes(st, i) != (int)sizeof f->ck_digest)
            break;
        memcpy(f->ck_digest, sqlite3_column_blob(st, i), sizeof f->ck_digest);
        return 0;
    case FC_ETAG:
        return load_text(st, i, &f->etag) ? -2 : 0;
    case FC_LAST_MODIFIED:
        return load_text(st, i, &f->last_modified) ? -2 : 0;
    case FC_REMOTE_SIZE:
        f->remote_size = i64_to_u64(sqlite3_column_int64(st, i));
        return 0;
    case FC_ID:
    case FC_JOB_ID:
    case FC_IDX:
    case FC_COUNT:
        break;
    }
    msg(err, errlen, "file %lld: bad %s in the store", (long long)f->id, FILE_COL_NAME[i]);
    return -1;
}

/* A step of a load SELECT: 1 a row, 0 done, -1 error (in err). */
static int step_row(struct store *s, sqlite3_stmt *st, char *err, size_t errlen)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    msg(err, errlen, "%s", sqlite3_errmsg(s->db));
    return -1;
}

#define OOM(err, errlen) msg(err, errlen, "load: out of memory")

/* The ranges of file fid into *buf (grown as needed; the caller frees it). */
static int load_ranges(struct store *s, int64_t fid, struct xfer_range **buf, size_t *cap,
                       size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st = s->st[S_LOAD_RANGES];
    int ret = -1, r;
    *n = 0;
    sqlite3_bind_int64(st, 1, fid);
    while ((r = step_row(s, st, err, errlen)) == 1) {
        if (sqlite3_column_int64(st, 0) != (int64_t)*n) {
            msg(err, errlen, "file %lld: range rows are not contiguous", (long long)fid);
            goto out;
        }
        if (*n == *cap) {
            size_t ncap = *cap ? *cap * 2 : 16;
            struct xfer_range *b = realloc(*buf, ncap * sizeof *b);
            if (!b) {
                OOM(err, errlen);
                goto out;
            }
            *buf = b;
            *cap = ncap;
        }
        (*buf)[*n].offset = i64_to_u64(sqlite3_column_int64(st, 1));
        (*buf)[*n].length = i64_to_u64(sqlite3_column_int64(st, 2));
        (*n)++;
    }
    ret = r;
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

static int load_files(struct store *s, struct job *j, struct xfer_range **rbuf, size_t *rcap,
                      char *err, size_t errlen)
{
    sqlite3_stmt *st = s->st[S_LOAD_FILES];
    int ret = -1, r;
    sqlite3_bind_int64(st, 1, j->id);
    while ((r = step_row(s, st, err, errlen)) == 1) {
        int64_t fid = sqlite3_column_int64(st, FC_ID);
        size_t nr = 0;
        if (sqlite3_column_int64(st, FC_IDX) != (int64_t)j->nfiles) {
            msg(err, errlen, "job %lld: file rows are not contiguous", (long long)j->id);
            goto out;
        }
        if (load_ranges(s, fid, rbuf, rcap, &nr, err, errlen) != 0)
            goto out;
        struct jfile *f = job_add_file(j, NULL, NULL, NULL, *rbuf, nr);
        if (!f) {
            OOM(err, errlen);
            goto out;
        }
        f->id = fid;
        for (int c = FC_URL; c < FC_COUNT; c++) {
            int lr = load_file_col(st, f, (enum file_col)c, err, errlen);
            if (lr == -2)
                OOM(err, errlen);
            if (lr != 0)
                goto out;
        }
    }
    ret = r;
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

static int load_history(struct store *s, struct job *j, char *err, size_t errlen)
{
    sqlite3_stmt *st = s->st[S_LOAD_HIST];
    int ret = -1, r;
    sqlite3_bind_int64(st, 1, j->id);
    while ((r = step_row(s, st, err, errlen)) == 1) {
        struct xfer_transition t = {0};
        int64_t o = sqlite3_column_int64(st, 2), nw = sqlite3_column_int64(st, 3);
        int64_t hr = sqlite3_column_int64(st, 4);
        const char *cause = (const char *)sqlite3_column_text(st, 5);
        if (sqlite3_column_int64(st, 0) != (int64_t)j->nhist || o < 0 || o >= XFER_STATE_COUNT ||
            nw < 0 || nw >= XFER_STATE_COUNT || hr < INT32_MIN || hr > INT32_MAX) {
            msg(err, errlen, "job %lld: bad history row %zu", (long long)j->id, j->nhist);
            goto out;
        }
        t.time_ms = sqlite3_column_int64(st, 1);
        t.old_state = (enum xfer_state)o;
        t.new_state = (enum xfer_state)nw;
        t.hr = (xfer_hr)hr;
        snprintf(t.cause, sizeof t.cause, "%s", cause ? cause : "");
        if (job_hist_append(j, &t) != 0) {
            OOM(err, errlen);
            goto out;
        }
    }
    j->hist_saved = j->nhist;
    ret = r;
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

int store_load(struct store *s, struct job ***jobs, size_t *n, char *err, size_t errlen)
{
    struct job **arr = NULL; /* ours until returned */
    size_t cnt = 0, cap = 0, rcap = 0;
    struct xfer_range *rbuf = NULL;
    sqlite3_stmt *st = s->st[S_LOAD_JOBS];
    char why[sizeof s->errmsg] = "";
    int r;

    *jobs = NULL;
    *n = 0;
    /* One read snapshot across the four SELECTs. */
    if (step_done(s, S_BEGIN, "begin") != 0) {
        msg(err, errlen, "%s: cannot load the store (%s)", s->path, s->errmsg);
        return -1;
    }
    while ((r = step_row(s, st, why, sizeof why)) == 1) {
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct job **a = realloc(arr, ncap * sizeof *a);
            if (!a) {
                OOM(why, sizeof why);
                goto fail;
            }
            arr = a;
            cap = ncap;
        }
        struct job *j = job_new(XFER_DOWNLOAD, 0, NULL);
        if (!j) {
            OOM(why, sizeof why);
            goto fail;
        }
        arr[cnt++] = j;
        j->id = sqlite3_column_int64(st, JC_ID);
        for (int c = JC_GUID; c < JC_COUNT; c++) {
            int lr = load_job_col(st, j, (enum job_col)c, why, sizeof why);
            if (lr == -2)
                OOM(why, sizeof why);
            if (lr != 0)
                goto fail;
        }
        if (load_files(s, j, &rbuf, &rcap, why, sizeof why) != 0 ||
            load_history(s, j, why, sizeof why) != 0)
            goto fail;
    }
    if (r != 0)
        goto fail;
    sqlite3_reset(st);
    if (step_done(s, S_COMMIT, "load") != 0) {
        msg(why, sizeof why, "%s", s->errmsg);
        goto fail;
    }
    free(rbuf);
    *jobs = arr;
    *n = cnt;
    return 0;

fail:
    sqlite3_reset(st);
    rollback(s);
    for (size_t i = 0; i < cnt; i++)
        job_free(arr[i]);
    free(arr);
    free(rbuf);
    SET_ERR(s, "%s: cannot load the store (%s)", s->path, why);
    msg(err, errlen, "%s", s->errmsg);
    return -1;
}
