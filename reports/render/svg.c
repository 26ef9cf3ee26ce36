/*
 * svg: the timeline picture of one scenario, an inline <svg> drawn from the
 * result's series. Simulated time runs left to right over the whole run.
 * From the top:
 *   network  one band per network state, colored by connectivity and cost
 *            (palette.h), hatched while roaming, a red edge while over the
 *            data limit; the title of each band says all of it
 *   battery  the level as a line (0..100 %), shaded while battery saver is on
 *   script   markers for the script's actions, faults and expectations (a
 *            red cross when one failed)
 *   system   markers for what the world did: link events, xferd starting,
 *            dying and being told the platform, notifications, notes
 *   bytes    bytes done over time, one stepped line per job (each progress
 *            sample holds until the next), with a dot at each state change
 *            colored by the new state
 *   requests one tick per request: grey when it completed, orange while still
 *            pending at the end, red when it ended any other way
 *   axis     time ticks
 * Every marker has a <title> (a tooltip in any browser), so the picture is
 * readable without the tables below it. Failed expectations also draw a red
 * dashed line through the whole picture.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "doc.h"
#include "esc.h"
#include "journal.h"
#include "palette.h"
#include "report.h"
#include "text.h"

#define W      960.0
#define LEFT   76.0
#define RIGHT  12.0
#define NET_Y  6.0
#define NET_H  18.0
#define BAT_Y  30.0
#define BAT_H  22.0
#define EV_Y   58.0 /* the script: actions, faults, expectations */
#define EV_H   16.0
#define SYS_Y  78.0 /* the system: link, xferd, notifications, notes */
#define PLOT_Y 102.0
#define PLOT_H 150.0
#define REQ_Y  258.0
#define REQ_H  10.0
#define AXIS_Y 274.0
#define H      292.0

struct scale {
    int64_t end_ms; /* right edge */
    double max_bytes;
};

static double xpos(const struct scale *s, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms > s->end_ms)
        ms = s->end_ms;
    return LEFT + (W - LEFT - RIGHT) * (double)ms / (double)s->end_ms;
}

static double ypos(const struct scale *s, double bytes)
{
    if (bytes < 0)
        bytes = 0;
    return PLOT_Y + PLOT_H - PLOT_H * bytes / s->max_bytes;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* The latest time anything in the result happened, and the largest byte count. */
static void measure(const json_t *r, struct scale *s)
{
    int64_t end = rpt_int(r, "sim_ms", 0);
    double maxb = 0;
    const char *series[] = {"timeline", "network", "battery", "requests", "failures"};
    size_t i, k;
    const json_t *e, *job;
    for (k = 0; k < sizeof series / sizeof series[0]; k++) {
        json_array_foreach(rpt_arr(r, series[k]), i, e)
        {
            end = max64(end, rpt_int(e, "sim_ms", 0));
        }
    }
    json_array_foreach(rpt_arr(r, "jobs"), k, job)
    {
        double total = (double)rpt_int(job, "total", -1);
        if (total > maxb)
            maxb = total;
        json_array_foreach(rpt_arr(job, "progress"), i, e)
        {
            end = max64(end, (int64_t)json_number_value(json_array_get(e, 0)));
            double b = json_number_value(json_array_get(e, 1));
            if (b > maxb)
                maxb = b;
        }
        json_array_foreach(rpt_arr(job, "states"), i, e)
        {
            end = max64(end, rpt_int(e, "sim_ms", 0));
        }
    }
    s->end_ms = end > 0 ? end : 1;
    s->max_bytes = maxb > 0 ? maxb : 1;
}

static void title(FILE *f, int64_t ms, const char *a, const char *b)
{
    char t[32];
    rpt_fmt_ms(t, sizeof t, ms);
    fprintf(f, "<title>%s ", t);
    rpt_esc(f, a);
    if (b && *b) {
        fputc(' ', f);
        rpt_esc(f, b);
    }
    fputs("</title>", f);
}

static void label(FILE *f, double y, const char *text)
{
    fprintf(f, "<text x=\"4\" y=\"%.1f\" class=\"lbl\">%s</text>\n", y, text);
}

static void network(FILE *f, const json_t *r, const struct scale *s, size_t idx)
{
    const json_t *net = rpt_arr(r, "network");
    size_t n = json_array_size(net);
    label(f, NET_Y + 13, "network");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(net, i);
        int64_t t0 = rpt_int(e, "sim_ms", 0);
        int64_t t1 = i + 1 < n ? rpt_int(json_array_get(net, i + 1), "sim_ms", 0) : s->end_ms;
        double x0 = xpos(s, t0), x1 = xpos(s, t1);
        double w = x1 - x0 < 1 ? 1 : x1 - x0;
        const char *conn = rpt_str(e, "connectivity", "?"), *cost = rpt_str(e, "cost", "?");
        bool roaming = rpt_bool(e, "roaming", false), over = rpt_bool(e, "over_limit", false);
        char t[32], what[256];
        rpt_fmt_ms(t, sizeof t, t1);
        snprintf(what, sizeof what, "to %s: %s, %s, %s%s%s, usage %" PRId64 " bytes", t,
                 rpt_str(e, "name", "?"), conn, cost, roaming ? ", roaming" : "",
                 over ? ", OVER THE DATA LIMIT" : "", rpt_int(e, "usage", 0));
        fprintf(f, "<g><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                x0, NET_Y, w, NET_H, rpt_network_color(conn, cost));
        if (roaming)
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"url(#hatch%zu)\"/>",
                    x0, NET_Y, w, NET_H, idx);
        if (over)
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"4\" fill=\"%s\"/>", x0,
                    NET_Y + NET_H - 4, w, RPT_COLOR_FAIL);
        if (w > 40) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"band\">", x0 + 3, NET_Y + 13);
            rpt_esc(f, rpt_str(e, "name", ""));
            fputs("</text>", f);
        }
        title(f, t0, what, NULL);
        fputs("</g>\n", f);
    }
    if (n == 0)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"lbl\">(not recorded)</text>\n", LEFT,
                NET_Y + 13);
}

