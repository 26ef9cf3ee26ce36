/*
 * test_render: the renderers (reports/render, library xl_report) on fixture
 * run documents under tests/reports/data/: JUnit well-formed with the right
 * counts and file:line, HTML well-formed and self-contained, hostile names
 * escaped everywhere, flaky scenarios found, the text views, and a run
 * directory rendered from its results.json (and refused when it is not one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doc.h"
#include "esc.h"
#include "report.h"
#include "text.h"
#include "xmlcheck.h"

#ifndef XL_REPORT_DATA
#error "XL_REPORT_DATA must name tests/reports/data"
#endif

static json_t *load(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", XL_REPORT_DATA, name);
    json_error_t e;
    json_t *doc = json_load_file(path, 0, &e);
    if (!doc)
        fail_msg("%s:%d: %s", path, e.line, e.text);
    return doc;
}

/* Output of a writer as a malloc'd string; caller frees. */
static char *render(void (*fn)(FILE *, const json_t *), const json_t *doc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    fn(m, doc);
    assert_int_equal(fclose(m), 0);
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void assert_well_formed(const char *doc, xc_tag_fn fn, void *arg)
{
    char err[512];
    if (xc_check(doc, strlen(doc), fn, arg, err, sizeof err) < 0)
        fail_msg("not well-formed: %s", err);
}

static void test_esc(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    rpt_esc(m, "<a href=\"x\">&'</a>");
    rpt_esc(m, "|\x01\x7f|\xff|\xc3\xa9|\xe2\x9c\x93|\xc0\xaf|\xed\xa0\x80|\xe2\x9c|");
    rpt_esc(m, NULL);
    fclose(m);
    assert_string_equal(buf, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
                             "|??|\xEF\xBF\xBD|\xc3\xa9|\xe2\x9c\x93|\xEF\xBF\xBD\xEF\xBF\xBD|"
                             "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD|");
    free(buf);
}

static void test_xmlcheck_catches(void **state)
{
    (void)state;
    char err[256];
    const char *bad[] = {
        "<a><b></a></b>",       "<a x=1/>",    "<a>&nbsp;</a>", "<a>x < y</a>", "<a/><b/>",
        "<a x=\"1\" x=\"2\"/>", "<a>\x01</a>", "<a>",           "text",         "<a x=\"<\"/>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (xc_check(bad[i], strlen(bad[i]), NULL, NULL, err, sizeof err) == 0)
            fail_msg("accepted: %s", bad[i]);
    }
    const char *good = "<?xml version=\"1.0\"?>\n<!DOCTYPE x><a k='v&amp;'><!-- c --><b/>&#x2713;"
                       "<![CDATA[<raw>]]></a>\n";
    assert_int_equal(xc_check(good, strlen(good), NULL, NULL, err, sizeof err), 0);
}

static void test_junit(void **state)
{
    (void)state;
    json_t *doc = load("run-mixed.json");
    char *x = render(rpt_write_junit, doc);
    assert_well_formed(x, NULL, NULL);
    /* 5 results: 1 passed, 2 failed + 1 timeout = 3 failures, 1 script error. */
    assert_non_null(strstr(x, "<testsuites name=\"xferlab\" tests=\"5\" failures=\"3\" "
                              "errors=\"1\""));
    assert_int_equal(count(x, "<testcase "), 5);
    assert_int_equal(count(x, "<testsuite "),
                     4); /* disconnects, metered-roaming, basics, timeouts */
    assert_non_null(
        strstr(x, "<testsuite name=\"basics\" tests=\"2\" failures=\"1\" errors=\"1\""));
    assert_non_null(strstr(x, "classname=\"disconnects\" name=\"drop-resume\""));
    assert_int_equal(count(x, "<failure "), 3);
    assert_int_equal(count(x, "<error "), 1);
    /* file:line in the failure message. */
    assert_non_null(strstr(x, "message=\"scenarios/metered-roaming/roaming-over-limit.scn:12: "
                              "expected d1 state TRANSIENT_ERROR code "
                              "BG_E_BLOCKED_BY_COST_TRANSFER_POLICY within 5s, got TRANSFERRING"));
    assert_non_null(strstr(x, "type=\"script-error\" message=\"scenarios/basics/typo.scn:3:9: "
                              "unknown state"));
    assert_non_null(strstr(x, "<failure type=\"timeout\""));
    assert_non_null(strstr(x, "<system-out>"));
    /* Hostile text is escaped, never markup. */
    assert_null(strstr(x, "<script"));
    assert_null(strstr(x, "</failure><script>"));
    assert_non_null(strstr(x, "&lt;/failure&gt;&lt;script&gt;alert(2)"));
    free(x);
    json_decref(doc);
}

static void test_html(void **state)
{
    (void)state;
    json_t *doc = load("run-mixed.json");
    char *h = render(rpt_write_html, doc);
    struct xc_html rules = {0};
    assert_well_formed(h, xc_html_rules, &rules);
    if (rules.external)
        fail_msg("not self-contained: %s", rules.first);
    assert_int_equal(rules.scripts, 1); /* ours, inline */
    assert_non_null(strstr(h, "<style>"));
    assert_null(strstr(h, "<link"));
    assert_null(strstr(h, "<script src"));
    /* The hostile title, file, job, log line: escaped. */
    assert_null(strstr(h, "<script>alert"));
    assert_null(strstr(h, "<img"));
    assert_non_null(strstr(h, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert_non_null(strstr(h, "&lt;script src=&quot;https://evil.test/x.js&quot;"));
    /* One picture per result, with the network bands, jobs and a failure line. */
    assert_int_equal(count(h, "<svg "), 5);
    assert_non_null(strstr(h, "id=\"hatch1\""));
    assert_non_null(strstr(h, "OVER THE DATA LIMIT"));
    assert_non_null(strstr(h, "stroke-dasharray"));
    assert_non_null(strstr(h, "battery saver ON"));
    /* The summary and the detail. */
    assert_non_null(strstr(h, "5 scenarios"));
    assert_non_null(strstr(h, "2 failed"));
    assert_non_null(strstr(h, "✓"));
    assert_non_null(strstr(h, "✗"));
    assert_non_null(strstr(h, "BG_E_NETWORK_DISCONNECTED"));
    assert_non_null(strstr(h, "bytes=3145728-"));
    free(h);
    json_decref(doc);
}

static void test_repeat_flaky(void **state)
{
    (void)state;
    json_t *doc = load("run-repeat.json");
    const char *names[4];
    assert_int_equal(rpt_flaky(rpt_arr(doc, "results"), names, 4), 1);
    assert_string_equal(names[0], "disconnects/drop-resume");
    char *x = render(rpt_write_junit, doc);
    assert_well_formed(x, NULL, NULL);
    assert_non_null(strstr(x, "name=\"drop-resume #2\""));
    assert_int_equal(count(x, "<testcase "), 6);
    free(x);
    char *h = render(rpt_write_html, doc);
    assert_well_formed(h, NULL, NULL);
    assert_non_null(strstr(h, "flaky (1): disconnects/drop-resume"));
    free(h);
    json_decref(doc);
}

static void test_text(void **state)
{
    (void)state;
    char t[32];
    rpt_fmt_ms(t, sizeof t, 850);
    assert_string_equal(t, "850ms");
    rpt_fmt_ms(t, sizeof t, 12400);
    assert_string_equal(t, "12.400s");
    rpt_fmt_ms(t, sizeof t, 312400);
    assert_string_equal(t, "5m12.4s");
    rpt_fmt_ms(t, sizeof t, 14LL * 86400 * 1000 + 2 * 3600 * 1000);
    assert_string_equal(t, "14d02h00m");

    json_t *doc = load("run-mixed.json");
    const json_t *failed = json_array_get(json_object_get(doc, "results"), 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    rpt_text_failure(m, failed, 5);
    fclose(m);
    assert_non_null(strstr(buf, "scenarios/metered-roaming/roaming-over-limit.scn:12: expected "
                                "d1 state TRANSIENT_ERROR"));
    assert_non_null(strstr(buf, "job d1"));
    assert_null(strstr(buf, "job d2")); /* the failure names d1 only */
    assert_non_null(strstr(buf, "#1 files.test GET /big.bin"));
    assert_null(strstr(buf, "#2 files.test")); /* after the failure's moment */
    assert_non_null(strstr(buf, "| xferd: line 79"));
    assert_null(strstr(buf, "| xferd: line 74"));
    free(buf);
    json_decref(doc);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void test_render_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/xl-render-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[1200], err[512];
    /* Not there yet. */
    assert_int_equal(rpt_render_dir(dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "results.json"));
    /* A run document: both files appear, nothing temporary stays. */
    json_t *doc = load("run-mixed.json");
    snprintf(path, sizeof path, "%s/results.json", dir);
    assert_int_equal(json_dump_file(doc, path, 0), 0);
    assert_int_equal(rpt_render_dir(dir, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/junit.xml", dir);
    assert_int_equal(xc_check_file(path, NULL, NULL, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/index.html", dir);
    assert_int_equal(xc_check_file(path, NULL, NULL, err, sizeof err), 0);
    /* Another schema: refused, named. */
    json_object_set_new(doc, "schema", json_integer(2));
    assert_int_equal(rpt_render_doc(dir, doc, err, sizeof err), -1);
    assert_non_null(strstr(err, "schema"));
    json_decref(doc);
    /* Broken JSON: the file, line and column. */
    snprintf(path, sizeof path, "%s/results.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"schema\": 1,\n \"results\": [}\n", f);
    fclose(f);
    assert_int_equal(rpt_render_dir(dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "results.json:2:"));
    assert_int_equal(nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_esc),          cmocka_unit_test(test_xmlcheck_catches),
        cmocka_unit_test(test_junit),        cmocka_unit_test(test_html),
        cmocka_unit_test(test_repeat_flaky), cmocka_unit_test(test_text),
        cmocka_unit_test(test_render_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
