/*
 * report: `xferlab report RUN_DIR`, rendering a run's junit.xml and
 * index.html again from its results.json (after a renderer changed, or for a
 * document edited by hand). Exit 0 done, 1 the document could not be read or
 * written, 2 misuse.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "xferlab.h"

int xl_cmd_report(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: xferlab report RUN_DIR\n\n"
               "Render RUN_DIR/junit.xml and RUN_DIR/index.html from RUN_DIR/results.json\n"
               "(e.g. reports/latest).\n");
        return XL_EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: xferlab report RUN_DIR\n");
        return XL_EXIT_USAGE;
    }
    char err[1024];
    if (rpt_render_dir(argv[1], err, sizeof err) < 0) {
        fprintf(stderr, "xferlab report: %s\n", err);
        return XL_EXIT_FAIL;
    }
    printf("%s/junit.xml\n%s/index.html\n", argv[1], argv[1]);
    return XL_EXIT_OK;
}
