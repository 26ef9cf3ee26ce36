/*
 * config: two passes over a fault file. Pass one parses every line into a
 * pending list (rules parsed, content directives checked) and stops at the
 * first error; pass two applies the list. So a bad line 40 leaves the servers
 * exactly as they were.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pending_kind { P_RULE, P_FILE, P_ROOT };

struct pending {
    enum pending_kind kind;
    struct flt_rule *rule;
    char *path;
    uint64_t size, seed;
    size_t line;
};

/* "name:line:col: message", the line, and a caret under col. */
static void report(char *err, size_t errlen, const char *name, size_t lineno, const char *line,
                   size_t linelen, size_t col, const char *msg)
{
    int n = snprintf(err, errlen, "%s:%zu:%zu: %s\n  %.*s\n  ", name, lineno, col + 1, msg,
                     (int)linelen, line);
    for (size_t i = 0; n >= 0 && (size_t)n + 2 < errlen && i < col && i < linelen; i++)
        err[n++] = line[i] == '\t' ? '\t' : ' ';
    if (n >= 0 && (size_t)n + 2 < errlen) {
        err[n++] = '^';
        err[n] = '\0';
    }
}

/* "file PATH size=N [seed=N]" */
static int parse_file_line(const char *s, struct pending *p, size_t *col, char *msg)
{
    const char *q = s + 4;
    while (*q == ' ' || *q == '\t')
        q++;
    if (*q != '/') {
        *col = (size_t)(q - s);
        snprintf(msg, XL_ERRLEN, "'file' needs a path starting with '/'");
        return -1;
    }
    size_t pl = strcspn(q, " \t");
    p->path = strndup(q, pl);
    q += pl;
    bool have_size = false;
    p->seed = 1;
    while (*q) {
        while (*q == ' ' || *q == '\t')
            q++;
        if (!*q || *q == '#')
            break;
        size_t wl = strcspn(q, " \t");
        char word[128];
        if (wl >= sizeof word) {
            *col = (size_t)(q - s);
            snprintf(msg, XL_ERRLEN, "value too long");
            return -1;
        }
        memcpy(word, q, wl);
        word[wl] = '\0';
        size_t vc = 0;
        char sub[XL_ERRLEN];
        if (strncmp(word, "size=", 5) == 0) {
            if (xl_parse_size(word + 5, &p->size, &vc, sub) < 0) {
                *col = (size_t)(q - s) + 5 + vc;
                snprintf(msg, XL_ERRLEN, "size: %s", sub);
                return -1;
            }
            have_size = true;
        } else if (strncmp(word, "seed=", 5) == 0) {
            if (xl_parse_u64(word + 5, &p->seed, &vc, sub) < 0) {
                *col = (size_t)(q - s) + 5 + vc;
                snprintf(msg, XL_ERRLEN, "seed: %s", sub);
                return -1;
            }
        } else {
            *col = (size_t)(q - s);
            snprintf(msg, XL_ERRLEN, "'file' takes size= and seed=, not '%s'", word);
            return -1;
        }
        q += wl;
    }
    if (!have_size) {
        *col = strlen(s);
        snprintf(msg, XL_ERRLEN, "'file' needs size=");
        return -1;
    }
    return 0;
}

static void free_pending(struct pending *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        flt_rule_free(v[i].rule);
        free(v[i].path);
    }
    free(v);
}

