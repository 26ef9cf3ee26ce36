/*
 * platform_map: what the engine's platform provider is told about the
 * simulated world — the model's network, battery and derived facts folded
 * into the engine's struct xfer_platform. The harness calls it on every model
 * event and pushes the result to xferd (platform-notified changes); a change
 * the link enforces without telling the platform is a silent one.
 */
#ifndef SIM_PLATFORM_MAP_H
#define SIM_PLATFORM_MAP_H

#include "model.h"
#include "xfer/xfer.h"

void sim_platform_of(const struct sim_model *m, struct xfer_platform *out);

#endif
