/*
 * diag: diagnostics — where a script is wrong, shown the way compilers do
 * (file:line:col: message, the line, a caret) — and "did you mean".
 *
 * perr() is the parser's single way to fail: it fills the caller's struct
 * scn_diag from the current line and returns -1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "units.h"

int scn_diag_format(const struct scn_diag *d, char *buf, size_t len)
{
    if (d->line == 0)
        return snprintf(buf, len, "%s: %s\n", d->file, d->message);
    return snprintf(buf, len, "%s:%u:%u: %s\n    %s\n    %s\n", d->file, d->line, d->col,
                    d->message, d->source, d->caret);
}

void scn_diag_print(const struct scn_diag *d, FILE *f)
{
    char buf[4 * SCN_DIAG_LEN];
    scn_diag_format(d, buf, sizeof buf);
    fputs(buf, f);
}

const char *scn_suggest(const char *word, const char *const *candidates, size_t n)
{
    int i = xl_closest(word, candidates, n);
    return i < 0 ? NULL : candidates[i];
}

int perr(struct pctx *p, unsigned col, const char *fmt, ...)
{
    struct scn_diag *d = p->diag;
    if (!d)
        return -1;
    memset(d, 0, sizeof *d);
    snprintf(d->file, sizeof d->file, "%s", p->file);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
    if (!p->ln)
        return -1;
    d->line = p->ln->lineno;
    d->col = col ? col : 1;
    /* The line with tabs shown as one space each, so the caret lines up. */
    size_t n = 0;
    for (const char *c = p->ln->raw; *c && n + 1 < sizeof d->source; c++)
        d->source[n++] = (*c == '\t' || (unsigned char)*c < ' ') ? ' ' : *c;
    d->source[n] = '\0';
    size_t k = d->col - 1 < sizeof d->caret - 2 ? d->col - 1 : sizeof d->caret - 2;
    memset(d->caret, ' ', k);
    d->caret[k] = '^';
    d->caret[k + 1] = '\0';
    return -1;
}

int pnomem(struct pctx *p, unsigned col)
{
    return perr(p, col, "out of memory");
}
