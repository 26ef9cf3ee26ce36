/*
 * fetch: one job's transfer of its current file (engine.h).
 *
 * A fetch is one libcurl request at a time for the job's first unfinished
 * file. fetch_start decides what to ask for:
 *
 *   whole file, nothing written      GET, no Range
 *   whole file, resuming at N        GET, Range: bytes=N-, If-Range: ETag|Last-Modified
 *                                    (FTP: REST N)
 *   file with ranges (AddFileWithRanges)  GET, Range: bytes=a-b of the range in
 *                                    progress; the ranges land back to back
 *
 * Before a resume the partial file is checked against its checkpoint
 * (partial.c); a short or different file restarts from byte 0.
 *
 * When the final response headers arrive (HTTP) or the first byte (FTP),
 * check_response() applies semantics.md §1.8 and §3.3: the status, HTTP/1.1,
 * the size, 206 and its Content-Range, validators. Its verdict is one of:
 * go on (the job becomes TRANSFERRING), restart the file from 0 inside this
 * response (a full 200 to a resume), restart with a new request (206 that
 * starts elsewhere, 416 to a resume), or fail with an error-table row. A
 * callback cannot call back into curl, so a failure is recorded in the fetch
 * and the transfer aborted; fetch_done() then reports the recorded failure
 * rather than curl's CURLE_WRITE_ERROR.
 *
 * Bytes go to the temporary file with pwrite at the file's `done` offset and
 * through the partial hash. Checkpoints (every checkpoint_ms of engine time
 * and every checkpoint_bytes) record done, the digest and the validators.
 *
 * Transient failures are retried at once up to ENG_AUTO_RETRIES times while
 * the job makes progress; then eng_fail() moves the job to TRANSIENT_ERROR.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "partial.h"

enum verdict { V_GO, V_FAIL, V_RESTART_REQUEST };

struct fetch {
    struct xfer_engine *e;
    struct job *job;
    size_t file; /* index of the file in the job */
    CURL *easy;
    struct curl_slist *hdrs;
    int fd;
    struct partial_hash hash;
    bool ftp;
    bool in_multi;
    /* the request */
    uint64_t req_start; /* first remote byte asked for */
    uint64_t req_end;   /* last remote byte asked for, UINT64_MAX: to the end */
    bool ranged;        /* a Range (or REST) was sent */
    bool if_range;      /* an If-Range was sent */
    size_t range_idx;   /* ranges: the range in progress */
    uint64_t req_done0; /* f->done when the request started */
    /* the response */
    bool headers_done;
    long status;
    int64_t last_byte;     /* engine time of the last byte received (or of the request) */
    bool requested;        /* connected (through any proxy) and the request sent */
    int64_t last_ck;       /* engine time of the last checkpoint */
    uint64_t ck_done;      /* f->done at the last checkpoint */
    int64_t last_progress; /* engine time of the last progress event */
    bool report_restart;   /* the next progress event says HasRestarted */
    bool made_progress;    /* this request wrote bytes */
    /* a failure decided inside a callback */
    bool failed;
    enum verdict verdict;
    xfer_hr fail_hr;
    bool fail_transient;
    int64_t retry_after_ms;
    char fail_desc[256];
    char errbuf[CURL_ERROR_SIZE];
};

static struct jfile *cur(struct fetch *f)
{
    return &f->job->files[f->file];
}

static void record_failure(struct fetch *f, enum verdict v, enum xe_id id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void record_failure(struct fetch *f, enum verdict v, enum xe_id id, const char *fmt, ...)
{
    if (f->failed)
        return;
    f->failed = true;
    f->verdict = v;
    f->fail_hr = xe_hr(id);
    f->fail_transient = xe_row(id)->transient;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->fail_desc, sizeof f->fail_desc, fmt, ap);
    va_end(ap);
}

/* Progress of the file: emit a (throttled) event and note activity. */
static void progress_event(struct fetch *f, bool force)
{
    struct xfer_engine *e = f->e;
    int64_t now = eng_now(e);
    if (!force && !f->report_restart && now - f->last_progress < ENG_PROGRESS_EVENT_MS)
        return;
    f->last_progress = now;
    struct jfile *jf = cur(f);
    struct xfer_event ev = {.type = XFER_EV_PROGRESS,
                            .job = f->job->guid,
                            .owner = f->job->owner,
                            .time_ms = now,
                            .file = (int)f->file,
                            .bytes = jf->done,
                            .total = jf->total,
                            .has_restarted = f->report_restart};
    f->report_restart = false;
    eng_emit(e, &ev);
}

/* Forget the file's progress (its size stays): it starts over, HasRestarted. */
static void mark_restarted(struct fetch *f)
{
    struct jfile *jf = cur(f);
    job_file_reset(jf);
    jf->has_restarted = true;
    f->report_restart = true;
}

/* Tell the listener the file starts over from byte 0, and why. */
static void emit_restart(struct fetch *f, xfer_hr why)
{
    struct xfer_event ev = {.type = XFER_EV_RESTART,
                            .job = f->job->guid,
                            .owner = f->job->owner,
                            .time_ms = eng_now(f->e),
                            .file = (int)f->file,
                            .cause_hr = why,
                            .total = cur(f)->total};
    eng_emit(f->e, &ev);
}

