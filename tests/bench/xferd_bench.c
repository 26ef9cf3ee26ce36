/*
 * xferd_bench: the client side of tests/bench/xferd.sh, over the socket.
 *   xferd_bench create SOCKET N            create N jobs; prints "create N MS"
 *   xferd_bench enumerate SOCKET N         job.list until N jobs (retrying the
 *                                          connect); prints "enumerate N MS" from start
 *   xferd_bench download SOCKET DIR URL N  N jobs of URL into DIR, resumed at once;
 *                                          waits until all TRANSFERRED, completes them;
 *                                          prints "download N BYTES MS"
 * Exit codes: 0 ok, 1 failure, 2 misuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static json_t *call(struct rpc_client *c, const char *m, json_t *p)
{
    json_t *res = NULL, *error = NULL;
    char err[256];
    int r = rpc_call(c, m, p, 120000, &res, &error, err, sizeof err);
    if (r == 0)
        return res;
    if (r == 1) {
        char *s = json_dumps(error, 0);
        fprintf(stderr, "xferd_bench: %s: %s\n", m, s);
        free(s);
        json_decref(error);
    } else {
        fprintf(stderr, "xferd_bench: %s: %s\n", m, err);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct rpc_client *c = NULL;
    char err[256];
    double t0 = now_ms();
    long n, i;
    int rc = 1;
    if (argc < 4) {
        fprintf(stderr, "usage: xferd_bench create|enumerate|download SOCKET ... N\n");
        return 2;
    }
    n = atol(argv[argc - 1]);
    if (strcmp(argv[1], "enumerate") == 0) {
        for (;;) {
            json_t *r;
            if (!c)
                c = rpc_client_open(argv[2], err, sizeof err);
            if (c && (r = call(c, "job.list", NULL))) {
                long got = (long)json_array_size(r);
                json_decref(r);
                if (got >= n)
                    break;
            }
            if (now_ms() - t0 > 60000) {
                fprintf(stderr, "xferd_bench: fewer than %ld jobs after 60 s\n", n);
                goto done;
            }
            usleep(2000);
        }
        printf("enumerate %ld %.1f\n", n, now_ms() - t0);
        rc = 0;
        goto done;
    }
    if (!(c = rpc_client_open(argv[2], err, sizeof err))) {
        fprintf(stderr, "xferd_bench: %s\n", err);
        return 1;
    }
    if (strcmp(argv[1], "create") == 0) {
        for (i = 0; i < n; i++) {
            char name[32];
            json_t *r;
            snprintf(name, sizeof name, "b%ld", i);
            if (!(r = call(c, "job.create", json_pack("{s:s}", "name", name))))
                goto done;
            json_decref(r);
        }
        printf("create %ld %.1f\n", n, now_ms() - t0);
        rc = 0;
    } else if (strcmp(argv[1], "download") == 0 && argc == 6) {
        char **g = calloc((size_t)n, sizeof *g);
        long left = n;
        double bytes = 0;
        for (i = 0; i < n; i++) {
            char name[32], path[4096];
            json_t *r;
            snprintf(name, sizeof name, "d%ld", i);
            snprintf(path, sizeof path, "%s/d%ld.bin", argv[3], i);
            if (!(r = call(c, "job.create", json_pack("{s:s}", "name", name))))
                goto done;
            g[i] = strdup(json_string_value(json_object_get(r, "job")));
            json_decref(r);
            json_decref(
                call(c, "job.add_file",
                     json_pack("{s:s, s:s, s:s}", "job", g[i], "url", argv[4], "path", path)));
            json_decref(call(c, "job.set",
                             json_pack("{s:s, s:s, s:s}", "job", g[i], "prop", "priority", "value",
                                       "FOREGROUND")));
        }
        json_decref(call(c, "events.subscribe", json_pack("{s:[s]}", "types", "state")));
        t0 = now_ms();
        for (i = 0; i < n; i++)
            json_decref(call(c, "job.resume", json_pack("{s:s}", "job", g[i])));
        while (left > 0) {
            json_t *ev = rpc_next_notification(c, 600000, err, sizeof err);
            json_t *p = json_object_get(ev, "params");
            if (!ev) {
                fprintf(stderr, "xferd_bench: %s\n", err[0] ? err : "no event in 600 s");
                goto done;
            }
            if (!strcmp(json_string_value(json_object_get(p, "new")), "TRANSFERRED"))
                left--;
            if (!strcmp(json_string_value(json_object_get(p, "new")), "ERROR")) {
                fprintf(stderr, "xferd_bench: a job failed\n");
                json_decref(ev);
                goto done;
            }
            json_decref(ev);
        }
        printf("download %ld", n);
        for (i = 0; i < n; i++) {
            json_t *r = call(c, "job.info", json_pack("{s:s}", "job", g[i]));
            bytes += (double)json_integer_value(json_object_get(r, "bytes_done"));
            json_decref(r);
            json_decref(call(c, "job.complete", json_pack("{s:s}", "job", g[i])));
            free(g[i]);
        }
        free(g);
        printf(" %.0f %.1f\n", bytes, now_ms() - t0);
        rc = 0;
    } else {
        fprintf(stderr, "xferd_bench: unknown mode '%s'\n", argv[1]);
        rc = 2;
    }
done:
    rpc_client_close(c);
    return rc;
}
