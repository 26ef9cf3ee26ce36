/*
 * journal: a bounded ring of reference-counted request records.
 *
 * An entry has two holders: the ring, and the server answering the request.
 * It is freed when both have let go, so a request that stays stalled while
 * newer ones push it out of the ring never leaves its server with a dangling
 * pointer.
 */
#include "journal.h"

#include <stdlib.h>
#include <string.h>

const char *flt_outcome_name(enum flt_outcome o)
{
    switch (o) {
    case FLT_OUT_PENDING:
        return "pending";
    case FLT_OUT_COMPLETE:
        return "complete";
    case FLT_OUT_CLOSED:
        return "closed";
    case FLT_OUT_RESET:
        return "reset";
    case FLT_OUT_STALLED:
        return "stalled";
    case FLT_OUT_TIMED_OUT:
        return "timed-out";
    case FLT_OUT_CLIENT_GONE:
        return "client-gone";
    case FLT_OUT_ERROR:
        return "error";
    }
    return "?";
}

static void entry_free(struct flt_jentry *e)
{
    free(e->target);
    free(e->headers);
    free(e->range);
    free(e->if_range);
    free(e->parts);
    free(e);
}

static void unref(struct flt_jentry *e)
{
    if (--e->refs == 0)
        entry_free(e);
}

void flt_journal_init(struct flt_journal *j)
{
    memset(j, 0, sizeof *j);
    pthread_mutex_init(&j->lock, NULL);
    j->next_id = 1;
}

void flt_journal_clear(struct flt_journal *j)
{
    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < j->count; i++)
        unref(j->ring[(j->head + i) % j->cap]);
    j->head = j->count = 0;
    pthread_mutex_unlock(&j->lock);
}

void flt_journal_free(struct flt_journal *j)
{
    flt_journal_clear(j);
    free(j->ring);
    j->ring = NULL;
    j->cap = 0;
    pthread_mutex_destroy(&j->lock);
}

struct flt_jentry *flt_journal_open(struct flt_journal *j, const char *proto, uint64_t conn,
                                    int64_t now_ms)
{
    struct flt_jentry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    strncpy(e->proto, proto, sizeof e->proto - 1);
    e->conn = conn;
    e->t_ms = now_ms;
    e->end_ms = -1;
    e->length = -1;
    e->refs = 2;
    pthread_mutex_lock(&j->lock);
    if (j->count == j->cap && j->cap < FLT_JOURNAL_MAX) {
        size_t cap = j->cap ? j->cap * 2 : 64;
        if (cap > FLT_JOURNAL_MAX)
            cap = FLT_JOURNAL_MAX;
        struct flt_jentry **ring = malloc(cap * sizeof *ring);
        if (!ring) {
            pthread_mutex_unlock(&j->lock);
            free(e);
            return NULL;
        }
        for (size_t i = 0; i < j->count; i++)
            ring[i] = j->ring[(j->head + i) % j->cap];
        free(j->ring);
        j->ring = ring;
        j->cap = cap;
        j->head = 0;
    }
    if (j->count == j->cap) {
        unref(j->ring[j->head]);
        j->head = (j->head + 1) % j->cap;
        j->count--;
        j->dropped++;
    }
    e->id = j->next_id++;
    j->ring[(j->head + j->count) % j->cap] = e;
    j->count++;
    pthread_mutex_unlock(&j->lock);
    return e;
}

void flt_journal_end(struct flt_journal *j, struct flt_jentry *e, enum flt_outcome o,
                     int64_t now_ms)
{
    pthread_mutex_lock(&j->lock);
    if (e->outcome == FLT_OUT_PENDING)
        e->outcome = o;
    e->end_ms = now_ms;
    unref(e);
    pthread_mutex_unlock(&j->lock);
}

void flt_journal_lock(struct flt_journal *j)
{
    pthread_mutex_lock(&j->lock);
}

