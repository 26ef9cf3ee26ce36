/*
 * parse_expect: `expect SUBJECT CHECK... [within DURATION]`.
 *
 * The check table below is the one description of what an expectation can
 * test: each keyword, the subjects it applies to, its syntax and a line of
 * doc. The parser reads the subject (a job, request N, requests, a local
 * file, a group), then checks from the table until the line ends; `within`
 * may come once, anywhere after the subject. Every value is checked as the
 * other statements check theirs (names.c, units.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

static const struct scn_check_info checks[] = {
    {"state", SCN_ON_JOB, "state STATE", "the job's state"},
    {"states", SCN_ON_JOB, "states [contains] STATE...",
     "the job's whole state history, exactly; with contains: these states in this order, "
     "others between allowed"},
    {"code", SCN_ON_JOB, "code NAME|0xHEX|none", "the HRESULT of the job's error (none: no error)"},
    {"context", SCN_ON_JOB, "context CONTEXT", "the error context (REMOTE_FILE, ...)"},
    {"status", SCN_ON_JOB, "status WINRT-STATUS", "the WinRT BackgroundTransferStatus"},
    {"weberror", SCN_ON_JOB, "weberror NAME", "the WinRT WebErrorStatus of the job's error"},
    {"interrupt", SCN_ON_JOB, "interrupt REASON", "the WebView2 download interrupt reason"},
    {"progress", SCN_ON_JOB, "progress BYTES/TOTAL", "bytes done and total (total may be unknown)"},
    {"bytes", SCN_ON_JOB, "bytes SIZE", "the job's bytes done"},
    {"total", SCN_ON_JOB, "total SIZE|unknown", "the job's bytes total"},
    {"restarted", SCN_ON_JOB, "restarted yes|no", "whether a file started over (HasRestarted)"},
    {"result", SCN_ON_JOB, "result NAME|0xHEX",
     "the HRESULT of the last action on the job (complete: S_OK or BG_S_PARTIAL_COMPLETE)"},
    {"notified", SCN_ON_JOB, "notified N", "times the job's notify command line ran"},
    {"errors", SCN_ON_JOB, "errors N", "the job's error count"},
    {"header", SCN_ON_REQUEST, "header NAME \"VALUE\"|absent", "a request header"},
    {"range", SCN_ON_REQUEST, "range \"VALUE\"|absent", "the request's Range header"},
    {"method", SCN_ON_REQUEST, "method METHOD", "the request's method (GET, HEAD; FTP: RETR)"},
    {"status", SCN_ON_REQUEST, "status CODE", "the HTTP status the origin answered"},
    {"path", SCN_ON_REQUEST, "path /PATH", "the request's path"},
    {"count", SCN_ON_REQUESTS, "count N", "how many requests (of the path, when given)"},
    {"sha256", SCN_ON_FILE, "sha256 HEX | sha256 of URL",
     "the local file's SHA-256: 64 hex digits, or that of an origin's content"},
    {"absent", SCN_ON_FILE, "absent", "the local file does not exist"},
    {"size", SCN_ON_FILE, "size SIZE", "the local file's size"},
    {"ran", SCN_ON_GROUP, "ran N", "times the group's command ran"},
};

const struct scn_check_info *scn_check_table(size_t *n)
{
    *n = sizeof checks / sizeof *checks;
    return checks;
}

static const char *subject_name(unsigned on)
{
    switch (on) {
    case SCN_ON_JOB:
        return "a job";
    case SCN_ON_REQUEST:
        return "a request";
    case SCN_ON_REQUESTS:
        return "requests";
    case SCN_ON_FILE:
        return "a file";
    case SCN_ON_GROUP:
        return "a group";
    default:
        return "this subject";
    }
}

/* ------------------------------------------------------------------ values */

