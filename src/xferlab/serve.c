/*
 * serve: `xferlab serve`, the fault servers as a standalone program, so a
 * developer can point curl, wget, aria2c or a browser at the same faults the
 * scenarios use, and steer them through the JSON control API.
 *
 * Flags build one origin (origin.h) and optionally the control API; the event
 * loop then runs until SIGINT or SIGTERM. Help for faults is printed from the
 * action table in faults/rule.c, so it cannot drift from what the parser takes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "origin.h"
#include "serve.h"
#include "xferlab.h"

static void print_faults(FILE *f)
{
    fprintf(f, "FAULT RULES\n"
               "  A rule is one line: [name:] action [value] [key=value ...]. Selectors, on any\n"
               "  action, choose the requests it fires on (all must hold):\n");
    for (int k = 0; k < FLT_K__COUNT; k++)
        if (k <= FLT_K_SEED)
            fprintf(f, "    %-9s %s\n", flt_key_name((enum flt_key)k),
                    flt_key_help((enum flt_key)k));
    fprintf(f, "\n  Actions (protocols; keys; example):\n");
    for (int a = 0; a < FLT_A__COUNT; a++) {
        const struct flt_action_info *ai = flt_action_info((enum flt_action)a);
        fprintf(f, "  %s  [%s%s%s]\n      %s\n      keys:", ai->name,
                (ai->protocols & FLT_P_HTTP) ? "http" : "",
                (ai->protocols & FLT_P_HTTP) && (ai->protocols & FLT_P_FTP) ? "," : "",
                (ai->protocols & FLT_P_FTP) ? "ftp" : "", ai->help);
        bool any = false;
        for (int k = FLT_K_SEED + 1; k < FLT_K__COUNT; k++)
            if (ai->allowed & (1ull << k)) {
                fprintf(f, " %s=%s", flt_key_name((enum flt_key)k),
                        (ai->required & (1ull << k)) ? "(required)" : "");
                any = true;
            }
        if (ai->modes)
            fprintf(f, " (modes: %s)", ai->modes);
        fprintf(f, "%s\n      example: %s\n", any || ai->modes ? "" : " none", ai->example);
    }
    fprintf(f, "\n  Sizes: 4096, 64KiB, 8MiB, 1GB. Durations: 250ms, 30s, 5min, 2h, 14d, forever.\n"
               "  Rates: 100KiB/s, 8Mbit/s. Probabilities: 0.25 or 25%%.\n");
}

static void usage(FILE *f)
{
    fprintf(
        f, "usage: xferlab serve [options]\n\n"
           "Run fault-injecting HTTP, HTTPS and FTP servers (127.0.0.1 unless told otherwise).\n\n"
           "  --http [ADDR:]PORT     plain HTTP listener (default 8080 when no listener is given)\n"
           "  --https [ADDR:]PORT    HTTPS listener\n"
           "  --cert KIND            its certificate: valid, expired, wrong-host, self-signed\n"
           "  --ftp [ADDR:]PORT      FTP listener\n"
           "  --control [ADDR:]PORT  JSON control API (GET /actions lists every fault)\n"
           "  --faults FILE          content and rules, one per line (file:line:col errors)\n"
           "  --rule TEXT            one fault rule (repeatable)\n"
           "  --file /PATH=SIZE[:SEED]  a generated entity (repeatable)\n"
           "  --root DIR             also serve the files under DIR\n"
           "  --certs DIR            write the test CA (ca.pem) and certificates here\n"
           "  --scale N              simulated time runs N times faster (durations in rules)\n"
           "  --idle-timeout SEC     close idle connections after SEC seconds\n"
           "  --help                 this text and every fault with an example\n\n"
           "Port 0 picks a free port; the ports taken are printed as 'listening PROTO ADDR:PORT'.\n"
           "Port numbers below 1024 need privileges.\n\n");
    print_faults(f);
}

/* "[ADDR:]PORT" → addr (static buffer copy) and port. */
static int parse_endpoint(const char *s, char *addr, size_t addrlen, int *port)
{
    const char *colon = strrchr(s, ':');
    const char *p = colon ? colon + 1 : s;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (*p == '\0' || *end != '\0' || errno || v < 0 || v > 65535)
        return -1;
    *port = (int)v;
    if (colon) {
        size_t al = (size_t)(colon - s);
        if (al >= addrlen)
            return -1;
        memcpy(addr, s, al);
        addr[al] = '\0';
        if (al >= 2 && addr[0] == '[' && addr[al - 1] == ']') {
            memmove(addr, addr + 1, al - 2);
            addr[al - 2] = '\0';
        }
    }
    return 0;
}

