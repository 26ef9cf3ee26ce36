/*
 * pki: a test CA and four server certificates, made in memory with libcrypto.
 *
 * This file owns struct flt_pki, which holds PEM text only: one string for the
 * CA certificate and, per enum flt_cert_kind, one for the certificate and one
 * for its PKCS#8 key, plus the path of ca.pem when a directory was asked for.
 *
 * Data flow in flt_pki_create():
 *
 *     EVP_PKEY (CA key) -> X509 (CA, self-signed) -> PEM
 *     per kind: leaf_spec(kind) -> EVP_PKEY -> X509 (signed by the CA key, or by
 *               its own key for self-signed) -> PEM (cert, key)
 *     dir given: <name>.crt, <name>.key for every kind, then ca.pem last, each
 *               written to a mkostemp() name in dir and renamed into place
 *
 * Every OpenSSL object is local to one function and freed on every path; only
 * the PEM copies (plain malloc) reach the struct. OpenSSL errors are drained
 * from the thread's error queue into err so none is left behind for the
 * caller's next TLS call to trip over.
 */
#include "pki.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "units.h"

#define HOUR (60L * 60L)
#define DAY  (24L * HOUR)

#define CA_CN "xferlab test CA"
/*
 * OpenSSL and curl ignore a wildcard pattern with fewer than two dots, so
 * "*.test" matches no name at all (files.test included); files.test is listed
 * by name so that one .test host does work.
 */
#define GOOD_SAN "DNS:localhost,DNS:*.test,DNS:files.test,IP:127.0.0.1,IP:::1"

struct flt_pki {
    char *ca_pem;
    char *cert_pem[FLT_CERT__COUNT];
    char *key_pem[FLT_CERT__COUNT];
    char *ca_path; /* NULL when no directory was given */
};

/* One extension as the OpenSSL config language writes it. */
struct ext {
    int nid;
    const char *value;
};

/* What a leaf certificate looks like. */
struct leaf_spec {
    const char *cn;
    const char *san;
    long not_before, not_after; /* seconds from now */
    bool self_signed;
};

/* Write "what: <first OpenSSL reason>" to err and empty the error queue. */
static void ossl_fail(char *err, const char *what)
{
    unsigned long e = ERR_peek_error();
    char reason[160] = "unknown error";

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    snprintf(err, XL_ERRLEN, "%s: %s", what, reason);
    ERR_clear_error();
}

const char *flt_cert_kind_name(enum flt_cert_kind k)
{
    switch (k) {
    case FLT_CERT_VALID:
        return "valid";
    case FLT_CERT_EXPIRED:
        return "expired";
    case FLT_CERT_WRONG_HOST:
        return "wrong-host";
    case FLT_CERT_SELF_SIGNED:
        return "self-signed";
    case FLT_CERT__COUNT:
        break;
    }
    return NULL;
}

int flt_cert_kind_parse(const char *name, enum flt_cert_kind *out)
{
    if (name == NULL)
        return -1;
    for (int k = 0; k < FLT_CERT__COUNT; k++) {
        if (strcmp(name, flt_cert_kind_name((enum flt_cert_kind)k)) == 0) {
            *out = (enum flt_cert_kind)k;
            return 0;
        }
    }
    return -1;
}

/* The shape of each leaf. Returns 0, or -1 for FLT_CERT__COUNT. */
static int leaf_spec(enum flt_cert_kind k, struct leaf_spec *s)
{
    *s = (struct leaf_spec){"localhost", GOOD_SAN, -HOUR, 30 * DAY, false};
    switch (k) {
    case FLT_CERT_VALID:
        return 0;
    case FLT_CERT_EXPIRED:
        s->not_before = -30 * DAY;
        s->not_after = -DAY;
        return 0;
    case FLT_CERT_WRONG_HOST:
        s->cn = "wrong-host.invalid";
        s->san = "DNS:wrong-host.invalid";
        return 0;
    case FLT_CERT_SELF_SIGNED:
        s->self_signed = true;
        return 0;
    case FLT_CERT__COUNT:
        break;
    }
    return -1;
}

/* A fresh P-256 key in *out (caller owns; EVP_PKEY_free). */
static int gen_key(EVP_PKEY **out, char *err)
{
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (*out == NULL) {
        ossl_fail(err, "cannot generate an EC P-256 key");
        return -1;
    }
    return 0;
}

