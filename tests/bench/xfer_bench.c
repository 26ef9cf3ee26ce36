/*
 * xfer_bench: the engine's figures for tests/bench/engine.sh (run by hand,
 * not by ctest). Subcommands:
 *
 *   download URL DEST [--no-checkpoints]
 *       One download job of URL into DEST on a fresh store (in a temporary
 *       directory, removed afterwards): created, file added, resumed, the loop
 *       run until TRANSFERRED, completed. Prints the wall time from creation to
 *       Complete, this process's user+sys CPU and max RSS. --no-checkpoints
 *       sets the config's no_checkpoints (what checkpoints cost).
 *   run-cmd -- CMD [ARG...]
 *       Runs CMD and prints its wall time, user+sys CPU and max RSS (wait4),
 *       so curl and `xfer_bench download` are measured the same way.
 *   populate STORE N
 *       N download jobs of one file each, resumed, in a new STORE. The loop
 *       never runs, so the scheduler never starts one: the engine closes with
 *       all of them QUEUED in the store, as a long queue is (background jobs
 *       move one at a time). Their URL, http://127.0.0.1:9/, is never asked.
 *   enumerate STORE
 *       Opens STORE and enumerates its jobs with xfer_job_info of each: prints
 *       the time for open + enum + infos, the job count and max RSS.
 *
 * Output is one line of key=value pairs (the script parses it).
 */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xfer/xfer.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("xfer_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* An engine on a new event base; limits raised for a 10,000-job store. */
static struct xfer_engine *open_engine(struct event_base **base, const char *store,
                                       xfer_event_fn on_event, void *arg, bool no_checkpoints)
{
    *base = event_base_new();
    if (!*base)
        die("event_base_new failed");
    struct xfer_config cfg = {.base = *base,
                              .store_path = store,
                              .on_event = on_event,
                              .event_arg = arg,
                              .max_jobs = 1000000,
                              .max_jobs_per_owner = 1000000,
                              .no_checkpoints = no_checkpoints};
    struct xfer_engine *e;
    char err[512];
    xfer_hr hr = xfer_engine_open(&cfg, &e, err, sizeof err);
    if (hr != 0)
        die("xfer_engine_open %s: 0x%08X %s", store, (unsigned)hr, err);
    return e;
}

/* ---------------------------------------------------------------- download */

struct dl {
    struct event_base *base;
    xfer_guid g;
    bool done;
    xfer_hr failed;
    enum xfer_state failed_in;
};

static void dl_event(void *arg, const struct xfer_event *ev)
{
    struct dl *d = arg;
    if (ev->type != XFER_EV_STATE || memcmp(&ev->job, &d->g, sizeof d->g) != 0)
        return;
    if (ev->new_state == XFER_TRANSFERRED) {
        d->done = true;
        event_base_loopbreak(d->base);
    } else if (ev->new_state == XFER_ERROR || ev->new_state == XFER_TRANSIENT_ERROR) {
        d->failed = ev->cause_hr ? ev->cause_hr : -1;
        d->failed_in = ev->new_state;
        event_base_loopbreak(d->base);
    }
}

static void rm_store(const char *store)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char p[4096];
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(p, sizeof p, "%s%s", store, sfx[i]);
        unlink(p);
    }
}

static int cmd_download(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--no-checkpoints") != 0))
        die("usage: xfer_bench download URL DEST [--no-checkpoints]");
    const char *url = argv[0], *dest = argv[1];
    bool no_ck = argc == 3;
    char dir[] = "/tmp/xfer_bench-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp: %s", strerror(errno));
    char store[64];
    snprintf(store, sizeof store, "%s/jobs.db", dir);
    char abs[4096];
    if (dest[0] != '/') {
        if (!getcwd(abs, sizeof abs - 1 - strlen(dest)))
            die("getcwd: %s", strerror(errno));
        strcat(abs, "/");
        strcat(abs, dest);
        dest = abs;
    }

    struct dl d = {0};
    struct xfer_engine *e = open_engine(&d.base, store, dl_event, &d, no_ck);
    uid_t me = getuid();
    double t0 = now_s();
    xfer_hr hr = xfer_job_create(e, me, XFER_DOWNLOAD, "bench", &d.g);
    if (hr == 0)
        hr = xfer_job_add_file(e, me, &d.g, url, dest);
    if (hr == 0)
        hr = xfer_job_resume(e, me, &d.g);
    if (hr != 0)
        die("creating the job: 0x%08X %s", (unsigned)hr, xfer_last_error(e));
    while (!d.done && !d.failed)
        if (event_base_dispatch(d.base) != 0)
            die("event_base_dispatch failed");
    if (d.failed) {
        const struct xfer_error_row *row = xfer_error_find(d.failed);
        die("the job went %s: 0x%08X %s", xfer_state_name(d.failed_in), (unsigned)d.failed,
            row ? row->name : "?");
    }
    struct xfer_job_info *in;
    uint64_t bytes = 0;
    if (xfer_job_info(e, me, &d.g, &in) == 0) {
        bytes = in->bytes_done;
        free(in);
    }
    if ((hr = xfer_job_complete(e, me, &d.g)) != 0)
        die("complete: 0x%08X %s", (unsigned)hr, xfer_last_error(e));
    double wall = now_s() - t0;
    xfer_engine_close(e);
    event_base_free(d.base);
    rm_store(store);
    rmdir(dir);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("download checkpoints=%s wall_s=%.3f cpu_s=%.3f maxrss_kib=%ld bytes=%" PRIu64
           " mib_s=%.1f\n",
           no_ck ? "off" : "on", wall, tv_s(ru.ru_utime) + tv_s(ru.ru_stime), ru.ru_maxrss, bytes,
           (double)bytes / 1048576.0 / wall);
    return 0;
}

