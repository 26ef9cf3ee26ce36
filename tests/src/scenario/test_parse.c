/*
 * test_parse: every construct of the scenario language parses into the AST
 * it should (src/scenario/scenario.h): the header, each statement's
 * arguments, the four triggers and the setup/timeline split, each check of
 * `expect`, and scn_covers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scenario.h"

static struct scn_script *parse_ok(const char *text)
{
    struct scn_script *s = NULL;
    struct scn_diag d;
    if (scn_parse_string("t.scn", text, strlen(text), &s, &d) != 0) {
        char buf[2048];
        scn_diag_format(&d, buf, sizeof buf);
        fail_msg("parse failed:\n%s", buf);
    }
    assert_non_null(s);
    return s;
}

#define WORLD                                                                                      \
    "origin files.test http https ftp\n"                                                           \
    "origin cdn.test http\n"                                                                       \
    "file files.test /big.bin size 8MiB seed 7\n"                                                  \
    "job d1 download\n"                                                                            \
    "add d1 http://files.test/big.bin -> big.bin\n"

static const char sketch[] =
    "# A download survives a dropped network and resumes with a Range request.\n"
    "# The link resets the connection at 3 MiB;\n"
    "#\n"
    "# the engine resumes with Range.\n"
    "\n"
    "origin files.test http   # the only origin\n"
    "file files.test /big.bin size 8MiB seed 7\n"
    "network wifi\n"
    "job d1 download\n"
    "add d1 http://files.test/big.bin -> big.bin\n"
    "0s resume d1\n"
    "at d1 3MiB network none\n"
    "expect d1 state TRANSIENT_ERROR code BG_E_NETWORK_DISCONNECTED interrupt "
    "NetworkDisconnected status PausedNoNetwork within 5s\n"
    "+10s network wifi\n"
    "expect d1 state TRANSFERRED within 30s\n"
    "expect request 2 header Range \"bytes=3145728-\"\n"
    "complete d1\n"
    "expect file big.bin sha256 of http://files.test/big.bin\n"
    "expect d1 states SUSPENDED QUEUED CONNECTING TRANSFERRING TRANSIENT_ERROR QUEUED "
    "CONNECTING TRANSFERRING TRANSFERRED ACKNOWLEDGED\n";

static void test_sketch(void **state)
{
    (void)state;
    struct scn_script *s = parse_ok(sketch);
    assert_string_equal(s->title,
                        "A download survives a dropped network and resumes with a Range request.");
    assert_string_equal(
        s->description,
        "The link resets the connection at 3 MiB;\n\nthe engine resumes with Range.");
    assert_int_equal(s->norigins, 1);
    assert_string_equal(s->origins[0].name, "files.test");
    assert_int_equal(s->origins[0].protos, SCN_PROTO_HTTP);
    assert_int_equal(s->njobs, 1);
    assert_int_equal(s->nstmts, 14);
    assert_int_equal(s->nsetup, 5);
    assert_true(s->stmts[4].setup);
    assert_false(s->stmts[5].setup);
    assert_int_equal(s->limit_ms, SCN_DEFAULT_LIMIT_MS);
    assert_int_equal(s->seed, 1);

    const struct scn_stmt *st = &s->stmts[5];
    assert_int_equal(st->kind, SCN_RESUME);
    assert_int_equal(st->trigger.kind, SCN_TRIG_ABS);
    assert_int_equal(st->trigger.ms, 0);
    assert_int_equal(st->pos.line, 11);
    assert_int_equal(st->pos.col, 4);
    assert_string_equal(st->source, "0s resume d1");

    st = &s->stmts[6];
    assert_int_equal(st->kind, SCN_NETWORK);
    assert_int_equal(st->trigger.kind, SCN_TRIG_BYTES);
    assert_int_equal(st->trigger.bytes, 3u << 20);
    assert_int_equal(st->trigger.job, 0);
    assert_int_equal(st->trigger.file, 0);
    assert_string_equal(st->u.network.text, "none");
    assert_int_equal(st->u.network.state.connectivity, SIM_CONN_NONE);
    assert_int_equal(st->u.network.state.type, SIM_NET_WIFI);

    st = &s->stmts[7];
    assert_int_equal(st->kind, SCN_EXPECT);
    assert_int_equal(st->trigger.kind, SCN_TRIG_NONE);
    const struct scn_expect_args *e = &st->u.expect;
    assert_int_equal(e->subject, SCN_SUBJ_JOB);
    assert_int_equal(e->within_ms, 5000);
    assert_int_equal(e->nchecks, 4);
    assert_int_equal(e->checks[0].kind, SCN_CK_STATE);
    assert_int_equal(e->checks[0].state, XFER_TRANSIENT_ERROR);
    assert_int_equal(e->checks[1].kind, SCN_CK_CODE);
    assert_int_equal((uint32_t)e->checks[1].hr, 0x80200010u);
    assert_non_null(e->checks[1].row);
    assert_int_equal(e->checks[2].kind, SCN_CK_INTERRUPT);
    assert_string_equal(xfer_interrupt_name(e->checks[2].value), "NetworkDisconnected");
    assert_int_equal(e->checks[3].kind, SCN_CK_WINRT);
    assert_int_equal(e->checks[3].value, XFER_WINRT_PAUSED_NO_NETWORK);

    st = &s->stmts[8];
    assert_int_equal(st->trigger.kind, SCN_TRIG_REL);
    assert_int_equal(st->trigger.ms, 10000);

    e = &s->stmts[10].u.expect;
    assert_int_equal(e->subject, SCN_SUBJ_REQUEST);
    assert_int_equal(e->request, 2);
    assert_int_equal(e->origin, 0);
    assert_int_equal(e->within_ms, SCN_NOW);
    assert_int_equal(e->checks[0].kind, SCN_CK_HEADER);
    assert_string_equal(e->checks[0].name, "Range");
    assert_string_equal(e->checks[0].text, "bytes=3145728-");

    e = &s->stmts[12].u.expect;
    assert_int_equal(e->subject, SCN_SUBJ_FILE);
    assert_string_equal(e->file, "big.bin");
    assert_int_equal(e->checks[0].kind, SCN_CK_SHA256_OF);
    assert_string_equal(e->checks[0].path, "/big.bin");
    assert_string_equal(e->checks[0].text, "http://files.test/big.bin");

    e = &s->stmts[13].u.expect;
    assert_int_equal(e->checks[0].kind, SCN_CK_STATES);
    assert_int_equal(e->checks[0].nstates, 10);
    assert_int_equal(e->checks[0].states[9], XFER_ACKNOWLEDGED);

    const char *names[8];
    assert_int_equal(scn_covers(s, SCN_COVER_CODE, names, 8), 1);
    assert_string_equal(names[0], "BG_E_NETWORK_DISCONNECTED");
    assert_int_equal(scn_covers(s, SCN_COVER_INTERRUPT, names, 8), 1);
    assert_string_equal(names[0], "NetworkDisconnected");
    assert_int_equal(scn_covers(s, SCN_COVER_WINRT, names, 8), 1);
    size_t ns = scn_covers(s, SCN_COVER_STATE, names, 2);
    assert_int_equal(ns, 7); /* TRANSIENT_ERROR TRANSFERRED SUSPENDED QUEUED CONNECTING ... */
    assert_string_equal(names[0], "TRANSIENT_ERROR");
    assert_string_equal(names[1], "TRANSFERRED");
    size_t n = 0;
    const struct xfer_error_row *tab = xfer_error_table(&n);
    int hits = 0;
    for (size_t i = 0; i < n; i++)
        hits += scn_covers_row(s, &tab[i], false);
    assert_int_equal(hits, 1);
    const struct xfer_error_row *rows[64];
    size_t nr = xfer_error_query("NetworkDisconnected", rows, 64);
    assert_true(nr >= 1);
    for (size_t i = 0; i < nr && i < 64; i++)
        assert_true(scn_covers_row(s, rows[i], true));
    scn_script_free(s);
}

