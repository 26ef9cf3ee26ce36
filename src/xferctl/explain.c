/*
 * explain: what an error code means, from the engine's error table, without
 * xferd. The rows come from xfer_error_query() and are printed by
 * src/rpc/errrow (rpc_error_row_print, rpc_error_row_json), the printer
 * `xferlab explain` uses, so both commands say the same. Exit 0 when
 * something matched, 1 when nothing did, 2 misuse.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ctl.h"
#include "errrow.h"
#include "xfer/xfer.h"

#define MAX_ROWS 64

int ctl_cmd_explain(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    const char *query = a.pos[0];
    const struct xfer_error_row *rows[MAX_ROWS];
    size_t n = xfer_error_query(query, rows, MAX_ROWS);
    if (n > MAX_ROWS)
        n = MAX_ROWS;
    if (n == 0) {
        fprintf(stderr, "xferctl: explain: '%s' is not a known code, name or interrupt reason\n",
                query);
        return CTL_FAIL;
    }
    if (c->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, rpc_error_row_json(rows[i]));
        ctl_print_json(arr);
        json_decref(arr);
        return CTL_OK;
    }
    /* An HRESULT of an HTTP status the table has no row of is shown with its class's row. */
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
    return CTL_OK;
}
