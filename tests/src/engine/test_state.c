/*
 * test_state: the transition table (semantics.md §1.2), one cmocka test per
 * row. Each test checks that, for every state the row applies from and every
 * job type it covers, st_next() answers with this row — unless an earlier,
 * narrower row claims that case (rows are ordered) — and that the row is
 * well-formed: a real target state, a result from the error table, never a
 * move out of a final state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "state.h"

static void test_row(void **state)
{
    const struct st_row *row = *state;
    unsigned idx = (unsigned)(row - st_rows);
    assert_true(row->from != 0);
    assert_true(row->to >= -1 && row->to < XFER_STATE_COUNT);
    assert_true(row->result < XE_COUNT);
    assert_non_null(row->doc);
    unsigned hits = 0;
    for (int s = 0; s < XFER_STATE_COUNT; s++) {
        if (!(row->from & ST_BIT(s)))
            continue;
        if (st_is_final((enum xfer_state)s))
            assert_int_equal(row->to, -1); /* final states never move */
        for (int type = 0; type < 3; type++) {
            if (row->types && !(row->types & (1u << type)))
                continue;
            const struct st_row *got =
                st_next((enum xfer_state)s, row->trigger, (enum xfer_job_type)type);
            assert_non_null(got);
            if (got != row) {
                /* an earlier row must own the case */
                if ((unsigned)(got - st_rows) >= idx)
                    fail_msg("row %u (%s): state %s answered by later row %u", idx, row->doc,
                             xfer_state_name((enum xfer_state)s), (unsigned)(got - st_rows));
                continue;
            }
            hits++;
        }
    }
    if (hits == 0)
        fail_msg("row %u (%s) is shadowed by earlier rows for every case", idx, row->doc);
}

/* The methods in a final state all answer BG_E_INVALID_STATE; events there do nothing. */
static void test_final_states(void **state)
{
    (void)state;
    const enum st_trigger methods[] = {ST_RESUME, ST_RESUME_EMPTY, ST_SUSPEND, ST_CANCEL,
                                       ST_COMPLETE};
    const enum xfer_state finals[] = {XFER_ACKNOWLEDGED, XFER_CANCELLED};
    for (size_t f = 0; f < 2; f++) {
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            const struct st_row *r = st_next(finals[f], methods[m], XFER_DOWNLOAD);
            assert_non_null(r);
            assert_int_equal(r->result, XE_INVALID_STATE);
            assert_int_equal(r->to, -1);
        }
        for (int t = 0; t < ST_TRIGGER_COUNT; t++) {
            const struct st_row *r = st_next(finals[f], (enum st_trigger)t, XFER_DOWNLOAD);
            assert_true(!r || r->to == -1);
        }
    }
}

