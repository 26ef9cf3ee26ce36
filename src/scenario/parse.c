/*
 * parse: the scenario parser's driver — lines, the header, triggers, and
 * dispatch to the statement parsers (parse_setup.c, parse_expect.c).
 *
 * Data flow: text -> lines -> lex.c tokens -> [trigger] keyword -> the
 * statement table (stmt.c) gives the kind -> one parser per kind fills a
 * struct scn_stmt appended to the script. The first error stops the parse
 * and is returned as a struct scn_diag; the partial script is freed.
 *
 * The timeline begins at the first line that has a trigger or whose
 * statement is timeline-only (the table's flags); setup-only statements
 * after that point are errors.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "units.h"

/* Scripts larger than this are refused (they are hand-written text). */
#define SCN_MAX_BYTES (4u << 20)

/* ------------------------------------------------------------------ header */

static int append(char **dst, const char *line, bool newline)
{
    size_t a = *dst ? strlen(*dst) : 0, b = strlen(line);
    char *v = realloc(*dst, a + b + 2);
    if (!v)
        return -1;
    if (newline && a)
        v[a++] = '\n';
    memcpy(v + a, line, b + 1);
    *dst = v;
    return 0;
}

/* A header comment line: '#', then its text trimmed. */
static int header_line(struct scn_script *s, const char *raw, bool *have_title)
{
    const char *c = raw;
    while (*c == ' ' || *c == '\t')
        c++;
    c++; /* '#' */
    while (*c == ' ' || *c == '\t')
        c++;
    size_t n = strlen(c);
    while (n && isspace((unsigned char)c[n - 1]))
        n--;
    char *t = strndup(c, n);
    if (!t)
        return -1;
    int rc = 0;
    if (!*have_title) {
        free(s->title);
        s->title = t;
        *have_title = true;
        return 0;
    }
    if (!s->description[0] && !t[0]) {
        free(t);
        return 0;
    }
    rc = append(&s->description, t, true);
    free(t);
    return rc;
}

/* ------------------------------------------------------------------ triggers */

