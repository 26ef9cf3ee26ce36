/*
 * Tests for src/engine/errtab.c and errors.def: every row against the rules
 * written at the top of errors.def, the codes the specs fix, every CURLcode,
 * every HTTP status, the errnos, and the name tables. The expected values are
 * restated here from semantics.md and decisions.md on purpose: a typo in the
 * table must fail a test, not agree with itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/x509_vfy.h>
#include <string.h>
#include <strings.h>

#include "errtab.h"

#define COUNT(a) (sizeof(a) / sizeof *(a))

static const struct xfer_error_row *table(size_t *n)
{
    const struct xfer_error_row *t = xfer_error_table(n);
    assert_non_null(t);
    assert_int_equal(*n, XE_COUNT);
    return t;
}

/* Windows' naming says the severity: S_OK, BG_S_... are success codes. */
static bool is_success_name(const char *name)
{
    return strncmp(name, "S_", 2) == 0 || strstr(name, "_S_") != NULL;
}

/* ------------------------------------------------------------------ rows */

static void test_rows_unique(void **state)
{
    (void)state;
    size_t n;
    const struct xfer_error_row *t = table(&n);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (t[i].hr == t[j].hr || strcasecmp(t[i].name, t[j].name) == 0)
                fail_msg("rows %zu (%s) and %zu (%s) share a code or a name", i, t[i].name, j,
                         t[j].name);
        }
    }
}

static void test_rows_follow_rules(void **state)
{
    (void)state;
    size_t n;
    const struct xfer_error_row *t = table(&n);
    for (size_t i = 0; i < n; i++) {
        const struct xfer_error_row *r = &t[i];
        const char *m = r->message;
        assert_non_null(r->name);
        assert_non_null(m);
        size_t len = strlen(m);
        if (len < 2 || !isupper((unsigned char)m[0]) || m[len - 1] != '.' || strstr(m, ". "))
            fail_msg("%s: the message must be one sentence ending with '.': \"%s\"", r->name, m);

        if (r->interrupt_reason < 0 || r->interrupt_reason > 29)
            fail_msg("%s: interrupt reason %d", r->name, r->interrupt_reason);
        assert_non_null(xfer_interrupt_name(r->interrupt_reason));
        assert_string_equal(r->interrupt_name, xfer_interrupt_name(r->interrupt_reason));
        assert_non_null(xfer_web_error_name(r->web_error_status));
        assert_string_equal(r->web_error_name, xfer_web_error_name(r->web_error_status));
        assert_non_null(xfer_winrt_status_name(r->winrt_status));
        assert_string_not_equal(xfer_context_name(r->context), "?");

        if (is_success_name(r->name)) {
            if (r->hr < 0 || r->context != XFER_CTX_NONE || r->transient ||
                r->web_error_status != 0 || r->interrupt_reason != 0)
                fail_msg("%s: a success row has hr >= 0, context NONE, no web error and "
                         "no interrupt",
                         r->name);
            continue;
        }
        if (r->hr >= 0)
            fail_msg("%s: a failure row with hr 0x%08x", r->name, (unsigned)r->hr);
        if (r->context == XFER_CTX_NONE)
            fail_msg("%s: a failure row with context NONE", r->name);
        if (r->transient) {
            if (r->winrt_status != XFER_WINRT_RUNNING &&
                r->winrt_status != XFER_WINRT_PAUSED_NO_NETWORK &&
                r->winrt_status != XFER_WINRT_PAUSED_COSTED_NETWORK &&
                r->winrt_status != XFER_WINRT_PAUSED_SYSTEM_POLICY)
                fail_msg("%s: transient but WinRT %s", r->name,
                         xfer_winrt_status_name(r->winrt_status));
        } else if (r->winrt_status != XFER_WINRT_ERROR) {
            fail_msg("%s: fatal but WinRT %s", r->name, xfer_winrt_status_name(r->winrt_status));
        }
    }
}

static void test_rows_found_by_code_and_name(void **state)
{
    (void)state;
    size_t n;
    const struct xfer_error_row *t = table(&n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(xe_find(t[i].hr), i);
        assert_ptr_equal(xfer_error_find(t[i].hr), &t[i]);
        assert_ptr_equal(xe_row((enum xe_id)i), &t[i]);
        assert_int_equal(xe_hr((enum xe_id)i), t[i].hr);
        assert_ptr_equal(xfer_error_by_name(t[i].name), &t[i]);
        char lower[128];
        size_t len = strlen(t[i].name);
        assert_true(len < sizeof lower);
        for (size_t k = 0; k <= len; k++)
            lower[k] = (char)tolower((unsigned char)t[i].name[k]);
        assert_ptr_equal(xfer_error_by_name(lower), &t[i]);
    }
    assert_null(xe_row(XE_COUNT));
    assert_null(xfer_error_by_name("NETWORK_DISCONNECTED")); /* the real name only */
    assert_null(xfer_error_by_name("0x80200010"));
    assert_null(xfer_error_by_name(""));
    assert_null(xfer_error_by_name(NULL));
}

