/* Tests for src/common/units.c: every spelling a rule or scenario may use, and the errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "units.h"

static void test_sizes(void **state)
{
    (void)state;
    struct {
        const char *s;
        uint64_t v;
    } ok[] = {{"0", 0},          {"4096", 4096},
              {"1B", 1},         {"64KiB", 65536},
              {"8MiB", 8388608}, {"1GiB", 1073741824},
              {"1.5KiB", 1536},  {"3MB", 3000000},
              {"2k", 2000},      {"1TiB", 1099511627776ull}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        uint64_t v;
        size_t col;
        char err[XL_ERRLEN];
        assert_int_equal(xl_parse_size(ok[i].s, &v, &col, err), 0);
        assert_int_equal(v, ok[i].v);
    }
}

static void test_size_errors(void **state)
{
    (void)state;
    struct {
        const char *s;
        size_t col;
    } bad[] = {{"", 0}, {"MiB", 0}, {"12XB", 2}, {"1.3B", 0}, {"-5", 0}, {"5 MiB", 1}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v;
        size_t col = 99;
        char err[XL_ERRLEN] = "";
        assert_int_equal(xl_parse_size(bad[i].s, &v, &col, err), -1);
        assert_int_equal(col, bad[i].col);
        assert_true(strlen(err) > 0);
    }
}

static void test_durations(void **state)
{
    (void)state;
    int64_t ms;
    size_t col;
    char err[XL_ERRLEN];
    assert_int_equal(xl_parse_duration("250ms", &ms, &col, err), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(xl_parse_duration("5min", &ms, &col, err), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(xl_parse_duration("14d", &ms, &col, err), 0);
    assert_int_equal(ms, 14 * 86400000ll);
    assert_int_equal(xl_parse_duration("1.5s", &ms, &col, err), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(xl_parse_duration("forever", &ms, &col, err), 0);
    assert_true(ms == XL_FOREVER);
    assert_int_equal(xl_parse_duration("30", &ms, &col, err), -1);
    assert_int_equal(col, 2);
    assert_int_equal(xl_parse_duration("3 weeks", &ms, &col, err), -1);
    assert_int_equal(xl_parse_duration("1us", &ms, &col, err), -1); /* not whole ms */
}

static void test_rates(void **state)
{
    (void)state;
    uint64_t r;
    size_t col;
    char err[XL_ERRLEN];
    assert_int_equal(xl_parse_rate("100KiB/s", &r, &col, err), 0);
    assert_int_equal(r, 102400);
    assert_int_equal(xl_parse_rate("8Mbit/s", &r, &col, err), 0);
    assert_int_equal(r, 1000000);
    assert_int_equal(xl_parse_rate("64kbit/s", &r, &col, err), 0);
    assert_int_equal(r, 8000);
    assert_int_equal(xl_parse_rate("100KiB", &r, &col, err), -1);
    assert_int_equal(xl_parse_rate("0B/s", &r, &col, err), -1);
}

static void test_prob_and_u64(void **state)
{
    (void)state;
    double p;
    uint64_t u;
    size_t col;
    char err[XL_ERRLEN];
    assert_int_equal(xl_parse_prob("0.25", &p, &col, err), 0);
    assert_true(p == 0.25);
    assert_int_equal(xl_parse_prob("25%", &p, &col, err), 0);
    assert_true(p == 0.25);
    assert_int_equal(xl_parse_prob("1.5", &p, &col, err), -1);
    assert_int_equal(xl_parse_u64("18446744073709551615", &u, &col, err), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(xl_parse_u64("18446744073709551616", &u, &col, err), -1);
    assert_int_equal(xl_parse_u64("12a", &u, &col, err), -1);
    assert_int_equal(col, 2);
}

static void test_format_roundtrip(void **state)
{
    (void)state;
    char buf[64];
    uint64_t sizes[] = {0, 1, 1000, 1024, 3145728, 1073741824, 1536};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint64_t back;
        size_t col;
        char err[XL_ERRLEN];
        xl_format_size(sizes[i], buf, sizeof buf);
        assert_int_equal(xl_parse_size(buf, &back, &col, err), 0);
        assert_int_equal(back, sizes[i]);
    }
    int64_t durs[] = {1, 250, 1000, 60000, 3600000, 86400000, 90061001, XL_FOREVER};
    for (size_t i = 0; i < sizeof durs / sizeof *durs; i++) {
        int64_t back;
        size_t col;
        char err[XL_ERRLEN];
        xl_format_duration(durs[i], buf, sizeof buf);
        assert_int_equal(xl_parse_duration(buf, &back, &col, err), 0);
        assert_true(back == durs[i]);
    }
}

/* Found by fuzz_rule: big whole numbers are exact, decimals correctly rounded. */
static void test_exactness(void **state)
{
    (void)state;
    uint64_t v;
    int64_t ms;
    double p;
    size_t col;
    char err[XL_ERRLEN];
    assert_int_equal(xl_parse_size("123456789012345678", &v, &col, err), 0);
    assert_true(v == 123456789012345678ull);
    assert_int_equal(xl_parse_size("16383PiB", &v, &col, err), -1);
    assert_int_equal(xl_parse_size("17179869183GiB", &v, &col, err), 0);
    assert_true(v == 17179869183ull * 1073741824ull);
    assert_int_equal(xl_parse_size("17179869184GiB", &v, &col, err), -1); /* 2^64: too large */
    assert_int_equal(xl_parse_duration("4611686018427387ms", &ms, &col, err), 0);
    assert_true(ms == 4611686018427387ll);
    assert_int_equal(xl_parse_prob("0.1", &p, &col, err), 0);
    assert_true(p == 0.1);
    assert_int_equal(xl_parse_prob("0.00001", &p, &col, err), 0);
    assert_true(p == 0.00001);
    assert_int_equal(xl_parse_prob("0.0000000000001", &p, &col, err), -1);
}

static void test_closest(void **state)
{
    (void)state;
    const char *names[] = {"close", "reset", "stall", "throttle", "redirect"};
    assert_int_equal(xl_closest("clsoe", names, 5), 0);
    assert_int_equal(xl_closest("throtle", names, 5), 3);
    assert_int_equal(xl_closest("xyzzy", names, 5), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),        cmocka_unit_test(test_size_errors),
        cmocka_unit_test(test_durations),    cmocka_unit_test(test_rates),
        cmocka_unit_test(test_prob_and_u64), cmocka_unit_test(test_format_roundtrip),
        cmocka_unit_test(test_closest),      cmocka_unit_test(test_exactness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
