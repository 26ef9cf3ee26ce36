/*
 * serve: the options of `xferlab serve` and the world they build (an origin,
 * its PKI and control API on one event loop), shared with `self-check`.
 */
#ifndef XL_SERVE_H
#define XL_SERVE_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "clock.h"
#include "control.h"
#include "origin.h"

#define XL_SERVE_MAX_ARGS 256

struct xl_serve_opts {
    char addr[64];
    struct flt_origin_config origin;
    int control_port;
    const char *faults_file, *root, *certs_dir;
    const char *rules[XL_SERVE_MAX_ARGS];
    size_t nrules;
    const char *files[XL_SERVE_MAX_ARGS];
    size_t nfiles;
    double scale;
    bool help;
};

struct xl_serve {
    struct event_base *base;
    struct xl_clock clock;
    struct flt_origin origin;
    struct flt_pki *pki;
    struct flt_control *control;
};

/* Parse argv (argv[0] is the verb). Returns 0, or -1 with err (XL_ERRLEN). */
int xl_serve_parse(int argc, char **argv, struct xl_serve_opts *o, char *err);
/*
 * Build the world o describes. Returns 0, or an exit code (XL_EXIT_USAGE for a
 * bad fault file or rule, XL_EXIT_FAIL otherwise) with err. Call
 * xl_serve_teardown() in both cases.
 */
int xl_serve_setup(struct xl_serve *w, const struct xl_serve_opts *o, char *err, size_t errlen);
void xl_serve_teardown(struct xl_serve *w);

#endif