/* The codes the specs and the engine rely on, restated. */
static void test_known_codes(void **state)
{
    (void)state;
    static const struct {
        enum xe_id id;
        uint32_t hr;
        const char *name;
        enum xfer_context ctx;
        bool transient;
        int winrt, web, interrupt;
    } known[] = {
        {XE_S_OK, 0x0, "S_OK", XFER_CTX_NONE, false, 0, 0, 0},
        {XE_S_PARTIAL_COMPLETE, 0x00200017, "BG_S_PARTIAL_COMPLETE", XFER_CTX_NONE, false, 5, 0, 0},
        {XE_S_UNABLE_TO_DELETE_FILES, 0x0020001A, "BG_S_UNABLE_TO_DELETE_FILES", XFER_CTX_NONE,
         false, 0, 0, 0},
        {XE_E_INVALIDARG, 0x80070057, "E_INVALIDARG", XFER_CTX_GENERAL_QUEUE_MANAGER, false, 7, 0,
         0},
        {XE_E_NOTIMPL, 0x80004001, "E_NOTIMPL", XFER_CTX_GENERAL_QUEUE_MANAGER, false, 7, 0, 0},
        {XE_E_OUTOFMEMORY, 0x8007000E, "E_OUTOFMEMORY", XFER_CTX_GENERAL_QUEUE_MANAGER, true, 1, 0,
         7},
        {XE_E_FAIL, 0x80004005, "E_FAIL", XFER_CTX_UNKNOWN, false, 7, 0, 1},
        {XE_NOT_FOUND, 0x80200001, "BG_E_NOT_FOUND", XFER_CTX_GENERAL_QUEUE_MANAGER, false, 7, 0,
         0},
        {XE_INVALID_STATE, 0x80200002, "BG_E_INVALID_STATE", XFER_CTX_GENERAL_QUEUE_MANAGER, false,
         7, 0, 0},
        {XE_EMPTY, 0x80200003, "BG_E_EMPTY", XFER_CTX_GENERAL_QUEUE_MANAGER, false, 7, 0, 0},
        {XE_NETWORK_DISCONNECTED, 0x80200010, "BG_E_NETWORK_DISCONNECTED",
         XFER_CTX_GENERAL_TRANSPORT, true, 4, 11, 14},
        {XE_MISSING_FILE_SIZE, 0x80200011, "BG_E_MISSING_FILE_SIZE", XFER_CTX_REMOTE_FILE, false, 7,
         23, 17},
        {XE_INSUFFICIENT_RANGE_SUPPORT, 0x80200013, "BG_E_INSUFFICIENT_RANGE_SUPPORT",
         XFER_CTX_REMOTE_FILE, false, 7, 22, 18},
        {XE_TOO_MANY_FILES, 0x8020001C, "BG_E_TOO_MANY_FILES", XFER_CTX_GENERAL_QUEUE_MANAGER,
         false, 7, 0, 0},
        {XE_LOCAL_FILE_CHANGED, 0x8020001D, "BG_E_LOCAL_FILE_CHANGED", XFER_CTX_LOCAL_FILE, false,
         7, 0, 1},
        {XE_MAXDOWNLOAD_TIMEOUT, 0x80200054, "BG_E_MAXDOWNLOAD_TIMEOUT",
         XFER_CTX_GENERAL_QUEUE_MANAGER, false, 7, 7, 13},
        {XE_BLOCKED_BY_POLICY, 0x8020003E, "BG_E_BLOCKED_BY_POLICY", XFER_CTX_GENERAL_QUEUE_MANAGER,
         true, 32, 0, 28},
        {XE_BLOCKED_BY_COST_TRANSFER_POLICY, 0x80200059, "BG_E_BLOCKED_BY_COST_TRANSFER_POLICY",
         XFER_CTX_GENERAL_QUEUE_MANAGER, true, 3, 0, 28},
        {XE_BLOCKED_BY_BATTERY_SAVER, 0x80200068, "BG_E_BLOCKED_BY_BATTERY_SAVER",
         XFER_CTX_GENERAL_QUEUE_MANAGER, true, 32, 0, 28},
        {XE_BLOCKED_BY_GAME_MODE, 0x8020006F, "BG_E_BLOCKED_BY_GAME_MODE",
         XFER_CTX_GENERAL_QUEUE_MANAGER, true, 32, 0, 28},
        {XE_PROPERTY_AFTER_ADDFILE, 0x80200061, "BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE",
         XFER_CTX_GENERAL_QUEUE_MANAGER, false, 7, 0, 0},
        {XE_PROPERTY_AFTER_RESUME, 0x80200062, "BG_E_READ_ONLY_PROPERTY_AFTER_RESUME",
         XFER_CTX_GENERAL_QUEUE_MANAGER, false, 7, 0, 0},
        {XE_REMOTE_FILE_CHANGED, 0x80200073, "BG_E_REMOTE_FILE_CHANGED", XFER_CTX_REMOTE_FILE, true,
         1, 0, 0},
        {XE_HTTP_404, 0x80190194, "BG_E_HTTP_ERROR_404", XFER_CTX_REMOTE_FILE, false, 7, 404, 19},
        {XE_HTTP_503, 0x801901F7, "BG_E_HTTP_ERROR_503", XFER_CTX_REMOTE_FILE, true, 1, 503, 17},
        {XE_HTTP_1XX_OTHER, 0x80190066, "BG_E_HTTP_ERROR_1XX", XFER_CTX_REMOTE_FILE, false, 7, 18,
         17},
        {XE_HTTP_4XX_OTHER, 0x801901A2, "BG_E_HTTP_ERROR_4XX", XFER_CTX_REMOTE_FILE, false, 7, 20,
         17},
        {XE_HTTP_5XX_OTHER, 0x801901FA, "BG_E_HTTP_ERROR_5XX", XFER_CTX_REMOTE_FILE, true, 1, 21,
         17},
        {XE_TIMEOUT, 0x80072EE2, "ERROR_WINHTTP_TIMEOUT", XFER_CTX_REMOTE_FILE, true, 1, 7, 13},
        {XE_NAME_NOT_RESOLVED, 0x80072EE7, "ERROR_WINHTTP_NAME_NOT_RESOLVED", XFER_CTX_REMOTE_FILE,
         true, 1, 15, 12},
        {XE_CANNOT_CONNECT, 0x80072EFD, "ERROR_WINHTTP_CANNOT_CONNECT", XFER_CTX_REMOTE_FILE, true,
         1, 14, 15},
        {XE_CONNECTION_RESET, 0x80072EFE, "ERROR_WINHTTP_CONNECTION_ERROR", XFER_CTX_REMOTE_FILE,
         true, 1, 10, 12},
        {XE_INVALID_SERVER_RESPONSE_WINHTTP, 0x80072F78, "ERROR_WINHTTP_INVALID_SERVER_RESPONSE",
         XFER_CTX_REMOTE_FILE, true, 1, 8, 12},
        {XE_REDIRECT_FAILED, 0x80072F7C, "ERROR_WINHTTP_REDIRECT_FAILED", XFER_CTX_REMOTE_FILE,
         false, 7, 17, 16},
        {XE_RESUME_REDIRECT, 0x80072F00, "ERROR_WINHTTP_RESEND_REQUEST", XFER_CTX_REMOTE_FILE, true,
         1, 19, 23},
        {XE_CONTENT_LENGTH_MISMATCH, 0x80030201, "STG_E_INCOMPLETE", XFER_CTX_REMOTE_FILE, true, 1,
         9, 24},
        {XE_RANGE_START_MISMATCH, 0x8000000B, "E_BOUNDS", XFER_CTX_REMOTE_FILE, true, 1, 22, 18},
        {XE_CERT_DATE_INVALID, 0x80072F05, "ERROR_WINHTTP_SECURE_CERT_DATE_INVALID",
         XFER_CTX_REMOTE_FILE, false, 7, 2, 21},
        {XE_CERT_CN_INVALID, 0x80072F06, "ERROR_WINHTTP_SECURE_CERT_CN_INVALID",
         XFER_CTX_REMOTE_FILE, false, 7, 1, 21},
        {XE_CERT_INVALID_CA, 0x80072F0D, "ERROR_WINHTTP_SECURE_INVALID_CA", XFER_CTX_REMOTE_FILE,
         false, 7, 5, 21},
        {XE_CERT_REVOKED, 0x80072F8A, "ERROR_WINHTTP_SECURE_CERT_REVOKED", XFER_CTX_REMOTE_FILE,
         false, 7, 4, 21},
        {XE_SECURE_FAILURE, 0x80072F8F, "ERROR_WINHTTP_SECURE_FAILURE", XFER_CTX_REMOTE_FILE, false,
         7, 3, 21},
        {XE_INVALID_URL, 0x80072EE5, "ERROR_WINHTTP_INVALID_URL", XFER_CTX_REMOTE_FILE, false, 7, 0,
         16},
        {XE_UNRECOGNIZED_SCHEME, 0x80072EE6, "ERROR_WINHTTP_UNRECOGNIZED_SCHEME",
         XFER_CTX_REMOTE_FILE, false, 7, 0, 16},
        {XE_LOGIN_FAILURE, 0x80072EEF, "ERROR_INTERNET_LOGIN_FAILURE", XFER_CTX_REMOTE_FILE, false,
         7, 401, 20},
        {XE_FTP_FILE_NOT_FOUND, 0x80070002, "ERROR_FILE_NOT_FOUND", XFER_CTX_REMOTE_FILE, false, 7,
         404, 19},
        {XE_REMOTE_ACCESS_DENIED, 0x80070041, "ERROR_NETWORK_ACCESS_DENIED", XFER_CTX_REMOTE_FILE,
         false, 7, 403, 22},
        {XE_FTP_TRANSIENT, 0x80072EE3, "ERROR_INTERNET_EXTENDED_ERROR", XFER_CTX_REMOTE_FILE, true,
         1, 21, 17},
        {XE_FILE_TOO_SHORT, 0x80070026, "ERROR_HANDLE_EOF", XFER_CTX_LOCAL_FILE, true, 1, 0, 10},
        {XE_FILE_HASH_MISMATCH, 0x80070017, "ERROR_CRC", XFER_CTX_LOCAL_FILE, true, 1, 0, 11},
        {XE_DISK_FULL, 0x80070070, "ERROR_DISK_FULL", XFER_CTX_LOCAL_FILE, true, 1, 0, 3},
        {XE_ACCESS_DENIED, 0x80070005, "ERROR_ACCESS_DENIED", XFER_CTX_LOCAL_FILE, false, 7, 0, 2},
        {XE_WRITE_PROTECT, 0x80070013, "ERROR_WRITE_PROTECT", XFER_CTX_LOCAL_FILE, false, 7, 0, 2},
        {XE_FILENAME_TOO_LONG, 0x800700CE, "ERROR_FILENAME_EXCED_RANGE", XFER_CTX_LOCAL_FILE, false,
         7, 0, 4},
        {XE_FILE_TOO_LARGE, 0x800700DF, "ERROR_FILE_TOO_LARGE", XFER_CTX_LOCAL_FILE, false, 7, 0,
         5},
        {XE_TOO_MANY_OPEN_FILES, 0x80070004, "ERROR_TOO_MANY_OPEN_FILES", XFER_CTX_LOCAL_FILE, true,
         1, 0, 7},
        {XE_PATH_NOT_FOUND, 0x80070003, "ERROR_PATH_NOT_FOUND", XFER_CTX_LOCAL_FILE, false, 7, 0,
         1},
        {XE_FILE_IO, 0x8007001D, "ERROR_WRITE_FAULT", XFER_CTX_LOCAL_FILE, false, 7, 0, 1},
        {XE_NETWORK_UNREACHABLE, 0x800704CF, "ERROR_NETWORK_UNREACHABLE",
         XFER_CTX_GENERAL_TRANSPORT, true, 1, 11, 14},
        {XE_TRANSPORT_INTERNAL, 0x80072EE4, "ERROR_WINHTTP_INTERNAL_ERROR",
         XFER_CTX_GENERAL_TRANSPORT, true, 1, 0, 12},
    };
    for (size_t i = 0; i < COUNT(known); i++) {
        const struct xfer_error_row *r = xe_row(known[i].id);
        assert_non_null(r);
        assert_string_equal(r->name, known[i].name);
        if ((uint32_t)r->hr != known[i].hr || r->context != known[i].ctx ||
            r->transient != known[i].transient || r->winrt_status != known[i].winrt ||
            r->web_error_status != known[i].web || r->interrupt_reason != known[i].interrupt)
            fail_msg("%s: got hr 0x%08x ctx %d transient %d winrt %d web %d interrupt %d", r->name,
                     (unsigned)r->hr, r->context, r->transient, r->winrt_status,
                     r->web_error_status, r->interrupt_reason);
    }
}

