/*
 * text: a result (one scenario's result.json) as plain text, for a terminal
 * and for JUnit's system-out. The runner prints rpt_text_failure() for each
 * scenario that did not pass, `xferlab repro` prints rpt_text_trace(), and
 * junit.c puts rpt_text_summary() into system-out.
 *
 * All of it is read from the result; nothing here knows how a scenario runs.
 * Output is unescaped: callers writing markup escape it (esc.h).
 */
#ifndef RPT_TEXT_H
#define RPT_TEXT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* Simulated or wall time as "850ms", "12.400s", "5m12.4s", "2h03m", "14d02h". */
void rpt_fmt_ms(char *out, size_t len, int64_t ms);

/*
 * The headline of a result that did not pass: `file:line: expected …, got …`
 * per failed expectation, the script error with its excerpt, or the time
 * limit. Nothing for a passed result.
 */
void rpt_text_headline(FILE *f, const json_t *result);
/*
 * What the runner prints on failure: the headline, the state history of the
 * jobs the failures name (all jobs when they name none), the requests around
 * the first failure's moment and the last log_lines lines of xferd's log.
 */
void rpt_text_failure(FILE *f, const json_t *result, size_t log_lines);
/* A readable trace of a whole result: every timeline entry, states, requests, errors. */
void rpt_text_trace(FILE *f, const json_t *result);
/* A short summary for JUnit system-out: title, seed, times, the timeline. */
void rpt_text_summary(FILE *f, const json_t *result);

/* Parts, for callers composing their own. */
void rpt_text_states(FILE *f, const json_t *job);
/* Requests whose sim_ms is within [from_ms, to_ms] (INT64_MIN/MAX for all), at most max. */
void rpt_text_requests(FILE *f, const json_t *result, int64_t from_ms, int64_t to_ms, size_t max);
/* The last n lines of log_tail, indented. */
void rpt_text_log(FILE *f, const json_t *result, size_t n);

#endif
