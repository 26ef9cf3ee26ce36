/*
 * content: generated entities and the content root.
 *
 * The generator: 64-bit word i of (seed, version) is splitmix64's finaliser
 * applied to key ^ (i * golden ratio), where key mixes seed and version; bytes
 * are the words in little-endian order. Filling is a tight loop with no state
 * between words, which the compiler unrolls; an unaligned start or end costs
 * one extra word each.
 */
#include "content.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tue, 15 Nov 1994 12:45:26 GMT: version 0's Last-Modified (Chromium's test server uses it). */
#define GEN_EPOCH 784903526

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t gen_word(uint64_t key, uint64_t i)
{
    return mix64(key ^ (i * 0x9e3779b97f4a7c15ull));
}

void flt_gen_fill(uint64_t seed, unsigned version, uint64_t off, void *buf, size_t len)
{
    uint64_t key = mix64(seed ^ mix64((uint64_t)version + 0x51ed2701ull));
    unsigned char *out = buf;
    uint64_t w = off / 8;
    size_t skip = (size_t)(off % 8);
    if (skip && len) {
        uint64_t v = gen_word(key, w++);
        for (size_t b = skip; b < 8 && len; b++, len--)
            *out++ = (unsigned char)(v >> (8 * b));
    }
    size_t words = len / 8;
    for (size_t k = 0; k < words; k++) {
        uint64_t v = gen_word(key, w + k);
        memcpy(out + 8 * k, &v, 8); /* x86-64 and arm64 are little-endian */
    }
    out += 8 * words;
    w += words;
    len -= 8 * words;
    if (len) {
        uint64_t v = gen_word(key, w);
        for (size_t b = 0; b < len; b++)
            out[b] = (unsigned char)(v >> (8 * b));
    }
}

static void gen_validators(struct flt_entity *e)
{
    e->mtime = GEN_EPOCH + (time_t)e->version * 86400;
    snprintf(e->etag, sizeof e->etag, "\"%llx-%u-%llx\"", (unsigned long long)e->seed, e->version,
             (unsigned long long)e->size);
}

void flt_content_init(struct flt_content *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
}

void flt_content_clear(struct flt_content *c)
{
    pthread_mutex_lock(&c->lock);
    free(c->v);
    free(c->root);
    c->v = NULL;
    c->root = NULL;
    c->n = c->cap = 0;
    pthread_mutex_unlock(&c->lock);
}

static struct flt_entity *find(struct flt_content *c, const char *path)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].path, path) == 0)
            return &c->v[i];
    return NULL;
}

int flt_content_add_gen(struct flt_content *c, const char *path, uint64_t size, uint64_t seed,
                        char *err)
{
    if (path[0] != '/' || strlen(path) >= FLT_PATH_MAX) {
        snprintf(err, XL_ERRLEN,
                 "content path '%.64s' must start with '/' and be shorter "
                 "than %d bytes",
                 path, FLT_PATH_MAX);
        return -1;
    }
    int rc = -1;
    pthread_mutex_lock(&c->lock);
    struct flt_entity *e = find(c, path);
    if (!e) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 8;
            struct flt_entity *v = realloc(c->v, cap * sizeof *v);
            if (!v) {
                snprintf(err, XL_ERRLEN, "out of memory");
                goto out;
            }
            c->v = v;
            c->cap = cap;
        }
        e = &c->v[c->n++];
    }
    memset(e, 0, sizeof *e);
    snprintf(e->path, sizeof e->path, "%s", path);
    e->src = FLT_SRC_GEN;
    e->size = size;
    e->seed = seed;
    gen_validators(e);
    rc = 0;
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int flt_content_set_root(struct flt_content *c, const char *dir, char *err)
{
    char *real = realpath(dir, NULL);
    struct stat st;
    if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, XL_ERRLEN, "content root '%s': %s", dir,
                 real ? "not a directory" : strerror(errno));
        free(real);
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    free(c->root);
    c->root = real;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* A decoded path is safe under a root when no segment is "." or "..", and it has
 * no control bytes or backslashes (which some clients treat as separators). */
static int safe_path(const char *p)
{
    if (p[0] != '/')
        return 0;
    for (const char *s = p; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\\')
            return 0;
    for (const char *seg = p; seg; seg = strchr(seg + 1, '/')) {
        const char *s = seg + 1;
        size_t len = strcspn(s, "/");
        if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
    }
    return 1;
}

enum flt_lookup flt_content_lookup(struct flt_content *c, const char *path, struct flt_entity *out)
{
    enum flt_lookup res = FLT_NOT_FOUND;
    char full[FLT_PATH_MAX * 2];
    pthread_mutex_lock(&c->lock);
    struct flt_entity *e = find(c, path);
    if (e) {
        *out = *e;
        res = FLT_FOUND;
        goto out;
    }
    if (!c->root)
        goto out;
    if (!safe_path(path) || strlen(path) >= FLT_PATH_MAX) {
        res = FLT_FORBIDDEN;
        goto out;
    }
    snprintf(full, sizeof full, "%s%s", c->root, path);
    /* Symbolic links may not lead outside the root either. */
    char *real = realpath(full, NULL);
    if (!real)
        goto out;
    size_t rl = strlen(c->root);
    struct stat st;
    bool inside = strncmp(real, c->root, rl) == 0 &&
                  (rl == 1 || real[rl] == '/' || real[rl] == '\0'); /* rl == 1: root is "/" */
    if (!inside) {
        res = FLT_FORBIDDEN;
    } else if (stat(real, &st) == 0 && S_ISREG(st.st_mode)) {
        memset(out, 0, sizeof *out);
        snprintf(out->path, sizeof out->path, "%s", path);
        snprintf(out->file, sizeof out->file, "%s", real);
        out->src = FLT_SRC_FILE;
        out->size = (uint64_t)st.st_size;
        out->mtime = st.st_mtime;
        snprintf(out->etag, sizeof out->etag, "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
                 (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec);
        res = FLT_FOUND;
    } else if (stat(real, &st) == 0) {
        res = FLT_FORBIDDEN;
    }
    free(real);
out:
    pthread_mutex_unlock(&c->lock);
    return res;
}

int flt_content_change(struct flt_content *c, const char *path, uint64_t new_size)
{
    int rc = -1;
    pthread_mutex_lock(&c->lock);
    struct flt_entity *e = find(c, path);
    if (e && e->src == FLT_SRC_GEN) {
        e->version++;
        if (new_size)
            e->size = new_size;
        gen_validators(e);
        rc = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

ssize_t flt_entity_read(const struct flt_entity *e, int fd, uint64_t off, void *buf, size_t len)
{
    if (off >= e->size)
        return 0;
    if (len > e->size - off)
        len = (size_t)(e->size - off);
    switch (e->src) {
    case FLT_SRC_GEN:
        flt_gen_fill(e->seed, e->version, off, buf, len);
        return (ssize_t)len;
    case FLT_SRC_FILE: {
        size_t got = 0;
        while (got < len) {
            ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -1;
            if (n == 0)
                break;
            got += (size_t)n;
        }
        return (ssize_t)got;
    }
    }
    return -1;
}

void flt_entity_http_date(const struct flt_entity *e, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&e->mtime, &tm);
    strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}
