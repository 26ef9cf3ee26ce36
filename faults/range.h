/*
 * range: how a correct server answers Range, If-Range and If-Match.
 *
 * A pure function of the request's headers and the entity's size and
 * validators (RFC 9110 §13.1.1, §13.1.5, §14): the HTTP server applies it, then
 * lets faults bend the answer. Single byte ranges only; a multi-range, a
 * syntactically invalid range or another unit is ignored (a full 200), which
 * RFC 9110 §14.2 permits.
 */
#ifndef FLT_RANGE_H
#define FLT_RANGE_H

#include <stdbool.h>
#include <stdint.h>

enum flt_range_parse_result {
    FLT_RANGE_NONE,         /* no usable range: serve the whole entity */
    FLT_RANGE_OK,           /* *start, *len set */
    FLT_RANGE_UNSATISFIABLE /* 416 */
};

/* Parse a Range header value against an entity of size bytes. */
enum flt_range_parse_result flt_range_parse(const char *h, uint64_t size, uint64_t *start,
                                            uint64_t *len);

struct flt_validators {
    const char *etag;          /* quoted strong ETag, NULL if none is sent */
    const char *last_modified; /* IMF-fixdate, NULL if none is sent */
    bool weak;                 /* the ETag is sent weak: never matches If-Range */
};

struct flt_range_answer {
    int status;      /* 200, 206, 412 or 416 */
    uint64_t start;  /* first entity byte of the body */
    uint64_t length; /* body length */
};

void flt_range_decide(const char *range, const char *if_range, const char *if_match, uint64_t size,
                      const struct flt_validators *v, struct flt_range_answer *out);

#endif
