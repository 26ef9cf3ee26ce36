/*
 * errtab: the error table (errtab.h) and the names of the enums its rows use.
 *
 * This file owns three kinds of data:
 *   - the vocabularies: WebErrorStatus and CoreWebView2DownloadInterruptReason
 *     (one X-macro list each, giving both the numbers and the names), the
 *     BackgroundTransferStatus, context, priority and job-type names;
 *   - rows[], errors.def compiled at build time: each row's web and interrupt
 *     are written by name there, so the row gets its number and its name from
 *     the same list entry and needs no restatement;
 *   - the classification tables: libcurl's codes (indexed by CURLcode), SOCKS
 *     replies, X.509 verify results, errnos, and the texts of libcurl's error
 *     buffer that tell two failures with one code apart.
 * Everything is static const: nothing is computed at run time, so every
 * function here is thread-safe.
 */
#include "errtab.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/x509_vfy.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --------------------------------------------------------------- vocabularies */

/* Windows.Web.WebErrorStatus (semantics.md §2.6). */
#define WEB_STATUSES(X)                                                                            \
    X(Unknown, 0)                                                                                  \
    X(CertificateCommonNameIsIncorrect, 1)                                                         \
    X(CertificateExpired, 2)                                                                       \
    X(CertificateContainsErrors, 3)                                                                \
    X(CertificateRevoked, 4)                                                                       \
    X(CertificateIsInvalid, 5)                                                                     \
    X(ServerUnreachable, 6)                                                                        \
    X(Timeout, 7)                                                                                  \
    X(ErrorHttpInvalidServerResponse, 8)                                                           \
    X(ConnectionAborted, 9)                                                                        \
    X(ConnectionReset, 10)                                                                         \
    X(Disconnected, 11)                                                                            \
    X(HttpToHttpsOnRedirection, 12)                                                                \
    X(HttpsToHttpOnRedirection, 13)                                                                \
    X(CannotConnect, 14)                                                                           \
    X(HostNameNotResolved, 15)                                                                     \
    X(OperationCanceled, 16)                                                                       \
    X(RedirectFailed, 17)                                                                          \
    X(UnexpectedStatusCode, 18)                                                                    \
    X(UnexpectedRedirection, 19)                                                                   \
    X(UnexpectedClientError, 20)                                                                   \
    X(UnexpectedServerError, 21)                                                                   \
    X(InsufficientRangeSupport, 22)                                                                \
    X(MissingContentLengthSupport, 23)                                                             \
    X(MultipleChoices, 300)                                                                        \
    X(MovedPermanently, 301)                                                                       \
    X(Found, 302)                                                                                  \
    X(SeeOther, 303)                                                                               \
    X(NotModified, 304)                                                                            \
    X(UseProxy, 305)                                                                               \
    X(TemporaryRedirect, 307)                                                                      \
    X(BadRequest, 400)                                                                             \
    X(Unauthorized, 401)                                                                           \
    X(PaymentRequired, 402)                                                                        \
    X(Forbidden, 403)                                                                              \
    X(NotFound, 404)                                                                               \
    X(MethodNotAllowed, 405)                                                                       \
    X(NotAcceptable, 406)                                                                          \
    X(ProxyAuthenticationRequired, 407)                                                            \
    X(RequestTimeout, 408)                                                                         \
    X(Conflict, 409)                                                                               \
    X(Gone, 410)                                                                                   \
    X(LengthRequired, 411)                                                                         \
    X(PreconditionFailed, 412)                                                                     \
    X(RequestEntityTooLarge, 413)                                                                  \
    X(RequestUriTooLong, 414)                                                                      \
    X(UnsupportedMediaType, 415)                                                                   \
    X(RequestedRangeNotSatisfiable, 416)                                                           \
    X(ExpectationFailed, 417)                                                                      \
    X(InternalServerError, 500)                                                                    \
    X(NotImplemented, 501)                                                                         \
    X(BadGateway, 502)                                                                             \
    X(ServiceUnavailable, 503)                                                                     \
    X(GatewayTimeout, 504)                                                                         \
    X(HttpVersionNotSupported, 505)

