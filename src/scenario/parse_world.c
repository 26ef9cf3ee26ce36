/*
 * parse_world: the statements that make and change the simulated world —
 * origin, file, change, rule, unrule, network, battery.
 *
 * Fault rules are parsed with flt_rule_parse() and network and battery texts
 * with sim/model.h's parsers; their column errors are moved into the
 * scenario line's columns. Origins are recorded in the script; pctx keeps
 * what later lines are checked against: the named rules in force on each
 * origin, and the network and battery as far as the file has set them (the
 * model's texts change the current state, so each line is checked on top of
 * the ones before it).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "pki.h"
#include "rule.h"
#include "units.h"

_Static_assert(FLT_CERT__COUNT == 4 && (int)FLT_CERT_VALID == (int)SCN_CERT_VALID &&
                   (int)FLT_CERT_EXPIRED == (int)SCN_CERT_EXPIRED &&
                   (int)FLT_CERT_WRONG_HOST == (int)SCN_CERT_WRONG_HOST &&
                   (int)FLT_CERT_SELF_SIGNED == (int)SCN_CERT_SELF_SIGNED,
               "enum scn_cert mirrors enum flt_cert_kind");

/* ------------------------------------------------------------------ origin */

int parse_origin(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_script *s = p->s;
    const struct scn_tok *n = pneed(p, i, "an origin name (like files.test)");
    if (!n || pident(p, n, "origin name") < 0)
        return -1;
    size_t prev = scn_origin_find(s, n->text);
    if (prev != SCN_NONE)
        return perr(p, n->col, "origin '%s' is already declared at line %u", n->text,
                    s->origins[prev].pos.line);
    struct scn_origin o = {.pos = {p->ln->lineno, n->col}, .cert = SCN_CERT_VALID};
    bool cert_given = false;
    unsigned cert_col = 0;
    const struct scn_tok *t;
    for (i++; (t = ptok(p, i)); i++) {
        unsigned bit = 0;
        if (pis(t, "http"))
            bit = SCN_PROTO_HTTP;
        else if (pis(t, "https"))
            bit = SCN_PROTO_HTTPS;
        else if (pis(t, "ftp"))
            bit = SCN_PROTO_FTP;
        if (bit) {
            if (o.protos & bit)
                return perr(p, t->col, "'%s' is given twice", t->text);
            o.protos |= bit;
            continue;
        }
        if (pis(t, "cert")) {
            const struct scn_tok *k = pneed(p, i + 1, "a certificate kind");
            if (!k)
                return -1;
            enum flt_cert_kind ck;
            if (flt_cert_kind_parse(k->text, &ck) < 0) {
                const char *names[FLT_CERT__COUNT];
                for (int c = 0; c < FLT_CERT__COUNT; c++)
                    names[c] = flt_cert_kind_name((enum flt_cert_kind)c);
                const char *sug = scn_suggest(k->text, names, FLT_CERT__COUNT);
                if (sug)
                    return perr(p, k->col, "unknown certificate kind '%s'; did you mean '%s'?",
                                k->text, sug);
                return perr(p, k->col,
                            "unknown certificate kind '%s' (valid, expired, wrong-host, "
                            "self-signed)",
                            k->text);
            }
            o.cert = (enum scn_cert)ck;
            cert_given = true;
            cert_col = t->col;
            i++;
            continue;
        }
        const char *words[] = {"http", "https", "ftp", "cert"};
        const char *sug = scn_suggest(t->text, words, 4);
        if (sug)
            return perr(p, t->col, "unknown word '%s'; did you mean '%s'?", t->text, sug);
        return perr(p, t->col, "unexpected '%s' (syntax: %s)", t->text,
                    scn_stmt_info(SCN_ORIGIN)->syntax);
    }
    if (!o.protos)
        return perr(p, p->ln->end, "expected a protocol (http, https or ftp) for origin '%s'",
                    n->text);
    if (cert_given && !(o.protos & SCN_PROTO_HTTPS))
        return perr(p, cert_col, "'cert' needs https among the origin's protocols");
    struct scn_origin *v = realloc(s->origins, (s->norigins + 1) * sizeof *v);
    if (!v)
        return pnomem(p, n->col);
    s->origins = v;
    o.name = pdup(p, n->text, n->col);
    if (!o.name)
        return -1;
    s->origins[s->norigins] = o;
    st->u.origin = s->norigins++;
    return 0;
}