/* ------------------------------------------------------------------ HTTP */

/* semantics.md §1.9: the statuses bitsmsg.h defines a BG_E_HTTP_ERROR_xxx for. */
static bool bits_defines(long s)
{
    return s == 100 || s == 101 || (s >= 200 && s <= 206) || (s >= 300 && s <= 305) || s == 307 ||
           (s >= 400 && s <= 417) || s == 449 || (s >= 500 && s <= 505);
}

/* semantics.md §2.6: the HTTP-valued members of WebErrorStatus. */
static bool web_has_member(long s)
{
    return (s >= 300 && s <= 305) || s == 307 || (s >= 400 && s <= 417) || (s >= 500 && s <= 505);
}

static int expected_web(long s)
{
    if (web_has_member(s))
        return (int)s;
    return s < 400 ? 18 : s < 500 ? 20 : 21; /* UnexpectedStatus/ClientError/ServerError */
}

/* semantics.md §3.3, Chromium's status switch in WebView2 numbers. */
static int expected_interrupt(long s)
{
    switch (s) {
    case 204:
    case 205:
    case 404:
        return 19; /* ServerBadContent */
    case 416:
        return 18; /* ServerNoRange */
    case 401:
    case 407:
        return 20; /* ServerUnauthorized */
    case 403:
        return 22; /* ServerForbidden */
    default:
        return 17; /* ServerFailed */
    }
}

