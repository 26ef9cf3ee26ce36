/*
 * covers: scenarios by the codes their expectations name (see covers.h).
 * Each script is parsed once and freed at once; entries move from one list to
 * the other, so no string is copied.
 */
#include "covers.h"

#include <stdlib.h>
#include <strings.h>

#include "scenario.h"

#define MAX_INTERRUPT 64 /* above CoreWebView2DownloadInterruptReason's 0..29 */

bool xl_query_is_interrupt(const char *q)
{
    for (int i = 0; i < MAX_INTERRUPT; i++) {
        const char *name = xfer_interrupt_name(i);
        if (name && strcasecmp(name, q) == 0)
            return true;
    }
    return false;
}

size_t xl_covering(struct xl_scn_list *all, const struct xfer_error_row *const *rows, size_t n,
                   bool interrupt, struct xl_scn_list *out, FILE *diag)
{
    out->v = calloc(all->n ? all->n : 1, sizeof *out->v);
    out->n = 0;
    if (!out->v)
        return 0;
    size_t kept = 0;
    for (size_t i = 0; i < all->n; i++) {
        struct scn_script *s = NULL;
        struct scn_diag d;
        bool hit = false;
        if (scn_parse_file(all->v[i].file, &s, &d) == 0) {
            for (size_t k = 0; k < n && !hit; k++)
                hit = scn_covers_row(s, rows[k], interrupt);
            scn_script_free(s);
        } else if (diag) {
            scn_diag_print(&d, diag);
        }
        if (hit)
            out->v[out->n++] = all->v[i];
        else
            all->v[kept++] = all->v[i];
    }
    all->n = kept;
    return out->n;
}
