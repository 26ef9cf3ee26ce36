/*
 * link_bench: the link (sim/link.c) on its own, for tests/bench/link.sh.
 *
 *   link_bench [--port N] [--down BPS] [--up BPS] [--map NAME=ADDR:PORT]...
 *
 * Listens on 127.0.0.1 (port 0: a free one), prints "listening socks5
 * 127.0.0.1:PORT", maps each NAME (any port) to ADDR:PORT, applies the
 * bandwidth (bytes per second, 0: unlimited) and relays until SIGINT or
 * SIGTERM, then prints the link's counters ("stats connections=... up=...
 * down=... open=...") and exits 0. Real time (no clock scale). The file
 * descriptor limit is raised to its hard limit, as each relayed connection
 * holds six (two sockets, two pipes).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "link.h"

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void usage(void)
{
    fprintf(stderr, "usage: link_bench [--port N] [--down BPS] [--up BPS] "
                    "[--map NAME=ADDR:PORT]...\n");
    exit(2);
}

static unsigned long long number(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    struct sim_network net;
    uint16_t port = 0;
    char err[256];
    memset(&net, 0, sizeof net);
    net.connectivity = SIM_CONN_INTERNET;

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct event_base *base = event_base_new();
    if (!base)
        return 1;
    struct sim_link_config cfg = {0};
    for (int i = 1; i < argc; i++) /* the port first: the link listens when created */
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = (uint16_t)number(argv[++i]);
    cfg.port = port;
    struct sim_link *l = sim_link_new(base, &cfg, err, sizeof err);
    if (!l) {
        fprintf(stderr, "link_bench: %s\n", err);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            i++;
        } else if (strcmp(argv[i], "--down") == 0 && i + 1 < argc) {
            net.down_bps = number(argv[++i]);
        } else if (strcmp(argv[i], "--up") == 0 && i + 1 < argc) {
            net.up_bps = number(argv[++i]);
        } else if (strcmp(argv[i], "--map") == 0 && i + 1 < argc) {
            char spec[300];
            snprintf(spec, sizeof spec, "%s", argv[++i]);
            char *eq = strchr(spec, '='), *colon = strrchr(spec, ':');
            if (!eq || !colon || colon < eq)
                usage();
            *eq = *colon = '\0';
            if (sim_link_map(l, spec, 0, eq + 1, (uint16_t)number(colon + 1), err, sizeof err) <
                0) {
                fprintf(stderr, "link_bench: --map %s: %s\n", argv[i], err);
                return 1;
            }
        } else {
            usage();
        }
    }
    sim_link_set_network(l, &net, SIM_CUT_RESET);
    printf("listening socks5 127.0.0.1:%u\n", (unsigned)sim_link_port(l));
    fflush(stdout);

    struct event *si = evsignal_new(base, SIGINT, on_signal, base);
    struct event *st = evsignal_new(base, SIGTERM, on_signal, base);
    event_add(si, NULL);
    event_add(st, NULL);
    event_base_dispatch(base);
    struct sim_link_stats s;
    sim_link_stats(l, &s);
    printf("stats connections=%llu refused=%llu up=%llu down=%llu open=%llu\n",
           (unsigned long long)s.connections, (unsigned long long)s.refused,
           (unsigned long long)s.up, (unsigned long long)s.down, (unsigned long long)s.open);
    fflush(stdout);
    event_free(si);
    event_free(st);
    sim_link_free(l);
    event_base_free(base);
    return 0;
}
