/*
 * xdb: the schema of xferd.db (see xdb.h).
 */
#include "xdb.h"

#include <stdio.h>

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS groups(owner INTEGER NOT NULL, name TEXT NOT NULL,"
    " cmdline TEXT NOT NULL, enabled INTEGER NOT NULL, fired INTEGER NOT NULL,"
    " fired_ms INTEGER NOT NULL, PRIMARY KEY(owner, name));"
    "CREATE TABLE IF NOT EXISTS group_jobs(owner INTEGER NOT NULL, name TEXT NOT NULL,"
    " guid TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(owner, name, guid));"
    "CREATE INDEX IF NOT EXISTS group_jobs_guid ON group_jobs(guid);"
    "CREATE TABLE IF NOT EXISTS notify_done(guid TEXT NOT NULL, state INTEGER NOT NULL,"
    " entered_ms INTEGER NOT NULL, PRIMARY KEY(guid, state, entered_ms));";

sqlite3 *xd_db_open(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    sqlite3 *db = NULL;
    char *msg = NULL;
    snprintf(path, sizeof path, "%s/xferd.db", dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(db, 1000);
    if (sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg ? msg : "schema");
        sqlite3_free(msg);
        goto fail;
    }
    return db;
fail:
    sqlite3_close(db);
    return NULL;
}
