/*
 * test_pki: the test PKI behaves as the fault server's TLS scenarios need.
 *
 * One struct flt_pki is made in the group setup and shared by the in-memory
 * tests; each of them parses the PEM it needs back with libcrypto and checks it
 * the way a TLS client would: chain verification against the test CA
 * (X509_verify_cert), host and IP matching (X509_check_host, X509_check_ip_asc)
 * and key/certificate pairing (X509_check_private_key). The directory tests
 * make their own PKI under a mkdtemp() directory in /tmp and remove every file
 * they create.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
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
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "units.h"

/* Parse a PEM certificate (caller owns; X509_free). */
static X509 *cert_from_pem(const char *pem)
{
    BIO *bio;
    X509 *x;

    assert_non_null(pem);
    bio = BIO_new_mem_buf(pem, -1);
    assert_non_null(bio);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(x);
    return x;
}

/* Parse a PEM private key (caller owns; EVP_PKEY_free). */
static EVP_PKEY *key_from_pem(const char *pem)
{
    BIO *bio;
    EVP_PKEY *k;

    assert_non_null(pem);
    bio = BIO_new_mem_buf(pem, -1);
    assert_non_null(bio);
    k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(k);
    return k;
}

static X509 *leaf(const struct flt_pki *pki, enum flt_cert_kind k)
{
    return cert_from_pem(flt_pki_cert_pem(pki, k));
}

/* Verify kind k as a TLS server certificate against the test CA; the X509_V_* result. */
static int verify(const struct flt_pki *pki, enum flt_cert_kind k)
{
    X509 *ca = cert_from_pem(flt_pki_ca_pem(pki));
    X509 *x = leaf(pki, k);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc;

    assert_non_null(store);
    assert_non_null(ctx);
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
    assert_int_equal(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER), 1);
    rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(x);
    X509_free(ca);
    ERR_clear_error();
    return rc;
}

static int host_ok(X509 *x, const char *host)
{
    return X509_check_host(x, host, 0, 0, NULL);
}

/* The subject CN of x, in a static buffer. */
static const char *cn_of(X509 *x)
{
    static char buf[128];

    assert_true(
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf)) > 0);
    return buf;
}

static int group_setup(void **state)
{
    char err[XL_ERRLEN] = "";
    struct flt_pki *pki = NULL;

    if (flt_pki_create(NULL, &pki, err) < 0) {
        print_error("flt_pki_create: %s\n", err);
        return -1;
    }
    *state = pki;
    return 0;
}

static int group_teardown(void **state)
{
    flt_pki_free(*state);
    return 0;
}

static void test_kind_names(void **state)
{
    enum flt_cert_kind k;
    static const char *const want[FLT_CERT__COUNT] = {"valid", "expired", "wrong-host",
                                                      "self-signed"};

    (void)state;
    for (int i = 0; i < FLT_CERT__COUNT; i++) {
        const char *name = flt_cert_kind_name((enum flt_cert_kind)i);

        assert_string_equal(name, want[i]);
        k = FLT_CERT__COUNT;
        assert_int_equal(flt_cert_kind_parse(name, &k), 0);
        assert_int_equal(k, i);
    }
    k = FLT_CERT_EXPIRED;
    assert_int_equal(flt_cert_kind_parse("bogus", &k), -1);
    assert_int_equal(flt_cert_kind_parse("", &k), -1);
    assert_int_equal(flt_cert_kind_parse("Valid", &k), -1);
    assert_int_equal(flt_cert_kind_parse(NULL, &k), -1);
    assert_int_equal(k, FLT_CERT_EXPIRED);
    assert_null(flt_cert_kind_name(FLT_CERT__COUNT));
}

