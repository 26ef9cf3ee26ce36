/*
 * world: see world.h. The model's listener is the one place a network or
 * battery change turns into consequences (link, platform, trace), whether
 * the scenario made it or the model did by itself.
 */
#include "world.h"

#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki.h"
#include "platform_map.h"
#include "trace.h"

/* The model's events since the last call: trace them; enforce and tell the newest state. */
static void on_model(void *arg, const struct sim_event *ev)
{
    struct hx_world *w = arg;
    if (w->link)
        sim_link_set_network(w->link, &ev->network, w->cut);
    if (w->trace)
        hx_trace_model(w->trace, ev);
    if (!w->silent && w->on_platform) {
        struct xfer_platform p;
        sim_platform_of(&w->model, &p);
        w->on_platform(w->platform_arg, &p);
    }
}

static const char *link_kind_name(enum sim_link_event_kind k)
{
    switch (k) {
    case SIM_LINK_OPEN:
        return "open";
    case SIM_LINK_REFUSED:
        return "refused";
    case SIM_LINK_CLOSED:
        return "closed";
    case SIM_LINK_RESET:
        return "reset";
    case SIM_LINK_BLACKHOLED:
        return "black-holed";
    case SIM_LINK_TRIGGER:
        return "trigger";
    case SIM_LINK_BAD_REQUEST:
        return "bad request";
    }
    return "?";
}

static void on_link_event(void *arg, const struct sim_link_event *ev)
{
    struct hx_world *w = arg;
    if (!w->trace)
        return;
    hx_trace_event(w->trace, ev->time_ms, "link", 0, true, "link conn %llu %s %s%s%s",
                   (unsigned long long)ev->conn, link_kind_name(ev->kind), ev->target,
                   ev->detail[0] ? ": " : "", ev->detail);
}

static void on_link_bytes(void *arg, uint64_t up, uint64_t down)
{
    struct hx_world *w = arg;
    w->metered += up + down;
}

int hx_world_init(struct hx_world *w, double scale, const char *pki_dir, struct hx_trace *trace,
                  char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->trace = trace;
    w->cut = SIM_CUT_RESET;
    evthread_use_pthreads(); /* the origins' journals and rule sets are locked */
    w->base = event_base_new();
    if (!w->base) {
        snprintf(err, errlen, "cannot create the event loop");
        return -1;
    }
    xl_clock_init(&w->clock, scale);
    snprintf(w->pki_dir, sizeof w->pki_dir, "%s", pki_dir);
    sim_model_init(&w->model, hx_world_now(w));
    w->model.listener = on_model;
    w->model.listener_arg = w;
    return 0;
}

void hx_world_free(struct hx_world *w)
{
    if (w->link)
        sim_link_free(w->link);
    w->link = NULL;
    for (size_t i = 0; i < w->norigins; i++) {
        flt_origin_free(&w->origins[i]->o);
        free(w->origins[i]);
    }
    free(w->origins);
    w->origins = NULL;
    w->norigins = 0;
    sim_model_free(&w->model);
    flt_pki_free(w->pki);
    w->pki = NULL;
    if (w->base)
        event_base_free(w->base);
    w->base = NULL;
}

struct hx_origin *hx_world_origin(struct hx_world *w, const char *name)
{
    for (size_t i = 0; i < w->norigins; i++)
        if (strcasecmp(w->origins[i]->name, name) == 0)
            return w->origins[i];
    return NULL;
}

struct hx_origin *hx_world_origin_add(struct hx_world *w, const char *name, unsigned protos,
                                      enum flt_cert_kind cert, char *err, size_t errlen)
{
    struct hx_origin *o = hx_world_origin(w, name);
    if (o) {
        if (o->listening && (o->protos | protos) != o->protos) {
            snprintf(err, errlen, "origin %s: cannot add a protocol once it is serving", name);
            return NULL;
        }
        o->protos |= protos;
        if (protos & HX_HTTPS)
            o->cert = cert;
        return o;
    }
    if (strlen(name) >= sizeof o->name) {
        snprintf(err, errlen, "origin name too long: %.40s...", name);
        return NULL;
    }
    struct hx_origin **v = realloc(w->origins, (w->norigins + 1) * sizeof *v);
    if (!v)
        goto oom;
    w->origins = v;
    o = calloc(1, sizeof *o);
    if (!o)
        goto oom;
    snprintf(o->name, sizeof o->name, "%s", name);
    o->protos = protos;
    o->cert = cert;
    flt_origin_init(&o->o);
    w->origins[w->norigins++] = o;
    return o;
oom:
    snprintf(err, errlen, "out of memory");
    return NULL;
}

