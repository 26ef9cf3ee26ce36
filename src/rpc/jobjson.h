/*
 * jobjson: the engine's records in the shapes of PROTOCOL.md — the job
 * object, a history transition, an event's params, an HRESULT pair and the
 * engine-refusal error object. xferd encodes with these; xferctl and the
 * harness read the same member names. Names come from the engine's tables
 * (xfer_state_name, xfer_error_find, ...); nothing is restated here.
 */
#ifndef RPC_JOBJSON_H
#define RPC_JOBJSON_H

#include <jansson.h>
#include <stdbool.h>

#include "rpc.h"
#include "xfer/xfer.h"

/* "0x80200010" into buf (at least 11 bytes). */
void rpc_hr_hex(xfer_hr hr, char buf[16]);
/* The error table's name for hr, or NULL when no row has it. */
const char *rpc_hr_name(xfer_hr hr);
/* Adds "hr" and "hr_name" (null when unknown) to obj. */
void rpc_put_hr(json_t *obj, xfer_hr hr);

/*
 * The job object. notify_cmdline is the job's property (may be NULL for "");
 * with_files false leaves out "files" (job.list). Caller owns.
 */
json_t *rpc_job_json(const struct xfer_job_info *info, const char *notify_cmdline, bool with_files);
/* {time_ms, old, new, hr, hr_name, cause}. Caller owns. */
json_t *rpc_transition_json(const struct xfer_transition *t);
/*
 * An engine event as the params of an "event" notification, without
 * "subscription": {type, job, time_ms, ...} as PROTOCOL.md lists per type.
 * Caller owns.
 */
json_t *rpc_event_json(const struct xfer_event *ev);
/* The protocol's name of an engine event type ("state", "progress", "file", "restart"). */
const char *rpc_event_type_name(enum xfer_event_type t);
/* "download" / "upload" / "upload_reply" (the engine's names, lower case). */
const char *rpc_job_type_name(enum xfer_job_type t);
/* Parse a job type name (any case). false when unknown. */
bool rpc_job_type_parse(const char *s, enum xfer_job_type *out);

/*
 * The error object of an engine refusal: code = hr, message = the row's
 * message, data {name, hr, context, reason}. reason may be NULL. Caller owns.
 */
json_t *rpc_engine_error(xfer_hr hr, const char *reason);

#endif