static void battery(FILE *f, const json_t *r, const struct scale *s)
{
    const json_t *bat = rpt_arr(r, "battery");
    size_t n = json_array_size(bat);
    bool present = false;
    for (size_t i = 0; i < n; i++)
        present = present || rpt_bool(json_array_get(bat, i), "present", false);
    label(f, BAT_Y + 15, "battery");
    if (!present) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"lbl\">(mains power)</text>\n", LEFT,
                BAT_Y + 15);
        return;
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n",
            LEFT, BAT_Y, W - LEFT - RIGHT, BAT_H);
    /* Saver shading and a tooltip per entry, then the level as one step line. */
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(bat, i);
        int64_t t0 = rpt_int(e, "sim_ms", 0);
        int64_t t1 = i + 1 < n ? rpt_int(json_array_get(bat, i + 1), "sim_ms", 0) : s->end_ms;
        double x0 = xpos(s, t0), x1 = xpos(s, t1);
        char what[160];
        snprintf(what, sizeof what, "battery %.1f%%%s%s%s", rpt_num(e, "level", 0),
                 rpt_bool(e, "charging", false) ? ", charging" : "",
                 rpt_bool(e, "saver", false) ? ", battery saver ON" : "",
                 rpt_bool(e, "present", true) ? "" : ", no battery");
        fprintf(f,
                "<g><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                "fill-opacity=\"%s\"/>",
                x0, BAT_Y, x1 - x0 < 1 ? 1 : x1 - x0, BAT_H,
                rpt_bool(e, "saver", false) ? RPT_COLOR_SAVER : "#ffffff",
                rpt_bool(e, "saver", false) ? "1" : "0");
        title(f, t0, what, NULL);
        fputs("</g>\n", f);
    }
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
            RPT_COLOR_BATTERY);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(bat, i);
        int64_t t0 = rpt_int(e, "sim_ms", 0);
        int64_t t1 = i + 1 < n ? rpt_int(json_array_get(bat, i + 1), "sim_ms", 0) : s->end_ms;
        double y = BAT_Y + BAT_H - BAT_H * rpt_num(e, "level", 0) / 100.0;
        fprintf(f, "%.1f,%.1f %.1f,%.1f ", xpos(s, t0), y, xpos(s, t1), y);
    }
    fputs("\"/>\n", f);
}

/* Whether a timeline kind is the script's doing (else the system's). */
static bool scripted(const char *kind)
{
    return strcmp(kind, "action") == 0 || strcmp(kind, "fault") == 0 || strcmp(kind, "expect") == 0;
}

/* A marker glyph at x in the script's or the system's row. */
static void marker(FILE *f, double x, const char *kind, bool failed)
{
    const char *c = failed ? RPT_COLOR_FAIL : rpt_kind_color(kind);
    double y = (failed || scripted(kind) ? EV_Y : SYS_Y) + EV_H / 2;
    if (failed)
        fprintf(f,
                "<path d=\"M%.1f %.1f l10 10 m0 -10 l-10 10\" stroke=\"%s\" stroke-width=\"3\"/>",
                x - 5, y - 5, c);
    else if (strcmp(kind, "action") == 0)
        fprintf(f, "<path d=\"M%.1f %.1f l10 0 l-5 9 z\" fill=\"%s\"/>", x - 5, y - 5, c);
    else if (strcmp(kind, "fault") == 0)
        fprintf(f, "<path d=\"M%.1f %.1f l5 6 l-5 6 l-5 -6 z\" fill=\"%s\"/>", x, y - 6, c);
    else if (strcmp(kind, "expect") == 0)
        fprintf(f,
                "<path d=\"M%.1f %.1f l3 4 l6 -8\" stroke=\"%s\" stroke-width=\"2\" "
                "fill=\"none\"/>",
                x - 4, y, c);
    else
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\" fill=\"%s\"/>", x - 3.5,
                y - 3.5, c);
}

