/*
 * fuzz_ftp_cmd: libFuzzer target for the FTP command-line layer (ftp_cmd.c).
 *
 * The input is one control-connection line as a client could send it. It goes
 * through flt_ftp_parse() and, when that accepts it, the argument goes through
 * every consumer the server has: flt_ftp_parse_rest(), flt_ftp_parse_type(),
 * flt_ftp_resolve() and flt_ftp_format_passive(). Besides the sanitizers'
 * findings, the target checks the promises of ftp_cmd.h and traps when one is
 * broken: a verb of 1-4 upper-case letters, an argument without NUL or CR/LF
 * within the bounds, a REST value that prints back as its digits, a resolved
 * path that is absolute and normalised. It owns nothing and allocates nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include "ftp_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static void check_rest(const char *arg)
{
    uint64_t v = 0;
    char back[32];
    const char *digits = arg;

    if (flt_ftp_parse_rest(arg, &v) != 0)
        return;
    /* Accepted: only digits, and the value prints back as them (minus leading zeros). */
    while (digits[0] == '0' && digits[1] != '\0')
        digits++;
    snprintf(back, sizeof back, "%llu", (unsigned long long)v);
    CHECK(strcmp(back, digits) == 0);
}

static void check_resolved(const char *p)
{
    size_t n = strlen(p);

    CHECK(p[0] == '/');
    CHECK(n == 1 || p[n - 1] != '/');
    CHECK(strstr(p, "//") == NULL);
    CHECK(strstr(p, "/./") == NULL && strstr(p, "/../") == NULL);
    CHECK(!(n >= 2 && strcmp(p + n - 2, "/.") == 0));
    CHECK(!(n >= 3 && strcmp(p + n - 3, "/..") == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct flt_ftp_cmd cmd;
    char out[1024];
    bool ascii = false;
    int rc = flt_ftp_parse((const char *)data, size, &cmd);

    CHECK(flt_ftp_parse_reply(rc, NULL) >= 200);
    if (rc != FLT_FTP_OK) {
        CHECK(rc < 0 && cmd.verb[0] == '\0' && cmd.arg_len == 0);
        return 0;
    }
    size_t vl = strlen(cmd.verb);
    CHECK(vl >= 1 && vl <= FLT_FTP_VERB_MAX);
    for (size_t i = 0; i < vl; i++)
        CHECK(cmd.verb[i] >= 'A' && cmd.verb[i] <= 'Z');
    CHECK(cmd.arg_len <= FLT_FTP_LINE_MAX && strlen(cmd.arg) == cmd.arg_len);
    CHECK(strpbrk(cmd.arg, "\r\n") == NULL);
    CHECK(cmd.has_arg || cmd.arg_len == 0);

    check_rest(cmd.arg);
    (void)flt_ftp_parse_type(cmd.arg, &ascii);
    if (flt_ftp_resolve("/a/b", cmd.arg, out, sizeof out) == 0)
        check_resolved(out);
    else
        CHECK(out[0] == '\0');
    if (flt_ftp_resolve(cmd.arg[0] == '/' ? cmd.arg : "/", cmd.arg, out, 16) == 0)
        check_resolved(out);

    /* The passive replies, with a port and address taken from the input. */
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    uint16_t port = (uint16_t)(size > 1 ? (data[0] << 8 | data[1]) : 0);
    char reply[64];
    memcpy(&a4.sin_addr, data, size < 4 ? size : 4);
    CHECK(flt_ftp_format_passive(false, (struct sockaddr *)&a4, port, reply, sizeof reply) > 0);
    CHECK(flt_ftp_format_passive(true, (struct sockaddr *)&a4, port, reply, sizeof reply) > 0);
    CHECK(flt_ftp_format_passive(false, (struct sockaddr *)&a4, port, reply, vl) < 0);
    return 0;
}
