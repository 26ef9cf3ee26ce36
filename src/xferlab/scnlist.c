/*
 * scnlist: finding, naming, sorting, filtering and sharding scenario files
 * (see scnlist.h). Directories are walked with nftw, which hands files over
 * through a callback; a static pointer carries the list being filled during
 * one walk (the walk is not reentrant, and nothing here is threaded).
 */
#include "scnlist.h"

#include <errno.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef XFERLAB_SOURCE_DIR
#define XFERLAB_SOURCE_DIR "."
#endif

#define SCN_EXT ".scn"

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The scenario's name: after the last "scenarios/" component, else relative to root. */
static char *name_of(const char *file, const char *root)
{
    const char *start = file;
    for (const char *p = strstr(file, "scenarios/"); p; p = strstr(p + 1, "scenarios/")) {
        if (p == file || p[-1] == '/')
            start = p + strlen("scenarios/");
    }
    if (start == file && root) {
        size_t rl = strlen(root);
        while (rl > 1 && root[rl - 1] == '/')
            rl--;
        if (strncmp(file, root, rl) == 0 && file[rl] == '/')
            start = file + rl + 1;
        else if (strrchr(file, '/'))
            start = strrchr(file, '/') + 1;
    }
    while (*start == '/' || (start[0] == '.' && start[1] == '/'))
        start += start[0] == '/' ? 1 : 2;
    size_t len = strlen(start);
    if (ends_with(start, SCN_EXT))
        len -= strlen(SCN_EXT);
    return strndup(start, len);
}

static int add(struct xl_scn_list *l, const char *file, const char *root)
{
    struct xl_scn *v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return -1;
    l->v = v;
    v[l->n].file = strdup(file);
    v[l->n].name = name_of(file, root);
    if (!v[l->n].file || !v[l->n].name) {
        free(v[l->n].file);
        free(v[l->n].name);
        return -1;
    }
    l->n++;
    return 0;
}

static struct xl_scn_list *walk_list;
static const char *walk_root;

static int on_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_F && ends_with(path, SCN_EXT))
        return add(walk_list, path, walk_root) < 0 ? -1 : 0;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const struct xl_scn *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->file, y->file);
}

/* Drop entries that are the same file (realpath) as an earlier one. */
static void dedupe(struct xl_scn_list *l)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        char a[PATH_MAX], b[PATH_MAX];
        bool dup = false;
        if (realpath(l->v[i].file, a)) {
            for (size_t k = 0; k < kept && !dup; k++)
                dup = realpath(l->v[k].file, b) && strcmp(a, b) == 0;
        }
        if (dup) {
            free(l->v[i].file);
            free(l->v[i].name);
        } else {
            l->v[kept++] = l->v[i];
        }
    }
    l->n = kept;
}

const char *xl_scn_default_dir(void)
{
    struct stat st;
    if (stat("scenarios", &st) == 0 && S_ISDIR(st.st_mode))
        return "scenarios";
    return XFERLAB_SOURCE_DIR "/scenarios";
}

int xl_scn_find(const char *const *paths, size_t n, struct xl_scn_list *out, char *err,
                size_t errlen)
{
    const char *def[1] = {xl_scn_default_dir()};
    out->v = NULL;
    out->n = 0;
    if (n == 0) {
        paths = def;
        n = 1;
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(paths[i], &st) < 0) {
            snprintf(err, errlen, "%s: %s", paths[i], strerror(errno));
            return -1;
        }
        if (S_ISDIR(st.st_mode)) {
            walk_list = out;
            walk_root = paths[i];
            int rc = nftw(paths[i], on_entry, 16, FTW_PHYS);
            walk_list = NULL;
            if (rc != 0) {
                snprintf(err, errlen, "%s: cannot read the directory: %s", paths[i],
                         strerror(errno));
                return -1;
            }
        } else if (ends_with(paths[i], SCN_EXT)) {
            if (add(out, paths[i], NULL) < 0) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        } else {
            snprintf(err, errlen, "%s: not a scenario file (*%s) or a directory", paths[i],
                     SCN_EXT);
            return -1;
        }
    }
    dedupe(out);
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, by_name);
    return 0;
}

void xl_scn_list_free(struct xl_scn_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].file);
        free(l->v[i].name);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Keep the entries keep() says yes to, freeing the others, in order. */
static void keep_if(struct xl_scn_list *l,
                    bool (*keep)(size_t i, const struct xl_scn *s, const void *arg),
                    const void *arg)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (keep(i, &l->v[i], arg)) {
            l->v[kept++] = l->v[i];
        } else {
            free(l->v[i].file);
            free(l->v[i].name);
        }
    }
    l->n = kept;
}

static bool matches(size_t i, const struct xl_scn *s, const void *arg)
{
    (void)i;
    const char *pattern = arg;
    if (strpbrk(pattern, "*?["))
        return fnmatch(pattern, s->name, 0) == 0;
    return strstr(s->name, pattern) != NULL;
}

void xl_scn_filter(struct xl_scn_list *l, const char *pattern)
{
    keep_if(l, matches, pattern);
}

struct shard {
    unsigned k, n;
};

static bool in_shard(size_t i, const struct xl_scn *s, const void *arg)
{
    (void)s;
    const struct shard *sh = arg;
    return i % sh->n == sh->k - 1;
}

void xl_scn_shard(struct xl_scn_list *l, unsigned k, unsigned n)
{
    struct shard sh = {k, n};
    keep_if(l, in_shard, &sh);
}

int xl_scn_shard_parse(const char *s, unsigned *k, unsigned *n, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    unsigned long a = strtoul(s, &end, 10);
    if (end == s || *end != '/' || errno) {
        snprintf(err, errlen, "--shard '%s': expected K/N, e.g. 2/4", s);
        return -1;
    }
    const char *second = end + 1;
    unsigned long b = strtoul(second, &end, 10);
    if (end == second || *end || errno || b == 0 || b > 10000 || a == 0 || a > b) {
        snprintf(err, errlen, "--shard '%s': expected K/N with 1 <= K <= N", s);
        return -1;
    }
    *k = (unsigned)a;
    *n = (unsigned)b;
    return 0;
}
