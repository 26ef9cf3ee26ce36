/*
 * errtab: the one error table, and the rules that put every failure in it.
 *
 * errors.def holds the rows (X-macro data): symbolic name, HRESULT, error
 * context, transient or fatal, WinRT BackgroundTransferStatus, WebErrorStatus,
 * WebView2 interrupt reason and message. This module compiles them into the
 * public xfer_error_row table and into enum xe_id, which engine code uses to
 * name a row. The classifiers below are the only place that decides which row
 * a libcurl result, an HTTP status or an errno becomes; the engine, `explain`,
 * the reports and the tests all read the same rows.
 *
 * HTTP statuses: BG_E_HTTP_ERROR_xxx = 0x80190000 | status. Statuses BITS
 * defines have their own row; any other status maps to the row of its class
 * (XE_HTTP_1XX_OTHER ... XE_HTTP_5XX_OTHER) while the job keeps the exact
 * HRESULT; xfer_error_find() resolves such an HRESULT to its class row.
 */
#ifndef XFER_ERRTAB_H
#define XFER_ERRTAB_H

#include <stdbool.h>

#include "xfer/xfer.h"

enum xe_id {
#define XE(id, name, hr, ctx, transient, winrt, web, interrupt, msg) XE_##id,
#include "errors.def"
#undef XE
    XE_COUNT
};

/* The row of id (never NULL for id < XE_COUNT). */
const struct xfer_error_row *xe_row(enum xe_id id);
xfer_hr xe_hr(enum xe_id id);
/* The row id of an HRESULT (exact, else its HTTP class row), or XE_COUNT. */
enum xe_id xe_find(xfer_hr hr);

/* What libcurl reported about a failed transfer. */
struct xe_curl_failure {
    int code;         /* CURLcode, not CURLE_OK */
    long ssl_verify;  /* CURLINFO_SSL_VERIFYRESULT (X509_V_ERR_*), 0 if none */
    long proxy_error; /* CURLINFO_PROXY_ERROR (CURLproxycode), 0 if none */
    long os_errno;    /* CURLINFO_OS_ERRNO, 0 if none */
    long http_status; /* last status or FTP reply seen (TOO_MANY_REDIRECTS, HTTP_RETURNED_ERROR, FTP
                         421), or 0 */
    const char *errbuf; /* CURLOPT_ERRORBUFFER text, may be "" */
};
/* The row for a libcurl failure; for CURLE_WRITE_ERROR pass os_errno of the write.
 * Never a success row; a code this libcurl does not know is the transport catch-all. */
enum xe_id xe_classify_curl(const struct xe_curl_failure *f);
/*
 * The row for an HTTP status that is not a success (see the decision table):
 * its own row, or its class row. A status outside 100..599 is not HTTP and
 * gives XE_INVALID_SERVER_RESPONSE.
 */
enum xe_id xe_classify_http(long status);
/* The HRESULT the job reports for an HTTP status: 0x80190000 | status
 * (BG_E_INVALID_SERVER_RESPONSE outside 100..599); xe_find() of it is
 * xe_classify_http(status). */
xfer_hr xe_http_hr(long status);
/* Whether an HTTP status is transient per decisions.md (408, 429, 5xx but 501/505).
 * This, not the row's flag, decides for a job: 429 has only the fatal 4xx class row. */
bool xe_http_transient(long status);
/* The row for a local file-system errno (ENOSPC, EACCES, EROFS, ...); XE_FILE_IO
 * for any other (0 included). */
enum xe_id xe_classify_errno(int err);

#endif