/* CoreWebView2DownloadInterruptReason, WebView2's numbering (semantics.md §3.5). */
#define INTERRUPT_REASONS(X)                                                                       \
    X(None, 0)                                                                                     \
    X(FileFailed, 1)                                                                               \
    X(FileAccessDenied, 2)                                                                         \
    X(FileNoSpace, 3)                                                                              \
    X(FileNameTooLong, 4)                                                                          \
    X(FileTooLarge, 5)                                                                             \
    X(FileMalicious, 6)                                                                            \
    X(FileTransientError, 7)                                                                       \
    X(FileBlockedByPolicy, 8)                                                                      \
    X(FileSecurityCheckFailed, 9)                                                                  \
    X(FileTooShort, 10)                                                                            \
    X(FileHashMismatch, 11)                                                                        \
    X(NetworkFailed, 12)                                                                           \
    X(NetworkTimeout, 13)                                                                          \
    X(NetworkDisconnected, 14)                                                                     \
    X(NetworkServerDown, 15)                                                                       \
    X(NetworkInvalidRequest, 16)                                                                   \
    X(ServerFailed, 17)                                                                            \
    X(ServerNoRange, 18)                                                                           \
    X(ServerBadContent, 19)                                                                        \
    X(ServerUnauthorized, 20)                                                                      \
    X(ServerCertificateProblem, 21)                                                                \
    X(ServerForbidden, 22)                                                                         \
    X(ServerUnexpectedResponse, 23)                                                                \
    X(ServerContentLengthMismatch, 24)                                                             \
    X(ServerCrossOriginRedirect, 25)                                                               \
    X(UserCanceled, 26)                                                                            \
    X(UserShutdown, 27)                                                                            \
    X(UserPaused, 28)                                                                              \
    X(DownloadProcessCrashed, 29)

#define AS_ENUM(prefix, name, value) prefix##name = value,
#define WEB_ENUM(name, value)        AS_ENUM(WEB_, name, value)
#define IR_ENUM(name, value)         AS_ENUM(IR_, name, value)
#define AS_NAME(name, value)         [value] = #name,

enum web_status { WEB_STATUSES(WEB_ENUM) };
enum interrupt_reason { INTERRUPT_REASONS(IR_ENUM) };

static const char *const web_names[] = {WEB_STATUSES(AS_NAME)};
static const char *const interrupt_names[] = {INTERRUPT_REASONS(AS_NAME)};
_Static_assert(sizeof interrupt_names / sizeof *interrupt_names == 30,
               "WebView2 has 30 interrupt reasons, 0..29");

#define COUNT(a) (sizeof(a) / sizeof *(a))

static const char *const winrt_names[] = {
    [XFER_WINRT_IDLE] = "Idle",
    [XFER_WINRT_RUNNING] = "Running",
    [XFER_WINRT_PAUSED_BY_APPLICATION] = "PausedByApplication",
    [XFER_WINRT_PAUSED_COSTED_NETWORK] = "PausedCostedNetwork",
    [XFER_WINRT_PAUSED_NO_NETWORK] = "PausedNoNetwork",
    [XFER_WINRT_COMPLETED] = "Completed",
    [XFER_WINRT_CANCELED] = "Canceled",
    [XFER_WINRT_ERROR] = "Error",
    [XFER_WINRT_PAUSED_RECOVERABLE_WEB_ERROR_STATUS] = "PausedRecoverableWebErrorStatus",
    [XFER_WINRT_PAUSED_SYSTEM_POLICY] = "PausedSystemPolicy",
};