/* Give x a random, positive, non-zero 128-bit serial number. */
static int set_serial(X509 *x, char *err)
{
    unsigned char raw[16];
    BIGNUM *bn = NULL;
    int rc = -1;

    do {
        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            ossl_fail(err, "cannot draw a serial number");
            goto out;
        }
        raw[0] &= 0x7f; /* keep the DER encoding at 16 bytes, positive */
        BN_free(bn);
        bn = BN_bin2bn(raw, sizeof(raw), NULL);
        if (bn == NULL) {
            ossl_fail(err, "cannot make a serial number");
            goto out;
        }
    } while (BN_is_zero(bn));
    if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
        ossl_fail(err, "cannot set the serial number");
        goto out;
    }
    rc = 0;
out:
    BN_free(bn);
    return rc;
}

/*
 * Build a certificate for key with subject CN=cn, valid from now+not_before to
 * now+not_after seconds, carrying exts, signed with SHA-256 by issuer_key under
 * issuer's name, or self-signed by key when issuer is NULL. On success *out is
 * the certificate (caller owns; X509_free).
 */
static int make_cert(const char *cn, long not_before, long not_after, EVP_PKEY *key, X509 *issuer,
                     EVP_PKEY *issuer_key, const struct ext *exts, size_t nexts, X509 **out,
                     char *err)
{
    X509 *x = NULL;
    X509_NAME *name = NULL;
    X509V3_CTX ctx;
    int rc = -1;

    *out = NULL;
    x = X509_new();
    name = X509_NAME_new();
    if (x == NULL || name == NULL) {
        ossl_fail(err, "cannot allocate a certificate");
        goto out;
    }
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1) {
        ossl_fail(err, "cannot set the common name");
        goto out;
    }
    if (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_subject_name(x, name) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
        X509_set_pubkey(x, key) != 1) {
        ossl_fail(err, "cannot fill in the certificate");
        goto out;
    }
    if (X509_gmtime_adj(X509_getm_notBefore(x), not_before) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), not_after) == NULL) {
        ossl_fail(err, "cannot set the validity dates");
        goto out;
    }
    if (set_serial(x, err) < 0)
        goto out;

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    for (size_t i = 0; i < nexts; i++) {
        X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, exts[i].nid, exts[i].value);
        int ok = e != NULL && X509_add_ext(x, e, -1) == 1;

        X509_EXTENSION_free(e);
        if (!ok) {
            char what[96];

            snprintf(what, sizeof(what), "cannot add extension %s", OBJ_nid2sn(exts[i].nid));
            ossl_fail(err, what);
            goto out;
        }
    }
    if (X509_sign(x, issuer ? issuer_key : key, EVP_sha256()) <= 0) {
        ossl_fail(err, "cannot sign the certificate");
        goto out;
    }
    *out = x;
    x = NULL;
    rc = 0;
out:
    X509_NAME_free(name);
    X509_free(x);
    return rc;
}

/* Copy what bio holds into a fresh NUL-terminated string (caller owns; free). */
static char *bio_string(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    char *s;

    if (len < 0 || data == NULL)
        return NULL;
    s = malloc((size_t)len + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, data, (size_t)len);
    s[len] = '\0';
    return s;
}

/* PEM of x, or of key as unencrypted PKCS#8 (exactly one is non-NULL). Caller owns *out. */
static int to_pem(X509 *x, EVP_PKEY *key, char **out, char *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int ok;

    *out = NULL;
    if (bio == NULL) {
        ossl_fail(err, "cannot allocate a memory BIO");
        return -1;
    }
    if (x != NULL)
        ok = PEM_write_bio_X509(bio, x) == 1;
    else
        ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1;
    if (ok)
        *out = bio_string(bio);
    BIO_free(bio);
    if (!ok) {
        ossl_fail(err,
                  x != NULL ? "cannot write a certificate as PEM" : "cannot write a key as PEM");
        return -1;
    }
    if (*out == NULL) {
        snprintf(err, XL_ERRLEN, "out of memory");
        return -1;
    }
    return 0;
}

