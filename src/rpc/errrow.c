/*
 * errrow: the error table's rows for readers (see errrow.h). Everything here
 * is read from the row; nothing is restated.
 */
#include "errrow.h"

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
