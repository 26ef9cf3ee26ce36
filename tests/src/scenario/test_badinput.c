/*
 * test_badinput: every kind of bad input gives `file:line:col: message`, the
 * line and a caret under the right column, and unknown names suggest the
 * closest known one. One table row per case: the script, the expected line
 * and column, and a piece of the message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scenario.h"

#define WORLD                                                                                      \
    "origin files.test http\n"                                                                     \
    "file files.test /big.bin size 8MiB\n"                                                         \
    "job d1 download\n"                                                                            \
    "add d1 http://files.test/big.bin -> big.bin\n"
#define L 5 /* the first line after WORLD */

struct bad {
    const char *text;
    unsigned line, col;
    const char *msg;
};

static const struct bad cases[] = {
    /* lexing */
    {"job d1 download name \"open\n", 1, 22, "unterminated string"},
    {"job d1 download name \"a\\qb\"\n", 1, 24, "unknown escape"},
    {"job d1 download name \"a\"b\n", 1, 25, "blank after the closing"},
    /* statements and arguments */
    {"resum d1\n", 1, 1, "unknown statement 'resum'; did you mean 'resume'?"},
    {"frobnicate\n", 1, 1, "unknown statement 'frobnicate'"},
    {WORLD "resume\n", L, 7, "expected a job id after 'resume'"},
    {WORLD "resume d1 d1\n", L, 11, "unexpected 'd1' (syntax: resume JOB)"},
    {WORLD "kill d1\n", L, 6, "expected 'xferd', got 'd1'"},
    {WORLD "detach now\n", L, 8, "unexpected 'now'"},
    {WORLD "0s\n", L, 3, "expected a statement after '0s'"},
    {WORLD "job d1 download\n", L, 5, "job 'd1' is already declared at line 3"},
    {WORLD "job request download\n", L, 5, "'request' is a keyword"},
    {WORLD "job 1x download\n", L, 5, "starts with a letter"},
    {WORLD "job d2 dowload\n", L, 8, "unknown job type 'dowload'; did you mean 'DOWNLOAD'?"},
    {WORLD "job d2 download priority HIHG\n", L, 26, "did you mean 'HIGH'?"},
    {WORLD "job d2 download priorty HIGH\n", L, 17, "did you mean 'priority'?"},
    {WORLD "resume d2\n", L, 8, "undefined job 'd2'; did you mean 'd1'?"},
    {"resume x\n", 1, 8, "undefined job 'x' (declare it first with 'job')"},
    {"origin files.test\n", 1, 18, "expected a protocol"},
    {"origin files.test http htp\n", 1, 24, "did you mean 'http'?"},
    {"origin files.test http http\n", 1, 24, "given twice"},
    {"origin files.test http cert expired\n", 1, 24, "'cert' needs https"},
    {"origin files.test https cert expird\n", 1, 30, "did you mean 'expired'?"},
    {"origin a.test http\norigin a.test ftp\n", 2, 8, "already declared at line 1"},
    {WORLD "0s resume d1\norigin b.test http\n", L + 1, 1,
     "'origin' is setup only: move it above the timeline, which begins at line 5"},
    {WORLD "file files.test big.bin size 1\n", L, 17, "starts with '/'"},
    {WORLD "file files.test /x size 8MiBB\n", L, 26, "bad size '8MiBB'"},
    {WORLD "file files.test /x\n", L, 19, "expected 'size SIZE' or 'text"},
    {WORLD "file files.test /x size 1 text \"a\"\n", L, 27, "'text' cannot go with"},
    {WORLD "file nope.test /x size 1\n", L, 6, "undefined origin 'nope.test'"},
    {WORLD "file files.tst /x size 1\n", L, 6, "did you mean 'files.test'?"},
    {WORLD "change files.test /other.bin\n", L, 19, "no file '/other.bin' is declared"},
    /* units */
    {WORLD "wait 10\n", L, 8, "bad duration '10'"},
    {WORLD "wait 10parsecs\n", L, 8, "bad duration"},
    {WORLD "1x resume d1\n", L, 2, "bad duration '1x'"},
    {WORLD "+ resume d1\n", L, 2, "expected a duration after '+'"},
    {WORLD "10s resume d1\n5s suspend d1\n", L + 1, 1, "time 5s is before an earlier line's 10s"},
    {WORLD "limit 0s\n", L, 7, "above 0"},
    /* fault rules: columns point into the rule text */
    {WORLD "rule files.test close afterr=3MiB\n", L, 23, "bad fault rule:"},
    {WORLD "rule files.test clsoe after=3MiB\n", L, 17, "did you mean 'close'"},
    {WORLD "rule files.test close after=3MiBB\n", L, 30, "bad fault rule:"},
    {WORLD "rule files.test\n", L, 16, "expected a fault rule"},
    {WORLD "rule files.test a: close after=1\nrule files.test a: reset after=2\n", L + 1, 17,
     "a rule named 'a' is already on 'files.test'"},
    {WORLD "unrule files.test cutt\n", L, 19, "no rule named 'cutt'"},
    {WORLD "rule files.test cut: close after=1\nunrule files.test cutt\n", L + 1, 19,
     "did you mean 'cut'?"},
    /* network and battery: model errors point into the text */
    {WORLD "network wifi roaming\n", L, 14, "bad network: roaming"},
    {WORLD "network wif\n", L, 9, "wifi"},
    {WORLD "network cellular limit=2GB usage=lots\n", L, 34, "bad network:"},
    {WORLD "network silent\n", L, 9, "expected a network besides"},
    {WORLD "network none cut=gently\n", L, 18, "unknown cut 'gently'"},
    {WORLD "battery level=150%\n", L, 9, "bad battery:"},
    {WORLD "battery cut=reset\n", L, 9, "bad battery:"},
    /* add */
    {WORLD "add d1 http://nope.test/a -> a\n", L, 15, "undefined origin 'nope.test'"},
    {WORLD "add d1 https://files.test/a -> a\n", L, 8, "does not serve https"},
    {WORLD "add d1 gopher://files.test/a -> a\n", L, 8, "scheme 'gopher'"},
    {WORLD "add d1 http://files.test:8080/a -> a\n", L, 8, "has a port"},
    {WORLD "add d1 http://files.test/a a\n", L, 28, "expected '->'"},
    {WORLD "add d1 http://files.test/a -> /etc/passwd\n", L, 31, "relative"},
    {WORLD "add d1 http://files.test/a -> ../x\n", L, 31, "may not leave"},
    {WORLD "add d1 http://files.test/a -> a ranges 0:100,5\n", L, 46, "OFFSET:LENGTH"},
    {WORLD "add d1 http://files.test/a -> a ranges 0:1x\n", L, 43, "bad size '1x'"},
    {WORLD "add d1 http://files.test/a -> a ranges 0:0\n", L, 42, "length is above 0"},
    {WORLD "add d1 http://files.test/a -> a rangs 0:1\n", L, 33, "did you mean 'ranges'?"},
    /* set, group */
    {WORLD "set d1 cost_polcy Always\n", L, 8,
     "unknown property 'cost_polcy'; did you mean "
     "'cost_policy'?"},
    {WORLD "set d1 priority\n", L, 16, "expected a value"},
    {WORLD "set d1 priority HIGH LOW\n", L, 22, "unexpected 'LOW'"},
    {WORLD "group g1\n", L, 9, "expected the jobs of group 'g1'"},
    {WORLD "group g1 d1 d1\n", L, 13, "in the group twice"},
    {WORLD "group d1 d1\n", L, 7, "already a job's id"},
    /* triggers */
    {WORLD "at d1 1MiB\n", L, 11, "expected a statement"},
    {WORLD "at d1 file 2 1MiB resume d1\n", L, 4, "job 'd1' has 1 file(s) so far"},
    {WORLD "at d1 file 0 1MiB resume d1\n", L, 12, "file numbers start at 1"},
    {"job d1 download\nat d1 1MiB resume d1\n", 2, 4, "has 0 file(s)"},
    {WORLD "at d2 1MiB resume d1\n", L, 4, "undefined job 'd2'"},
    {WORLD "when d1 TRANSFERING resume d1\n", L, 9, "did you mean 'TRANSFERRING'?"},
    /* expect */
    {WORLD "expect d1 state TRANSFERING\n", L, 17,
     "unknown state 'TRANSFERING'; did you mean 'TRANSFERRING'?"},
    {WORLD "expect d1\n", L, 10, "expected at least one check"},
    {WORLD "expect d1 stat QUEUED\n", L, 11, "unknown check 'stat'; did you mean 'state'?"},
    {WORLD "expect d1 code BG_E_NETWORK_DISCONECTED\n", L, 16,
     "did you mean 'BG_E_NETWORK_DISCONNECTED'?"},
    {WORLD "expect d1 code 0x8020001\n", L, 16, "8 hex digits"},
    {WORLD "expect d1 code 0xZZ\n", L, 16, "bad HRESULT"},
    {WORLD "expect d1 interrupt NetworkDisconected\n", L, 21,
     "did you mean 'NetworkDisconnected'?"},
    {WORLD "expect d1 status PausedNoNetwrk\n", L, 18, "did you mean 'PausedNoNetwork'?"},
    {WORLD "expect d1 weberror Disconected\n", L, 20, "did you mean 'Disconnected'?"},
    {WORLD "expect d1 context REMOTE_FLE\n", L, 19, "did you mean 'REMOTE_FILE'?"},
    {WORLD "expect d1 state QUEUED state QUEUED\n", L, 24, "already checks that (column 11)"},
    {WORLD "expect d1 state QUEUED within 5s within 6s\n", L, 34, "'within' given twice"},
    {WORLD "expect d1 state QUEUED within\n", L, 30, "expected a simulated duration"},
    {WORLD "expect d1 progress 3MiB\n", L, 20, "BYTES/TOTAL"},
    {WORLD "expect d1 progress 3MiB/lots\n", L, 25, "bad size 'lots'"},
    {WORLD "expect d1 restarted maybe\n", L, 21, "expected yes or no"},
    {WORLD "expect d1 count 3\n", L, 11, "'count' does not apply to a job"},
    {WORLD "expect d1 states\n", L, 17, "expected a list of states"},
    {WORLD "expect d1 states contains\n", L, 26, "expected a list of states"},
    {WORLD "expect d1 states QUEUED QUEUD\n", L, 25, "did you mean 'QUEUED'?"},
    {WORLD "expect file big.bin state QUEUED\n", L, 21, "'state' does not apply to a file"},
    {WORLD "expect file /etc/passwd absent\n", L, 13, "relative"},
    {WORLD "expect file a sha256 abc\n", L, 22, "64 hex digits, this has 3"},
    {WORLD "expect file a sha256 xyz\n", L, 22, "64 hex digits"},
    {WORLD "expect file a sha256 of http://files.test/nope\n", L, 25, "no file '/nope'"},
    {WORLD "expect request 0 method GET\n", L, 16, "start at 1"},
    {WORLD "expect request 1 status 99\n", L, 25, "100..599"},
    {WORLD "expect request 1 header \"Bad Name\" absent\n", L, 28, "a header name"},
    {WORLD "expect request 1 header Range\n", L, 30, "expected a value in double quotes"},
    {WORLD "expect request 1 path big.bin\n", L, 23, "starts with '/'"},
    {WORLD "origin b.test http\nexpect request 1 method GET\n", L + 1, 8,
     "there are 2 origins: say which with 'on ORIGIN'"},
    {WORLD "expect request 1 on c.test method GET\n", L, 21, "undefined origin 'c.test'"},
    {WORLD "expect group g9 ran 1\n", L, 14, "undefined group 'g9'"},
    {WORLD "expect requests count many\n", L, 23, "bad number"},
    {WORLD "expect\n", L, 7, "expected what to check"},
};

