/*
 * proc: the xferd child process of one scenario run — the system under test.
 *
 * hx_proc_start forks and execs xferd with the run's state directory,
 * socket, the sim platform, the harness's clock (scale, epoch), the link as
 * its proxy and the test CA; its stdin is /dev/null, its stderr is appended
 * to the run's xferd.log (across restarts), its stdout is a pipe read until
 * the line `listening <path>`. The child dies with the harness
 * (PR_SET_PDEATHSIG) and is in the harness's process group, so the runner's
 * group kill reaches it too. hx_proc_kill sends SIGKILL and reaps it; every
 * exit path of the harness calls it.
 */
#ifndef HX_PROC_H
#define HX_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hx_proc_config {
    const char *xferd;     /* path of the binary */
    const char *state_dir; /* --state-dir */
    const char *socket;    /* --socket */
    const char *log_path;  /* stderr, appended */
    const char *link;      /* --link socks5h://... */
    const char *ca_file;   /* --ca-file */
    double scale;          /* --scale */
    int64_t epoch_ns;      /* --clock-epoch-ns: the wall time of simulated 0 */
    int start_timeout_ms;  /* wall ms to wait for `listening` */
};

struct hx_proc {
    pid_t pid; /* 0: not running */
    int starts;
};

/* Start xferd and wait until it listens. 0, or -1 with err (the child is gone then). */
int hx_proc_start(struct hx_proc *p, const struct hx_proc_config *cfg, char *err, size_t errlen);
/* SIGKILL and reap (no-op when not running). */
void hx_proc_kill(struct hx_proc *p);
/* Whether the child has exited by itself (reaps it; *status gets the wait status). */
bool hx_proc_exited(struct hx_proc *p, int *status);
/* Resolve the xferd binary: flag, else $XFERLAB_XFERD, else beside /proc/self/exe. */
int hx_proc_find_xferd(const char *flag, char *out, size_t len, char *err, size_t errlen);

#endif
