/*
 * palette: colors by state, network, job and marker kind (see palette.h).
 * The state and network names are parsed back to their enums with the
 * tables' own functions, and the switches below cover every value.
 */
#include "palette.h"

#include <string.h>

#include "model.h"
#include "xfer/xfer.h"

const char *rpt_state_color(const char *state)
{
    enum xfer_state s;
    if (!state || !xfer_state_parse(state, &s))
        return "#9e9e9e";
    switch (s) {
    case XFER_QUEUED:
        return "#90a4ae";
    case XFER_CONNECTING:
        return "#4fc3f7";
    case XFER_TRANSFERRING:
        return "#1e88e5";
    case XFER_SUSPENDED:
        return "#616161";
    case XFER_ERROR:
        return RPT_COLOR_FAIL;
    case XFER_TRANSIENT_ERROR:
        return "#fb8c00";
    case XFER_TRANSFERRED:
        return "#43a047";
    case XFER_ACKNOWLEDGED:
        return RPT_COLOR_OK;
    case XFER_CANCELLED:
        return "#212121";
    }
    return "#9e9e9e";
}

static bool parse_conn(const char *s, enum sim_connectivity *out)
{
    const enum sim_connectivity all[] = {SIM_CONN_NONE, SIM_CONN_LOCAL, SIM_CONN_INTERNET};
    for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, sim_connectivity_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

static bool parse_cost(const char *s, enum sim_cost *out)
{
    const enum sim_cost all[] = {SIM_COST_UNRESTRICTED, SIM_COST_FIXED, SIM_COST_VARIABLE};
    for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, sim_cost_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

const char *rpt_network_color(const char *connectivity, const char *cost)
{
    enum sim_connectivity c;
    enum sim_cost k;
    if (!parse_conn(connectivity, &c))
        return "#eeeeee";
    switch (c) {
    case SIM_CONN_NONE:
        return "#bdbdbd";
    case SIM_CONN_LOCAL:
        return "#b39ddb";
    case SIM_CONN_INTERNET:
        break;
    }
    if (!parse_cost(cost, &k))
        return "#a5d6a7";
    switch (k) {
    case SIM_COST_UNRESTRICTED:
        return "#a5d6a7";
    case SIM_COST_FIXED:
        return "#fff59d";
    case SIM_COST_VARIABLE:
        return "#ffcc80";
    }
    return "#a5d6a7";
}

const char *rpt_job_color(size_t i)
{
    static const char *const colors[] = {"#1565c0", "#00897b", "#8e24aa",
                                         "#ef6c00", "#5d4037", "#c2185b"};
    return colors[i % (sizeof colors / sizeof colors[0])];
}

const char *rpt_kind_color(const char *kind)
{
    static const struct {
        const char *kind, *color;
    } kinds[] = {{"action", "#1565c0"}, {"fault", "#ef6c00"},   {"link", "#546e7a"},
                 {"notify", "#00897b"}, {"xferd", "#6a1b9a"},   {"note", "#9e9e9e"},
                 {"state", "#1e88e5"},  {"request", "#78909c"}, {"expect", RPT_COLOR_OK}};
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kind, kinds[i].kind) == 0)
            return kinds[i].color;
    }
    return "#9e9e9e";
}