/* Without a validator a resume cannot be trusted, and dynamic content always
 * restarts (semantics.md §1.7, §3.1). Ranges carry their own offsets. */
static bool resume_untrusted(const struct job *j, const struct jfile *jf)
{
    return jf->done > 0 && jf->nranges == 0 &&
           (j->dynamic_content || (!jf->etag && !jf->last_modified));
}

/* The file goes back to byte 0 (HasRestarted); the hash starts over. */
static int restart_file(struct fetch *f, bool changed)
{
    struct jfile *jf = cur(f);
    mark_restarted(f);
    if (changed)
        jf->response_changed = true;
    f->range_idx = 0;
    f->ck_done = 0;
    partial_free(&f->hash);
    if (partial_init(&f->hash, f->e->cfg.full_verify) != 0)
        return -1;
    if (f->fd >= 0 && ftruncate(f->fd, 0) != 0)
        return -1;
    return 0;
}

/* Write the checkpoint of the bytes written so far into the file (memory only). */
static int checkpoint_mem(struct fetch *f)
{
    struct jfile *jf = cur(f);
    if (f->fd < 0 || f->hash.pos != jf->done)
        return 0;
    int rc = partial_digest(&f->hash, f->fd, jf->ck_digest);
    if (rc != 0)
        return rc;
    jf->ck_bytes = jf->done;
    f->ck_done = jf->done;
    f->last_ck = eng_now(f->e);
    return 0;
}

static void checkpoint(struct fetch *f)
{
    if (f->e->cfg.no_checkpoints)
        return;
    if (checkpoint_mem(f) == 0)
        store_save_progress(f->e->store, f->job, cur(f));
}

/* -------------------------------------------------------------- ranges */

/* Length of range i of jf, or XFER_SIZE_UNKNOWN while the remote size is unknown. */
static uint64_t range_len(const struct jfile *jf, size_t i)
{
    const struct xfer_range *r = &jf->ranges[i];
    if (r->length != XFER_LENGTH_TO_EOF)
        return r->length;
    if (jf->remote_size == XFER_SIZE_UNKNOWN)
        return XFER_SIZE_UNKNOWN;
    return jf->remote_size > r->offset ? jf->remote_size - r->offset : 0;
}

/* Total bytes of a file with ranges, once every length is known. */
static uint64_t ranges_total(const struct jfile *jf)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < jf->nranges; i++) {
        uint64_t len = range_len(jf, i);
        if (len == XFER_SIZE_UNKNOWN)
            return XFER_SIZE_UNKNOWN;
        sum += len;
    }
    return sum;
}

/* Which range holds local byte `done`, and how far into it. */
static void range_locate(const struct jfile *jf, size_t *idx, uint64_t *skip)
{
    uint64_t base = 0;
    for (size_t i = 0; i < jf->nranges; i++) {
        uint64_t len = range_len(jf, i);
        if (len == XFER_SIZE_UNKNOWN || jf->done < base + len) {
            *idx = i;
            *skip = jf->done - base;
            return;
        }
        base += len;
    }
    *idx = jf->nranges;
    *skip = 0;
}

/* ------------------------------------------------------------ response */

static bool header(CURL *easy, const char *name, char *out, size_t len)
{
    struct curl_header *h;
    if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return false;
    snprintf(out, len, "%s", h->value);
    return true;
}

/* "bytes a-b/c" → a, b, c (c = XFER_SIZE_UNKNOWN for '*'). */
static bool parse_content_range(const char *s, uint64_t *a, uint64_t *b, uint64_t *c)
{
    char total[32];
    if (sscanf(s, "bytes %" SCNu64 "-%" SCNu64 "/%31s", a, b, total) != 3 || *b < *a)
        return false;
    if (strcmp(total, "*") == 0) {
        *c = XFER_SIZE_UNKNOWN;
        return true;
    }
    char *end;
    errno = 0;
    *c = strtoull(total, &end, 10);
    return errno == 0 && *end == '\0' && *b < *c;
}

/* ETag is strong unless it starts with W/ (semantics.md §3.4). */
static bool strong_etag(const char *etag)
{
    return etag[0] && strncmp(etag, "W/", 2) != 0;
}

static bool same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/*
 * Validators of the response: a changed strong ETag or Last-Modified means
 * a new version of the entity. Records the new ones on the file.
 */
static bool validators_changed(struct fetch *f)
{
    struct jfile *jf = cur(f);
    char etag[256] = "", lm[128] = "";
    header(f->easy, "ETag", etag, sizeof etag);
    header(f->easy, "Last-Modified", lm, sizeof lm);
    if (!strong_etag(etag))
        etag[0] = '\0';
    bool changed = (jf->etag && etag[0] && !same(jf->etag, etag)) ||
                   (jf->last_modified && lm[0] && !same(jf->last_modified, lm));
    job_set_str(&jf->etag, etag[0] ? etag : NULL);
    job_set_str(&jf->last_modified, lm[0] ? lm : NULL);
    return changed;
}

