/*
 * test_sched: who moves when (semantics.md §1.5, decisions.md limits).
 * Replays the event log to measure how many jobs were CONNECTING or
 * TRANSFERRING at once, and of which priority.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engenv.h"
#include "errtab.h"

#define ME    1000
#define SCALE 100.0 /* coarse enough that a loaded machine cannot squeeze a slice */
#define SIZE  (256 * 1024)

static xfer_guid job(struct engenv *t, int i, const char *priority)
{
    char u[128], name[32];
    snprintf(u, sizeof u, "%s/f%d.bin", t->http_url, i);
    snprintf(name, sizeof name, "f%d.bin", i);
    xfer_guid g;
    char local[256];
    snprintf(local, sizeof local, "%s/%s", t->dl, name);
    assert_int_equal(xfer_job_create(t->eng, ME, XFER_DOWNLOAD, name, &g), 0);
    assert_int_equal(xfer_job_add_file(t->eng, ME, &g, u, local), 0);
    assert_int_equal(xfer_job_set(t->eng, ME, &g, "priority", priority, NULL, 0), 0);
    return g;
}

struct all_done {
    xfer_guid *g;
    size_t n;
};

static bool all_transferred(struct engenv *t, void *arg)
{
    struct all_done *a = arg;
    for (size_t i = 0; i < a->n; i++)
        if (engenv_state(t, &a->g[i], NULL) != XFER_TRANSFERRED)
            return false;
    return true;
}

/* Peak number of moving jobs in the log, overall and among background priorities. */
static void peaks(const struct engenv *t, const xfer_guid *g, const bool *bg, size_t n,
                  unsigned *all, unsigned *background)
{
    bool moving[16] = {0};
    *all = *background = 0;
    for (size_t i = 0; i < t->nlog; i++) {
        const struct xfer_event *ev = &t->log[i].ev;
        if (ev->type != XFER_EV_STATE)
            continue;
        for (size_t k = 0; k < n; k++)
            if (memcmp(&ev->job, &g[k], sizeof g[k]) == 0)
                moving[k] = ev->new_state == XFER_CONNECTING || ev->new_state == XFER_TRANSFERRING;
        unsigned a = 0, b = 0;
        for (size_t k = 0; k < n; k++) {
            a += moving[k];
            b += moving[k] && bg[k];
        }
        *all = a > *all ? a : *all;
        *background = b > *background ? b : *background;
    }
}

static size_t count_cause(const struct engenv *t, const xfer_guid *g, const char *cause)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nlog; i++)
        if (t->log[i].ev.type == XFER_EV_STATE && memcmp(&t->log[i].ev.job, g, sizeof *g) == 0 &&
            strcmp(t->log[i].cause, cause) == 0)
            n++;
    return n;
}

/* Background jobs of one priority: one at a time, round robin by slices. */
static void test_round_robin(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    t.cfg.slice_ms = 5000;
    for (int i = 0; i < 3; i++) {
        char p[32];
        snprintf(p, sizeof p, "/f%d.bin", i);
        fltenv_gen(&t.f, p, SIZE, (uint64_t)i + 1);
    }
    fltenv_rule(&t.f, "throttle 16KiB/s"); /* 16 s of simulated time per file */
    engenv_open(&t);
    xfer_guid g[3];
    bool bg[3] = {true, true, true};
    for (int i = 0; i < 3; i++)
        g[i] = job(&t, i, "NORMAL");
    for (int i = 0; i < 3; i++)
        assert_int_equal(xfer_job_resume(t.eng, ME, &g[i]), 0);
    struct all_done a = {g, 3};
    assert_true(engenv_run_until(&t, all_transferred, &a, 60000));
    unsigned all, background;
    peaks(&t, g, bg, 3, &all, &background);
    assert_int_equal(background, 1);
    for (int i = 0; i < 3; i++) {
        assert_true(count_cause(&t, &g[i], "slice-end") >= 1);
        char name[32];
        snprintf(name, sizeof name, "f%d.bin", i);
        engenv_complete_and_check(&t, &g[i], name, (uint64_t)i + 1, SIZE);
    }
    engenv_free(&t);
}

/* FOREGROUND jobs run together, beside one background job; max_transfers caps them. */
static void test_foreground_concurrent(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    t.cfg.max_transfers = 3;
    for (int i = 0; i < 6; i++) {
        char p[32];
        snprintf(p, sizeof p, "/f%d.bin", i);
        fltenv_gen(&t.f, p, SIZE, (uint64_t)i + 1);
    }
    fltenv_rule(&t.f, "throttle 64KiB/s");
    engenv_open(&t);
    xfer_guid g[6];
    bool bg[6];
    for (int i = 0; i < 6; i++) {
        bg[i] = i >= 4;
        g[i] = job(&t, i, i < 4 ? "FOREGROUND" : "LOW");
        assert_int_equal(xfer_job_resume(t.eng, ME, &g[i]), 0);
    }
    struct all_done a = {g, 6};
    assert_true(engenv_run_until(&t, all_transferred, &a, 60000));
    unsigned all, background;
    peaks(&t, g, bg, 6, &all, &background);
    assert_int_equal(all, 3);
    assert_int_equal(background, 1);
    engenv_free(&t);
}