static int parse_trigger(struct pctx *p, struct scn_trigger *tr, size_t *i, int64_t *last_abs)
{
    const struct scn_tok *t = ptok(p, 0);
    memset(tr, 0, sizeof *tr);
    tr->pos = (struct scn_pos){p->ln->lineno, t->col};
    if (t->quoted)
        return 0;
    if (t->text[0] == '+') {
        struct scn_tok sub = *t;
        sub.text = t->text + 1;
        sub.col = t->col + 1;
        if (!sub.text[0])
            return perr(p, t->col + 1, "expected a duration after '+' (like +10s)");
        tr->kind = SCN_TRIG_REL;
        if (pduration(p, &sub, &tr->ms) < 0)
            return -1;
        *i = 1;
        return 0;
    }
    if (isdigit((unsigned char)t->text[0])) {
        tr->kind = SCN_TRIG_ABS;
        if (pduration(p, t, &tr->ms) < 0)
            return -1;
        if (tr->ms < *last_abs) {
            char a[32], b[32];
            xl_format_duration(tr->ms, a, sizeof a);
            xl_format_duration(*last_abs, b, sizeof b);
            return perr(p, t->col, "time %s is before an earlier line's %s (times only go forward)",
                        a, b);
        }
        *last_abs = tr->ms;
        *i = 1;
        return 0;
    }
    if (pis(t, "at")) {
        tr->kind = SCN_TRIG_BYTES;
        const struct scn_tok *j = pneed(p, 1, "a job id (at JOB [file N] SIZE)");
        if (!j || pname_job(p, j, &tr->job) < 0)
            return -1;
        size_t k = 2;
        uint64_t fileno = 1;
        if (pis(ptok(p, k), "file")) {
            const struct scn_tok *f = pneed(p, k + 1, "a file number (1 for the job's first)");
            if (!f || pu64(p, f, &fileno) < 0)
                return -1;
            if (fileno == 0)
                return perr(p, f->col, "file numbers start at 1");
            k += 2;
        }
        if (fileno > p->job_files[tr->job])
            return perr(p, j->col, "job '%s' has %zu file(s) so far; 'at' needs file %llu", j->text,
                        p->job_files[tr->job], (unsigned long long)fileno);
        tr->file = (size_t)(fileno - 1);
        const struct scn_tok *b = pneed(p, k, "a byte count (like 3MiB)");
        if (!b || psize(p, b, &tr->bytes) < 0)
            return -1;
        *i = k + 1;
        return 0;
    }
    if (pis(t, "when")) {
        tr->kind = SCN_TRIG_STATE;
        const struct scn_tok *j = pneed(p, 1, "a job id (when JOB STATE)");
        if (!j || pname_job(p, j, &tr->job) < 0)
            return -1;
        const struct scn_tok *st = pneed(p, 2, "a state (like TRANSFERRING)");
        if (!st || pname_state(p, st, &tr->state) < 0)
            return -1;
        *i = 3;
        return 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ statements */

static int find_kind(struct pctx *p, const struct scn_tok *t, enum scn_kind *out)
{
    size_t n = 0;
    const struct scn_stmt_info *tab = scn_stmt_table(&n);
    const char *names[SCN_KIND__COUNT + 2];
    for (size_t i = 0; i < n; i++) {
        if (!t->quoted && strcasecmp(t->text, tab[i].name) == 0) {
            *out = tab[i].kind;
            return 0;
        }
        names[i] = tab[i].name;
    }
    names[n++] = "at";
    names[n++] = "when";
    const char *s = scn_suggest(t->text, names, n);
    if (s)
        return perr(p, t->col, "unknown statement '%s'; did you mean '%s'?", t->text, s);
    return perr(p, t->col, "unknown statement '%s' (see scenarios/README.md)", t->text);
}

static int grow_stmts(struct scn_script *s, size_t *cap)
{
    if (s->nstmts < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    struct scn_stmt *v = realloc(s->stmts, nc * sizeof *v);
    if (!v)
        return -1;
    s->stmts = v;
    *cap = nc;
    return 0;
}

struct driver {
    size_t cap;
    int64_t last_abs;
    unsigned timeline_line; /* where the timeline began */
};

static int parse_stmt(struct pctx *p, struct driver *d)
{
    struct scn_script *s = p->s;
    struct scn_trigger tr;
    size_t i = 0;
    if (parse_trigger(p, &tr, &i, &d->last_abs) < 0)
        return -1;
    const struct scn_tok *kw = pneed(p, i, "a statement");
    if (!kw)
        return -1;
    enum scn_kind kind = SCN_KIND__COUNT;
    if (find_kind(p, kw, &kind) < 0)
        return -1;
    const struct scn_stmt_info *info = scn_stmt_info(kind);
    if (!p->timeline && (tr.kind != SCN_TRIG_NONE || info->timeline_only)) {
        p->timeline = true;
        s->nsetup = s->nstmts;
        d->timeline_line = p->ln->lineno;
    }
    if (p->timeline && info->setup_only)
        return perr(p, kw->col,
                    "'%s' is setup only: move it above the timeline, which begins at line %u",
                    info->name, d->timeline_line);
    if (grow_stmts(s, &d->cap) < 0)
        return pnomem(p, kw->col);
    struct scn_stmt *st = &s->stmts[s->nstmts++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->pos = (struct scn_pos){p->ln->lineno, kw->col};
    st->trigger = tr;
    st->setup = !p->timeline;
    st->source = pdup(p, p->ln->raw, 1);
    if (!st->source)
        return -1;
    switch (kind) {
    case SCN_EXPECT:
        return parse_expect(p, st, i + 1);
    case SCN_ORIGIN:
    case SCN_FILE:
    case SCN_RULE:
    case SCN_UNRULE:
    case SCN_CHANGE:
    case SCN_NETWORK:
    case SCN_BATTERY:
    case SCN_JOB:
    case SCN_ADD:
    case SCN_SET:
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
        return parse_setup_stmt(p, st, i + 1);
    case SCN_KIND__COUNT:
        break;
    }
    return perr(p, kw->col, "internal error: statement kind %d", (int)kind);
}

static void pctx_free(struct pctx *p)
{
    for (size_t i = 0; i < p->nrules; i++)
        free(p->rules[i].name);
    free(p->rules);
    free(p->job_files);
}

int scn_parse_string(const char *name, const char *text, size_t len, struct scn_script **out,
                     struct scn_diag *diag)
{
    *out = NULL;
    struct scn_script *s = calloc(1, sizeof *s);
    struct pctx p = {.s = s, .file = name ? name : "<string>", .diag = diag};
    struct driver d = {.last_abs = 0};
    struct scn_line ln = {0};
    int rc = -1;
    if (!s) {
        pnomem(&p, 0);
        return -1;
    }
    s->seed = 1;
    s->limit_ms = SCN_DEFAULT_LIMIT_MS;
    s->wall_limit_ms = SCN_DEFAULT_WALL_LIMIT_MS;
    s->path = strdup(p.file);
    s->title = strdup("");
    s->description = strdup("");
    if (!s->path || !s->title || !s->description) {
        pnomem(&p, 0);
        goto out;
    }
    sim_network_default(&p.net);
    sim_battery_default(&p.bat);

    bool header_open = true, have_title = false;
    unsigned lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t e = pos;
        while (e < len && text[e] != '\n')
            e++;
        lineno++;
        char err[256];
        unsigned col = 1;
        int lr = scn_lex_line(text + pos, e - pos, lineno, &ln, err, sizeof err, &col);
        p.ln = &ln;
        if (lr < 0) {
            perr(&p, col, "%s", err);
            goto out;
        }
        if (ln.n == 0) {
            const char *c = ln.raw;
            while (*c == ' ' || *c == '\t')
                c++;
            if (header_open && *c == '#') {
                if (header_line(s, ln.raw, &have_title) < 0) {
                    pnomem(&p, 1);
                    goto out;
                }
            } else if (have_title) {
                header_open = false;
            }
        } else {
            header_open = false;
            if (parse_stmt(&p, &d) < 0)
                goto out;
        }
        scn_line_free(&ln);
        p.ln = NULL;
        pos = e + 1;
    }
    if (!p.timeline)
        s->nsetup = s->nstmts;
    for (size_t k = 0; k < s->nstmts; k++)
        if (s->stmts[k].kind == SCN_FILE && !s->stmts[k].u.file.is_text &&
            !s->stmts[k].u.file.seed_given)
            s->stmts[k].u.file.seed = s->seed;
    *out = s;
    s = NULL;
    rc = 0;
out:
    scn_line_free(&ln);
    pctx_free(&p);
    scn_script_free(s);
    return rc;
}

int scn_parse_file(const char *path, struct scn_script **out, struct scn_diag *diag)
{
    *out = NULL;
    struct pctx p = {.file = path, .diag = diag};
    char *buf = NULL;
    size_t n = 0;
    int rc = -1;
    FILE *f = fopen(path, "rb");
    if (!f) {
        perr(&p, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    buf = malloc(SCN_MAX_BYTES + 1);
    if (!buf) {
        perr(&p, 0, "out of memory");
        goto out;
    }
    n = fread(buf, 1, SCN_MAX_BYTES + 1, f);
    if (ferror(f)) {
        perr(&p, 0, "cannot read: %s", strerror(errno));
        goto out;
    }
    if (n > SCN_MAX_BYTES) {
        perr(&p, 0, "larger than %u bytes: not a scenario", SCN_MAX_BYTES);
        goto out;
    }
    rc = scn_parse_string(path, buf, n, out, diag);
out:
    free(buf);
    fclose(f);
    return rc;
}