/* Make leaf k with its own key, signed by ca/ca_key unless it is self-signed; keep its PEM. */
static int make_leaf(struct flt_pki *pki, enum flt_cert_kind k, X509 *ca, EVP_PKEY *ca_key,
                     const char *good_san, char *err)
{
    static const struct ext signed_exts[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
    };
    /*
     * No keyUsage on the self-signed leaf: a keyUsage without keyCertSign makes
     * OpenSSL treat the certificate as "issued by someone unknown" rather than
     * "self-signed", and clients then report the less telling error.
     */
    static const struct ext self_exts[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_key_identifier, "hash"},
    };
    struct leaf_spec s;
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    struct ext exts[8];
    size_t n = 0;
    int rc = -1;

    if (leaf_spec(k, &s) < 0) {
        snprintf(err, XL_ERRLEN, "no certificate kind %d", (int)k);
        return -1;
    }
    if (strcmp(s.san, GOOD_SAN) == 0)
        s.san = good_san; /* with the caller's host names */
    if (s.self_signed) {
        memcpy(exts, self_exts, sizeof(self_exts));
        n = sizeof(self_exts) / sizeof(self_exts[0]);
    } else {
        memcpy(exts, signed_exts, sizeof(signed_exts));
        n = sizeof(signed_exts) / sizeof(signed_exts[0]);
    }
    exts[n++] = (struct ext){NID_subject_alt_name, s.san};

    if (gen_key(&key, err) < 0)
        goto out;
    if (make_cert(s.cn, s.not_before, s.not_after, key, s.self_signed ? NULL : ca,
                  s.self_signed ? NULL : ca_key, exts, n, &x, err) < 0)
        goto out;
    if (to_pem(x, NULL, &pki->cert_pem[k], err) < 0 || to_pem(NULL, key, &pki->key_pem[k], err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0) {
        char what[XL_ERRLEN];

        snprintf(what, sizeof(what), "%s", err);
        snprintf(err, XL_ERRLEN, "%s certificate: %.200s", flt_cert_kind_name(k), what);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* "dir/name" in a fresh string (caller owns; free), or NULL when out of memory. */
static char *join(const char *dir, const char *name)
{
    size_t dlen = strlen(dir);
    char *p;

    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    p = malloc(dlen + 1 + strlen(name) + 1);
    if (p != NULL)
        sprintf(p, "%.*s/%s", (int)dlen, dir, name);
    return p;
}

/* Create dir 0700 unless it exists already as a directory. */
static int ensure_dir(const char *dir, char *err)
{
    struct stat st;

    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST) {
        snprintf(err, XL_ERRLEN, "cannot create directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, XL_ERRLEN, "'%s' exists and is not a directory", dir);
        return -1;
    }
    return 0;
}

/*
 * Write text to dir/name with mode 0600: into a temporary file in dir first,
 * then rename(2) over the final name, so readers see the old file or the whole
 * new one. On success, and if path is not NULL, *path is the final path (caller
 * owns; free).
 */
static int write_file(const char *dir, const char *name, const char *text, char **path, char *err)
{
    char *final = NULL, *tmp = NULL, tmpname[80];
    size_t len = strlen(text), done = 0;
    int fd = -1, rc = -1;

    snprintf(tmpname, sizeof(tmpname), ".%s.XXXXXX", name);
    final = join(dir, name);
    tmp = join(dir, tmpname);
    if (final == NULL || tmp == NULL) {
        snprintf(err, XL_ERRLEN, "out of memory");
        goto out;
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, XL_ERRLEN, "cannot create a file in '%s': %s", dir, strerror(errno));
        free(tmp);
        tmp = NULL; /* nothing to unlink */
        goto out;
    }
    if (fchmod(fd, 0600) < 0) {
        snprintf(err, XL_ERRLEN, "cannot chmod '%s': %s", tmp, strerror(errno));
        goto out;
    }
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            snprintf(err, XL_ERRLEN, "cannot write '%s': %s", tmp, strerror(errno));
            goto out;
        }
        done += (size_t)w;
    }
    if (fsync(fd) < 0) {
        snprintf(err, XL_ERRLEN, "cannot sync '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        snprintf(err, XL_ERRLEN, "cannot close '%s': %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, final) < 0) {
        snprintf(err, XL_ERRLEN, "cannot rename '%s' to '%s': %s", tmp, final, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL; /* renamed: nothing to unlink */
    if (path != NULL) {
        *path = final;
        final = NULL;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL)
        unlink(tmp);
    free(tmp);
    free(final);
    return rc;
}

/* Write every leaf's .crt and .key, then ca.pem last; set pki->ca_path. */
static int write_dir(struct flt_pki *pki, const char *dir, char *err)
{
    if (ensure_dir(dir, err) < 0)
        return -1;
    for (int k = 0; k < FLT_CERT__COUNT; k++) {
        const char *kn = flt_cert_kind_name((enum flt_cert_kind)k);
        char name[64];

        snprintf(name, sizeof(name), "%s.key", kn);
        if (write_file(dir, name, pki->key_pem[k], NULL, err) < 0)
            return -1;
        snprintf(name, sizeof(name), "%s.crt", kn);
        if (write_file(dir, name, pki->cert_pem[k], NULL, err) < 0)
            return -1;
    }
    return write_file(dir, "ca.pem", pki->ca_pem, &pki->ca_path, err);
}

int flt_pki_create(const char *dir, struct flt_pki **out, char *err)
{
    return flt_pki_create_names(dir, NULL, 0, out, err);
}

/* GOOD_SAN plus DNS:name for each name; NULL with err for a name that is not a host name. */
static char *good_san(const char *const *names, size_t n, char *err)
{
    size_t len = sizeof GOOD_SAN;
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(names[i]);
        if (nl == 0 || nl > 253 ||
            strspn(names[i], "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != nl) {
            snprintf(err, XL_ERRLEN, "'%s' is not a host name", names[i]);
            return NULL;
        }
        len += nl + 5;
    }
    char *san = malloc(len);
    if (!san) {
        snprintf(err, XL_ERRLEN, "out of memory");
        return NULL;
    }
    size_t at = (size_t)snprintf(san, len, "%s", GOOD_SAN);
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(san + at, len - at, ",DNS:%s", names[i]);
    return san;
}

int flt_pki_create_names(const char *dir, const char *const *names, size_t nnames,
                         struct flt_pki **out, char *err)
{
    static const struct ext ca_exts[] = {
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,keyCertSign,cRLSign"},
        {NID_subject_key_identifier, "hash"},
    };
    struct flt_pki *pki = NULL;
    EVP_PKEY *ca_key = NULL;
    X509 *ca = NULL;
    int rc = -1;
    char *san = NULL;

    *out = NULL;
    san = good_san(names, nnames, err);
    if (san == NULL)
        goto out;
    pki = calloc(1, sizeof(*pki));
    if (pki == NULL) {
        snprintf(err, XL_ERRLEN, "out of memory");
        goto out;
    }
    if (gen_key(&ca_key, err) < 0 ||
        make_cert(CA_CN, -HOUR, 30 * DAY, ca_key, NULL, NULL, ca_exts,
                  sizeof(ca_exts) / sizeof(ca_exts[0]), &ca, err) < 0 ||
        to_pem(ca, NULL, &pki->ca_pem, err) < 0)
        goto out;
    for (int k = 0; k < FLT_CERT__COUNT; k++) {
        if (make_leaf(pki, (enum flt_cert_kind)k, ca, ca_key, san, err) < 0)
            goto out;
    }
    if (dir != NULL && write_dir(pki, dir, err) < 0)
        goto out;
    *out = pki;
    pki = NULL;
    rc = 0;
out:
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    flt_pki_free(pki);
    free(san);
    return rc;
}

void flt_pki_free(struct flt_pki *pki)
{
    if (pki == NULL)
        return;
    for (int k = 0; k < FLT_CERT__COUNT; k++) {
        free(pki->cert_pem[k]);
        free(pki->key_pem[k]);
    }
    free(pki->ca_pem);
    free(pki->ca_path);
    free(pki);
}

const char *flt_pki_cert_pem(const struct flt_pki *pki, enum flt_cert_kind k)
{
    if ((unsigned)k >= FLT_CERT__COUNT)
        return NULL;
    return pki->cert_pem[k];
}

const char *flt_pki_key_pem(const struct flt_pki *pki, enum flt_cert_kind k)
{
    if ((unsigned)k >= FLT_CERT__COUNT)
        return NULL;
    return pki->key_pem[k];
}

const char *flt_pki_ca_pem(const struct flt_pki *pki)
{
    return pki->ca_pem;
}

const char *flt_pki_ca_path(const struct flt_pki *pki)
{
    return pki->ca_path;
}