static int yes_no(struct pctx *p, const struct scn_tok *t, bool *out)
{
    if (pis(t, "yes") || pis(t, "true")) {
        *out = true;
        return 0;
    }
    if (pis(t, "no") || pis(t, "false")) {
        *out = false;
        return 0;
    }
    return perr(p, t->col, "expected yes or no, got '%s'", t->text);
}

static int progress(struct pctx *p, const struct scn_tok *t, uint64_t *bytes, uint64_t *total)
{
    const char *slash = strchr(t->text, '/');
    if (!slash)
        return perr(p, t->col, "progress is BYTES/TOTAL (like 3MiB/8MiB), got '%s'", t->text);
    char b[64];
    size_t n = (size_t)(slash - t->text);
    if (n == 0 || n >= sizeof b)
        return perr(p, t->col, "progress is BYTES/TOTAL (like 3MiB/8MiB), got '%s'", t->text);
    memcpy(b, t->text, n);
    b[n] = '\0';
    struct scn_tok sub = {.text = b, .col = t->col};
    if (psize(p, &sub, bytes) < 0)
        return -1;
    sub = (struct scn_tok){.text = (char *)slash + 1, .col = t->col + (unsigned)n + 1};
    if (strcasecmp(sub.text, "unknown") == 0) {
        *total = XFER_SIZE_UNKNOWN;
        return 0;
    }
    return psize(p, &sub, total);
}

