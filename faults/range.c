/*
 * range: Range / If-Range / If-Match evaluation. Numbers are parsed with
 * overflow checks; anything odd makes the range unusable rather than guessed.
 */
#include "range.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Digits at *p into *out; false when none or on overflow. */
static bool number(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (!isdigit((unsigned char)*s))
        return false;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    *p = s;
    return true;
}

enum flt_range_parse_result flt_range_parse(const char *h, uint64_t size, uint64_t *start,
                                            uint64_t *len)
{
    if (!h)
        return FLT_RANGE_NONE;
    const char *p = skip_ws(h);
    if (strncasecmp(p, "bytes", 5) != 0)
        return FLT_RANGE_NONE;
    p += 5;
    if (*p++ != '=')
        return FLT_RANGE_NONE;
    if (strchr(p, ','))
        return FLT_RANGE_NONE; /* multiple ranges: answered with the whole entity */
    uint64_t first, last;
    if (*p == '-') {
        p++;
        if (!number(&p, &last) || *skip_ws(p) != '\0')
            return FLT_RANGE_NONE;
        if (last == 0 || size == 0)
            return FLT_RANGE_UNSATISFIABLE;
        if (last > size)
            last = size;
        *start = size - last;
        *len = last;
        return FLT_RANGE_OK;
    }
    if (!number(&p, &first) || *p++ != '-')
        return FLT_RANGE_NONE;
    bool open = *skip_ws(p) == '\0';
    if (!open && (!number(&p, &last) || *skip_ws(p) != '\0'))
        return FLT_RANGE_NONE;
    if (!open && last < first)
        return FLT_RANGE_NONE; /* "bytes=5-2" is invalid syntax, so ignored */
    if (first >= size)
        return FLT_RANGE_UNSATISFIABLE;
    if (open || last >= size)
        last = size - 1;
    *start = first;
    *len = last - first + 1;
    return FLT_RANGE_OK;
}

/* Strong comparison of an If-Range / If-Match list member with our ETag. */
static bool etag_matches(const char *want, size_t wl, const struct flt_validators *v)
{
    if (!v->etag || v->weak || (wl >= 2 && want[0] == 'W' && want[1] == '/'))
        return false;
    return strlen(v->etag) == wl && strncmp(v->etag, want, wl) == 0;
}

static bool if_match_ok(const char *h, const struct flt_validators *v)
{
    const char *p = skip_ws(h);
    if (strcmp(p, "*") == 0)
        return true;
    while (*p) {
        size_t l = strcspn(p, ",");
        size_t t = l;
        while (t && (p[t - 1] == ' ' || p[t - 1] == '\t'))
            t--;
        if (etag_matches(p, t, v))
            return true;
        p = skip_ws(p + l + (p[l] == ','));
    }
    return false;
}

static bool if_range_ok(const char *h, const struct flt_validators *v)
{
    const char *p = skip_ws(h);
    size_t l = strlen(p);
    while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
        l--;
    if (l && (p[0] == '"' || p[0] == 'W'))
        return etag_matches(p, l, v);
    /* A date matches only our exact Last-Modified (a strong validator here). */
    return v->last_modified && !v->weak && strlen(v->last_modified) == l &&
           strncmp(v->last_modified, p, l) == 0;
}

void flt_range_decide(const char *range, const char *if_range, const char *if_match, uint64_t size,
                      const struct flt_validators *v, struct flt_range_answer *out)
{
    out->status = 200;
    out->start = 0;
    out->length = size;
    if (if_match && !if_match_ok(if_match, v)) {
        out->status = 412;
        out->length = 0;
        return;
    }
    if (!range || (if_range && !if_range_ok(if_range, v)))
        return;
    uint64_t start, len;
    switch (flt_range_parse(range, size, &start, &len)) {
    case FLT_RANGE_NONE:
        return;
    case FLT_RANGE_OK:
        out->status = 206;
        out->start = start;
        out->length = len;
        return;
    case FLT_RANGE_UNSATISFIABLE:
        out->status = 416;
        out->length = 0;
        return;
    }
}