static const char *const context_names[] = {
    [XFER_CTX_NONE] = "NONE",
    [XFER_CTX_UNKNOWN] = "UNKNOWN",
    [XFER_CTX_GENERAL_QUEUE_MANAGER] = "GENERAL_QUEUE_MANAGER",
    [XFER_CTX_QUEUE_MANAGER_NOTIFICATION] = "QUEUE_MANAGER_NOTIFICATION",
    [XFER_CTX_LOCAL_FILE] = "LOCAL_FILE",
    [XFER_CTX_REMOTE_FILE] = "REMOTE_FILE",
    [XFER_CTX_GENERAL_TRANSPORT] = "GENERAL_TRANSPORT",
    [XFER_CTX_REMOTE_APPLICATION] = "REMOTE_APPLICATION",
    [XFER_CTX_SERVER_CERTIFICATE_CALLBACK] = "SERVER_CERTIFICATE_CALLBACK",
};

static const char *const priority_names[] = {
    [XFER_FOREGROUND] = "FOREGROUND",
    [XFER_HIGH] = "HIGH",
    [XFER_NORMAL] = "NORMAL",
    [XFER_LOW] = "LOW",
};

static const char *const job_type_names[] = {
    [XFER_DOWNLOAD] = "DOWNLOAD",
    [XFER_UPLOAD] = "UPLOAD",
    [XFER_UPLOAD_REPLY] = "UPLOAD_REPLY",
};

/* The name at i of a sparse name table, or NULL. */
static const char *name_at(const char *const *names, size_t n, long i)
{
    return i >= 0 && (size_t)i < n ? names[i] : NULL;
}

const char *xfer_web_error_name(int status)
{
    return name_at(web_names, COUNT(web_names), status);
}

const char *xfer_interrupt_name(int reason)
{
    return name_at(interrupt_names, COUNT(interrupt_names), reason);
}

const char *xfer_winrt_status_name(int status)
{
    return name_at(winrt_names, COUNT(winrt_names), status);
}

/* Like xfer_state_name(): "?" for a value outside the enum. */
const char *xfer_context_name(enum xfer_context c)
{
    const char *s = name_at(context_names, COUNT(context_names), (long)c);
    return s ? s : "?";
}

const char *xfer_priority_name(enum xfer_priority p)
{
    const char *s = name_at(priority_names, COUNT(priority_names), (long)p);
    return s ? s : "?";
}

const char *xfer_job_type_name(enum xfer_job_type t)
{
    const char *s = name_at(job_type_names, COUNT(job_type_names), (long)t);
    return s ? s : "?";
}

/* ------------------------------------------------------------------------ rows */

