/*
 * show: the protocol's job objects as bitsadmin prints them. Input is the
 * JSON of PROTOCOL.md (job object, error object); output is text on a FILE.
 * Names come from the JSON or the engine's name functions (xfer.h); a
 * missing member prints as UNKNOWN rather than failing.
 */
#include <inttypes.h>
#include <pwd.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "ctl.h"
#include "xfer/xfer.h"

const char *show_str(const json_t *obj, const char *key)
{
    static char num[4][32];
    static unsigned slot;
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        char *b = num[slot++ % 4];
        snprintf(b, sizeof num[0], "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return b;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return "UNKNOWN";
}

uint64_t show_u64(const json_t *obj, const char *key)
{
    json_int_t n = json_integer_value(json_object_get(obj, key));
    return n > 0 ? (uint64_t)n : 0;
}

void show_size(const json_t *obj, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(buf, len, "UNKNOWN");
}

const char *show_state_title(const char *state)
{
    enum xfer_state s;
    return state && xfer_state_parse(state, &s) ? xfer_state_title(s) : "UNKNOWN";
}

void show_list_line(FILE *f, const json_t *job)
{
    char done[32], total[32];
    show_size(job, "bytes_done", done, sizeof done);
    show_size(job, "bytes_total", total, sizeof total);
    fprintf(f, "%s '%s' %s %s / %s %s / %s\n", show_str(job, "job"), show_str(job, "name"),
            show_str(job, "state"), show_str(job, "files_done"), show_str(job, "files_total"), done,
            total);
}

void show_time(int64_t unix_ms, char *buf, size_t len)
{
    struct tm tm;
    time_t t = (time_t)(unix_ms / 1000);
    if (unix_ms <= 0 || !localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, len, "UNKNOWN");
}

static void show_owner(const json_t *job, char *buf, size_t len)
{
    const json_t *v = json_object_get(job, "owner");
    if (!json_is_integer(v)) {
        snprintf(buf, len, "UNKNOWN");
        return;
    }
    uid_t uid = (uid_t)json_integer_value(v);
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
        snprintf(buf, len, "%s (%u)", res->pw_name, (unsigned)uid);
    else
        snprintf(buf, len, "%u", (unsigned)uid);
}

/* The number of an error context named name (xfer_context_name's inverse), or -1. */
static int context_number(const char *name)
{
    for (int i = XFER_CTX_NONE; i <= XFER_CTX_SERVER_CERTIFICATE_CALLBACK; i++)
        if (name && strcmp(xfer_context_name((enum xfer_context)i), name) == 0)
            return i;
    return -1;
}

static void error_lines(FILE *f, const json_t *job, const json_t *err)
{
    const json_t *files = json_object_get(job, "files");
    json_int_t fi = json_integer_value(json_object_get(err, "file"));
    const json_t *file = json_is_integer(json_object_get(err, "file")) && fi >= 0
                             ? json_array_get(files, (size_t)fi)
                             : NULL;
    if (file)
        fprintf(f, "ERROR FILE:    %s -> %s\n", show_str(file, "url"), show_str(file, "path"));
    else if (json_is_integer(json_object_get(err, "file")) && fi >= 0)
        fprintf(f, "ERROR FILE:    file %" JSON_INTEGER_FORMAT "\n", fi);
    fprintf(f, "ERROR CODE:    %s - %s: %s\n", show_str(err, "hr"), show_str(err, "hr_name"),
            show_str(err, "message"));
    const char *ctx = show_str(err, "context");
    fprintf(f, "ERROR CONTEXT: 0x%08X - %s\n", (unsigned)context_number(ctx), ctx);
}

void show_info(FILE *f, const json_t *job, const json_t *extra, bool verbose)
{
    char done[32], total[32], owner[300], t1[32], t2[32], t3[32];
    show_size(job, "bytes_done", done, sizeof done);
    show_size(job, "bytes_total", total, sizeof total);
    show_owner(job, owner, sizeof owner);
    show_time(json_integer_value(json_object_get(job, "created_unix_ms")), t1, sizeof t1);
    show_time(json_integer_value(json_object_get(job, "modified_unix_ms")), t2, sizeof t2);
    show_time(json_integer_value(json_object_get(job, "transferred_unix_ms")), t3, sizeof t3);
    const char *type = show_str(job, "type");
    char utype[32];
    size_t i = 0;
    for (; type[i] && i + 1 < sizeof utype; i++)
        utype[i] = (char)(type[i] >= 'a' && type[i] <= 'z' ? type[i] - 'a' + 'A' : type[i]);
    utype[i] = '\0';

    fprintf(f, "GUID: %s DISPLAY: '%s'\n", show_str(job, "job"), show_str(job, "name"));
    fprintf(f, "TYPE: %s STATE: %s OWNER: %s\n", utype, show_str(job, "state"), owner);
    fprintf(f, "PRIORITY: %s FILES: %s / %s BYTES: %s / %s\n", show_str(job, "priority"),
            show_str(job, "files_done"), show_str(job, "files_total"), done, total);
    fprintf(f, "CREATION TIME: %s MODIFICATION TIME: %s\n", t1, t2);
    fprintf(f, "COMPLETION TIME: %s\n", t3);
    fprintf(f, "NOTIFICATION FLAGS: %s\n", show_str(job, "notify_flags"));
    fprintf(f, "RETRY DELAY: %s NO PROGRESS TIMEOUT: %s ERROR COUNT: %s\n",
            show_str(job, "min_retry_delay_s"), show_str(job, "no_progress_timeout_s"),
            show_str(job, "error_count"));
    const json_t *err = json_object_get(job, "error");
    if (json_is_object(err))
        error_lines(f, job, err);
    const char *cmd = show_str(job, "notify_cmdline");
    fprintf(f, "NOTIFICATION COMMAND LINE: %s\n", cmd[0] && strcmp(cmd, "UNKNOWN") ? cmd : "none");
    if (!verbose)
        return;
    const char *proxy = show_str(extra, "proxy");
    bool has_proxy = json_is_string(json_object_get(extra, "proxy")) && proxy[0];
    fprintf(f, "PROXY USAGE: %s PROXY LIST: %s\n", has_proxy ? "OVERRIDE" : "PRECONFIG",
            has_proxy ? proxy : "NULL");
    fprintf(f, "COST FLAGS: %s (%s)\n", show_str(job, "cost_flags"),
            show_str(extra, "cost_policy"));
    fprintf(f, "MAX DOWNLOAD TIME: %s DYNAMIC CONTENT: %s\n", show_str(job, "max_download_time_s"),
            show_str(job, "dynamic_content"));
    fprintf(f, "WINRT STATUS: %s\n", show_str(job, "winrt_status"));
    if (json_is_object(err))
        fprintf(f, "ERROR: %s (%s) WEB ERROR STATUS: %s INTERRUPT REASON: %s\n",
                show_str(err, "description"),
                json_is_true(json_object_get(err, "transient")) ? "transient" : "fatal",
                show_str(err, "web_error_status"), show_str(err, "interrupt_reason"));
    fprintf(f, "DESCRIPTION: %s\n", show_str(job, "description"));
    fprintf(f, "JOB FILES:\n");
    const json_t *files = json_object_get(job, "files");
    size_t k;
    const json_t *file;
    json_array_foreach(files, k, file)
    {
        char fd[32], ft[32];
        show_size(file, "bytes_done", fd, sizeof fd);
        show_size(file, "bytes_total", ft, sizeof ft);
        const char *status =
            json_is_true(json_object_get(file, "completed")) ? "COMPLETED" : "WORKING";
        fprintf(f, "\t%s / %s %s %s -> %s", fd, ft, status, show_str(file, "url"),
                show_str(file, "path"));
        if (show_u64(file, "ranges"))
            fprintf(f, " (%" PRIu64 " ranges)", show_u64(file, "ranges"));
        if (json_is_true(json_object_get(file, "has_restarted")))
            fprintf(f, " (restarted)");
        fputc('\n', f);
    }
}

void show_error(FILE *f, const json_t *job)
{
    const json_t *err = json_object_get(job, "error");
    error_lines(f, job, err);
    fprintf(f, "DESCRIPTION:   %s\n", show_str(err, "description"));
    fprintf(f, "CLASS:         %s\n",
            json_is_true(json_object_get(err, "transient")) ? "transient (TRANSIENT_ERROR, retried)"
                                                            : "fatal (ERROR, not retried)");
    fprintf(f, "WINRT STATUS:  %s\n", show_str(err, "winrt_status"));
    fprintf(f, "WEB ERROR:     %s\n", show_str(err, "web_error_status"));
    fprintf(f, "INTERRUPT:     %s\n", show_str(err, "interrupt_reason"));
}

void show_bar(char *buf, size_t len, uint64_t done, uint64_t total, bool known, int width)
{
    if (len < (size_t)width + 3)
        width = len > 3 ? (int)len - 3 : 0;
    int fill =
        known && total ? (int)((done >= total ? 1.0 : (double)done / (double)total) * width) : 0;
    size_t o = 0;
    buf[o++] = '[';
    for (int i = 0; i < width; i++)
        buf[o++] = i < fill ? '#' : (known ? '.' : '?');
    buf[o++] = ']';
    buf[o] = '\0';
}

void show_human(uint64_t n, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof unit / sizeof unit[0]) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%" PRIu64 " B", n);
    else
        snprintf(buf, len, "%.1f %s", v, unit[u]);
}

void show_progress_line(const json_t *job, int name_width, int bar_width, char *buf, size_t len)
{
    char name[300];
    snprintf(name, sizeof name, "'%s'", show_str(job, "name"));
    const json_t *tv = json_object_get(job, "bytes_total");
    bool known = json_is_integer(tv);
    uint64_t done = show_u64(job, "bytes_done"), total = show_u64(job, "bytes_total");
    char bar[128], hd[32], ht[32], pct[8];
    show_bar(bar, sizeof bar, done, total, known, bar_width);
    show_human(done, hd, sizeof hd);
    if (known)
        show_human(total, ht, sizeof ht);
    else
        snprintf(ht, sizeof ht, "UNKNOWN");
    if (known && total)
        snprintf(pct, sizeof pct, "%3u%%", (unsigned)(done >= total ? 100 : done * 100 / total));
    else
        snprintf(pct, sizeof pct, known ? "100%%" : "  ?%%");
    snprintf(buf, len, "%s %-*s %-15s %s %s %s / %s", show_str(job, "job"), name_width, name,
             show_str(job, "state"), bar, pct, hd, ht);
}
