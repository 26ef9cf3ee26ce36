/*
 * covers: which scenarios produce an error code or interrupt reason — those
 * whose expectations name it (scn_covers_row over each parsed script). The
 * query is resolved to error table rows with xfer_error_query(), as
 * `explain` does. Used by `repro` and `explain`.
 */
#ifndef XL_COVERS_H
#define XL_COVERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "scnlist.h"
#include "xfer/xfer.h"

/* Whether q names a WebView2 interrupt reason ("NetworkDisconnected"), any case. */
bool xl_query_is_interrupt(const char *q);

/*
 * Move the scenarios of all that cover one of rows (their interrupt reason
 * too when interrupt is true) into out (caller owns; xl_scn_list_free). A
 * scenario that does not parse is skipped, with its diagnostic on diag when
 * diag is not NULL. Returns how many matched.
 */
size_t xl_covering(struct xl_scn_list *all, const struct xfer_error_row *const *rows, size_t n,
                   bool interrupt, struct xl_scn_list *out, FILE *diag);

#endif
