/*
 * test_xferctl_verbs: xferctl's pieces that need no xferd — the verb table
 * (every property verb names a property the engine has), argument checks
 * (flags anywhere, counts, numbers), refusal text and the bitsadmin-style
 * printers. The end-to-end behaviour is test_xferctl.sh's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"
#include "xfer/xfer.h"

static bool engine_has_prop(const char *name)
{
    for (const char *const *p = xfer_job_props(); *p; p++)
        if (strcmp(*p, name) == 0)
            return true;
    return false;
}

static void table_rows_are_whole(void **state)
{
    (void)state;
    size_t n;
    const struct ctl_verb *v = ctl_verbs(&n);
    assert_true(n >= 24);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(v[i].name);
        assert_non_null(v[i].args);
        assert_non_null(v[i].summary);
        assert_non_null(v[i].run);
        assert_true(v[i].max_args < 0 || v[i].min_args <= v[i].max_args);
        assert_ptr_equal(ctl_verb_find(v[i].name), &v[i]);
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(v[i].name, v[j].name);
        if (v[i].prop && !engine_has_prop(v[i].prop))
            fail_msg("verb %s names property '%s', which the engine does not have", v[i].name,
                     v[i].prop);
    }
    assert_null(ctl_verb_find("bogus"));
}

static void issue_verbs_exist(void **state)
{
    (void)state;
    static const char *const want[] = {"create",
                                       "addfile",
                                       "addfilewithranges",
                                       "resume",
                                       "suspend",
                                       "cancel",
                                       "complete",
                                       "info",
                                       "list",
                                       "monitor",
                                       "getstate",
                                       "geterror",
                                       "setpriority",
                                       "setnoprogresstimeout",
                                       "setminretrydelay",
                                       "setcostpolicy",
                                       "setheader",
                                       "setcredentials",
                                       "setproxy",
                                       "setnotifyflags",
                                       "setnotifycmdline",
                                       "transfer",
                                       "reset",
                                       "explain"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!ctl_verb_find(want[i]))
            fail_msg("no verb %s", want[i]);
}

static struct ctl ctl_for(const char *verb)
{
    struct ctl c = {.socket = "/nonexistent", .verb = ctl_verb_find(verb)};
    assert_non_null(c.verb);
    return c;
}

static void parse_flags_anywhere(void **state)
{
    (void)state;
    struct ctl c = ctl_for("info");
    char *argv[] = {"--verbose", "job1", "--json"};
    struct ctl_args a;
    int rc = -1;
    assert_true(ctl_parse(&c, 3, argv, &a, &rc));
    assert_int_equal(a.npos, 1);
    assert_string_equal(a.pos[0], "job1");
    assert_non_null(ctl_flag(&c, &a, "--verbose"));
    assert_true(c.json);

    struct ctl m = ctl_for("monitor");
    char *margv[] = {"--refresh", "2", "--all-users"};
    assert_true(ctl_parse(&m, 3, margv, &a, &rc));
    assert_string_equal(ctl_flag(&m, &a, "--refresh"), "2");
    assert_non_null(ctl_flag(&m, &a, "--all-users"));
}

static void parse_misuse(void **state)
{
    (void)state;
    struct ctl_args a;
    int rc = -1;
    struct ctl c = ctl_for("addfile");
    char *few[] = {"job", "http://x/"};
    assert_false(ctl_parse(&c, 2, few, &a, &rc));
    assert_int_equal(rc, CTL_USAGE);
    char *many[] = {"job", "http://x/", "/tmp/x", "extra"};
    rc = -1;
    assert_false(ctl_parse(&c, 4, many, &a, &rc));
    assert_int_equal(rc, CTL_USAGE);
    char *flag[] = {"job", "--colour", "http://x/", "/tmp/x"};
    rc = -1;
    assert_false(ctl_parse(&c, 4, flag, &a, &rc));
    assert_int_equal(rc, CTL_USAGE);
    struct ctl m = ctl_for("monitor");
    char *noval[] = {"--refresh"};
    rc = -1;
    assert_false(ctl_parse(&m, 1, noval, &a, &rc));
    assert_int_equal(rc, CTL_USAGE);
    /* A negative number is an argument, not a flag; "--" ends the flags. */
    struct ctl e = ctl_for("explain");
    char *neg[] = {"-2145386495"};
    assert_true(ctl_parse(&e, 1, neg, &a, &rc));
    assert_string_equal(a.pos[0], "-2145386495");
    struct ctl s = ctl_for("setheader");
    char *dash[] = {"--", "job", "--odd: header"};
    assert_true(ctl_parse(&s, 3, dash, &a, &rc));
    assert_string_equal(a.pos[1], "--odd: header");
}