static void events(FILE *f, const json_t *r, const struct scale *s)
{
    label(f, EV_Y + 12, "script");
    label(f, SYS_Y + 12, "system");
    size_t i;
    const json_t *e;
    json_array_foreach(rpt_arr(r, "timeline"), i, e)
    {
        const char *kind = rpt_str(e, "kind", "note");
        /* States sit on the job lines and requests on their own row. */
        if (strcmp(kind, "state") == 0 || strcmp(kind, "request") == 0)
            continue;
        const json_t *ok = json_object_get(e, "ok");
        bool failed = json_is_false(ok);
        int64_t t = rpt_int(e, "sim_ms", 0);
        char what[64];
        snprintf(what, sizeof what, "%s%s (line %" PRId64 "):", kind, failed ? " FAILED" : "",
                 rpt_int(e, "line", 0));
        fputs("<g>", f);
        marker(f, xpos(s, t), kind, failed);
        title(f, t, what, rpt_str(e, "text", ""));
        fputs("</g>\n", f);
    }
    /* Failed expectations: a dashed line through the picture. */
    json_array_foreach(rpt_arr(r, "failures"), i, e)
    {
        int64_t t = rpt_int(e, "sim_ms", 0);
        double x = xpos(s, t);
        char what[64];
        snprintf(what, sizeof what, "line %" PRId64 ": expected", rpt_int(e, "line", 0));
        fprintf(f,
                "<g><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"2\" stroke-dasharray=\"4 3\"/>",
                x, NET_Y, x, REQ_Y + REQ_H, RPT_COLOR_FAIL);
        marker(f, x, "expect", true);
        fputs("<title>", f);
        {
            char tt[32];
            rpt_fmt_ms(tt, sizeof tt, t);
            fprintf(f, "%s ", tt);
        }
        rpt_esc(f, what);
        fputc(' ', f);
        rpt_esc(f, rpt_str(e, "expected", "?"));
        fputs(", got ", f);
        rpt_esc(f, rpt_str(e, "got", "?"));
        fputs("</title></g>\n", f);
    }
}

/* Bytes done by a job at time t: the last progress sample at or before t. */
static double bytes_at(const json_t *job, int64_t t)
{
    double b = 0;
    size_t i;
    const json_t *p;
    json_array_foreach(rpt_arr(job, "progress"), i, p)
    {
        if ((int64_t)json_number_value(json_array_get(p, 0)) > t)
            break;
        b = json_number_value(json_array_get(p, 1));
    }
    return b;
}

static void jobs(FILE *f, const json_t *r, const struct scale *s)
{
    char top[32];
    double mib = s->max_bytes / (1024.0 * 1024.0);
    if (mib >= 1)
        snprintf(top, sizeof top, "%.1f MiB", mib);
    else
        snprintf(top, sizeof top, "%.0f B", s->max_bytes);
    label(f, PLOT_Y + 10, top);
    label(f, PLOT_Y + PLOT_H, "0");
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n",
            LEFT, PLOT_Y, W - LEFT - RIGHT, PLOT_H);
    size_t k, i;
    const json_t *job, *p;
    json_array_foreach(rpt_arr(r, "jobs"), k, job)
    {
        const char *color = rpt_job_color(k);
        const json_t *prog = rpt_arr(job, "progress");
        if (json_array_size(prog)) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
            /* Steps: a sample says what was done by its time, nothing about before. */
            double last = 0;
            json_array_foreach(prog, i, p)
            {
                int64_t t = (int64_t)json_number_value(json_array_get(p, 0));
                double b = json_number_value(json_array_get(p, 1));
                if (i)
                    fprintf(f, "%.1f,%.1f ", xpos(s, t), ypos(s, last));
                fprintf(f, "%.1f,%.1f ", xpos(s, t), ypos(s, b));
                last = b;
            }
            /* Hold the last value to the end of the run. */
            fprintf(f, "%.1f,%.1f\"><title>", xpos(s, s->end_ms), ypos(s, last));
            rpt_esc(f, rpt_str(job, "id", "?"));
            fprintf(f, ": bytes done (%" PRId64 " total)</title></polyline>\n",
                    rpt_int(job, "total", -1));
        }
        const json_t *st;
        json_array_foreach(rpt_arr(job, "states"), i, st)
        {
            int64_t t = rpt_int(st, "sim_ms", 0);
            const char *to = rpt_str(st, "new", "?");
            char what[256];
            snprintf(what, sizeof what, "%s %s -> %s %s %s%s%s", rpt_str(job, "id", "?"),
                     rpt_str(st, "old", "-"), to, rpt_str(st, "hr", ""), rpt_str(st, "hr_name", ""),
                     rpt_str(st, "cause", NULL) ? " cause: " : "", rpt_str(st, "cause", ""));
            fprintf(f,
                    "<g><circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\" stroke=\"%s\" "
                    "stroke-width=\"1.5\"/>",
                    xpos(s, t), ypos(s, bytes_at(job, t)), rpt_state_color(to), color);
            title(f, t, what, NULL);
            fputs("</g>\n", f);
        }
        /* The job's name at the right end of its line. */
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"job\" fill=\"%s\">", W - RIGHT - 4,
                ypos(s, bytes_at(job, s->end_ms)) - 4, color);
        rpt_esc(f, rpt_str(job, "id", "?"));
        fputs("</text>\n", f);
    }
}