static const struct xfer_error_row rows[XE_COUNT] = {
#define XE(id, name_, hr_, ctx, transient_, winrt, web, interrupt, msg)                            \
    [XE_##id] = {.name = name_,                                                                    \
                 .hr = (xfer_hr)(hr_),                                                             \
                 .message = msg,                                                                   \
                 .context = ctx,                                                                   \
                 .transient = transient_,                                                          \
                 .winrt_status = winrt,                                                            \
                 .web_error_status = WEB_##web,                                                    \
                 .interrupt_reason = IR_##interrupt,                                               \
                 .web_error_name = #web,                                                           \
                 .interrupt_name = #interrupt},
#include "errors.def"
#undef XE
};

const struct xfer_error_row *xe_row(enum xe_id id)
{
    return (unsigned)id < XE_COUNT ? &rows[id] : NULL;
}

xfer_hr xe_hr(enum xe_id id)
{
    return (unsigned)id < XE_COUNT ? rows[id].hr : rows[XE_E_FAIL].hr;
}

const struct xfer_error_row *xfer_error_table(size_t *n)
{
    if (n)
        *n = XE_COUNT;
    return rows;
}

const struct xfer_error_row *xfer_error_by_name(const char *name)
{
    if (!name)
        return NULL;
    for (unsigned i = 0; i < XE_COUNT; i++)
        if (strcasecmp(rows[i].name, name) == 0)
            return &rows[i];
    return NULL;
}

/* ------------------------------------------------------------------------ HTTP */

#define HTTP_FACILITY 0x80190000u /* BG_E_HTTP_ERROR_xxx = HTTP_FACILITY | xxx */

static const enum xe_id http_class_rows[] = {
    XE_HTTP_1XX_OTHER, XE_HTTP_2XX_OTHER, XE_HTTP_3XX_OTHER, XE_HTTP_4XX_OTHER, XE_HTTP_5XX_OTHER};

static bool http_status_valid(long status)
{
    return status >= 100 && status <= 599;
}

enum xe_id xe_find(xfer_hr hr)
{
    for (unsigned i = 0; i < XE_COUNT; i++)
        if (rows[i].hr == hr)
            return (enum xe_id)i;
    uint32_t u = (uint32_t)hr;
    if ((u & 0xFFFF0000u) == HTTP_FACILITY && http_status_valid((long)(u & 0xFFFFu)))
        return http_class_rows[(u & 0xFFFFu) / 100 - 1];
    return XE_COUNT;
}

const struct xfer_error_row *xfer_error_find(xfer_hr hr)
{
    return xe_row(xe_find(hr));
}

/*
 * A status outside 100..599 is not HTTP: it is BG_E_INVALID_SERVER_RESPONSE,
 * as row and as HRESULT, so that xe_find(xe_http_hr(s)) == xe_classify_http(s)
 * for every s.
 */
xfer_hr xe_http_hr(long status)
{
    if (!http_status_valid(status))
        return xe_hr(XE_INVALID_SERVER_RESPONSE);
    return (xfer_hr)(HTTP_FACILITY | (uint32_t)status);
}

enum xe_id xe_classify_http(long status)
{
    return http_status_valid(status) ? xe_find(xe_http_hr(status)) : XE_INVALID_SERVER_RESPONSE;
}

/* decisions.md: 4xx fatal but 408 and 429; 5xx transient but 501 and 505; others fatal. */
bool xe_http_transient(long status)
{
    if (status == 408 || status == 429)
        return true;
    return status >= 500 && status <= 599 && status != 501 && status != 505;
}

/* --------------------------------------------------------- codes to rows */

struct code_row {
    long code;
    enum xe_id row;
};

static enum xe_id lookup(const struct code_row *t, size_t n, long code, enum xe_id otherwise)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return t[i].row;
    return otherwise;
}
#define LOOKUP(t, code, otherwise) lookup(t, COUNT(t), code, otherwise)

/* Whether text mentions any of hints (case-insensitive). */
static bool mentions(const char *text, const char *const *hints, size_t n)
{
    if (!text)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcasestr(text, hints[i]))
            return true;
    return false;
}
#define MENTIONS(text, hints) mentions(text, hints, COUNT(hints))

/* A local file-system errno. */
static const struct code_row local_errnos[] = {
    {ENOSPC, XE_DISK_FULL},           {EDQUOT, XE_DISK_FULL},
    {EACCES, XE_ACCESS_DENIED},       {EPERM, XE_ACCESS_DENIED},
    {EROFS, XE_WRITE_PROTECT},        {ENAMETOOLONG, XE_FILENAME_TOO_LONG},
    {EFBIG, XE_FILE_TOO_LARGE},       {EMFILE, XE_TOO_MANY_OPEN_FILES},
    {ENFILE, XE_TOO_MANY_OPEN_FILES}, {ENOENT, XE_PATH_NOT_FOUND},
    {ENOTDIR, XE_PATH_NOT_FOUND},     {ENOMEM, XE_E_OUTOFMEMORY},
};

enum xe_id xe_classify_errno(int err)
{
    return LOOKUP(local_errnos, err, XE_FILE_IO);
}

