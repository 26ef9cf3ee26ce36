/*
 * xferlab: the harness's command line. Each verb lives in its own file; this
 * one only dispatches. Exit codes: 0 success, 1 a failure (a check failed, a
 * server could not start), 2 misuse (bad flags, bad fault file).
 */
#include <stdio.h>
#include <string.h>

#include "xferlab.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: xferlab <command> [options]\n\n"
               "commands:\n"
               "  serve       run the fault-injecting HTTP(S) and FTP servers\n"
               "  self-check  start the servers on free ports and check them with libcurl\n"
               "  explain     what an error code means (the engine's error table)\n"
               "  version     print the version\n\n"
               "'xferlab <command> --help' tells more.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return XL_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return xl_cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "self-check") == 0)
        return xl_cmd_selfcheck(argc - 1, argv + 1);
    if (strcmp(cmd, "explain") == 0)
        return xl_cmd_explain(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("xferlab %s\n", XFERLAB_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "xferlab: unknown command '%s'\n", cmd);
    usage(stderr);
    return XL_EXIT_USAGE;
}