/* Spot checks of the answers that matter most, read as a user would. */
static void test_key_answers(void **state)
{
    (void)state;
    const struct {
        enum xfer_state from;
        enum st_trigger t;
        enum xfer_job_type type;
        int to;
        enum xe_id result;
    } cases[] = {
        {XFER_SUSPENDED, ST_RESUME_EMPTY, XFER_DOWNLOAD, -1, XE_EMPTY},
        {XFER_SUSPENDED, ST_RESUME, XFER_DOWNLOAD, XFER_QUEUED, XE_S_OK},
        {XFER_TRANSFERRING, ST_RESUME, XFER_DOWNLOAD, -1, XE_S_OK},
        {XFER_ERROR, ST_RESUME, XFER_DOWNLOAD, XFER_QUEUED, XE_S_OK},
        {XFER_TRANSIENT_ERROR, ST_RETRY_DUE, XFER_DOWNLOAD, XFER_QUEUED, XE_S_OK},
        {XFER_TRANSIENT_ERROR, ST_NO_PROGRESS, XFER_DOWNLOAD, XFER_ERROR, XE_S_OK},
        {XFER_CONNECTING, ST_TRANSIENT, XFER_DOWNLOAD, XFER_TRANSIENT_ERROR, XE_S_OK},
        {XFER_TRANSFERRING, ST_FATAL, XFER_DOWNLOAD, XFER_ERROR, XE_S_OK},
        {XFER_TRANSFERRING, ST_MAX_TIME, XFER_DOWNLOAD, XFER_ERROR, XE_S_OK},
        {XFER_QUEUED, ST_BLOCKED, XFER_DOWNLOAD, XFER_TRANSIENT_ERROR, XE_S_OK},
        {XFER_ERROR, ST_BLOCKED, XFER_DOWNLOAD, -2, XE_S_OK}, /* no row */
        {XFER_SUSPENDED, ST_COMPLETE, XFER_UPLOAD, -1, XE_INVALID_STATE},
        {XFER_TRANSFERRED, ST_COMPLETE, XFER_UPLOAD, XFER_ACKNOWLEDGED, XE_S_OK},
        {XFER_ERROR, ST_COMPLETE, XFER_DOWNLOAD, XFER_ACKNOWLEDGED, XE_S_OK},
        {XFER_SUSPENDED, ST_SUSPEND, XFER_DOWNLOAD, XFER_SUSPENDED, XE_S_OK},
        {XFER_TRANSFERRING, ST_RESTORED, XFER_DOWNLOAD, XFER_QUEUED, XE_S_OK},
        {XFER_QUEUED, ST_INACTIVE, XFER_DOWNLOAD, XFER_CANCELLED, XE_S_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct st_row *r = st_next(cases[i].from, cases[i].t, cases[i].type);
        if (cases[i].to == -2) {
            assert_null(r);
            continue;
        }
        if (!r)
            fail_msg("case %zu: %s + %s has no row", i, xfer_state_name(cases[i].from),
                     st_trigger_name(cases[i].t));
        assert_int_equal(r->to, cases[i].to);
        assert_int_equal(r->result, cases[i].result);
    }
}

static void test_names(void **state)
{
    (void)state;
    for (int s = 0; s < XFER_STATE_COUNT; s++) {
        enum xfer_state back;
        assert_int_equal(st_states[s].state, s);
        assert_true(xfer_state_parse(xfer_state_name((enum xfer_state)s), &back));
        assert_int_equal(back, s);
        assert_true(xfer_state_parse(xfer_state_title((enum xfer_state)s), &back));
        assert_int_equal(back, s);
    }
    enum xfer_state dummy;
    assert_false(xfer_state_parse("RUNNING", &dummy));
    assert_string_equal(xfer_state_title(XFER_TRANSIENT_ERROR), "Transient_Error");
    assert_string_equal(xfer_state_title(XFER_CANCELLED), "Canceled");
    for (int t = 0; t < ST_TRIGGER_COUNT; t++)
        assert_string_not_equal(st_trigger_name((enum st_trigger)t), "?");
}

int main(void)
{
    struct CMUnitTest *tests = calloc(st_nrows + 3, sizeof *tests);
    static char names[64][64];
    assert_true(st_nrows <= 64);
    for (unsigned i = 0; i < st_nrows; i++) {
        snprintf(names[i], sizeof names[i], "row %02u %s %s", i,
                 st_trigger_name(st_rows[i].trigger),
                 st_rows[i].to >= 0 ? xfer_state_name((enum xfer_state)st_rows[i].to) : "-");
        tests[i] = (struct CMUnitTest){
            .name = names[i], .test_func = test_row, .initial_state = (void *)&st_rows[i]};
    }
    tests[st_nrows] = (struct CMUnitTest)cmocka_unit_test(test_final_states);
    tests[st_nrows + 1] = (struct CMUnitTest)cmocka_unit_test(test_key_answers);
    tests[st_nrows + 2] = (struct CMUnitTest)cmocka_unit_test(test_names);
    int rc = _cmocka_run_group_tests("test_state", tests, st_nrows + 3, NULL, NULL);
    free(tests);
    return rc;
}