/* ------------------------------------------------------------------ content */

static int url_path(struct pctx *p, const struct scn_tok *t)
{
    if (t->text[0] != '/')
        return perr(p, t->col, "a path on an origin starts with '/' ('%s')", t->text);
    return 0;
}

int parse_file(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_file_args *a = &st->u.file;
    const struct scn_tok *o = pneed(p, i, "an origin name");
    if (!o || pname_origin(p, o, &a->origin) < 0)
        return -1;
    const struct scn_tok *path = pneed(p, i + 1, "a path (like /big.bin)");
    if (!path || url_path(p, path) < 0)
        return -1;
    if (!(a->path = pdup(p, path->text, path->col)))
        return -1;
    a->seed = p->s->seed;
    bool have_size = false, have_seed = false;
    const struct scn_tok *t;
    for (i += 2; (t = ptok(p, i)); i += 2) {
        if (pis(t, "text")) {
            const struct scn_tok *v = pneed(p, i + 1, "the text (in double quotes)");
            if (!v)
                return -1;
            if (a->is_text || have_size || have_seed)
                return perr(p, t->col, "'text' cannot go with 'size' or 'seed', nor twice");
            a->is_text = true;
            if (!(a->text = pdup(p, v->text, v->col)))
                return -1;
            a->size = strlen(v->text);
        } else if (pis(t, "size")) {
            const struct scn_tok *v = pneed(p, i + 1, "a size (like 8MiB)");
            if (!v)
                return -1;
            if (a->is_text || have_size)
                return perr(p, t->col, "'size' given twice or with 'text'");
            if (psize(p, v, &a->size) < 0)
                return -1;
            have_size = true;
        } else if (pis(t, "seed")) {
            const struct scn_tok *v = pneed(p, i + 1, "a seed number");
            if (!v)
                return -1;
            if (a->is_text || have_seed)
                return perr(p, t->col, "'seed' given twice or with 'text'");
            if (pu64(p, v, &a->seed) < 0)
                return -1;
            have_seed = true;
            a->seed_given = true;
        } else {
            const char *words[] = {"size", "seed", "text"};
            const char *sug = scn_suggest(t->text, words, 3);
            if (sug)
                return perr(p, t->col, "unknown word '%s'; did you mean '%s'?", t->text, sug);
            return perr(p, t->col, "unexpected '%s' (syntax: %s)", t->text,
                        scn_stmt_info(SCN_FILE)->syntax);
        }
    }
    if (!a->is_text && !have_size)
        return perr(p, p->ln->end, "expected 'size SIZE' or 'text \"...\"' for %s", a->path);
    return 0;
}

const struct scn_file_args *pfile_declared(const struct scn_script *s, size_t origin,
                                           const char *path)
{
    const struct scn_file_args *found = NULL;
    for (size_t k = 0; k < s->nstmts; k++)
        if (s->stmts[k].kind == SCN_FILE && s->stmts[k].u.file.origin == origin &&
            s->stmts[k].u.file.path && strcmp(s->stmts[k].u.file.path, path) == 0)
            found = &s->stmts[k].u.file;
    return found;
}

int parse_change(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_change_args *a = &st->u.change;
    const struct scn_tok *o = pneed(p, i, "an origin name");
    if (!o || pname_origin(p, o, &a->origin) < 0)
        return -1;
    const struct scn_tok *path = pneed(p, i + 1, "a path (like /big.bin)");
    if (!path || url_path(p, path) < 0)
        return -1;
    const struct scn_file_args *f = pfile_declared(p->s, a->origin, path->text);
    if (!f)
        return perr(p, path->col, "no file '%s' is declared on '%s' (declare it with 'file')",
                    path->text, o->text);
    if (f->is_text)
        return perr(p, path->col, "'%s' is a text file; redeclare it with 'file' to change it",
                    path->text);
    if (!(a->path = pdup(p, path->text, path->col)))
        return -1;
    i += 2;
    if (pis(ptok(p, i), "size")) {
        const struct scn_tok *v = pneed(p, i + 1, "a size");
        if (!v || psize(p, v, &a->new_size) < 0)
            return -1;
        if (a->new_size == 0)
            return perr(p, v->col, "a changed entity needs a size above 0");
        i += 2;
    }
    return pend(p, i, SCN_CHANGE);
}

