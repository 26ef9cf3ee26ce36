/*
 * explain: what an error code means, straight from the engine's error table
 * (src/engine/errors.def). `xferlab explain <name | hex | interrupt reason>`
 * prints each matching row in the three vocabularies; --json prints them as
 * a JSON array. After the rows, "produced by scenarios: …" names the
 * scenarios whose expectations cover the code (covers.h; --scenarios DIR,
 * default the scenarios directory; nothing is printed when none does).
 * Exit 0 when something matched, 1 when nothing did, 2 misuse.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "covers.h"
#include "errrow.h"
#include "scnlist.h"
#include "xfer/xfer.h"
#include "xferlab.h"

/* "produced by scenarios: …" when some scenario covers one of rows; quiet otherwise. */
static void produced_by(const char *query, const struct xfer_error_row *const *rows, size_t n,
                        const char *dir)
{
    struct xl_scn_list all, hit = {0};
    char err[256];
    if (xl_scn_find(dir ? &dir : NULL, dir ? 1 : 0, &all, err, sizeof err) == 0 &&
        xl_covering(&all, rows, n, xl_query_is_interrupt(query), &hit, NULL) > 0) {
        printf("\nproduced by scenarios:");
        for (size_t i = 0; i < hit.n; i++)
            printf(" %s", hit.v[i].name);
        putchar('\n');
    }
    xl_scn_list_free(&hit);
    xl_scn_list_free(&all);
}

int xl_cmd_explain(int argc, char **argv)
{
    bool json = false;
    const char *query = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--scenarios") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "xferlab explain: --scenarios needs a directory\n");
                return XL_EXIT_USAGE;
            }
            dir = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: xferlab explain [--json] [--scenarios DIR] <CODE>\n\n"
                   "CODE is a symbolic name (BG_E_NETWORK_DISCONNECTED), an HRESULT\n"
                   "(0x80200010) or a WebView2 interrupt reason (NetworkDisconnected).\n"
                   "Prints the error table's row(s): message, context, transient or fatal,\n"
                   "WinRT status, WebErrorStatus and interrupt reason, then the scenarios\n"
                   "(under DIR, default: %s) whose expectations produce it.\n",
                   xl_scn_default_dir());
            return XL_EXIT_OK;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0' &&
                   !(argv[i][1] >= '0' && argv[i][1] <= '9')) {
            fprintf(stderr, "xferlab explain: unknown option '%s'\n", argv[i]);
            return XL_EXIT_USAGE;
        } else if (!query) {
            query = argv[i];
        } else {
            fprintf(stderr, "xferlab explain: one code at a time ('%s' is extra)\n", argv[i]);
            return XL_EXIT_USAGE;
        }
    }
    if (!query) {
        fprintf(stderr, "usage: xferlab explain [--json] [--scenarios DIR] <CODE>\n");
        return XL_EXIT_USAGE;
    }
    const struct xfer_error_row *rows[RPC_EXPLAIN_MAX];
    size_t n = rpc_explain(stdout, query, json, rows);
    if (n == 0) {
        fprintf(stderr, "xferlab explain: '%s' is not a known code, name or interrupt reason\n",
                query);
        return XL_EXIT_FAIL;
    }
    if (!json)
        produced_by(query, rows, n, dir);
    return XL_EXIT_OK;
}
