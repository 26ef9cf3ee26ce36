/*
 * html: the run as one self-contained page (index.html). No network: the
 * styles are inline, the pictures are inline SVG (svg.c), and the only script
 * is a few inline lines that hide passed scenarios on request.
 *
 * The page: a header with the run's facts, the summary counts, a table of
 * every result (linking to its section), the legend, then one section per
 * result: the headline of what went wrong, the timeline picture, and the
 * detail behind it (expectations with a check or a cross, the error, each
 * job's state history, the requests, the whole timeline, xferd's log).
 * Failed scenarios come open; passed ones keep their detail folded.
 * Every text goes through the escaper (esc.h), and the markup is also
 * well-formed XML (void elements self-closed), so a test can check it with
 * an XML checker.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doc.h"
#include "esc.h"
#include "palette.h"
#include "report.h"
#include "text.h"
#include "xfer/xfer.h"

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:12px;"
    "color:#212121}\n"
    "h1{font-size:20px;margin:4px 0}h2{font-size:16px;margin:0 0 4px}h3{font-size:14px;"
    "margin:10px 0 4px}\n"
    "table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ddd;padding:2px 6px;"
    "text-align:left;vertical-align:top}th{background:#f5f5f5}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".pill{display:inline-block;padding:2px 10px;border-radius:10px;margin-right:6px;"
    "color:#fff;font-weight:600}\n"
    ".passed{background:#2e7d32}.failed{background:#d32f2f}.error{background:#6a1b9a}"
    ".timeout{background:#ef6c00}.harness-error{background:#424242}.total{background:#546e7a}\n"
    "section{border:1px solid #ddd;border-left:6px solid #2e7d32;border-radius:4px;"
    "padding:8px 10px;margin:14px 0}\n"
    "section.st-failed{border-left-color:#d32f2f}section.st-error{border-left-color:#6a1b9a}"
    "section.st-timeout{border-left-color:#ef6c00}"
    "section.st-harness-error{border-left-color:#424242}\n"
    ".meta{color:#616161;font-size:12px}pre{background:#fafafa;border:1px solid #eee;"
    "padding:6px;overflow:auto;font-size:12px;margin:4px 0}\n"
    "pre.bad{background:#ffebee;border-color:#ffcdd2}\n"
    ".ok{color:#2e7d32;font-weight:700}.bad{color:#d32f2f;font-weight:700}\n"
    "svg.tl{width:100%;height:auto;background:#fff;border:1px solid #eee}\n"
    "svg .lbl{font-size:10px;fill:#616161}svg .band{font-size:10px;fill:#212121}"
    "svg .tick{font-size:10px;fill:#616161;text-anchor:middle}"
    "svg .job{font-size:11px;font-weight:700;text-anchor:end}\n"
    "svg .frame{fill:none;stroke:#e0e0e0}svg .axis{stroke:#9e9e9e}\n"
    ".sw{display:inline-block;width:12px;height:12px;border:1px solid #999;"
    "vertical-align:middle;margin:0 3px 0 10px}\n"
    "body.only-bad section.st-passed,body.only-bad tr.st-passed{display:none}\n";

static const char script[] =
    "document.getElementById('onlybad').addEventListener('change',function(e){"
    "document.body.classList.toggle('only-bad',e.target.checked);});\n";

static void ms_cell(FILE *f, int64_t ms)
{
    char t[32];
    rpt_fmt_ms(t, sizeof t, ms);
    fprintf(f, "<td class=\"n\">%s</td>", t);
}

static void td(FILE *f, const char *s)
{
    fputs("<td>", f);
    rpt_esc(f, s);
    fputs("</td>", f);
}

static void header(FILE *f, const json_t *doc)
{
    const json_t *run = json_object_get(doc, "run");
    fputs("<h1>xferlab ", f);
    rpt_esc(f, rpt_str(run, "id", ""));
    fputs("</h1>\n<p class=\"meta\">", f);
    int64_t started = rpt_int(run, "started_unix_ms", 0);
    if (started > 0) {
        time_t secs = (time_t)(started / 1000);
        struct tm tm;
        char when[64];
        if (gmtime_r(&secs, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm))
            fprintf(f, "started %s · ", when);
    }
    char t[32];
    rpt_fmt_ms(t, sizeof t, rpt_int(run, "wall_ms", 0));
    fprintf(f, "wall %s · -j %" PRId64, t, rpt_int(run, "jobs", 0));
    const json_t *seed = json_object_get(run, "seed");
    if (json_is_integer(seed))
        fprintf(f, " · seed %" PRId64, (int64_t)json_integer_value(seed));
    const char *shard = rpt_str(run, "shard", NULL), *filter = rpt_str(run, "filter", NULL);
    if (shard) {
        fputs(" · shard ", f);
        rpt_esc(f, shard);
    }
    if (filter) {
        fputs(" · filter ", f);
        rpt_esc(f, filter);
    }
    if (rpt_int(run, "repeat", 1) > 1)
        fprintf(f, " · repeat %" PRId64, rpt_int(run, "repeat", 1));
    fputs("<br/>", f);
    size_t i;
    const json_t *a;
    json_array_foreach(rpt_arr(run, "argv"), i, a)
    {
        if (i)
            fputc(' ', f);
        rpt_esc(f, json_string_value(a));
    }
    fputs("</p>\n", f);
}

static void summary(FILE *f, const json_t *results)
{
    struct rpt_counts c;
    rpt_count(results, &c);
    fprintf(f, "<p><span class=\"pill total\">%zu scenarios</span>", c.total);
    for (int s = 0; s < RPT_STATUS_COUNT; s++) {
        if (c.by[s] == 0 && s != RPT_PASSED && s != RPT_FAILED)
            continue;
        const char *name = rpt_status_name((enum rpt_status)s);
        fprintf(f, "<span class=\"pill %s\">%zu %s</span>", name, c.by[s], name);
    }
    fputs(" <label><input type=\"checkbox\" id=\"onlybad\"/> show only what did not pass"
          "</label></p>\n",
          f);
    const char *flaky[16];
    size_t nf = rpt_flaky(results, flaky, 16);
    if (nf) {
        fprintf(f, "<p class=\"bad\">flaky (%zu): ", nf);
        for (size_t i = 0; i < nf && i < 16; i++) {
            if (i)
                fputs(", ", f);
            rpt_esc(f, flaky[i]);
        }
        fputs("</p>\n", f);
    }
}

static void table(FILE *f, const json_t *results)
{
    fputs("<table><tr><th>scenario</th><th>status</th><th>wall</th><th>simulated</th>"
          "<th>what went wrong</th></tr>\n",
          f);
    size_t i;
    const json_t *r;
    json_array_foreach(results, i, r)
    {
        const char *st = rpt_status_name(rpt_result_status(r));
        fprintf(f, "<tr class=\"st-%s\"><td><a href=\"#s%zu\">", st, i);
        rpt_esc(f, rpt_str(r, "scenario", "?"));
        if (rpt_int(r, "attempt", 1) > 1)
            fprintf(f, " #%" PRId64, rpt_int(r, "attempt", 1));
        fprintf(f, "</a></td><td><span class=\"pill %s\">%s</span></td>", st, st);
        ms_cell(f, rpt_int(r, "wall_ms", 0));
        ms_cell(f, rpt_int(r, "sim_ms", 0));
        fputs("<td>", f);
        char *head = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&head, &len);
        if (m) {
            rpt_text_headline(m, r);
            if (fclose(m) == 0 && head)
                rpt_esc_n(f, head, strcspn(head, "\n"));
        }
        free(head);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void swatch(FILE *f, const char *color, const char *what)
{
    fprintf(f, "<span class=\"sw\" style=\"background:%s\"></span>", color);
    rpt_esc(f, what);
}

static void legend(FILE *f)
{
    fputs("<p class=\"meta\"><b>network</b>", f);
    swatch(f, rpt_network_color("internet", "unrestricted"), "unrestricted");
    swatch(f, rpt_network_color("internet", "fixed"), "fixed (metered)");
    swatch(f, rpt_network_color("internet", "variable"), "variable (pay per use)");
    swatch(f, rpt_network_color("local", NULL), "local only");
    swatch(f, rpt_network_color("none", NULL), "no network");
    swatch(f, RPT_COLOR_ROAMING, "hatched: roaming");
    swatch(f, RPT_COLOR_FAIL, "red edge: over the data limit");
    fputs("<br/><b>battery</b>", f);
    swatch(f, RPT_COLOR_BATTERY, "level");
    swatch(f, RPT_COLOR_SAVER, "battery saver on");
    fputs("<br/><b>states</b>", f);
    for (int s = 0; s < XFER_STATE_COUNT; s++)
        swatch(f, rpt_state_color(xfer_state_name((enum xfer_state)s)),
               xfer_state_name((enum xfer_state)s));
    fputs("<br/><b>events</b>", f);
    const char *kinds[] = {"action", "fault", "link", "xferd", "notify", "expect"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        swatch(f, rpt_kind_color(kinds[i]), kinds[i]);
    swatch(f, RPT_COLOR_FAIL, "failed expectation (cross and dashed line)");
    fputs("<br/>Hover over any band, dot or marker for its detail.</p>\n", f);
}

static void expectations(FILE *f, const json_t *r)
{
    size_t i, shown = 0;
    const json_t *e;
    fputs("<h3>Expectations</h3>\n<table>", f);
    json_array_foreach(rpt_arr(r, "timeline"), i, e)
    {
        if (strcmp(rpt_str(e, "kind", ""), "expect") != 0)
            continue;
        shown++;
        bool ok = !json_is_false(json_object_get(e, "ok"));
        fprintf(f, "<tr><td class=\"%s\">%s</td>", ok ? "ok" : "bad", ok ? "✓" : "✗");
        ms_cell(f, rpt_int(e, "sim_ms", 0));
        fprintf(f, "<td class=\"n\">line %" PRId64 "</td>", rpt_int(e, "line", 0));
        td(f, rpt_str(e, "text", ""));
        fputs("</tr>\n", f);
    }
    json_array_foreach(rpt_arr(r, "failures"), i, e)
    {
        shown++;
        fputs("<tr><td class=\"bad\">✗</td>", f);
        ms_cell(f, rpt_int(e, "sim_ms", 0));
        fprintf(f, "<td class=\"n\">line %" PRId64 "</td><td><code>", rpt_int(e, "line", 0));
        rpt_esc(f, rpt_str(e, "source", ""));
        fputs("</code><br/>expected ", f);
        rpt_esc(f, rpt_str(e, "expected", "?"));
        fputs(", <b>got ", f);
        rpt_esc(f, rpt_str(e, "got", "?"));
        fputs("</b></td></tr>\n", f);
    }
    if (!shown)
        fputs("<tr><td>(none recorded)</td></tr>", f);
    fputs("</table>\n", f);
}

static void states(FILE *f, const json_t *r)
{
    size_t k, i;
    const json_t *job, *s;
    json_array_foreach(rpt_arr(r, "jobs"), k, job)
    {
        fprintf(f, "<h3><span class=\"sw\" style=\"background:%s\"></span>job ", rpt_job_color(k));
        rpt_esc(f, rpt_str(job, "id", "?"));
        fputs(" <span class=\"meta\">", f);
        rpt_esc(f, rpt_str(job, "guid", ""));
        fprintf(f, " · %" PRId64 " bytes</span></h3>\n", rpt_int(job, "total", -1));
        fputs("<table><tr><th>time</th><th>from</th><th>to</th><th>HRESULT</th><th>error</th>"
              "<th>cause</th></tr>\n",
              f);
        json_array_foreach(rpt_arr(job, "states"), i, s)
        {
            fputs("<tr>", f);
            ms_cell(f, rpt_int(s, "sim_ms", 0));
            td(f, rpt_str(s, "old", "-"));
            fprintf(f, "<td><span class=\"sw\" style=\"background:%s\"></span>",
                    rpt_state_color(rpt_str(s, "new", "")));
            rpt_esc(f, rpt_str(s, "new", "?"));
            fputs("</td>", f);
            td(f, rpt_str(s, "hr", ""));
            td(f, rpt_str(s, "hr_name", ""));
            td(f, rpt_str(s, "cause", ""));
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
}

static void requests(FILE *f, const json_t *r)
{
    const json_t *reqs = rpt_arr(r, "requests");
    fprintf(f, "<h3>Requests (%zu)</h3>\n", json_array_size(reqs));
    if (!json_array_size(reqs))
        return;
    fputs("<table><tr><th>time</th><th>#</th><th>origin</th><th>conn</th><th>method</th>"
          "<th>target</th><th>range</th><th>status</th><th>sent</th><th>outcome</th>"
          "<th>fault</th></tr>\n",
          f);
    size_t i;
    const json_t *q;
    json_array_foreach(reqs, i, q)
    {
        fputs("<tr>", f);
        ms_cell(f, rpt_int(q, "sim_ms", 0));
        fprintf(f, "<td class=\"n\">%" PRId64 "</td>", rpt_int(q, "id", 0));
        td(f, rpt_str(q, "origin", ""));
        fprintf(f, "<td class=\"n\">%" PRId64 "</td>", rpt_int(q, "conn", 0));
        td(f, rpt_str(q, "method", ""));
        td(f, rpt_str(q, "target", ""));
        td(f, rpt_str(q, "range", ""));
        fprintf(f, "<td class=\"n\">%" PRId64 "</td><td class=\"n\">%" PRId64 "</td>",
                rpt_int(q, "status", 0), rpt_int(q, "sent", 0));
        td(f, rpt_str(q, "outcome", ""));
        td(f, rpt_str(q, "fired", ""));
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void timeline(FILE *f, const json_t *r)
{
    const json_t *tl = rpt_arr(r, "timeline");
    fprintf(f, "<h3>Timeline (%zu)</h3>\n<table>", json_array_size(tl));
    size_t i;
    const json_t *e;
    json_array_foreach(tl, i, e)
    {
        const json_t *ok = json_object_get(e, "ok");
        fputs("<tr>", f);
        ms_cell(f, rpt_int(e, "sim_ms", 0));
        fprintf(f, "<td><span class=\"sw\" style=\"background:%s\"></span>",
                json_is_false(ok) ? RPT_COLOR_FAIL : rpt_kind_color(rpt_str(e, "kind", "")));
        rpt_esc(f, rpt_str(e, "kind", ""));
        fputs("</td>", f);
        int64_t line = rpt_int(e, "line", 0);
        if (line > 0)
            fprintf(f, "<td class=\"n\">%" PRId64 "</td>", line);
        else
            fputs("<td></td>", f);
        fprintf(f, "<td%s>", json_is_false(ok) ? " class=\"bad\"" : "");
        rpt_esc(f, rpt_str(e, "text", ""));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void covers(FILE *f, const json_t *r)
{
    const json_t *c = json_object_get(r, "covers");
    const char *keys[] = {"codes", "interrupts", "states"};
    bool any = false;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const json_t *arr = rpt_arr(c, keys[k]);
        if (!json_array_size(arr))
            continue;
        fprintf(f, "%s%s: ", any ? " · " : "<br/>covers ", keys[k]);
        any = true;
        size_t i;
        const json_t *v;
        json_array_foreach(arr, i, v)
        {
            if (i)
                fputs(", ", f);
            rpt_esc(f, json_string_value(v));
        }
    }
}

static void section(FILE *f, const json_t *r, size_t idx)
{
    enum rpt_status st = rpt_result_status(r);
    const char *name = rpt_status_name(st);
    fprintf(f, "<section id=\"s%zu\" class=\"st-%s\">\n<h2><span class=\"pill %s\">%s</span>", idx,
            name, name, name);
    rpt_esc(f, rpt_str(r, "scenario", "?"));
    if (rpt_int(r, "attempt", 1) > 1)
        fprintf(f, " #%" PRId64, rpt_int(r, "attempt", 1));
    fputs(" — ", f);
    rpt_esc(f, rpt_str(r, "title", ""));
    fputs("</h2>\n<p class=\"meta\">", f);
    rpt_esc(f, rpt_str(r, "file", ""));
    char w[32], s[32];
    rpt_fmt_ms(w, sizeof w, rpt_int(r, "wall_ms", 0));
    rpt_fmt_ms(s, sizeof s, rpt_int(r, "sim_ms", 0));
    fprintf(f, " · seed %" PRId64 " · wall %s · simulated %s", rpt_int(r, "seed", 0), w, s);
    covers(f, r);
    fputs("</p>\n", f);
    if (st != RPT_PASSED) {
        char *head = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&head, &len);
        if (m) {
            rpt_text_headline(m, r);
            if (fclose(m) == 0 && head && *head) {
                fputs("<pre class=\"bad\">", f);
                rpt_esc(f, head);
                fputs("</pre>\n", f);
            }
        }
        free(head);
    }
    rpt_write_svg(f, r, idx);
    fprintf(f, "<details%s><summary>detail</summary>\n", st == RPT_PASSED ? "" : " open=\"open\"");
    expectations(f, r);
    states(f, r);
    requests(f, r);
    timeline(f, r);
    fputs("<h3>xferd log (tail)</h3>\n<pre>", f);
    rpt_esc(f, rpt_str(r, "log_tail", "(none)"));
    fputs("</pre>\n</details>\n</section>\n", f);
}

void rpt_write_html(FILE *f, const json_t *doc)
{
    const json_t *results = rpt_arr(doc, "results");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>"
          "xferlab ",
          f);
    rpt_esc(f, rpt_str(json_object_get(doc, "run"), "id", ""));
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
    header(f, doc);
    summary(f, results);
    table(f, results);
    legend(f);
    size_t i;
    const json_t *r;
    json_array_foreach(results, i, r)
    {
        section(f, r, i);
    }
    fprintf(f, "<script>\n%s</script>\n</body>\n</html>\n", script);
}