static void test_http_every_status(void **state)
{
    (void)state;
    static const enum xe_id class_rows[] = {XE_HTTP_1XX_OTHER, XE_HTTP_2XX_OTHER, XE_HTTP_3XX_OTHER,
                                            XE_HTTP_4XX_OTHER, XE_HTTP_5XX_OTHER};
    for (long s = 100; s <= 599; s++) {
        enum xe_id id = xe_classify_http(s);
        assert_true(id < XE_COUNT);
        const struct xfer_error_row *r = xe_row(id);
        xfer_hr hr = xe_http_hr(s);
        assert_int_equal((uint32_t)hr, 0x80190000u | (uint32_t)s);
        assert_int_equal(xe_find(hr), id);
        assert_int_equal(r->context, XFER_CTX_REMOTE_FILE);
        if (r->web_error_status != expected_web(s) || r->interrupt_reason != expected_interrupt(s))
            fail_msg("HTTP %ld (%s): web %d interrupt %d", s, r->name, r->web_error_status,
                     r->interrupt_reason);
        if (bits_defines(s)) {
            assert_int_equal(r->hr, hr); /* its own row */
        } else {
            assert_int_equal(id, class_rows[s / 100 - 1]); /* 102, 207, ... are its own hr */
        }
        /* The row agrees with the rule, but for 429, which only the rule knows. */
        if (s != 429 && r->transient != xe_http_transient(s))
            fail_msg("HTTP %ld (%s): row transient %d, rule %d", s, r->name, r->transient,
                     xe_http_transient(s));
    }
}

static void test_http_cases(void **state)
{
    (void)state;
    static const struct {
        long status;
        enum xe_id id;
        bool transient;
        int web, interrupt;
    } cases[] = {
        {408, XE_HTTP_408, true, 408, 17},       {429, XE_HTTP_4XX_OTHER, true, 20, 17},
        {500, XE_HTTP_500, true, 500, 17},       {501, XE_HTTP_501, false, 501, 17},
        {503, XE_HTTP_503, true, 503, 17},       {505, XE_HTTP_505, false, 505, 17},
        {404, XE_HTTP_404, false, 404, 19},      {403, XE_HTTP_403, false, 403, 22},
        {416, XE_HTTP_416, false, 416, 18},      {204, XE_HTTP_204, false, 18, 19},
        {205, XE_HTTP_205, false, 18, 19},       {401, XE_HTTP_401, false, 401, 20},
        {407, XE_HTTP_407, false, 407, 20},      {418, XE_HTTP_4XX_OTHER, false, 20, 17},
        {599, XE_HTTP_5XX_OTHER, true, 21, 17},  {449, XE_HTTP_449, false, 20, 17},
        {308, XE_HTTP_3XX_OTHER, false, 18, 17}, {102, XE_HTTP_1XX_OTHER, false, 18, 17},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        long s = cases[i].status;
        enum xe_id id = xe_classify_http(s);
        const struct xfer_error_row *r = xe_row(id);
        if (id != cases[i].id || xe_http_transient(s) != cases[i].transient ||
            r->web_error_status != cases[i].web || r->interrupt_reason != cases[i].interrupt)
            fail_msg("HTTP %ld: %s transient %d web %d interrupt %d", s, r->name,
                     xe_http_transient(s), r->web_error_status, r->interrupt_reason);
    }
}

/* Not an HTTP status: an invalid response, as row and as HRESULT. */
static void test_http_out_of_range(void **state)
{
    (void)state;
    const long bad[] = {-1, 0, 99, 600, 999, 0x10000 + 404};
    for (size_t i = 0; i < COUNT(bad); i++) {
        assert_int_equal(xe_classify_http(bad[i]), XE_INVALID_SERVER_RESPONSE);
        assert_int_equal(xe_http_hr(bad[i]), xe_hr(XE_INVALID_SERVER_RESPONSE));
        assert_false(xe_http_transient(bad[i]));
    }
}