/* A socket errno (CURLINFO_OS_ERRNO) that says more than "send/recv failed". */
static const struct code_row socket_errnos[] = {
    {ETIMEDOUT, XE_TIMEOUT},
    {ENETUNREACH, XE_NETWORK_UNREACHABLE},
    {ENETDOWN, XE_NETWORK_UNREACHABLE},
    {EHOSTUNREACH, XE_NETWORK_UNREACHABLE},
    {EHOSTDOWN, XE_NETWORK_UNREACHABLE},
};

/*
 * The SOCKS5 reply of the proxy (CURLINFO_PROXY_ERROR). The link is a SOCKS5
 * proxy that is the simulated network: "network/host unreachable" from it
 * means the network is gone (NETWORK_UNREACHABLE); "general failure" is what
 * many SOCKS servers send for any failed connect. Not connecting to the proxy
 * at all is CURLE_COULDNT_CONNECT, not CURLE_PROXY.
 */
static const struct code_row proxy_replies[] = {
    {CURLPX_REPLY_CONNECTION_REFUSED, XE_CANNOT_CONNECT},
    {CURLPX_REPLY_GENERAL_SERVER_FAILURE, XE_CANNOT_CONNECT},
    {CURLPX_REPLY_NETWORK_UNREACHABLE, XE_NETWORK_UNREACHABLE},
    {CURLPX_REPLY_HOST_UNREACHABLE, XE_NETWORK_UNREACHABLE},
    {CURLPX_REPLY_TTL_EXPIRED, XE_TIMEOUT},
    {CURLPX_RESOLVE_HOST, XE_NAME_NOT_RESOLVED},
    {CURLPX_CLOSED, XE_CONNECTION_RESET},
};

/* OpenSSL's verify result (CURLINFO_SSL_VERIFYRESULT) of a rejected certificate. */
static const struct code_row verify_results[] = {
    {X509_V_ERR_CERT_HAS_EXPIRED, XE_CERT_DATE_INVALID},
    {X509_V_ERR_CERT_NOT_YET_VALID, XE_CERT_DATE_INVALID},
    {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, XE_CERT_INVALID_CA},
    {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, XE_CERT_INVALID_CA},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, XE_CERT_INVALID_CA},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, XE_CERT_INVALID_CA},
    {X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, XE_CERT_INVALID_CA},
    {X509_V_ERR_CERT_REVOKED, XE_CERT_REVOKED},
    {X509_V_ERR_HOSTNAME_MISMATCH, XE_CERT_CN_INVALID},
};

/* libcurl's own host-name check (verify result X509_V_OK, or 1 with libcurl
 * 7.88): "SSL: no alternative certificate subject name matches ...", "SSL:
 * certificate subject name '...' does not match ...". */
static const char *const host_mismatch_texts[] = {"subject name", "does not match"};
/* A handshake cut by the peer or the network (OpenSSL 3 with libcurl 7.88). */
static const char *const tls_reset_texts[] = {"SSL_ERROR_SYSCALL", "reset by peer",
                                              "unexpected eof", "broken pipe"};
/* CURLE_UNSUPPORTED_PROTOCOL about the server's answer, not the URL's scheme:
 * "Received HTTP/0.9 when not allowed", "Unsupported HTTP version in response",
 * "Unsupported HTTP/1 subversion in response". */
static const char *const bad_version_texts[] = {"HTTP/0.9", "version in response"};

/* How a CURLcode becomes a row: always .row, or .row unless more detail says better. */
enum curl_how {
    CR_UNLISTED = 0, /* a code this table does not know: XE_TRANSPORT_INTERNAL */
    CR_ROW,          /* .row */
    CR_SOCKET,       /* socket_errnos[os_errno], else .row */
    CR_TLS_SETUP,    /* a handshake cut off (tls_reset_texts): CONNECTION_RESET, else .row */
    CR_SCHEME,       /* the server's HTTP version (bad_version_texts), else .row */
    CR_LOCAL_ERRNO,  /* xe_classify_errno(os_errno), or .row without one */
    CR_HTTP_STATUS,  /* xe_classify_http(http_status), or .row without one */
    CR_VERIFY,       /* verify_results[ssl_verify]; libcurl's host-name check; else .row */
    CR_PROXY,        /* proxy_replies[proxy_error], else .row */
    CR_FTP_421,      /* the FTP reply 421, which libcurl reports as a timeout: FTP_TRANSIENT */
};

