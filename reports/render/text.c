/*
 * text: plain-text views of one result (see text.h). Each function reads the
 * result's arrays in order and writes lines; the failure view picks the jobs
 * and the moment the failures point at.
 */
#include "text.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "doc.h"

void rpt_fmt_ms(char *out, size_t len, int64_t ms)
{
    const char *sign = ms < 0 ? "-" : "";
    uint64_t v = ms < 0 ? (uint64_t)(-(ms + 1)) + 1 : (uint64_t)ms;
    uint64_t s = v / 1000, frac = v % 1000;
    if (v < 1000)
        snprintf(out, len, "%s%" PRIu64 "ms", sign, v);
    else if (s < 60)
        snprintf(out, len, "%s%" PRIu64 ".%03" PRIu64 "s", sign, s, frac);
    else if (s < 3600)
        snprintf(out, len, "%s%" PRIu64 "m%02" PRIu64 ".%01" PRIu64 "s", sign, s / 60, s % 60,
                 frac / 100);
    else if (s < 86400)
        snprintf(out, len, "%s%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", sign, s / 3600,
                 s / 60 % 60, s % 60);
    else
        snprintf(out, len, "%s%" PRIu64 "d%02" PRIu64 "h%02" PRIu64 "m", sign, s / 86400,
                 s / 3600 % 24, s / 60 % 60);
}

static void at(FILE *f, int64_t ms)
{
    char t[32];
    rpt_fmt_ms(t, sizeof t, ms);
    fprintf(f, "%10s", t);
}

void rpt_text_headline(FILE *f, const json_t *result)
{
    const char *file = rpt_str(result, "file", rpt_str(result, "scenario", "?"));
    switch (rpt_result_status(result)) {
    case RPT_PASSED:
        return;
    case RPT_FAILED:
        break;
    case RPT_ERROR:
    case RPT_HARNESS_ERROR: {
        const json_t *e = json_object_get(result, "error");
        if (json_is_object(e)) {
            int64_t line = rpt_int(e, "line", 0), col = rpt_int(e, "col", 0);
            fprintf(f, "%s", rpt_str(e, "file", file));
            if (line > 0)
                fprintf(f, ":%" PRId64, line);
            if (col > 0)
                fprintf(f, ":%" PRId64, col);
            fprintf(f, ": %s\n", rpt_str(e, "message", "error"));
            const char *ex = rpt_str(e, "excerpt", NULL);
            if (ex && *ex)
                fprintf(f, "%s%s", ex, ex[strlen(ex) - 1] == '\n' ? "" : "\n");
        } else {
            fprintf(f, "%s: %s (no error recorded)\n", file, rpt_str(result, "status", "?"));
        }
        break;
    }
    case RPT_TIMEOUT: {
        char t[32];
        rpt_fmt_ms(t, sizeof t, rpt_int(result, "wall_ms", 0));
        fprintf(f, "%s: stopped at its time limit (%s wall", file, t);
        rpt_fmt_ms(t, sizeof t, rpt_int(result, "sim_ms", 0));
        fprintf(f, ", %s simulated)\n", t);
        const json_t *e = json_object_get(result, "error");
        if (json_is_object(e))
            fprintf(f, "  %s\n", rpt_str(e, "message", ""));
        break;
    }
    }
    size_t i;
    const json_t *x;
    json_array_foreach(rpt_arr(result, "failures"), i, x)
    {
        fprintf(f, "%s:%" PRId64 ": expected %s, got %s\n", rpt_str(x, "file", file),
                rpt_int(x, "line", 0), rpt_str(x, "expected", "?"), rpt_str(x, "got", "?"));
    }
}

void rpt_text_states(FILE *f, const json_t *job)
{
    fprintf(f, "  job %s %s\n", rpt_str(job, "id", "?"), rpt_str(job, "guid", ""));
    size_t i;
    const json_t *s;
    json_array_foreach(rpt_arr(job, "states"), i, s)
    {
        at(f, rpt_int(s, "sim_ms", 0));
        fprintf(f, "  %-16s -> %-16s", rpt_str(s, "old", "-"), rpt_str(s, "new", "?"));
        const char *hr = rpt_str(s, "hr", NULL);
        const char *name = rpt_str(s, "hr_name", NULL);
        if (hr && strcmp(hr, "0x00000000") != 0)
            fprintf(f, " %s%s%s", hr, name ? " " : "", name ? name : "");
        const char *cause = rpt_str(s, "cause", NULL);
        if (cause)
            fprintf(f, "  (%s)", cause);
        fputc('\n', f);
    }
}

void rpt_text_requests(FILE *f, const json_t *result, int64_t from_ms, int64_t to_ms, size_t max)
{
    size_t i, shown = 0, skipped = 0;
    const json_t *r;
    json_array_foreach(rpt_arr(result, "requests"), i, r)
    {
        int64_t t = rpt_int(r, "sim_ms", 0);
        if (t < from_ms || t > to_ms || shown >= max) {
            skipped++;
            continue;
        }
        shown++;
        at(f, t);
        fprintf(f, "  #%" PRId64 " %s %s %s%s", rpt_int(r, "id", 0), rpt_str(r, "origin", "?"),
                rpt_str(r, "method", "?"), rpt_str(r, "target", "?"),
                json_is_string(json_object_get(r, "range")) ? " Range: " : "");
        fprintf(f, "%s -> %" PRId64 ", %" PRId64 " bytes, %s", rpt_str(r, "range", ""),
                rpt_int(r, "status", 0), rpt_int(r, "sent", 0), rpt_str(r, "outcome", "?"));
        const char *fired = rpt_str(r, "fired", NULL);
        if (fired && *fired)
            fprintf(f, " [fault: %s]", fired);
        fputc('\n', f);
    }
    if (shown == 0 && skipped == 0)
        fprintf(f, "  (no requests)\n");
    else if (skipped)
        fprintf(f, "  (%zu more requests not shown)\n", skipped);
}

