/*
 * lex: the scenario tokenizer (see lex.h for the rules). Data flow: one raw
 * line in, an array of tokens with columns out; nothing else is kept.
 */
#include "lex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int push(struct scn_line *l, size_t *cap, struct scn_tok t)
{
    if (l->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct scn_tok *v = realloc(l->toks, nc * sizeof *v);
        if (!v)
            return -1;
        l->toks = v;
        *cap = nc;
    }
    l->toks[l->n++] = t;
    return 0;
}

/* A quoted string at raw[*i] == '"': decode it into buf, leave *i past the closing quote. */
static int quoted_string(const char *raw, size_t len, size_t *i, char *buf, size_t *bn, char *err,
                         size_t errlen, unsigned *errcol)
{
    size_t q = (*i)++;
    for (;;) {
        if (*i >= len) {
            *errcol = (unsigned)q + 1;
            snprintf(err, errlen, "unterminated string (no closing '\"')");
            return -1;
        }
        char c = raw[*i];
        if (c == '\0') {
            *errcol = (unsigned)*i + 1;
            snprintf(err, errlen, "NUL byte in the line");
            return -1;
        }
        if (c == '"') {
            (*i)++;
            return 0;
        }
        if (c != '\\') {
            buf[(*bn)++] = c;
            (*i)++;
            continue;
        }
        char e = *i + 1 < len ? raw[*i + 1] : '\0';
        switch (e) {
        case 'n':
            buf[(*bn)++] = '\n';
            break;
        case 't':
            buf[(*bn)++] = '\t';
            break;
        case '"':
        case '\\':
            buf[(*bn)++] = e;
            break;
        default:
            *errcol = (unsigned)*i + 1;
            snprintf(err, errlen, "unknown escape in a string (use \\n \\t \\\" \\\\)");
            return -1;
        }
        *i += 2;
    }
}

int scn_lex_line(const char *raw, size_t len, unsigned lineno, struct scn_line *out, char *err,
                 size_t errlen, unsigned *errcol)
{
    memset(out, 0, sizeof *out);
    out->lineno = lineno;
    size_t cap = 0;
    char *buf = NULL;
    out->raw = malloc(len + 1);
    if (!out->raw)
        goto nomem;
    memcpy(out->raw, raw, len);
    out->raw[len] = '\0';
    buf = malloc(len + 1);
    if (!buf)
        goto nomem;

    size_t i = 0;
    while (i < len) {
        if (raw[i] == '\0') {
            *errcol = (unsigned)i + 1;
            snprintf(err, errlen, "NUL byte in the line");
            goto fail;
        }
        if (blank(raw[i])) {
            i++;
            continue;
        }
        if (raw[i] == '#')
            break;
        size_t start = i, bn = 0;
        bool quoted = raw[i] == '"';
        if (quoted) {
            if (quoted_string(raw, len, &i, buf, &bn, err, errlen, errcol) < 0)
                goto fail;
            if (i < len && !blank(raw[i])) {
                *errcol = (unsigned)i + 1;
                snprintf(err, errlen, "expected a blank after the closing '\"'");
                goto fail;
            }
        } else {
            while (i < len && !blank(raw[i])) {
                if (raw[i] == '\0') {
                    *errcol = (unsigned)i + 1;
                    snprintf(err, errlen, "NUL byte in the line");
                    goto fail;
                }
                if (raw[i] == '"') {
                    size_t q = i;
                    buf[bn++] = raw[i++];
                    while (i < len && raw[i] != '"' && raw[i] != '\0') {
                        if (raw[i] == '\\' && i + 1 < len && raw[i + 1] != '\0')
                            buf[bn++] = raw[i++];
                        buf[bn++] = raw[i++];
                    }
                    if (i >= len || raw[i] == '\0') {
                        *errcol = (unsigned)q + 1;
                        snprintf(err, errlen, "unterminated string (no closing '\"')");
                        goto fail;
                    }
                }
                buf[bn++] = raw[i++];
            }
        }
        struct scn_tok t = {.col = (unsigned)start + 1, .end = (unsigned)i + 1, .quoted = quoted};
        t.text = malloc(bn + 1);
        if (!t.text)
            goto nomem;
        memcpy(t.text, buf, bn);
        t.text[bn] = '\0';
        if (push(out, &cap, t) < 0) {
            free(t.text);
            goto nomem;
        }
        out->end = t.end;
    }
    if (out->n == 0)
        out->end = 1;
    free(buf);
    return 0;
nomem:
    *errcol = 1;
    snprintf(err, errlen, "out of memory");
fail:
    free(buf);
    return -1;
}

void scn_line_free(struct scn_line *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->toks[i].text);
    free(l->toks);
    free(l->raw);
    memset(l, 0, sizeof *l);
}
