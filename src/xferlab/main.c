/*
 * xferlab: the harness's command line. Each verb lives in its own file; this
 * one only dispatches. Exit codes: 0 success, 1 a failure (a check failed, a
 * server could not start), 2 misuse (bad flags, bad fault file).
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "xferlab.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: xferlab <command> [options]\n\n"
               "commands:\n"
               "  serve       run the fault-injecting HTTP(S) and FTP servers\n"
               "  self-check  start the servers on free ports and check them with libcurl\n"
               "  run         run scenarios, each in its own process, and write reports\n"
               "  list        the scenarios, their titles and what they cover\n"
               "  repro       run the scenarios that produce an error code or interrupt\n"
               "  explain     what an error code means, and which scenarios produce it\n"
               "  report      render a run's junit.xml and index.html again\n"
               "  scenario-exec  run one scenario (what 'run' starts per scenario)\n"
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
    if (strcmp(cmd, "run") == 0)
        return xl_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "list") == 0)
        return xl_cmd_list(argc - 1, argv + 1);
    if (strcmp(cmd, "repro") == 0)
        return xl_cmd_repro(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return xl_cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "scenario-exec") == 0)
        return hx_exec_main(argc - 1, argv + 1);
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