static int sha_hex(struct pctx *p, const struct scn_tok *t, char **out)
{
    size_t n = strlen(t->text);
    for (size_t k = 0; k < n; k++)
        if (!isxdigit((unsigned char)t->text[k]))
            return perr(p, t->col + (unsigned)k, "a SHA-256 is 64 hex digits (or 'of URL')");
    if (n != 64)
        return perr(p, t->col, "a SHA-256 is 64 hex digits, this has %zu", n);
    if (!(*out = pdup(p, t->text, t->col)))
        return -1;
    for (char *c = *out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return 0;
}

static int header_name(struct pctx *p, const struct scn_tok *t)
{
    for (const char *c = t->text; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
            return perr(p, t->col + (unsigned)(c - t->text),
                        "a header name has letters, digits and '-' ('%s')", t->text);
    return t->text[0] ? 0 : perr(p, t->col, "empty header name");
}

/* ------------------------------------------------------------------ checks */

static struct scn_check *new_check(struct pctx *p, struct scn_expect_args *a,
                                   const struct scn_tok *kw, enum scn_check_kind kind)
{
    struct scn_check *v = realloc(a->checks, (a->nchecks + 1) * sizeof *v);
    if (!v) {
        pnomem(p, kw->col);
        return NULL;
    }
    a->checks = v;
    struct scn_check *c = &v[a->nchecks++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->pos = (struct scn_pos){p->ln->lineno, kw->col};
    return c;
}

static bool is_check_word(const struct scn_tok *t)
{
    for (size_t k = 0; k < sizeof checks / sizeof *checks; k++)
        if (pis(t, checks[k].name))
            return true;
    return false;
}

static int states_list(struct pctx *p, struct scn_expect_args *a, const struct scn_tok *kw,
                       size_t *i)
{
    bool contains = false;
    if (pis(ptok(p, *i), "contains")) {
        contains = true;
        (*i)++;
    }
    struct scn_check *c = new_check(p, a, kw, contains ? SCN_CK_STATES_CONTAINS : SCN_CK_STATES);
    if (!c)
        return -1;
    const struct scn_tok *t;
    enum xfer_state st;
    if (!pneed(p, *i, "a list of states"))
        return -1;
    for (; (t = ptok(p, *i)) && !pis(t, "within"); (*i)++) {
        if (c->nstates > 0 && is_check_word(t))
            break; /* the next check */
        if (pname_state(p, t, &st) < 0)
            return -1;
        enum xfer_state *v = realloc(c->states, (c->nstates + 1) * sizeof *v);
        if (!v)
            return pnomem(p, t->col);
        c->states = v;
        v[c->nstates++] = st;
    }
    return 0;
}

/* One check starting at token *i; advances *i past it. */
static int one_check(struct pctx *p, struct scn_expect_args *a, unsigned on, size_t *i)
{
    const struct scn_tok *kw = ptok(p, *i);
    const struct scn_check_info *info = NULL;
    const char *names[sizeof checks / sizeof *checks];
    size_t nn = 0;
    for (size_t k = 0; k < sizeof checks / sizeof *checks; k++) {
        if (!(checks[k].subjects & on))
            continue;
        names[nn++] = checks[k].name;
        if (pis(kw, checks[k].name))
            info = &checks[k];
    }
    if (!info) {
        for (size_t k = 0; k < sizeof checks / sizeof *checks; k++)
            if (pis(kw, checks[k].name))
                return perr(p, kw->col, "'%s' does not apply to %s (it checks %s)", kw->text,
                            subject_name(on), subject_name(checks[k].subjects));
        const char *sug = scn_suggest(kw->text, names, nn);
        if (sug)
            return perr(p, kw->col, "unknown check '%s'; did you mean '%s'?", kw->text, sug);
        return perr(p, kw->col, "unknown check '%s' for %s", kw->text, subject_name(on));
    }
    (*i)++;
    const char *name = info->name;
    if (strcmp(name, "states") == 0)
        return states_list(p, a, kw, i);
    if (strcmp(name, "absent") == 0)
        return new_check(p, a, kw, SCN_CK_ABSENT) ? 0 : -1;

    char what[160];
    snprintf(what, sizeof what, "a value (%s)", info->syntax);
    const struct scn_tok *v = pneed(p, *i, what);
    if (!v)
        return -1;
    (*i)++;
    struct scn_check *c = NULL;
#define CHECK(kind)                                                                                \
    do {                                                                                           \
        if (!(c = new_check(p, a, kw, kind)))                                                      \
            return -1;                                                                             \
    } while (0)
    if (strcmp(name, "state") == 0) {
        CHECK(SCN_CK_STATE);
        return pname_state(p, v, &c->state);
    }
    if (strcmp(name, "code") == 0 || strcmp(name, "result") == 0) {
        CHECK(name[0] == 'c' ? SCN_CK_CODE : SCN_CK_RESULT);
        return pname_code(p, v, &c->hr, &c->row);
    }
    if (strcmp(name, "context") == 0) {
        CHECK(SCN_CK_CONTEXT);
        return pname_context(p, v, &c->value);
    }
    if (strcmp(name, "status") == 0 && on == SCN_ON_JOB) {
        CHECK(SCN_CK_WINRT);
        return pname_winrt(p, v, &c->value);
    }
    if (strcmp(name, "status") == 0) {
        CHECK(SCN_CK_STATUS);
        uint64_t n = 0;
        if (pu64(p, v, &n) < 0)
            return -1;
        if (n < 100 || n > 599)
            return perr(p, v->col, "an HTTP status is 100..599, got %s", v->text);
        c->value = (int)n;
        return 0;
    }
    if (strcmp(name, "weberror") == 0) {
        CHECK(SCN_CK_WEBERROR);
        return pname_weberror(p, v, &c->value);
    }
    if (strcmp(name, "interrupt") == 0) {
        CHECK(SCN_CK_INTERRUPT);
        return pname_interrupt(p, v, &c->value);
    }
    if (strcmp(name, "progress") == 0) {
        uint64_t b = 0, t = 0;
        if (progress(p, v, &b, &t) < 0)
            return -1;
        CHECK(SCN_CK_BYTES);
        c->num = b;
        CHECK(SCN_CK_TOTAL);
        c->num = t;
        return 0;
    }
    if (strcmp(name, "bytes") == 0 || strcmp(name, "size") == 0) {
        CHECK(name[0] == 'b' ? SCN_CK_BYTES : SCN_CK_SIZE);
        return psize(p, v, &c->num);
    }
    if (strcmp(name, "total") == 0) {
        CHECK(SCN_CK_TOTAL);
        if (pis(v, "unknown")) {
            c->num = XFER_SIZE_UNKNOWN;
            return 0;
        }
        return psize(p, v, &c->num);
    }
    if (strcmp(name, "restarted") == 0) {
        CHECK(SCN_CK_RESTARTED);
        return yes_no(p, v, &c->flag);
    }
    if (strcmp(name, "notified") == 0 || strcmp(name, "errors") == 0 ||
        strcmp(name, "count") == 0 || strcmp(name, "ran") == 0) {
        CHECK(name[0] == 'n'   ? SCN_CK_NOTIFIED
              : name[0] == 'e' ? SCN_CK_ERRORS
              : name[0] == 'c' ? SCN_CK_COUNT
                               : SCN_CK_RAN);
        return pu64(p, v, &c->num);
    }
    if (strcmp(name, "header") == 0 || strcmp(name, "range") == 0) {
        const struct scn_tok *val = v;
        const char *hname = "Range";
        if (name[0] == 'h') {
            if (header_name(p, v) < 0)
                return -1;
            hname = v->text;
            if (!(val = pneed(p, *i, "a value in double quotes, or absent")))
                return -1;
            (*i)++;
        }
        bool absent = pis(val, "absent");
        CHECK(absent ? SCN_CK_NO_HEADER : SCN_CK_HEADER);
        if (!(c->name = pdup(p, hname, v->col)))
            return -1;
        if (!absent && !(c->text = pdup(p, val->text, val->col)))
            return -1;
        return 0;
    }
    if (strcmp(name, "method") == 0 || strcmp(name, "path") == 0) {
        CHECK(name[0] == 'm' ? SCN_CK_METHOD : SCN_CK_PATH);
        if (name[0] == 'p' && v->text[0] != '/')
            return perr(p, v->col, "a path starts with '/' ('%s')", v->text);
        if (!(c->name = pdup(p, v->text, v->col)))
            return -1;
        if (name[0] == 'm')
            for (char *x = c->name; *x; x++)
                *x = (char)toupper((unsigned char)*x);
        return 0;
    }
    if (strcmp(name, "sha256") == 0) {
        if (!pis(v, "of")) {
            CHECK(SCN_CK_SHA256);
            return sha_hex(p, v, &c->text);
        }
        const struct scn_tok *u = pneed(p, *i, "a URL (like http://files.test/big.bin)");
        if (!u)
            return -1;
        (*i)++;
        CHECK(SCN_CK_SHA256_OF);
        unsigned proto = 0;
        if (purl(p, u, &c->origin, &proto, &c->path) < 0)
            return -1;
        if (!pfile_declared(p->s, c->origin, c->path))
            return perr(p, u->col, "no file '%s' is declared on '%s'", c->path,
                        p->s->origins[c->origin].name);
        if (!(c->text = pdup(p, u->text, u->col)))
            return -1;
        return 0;
    }
#undef CHECK
    return perr(p, kw->col, "internal error: check '%s' has no parser", name);
}

/* ------------------------------------------------------------------ subjects */

static int which_origin(struct pctx *p, size_t *i, size_t *origin, unsigned col)
{
    if (pis(ptok(p, *i), "on")) {
        const struct scn_tok *o = pneed(p, *i + 1, "an origin name");
        if (!o || pname_origin(p, o, origin) < 0)
            return -1;
        *i += 2;
        return 0;
    }
    if (p->s->norigins == 1) {
        *origin = 0;
        return 0;
    }
    if (p->s->norigins == 0)
        return perr(p, col, "no origin is declared");
    return perr(p, col, "there are %zu origins: say which with 'on ORIGIN'", p->s->norigins);
}

static int subject(struct pctx *p, struct scn_expect_args *a, size_t *i, unsigned *on)
{
    const struct scn_tok *t =
        pneed(p, *i, "what to check: a job, request N, requests, file, group");
    if (!t)
        return -1;
    if (pis(t, "request")) {
        a->subject = SCN_SUBJ_REQUEST;
        *on = SCN_ON_REQUEST;
        const struct scn_tok *n = pneed(p, *i + 1, "a request number (1 for the first)");
        if (!n || pu64(p, n, &a->request) < 0)
            return -1;
        if (a->request == 0)
            return perr(p, n->col, "request numbers start at 1");
        *i += 2;
        return which_origin(p, i, &a->origin, t->col);
    }
    if (pis(t, "requests")) {
        a->subject = SCN_SUBJ_REQUESTS;
        *on = SCN_ON_REQUESTS;
        (*i)++;
        if (which_origin(p, i, &a->origin, t->col) < 0)
            return -1;
        if (pis(ptok(p, *i), "path")) {
            const struct scn_tok *g = pneed(p, *i + 1, "a path or glob (like /big.bin)");
            if (!g)
                return -1;
            if (g->text[0] != '/')
                return perr(p, g->col, "a path starts with '/' ('%s')", g->text);
            if (!(a->path = pdup(p, g->text, g->col)))
                return -1;
            *i += 2;
        }
        return 0;
    }
    if (pis(t, "file")) {
        a->subject = SCN_SUBJ_FILE;
        *on = SCN_ON_FILE;
        const struct scn_tok *f = pneed(p, *i + 1, "a local file name");
        if (!f)
            return -1;
        if (!f->text[0] || f->text[0] == '/')
            return perr(p, f->col, "a local path is relative to the downloads directory ('%s')",
                        f->text);
        if (!(a->file = pdup(p, f->text, f->col)))
            return -1;
        *i += 2;
        return 0;
    }
    if (pis(t, "group")) {
        a->subject = SCN_SUBJ_GROUP;
        *on = SCN_ON_GROUP;
        const struct scn_tok *g = pneed(p, *i + 1, "a group name");
        if (!g || pname_group(p, g, &a->group) < 0)
            return -1;
        *i += 2;
        return 0;
    }
    a->subject = SCN_SUBJ_JOB;
    *on = SCN_ON_JOB;
    if (pname_job(p, t, &a->job) < 0)
        return -1;
    (*i)++;
    return 0;
}

int parse_expect(struct pctx *p, struct scn_stmt *st, size_t i)
{
    struct scn_expect_args *a = &st->u.expect;
    a->within_ms = SCN_NOW;
    unsigned on = 0;
    if (subject(p, a, &i, &on) < 0)
        return -1;
    const struct scn_tok *t;
    bool have_within = false;
    while ((t = ptok(p, i))) {
        if (pis(t, "within")) {
            if (have_within)
                return perr(p, t->col, "'within' given twice");
            const struct scn_tok *d = pneed(p, i + 1, "a simulated duration (like 30s)");
            if (!d || pduration(p, d, &a->within_ms) < 0)
                return -1;
            have_within = true;
            i += 2;
            continue;
        }
        if (one_check(p, a, on, &i) < 0)
            return -1;
    }
    if (a->nchecks == 0)
        return perr(p, p->ln->end, "expected at least one check after the subject (like state %s)",
                    xfer_state_name(XFER_TRANSFERRED));
    /* One fact, one check: the same keyword twice on a line is a mistake. */
    for (size_t x = 0; x < a->nchecks; x++)
        for (size_t y = x + 1; y < a->nchecks; y++)
            if (a->checks[x].kind == a->checks[y].kind &&
                !(a->checks[x].kind == SCN_CK_HEADER || a->checks[x].kind == SCN_CK_NO_HEADER))
                return perr(p, a->checks[y].pos.col, "this line already checks that (column %u)",
                            a->checks[x].pos.col);
    return 0;
}
