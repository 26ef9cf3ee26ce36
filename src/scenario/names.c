/*
 * names: the parser's access to tokens, values and names.
 *
 * Every name a script uses is looked up here in its one source of truth —
 * xfer.h's tables (states, errors, interrupt reasons, WinRT and WebErrorStatus
 * names, contexts, priorities, job types, properties) and the script's own
 * declarations (jobs, origins, groups) — and an unknown one gets the closest
 * known name as a suggestion. No list of names is written in this file: the
 * candidates are read from those tables each time.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "parse.h"
#include "units.h"

const struct scn_tok *ptok(const struct pctx *p, size_t i)
{
    return i < p->ln->n ? &p->ln->toks[i] : NULL;
}

const struct scn_tok *pneed(struct pctx *p, size_t i, const char *what)
{
    if (i < p->ln->n)
        return &p->ln->toks[i];
    if (i == 0)
        perr(p, p->ln->end, "expected %s", what);
    else
        perr(p, p->ln->end, "expected %s after '%s'", what, p->ln->toks[i - 1].text);
    return NULL;
}

int pend(struct pctx *p, size_t i, enum scn_kind k)
{
    if (i >= p->ln->n)
        return 0;
    const struct scn_stmt_info *si = scn_stmt_info(k);
    return perr(p, p->ln->toks[i].col, "unexpected '%s' (syntax: %s)", p->ln->toks[i].text,
                si ? si->syntax : "?");
}

bool pis(const struct scn_tok *t, const char *word)
{
    return t && !t->quoted && strcasecmp(t->text, word) == 0;
}

char *pdup(struct pctx *p, const char *s, unsigned col)
{
    char *d = strdup(s);
    if (!d)
        pnomem(p, col);
    return d;
}

/* Words an identifier (job id, group name) may not be: they start other constructs. */
static const char *const reserved[] = {"request", "requests", "file", "group", "xferd",
                                       "at",      "when",     "on",   "within"};