static void test_ca(void **state)
{
    const struct flt_pki *pki = *state;
    X509 *ca = cert_from_pem(flt_pki_ca_pem(pki));
    EVP_PKEY *pub = X509_get0_pubkey(ca);
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(ca, NID_basic_constraints, &crit, NULL);

    assert_string_equal(cn_of(ca), "xferlab test CA");
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(ca), X509_get_issuer_name(ca)), 0);
    assert_int_equal(X509_verify(ca, pub), 1);
    assert_int_equal(X509_check_ca(ca), 1);
    assert_non_null(bc);
    assert_true(bc->ca);
    assert_int_equal(crit, 1);
    BASIC_CONSTRAINTS_free(bc);
    assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(ca));
    assert_true(X509_cmp_current_time(X509_get0_notBefore(ca)) < 0);
    assert_true(X509_cmp_current_time(X509_get0_notAfter(ca)) > 0);
    assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
    assert_int_equal(X509_get_signature_nid(ca), NID_ecdsa_with_SHA256);
    assert_null(flt_pki_ca_path(pki));
    X509_free(ca);
}

static void test_valid(void **state)
{
    const struct flt_pki *pki = *state;
    X509 *x = leaf(pki, FLT_CERT_VALID);
    char group[32];
    size_t glen = 0;

    assert_int_equal(verify(pki, FLT_CERT_VALID), X509_V_OK);
    assert_string_equal(cn_of(x), "localhost");
    assert_int_equal(host_ok(x, "localhost"), 1);
    /* by its own SAN: OpenSSL ignores "*.test", a wildcard over two labels */
    assert_int_equal(host_ok(x, "files.test"), 1);
    assert_int_equal(host_ok(x, "example.com"), 0);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.2", 0), 0);
    assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
    assert_int_equal(X509_check_ca(x), 0);
    assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
    assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    assert_int_equal(EVP_PKEY_get_group_name(X509_get0_pubkey(x), group, sizeof(group), &glen), 1);
    assert_string_equal(group, "prime256v1");
    X509_free(x);
}

/* A harness's origin names join the valid names; the wrong-host leaf keeps its one name. */
static void test_names(void **state)
{
    (void)state;
    const char *names[] = {"cdn.test", "mirror-2.test"};
    struct flt_pki *pki = NULL;
    char err[XL_ERRLEN];
    assert_int_equal(flt_pki_create_names(NULL, names, 2, &pki, err), 0);
    X509 *x = leaf(pki, FLT_CERT_VALID);
    assert_int_equal(verify(pki, FLT_CERT_VALID), X509_V_OK);
    assert_int_equal(host_ok(x, "cdn.test"), 1);
    assert_int_equal(host_ok(x, "mirror-2.test"), 1);
    assert_int_equal(host_ok(x, "files.test"), 1);
    assert_int_equal(host_ok(x, "other.test"), 0);
    X509_free(x);
    x = leaf(pki, FLT_CERT_SELF_SIGNED);
    assert_int_equal(host_ok(x, "cdn.test"), 1);
    X509_free(x);
    x = leaf(pki, FLT_CERT_WRONG_HOST);
    assert_int_equal(host_ok(x, "cdn.test"), 0);
    X509_free(x);
    flt_pki_free(pki);

    const char *bad[] = {"cdn.test,DNS:evil.test"};
    pki = NULL;
    assert_int_equal(flt_pki_create_names(NULL, bad, 1, &pki, err), -1);
    assert_null(pki);
    assert_non_null(strstr(err, "is not a host name"));
}

static void test_expired(void **state)
{
    const struct flt_pki *pki = *state;
    X509 *x = leaf(pki, FLT_CERT_EXPIRED);

    assert_int_equal(verify(pki, FLT_CERT_EXPIRED), X509_V_ERR_CERT_HAS_EXPIRED);
    assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
    assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) < 0);
    /* only the dates are wrong */
    assert_int_equal(host_ok(x, "localhost"), 1);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    X509_free(x);
}