/* The response to a file-with-ranges request. */
static enum verdict check_ranges(struct fetch *f, curl_off_t clen)
{
    struct jfile *jf = cur(f);
    (void)clen;
    if (f->status == 416)
        return record_failure(f, V_FAIL, XE_INVALID_RANGE,
                              "range %zu (offset %" PRIu64 ") lies beyond the end of %s",
                              f->range_idx, jf->ranges[f->range_idx].offset, jf->url),
               V_FAIL;
    /* Record this response's validators (the next range's If-Range). A new
     * version of the entity between two ranges restarts the file (semantics.md
     * §1.8), whether the server says so with a 200 to the If-Range or with a
     * 206 of the new version; its size is learned again. */
    if (validators_changed(f)) {
        record_failure(f, V_RESTART_REQUEST, XE_REMOTE_FILE_CHANGED,
                       "%s changed between two of its ranges", jf->url);
        restart_file(f, true);
        jf->remote_size = XFER_SIZE_UNKNOWN;
        return V_RESTART_REQUEST;
    }
    if (f->status == 200) {
        record_failure(f, V_FAIL, XE_INSUFFICIENT_RANGE_SUPPORT,
                       "%s answered a range request with the whole entity (200)", jf->url);
        return V_FAIL;
    }
    char cr[128];
    uint64_t a, b, c;
    if (!header(f->easy, "Content-Range", cr, sizeof cr) || !parse_content_range(cr, &a, &b, &c)) {
        record_failure(f, V_FAIL, XE_INVALID_SERVER_RESPONSE,
                       "206 from %s without a valid Content-Range", jf->url);
        return V_FAIL;
    }
    if (a != f->req_start || (f->req_end != UINT64_MAX && b != f->req_end)) {
        record_failure(f, V_FAIL, XE_INVALID_SERVER_RESPONSE,
                       "asked %s for bytes %" PRIu64 "-, got Content-Range %s (merged ranges?)",
                       jf->url, f->req_start, cr);
        return V_FAIL;
    }
    if (c != XFER_SIZE_UNKNOWN) {
        if (jf->remote_size != XFER_SIZE_UNKNOWN && jf->remote_size != c) {
            jf->response_changed = true;
            record_failure(f, V_RESTART_REQUEST, XE_REMOTE_FILE_CHANGED,
                           "%s changed size from %" PRIu64 " to %" PRIu64, jf->url, jf->remote_size,
                           c);
            restart_file(f, true);
            jf->remote_size = c;
            return V_RESTART_REQUEST;
        }
        jf->remote_size = c;
        for (size_t i = 0; i < jf->nranges; i++) {
            const struct xfer_range *r = &jf->ranges[i];
            if (r->offset >= c || (r->length != XFER_LENGTH_TO_EOF && r->offset + r->length > c)) {
                record_failure(f, V_FAIL, XE_INVALID_RANGE,
                               "range %zu (%" PRIu64 ":%" PRIu64
                               ") lies beyond the end of %s (%" PRIu64 " bytes)",
                               i, r->offset, r->length, jf->url, c);
                return V_FAIL;
            }
        }
        jf->total = ranges_total(jf);
    }
    return V_GO;
}

/* The response to a whole-file request (first or resume). */
static enum verdict check_whole(struct fetch *f, curl_off_t clen)
{
    struct xfer_engine *e = f->e;
    struct jfile *jf = cur(f);
    bool dynamic = f->job->dynamic_content;
    bool changed = validators_changed(f);
    if (f->ranged) {
        if (f->status == 416) {
            record_failure(f, V_RESTART_REQUEST, XE_HTTP_416,
                           "%s refused the resume at byte %" PRIu64 " (416)", jf->url,
                           f->req_start);
            restart_file(f, true);
            return V_RESTART_REQUEST;
        }
        if (f->status == 206) {
            char cr[128];
            uint64_t a, b, c;
            if (!header(f->easy, "Content-Range", cr, sizeof cr) ||
                !parse_content_range(cr, &a, &b, &c)) {
                record_failure(f, V_FAIL, XE_INVALID_SERVER_RESPONSE,
                               "206 from %s without a valid Content-Range", jf->url);
                return V_FAIL;
            }
            if (a != f->req_start) {
                record_failure(f, V_RESTART_REQUEST, XE_RANGE_START_MISMATCH,
                               "asked %s for bytes %" PRIu64 "-, got Content-Range %s", jf->url,
                               f->req_start, cr);
                restart_file(f, false);
                return V_RESTART_REQUEST;
            }
            if (changed ||
                (c != XFER_SIZE_UNKNOWN && jf->total != XFER_SIZE_UNKNOWN && c != jf->total)) {
                record_failure(f, V_RESTART_REQUEST, XE_REMOTE_FILE_CHANGED,
                               "%s changed while it was being downloaded", jf->url);
                restart_file(f, true);
                return V_RESTART_REQUEST;
            }
            return V_GO;
        }
        if (f->status == 200) {
            /* The whole entity again: the server cannot serve ranges or the entity
             * changed (If-Range). Start over inside this response. */
            xl_log(XL_LOG_INFO, "fetch", "%s: 200 to a resume at %" PRIu64 ", restarting", jf->url,
                   f->req_start);
            if (restart_file(f, changed) != 0) {
                record_failure(f, V_FAIL, xe_classify_errno(errno), "cannot truncate %s: %s",
                               jf->temp, strerror(errno));
                return V_FAIL;
            }
            f->req_start = 0;
            f->ranged = false;
            validators_changed(f); /* the reset dropped them: keep this version's */
        }
    } else if (f->status == 206) {
        record_failure(f, V_FAIL, XE_INVALID_SERVER_RESPONSE,
                       "%s answered a request without Range with 206", jf->url);
        return V_FAIL;
    }
    /* A 200 for the whole entity. */
    if (clen < 0) {
        if (!dynamic) {
            record_failure(f, V_FAIL, XE_MISSING_FILE_SIZE,
                           "%s sent no Content-Length (set dynamic_content to allow it)", jf->url);
            return V_FAIL;
        }
        jf->total = XFER_SIZE_UNKNOWN;
    } else {
        uint64_t size = (uint64_t)clen;
        if (jf->remote_size != XFER_SIZE_UNKNOWN && jf->remote_size != size)
            jf->response_changed = true;
        jf->remote_size = size;
        jf->total = size;
    }
    (void)e;
    return V_GO;
}

