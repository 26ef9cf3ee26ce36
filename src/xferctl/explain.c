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

int ctl_cmd_explain(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    const char *query = a.pos[0];
    const struct xfer_error_row *rows[RPC_EXPLAIN_MAX];
    if (rpc_explain(stdout, query, c->json, rows) == 0) {
        fprintf(stderr, "xferctl: explain: '%s' is not a known code, name or interrupt reason\n",
                query);
        return CTL_FAIL;
    }
    return CTL_OK;
}