int xl_serve_parse(int argc, char **argv, struct xl_serve_opts *o, char *err)
{
    static const struct option longopts[] = {
        {"http", required_argument, NULL, 'h'},  {"https", required_argument, NULL, 's'},
        {"ftp", required_argument, NULL, 'f'},   {"control", required_argument, NULL, 'c'},
        {"cert", required_argument, NULL, 'C'},  {"faults", required_argument, NULL, 'F'},
        {"rule", required_argument, NULL, 'r'},  {"file", required_argument, NULL, 'g'},
        {"root", required_argument, NULL, 'R'},  {"certs", required_argument, NULL, 'd'},
        {"scale", required_argument, NULL, 'S'}, {"idle-timeout", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'H'},        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    snprintf(o->addr, sizeof o->addr, "127.0.0.1");
    o->origin.http_port = o->origin.https_port = o->origin.ftp_port = FLT_PORT_OFF;
    o->control_port = FLT_PORT_OFF;
    o->scale = 1.0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int *port = NULL;
        switch (c) {
        case 'h':
            port = &o->origin.http_port;
            break;
        case 's':
            port = &o->origin.https_port;
            break;
        case 'f':
            port = &o->origin.ftp_port;
            break;
        case 'c':
            port = &o->control_port;
            break;
        case 'C':
            if (flt_cert_kind_parse(optarg, &o->origin.cert) < 0) {
                snprintf(err, XL_ERRLEN,
                         "--cert '%s': expected valid, expired, wrong-host or self-signed", optarg);
                return -1;
            }
            break;
        case 'F':
            o->faults_file = optarg;
            break;
        case 'r':
            if (o->nrules == XL_SERVE_MAX_ARGS) {
                snprintf(err, XL_ERRLEN, "too many --rule flags");
                return -1;
            }
            o->rules[o->nrules++] = optarg;
            break;
        case 'g':
            if (o->nfiles == XL_SERVE_MAX_ARGS) {
                snprintf(err, XL_ERRLEN, "too many --file flags");
                return -1;
            }
            o->files[o->nfiles++] = optarg;
            break;
        case 'R':
            o->root = optarg;
            break;
        case 'd':
            o->certs_dir = optarg;
            break;
        case 'S': {
            char *end;
            o->scale = strtod(optarg, &end);
            if (*end || !(o->scale > 0) || o->scale > 1e6) {
                snprintf(err, XL_ERRLEN, "--scale '%s': expected a number above 0", optarg);
                return -1;
            }
            break;
        }
        case 'i': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 86400) {
                snprintf(err, XL_ERRLEN, "--idle-timeout '%s': expected 1 to 86400 seconds",
                         optarg);
                return -1;
            }
            o->origin.idle_timeout_s = (unsigned)v;
            break;
        }
        case 'H':
            o->help = true;
            return 0;
        default:
            snprintf(err, XL_ERRLEN, "unknown or incomplete option '%s' (see --help)",
                     argv[optind - 1]);
            return -1;
        }
        if (port && parse_endpoint(optarg, o->addr, sizeof o->addr, port) < 0) {
            snprintf(err, XL_ERRLEN, "'%s': expected [ADDR:]PORT with PORT from 0 to 65535",
                     optarg);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, XL_ERRLEN, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (o->origin.http_port == FLT_PORT_OFF && o->origin.https_port == FLT_PORT_OFF &&
        o->origin.ftp_port == FLT_PORT_OFF)
        o->origin.http_port = 8080;
    struct in6_addr probe;
    if (inet_pton(AF_INET, o->addr, &probe) != 1 && inet_pton(AF_INET6, o->addr, &probe) != 1) {
        snprintf(err, XL_ERRLEN, "'%s' is not an IP address", o->addr);
        return -1;
    }
    o->origin.addr = o->addr;
    return 0;
}

