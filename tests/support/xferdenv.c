/*
 * xferdenv: start, wait for, stop and clean up a real xferd (see
 * xferdenv.h).
 */
#include "xferdenv.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int xferdenv_init(struct xferdenv *e, const char *bin, const char *const *extra, char *err,
                  size_t errlen)
{
    size_t i = 0;
    memset(e, 0, sizeof *e);
    e->out_fd = -1;
    snprintf(e->dir, sizeof e->dir, "/tmp/xferdenv-XXXXXX");
    if (!mkdtemp(e->dir)) {
        snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
        return -1;
    }
    snprintf(e->state, sizeof e->state, "%s/state", e->dir);
    snprintf(e->socket, sizeof e->socket, "%s/xferd.sock", e->dir);
    snprintf(e->bin, sizeof e->bin, "%s", bin);
    for (; extra && extra[i] && i + 1 < XFERDENV_MAX_ARGS; i++)
        e->args[i] = extra[i];
    e->args[i] = NULL;
    return 0;
}

int xferdenv_start(struct xferdenv *e, char *err, size_t errlen)
{
    const char *argv[XFERDENV_MAX_ARGS + 8];
    char line[512];
    size_t n = 0, i, got = 0;
    double deadline;
    int p[2];
    pid_t pid;

    argv[n++] = e->bin;
    argv[n++] = "--state-dir";
    argv[n++] = e->state;
    argv[n++] = "--socket";
    argv[n++] = e->socket;
    for (i = 0; e->args[i]; i++)
        argv[n++] = e->args[i];
    argv[n] = NULL;
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(p[1], 1);
        execv(e->bin, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    e->pid = pid;
    e->out_fd = p[0];
    deadline = mono_ms() + 20000;
    while (got < sizeof line - 1) {
        struct pollfd pf = {.fd = e->out_fd, .events = POLLIN};
        int left = (int)(deadline - mono_ms());
        ssize_t r;
        if (left <= 0 || poll(&pf, 1, left) <= 0) {
            snprintf(err, errlen, "xferd did not print \"listening\" within 20 s");
            goto fail;
        }
        r = read(e->out_fd, line + got, 1);
        if (r <= 0) {
            snprintf(err, errlen, "xferd exited before listening (see its stderr)");
            goto fail;
        }
        if (line[got] == '\n') {
            line[got] = '\0';
            if (strncmp(line, "listening ", 10) != 0) {
                snprintf(err, errlen, "xferd printed '%s' instead of \"listening\"", line);
                goto fail;
            }
            return 0;
        }
        got++;
    }
    snprintf(err, errlen, "xferd's first line is too long");
fail:
    xferdenv_stop(e, SIGKILL, NULL);
    return -1;
}

int xferdenv_stop(struct xferdenv *e, int sig, double *wall_ms)
{
    int st = -1;
    double t0 = mono_ms();
    if (e->pid > 0) {
        kill(e->pid, sig);
        while (waitpid(e->pid, &st, 0) < 0 && errno == EINTR)
            ;
        e->pid = 0;
    }
    if (wall_ms)
        *wall_ms = mono_ms() - t0;
    if (e->out_fd >= 0) {
        close(e->out_fd);
        e->out_fd = -1;
    }
    return st;
}

struct rpc_client *xferdenv_connect(struct xferdenv *e, char *err, size_t errlen)
{
    return rpc_client_open(e->socket, err, errlen);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void xferdenv_free(struct xferdenv *e)
{
    xferdenv_stop(e, SIGKILL, NULL);
    if (e->dir[0])
        nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    e->dir[0] = '\0';
}