int pident(struct pctx *p, const struct scn_tok *t, const char *what)
{
    if (t->quoted)
        return perr(p, t->col, "a %s is a bare word, not a string", what);
    const char *c = t->text;
    if (!isalpha((unsigned char)*c))
        return perr(p, t->col, "a %s starts with a letter ('%s')", what, t->text);
    for (; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
            return perr(p, t->col + (unsigned)(c - t->text),
                        "a %s has letters, digits, '_', '-' and '.' only ('%s')", what, t->text);
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (strcasecmp(t->text, reserved[i]) == 0)
            return perr(p, t->col, "'%s' is a keyword; choose another %s", t->text, what);
    return 0;
}

/* ------------------------------------------------------------------ values */

typedef int (*unit_fn)(const char *, void *, size_t *, char *);

static int unit(struct pctx *p, const struct scn_tok *t, unit_fn fn, void *out, const char *what)
{
    char err[XL_ERRLEN];
    size_t col = 0;
    if (fn(t->text, out, &col, err) == 0)
        return 0;
    return perr(p, t->col + (unsigned)col, "bad %s '%s': %s", what, t->text, err);
}

static int size_fn(const char *s, void *o, size_t *c, char *e)
{
    return xl_parse_size(s, o, c, e);
}
static int dur_fn(const char *s, void *o, size_t *c, char *e)
{
    return xl_parse_duration(s, o, c, e);
}
static int u64_fn(const char *s, void *o, size_t *c, char *e)
{
    return xl_parse_u64(s, o, c, e);
}

int psize(struct pctx *p, const struct scn_tok *t, uint64_t *out)
{
    return unit(p, t, size_fn, out, "size");
}

int pduration(struct pctx *p, const struct scn_tok *t, int64_t *out)
{
    return unit(p, t, dur_fn, out, "duration");
}

int pu64(struct pctx *p, const struct scn_tok *t, uint64_t *out)
{
    return unit(p, t, u64_fn, out, "number");
}

/* ------------------------------------------------------------------ names */

#define MAX_CANDS 1100

/* Report an unknown name of kind `what`, suggesting from cands. */
static int unknown(struct pctx *p, const struct scn_tok *t, const char *what,
                   const char *const *cands, size_t n)
{
    const char *s = scn_suggest(t->text, cands, n);
    if (s)
        return perr(p, t->col, "unknown %s '%s'; did you mean '%s'?", what, t->text, s);
    if (n > 0 && n <= 16) {
        char list[512] = "";
        size_t k = 0;
        for (size_t i = 0; i < n && k < sizeof list; i++)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", cands[i]);
        return perr(p, t->col, "unknown %s '%s' (one of: %s)", what, t->text, list);
    }
    return perr(p, t->col, "unknown %s '%s'", what, t->text);
}

/* Look t up among the non-NULL names[i] = fn(i), i in 0..limit. */
static int by_index(struct pctx *p, const struct scn_tok *t, const char *(*fn)(int), int limit,
                    const char *what, int *out)
{
    const char *cands[MAX_CANDS];
    size_t n = 0;
    for (int i = 0; i <= limit && n < MAX_CANDS; i++) {
        const char *s = fn(i);
        if (!s || strcmp(s, "?") == 0)
            continue;
        if (!t->quoted && strcasecmp(s, t->text) == 0) {
            *out = i;
            return 0;
        }
        cands[n++] = s;
    }
    return unknown(p, t, what, cands, n);
}

static const char *state_at(int i)
{
    return i < XFER_STATE_COUNT ? xfer_state_name((enum xfer_state)i) : NULL;
}

int pname_state(struct pctx *p, const struct scn_tok *t, enum xfer_state *out)
{
    if (!t->quoted && xfer_state_parse(t->text, out))
        return 0;
    int v = 0;
    if (by_index(p, t, state_at, XFER_STATE_COUNT - 1, "state", &v) < 0)
        return -1;
    *out = (enum xfer_state)v;
    return 0;
}

int pname_code(struct pctx *p, const struct scn_tok *t, xfer_hr *hr,
               const struct xfer_error_row **row)
{
    const char *s = t->text;
    if (pis(t, "none")) {
        *hr = 0;
        *row = xfer_error_find(0);
        return 0;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        char *end = NULL;
        unsigned long v = strlen(s) == 10 ? strtoul(s + 2, &end, 16) : 0;
        if (strlen(s) != 10 || *end || !isxdigit((unsigned char)s[2]))
            return perr(p, t->col, "bad HRESULT '%s' (8 hex digits after 0x)", s);
        *hr = (xfer_hr)(uint32_t)v;
        *row = xfer_error_find(*hr);
        return 0;
    }
    const struct xfer_error_row *r = t->quoted ? NULL : xfer_error_by_name(s);
    if (r) {
        *hr = r->hr;
        *row = r;
        return 0;
    }
    const char *cands[MAX_CANDS];
    size_t n = 0;
    const struct xfer_error_row *tab = xfer_error_table(&n);
    if (n > MAX_CANDS)
        n = MAX_CANDS;
    for (size_t i = 0; i < n; i++)
        cands[i] = tab[i].name;
    return unknown(p, t, "error code", cands, n);
}

/* Generous upper bounds for iterating xfer.h's name functions (they return NULL beyond). */
#define INTERRUPT_MAX 255
#define WINRT_MAX     255
#define WEB_MAX       1023
#define CONTEXT_MAX   63
#define PRIORITY_MAX  15
#define TYPE_MAX      15

int pname_interrupt(struct pctx *p, const struct scn_tok *t, int *out)
{
    return by_index(p, t, xfer_interrupt_name, INTERRUPT_MAX, "interrupt reason", out);
}

int pname_winrt(struct pctx *p, const struct scn_tok *t, int *out)
{
    return by_index(p, t, xfer_winrt_status_name, WINRT_MAX, "WinRT status", out);
}

int pname_weberror(struct pctx *p, const struct scn_tok *t, int *out)
{
    return by_index(p, t, xfer_web_error_name, WEB_MAX, "WebErrorStatus", out);
}

static const char *context_at(int i)
{
    return xfer_context_name((enum xfer_context)i);
}

int pname_context(struct pctx *p, const struct scn_tok *t, int *out)
{
    return by_index(p, t, context_at, CONTEXT_MAX, "error context", out);
}

static const char *priority_at(int i)
{
    return xfer_priority_name((enum xfer_priority)i);
}

int pname_priority(struct pctx *p, const struct scn_tok *t, enum xfer_priority *out)
{
    int v = 0;
    if (by_index(p, t, priority_at, PRIORITY_MAX, "priority", &v) < 0)
        return -1;
    *out = (enum xfer_priority)v;
    return 0;
}

static const char *type_at(int i)
{
    return xfer_job_type_name((enum xfer_job_type)i);
}

int pname_job_type(struct pctx *p, const struct scn_tok *t, enum xfer_job_type *out)
{
    int v = 0;
    if (by_index(p, t, type_at, TYPE_MAX, "job type", &v) < 0)
        return -1;
    *out = (enum xfer_job_type)v;
    return 0;
}

int pname_prop(struct pctx *p, const struct scn_tok *t, const char **out)
{
    const char *const *props = xfer_job_props();
    size_t n = 0;
    for (; props[n]; n++)
        if (!t->quoted && strcmp(props[n], t->text) == 0) {
            *out = props[n];
            return 0;
        }
    return unknown(p, t, "property", props, n);
}

/* Names of declared things, for suggestions. */
static int unknown_decl(struct pctx *p, const struct scn_tok *t, const char *what,
                        const char *(*name)(const struct scn_script *, size_t), size_t n)
{
    const char *cands[MAX_CANDS];
    size_t k = 0;
    for (size_t i = 0; i < n && k < MAX_CANDS; i++)
        cands[k++] = name(p->s, i);
    const char *s = scn_suggest(t->text, cands, k);
    if (s)
        return perr(p, t->col, "undefined %s '%s'; did you mean '%s'?", what, t->text, s);
    return perr(p, t->col, "undefined %s '%s' (declare it first with '%s')", what, t->text, what);
}

static const char *job_name(const struct scn_script *s, size_t i)
{
    return s->jobs[i].id;
}
static const char *origin_name(const struct scn_script *s, size_t i)
{
    return s->origins[i].name;
}
static const char *group_name(const struct scn_script *s, size_t i)
{
    return s->groups[i].name;
}

int pname_job(struct pctx *p, const struct scn_tok *t, size_t *out)
{
    *out = scn_job_find(p->s, t->text);
    if (*out != SCN_NONE)
        return 0;
    return unknown_decl(p, t, "job", job_name, p->s->njobs);
}

int pname_origin(struct pctx *p, const struct scn_tok *t, size_t *out)
{
    *out = scn_origin_find(p->s, t->text);
    if (*out != SCN_NONE)
        return 0;
    return unknown_decl(p, t, "origin", origin_name, p->s->norigins);
}

int pname_group(struct pctx *p, const struct scn_tok *t, size_t *out)
{
    *out = scn_group_find(p->s, t->text);
    if (*out != SCN_NONE)
        return 0;
    return unknown_decl(p, t, "group", group_name, p->s->ngroups);
}

/* ------------------------------------------------------------------ URLs */

int purl(struct pctx *p, const struct scn_tok *t, size_t *origin, unsigned *proto, char **path)
{
    int rc = -1;
    char *scheme = NULL, *host = NULL, *upath = NULL, *port = NULL;
    CURLU *u = curl_url();
    if (!u)
        return pnomem(p, t->col);
    if (curl_url_set(u, CURLUPART_URL, t->text, 0) != CURLUE_OK) {
        perr(p, t->col, "bad URL '%s' (expected SCHEME://ORIGIN/PATH)", t->text);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &upath, 0) != CURLUE_OK) {
        perr(p, t->col, "bad URL '%s' (expected SCHEME://ORIGIN/PATH)", t->text);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK) {
        perr(p, t->col, "URL '%s' has a port: origins get theirs when the run starts, leave it out",
             t->text);
        goto out;
    }
    if (strcasecmp(scheme, "http") == 0)
        *proto = SCN_PROTO_HTTP;
    else if (strcasecmp(scheme, "https") == 0)
        *proto = SCN_PROTO_HTTPS;
    else if (strcasecmp(scheme, "ftp") == 0)
        *proto = SCN_PROTO_FTP;
    else {
        perr(p, t->col, "URL scheme '%s' is not http, https or ftp", scheme);
        goto out;
    }
    *origin = scn_origin_find(p->s, host);
    if (*origin == SCN_NONE) {
        const char *hp = strstr(t->text, "://");
        struct scn_tok ht = {.text = host, .col = t->col + (hp ? (unsigned)(hp - t->text) + 3 : 0)};
        unknown_decl(p, &ht, "origin", origin_name, p->s->norigins);
        goto out;
    }
    if (!(p->s->origins[*origin].protos & *proto)) {
        perr(p, t->col, "origin '%s' does not serve %s (add it to its 'origin' line)", host,
             scheme);
        goto out;
    }
    *path = pdup(p, upath, t->col);
    if (!*path)
        goto out;
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(upath);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}
