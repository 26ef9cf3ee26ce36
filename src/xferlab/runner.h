/*
 * runner: run a list of scenarios, each in its own scenario-exec child
 * (child.h), up to `jobs` at once, each `repeat` times, and collect their
 * result.json documents (/work/briefs/result-schema.md) into one array in
 * list order (attempts together). Used by `xferlab run` and `xferlab repro`.
 *
 * Data flow: list -> tasks (scenario x attempt) -> children -> result.json
 * (or, when a child left none, a result made from its exit code and output)
 * -> results array. While it runs it shows progress (a live line on a tty,
 * one line per finished scenario otherwise) and prints each failure's
 * `file:line: expected …, got …`, state history, requests and log
 * (reports/render/text.h). SIGINT and SIGTERM kill the children's groups and
 * remove their directories before the runner returns.
 */
#ifndef XL_RUNNER_H
#define XL_RUNNER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "scnlist.h"

struct xl_runner_opts {
    unsigned jobs;   /* children at once, >= 1 */
    unsigned repeat; /* attempts per scenario, >= 1 */
    bool has_seed;   /* pass --seed */
    uint64_t seed;
    const char *xferd;      /* pass --xferd, or NULL */
    const char *time_limit; /* pass --time-limit, or NULL */
    int64_t wall_limit_ms; /* hard limit per child; 0: from the script (its wall limit x2 + 10 s) */
    bool keep;             /* keep the directories of scenarios that did not pass */
    bool quiet_failures;   /* do not print failure details as they come (repro prints its own) */
    FILE *out;             /* progress and failures */
};

/*
 * Run every scenario of list. Returns the results array (caller owns;
 * json_decref), or NULL with err when nothing could run. *interrupted is set
 * when a signal stopped the run early (the results then hold what finished).
 */
json_t *xl_runner_run(const struct xl_runner_opts *o, const struct xl_scn_list *list,
                      bool *interrupted, char *err, size_t errlen);

/* The exit code of `xferlab run` for these results: 0 all passed, 2 a script error, else 1. */
int xl_runner_exit_code(const json_t *results);

/* The table printed at the end: name, attempt, status, wall, simulated time; then flaky ones. */
void xl_runner_print_table(FILE *f, const json_t *results);

#endif