static void test_case(void **state)
{
    const struct bad *b = *state;
    struct scn_script *s = (struct scn_script *)1;
    struct scn_diag d;
    memset(&d, 0x5a, sizeof d);
    int rc = scn_parse_string("bad.scn", b->text, strlen(b->text), &s, &d);
    if (rc == 0) {
        scn_script_free(s);
        fail_msg("parsed, expected an error: %s", b->text);
    }
    assert_null(s);
    char buf[4096];
    scn_diag_format(&d, buf, sizeof buf);
    if (d.line != b->line || d.col != b->col || !strstr(d.message, b->msg))
        fail_msg("expected %u:%u '%s', got:\n%s", b->line, b->col, b->msg, buf);
    /* The report: file:line:col: message, the line, a caret under the column. */
    char head[64];
    snprintf(head, sizeof head, "bad.scn:%u:%u: ", b->line, b->col);
    assert_true(strncmp(buf, head, strlen(head)) == 0);
    size_t k = strlen(d.caret);
    assert_int_equal(k, b->col);
    assert_int_equal(d.caret[k - 1], '^');
    for (size_t i = 0; i + 1 < k; i++)
        assert_int_equal(d.caret[i], ' ');
    assert_non_null(strstr(b->text, d.source) ? d.source : NULL);
}