/* The final status f->status is not a usable answer: fail with its row (decisions.md). */
static enum verdict fail_status(struct fetch *f)
{
    enum xe_id id = xe_classify_http(f->status);
    record_failure(f, V_FAIL, id, "%s: HTTP %ld", cur(f)->url, f->status);
    f->fail_hr = xe_http_hr(f->status);
    f->fail_transient = xe_http_transient(f->status);
    curl_off_t ra = 0;
    if (curl_easy_getinfo(f->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        f->retry_after_ms = (int64_t)ra * 1000;
    return V_FAIL;
}

/* Statuses whose body is the entity: semantics.md §3.3 (200, 203, 206; 201 and
 * 202 downloaded like 200). 204 and 205 have no entity; other 2xx are not valid. */
static bool entity_status(long status)
{
    return (status >= 200 && status <= 203) || status == 206;
}

static enum verdict check_response(struct fetch *f)
{
    struct jfile *jf = cur(f);
    long version = 0;
    curl_off_t clen = -1;
    curl_easy_getinfo(f->easy, CURLINFO_HTTP_VERSION, &version);
    curl_easy_getinfo(f->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
    if (f->status >= 300 && f->status < 400 && f->ranged) {
        record_failure(f, V_FAIL, XE_RESUME_REDIRECT, "%s redirected (%ld) a resume request",
                       jf->url, f->status);
        return V_FAIL;
    }
    if (f->status >= 300 && f->status < 400)
        return V_GO; /* curl follows it; the next headers decide (request_complete) */
    if (!entity_status(f->status) && !(f->status == 416 && f->ranged))
        return fail_status(f);
    if (version == CURL_HTTP_VERSION_1_0) {
        record_failure(f, V_FAIL, XE_INSUFFICIENT_HTTP_SUPPORT,
                       "%s answered with HTTP/1.0; HTTP/1.1 is required", jf->url);
        return V_FAIL;
    }
    if (jf->nranges > 0)
        return check_ranges(f, clen);
    return check_whole(f, clen);
}

/* FTP: what SIZE and MDTM said, checked before the first byte is kept. */
static enum verdict check_ftp(struct fetch *f)
{
    struct jfile *jf = cur(f);
    curl_off_t clen = -1;
    long filetime = -1;
    curl_easy_getinfo(f->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
    curl_easy_getinfo(f->easy, CURLINFO_FILETIME, &filetime);
    char mdtm[32] = "";
    if (filetime >= 0)
        snprintf(mdtm, sizeof mdtm, "%ld", filetime);
    /* With REST, curl reports the bytes remaining. */
    uint64_t size = clen >= 0 ? (uint64_t)clen + f->req_start : XFER_SIZE_UNKNOWN;
    if (jf->nranges > 0 && f->req_end != UINT64_MAX)
        size = XFER_SIZE_UNKNOWN; /* a range transfer: curl reports the range */
    bool changed = (jf->last_modified && mdtm[0] && !same(jf->last_modified, mdtm)) ||
                   (jf->remote_size != XFER_SIZE_UNKNOWN && size != XFER_SIZE_UNKNOWN &&
                    jf->remote_size != size);
    job_set_str(&jf->last_modified, mdtm[0] ? mdtm : NULL);
    if (changed && f->req_start > 0) {
        record_failure(f, V_RESTART_REQUEST, XE_REMOTE_FILE_CHANGED,
                       "%s changed while it was being downloaded", jf->url);
        restart_file(f, true);
        return V_RESTART_REQUEST;
    }
    if (size == XFER_SIZE_UNKNOWN && jf->nranges == 0 && !f->job->dynamic_content) {
        record_failure(f, V_FAIL, XE_MISSING_FILE_SIZE, "%s: the server did not report a size",
                       jf->url);
        return V_FAIL;
    }
    if (size != XFER_SIZE_UNKNOWN) {
        jf->remote_size = size;
        if (jf->nranges == 0)
            jf->total = size;
        else
            jf->total = ranges_total(jf);
    }
    return V_GO;
}

/* The server answered: the job is TRANSFERRING. */
static void accepted(struct fetch *f)
{
    f->headers_done = true;
    if (f->job->state == XFER_CONNECTING)
        eng_set_state(f->e, f->job, XFER_TRANSFERRING, ST_CONNECTED, 0);
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
    struct fetch *f = arg;
    size_t len = size * n;
    f->last_byte = eng_now(f->e);
    if (f->ftp || f->failed)
        return len;
    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &f->status);
        return len;
    }
    if ((len == 2 && buf[0] == '\r') || (len == 1 && buf[0] == '\n')) {
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &f->status);
        if (f->status >= 100 && f->status < 200)
            return len; /* interim response */
        /* With credentials, a 401 (407) is curl's cue to authenticate and ask
         * again; only a final one is an error (request_complete). */
        if ((f->status == 401 && f->job->server_creds.scheme) ||
            (f->status == 407 && f->job->proxy_creds.scheme))
            return len;
        enum verdict v = check_response(f);
        if (v != V_GO)
            return CURL_WRITEFUNC_ERROR;
        if (f->status < 300 || f->status >= 400)
            accepted(f);
    }
    return len;
}

/* The connection is up (proxies included): from now on the server owes an answer. */
static int on_connected(void *arg, char *conn_primary_ip, char *conn_local_ip,
                        int conn_primary_port, int conn_local_port)
{
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    struct fetch *f = arg;
    f->requested = true;
    f->last_byte = eng_now(f->e);
    eng_rearm(f->e); /* the response timeout replaces the connect timeout */
    return CURL_PREREQFUNC_OK;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
    struct fetch *f = arg;
    struct xfer_engine *e = f->e;
    struct jfile *jf = cur(f);
    size_t len = size * n;
    int64_t now = eng_now(e);
    f->last_byte = now;
    if (f->failed)
        return CURL_WRITEFUNC_ERROR;
    if (!f->headers_done) {
        if (f->ftp) {
            if (check_ftp(f) != V_GO)
                return CURL_WRITEFUNC_ERROR;
            accepted(f);
        } else {
            return len; /* a redirect's body */
        }
    }
    if (jf->total != XFER_SIZE_UNKNOWN && jf->done + len > jf->total) {
        record_failure(f, V_FAIL, XE_INVALID_SERVER_RESPONSE,
                       "%s sent more bytes than announced (%" PRIu64 ")", jf->url, jf->total);
        return CURL_WRITEFUNC_ERROR;
    }
    const char *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t w = pwrite(f->fd, p, left, (off_t)jf->done + (off_t)(len - left));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            record_failure(f, V_FAIL, xe_classify_errno(err), "writing %s: %s", jf->temp,
                           strerror(err));
            return CURL_WRITEFUNC_ERROR;
        }
        p += w;
        left -= (size_t)w;
    }
    partial_update(&f->hash, buf, len);
    bool was_saved = jf->done == f->ck_done;
    jf->done += len;
    if (was_saved)
        eng_rearm(e); /* a checkpoint is due again (fetch_next_due) */
    f->made_progress = true;
    f->job->last_activity = now;
    f->job->no_progress_since = -1;
    if (jf->done - f->ck_done >= e->cfg.checkpoint_bytes)
        checkpoint(f);
    progress_event(f, false);
    return len;
}

