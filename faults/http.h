/*
 * http: the fault-injecting HTTP/1.1 and HTTPS server.
 *
 * A correct server by default (Content-Length, Accept-Ranges, 206 and 416,
 * If-Range with the strong ETag or Last-Modified, If-Match, HEAD, Date), which
 * misbehaves exactly as the rules in force tell it to. It runs on the caller's
 * libevent loop: libmicrohttpd parses requests and writes responses in its
 * external-epoll mode; the listener (listener.h) accepts connections and hands
 * them over, so `refuse` and connection numbers work the same as for FTP.
 *
 * Everything it decides is recorded in the journal.
 */
#ifndef FLT_HTTP_H
#define FLT_HTTP_H

#include <event2/event.h>
#include <stdint.h>

#include "clock.h"
#include "content.h"
#include "journal.h"
#include "rule.h"

struct flt_http_config {
    const char *addr;     /* NULL: 127.0.0.1 */
    uint16_t port;        /* 0: a free port */
    const char *cert_pem; /* with key_pem: serve HTTPS */
    const char *key_pem;
    unsigned idle_timeout_s; /* 0: 30 s without traffic closes a connection */
    unsigned max_conns;      /* 0: 1024 */
};

struct flt_http;

/*
 * Start a server on base. rules, content, journal and clock (NULL: real time)
 * are shared, not owned, and must outlive it. The caller owns the result and
 * frees it with flt_http_free(). Returns NULL with err on failure.
 */
struct flt_http *flt_http_new(struct event_base *base, const struct flt_http_config *cfg,
                              struct flt_rules *rules, struct flt_content *content,
                              struct flt_journal *journal, const struct xl_clock *clock, char *err);
/* Close every connection (stalled ones too) and free the server. */
void flt_http_free(struct flt_http *s);
uint16_t flt_http_port(const struct flt_http *s);
/* Whether libmicrohttpd was built with TLS (HTTPS needs it). */
int flt_http_tls_supported(void);

#endif
