/*
 * state: the nine BITS job states and the transition table (semantics.md §1.2).
 *
 * Two tables, both data. st_states[] says, per state, its names, its class
 * (starting, action, transferred, final) and the WinRT status a job in it shows.
 * st_rows[] is the transition table: (states it applies from, trigger, job
 * types) -> next state, or the HRESULT a method returns instead. The engine
 * asks st_next() what a trigger does and, when the answer is a move, makes it
 * with job_set_state() (job.c), the one function that changes a job's state.
 * The unit tests walk st_rows[] and check each row through the engine.
 */
#ifndef XFER_STATE_H
#define XFER_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "errtab.h"
#include "xfer/xfer.h"

enum st_class { ST_STARTING, ST_ACTION, ST_TRANSFERRED_CLASS, ST_FINAL };

enum st_trigger {
    ST_RESUME,          /* Resume() with files to move */
    ST_RESUME_EMPTY,    /* Resume() on a job without files */
    ST_SUSPEND,         /* Suspend() */
    ST_CANCEL,          /* Cancel() */
    ST_COMPLETE,        /* Complete() */
    ST_COMPLETE_FAILED, /* Complete() that could not rename some files */
    ST_SCHEDULE,        /* the scheduler gives the job its turn */
    ST_CONNECTED,       /* the server answered the first request */
    ST_TRANSIENT,       /* a recoverable error (connect failure included) */
    ST_FATAL,           /* a fatal error */
    ST_SLICE_END,       /* the round-robin slice ended */
    ST_PREEMPTED,       /* a higher-priority job took the turn, or the service stops */
    ST_ALL_DONE,        /* every file transferred */
    ST_BLOCKED,         /* the platform forbids transfers: no network, cost, battery */
    ST_UNBLOCKED,       /* what blocked it cleared (the network came back, ...) */
    ST_RETRY_DUE,       /* MinimumRetryDelay elapsed */
    ST_NO_PROGRESS,     /* NoProgressTimeout elapsed without progress */
    ST_MAX_TIME,        /* MaxDownloadTime spent connecting and transferring */
    ST_INACTIVE,        /* JobInactivityTimeout without activity */
    ST_RESTORED,        /* the store was opened after the job had been moving */
    ST_TRIGGER_COUNT
};

struct st_state {
    enum xfer_state state;
    const char *name;  /* "TRANSIENT_ERROR" */
    const char *title; /* bitsadmin /getstate: "Transient_Error" */
    enum st_class cls;
    int winrt; /* its BackgroundTransferStatus; -1: the job's error row says */
};

#define ST_ANY_NONFINAL 0x7f /* every state but ACKNOWLEDGED and CANCELLED */
#define ST_BIT(s)       (1u << (s))

struct st_row {
    unsigned from; /* mask of ST_BIT(state) */
    enum st_trigger trigger;
    unsigned types;    /* mask of (1 << job type); 0 = every type */
    int to;            /* next state, or -1: no move */
    enum xe_id result; /* what a method returns: XE_S_OK, XE_EMPTY, XE_INVALID_STATE, ... */
    const char *doc;   /* the row of semantics.md §1.2 it implements */
};

extern const struct st_state st_states[XFER_STATE_COUNT];
extern const struct st_row st_rows[];
extern const unsigned st_nrows;

const char *st_trigger_name(enum st_trigger t);

/*
 * What trigger does to a job of type in state from: the row, or NULL when the
 * table has none (an event that does not apply is ignored; a method called in
 * a final state gets BG_E_INVALID_STATE).
 */
const struct st_row *st_next(enum xfer_state from, enum st_trigger trigger,
                             enum xfer_job_type type);
bool st_is_final(enum xfer_state s);
/* Whether the job holds a connection in s (CONNECTING, TRANSFERRING). */
bool st_is_moving(enum xfer_state s);

#endif