void flt_journal_unlock(struct flt_journal *j)
{
    pthread_mutex_unlock(&j->lock);
}

size_t flt_journal_count(struct flt_journal *j)
{
    pthread_mutex_lock(&j->lock);
    size_t n = j->count;
    pthread_mutex_unlock(&j->lock);
    return n;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int flt_journal_get(struct flt_journal *j, size_t idx, struct flt_jentry *out)
{
    pthread_mutex_lock(&j->lock);
    if (idx >= j->count) {
        pthread_mutex_unlock(&j->lock);
        return -1;
    }
    const struct flt_jentry *e = j->ring[(j->head + idx) % j->cap];
    *out = *e;
    out->target = dup_or_null(e->target);
    out->headers = dup_or_null(e->headers);
    out->range = dup_or_null(e->range);
    out->if_range = dup_or_null(e->if_range);
    out->parts = dup_or_null(e->parts);
    out->refs = 0;
    pthread_mutex_unlock(&j->lock);
    return 0;
}

void flt_jentry_release(struct flt_jentry *e)
{
    free(e->target);
    free(e->headers);
    free(e->range);
    free(e->if_range);
    free(e->parts);
    memset(e, 0, sizeof *e);
}

/* A JSON string of s; bytes that are not valid UTF-8 become '?'. */
static json_t *jstr(const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);
    if (v)
        return v;
    char *copy = strndup(s, len);
    if (!copy)
        return json_null();
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(copy);
    free(copy);
    return v ? v : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s ? jstr(s, strlen(s)) : json_null();
}

/* Headers as a JSON object; repeated names keep the last value. */
static json_t *headers_json(const char *h)
{
    json_t *o = json_object();
    for (const char *line = h; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *colon = memchr(line, ':', len);
        if (colon) {
            char *name = strndup(line, (size_t)(colon - line));
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            char *val = strndup(v, len - (size_t)(v - line));
            if (name && val)
                json_object_set_new(o, name, jstr(val, strlen(val)));
            free(name);
            free(val);
        }
        line = nl ? nl + 1 : NULL;
    }
    return o;
}

json_t *flt_jentry_json(const struct flt_jentry *e)
{
    json_t *o = json_pack("{sI sI sI sI ss ss}", "id", (json_int_t)e->id, "conn",
                          (json_int_t)e->conn, "t_ms", (json_int_t)e->t_ms, "end_ms",
                          (json_int_t)e->end_ms, "proto", e->proto, "method", e->method);
    if (!o)
        return NULL;
    json_object_set_new(o, "target", str_or_null(e->target));
    json_object_set_new(o, "headers", headers_json(e->headers));
    json_object_set_new(o, "range", str_or_null(e->range));
    json_object_set_new(o, "if_range", str_or_null(e->if_range));
    json_object_set_new(o, "status", json_integer(e->status));
    json_object_set_new(o, "offset", json_integer((json_int_t)e->offset));
    json_object_set_new(o, "sent", json_integer((json_int_t)e->sent));
    json_object_set_new(o, "length", json_integer((json_int_t)e->length));
    json_object_set_new(o, "received", json_integer((json_int_t)e->received));
    json_object_set_new(o, "received_sha256",
                        e->received_sha256[0] ? json_string(e->received_sha256) : json_null());
    json_object_set_new(o, "parts", str_or_null(e->parts));
    json_object_set_new(o, "fired", json_string(e->fired));
    json_object_set_new(o, "outcome", json_string(flt_outcome_name(e->outcome)));
    return o;
}

json_t *flt_journal_json(struct flt_journal *j, uint64_t since_id)
{
    json_t *a = json_array();
    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; a && i < j->count; i++) {
        const struct flt_jentry *e = j->ring[(j->head + i) % j->cap];
        if (e->id > since_id)
            json_array_append_new(a, flt_jentry_json(e));
    }
    pthread_mutex_unlock(&j->lock);
    return a;
}