/* ------------------------------------------------------------- requests */

static int open_temp(struct fetch *f)
{
    struct jfile *jf = cur(f);
    f->fd = open(jf->temp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f->fd < 0)
        return -errno;
    if (jf->done == 0) {
        /* Truncate only a file that has bytes. On ext4, truncating a file to 0,
         * even an empty one, arms auto_da_alloc: close() then writes back the
         * whole file before it returns (a quarter of the wall time of a 1 GiB
         * download, tests/bench/engine.sh). */
        struct stat st;
        if (fstat(f->fd, &st) != 0 || (st.st_size > 0 && ftruncate(f->fd, 0) != 0))
            return -errno;
        return partial_init(&f->hash, f->e->cfg.full_verify) == 0 ? 0 : -ENOMEM;
    }
    int r = partial_verify(f->fd, jf->ck_bytes, jf->ck_digest, f->e->cfg.full_verify, &f->hash);
    if (r < 0)
        return r;
    if (r == PARTIAL_OK) {
        jf->done = jf->ck_bytes;
        f->ck_done = jf->done;
        return 0;
    }
    enum xe_id why = r == PARTIAL_SHORT ? XE_FILE_TOO_SHORT : XE_FILE_HASH_MISMATCH;
    xl_log(XL_LOG_WARN, "fetch", "%s: %s; restarting from byte 0", jf->temp, xe_row(why)->message);
    emit_restart(f, xe_hr(why));
    if (partial_init(&f->hash, f->e->cfg.full_verify) != 0)
        return -ENOMEM;
    mark_restarted(f);
    return ftruncate(f->fd, 0) == 0 ? 0 : -errno;
}

