/*
 * props: the job properties, as one table (name, parser, formatter, rules).
 *
 * xfer_job_set / xfer_job_get, xferctl's set* verbs and the service's
 * JSON-RPC methods all go through this table, so a property's spelling,
 * accepted values and restrictions are written once. Values are text:
 *
 *   priority             FOREGROUND | HIGH | NORMAL | LOW
 *   no_progress_timeout  seconds (0: every error is fatal)
 *   min_retry_delay      seconds (below 5 is raised to 5 when used)
 *   max_download_time    seconds (0: the default, 90 days)
 *   cost_policy          Default | UnrestrictedOnly | Always (WinRT), a BITS
 *                        preset (ALWAYS, NOT_ROAMING, NO_SURCHARGE, STANDARD,
 *                        UNRESTRICTED) or flags in hex ("0x80000067")
 *   headers              "Name: value" lines separated by '\n'; "" clears
 *   server_credentials   "basic USER:PASSWORD" | "digest USER:PASSWORD" | "none"
 *   proxy_credentials    the same, for the proxy
 *   proxy                a proxy URL (http, https, socks5, socks5h) or "" for none
 *   dynamic_content      true | false; before the first Resume, download jobs only
 *   display_name, description   text
 *   notify_flags         BG_NOTIFY_* bits (1 transferred, 2 error, 4 disable, ...)
 *   notify_cmdline       "PROGRAM PARAMETERS"; "" removes it
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine.h"

struct prop {
    const char *name;
    xfer_hr (*set)(struct job *j, const char *v, char *err, size_t len);
    void (*get)(const struct job *j, char *buf, size_t len);
};

static const struct {
    const char *name;
    uint32_t flags;
} cost_names[] = {
    {"Default", 0x80000067u},  {"UnrestrictedOnly", 0x80000021u}, {"Always", 0x800000FFu},
    {"ALWAYS", 0x800000FFu},   {"NOT_ROAMING", 0x8000007Fu},      {"NO_SURCHARGE", 0x8000006Fu},
    {"STANDARD", 0x80000067u}, {"UNRESTRICTED", 0x80000021u},
};
static const char *const priority_names[] = {"FOREGROUND", "HIGH", "NORMAL", "LOW"};

static xfer_hr bad(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static xfer_hr bad(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return xe_hr(XE_E_INVALIDARG);
}

static bool parse_seconds(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < 0 || n > INT64_MAX / 1000)
        return false;
    *out = n;
    return true;
}

static xfer_hr set_priority(struct job *j, const char *v, char *err, size_t len)
{
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, priority_names[i]) == 0) {
            j->priority = (enum xfer_priority)i;
            return 0;
        }
    }
    return bad(err, len, "priority: '%s' is not FOREGROUND, HIGH, NORMAL or LOW", v);
}

static void get_priority(const struct job *j, char *buf, size_t len)
{
    snprintf(buf, len, "%s", priority_names[j->priority]);
}

#define SECONDS_PROP(field, label)                                                                 \
    static xfer_hr set_##field(struct job *j, const char *v, char *err, size_t len)                \
    {                                                                                              \
        int64_t s;                                                                                 \
        if (!parse_seconds(v, &s))                                                                 \
            return bad(err, len, label ": '%s' is not a number of seconds", v);                    \
        j->field = s;                                                                              \
        return 0;                                                                                  \
    }                                                                                              \
    static void get_##field(const struct job *j, char *buf, size_t len)                            \
    {                                                                                              \
        snprintf(buf, len, "%" PRId64, j->field);                                                  \
    }
SECONDS_PROP(no_progress_timeout_s, "no_progress_timeout")
SECONDS_PROP(min_retry_delay_s, "min_retry_delay")

static xfer_hr set_max_download_time_s(struct job *j, const char *v, char *err, size_t len)
{
    int64_t s;
    if (!parse_seconds(v, &s))
        return bad(err, len, "max_download_time: '%s' is not a number of seconds", v);
    j->max_download_time_s = s ? s : 7776000;
    return 0;
}
static void get_max_download_time_s(const struct job *j, char *buf, size_t len)
{
    snprintf(buf, len, "%" PRId64, j->max_download_time_s);
}

static xfer_hr set_cost(struct job *j, const char *v, char *err, size_t len)
{
    for (size_t i = 0; i < sizeof cost_names / sizeof cost_names[0]; i++) {
        if (strcmp(v, cost_names[i].name) == 0) {
            j->cost_flags = cost_names[i].flags;
            return 0;
        }
    }
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 0);
    if (errno || end == v || *end || n == 0 || n > UINT32_MAX)
        return bad(err, len,
                   "cost_policy: '%s' is not Default, UnrestrictedOnly, Always, a BITS preset or "
                   "flags",
                   v);
    j->cost_flags = (uint32_t)n;
    return 0;
}

static void get_cost(const struct job *j, char *buf, size_t len)
{
    /* The BITS preset name when there is one (WinRT names alias them). */
    for (size_t i = 3; i < sizeof cost_names / sizeof cost_names[0]; i++) {
        if (cost_names[i].flags == j->cost_flags) {
            snprintf(buf, len, "%s", cost_names[i].name);
            return;
        }
    }
    snprintf(buf, len, "0x%08" PRIX32, j->cost_flags);
}

