/*
 * doc: field readers over the run document (see doc.h). Nothing here
 * allocates; every pointer returned is owned by the document.
 */
#include "doc.h"

#include <stdio.h>
#include <string.h>

const char *rpt_status_name(enum rpt_status s)
{
    switch (s) {
    case RPT_PASSED:
        return "passed";
    case RPT_FAILED:
        return "failed";
    case RPT_ERROR:
        return "error";
    case RPT_TIMEOUT:
        return "timeout";
    case RPT_HARNESS_ERROR:
        return "harness-error";
    }
    return "?";
}

bool rpt_status_parse(const char *s, enum rpt_status *out)
{
    if (!s)
        return false;
    for (int i = 0; i < RPT_STATUS_COUNT; i++) {
        if (strcmp(s, rpt_status_name((enum rpt_status)i)) == 0) {
            *out = (enum rpt_status)i;
            return true;
        }
    }
    return false;
}

enum rpt_status rpt_result_status(const json_t *result)
{
    enum rpt_status s;
    if (rpt_status_parse(rpt_str(result, "status", NULL), &s))
        return s;
    return RPT_HARNESS_ERROR;
}

const char *rpt_str(const json_t *obj, const char *key, const char *def)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : def;
}

int64_t rpt_int(const json_t *obj, const char *key, int64_t def)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    return def;
}

double rpt_num(const json_t *obj, const char *key, double def)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_number(v) ? json_number_value(v) : def;
}

bool rpt_bool(const json_t *obj, const char *key, bool def)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_boolean(v) ? json_is_true(v) : def;
}

const json_t *rpt_arr(const json_t *obj, const char *key)
{
    static json_t *empty;
    if (!empty)
        empty = json_array(); /* one, never freed: a constant */
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_array(v) ? v : empty;
}

void rpt_area(const char *scenario, char *out, size_t len)
{
    const char *slash = scenario ? strchr(scenario, '/') : NULL;
    if (!slash || slash == scenario) {
        snprintf(out, len, "scenarios");
        return;
    }
    snprintf(out, len, "%.*s", (int)(slash - scenario), scenario);
}

const char *rpt_leaf(const char *scenario)
{
    if (!scenario)
        return "";
    const char *slash = strchr(scenario, '/');
    return slash && slash[1] ? slash + 1 : scenario;
}

void rpt_count(const json_t *results, struct rpt_counts *c)
{
    memset(c, 0, sizeof *c);
    size_t i;
    const json_t *r;
    json_array_foreach(results, i, r)
    {
        c->total++;
        c->by[rpt_result_status(r)]++;
    }
}

int rpt_doc_check(const json_t *doc, char *err, size_t errlen)
{
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "the run document is not a JSON object");
        return -1;
    }
    json_int_t schema = json_integer_value(json_object_get(doc, "schema"));
    if (schema != RPT_SCHEMA) {
        snprintf(err, errlen, "\"schema\" is %lld, this xferlab reads schema %d", (long long)schema,
                 RPT_SCHEMA);
        return -1;
    }
    const json_t *results = json_object_get(doc, "results");
    if (!json_is_array(results)) {
        snprintf(err, errlen, "\"results\" is missing or not an array");
        return -1;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(results, i, r)
    {
        if (!json_is_object(r)) {
            snprintf(err, errlen, "results[%zu] is not an object", i);
            return -1;
        }
    }
    return 0;
}

size_t rpt_flaky(const json_t *results, const char **names, size_t max)
{
    size_t n = json_array_size(results), found = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(results, i);
        const char *name = rpt_str(r, "scenario", NULL);
        if (!name)
            continue;
        bool seen = false, differs = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(name, rpt_str(json_array_get(results, k), "scenario", "")) == 0;
        if (seen)
            continue;
        for (size_t k = i + 1; k < n; k++) {
            const json_t *o = json_array_get(results, k);
            if (strcmp(name, rpt_str(o, "scenario", "")) == 0 &&
                rpt_result_status(o) != rpt_result_status(r))
                differs = true;
        }
        if (differs) {
            if (found < max)
                names[found] = name;
            found++;
        }
    }
    return found;
}
