/*
 * libFuzzer target for the scenario language's parser (src/scenario).
 *
 * Each input (any bytes, at most 64 KiB) goes to scn_parse_string(). A
 * failure must place itself: a line inside the input, a column at least 1, a
 * message, and a caret line ending in '^' under the column. A success must
 * be a consistent script: setup before timeline, every statement with its
 * source line, indices of jobs, origins and groups in range, coverage that
 * can be listed; and it must free without a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static void die(const char *what, const struct scn_diag *d)
{
    fprintf(stderr, "fuzz_scenario: %s\n", what);
    if (d)
        scn_diag_print(d, stderr);
    abort();
}

static void check_failure(const uint8_t *data, size_t size, const struct scn_diag *d)
{
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (!d->message[0])
        die("an error without a message", d);
    if (d->line < 1 || d->line > lines)
        die("an error on a line outside the input", d);
    size_t k = strlen(d->caret);
    if (d->col < 1 || k == 0 || d->caret[k - 1] != '^')
        die("an error without a column and a caret", d);
    char buf[4 * SCN_DIAG_LEN];
    scn_diag_format(d, buf, sizeof buf);
}

static void check_script(const struct scn_script *s)
{
    if (s->nsetup > s->nstmts)
        die("more setup than statements", NULL);
    for (size_t i = 0; i < s->nstmts; i++) {
        const struct scn_stmt *st = &s->stmts[i];
        if (!st->source || st->pos.line < 1 || st->setup != (i < s->nsetup))
            die("a statement without its place", NULL);
        if ((st->trigger.kind == SCN_TRIG_BYTES || st->trigger.kind == SCN_TRIG_STATE) &&
            st->trigger.job >= s->njobs)
            die("a trigger on a job out of range", NULL);
        if (!scn_stmt_info(st->kind))
            die("a statement of no kind", NULL);
        if (st->kind == SCN_EXPECT && st->u.expect.nchecks == 0)
            die("an expectation without checks", NULL);
        if (st->kind == SCN_ADD && (st->u.add.job >= s->njobs || st->u.add.origin >= s->norigins))
            die("add: index out of range", NULL);
    }
    for (size_t i = 0; i < s->ngroups; i++)
        for (size_t k = 0; k < s->groups[i].njobs; k++)
            if (s->groups[i].jobs[k] >= s->njobs)
                die("a group with a job out of range", NULL);
    const char *names[4];
    for (int kind = SCN_COVER_CODE; kind <= SCN_COVER_WEBERROR; kind++) {
        size_t n = scn_covers(s, (enum scn_cover_kind)kind, names, 4);
        for (size_t i = 0; i < n && i < 4; i++)
            if (!names[i] || !names[i][0])
                die("an empty coverage name", NULL);
    }
    size_t nrows = 0;
    const struct xfer_error_row *tab = xfer_error_table(&nrows);
    for (size_t i = 0; i < nrows; i += 7)
        (void)scn_covers_row(s, &tab[i], true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    struct scn_script *s = NULL;
    struct scn_diag d;
    if (scn_parse_string("fuzz.scn", (const char *)data, size, &s, &d) != 0) {
        if (s)
            die("a failed parse left a script", NULL);
        check_failure(data, size, &d);
        return 0;
    }
    check_script(s);
    scn_script_free(s);
    return 0;
}