static void set_creds(CURL *h, const struct jcreds *c, bool proxy)
{
    if (!c->scheme)
        return;
    long auth = strcasecmp(c->scheme, "digest") == 0 ? CURLAUTH_DIGEST : CURLAUTH_BASIC;
    curl_easy_setopt(h, proxy ? CURLOPT_PROXYAUTH : CURLOPT_HTTPAUTH, auth);
    curl_easy_setopt(h, proxy ? CURLOPT_PROXYUSERNAME : CURLOPT_USERNAME, c->user ? c->user : "");
    curl_easy_setopt(h, proxy ? CURLOPT_PROXYPASSWORD : CURLOPT_PASSWORD,
                     c->password ? c->password : "");
}

/* Build the easy handle for the next request of f. 0 or -1. */
static int prepare(struct fetch *f)
{
    struct xfer_engine *e = f->e;
    struct job *j = f->job;
    struct jfile *jf = cur(f);
    CURL *h = f->easy;
    curl_easy_reset(h);
    curl_slist_free_all(f->hdrs);
    f->hdrs = NULL;
    f->headers_done = false;
    f->status = 0;
    f->failed = false;
    f->retry_after_ms = 0;
    f->errbuf[0] = '\0';
    f->ranged = false;
    f->if_range = false;
    f->req_start = 0;
    f->req_end = UINT64_MAX;
    f->made_progress = false;
    f->req_done0 = jf->done;

    if (jf->nranges > 0) {
        uint64_t skip;
        range_locate(jf, &f->range_idx, &skip);
        const struct xfer_range *r = &jf->ranges[f->range_idx];
        uint64_t len = range_len(jf, f->range_idx);
        f->req_start = r->offset + skip;
        f->req_end = len == XFER_SIZE_UNKNOWN ? UINT64_MAX : r->offset + len - 1;
        f->ranged = true;
    } else if (jf->done > 0) {
        f->req_start = jf->done;
        f->ranged = true;
    }
    char range[64];
    if (f->ranged) {
        if (f->req_end == UINT64_MAX)
            snprintf(range, sizeof range, "%" PRIu64 "-", f->req_start);
        else
            snprintf(range, sizeof range, "%" PRIu64 "-%" PRIu64, f->req_start, f->req_end);
        if (f->ftp && f->req_end == UINT64_MAX)
            curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)f->req_start);
        else
            curl_easy_setopt(h, CURLOPT_RANGE, range);
        const char *v = jf->etag ? jf->etag : jf->last_modified;
        if (!f->ftp && v && jf->done > 0) {
            char line[300];
            snprintf(line, sizeof line, "If-Range: %s", v);
            f->hdrs = curl_slist_append(f->hdrs, line);
            f->if_range = true;
        }
    }
    if (j->headers) {
        char *copy = strdup(j->headers);
        if (!copy)
            return -1;
        char *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            f->hdrs = curl_slist_append(f->hdrs, line);
        free(copy);
    }
    curl_easy_setopt(h, CURLOPT_URL, jf->url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, j);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,ftp");
    /* Like WinHTTP, never follow HTTPS down to plain HTTP. */
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
                     strncasecmp(jf->url, "https:", 6) == 0 ? "https" : "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_connected);
    curl_easy_setopt(h, CURLOPT_PREREQDATA, f);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(h, CURLOPT_USERAGENT,
                     "xferd/"
                     "0.1 (BITS-compatible)");
    curl_easy_setopt(h, CURLOPT_FILETIME, 1L);
    /* The connect timeout is the engine's timer (fetch_tick), so it runs on engine time
     * and a harness can jump to it; curl's, at twice the length, is only a backstop. */
    struct timeval tv = xl_clock_wall_tv(e->clock, 2 * ENG_CONNECT_TIMEOUT_MS);
    long connect_ms = (long)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms > 0 ? connect_ms : 1L);
    if (f->hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, f->hdrs);
    if (e->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, e->ca_file);
    if (j->proxy && j->proxy[0]) {
        curl_easy_setopt(h, CURLOPT_PROXY, j->proxy);
        if (e->link_proxy)
            curl_easy_setopt(h, CURLOPT_PRE_PROXY, e->link_proxy);
    } else if (e->link_proxy) {
        curl_easy_setopt(h, CURLOPT_PROXY, e->link_proxy);
    } else {
        curl_easy_setopt(h, CURLOPT_PROXY, "");
    }
    set_creds(h, &j->server_creds, false);
    set_creds(h, &j->proxy_creds, true);
    return 0;
}

static void free_fetch(struct fetch *f)
{
    if (!f)
        return;
    if (f->easy) {
        if (f->in_multi)
            curlev_remove(f->e->curl, f->easy);
        curl_easy_cleanup(f->easy);
    }
    curl_slist_free_all(f->hdrs);
    partial_free(&f->hash);
    if (f->fd >= 0)
        close(f->fd);
    free(f);
}

