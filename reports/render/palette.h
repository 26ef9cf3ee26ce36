/*
 * palette: the colors of the reports, shared by the timeline picture and the
 * page's legend so the two always agree. States are told apart through the
 * engine's state table (xfer_state_parse), networks through the model's names
 * (sim/model.h); nothing here restates either list.
 */
#ifndef RPT_PALETTE_H
#define RPT_PALETTE_H

#include <stdbool.h>
#include <stddef.h>

/* The color of a job state by name ("TRANSFERRING"); grey for an unknown name. */
const char *rpt_state_color(const char *state);
/* The color of a network band from its connectivity and cost names. */
const char *rpt_network_color(const char *connectivity, const char *cost);
/* The color of job number i on a picture. */
const char *rpt_job_color(size_t i);
/* The color and glyph of a timeline marker kind ("action", "fault", ...). */
const char *rpt_kind_color(const char *kind);

#define RPT_COLOR_FAIL    "#d32f2f"
#define RPT_COLOR_OK      "#2e7d32"
#define RPT_COLOR_ROAMING "#6a1b9a"
#define RPT_COLOR_BATTERY "#f9a825"
#define RPT_COLOR_SAVER   "#ffcdd2"

#endif
