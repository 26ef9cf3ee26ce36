/*
 * groups: completion groups (WinRT BackgroundTransferCompletionGroup,
 * semantics.md §2.4). A group is named per owner, holds jobs, is enabled
 * exactly once (adding after enable or enabling twice is BG_E_INVALID_STATE),
 * and once enabled runs its command line once, as its owner, when every job
 * in it has ended (TRANSFERRED, ACKNOWLEDGED, CANCELLED, ERROR, or gone from
 * the store). Groups live in xferd.db; `fired` is committed before the
 * command starts, so it runs at most once across restarts.
 *
 * The methods return NULL on success (with *result) or a JSON-RPC error
 * object (caller owns).
 */
#ifndef XFERD_GROUPS_H
#define XFERD_GROUPS_H

#include <jansson.h>

#include "xferd.h"

/* Caller owns; xd_groups_free. */
struct xd_groups *xd_groups_new(struct xferd *x);
void xd_groups_free(struct xd_groups *g);

json_t *xd_group_create(struct xd_groups *g, uid_t owner, const char *name, const char *cmdline,
                        json_t **result);
json_t *xd_group_add(struct xd_groups *g, uid_t owner, const char *name, const xfer_guid *job,
                     json_t **result);
json_t *xd_group_enable(struct xd_groups *g, uid_t owner, const char *name, json_t **result);
json_t *xd_group_info(struct xd_groups *g, uid_t owner, const char *name, json_t **result);

/* An engine event: a job that ended may complete its groups. */
void xd_groups_on_event(struct xd_groups *g, const struct xfer_event *ev);
/* Every enabled group that has not fired (at start). */
void xd_groups_check_all(struct xd_groups *g);

#endif
