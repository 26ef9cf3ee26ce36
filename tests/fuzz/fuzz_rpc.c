/*
 * fuzz_rpc: xferd's request decoder (src/rpc/rpc.c) on arbitrary bytes. Every
 * input must decode without crashing; every error response it produces must
 * encode as one line, and every accepted request must have a method.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rpc_decoded d;
    size_t i, len;
    if (rpc_decode_line((const char *)data, size, &d) < 0)
        return 0;
    for (i = 0; i < d.nerrors; i++) {
        char *line = rpc_encode_line(d.errors[i], &len);
        if (!line || memchr(line, '\n', len - 1))
            abort();
        free(line);
    }
    for (i = 0; i < d.nrequests; i++) {
        json_t *resp = rpc_result_response(d.requests[i].id, json_string(d.requests[i].method));
        char *line = rpc_encode_line(resp, &len);
        if (!d.requests[i].method || !line)
            abort();
        free(line);
        json_decref(resp);
    }
    rpc_decoded_free(&d);
    return 0;
}
