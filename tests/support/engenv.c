/*
 * engenv: see engenv.h.
 */
#include "engenv.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "ftp.h"
#include "http.h"

static void on_event(void *arg, const struct xfer_event *ev)
{
    struct engenv *t = arg;
    if (t->nlog == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->log = realloc(t->log, t->cap * sizeof *t->log);
        assert_non_null(t->log);
    }
    struct engenv_event *e = &t->log[t->nlog++];
    e->ev = *ev;
    snprintf(e->cause, sizeof e->cause, "%s", ev->cause ? ev->cause : "");
    e->ev.cause = NULL;
}

static void init(struct engenv *t, double scale, bool ftp, bool one_loop);

void engenv_init(struct engenv *t, double scale, bool ftp)
{
    init(t, scale, ftp, false);
}

void engenv_init_one_loop(struct engenv *t, double scale, bool ftp)
{
    init(t, scale, ftp, true);
}

static void init(struct engenv *t, double scale, bool ftp, bool one_loop)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(fltenv_init(&t->f), 0);
    xl_clock_init(&t->f.clock, scale);
    struct flt_http_config hc = {0};
    t->http = fltenv_http(&t->f, &hc);
    snprintf(t->http_url, sizeof t->http_url, "http://127.0.0.1:%u",
             (unsigned)flt_http_port(t->http));
    if (ftp) {
        struct flt_ftp_config fc = {0};
        char err[256];
        t->ftp = flt_ftp_new(t->f.base, &fc, &t->f.rules, &t->f.content, &t->f.journal, &t->f.clock,
                             err);
        if (!t->ftp)
            fail_msg("ftp server: %s", err);
        snprintf(t->ftp_url, sizeof t->ftp_url, "ftp://127.0.0.1:%u",
                 (unsigned)flt_ftp_port(t->ftp));
    }
    if (!one_loop)
        assert_int_equal(fltenv_run(&t->f), 0);
    snprintf(t->store, sizeof t->store, "%s/jobs.db", t->f.dir);
    snprintf(t->dl, sizeof t->dl, "%s/dl", t->f.dir);
    assert_int_equal(mkdir(t->dl, 0700), 0);
    t->base = one_loop ? t->f.base : event_base_new();
    assert_non_null(t->base);
    t->cfg.base = t->base;
    t->cfg.store_path = t->store;
    t->cfg.clock = &t->f.clock;
    t->cfg.on_event = on_event;
    t->cfg.event_arg = t;
}

void engenv_open(struct engenv *t)
{
    char err[512];
    xfer_hr hr = xfer_engine_open(&t->cfg, &t->eng, err, sizeof err);
    if (hr != 0)
        fail_msg("xfer_engine_open: 0x%08X %s", (unsigned)hr, err);
}

void engenv_reopen(struct engenv *t)
{
    xfer_engine_close(t->eng);
    t->eng = NULL;
    engenv_open(t);
}

void engenv_free(struct engenv *t)
{
    xfer_engine_close(t->eng);
    t->eng = NULL;
    fltenv_stop(&t->f);
    flt_http_free(t->http);
    if (t->ftp)
        flt_ftp_free(t->ftp);
    if (t->base != t->f.base)
        event_base_free(t->base);
    fltenv_free(&t->f);
    free(t->log);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

bool engenv_run_until(struct engenv *t, bool (*pred)(struct engenv *, void *), void *arg,
                      int wall_ms)
{
    bool expired = false;
    struct event *deadline = evtimer_new(t->base, on_deadline, &expired);
    struct timeval tv = {.tv_sec = wall_ms / 1000, .tv_usec = (wall_ms % 1000) * 1000};
    evtimer_add(deadline, &tv);
    /* A short tick so the predicate is checked even when nothing happens. */
    struct timeval step = {.tv_sec = 0, .tv_usec = 2000};
    bool ok = false;
    while (!(pred && (ok = pred(t, arg))) && !expired) {
        event_base_loopexit(t->base, &step);
        event_base_loop(t->base, EVLOOP_ONCE);
    }
    event_free(deadline);
    return pred ? ok : true;
}

void engenv_spin(struct engenv *t, int wall_ms)
{
    engenv_run_until(t, NULL, NULL, wall_ms);
}

struct want_state {
    const xfer_guid *g;
    enum xfer_state s;
};

static bool in_state(struct engenv *t, void *arg)
{
    struct want_state *w = arg;
    for (size_t i = t->nlog; i-- > 0;) {
        const struct xfer_event *ev = &t->log[i].ev;
        if (ev->type == XFER_EV_STATE && memcmp(&ev->job, w->g, sizeof *w->g) == 0)
            return ev->new_state == w->s;
    }
    return false;
}

bool engenv_wait_state(struct engenv *t, const xfer_guid *g, enum xfer_state s, int wall_ms)
{
    struct want_state w = {g, s};
    return engenv_run_until(t, in_state, &w, wall_ms);
}

xfer_guid engenv_download(struct engenv *t, const char *url, const char *name)
{
    xfer_guid g;
    char local[256];
    snprintf(local, sizeof local, "%s/%s", t->dl, name);
    assert_int_equal(xfer_job_create(t->eng, 1000, XFER_DOWNLOAD, name, &g), 0);
    xfer_hr hr = xfer_job_add_file(t->eng, 1000, &g, url, local);
    if (hr != 0)
        fail_msg("add_file %s: 0x%08X %s", url, (unsigned)hr, xfer_last_error(t->eng));
    assert_int_equal(xfer_job_resume(t->eng, 1000, &g), 0);
    return g;
}

void engenv_states(const struct engenv *t, const xfer_guid *g, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < t->nlog; i++) {
        const struct xfer_event *ev = &t->log[i].ev;
        if (ev->type != XFER_EV_STATE || memcmp(&ev->job, g, sizeof *g) != 0)
            continue;
        if (n == 0)
            n += (size_t)snprintf(out + n, len - n, "%s", xfer_state_name(ev->old_state));
        if (ev->new_state != ev->old_state && n < len)
            n += (size_t)snprintf(out + n, len - n, " %s", xfer_state_name(ev->new_state));
    }
}

size_t engenv_count(const struct engenv *t, const xfer_guid *g, enum xfer_event_type type)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nlog; i++)
        if (t->log[i].ev.type == type && memcmp(&t->log[i].ev.job, g, sizeof *g) == 0)
            n++;
    return n;
}

enum xfer_state engenv_state(struct engenv *t, const xfer_guid *g, xfer_hr *err)
{
    struct xfer_job_info *in = NULL;
    xfer_hr hr = xfer_job_info(t->eng, 1000, g, &in);
    if (hr != 0)
        fail_msg("job_info: 0x%08X", (unsigned)hr);
    enum xfer_state s = in->state;
    if (err)
        *err = in->error.hr;
    free(in);
    return s;
}

bool engenv_file_sha256(const char *path, char hex[65])
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    static unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        EVP_DigestUpdate(c, buf, n);
    fclose(fp);
    unsigned char md[32];
    unsigned len;
    EVP_DigestFinal_ex(c, md, &len);
    EVP_MD_CTX_free(c);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return true;
}

void engenv_complete_and_check(struct engenv *t, const xfer_guid *g, const char *name,
                               uint64_t seed, uint64_t size)
{
    assert_int_equal(xfer_job_complete(t->eng, 1000, g), 0);
    char path[256], got[65], want[65];
    snprintf(path, sizeof path, "%s/%s", t->dl, name);
    assert_true(engenv_file_sha256(path, got));
    fltenv_gen_sha256(seed, 0, 0, size, want);
    assert_string_equal(got, want);
}
