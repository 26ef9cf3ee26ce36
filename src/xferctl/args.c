/*
 * args: a verb's arguments checked against its row of the verb table.
 * Flags may come before, between or after the positional arguments (as with
 * bitsadmin); "--" ends the flags. Anything wrong is misuse: a message naming
 * the argument, the verb's usage, exit 2.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

int ctl_misuse(const struct ctl *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "xferctl %s: ", c->verb->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    ctl_print_usage(stderr, c->verb, false);
    return CTL_USAGE;
}

static int flag_index(const struct ctl_verb *v, const char *arg)
{
    for (int i = 0; i < CTL_MAX_FLAGS && v->flags[i].name; i++)
        if (strcmp(v->flags[i].name, arg) == 0)
            return i;
    return -1;
}

bool ctl_parse(struct ctl *c, int argc, char **argv, struct ctl_args *a, int *rc)
{
    const struct ctl_verb *v = c->verb;
    memset(a, 0, sizeof *a);
    a->pos = argv; /* positional arguments are packed to the front of argv */
    bool flags_done = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        bool negative = arg[0] == '-' && isdigit((unsigned char)arg[1]);
        if (flags_done || arg[0] != '-' || arg[1] == '\0' || negative) {
            argv[a->npos++] = argv[i];
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            flags_done = true;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            ctl_print_usage(stdout, v, true);
            *rc = CTL_OK;
            return false;
        } else if (strcmp(arg, "--json") == 0) {
            c->json = true;
        } else {
            int k = flag_index(v, arg);
            if (k < 0) {
                *rc = ctl_misuse(c, "unknown option '%s'", arg);
                return false;
            }
            if (v->flags[k].value) {
                if (i + 1 >= argc) {
                    *rc = ctl_misuse(c, "%s needs a value (%s)", arg, v->flags[k].value);
                    return false;
                }
                a->val[k] = argv[++i];
            } else {
                a->val[k] = "";
            }
        }
    }
    if (a->npos < v->min_args) {
        *rc = ctl_misuse(c, "missing arguments (%d given, %d needed)", a->npos, v->min_args);
        return false;
    }
    if (v->max_args >= 0 && a->npos > v->max_args) {
        *rc = ctl_misuse(c, "extra argument '%s'", a->pos[v->max_args]);
        return false;
    }
    return true;
}

const char *ctl_flag(const struct ctl *c, const struct ctl_args *a, const char *name)
{
    int k = flag_index(c->verb, name);
    return k < 0 ? NULL : a->val[k];
}

bool ctl_number(const struct ctl *c, const char *what, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    unsigned long long n = strtoull(s, &end, hex ? 16 : 10);
    if (!isdigit((unsigned char)s[0]) || errno || end == s || *end) {
        ctl_misuse(c, "%s: '%s' is not a whole number", what, s);
        return false;
    }
    *out = n;
    return true;
}

char *ctl_abs_path(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return strdup(path); /* xferd names the problem */
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", cwd, path);
    return s;
}
