/*
 * fltenv: a fault-server world for one test.
 *
 * A test fills in rules and content, creates the servers it needs on env.base,
 * then fltenv_run() starts the event loop on a thread of its own so the test's
 * blocking libcurl calls can talk to the servers. fltenv_stop() stops the loop
 * and joins it; the test then frees its servers and calls fltenv_free().
 * Rules, content and journal are locked internally, so the test thread may read
 * the journal or add rules while the loop runs.
 */
#ifndef FLTENV_H
#define FLTENV_H

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "content.h"
#include "journal.h"
#include "rule.h"

struct fltenv {
    struct event_base *base;
    struct flt_rules rules;
    struct flt_content content;
    struct flt_journal journal;
    struct xl_clock clock;
    char dir[64]; /* a private temporary directory, removed by fltenv_free */
    pthread_t thread;
    bool running;
};

/* Set up base, rules, content, journal, clock (scale 1) and dir. Returns 0 or -1. */
int fltenv_init(struct fltenv *e);
/* Start the loop thread. */
int fltenv_run(struct fltenv *e);
/* Stop the loop thread and join it (idempotent). */
void fltenv_stop(struct fltenv *e);
/* Release everything fltenv_init made and remove dir with its contents. */
void fltenv_free(struct fltenv *e);
struct flt_http;
struct flt_http_config;
/* An HTTP(S) server on e's rules, content, journal and clock, or fail the test. Caller frees. */
struct flt_http *fltenv_http(struct fltenv *e, const struct flt_http_config *cfg);
/* Add a rule or fail the test with the parser's message. */
void fltenv_rule(struct fltenv *e, const char *text);
/* Declare a generated entity or fail the test. */
void fltenv_gen(struct fltenv *e, const char *path, uint64_t size, uint64_t seed);
/* SHA-256 (hex) of bytes [off, off+len) of a generated entity. */
void fltenv_gen_sha256(uint64_t seed, unsigned version, uint64_t off, uint64_t len, char hex[65]);
/* SHA-256 (hex) of a buffer. */
void fltenv_sha256(const void *buf, size_t len, char hex[65]);
/* Wait (up to 10 s) until journal j holds n entries whose outcome is not pending. */
bool fltenv_wait_journal(struct flt_journal *j, size_t n);
/* The same for the environment's own journal. */
bool fltenv_wait_ended(struct fltenv *e, size_t n);

/* A libcurl download into memory. */
struct fltenv_fetch {
    int curl_code; /* CURLcode */
    long status;   /* HTTP status or FTP reply */
    char *body;    /* malloc'd, NUL-terminated, body_len bytes */
    size_t body_len;
    char *headers;   /* response header block(s), NUL-terminated */
    char error[256]; /* CURLOPT_ERRORBUFFER */
};
/*
 * Perform h (URL and options set by the test, including its timeout) collecting
 * body and headers into *f. Returns the CURLcode. Release f with
 * fltenv_fetch_release().
 */
int fltenv_perform(void *curl_easy, struct fltenv_fetch *f);
/* GET url with a 20 s overall timeout. */
int fltenv_get(const char *url, struct fltenv_fetch *f);
void fltenv_fetch_release(struct fltenv_fetch *f);

#endif
