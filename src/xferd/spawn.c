/*
 * spawn: fork/exec of command lines as their owner (see spawn.h). Everything
 * the child needs (the user's gid and groups, the environment) is prepared
 * before fork, so the child only calls async-signal-safe functions; without
 * an identity change it is posix_spawn.
 */
#include "spawn.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

extern char **environ;

struct child {
    pid_t pid;
    uid_t uid;
    xd_spawn_done_fn done;
    void *arg;
    struct child *next;
};

struct xd_spawn {
    struct event *sigchld;
    struct child *children;
};

static void on_sigchld(evutil_socket_t fd, short what, void *arg)
{
    struct xd_spawn *s = arg;
    struct child **pp = &s->children;
    (void)fd;
    (void)what;
    while (*pp) {
        struct child *c = *pp;
        int st;
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid || (r < 0 && errno == ECHILD)) {
            int code = r < 0 ? 127 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            *pp = c->next;
            c->done(c->arg, code);
            free(c);
            continue;
        }
        pp = &c->next;
    }
}

struct xd_spawn *xd_spawn_new(struct event_base *base, char *err, size_t errlen)
{
    struct xd_spawn *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "spawn: out of memory");
        return NULL;
    }
    s->sigchld = evsignal_new(base, SIGCHLD, on_sigchld, s);
    if (!s->sigchld || evsignal_add(s->sigchld, NULL) < 0) {
        snprintf(err, errlen, "spawn: cannot watch SIGCHLD");
        xd_spawn_free(s);
        return NULL;
    }
    return s;
}

void xd_spawn_free(struct xd_spawn *s)
{
    if (!s)
        return;
    while (s->children) {
        struct child *c = s->children;
        s->children = c->next;
        free(c);
    }
    if (s->sigchld)
        event_free(s->sigchld);
    free(s);
}

unsigned xd_spawn_running(const struct xd_spawn *s, uid_t uid)
{
    unsigned n = 0;
    const struct child *c;
    for (c = s->children; c; c = c->next)
        n += uid == (uid_t)-1 || c->uid == uid;
    return n;
}

/* The environment: xferd's, minus names env overrides, plus env. Caller frees the array only. */
static char **make_env(const char *const *env)
{
    size_t n = 0, m = 0, i, k;
    char **out;
    while (environ[n])
        n++;
    while (env && env[m])
        m++;
    out = calloc(n + m + 1, sizeof *out);
    if (!out)
        return NULL;
    k = 0;
    for (i = 0; i < n; i++) {
        size_t j;
        int skip = 0;
        for (j = 0; j < m; j++) {
            size_t l = (size_t)(strchr(env[j], '=') - env[j]) + 1;
            if (strncmp(environ[i], env[j], l) == 0)
                skip = 1;
        }
        if (!skip)
            out[k++] = environ[i];
    }
    for (i = 0; i < m; i++)
        out[k++] = (char *)env[i];
    out[k] = NULL;
    return out;
}

int xd_spawn_run(struct xd_spawn *s, uid_t uid, const char *cmdline, const char *const *env,
                 xd_spawn_done_fn done, void *arg, char *err, size_t errlen)
{
    bool drop = geteuid() == 0 && uid != 0;
    gid_t gid = 0, groups[256];
    int ngroups = 256;
    char **envp = NULL;
    struct child *c = NULL;
    int devnull = -1, rc = -1;
    pid_t pid;

    if (drop) {
        struct passwd *pw = getpwuid(uid);
        if (!pw) {
            snprintf(err, errlen, "no user with uid %u to run the command as", (unsigned)uid);
            goto done;
        }
        gid = pw->pw_gid;
        if (getgrouplist(pw->pw_name, gid, groups, &ngroups) < 0)
            ngroups = 0;
    }
    envp = make_env(env);
    c = calloc(1, sizeof *c);
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (!envp || !c || devnull < 0) {
        snprintf(err, errlen, "cannot prepare the command: %s", strerror(errno));
        goto done;
    }
    if (!drop) {
        /*
         * No identity change: posix_spawn (vfork-like, no atfork handlers), so a
         * lock held by another thread of xferd (libcurl's resolver) at the fork
         * cannot leave the child stuck.
         */
        posix_spawn_file_actions_t fa;
        char *sargv[] = {"sh", "-c", (char *)cmdline, NULL};
        posix_spawnattr_t at;
        sigset_t none, dfl;
        int e;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, devnull, 0);
        posix_spawn_file_actions_adddup2(&fa, 2, 1);
        posix_spawn_file_actions_addchdir_np(&fa, "/");
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        posix_spawnattr_init(&at);
        sigemptyset(&none);
        sigemptyset(&dfl);
        sigaddset(&dfl, SIGPIPE);
        sigaddset(&dfl, SIGCHLD);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setsigdefault(&at, &dfl);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        e = posix_spawn(&pid, "/bin/sh", &fa, &at, sargv, envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
        if (e != 0) {
            snprintf(err, errlen, "posix_spawn /bin/sh: %s", strerror(e));
            goto done;
        }
        goto started;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        sigset_t none;
        char *argv[] = {"sh", "-c", (char *)cmdline, NULL};
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        dup2(devnull, 0);
        dup2(2, 1);
        if (drop && (setgroups((size_t)ngroups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0))
            _exit(126);
        if (chdir("/") < 0)
            _exit(126);
        closefrom(3);
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
started:
    c->pid = pid;
    c->uid = uid;
    c->done = done;
    c->arg = arg;
    c->next = s->children;
    s->children = c;
    c = NULL;
    rc = 0;
done:
    if (devnull >= 0)
        close(devnull);
    free(c);
    free(envp);
    return rc;
}
