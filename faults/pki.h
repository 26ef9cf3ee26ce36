/*
 * pki: the throw-away certificates the fault-injecting HTTPS server presents.
 *
 * This module owns a test CA and four server certificates, each with its own
 * key, all made at run time in memory with libcrypto (EC P-256, SHA-256,
 * random 128-bit serials). Nothing is read from disk and nothing outlives the
 * process unless a directory is asked for.
 *
 * Data flow: flt_pki_create() generates the CA, then each leaf, and keeps only
 * their PEM text (certificate, PKCS#8 key) in a struct flt_pki; the OpenSSL
 * objects are freed before it returns. The HTTPS server reads the PEM of the
 * kind a test asks for; the client under test is pointed at the CA's PEM (or at
 * ca.pem in the directory) so that only FLT_CERT_VALID passes verification.
 *
 *     kind          issuer       dates               names
 *     valid         test CA      now-1h .. now+30d   localhost, *.test, files.test,
 *                                                     127.0.0.1, ::1
 *     expired       test CA      now-30d .. now-1d   as valid
 *     wrong-host    test CA      now-1h .. now+30d   wrong-host.invalid only
 *     self-signed   itself       now-1h .. now+30d   as valid
 *
 * Of the .test names only files.test is usable: OpenSSL and curl ignore a
 * wildcard that covers just two labels, so *.test matches nothing. Other host
 * names are added by flt_pki_create_names (the harness adds its origins').
 */
#ifndef FLT_PKI_H
#define FLT_PKI_H

#include <stddef.h>

/* Which certificate the server presents. */
enum flt_cert_kind {
    FLT_CERT_VALID,       /* signed by the test CA, names localhost and 127.0.0.1 */
    FLT_CERT_EXPIRED,     /* as valid, but notAfter is yesterday */
    FLT_CERT_WRONG_HOST,  /* signed by the test CA for wrong-host.invalid only */
    FLT_CERT_SELF_SIGNED, /* names as valid, but signed by its own key */
    FLT_CERT__COUNT
};

struct flt_pki; /* opaque */

/*
 * Make a CA and the four leaves. If dir is not NULL, also write ca.pem and,
 * per kind, <name>.crt and <name>.key (names from flt_cert_kind_name) into dir
 * (created 0700 if missing; files 0600; written to a temp name then renamed,
 * so no half-written file is ever seen). Caller owns *out and frees it with
 * flt_pki_free. Returns 0, or -1 with err (XL_ERRLEN bytes).
 */
int flt_pki_create(const char *dir, struct flt_pki **out, char *err);
/*
 * The same, with names[0..n) (host names such as "cdn.test") added to the
 * subjectAltName of every leaf that carries the valid names (valid, expired,
 * self-signed): a harness names each of its origins. A name that is not a host
 * name is refused (-1, err).
 */
int flt_pki_create_names(const char *dir, const char *const *names, size_t n, struct flt_pki **out,
                         char *err);
/* Release everything pki owns (NULL is allowed). Files written to dir stay. */
void flt_pki_free(struct flt_pki *pki);

/* "valid", "expired", "wrong-host", "self-signed"; NULL for an out-of-range k. */
const char *flt_cert_kind_name(enum flt_cert_kind k);
/* Store the kind named name (as flt_cert_kind_name spells it) in *out. Returns 0 or -1. */
int flt_cert_kind_parse(const char *name, enum flt_cert_kind *out);

/* NUL-terminated PEM of the certificate of kind k, owned by pki. */
const char *flt_pki_cert_pem(const struct flt_pki *pki, enum flt_cert_kind k);
/* NUL-terminated PKCS#8 PEM (unencrypted) of the key of kind k, owned by pki. */
const char *flt_pki_key_pem(const struct flt_pki *pki, enum flt_cert_kind k);
/* NUL-terminated PEM of the CA certificate, owned by pki. */
const char *flt_pki_ca_pem(const struct flt_pki *pki);
/* Path of ca.pem, owned by pki, or NULL when dir was NULL. */
const char *flt_pki_ca_path(const struct flt_pki *pki);

#endif
