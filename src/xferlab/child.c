/*
 * child: fork/exec of one scenario-exec, its process group and its directory
 * (see child.h). The child makes itself the leader of a new group before
 * exec; the parent does the same setpgid so that a kill sent right after
 * fork already reaches the group.
 */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

#define MAX_ARGS 32

int xl_child_start(struct xl_child *c, char *const argv[], int64_t wall_limit_ms, char *err,
                   size_t errlen)
{
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "/tmp/xferlab-run-XXXXXX");
    if (!mkdtemp(c->dir)) {
        snprintf(err, errlen, "mkdtemp %s: %s", c->dir, strerror(errno));
        return -1;
    }
    char *args[MAX_ARGS + 4];
    size_t n = 0;
    args[n++] = "xferlab";
    for (size_t i = 0; argv[i] && i < MAX_ARGS; i++)
        args[n++] = argv[i];
    args[n++] = "--out";
    args[n++] = c->dir;
    args[n] = NULL;
    char out[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/%s", c->dir, XL_CHILD_OUTPUT);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", out, strerror(errno));
        goto fail;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fd);
        goto fail;
    }
    if (pid == 0) {
        setpgid(0, 0);
        /* The runner blocks these to wait for them; the child starts clean. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execv("/proc/self/exe", args);
        dprintf(STDERR_FILENO, "xferlab run: exec /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(fd);
    c->pid = pid;
    c->start_ns = xl_mono_ns();
    c->deadline_ns = c->start_ns + wall_limit_ms * 1000000;
    return 0;
fail:
    xl_rmtree(c->dir);
    return -1;
}

bool xl_child_poll(struct xl_child *c, int64_t now_ns)
{
    if (c->pid <= 0)
        return true;
    if (!c->killed && now_ns >= c->deadline_ns) {
        kill(-c->pid, SIGKILL);
        c->killed = true;
    }
    int status;
    pid_t r = waitpid(c->pid, &status, WNOHANG);
    if (r == 0)
        return false;
    c->status = r == c->pid ? status : 0;
    /* The group may still hold a grandchild (xferd) the child did not reap. */
    kill(-c->pid, SIGKILL);
    c->pid = 0;
    return true;
}

void xl_child_kill(struct xl_child *c)
{
    if (c->pid <= 0)
        return;
    kill(-c->pid, SIGKILL);
    c->killed = true;
    waitpid(c->pid, &c->status, 0);
    c->pid = 0;
}

int xl_child_exit_code(const struct xl_child *c, int *sig)
{
    *sig = 0;
    if (WIFEXITED(c->status))
        return WEXITSTATUS(c->status);
    if (WIFSIGNALED(c->status))
        *sig = WTERMSIG(c->status);
    return -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int xl_rmtree(const char *dir)
{
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void xl_child_remove_dir(const struct xl_child *c)
{
    xl_rmtree(c->dir);
}
