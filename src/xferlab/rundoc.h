/*
 * rundoc: the run document and the run's report directory. After a run,
 * `xferlab run` makes reports/run-<UTC timestamp>-<pid>/, writes results.json
 * there (the run document: reports/README.md), renders junit.xml and
 * index.html from it (xl_report), and points reports/latest at it atomically
 * (a symlink made under a temporary name, then renamed over `latest`).
 */
#ifndef XL_RUNDOC_H
#define XL_RUNDOC_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct xl_run_facts {
    int argc;
    char **argv; /* the verb's ("run", ...); the document adds "xferlab" before them */
    int64_t started_unix_ms;
    int64_t wall_ms;
    bool has_seed;
    uint64_t seed;
    unsigned jobs, repeat;
    const char *shard;  /* "K/N" or NULL */
    const char *filter; /* or NULL */
};

/*
 * The run document for results (borrowed: the document takes a reference).
 * Caller owns the document; json_decref. id is the run directory's name.
 */
json_t *xl_rundoc_make(const struct xl_run_facts *f, const char *id, json_t *results);

/*
 * Make a new run directory under reports (created when missing), named
 * run-<UTC timestamp>-<pid>; its path goes to dir and its name to id.
 * Returns 0 or -1 with err.
 */
int xl_rundoc_mkdir(const char *reports, int64_t started_unix_ms, char dir[PATH_MAX], char id[128],
                    char *err, size_t errlen);

/*
 * Write dir/results.json from doc, render junit.xml and index.html, then
 * point reports/latest at dir. Returns 0 or -1 with err.
 */
int xl_rundoc_write(const char *reports, const char *dir, const char *id, const json_t *doc,
                    char *err, size_t errlen);

/* Milliseconds since the Unix epoch, now. */
int64_t xl_unix_ms(void);

#endif
