/*
 * expect: one `expect` line evaluated now. Job checks read xferd (job.info,
 * job.history) at the moment of evaluation; request checks read the
 * origins' journals; file checks read the downloads directory; notify and
 * group counts come from the events the run has seen. Every name compared
 * comes from xfer.h's tables (the same ones xferd's answers are made from).
 * On a miss, got says what was seen for each check that did not hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

/* Append to got, "; " between entries. */
static void say(char *got, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *got, size_t len, const char *fmt, ...)
{
    size_t n = strlen(got);
    if (n + 3 >= len)
        return;
    if (n > 0) {
        strcpy(got + n, "; ");
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(got + n, len - n, fmt, ap);
    va_end(ap);
}

json_t *hx_job_info(struct hx_run *r, size_t job, char *err, size_t errlen)
{
    if (!r->jobs[job].guid[0]) {
        snprintf(err, errlen, "job %s was not created", r->s->jobs[job].id);
        return NULL;
    }
    json_t *res = NULL;
    if (hx_session_call(&r->sess, "job.info", json_pack("{s:s}", "job", r->jobs[job].guid), &res,
                        NULL, err, errlen) != 0)
        return NULL;
    return res;
}

static const char *jstr(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

static xfer_hr hr_of(const char *hex)
{
    return hex ? (xfer_hr)(uint32_t)strtoul(hex, NULL, 16) : 0;
}

static const char *hr_text(xfer_hr hr, char *buf, size_t len)
{
    const struct xfer_error_row *row = xfer_error_find(hr);
    if (hr == 0)
        snprintf(buf, len, "none");
    else if (row)
        snprintf(buf, len, "%s (0x%08" PRIX32 ")", row->name, (uint32_t)hr);
    else
        snprintf(buf, len, "0x%08" PRIX32, (uint32_t)hr);
    return buf;
}

/* The job's states as one line: the first transition's old state, then each new one. */
static bool job_states(struct hx_run *r, size_t job, enum xfer_state *out, size_t max, size_t *n,
                       char *err, size_t errlen)
{
    json_t *h = NULL;
    *n = 0;
    if (hx_session_call(&r->sess, "job.history", json_pack("{s:s}", "job", r->jobs[job].guid), &h,
                        NULL, err, errlen) != 0)
        return false;
    size_t i;
    json_t *row;
    json_array_foreach(h, i, row)
    {
        /* The creation row (SUSPENDED -> SUSPENDED) names the first state once. */
        enum xfer_state s;
        if (i == 0 && *n < max && xfer_state_parse(jstr(row, "old", ""), &s))
            out[(*n)++] = s;
        if (*n < max && xfer_state_parse(jstr(row, "new", ""), &s) &&
            !(*n == 1 && i == 0 && out[0] == s))
            out[(*n)++] = s;
    }
    json_decref(h);
    return true;
}

static void states_text(const enum xfer_state *v, size_t n, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(buf);
        snprintf(buf + k, len - k, "%s%s", i ? " " : "", xfer_state_name(v[i]));
    }
}

static bool subsequence(const enum xfer_state *want, size_t nw, const enum xfer_state *have,
                        size_t nh)
{
    size_t k = 0;
    for (size_t i = 0; i < nh && k < nw; i++)
        if (have[i] == want[k])
            k++;
    return k == nw;
}

static bool check_states(struct hx_run *r, size_t job, const struct scn_check *c, char *got,
                         size_t len)
{
    enum xfer_state have[256];
    size_t n;
    char err[512];
    if (!job_states(r, job, have, 256, &n, err, sizeof err)) {
        say(got, len, "no history: %s", err);
        return false;
    }
    bool ok = c->kind == SCN_CK_STATES
                  ? n == c->nstates && memcmp(have, c->states, n * sizeof *have) == 0
                  : subsequence(c->states, c->nstates, have, n);
    if (!ok) {
        char buf[4096];
        states_text(have, n, buf, sizeof buf);
        say(got, len, "states %s", buf);
    }
    return ok;
}

static bool check_job(struct hx_run *r, size_t job, const struct scn_check *c, json_t *info,
                      char *got, size_t len)
{
    json_t *e = json_object_get(info, "error");
    xfer_hr ehr = json_is_object(e) ? hr_of(jstr(e, "hr", NULL)) : 0;
    const struct hx_job *jb = &r->jobs[job];
    char a[128], b[128];
    switch (c->kind) {
    case SCN_CK_STATE: {
        enum xfer_state s;
        if (xfer_state_parse(jstr(info, "state", ""), &s) && s == c->state)
            return true;
        say(got, len, "state %s%s%s%s", jstr(info, "state", "?"), ehr ? " (" : "",
            ehr ? hr_text(ehr, a, sizeof a) : "", ehr ? ")" : "");
        return false;
    }
    case SCN_CK_STATES:
    case SCN_CK_STATES_CONTAINS:
        return check_states(r, job, c, got, len);
    case SCN_CK_CODE:
        if (ehr == c->hr)
            return true;
        say(got, len, "code %s", hr_text(ehr, a, sizeof a));
        return false;
    case SCN_CK_CONTEXT: {
        const char *want = xfer_context_name((enum xfer_context)c->value);
        const char *have =
            json_is_object(e) ? jstr(e, "context", "?") : xfer_context_name(XFER_CTX_NONE);
        if (want && strcasecmp(want, have) == 0)
            return true;
        say(got, len, "context %s", have);
        return false;
    }
    case SCN_CK_WINRT: {
        const char *want = xfer_winrt_status_name(c->value);
        const char *have = jstr(info, "winrt_status", "?");
        if (want && strcmp(want, have) == 0)
            return true;
        say(got, len, "status %s", have);
        return false;
    }
    case SCN_CK_WEBERROR: {
        const char *want = xfer_web_error_name(c->value);
        const char *have =
            json_is_object(e) ? jstr(e, "web_error_status", "?") : xfer_web_error_name(0);
        if (want && have && strcmp(want, have) == 0)
            return true;
        say(got, len, "weberror %s", have ? have : "?");
        return false;
    }
    case SCN_CK_INTERRUPT: {
        const char *want = xfer_interrupt_name(c->value);
        const char *have =
            json_is_object(e) ? jstr(e, "interrupt_reason", "?") : xfer_interrupt_name(0);
        if (want && have && strcmp(want, have) == 0)
            return true;
        say(got, len, "interrupt %s", have ? have : "?");
        return false;
    }
    case SCN_CK_BYTES: {
        uint64_t v = (uint64_t)json_integer_value(json_object_get(info, "bytes_done"));
        if (v == c->num)
            return true;
        say(got, len, "bytes %" PRIu64, v);
        return false;
    }
    case SCN_CK_TOTAL: {
        json_t *t = json_object_get(info, "bytes_total");
        uint64_t v = json_is_integer(t) ? (uint64_t)json_integer_value(t) : XFER_SIZE_UNKNOWN;
        if (v == c->num)
            return true;
        if (v == XFER_SIZE_UNKNOWN)
            say(got, len, "total unknown");
        else
            say(got, len, "total %" PRIu64, v);
        return false;
    }
    case SCN_CK_RESTARTED: {
        bool any = false;
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(info, "files"), i, f)
        {
            if (json_is_true(json_object_get(f, "has_restarted")))
                any = true;
        }
        if (any == c->flag)
            return true;
        say(got, len, "restarted %s", any ? "yes" : "no");
        return false;
    }
    case SCN_CK_RESULT:
        if (jb->has_result && jb->result == c->hr)
            return true;
        say(got, len, "result %s", jb->has_result ? hr_text(jb->result, b, sizeof b) : "none yet");
        return false;
    case SCN_CK_NOTIFIED:
        if (jb->notified == c->num)
            return true;
        say(got, len, "notified %u", jb->notified);
        return false;
    case SCN_CK_ERRORS: {
        uint64_t v = (uint64_t)json_integer_value(json_object_get(info, "error_count"));
        if (v == c->num)
            return true;
        say(got, len, "errors %" PRIu64, v);
        return false;
    }
    case SCN_CK_HEADER:
    case SCN_CK_NO_HEADER:
    case SCN_CK_METHOD:
    case SCN_CK_STATUS:
    case SCN_CK_PATH:
    case SCN_CK_COUNT:
    case SCN_CK_SHA256:
    case SCN_CK_SHA256_OF:
    case SCN_CK_ABSENT:
    case SCN_CK_SIZE:
    case SCN_CK_RAN:
    case SCN_CK__COUNT:
        break;
    }
    say(got, len, "(check not about a job)");
    return false;
}

