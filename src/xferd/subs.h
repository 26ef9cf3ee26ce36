/*
 * subs: one event subscription of a connection (events.subscribe): which
 * event types, which jobs (all of the caller's, or a list), whose jobs (the
 * caller's, or everyone's for root with all_users), and the progress
 * throttle, which keeps the engine time of the last progress event sent per
 * job. server.c owns the list per connection and asks xd_sub_wants() for
 * every event.
 */
#ifndef XFERD_SUBS_H
#define XFERD_SUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xfer/xfer.h"

/* The protocol's event type names, in bit order (bit i = 1u << i). */
extern const char *const xd_event_types[];
#define XD_EVENT_TYPE_COUNT 7
/* Bit of a type name, 0 when unknown. */
uint32_t xd_event_type_bit(const char *name);

struct xd_sub {
    long id;
    uint32_t types;  /* bits of xd_event_types */
    bool all_users;  /* root asked for every user's jobs */
    xfer_guid *jobs; /* NULL: every job the caller may see */
    size_t njobs;
    int64_t progress_ms;
    /* progress throttle: open addressing, guid -> last sent (engine ms) */
    struct xd_sub_slot {
        xfer_guid g;
        int64_t last_ms;
        bool used;
    } * slots;
    size_t nslots, nused;
    struct xd_sub *next;
};

/* Caller owns; xd_sub_free. jobs is copied (may be NULL). NULL when out of memory. */
struct xd_sub *xd_sub_new(long id, uint32_t types, bool all_users, const xfer_guid *jobs,
                          size_t njobs, int64_t progress_ms);
void xd_sub_free(struct xd_sub *s);
/*
 * Whether the subscription wants this event. job NULL: not about a job
 * (platform: owner XFER_OWNER_ANY, everyone; group: its owner). For "progress" it also records
 * time_ms as sent when it says yes.
 */
bool xd_sub_wants(struct xd_sub *s, uint32_t type_bit, const xfer_guid *job, uid_t owner,
                  uid_t conn_uid, int64_t time_ms);

#endif
