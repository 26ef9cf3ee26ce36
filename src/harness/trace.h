/*
 * trace: everything one scenario run saw, and result.json
 * (/work/briefs/result-schema.md is the contract with the runner and the
 * reports).
 *
 * The trace owns JSON arrays that the rest of the harness appends to while the
 * run goes: the timeline (actions, expectations, faults, link events, state
 * changes, requests, notifications, xferd's life, notes), one record per job
 * (its GUID, progress samples and state changes), the network and battery
 * series, failed expectations and at most one script error. At the end the
 * origins' journals are folded in (hx_trace_requests) and hx_trace_write
 * puts the whole document on disk. Times are simulated ms since the start.
 */
#ifndef HX_TRACE_H
#define HX_TRACE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "journal.h"
#include "model.h"

struct hx_trace;

/* A new, empty trace. Caller owns; free with hx_trace_free. NULL when out of memory. */
struct hx_trace *hx_trace_new(void);
/*
 * Times are recorded as the world's clock reads them; hx_trace_write turns them
 * into scenario times, counted from world_ms (what came before counts as 0).
 */
void hx_trace_set_origin(struct hx_trace *t, int64_t world_ms);
void hx_trace_free(struct hx_trace *t);

/* One timeline entry; line 0 for none. kind: action, expect, fault, link, state, request,
 * notify, xferd, note. */
void hx_trace_event(struct hx_trace *t, int64_t sim_ms, const char *kind, int line, bool ok,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Declare a job (id from the script); guid may be NULL until known. */
void hx_trace_job(struct hx_trace *t, const char *id, const char *guid);
/* The script id of the job with that GUID, or NULL. */
const char *hx_trace_job_id(struct hx_trace *t, const char *guid);
void hx_trace_progress(struct hx_trace *t, const char *id, int64_t sim_ms, uint64_t bytes,
                       int64_t total);
void hx_trace_state(struct hx_trace *t, const char *id, int64_t sim_ms, const char *old_state,
                    const char *new_state, const char *hr, const char *hr_name, const char *cause);

/* A model event (network or battery state after it). */
void hx_trace_model(struct hx_trace *t, const struct sim_event *ev);
/* The initial network and battery. */
void hx_trace_model_state(struct hx_trace *t, int64_t sim_ms, const struct sim_model *m);

/* A failed expectation. */
void hx_trace_failure(struct hx_trace *t, const char *file, int line, int col, const char *source,
                      const char *expected, const char *got, int64_t sim_ms);
size_t hx_trace_failures(const struct hx_trace *t);
/* The script error (the first one wins). */
void hx_trace_error(struct hx_trace *t, const char *file, int line, int col, const char *message,
                    const char *excerpt);
bool hx_trace_has_error(const struct hx_trace *t);

/* Fold in an origin's journal: the requests array and timeline entries of kind "request". */
void hx_trace_requests(struct hx_trace *t, const char *origin, struct flt_journal *j);
/* Set a top-level member (title, scenario, file, covers, ...); v is stolen. */
void hx_trace_set(struct hx_trace *t, const char *key, json_t *v);
/* The tail of xferd's log (the last `lines` lines of the file at path). */
void hx_trace_log_tail(struct hx_trace *t, const char *path, int lines);

/*
 * Write the document to path (via a temporary name, then rename) with the
 * given status, seed, wall and simulated time. Returns 0, or -1 with err.
 */
int hx_trace_write(struct hx_trace *t, const char *path, const char *status, uint64_t seed,
                   int64_t wall_ms, int64_t sim_ms, char *err, size_t errlen);

#endif
