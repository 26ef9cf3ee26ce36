/*
 * scnlist: which scenario files a command means. `run`, `list`, `repro` and
 * `explain` take files and directories; this walks them (directories
 * recursively, *.scn only), names each scenario (its path under scenarios/
 * without .scn: "disconnects/drop-resume"), drops duplicates, sorts by name,
 * and applies --filter and --shard.
 *
 * A list owns its strings; free it with xl_scn_list_free().
 */
#ifndef XL_SCNLIST_H
#define XL_SCNLIST_H

#include <stdbool.h>
#include <stddef.h>

struct xl_scn {
    char *file; /* the path as found ("scenarios/disconnects/drop-resume.scn") */
    char *name; /* "disconnects/drop-resume" */
};

struct xl_scn_list {
    struct xl_scn *v;
    size_t n;
};

/*
 * The scenarios under paths (files or directories; n == 0 means the default
 * directory, xl_scn_default_dir()). Returns 0, or -1 with err naming the path
 * that could not be read (or that is a file not ending in .scn). Caller owns
 * *out; free with xl_scn_list_free() in both cases.
 */
int xl_scn_find(const char *const *paths, size_t n, struct xl_scn_list *out, char *err,
                size_t errlen);
void xl_scn_list_free(struct xl_scn_list *l);

/*
 * The default scenarios directory: "scenarios" when the current directory has
 * one, else the source tree's (compiled in), which lets tests run from the
 * build directory.
 */
const char *xl_scn_default_dir(void);

/*
 * Keep the scenarios whose name matches pattern: a glob (fnmatch, '*' also
 * matches '/') when it has any of "*?[", else a substring.
 */
void xl_scn_filter(struct xl_scn_list *l, const char *pattern);

/*
 * Parse "K/N" (1 <= K <= N). Returns 0, or -1 with err. Shard K of N keeps
 * the scenarios at sorted positions i with i % N == K - 1: every scenario
 * falls in exactly one shard, and each shard's list is stable.
 */
int xl_scn_shard_parse(const char *s, unsigned *k, unsigned *n, char *err, size_t errlen);
void xl_scn_shard(struct xl_scn_list *l, unsigned k, unsigned n);

#endif
