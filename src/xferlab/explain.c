/*
 * explain: what an error code means, straight from the engine's error table
 * (src/engine/errors.def). `xferlab explain <name | hex | interrupt reason>`
 * prints each matching row in the three vocabularies; --json prints them as
 * a JSON array. Exit 0 when something matched, 1 when nothing did, 2 misuse.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "errrow.h"
#include "xfer/xfer.h"
#include "xferlab.h"

#define MAX_ROWS 64

int xl_cmd_explain(int argc, char **argv)
{
    bool json = false;
    const char *query = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: xferlab explain [--json] <CODE>\n\n"
                   "CODE is a symbolic name (BG_E_NETWORK_DISCONNECTED), an HRESULT\n"
                   "(0x80200010) or a WebView2 interrupt reason (NetworkDisconnected).\n"
                   "Prints the error table's row(s): message, context, transient or fatal,\n"
                   "WinRT status, WebErrorStatus and interrupt reason.\n");
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
        fprintf(stderr, "usage: xferlab explain [--json] <CODE>\n");
        return XL_EXIT_USAGE;
    }
    const struct xfer_error_row *rows[MAX_ROWS];
    size_t n = xfer_error_query(query, rows, MAX_ROWS);
    if (n > MAX_ROWS)
        n = MAX_ROWS;
    if (n == 0) {
        fprintf(stderr, "xferlab explain: '%s' is not a known code, name or interrupt reason\n",
                query);
        return XL_EXIT_FAIL;
    }
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, rpc_error_row_json(rows[i]));
        char *s = json_dumps(arr, JSON_INDENT(2));
        puts(s ? s : "[]");
        free(s);
        json_decref(arr);
    } else {
        char *end;
        long long v = strtoll(query, &end, 0);
        if (*end == '\0' && n == 1 && (xfer_hr)(uint32_t)v != rows[0]->hr)
            printf("0x%08X is HTTP status %u, reported with the row of its class:\n\n",
                   (unsigned)(uint32_t)v, (unsigned)((uint32_t)v & 0xFFFF));
        for (size_t i = 0; i < n; i++) {
            if (i)
                putchar('\n');
            rpc_error_row_print(stdout, rows[i]);
        }
    }
    return XL_EXIT_OK;
}