static void test_declarations(void **state)
{
    (void)state;
    struct scn_script *s =
        parse_ok("origin files.test https cert expired\n"
                 "origin ftp.test ftp\n"
                 "file files.test /a.txt text \"hi\\n\\\"there\\\"\"\n"
                 "file files.test /gen.bin size 1.5KiB\n"
                 "file ftp.test /f.bin size 100 seed 3\n"
                 "rule files.test cut: close after=1MiB nth=1   # comment\n"
                 "rule files.test status 503 header=\"Retry-After: 5\" first=2\n"
                 "network cellular fixed limit=2GiB usage=1GiB silent cut=blackhole\n"
                 "battery level=15% saver silent\n"
                 "job d1 download name \"Night build\" priority FOREGROUND\n"
                 "job up upload\n"
                 "add d1 https://files.test/gen.bin -> out/gen.bin ranges 0:100,200:eof 1KiB:10\n"
                 "add d1 ftp://ftp.test/f.bin -> f.bin\n"
                 "set d1 notify_cmdline \"touch done\"\n"
                 "set d1 cost_policy UnrestrictedOnly\n"
                 "group g1 d1 up notify \"echo all\"\n"
                 "limit 2h wall 5s\n"
                 "seed 99\n");
    assert_int_equal(s->nsetup, s->nstmts);
    assert_int_equal(s->origins[0].protos, SCN_PROTO_HTTPS);
    assert_int_equal(s->origins[0].cert, SCN_CERT_EXPIRED);
    assert_int_equal(s->origins[1].protos, SCN_PROTO_FTP);
    const struct scn_stmt *st = s->stmts;
    assert_int_equal(st[2].kind, SCN_FILE);
    assert_true(st[2].u.file.is_text);
    assert_string_equal(st[2].u.file.text, "hi\n\"there\"");
    assert_int_equal(st[2].u.file.size, 10);
    assert_int_equal(st[3].u.file.size, 1536);
    assert_int_equal(st[3].u.file.seed, 99); /* the script's seed, set later in the file */
    assert_int_equal(st[4].u.file.seed, 3);
    assert_string_equal(st[5].u.rule.text, "cut: close after=1MiB nth=1");
    assert_string_equal(st[5].u.rule.name, "cut");
    assert_int_equal(st[5].u.rule.text_col, 17);
    assert_null(st[6].u.rule.name);
    assert_string_equal(st[6].u.rule.text, "status 503 header=\"Retry-After: 5\" first=2");
    assert_string_equal(st[7].u.network.text, "cellular fixed limit=2GiB usage=1GiB");
    assert_true(st[7].u.network.silent);
    assert_int_equal(st[7].u.network.cut, SCN_CUT_BLACKHOLE);
    assert_int_equal(st[7].u.network.state.data_limit, 2ull << 30);
    assert_int_equal(st[7].u.network.state.cost, SIM_COST_FIXED);
    assert_true(st[8].u.battery.silent);
    assert_true(st[8].u.battery.state.saver_manual);
    assert_string_equal(st[8].u.battery.text, "level=15% saver");
    assert_string_equal(s->jobs[0].display_name, "Night build");
    assert_true(s->jobs[0].has_priority);
    assert_int_equal(s->jobs[0].priority, XFER_FOREGROUND);
    assert_int_equal(s->jobs[1].type, XFER_UPLOAD);
    const struct scn_add_args *a = &st[11].u.add;
    assert_int_equal(a->proto, SCN_PROTO_HTTPS);
    assert_string_equal(a->path, "/gen.bin");
    assert_string_equal(a->local, "out/gen.bin");
    assert_int_equal(a->nranges, 3);
    assert_int_equal(a->ranges[0].offset, 0);
    assert_int_equal(a->ranges[0].length, 100);
    assert_int_equal(a->ranges[1].length, XFER_LENGTH_TO_EOF);
    assert_int_equal(a->ranges[2].offset, 1024);
    assert_int_equal(st[12].u.add.origin, 1);
    assert_int_equal(st[12].u.add.proto, SCN_PROTO_FTP);
    assert_string_equal(st[13].u.set.prop, "notify_cmdline");
    assert_string_equal(st[13].u.set.value, "touch done");
    assert_int_equal(s->ngroups, 1);
    assert_int_equal(s->groups[0].njobs, 2);
    assert_string_equal(s->groups[0].notify, "echo all");
    assert_int_equal(s->limit_ms, 2 * 3600 * 1000);
    assert_int_equal(s->wall_limit_ms, 5000);
    assert_int_equal(s->seed, 99);
    assert_true(s->seed_given);
    assert_string_equal(s->title, "");
    scn_script_free(s);
}

