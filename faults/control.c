/*
 * control: request routing for the JSON API. Bodies are collected up to 1 MiB
 * (larger: 413), parsed with jansson, and turned into calls on the rule set,
 * the content or the journal.
 */
#include "control.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (1024 * 1024)

struct flt_control {
    struct MHD_Daemon *mhd;
    struct flt_rules *rules;
    struct flt_content *content;
    struct flt_journal *journal;
    const struct xl_clock *clock;
    uint16_t port;
};

struct body {
    char *buf;
    size_t len;
    bool too_large;
};

/*
 * A JSON string of s. Bytes that are not valid UTF-8 become '?': error messages
 * may be cut inside a character, and rules or paths from files may hold any
 * bytes; json_string() would refuse them and the answer would be lost.
 */
static json_t *text_json(const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    char *copy = strdup(s);
    if (!copy)
        return json_null();
    for (unsigned char *p = (unsigned char *)copy; *p;) {
        size_t n = *p < 0x80             ? 1
                   : (*p & 0xe0) == 0xc0 ? 2
                   : (*p & 0xf0) == 0xe0 ? 3
                   : (*p & 0xf8) == 0xf0 ? 4
                                         : 0;
        bool ok = n > 0;
        for (size_t k = 1; ok && k < n; k++)
            ok = (p[k] & 0xc0) == 0x80;
        if (ok && n > 1) {
            json_t *ch = json_stringn((const char *)p, n); /* overlong, surrogates */
            ok = ch != NULL;
            json_decref(ch);
        }
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
    v = json_string(copy);
    if (!v) {
        for (unsigned char *p = (unsigned char *)copy; *p; p++)
            if (*p >= 0x80)
                *p = '?';
        v = json_string(copy);
    }
    free(copy);
    return v ? v : json_null();
}

json_t *flt_actions_json(void)
{
    json_t *a = json_array();
    for (int i = 0; i < FLT_A__COUNT; i++) {
        const struct flt_action_info *ai = flt_action_info((enum flt_action)i);
        json_t *keys = json_array();
        for (int k = 0; k < FLT_K__COUNT; k++)
            if (ai->allowed & (1ull << k))
                json_array_append_new(keys,
                                      json_pack("{ss ss sb}", "key", flt_key_name((enum flt_key)k),
                                                "help", flt_key_help((enum flt_key)k), "required",
                                                (ai->required & (1ull << k)) != 0));
        json_t *protos = json_array();
        if (ai->protocols & FLT_P_HTTP)
            json_array_append_new(protos, json_string("http"));
        if (ai->protocols & FLT_P_FTP)
            json_array_append_new(protos, json_string("ftp"));
        json_array_append_new(a, json_pack("{ss ss ss so so ss?}", "action", ai->name, "help",
                                           ai->help, "example", ai->example, "keys", keys,
                                           "protocols", protos, "modes", ai->modes));
    }
    return a;
}

json_t *flt_rules_json(struct flt_rules *set)
{
    json_t *a = json_array();
    char buf[2048];
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < set->n; i++) {
        const struct flt_rule *r = set->v[i];
        /* The whole canonical text, however long: a cut one would not parse again. */
        char *text = buf;
        int need = flt_rule_format(r, buf, sizeof buf);
        if (need >= (int)sizeof buf && (text = malloc((size_t)need + 1)) != NULL)
            flt_rule_format(r, text, (size_t)need + 1);
        json_array_append_new(a, json_pack("{ss so ss sI sI}", "name", r->name, "text",
                                           text_json(text ? text : buf), "action",
                                           flt_action_info(r->action)->name, "seen",
                                           (json_int_t)r->seen, "fired", (json_int_t)r->fired));
        if (text != buf)
            free(text);
    }
    pthread_mutex_unlock(&set->lock);
    return a;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    static char failed[] = "{\"error\":\"cannot encode the answer\"}";
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    struct MHD_Response *r;
    if (text) {
        r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (!r)
            free(text);
    } else {
        /* Still an answer, never a connection closed without one. */
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        r = MHD_create_response_from_buffer(strlen(failed), failed, MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return send_json(c, status, json_pack("{so}", "error", text_json(msg)));
}

/* POST /rules: parse every rule first, then add them all; nothing changes on an error. */
static enum MHD_Result post_rules(struct flt_control *ctl, struct MHD_Connection *c, json_t *in)
{
    json_t *list = json_object_get(in, "rules");
    json_t *one = json_object_get(in, "rule");
    if (one) {
        list = json_array();
        json_array_append(list, one);
    } else if (json_is_array(list)) {
        json_incref(list);
    } else {
        return send_error(c, 400, "expected {\"rule\": \"...\"} or {\"rules\": [\"...\"]}");
    }
    size_t n = json_array_size(list);
    struct flt_rule **parsed = calloc(n ? n : 1, sizeof *parsed);
    enum MHD_Result rc;
    char err[XL_ERRLEN];
    size_t i;
    if (!parsed) {
        rc = send_error(c, 500, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        const char *text = json_string_value(json_array_get(list, i));
        size_t col = 0;
        if (!text) {
            char m[64];
            snprintf(m, sizeof m, "rules[%zu] is not a string", i);
            rc = send_error(c, 400, m);
            goto out;
        }
        if (flt_rule_parse(text, &parsed[i], &col, err) < 0) {
            rc = send_json(c, 400,
                           json_pack("{so ss sI sI}", "error", text_json(err), "rule", text,
                                     "index", (json_int_t)i, "col", (json_int_t)col + 1));
            goto out;
        }
        for (size_t k = 0; k < i; k++)
            if (parsed[i]->name[0] && strcmp(parsed[i]->name, parsed[k]->name) == 0) {
                rc = send_json(c, 400,
                               json_pack("{ss sI}", "error", "two rules share a name", "index",
                                         (json_int_t)i));
                goto out;
            }
    }
    pthread_mutex_lock(&ctl->rules->lock);
    for (i = 0; i < n; i++)
        for (size_t k = 0; k < ctl->rules->n; k++)
            if (parsed[i]->name[0] && strcmp(parsed[i]->name, ctl->rules->v[k]->name) == 0) {
                pthread_mutex_unlock(&ctl->rules->lock);
                snprintf(err, sizeof err, "a rule named '%s' exists already", parsed[i]->name);
                rc = send_json(c, 409, json_pack("{ss sI}", "error", err, "index", (json_int_t)i));
                goto out;
            }
    pthread_mutex_unlock(&ctl->rules->lock);
    json_t *names = json_array();
    for (i = 0; i < n; i++) {
        if (flt_rules_add(ctl->rules, parsed[i], xl_clock_now_ms(ctl->clock), err) == 0) {
            json_array_append_new(names, json_string(parsed[i]->name));
            parsed[i] = NULL;
        }
    }
    rc = send_json(c, 201, json_pack("{so}", "added", names));
out:
    for (i = 0; parsed && i < n; i++)
        flt_rule_free(parsed[i]);
    free(parsed);
    json_decref(list);
    return rc;
}

static enum MHD_Result post_files(struct flt_control *ctl, struct MHD_Connection *c, json_t *in)
{
    const char *path = json_string_value(json_object_get(in, "path"));
    json_t *js = json_object_get(in, "size");
    json_t *jseed = json_object_get(in, "seed");
    uint64_t size = 0, seed = 1;
    char err[XL_ERRLEN];
    size_t col;
    if (!path)
        return send_error(c, 400, "expected {\"path\": \"/x.bin\", \"size\": \"8MiB\"}");
    if (json_is_integer(js) && json_integer_value(js) >= 0)
        size = (uint64_t)json_integer_value(js);
    else if (!json_is_string(js) || xl_parse_size(json_string_value(js), &size, &col, err) < 0)
        return send_error(c, 400, "size must be a number of bytes or a size such as \"8MiB\"");
    if (jseed && (!json_is_integer(jseed) || json_integer_value(jseed) < 0))
        return send_error(c, 400, "seed must be a non-negative integer");
    if (jseed)
        seed = (uint64_t)json_integer_value(jseed);
    if (flt_content_add_gen(ctl->content, path, size, seed, err) < 0)
        return send_error(c, 400, err);
    return send_json(
        c, 201,
        json_pack("{ss sI sI}", "path", path, "size", (json_int_t)size, "seed", (json_int_t)seed));
}

static json_t *files_json(struct flt_content *content)
{
    json_t *a = json_array();
    pthread_mutex_lock(&content->lock);
    for (size_t i = 0; i < content->n; i++) {
        const struct flt_entity *e = &content->v[i];
        json_array_append_new(a, json_pack("{so sI sI si ss}", "path", text_json(e->path), "size",
                                           (json_int_t)e->size, "seed", (json_int_t)e->seed,
                                           "version", (int)e->version, "etag", e->etag));
    }
    pthread_mutex_unlock(&content->lock);
    return a;
}

static enum MHD_Result route(struct flt_control *ctl, struct MHD_Connection *c, const char *url,
                             const char *method, struct body *b)
{
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
         del = strcmp(method, "DELETE") == 0;
    json_t *in = NULL;
    if (b->too_large)
        return send_error(c, 413, "request body larger than 1 MiB");
    /* Only the endpoints that take a body parse it: elsewhere 404 and 405 come first. */
    if (post && (strcmp(url, "/rules") == 0 || strcmp(url, "/files") == 0)) {
        json_error_t je;
        in = json_loadb(b->buf ? b->buf : "", b->len, 0, &je);
        if (!json_is_object(in)) {
            char m[256];
            if (in)
                snprintf(m, sizeof m, "body is a JSON %s, not an object",
                         json_is_array(in) ? "array" : "value");
            else
                snprintf(m, sizeof m, "body is not a JSON object: %s (line %d, column %d)", je.text,
                         je.line, je.column);
            json_decref(in);
            return send_error(c, 400, m);
        }
    }
    enum MHD_Result rc;
    if (strcmp(url, "/rules") == 0 && get) {
        rc = send_json(c, 200, flt_rules_json(ctl->rules));
    } else if (strcmp(url, "/rules") == 0 && post) {
        rc = post_rules(ctl, c, in);
    } else if (strcmp(url, "/rules") == 0 && del) {
        flt_rules_clear(ctl->rules);
        rc = send_json(c, 200, json_pack("{sb}", "cleared", 1));
    } else if (strncmp(url, "/rules/", 7) == 0 && del) {
        rc = flt_rules_remove(ctl->rules, url + 7) == 0
                 ? send_json(c, 200, json_pack("{ss}", "removed", url + 7))
                 : send_error(c, 404, "no rule of that name");
    } else if (strcmp(url, "/journal") == 0 && get) {
        const char *since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
        rc = send_json(c, 200,
                       flt_journal_json(ctl->journal, since ? strtoull(since, NULL, 10) : 0));
    } else if (strcmp(url, "/journal") == 0 && del) {
        flt_journal_clear(ctl->journal);
        rc = send_json(c, 200, json_pack("{sb}", "cleared", 1));
    } else if (strcmp(url, "/files") == 0 && get) {
        rc = send_json(c, 200, files_json(ctl->content));
    } else if (strcmp(url, "/files") == 0 && post) {
        rc = post_files(ctl, c, in);
    } else if (strcmp(url, "/actions") == 0 && get) {
        rc = send_json(c, 200, flt_actions_json());
    } else if (strcmp(url, "/rules") == 0 || strcmp(url, "/journal") == 0 ||
               strcmp(url, "/files") == 0 || strcmp(url, "/actions") == 0 ||
               strncmp(url, "/rules/", 7) == 0) {
        rc = send_error(c, 405, "method not allowed here");
    } else {
        rc = send_error(c, 404, "no such endpoint (see /actions, /rules, /journal, /files)");
    }
    json_decref(in);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **req_cls)
{
    struct flt_control *ctl = cls;
    struct body *b = *req_cls;
    (void)version;
    if (!b) {
        b = calloc(1, sizeof *b);
        *req_cls = b;
        return b ? MHD_YES : MHD_NO;
    }
    if (*size) {
        if (b->len + *size > BODY_MAX) {
            b->too_large = true;
        } else {
            char *nb = realloc(b->buf, b->len + *size + 1);
            if (!nb)
                return MHD_NO;
            memcpy(nb + b->len, data, *size);
            b->buf = nb;
            b->len += *size;
            b->buf[b->len] = '\0';
        }
        *size = 0;
        return MHD_YES;
    }
    return route(ctl, c, url, method, b);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct body *b = *req_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (b) {
        free(b->buf);
        free(b);
    }
    *req_cls = NULL;
}

struct flt_control *flt_control_new(const char *addr, uint16_t port, struct flt_rules *rules,
                                    struct flt_content *content, struct flt_journal *journal,
                                    const struct xl_clock *clock, char *err)
{
    struct flt_control *ctl = calloc(1, sizeof *ctl);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (!ctl) {
        snprintf(err, XL_ERRLEN, "out of memory");
        return NULL;
    }
    if (inet_pton(AF_INET, addr ? addr : "127.0.0.1", &sa.sin_addr) != 1) {
        snprintf(err, XL_ERRLEN, "control address '%s' is not an IPv4 address", addr);
        free(ctl);
        return NULL;
    }
    ctl->rules = rules;
    ctl->content = content;
    ctl->journal = journal;
    ctl->clock = clock;
    ctl->mhd =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL,
                         on_request, ctl, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
                         on_completed, ctl, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!ctl->mhd) {
        snprintf(err, XL_ERRLEN, "control API cannot listen on %s:%u", addr ? addr : "127.0.0.1",
                 (unsigned)port);
        free(ctl);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(ctl->mhd, MHD_DAEMON_INFO_BIND_PORT);
    ctl->port = di ? di->port : port;
    return ctl;
}

uint16_t flt_control_port(const struct flt_control *c)
{
    return c->port;
}

void flt_control_free(struct flt_control *c)
{
    if (!c)
        return;
    MHD_stop_daemon(c->mhd);
    free(c);
}