int xl_serve_setup(struct xl_serve *w, const struct xl_serve_opts *o, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    evthread_use_pthreads();
    xl_clock_init(&w->clock, o->scale);
    flt_origin_init(&w->origin);
    w->base = event_base_new();
    if (!w->base) {
        snprintf(err, errlen, "cannot create the event loop");
        return -1;
    }
    int64_t now = xl_clock_now_ms(&w->clock);
    char e1[XL_ERRLEN];
    if (o->faults_file && flt_config_load_file(o->faults_file, &w->origin.rules, &w->origin.content,
                                               now, err, errlen) < 0)
        return XL_EXIT_USAGE;
    for (size_t i = 0; i < o->nrules; i++)
        if (flt_rules_add_text(&w->origin.rules, o->rules[i], now, e1) < 0) {
            snprintf(err, errlen, "--rule '%s': %s", o->rules[i], e1);
            return XL_EXIT_USAGE;
        }
    for (size_t i = 0; i < o->nfiles; i++)
        if (flt_config_file_flag(o->files[i], &w->origin.content, e1) < 0) {
            snprintf(err, errlen, "%s", e1);
            return XL_EXIT_USAGE;
        }
    if (o->root && flt_content_set_root(&w->origin.content, o->root, e1) < 0) {
        snprintf(err, errlen, "--root: %s", e1);
        return XL_EXIT_USAGE;
    }
    if (o->origin.https_port != FLT_PORT_OFF && flt_pki_create(o->certs_dir, &w->pki, e1) < 0) {
        snprintf(err, errlen, "test certificates: %s", e1);
        return XL_EXIT_FAIL;
    }
    if (flt_origin_listen(&w->origin, w->base, &o->origin, w->pki, &w->clock, e1) < 0) {
        snprintf(err, errlen, "%s", e1);
        return XL_EXIT_FAIL;
    }
    if (o->control_port != FLT_PORT_OFF) {
        w->control = flt_control_new(o->addr, (uint16_t)o->control_port, &w->origin.rules,
                                     &w->origin.content, &w->origin.journal, &w->clock, e1);
        if (!w->control) {
            snprintf(err, errlen, "%s", e1);
            return XL_EXIT_FAIL;
        }
    }
    return 0;
}

void xl_serve_teardown(struct xl_serve *w)
{
    flt_control_free(w->control);
    flt_origin_free(&w->origin);
    flt_pki_free(w->pki);
    if (w->base)
        event_base_free(w->base);
    memset(w, 0, sizeof *w);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    fprintf(stderr, "xferlab serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopbreak(arg);
}

int xl_cmd_serve(int argc, char **argv)
{
    struct xl_serve_opts o;
    struct xl_serve w;
    char err[4096];
    if (xl_serve_parse(argc, argv, &o, err) < 0) {
        fprintf(stderr, "xferlab serve: %s\n", err);
        return XL_EXIT_USAGE;
    }
    if (o.help) {
        usage(stdout);
        return XL_EXIT_OK;
    }
    int rc = xl_serve_setup(&w, &o, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "xferlab serve: %s\n", err);
        xl_serve_teardown(&w);
        return rc < 0 ? XL_EXIT_FAIL : rc;
    }
    const char *a = o.addr;
    bool v6 = strchr(a, ':') != NULL;
    if (w.origin.http)
        printf("listening http %s%s%s:%u\n", v6 ? "[" : "", a, v6 ? "]" : "",
               flt_http_port(w.origin.http));
    if (w.origin.https)
        printf("listening https %s%s%s:%u (certificate: %s)\n", v6 ? "[" : "", a, v6 ? "]" : "",
               flt_http_port(w.origin.https), flt_cert_kind_name(o.origin.cert));
    if (w.origin.ftp)
        printf("listening ftp %s%s%s:%u\n", v6 ? "[" : "", a, v6 ? "]" : "",
               flt_ftp_port(w.origin.ftp));
    if (w.control)
        printf("listening control %s:%u\n", a, flt_control_port(w.control));
    if (w.pki && flt_pki_ca_path(w.pki))
        printf("test CA %s\n", flt_pki_ca_path(w.pki));
    fflush(stdout);
    signal(SIGPIPE, SIG_IGN);
    struct event *si = evsignal_new(w.base, SIGINT, on_signal, w.base);
    struct event *st = evsignal_new(w.base, SIGTERM, on_signal, w.base);
    event_add(si, NULL);
    event_add(st, NULL);
    event_base_dispatch(w.base);
    event_free(si);
    event_free(st);
    xl_serve_teardown(&w);
    return XL_EXIT_OK;
}
