/*
 * test_rpc: the request decoder (valid requests, batches, every kind of bad
 * line), the response builders and the encoders of src/rpc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jobjson.h"
#include "platjson.h"
#include "rpc.h"

static void decode(const char *s, struct rpc_decoded *d)
{
    assert_int_equal(rpc_decode_line(s, strlen(s), d), 0);
}

static int err_code(const json_t *resp)
{
    return (int)json_integer_value(json_object_get(json_object_get(resp, "error"), "code"));
}

static void test_single(void **state)
{
    struct rpc_decoded d;
    (void)state;
    decode("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"job.list\",\"params\":{}}\n", &d);
    assert_false(d.batch);
    assert_int_equal(d.nrequests, 1);
    assert_int_equal(d.nerrors, 0);
    assert_string_equal(d.requests[0].method, "job.list");
    assert_int_equal(json_integer_value(d.requests[0].id), 7);
    assert_true(json_is_object(d.requests[0].params));
    rpc_decoded_free(&d);

    decode("{\"jsonrpc\":\"2.0\",\"method\":\"x\"}", &d); /* a notification */
    assert_int_equal(d.nrequests, 1);
    assert_null(d.requests[0].id);
    assert_null(d.requests[0].params);
    rpc_decoded_free(&d);
}

static void test_bad(void **state)
{
    static const struct {
        const char *line;
        int code;
    } cases[] = {
        {"", RPC_PARSE_ERROR},
        {"{", RPC_PARSE_ERROR},
        {"\xff\xfe", RPC_PARSE_ERROR},
        {"{\"a\":1}{\"b\":2}", RPC_PARSE_ERROR},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":1,\"id\":2}", RPC_PARSE_ERROR},
        {"42", RPC_INVALID_REQUEST},
        {"\"str\"", RPC_INVALID_REQUEST},
        {"[]", RPC_INVALID_REQUEST},
        {"{}", RPC_INVALID_REQUEST},
        {"{\"jsonrpc\":\"1.0\",\"method\":\"x\",\"id\":1}", RPC_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":1}", RPC_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":{}}", RPC_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":1,\"params\":3}", RPC_INVALID_REQUEST},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rpc_decoded d;
        decode(cases[i].line, &d);
        assert_int_equal(d.nrequests, 0);
        assert_int_equal(d.nerrors, 1);
        assert_int_equal(err_code(d.errors[0]), cases[i].code);
        rpc_decoded_free(&d);
    }
}

static void test_batch(void **state)
{
    struct rpc_decoded d;
    (void)state;
    decode("[{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"m1\"}, 1, "
           "{\"jsonrpc\":\"2.0\",\"method\":\"n\"}, {\"jsonrpc\":\"2.0\",\"id\":2}]",
           &d);
    assert_true(d.batch);
    assert_int_equal(d.nrequests, 2);
    assert_int_equal(d.nerrors, 2);
    assert_string_equal(json_string_value(d.requests[0].id), "a");
    /* the bad element with a valid id keeps its id */
    assert_int_equal(json_integer_value(json_object_get(d.errors[1], "id")), 2);
    rpc_decoded_free(&d);
}

static void test_too_large(void **state)
{
    struct rpc_decoded d;
    size_t n = RPC_MAX_LINE + 10;
    char *big = malloc(n);
    (void)state;
    assert_non_null(big);
    memset(big, ' ', n);
    assert_int_equal(rpc_decode_line(big, n, &d), 0);
    assert_int_equal(d.nerrors, 1);
    assert_int_equal(err_code(d.errors[0]), RPC_INVALID_REQUEST);
    rpc_decoded_free(&d);
    free(big);
}

static void test_encode(void **state)
{
    size_t len;
    json_t *v = rpc_result_response(NULL, json_pack("{s:s}", "k", "a\nb"));
    char *line = rpc_encode_line(v, &len);
    (void)state;
    assert_non_null(line);
    assert_int_equal(strlen(line), len);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1)); /* no raw newline inside */
    free(line);
    json_decref(v);
}

static void test_engine_error(void **state)
{
    const struct xfer_error_row *r = xfer_error_by_name("BG_E_NOT_FOUND");
    json_t *e = rpc_engine_error(r->hr, "no job");
    (void)state;
    assert_int_equal(json_integer_value(json_object_get(e, "code")), -2145386495);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "data"), "hr")),
                        "0x80200001");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "data"), "name")),
                        "BG_E_NOT_FOUND");
    json_decref(e);
}

static void test_platform(void **state)
{
    struct xfer_platform p = {.connectivity = XFER_NET_INTERNET}, q;
    char err[128];
    json_t *o = rpc_platform_json(&p), *bad;
    (void)state;
    assert_string_equal(json_string_value(json_object_get(o, "connectivity")), "internet");
    assert_string_equal(json_string_value(json_object_get(o, "cost")), "unrestricted");
    q = p;
    json_object_set_new(o, "roaming", json_true());
    json_object_set_new(o, "cost", json_string("variable"));
    assert_int_equal(rpc_platform_apply(o, &q, err, sizeof err), 0);
    assert_true(q.roaming);
    assert_int_equal(q.cost, XFER_COST_VARIABLE);
    bad = json_pack("{s:s}", "cost", "free");
    assert_int_equal(rpc_platform_apply(bad, &q, err, sizeof err), -1);
    assert_non_null(strstr(err, "cost"));
    assert_int_equal(q.cost, XFER_COST_VARIABLE); /* unchanged on error */
    json_decref(bad);
    bad = json_pack("{s:i}", "charging", 1);
    assert_int_equal(rpc_platform_apply(bad, &q, err, sizeof err), -1);
    json_decref(bad);
    json_decref(o);
}

static void test_event_and_type(void **state)
{
    struct xfer_event ev = {.type = XFER_EV_STATE,
                            .old_state = XFER_QUEUED,
                            .new_state = XFER_CONNECTING,
                            .cause = "resume",
                            .time_ms = 5};
    json_t *o = rpc_event_json(&ev);
    enum xfer_job_type t;
    (void)state;
    assert_string_equal(json_string_value(json_object_get(o, "type")), "state");
    assert_string_equal(json_string_value(json_object_get(o, "new")), "CONNECTING");
    assert_string_equal(json_string_value(json_object_get(o, "hr")), "0x00000000");
    json_decref(o);
    assert_string_equal(rpc_job_type_name(XFER_DOWNLOAD), "download");
    assert_true(rpc_job_type_parse("upload", &t));
    assert_int_equal(t, XFER_UPLOAD);
    assert_false(rpc_job_type_parse("sideways", &t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single),   cmocka_unit_test(test_bad),
        cmocka_unit_test(test_batch),    cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_encode),   cmocka_unit_test(test_engine_error),
        cmocka_unit_test(test_platform), cmocka_unit_test(test_event_and_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
