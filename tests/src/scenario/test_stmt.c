/*
 * test_stmt: the statement table is the one description of the language.
 * Every row is well formed and in enum order; every example parses after the
 * table's fixture into a statement of its own kind; scenarios/README.md shows
 * every example and every check's syntax; and every scenario file under
 * scenarios/ parses, with a title.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>

#include "scenario.h"

static void test_rows(void **state)
{
    (void)state;
    size_t n = 0;
    const struct scn_stmt_info *t = scn_stmt_table(&n);
    assert_int_equal(n, SCN_KIND__COUNT);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i].kind, (enum scn_kind)i);
        assert_ptr_equal(scn_stmt_info(t[i].kind), &t[i]);
        assert_true(strncmp(t[i].syntax, t[i].name, strlen(t[i].name)) == 0);
        assert_true(strlen(t[i].doc) > 5);
        assert_false(t[i].setup_only && t[i].timeline_only);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(t[i].name, t[j].name);
    }
    assert_null(scn_stmt_info(SCN_KIND__COUNT));
    size_t nc = 0;
    const struct scn_check_info *c = scn_check_table(&nc);
    assert_true(nc > 10);
    for (size_t i = 0; i < nc; i++)
        assert_true(strncmp(c[i].syntax, c[i].name, strlen(c[i].name)) == 0);
}

static void test_examples_parse(void **state)
{
    (void)state;
    size_t n = 0;
    const struct scn_stmt_info *t = scn_stmt_table(&n);
    const char *fx = scn_stmt_fixture();
    struct scn_script *s = NULL;
    struct scn_diag d;
    assert_int_equal(scn_parse_string("fixture", fx, strlen(fx), &s, &d), 0);
    size_t base = s->nstmts;
    scn_script_free(s);
    for (size_t i = 0; i < n; i++) {
        char text[2048];
        snprintf(text, sizeof text, "%s%s\n", fx, t[i].example);
        if (scn_parse_string("example", text, strlen(text), &s, &d) != 0) {
            char buf[2048];
            scn_diag_format(&d, buf, sizeof buf);
            fail_msg("example of '%s' does not parse:\n%s", t[i].name, buf);
        }
        assert_int_equal(s->nstmts, base + 1);
        assert_int_equal(s->stmts[base].kind, t[i].kind);
        assert_int_equal(s->stmts[base].setup, !t[i].timeline_only);
        scn_script_free(s);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static void test_readme(void **state)
{
    (void)state;
    char *readme = slurp(XL_SOURCE_DIR "/scenarios/README.md");
    assert_non_null(readme);
    /* Markdown tables escape '|' as "\\|": read them as written in the table. */
    char *w = readme;
    for (const char *r = readme; *r; r++)
        if (!(r[0] == '\\' && r[1] == '|'))
            *w++ = *r;
    *w = '\0';
    size_t n = 0;
    const struct scn_stmt_info *t = scn_stmt_table(&n);
    for (size_t i = 0; i < n; i++)
        if (!strstr(readme, t[i].example))
            fail_msg("scenarios/README.md does not show the example of '%s': %s", t[i].name,
                     t[i].example);
    const struct scn_check_info *c = scn_check_table(&n);
    for (size_t i = 0; i < n; i++)
        if (!strstr(readme, c[i].syntax))
            fail_msg("scenarios/README.md does not show check '%s' (%s)", c[i].name, c[i].syntax);
    free(readme);
}

static size_t nfiles, nbad;

static int visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    size_t l = strlen(path);
    if (type != FTW_F || l < 4 || strcmp(path + l - 4, ".scn") != 0)
        return 0;
    nfiles++;
    struct scn_script *s = NULL;
    struct scn_diag d;
    if (scn_parse_file(path, &s, &d) != 0) {
        scn_diag_print(&d, stdout);
        nbad++;
        return 0;
    }
    if (!s->title[0]) {
        printf("%s: no title (the first '#' line)\n", path);
        nbad++;
    }
    scn_script_free(s);
    return 0;
}

static void test_scenarios_parse(void **state)
{
    (void)state;
    nfiles = nbad = 0;
    assert_int_equal(nftw(XL_SOURCE_DIR "/scenarios", visit, 16, FTW_PHYS), 0);
    printf("scenarios: %zu files, %zu bad\n", nfiles, nbad);
    assert_int_equal(nbad, 0);
    assert_true(nfiles >= 30);
}

static void test_reference(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    scn_print_reference(f);
    fclose(f);
    size_t n = 0;
    const struct scn_stmt_info *t = scn_stmt_table(&n);
    for (size_t i = 0; i < n; i++)
        assert_non_null(strstr(buf, t[i].syntax));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),      cmocka_unit_test(test_examples_parse),
        cmocka_unit_test(test_readme),    cmocka_unit_test(test_scenarios_parse),
        cmocka_unit_test(test_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
