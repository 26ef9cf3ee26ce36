/*
 * state: the data of state.h. Each st_rows[] entry is one row of the
 * transition table in semantics.md §1.2 (the doc string quotes it); rows are
 * searched in order, so a narrower row goes before a wider one.
 */
#include "state.h"

#include <stddef.h>
#include <strings.h>

#define B(s)      ST_BIT(XFER_##s)
#define MOVING    (B(CONNECTING) | B(TRANSFERRING))
#define ACTION    (B(QUEUED) | MOVING)
#define FINAL     (B(ACKNOWLEDGED) | B(CANCELLED))
#define UPLOADS   ((1u << XFER_UPLOAD) | (1u << XFER_UPLOAD_REPLY))
#define DOWNLOADS (1u << XFER_DOWNLOAD)

const struct st_state st_states[XFER_STATE_COUNT] = {
    {XFER_QUEUED, "QUEUED", "Queued", ST_ACTION, XFER_WINRT_RUNNING},
    {XFER_CONNECTING, "CONNECTING", "Connecting", ST_ACTION, XFER_WINRT_RUNNING},
    {XFER_TRANSFERRING, "TRANSFERRING", "Transferring", ST_ACTION, XFER_WINRT_RUNNING},
    {XFER_SUSPENDED, "SUSPENDED", "Suspended", ST_STARTING, XFER_WINRT_PAUSED_BY_APPLICATION},
    {XFER_ERROR, "ERROR", "Error", ST_TRANSFERRED_CLASS, XFER_WINRT_ERROR},
    {XFER_TRANSIENT_ERROR, "TRANSIENT_ERROR", "Transient_Error", ST_ACTION, -1},
    {XFER_TRANSFERRED, "TRANSFERRED", "Transferred", ST_TRANSFERRED_CLASS, XFER_WINRT_COMPLETED},
    {XFER_ACKNOWLEDGED, "ACKNOWLEDGED", "Acknowledged", ST_FINAL, XFER_WINRT_COMPLETED},
    {XFER_CANCELLED, "CANCELLED", "Canceled", ST_FINAL, XFER_WINRT_CANCELED},
};

const struct st_row st_rows[] = {
    {B(SUSPENDED), ST_RESUME_EMPTY, 0, -1, XE_EMPTY,
     "SUSPENDED | Resume() with 0 files | returns BG_E_EMPTY; stays SUSPENDED"},
    {B(SUSPENDED), ST_RESUME, 0, XFER_QUEUED, XE_S_OK,
     "SUSPENDED | Resume() with >=1 file | QUEUED"},
    {B(ERROR) | B(TRANSIENT_ERROR), ST_RESUME, 0, XFER_QUEUED, XE_S_OK,
     "ERROR or TRANSIENT_ERROR | Resume() | set up to be retried (QUEUED)"},
    {ACTION, ST_RESUME, 0, -1, XE_S_OK, "QUEUED/CONNECTING/TRANSFERRING | Resume() | no change"},
    {B(TRANSFERRED), ST_RESUME, 0, XFER_QUEUED, XE_S_OK,
     "TRANSFERRED | AddFile + Resume() | allowed (QUEUED)"},
    {ST_ANY_NONFINAL, ST_SUSPEND, 0, XFER_SUSPENDED, XE_S_OK,
     "any non-final | Suspend() | SUSPENDED; all transfers stop"},
    {ST_ANY_NONFINAL, ST_CANCEL, 0, XFER_CANCELLED, XE_S_OK,
     "any non-final | Cancel() | CANCELLED; temporary files deleted"},
    {B(TRANSFERRED), ST_COMPLETE, UPLOADS, XFER_ACKNOWLEDGED, XE_S_OK,
     "upload job, TRANSFERRED | Complete() | ACKNOWLEDGED"},
    {ST_ANY_NONFINAL & ~B(TRANSFERRED), ST_COMPLETE, UPLOADS, -1, XE_INVALID_STATE,
     "upload job, not TRANSFERRED | Complete() | BG_E_INVALID_STATE"},
    {ST_ANY_NONFINAL, ST_COMPLETE, DOWNLOADS, XFER_ACKNOWLEDGED, XE_S_OK,
     "download job, any non-final | Complete() | ACKNOWLEDGED; unfinished files deleted"},
    {B(TRANSFERRED), ST_COMPLETE_FAILED, 0, -1, XE_S_OK,
     "TRANSFERRED | Complete() but some files could not be renamed | stays TRANSFERRED"},
    {B(QUEUED), ST_SCHEDULE, 0, XFER_CONNECTING, XE_S_OK,
     "QUEUED | scheduler gives job its turn | CONNECTING"},
    {B(CONNECTING), ST_CONNECTED, 0, XFER_TRANSFERRING, XE_S_OK,
     "CONNECTING | connect OK | TRANSFERRING"},
    {MOVING, ST_TRANSIENT, 0, XFER_TRANSIENT_ERROR, XE_S_OK,
     "CONNECTING | connect fails, TRANSFERRING | recoverable error | TRANSIENT_ERROR"},
    {MOVING, ST_FATAL, 0, XFER_ERROR, XE_S_OK,
     "TRANSFERRING | fatal error (e.g. access denied, 404) | ERROR"},
    {B(TRANSFERRING), ST_SLICE_END, 0, XFER_QUEUED, XE_S_OK,
     "TRANSFERRING | time slice ends | QUEUED"},
    {MOVING, ST_PREEMPTED, 0, XFER_QUEUED, XE_S_OK,
     "TRANSFERRING | owner logs off (here: preempted, service stops) | QUEUED"},
    {B(TRANSFERRING), ST_ALL_DONE, 0, XFER_TRANSFERRED, XE_S_OK,
     "TRANSFERRING | all files done | TRANSFERRED"},
    {ACTION | B(TRANSIENT_ERROR), ST_BLOCKED, 0, XFER_TRANSIENT_ERROR, XE_S_OK,
     "QUEUED or TRANSFERRING | network lost, cost policy, battery | TRANSIENT_ERROR"},
    {B(TRANSIENT_ERROR), ST_UNBLOCKED, 0, XFER_QUEUED, XE_S_OK,
     "TRANSIENT_ERROR | network connection re-established | QUEUED"},
    {B(TRANSIENT_ERROR), ST_RETRY_DUE, 0, XFER_QUEUED, XE_S_OK,
     "TRANSIENT_ERROR | MinimumRetryDelay elapsed | retried (QUEUED)"},
    {B(TRANSIENT_ERROR), ST_NO_PROGRESS, 0, XFER_ERROR, XE_S_OK,
     "TRANSIENT_ERROR | no progress for NoProgressTimeout | ERROR"},
    {MOVING, ST_MAX_TIME, 0, XFER_ERROR, XE_S_OK,
     "CONNECTING/TRANSFERRING | time > MaxDownloadTime | ERROR, BG_E_MAXDOWNLOAD_TIMEOUT"},
    {ST_ANY_NONFINAL, ST_INACTIVE, 0, XFER_CANCELLED, XE_S_OK,
     "any non-final | no activity for JobInactivityTimeout | cancelled"},
    {MOVING, ST_RESTORED, 0, XFER_QUEUED, XE_S_OK,
     "CONNECTING/TRANSFERRING when the store was last written | reopened | QUEUED"},
    {FINAL, ST_RESUME, 0, -1, XE_INVALID_STATE, "final | Resume() | BG_E_INVALID_STATE"},
    {FINAL, ST_RESUME_EMPTY, 0, -1, XE_INVALID_STATE, "final | Resume() | BG_E_INVALID_STATE"},
    {FINAL, ST_SUSPEND, 0, -1, XE_INVALID_STATE, "final | Suspend() | BG_E_INVALID_STATE"},
    {FINAL, ST_CANCEL, 0, -1, XE_INVALID_STATE, "final | Cancel() | BG_E_INVALID_STATE"},
    {FINAL, ST_COMPLETE, 0, -1, XE_INVALID_STATE, "final | Complete() | BG_E_INVALID_STATE"},
};
const unsigned st_nrows = sizeof st_rows / sizeof st_rows[0];

