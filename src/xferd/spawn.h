/*
 * spawn: run a command line with /bin/sh -c as a given user and report its
 * exit on the event loop. Owns the children it started (pid, callback) and
 * the SIGCHLD event that reaps them. notify.c and groups.c use it.
 */
#ifndef XFERD_SPAWN_H
#define XFERD_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct xd_spawn;

/* exit_code: the exit status, or 128 + signal number. */
typedef void (*xd_spawn_done_fn)(void *arg, int exit_code);

/* Caller owns; xd_spawn_free (children still running are left to run, unreaped callbacks dropped).
 */
struct xd_spawn *xd_spawn_new(struct event_base *base, char *err, size_t errlen);
void xd_spawn_free(struct xd_spawn *s);
/*
 * Start `/bin/sh -c cmdline` as uid (dropping from root to uid's groups when
 * xferd runs as root and uid differs), with env ("NAME=value", NULL-terminated)
 * added to xferd's environment, stdin from /dev/null, stdout and stderr to
 * xferd's stderr. done runs once when it exits. 0, or -1 with err.
 */
int xd_spawn_run(struct xd_spawn *s, uid_t uid, const char *cmdline, const char *const *env,
                 xd_spawn_done_fn done, void *arg, char *err, size_t errlen);
/* Children of uid still running (XFER_OWNER_ANY, i.e. (uid_t)-1: of every user). */
unsigned xd_spawn_running(const struct xd_spawn *s, uid_t uid);

#endif
