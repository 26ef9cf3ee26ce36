/*
 * store: the SQLite job store (WAL).
 *
 * One database file holds every job that has not reached a final state: the
 * job row with its properties, error object and timers; its files with their
 * ranges and checkpoints; its state history; and one meta table (schema
 * version, the engine time of the last write). Writes are transactions: a
 * state change and the checkpoint that goes with it land together or not at
 * all, so a SIGKILL at any instant leaves a store that opens to a consistent
 * past. A store that is corrupt or has a newer schema is refused with a
 * message, never rewritten.
 *
 * The store does not own jobs: store_load allocates them (job_new) and hands
 * them to the caller; store_save_* read them.
 */
#ifndef XFER_STORE_H
#define XFER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"

#define STORE_SCHEMA_VERSION 1

struct store;

/*
 * Open (creating if missing, mode 0600: it holds credentials) the store at
 * path. An empty file is a new store. On failure returns -1 with a message in
 * err naming the file and the reason: "store schema 7 is newer than this
 * build (reads 1)", "corrupt store (file is not a database)", "not an xferlab
 * store (...)", "cannot create store (Permission denied)". A refused file is
 * left byte for byte as it was (and no -wal/-shm is created beside it). The
 * caller owns *out (store_close).
 */
int store_open(const char *path, struct store **out, char *err, size_t errlen);
void store_close(struct store *s);

/*
 * Every job in the store, oldest first, with files, ranges and history
 * (hist_saved = nhist; runtime fields as job_new leaves them). The caller
 * owns the array and the jobs (an empty store gives NULL and 0). Returns 0, or
 * -1 with a message and nothing allocated.
 */
int store_load(struct store *s, struct job ***jobs, size_t *n, char *err, size_t errlen);

/*
 * Write the whole job in one transaction: the job row (inserted when j->id is
 * 0, then j->id is set), every file (inserting new ones, setting their ids),
 * the ranges of new files (a file's ranges never change after job_add_file),
 * and the history rows from j->hist_saved on (then hist_saved = nhist).
 * Returns 0 or -1: the job in the store and j's ids and hist_saved are then
 * unchanged, and store_errmsg says why.
 */
int store_save_job(struct store *s, struct job *j);
/*
 * A checkpoint: the job row's progress fields (state, modified and
 * transferred times, error object, timers), one file's progress fields (total,
 * done, complete, has_restarted, response_changed, ck_bytes, ck_digest, etag,
 * last_modified, remote_size) and any history rows not yet saved, in one
 * transaction. Nothing else of the job is written. The job and f (a file of
 * that job) must have been saved by store_save_job. Returns 0 (hist_saved =
 * nhist) or -1 (the store and hist_saved unchanged; store_errmsg says why).
 */
int store_save_progress(struct store *s, struct job *j, struct jfile *f);
/* Remove the job and everything under it (a job not in the store is not an error). */
int store_delete_job(struct store *s, int64_t job_id);

/* The engine time recorded by the last store_set_clock, or 0 for a new store (and on error). */
int64_t store_get_clock(struct store *s);
int store_set_clock(struct store *s, int64_t engine_ms);

/* The message of the last failed call (with SQLite's own text), for the calls without err. */
const char *store_errmsg(struct store *s);

#endif