static void test_triggers_and_actions(void **state)
{
    (void)state;
    struct scn_script *s = parse_ok(WORLD "+5s resume d1\n"
                                          "when d1 TRANSFERRING suspend d1\n"
                                          "at d1 file 1 1MiB rule files.test s: stall for=forever\n"
                                          "unrule files.test s\n"
                                          "change files.test /big.bin size 9MiB\n"
                                          "change files.test /big.bin\n"
                                          "1min detach\n"
                                          "attach\n"
                                          "kill xferd\n"
                                          "restart xferd\n"
                                          "wait 90s\n"
                                          "cancel d1\n"
                                          "job d2 download\n"
                                          "add d2 http://cdn.test/x -> x\n"
                                          "complete d2\n");
    assert_int_equal(s->nsetup, 5);
    const struct scn_stmt *st = s->stmts + 5;
    assert_int_equal(st[0].trigger.kind, SCN_TRIG_REL);
    assert_int_equal(st[0].trigger.ms, 5000);
    assert_int_equal(st[1].trigger.kind, SCN_TRIG_STATE);
    assert_int_equal(st[1].trigger.state, XFER_TRANSFERRING);
    assert_int_equal(st[1].kind, SCN_SUSPEND);
    assert_int_equal(st[2].trigger.kind, SCN_TRIG_BYTES);
    assert_int_equal(st[2].trigger.file, 0);
    assert_int_equal(st[2].trigger.bytes, 1u << 20);
    assert_int_equal(st[2].kind, SCN_RULE);
    assert_int_equal(st[3].kind, SCN_UNRULE);
    assert_string_equal(st[3].u.rule.name, "s");
    assert_int_equal(st[4].u.change.new_size, 9u << 20);
    assert_int_equal(st[5].u.change.new_size, 0);
    assert_int_equal(st[6].kind, SCN_DETACH);
    assert_int_equal(st[6].trigger.ms, 60000);
    assert_int_equal(st[7].kind, SCN_ATTACH);
    assert_int_equal(st[8].kind, SCN_KILL);
    assert_int_equal(st[9].kind, SCN_RESTART);
    assert_int_equal(st[10].u.wait_ms, 90000);
    assert_int_equal(st[11].kind, SCN_CANCEL);
    assert_int_equal(st[12].kind, SCN_JOB);
    assert_false(st[12].setup);
    assert_int_equal(st[14].kind, SCN_COMPLETE);
    assert_int_equal(st[14].u.job, 1);
    scn_script_free(s);
}

