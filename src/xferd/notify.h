/*
 * notify: the notify command line (BITS SetNotifyCmdLine, semantics.md
 * §1.12). Owns one run record per job that entered TRANSFERRED or ERROR with
 * notify_flags asking for it and a command line set: it runs the command
 * (spawn.c) as the job's owner, at most XD_NOTIFY_PER_USER at once per user
 * (the rest wait), reports each run as a `notify` event, and reruns it after
 * the job's min_retry_delay (simulated time, through the clock) while the
 * command exits non-zero and the job stays in that state. A success is
 * recorded in xferd.db, so a restart reruns only what never succeeded.
 */
#ifndef XFERD_NOTIFY_H
#define XFERD_NOTIFY_H

#include "xferd.h"

#define XD_NOTIFY_PER_USER 4

/* Caller owns; xd_notify_free. NULL when out of memory. */
struct xd_notify *xd_notify_new(struct xferd *x);
void xd_notify_free(struct xd_notify *n);
/* Look at one job: start a run if it is in TRANSFERRED/ERROR and one is owed. */
void xd_notify_check_job(struct xd_notify *n, const xfer_guid *job);
/* Every job of every user (at start). */
void xd_notify_check_all(struct xd_notify *n);
/* An engine event. */
void xd_notify_on_event(struct xd_notify *n, const struct xfer_event *ev);
/* Clock time of the next rerun, or INT64_MAX. */
int64_t xd_notify_next_due(const struct xd_notify *n);
/* The clock jumped: re-arm the retry timers. */
void xd_notify_clock_jumped(struct xd_notify *n);
/* A child of uid ended somewhere (groups too): waiting runs may start. */
void xd_notify_slot_free(struct xd_notify *n, uid_t uid);

#endif
