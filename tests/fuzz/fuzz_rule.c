/*
 * libFuzzer target for the fault-rule parser (faults/rule.c).
 *
 * Each input (a NUL-terminated copy of at most 4 KiB) goes to flt_rule_parse().
 * A failure must name a column inside the text and say something. A success
 * must survive the canonical round trip: format -> parse -> format gives the
 * same text and the same `have` bits, a truncated format is a prefix of the
 * whole one, and the rule can be added to a set, planned against a fixed
 * request and freed without a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule.h"

#define MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static void die(const char *what, const char *input, const char *a,
                                          const char *b)
{
    fprintf(stderr, "fuzz_rule: %s\n  input:  [%s]\n  first:  [%s]\n  second: [%s]\n", what, input,
            a ? a : "", b ? b : "");
    abort();
}

/* The whole canonical text of r (malloc'd); also checks truncated formatting. */
static char *format_all(const struct flt_rule *r, const char *input)
{
    char one[1];
    int n = flt_rule_format(r, one, sizeof one);
    if (n < 0 || one[0] != '\0')
        die("format into 1 byte is not an empty string", input, NULL, NULL);
    char *text = malloc((size_t)n + 1);
    if (!text)
        abort();
    if (flt_rule_format(r, text, (size_t)n + 1) != n || strlen(text) != (size_t)n)
        die("format length differs between calls", input, text, NULL);
    /* cut in the middle: a NUL-terminated prefix of the whole text */
    size_t half = (size_t)n / 2 + 1;
    char *cut = malloc(half);
    if (!cut)
        abort();
    if (flt_rule_format(r, cut, half) != n || strlen(cut) != half - 1 ||
        strncmp(cut, text, half - 1) != 0)
        die("truncated format is not a prefix of the whole", input, text, cut);
    free(cut);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct flt_rules set;
    static int set_ready;
    char input[MAX_INPUT + 1];
    char err[XL_ERRLEN];
    size_t col = 0;
    struct flt_rule *r = NULL;

    if (!set_ready) {
        flt_rules_init(&set);
        set_ready = 1;
    }
    if (size > MAX_INPUT)
        size = MAX_INPUT;
    memcpy(input, data, size);
    input[size] = '\0';

    err[0] = '\0';
    if (flt_rule_parse(input, &r, &col, err) < 0) {
        if (r)
            die("failed parse left a rule", input, NULL, NULL);
        if (col > strlen(input))
            die("error column beyond the end of the text", input, err, NULL);
        if (err[0] == '\0' || memchr(err, '\0', XL_ERRLEN) == NULL)
            die("failed parse without a message", input, NULL, NULL);
        return 0;
    }
    if (!r || (unsigned)r->action >= FLT_A__COUNT)
        die("parse succeeded without a valid rule", input, NULL, NULL);

    /* canonical round trip */
    char *t1 = format_all(r, input);
    struct flt_rule *r2 = NULL;
    if (flt_rule_parse(t1, &r2, &col, err) < 0) {
        char msg[XL_ERRLEN + 64];
        snprintf(msg, sizeof msg, "canonical text does not parse (col %zu: %s)", col + 1, err);
        die(msg, input, t1, NULL);
    }
    char *t2 = format_all(r2, input);
    if (strcmp(t1, t2) != 0)
        die("format -> parse -> format changed the text", input, t1, t2);
    if (r->have != r2->have)
        die("format -> parse changed the keys given", input, t1, t2);
    if (r->action != r2->action || strcmp(r->name, r2->name) != 0)
        die("format -> parse changed the action or the name", input, t1, t2);
    free(t1);
    free(t2);
    flt_rule_free(r2);

    /* plan it once against a fixed request, on the protocol it applies to */
    char aerr[XL_ERRLEN];
    unsigned proto = (flt_action_info(r->action)->protocols & FLT_P_HTTP) ? FLT_P_HTTP : FLT_P_FTP;
    struct flt_request req = {
        .method = proto == FLT_P_HTTP ? "GET" : "RETR", .path = "/big.bin", .conn = 1};
    if (flt_rules_add(&set, r, 0, aerr) < 0) {
        flt_rule_free(r);
        die("a rule cannot be added to an empty set", input, aerr, NULL);
    }
    struct flt_plan plan;
    flt_rules_plan(&set, proto, &req, &plan);
    flt_plan_release(&plan);
    int64_t until;
    bool refusing = flt_rules_refusing(&set, 0, &until);
    if (refusing != (r->action == FLT_A_REFUSE && r->for_ms > 0))
        die("refusing disagrees with the rule", input, NULL, NULL);
    flt_rules_clear(&set);
    return 0;
}
