/*
 * proc: see proc.h. fork + exec rather than posix_spawn so the child can ask
 * for PR_SET_PDEATHSIG: if the harness dies, xferd dies with it.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

static void child(const struct hx_proc_config *c, int out_fd, int log_fd, pid_t parent)
{
    char scale[64], epoch[64];
    snprintf(scale, sizeof scale, "%.17g", c->scale);
    snprintf(epoch, sizeof epoch, "%lld", (long long)c->epoch_ns);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(log_fd, 2) < 0)
        _exit(127);
    const char *argv[24];
    int n = 0;
    argv[n++] = c->xferd;
    argv[n++] = "--state-dir";
    argv[n++] = c->state_dir;
    argv[n++] = "--socket";
    argv[n++] = c->socket;
    argv[n++] = "--platform";
    argv[n++] = "sim";
    argv[n++] = "--scale";
    argv[n++] = scale;
    argv[n++] = "--clock-epoch-ns";
    argv[n++] = epoch;
    argv[n++] = "--link";
    argv[n++] = c->link;
    if (c->ca_file) {
        argv[n++] = "--ca-file";
        argv[n++] = c->ca_file;
    }
    argv[n] = NULL;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(c->xferd, (char *const *)argv);
    dprintf(2, "xferlab: cannot run %s: %s\n", c->xferd, strerror(errno));
    _exit(127);
}

/* Read the child's stdout until `listening ` appears, the child ends or the time is up. */
static int wait_listening(int fd, int timeout_ms, char *err, size_t errlen)
{
    char buf[1024];
    size_t len = 0;
    int64_t end = xl_mono_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int64_t left = (end - xl_mono_ns()) / 1000000;
        if (left <= 0) {
            snprintf(err, errlen, "xferd did not print 'listening' within %d ms", timeout_ms);
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "xferd exited before listening (see xferd.log)");
            return -1;
        }
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "listening ") && strchr(strstr(buf, "listening "), '\n'))
            return 0;
        if (len == sizeof buf - 1) /* noise: keep the tail */
            len = 0;
    }
}

int hx_proc_start(struct hx_proc *p, const struct hx_proc_config *cfg, char *err, size_t errlen)
{
    int pipefd[2] = {-1, -1};
    int log_fd = open(cfg->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        snprintf(err, errlen, "%s: %s", cfg->log_path, strerror(errno));
        return -1;
    }
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        close(log_fd);
        return -1;
    }
    dprintf(log_fd, "---- xferlab: starting xferd (start %d) ----\n", p->starts + 1);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0)
        child(cfg, pipefd[1], log_fd, parent);
    p->pid = pid;
    p->starts++;
    close(pipefd[1]);
    pipefd[1] = -1;
    if (wait_listening(pipefd[0], cfg->start_timeout_ms, err, errlen) < 0) {
        hx_proc_kill(p);
        goto fail;
    }
    /* Later output goes nowhere: xferd prints only the one line on stdout. */
    close(pipefd[0]);
    close(log_fd);
    return 0;
fail:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    close(log_fd);
    return -1;
}

void hx_proc_kill(struct hx_proc *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    p->pid = 0;
}

bool hx_proc_exited(struct hx_proc *p, int *status)
{
    if (p->pid <= 0)
        return true;
    int st = 0;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        p->pid = 0;
        if (status)
            *status = st;
        return true;
    }
    return false;
}

static bool executable(const char *path)
{
    return access(path, X_OK) == 0;
}

int hx_proc_find_xferd(const char *flag, char *out, size_t len, char *err, size_t errlen)
{
    if (flag && flag[0]) {
        snprintf(out, len, "%s", flag);
        if (executable(out))
            return 0;
        snprintf(err, errlen, "--xferd %s: not an executable file", flag);
        return -1;
    }
    const char *env = getenv("XFERLAB_XFERD");
    if (env && env[0]) {
        snprintf(out, len, "%s", env);
        if (executable(out))
            return 0;
        snprintf(err, errlen, "XFERLAB_XFERD=%s: not an executable file", env);
        return -1;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(err, errlen, "cannot find xferd: /proc/self/exe: %s", strerror(errno));
        return -1;
    }
    self[n] = '\0';
    char *dir = dirname(self);
    const char *tries[] = {"/../xferd/xferd", "/xferd"};
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        snprintf(out, len, "%s%s", dir, tries[i]);
        if (executable(out))
            return 0;
    }
    snprintf(err, errlen,
             "cannot find xferd (tried %s/../xferd/xferd and %s/xferd); use --xferd PATH or "
             "XFERLAB_XFERD",
             dir, dir);
    return -1;
}
