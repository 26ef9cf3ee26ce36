/*
 * job: constructors and small accessors of the job model (job.h). Defaults
 * come from semantics.md §1.3 and decisions.md: NORMAL priority, retry delay
 * 600 s, no-progress timeout 14 days, max download time 90 days, cost policy
 * STANDARD, notify flags TRANSFERRED|ERROR.
 */
#include "job.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_COST_FLAGS 0x80000067u /* BITS_COST_STATE_TRANSFER_STANDARD = WinRT Default */

struct job *job_new(enum xfer_job_type type, uid_t owner, const char *name)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    if (job_set_str(&j->display_name, name ? name : "") != 0) {
        free(j);
        return NULL;
    }
    j->type = type;
    j->owner = owner;
    j->state = XFER_SUSPENDED;
    j->priority = XFER_NORMAL;
    j->cost_flags = DEFAULT_COST_FLAGS;
    j->no_progress_timeout_s = 1209600;
    j->min_retry_delay_s = 600;
    j->max_download_time_s = 7776000;
    j->notify_flags = 3;
    j->err_file = -1;
    j->retry_at = -1;
    j->no_progress_since = -1;
    j->active_since = -1;
    j->last_activity = -1;
    j->slice_end = -1;
    return j;
}

static void free_file(struct jfile *f)
{
    free(f->url);
    free(f->local);
    free(f->temp);
    free(f->ranges);
    free(f->etag);
    free(f->last_modified);
}

static void free_creds(struct jcreds *c)
{
    free(c->scheme);
    free(c->user);
    free(c->password);
}

void job_free(struct job *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->nfiles; i++)
        free_file(&j->files[i]);
    free(j->files);
    free(j->display_name);
    free(j->description);
    free(j->headers);
    free_creds(&j->server_creds);
    free_creds(&j->proxy_creds);
    free(j->proxy);
    free(j->notify_cmdline);
    free(j->err_desc);
    free(j->hist);
    free(j);
}

int job_set_str(char **slot, const char *s)
{
    char *copy = NULL;
    if (s && !(copy = strdup(s)))
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

struct jfile *job_add_file(struct job *j, const char *url, const char *local, const char *temp,
                           const struct xfer_range *ranges, size_t n)
{
    struct jfile *files = realloc(j->files, (j->nfiles + 1) * sizeof *files);
    if (!files)
        return NULL;
    j->files = files;
    struct jfile *f = &files[j->nfiles];
    memset(f, 0, sizeof *f);
    f->total = XFER_SIZE_UNKNOWN;
    f->remote_size = XFER_SIZE_UNKNOWN;
    if (job_set_str(&f->url, url) || job_set_str(&f->local, local) || job_set_str(&f->temp, temp))
        goto fail;
    if (n > 0) {
        if (!(f->ranges = malloc(n * sizeof *ranges)))
            goto fail;
        memcpy(f->ranges, ranges, n * sizeof *ranges);
        f->nranges = n;
    }
    j->nfiles++;
    return f;
fail:
    free_file(f);
    return NULL;
}

int job_hist_append(struct job *j, const struct xfer_transition *t)
{
    if (j->nhist == j->hist_cap) {
        size_t cap = j->hist_cap ? j->hist_cap * 2 : 8;
        struct xfer_transition *h = realloc(j->hist, cap * sizeof *h);
        if (!h)
            return -1;
        j->hist = h;
        j->hist_cap = cap;
    }
    j->hist[j->nhist++] = *t;
    return 0;
}

size_t job_current_file(const struct job *j)
{
    size_t i = 0;
    while (i < j->nfiles && j->files[i].complete)
        i++;
    return i;
}

uint64_t job_bytes_total(const struct job *j)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < j->nfiles; i++) {
        if (j->files[i].total == XFER_SIZE_UNKNOWN)
            return XFER_SIZE_UNKNOWN;
        sum += j->files[i].total;
    }
    return sum;
}

uint64_t job_bytes_done(const struct job *j)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < j->nfiles; i++)
        sum += j->files[i].done;
    return sum;
}

void job_file_reset(struct jfile *f)
{
    f->done = 0;
    f->ck_bytes = 0;
    memset(f->ck_digest, 0, sizeof f->ck_digest);
    job_set_str(&f->etag, NULL);
    job_set_str(&f->last_modified, NULL);
    f->complete = false;
}
