/* origin: listeners over one shared rule set, content and journal. */
#include "origin.h"

#include <stdio.h>
#include <string.h>

void flt_origin_init(struct flt_origin *o)
{
    memset(o, 0, sizeof *o);
    flt_rules_init(&o->rules);
    flt_content_init(&o->content);
    flt_journal_init(&o->journal);
}

int flt_origin_listen(struct flt_origin *o, struct event_base *base,
                      const struct flt_origin_config *cfg, const struct flt_pki *pki,
                      const struct xl_clock *clock, char *err)
{
    if (cfg->http_port != FLT_PORT_OFF) {
        struct flt_http_config hc = {.addr = cfg->addr,
                                     .port = (uint16_t)cfg->http_port,
                                     .idle_timeout_s = cfg->idle_timeout_s};
        o->http = flt_http_new(base, &hc, &o->rules, &o->content, &o->journal, clock, err);
        if (!o->http)
            goto fail;
    }
    if (cfg->https_port != FLT_PORT_OFF) {
        if (!pki) {
            snprintf(err, XL_ERRLEN, "HTTPS needs the test PKI");
            goto fail;
        }
        struct flt_http_config hc = {.addr = cfg->addr,
                                     .port = (uint16_t)cfg->https_port,
                                     .cert_pem = flt_pki_cert_pem(pki, cfg->cert),
                                     .key_pem = flt_pki_key_pem(pki, cfg->cert),
                                     .idle_timeout_s = cfg->idle_timeout_s};
        o->https = flt_http_new(base, &hc, &o->rules, &o->content, &o->journal, clock, err);
        if (!o->https)
            goto fail;
    }
    if (cfg->ftp_port != FLT_PORT_OFF) {
        struct flt_ftp_config fc = {.addr = cfg->addr,
                                    .port = (uint16_t)cfg->ftp_port,
                                    .idle_timeout_s = cfg->idle_timeout_s};
        o->ftp = flt_ftp_new(base, &fc, &o->rules, &o->content, &o->journal, clock, err);
        if (!o->ftp)
            goto fail;
    }
    return 0;
fail:
    flt_origin_close(o);
    return -1;
}

void flt_origin_close(struct flt_origin *o)
{
    flt_http_free(o->http);
    flt_http_free(o->https);
    flt_ftp_free(o->ftp);
    o->http = o->https = NULL;
    o->ftp = NULL;
}

void flt_origin_free(struct flt_origin *o)
{
    flt_origin_close(o);
    flt_rules_clear(&o->rules);
    flt_content_clear(&o->content);
    flt_journal_free(&o->journal);
}