/* Send the request prepared for f. */
static xfer_hr launch(struct fetch *f)
{
    if (prepare(f) != 0)
        return xe_hr(XE_E_OUTOFMEMORY);
    f->last_byte = eng_now(f->e);
    f->requested = false; /* the connect timeout (5 min) runs until on_connected */
    if (curlev_add(f->e->curl, f->easy) != 0)
        return xe_hr(XE_E_FAIL);
    f->in_multi = true;
    return 0;
}

xfer_hr fetch_start(struct xfer_engine *e, struct job *j)
{
    size_t idx = job_current_file(j);
    if (idx >= j->nfiles)
        return 0;
    struct fetch *f = calloc(1, sizeof *f);
    if (!f)
        return xe_hr(XE_E_OUTOFMEMORY);
    f->e = e;
    f->job = j;
    f->file = idx;
    f->fd = -1;
    f->last_ck = eng_now(e);
    f->last_progress = -ENG_PROGRESS_EVENT_MS;
    struct jfile *jf = cur(f);
    f->ftp = strncasecmp(jf->url, "ftp:", 4) == 0;
    if (resume_untrusted(j, jf))
        mark_restarted(f);
    int rc = open_temp(f);
    if (rc < 0) {
        int err = -rc;
        free_fetch(f);
        char desc[512];
        snprintf(desc, sizeof desc, "cannot open %s: %s", jf->temp, strerror(err));
        eng_set_error(e, j, xe_hr(xe_classify_errno(err)), XFER_CTX_LOCAL_FILE, (int)idx, desc);
        return xe_hr(xe_classify_errno(err));
    }
    if (!(f->easy = curl_easy_init())) {
        free_fetch(f);
        return xe_hr(XE_E_OUTOFMEMORY);
    }
    j->fetch = f;
    xfer_hr hr = launch(f);
    if (XFER_FAILED(hr)) {
        j->fetch = NULL;
        free_fetch(f);
    }
    return hr;
}

void fetch_stop(struct xfer_engine *e, struct job *j, bool keep)
{
    (void)e;
    struct fetch *f = j->fetch;
    if (!f)
        return;
    if (keep && !e->cfg.no_checkpoints)
        checkpoint_mem(f);
    j->fetch = NULL;
    free_fetch(f);
}

/* The file is complete: record it, announce it, go on with the next. */
static void file_complete(struct fetch *f)
{
    struct xfer_engine *e = f->e;
    struct job *j = f->job;
    struct jfile *jf = cur(f);
    if (jf->total == XFER_SIZE_UNKNOWN)
        jf->total = jf->done;
    checkpoint_mem(f);
    jf->complete = true;
    progress_event(f, true);
    struct xfer_event ev = {.type = XFER_EV_FILE_TRANSFERRED,
                            .job = j->guid,
                            .owner = j->owner,
                            .time_ms = eng_now(e),
                            .file = (int)f->file,
                            .bytes = jf->done,
                            .total = jf->total};
    eng_emit(e, &ev);
    fetch_stop(e, j, false);
    if (job_current_file(j) >= j->nfiles) {
        eng_set_state(e, j, XFER_TRANSFERRED, ST_ALL_DONE, 0);
        return;
    }
    eng_save(e, j);
    xfer_hr hr = fetch_start(e, j);
    if (XFER_FAILED(hr))
        eng_fail(e, j, hr, false, (int)job_current_file(j), j->err_desc, 0);
}

/*
 * The request ended well: is the file, or the range, done? Returns false with
 * a failure recorded in f, or true when it handled the end (f may be gone).
 */
static bool request_complete(struct fetch *f)
{
    struct jfile *jf = cur(f);
    if (f->ftp && !f->headers_done) { /* an empty FTP file: no body callback */
        if (check_ftp(f) != V_GO)
            return false;
        accepted(f);
    } else if (!f->headers_done) {
        /* The last response was one we let pass: a 401 curl could not answer,
         * or a 3xx it did not follow (no Location), whose body was dropped. */
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &f->status);
        if (f->status >= 300 && f->status < 400) {
            fail_status(f);
            return false;
        }
        if (check_response(f) != V_GO)
            return false;
        accepted(f);
    }
    if (jf->nranges > 0) {
        if (jf->total == XFER_SIZE_UNKNOWN)
            jf->total = ranges_total(jf);
        size_t idx;
        uint64_t skip;
        range_locate(jf, &idx, &skip);
        if (idx < jf->nranges) {
            /* the next range, at once */
            f->in_multi = false;
            f->retry_after_ms = 0;
            xfer_hr hr = launch(f);
            if (XFER_FAILED(hr))
                eng_fail(f->e, f->job, hr, false, (int)f->file, "cannot start a request", 0);
            return true;
        }
    }
    if (jf->total != XFER_SIZE_UNKNOWN && jf->done != jf->total) {
        record_failure(f, V_FAIL, XE_CONTENT_LENGTH_MISMATCH,
                       "%s ended after %" PRIu64 " of %" PRIu64 " bytes", jf->url, jf->done,
                       jf->total);
        return false;
    }
    file_complete(f);
    return true;
}

