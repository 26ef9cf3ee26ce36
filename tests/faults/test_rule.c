/*
 * Tests for faults/rule.c: parsing (every action's example parses; errors name
 * the column and suggest), canonical formatting round-trips, selectors, and
 * folding into plans.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rule.h"

static struct flt_rule *parse_ok(const char *text)
{
    struct flt_rule *r = NULL;
    size_t col = 0;
    char err[XL_ERRLEN] = "";
    if (flt_rule_parse(text, &r, &col, err) < 0)
        fail_msg("'%s' did not parse: col %zu: %s", text, col, err);
    return r;
}

static void parse_bad(const char *text, size_t want_col, const char *want_msg)
{
    struct flt_rule *r = NULL;
    size_t col = 999;
    char err[XL_ERRLEN] = "";
    assert_int_equal(flt_rule_parse(text, &r, &col, err), -1);
    assert_null(r);
    if (col != want_col || !strstr(err, want_msg))
        fail_msg("'%s': got col %zu '%s', want col %zu containing '%s'", text, col, err, want_col,
                 want_msg);
}

static void test_every_example_parses_and_roundtrips(void **state)
{
    (void)state;
    for (int a = 0; a < FLT_A__COUNT; a++) {
        const struct flt_action_info *ai = flt_action_info((enum flt_action)a);
        assert_non_null(ai);
        assert_int_equal(ai->action, a);
        struct flt_rule *r = parse_ok(ai->example);
        assert_int_equal(r->action, a);
        char once[1024], twice[1024];
        flt_rule_format(r, once, sizeof once);
        struct flt_rule *r2 = parse_ok(once);
        flt_rule_format(r2, twice, sizeof twice);
        assert_string_equal(once, twice);
        assert_int_equal(r->have, r2->have);
        flt_rule_free(r);
        flt_rule_free(r2);
    }
}

static void test_values(void **state)
{
    (void)state;
    struct flt_rule *r = parse_ok("cut: close after=1MiB path=/big.bin nth=2");
    assert_string_equal(r->name, "cut");
    assert_int_equal(r->action, FLT_A_CLOSE);
    assert_int_equal(r->after, 1048576);
    assert_string_equal(r->path, "/big.bin");
    assert_int_equal(r->nth, 2);
    flt_rule_free(r);

    r = parse_ok("status 503 header=\"Retry-After: 5\" header=\"X-A: \\\"q\\\"\" first=2");
    assert_int_equal(r->code, 503);
    assert_int_equal(r->nheaders, 2);
    assert_string_equal(r->headers[0], "Retry-After: 5");
    assert_string_equal(r->headers[1], "X-A: \"q\"");
    flt_rule_free(r);

    /* Canonical text of what the fuzzer found drifting: probabilities and blanks. */
    char text[256];
    r = parse_ok("empty prob=0.1 seed=3");
    flt_rule_format(r, text, sizeof text);
    assert_string_equal(text, "empty prob=0.1 seed=3");
    flt_rule_free(r);
    r = parse_ok("empty prob=0.00001");
    flt_rule_format(r, text, sizeof text);
    assert_string_equal(text, "empty prob=0.00001");
    flt_rule_free(r);
    r = parse_ok("header \"A:\vb\"");
    flt_rule_format(r, text, sizeof text);
    assert_string_equal(text, "header header=\"A:\vb\"");
    flt_rule_free(r);

    r = parse_ok("bad-206 shift=-4KiB");
    assert_int_equal(r->shift, -4096);
    flt_rule_free(r);

    r = parse_ok("stall");
    assert_true(r->for_ms == XL_FOREVER);
    flt_rule_free(r);

    r = parse_ok("reply 502 method=size"); /* methods are upper-cased */
    assert_string_equal(r->method, "SIZE");
    flt_rule_free(r);
}

