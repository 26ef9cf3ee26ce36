/*
 * esc: the one escaper of the reports (see esc.h). It walks the input once,
 * copying runs of safe bytes and replacing the rest, and checks UTF-8
 * sequences by their lead byte so that a truncated or overlong sequence never
 * reaches the page.
 */
#include "esc.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    /* U+FFFE and U+FFFF are not XML characters either. */
    if (overlong || surrogate || cp > 0x10FFFF || cp == 0xFFFE || cp == 0xFFFF)
        return 0;
    return len;
}

void rpt_esc_n(FILE *f, const char *s, size_t n)
{
    if (!s)
        return;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        const char *rep = NULL;
        size_t take = 1;
        switch (c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                rep = "?";
            else if (c == 0x7F)
                rep = "?";
            else if (c >= 0x80) {
                take = utf8_len(p + i, n - i);
                if (take == 0) {
                    rep = "\xEF\xBF\xBD";
                    take = 1;
                }
            }
            break;
        }
        if (rep)
            fputs(rep, f);
        else
            fwrite(p + i, 1, take, f);
        i += take;
    }
}

void rpt_esc(FILE *f, const char *s)
{
    if (s)
        rpt_esc_n(f, s, strlen(s));
}