static void test_expect_checks(void **state)
{
    (void)state;
    struct scn_script *s = parse_ok(
        WORLD "group g1 d1\n"
              "resume d1\n"
              "expect d1 code 0x80200010 context GENERAL_TRANSPORT weberror Disconnected\n"
              "expect d1 progress 3MiB/8MiB restarted yes errors 2 notified 1\n"
              "expect d1 total unknown bytes 0 code none result BG_S_PARTIAL_COMPLETE\n"
              "expect d1 states contains TRANSIENT_ERROR QUEUED state QUEUED within 1min\n"
              "expect request 1 on files.test method get status 206 path /big.bin range absent "
              "header If-Range absent\n"
              "expect requests on cdn.test path /big* count 3\n"
              "expect requests on files.test count 0\n"
              "expect file big.bin absent\n"
              "expect file big.bin size 8MiB sha256 "
              "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\n"
              "expect group g1 ran 1 within 10s\n");
    const struct scn_stmt *st = s->stmts + 7;
    const struct scn_check *c = st[0].u.expect.checks;
    assert_int_equal((uint32_t)c[0].hr, 0x80200010u);
    assert_int_equal(c[1].kind, SCN_CK_CONTEXT);
    assert_int_equal(c[1].value, XFER_CTX_GENERAL_TRANSPORT);
    assert_int_equal(c[2].kind, SCN_CK_WEBERROR);
    assert_string_equal(xfer_web_error_name(c[2].value), "Disconnected");
    c = st[1].u.expect.checks;
    assert_int_equal(st[1].u.expect.nchecks, 5);
    assert_int_equal(c[0].kind, SCN_CK_BYTES);
    assert_int_equal(c[0].num, 3u << 20);
    assert_int_equal(c[1].kind, SCN_CK_TOTAL);
    assert_int_equal(c[1].num, 8u << 20);
    assert_true(c[2].flag);
    assert_int_equal(c[3].kind, SCN_CK_ERRORS);
    assert_int_equal(c[4].kind, SCN_CK_NOTIFIED);
    c = st[2].u.expect.checks;
    assert_int_equal(c[0].num, XFER_SIZE_UNKNOWN);
    assert_int_equal(c[2].hr, 0);
    assert_int_equal(c[3].kind, SCN_CK_RESULT);
    assert_int_equal(c[3].hr, 0x00200017);
    c = st[3].u.expect.checks;
    assert_int_equal(c[0].kind, SCN_CK_STATES_CONTAINS);
    assert_int_equal(c[0].nstates, 2);
    assert_int_equal(c[1].kind, SCN_CK_STATE);
    assert_int_equal(st[3].u.expect.within_ms, 60000);
    c = st[4].u.expect.checks;
    assert_string_equal(c[0].name, "GET");
    assert_int_equal(c[1].value, 206);
    assert_string_equal(c[2].name, "/big.bin");
    assert_int_equal(c[3].kind, SCN_CK_NO_HEADER);
    assert_string_equal(c[3].name, "Range");
    assert_int_equal(c[4].kind, SCN_CK_NO_HEADER);
    assert_string_equal(st[5].u.expect.path, "/big*");
    assert_int_equal(st[5].u.expect.origin, 1);
    assert_int_equal(st[5].u.expect.checks[0].num, 3);
    assert_null(st[6].u.expect.path);
    assert_int_equal(st[7].u.expect.checks[0].kind, SCN_CK_ABSENT);
    c = st[8].u.expect.checks;
    assert_int_equal(c[0].kind, SCN_CK_SIZE);
    assert_string_equal(c[1].text,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(st[9].u.expect.subject, SCN_SUBJ_GROUP);
    assert_int_equal(st[9].u.expect.checks[0].kind, SCN_CK_RAN);
    const char *names[4];
    assert_int_equal(scn_covers(s, SCN_COVER_CODE, names, 4), 2); /* S_OK ("none") is no code */
    assert_string_equal(names[0], "BG_E_NETWORK_DISCONNECTED");
    assert_string_equal(names[1], "BG_S_PARTIAL_COMPLETE");
    assert_int_equal(scn_covers(s, SCN_COVER_WEBERROR, names, 4), 1);
    scn_script_free(s);
}

static void test_relative_first_and_untimed(void **state)
{
    (void)state;
    /* A relative time before any absolute one counts from 0; an untimed first timeline line
     * starts the timeline too. */
    struct scn_script *s = parse_ok(WORLD "+2s resume d1\n10s suspend d1\n");
    assert_int_equal(s->stmts[5].trigger.kind, SCN_TRIG_REL);
    assert_int_equal(s->stmts[5].trigger.ms, 2000);
    scn_script_free(s);
    s = parse_ok(WORLD "expect d1 state SUSPENDED\nnetwork wifi\n");
    assert_int_equal(s->nsetup, 5);
    assert_false(s->stmts[6].setup);
    scn_script_free(s);
    /* Only comments and blank lines: an empty script with a title. */
    s = parse_ok("# Title only\n\n# not the description\n");
    assert_string_equal(s->title, "Title only");
    assert_string_equal(s->description, "");
    assert_int_equal(s->nstmts, 0);
    scn_script_free(s);
    /* CRLF line ends and tabs. */
    s = parse_ok("# T\r\norigin\tfiles.test http\r\njob d1 download\r\n");
    assert_string_equal(s->title, "T");
    assert_int_equal(s->njobs, 1);
    scn_script_free(s);
}

static void test_parse_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/xl-scn-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/a.scn", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(sketch, f);
    fclose(f);
    struct scn_script *s = NULL;
    struct scn_diag d;
    assert_int_equal(scn_parse_file(path, &s, &d), 0);
    assert_string_equal(s->path, path);
    scn_script_free(s);
    unlink(path);
    assert_int_equal(scn_parse_file(path, &s, &d), -1);
    assert_null(s);
    assert_int_equal(d.line, 0);
    assert_non_null(strstr(d.message, "cannot open"));
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sketch),
        cmocka_unit_test(test_declarations),
        cmocka_unit_test(test_triggers_and_actions),
        cmocka_unit_test(test_expect_checks),
        cmocka_unit_test(test_relative_first_and_untimed),
        cmocka_unit_test(test_parse_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