static void test_errors(void **state)
{
    (void)state;
    parse_bad("", 0, "empty rule");
    parse_bad("clsoe after=1", 0, "did you mean 'close'");
    parse_bad("close aftr=1", 6, "did you mean 'after'");
    parse_bad("close after=1XB", 13, "unknown size unit");
    parse_bad("close", 5, "needs a byte");
    parse_bad("close after=1 at=2", 0, "only one of");
    parse_bad("status", 6, "needs code=");
    parse_bad("status 99", 7, "100 to 599");
    parse_bad("throttle rate=1MiB", 15, "/s");
    parse_bad("stall for=soon", 10, "duration");
    parse_bad("no-length mode=sideways", 15, "not a mode");
    parse_bad("empty 5", 6, "takes no bare value");
    parse_bad("status 503 404", 11, "only one bare value");
    parse_bad("close after=1 nth=0", 18, "counts from 1");
    parse_bad("status 404 header=\"NoColon\"", 18, "Name: value");
    parse_bad("status 404 header=\"unterminated", 18, "unterminated");
    parse_bad("close after=1 after=2", 14, "given twice");
    parse_bad("close after=1 rate=1KiB/s", 14, "takes no key 'rate'");
    parse_bad("bad!: close after=1", 0, "bad rule name");
    parse_bad("ok: after=1", 4, "expected an action");
    parse_bad("redirect code=404 to=/x", 0, "3xx");
    parse_bad("redirect", 8, "needs to=URL");
    parse_bad("reply 502", 9, "needs method=");
    parse_bad("close after=1 prob=2", 19, "probability above 1");
}

static void plan(struct flt_rules *set, const char *method, const char *path, uint64_t conn,
                 unsigned proto, struct flt_plan *p)
{
    struct flt_request rq = {.method = method, .path = path, .conn = conn};
    flt_rules_plan(set, proto, &rq, p);
}

static void test_selectors(void **state)
{
    (void)state;
    struct flt_rules set;
    char err[XL_ERRLEN];
    flt_rules_init(&set);
    assert_int_equal(flt_rules_add_text(&set, "n2: empty nth=2 path=/a*", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "f2: http10 first=2 method=HEAD", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "e3: validators none every=3", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "c2: garbage conn=2", 0, err), 0);
    struct flt_plan p;
    int fired_n2 = 0, fired_f2 = 0, fired_e3 = 0, fired_c2 = 0;
    for (int i = 1; i <= 6; i++) {
        plan(&set, i % 2 ? "GET" : "HEAD", i <= 3 ? "/abc" : "/zzz", (uint64_t)i, FLT_P_HTTP, &p);
        if (p.empty) {
            fired_n2++;
            assert_int_equal(i, 2);
        }
        fired_f2 += p.http10;
        if (p.validators == FLT_VALID_NONE) {
            fired_e3++;
            assert_int_equal(i % 3, 0);
        }
        if (p.garbage) {
            fired_c2++;
            assert_int_equal(i, 2);
        }
        flt_plan_release(&p);
    }
    assert_int_equal(fired_n2, 1);
    assert_int_equal(fired_f2, 2); /* HEAD requests 2 and 4 */
    assert_int_equal(fired_e3, 2);
    assert_int_equal(fired_c2, 1);
    /* Duplicate names are refused; removal works. */
    assert_int_equal(flt_rules_add_text(&set, "n2: empty", 0, err), -1);
    assert_non_null(strstr(err, "exists"));
    assert_int_equal(flt_rules_remove(&set, "n2"), 0);
    assert_int_equal(flt_rules_remove(&set, "n2"), -1);
    flt_rules_clear(&set);
}

static void test_prob_is_seeded(void **state)
{
    (void)state;
    int runs[2] = {0, 0};
    char pattern[2][201];
    for (int run = 0; run < 2; run++) {
        struct flt_rules set;
        char err[XL_ERRLEN];
        flt_rules_init(&set);
        assert_int_equal(flt_rules_add_text(&set, "empty prob=30% seed=42", 0, err), 0);
        for (int i = 0; i < 200; i++) {
            struct flt_plan p;
            plan(&set, "GET", "/", 1, FLT_P_HTTP, &p);
            runs[run] += p.empty;
            pattern[run][i] = p.empty ? '1' : '0';
            flt_plan_release(&p);
        }
        pattern[run][200] = '\0';
        flt_rules_clear(&set);
    }
    assert_string_equal(pattern[0], pattern[1]);
    assert_in_range(runs[0], 40, 80); /* 30% of 200, generously */
}

