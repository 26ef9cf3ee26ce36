/*
 * xmlcheck: a single pass over the document with a stack of open element
 * names (see xmlcheck.h). Positions are tracked as byte offsets and turned
 * into line numbers only for messages.
 */
#include "xmlcheck.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 256
#define MAX_NAME  128

struct xc {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
    char stack[MAX_DEPTH][MAX_NAME];
    size_t depth;
};

static int fail(struct xc *x, const char *fmt, ...)
{
    size_t line = 1;
    for (size_t i = 0; i < x->pos && i < x->len; i++)
        line += x->s[i] == '\n';
    int n = snprintf(x->err, x->errlen, "line %zu: ", line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < x->errlen)
        vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static bool starts(const struct xc *x, const char *lit)
{
    size_t n = strlen(lit);
    return x->len - x->pos >= n && memcmp(x->s + x->pos, lit, n) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}

static bool name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Check one character at pos (UTF-8 and XML's Char production); advance past it. */
static int one_char(struct xc *x)
{
    const unsigned char *p = (const unsigned char *)x->s + x->pos;
    size_t left = x->len - x->pos;
    unsigned char c = p[0];
    if (c < 0x80) {
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return fail(x, "control character 0x%02x", c);
        x->pos++;
        return 0;
    }
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || n > left || c > 0xF4)
        return fail(x, "invalid UTF-8 byte 0x%02x", c);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return fail(x, "invalid UTF-8 sequence");
    }
    x->pos += n;
    return 0;
}

/* An entity or character reference at pos ('&'). */
static int reference(struct xc *x)
{
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (starts(x, named[i])) {
            x->pos += strlen(named[i]);
            return 0;
        }
    }
    if (starts(x, "&#")) {
        size_t p = x->pos + 2;
        bool hex = p < x->len && x->s[p] == 'x';
        p += hex;
        size_t digits = 0;
        while (p < x->len && ((x->s[p] >= '0' && x->s[p] <= '9') ||
                              (hex && ((x->s[p] | 0x20) >= 'a' && (x->s[p] | 0x20) <= 'f')))) {
            p++;
            digits++;
        }
        if (digits && p < x->len && x->s[p] == ';') {
            x->pos = p + 1;
            return 0;
        }
    }
    return fail(x, "'&' that is not a reference");
}

static int skip_past(struct xc *x, const char *end, const char *what)
{
    const char *e = memmem(x->s + x->pos, x->len - x->pos, end, strlen(end));
    if (!e)
        return fail(x, "unterminated %s", what);
    x->pos = (size_t)(e - x->s) + strlen(end);
    return 0;
}

static int name(struct xc *x, char *out)
{
    size_t start = x->pos;
    if (x->pos >= x->len || !name_start((unsigned char)x->s[x->pos]))
        return fail(x, "expected a name");
    while (x->pos < x->len && name_char((unsigned char)x->s[x->pos]))
        x->pos++;
    size_t n = x->pos - start;
    if (n >= MAX_NAME)
        return fail(x, "name too long");
    memcpy(out, x->s + start, n);
    out[n] = '\0';
    return 0;
}

static void spaces(struct xc *x)
{
    while (x->pos < x->len && is_space(x->s[x->pos]))
        x->pos++;
}

static int start_tag(struct xc *x, xc_tag_fn on_tag, void *arg, bool *closed)
{
    char tag[MAX_NAME];
    struct xc_attr attrs[XC_MAX_ATTRS];
    size_t n = 0;
    int rc = -1;
    x->pos++; /* '<' */
    if (name(x, tag) < 0)
        return -1;
    for (;;) {
        bool had_space = x->pos < x->len && is_space(x->s[x->pos]);
        spaces(x);
        if (x->pos >= x->len) {
            fail(x, "unterminated tag <%s>", tag);
            goto out;
        }
        if (starts(x, "/>") || x->s[x->pos] == '>') {
            *closed = x->s[x->pos] == '/';
            x->pos += *closed ? 2 : 1;
            break;
        }
        if (!had_space) {
            fail(x, "<%s>: expected a space before an attribute", tag);
            goto out;
        }
        char aname[MAX_NAME];
        if (name(x, aname) < 0)
            goto out;
        spaces(x);
        if (x->pos >= x->len || x->s[x->pos] != '=') {
            fail(x, "<%s>: attribute %s has no value", tag, aname);
            goto out;
        }
        x->pos++;
        spaces(x);
        char q = x->pos < x->len ? x->s[x->pos] : 0;
        if (q != '"' && q != '\'') {
            fail(x, "<%s>: attribute %s is not quoted", tag, aname);
            goto out;
        }
        size_t vstart = ++x->pos;
        while (x->pos < x->len && x->s[x->pos] != q) {
            if (x->s[x->pos] == '<') {
                fail(x, "<%s>: '<' in the value of %s", tag, aname);
                goto out;
            }
            if ((x->s[x->pos] == '&' ? reference(x) : one_char(x)) < 0)
                goto out;
        }
        if (x->pos >= x->len) {
            fail(x, "<%s>: unterminated value of %s", tag, aname);
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(attrs[i].name, aname) == 0) {
                fail(x, "<%s>: attribute %s twice", tag, aname);
                goto out;
            }
        }
        if (n == XC_MAX_ATTRS) {
            fail(x, "<%s>: too many attributes", tag);
            goto out;
        }
        attrs[n].name = strdup(aname);
        attrs[n].value = strndup(x->s + vstart, x->pos - vstart);
        n++;
        x->pos++; /* closing quote */
    }
    if (on_tag)
        on_tag(arg, tag, attrs, n);
    if (!*closed) {
        if (x->depth == MAX_DEPTH) {
            fail(x, "nesting deeper than %d", MAX_DEPTH);
            goto out;
        }
        snprintf(x->stack[x->depth++], MAX_NAME, "%s", tag);
    }
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        free((char *)attrs[i].name);
        free((char *)attrs[i].value);
    }
    return rc;
}