struct curl_rule {
    enum curl_how how;
    enum xe_id row;
};

#define ROW(code, id)     [CURLE_##code] = {CR_ROW, XE_##id}
#define BY(code, how, id) [CURLE_##code] = {how, XE_##id}

/* Every CURLcode of libcurl 7.88 but the obsolete ones (which stay CR_UNLISTED). */
static const struct curl_rule curl_rules[CURL_LAST] = {
    BY(UNSUPPORTED_PROTOCOL, CR_SCHEME, UNRECOGNIZED_SCHEME),
    ROW(FAILED_INIT, E_FAIL),
    ROW(URL_MALFORMAT, INVALID_URL),
    ROW(NOT_BUILT_IN, E_FAIL),
    ROW(COULDNT_RESOLVE_PROXY, NAME_NOT_RESOLVED),
    ROW(COULDNT_RESOLVE_HOST, NAME_NOT_RESOLVED),
    ROW(COULDNT_CONNECT, CANNOT_CONNECT), /* the server, or the proxy itself */
    ROW(WEIRD_SERVER_REPLY, INVALID_SERVER_RESPONSE_WINHTTP),
    ROW(REMOTE_ACCESS_DENIED, REMOTE_ACCESS_DENIED),
    ROW(FTP_ACCEPT_FAILED, FTP_TRANSIENT),
    ROW(FTP_WEIRD_PASS_REPLY, FTP_TRANSIENT), /* 530 is LOGIN_DENIED */
    ROW(FTP_ACCEPT_TIMEOUT, TIMEOUT),
    ROW(FTP_WEIRD_PASV_REPLY, FTP_TRANSIENT),
    ROW(FTP_WEIRD_227_FORMAT, FTP_TRANSIENT),
    ROW(FTP_CANT_GET_HOST, FTP_TRANSIENT),
    ROW(HTTP2, TRANSPORT_INTERNAL),
    ROW(FTP_COULDNT_SET_TYPE, FTP_TRANSIENT),
    ROW(PARTIAL_FILE, CONTENT_LENGTH_MISMATCH),
    ROW(FTP_COULDNT_RETR_FILE, FTP_TRANSIENT), /* 550 is REMOTE_FILE_NOT_FOUND */
    ROW(QUOTE_ERROR, FTP_TRANSIENT),
    BY(HTTP_RETURNED_ERROR, CR_HTTP_STATUS, INVALID_SERVER_RESPONSE),
    BY(WRITE_ERROR, CR_LOCAL_ERRNO, FILE_IO),
    ROW(UPLOAD_FAILED, FTP_TRANSIENT),
    BY(READ_ERROR, CR_LOCAL_ERRNO, FILE_IO),
    ROW(OUT_OF_MEMORY, E_OUTOFMEMORY),
    /* libcurl turns any FTP 421 ("service not available, closing") into a timeout;
     * an HTTP 421 is a whole response the engine classifies by its status. */
    BY(OPERATION_TIMEDOUT, CR_FTP_421, TIMEOUT),
    ROW(FTP_PORT_FAILED, FTP_TRANSIENT),
    ROW(FTP_COULDNT_USE_REST, INSUFFICIENT_RANGE_SUPPORT),
    ROW(RANGE_ERROR, INSUFFICIENT_RANGE_SUPPORT),
    ROW(HTTP_POST_ERROR, E_FAIL),
    BY(SSL_CONNECT_ERROR, CR_TLS_SETUP, SECURE_FAILURE),
    ROW(BAD_DOWNLOAD_RESUME, FTP_TRANSIENT),
    ROW(FILE_COULDNT_READ_FILE, FTP_FILE_NOT_FOUND), /* file:// is never enabled */
    ROW(LDAP_CANNOT_BIND, TRANSPORT_INTERNAL),
    ROW(LDAP_SEARCH_FAILED, TRANSPORT_INTERNAL),
    ROW(FUNCTION_NOT_FOUND, E_FAIL),
    ROW(ABORTED_BY_CALLBACK, E_FAIL), /* the engine records its own reason first */
    ROW(BAD_FUNCTION_ARGUMENT, E_FAIL),
    ROW(INTERFACE_FAILED, TRANSPORT_INTERNAL),
    /* Past 10 redirects: the row of the last status, fatal (decisions.md). */
    BY(TOO_MANY_REDIRECTS, CR_HTTP_STATUS, REDIRECT_FAILED),
    ROW(UNKNOWN_OPTION, E_FAIL),
    ROW(SETOPT_OPTION_SYNTAX, E_FAIL),
    ROW(GOT_NOTHING, INVALID_SERVER_RESPONSE_WINHTTP),
    ROW(SSL_ENGINE_NOTFOUND, SECURE_FAILURE),
    ROW(SSL_ENGINE_SETFAILED, SECURE_FAILURE),
    BY(SEND_ERROR, CR_SOCKET, CONNECTION_RESET),
    BY(RECV_ERROR, CR_SOCKET, CONNECTION_RESET),
    ROW(SSL_CERTPROBLEM, SECURE_FAILURE),
    ROW(SSL_CIPHER, SECURE_FAILURE),
    BY(PEER_FAILED_VERIFICATION, CR_VERIFY, SECURE_FAILURE),
    ROW(BAD_CONTENT_ENCODING, INVALID_SERVER_RESPONSE_WINHTTP),
    ROW(FILESIZE_EXCEEDED, FILE_TOO_LARGE),
    ROW(USE_SSL_FAILED, SECURE_FAILURE),
    ROW(SEND_FAIL_REWIND, TRANSPORT_INTERNAL),
    ROW(SSL_ENGINE_INITFAILED, SECURE_FAILURE),
    ROW(LOGIN_DENIED, LOGIN_FAILURE),
    ROW(TFTP_NOTFOUND, FTP_FILE_NOT_FOUND),
    ROW(TFTP_PERM, REMOTE_ACCESS_DENIED),
    ROW(REMOTE_DISK_FULL, FTP_TRANSIENT), /* FTP 452: the server's disk frees up */
    ROW(TFTP_ILLEGAL, TRANSPORT_INTERNAL),
    ROW(TFTP_UNKNOWNID, TRANSPORT_INTERNAL),
    ROW(REMOTE_FILE_EXISTS, TRANSPORT_INTERNAL),
    ROW(TFTP_NOSUCHUSER, TRANSPORT_INTERNAL),
    ROW(SSL_CACERT_BADFILE, SECURE_FAILURE),
    ROW(REMOTE_FILE_NOT_FOUND, FTP_FILE_NOT_FOUND),
    ROW(SSH, TRANSPORT_INTERNAL),
    ROW(SSL_SHUTDOWN_FAILED, SECURE_FAILURE),
    ROW(AGAIN, TRANSPORT_INTERNAL),
    ROW(SSL_CRL_BADFILE, SECURE_FAILURE),
    ROW(SSL_ISSUER_ERROR, SECURE_FAILURE),
    ROW(FTP_PRET_FAILED, FTP_TRANSIENT),
    ROW(RTSP_CSEQ_ERROR, TRANSPORT_INTERNAL),
    ROW(RTSP_SESSION_ERROR, TRANSPORT_INTERNAL),
    ROW(FTP_BAD_FILE_LIST, FTP_TRANSIENT),
    ROW(CHUNK_FAILED, E_FAIL),
    ROW(NO_CONNECTION_AVAILABLE, TRANSPORT_INTERNAL),
    ROW(SSL_PINNEDPUBKEYNOTMATCH, SECURE_FAILURE),
    ROW(SSL_INVALIDCERTSTATUS, SECURE_FAILURE),
    ROW(HTTP2_STREAM, TRANSPORT_INTERNAL),
    ROW(RECURSIVE_API_CALL, E_FAIL),
    ROW(AUTH_ERROR, LOGIN_FAILURE),
    ROW(HTTP3, TRANSPORT_INTERNAL),
    ROW(QUIC_CONNECT_ERROR, TRANSPORT_INTERNAL),
    BY(PROXY, CR_PROXY, TRANSPORT_INTERNAL),
    ROW(SSL_CLIENTCERT, SECURE_FAILURE),
    ROW(UNRECOVERABLE_POLL, E_FAIL),
};

