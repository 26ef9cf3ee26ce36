/*
 * xferd: the service's shared context. main.c builds one struct xferd from
 * the command line and owns it; every module borrows it.
 *
 * Data flow: the engine's events enter at xferd_on_event (main.c), which
 * hands them to the server (subscriptions: server.c), the notify command
 * lines (notify.c) and the completion groups (groups.c). Requests enter at
 * the server, which decodes lines (src/rpc) and calls xd_dispatch
 * (methods.c); the handlers call the engine and the modules.
 */
#ifndef XFERD_XFERD_H
#define XFERD_XFERD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"
#include "xfer/xfer.h"

struct event_base;
struct sqlite3;
struct xd_server;
struct xd_spawn;
struct xd_notify;
struct xd_groups;

struct xd_opts {
    const char *state_dir;
    char socket[108];
    bool shared;       /* --access shared */
    bool platform_sim; /* --platform sim */
    double scale;
    int64_t epoch_ns; /* --clock-epoch-ns; 0 = now */
    const char *link;
    const char *ca_file;
    unsigned max_jobs, max_jobs_per_owner;
};

struct xferd {
    struct xd_opts o;
    struct event_base *base;
    struct xl_clock clock;
    struct xfer_engine *eng;
    struct xfer_platform_sim *sim;
    struct xfer_platform_provider prov;
    struct sqlite3 *db; /* DIR/xferd.db: groups and notify runs */
    struct xd_server *srv;
    struct xd_spawn *spawn;
    struct xd_notify *notify;
    struct xd_groups *groups;
    char store[4096];
};

#define XFERD_VERSION "0.1.0"

#endif
