/*
 * curlev: libcurl's multi interface driven by libevent.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
 * call it back (CURLMOPT_TIMERFUNCTION); we keep one event per socket and one
 * timer, and hand every readiness back with curl_multi_socket_action. When a
 * transfer ends, the done callback gets the easy handle and its CURLcode; the
 * handle has already been removed from the multi handle and belongs to the
 * caller again.
 */
#ifndef XFER_CURLEV_H
#define XFER_CURLEV_H

#include <curl/curl.h>
#include <event2/event.h>

typedef void (*curlev_done_fn)(void *arg, CURL *easy, CURLcode code);

struct curlev;

/* A multi handle on base. The caller owns it (curlev_free). NULL on failure. */
struct curlev *curlev_new(struct event_base *base, curlev_done_fn done, void *arg);
/* Remove any transfers left (without calling done) and free. */
void curlev_free(struct curlev *c);
/* Start easy; done is called when it ends. Returns 0 or -1. */
int curlev_add(struct curlev *c, CURL *easy);
/* Stop easy now (no done call); the caller owns it again. */
void curlev_remove(struct curlev *c, CURL *easy);
/* Number of transfers running. */
unsigned curlev_running(const struct curlev *c);

#endif
