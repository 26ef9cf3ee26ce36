/*
 * xmlcheck: the checker of xmlcheck.h as a command for the shell tests.
 *   xmlcheck [--html] FILE...
 * Exit 0 when every file is well-formed (and, with --html, self-contained),
 * 1 when one is not (with file and line on stderr), 2 on misuse.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "xmlcheck.h"

int main(int argc, char **argv)
{
    bool html = false;
    int files = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--html") == 0) {
            html = true;
            continue;
        }
        files++;
        char err[512];
        struct xc_html h = {0};
        if (xc_check_file(argv[i], html ? xc_html_rules : NULL, &h, err, sizeof err) < 0) {
            fprintf(stderr, "%s: %s\n", argv[i], err);
            bad++;
        } else if (html && h.external) {
            fprintf(stderr, "%s: not self-contained: %s\n", argv[i], h.first);
            bad++;
        }
    }
    if (!files) {
        fprintf(stderr, "usage: xmlcheck [--html] FILE...\n");
        return 2;
    }
    return bad ? 1 : 0;
}
