/*
 * policy: may this job transfer now? A pure function of the job's cost flags
 * and priority and the platform's network and battery (decisions.md):
 *
 *   1. no connectivity (none, or local only)       → BG_E_NETWORK_DISCONNECTED
 *   2. over the data limit with background data
 *      restricted: a system restriction, every
 *      policy denied, Always included              → BG_E_BLOCKED_BY_SYSTEM_POLICY
 *   3. battery saver on, not charging, and a
 *      background priority (not FOREGROUND)        → BG_E_BLOCKED_BY_BATTERY_SAVER
 *   4. the network's BITS cost state is not among
 *      the job's cost flags                        → BG_E_BLOCKED_BY_COST_TRANSFER_POLICY
 *   5. otherwise allowed.
 *
 * The verdict names an error-table row; the row gives the HRESULT, the WinRT
 * status (PausedNoNetwork, PausedSystemPolicy, PausedCostedNetwork) and the
 * interrupt reason, so nothing here restates them.
 */
#ifndef XFER_POLICY_H
#define XFER_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "errtab.h"
#include "xfer/xfer.h"

struct policy_verdict {
    bool allowed;
    enum xe_id why; /* the block's row when not allowed, XE_S_OK otherwise */
};

struct policy_verdict policy_decide(uint32_t cost_flags, enum xfer_priority priority,
                                    const struct xfer_platform *p);

#endif
