/*
 * xferd: the transfer engine as a service (PROTOCOL.md). main.c owns the
 * process: it parses the command line, builds struct xferd (event base,
 * clock, platform provider, engine, xferd.db, spawn, notify, groups, server),
 * prints "listening PATH" once the socket accepts, runs the loop until
 * SIGTERM/SIGINT, and tears everything down in reverse order (the engine
 * checkpoints on close; the server removes the socket).
 *
 * Engine events arrive in on_engine_event and go to the subscriptions, the
 * notify command lines and the completion groups.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groups.h"
#include "jobjson.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "spawn.h"
#include "units.h"
#include "xdb.h"
#include "xferd.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: xferd --state-dir DIR [--socket PATH] [--access private|shared]\n"
               "             [--platform none|sim] [--scale S] [--clock-epoch-ns N]\n"
               "             [--link socks5h://127.0.0.1:P] [--ca-file PEM] [--max-jobs N]\n"
               "             [--max-jobs-per-owner N] [--log-level error|warn|info|debug]\n"
               "The background transfer service: JSON-RPC 2.0 on a Unix socket (PROTOCOL.md).\n"
               "Prints \"listening PATH\" on stdout when the socket accepts connections.\n");
}

static void on_engine_event(void *arg, const struct xfer_event *ev)
{
    struct xferd *x = arg;
    json_t *p;
    if (!x->srv)
        return;
    p = rpc_event_json(ev);
    if (p) {
        json_object_del(p, "type");
        xd_server_broadcast(x->srv, rpc_event_type_name(ev->type), &ev->job, ev->owner, ev->time_ms,
                            p);
        json_decref(p);
    }
    if (x->notify)
        xd_notify_on_event(x->notify, ev);
    if (x->groups)
        xd_groups_on_event(x->groups, ev);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct xferd *x = arg;
    (void)what;
    xl_log(XL_LOG_INFO, "xferd", "signal %d: stopping", (int)sig);
    event_base_loopbreak(x->base);
}

static int parse_uint(const char *opt, const char *s, unsigned *out)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > 1000000 || s[0] == '-') {
        fprintf(stderr, "xferd: %s: '%s' is not a whole number from 0 to 1000000\n", opt, s);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static void default_socket(char *out, size_t len)
{
    const char *rt = getenv("XDG_RUNTIME_DIR");
    if (rt && rt[0])
        snprintf(out, len, "%s/xferd/xferd.sock", rt);
    else
        snprintf(out, len, "/tmp/xferd-%u/xferd.sock", (unsigned)getuid());
}

/* 0 ok, 2 misuse (message printed). */
static int parse_args(int argc, char **argv, struct xd_opts *o)
{
    static const struct option longopts[] = {
        {"state-dir", required_argument, NULL, 'd'},
        {"socket", required_argument, NULL, 's'},
        {"access", required_argument, NULL, 'a'},
        {"platform", required_argument, NULL, 'p'},
        {"scale", required_argument, NULL, 'S'},
        {"clock-epoch-ns", required_argument, NULL, 'E'},
        {"link", required_argument, NULL, 'l'},
        {"ca-file", required_argument, NULL, 'c'},
        {"max-jobs", required_argument, NULL, 'm'},
        {"max-jobs-per-owner", required_argument, NULL, 'o'},
        {"log-level", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    char *end;
    o->scale = 1.0;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            o->state_dir = optarg;
            break;
        case 's':
            if (strlen(optarg) >= sizeof o->socket) {
                fprintf(stderr, "xferd: --socket: '%s' is longer than %zu bytes\n", optarg,
                        sizeof o->socket - 1);
                return 2;
            }
            snprintf(o->socket, sizeof o->socket, "%s", optarg);
            break;
        case 'a':
            if (strcmp(optarg, "private") && strcmp(optarg, "shared")) {
                fprintf(stderr, "xferd: --access: '%s': expected private or shared\n", optarg);
                return 2;
            }
            o->shared = strcmp(optarg, "shared") == 0;
            break;
        case 'p':
            if (strcmp(optarg, "none") && strcmp(optarg, "sim")) {
                fprintf(stderr, "xferd: --platform: '%s': expected none or sim\n", optarg);
                return 2;
            }
            o->platform_sim = strcmp(optarg, "sim") == 0;
            break;
        case 'S':
            errno = 0;
            o->scale = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o->scale > 0) || o->scale > 1e6) {
                fprintf(stderr, "xferd: --scale: '%s': expected a number > 0\n", optarg);
                return 2;
            }
            break;
        case 'E':
            errno = 0;
            o->epoch_ns = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end || o->epoch_ns <= 0) {
                fprintf(stderr, "xferd: --clock-epoch-ns: '%s': expected a positive integer\n",
                        optarg);
                return 2;
            }
            break;
        case 'l':
            o->link = optarg;
            break;
        case 'c':
            o->ca_file = optarg;
            break;
        case 'm':
            if (parse_uint("--max-jobs", optarg, &o->max_jobs) < 0)
                return 2;
            break;
        case 'o':
            if (parse_uint("--max-jobs-per-owner", optarg, &o->max_jobs_per_owner) < 0)
                return 2;
            break;
        case 'L':
            if (!strcmp(optarg, "error"))
                xl_log_set_level(XL_LOG_ERROR);
            else if (!strcmp(optarg, "warn"))
                xl_log_set_level(XL_LOG_WARN);
            else if (!strcmp(optarg, "info"))
                xl_log_set_level(XL_LOG_INFO);
            else if (!strcmp(optarg, "debug"))
                xl_log_set_level(XL_LOG_DEBUG);
            else {
                fprintf(stderr, "xferd: --log-level: '%s': expected error, warn, info or debug\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "xferd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o->state_dir) {
        fprintf(stderr, "xferd: --state-dir DIR is required\n");
        usage(stderr);
        return 2;
    }
    if (!o->socket[0])
        default_socket(o->socket, sizeof o->socket);
    return 0;
}