void rpt_text_log(FILE *f, const json_t *result, size_t n)
{
    const char *log = rpt_str(result, "log_tail", NULL);
    if (!log || !*log) {
        fprintf(f, "  (no log)\n");
        return;
    }
    /* Find the start of the last n lines. */
    const char *end = log + strlen(log);
    if (end > log && end[-1] == '\n')
        end--;
    const char *start = end;
    size_t lines = 0;
    while (start > log) {
        if (start[-1] == '\n' && ++lines == n)
            break;
        start--;
    }
    while (start < end) {
        const char *nl = memchr(start, '\n', (size_t)(end - start));
        size_t len = nl ? (size_t)(nl - start) : (size_t)(end - start);
        fprintf(f, "  | %.*s\n", (int)len, start);
        start += len + 1;
    }
}

/* Whether text names job id as a whole word. */
static bool names_job(const char *text, const char *id)
{
    size_t n = strlen(id);
    if (!text || n == 0)
        return false;
    for (const char *p = strstr(text, id); p; p = strstr(p + 1, id)) {
        bool left = p == text || !(p[-1] == '_' || p[-1] == '-' || (p[-1] >= '0' && p[-1] <= '9') ||
                                   ((p[-1] | 0x20) >= 'a' && (p[-1] | 0x20) <= 'z'));
        char c = p[n];
        bool right = !(c == '_' || c == '-' || (c >= '0' && c <= '9') ||
                       ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'));
        if (left && right)
            return true;
    }
    return false;
}

void rpt_text_failure(FILE *f, const json_t *result, size_t log_lines)
{
    rpt_text_headline(f, result);
    const json_t *failures = rpt_arr(result, "failures");
    const json_t *jobs = rpt_arr(result, "jobs");
    size_t i, j;
    const json_t *job, *x;
    bool any_named = false;
    json_array_foreach(jobs, i, job)
    {
        json_array_foreach(failures, j, x)
        {
            if (names_job(rpt_str(x, "source", NULL), rpt_str(job, "id", "")))
                any_named = true;
        }
    }
    if (json_array_size(jobs))
        fprintf(f, "state history:\n");
    json_array_foreach(jobs, i, job)
    {
        bool named = !any_named;
        json_array_foreach(failures, j, x)
        {
            if (names_job(rpt_str(x, "source", NULL), rpt_str(job, "id", "")))
                named = true;
        }
        if (named)
            rpt_text_states(f, job);
    }
    /* The moment: the first failure's, else the end of the run. */
    int64_t moment = rpt_int(result, "sim_ms", 0);
    if (json_array_size(failures))
        moment = rpt_int(json_array_get(failures, 0), "sim_ms", moment);
    if (json_array_size(rpt_arr(result, "requests"))) {
        char t[32];
        rpt_fmt_ms(t, sizeof t, moment);
        fprintf(f, "requests up to %s:\n", t);
        rpt_text_requests(f, result, INT64_MIN, moment, 40);
    }
    const char *log = rpt_str(result, "log_tail", NULL);
    if (log_lines && log && *log) {
        fprintf(f, "xferd log (last lines):\n");
        rpt_text_log(f, result, log_lines);
    }
}

static void timeline(FILE *f, const json_t *result, bool marks)
{
    size_t i;
    const json_t *e;
    json_array_foreach(rpt_arr(result, "timeline"), i, e)
    {
        at(f, rpt_int(e, "sim_ms", 0));
        /* x: anything that failed; +: an expectation that held. */
        const json_t *ok = json_object_get(e, "ok");
        bool expect = strcmp(rpt_str(e, "kind", ""), "expect") == 0;
        const char *mark = !marks                       ? " "
                           : json_is_false(ok)          ? "x"
                           : expect && json_is_true(ok) ? "+"
                                                        : " ";
        fprintf(f, " %s %-8s", mark, rpt_str(e, "kind", "?"));
        int64_t line = rpt_int(e, "line", 0);
        if (line > 0)
            fprintf(f, " L%-4" PRId64, line);
        fprintf(f, " %s\n", rpt_str(e, "text", ""));
    }
}

void rpt_text_summary(FILE *f, const json_t *result)
{
    char w[32], s[32];
    rpt_fmt_ms(w, sizeof w, rpt_int(result, "wall_ms", 0));
    rpt_fmt_ms(s, sizeof s, rpt_int(result, "sim_ms", 0));
    fprintf(f, "%s\n%s  seed %" PRId64 "  wall %s  simulated %s\n", rpt_str(result, "title", ""),
            rpt_str(result, "file", ""), rpt_int(result, "seed", 0), w, s);
    rpt_text_headline(f, result);
    fprintf(f, "timeline:\n");
    timeline(f, result, true);
}

void rpt_text_trace(FILE *f, const json_t *result)
{
    rpt_text_summary(f, result);
    size_t i;
    const json_t *job;
    const json_t *jobs = rpt_arr(result, "jobs");
    if (json_array_size(jobs))
        fprintf(f, "state history:\n");
    json_array_foreach(jobs, i, job)
    {
        rpt_text_states(f, job);
    }
    fprintf(f, "requests:\n");
    rpt_text_requests(f, result, INT64_MIN, INT64_MAX, SIZE_MAX);
}
