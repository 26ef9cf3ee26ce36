/*
 * ftp_cmd: command-line parsing, path resolution and passive-mode replies.
 *
 * Everything here is a pure function of its arguments: no allocation, no
 * globals, no locale (letters and digits are tested as ASCII ranges, never
 * with <ctype.h>, so a server running under a UTF-8 locale parses the same
 * bytes the same way). The server owns the buffers; see ftp_cmd.h for the
 * syntax accepted.
 */
#include "ftp_cmd.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static bool is_letter(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

int flt_ftp_parse(const char *line, size_t len, struct flt_ftp_cmd *out)
{
    size_t v = 0;

    memset(out, 0, sizeof *out);
    /* The terminator: LF, and a CR right before it (or a lone CR at the end). */
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return FLT_FTP_E_EMPTY;
    if (len > FLT_FTP_LINE_MAX)
        return FLT_FTP_E_TOO_LONG;
    if (memchr(line, '\0', len) != NULL)
        return FLT_FTP_E_NUL;
    while (v < len && v <= FLT_FTP_VERB_MAX && is_letter((unsigned char)line[v]))
        v++;
    if (v == 0 || v > FLT_FTP_VERB_MAX || (v < len && line[v] != ' '))
        return FLT_FTP_E_VERB;
    if (v < len) {
        const char *arg = line + v + 1;
        size_t alen = len - v - 1;

        for (size_t i = 0; i < alen; i++) {
            unsigned char c = (unsigned char)arg[i];

            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return FLT_FTP_E_CONTROL;
        }
        memcpy(out->arg, arg, alen);
        out->arg[alen] = '\0';
        out->arg_len = alen;
        out->has_arg = true;
    }
    for (size_t i = 0; i < v; i++)
        out->verb[i] = upper(line[i]);
    out->verb[v] = '\0';
    return FLT_FTP_OK;
}

int flt_ftp_parse_reply(int err, const char **text)
{
    const char *t = "Syntax error, command unrecognized.";
    int code = 500;

    switch ((enum flt_ftp_parse_err)err) {
    case FLT_FTP_OK:
        t = "Command okay.";
        code = 200;
        break;
    case FLT_FTP_E_EMPTY:
        t = "Syntax error: empty command line.";
        break;
    case FLT_FTP_E_TOO_LONG:
        t = "Syntax error: command line too long.";
        break;
    case FLT_FTP_E_NUL:
        t = "Syntax error: NUL byte in command line.";
        break;
    case FLT_FTP_E_VERB:
        t = "Syntax error, command unrecognized.";
        break;
    case FLT_FTP_E_CONTROL:
        t = "Syntax error in parameters: control character in argument.";
        code = 501;
        break;
    }
    if (text)
        *text = t;
    return code;
}

int flt_ftp_parse_rest(const char *arg, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    if (!arg || arg[0] == '\0')
        return -1;
    for (; arg[i] != '\0'; i++) {
        unsigned char c = (unsigned char)arg[i];

        if (c < '0' || c > '9')
            return -1;
    }
    for (i = 0; arg[i] != '\0'; i++) {
        uint64_t d = (uint64_t)(arg[i] - '0');

        if (v > (UINT64_MAX - d) / 10)
            return -2;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static bool ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (upper(*a) != upper(*b))
            return false;
    return *a == *b;
}

int flt_ftp_parse_type(const char *arg, bool *ascii)
{
    if (!arg || arg[0] == '\0')
        return -1;
    if (ieq(arg, "I")) {
        *ascii = false;
        return 0;
    }
    if (ieq(arg, "A") || ieq(arg, "A N")) {
        *ascii = true;
        return 0;
    }
    return -2;
}

/* Append one segment seg[0..n) of a path to out (length *o, capacity len). */
static int push_segment(char *out, size_t len, size_t *o, const char *seg, size_t n)
{
    if (n == 0 || (n == 1 && seg[0] == '.'))
        return 0;
    if (n == 2 && seg[0] == '.' && seg[1] == '.') {
        /* Drop the last segment; at the root there is nothing to drop. */
        while (*o > 0 && out[--*o] != '/')
            ;
        return 0;
    }
    if (*o + 1 + n >= len)
        return -1;
    out[(*o)++] = '/';
    memcpy(out + *o, seg, n);
    *o += n;
    return 0;
}

static int push_path(char *out, size_t len, size_t *o, const char *p)
{
    while (*p) {
        size_t n = strcspn(p, "/");

        if (push_segment(out, len, o, p, n) < 0)
            return -1;
        p += n;
        if (*p == '/')
            p++;
    }
    return 0;
}

int flt_ftp_resolve(const char *cwd, const char *arg, char *out, size_t len)
{
    size_t o = 0;

    if (len < 2) {
        if (len)
            out[0] = '\0';
        return -1;
    }
    if (!arg)
        arg = "";
    if (arg[0] != '/' && cwd && push_path(out, len, &o, cwd) < 0)
        goto toolong;
    if (push_path(out, len, &o, arg) < 0)
        goto toolong;
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return 0;
toolong:
    out[0] = '\0';
    return -1;
}

int flt_ftp_format_passive(bool extended, const struct sockaddr *local, uint16_t port, char *buf,
                           size_t len)
{
    const unsigned char *ip = NULL;
    int n;

    if (extended) {
        n = snprintf(buf, len, "229 Entering Extended Passive Mode (|||%u|).", (unsigned)port);
    } else {
        if (!local)
            return -1;
        if (local->sa_family == AF_INET) {
            ip =
                (const unsigned char *)&((const struct sockaddr_in *)(const void *)local)->sin_addr;
        } else if (local->sa_family == AF_INET6) {
            const struct in6_addr *a6 =
                &((const struct sockaddr_in6 *)(const void *)local)->sin6_addr;

            if (!IN6_IS_ADDR_V4MAPPED(a6))
                return -1;
            ip = a6->s6_addr + 12;
        } else {
            return -1;
        }
        n = snprintf(buf, len, "227 Entering Passive Mode (%u,%u,%u,%u,%u,%u).", ip[0], ip[1],
                     ip[2], ip[3], (unsigned)(port >> 8), (unsigned)(port & 0xff));
    }
    if (n < 0 || (size_t)n >= len)
        return -1;
    return n;
}