int main(int argc, char **argv)
{
    struct xferd x;
    struct xfer_config cfg;
    struct event *sigterm = NULL, *sigint = NULL;
    char err[1024];
    int rc = 1, pr;
    xfer_hr hr;

    memset(&x, 0, sizeof x);
    pr = parse_args(argc, argv, &x.o);
    if (pr == 1)
        return 0;
    if (pr)
        return pr;
    signal(SIGPIPE, SIG_IGN);
    if (mkdir(x.o.state_dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "xferd: --state-dir %s: %s\n", x.o.state_dir, strerror(errno));
        return 1;
    }
    x.base = event_base_new();
    if (!x.base) {
        fprintf(stderr, "xferd: cannot create the event loop\n");
        return 1;
    }
    xl_clock_init(&x.clock, x.o.scale);
    if (x.o.epoch_ns)
        x.clock.wall0_ns = x.o.epoch_ns;
    snprintf(x.store, sizeof x.store, "%s/jobs.db", x.o.state_dir);
    if (x.o.platform_sim) {
        x.sim = xfer_platform_sim_new();
        if (!x.sim) {
            fprintf(stderr, "xferd: out of memory\n");
            goto done;
        }
        x.prov = xfer_platform_sim_provider(x.sim);
    }
    if (!(x.db = xd_db_open(x.o.state_dir, err, sizeof err))) {
        fprintf(stderr, "xferd: %s\n", err);
        goto done;
    }
    if (!(x.spawn = xd_spawn_new(x.base, err, sizeof err))) {
        fprintf(stderr, "xferd: %s\n", err);
        goto done;
    }
    x.notify = xd_notify_new(&x);
    x.groups = xd_groups_new(&x);
    if (!x.notify || !x.groups) {
        fprintf(stderr, "xferd: out of memory\n");
        goto done;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.base = x.base;
    cfg.store_path = x.store;
    cfg.clock = &x.clock;
    cfg.ca_file = x.o.ca_file;
    cfg.link_proxy = x.o.link;
    cfg.on_event = on_engine_event;
    cfg.event_arg = &x;
    cfg.max_jobs = x.o.max_jobs;
    cfg.max_jobs_per_owner = x.o.max_jobs_per_owner;
    cfg.platform = x.sim ? &x.prov : NULL;
    hr = xfer_engine_open(&cfg, &x.eng, err, sizeof err);
    if (XFER_FAILED(hr)) {
        fprintf(stderr, "xferd: %s\n", err);
        goto done;
    }
    if (!(x.srv = xd_server_open(&x, err, sizeof err))) {
        fprintf(stderr, "xferd: %s\n", err);
        goto done;
    }
    sigterm = evsignal_new(x.base, SIGTERM, on_stop_signal, &x);
    sigint = evsignal_new(x.base, SIGINT, on_stop_signal, &x);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL) < 0 || evsignal_add(sigint, NULL) < 0) {
        fprintf(stderr, "xferd: cannot watch SIGTERM/SIGINT\n");
        goto done;
    }
    /* What a restart owes: notify runs that never succeeded, groups that completed meanwhile. */
    xd_notify_check_all(x.notify);
    xd_groups_check_all(x.groups);
    xl_log(XL_LOG_INFO, "xferd", "state %s, socket %s, scale %g", x.o.state_dir, x.o.socket,
           x.o.scale);
    printf("listening %s\n", x.o.socket);
    fflush(stdout);
    if (event_base_dispatch(x.base) < 0) {
        fprintf(stderr, "xferd: the event loop failed\n");
        goto done;
    }
    rc = 0;
done:
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    xd_server_close(x.srv);
    x.srv = NULL;
    xd_spawn_free(x.spawn);
    x.spawn = NULL;
    if (x.eng)
        xfer_engine_close(x.eng);
    xd_notify_free(x.notify);
    xd_groups_free(x.groups);
    if (x.db)
        sqlite3_close(x.db);
    xfer_platform_sim_free(x.sim);
    event_base_free(x.base);
    return rc;
}