/* A queued HIGH job preempts a running NORMAL one, which later resumes with Range. */
static void test_preempt(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/f0.bin", SIZE, 1);
    fltenv_gen(&t.f, "/f1.bin", SIZE, 2);
    fltenv_rule(&t.f, "throttle 16KiB/s path=/f0.bin");
    engenv_open(&t);
    xfer_guid low = job(&t, 0, "NORMAL");
    assert_int_equal(xfer_job_resume(t.eng, ME, &low), 0);
    assert_true(engenv_wait_state(&t, &low, XFER_TRANSFERRING, 10000));
    engenv_spin(&t, 3); /* a few simulated seconds of bytes */
    xfer_guid high = job(&t, 1, "HIGH");
    assert_int_equal(xfer_job_resume(t.eng, ME, &high), 0);
    xfer_guid both[2] = {low, high};
    struct all_done a = {both, 2};
    assert_true(engenv_run_until(&t, all_transferred, &a, 60000));
    assert_int_equal(count_cause(&t, &low, "preempted"), 1);
    /* high finished before low did */
    size_t high_done = 0, low_done = 0;
    for (size_t i = 0; i < t.nlog; i++) {
        const struct xfer_event *ev = &t.log[i].ev;
        if (ev->type == XFER_EV_STATE && ev->new_state == XFER_TRANSFERRED)
            *(memcmp(&ev->job, &high, sizeof high) == 0 ? &high_done : &low_done) = i;
    }
    assert_true(high_done < low_done);
    /* low's second request resumed where it stopped */
    bool resumed = false;
    for (size_t i = 0; i < flt_journal_count(&t.f.journal); i++) {
        struct flt_jentry e;
        assert_int_equal(flt_journal_get(&t.f.journal, i, &e), 0);
        if (strcmp(e.target, "/f0.bin") == 0 && e.range)
            resumed = true;
        flt_jentry_release(&e);
    }
    assert_true(resumed);
    engenv_complete_and_check(&t, &low, "f0.bin", 1, SIZE);
    engenv_complete_and_check(&t, &high, "f1.bin", 2, SIZE);
    engenv_free(&t);
}

/* Suspend stops a transfer at once; Resume continues from the checkpoint. */
static void test_suspend_resume(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/f0.bin", SIZE, 1);
    fltenv_rule(&t.f, "throttle 16KiB/s");
    engenv_open(&t);
    xfer_guid g = job(&t, 0, "NORMAL");
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    assert_true(engenv_wait_state(&t, &g, XFER_TRANSFERRING, 10000));
    engenv_spin(&t, 4);
    assert_int_equal(xfer_job_suspend(t.eng, ME, &g), 0);
    assert_int_equal(xfer_engine_in_flight(t.eng), 0);
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(t.eng, ME, &g, &in), 0);
    assert_int_equal(in->state, XFER_SUSPENDED);
    assert_int_equal(in->winrt_status, XFER_WINRT_PAUSED_BY_APPLICATION);
    uint64_t done = in->bytes_done;
    free(in);
    assert_true(done > 0);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    assert_true(engenv_wait_state(&t, &g, XFER_TRANSFERRED, 30000));
    char states[256];
    engenv_states(&t, &g, states, sizeof states);
    assert_string_equal(states, "SUSPENDED QUEUED CONNECTING TRANSFERRING SUSPENDED QUEUED "
                                "CONNECTING TRANSFERRING TRANSFERRED");
    engenv_complete_and_check(&t, &g, "f0.bin", 1, SIZE);
    engenv_free(&t);
}

/* Complete before the end keeps finished files only: BG_S_PARTIAL_COMPLETE. */
static void test_partial_complete(void **state)
{
    (void)state;
    struct engenv t;
    engenv_init(&t, SCALE, false);
    fltenv_gen(&t.f, "/f0.bin", SIZE, 1);
    fltenv_gen(&t.f, "/f1.bin", SIZE, 2);
    fltenv_rule(&t.f, "stall after=1000 for=forever path=/f1.bin");
    engenv_open(&t);
    xfer_guid g;
    char l0[256], l1[256], u0[128], u1[128];
    snprintf(l0, sizeof l0, "%s/f0.bin", t.dl);
    snprintf(l1, sizeof l1, "%s/f1.bin", t.dl);
    snprintf(u0, sizeof u0, "%s/f0.bin", t.http_url);
    snprintf(u1, sizeof u1, "%s/f1.bin", t.http_url);
    assert_int_equal(xfer_job_create(t.eng, ME, XFER_DOWNLOAD, "two", &g), 0);
    assert_int_equal(xfer_job_add_file(t.eng, ME, &g, u0, l0), 0);
    assert_int_equal(xfer_job_add_file(t.eng, ME, &g, u1, l1), 0);
    assert_int_equal(xfer_job_resume(t.eng, ME, &g), 0);
    for (int i = 0; i < 2000 && engenv_count(&t, &g, XFER_EV_FILE_TRANSFERRED) == 0; i++)
        engenv_spin(&t, 5);
    assert_int_equal(engenv_count(&t, &g, XFER_EV_FILE_TRANSFERRED), 1);
    struct xfer_job_info *in;
    assert_int_equal(xfer_job_info(t.eng, ME, &g, &in), 0);
    char temp1[256];
    snprintf(temp1, sizeof temp1, "%s", in->files[1].temp_path);
    free(in);
    assert_int_equal(xfer_job_complete(t.eng, ME, &g), xe_hr(XE_S_PARTIAL_COMPLETE));
    char got[65], want[65];
    assert_true(engenv_file_sha256(l0, got));
    fltenv_gen_sha256(1, 0, 0, SIZE, want);
    assert_string_equal(got, want);
    assert_false(engenv_file_sha256(l1, got));
    assert_false(engenv_file_sha256(temp1, got));
    assert_int_equal(engenv_state(&t, &g, NULL), XFER_ACKNOWLEDGED);
    engenv_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin),      cmocka_unit_test(test_foreground_concurrent),
        cmocka_unit_test(test_preempt),          cmocka_unit_test(test_suspend_resume),
        cmocka_unit_test(test_partial_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