static void test_wrong_host(void **state)
{
    const struct flt_pki *pki = *state;
    X509 *x = leaf(pki, FLT_CERT_WRONG_HOST);

    assert_int_equal(verify(pki, FLT_CERT_WRONG_HOST), X509_V_OK);
    assert_string_equal(cn_of(x), "wrong-host.invalid");
    assert_int_equal(host_ok(x, "wrong-host.invalid"), 1);
    assert_int_equal(host_ok(x, "localhost"), 0);
    assert_int_equal(host_ok(x, "files.test"), 0);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 0);
    assert_int_equal(X509_check_ip_asc(x, "::1", 0), 0);
    X509_free(x);
}

static void test_self_signed(void **state)
{
    const struct flt_pki *pki = *state;
    X509 *x = leaf(pki, FLT_CERT_SELF_SIGNED);
    X509 *ca = cert_from_pem(flt_pki_ca_pem(pki));
    int v = verify(pki, FLT_CERT_SELF_SIGNED);

    /* "self-signed certificate", not "unable to get local issuer": pki.c leaves out keyUsage */
    assert_int_equal(v, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    assert_int_equal(X509_self_signed(x, 1), 1);
    assert_int_not_equal(X509_check_issued(ca, x), X509_V_OK);
    assert_string_equal(cn_of(x), "localhost");
    assert_int_equal(host_ok(x, "localhost"), 1);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
    ERR_clear_error();
    X509_free(ca);
    X509_free(x);
}

static void test_keys_match(void **state)
{
    const struct flt_pki *pki = *state;
    X509 *certs[FLT_CERT__COUNT];
    EVP_PKEY *keys[FLT_CERT__COUNT];

    for (int k = 0; k < FLT_CERT__COUNT; k++) {
        const char *pem = flt_pki_key_pem(pki, (enum flt_cert_kind)k);

        assert_non_null(pem);
        assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
        certs[k] = leaf(pki, (enum flt_cert_kind)k);
        keys[k] = key_from_pem(pem);
    }
    for (int i = 0; i < FLT_CERT__COUNT; i++) {
        for (int j = 0; j < FLT_CERT__COUNT; j++)
            assert_int_equal(X509_check_private_key(certs[i], keys[j]), i == j);
        /* a fresh key and a fresh serial per certificate */
        for (int j = 0; j < i; j++) {
            assert_int_not_equal(EVP_PKEY_eq(keys[i], keys[j]), 1);
            assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(certs[i]),
                                                  X509_get0_serialNumber(certs[j])),
                                 0);
        }
    }
    for (int k = 0; k < FLT_CERT__COUNT; k++) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certs[k]), NULL);

        assert_non_null(bn);
        assert_false(BN_is_negative(bn));
        assert_true(BN_num_bits(bn) > 64 && BN_num_bits(bn) <= 128);
        BN_free(bn);
        X509_free(certs[k]);
        EVP_PKEY_free(keys[k]);
    }
    ERR_clear_error();
}

static void test_out_of_range(void **state)
{
    const struct flt_pki *pki = *state;

    assert_null(flt_pki_cert_pem(pki, FLT_CERT__COUNT));
    assert_null(flt_pki_key_pem(pki, FLT_CERT__COUNT));
    flt_pki_free(NULL);
}