static void test_fold(void **state)
{
    (void)state;
    struct flt_rules set;
    char err[XL_ERRLEN];
    flt_rules_init(&set);
    assert_int_equal(flt_rules_add_text(&set, "stall after=10 for=2s", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "close at=5MiB", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "throttle 1MiB/s", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "throttle 64KiB/s", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "corrupt at=77", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "status 503 header=\"Retry-After: 5\"", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "reply 421 method=CONNECT", 0, err), 0);
    struct flt_plan p;
    plan(&set, "GET", "/x", 1, FLT_P_HTTP, &p);
    assert_int_equal(p.nevents, 2);
    assert_int_equal(p.events[0].action, FLT_A_STALL);
    assert_int_equal(p.events[0].anchor, FLT_ANCHOR_RESPONSE);
    assert_int_equal(p.events[0].offset, 10);
    assert_int_equal(p.events[0].for_ms, 2000);
    assert_int_equal(p.events[1].anchor, FLT_ANCHOR_ENTITY);
    assert_int_equal(p.rate, 65536); /* the slowest throttle wins */
    assert_int_equal(p.ncorrupt, 1);
    assert_int_equal(p.status, 503);
    assert_int_equal(p.nheaders, 1);
    assert_int_equal(p.nreplies, 0); /* FTP-only action */
    assert_non_null(strstr(p.fired, "status-6"));
    flt_plan_release(&p);
    /* FTP: data faults apply to RETR only; replies to their verb. */
    plan(&set, "SIZE", "/x", 1, FLT_P_FTP, &p);
    assert_int_equal(p.nevents, 0);
    assert_int_equal(p.nreplies, 0);
    flt_plan_release(&p);
    plan(&set, "CONNECT", "", 1, FLT_P_FTP, &p);
    assert_int_equal(p.nreplies, 1);
    assert_int_equal(p.replies[0].code, 421);
    flt_plan_release(&p);
    plan(&set, "RETR", "/x", 1, FLT_P_FTP, &p);
    assert_int_equal(p.nevents, 2);
    flt_plan_release(&p);
    flt_rules_clear(&set);
}

static void test_refuse_window(void **state)
{
    (void)state;
    struct flt_rules set;
    char err[XL_ERRLEN];
    int64_t until;
    flt_rules_init(&set);
    assert_false(flt_rules_refusing(&set, 0, &until));
    assert_int_equal(flt_rules_add_text(&set, "refuse for=30s", 1000, err), 0);
    assert_true(flt_rules_refusing(&set, 1000, &until));
    assert_int_equal(until, 31000);
    assert_true(flt_rules_refusing(&set, 30999, &until));
    assert_false(flt_rules_refusing(&set, 31000, &until));
    assert_int_equal(flt_rules_add_text(&set, "down: refuse", 0, err), 0);
    assert_true(flt_rules_refusing(&set, 99999999, &until));
    assert_true(until == XL_FOREVER);
    flt_rules_clear(&set);
}

/* Which fired rules leave a response waiting with no timer (a harness may jump over it). */
static void test_hold_forever(void **state)
{
    (void)state;
    struct flt_rules set;
    char err[XL_ERRLEN];
    flt_rules_init(&set);
    assert_int_equal(flt_rules_add_text(&set, "mute: silent", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "hang: stall after=1MiB", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "nap: stall after=1MiB for=30s", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "slow: throttle rate=1MiB/s", 0, err), 0);
    assert_int_equal(flt_rules_add_text(&set, "tag: header \"X-A: 1\"", 0, err), 0);
    assert_true(flt_rules_hold_forever(&set, "mute"));
    assert_true(flt_rules_hold_forever(&set, "hang"));
    assert_true(flt_rules_hold_forever(&set, "tag,hang"));
    assert_false(flt_rules_hold_forever(&set, "nap"));       /* ends by its timer */
    assert_false(flt_rules_hold_forever(&set, "hang,slow")); /* a throttle's timer */
    assert_false(flt_rules_hold_forever(&set, "tag"));       /* nothing holds it */
    assert_false(flt_rules_hold_forever(&set, ""));
    assert_false(flt_rules_hold_forever(&set, "gone"));
    flt_rules_clear(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_example_parses_and_roundtrips),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_prob_is_seeded),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_refuse_window),
        cmocka_unit_test(test_hold_forever),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