/* ----------------------------------------------------------------- run-cmd */

static int cmd_run(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[0], "--") != 0)
        die("usage: xfer_bench run-cmd -- CMD [ARG...]");
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        fprintf(stderr, "xfer_bench: exec %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid)
        die("wait4: %s", strerror(errno));
    double wall = now_s() - t0;
    fflush(stdout);
    printf("rusage wall_s=%.3f cpu_s=%.3f user_s=%.3f sys_s=%.3f maxrss_kib=%ld status=%d\n", wall,
           tv_s(ru.ru_utime) + tv_s(ru.ru_stime), tv_s(ru.ru_utime), tv_s(ru.ru_stime),
           ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* ------------------------------------------------------- populate/enumerate */

static int cmd_populate(int argc, char **argv)
{
    if (argc != 2)
        die("usage: xfer_bench populate STORE N");
    const char *store = argv[0];
    long n = strtol(argv[1], NULL, 10);
    if (n <= 0)
        die("N must be positive");
    struct stat st;
    if (stat(store, &st) == 0)
        die("%s exists; populate makes a new store", store);
    /* The jobs' destinations: a directory beside the store. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s.files", store);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        die("mkdir %s: %s", dir, strerror(errno));
    char abs[4096];
    if (dir[0] != '/') {
        if (!getcwd(abs, sizeof abs - 1 - strlen(dir)))
            die("getcwd: %s", strerror(errno));
        strcat(abs, "/");
        strcat(abs, dir);
    } else {
        snprintf(abs, sizeof abs, "%s", dir);
    }
    struct event_base *base;
    struct xfer_engine *e = open_engine(&base, store, NULL, NULL, false);
    uid_t me = getuid();
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        xfer_guid g;
        char name[32], local[4200];
        snprintf(name, sizeof name, "job %ld", i);
        snprintf(local, sizeof local, "%s/f%06ld.bin", abs, i);
        xfer_hr hr = xfer_job_create(e, me, XFER_DOWNLOAD, name, &g);
        if (hr == 0)
            hr = xfer_job_add_file(e, me, &g, "http://127.0.0.1:9/x.bin", local);
        if (hr == 0)
            hr = xfer_job_resume(e, me, &g);
        if (hr != 0)
            die("job %ld: 0x%08X %s", i, (unsigned)hr, xfer_last_error(e));
    }
    double wall = now_s() - t0;
    xfer_engine_close(e);
    event_base_free(base);
    printf("populate jobs=%ld wall_s=%.3f\n", n, wall);
    return 0;
}

static int cmd_enumerate(int argc, char **argv)
{
    if (argc != 1)
        die("usage: xfer_bench enumerate STORE");
    double t0 = now_s();
    struct event_base *base;
    struct xfer_engine *e = open_engine(&base, argv[0], NULL, NULL, false);
    double t_open = now_s() - t0;
    xfer_guid *list;
    size_t n;
    xfer_hr hr = xfer_job_enum(e, XFER_OWNER_ANY, &list, &n);
    if (hr != 0)
        die("enum: 0x%08X", (unsigned)hr);
    size_t queued = 0;
    for (size_t i = 0; i < n; i++) {
        struct xfer_job_info *in;
        if ((hr = xfer_job_info(e, XFER_OWNER_ANY, &list[i], &in)) != 0)
            die("info: 0x%08X", (unsigned)hr);
        queued += in->state == XFER_QUEUED;
        free(in);
    }
    double wall = now_s() - t0;
    free(list);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    xfer_engine_close(e);
    event_base_free(base);
    printf("enumerate jobs=%zu queued=%zu open_ms=%.1f total_ms=%.1f maxrss_kib=%ld\n", n, queued,
           t_open * 1000, wall * 1000, ru.ru_maxrss);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "download") == 0)
        return cmd_download(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "run-cmd") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "populate") == 0)
        return cmd_populate(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "enumerate") == 0)
        return cmd_enumerate(argc - 2, argv + 2);
    fprintf(stderr, "usage: xfer_bench download URL DEST [--no-checkpoints]\n"
                    "       xfer_bench run-cmd -- CMD [ARG...]\n"
                    "       xfer_bench populate STORE N\n"
                    "       xfer_bench enumerate STORE\n");
    return 2;
}
