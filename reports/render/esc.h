/*
 * esc: text made safe for XML and HTML. Every string the reports write into
 * markup (names, titles, messages, log lines: all of it comes from scenario
 * files, servers and xferd, so none of it is trusted) goes through here.
 *
 * & < > " ' become entities; control characters XML 1.0 forbids (everything
 * below 0x20 except tab, newline and carriage return, and DEL) become '?';
 * bytes that are not valid UTF-8 become U+FFFD. The output is therefore valid
 * both as element text and inside a quoted attribute.
 */
#ifndef RPT_ESC_H
#define RPT_ESC_H

#include <stdio.h>

/* Write s (NULL writes nothing) escaped to f. */
void rpt_esc(FILE *f, const char *s);
/* The same for the first n bytes of s. */
void rpt_esc_n(FILE *f, const char *s, size_t n);

#endif
