/*
 * junit: the run document as JUnit XML, the dialect Jenkins, GitLab and
 * GitHub's test reporters read. One <testsuite> per area (the scenario name's
 * directory), one <testcase> per scenario and attempt with classname = area;
 * a failed or timed-out scenario is a <failure>, a script or harness error an
 * <error>, each with the file:line headline as message and the full headline
 * as text; system-out holds the trace summary (text.h). Every string is
 * escaped (esc.h).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "esc.h"
#include "report.h"
#include "text.h"

/* Text written by fn(result) into a malloc'd string; caller frees. NULL on failure. */
static char *capture(void (*fn)(FILE *, const json_t *), const json_t *result)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    fn(m, result);
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void seconds(FILE *f, int64_t ms)
{
    fprintf(f, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
}

static void testcase(FILE *f, const json_t *r, const char *area, bool many_attempts)
{
    const char *name = rpt_str(r, "scenario", "?");
    fputs("    <testcase classname=\"", f);
    rpt_esc(f, area);
    fputs("\" name=\"", f);
    rpt_esc(f, rpt_leaf(name));
    if (many_attempts)
        fprintf(f, " #%" PRId64, rpt_int(r, "attempt", 1));
    fputs("\" file=\"", f);
    rpt_esc(f, rpt_str(r, "file", ""));
    fputs("\" time=\"", f);
    seconds(f, rpt_int(r, "wall_ms", 0));
    fputs("\">\n", f);

    enum rpt_status st = rpt_result_status(r);
    const char *elem = NULL, *type = NULL;
    switch (st) {
    case RPT_PASSED:
        break;
    case RPT_FAILED:
        elem = "failure";
        type = "expectation";
        break;
    case RPT_TIMEOUT:
        elem = "failure";
        type = "timeout";
        break;
    case RPT_ERROR:
        elem = "error";
        type = "script-error";
        break;
    case RPT_HARNESS_ERROR:
        elem = "error";
        type = "harness-error";
        break;
    }
    if (elem) {
        char *head = capture(rpt_text_headline, r);
        const char *h = head ? head : "";
        size_t first = strcspn(h, "\n");
        fprintf(f, "      <%s type=\"%s\" message=\"", elem, type);
        rpt_esc_n(f, h, first);
        fputs("\">", f);
        rpt_esc(f, h);
        fprintf(f, "</%s>\n", elem);
        free(head);
    }
    char *sum = capture(rpt_text_summary, r);
    fputs("      <system-out>", f);
    rpt_esc(f, sum);
    fputs("</system-out>\n    </testcase>\n", f);
    free(sum);
}

void rpt_write_junit(FILE *f, const json_t *doc)
{
    const json_t *results = rpt_arr(doc, "results");
    const json_t *run = json_object_get(doc, "run");
    bool many = rpt_int(run, "repeat", 1) > 1;
    struct rpt_counts all;
    rpt_count(results, &all);
    int64_t wall = rpt_int(run, "wall_ms", 0);

    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"xferlab\"", f);
    fprintf(f, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"", all.total,
            all.by[RPT_FAILED] + all.by[RPT_TIMEOUT],
            all.by[RPT_ERROR] + all.by[RPT_HARNESS_ERROR]);
    seconds(f, wall);
    fputs("\">\n", f);

    /* Areas in order of first appearance; results of an area stay in document order. */
    size_t n = json_array_size(results);
    bool *done = calloc(n ? n : 1, sizeof *done);
    for (size_t i = 0; done && i < n; i++) {
        if (done[i])
            continue;
        char area[256], other[256];
        rpt_area(rpt_str(json_array_get(results, i), "scenario", ""), area, sizeof area);
        size_t tests = 0, fails = 0, errors = 0;
        int64_t ms = 0;
        for (size_t k = i; k < n; k++) {
            const json_t *r = json_array_get(results, k);
            rpt_area(rpt_str(r, "scenario", ""), other, sizeof other);
            if (strcmp(area, other) != 0)
                continue;
            tests++;
            ms += rpt_int(r, "wall_ms", 0);
            switch (rpt_result_status(r)) {
            case RPT_PASSED:
                break;
            case RPT_FAILED:
            case RPT_TIMEOUT:
                fails++;
                break;
            case RPT_ERROR:
            case RPT_HARNESS_ERROR:
                errors++;
                break;
            }
        }
        fputs("  <testsuite name=\"", f);
        rpt_esc(f, area);
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"", tests,
                fails, errors);
        seconds(f, ms);
        fputs("\">\n", f);
        for (size_t k = i; k < n; k++) {
            const json_t *r = json_array_get(results, k);
            rpt_area(rpt_str(r, "scenario", ""), other, sizeof other);
            if (strcmp(area, other) != 0)
                continue;
            done[k] = true;
            testcase(f, r, area, many);
        }
        fputs("  </testsuite>\n", f);
    }
    free(done);
    fputs("</testsuites>\n", f);
}
