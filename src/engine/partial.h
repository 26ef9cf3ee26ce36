/*
 * partial: temporary files and the check of a partial file against its
 * checkpoint (semantics.md §3.4, "BaseFile resume check").
 *
 * While a file downloads, a partial_hash is fed every byte written, in order.
 * It hashes (SHA-256) a sample of the data: the first PARTIAL_WINDOW bytes of
 * every PARTIAL_STRIDE, so the cost is 1/256 of the bytes and a 1 GiB download
 * spends a few milliseconds hashing. A checkpoint's digest is that sample plus
 * the last PARTIAL_WINDOW bytes before the checkpoint (read back from the file),
 * so truncation, a rewritten tail and any change inside a sampled window are
 * caught. With full verification (xfer_config.full_verify) the window is the
 * whole stride and every byte is hashed, as Chromium does.
 *
 * Before a resume, partial_verify re-reads the file: fewer bytes than the
 * checkpoint → PARTIAL_SHORT (FileTooShort); a different digest →
 * PARTIAL_MISMATCH (FileHashMismatch); otherwise the file is cut back to the
 * checkpoint and the hash state is returned ready to continue from there.
 */
#ifndef XFER_PARTIAL_H
#define XFER_PARTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PARTIAL_STRIDE (1u << 20)
#define PARTIAL_WINDOW 4096u

struct partial_hash {
    void *ctx;       /* EVP_MD_CTX, owned */
    uint64_t pos;    /* bytes fed so far */
    uint32_t window; /* bytes hashed per stride */
};

enum partial_result { PARTIAL_OK, PARTIAL_SHORT, PARTIAL_MISMATCH };

/* Start a hash at byte 0. Returns 0 or -1 (ENOMEM). */
int partial_init(struct partial_hash *h, bool full);
void partial_free(struct partial_hash *h);
/* Feed bytes [h->pos, h->pos + n). */
void partial_update(struct partial_hash *h, const void *buf, size_t n);
/* The checkpoint digest of the first h->pos bytes, reading the tail from fd. 0 or -errno. */
int partial_digest(struct partial_hash *h, int fd, unsigned char out[32]);
/*
 * Check fd against a checkpoint of n bytes with digest want. On PARTIAL_OK the
 * file is truncated to n and *h (initialised here) continues from n. On
 * PARTIAL_SHORT or PARTIAL_MISMATCH *h is not initialised. Returns the result,
 * or -errno on an I/O error.
 */
int partial_verify(int fd, uint64_t n, const unsigned char want[32], bool full,
                   struct partial_hash *h);

/*
 * A hidden, unique temporary name beside local: "<dir>/.BIT<8 hex>.tmp".
 * Returns 0, or -1 when the result would not fit in len.
 */
int partial_temp_name(const char *local, char *out, size_t len);

#endif