static void requests(FILE *f, const json_t *r, const struct scale *s)
{
    label(f, REQ_Y + 9, "requests");
    size_t i;
    const json_t *q;
    json_array_foreach(rpt_arr(r, "requests"), i, q)
    {
        int64_t t = rpt_int(q, "sim_ms", 0);
        const char *outcome = rpt_str(q, "outcome", "?");
        bool ok = strcasecmp(outcome, flt_outcome_name(FLT_OUT_COMPLETE)) == 0;
        bool pending = strcasecmp(outcome, flt_outcome_name(FLT_OUT_PENDING)) == 0;
        char what[512];
        snprintf(what, sizeof what,
                 "#%" PRId64 " %s %s %s%s%s -> %" PRId64 ", %" PRId64 " bytes, %s%s%s",
                 rpt_int(q, "id", 0), rpt_str(q, "origin", ""), rpt_str(q, "method", ""),
                 rpt_str(q, "target", ""), rpt_str(q, "range", NULL) ? " Range: " : "",
                 rpt_str(q, "range", ""), rpt_int(q, "status", 0), rpt_int(q, "sent", 0), outcome,
                 *rpt_str(q, "fired", "") ? ", fault: " : "", rpt_str(q, "fired", ""));
        fprintf(f, "<g><rect x=\"%.1f\" y=\"%.1f\" width=\"3\" height=\"%.1f\" fill=\"%s\"/>",
                xpos(s, t) - 1.5, REQ_Y, REQ_H,
                ok        ? "#78909c"
                : pending ? "#fb8c00"
                          : RPT_COLOR_FAIL);
        title(f, t, what, NULL);
        fputs("</g>\n", f);
    }
}

/* A step of 1, 2 or 5 times a power of ten giving at most about 8 ticks. */
static int64_t tick_step(int64_t end)
{
    int64_t step = 1;
    for (;;) {
        if (end / step <= 8)
            return step;
        if (end / (step * 2) <= 8)
            return step * 2;
        if (end / (step * 5) <= 8)
            return step * 5;
        step *= 10;
    }
}

static void axis(FILE *f, const struct scale *s)
{
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>\n", LEFT,
            AXIS_Y, W - RIGHT, AXIS_Y);
    label(f, AXIS_Y + 12, "sim time");
    int64_t step = tick_step(s->end_ms);
    for (int64_t t = 0; t <= s->end_ms; t += step) {
        char lbl[32];
        rpt_fmt_ms(lbl, sizeof lbl, t);
        double x = xpos(s, t);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%s</text>\n",
                x, AXIS_Y, x, AXIS_Y + 4, x, AXIS_Y + 14, lbl);
    }
}

void rpt_write_svg(FILE *f, const json_t *result, size_t idx)
{
    struct scale s;
    measure(result, &s);
    fprintf(f,
            "<svg class=\"tl\" viewBox=\"0 0 %.0f %.0f\" "
            "role=\"img\">\n"
            "<defs><pattern id=\"hatch%zu\" width=\"6\" height=\"6\" "
            "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
            "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"%s\" stroke-width=\"2\"/>"
            "</pattern></defs>\n",
            W, H, idx, RPT_COLOR_ROAMING);
    network(f, result, &s, idx);
    battery(f, result, &s);
    events(f, result, &s);
    jobs(f, result, &s);
    requests(f, result, &s);
    axis(f, &s);
    fputs("</svg>\n", f);
}