static void test_find_http_class(void **state)
{
    (void)state;
    assert_ptr_equal(xfer_error_find((xfer_hr)0x801901A6), xe_row(XE_HTTP_4XX_OTHER)); /* 422 */
    assert_ptr_equal(xfer_error_find((xfer_hr)0x801901AD), xe_row(XE_HTTP_4XX_OTHER)); /* 429 */
    assert_ptr_equal(xfer_error_find((xfer_hr)0x80190134), xe_row(XE_HTTP_3XX_OTHER)); /* 308 */
    assert_ptr_equal(xfer_error_find((xfer_hr)0x80190257), xe_row(XE_HTTP_5XX_OTHER)); /* 599 */
    assert_ptr_equal(xfer_error_find((xfer_hr)0x80190067), xe_row(XE_HTTP_1XX_OTHER)); /* 103 */
    assert_ptr_equal(xfer_error_find((xfer_hr)0x801900D0), xe_row(XE_HTTP_2XX_OTHER)); /* 208 */
    assert_null(xfer_error_find((xfer_hr)0x80190258));                                 /* 600 */
    assert_null(xfer_error_find((xfer_hr)0x80190063));                                 /* 99 */
    assert_null(xfer_error_find((xfer_hr)0x80190000));
    assert_null(xfer_error_find((xfer_hr)0x00190194)); /* a success code, not an HTTP error */
    assert_null(xfer_error_find((xfer_hr)0x8007FFFF));
    assert_null(xfer_error_find((xfer_hr)0x12345678));
    assert_int_equal(xe_find((xfer_hr)0x8007FFFF), XE_COUNT);
}

/* ------------------------------------------------------------------ libcurl */

static void test_curl_every_code(void **state)
{
    (void)state;
    for (int c = 1; c < CURL_LAST; c++) {
        struct xe_curl_failure f = {.code = c, .errbuf = ""};
        enum xe_id id = xe_classify_curl(&f);
        assert_true(id < XE_COUNT);
        if (xe_row(id)->hr >= 0)
            fail_msg("CURLcode %d (%s) classifies to the success row %s", c,
                     curl_easy_strerror((CURLcode)c), xe_row(id)->name);
        f.errbuf = NULL;
        assert_int_equal(xe_classify_curl(&f), id);
    }
    const int outside[] = {0, -1, CURL_LAST, CURL_LAST + 50};
    for (size_t i = 0; i < COUNT(outside); i++) {
        struct xe_curl_failure f = {.code = outside[i], .errbuf = ""};
        assert_int_equal(xe_classify_curl(&f), XE_TRANSPORT_INTERNAL);
    }
    assert_int_equal(xe_classify_curl(NULL), XE_TRANSPORT_INTERNAL);
}