static int end_tag(struct xc *x)
{
    char tag[MAX_NAME];
    x->pos += 2; /* "</" */
    if (name(x, tag) < 0)
        return -1;
    spaces(x);
    if (x->pos >= x->len || x->s[x->pos] != '>')
        return fail(x, "</%s: expected '>'", tag);
    x->pos++;
    if (x->depth == 0)
        return fail(x, "</%s> closes nothing", tag);
    if (strcmp(x->stack[x->depth - 1], tag) != 0)
        return fail(x, "</%s> closes <%s>", tag, x->stack[x->depth - 1]);
    x->depth--;
    return 0;
}

int xc_check(const char *doc, size_t len, xc_tag_fn on_tag, void *arg, char *err, size_t errlen)
{
    struct xc *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    x->s = doc;
    x->len = len;
    x->err = err;
    x->errlen = errlen;
    int rc = -1;
    bool root_seen = false;
    while (x->pos < x->len) {
        if (starts(x, "<?")) {
            if (skip_past(x, "?>", "processing instruction") < 0)
                goto out;
        } else if (starts(x, "<!--")) {
            x->pos += 4;
            const char *e = memmem(x->s + x->pos, x->len - x->pos, "--", 2);
            if (!e || (size_t)(e - x->s) + 2 >= x->len || e[2] != '>') {
                fail(x, "comment not closed by '-->' (or '--' inside it)");
                goto out;
            }
            x->pos = (size_t)(e - x->s) + 3;
        } else if (starts(x, "<![CDATA[")) {
            if (x->depth == 0) {
                fail(x, "CDATA outside the root element");
                goto out;
            }
            if (skip_past(x, "]]>", "CDATA section") < 0)
                goto out;
        } else if (starts(x, "<!DOCTYPE")) {
            if (root_seen) {
                fail(x, "DOCTYPE after the root element");
                goto out;
            }
            if (skip_past(x, ">", "DOCTYPE") < 0)
                goto out;
        } else if (starts(x, "</")) {
            if (end_tag(x) < 0)
                goto out;
        } else if (x->s[x->pos] == '<') {
            if (x->depth == 0 && root_seen) {
                fail(x, "a second root element");
                goto out;
            }
            root_seen = true;
            bool closed = false;
            if (start_tag(x, on_tag, arg, &closed) < 0)
                goto out;
        } else if (x->s[x->pos] == '&') {
            if (x->depth == 0) {
                fail(x, "text outside the root element");
                goto out;
            }
            if (reference(x) < 0)
                goto out;
        } else {
            if (x->depth == 0 && !is_space(x->s[x->pos])) {
                fail(x, "text outside the root element");
                goto out;
            }
            if (starts(x, "]]>")) {
                fail(x, "']]>' in text");
                goto out;
            }
            if (one_char(x) < 0)
                goto out;
        }
    }
    if (!root_seen)
        fail(x, "no root element");
    else if (x->depth)
        fail(x, "<%s> is never closed", x->stack[x->depth - 1]);
    else
        rc = 0;
out:
    free(x);
    return rc;
}

int xc_check_file(const char *path, xc_tag_fn on_tag, void *arg, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    int rc = xc_check(buf ? buf : "", len, on_tag, arg, err, errlen);
    free(buf);
    return rc;
}

void xc_html_rules(void *arg, const char *tag, const struct xc_attr *attrs, size_t n)
{
    struct xc_html *h = arg;
    const char *bad = NULL;
    static const char *const loaders[] = {"link", "img", "iframe", "object", "embed", "base"};
    for (size_t i = 0; i < sizeof loaders / sizeof loaders[0]; i++) {
        if (strcasecmp(tag, loaders[i]) == 0)
            bad = tag;
    }
    if (strcasecmp(tag, "script") == 0)
        h->scripts++;
    for (size_t i = 0; i < n && !bad; i++) {
        if (strcasecmp(attrs[i].name, "src") == 0)
            bad = "a src attribute";
        else if (strcasecmp(attrs[i].name, "href") == 0 && attrs[i].value[0] != '#')
            bad = "an href that leaves the page";
        else if (strcasestr(attrs[i].value, "url(") && !strstr(attrs[i].value, "url(#"))
            bad = "a url() that leaves the page";
    }
    if (bad) {
        if (h->external++ == 0)
            snprintf(h->first, sizeof h->first, "<%s>: %s", tag, bad);
    }
}
