/*
 * script: the parsed script's lifetime, look-ups and coverage.
 *
 * A struct scn_script owns every string and array under it; scn_script_free
 * releases them by statement kind. scn_covers answers "which codes, interrupt
 * reasons, states ... does this scenario check", reading the names from
 * xfer.h's tables, never from the script's text.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scenario.h"

static void free_expect(struct scn_expect_args *a)
{
    for (size_t k = 0; k < a->nchecks; k++) {
        free(a->checks[k].states);
        free(a->checks[k].name);
        free(a->checks[k].text);
        free(a->checks[k].path);
    }
    free(a->checks);
    free(a->path);
    free(a->file);
}

static void free_stmt(struct scn_stmt *st)
{
    switch (st->kind) {
    case SCN_FILE:
        free(st->u.file.path);
        free(st->u.file.text);
        break;
    case SCN_RULE:
    case SCN_UNRULE:
        free(st->u.rule.text);
        free(st->u.rule.name);
        break;
    case SCN_CHANGE:
        free(st->u.change.path);
        break;
    case SCN_NETWORK:
        free(st->u.network.text);
        break;
    case SCN_BATTERY:
        free(st->u.battery.text);
        break;
    case SCN_ADD:
        free(st->u.add.url);
        free(st->u.add.path);
        free(st->u.add.local);
        free(st->u.add.ranges);
        break;
    case SCN_SET:
        free(st->u.set.value);
        break;
    case SCN_EXPECT:
        free_expect(&st->u.expect);
        break;
    case SCN_ORIGIN:
    case SCN_JOB:
    case SCN_GROUP:
    case SCN_LIMIT:
    case SCN_SEED:
    case SCN_RESUME:
    case SCN_SUSPEND:
    case SCN_CANCEL:
    case SCN_COMPLETE:
    case SCN_DETACH:
    case SCN_ATTACH:
    case SCN_KILL:
    case SCN_RESTART:
    case SCN_WAIT:
    case SCN_KIND__COUNT:
        break;
    }
    free(st->source);
}

void scn_script_free(struct scn_script *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nstmts; i++)
        free_stmt(&s->stmts[i]);
    free(s->stmts);
    for (size_t i = 0; i < s->norigins; i++)
        free(s->origins[i].name);
    free(s->origins);
    for (size_t i = 0; i < s->njobs; i++) {
        free(s->jobs[i].id);
        free(s->jobs[i].display_name);
    }
    free(s->jobs);
    for (size_t i = 0; i < s->ngroups; i++) {
        free(s->groups[i].name);
        free(s->groups[i].jobs);
        free(s->groups[i].notify);
    }
    free(s->groups);
    free(s->path);
    free(s->title);
    free(s->description);
    free(s);
}

size_t scn_job_find(const struct scn_script *s, const char *id)
{
    for (size_t i = 0; i < s->njobs; i++)
        if (strcmp(s->jobs[i].id, id) == 0)
            return i;
    return (size_t)-1;
}

size_t scn_origin_find(const struct scn_script *s, const char *name)
{
    for (size_t i = 0; i < s->norigins; i++)
        if (strcasecmp(s->origins[i].name, name) == 0)
            return i;
    return (size_t)-1;
}

size_t scn_group_find(const struct scn_script *s, const char *name)
{
    for (size_t i = 0; i < s->ngroups; i++)
        if (strcmp(s->groups[i].name, name) == 0)
            return i;
    return (size_t)-1;
}

/* ------------------------------------------------------------------ coverage */

struct names {
    const char **out;
    size_t max, n;
};

static void add_name(struct names *nm, const char *name)
{
    if (!name)
        return;
    size_t seen = nm->n < nm->max ? nm->n : nm->max;
    for (size_t i = 0; i < seen; i++)
        if (strcmp(nm->out[i], name) == 0)
            return;
    if (nm->n < nm->max)
        nm->out[nm->n] = name;
    else
        return; /* beyond max: count distinct names no further (cannot compare) */
    nm->n++;
}

static void cover_check(const struct scn_check *c, enum scn_cover_kind kind, struct names *nm)
{
    switch (kind) {
    case SCN_COVER_CODE:
        /* "no error" (S_OK) is not a code a scenario covers */
        if ((c->kind == SCN_CK_CODE || c->kind == SCN_CK_RESULT) && c->row && c->hr != 0)
            add_name(nm, c->row->name);
        return;
    case SCN_COVER_INTERRUPT:
        if (c->kind == SCN_CK_INTERRUPT)
            add_name(nm, xfer_interrupt_name(c->value));
        return;
    case SCN_COVER_STATE:
        if (c->kind == SCN_CK_STATE)
            add_name(nm, xfer_state_name(c->state));
        if (c->kind == SCN_CK_STATES || c->kind == SCN_CK_STATES_CONTAINS)
            for (size_t k = 0; k < c->nstates; k++)
                add_name(nm, xfer_state_name(c->states[k]));
        return;
    case SCN_COVER_WINRT:
        if (c->kind == SCN_CK_WINRT)
            add_name(nm, xfer_winrt_status_name(c->value));
        return;
    case SCN_COVER_WEBERROR:
        if (c->kind == SCN_CK_WEBERROR)
            add_name(nm, xfer_web_error_name(c->value));
        return;
    }
}

size_t scn_covers(const struct scn_script *s, enum scn_cover_kind kind, const char **out,
                  size_t max)
{
    /* Count beyond max with a scratch list big enough for every distinct name. */
    const char *scratch[256];
    struct names nm = {out, max, 0};
    if (max < sizeof scratch / sizeof *scratch) {
        nm.out = scratch;
        nm.max = sizeof scratch / sizeof *scratch;
    }
    for (size_t i = 0; i < s->nstmts; i++) {
        const struct scn_stmt *st = &s->stmts[i];
        if (kind == SCN_COVER_STATE && st->trigger.kind == SCN_TRIG_STATE)
            add_name(&nm, xfer_state_name(st->trigger.state));
        if (st->kind != SCN_EXPECT)
            continue;
        for (size_t k = 0; k < st->u.expect.nchecks; k++)
            cover_check(&st->u.expect.checks[k], kind, &nm);
    }
    if (nm.out == scratch)
        for (size_t i = 0; i < nm.n && i < max; i++)
            out[i] = scratch[i];
    return nm.n;
}

bool scn_covers_row(const struct scn_script *s, const struct xfer_error_row *row, bool interrupt)
{
    for (size_t i = 0; i < s->nstmts; i++) {
        const struct scn_stmt *st = &s->stmts[i];
        if (st->kind != SCN_EXPECT)
            continue;
        for (size_t k = 0; k < st->u.expect.nchecks; k++) {
            const struct scn_check *c = &st->u.expect.checks[k];
            if ((c->kind == SCN_CK_CODE || c->kind == SCN_CK_RESULT) && c->hr != 0 &&
                c->hr == row->hr)
                return true;
            if (interrupt && c->kind == SCN_CK_INTERRUPT && c->value == row->interrupt_reason)
                return true;
        }
    }
    return false;
}
