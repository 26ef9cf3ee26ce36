/*
 * doc: reading the run document (results.json, /work/briefs/result-schema.md
 * and reports/README.md) for the renderers and the runner.
 *
 * The document is jansson data; these helpers read its fields with defaults
 * so a renderer never trips on a missing or mistyped field (a result written
 * by a harness that died half-way is still rendered). The result statuses are
 * an enum here, the one place that spells them.
 */
#ifndef RPT_DOC_H
#define RPT_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RPT_SCHEMA 1

enum rpt_status {
    RPT_PASSED,       /* every expectation held */
    RPT_FAILED,       /* an expectation failed */
    RPT_ERROR,        /* a script error: nothing ran, or it stopped */
    RPT_TIMEOUT,      /* stopped at its time limit (its own, or the runner's wall limit) */
    RPT_HARNESS_ERROR /* the harness could not run it (xferd or a server did not start) */
};
#define RPT_STATUS_COUNT 5

/* "passed", "failed", "error", "timeout", "harness-error". */
const char *rpt_status_name(enum rpt_status s);
/* Parse a status name; false when s is none of them. */
bool rpt_status_parse(const char *s, enum rpt_status *out);
/* A result's status; a missing or unknown one reads as harness-error. */
enum rpt_status rpt_result_status(const json_t *result);

/* Field readers: the value of key in obj, or def when absent or of another type. */
const char *rpt_str(const json_t *obj, const char *key, const char *def);
int64_t rpt_int(const json_t *obj, const char *key, int64_t def);
double rpt_num(const json_t *obj, const char *key, double def);
bool rpt_bool(const json_t *obj, const char *key, bool def);
/* obj[key] when it is an array, else an empty array shared by all callers (never NULL). */
const json_t *rpt_arr(const json_t *obj, const char *key);

/*
 * The area of a scenario name: its first directory ("disconnects" of
 * "disconnects/drop-resume"), copied to out; "scenarios" when the name has no
 * slash.
 */
void rpt_area(const char *scenario, char *out, size_t len);
/* The rest of the name after the area ("drop-resume"). */
const char *rpt_leaf(const char *scenario);

/* Counts of a results array by status. */
struct rpt_counts {
    size_t total;
    size_t by[RPT_STATUS_COUNT];
};
void rpt_count(const json_t *results, struct rpt_counts *c);

/*
 * Flaky scenarios: those with several attempts whose statuses differ. Fills
 * names (owned by the document) with up to max of them, each once, in order
 * of first appearance, and returns how many there are.
 */
size_t rpt_flaky(const json_t *results, const char **names, size_t max);

/*
 * Check that doc is a run document this code can render: an object with
 * "schema": 1 and a "results" array of objects. Returns 0, or -1 with a
 * message naming what is wrong.
 */
int rpt_doc_check(const json_t *doc, char *err, size_t errlen);

#endif
