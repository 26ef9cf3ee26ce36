/*
 * world: the simulated world one scenario runs in, on one libevent loop —
 * the fault origins (faults/origin.h: HTTP, HTTPS with the test CA, FTP), the
 * link (sim/link.h: the SOCKS5 proxy that IS the network; names such as
 * files.test resolve there), the network and battery model (sim/model.h) and
 * the virtual clock everything reads (src/common/clock.h).
 *
 * Data flow:
 *   scenario network/battery change -> hx_world_set_network/_battery
 *     -> sim_model -> on_model (every model event, also the ones the model
 *        makes by itself as time passes: usage, billing period, drain)
 *        -> sim_link_set_network (the bytes: reset or black-hole cut)
 *        -> world->on_platform (xferd's platform provider), unless the change
 *           is silent (the platform has not noticed)
 *        -> the trace (network and battery series)
 *   link bytes -> metered -> sim_model_advance at each hx_world_tick
 *   link events -> the trace (timeline, kind "link")
 *
 * The world owns its origins, the PKI, the link, the model and the event
 * base; the trace is lent to it and must outlive it.
 */
#ifndef HX_WORLD_H
#define HX_WORLD_H

#include <event2/event.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "link.h"
#include "model.h"
#include "origin.h"
#include "xfer/xfer.h"

struct hx_trace;

/* Protocols an origin serves (bit set). */
enum { HX_HTTP = 1, HX_HTTPS = 2, HX_FTP = 4 };

struct hx_origin {
    char name[256]; /* "files.test" */
    unsigned protos;
    enum flt_cert_kind cert;
    struct flt_origin o;
    bool listening;
};

typedef void (*hx_platform_fn)(void *arg, const struct xfer_platform *p);

struct hx_world {
    struct event_base *base;
    struct xl_clock clock;
    struct flt_pki *pki; /* made by hx_world_start, for the origins' names */
    char pki_dir[PATH_MAX];
    struct hx_origin **origins;
    size_t norigins;
    struct sim_link *link;
    struct sim_model model;
    enum sim_cut cut; /* what the change being made does to live connections */
    bool silent;      /* the change being made is not told to the platform */
    uint64_t metered; /* bytes through the link not yet given to the model */
    hx_platform_fn on_platform;
    void *platform_arg;
    struct hx_trace *trace;
};

/*
 * Make the loop, the clock (scale) and the model; hx_world_start makes the
 * PKI (ca.pem written into pki_dir) once the origins are known. Returns 0, or -1 with err. Free
 * with hx_world_free (also after a failure).
 */
int hx_world_init(struct hx_world *w, double scale, const char *pki_dir, struct hx_trace *trace,
                  char *err, size_t errlen);
void hx_world_free(struct hx_world *w);

/* Declare an origin (or add protocols to one). The world owns it. NULL with err. */
struct hx_origin *hx_world_origin_add(struct hx_world *w, const char *name, unsigned protos,
                                      enum flt_cert_kind cert, char *err, size_t errlen);
/* The origin called name, or NULL. */
struct hx_origin *hx_world_origin(struct hx_world *w, const char *name);

/*
 * Start every origin's listeners on free ports and the link, and map each
 * origin's names in the link (name:80 HTTP, name:443 HTTPS, name:21 FTP).
 * The link starts with the model's network. Returns 0, or -1 with err.
 */
int hx_world_start(struct hx_world *w, char *err, size_t errlen);
/* "socks5h://127.0.0.1:PORT" of the link. */
void hx_world_link_url(const struct hx_world *w, char *buf, size_t len);
/* Path of the test CA's PEM. */
const char *hx_world_ca_path(const struct hx_world *w);

/* Simulated now. */
int64_t hx_world_now(const struct hx_world *w);

/*
 * Apply a network (or battery) description (sim/model.h's text forms) on top
 * of the current one. cut: what losing connectivity does to live
 * connections; silent: the platform is not told. Returns 0, or -1 with err
 * (col: 1-based column in text of what was wrong, 0 if none).
 */
int hx_world_set_network(struct hx_world *w, const char *text, enum sim_cut cut, bool silent,
                         size_t *col, char *err, size_t errlen);
int hx_world_set_battery(struct hx_world *w, const char *text, bool silent, size_t *col, char *err,
                         size_t errlen);

/* Let the model run to now with the bytes the link metered (active: transfers moving). */
void hx_world_tick(struct hx_world *w, bool active);

/* The platform object the model implies now. */
void hx_world_platform(const struct hx_world *w, struct xfer_platform *out);

#endif