/* Read a whole file (caller owns; free). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static void check_file(const char *dir, const char *name, const char *want)
{
    char path[512];
    struct stat st;
    char *got;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    got = slurp(path);
    assert_string_equal(got, want);
    free(got);
}

/* Names in dir, "." and ".." aside. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Unlink every file flt_pki_create writes in dir, then dir itself. */
static void remove_pki_dir(const char *dir)
{
    char path[512];

    for (int k = 0; k < FLT_CERT__COUNT; k++) {
        const char *name = flt_cert_kind_name((enum flt_cert_kind)k);

        snprintf(path, sizeof(path), "%s/%s.crt", dir, name);
        unlink(path);
        snprintf(path, sizeof(path), "%s/%s.key", dir, name);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/ca.pem", dir);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

static void test_dir(void **state)
{
    char top[] = "/tmp/test_pki.XXXXXX";
    char dir[64], want_ca[128], err[XL_ERRLEN] = "";
    struct flt_pki *pki = NULL, *again = NULL;
    struct stat st;

    (void)state;
    assert_non_null(mkdtemp(top));
    snprintf(dir, sizeof(dir), "%s/certs", top); /* missing: created 0700 */
    if (flt_pki_create(dir, &pki, err) < 0)
        fail_msg("flt_pki_create: %s", err);
    assert_non_null(pki);
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);

    snprintf(want_ca, sizeof(want_ca), "%s/ca.pem", dir);
    assert_non_null(flt_pki_ca_path(pki));
    assert_string_equal(flt_pki_ca_path(pki), want_ca);
    check_file(dir, "ca.pem", flt_pki_ca_pem(pki));
    for (int k = 0; k < FLT_CERT__COUNT; k++) {
        enum flt_cert_kind kind = (enum flt_cert_kind)k;
        char name[64], path[600];
        X509 *x;
        EVP_PKEY *key;
        char *pem;

        snprintf(name, sizeof(name), "%s.crt", flt_cert_kind_name(kind));
        check_file(dir, name, flt_pki_cert_pem(pki, kind));
        snprintf(name, sizeof(name), "%s.key", flt_cert_kind_name(kind));
        check_file(dir, name, flt_pki_key_pem(pki, kind));

        /* what is on disk parses back and pairs up */
        snprintf(path, sizeof(path), "%s/%s.crt", dir, flt_cert_kind_name(kind));
        pem = slurp(path);
        x = cert_from_pem(pem);
        free(pem);
        snprintf(path, sizeof(path), "%s/%s.key", dir, flt_cert_kind_name(kind));
        pem = slurp(path);
        key = key_from_pem(pem);
        free(pem);
        assert_int_equal(X509_check_private_key(x, key), 1);
        EVP_PKEY_free(key);
        X509_free(x);
    }
    /* ca.pem plus a .crt and a .key per kind, and no temporary left behind */
    assert_int_equal(count_entries(dir), 1 + 2 * FLT_CERT__COUNT);

    /* a second PKI replaces the files in an existing directory */
    if (flt_pki_create(dir, &again, err) < 0)
        fail_msg("flt_pki_create again: %s", err);
    assert_string_not_equal(flt_pki_ca_pem(again), flt_pki_ca_pem(pki));
    check_file(dir, "ca.pem", flt_pki_ca_pem(again));
    check_file(dir, "valid.crt", flt_pki_cert_pem(again, FLT_CERT_VALID));
    assert_int_equal(count_entries(dir), 1 + 2 * FLT_CERT__COUNT);

    flt_pki_free(again);
    flt_pki_free(pki);
    remove_pki_dir(dir);
    assert_int_equal(rmdir(top), 0);
}

static void test_dir_errors(void **state)
{
    char top[] = "/tmp/test_pki.XXXXXX";
    char path[512], err[XL_ERRLEN];
    struct flt_pki *pki = (struct flt_pki *)1;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(top));

    /* the parent is missing: no recursive creation */
    snprintf(path, sizeof(path), "%s/no/such", top);
    err[0] = '\0';
    assert_int_equal(flt_pki_create(path, &pki, err), -1);
    assert_null(pki);
    assert_non_null(strstr(err, "cannot create directory"));

    /* a regular file where the directory should be */
    snprintf(path, sizeof(path), "%s/file", top);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    err[0] = '\0';
    assert_int_equal(flt_pki_create(path, &pki, err), -1);
    assert_null(pki);
    assert_non_null(strstr(err, "not a directory"));
    assert_int_equal(unlink(path), 0);

    assert_int_equal(count_entries(top), 0);
    assert_int_equal(rmdir(top), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names), cmocka_unit_test(test_ca),
        cmocka_unit_test(test_valid),      cmocka_unit_test(test_expired),
        cmocka_unit_test(test_wrong_host), cmocka_unit_test(test_self_signed),
        cmocka_unit_test(test_keys_match), cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_dir),        cmocka_unit_test(test_dir_errors),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
