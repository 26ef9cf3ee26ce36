/*
 * subs: subscription filters and the per-job progress throttle (see subs.h).
 */
#include "subs.h"

#include <stdlib.h>
#include <string.h>

const char *const xd_event_types[XD_EVENT_TYPE_COUNT] = {"state",    "progress", "file", "restart",
                                                         "platform", "notify",   "group"};

uint32_t xd_event_type_bit(const char *name)
{
    size_t i;
    for (i = 0; i < XD_EVENT_TYPE_COUNT; i++)
        if (name && strcmp(name, xd_event_types[i]) == 0)
            return 1u << i;
    return 0;
}

struct xd_sub *xd_sub_new(long id, uint32_t types, bool all_users, const xfer_guid *jobs,
                          size_t njobs, int64_t progress_ms)
{
    struct xd_sub *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->id = id;
    s->types = types;
    s->all_users = all_users;
    s->progress_ms = progress_ms;
    if (jobs) {
        s->jobs = malloc((njobs ? njobs : 1) * sizeof *jobs);
        if (!s->jobs) {
            free(s);
            return NULL;
        }
        if (njobs)
            memcpy(s->jobs, jobs, njobs * sizeof *jobs);
        s->njobs = njobs;
    }
    return s;
}

void xd_sub_free(struct xd_sub *s)
{
    if (!s)
        return;
    free(s->jobs);
    free(s->slots);
    free(s);
}

static size_t guid_hash(const xfer_guid *g)
{
    uint64_t h = 1469598103934665603ull;
    size_t i;
    for (i = 0; i < sizeof g->b; i++)
        h = (h ^ g->b[i]) * 1099511628211ull;
    return (size_t)h;
}

static struct xd_sub_slot *slot_find(struct xd_sub *s, const xfer_guid *g, bool add)
{
    size_t i;
    if (add && (s->nused + 1) * 2 > s->nslots) {
        size_t n = s->nslots ? s->nslots * 2 : 16, k;
        struct xd_sub_slot *ns = calloc(n, sizeof *ns), *old = s->slots;
        size_t oldn = s->nslots;
        if (!ns)
            return NULL;
        s->slots = ns;
        s->nslots = n;
        s->nused = 0;
        for (k = 0; k < oldn; k++) {
            if (old[k].used) {
                struct xd_sub_slot *d = slot_find(s, &old[k].g, true);
                *d = old[k];
            }
        }
        free(old);
    }
    if (!s->nslots)
        return NULL;
    for (i = guid_hash(g) & (s->nslots - 1);; i = (i + 1) & (s->nslots - 1)) {
        struct xd_sub_slot *sl = &s->slots[i];
        if (!sl->used) {
            if (!add)
                return NULL;
            sl->used = true;
            sl->g = *g;
            sl->last_ms = INT64_MIN;
            s->nused++;
            return sl;
        }
        if (memcmp(&sl->g, g, sizeof *g) == 0)
            return sl;
    }
}

bool xd_sub_wants(struct xd_sub *s, uint32_t type_bit, const xfer_guid *job, uid_t owner,
                  uid_t conn_uid, int64_t time_ms)
{
    struct xd_sub_slot *sl;
    if (!(s->types & type_bit))
        return false;
    if (!job)
        return owner == XFER_OWNER_ANY || owner == conn_uid || s->all_users;
    if (owner != conn_uid && !s->all_users)
        return false;
    if (s->jobs) {
        size_t i;
        bool found = false;
        for (i = 0; i < s->njobs && !found; i++)
            found = memcmp(&s->jobs[i], job, sizeof *job) == 0;
        if (!found)
            return false;
    }
    if (type_bit != xd_event_type_bit("progress") || s->progress_ms <= 0)
        return true;
    sl = slot_find(s, job, true);
    if (!sl)
        return true;
    if (sl->last_ms != INT64_MIN && time_ms - sl->last_ms < s->progress_ms)
        return false;
    sl->last_ms = time_ms;
    return true;
}