/* ------------------------------------------------------------------ rules */

static struct pctx_rule *rule_in_force(struct pctx *p, size_t origin, const char *name)
{
    for (size_t k = 0; k < p->nrules; k++)
        if (p->rules[k].origin == origin && strcmp(p->rules[k].name, name) == 0)
            return &p->rules[k];
    return NULL;
}

/* The rest of the line from token i, as written (comment and trailing blanks removed). */
static char *rest_of_line(struct pctx *p, size_t i)
{
    const struct scn_tok *t = ptok(p, i);
    size_t a = t->col - 1, b = p->ln->end - 1;
    return strndup(p->ln->raw + a, b - a);
}

int parse_rule(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_rule_args *a = &st->u.rule;
    const struct scn_tok *o = pneed(p, i, "an origin name");
    if (!o || pname_origin(p, o, &a->origin) < 0)
        return -1;
    const struct scn_tok *r = pneed(p, i + 1, "a fault rule (like close after=1MiB)");
    if (!r)
        return -1;
    a->text_col = r->col;
    if (!(a->text = rest_of_line(p, i + 1)))
        return pnomem(p, r->col);
    struct flt_rule *rule = NULL;
    size_t col = 0;
    char err[XL_ERRLEN];
    if (flt_rule_parse(a->text, &rule, &col, err) < 0)
        return perr(p, a->text_col + (unsigned)col, "bad fault rule: %s", err);
    int rc = 0;
    if (rule->name[0]) {
        if (rule_in_force(p, a->origin, rule->name)) {
            rc = perr(p, a->text_col, "a rule named '%s' is already on '%s'", rule->name, o->text);
            goto out;
        }
        struct pctx_rule *v = p->rules;
        if (p->nrules == p->caprules) {
            size_t nc = p->caprules ? p->caprules * 2 : 8;
            v = realloc(p->rules, nc * sizeof *v);
            if (!v) {
                rc = pnomem(p, a->text_col);
                goto out;
            }
            p->rules = v;
            p->caprules = nc;
        }
        if (!(a->name = pdup(p, rule->name, a->text_col))) {
            rc = -1;
            goto out;
        }
        char *nm = pdup(p, rule->name, a->text_col);
        if (!nm) {
            rc = -1;
            goto out;
        }
        p->rules[p->nrules++] = (struct pctx_rule){a->origin, nm};
    }
out:
    flt_rule_free(rule);
    return rc;
}

int parse_unrule(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_rule_args *a = &st->u.rule;
    const struct scn_tok *o = pneed(p, i, "an origin name");
    if (!o || pname_origin(p, o, &a->origin) < 0)
        return -1;
    const struct scn_tok *n = pneed(p, i + 1, "the name of a rule");
    if (!n)
        return -1;
    struct pctx_rule *r = rule_in_force(p, a->origin, n->text);
    if (!r) {
        const char *cands[64];
        size_t k = 0;
        for (size_t j = 0; j < p->nrules && k < 64; j++)
            if (p->rules[j].origin == a->origin)
                cands[k++] = p->rules[j].name;
        const char *sug = scn_suggest(n->text, cands, k);
        if (sug)
            return perr(p, n->col, "no rule named '%s' on '%s'; did you mean '%s'?", n->text,
                        o->text, sug);
        return perr(p, n->col, "no rule named '%s' on '%s' (name rules as 'NAME: action ...')",
                    n->text, o->text);
    }
    if (!(a->name = pdup(p, n->text, n->col)))
        return -1;
    free(r->name);
    *r = p->rules[--p->nrules];
    return pend(p, i + 2, SCN_UNRULE);
}

