/*
 * test_partial: the partial-file check (partial.h). A file written through a
 * partial_hash and checkpointed verifies; a shorter one is PARTIAL_SHORT; a
 * change inside a sampled window or in the tail is PARTIAL_MISMATCH; with
 * full verification every byte counts. Also: a verified file is cut back to
 * the checkpoint and the hash continues from there.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "partial.h"

#define SIZE (5u * PARTIAL_STRIDE + 12345u)

static int make_file(unsigned char **data, bool full, uint64_t ck, unsigned char digest[32])
{
    char path[] = "/tmp/xferlab-partial-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    *data = malloc(SIZE);
    assert_non_null(*data);
    for (size_t i = 0; i < SIZE; i++)
        (*data)[i] = (unsigned char)((i * 2654435761u) >> 13);
    struct partial_hash h;
    assert_int_equal(partial_init(&h, full), 0);
    /* written in uneven pieces, as a network delivers them; checkpoint at ck */
    size_t off = 0, piece = 1;
    while (off < SIZE) {
        size_t end = off < ck ? ck : SIZE;
        size_t n = piece < end - off ? piece : end - off;
        assert_int_equal(pwrite(fd, *data + off, n, (off_t)off), (ssize_t)n);
        partial_update(&h, *data + off, n);
        off += n;
        piece = piece * 3 + 7;
        if (off == ck)
            assert_int_equal(partial_digest(&h, fd, digest), 0);
    }
    assert_int_equal(h.pos, SIZE);
    partial_free(&h);
    return fd;
}

static void flip(int fd, uint64_t at)
{
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, (off_t)at), 1);
    b ^= 0xff;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)at), 1);
}

static void test_verify_ok_and_continue(void **state)
{
    (void)state;
    const uint64_t ck = 3u * PARTIAL_STRIDE + 777;
    unsigned char *data, digest[32];
    int fd = make_file(&data, false, ck, digest);
    struct partial_hash h;
    assert_int_equal(partial_verify(fd, ck, digest, false, &h), PARTIAL_OK);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, ck); /* cut back to the checkpoint */
    assert_int_equal(h.pos, ck);
    /* Continue from the checkpoint: the digest at the end equals a fresh one. */
    assert_int_equal(pwrite(fd, data + ck, SIZE - ck, (off_t)ck), (ssize_t)(SIZE - ck));
    partial_update(&h, data + ck, SIZE - ck);
    unsigned char end1[32], end2[32];
    assert_int_equal(partial_digest(&h, fd, end1), 0);
    partial_free(&h);
    assert_int_equal(partial_init(&h, false), 0);
    partial_update(&h, data, SIZE);
    assert_int_equal(partial_digest(&h, fd, end2), 0);
    partial_free(&h);
    assert_memory_equal(end1, end2, 32);
    close(fd);
    free(data);
}

static void test_short_and_mismatch(void **state)
{
    (void)state;
    const uint64_t ck = 4u * PARTIAL_STRIDE + 100;
    for (int full = 0; full < 2; full++) {
        unsigned char *data, digest[32];
        struct partial_hash h;
        int fd = make_file(&data, full, ck, digest);
        /* inside the first window of the third stride */
        flip(fd, 2u * PARTIAL_STRIDE + 10);
        assert_int_equal(partial_verify(fd, ck, digest, full, &h), PARTIAL_MISMATCH);
        flip(fd, 2u * PARTIAL_STRIDE + 10);
        /* in the tail just before the checkpoint */
        flip(fd, ck - 1);
        assert_int_equal(partial_verify(fd, ck, digest, full, &h), PARTIAL_MISMATCH);
        flip(fd, ck - 1);
        /* beyond the checkpoint: not part of it */
        flip(fd, ck + 10);
        assert_int_equal(partial_verify(fd, ck, digest, full, &h), PARTIAL_OK);
        partial_free(&h);
        /* shorter than the checkpoint */
        assert_int_equal(ftruncate(fd, (off_t)ck - 1), 0);
        assert_int_equal(partial_verify(fd, ck, digest, full, &h), PARTIAL_SHORT);
        close(fd);
        free(data);
    }
}

/* What sampling gives up: a change between windows passes; full mode catches it. */
static void test_sampling_tradeoff(void **state)
{
    (void)state;
    const uint64_t ck = 4u * PARTIAL_STRIDE;
    const uint64_t between = PARTIAL_STRIDE + PARTIAL_WINDOW + 1000;
    unsigned char *data, digest[32];
    struct partial_hash h;
    int fd = make_file(&data, false, ck, digest);
    flip(fd, between);
    assert_int_equal(partial_verify(fd, ck, digest, false, &h), PARTIAL_OK);
    partial_free(&h);
    close(fd);
    free(data);
    fd = make_file(&data, true, ck, digest);
    flip(fd, between);
    assert_int_equal(partial_verify(fd, ck, digest, true, &h), PARTIAL_MISMATCH);
    close(fd);
    free(data);
}

static void test_temp_name(void **state)
{
    (void)state;
    char a[256], b[256], small[16];
    assert_int_equal(partial_temp_name("/srv/dl/file.iso", a, sizeof a), 0);
    assert_int_equal(partial_temp_name("/srv/dl/file.iso", b, sizeof b), 0);
    assert_int_equal(strncmp(a, "/srv/dl/.BIT", 12), 0);
    assert_string_equal(a + strlen(a) - 4, ".tmp");
    assert_string_not_equal(a, b);
    assert_int_equal(partial_temp_name("/srv/dl/file.iso", small, sizeof small), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_ok_and_continue),
        cmocka_unit_test(test_short_and_mismatch),
        cmocka_unit_test(test_sampling_tradeoff),
        cmocka_unit_test(test_temp_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
