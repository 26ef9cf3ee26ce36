/*
 * lex: one scenario line into tokens.
 *
 * A token is a run of non-blank bytes; a double quote opens a quoted section
 * that runs to the matching quote, blanks included, with the escapes \" \\ \n
 * \t. A token that is wholly one quoted section is `quoted` and its text is
 * the decoded content; other tokens keep their bytes as written (a rule's
 * header="X: y" stays raw, for flt_rule_parse). An unquoted '#' at the start
 * of a token begins a comment that runs to the end of the line.
 *
 * Columns are 1-based byte offsets into the line. A lexed line owns its
 * tokens' text; free it with scn_line_free().
 */
#ifndef SCN_LEX_H
#define SCN_LEX_H

#include <stdbool.h>
#include <stddef.h>

struct scn_tok {
    char *text;   /* owned; decoded when quoted */
    unsigned col; /* of the first byte */
    unsigned end; /* column just past the last byte */
    bool quoted;
};

struct scn_line {
    unsigned lineno;
    char *raw; /* the line as written, NUL-terminated (owned) */
    struct scn_tok *toks;
    size_t n;
    unsigned end; /* column just past the last token (where a comment or the line ends) */
};

/*
 * Split raw (len bytes, no newline) into tokens. Returns 0, or -1 with a
 * message in err (errlen bytes) and *errcol the 1-based column at fault
 * (unterminated quote, bad escape, NUL byte). Caller frees with scn_line_free
 * in both cases.
 */
int scn_lex_line(const char *raw, size_t len, unsigned lineno, struct scn_line *out, char *err,
                 size_t errlen, unsigned *errcol);
void scn_line_free(struct scn_line *l);

#endif
