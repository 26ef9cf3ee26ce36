/*
 * xmlcheck: a small XML well-formedness checker for the reports' tests (there
 * is no libxml on a fresh Debian 12, and xmllint is not required). It checks
 * what the renderers could get wrong: one root element, tags nested and
 * matched, attributes quoted and unique, '<' never raw in text or attribute
 * values, every '&' a known entity or a character reference, no characters
 * XML 1.0 forbids, valid UTF-8. A DOCTYPE, comments, CDATA and processing
 * instructions are skipped. Each start tag is handed to a callback with its
 * attributes, so a test can look for what a self-contained page must not
 * have (external scripts, stylesheets, images).
 */
#ifndef XC_XMLCHECK_H
#define XC_XMLCHECK_H

#include <stddef.h>

#define XC_MAX_ATTRS 32

struct xc_attr {
    const char *name, *value; /* raw value, entities not expanded; NUL-terminated copies */
};

typedef void (*xc_tag_fn)(void *arg, const char *tag, const struct xc_attr *attrs, size_t n);

/*
 * Check doc (len bytes). Returns 0 when well-formed, else -1 with err naming
 * the line and what was wrong. on_tag may be NULL.
 */
int xc_check(const char *doc, size_t len, xc_tag_fn on_tag, void *arg, char *err, size_t errlen);
/*
 * A tag callback for self-contained pages: counts (in *(struct xc_html *)arg)
 * the tags that would load something from elsewhere — <link>, <img>, <iframe>,
 * <object>, <embed>, a <script> with src, any src attribute, an href that is
 * not a fragment ("#..."), a style or other attribute naming a url(...) — and
 * the inline <script> elements. It keeps the first offender for a message.
 */
struct xc_html {
    size_t external, scripts;
    char first[256];
};
void xc_html_rules(void *arg, const char *tag, const struct xc_attr *attrs, size_t n);

/* The same for a file. */
int xc_check_file(const char *path, xc_tag_fn on_tag, void *arg, char *err, size_t errlen);

#endif
