/*
 * Tests for faults/content.c: the generator is position-addressable and
 * versioned; the content root never lets a path escape; fault files load all
 * or nothing with file:line:col errors (faults/config.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "content.h"
#include "fltenv.h"

static void test_gen_any_range(void **state)
{
    (void)state;
    enum { N = 4096 };
    unsigned char whole[N], part[N];
    flt_gen_fill(7, 0, 0, whole, N);
    for (size_t off = 0; off < 64; off++)
        for (size_t len = 0; len < 40; len += 3) {
            flt_gen_fill(7, 0, off, part, len);
            if (len)
                assert_memory_equal(part, whole + off, len);
        }
    flt_gen_fill(7, 0, 1000, part, 3000);
    assert_memory_equal(part, whole + 1000, 3000);
    flt_gen_fill(8, 0, 0, part, N);
    assert_true(memcmp(part, whole, N) != 0); /* another seed */
    flt_gen_fill(7, 1, 0, part, N);
    assert_true(memcmp(part, whole, N) != 0); /* another version */
}

static void test_versions_and_validators(void **state)
{
    (void)state;
    struct flt_content c;
    struct flt_entity e0, e1;
    char err[XL_ERRLEN];
    flt_content_init(&c);
    assert_int_equal(flt_content_add_gen(&c, "/a.bin", 1000, 5, err), 0);
    assert_int_equal(flt_content_add_gen(&c, "no-slash", 1, 1, err), -1);
    assert_int_equal(flt_content_lookup(&c, "/a.bin", &e0), FLT_FOUND);
    assert_int_equal(flt_content_change(&c, "/a.bin", 2000), 0);
    assert_int_equal(flt_content_lookup(&c, "/a.bin", &e1), FLT_FOUND);
    assert_int_equal(e1.size, 2000);
    assert_int_equal(e1.version, 1);
    assert_string_not_equal(e0.etag, e1.etag);
    assert_true(e1.mtime > e0.mtime);
    char d[64];
    flt_entity_http_date(&e0, d, sizeof d);
    assert_string_equal(d, "Tue, 15 Nov 1994 12:45:26 GMT");
    assert_int_equal(flt_content_lookup(&c, "/missing", &e0), FLT_NOT_FOUND);
    assert_int_equal(flt_content_change(&c, "/missing", 0), -1);
    flt_content_clear(&c);
}

static void test_root_traversal(void **state)
{
    (void)state;
    struct fltenv env;
    assert_int_equal(fltenv_init(&env), 0);
    char path[256], outside[256], err[XL_ERRLEN];
    snprintf(path, sizeof path, "%s/www", env.dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/www/hello.txt", env.dir);
    FILE *f = fopen(path, "w");
    fputs("hello\n", f);
    fclose(f);
    snprintf(outside, sizeof outside, "%s/secret.txt", env.dir);
    f = fopen(outside, "w");
    fputs("secret\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/www/link", env.dir);
    assert_int_equal(symlink(outside, path), 0);
    snprintf(path, sizeof path, "%s/www", env.dir);
    assert_int_equal(flt_content_set_root(&env.content, path, err), 0);
    struct flt_entity e;
    assert_int_equal(flt_content_lookup(&env.content, "/hello.txt", &e), FLT_FOUND);
    assert_int_equal(e.size, 6);
    int fd = open(e.file, O_RDONLY);
    char buf[8] = "";
    assert_int_equal(flt_entity_read(&e, fd, 1, buf, 100), 5);
    assert_memory_equal(buf, "ello\n", 5);
    close(fd);
    const char *bad[] = {"/../secret.txt",
                         "/./hello.txt",
                         "/a/../../secret.txt",
                         "/..",
                         "/x\\..\\secret.txt",
                         "/hello.txt\x01",
                         "/link",
                         "/"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        enum flt_lookup l = flt_content_lookup(&env.content, bad[i], &e);
        if (l != FLT_FORBIDDEN)
            fail_msg("'%s' gave %d, want forbidden", bad[i], l);
    }
    /* Encodings are decoded once by the server; what is left is a literal name. */
    assert_int_equal(flt_content_lookup(&env.content, "/%2e%2e/secret.txt", &e), FLT_NOT_FOUND);
    assert_int_equal(flt_content_lookup(&env.content, "/\xc0\xae\xc0\xae/secret.txt", &e),
                     FLT_NOT_FOUND);
    assert_int_equal(flt_content_set_root(&env.content, "/nonexistent-dir", err), -1);
    fltenv_free(&env);
}

static void test_config_all_or_nothing(void **state)
{
    (void)state;
    struct flt_rules rules;
    struct flt_content content;
    char err[1024];
    flt_rules_init(&rules);
    flt_content_init(&content);
    const char *good = "# content\nfile /big.bin size=8MiB seed=7\n\n"
                       "cut: close after=1MiB nth=1   # the first request only\n"
                       "status 503 header=\"Retry-After: 5\" first=2\n";
    assert_int_equal(
        flt_config_load_text("good.faults", good, &rules, &content, 0, err, sizeof err), 0);
    assert_int_equal(rules.n, 2);
    assert_int_equal(content.n, 1);
    assert_int_equal(content.v[0].size, 8388608);
    const char *bad = "file /c.bin size=1KiB\nclose after=1\n  stall for=3 weeks\n";
    assert_int_equal(flt_config_load_text("bad.faults", bad, &rules, &content, 0, err, sizeof err),
                     -1);
    /* "3" lacks its unit: the column after it is 14 (1-based), the caret under it. */
    assert_non_null(strstr(err, "bad.faults:3:14: for: duration needs a unit"));
    assert_non_null(strstr(err, "\n    stall for=3 weeks\n"));
    assert_non_null(strstr(err, "\n               ^"));
    assert_int_equal(rules.n, 2); /* nothing of the bad file was applied */
    assert_int_equal(content.n, 1);
    assert_int_equal(
        flt_config_load_text("f", "file big.bin size=1\n", &rules, &content, 0, err, sizeof err),
        -1);
    assert_non_null(strstr(err, "f:1:6:"));
    assert_int_equal(
        flt_config_load_text("f", "file /x size=1QB\n", &rules, &content, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "f:1:15:"));
    assert_int_equal(
        flt_config_load_text("f", "root /does/not/exist\n", &rules, &content, 0, err, sizeof err),
        -1);
    /* Duplicate names, within the file or against the set, are caught before anything changes. */
    assert_int_equal(flt_config_load_text("d", "file /d.bin size=1\nx: empty\nx: empty\n", &rules,
                                          &content, 0, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "d:3:1: a rule named 'x' exists already"));
    assert_int_equal(
        flt_config_load_text("d", "cut: empty\n", &rules, &content, 0, err, sizeof err), -1);
    assert_int_equal(rules.n, 2);
    assert_int_equal(content.n, 1);
    assert_int_equal(flt_config_file_flag("/x.bin=1MiB:9", &content, err), 0);
    assert_int_equal(flt_config_file_flag("x.bin=1MiB", &content, err), -1);
    flt_rules_clear(&rules);
    flt_content_clear(&content);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gen_any_range),
        cmocka_unit_test(test_versions_and_validators),
        cmocka_unit_test(test_root_traversal),
        cmocka_unit_test(test_config_all_or_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
