/*
 * origin: one simulated server host — its content, its fault rules, its journal
 * and the listeners that serve them (HTTP, HTTPS, FTP), all on one event loop.
 *
 * `xferlab serve` runs one origin; a scenario will run several (files.test,
 * cdn.test), each a real, distinct origin on loopback. An origin owns its
 * rules, content, journal and servers; the event base, the clock and the PKI
 * are lent to it and must outlive it.
 */
#ifndef FLT_ORIGIN_H
#define FLT_ORIGIN_H

#include <event2/event.h>

#include "content.h"
#include "ftp.h"
#include "http.h"
#include "journal.h"
#include "pki.h"
#include "rule.h"

/* A listener port: FLT_PORT_OFF for none, 0 for a free one, else that port. */
#define FLT_PORT_OFF (-1)

struct flt_origin_config {
    const char *addr; /* NULL: 127.0.0.1 */
    int http_port, https_port, ftp_port;
    enum flt_cert_kind cert; /* the HTTPS listener's certificate */
    unsigned idle_timeout_s; /* 0: the servers' defaults */
};

struct flt_origin {
    struct flt_rules rules;
    struct flt_content content;
    struct flt_journal journal;
    struct flt_http *http, *https;
    struct flt_ftp *ftp;
};

/* Set up rules, content and journal (no listeners yet). */
void flt_origin_init(struct flt_origin *o);
/* Start the listeners cfg asks for. pki is needed when https_port is on. */
int flt_origin_listen(struct flt_origin *o, struct event_base *base,
                      const struct flt_origin_config *cfg, const struct flt_pki *pki,
                      const struct xl_clock *clock, char *err);
/* Stop the listeners (on the loop's thread, or with the loop stopped). */
void flt_origin_close(struct flt_origin *o);
/* Close and release everything. */
void flt_origin_free(struct flt_origin *o);

#endif
