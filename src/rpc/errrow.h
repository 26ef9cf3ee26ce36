/*
 * errrow: one row of the engine's error table as a reader sees it — as JSON
 * (the protocol's error rows, `--json` output) and as text (`explain`). xferd,
 * xferctl and xferlab all print rows through here, so the three agree.
 */
#ifndef RPC_ERRROW_H
#define RPC_ERRROW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "xfer/xfer.h"

/* {name, hresult, message, context, transient, winrt_status{name,value}, ...}. Caller owns. */
json_t *rpc_error_row_json(const struct xfer_error_row *r);
/* The row as an indented block of text. */
void rpc_error_row_print(FILE *f, const struct xfer_error_row *r);

#define RPC_EXPLAIN_MAX 64
/*
 * `explain QUERY`: the rows xfer_error_query() finds for a name, an HRESULT or
 * an interrupt reason, printed as text (an HTTP status's HRESULT is introduced
 * as shown with its class's row) or as a JSON array. Fills rows (up to
 * RPC_EXPLAIN_MAX) and returns how many matched; prints nothing when none did.
 */
size_t rpc_explain(FILE *f, const char *query, bool json,
                   const struct xfer_error_row *rows[RPC_EXPLAIN_MAX]);

#endif