static void numbers(void **state)
{
    (void)state;
    struct ctl c = ctl_for("setminretrydelay");
    uint64_t n = 0;
    assert_true(ctl_number(&c, "min_retry_delay", "600", &n));
    assert_int_equal(n, 600);
    assert_true(ctl_number(&c, "min_retry_delay", "010", &n));
    assert_int_equal(n, 10);
    assert_true(ctl_number(&c, "notify_flags", "0x3", &n));
    assert_int_equal(n, 3);
    assert_false(ctl_number(&c, "x", "-5", &n));
    assert_false(ctl_number(&c, "x", " 5", &n));
    assert_false(ctl_number(&c, "x", "5s", &n));
    assert_false(ctl_number(&c, "x", "", &n));
    assert_false(ctl_number(&c, "x", "0x", &n));
    assert_false(ctl_number(&c, "x", "99999999999999999999999", &n));
}

static void refusal_text(void **state)
{
    (void)state;
    char buf[512];
    json_t *e = json_pack("{s:i, s:s, s:{s:s, s:s, s:s, s:s}}", "code", -2145386495, "message",
                          "The requested job was not found.", "data", "name", "BG_E_NOT_FOUND",
                          "hr", "0x80200001", "context", "GENERAL_QUEUE_MANAGER", "reason",
                          "no job {x} for uid 1000");
    ctl_refusal_text(e, buf, sizeof buf);
    assert_string_equal(buf, "BG_E_NOT_FOUND (0x80200001): The requested job was not found. "
                             "\xE2\x80\x94 no job {x} for uid 1000");
    json_decref(e);
    e = json_pack("{s:i, s:s, s:{s:s, s:s}}", "code", -32602, "message", "invalid params", "data",
                  "param", "job", "reason", "ambiguous");
    ctl_refusal_text(e, buf, sizeof buf);
    assert_string_equal(buf, "invalid params (-32602): job: ambiguous");
    json_decref(e);
}

static char *capture_list_line(const json_t *job)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    show_list_line(f, job);
    fclose(f);
    return out;
}

static void list_line(void **state)
{
    (void)state;
    json_t *job =
        json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i}", "job",
                  "{6AF46E48-41D3-453F-B7AF-A694BBC823F7}", "name", "d1", "state", "TRANSFERRING",
                  "files_done", 0, "files_total", 2, "bytes_done", 1024, "bytes_total", 8192);
    char *s = capture_list_line(job);
    assert_string_equal(s, "{6AF46E48-41D3-453F-B7AF-A694BBC823F7} 'd1' TRANSFERRING 0 / 2 1024 / "
                           "8192\n");
    free(s);
    json_object_set_new(job, "bytes_total", json_null());
    s = capture_list_line(job);
    assert_non_null(strstr(s, "1024 / UNKNOWN"));
    free(s);
    json_decref(job);
}

static void bars_and_titles(void **state)
{
    (void)state;
    char bar[64];
    show_bar(bar, sizeof bar, 5, 10, true, 10);
    assert_string_equal(bar, "[#####.....]");
    show_bar(bar, sizeof bar, 20, 10, true, 4);
    assert_string_equal(bar, "[####]");
    show_bar(bar, sizeof bar, 5, 0, false, 4);
    assert_string_equal(bar, "[????]");
    assert_string_equal(show_state_title("TRANSIENT_ERROR"), "Transient_Error");
    assert_string_equal(show_state_title("nonsense"), "UNKNOWN");
    char h[32];
    show_human(3 * 1024 * 1024, h, sizeof h);
    assert_string_equal(h, "3.0 MiB");
    show_human(10, h, sizeof h);
    assert_string_equal(h, "10 B");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_rows_are_whole),
        cmocka_unit_test(issue_verbs_exist),
        cmocka_unit_test(parse_flags_anywhere),
        cmocka_unit_test(parse_misuse),
        cmocka_unit_test(numbers),
        cmocka_unit_test(refusal_text),
        cmocka_unit_test(list_line),
        cmocka_unit_test(bars_and_titles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