static bool eval_job(struct hx_run *r, const struct scn_expect_args *x, char *got, size_t len)
{
    char err[1024] = "";
    json_t *info = hx_job_info(r, x->job, err, sizeof err);
    if (!info) {
        say(got, len, "%s", err);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < x->nchecks; i++)
        if (!check_job(r, x->job, &x->checks[i], info, got, len))
            ok = false;
    json_decref(info);
    return ok;
}

/* ---- requests ------------------------------------------------------------ */

/* The value of header name in a "Name: value\n" block, or NULL; copied into buf. */
static const char *header(const char *block, const char *name, char *buf, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = block; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = ll - (size_t)(v - p);
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            snprintf(buf, len, "%.*s", (int)vl, v);
            return buf;
        }
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

static void target_path(const char *target, char *buf, size_t len)
{
    snprintf(buf, len, "%s", target ? target : "");
    char *q = strchr(buf, '?');
    if (q)
        *q = '\0';
}

static bool check_request(const struct scn_check *c, const struct flt_jentry *e, char *got,
                          size_t len)
{
    char buf[2048];
    switch (c->kind) {
    case SCN_CK_HEADER: {
        const char *v = header(e->headers, c->name, buf, sizeof buf);
        if (v && strcmp(v, c->text) == 0)
            return true;
        say(got, len, "header %s %s%s%s", c->name, v ? "\"" : "absent", v ? v : "", v ? "\"" : "");
        return false;
    }
    case SCN_CK_NO_HEADER: {
        const char *v = header(e->headers, c->name, buf, sizeof buf);
        if (!v)
            return true;
        say(got, len, "header %s \"%s\"", c->name, v);
        return false;
    }
    case SCN_CK_METHOD:
        if (strcasecmp(e->method, c->name) == 0)
            return true;
        say(got, len, "method %s", e->method);
        return false;
    case SCN_CK_STATUS:
        if (e->status == c->value)
            return true;
        say(got, len, "status %d", e->status);
        return false;
    case SCN_CK_PATH:
        target_path(e->target, buf, sizeof buf);
        if (strcmp(buf, c->name) == 0)
            return true;
        say(got, len, "path %s", buf);
        return false;
    case SCN_CK_STATE:
    case SCN_CK_STATES:
    case SCN_CK_STATES_CONTAINS:
    case SCN_CK_CODE:
    case SCN_CK_CONTEXT:
    case SCN_CK_WINRT:
    case SCN_CK_WEBERROR:
    case SCN_CK_INTERRUPT:
    case SCN_CK_BYTES:
    case SCN_CK_TOTAL:
    case SCN_CK_RESTARTED:
    case SCN_CK_RESULT:
    case SCN_CK_NOTIFIED:
    case SCN_CK_ERRORS:
    case SCN_CK_COUNT:
    case SCN_CK_SHA256:
    case SCN_CK_SHA256_OF:
    case SCN_CK_ABSENT:
    case SCN_CK_SIZE:
    case SCN_CK_RAN:
    case SCN_CK__COUNT:
        break;
    }
    say(got, len, "(check not about a request)");
    return false;
}