static const char *const trigger_names[ST_TRIGGER_COUNT] = {
    [ST_RESUME] = "resume",
    [ST_RESUME_EMPTY] = "resume-empty",
    [ST_SUSPEND] = "suspend",
    [ST_CANCEL] = "cancel",
    [ST_COMPLETE] = "complete",
    [ST_COMPLETE_FAILED] = "complete-failed",
    [ST_SCHEDULE] = "scheduled",
    [ST_CONNECTED] = "connected",
    [ST_TRANSIENT] = "transient-error",
    [ST_FATAL] = "fatal-error",
    [ST_SLICE_END] = "slice-end",
    [ST_PREEMPTED] = "preempted",
    [ST_ALL_DONE] = "all-done",
    [ST_BLOCKED] = "blocked",
    [ST_UNBLOCKED] = "unblocked",
    [ST_RETRY_DUE] = "retry-delay",
    [ST_NO_PROGRESS] = "no-progress-timeout",
    [ST_MAX_TIME] = "max-download-time",
    [ST_INACTIVE] = "inactivity-timeout",
    [ST_RESTORED] = "restored",
};

const char *st_trigger_name(enum st_trigger t)
{
    return t < ST_TRIGGER_COUNT ? trigger_names[t] : "?";
}

const struct st_row *st_next(enum xfer_state from, enum st_trigger trigger, enum xfer_job_type type)
{
    for (unsigned i = 0; i < st_nrows; i++) {
        const struct st_row *r = &st_rows[i];
        if (r->trigger == trigger && (r->from & ST_BIT(from)) &&
            (r->types == 0 || (r->types & (1u << type))))
            return r;
    }
    return NULL;
}

bool st_is_final(enum xfer_state s)
{
    return st_states[s].cls == ST_FINAL;
}

bool st_is_moving(enum xfer_state s)
{
    return s == XFER_CONNECTING || s == XFER_TRANSFERRING;
}

const char *xfer_state_name(enum xfer_state s)
{
    return (unsigned)s < XFER_STATE_COUNT ? st_states[s].name : "?";
}

const char *xfer_state_title(enum xfer_state s)
{
    return (unsigned)s < XFER_STATE_COUNT ? st_states[s].title : "?";
}

bool xfer_state_parse(const char *s, enum xfer_state *out)
{
    for (unsigned i = 0; i < XFER_STATE_COUNT; i++) {
        if (strcasecmp(s, st_states[i].name) == 0 || strcasecmp(s, st_states[i].title) == 0) {
            *out = st_states[i].state;
            return true;
        }
    }
    return false;
}