static int map_origin(struct hx_world *w, struct hx_origin *o, char *err, size_t errlen)
{
    struct {
        unsigned proto;
        uint16_t port;
        void *srv;
    } maps[] = {
        {HX_HTTP, 80, o->o.http},
        {HX_HTTPS, 443, o->o.https},
        {HX_FTP, 21, o->o.ftp},
    };
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        if (!(o->protos & maps[i].proto) || !maps[i].srv)
            continue;
        uint16_t to = maps[i].proto == HX_FTP    ? flt_ftp_port(o->o.ftp)
                      : maps[i].proto == HX_HTTP ? flt_http_port(o->o.http)
                                                 : flt_http_port(o->o.https);
        if (sim_link_map(w->link, o->name, maps[i].port, "127.0.0.1", to, err, errlen) < 0)
            return -1;
    }
    /* FTP's passive data connections go to name:PORT (socks5h): any other port, kept. */
    if ((o->protos & HX_FTP) && sim_link_map(w->link, o->name, 0, "127.0.0.1", 0, err, errlen) < 0)
        return -1;
    return 0;
}

int hx_world_start(struct hx_world *w, char *err, size_t errlen)
{
    /* The test CA's certificates name every origin, so HTTPS works with any of them. */
    const char *names[64];
    size_t nn = 0;
    for (size_t i = 0; i < w->norigins && nn < sizeof names / sizeof *names; i++)
        names[nn++] = w->origins[i]->name;
    char e[XL_ERRLEN] = "";
    if (flt_pki_create_names(w->pki_dir, names, nn, &w->pki, e) < 0) {
        snprintf(err, errlen, "test PKI in %s: %s", w->pki_dir, e);
        return -1;
    }
    struct sim_link_config lc = {
        .clock = &w->clock, .on_bytes = on_link_bytes, .on_event = on_link_event, .arg = w};
    w->link = sim_link_new(w->base, &lc, err, errlen);
    if (!w->link)
        return -1;
    sim_link_set_network(w->link, &w->model.net, SIM_CUT_RESET);
    for (size_t i = 0; i < w->norigins; i++) {
        struct hx_origin *o = w->origins[i];
        struct flt_origin_config oc = {
            .http_port = (o->protos & HX_HTTP) ? 0 : FLT_PORT_OFF,
            .https_port = (o->protos & HX_HTTPS) ? 0 : FLT_PORT_OFF,
            .ftp_port = (o->protos & HX_FTP) ? 0 : FLT_PORT_OFF,
            .cert = o->cert,
        };
        e[0] = '\0';
        if (flt_origin_listen(&o->o, w->base, &oc, w->pki, &w->clock, e) < 0) {
            snprintf(err, errlen, "origin %s: %s", o->name, e);
            return -1;
        }
        o->listening = true;
        if (map_origin(w, o, err, errlen) < 0)
            return -1;
    }
    return 0;
}

void hx_world_link_url(const struct hx_world *w, char *buf, size_t len)
{
    snprintf(buf, len, "socks5h://127.0.0.1:%u", (unsigned)sim_link_port(w->link));
}

const char *hx_world_ca_path(const struct hx_world *w)
{
    return flt_pki_ca_path(w->pki);
}

int64_t hx_world_now(const struct hx_world *w)
{
    return xl_clock_now_ms(&w->clock);
}

void hx_world_tick(struct hx_world *w, bool active)
{
    uint64_t b = w->metered;
    w->metered = 0;
    sim_model_advance(&w->model, hx_world_now(w), b, active);
}

int hx_world_set_network(struct hx_world *w, const char *text, enum sim_cut cut, bool silent,
                         size_t *col, char *err, size_t errlen)
{
    struct sim_network n = w->model.net;
    *col = 0;
    if (sim_network_parse(text, &n, col, err, errlen) < 0)
        return -1;
    hx_world_tick(w, false);
    w->cut = cut;
    w->silent = silent;
    int rc = sim_model_set_network(&w->model, hx_world_now(w), &n, err, errlen);
    w->cut = SIM_CUT_RESET;
    w->silent = false;
    return rc;
}

int hx_world_set_battery(struct hx_world *w, const char *text, bool silent, size_t *col, char *err,
                         size_t errlen)
{
    struct sim_battery b = w->model.bat;
    *col = 0;
    if (sim_battery_parse(text, &b, col, err, errlen) < 0)
        return -1;
    hx_world_tick(w, false);
    w->silent = silent;
    int rc = sim_model_set_battery(&w->model, hx_world_now(w), &b, err, errlen);
    w->silent = false;
    return rc;
}

void hx_world_platform(const struct hx_world *w, struct xfer_platform *out)
{
    sim_platform_of(&w->model, out);
}
