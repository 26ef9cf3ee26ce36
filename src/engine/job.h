/*
 * job: the in-memory job model — jobs, their files and ranges, properties,
 * error object, timers and state history.
 *
 * The engine owns every struct job (engine.c keeps them in a list and a GUID
 * index); the store (store.c) writes and reads them field for field; nothing
 * else allocates one. Strings are owned by the struct that holds them. The
 * fields marked "runtime" are not persisted.
 *
 * Times: *_ms fields named wall are Unix wall-clock milliseconds (what a user
 * reads); the others are engine time (xfer_engine_now), which continues across
 * restarts because the store keeps the engine time of its last write.
 */
#ifndef XFER_JOB_H
#define XFER_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfer/xfer.h"

struct fetch;

struct jfile {
    int64_t id;                /* store row id, 0 until saved */
    char *url;                 /* remote URL */
    char *local;               /* absolute destination path */
    char *temp;                /* hidden temporary file beside local */
    struct xfer_range *ranges; /* NULL: the whole entity */
    size_t nranges;
    uint64_t total; /* bytes the local file will have, XFER_SIZE_UNKNOWN */
    uint64_t done;  /* bytes written to the temp file */
    bool complete;
    bool has_restarted; /* a resume had to start over (cleared when reported) */
    bool response_changed;
    /* checkpoint: what a resume needs and what the partial check compares */
    uint64_t ck_bytes;           /* bytes of temp known good */
    unsigned char ck_digest[32]; /* SHA-256 over the checkpoint's samples of [0, ck_bytes) */
    char *etag;                  /* strong validator, NULL if none */
    char *last_modified;         /* Last-Modified (or FTP MDTM), NULL if none */
    uint64_t remote_size;        /* entity size the server reported, XFER_SIZE_UNKNOWN */
};

struct jcreds {
    char *scheme; /* "basic", "digest"; NULL = none */
    char *user;
    char *password;
};

struct job {
    int64_t id; /* store row id */
    xfer_guid guid;
    uid_t owner;
    enum xfer_job_type type;
    enum xfer_state state;
    enum xfer_priority priority;
    char *display_name;
    char *description;
    int64_t created_wall, modified_wall, transferred_wall; /* Unix ms */

    /* properties (props.c) */
    uint32_t cost_flags;
    int64_t no_progress_timeout_s;
    int64_t min_retry_delay_s;
    int64_t max_download_time_s;
    bool dynamic_content;
    char *headers; /* "Name: value" lines, '\n'-separated, or NULL */
    struct jcreds server_creds, proxy_creds;
    char *proxy; /* proxy URL, NULL = the engine's default */
    uint32_t notify_flags;
    char *notify_cmdline;

    struct jfile *files;
    size_t nfiles;

    /* error object */
    xfer_hr err_hr;
    enum xfer_context err_ctx;
    int err_file;
    char *err_desc;
    unsigned error_count;

    /* timers, engine time; -1 = not set */
    int64_t retry_at;          /* TRANSIENT_ERROR: when to retry */
    int64_t no_progress_since; /* first transient error since the last progress */
    int64_t active_ms;         /* time spent CONNECTING + TRANSFERRING */
    int64_t active_since;      /* when the current CONNECTING/TRANSFERRING began */
    int64_t last_activity;     /* progress or a property change */
    int64_t blocked_hr;        /* the platform block it waits on, 0 if none */

    /* history (appended by engine_set_state; hist_saved rows are in the store) */
    struct xfer_transition *hist;
    size_t nhist, hist_cap, hist_saved;

    /* runtime */
    struct fetch *fetch; /* the transfer in flight, or NULL */
    int64_t slice_end;   /* end of its round-robin slice, -1 */
    uint64_t seq;        /* scheduling order (FIFO within a priority) */
    unsigned retries;    /* automatic retries of the current request */
    bool gone;           /* reached a final state: out of the store, kept a while (eng_reap) */
    struct job *next;    /* engine's list */
};

/* A new job with the defaults of semantics.md §1.3; the caller owns it (job_free). */
struct job *job_new(enum xfer_job_type type, uid_t owner, const char *name);
void job_free(struct job *j);
/* Add a file (strings copied; ranges copied when n > 0). Returns the file or NULL on ENOMEM. */
struct jfile *job_add_file(struct job *j, const char *url, const char *local, const char *temp,
                           const struct xfer_range *ranges, size_t n);
/* Append a transition to the history. Returns 0 or -1 on ENOMEM. */
int job_hist_append(struct job *j, const struct xfer_transition *t);
/* Replace *slot with a copy of s (NULL clears). Returns 0 or -1 on ENOMEM. */
int job_set_str(char **slot, const char *s);
/* The index of the first unfinished file, or nfiles. */
size_t job_current_file(const struct job *j);
/* Sum of file totals (XFER_SIZE_UNKNOWN if any is unknown) and of bytes done. */
uint64_t job_bytes_total(const struct job *j);
uint64_t job_bytes_done(const struct job *j);
/* Discard a file's progress: back to byte 0, validators and checkpoint cleared. */
void job_file_reset(struct jfile *f);

#endif
