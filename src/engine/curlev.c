/*
 * curlev: see curlev.h. Each socket curl announces gets a struct sockev
 * (curl_multi_assign keeps it with the socket); the event is re-assigned when
 * curl changes what it waits for and freed on CURL_POLL_REMOVE. After every
 * socket_action, finished transfers are drained from curl_multi_info_read and
 * reported; reporting may start new transfers, which is safe because we are
 * outside curl by then.
 */
#include "curlev.h"

#include <stdlib.h>

struct curlev {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    curlev_done_fn done;
    void *arg;
    unsigned running;
    struct sockev *socks; /* every socket curl watches, freed at the end too */
};

struct sockev {
    struct event *ev;
    struct sockev *prev, *next;
};

static void drain(struct curlev *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode code = m->data.result;
        curl_multi_remove_handle(c->multi, easy);
        c->running--;
        c->done(c->arg, easy, code);
    }
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
    struct curlev *c = arg;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int still;
    curl_multi_socket_action(c->multi, fd, flags, &still);
    drain(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct curlev *c = arg;
    int still;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &still);
    drain(c);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct curlev *c = userp;
    struct sockev *se = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (se) {
            event_free(se->ev);
            if (se->prev)
                se->prev->next = se->next;
            else
                c->socks = se->next;
            if (se->next)
                se->next->prev = se->prev;
            free(se);
            curl_multi_assign(c->multi, s, NULL);
        }
        return 0;
    }
    short kind =
        EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (!se) {
        if (!(se = calloc(1, sizeof *se)))
            return -1;
        se->next = c->socks;
        if (c->socks)
            c->socks->prev = se;
        c->socks = se;
        curl_multi_assign(c->multi, s, se);
    } else if (se->ev) {
        event_free(se->ev);
    }
    se->ev = event_new(c->base, s, kind, on_socket, c);
    if (!se->ev || event_add(se->ev, NULL) != 0)
        return -1;
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct curlev *c = userp;
    if (timeout_ms < 0)
        return event_del(c->timer);
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    return event_add(c->timer, &tv);
}

struct curlev *curlev_new(struct event_base *base, curlev_done_fn done, void *arg)
{
    struct curlev *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base = base;
    c->done = done;
    c->arg = arg;
    if (!(c->multi = curl_multi_init()) || !(c->timer = evtimer_new(base, on_timer, c))) {
        curlev_free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

void curlev_free(struct curlev *c)
{
    if (!c)
        return;
    if (c->multi)
        curl_multi_cleanup(c->multi);
    while (c->socks) {
        struct sockev *se = c->socks;
        c->socks = se->next;
        if (se->ev)
            event_free(se->ev);
        free(se);
    }
    if (c->timer)
        event_free(c->timer);
    free(c);
}

int curlev_add(struct curlev *c, CURL *easy)
{
    if (curl_multi_add_handle(c->multi, easy) != CURLM_OK)
        return -1;
    c->running++;
    return 0;
}

void curlev_remove(struct curlev *c, CURL *easy)
{
    if (curl_multi_remove_handle(c->multi, easy) == CURLM_OK)
        c->running--;
}

unsigned curlev_running(const struct curlev *c)
{
    return c->running;
}