static bool eval_request(struct hx_run *r, const struct scn_expect_args *x, char *got, size_t len)
{
    struct flt_journal *j = &r->world.origins[x->origin]->o.journal;
    size_t n = flt_journal_count(j);
    for (size_t i = 0; i < n; i++) {
        struct flt_jentry e;
        if (flt_journal_get(j, i, &e) < 0)
            break;
        if (e.id != x->request) {
            flt_jentry_release(&e);
            continue;
        }
        bool ok = true;
        for (size_t k = 0; k < x->nchecks; k++)
            if (!check_request(&x->checks[k], &e, got, len))
                ok = false;
        flt_jentry_release(&e);
        return ok;
    }
    say(got, len, "%s has seen %zu request(s), no request %" PRIu64,
        r->world.origins[x->origin]->name, n, x->request);
    return false;
}

static bool eval_requests(struct hx_run *r, const struct scn_expect_args *x, char *got, size_t len)
{
    struct flt_journal *j = &r->world.origins[x->origin]->o.journal;
    size_t n = flt_journal_count(j);
    uint64_t count = 0;
    for (size_t i = 0; i < n; i++) {
        struct flt_jentry e;
        if (flt_journal_get(j, i, &e) < 0)
            break;
        char path[2048];
        target_path(e.target, path, sizeof path);
        if (!x->path || fnmatch(x->path, path, 0) == 0)
            count++;
        flt_jentry_release(&e);
    }
    bool ok = true;
    for (size_t k = 0; k < x->nchecks; k++) {
        if (x->checks[k].kind == SCN_CK_COUNT && x->checks[k].num == count)
            continue;
        ok = false;
        say(got, len, "count %" PRIu64, count);
    }
    return ok;
}

/* ---- files --------------------------------------------------------------- */

