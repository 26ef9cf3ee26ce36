/*
 * ftp_cmd: the pure text layer of the FTP fault server (RFC 959, RFC 2428).
 *
 * This module owns no state and allocates nothing: every function reads its
 * input and writes into a buffer the caller provides, so the fuzz target and
 * the unit tests can drive it without a server.
 *
 * Data flow: the server cuts one line from the control connection (at most
 * FLT_FTP_LINE_MAX bytes before the LF; longer lines never reach us) and calls
 * flt_ftp_parse(). A negative result is a distinct reason that
 * flt_ftp_parse_reply() maps to the 500 or 501 the server sends. A parsed
 * command's argument goes through flt_ftp_resolve() (paths),
 * flt_ftp_parse_rest() (REST) or flt_ftp_parse_type() (TYPE); the answer to
 * PASV and EPSV is written by flt_ftp_format_passive().
 *
 * Line syntax accepted (RFC 959 §5.3):
 *
 *     VERB [SP argument] [CR] [LF]
 *
 * VERB is 1 to 4 ASCII letters, upper-cased on output. The argument is every
 * byte after the ONE space that follows the verb (so "RETR  a" names " a"),
 * possibly empty. A trailing LF, and a CR right before it (or at the very end),
 * are the terminator and are stripped; that is the only place a CR may appear.
 * The only control character permitted inside an argument is HT; bytes 0x80
 * and above are permitted (UTF-8 names, RFC 2640).
 */
#ifndef FLT_FTP_CMD_H
#define FLT_FTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest command line accepted, terminator excluded. */
#define FLT_FTP_LINE_MAX 1024
/* Longest verb. */
#define FLT_FTP_VERB_MAX 4

/* One parsed command line. Plain storage: no pointers, nothing to free. */
struct flt_ftp_cmd {
    char verb[FLT_FTP_VERB_MAX + 1]; /* upper case, NUL-terminated */
    char arg[FLT_FTP_LINE_MAX + 1];  /* NUL-terminated, may be "" */
    size_t arg_len;
    bool has_arg; /* a space followed the verb (even if nothing came after it) */
};

/* Why a line was rejected. Each maps to one reply (flt_ftp_parse_reply). */
enum flt_ftp_parse_err {
    FLT_FTP_OK = 0,
    FLT_FTP_E_EMPTY = -1,    /* nothing but the terminator: 500 */
    FLT_FTP_E_TOO_LONG = -2, /* more than FLT_FTP_LINE_MAX bytes: 500 */
    FLT_FTP_E_NUL = -3,      /* a NUL byte anywhere: 500 */
    FLT_FTP_E_VERB = -4,     /* verb not 1-4 letters, or not followed by SP or the end: 500 */
    FLT_FTP_E_CONTROL = -5,  /* a control character (not HT) in the argument: 501 */
};

/*
 * Parse line[0..len) into *out. Returns FLT_FTP_OK or a negative enum
 * flt_ftp_parse_err; *out is zeroed first and left empty on failure.
 */
int flt_ftp_parse(const char *line, size_t len, struct flt_ftp_cmd *out);

/* The reply code (500 or 501) and text for a parse error. Returns the code. */
int flt_ftp_parse_reply(int err, const char **text);

/*
 * Parse a REST argument: decimal digits only (no sign, no blanks), at least
 * one, at most UINT64_MAX. Returns 0 and *out, or -1 on bad syntax, -2 on
 * overflow (*out untouched).
 */
int flt_ftp_parse_rest(const char *arg, uint64_t *out);

/*
 * Parse a TYPE argument. Returns 0 with *ascii set for "I", "A" and "A N"
 * (case-insensitive); -1 for an empty argument (501); -2 for any other type
 * or form ("E", "A T", "L 8": 504, not implemented for that parameter).
 */
int flt_ftp_parse_type(const char *arg, bool *ascii);

/*
 * Resolve a path argument against the working directory cwd (absolute,
 * normalised) into out (len bytes): "." and empty segments vanish, ".." climbs
 * one level and stops at "/". The result is absolute, has no trailing slash
 * except "/" itself. Returns 0, or -1 if it does not fit (out is then "").
 */
int flt_ftp_resolve(const char *cwd, const char *arg, char *out, size_t len);

/*
 * Write the answer to PASV (extended = false: "227 Entering Passive Mode
 * (h1,h2,h3,h4,p1,p2).") or EPSV (extended = true: "229 Entering Extended
 * Passive Mode (|||port|).") for a data listener on local (its port is
 * ignored; port is used), without CRLF. Returns the length written, or -1 if
 * PASV is asked for a non-IPv4 address or the buffer is too small.
 */
int flt_ftp_format_passive(bool extended, const struct sockaddr *local, uint16_t port, char *buf,
                           size_t len);

#endif
