/*
 * xferdenv: a real xferd process for one test (or the harness). It owns a
 * private mkdtemp directory (state dir, socket, anything the test puts in
 * it), the child's pid and the pipe its stdout goes to. Start waits for the
 * "listening PATH" line; restart starts again on the same state directory;
 * free kills a running xferd and removes the directory.
 */
#ifndef XFERDENV_H
#define XFERDENV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "client.h"

#define XFERDENV_MAX_ARGS 24

struct xferdenv {
    char dir[64];     /* /tmp/xferdenv-XXXXXX */
    char state[128];  /* dir/state */
    char socket[128]; /* dir/xferd.sock */
    char bin[4096];
    const char *args[XFERDENV_MAX_ARGS]; /* extra arguments (borrowed), NULL-terminated */
    pid_t pid;                           /* 0 when not running */
    int out_fd;                          /* the child's stdout */
};

/* Make the directory and remember bin and extra (NULL-terminated, may be NULL). 0 or -1 (err). */
int xferdenv_init(struct xferdenv *e, const char *bin, const char *const *extra, char *err,
                  size_t errlen);
/* Start xferd and wait (up to 20 s) for "listening". 0 or -1 (err). */
int xferdenv_start(struct xferdenv *e, char *err, size_t errlen);
/* Send sig and wait for the exit. Returns the wait status, or -1. *wall_ms gets the time taken. */
int xferdenv_stop(struct xferdenv *e, int sig, double *wall_ms);
/* A connected client. Caller owns (rpc_client_close). */
struct rpc_client *xferdenv_connect(struct xferdenv *e, char *err, size_t errlen);
/* Kill a running xferd (SIGKILL), remove the directory. */
void xferdenv_free(struct xferdenv *e);

#endif
