/*
 * parse_setup: jobs and what a client does with them — job, add, set, group,
 * the run's settings (limit, seed) and the client actions (resume, suspend,
 * cancel, complete, detach, attach, kill xferd, restart xferd, wait) — and the
 * dispatch of every statement but `expect` (the world's statements are in
 * parse_world.c).
 *
 * Each parser reads the tokens after the keyword into st->u, checking every
 * value with units.h and every name against its table (names.c). Declarations
 * are also recorded in the script's jobs and groups arrays; pctx keeps the
 * number of files added to each job, for byte triggers.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "units.h"

/* ------------------------------------------------------------------ jobs */

static int parse_job(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_script *s = p->s;
    const struct scn_tok *id = pneed(p, i, "a job id (like d1)");
    if (!id || pident(p, id, "job id") < 0)
        return -1;
    size_t prev = scn_job_find(s, id->text);
    if (prev != SCN_NONE)
        return perr(p, id->col, "job '%s' is already declared at line %u", id->text,
                    s->jobs[prev].pos.line);
    if (scn_group_find(s, id->text) != SCN_NONE)
        return perr(p, id->col, "'%s' is already a group's name", id->text);
    struct scn_job j = {.pos = {p->ln->lineno, id->col}};
    const struct scn_tok *ty = pneed(p, i + 1, "a job type (download or upload)");
    if (!ty || pname_job_type(p, ty, &j.type) < 0)
        return -1;
    const struct scn_tok *t, *name = NULL;
    for (i += 2; (t = ptok(p, i)); i += 2) {
        if (pis(t, "name")) {
            if (name)
                return perr(p, t->col, "'name' given twice");
            if (!(name = pneed(p, i + 1, "a display name (in double quotes)")))
                return -1;
        } else if (pis(t, "priority")) {
            const struct scn_tok *v = pneed(p, i + 1, "a priority (like FOREGROUND)");
            if (!v)
                return -1;
            if (j.has_priority)
                return perr(p, t->col, "'priority' given twice");
            if (pname_priority(p, v, &j.priority) < 0)
                return -1;
            j.has_priority = true;
        } else {
            const char *words[] = {"name", "priority"};
            const char *sug = scn_suggest(t->text, words, 2);
            if (sug)
                return perr(p, t->col, "unknown word '%s'; did you mean '%s'?", t->text, sug);
            return perr(p, t->col, "unexpected '%s' (syntax: %s)", t->text,
                        scn_stmt_info(SCN_JOB)->syntax);
        }
    }
    struct scn_job *v = realloc(s->jobs, (s->njobs + 1) * sizeof *v);
    if (!v)
        return pnomem(p, id->col);
    s->jobs = v;
    size_t *f = realloc(p->job_files, (s->njobs + 1) * sizeof *f);
    if (!f)
        return pnomem(p, id->col);
    p->job_files = f;
    f[s->njobs] = 0;
    if (!(j.id = pdup(p, id->text, id->col)))
        return -1;
    if (name && !(j.display_name = pdup(p, name->text, name->col))) {
        free(j.id);
        return -1;
    }
    s->jobs[s->njobs] = j;
    st->u.job = s->njobs++;
    return 0;
}

/* One "OFFSET:LENGTH" (LENGTH may be eof) written at column col. */
static int one_range(struct pctx *p, unsigned col, const char *text, struct xfer_range *r)
{
    const char *colon = strchr(text, ':');
    if (!colon)
        return perr(p, col, "a range is OFFSET:LENGTH or OFFSET:eof ('%s')", text);
    char off[64];
    size_t n = (size_t)(colon - text);
    if (n == 0 || n >= sizeof off)
        return perr(p, col, "a range is OFFSET:LENGTH or OFFSET:eof ('%s')", text);
    memcpy(off, text, n);
    off[n] = '\0';
    struct scn_tok sub = {.text = off, .col = col};
    if (psize(p, &sub, &r->offset) < 0)
        return -1;
    sub = (struct scn_tok){.text = (char *)colon + 1, .col = col + (unsigned)n + 1};
    if (strcasecmp(colon + 1, "eof") == 0) {
        r->length = XFER_LENGTH_TO_EOF;
        return 0;
    }
    if (psize(p, &sub, &r->length) < 0)
        return -1;
    if (r->length == 0)
        return perr(p, sub.col, "a range's length is above 0 (or eof)");
    return 0;
}

