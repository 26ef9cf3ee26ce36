/*
 * parse.h: what the parser's files share (internal to src/scenario).
 *
 * The parser reads one line at a time (lex.h) into a struct scn_stmt of the
 * script being built. struct pctx carries the script, the current line, the
 * diagnostic to fill, and the state that checking needs as the file goes on:
 * the network and battery as far as the file has set them, the named rules on
 * each origin, the number of files added to each job.
 *
 * Every check that fails calls perr(), which fills the diagnostic with the
 * line, a caret at the column and the message, and returns -1; callers
 * return that -1 straight up, so the first error ends the parse.
 */
#ifndef SCN_PARSE_H
#define SCN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lex.h"
#include "scenario.h"

#define SCN_NONE ((size_t)-1)

struct pctx_rule {
    size_t origin;
    char *name;
};

struct pctx {
    struct scn_script *s;
    const char *file;
    struct scn_line *ln;
    struct scn_diag *diag;
    bool timeline;
    struct sim_network net;
    struct sim_battery bat;
    struct pctx_rule *rules; /* named rules in force, per origin */
    size_t nrules, caprules;
    size_t *job_files; /* files added per job, parallel to s->jobs */
};

/* Fill p->diag for column col (1-based) of the current line; returns -1. */
int perr(struct pctx *p, unsigned col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Out of memory at col. */
int pnomem(struct pctx *p, unsigned col);

/* The i-th token of the line, or NULL past the end. */
const struct scn_tok *ptok(const struct pctx *p, size_t i);
/* The i-th token, or an error "expected WHAT after 'previous'" at the line's end. */
const struct scn_tok *pneed(struct pctx *p, size_t i, const char *what);
/* Error unless the line ends at token i ("unexpected 'x'; syntax: ..."). */
int pend(struct pctx *p, size_t i, enum scn_kind k);
/* Case-insensitive keyword test on an unquoted token. */
bool pis(const struct scn_tok *t, const char *word);
/* strdup that reports out of memory at col. */
char *pdup(struct pctx *p, const char *s, unsigned col);

/* Values (units.h), errors point at the bad character inside the token. */
int psize(struct pctx *p, const struct scn_tok *t, uint64_t *out);
int pduration(struct pctx *p, const struct scn_tok *t, int64_t *out);
int pu64(struct pctx *p, const struct scn_tok *t, uint64_t *out);

/* Names, each against its one source of truth, with "did you mean". */
int pname_state(struct pctx *p, const struct scn_tok *t, enum xfer_state *out);
int pname_code(struct pctx *p, const struct scn_tok *t, xfer_hr *hr,
               const struct xfer_error_row **row);
int pname_interrupt(struct pctx *p, const struct scn_tok *t, int *out);
int pname_winrt(struct pctx *p, const struct scn_tok *t, int *out);
int pname_weberror(struct pctx *p, const struct scn_tok *t, int *out);
int pname_context(struct pctx *p, const struct scn_tok *t, int *out);
int pname_priority(struct pctx *p, const struct scn_tok *t, enum xfer_priority *out);
int pname_job_type(struct pctx *p, const struct scn_tok *t, enum xfer_job_type *out);
int pname_prop(struct pctx *p, const struct scn_tok *t, const char **out);
int pname_job(struct pctx *p, const struct scn_tok *t, size_t *out);
int pname_origin(struct pctx *p, const struct scn_tok *t, size_t *out);
int pname_group(struct pctx *p, const struct scn_tok *t, size_t *out);

/*
 * A URL naming a declared origin: scheme http|https|ftp that the origin
 * serves, a path. Fills origin, proto (SCN_PROTO_*) and *path (owned).
 */
int purl(struct pctx *p, const struct scn_tok *t, size_t *origin, unsigned *proto, char **path);

/* The latest SCN_FILE line declaring path on origin so far, or NULL. */
const struct scn_file_args *pfile_declared(const struct scn_script *s, size_t origin,
                                           const char *path);

/* An identifier (job id, group or origin name): a letter, then letters, digits, _ - . */
int pident(struct pctx *p, const struct scn_tok *t, const char *what);

/* Statement parsers: tokens from index i (just past the keyword). */
int parse_setup_stmt(struct pctx *p, struct scn_stmt *st, size_t i);
int parse_origin(struct pctx *p, struct scn_stmt *st, size_t i);
int parse_file(struct pctx *p, struct scn_stmt *st, size_t i);
int parse_change(struct pctx *p, struct scn_stmt *st, size_t i);
int parse_rule(struct pctx *p, struct scn_stmt *st, size_t i);
int parse_unrule(struct pctx *p, struct scn_stmt *st, size_t i);
int parse_network(struct pctx *p, struct scn_stmt *st, size_t i);
int parse_battery(struct pctx *p, struct scn_stmt *st, size_t i);
int parse_expect(struct pctx *p, struct scn_stmt *st, size_t i);

#endif
