/*
 * engenv: an engine under test, with fault servers to talk to.
 *
 * The fault servers (fltenv) run on a thread of their own; the engine runs on
 * an event base of the test's thread, driven by engenv_run_until(). Both read
 * the same clock (fltenv's), so a server's "stall for=10min" and the engine's
 * 2-minute response timeout live on one timeline; engenv_init's scale makes
 * simulated minutes cost wall milliseconds.
 *
 * Every engine event is copied into a log the test can read: the states a job
 * went through (engenv_states), restarts, files transferred.
 */
#ifndef ENGENV_H
#define ENGENV_H

#include <stdbool.h>
#include <stdint.h>

#include "fltenv.h"
#include "xfer/xfer.h"

struct engenv_event {
    struct xfer_event ev;
    char cause[32];
};

struct engenv {
    struct fltenv f;
    struct flt_http *http;
    struct flt_ftp *ftp;
    char http_url[64]; /* "http://127.0.0.1:PORT" */
    char ftp_url[64];  /* "ftp://127.0.0.1:PORT" */
    struct event_base *base;
    struct xfer_engine *eng;
    struct xfer_config cfg;
    char store[128]; /* the store file, in f.dir */
    char dl[128];    /* a download directory, in f.dir */
    struct engenv_event *log;
    size_t nlog, cap;
};

/* Servers (HTTP, and FTP when ftp is set) on a clock of the given scale, started. */
void engenv_init(struct engenv *t, double scale, bool ftp);
/*
 * The same on one loop: servers and engine share t->base = t->f.base and run
 * on the test's thread, as in a harness process (what else the test puts on
 * that loop — a link, a model — needs no locking).
 */
void engenv_init_one_loop(struct engenv *t, double scale, bool ftp);
/* Open the engine with t->cfg (fill it between init and open to change defaults). */
void engenv_open(struct engenv *t);
/* Close the engine (as a service stop would) and open it again on the same store. */
void engenv_reopen(struct engenv *t);
void engenv_free(struct engenv *t);

/* Run the engine loop until pred is true or wall_ms pass. Returns pred's last value. */
bool engenv_run_until(struct engenv *t, bool (*pred)(struct engenv *, void *), void *arg,
                      int wall_ms);
/* Run until the job is in state s (or wall_ms pass). */
bool engenv_wait_state(struct engenv *t, const xfer_guid *g, enum xfer_state s, int wall_ms);
/* Run the loop for wall_ms. */
void engenv_spin(struct engenv *t, int wall_ms);

/* A download job of url into dl/name, resumed. */
xfer_guid engenv_download(struct engenv *t, const char *url, const char *name);
/* The states the job entered, space-separated, from the event log ("SUSPENDED QUEUED ..."). */
void engenv_states(const struct engenv *t, const xfer_guid *g, char *out, size_t len);
/* Number of events of a type for the job. */
size_t engenv_count(const struct engenv *t, const xfer_guid *g, enum xfer_event_type type);
/* The job's state and error HRESULT (fails the test if the job is gone). */
enum xfer_state engenv_state(struct engenv *t, const xfer_guid *g, xfer_hr *err);
/* SHA-256 (hex) of a file; false if it cannot be read. */
bool engenv_file_sha256(const char *path, char hex[65]);
/* Complete the job and check that dl/name has the SHA-256 of generated entity (seed, size). */
void engenv_complete_and_check(struct engenv *t, const xfer_guid *g, const char *name,
                               uint64_t seed, uint64_t size);

#endif
