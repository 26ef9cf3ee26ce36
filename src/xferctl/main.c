/*
 * xferctl: xferd's command-line client. This file reads the global options
 * (--socket, --json, --help, --version), finds the verb in the verb table
 * (verbs.c) and runs it; the connection, if the verb opened one, is closed
 * here. See ctl.h for how the pieces fit.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "units.h"

#define XFERCTL_VERSION "0.1.0"

static int unknown_verb(const char *name)
{
    size_t n;
    const struct ctl_verb *v = ctl_verbs(&n);
    const char *names[64];
    size_t k = 0;
    for (; k < n && k < sizeof names / sizeof names[0]; k++)
        names[k] = v[k].name;
    int near = xl_closest(name, names, k);
    fprintf(stderr, "xferctl: unknown verb '%s'", name);
    if (near >= 0)
        fprintf(stderr, " (did you mean '%s'?)", names[near]);
    fprintf(stderr, "\n\n");
    ctl_print_overview(stderr);
    return CTL_USAGE;
}

int main(int argc, char **argv)
{
    char sock[PATH_MAX];
    struct ctl c = {.socket = NULL};
    int i = 1;
    /* A closed pipe (xferctl list | head) ends the output, not the process with a signal. */
    signal(SIGPIPE, SIG_IGN);
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--socket") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                fprintf(stderr, "xferctl: --socket needs a PATH\n");
                return CTL_USAGE;
            }
            c.socket = argv[++i];
        } else if (strncmp(argv[i], "--socket=", 9) == 0) {
            c.socket = argv[i] + 9;
        } else if (strcmp(argv[i], "--json") == 0) {
            c.json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ctl_print_overview(stdout);
            return CTL_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("xferctl %s\n", XFERCTL_VERSION);
            return CTL_OK;
        } else {
            fprintf(stderr, "xferctl: unknown option '%s'\n\n", argv[i]);
            ctl_print_overview(stderr);
            return CTL_USAGE;
        }
    }
    if (i >= argc) {
        ctl_print_overview(stderr);
        return CTL_USAGE;
    }
    const char *name = argv[i];
    if (strcmp(name, "help") == 0) {
        if (i + 1 >= argc) {
            ctl_print_overview(stdout);
            return CTL_OK;
        }
        const struct ctl_verb *v = ctl_verb_find(argv[i + 1]);
        if (!v)
            return unknown_verb(argv[i + 1]);
        ctl_print_usage(stdout, v, true);
        return CTL_OK;
    }
    if (strcmp(name, "version") == 0) {
        printf("xferctl %s\n", XFERCTL_VERSION);
        return CTL_OK;
    }
    c.verb = ctl_verb_find(name);
    if (!c.verb)
        return unknown_verb(name);
    if (!c.socket) {
        ctl_default_socket(sock, sizeof sock);
        c.socket = sock;
    }
    int rc = c.verb->run(&c, argc - i - 1, argv + i + 1);
    ctl_close(&c);
    if (fflush(stdout) != 0 && rc == CTL_OK)
        rc = CTL_FAIL;
    return rc;
}