enum xe_id xe_classify_curl(const struct xe_curl_failure *f)
{
    if (!f || f->code <= 0 || f->code >= CURL_LAST)
        return XE_TRANSPORT_INTERNAL;
    const struct curl_rule *r = &curl_rules[f->code];
    switch (r->how) {
    case CR_UNLISTED:
        return XE_TRANSPORT_INTERNAL;
    case CR_ROW:
        return r->row;
    case CR_SOCKET:
        return LOOKUP(socket_errnos, f->os_errno, r->row);
    case CR_TLS_SETUP:
        return MENTIONS(f->errbuf, tls_reset_texts) ? XE_CONNECTION_RESET : r->row;
    case CR_SCHEME:
        return MENTIONS(f->errbuf, bad_version_texts) ? XE_INVALID_SERVER_RESPONSE_WINHTTP : r->row;
    case CR_LOCAL_ERRNO:
        return f->os_errno ? xe_classify_errno((int)f->os_errno) : r->row;
    case CR_HTTP_STATUS:
        return f->http_status > 0 ? xe_classify_http(f->http_status) : r->row;
    case CR_VERIFY: {
        /* libcurl 7.88's own host-name check leaves verify result 1 (not
         * X509_V_OK), so an unlisted result still goes on to the text. */
        enum xe_id id = LOOKUP(verify_results, f->ssl_verify, XE_COUNT);
        if (id != XE_COUNT)
            return id;
        return MENTIONS(f->errbuf, host_mismatch_texts) ? XE_CERT_CN_INVALID : r->row;
    }
    case CR_PROXY:
        return LOOKUP(proxy_replies, f->proxy_error, r->row);
    case CR_FTP_421:
        return f->http_status == 421 ? XE_FTP_TRANSIENT : r->row;
    }
    return XE_TRANSPORT_INTERNAL;
}

/* ------------------------------------------------------------------- queries */

size_t xfer_error_query(const char *q, const struct xfer_error_row **out, size_t max)
{
    if (!q || !*q)
        return 0;
    const struct xfer_error_row *row = xfer_error_by_name(q);
    if (row) {
        if (max > 0)
            out[0] = row;
        return 1;
    }
    char *end;
    errno = 0;
    long long v = strtoll(q, &end, 0);
    if (errno == 0 && *end == '\0' && end != q) {
        if (v >= INT32_MIN && v <= (long long)UINT32_MAX) {
            row = xfer_error_find((xfer_hr)(uint32_t)v);
            if (row && max > 0)
                out[0] = row;
            return row ? 1 : 0;
        }
        return 0;
    }
    /* A WebView2 interrupt reason by name: every row that produces it. */
    size_t n = 0;
    for (unsigned i = 0; i < XE_COUNT; i++) {
        if (rows[i].interrupt_name && strcasecmp(rows[i].interrupt_name, q) == 0) {
            if (n < max)
                out[n] = &rows[i];
            n++;
        }
    }
    return n;
}