static xfer_hr set_headers(struct job *j, const char *v, char *err, size_t len)
{
    if (strlen(v) > 16384)
        return bad(err, len, "headers: longer than 16 KiB%s", "");
    for (const char *line = v; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        const char *colon = memchr(line, ':', n);
        if (n > 0) {
            if (!colon || colon == line)
                return bad(err, len, "headers: '%s' is not 'Name: value'", line);
            for (const char *p = line; p < line + n; p++)
                if (*p == '\r' ||
                    (p < colon && (isspace((unsigned char)*p) || !isprint((unsigned char)*p))))
                    return bad(err, len, "headers: bad character in '%s'", line);
        }
        line += n + (end ? 1 : 0);
    }
    return job_set_str(&j->headers, v[0] ? v : NULL) ? xe_hr(XE_E_OUTOFMEMORY) : 0;
}

static void get_headers(const struct job *j, char *buf, size_t len)
{
    snprintf(buf, len, "%s", j->headers ? j->headers : "");
}

static xfer_hr set_creds(struct jcreds *c, const char *label, const char *v, char *err, size_t len)
{
    if (strcasecmp(v, "none") == 0 || !v[0]) {
        job_set_str(&c->scheme, NULL);
        job_set_str(&c->user, NULL);
        job_set_str(&c->password, NULL);
        return 0;
    }
    const char *sp = strchr(v, ' ');
    const char *colon = sp ? strchr(sp + 1, ':') : NULL;
    if (!sp || !colon || colon == sp + 1) {
        snprintf(err, len, "%s: expected 'basic USER:PASSWORD', 'digest USER:PASSWORD' or 'none'",
                 label);
        return xe_hr(XE_E_INVALIDARG);
    }
    char scheme[16];
    snprintf(scheme, sizeof scheme, "%.*s", (int)(sp - v), v);
    if (strcasecmp(scheme, "basic") != 0 && strcasecmp(scheme, "digest") != 0) {
        snprintf(err, len, "%s: scheme '%s' is not basic or digest", label, scheme);
        return xe_hr(XE_E_INVALIDARG);
    }
    for (char *p = scheme; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    char *user = strndup(sp + 1, (size_t)(colon - sp - 1));
    if (!user || job_set_str(&c->scheme, scheme) || job_set_str(&c->password, colon + 1)) {
        free(user);
        return xe_hr(XE_E_OUTOFMEMORY);
    }
    free(c->user);
    c->user = user;
    return 0;
}

static void get_creds(const struct jcreds *c, char *buf, size_t len)
{
    /* Never give the password back. */
    if (!c->scheme)
        snprintf(buf, len, "none");
    else
        snprintf(buf, len, "%s %s:********", c->scheme, c->user ? c->user : "");
}

static xfer_hr set_server_creds(struct job *j, const char *v, char *err, size_t len)
{
    return set_creds(&j->server_creds, "server_credentials", v, err, len);
}
static void get_server_creds(const struct job *j, char *buf, size_t len)
{
    get_creds(&j->server_creds, buf, len);
}
static xfer_hr set_proxy_creds(struct job *j, const char *v, char *err, size_t len)
{
    return set_creds(&j->proxy_creds, "proxy_credentials", v, err, len);
}
static void get_proxy_creds(const struct job *j, char *buf, size_t len)
{
    get_creds(&j->proxy_creds, buf, len);
}

static xfer_hr set_proxy(struct job *j, const char *v, char *err, size_t len)
{
    static const char *const schemes[] = {"http://", "https://", "socks5://", "socks5h://"};
    if (v[0]) {
        bool ok = false;
        for (size_t i = 0; i < 4; i++)
            ok = ok || strncasecmp(v, schemes[i], strlen(schemes[i])) == 0;
        if (!ok || strlen(v) > 2083)
            return bad(err, len, "proxy: '%s' is not an http, https, socks5 or socks5h URL", v);
    }
    return job_set_str(&j->proxy, v[0] ? v : NULL) ? xe_hr(XE_E_OUTOFMEMORY) : 0;
}
static void get_proxy(const struct job *j, char *buf, size_t len)
{
    snprintf(buf, len, "%s", j->proxy ? j->proxy : "");
}

static xfer_hr set_dynamic(struct job *j, const char *v, char *err, size_t len)
{
    bool on;
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
        on = true;
    else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
        on = false;
    else
        return bad(err, len, "dynamic_content: '%s' is not true or false", v);
    if (j->type != XFER_DOWNLOAD) {
        snprintf(err, len, "dynamic_content: download jobs only");
        return xe_hr(XE_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY);
    }
    for (size_t i = 0; i < j->nhist; i++) {
        if (strcmp(j->hist[i].cause, "resume") == 0) {
            snprintf(err, len, "dynamic_content: must be set before the first Resume");
            return xe_hr(XE_PROPERTY_AFTER_RESUME);
        }
    }
    for (size_t i = 0; i < j->nfiles; i++) {
        if (j->files[i].nranges) {
            snprintf(err, len, "dynamic_content: not with file ranges");
            return xe_hr(XE_E_INVALIDARG);
        }
    }
    j->dynamic_content = on;
    return 0;
}
static void get_dynamic(const struct job *j, char *buf, size_t len)
{
    snprintf(buf, len, "%s", j->dynamic_content ? "true" : "false");
}

static xfer_hr set_text(char **slot, const char *label, size_t max, const char *v, char *err,
                        size_t len)
{
    if (strlen(v) >= max) {
        snprintf(err, len, "%s: %zu characters (at most %zu)", label, strlen(v), max - 1);
        return xe_hr(XE_STRING_TOO_LONG);
    }
    return job_set_str(slot, v) ? xe_hr(XE_E_OUTOFMEMORY) : 0;
}
static xfer_hr set_name(struct job *j, const char *v, char *err, size_t len)
{
    return set_text(&j->display_name, "display_name", 256, v, err, len);
}
static void get_name(const struct job *j, char *buf, size_t len)
{
    snprintf(buf, len, "%s", j->display_name ? j->display_name : "");
}
static xfer_hr set_description(struct job *j, const char *v, char *err, size_t len)
{
    return set_text(&j->description, "description", 1024, v, err, len);
}
static void get_description(const struct job *j, char *buf, size_t len)
{
    snprintf(buf, len, "%s", j->description ? j->description : "");
}

static xfer_hr set_notify_flags(struct job *j, const char *v, char *err, size_t len)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 0);
    if (errno || end == v || *end || n > 0x3f)
        return bad(err, len, "notify_flags: '%s' is not a combination of BG_NOTIFY_* bits", v);
    j->notify_flags = (uint32_t)n;
    return 0;
}
static void get_notify_flags(const struct job *j, char *buf, size_t len)
{
    snprintf(buf, len, "%" PRIu32, j->notify_flags);
}