static void test_curl_cases(void **state)
{
    (void)state;
    static const struct {
        struct xe_curl_failure f;
        enum xe_id id;
    } cases[] = {
        {{.code = CURLE_OPERATION_TIMEDOUT}, XE_TIMEOUT},
        {{.code = CURLE_COULDNT_RESOLVE_HOST}, XE_NAME_NOT_RESOLVED},
        {{.code = CURLE_COULDNT_RESOLVE_PROXY}, XE_NAME_NOT_RESOLVED},
        {{.code = CURLE_COULDNT_CONNECT, .os_errno = ECONNREFUSED}, XE_CANNOT_CONNECT},
        {{.code = CURLE_COULDNT_CONNECT, .os_errno = ENETUNREACH}, XE_CANNOT_CONNECT},
        {{.code = CURLE_RECV_ERROR, .os_errno = ECONNRESET}, XE_CONNECTION_RESET},
        {{.code = CURLE_RECV_ERROR}, XE_CONNECTION_RESET},
        {{.code = CURLE_SEND_ERROR, .os_errno = EPIPE}, XE_CONNECTION_RESET},
        {{.code = CURLE_RECV_ERROR, .os_errno = ETIMEDOUT}, XE_TIMEOUT},
        {{.code = CURLE_RECV_ERROR, .os_errno = EHOSTUNREACH}, XE_NETWORK_UNREACHABLE},
        {{.code = CURLE_PARTIAL_FILE}, XE_CONTENT_LENGTH_MISMATCH},
        {{.code = CURLE_GOT_NOTHING}, XE_INVALID_SERVER_RESPONSE_WINHTTP},
        {{.code = CURLE_WEIRD_SERVER_REPLY}, XE_INVALID_SERVER_RESPONSE_WINHTTP},
        {{.code = CURLE_UNSUPPORTED_PROTOCOL,
          .errbuf = "Protocol \"gopher\" not supported or disabled in libcurl"},
         XE_UNRECOGNIZED_SCHEME},
        {{.code = CURLE_UNSUPPORTED_PROTOCOL, .errbuf = "Received HTTP/0.9 when not allowed"},
         XE_INVALID_SERVER_RESPONSE_WINHTTP},
        {{.code = CURLE_UNSUPPORTED_PROTOCOL, .errbuf = "Unsupported HTTP version in response"},
         XE_INVALID_SERVER_RESPONSE_WINHTTP},
        {{.code = CURLE_URL_MALFORMAT}, XE_INVALID_URL},
        {{.code = CURLE_TOO_MANY_REDIRECTS, .http_status = 302}, XE_HTTP_302},
        {{.code = CURLE_TOO_MANY_REDIRECTS, .http_status = 308}, XE_HTTP_3XX_OTHER},
        {{.code = CURLE_TOO_MANY_REDIRECTS}, XE_REDIRECT_FAILED},
        {{.code = CURLE_PEER_FAILED_VERIFICATION, .ssl_verify = X509_V_ERR_CERT_HAS_EXPIRED},
         XE_CERT_DATE_INVALID},
        {{.code = CURLE_PEER_FAILED_VERIFICATION, .ssl_verify = X509_V_ERR_CERT_NOT_YET_VALID},
         XE_CERT_DATE_INVALID},
        {{.code = CURLE_PEER_FAILED_VERIFICATION,
          .ssl_verify = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
         XE_CERT_INVALID_CA},
        {{.code = CURLE_PEER_FAILED_VERIFICATION,
          .ssl_verify = X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN},
         XE_CERT_INVALID_CA},
        {{.code = CURLE_PEER_FAILED_VERIFICATION,
          .ssl_verify = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT},
         XE_CERT_INVALID_CA},
        {{.code = CURLE_PEER_FAILED_VERIFICATION,
          .ssl_verify = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
         XE_CERT_INVALID_CA},
        {{.code = CURLE_PEER_FAILED_VERIFICATION,
          .ssl_verify = X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE},
         XE_CERT_INVALID_CA},
        {{.code = CURLE_PEER_FAILED_VERIFICATION, .ssl_verify = X509_V_ERR_CERT_REVOKED},
         XE_CERT_REVOKED},
        {{.code = CURLE_PEER_FAILED_VERIFICATION,
          .errbuf = "SSL: no alternative certificate subject name matches target host name "
                    "'files.test'"},
         XE_CERT_CN_INVALID},
        /* libcurl 7.88 leaves verify result 1 after its own host-name check */
        {{.code = CURLE_PEER_FAILED_VERIFICATION,
          .ssl_verify = 1,
          .errbuf = "SSL: no alternative certificate subject name matches target host name "
                    "'localhost'"},
         XE_CERT_CN_INVALID},
        /* libcurl reports an FTP 421 as a timeout; the reply tells them apart */
        {{.code = CURLE_OPERATION_TIMEDOUT, .http_status = 421}, XE_FTP_TRANSIENT},
        {{.code = CURLE_OPERATION_TIMEDOUT, .http_status = 200}, XE_TIMEOUT},
        {{.code = CURLE_PEER_FAILED_VERIFICATION,
          .errbuf = "SSL: certificate subject name 'a.test' does not match target host name "
                    "'files.test'"},
         XE_CERT_CN_INVALID},
        {{.code = CURLE_PEER_FAILED_VERIFICATION, .errbuf = "SSL certificate problem"},
         XE_SECURE_FAILURE},
        {{.code = CURLE_PEER_FAILED_VERIFICATION, .ssl_verify = X509_V_ERR_CERT_SIGNATURE_FAILURE},
         XE_SECURE_FAILURE},
        {{.code = CURLE_SSL_CONNECT_ERROR, .errbuf = "error:0A00010B:SSL routines::wrong version"},
         XE_SECURE_FAILURE},
        {{.code = CURLE_SSL_CONNECT_ERROR,
          .errbuf = "OpenSSL SSL_connect: Connection reset by peer in connection to a:443 "},
         XE_CONNECTION_RESET},
        {{.code = CURLE_SSL_CONNECT_ERROR,
          .errbuf = "OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to a:443 "},
         XE_CONNECTION_RESET},
        {{.code = CURLE_SSL_CACERT_BADFILE}, XE_SECURE_FAILURE},
        {{.code = CURLE_SSL_CERTPROBLEM}, XE_SECURE_FAILURE},
        {{.code = CURLE_SSL_CIPHER}, XE_SECURE_FAILURE},
        {{.code = CURLE_SSL_ENGINE_INITFAILED}, XE_SECURE_FAILURE},
        {{.code = CURLE_SSL_SHUTDOWN_FAILED}, XE_SECURE_FAILURE},
        {{.code = CURLE_SSL_ISSUER_ERROR}, XE_SECURE_FAILURE},
        {{.code = CURLE_SSL_PINNEDPUBKEYNOTMATCH}, XE_SECURE_FAILURE},
        {{.code = CURLE_SSL_INVALIDCERTSTATUS}, XE_SECURE_FAILURE},
        {{.code = CURLE_SSL_CLIENTCERT}, XE_SECURE_FAILURE},
        {{.code = CURLE_LOGIN_DENIED}, XE_LOGIN_FAILURE},
        {{.code = CURLE_REMOTE_FILE_NOT_FOUND}, XE_FTP_FILE_NOT_FOUND},
        {{.code = CURLE_REMOTE_ACCESS_DENIED}, XE_REMOTE_ACCESS_DENIED},
        {{.code = CURLE_FTP_COULDNT_RETR_FILE}, XE_FTP_TRANSIENT},
        {{.code = CURLE_FTP_WEIRD_PASV_REPLY}, XE_FTP_TRANSIENT},
        {{.code = CURLE_FTP_WEIRD_227_FORMAT}, XE_FTP_TRANSIENT},
        {{.code = CURLE_FTP_CANT_GET_HOST}, XE_FTP_TRANSIENT},
        {{.code = CURLE_FTP_COULDNT_SET_TYPE}, XE_FTP_TRANSIENT},
        {{.code = CURLE_FTP_PORT_FAILED}, XE_FTP_TRANSIENT},
        {{.code = CURLE_QUOTE_ERROR}, XE_FTP_TRANSIENT},
        {{.code = CURLE_UPLOAD_FAILED}, XE_FTP_TRANSIENT},
        {{.code = CURLE_BAD_DOWNLOAD_RESUME}, XE_FTP_TRANSIENT},
        {{.code = CURLE_FTP_COULDNT_USE_REST}, XE_INSUFFICIENT_RANGE_SUPPORT},
        {{.code = CURLE_RANGE_ERROR}, XE_INSUFFICIENT_RANGE_SUPPORT},
        {{.code = CURLE_WRITE_ERROR, .os_errno = ENOSPC}, XE_DISK_FULL},
        {{.code = CURLE_WRITE_ERROR, .os_errno = EROFS}, XE_WRITE_PROTECT},
        {{.code = CURLE_WRITE_ERROR}, XE_FILE_IO},
        {{.code = CURLE_OUT_OF_MEMORY}, XE_E_OUTOFMEMORY},
        {{.code = CURLE_ABORTED_BY_CALLBACK}, XE_E_FAIL},
        {{.code = CURLE_HTTP_RETURNED_ERROR, .http_status = 404}, XE_HTTP_404},
        {{.code = CURLE_HTTP_RETURNED_ERROR, .http_status = 429}, XE_HTTP_4XX_OTHER},
        {{.code = CURLE_PROXY, .proxy_error = CURLPX_REPLY_CONNECTION_REFUSED}, XE_CANNOT_CONNECT},
        {{.code = CURLE_PROXY, .proxy_error = CURLPX_REPLY_GENERAL_SERVER_FAILURE},
         XE_CANNOT_CONNECT},
        {{.code = CURLE_PROXY, .proxy_error = CURLPX_REPLY_NETWORK_UNREACHABLE},
         XE_NETWORK_UNREACHABLE},
        {{.code = CURLE_PROXY, .proxy_error = CURLPX_REPLY_HOST_UNREACHABLE},
         XE_NETWORK_UNREACHABLE},
        {{.code = CURLE_PROXY, .proxy_error = CURLPX_REPLY_TTL_EXPIRED}, XE_TIMEOUT},
        {{.code = CURLE_PROXY, .proxy_error = CURLPX_RESOLVE_HOST}, XE_NAME_NOT_RESOLVED},
        {{.code = CURLE_PROXY, .proxy_error = CURLPX_CLOSED}, XE_CONNECTION_RESET},
        {{.code = CURLE_PROXY, .proxy_error = CURLPX_BAD_VERSION}, XE_TRANSPORT_INTERNAL},
        {{.code = CURLE_PROXY}, XE_TRANSPORT_INTERNAL},
        {{.code = CURLE_HTTP2}, XE_TRANSPORT_INTERNAL},
        {{.code = CURLE_HTTP2_STREAM}, XE_TRANSPORT_INTERNAL},
        {{.code = CURLE_FAILED_INIT}, XE_E_FAIL},
        {{.code = CURLE_BAD_FUNCTION_ARGUMENT}, XE_E_FAIL},
        {{.code = CURLE_OBSOLETE20}, XE_TRANSPORT_INTERNAL},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        enum xe_id id = xe_classify_curl(&cases[i].f);
        if (id != cases[i].id)
            fail_msg("case %zu, CURLcode %d: %s, expected %s", i, cases[i].f.code,
                     xe_row(id) ? xe_row(id)->name : "(none)", xe_row(cases[i].id)->name);
    }
}

/* ------------------------------------------------------------------ errno */

static void test_errno(void **state)
{
    (void)state;
    static const struct {
        int err;
        enum xe_id id;
    } cases[] = {
        {ENOSPC, XE_DISK_FULL},
        {EDQUOT, XE_DISK_FULL},
        {EACCES, XE_ACCESS_DENIED},
        {EPERM, XE_ACCESS_DENIED},
        {EROFS, XE_WRITE_PROTECT},
        {ENAMETOOLONG, XE_FILENAME_TOO_LONG},
        {EFBIG, XE_FILE_TOO_LARGE},
        {EMFILE, XE_TOO_MANY_OPEN_FILES},
        {ENFILE, XE_TOO_MANY_OPEN_FILES},
        {ENOENT, XE_PATH_NOT_FOUND},
        {ENOTDIR, XE_PATH_NOT_FOUND},
        {ENOMEM, XE_E_OUTOFMEMORY},
        {EIO, XE_FILE_IO},
        {EBADF, XE_FILE_IO},
        {0, XE_FILE_IO},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        enum xe_id id = xe_classify_errno(cases[i].err);
        if (id != cases[i].id)
            fail_msg("errno %d: %s", cases[i].err, xe_row(id)->name);
        if (id != XE_E_OUTOFMEMORY)
            assert_int_equal(xe_row(id)->context, XFER_CTX_LOCAL_FILE);
    }
}

/* ------------------------------------------------------------------ names */

static void test_interrupt_names(void **state)
{
    (void)state;
    /* semantics.md §3.5, WebView2's spelling and numbering. */
    static const char *const names[30] = {
        "None",
        "FileFailed",
        "FileAccessDenied",
        "FileNoSpace",
        "FileNameTooLong",
        "FileTooLarge",
        "FileMalicious",
        "FileTransientError",
        "FileBlockedByPolicy",
        "FileSecurityCheckFailed",
        "FileTooShort",
        "FileHashMismatch",
        "NetworkFailed",
        "NetworkTimeout",
        "NetworkDisconnected",
        "NetworkServerDown",
        "NetworkInvalidRequest",
        "ServerFailed",
        "ServerNoRange",
        "ServerBadContent",
        "ServerUnauthorized",
        "ServerCertificateProblem",
        "ServerForbidden",
        "ServerUnexpectedResponse",
        "ServerContentLengthMismatch",
        "ServerCrossOriginRedirect",
        "UserCanceled",
        "UserShutdown",
        "UserPaused",
        "DownloadProcessCrashed",
    };
    for (int i = 0; i < 30; i++) {
        assert_non_null(xfer_interrupt_name(i));
        assert_string_equal(xfer_interrupt_name(i), names[i]);
    }
    assert_null(xfer_interrupt_name(30));
    assert_null(xfer_interrupt_name(-1));
}

static void test_web_names(void **state)
{
    (void)state;
    /* semantics.md §2.6; the HTTP-valued members take .NET's HttpStatusCode names. */
    static const struct {
        int v;
        const char *name;
    } names[] = {
        {0, "Unknown"},
        {1, "CertificateCommonNameIsIncorrect"},
        {2, "CertificateExpired"},
        {3, "CertificateContainsErrors"},
        {4, "CertificateRevoked"},
        {5, "CertificateIsInvalid"},
        {6, "ServerUnreachable"},
        {7, "Timeout"},
        {8, "ErrorHttpInvalidServerResponse"},
        {9, "ConnectionAborted"},
        {10, "ConnectionReset"},
        {11, "Disconnected"},
        {12, "HttpToHttpsOnRedirection"},
        {13, "HttpsToHttpOnRedirection"},
        {14, "CannotConnect"},
        {15, "HostNameNotResolved"},
        {16, "OperationCanceled"},
        {17, "RedirectFailed"},
        {18, "UnexpectedStatusCode"},
        {19, "UnexpectedRedirection"},
        {20, "UnexpectedClientError"},
        {21, "UnexpectedServerError"},
        {22, "InsufficientRangeSupport"},
        {23, "MissingContentLengthSupport"},
        {300, "MultipleChoices"},
        {301, "MovedPermanently"},
        {302, "Found"},
        {303, "SeeOther"},
        {304, "NotModified"},
        {305, "UseProxy"},
        {307, "TemporaryRedirect"},
        {400, "BadRequest"},
        {401, "Unauthorized"},
        {402, "PaymentRequired"},
        {403, "Forbidden"},
        {404, "NotFound"},
        {405, "MethodNotAllowed"},
        {406, "NotAcceptable"},
        {407, "ProxyAuthenticationRequired"},
        {408, "RequestTimeout"},
        {409, "Conflict"},
        {410, "Gone"},
        {411, "LengthRequired"},
        {412, "PreconditionFailed"},
        {413, "RequestEntityTooLarge"},
        {414, "RequestUriTooLong"},
        {415, "UnsupportedMediaType"},
        {416, "RequestedRangeNotSatisfiable"},
        {417, "ExpectationFailed"},
        {500, "InternalServerError"},
        {501, "NotImplemented"},
        {502, "BadGateway"},
        {503, "ServiceUnavailable"},
        {504, "GatewayTimeout"},
        {505, "HttpVersionNotSupported"},
    };
    size_t found = 0;
    for (int v = -1; v <= 1000; v++) {
        const char *got = xfer_web_error_name(v);
        const char *want = NULL;
        for (size_t i = 0; i < COUNT(names); i++)
            if (names[i].v == v)
                want = names[i].name;
        if (!want) {
            if (got)
                fail_msg("WebErrorStatus %d has no member, but is named %s", v, got);
            continue;
        }
        assert_non_null(got);
        assert_string_equal(got, want);
        found++;
    }
    assert_int_equal(found, COUNT(names));
}

static void test_other_names(void **state)
{
    (void)state;
    assert_string_equal(xfer_winrt_status_name(0), "Idle");
    assert_string_equal(xfer_winrt_status_name(4), "PausedNoNetwork");
    assert_string_equal(xfer_winrt_status_name(8), "PausedRecoverableWebErrorStatus");
    assert_string_equal(xfer_winrt_status_name(32), "PausedSystemPolicy");
    assert_null(xfer_winrt_status_name(9));
    assert_null(xfer_winrt_status_name(31));
    assert_null(xfer_winrt_status_name(33));
    assert_null(xfer_winrt_status_name(-1));

    static const char *const contexts[] = {"NONE",
                                           "UNKNOWN",
                                           "GENERAL_QUEUE_MANAGER",
                                           "QUEUE_MANAGER_NOTIFICATION",
                                           "LOCAL_FILE",
                                           "REMOTE_FILE",
                                           "GENERAL_TRANSPORT",
                                           "REMOTE_APPLICATION",
                                           "SERVER_CERTIFICATE_CALLBACK"};
    for (int i = 0; i < (int)COUNT(contexts); i++)
        assert_string_equal(xfer_context_name((enum xfer_context)i), contexts[i]);
    assert_string_equal(xfer_context_name((enum xfer_context)9), "?");

    assert_string_equal(xfer_priority_name(XFER_FOREGROUND), "FOREGROUND");
    assert_string_equal(xfer_priority_name(XFER_HIGH), "HIGH");
    assert_string_equal(xfer_priority_name(XFER_NORMAL), "NORMAL");
    assert_string_equal(xfer_priority_name(XFER_LOW), "LOW");
    assert_string_equal(xfer_priority_name((enum xfer_priority)4), "?");
    assert_string_equal(xfer_job_type_name(XFER_DOWNLOAD), "DOWNLOAD");
    assert_string_equal(xfer_job_type_name(XFER_UPLOAD), "UPLOAD");
    assert_string_equal(xfer_job_type_name(XFER_UPLOAD_REPLY), "UPLOAD_REPLY");
    assert_string_equal(xfer_job_type_name((enum xfer_job_type)3), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_unique),
        cmocka_unit_test(test_rows_follow_rules),
        cmocka_unit_test(test_rows_found_by_code_and_name),
        cmocka_unit_test(test_known_codes),
        cmocka_unit_test(test_http_every_status),
        cmocka_unit_test(test_http_cases),
        cmocka_unit_test(test_http_out_of_range),
        cmocka_unit_test(test_find_http_class),
        cmocka_unit_test(test_curl_every_code),
        cmocka_unit_test(test_curl_cases),
        cmocka_unit_test(test_errno),
        cmocka_unit_test(test_interrupt_names),
        cmocka_unit_test(test_web_names),
        cmocka_unit_test(test_other_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