static void hex(const unsigned char *md, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* SHA-256 of the local file; -1 when it cannot be read (err). */
static int file_sha256(const char *path, char out[65], char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -1;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    unsigned char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        EVP_DigestUpdate(ctx, buf, (size_t)n);
    if (n < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        goto out;
    }
    unsigned char md[32];
    EVP_DigestFinal_ex(ctx, md, NULL);
    hex(md, out);
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    close(fd);
    return rc;
}

/* SHA-256 of an origin's current entity at path; -1 when it has none (err). */
static int entity_sha256(struct hx_origin *o, const char *path, char out[65], char *err,
                         size_t errlen)
{
    struct flt_entity ent;
    if (flt_content_lookup(&o->o.content, path, &ent) != FLT_FOUND) {
        snprintf(err, errlen, "%s has no %s", o->name, path);
        return -1;
    }
    int fd = -1;
    if (ent.src == FLT_SRC_FILE && (fd = open(ent.file, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "%s: %s", ent.file, strerror(errno));
        return -1;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -1;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    unsigned char buf[1 << 16];
    for (uint64_t off = 0; off < ent.size;) {
        ssize_t n = flt_entity_read(&ent, fd, off, buf, sizeof buf);
        if (n <= 0) {
            snprintf(err, errlen, "cannot read %s%s", o->name, path);
            goto out;
        }
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        off += (uint64_t)n;
    }
    unsigned char md[32];
    EVP_DigestFinal_ex(ctx, md, NULL);
    hex(md, out);
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    return rc;
}

static bool check_file(struct hx_run *r, const char *path, const struct scn_check *c, char *got,
                       size_t len)
{
    struct stat sb;
    bool exists = stat(path, &sb) == 0;
    char have[65], want[65], err[512];
    switch (c->kind) {
    case SCN_CK_ABSENT:
        if (!exists)
            return true;
        say(got, len, "the file exists (%lld bytes)", (long long)sb.st_size);
        return false;
    case SCN_CK_SIZE:
        if (exists && (uint64_t)sb.st_size == c->num)
            return true;
        if (exists)
            say(got, len, "size %lld", (long long)sb.st_size);
        else
            say(got, len, "no such file");
        return false;
    case SCN_CK_SHA256:
    case SCN_CK_SHA256_OF:
        if (!exists) {
            say(got, len, "no such file");
            return false;
        }
        if (file_sha256(path, have, err, sizeof err) < 0) {
            say(got, len, "cannot read it: %s", err);
            return false;
        }
        if (c->kind == SCN_CK_SHA256) {
            snprintf(want, sizeof want, "%s", c->text);
        } else if (entity_sha256(r->world.origins[c->origin], c->path, want, err, sizeof err) < 0) {
            say(got, len, "%s", err);
            return false;
        }
        if (strcasecmp(have, want) == 0)
            return true;
        say(got, len, "sha256 %s (%lld bytes)", have, (long long)sb.st_size);
        return false;
    case SCN_CK_STATE:
    case SCN_CK_STATES:
    case SCN_CK_STATES_CONTAINS:
    case SCN_CK_CODE:
    case SCN_CK_CONTEXT:
    case SCN_CK_WINRT:
    case SCN_CK_WEBERROR:
    case SCN_CK_INTERRUPT:
    case SCN_CK_BYTES:
    case SCN_CK_TOTAL:
    case SCN_CK_RESTARTED:
    case SCN_CK_RESULT:
    case SCN_CK_NOTIFIED:
    case SCN_CK_ERRORS:
    case SCN_CK_HEADER:
    case SCN_CK_NO_HEADER:
    case SCN_CK_METHOD:
    case SCN_CK_STATUS:
    case SCN_CK_PATH:
    case SCN_CK_COUNT:
    case SCN_CK_RAN:
    case SCN_CK__COUNT:
        break;
    }
    say(got, len, "(check not about a file)");
    return false;
}

static bool eval_file(struct hx_run *r, const struct scn_expect_args *x, char *got, size_t len)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", r->downloads, x->file);
    bool ok = true;
    for (size_t k = 0; k < x->nchecks; k++)
        if (!check_file(r, path, &x->checks[k], got, len))
            ok = false;
    return ok;
}

static bool eval_group(struct hx_run *r, const struct scn_expect_args *x, char *got, size_t len)
{
    bool ok = true;
    for (size_t k = 0; k < x->nchecks; k++) {
        if (x->checks[k].kind == SCN_CK_RAN && x->checks[k].num == r->group_ran[x->group])
            continue;
        ok = false;
        say(got, len, "ran %u", r->group_ran[x->group]);
    }
    return ok;
}

bool hx_expect_eval(struct hx_run *r, const struct scn_stmt *st, char *got, size_t gotlen)
{
    const struct scn_expect_args *x = &st->u.expect;
    got[0] = '\0';
    switch (x->subject) {
    case SCN_SUBJ_JOB:
        return eval_job(r, x, got, gotlen);
    case SCN_SUBJ_REQUEST:
        return eval_request(r, x, got, gotlen);
    case SCN_SUBJ_REQUESTS:
        return eval_requests(r, x, got, gotlen);
    case SCN_SUBJ_FILE:
        return eval_file(r, x, got, gotlen);
    case SCN_SUBJ_GROUP:
        return eval_group(r, x, got, gotlen);
    }
    say(got, gotlen, "unknown subject");
    return false;
}
