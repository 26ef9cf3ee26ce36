/*
 * xdb: xferd's own SQLite file, DIR/xferd.db, beside the engine's jobs.db.
 * It holds what the engine does not know: completion groups (groups.c) and
 * which notify command lines have succeeded (notify.c), so both survive a
 * restart. WAL mode: a SIGKILL loses nothing that was committed.
 */
#ifndef XFERD_XDB_H
#define XFERD_XDB_H

#include <sqlite3.h>
#include <stddef.h>

/* Open (creating) DIR/xferd.db. Caller owns; sqlite3_close. NULL with err. */
sqlite3 *xd_db_open(const char *dir, char *err, size_t errlen);

#endif
