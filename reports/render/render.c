/*
 * render: a run directory's reports. results.json (the run document) is read
 * with jansson, checked (doc.h), and each renderer writes to a temporary file
 * beside its target, which is renamed over it only when everything was
 * written: a reader never sees half a report.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "doc.h"
#include "report.h"

static int write_one(const char *dir, const char *name, void (*fn)(FILE *, const json_t *),
                     const json_t *doc, char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    fn(f, doc);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    unlink(tmp);
    return -1;
}

int rpt_render_doc(const char *dir, const json_t *doc, char *err, size_t errlen)
{
    char why[256];
    if (rpt_doc_check(doc, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s/results.json: %s", dir, why);
        return -1;
    }
    if (write_one(dir, "junit.xml", rpt_write_junit, doc, err, errlen) < 0)
        return -1;
    return write_one(dir, "index.html", rpt_write_html, doc, err, errlen);
}

int rpt_render_dir(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/results.json", dir);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc) {
        if (jerr.line > 0)
            snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        else
            snprintf(err, errlen, "%s: %s", path, jerr.text);
        return -1;
    }
    int rc = rpt_render_doc(dir, doc, err, errlen);
    json_decref(doc);
    return rc;
}
