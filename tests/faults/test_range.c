/* Tests for faults/range.c: RFC 9110 range and validator answers, byte-exact. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

static const struct flt_validators strong = {"\"abc\"", "Tue, 15 Nov 1994 12:45:26 GMT", false};

static void expect(const char *range, const char *if_range, const char *if_match, uint64_t size,
                   const struct flt_validators *v, int status, uint64_t start, uint64_t len)
{
    struct flt_range_answer a;
    flt_range_decide(range, if_range, if_match, size, v, &a);
    if (a.status != status || a.start != start || a.length != len)
        fail_msg("Range '%s' If-Range '%s' If-Match '%s' size %llu: got %d %llu+%llu, want %d "
                 "%llu+%llu",
                 range ? range : "-", if_range ? if_range : "-", if_match ? if_match : "-",
                 (unsigned long long)size, a.status, (unsigned long long)a.start,
                 (unsigned long long)a.length, status, (unsigned long long)start,
                 (unsigned long long)len);
}

static void test_ranges(void **state)
{
    (void)state;
    expect(NULL, NULL, NULL, 1000, &strong, 200, 0, 1000);
    expect("bytes=0-", NULL, NULL, 1000, &strong, 206, 0, 1000);
    expect("bytes=100-199", NULL, NULL, 1000, &strong, 206, 100, 100);
    expect("bytes=100-", NULL, NULL, 1000, &strong, 206, 100, 900);
    expect("bytes=900-5000", NULL, NULL, 1000, &strong, 206, 900, 100);
    expect("bytes=-100", NULL, NULL, 1000, &strong, 206, 900, 100);
    expect("bytes=-5000", NULL, NULL, 1000, &strong, 206, 0, 1000);
    expect("bytes=999-999", NULL, NULL, 1000, &strong, 206, 999, 1);
    expect(" bytes=5-9 ", NULL, NULL, 1000, &strong, 206, 5, 5);
}

static void test_unsatisfiable_and_ignored(void **state)
{
    (void)state;
    expect("bytes=1000-", NULL, NULL, 1000, &strong, 416, 0, 0);
    expect("bytes=-0", NULL, NULL, 1000, &strong, 416, 0, 0);
    expect("bytes=0-", NULL, NULL, 0, &strong, 416, 0, 0);
    /* Invalid or unsupported: the whole entity. */
    expect("bytes=5-2", NULL, NULL, 1000, &strong, 200, 0, 1000);
    expect("bytes=0-1,5-6", NULL, NULL, 1000, &strong, 200, 0, 1000);
    expect("items=0-5", NULL, NULL, 1000, &strong, 200, 0, 1000);
    expect("bytes=abc", NULL, NULL, 1000, &strong, 200, 0, 1000);
    expect("bytes=1-2x", NULL, NULL, 1000, &strong, 200, 0, 1000);
    expect("bytes=99999999999999999999999-", NULL, NULL, 1000, &strong, 200, 0, 1000);
    expect("bytes=", NULL, NULL, 1000, &strong, 200, 0, 1000);
    expect("bytes=-", NULL, NULL, 1000, &strong, 200, 0, 1000);
    expect("bytes = 5 - 9", NULL, NULL, 1000, &strong, 200, 0, 1000); /* no blanks in a range */
}

static void test_many_ranges(void **state)
{
    (void)state;
    size_t n = 5000;
    char *h = malloc(n * 12 + 16);
    size_t len = (size_t)sprintf(h, "bytes=");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(h + len, "%zu-%zu,", i * 2, i * 2);
    h[len - 1] = '\0';
    expect(h, NULL, NULL, 100000, &strong, 200, 0, 100000);
    free(h);
}

static void test_if_range(void **state)
{
    (void)state;
    expect("bytes=10-", "\"abc\"", NULL, 100, &strong, 206, 10, 90);
    expect("bytes=10-", "\"old\"", NULL, 100, &strong, 200, 0, 100);
    expect("bytes=10-", "W/\"abc\"", NULL, 100, &strong, 200, 0, 100);
    expect("bytes=10-", "Tue, 15 Nov 1994 12:45:26 GMT", NULL, 100, &strong, 206, 10, 90);
    expect("bytes=10-", "Wed, 16 Nov 1994 12:45:26 GMT", NULL, 100, &strong, 200, 0, 100);
    struct flt_validators weak = strong;
    weak.weak = true;
    expect("bytes=10-", "\"abc\"", NULL, 100, &weak, 200, 0, 100);
    struct flt_validators none = {NULL, NULL, false};
    expect("bytes=10-", "\"abc\"", NULL, 100, &none, 200, 0, 100);
    expect("bytes=10-", NULL, NULL, 100, &none, 206, 10, 90);
}

static void test_if_match(void **state)
{
    (void)state;
    expect(NULL, NULL, "\"abc\"", 100, &strong, 200, 0, 100);
    expect(NULL, NULL, "\"x\", \"abc\"", 100, &strong, 200, 0, 100);
    expect(NULL, NULL, "*", 100, &strong, 200, 0, 100);
    expect(NULL, NULL, "\"x\"", 100, &strong, 412, 0, 0);
    expect("bytes=1-", NULL, "\"x\"", 100, &strong, 412, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges),      cmocka_unit_test(test_unsatisfiable_and_ignored),
        cmocka_unit_test(test_many_ranges), cmocka_unit_test(test_if_range),
        cmocka_unit_test(test_if_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