static xfer_hr set_cmdline(struct job *j, const char *v, char *err, size_t len)
{
    if (v[0] && v[0] != '/')
        return bad(err, len, "notify_cmdline: '%s' must start with the program's absolute path", v);
    if (strlen(v) > 4000 + 260)
        return bad(err, len, "notify_cmdline: too long%s", "");
    return job_set_str(&j->notify_cmdline, v[0] ? v : NULL) ? xe_hr(XE_E_OUTOFMEMORY) : 0;
}
static void get_cmdline(const struct job *j, char *buf, size_t len)
{
    snprintf(buf, len, "%s", j->notify_cmdline ? j->notify_cmdline : "");
}

static const struct prop props[] = {
    {"priority", set_priority, get_priority},
    {"no_progress_timeout", set_no_progress_timeout_s, get_no_progress_timeout_s},
    {"min_retry_delay", set_min_retry_delay_s, get_min_retry_delay_s},
    {"max_download_time", set_max_download_time_s, get_max_download_time_s},
    {"cost_policy", set_cost, get_cost},
    {"headers", set_headers, get_headers},
    {"server_credentials", set_server_creds, get_server_creds},
    {"proxy_credentials", set_proxy_creds, get_proxy_creds},
    {"proxy", set_proxy, get_proxy},
    {"dynamic_content", set_dynamic, get_dynamic},
    {"display_name", set_name, get_name},
    {"description", set_description, get_description},
    {"notify_flags", set_notify_flags, get_notify_flags},
    {"notify_cmdline", set_cmdline, get_cmdline},
};
#define NPROPS (sizeof props / sizeof props[0])

const char *const *xfer_job_props(void)
{
    static const char *names[NPROPS + 1];
    if (!names[0])
        for (size_t i = 0; i < NPROPS; i++)
            names[i] = props[i].name;
    return names;
}

static const struct prop *lookup(const char *name)
{
    for (size_t i = 0; name && i < NPROPS; i++)
        if (strcmp(props[i].name, name) == 0)
            return &props[i];
    return NULL;
}

xfer_hr props_set(struct xfer_engine *e, struct job *j, const char *name, const char *value,
                  char *err, size_t errlen)
{
    (void)e;
    const struct prop *p = lookup(name);
    if (!p) {
        snprintf(err, errlen, "no property '%s'", name ? name : "");
        return xe_hr(XE_UNKNOWN_PROPERTY_ID);
    }
    if (!value) {
        snprintf(err, errlen, "%s: no value", name);
        return xe_hr(XE_E_INVALIDARG);
    }
    return p->set(j, value, err, errlen);
}

xfer_hr props_get(const struct job *j, const char *name, char *buf, size_t len)
{
    const struct prop *p = lookup(name);
    if (!p)
        return xe_hr(XE_UNKNOWN_PROPERTY_ID);
    p->get(j, buf, len);
    return 0;
}