int flt_config_load_text(const char *name, const char *text, struct flt_rules *rules,
                         struct flt_content *content, int64_t now_ms, char *err, size_t errlen)
{
    struct pending *v = NULL;
    size_t n = 0, cap = 0, lineno = 0;
    char msg[XL_ERRLEN];
    int rc = -1;
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *next = nl ? nl + 1 : NULL;
        lineno++;
        if (len && line[len - 1] == '\r')
            len--;
        char *buf = strndup(line, len);
        if (!buf) {
            snprintf(err, errlen, "%s: out of memory", name);
            goto out;
        }
        size_t lead = strspn(buf, " \t");
        if (buf[lead] == '\0' || buf[lead] == '#') {
            free(buf);
            line = next;
            continue;
        }
        if (strlen(buf) != len) {
            report(err, errlen, name, lineno, line, len, strlen(buf), "NUL byte in line");
            free(buf);
            goto out;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct pending *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(buf);
                snprintf(err, errlen, "%s: out of memory", name);
                goto out;
            }
            v = nv;
        }
        struct pending *p = &v[n];
        memset(p, 0, sizeof *p);
        p->line = lineno;
        const char *s = buf + lead;
        size_t col = 0;
        int bad;
        if (strncmp(s, "file", 4) == 0 && (s[4] == ' ' || s[4] == '\t' || !s[4])) {
            p->kind = P_FILE;
            bad = parse_file_line(s, p, &col, msg);
        } else if (strncmp(s, "root", 4) == 0 && (s[4] == ' ' || s[4] == '\t' || !s[4])) {
            p->kind = P_ROOT;
            const char *q = s + 4 + strspn(s + 4, " \t");
            p->path = strndup(q, strcspn(q, " \t#"));
            bad = p->path && *p->path ? 0 : -1;
            col = (size_t)(q - s);
            snprintf(msg, XL_ERRLEN, "'root' needs a directory");
        } else {
            p->kind = P_RULE;
            bad = flt_rule_parse(s, &p->rule, &col, msg);
        }
        n++;
        if (bad < 0) {
            report(err, errlen, name, lineno, line, len, lead + col, msg);
            free(buf);
            goto out;
        }
        free(buf);
        line = next;
    }
    /* Check what can still fail before changing anything: names and roots. */
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind == P_RULE && v[i].rule->name[0]) {
            bool dup = flt_rules_has(rules, v[i].rule->name);
            for (size_t k = 0; k < i && !dup; k++)
                dup = v[k].kind == P_RULE && strcmp(v[k].rule->name, v[i].rule->name) == 0;
            if (dup) {
                snprintf(err, errlen, "%s:%zu:1: a rule named '%s' exists already", name, v[i].line,
                         v[i].rule->name);
                goto out;
            }
        }
        if (v[i].kind == P_ROOT) {
            struct flt_content probe;
            flt_content_init(&probe);
            int bad = flt_content_set_root(&probe, v[i].path, msg);
            flt_content_clear(&probe);
            if (bad < 0) {
                snprintf(err, errlen, "%s:%zu: %s", name, v[i].line, msg);
                goto out;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        switch (v[i].kind) {
        case P_RULE:
            if (flt_rules_add(rules, v[i].rule, now_ms, msg) < 0) {
                snprintf(err, errlen, "%s:%zu: %s", name, v[i].line, msg);
                goto out; /* not reached: names were checked above */
            }
            v[i].rule = NULL;
            break;
        case P_FILE:
            if (flt_content_add_gen(content, v[i].path, v[i].size, v[i].seed, msg) < 0) {
                snprintf(err, errlen, "%s:%zu: %s", name, v[i].line, msg);
                goto out;
            }
            break;
        case P_ROOT:
            if (flt_content_set_root(content, v[i].path, msg) < 0) {
                snprintf(err, errlen, "%s:%zu: %s", name, v[i].line, msg);
                goto out;
            }
            break;
        }
    }
    rc = 0;
out:
    free_pending(v, n);
    return rc;
}

int flt_config_load_file(const char *path, struct flt_rules *rules, struct flt_content *content,
                         int64_t now_ms, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > 16 * 1024 * 1024) {
                snprintf(err, errlen, "%s: larger than 16 MiB", path);
                goto out;
            }
            char *nt = realloc(text, cap);
            if (!nt) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto out;
            }
            text = nt;
        }
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto out;
    }
    text[len] = '\0';
    rc = flt_config_load_text(path, text, rules, content, now_ms, err, errlen);
out:
    free(text);
    fclose(f);
    return rc;
}

int flt_config_file_flag(const char *arg, struct flt_content *content, char *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq || arg[0] != '/') {
        snprintf(err, XL_ERRLEN, "--file '%s': expected /PATH=SIZE[:SEED]", arg);
        return -1;
    }
    char path[FLT_PATH_MAX], sz[64];
    snprintf(path, sizeof path, "%.*s", (int)(eq - arg), arg);
    const char *colon = strchr(eq + 1, ':');
    snprintf(sz, sizeof sz, "%.*s", (int)(colon ? (size_t)(colon - eq - 1) : strlen(eq + 1)),
             eq + 1);
    uint64_t size, seed = 1;
    size_t col;
    char sub[XL_ERRLEN];
    if (xl_parse_size(sz, &size, &col, sub) < 0 ||
        (colon && xl_parse_u64(colon + 1, &seed, &col, sub) < 0)) {
        snprintf(err, XL_ERRLEN, "--file '%s': %s", arg, sub);
        return -1;
    }
    return flt_content_add_gen(content, path, size, seed, err);
}
