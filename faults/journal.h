/*
 * journal: every request a fault server saw, and how it ended.
 *
 * A server opens an entry when a request (HTTP) or a command (FTP) arrives, fills it in while it
 * answers, and closes it with an outcome. Entries are visible from the moment they open, so a test
 * can see a request that is still stalled. The harness asserts on entries ("the second request
 * asked Range: bytes=3145728- with If-Range set to the ETag").
 *
 * The journal owns its entries; servers hold a pointer to an open entry and
 * write its fields only between flt_journal_lock() and flt_journal_unlock().
 * Readers take copies (flt_journal_get) or JSON (flt_journal_json). It keeps
 * the newest FLT_JOURNAL_MAX entries; older ones are dropped and counted, so
 * memory stays bounded under a load test.
 */
#ifndef FLT_JOURNAL_H
#define FLT_JOURNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#define FLT_JOURNAL_MAX 100000

enum flt_outcome {
    FLT_OUT_PENDING,     /* still being answered */
    FLT_OUT_COMPLETE,    /* the whole response was sent */
    FLT_OUT_CLOSED,      /* the server closed (FIN) before the end, on purpose */
    FLT_OUT_RESET,       /* the server reset (RST) the connection, on purpose */
    FLT_OUT_STALLED,     /* the connection ended while the server was stalling it */
    FLT_OUT_TIMED_OUT,   /* the server's idle timeout closed it */
    FLT_OUT_CLIENT_GONE, /* the client closed or reset first */
    FLT_OUT_ERROR        /* the server failed (I/O error, shutdown) */
};
const char *flt_outcome_name(enum flt_outcome o);

struct flt_jentry {
    uint64_t id;              /* 1-based, in arrival order */
    uint64_t conn;            /* 1-based connection number on its server */
    int64_t t_ms;             /* clock time when it arrived */
    int64_t end_ms;           /* clock time when it ended, -1 while pending */
    char proto[8];            /* "http", "https", "ftp" */
    char method[16];          /* HTTP method or FTP command */
    char *target;             /* request target or FTP argument */
    char *headers;            /* request headers, "Name: value\n" each */
    char *range;              /* Range header or FTP REST offset, NULL if none */
    char *if_range;           /* If-Range header, NULL if none */
    int status;               /* status or reply code sent, 0 if none */
    uint64_t offset;          /* entity offset of the first body byte */
    uint64_t sent;            /* body bytes sent */
    int64_t length;           /* body length announced, -1 if none */
    uint64_t received;        /* request body bytes received */
    char received_sha256[65]; /* SHA-256 of them, hex, "" if none */
    char *parts;              /* multipart parts: "field=f;filename=x;size=N;sha256=H\n" */
    char fired[256];          /* names of the fault rules that fired */
    enum flt_outcome outcome;
    int refs; /* the ring's and the open server's; freed at 0 */
};

struct flt_journal {
    pthread_mutex_t lock;
    struct flt_jentry **ring;
    size_t cap, head, count; /* ring[head] is the oldest of count entries */
    uint64_t next_id;
    uint64_t dropped; /* entries pushed out of the ring */
};

void flt_journal_init(struct flt_journal *j);
void flt_journal_free(struct flt_journal *j);
/* Forget every entry (ids keep counting up); open entries live on until ended. */
void flt_journal_clear(struct flt_journal *j);
/*
 * Open a new entry and return it (owned by the journal, valid until it is
 * dropped from the ring or the journal is cleared; servers must not keep it
 * past the request). Returns NULL when out of memory.
 */
struct flt_jentry *flt_journal_open(struct flt_journal *j, const char *proto, uint64_t conn,
                                    int64_t now_ms);
/*
 * Set the outcome (unless one is set already) and the end time, and give up the
 * server's hold on e: the server must not touch e afterwards.
 */
void flt_journal_end(struct flt_journal *j, struct flt_jentry *e, enum flt_outcome o,
                     int64_t now_ms);
void flt_journal_lock(struct flt_journal *j);
void flt_journal_unlock(struct flt_journal *j);
/* Entries currently kept. */
size_t flt_journal_count(struct flt_journal *j);
/*
 * Deep-copy entry idx (0 = oldest kept) into *out; free it with
 * flt_jentry_release(). Returns 0, or -1 if idx is out of range.
 */
int flt_journal_get(struct flt_journal *j, size_t idx, struct flt_jentry *out);
void flt_jentry_release(struct flt_jentry *e);
/* A new JSON array of the entries with id > since_id (caller owns the reference). */
json_t *flt_journal_json(struct flt_journal *j, uint64_t since_id);
json_t *flt_jentry_json(const struct flt_jentry *e);

#endif