static void test_no_diag_and_garbage(void **state)
{
    (void)state;
    struct scn_script *s = NULL;
    assert_int_equal(scn_parse_string(NULL, "x\n", 2, &s, NULL), -1);
    assert_null(s);
    const char bin[] = "origin a.test http\n\0\x01\xff";
    struct scn_diag d;
    assert_int_equal(scn_parse_string(NULL, bin, sizeof bin - 1, &s, &d), -1);
    assert_string_equal(d.file, "<string>");
    assert_int_equal(d.line, 2);
    assert_non_null(strstr(d.message, "NUL byte"));
}

int main(void)
{
    struct CMUnitTest tests[sizeof cases / sizeof *cases + 1];
    size_t n = sizeof cases / sizeof *cases;
    for (size_t i = 0; i < n; i++) {
        tests[i] = (struct CMUnitTest)cmocka_unit_test_prestate(test_case, (void *)&cases[i]);
        static char names[sizeof cases / sizeof *cases][64];
        snprintf(names[i], sizeof names[i], "bad_%02zu_line%u_col%u", i, cases[i].line,
                 cases[i].col);
        tests[i].name = names[i];
    }
    tests[n] = (struct CMUnitTest)cmocka_unit_test(test_no_diag_and_garbage);
    return _cmocka_run_group_tests("test_badinput", tests, n + 1, NULL, NULL);
}
