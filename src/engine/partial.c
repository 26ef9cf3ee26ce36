/*
 * partial: sampled SHA-256 over a file as it is written, and the resume check.
 * See partial.h for the sampling scheme. Reads use pread so the caller's file
 * offset is untouched.
 */
#include "partial.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

int partial_init(struct partial_hash *h, bool full)
{
    h->pos = 0;
    h->window = full ? PARTIAL_STRIDE : PARTIAL_WINDOW;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx)
        return -1;
    if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        partial_free(h);
        return -1;
    }
    return 0;
}

void partial_free(struct partial_hash *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

void partial_update(struct partial_hash *h, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) {
        uint64_t in_stride = h->pos % PARTIAL_STRIDE;
        size_t take;
        if (in_stride < h->window) {
            take = (size_t)(h->window - in_stride);
            if (take > n)
                take = n;
            EVP_DigestUpdate(h->ctx, p, take);
        } else {
            take = (size_t)(PARTIAL_STRIDE - in_stride);
            if (take > n)
                take = n;
        }
        p += take;
        n -= take;
        h->pos += take;
    }
}

static int read_exact(int fd, void *buf, size_t n, uint64_t off)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int partial_digest(struct partial_hash *h, int fd, unsigned char out[32])
{
    int rc = -ENOMEM;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_MD_CTX_copy_ex(c, h->ctx) != 1)
        goto out;
    if (h->window < PARTIAL_STRIDE && h->pos > 0) {
        unsigned char tail[PARTIAL_WINDOW];
        size_t n = h->pos < PARTIAL_WINDOW ? (size_t)h->pos : PARTIAL_WINDOW;
        if ((rc = read_exact(fd, tail, n, h->pos - n)) != 0)
            goto out;
        EVP_DigestUpdate(c, tail, n);
    }
    unsigned len = 32;
    rc = EVP_DigestFinal_ex(c, out, &len) == 1 ? 0 : -EIO;
out:
    EVP_MD_CTX_free(c);
    return rc;
}

int partial_verify(int fd, uint64_t n, const unsigned char want[32], bool full,
                   struct partial_hash *h)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    if ((uint64_t)st.st_size < n)
        return PARTIAL_SHORT;
    if (partial_init(h, full) != 0)
        return -ENOMEM;
    enum { CHUNK = 1 << 16 };
    unsigned char *buf = malloc(CHUNK);
    int rc = -ENOMEM;
    if (!buf)
        goto fail;
    uint64_t off = 0;
    while (off < n) {
        /* Read only what the hash samples: skip to the next window. */
        uint64_t in_stride = off % PARTIAL_STRIDE;
        if (in_stride >= h->window) {
            uint64_t skip = PARTIAL_STRIDE - in_stride;
            if (skip > n - off)
                skip = n - off;
            h->pos += skip;
            off += skip;
            continue;
        }
        size_t take = (size_t)(h->window - in_stride);
        if (take > CHUNK)
            take = CHUNK;
        if (take > n - off)
            take = (size_t)(n - off);
        if ((rc = read_exact(fd, buf, take, off)) != 0)
            goto fail;
        partial_update(h, buf, take);
        off += take;
    }
    free(buf);
    buf = NULL;
    unsigned char got[32];
    if ((rc = partial_digest(h, fd, got)) != 0)
        goto fail;
    if (memcmp(got, want, sizeof got) != 0) {
        partial_free(h);
        return PARTIAL_MISMATCH;
    }
    if (ftruncate(fd, (off_t)n) != 0) {
        rc = -errno;
        goto fail;
    }
    return PARTIAL_OK;
fail:
    free(buf);
    partial_free(h);
    return rc;
}

int partial_temp_name(const char *local, char *out, size_t len)
{
    const char *slash = strrchr(local, '/');
    int dirlen = slash ? (int)(slash - local) : 0;
    uuid_t u;
    uuid_generate_random(u);
    int n =
        snprintf(out, len, "%.*s/.BIT%02X%02X%02X%02X.tmp", dirlen, local, u[0], u[1], u[2], u[3]);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
