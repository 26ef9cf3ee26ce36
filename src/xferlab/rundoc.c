/*
 * rundoc: the run document and the report directory (see rundoc.h). The
 * document's shape is result-schema.md's; the summary counts come from
 * reports/render/doc.h so that the renderers and this agree.
 */
#include "rundoc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "doc.h"
#include "report.h"

int64_t xl_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

json_t *xl_rundoc_make(const struct xl_run_facts *f, const char *id, json_t *results)
{
    json_t *argv = json_pack("[s]", "xferlab");
    for (int i = 0; argv && i < f->argc; i++)
        json_array_append_new(argv, json_string(f->argv[i]));
    struct rpt_counts c;
    rpt_count(results, &c);
    json_t *run =
        json_pack("{s:s, s:I, s:I, s:o, s:o, s:i, s:o, s:o, s:i}", "id", id, "started_unix_ms",
                  (json_int_t)f->started_unix_ms, "wall_ms", (json_int_t)f->wall_ms, "argv",
                  argv ? argv : json_array(), "seed",
                  f->has_seed ? json_integer((json_int_t)f->seed) : json_null(), "jobs",
                  (int)f->jobs, "shard", f->shard ? json_string(f->shard) : json_null(), "filter",
                  f->filter ? json_string(f->filter) : json_null(), "repeat", (int)f->repeat);
    /* harness-error has no column of its own in the summary: it counts as an error. */
    json_t *summary =
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "total", (json_int_t)c.total, "passed",
                  (json_int_t)c.by[RPT_PASSED], "failed", (json_int_t)c.by[RPT_FAILED], "error",
                  (json_int_t)(c.by[RPT_ERROR] + c.by[RPT_HARNESS_ERROR]), "timeout",
                  (json_int_t)c.by[RPT_TIMEOUT]);
    return json_pack("{s:i, s:o, s:o, s:O}", "schema", RPT_SCHEMA, "run", run, "summary", summary,
                     "results", results);
}

int xl_rundoc_mkdir(const char *reports, int64_t started_unix_ms, char dir[PATH_MAX], char id[128],
                    char *err, size_t errlen)
{
    if (mkdir(reports, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", reports, strerror(errno));
        return -1;
    }
    time_t secs = (time_t)(started_unix_ms / 1000);
    struct tm tm;
    char stamp[32] = "";
    if (gmtime_r(&secs, &tm))
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int n = 0; n < 100; n++) {
        if (n == 0)
            snprintf(id, 128, "run-%s-%ld", stamp, (long)getpid());
        else
            snprintf(id, 128, "run-%s-%ld.%d", stamp, (long)getpid(), n);
        snprintf(dir, PATH_MAX, "%s/%s", reports, id);
        if (mkdir(dir, 0755) == 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    snprintf(err, errlen, "%s: %s", dir, strerror(errno));
    return -1;
}

/* reports/latest -> id, replaced in one rename so a reader never finds it missing. */
static int point_latest(const char *reports, const char *id, char *err, size_t errlen)
{
    char tmp[PATH_MAX], latest[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.latest-%ld", reports, (long)getpid());
    snprintf(latest, sizeof latest, "%s/latest", reports);
    unlink(tmp);
    if (symlink(id, tmp) < 0) {
        snprintf(err, errlen, "symlink %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (rename(tmp, latest) < 0) {
        snprintf(err, errlen, "rename %s to %s: %s", tmp, latest, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int xl_rundoc_write(const char *reports, const char *dir, const char *id, const json_t *doc,
                    char *err, size_t errlen)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/results.json", dir);
    if (json_dump_file(doc, path, JSON_INDENT(1)) < 0) {
        snprintf(err, errlen, "%s: cannot write", path);
        return -1;
    }
    if (rpt_render_doc(dir, doc, err, errlen) < 0)
        return -1;
    return point_latest(reports, id, err, errlen);
}