static int parse_ranges(struct pctx *p, struct scn_add_args *a, size_t i)
{
    const struct scn_tok *t;
    if (!pneed(p, i, "ranges (OFFSET:LENGTH,...)"))
        return -1;
    for (; (t = ptok(p, i)); i++) {
        char *copy = pdup(p, t->text, t->col);
        if (!copy)
            return -1;
        int rc = 0;
        char *save = NULL;
        for (char *r = strtok_r(copy, ",", &save); r && rc == 0; r = strtok_r(NULL, ",", &save)) {
            struct xfer_range *v = realloc(a->ranges, (a->nranges + 1) * sizeof *v);
            if (!v) {
                rc = pnomem(p, t->col);
                break;
            }
            a->ranges = v;
            rc = one_range(p, t->col + (unsigned)(r - copy), r, &a->ranges[a->nranges]);
            if (rc == 0)
                a->nranges++;
        }
        free(copy);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int local_path(struct pctx *p, const struct scn_tok *t)
{
    const char *s = t->text;
    if (!s[0] || s[0] == '/')
        return perr(p, t->col, "a local path is relative to the run's downloads directory ('%s')",
                    s);
    for (const char *c = s; *c; c = strchr(c, '/') ? strchr(c, '/') + 1 : c + strlen(c))
        if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
            return perr(p, t->col, "a local path may not leave the downloads directory ('%s')", s);
    return 0;
}

static int parse_add(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_add_args *a = &st->u.add;
    const struct scn_tok *j = pneed(p, i, "a job id");
    if (!j || pname_job(p, j, &a->job) < 0)
        return -1;
    const struct scn_tok *u = pneed(p, i + 1, "a URL (like http://files.test/big.bin)");
    if (!u || purl(p, u, &a->origin, &a->proto, &a->path) < 0)
        return -1;
    if (!(a->url = pdup(p, u->text, u->col)))
        return -1;
    const struct scn_tok *arrow = pneed(p, i + 2, "'->' and a local file name");
    if (!arrow)
        return -1;
    if (!pis(arrow, "->"))
        return perr(p, arrow->col, "expected '->' before the local file name, got '%s'",
                    arrow->text);
    const struct scn_tok *l = pneed(p, i + 3, "a local file name");
    if (!l || local_path(p, l) < 0)
        return -1;
    if (!(a->local = pdup(p, l->text, l->col)))
        return -1;
    i += 4;
    const struct scn_tok *t = ptok(p, i);
    if (t) {
        if (!pis(t, "ranges")) {
            const char *words[] = {"ranges"};
            if (scn_suggest(t->text, words, 1))
                return perr(p, t->col, "unknown word '%s'; did you mean 'ranges'?", t->text);
            return perr(p, t->col, "unexpected '%s' (syntax: %s)", t->text,
                        scn_stmt_info(SCN_ADD)->syntax);
        }
        if (parse_ranges(p, a, i + 1) < 0)
            return -1;
    }
    p->job_files[a->job]++;
    return 0;
}

static int parse_set(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_set_args *a = &st->u.set;
    const struct scn_tok *j = pneed(p, i, "a job id");
    if (!j || pname_job(p, j, &a->job) < 0)
        return -1;
    const struct scn_tok *prop = pneed(p, i + 1, "a property name (like cost_policy)");
    if (!prop || pname_prop(p, prop, &a->prop) < 0)
        return -1;
    const struct scn_tok *v = pneed(p, i + 2, "a value (in double quotes if it has blanks)");
    if (!v)
        return -1;
    if (!(a->value = pdup(p, v->text, v->col)))
        return -1;
    return pend(p, i + 3, SCN_SET);
}

static int parse_group(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_script *s = p->s;
    const struct scn_tok *n = pneed(p, i, "a group name (like g1)");
    if (!n || pident(p, n, "group name") < 0)
        return -1;
    size_t prev = scn_group_find(s, n->text);
    if (prev != SCN_NONE)
        return perr(p, n->col, "group '%s' is already declared at line %u", n->text,
                    s->groups[prev].pos.line);
    if (scn_job_find(s, n->text) != SCN_NONE)
        return perr(p, n->col, "'%s' is already a job's id", n->text);
    struct scn_group g = {.pos = {p->ln->lineno, n->col}};
    int rc = -1;
    const struct scn_tok *t;
    for (i++; (t = ptok(p, i)); i++) {
        if (pis(t, "notify")) {
            const struct scn_tok *c = pneed(p, i + 1, "a command line (in double quotes)");
            if (!c)
                goto fail;
            if (!(g.notify = pdup(p, c->text, c->col)))
                goto fail;
            if (pend(p, i + 2, SCN_GROUP) < 0)
                goto fail;
            break;
        }
        size_t job;
        if (pname_job(p, t, &job) < 0)
            goto fail;
        for (size_t k = 0; k < g.njobs; k++)
            if (g.jobs[k] == job) {
                perr(p, t->col, "job '%s' is in the group twice", t->text);
                goto fail;
            }
        size_t *v = realloc(g.jobs, (g.njobs + 1) * sizeof *v);
        if (!v) {
            pnomem(p, t->col);
            goto fail;
        }
        g.jobs = v;
        g.jobs[g.njobs++] = job;
    }
    if (!g.njobs) {
        perr(p, p->ln->end, "expected the jobs of group '%s'", n->text);
        goto fail;
    }
    struct scn_group *v = realloc(s->groups, (s->ngroups + 1) * sizeof *v);
    if (!v) {
        pnomem(p, n->col);
        goto fail;
    }
    s->groups = v;
    if (!(g.name = pdup(p, n->text, n->col)))
        goto fail;
    s->groups[s->ngroups] = g;
    st->u.group = s->ngroups++;
    return 0;
fail:
    free(g.jobs);
    free(g.notify);
    return rc;
}

/* ------------------------------------------------------------------ run settings */

static int parse_limit(struct pctx *p, struct scn_stmt *st, size_t i)
{
    const struct scn_tok *d = pneed(p, i, "a simulated duration (like 10min)");
    if (!d || pduration(p, d, &st->u.limit.sim_ms) < 0)
        return -1;
    if (st->u.limit.sim_ms <= 0)
        return perr(p, d->col, "a time limit is above 0");
    st->u.limit.wall_ms = p->s->wall_limit_ms;
    i++;
    if (pis(ptok(p, i), "wall")) {
        const struct scn_tok *w = pneed(p, i + 1, "a wall-clock duration (like 20s)");
        if (!w || pduration(p, w, &st->u.limit.wall_ms) < 0)
            return -1;
        if (st->u.limit.wall_ms <= 0)
            return perr(p, w->col, "a time limit is above 0");
        i += 2;
    }
    if (pend(p, i, SCN_LIMIT) < 0)
        return -1;
    p->s->limit_ms = st->u.limit.sim_ms;
    p->s->wall_limit_ms = st->u.limit.wall_ms;
    return 0;
}

static int parse_seed(struct pctx *p, struct scn_stmt *st, size_t i)
{
    const struct scn_tok *v = pneed(p, i, "a seed number");
    if (!v || pu64(p, v, &st->u.seed) < 0)
        return -1;
    if (p->s->seed_given)
        return perr(p, v->col, "the seed is already set");
    p->s->seed = st->u.seed;
    p->s->seed_given = true;
    return pend(p, i + 1, SCN_SEED);
}

/* ------------------------------------------------------------------ actions */

static int parse_job_action(struct pctx *p, struct scn_stmt *st, size_t i)
{
    const struct scn_tok *j = pneed(p, i, "a job id");
    if (!j || pname_job(p, j, &st->u.job) < 0)
        return -1;
    return pend(p, i + 1, st->kind);
}

static int parse_xferd_action(struct pctx *p, struct scn_stmt *st, size_t i)
{
    const struct scn_tok *x = pneed(p, i, "'xferd'");
    if (!x)
        return -1;
    if (!pis(x, "xferd"))
        return perr(p, x->col, "expected 'xferd', got '%s'", x->text);
    return pend(p, i + 1, st->kind);
}

static int parse_wait(struct pctx *p, struct scn_stmt *st, size_t i)
{
    const struct scn_tok *d = pneed(p, i, "a duration (like 30s)");
    if (!d || pduration(p, d, &st->u.wait_ms) < 0)
        return -1;
    if (st->u.wait_ms == XL_FOREVER)
        return perr(p, d->col, "wait needs a finite duration");
    return pend(p, i + 1, SCN_WAIT);
}

int parse_setup_stmt(struct pctx *p, struct scn_stmt *st, size_t i)
{
    switch (st->kind) {
    case SCN_ORIGIN:
        return parse_origin(p, st, i);
    case SCN_FILE:
        return parse_file(p, st, i);
    case SCN_RULE:
        return parse_rule(p, st, i);
    case SCN_UNRULE:
        return parse_unrule(p, st, i);
    case SCN_CHANGE:
        return parse_change(p, st, i);
    case SCN_NETWORK:
        return parse_network(p, st, i);
    case SCN_BATTERY:
        return parse_battery(p, st, i);
    case SCN_JOB:
        return parse_job(p, st, i);
    case SCN_ADD:
        return parse_add(p, st, i);
    case SCN_SET:
        return parse_set(p, st, i);
    case SCN_GROUP:
        return parse_group(p, st, i);
    case SCN_LIMIT:
        return parse_limit(p, st, i);
    case SCN_SEED:
        return parse_seed(p, st, i);
    case SCN_RESUME:
    case SCN_SUSPEND:
    case SCN_CANCEL:
    case SCN_COMPLETE:
        return parse_job_action(p, st, i);
    case SCN_DETACH:
    case SCN_ATTACH:
        return pend(p, i, st->kind);
    case SCN_KILL:
    case SCN_RESTART:
        return parse_xferd_action(p, st, i);
    case SCN_WAIT:
        return parse_wait(p, st, i);
    case SCN_EXPECT:
    case SCN_KIND__COUNT:
        break;
    }
    return perr(p, st->pos.col, "internal error: not a setup statement");
}
