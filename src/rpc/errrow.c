/*
 * errrow: the error table's rows for readers (see errrow.h). Everything here
 * is read from the row; nothing is restated.
 */
#include "errrow.h"

#include <stdint.h>
#include <stdlib.h>

static const char *row_class(const struct xfer_error_row *r)
{
    if (r->hr >= 0)
        return "success";
    return r->transient ? "transient (TRANSIENT_ERROR, retried)" : "fatal (ERROR, not retried)";
}

void rpc_error_row_print(FILE *f, const struct xfer_error_row *r)
{
    fprintf(f, "%s  0x%08X\n", r->name, (unsigned)r->hr);
    fprintf(f, "  message:        %s\n", r->message);
    fprintf(f, "  context:        %s (%d)\n", xfer_context_name(r->context), (int)r->context);
    fprintf(f, "  class:          %s\n", row_class(r));
    fprintf(f, "  WinRT status:   %s (%d)\n", xfer_winrt_status_name(r->winrt_status),
            r->winrt_status);
    fprintf(f, "  WebErrorStatus: %s (%d)\n", r->web_error_name, r->web_error_status);
    fprintf(f, "  WebView2:       %s (%d)\n", r->interrupt_name, r->interrupt_reason);
}

json_t *rpc_error_row_json(const struct xfer_error_row *r)
{
    char hex[16];
    snprintf(hex, sizeof hex, "0x%08X", (unsigned)r->hr);
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:{s:s, s:i}, s:{s:s, s:i}, s:{s:s, s:i}}", "name",
                     r->name, "hresult", hex, "message", r->message, "context",
                     xfer_context_name(r->context), "transient", r->transient, "winrt_status",
                     "name", xfer_winrt_status_name(r->winrt_status), "value", r->winrt_status,
                     "web_error_status", "name", r->web_error_name, "value", r->web_error_status,
                     "interrupt_reason", "name", r->interrupt_name, "value", r->interrupt_reason);
}

size_t rpc_explain(FILE *f, const char *query, bool json,
                   const struct xfer_error_row *rows[RPC_EXPLAIN_MAX])
{
    size_t n = xfer_error_query(query, rows, RPC_EXPLAIN_MAX);
    if (n > RPC_EXPLAIN_MAX)
        n = RPC_EXPLAIN_MAX;
    if (n == 0)
        return 0;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, rpc_error_row_json(rows[i]));
        char *s = json_dumps(arr, JSON_INDENT(2));
        fprintf(f, "%s\n", s ? s : "[]");
        free(s);
        json_decref(arr);
        return n;
    }
    /* An HRESULT of an HTTP status the table has no row of is shown with its class's row. */
    char *end;
    long long v = strtoll(query, &end, 0);
    if (*end == '\0' && n == 1 && (xfer_hr)(uint32_t)v != rows[0]->hr)
        fprintf(f, "0x%08X is HTTP status %u, reported with the row of its class:\n\n",
                (unsigned)(uint32_t)v, (unsigned)((uint32_t)v & 0xFFFF));
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc('\n', f);
        rpc_error_row_print(f, rows[i]);
    }
    return n;
}