/* ------------------------------------------------------------------ network and battery */

/* Strip "col N: " from a model parser's message (we give our own column). */
static const char *strip_col(const char *err)
{
    if (strncmp(err, "col ", 4) == 0) {
        const char *c = strstr(err, ": ");
        if (c)
            return c + 2;
    }
    return err;
}

/*
 * The words from token i on, for the model's parser: `silent` and `cut=...`
 * are ours and are taken out. *blanked keeps every other byte at its column
 * (for error columns); *clean is the words joined by single blanks.
 */
static int model_text(struct pctx *p, size_t i, bool allow_cut, char **blanked, char **clean,
                      bool *silent, enum scn_cut *cut)
{
    const struct scn_tok *first = ptok(p, i);
    size_t base = first->col - 1, end = p->ln->end - 1;
    *blanked = strndup(p->ln->raw + base, end - base);
    *clean = calloc(1, end - base + 1);
    if (!*blanked || !*clean)
        return pnomem(p, first->col);
    size_t cn = 0;
    const struct scn_tok *t;
    for (; (t = ptok(p, i)); i++) {
        bool ours = false;
        if (pis(t, "silent")) {
            if (*silent)
                return perr(p, t->col, "'silent' given twice");
            *silent = true;
            ours = true;
        } else if (allow_cut && !t->quoted && strncasecmp(t->text, "cut=", 4) == 0) {
            const char *v = t->text + 4;
            if (*cut != SCN_CUT_DEFAULT)
                return perr(p, t->col, "'cut=' given twice");
            if (strcasecmp(v, "reset") == 0)
                *cut = SCN_CUT_RESET;
            else if (strcasecmp(v, "blackhole") == 0)
                *cut = SCN_CUT_BLACKHOLE;
            else
                return perr(p, t->col + 4, "unknown cut '%s' (reset or blackhole)", v);
            ours = true;
        }
        if (ours) {
            memset(*blanked + (t->col - 1 - base), ' ', t->end - t->col);
            continue;
        }
        size_t l = t->end - t->col;
        if (cn)
            (*clean)[cn++] = ' ';
        memcpy(*clean + cn, p->ln->raw + t->col - 1, l);
        cn += l;
    }
    (*clean)[cn] = '\0';
    return 0;
}

int parse_network(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_network_args *a = &st->u.network;
    const struct scn_tok *t = pneed(p, i, "a network (like wifi, none, cellular fixed)");
    if (!t)
        return -1;
    char *blanked = NULL;
    int rc = model_text(p, i, true, &blanked, &a->text, &a->silent, &a->cut);
    if (rc == 0 && !a->text[0])
        rc = perr(p, t->col, "expected a network besides 'silent' and 'cut='");
    if (rc == 0) {
        size_t col = 0;
        char err[XL_ERRLEN];
        if (sim_network_parse(blanked, &p->net, &col, err, sizeof err) < 0)
            rc = perr(p, t->col + (unsigned)col, "bad network: %s", strip_col(err));
        a->state = p->net;
    }
    free(blanked);
    return rc;
}

int parse_battery(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_battery_args *a = &st->u.battery;
    const struct scn_tok *t = pneed(p, i, "a battery (like level=15% saver, or none)");
    if (!t)
        return -1;
    char *blanked = NULL;
    enum scn_cut unused = SCN_CUT_DEFAULT;
    int rc = model_text(p, i, false, &blanked, &a->text, &a->silent, &unused);
    if (rc == 0 && !a->text[0])
        rc = perr(p, t->col, "expected a battery besides 'silent'");
    if (rc == 0) {
        size_t col = 0;
        char err[XL_ERRLEN];
        if (sim_battery_parse(blanked, &p->bat, &col, err, sizeof err) < 0)
            rc = perr(p, t->col + (unsigned)col, "bad battery: %s", strip_col(err));
        a->state = p->bat;
    }
    free(blanked);
    return rc;
}
