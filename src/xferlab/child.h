/*
 * child: one scenario-exec child process of the runner. It runs in its own
 * process group (so a kill reaches xferd and anything else it started) with
 * its own temporary directory (mkdtemp under /tmp) as --out; its stdout and
 * stderr go to a file in that directory. The runner starts children, reaps
 * them without blocking, kills a group that overruns its wall limit, and
 * removes the directory afterwards.
 */
#ifndef XL_CHILD_H
#define XL_CHILD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define XL_CHILD_OUTPUT "scenario-exec.out"

struct xl_child {
    pid_t pid;           /* also the process group; 0 when not running */
    char dir[PATH_MAX];  /* its --out directory */
    int64_t start_ns;    /* monotonic */
    int64_t deadline_ns; /* the runner's hard wall limit */
    bool killed;         /* the runner killed it at the wall limit */
    int status;          /* waitpid's, once reaped */
};

/*
 * Start `/proc/self/exe argv...` (as `xferlab argv...`) with the directory made for it appended as
 * `--out DIR`. argv is NULL-terminated; argv[0] is the verb ("scenario-exec").
 * Returns 0, or -1 with err (nothing is left behind then).
 */
int xl_child_start(struct xl_child *c, char *const argv[], int64_t wall_limit_ms, char *err,
                   size_t errlen);
/*
 * Reap c when it has ended (non-blocking). Returns true when it has ended;
 * kills its group first when its deadline has passed.
 */
bool xl_child_poll(struct xl_child *c, int64_t now_ns);
/* Kill the group and reap (blocking): for an interrupted runner. */
void xl_child_kill(struct xl_child *c);
/* Remove c's directory and everything in it. */
void xl_child_remove_dir(const struct xl_child *c);

/* The exit code it ended with, or -1 when a signal ended it (sig set). */
int xl_child_exit_code(const struct xl_child *c, int *sig);

/* rm -rf dir (no symlinks followed). Returns 0 or -1. */
int xl_rmtree(const char *dir);

#endif