static void classify_curl(struct fetch *f, CURLcode code)
{
    struct xe_curl_failure cf = {.code = (int)code, .errbuf = f->errbuf};
    curl_easy_getinfo(f->easy, CURLINFO_SSL_VERIFYRESULT, &cf.ssl_verify);
    curl_easy_getinfo(f->easy, CURLINFO_PROXY_ERROR, &cf.proxy_error);
    curl_easy_getinfo(f->easy, CURLINFO_OS_ERRNO, &cf.os_errno);
    curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &cf.http_status);
    enum xe_id id = xe_classify_curl(&cf);
    long redirects = 0;
    curl_easy_getinfo(f->easy, CURLINFO_REDIRECT_COUNT, &redirects);
    if (id == XE_UNRECOGNIZED_SCHEME && redirects > 0)
        id = XE_REDIRECT_FAILED; /* the job's URL is fine: a redirect left http(s) */
    struct jfile *jf = cur(f);
    record_failure(f, V_FAIL, id, "%s: %s (curl error %d)", jf->url,
                   f->errbuf[0] ? f->errbuf : curl_easy_strerror(code), (int)code);
    if (code == CURLE_TOO_MANY_REDIRECTS && cf.http_status > 0)
        f->fail_hr = xe_http_hr(cf.http_status);
}

void fetch_done(void *arg, CURL *easy, CURLcode code)
{
    struct xfer_engine *e = arg;
    struct job *j = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
    if (!j || !j->fetch || j->fetch->easy != easy)
        return;
    struct fetch *f = j->fetch;
    f->in_multi = false;
    if (code == CURLE_OK && !f->failed) {
        if (request_complete(f))
            return; /* file done, or the next range launched; f may be gone */
    } else if (!f->failed) {
        classify_curl(f, code);
    }
    if (f->made_progress)
        j->retries = 0;
    if (f->verdict == V_RESTART_REQUEST || f->fail_transient) {
        if (j->retries < ENG_AUTO_RETRIES) {
            j->retries++;
            xl_log(XL_LOG_INFO, "fetch", "%s: %s; automatic retry %u of %d", cur(f)->url,
                   f->fail_desc, j->retries, ENG_AUTO_RETRIES);
            if (f->verdict == V_RESTART_REQUEST) {
                emit_restart(f, f->fail_hr);
            } else if (!e->cfg.no_checkpoints) {
                checkpoint_mem(f);
            }
            if (resume_untrusted(j, cur(f)) && restart_file(f, false) != 0)
                goto give_up;
            xfer_hr hr = launch(f);
            if (!XFER_FAILED(hr))
                return;
        }
    }
give_up:;
    xfer_hr hr = f->fail_hr;
    bool transient = f->fail_transient || f->verdict == V_RESTART_REQUEST;
    char desc[sizeof f->fail_desc];
    memcpy(desc, f->fail_desc, sizeof desc);
    int file = (int)f->file;
    int64_t retry_after = f->retry_after_ms;
    eng_fail(e, j, hr, transient, file, desc, retry_after);
}

/* When the request in the multi handle times out: connecting, then waiting for bytes. */
static int64_t wait_due(const struct fetch *f)
{
    return f->last_byte + (f->requested ? ENG_RESPONSE_TIMEOUT_MS : ENG_CONNECT_TIMEOUT_MS);
}

int64_t fetch_tick(struct xfer_engine *e, struct job *j, int64_t now)
{
    struct fetch *f = j->fetch;
    if (!f)
        return INT64_MAX;
    if (f->in_multi && now >= wait_due(f)) {
        /* Not connected within 5 minutes, or nothing for 2: abort the request as a timeout,
         * closing its connection (else libcurl keeps a half-open connect in its cache). */
        curl_easy_setopt(f->easy, CURLOPT_FORBID_REUSE, 1L);
        curlev_remove(e->curl, f->easy);
        f->in_multi = false;
        if (f->requested)
            record_failure(f, V_FAIL, XE_TIMEOUT, "%s: no response for %d s", cur(f)->url,
                           ENG_RESPONSE_TIMEOUT_MS / 1000);
        else
            record_failure(f, V_FAIL, XE_TIMEOUT, "%s: not connected within %d s", cur(f)->url,
                           ENG_CONNECT_TIMEOUT_MS / 1000);
        fetch_done(e, f->easy, CURLE_OPERATION_TIMEDOUT);
        return fetch_next_due(j);
    }
    if (!e->cfg.no_checkpoints && cur(f)->done != f->ck_done &&
        now - f->last_ck >= e->cfg.checkpoint_ms)
        checkpoint(f);
    return fetch_next_due(j);
}

bool fetch_connecting(const struct job *j)
{
    return j->fetch && j->fetch->in_multi && !j->fetch->requested;
}

int64_t fetch_next_due(const struct job *j)
{
    const struct fetch *f = j->fetch;
    if (!f)
        return INT64_MAX;
    int64_t due = f->in_multi ? wait_due(f) : INT64_MAX;
    /* A checkpoint is due only when bytes arrived since the last one. */
    if (!f->e->cfg.no_checkpoints && j->files[f->file].done != f->ck_done) {
        int64_t ck = f->last_ck + f->e->cfg.checkpoint_ms;
        if (ck < due)
            due = ck;
    }
    return due;
}
