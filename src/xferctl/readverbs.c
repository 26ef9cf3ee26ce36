/*
 * readverbs: the verbs that read — info, list, getstate, geterror and get.
 * Each fetches the protocol's job object(s) (job.info, job.list, job.get) and
 * prints it through show.c, or with --json as the protocol gave it (getstate
 * and geterror print the members they show: {job, state} and {job, error}).
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "xfer/xfer.h"

/* {"proxy": ..., "cost_policy": ...}: what --verbose shows beyond the job object. Caller owns. */
static json_t *verbose_extra(struct ctl *c, const char *guid)
{
    static const char *const props[] = {"proxy", "cost_policy"};
    json_t *extra = json_object();
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        json_t *res = NULL, *error = NULL;
        if (ctl_call_raw(c, "job.get", json_pack("{s:s, s:s}", "job", guid, "prop", props[i]), &res,
                         &error) == 0)
            json_object_set(extra, props[i], json_object_get(res, "value"));
        json_decref(res);
        json_decref(error);
    }
    return extra;
}

static int print_info(struct ctl *c, const json_t *job, bool verbose)
{
    json_t *extra = verbose ? verbose_extra(c, show_str(job, "job")) : NULL;
    show_info(stdout, job, extra, verbose);
    json_decref(extra);
    return CTL_OK;
}

int ctl_cmd_info(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    json_t *job = NULL;
    rc = ctl_call_job(c, "job.info", a.pos[0], &job);
    if (rc == CTL_OK) {
        if (c->json)
            ctl_print_json(job);
        else
            print_info(c, job, ctl_flag(c, &a, "--verbose") != NULL);
    }
    json_decref(job);
    return rc;
}

int ctl_cmd_list(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    json_t *list = NULL;
    bool all = ctl_flag(c, &a, "--all-users") != NULL;
    bool verbose = ctl_flag(c, &a, "--verbose") != NULL;
    rc = ctl_call(c, "job.list", json_pack("{s:b}", "all_users", all), &list);
    if (rc != CTL_OK)
        return rc;
    if (c->json) {
        ctl_print_json(list);
        json_decref(list);
        return CTL_OK;
    }
    size_t i;
    json_t *job;
    json_array_foreach(list, i, job)
    {
        if (!verbose) {
            show_list_line(stdout, job);
            continue;
        }
        /* The list omits files; the info block shows them. */
        json_t *full = NULL, *error = NULL;
        if (i)
            putchar('\n');
        if (ctl_call_raw(c, "job.info", json_pack("{s:s}", "job", show_str(job, "job")), &full,
                         &error) == 0)
            print_info(c, full, true);
        else
            print_info(c, job, true); /* gone meanwhile: what the list said */
        json_decref(full);
        json_decref(error);
    }
    printf("Listed %zu job(s).\n", json_array_size(list));
    json_decref(list);
    return CTL_OK;
}

int ctl_cmd_getstate(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    json_t *job = NULL;
    rc = ctl_call_job(c, "job.info", a.pos[0], &job);
    if (rc == CTL_OK) {
        if (c->json) {
            json_t *o = json_pack("{s:O?, s:O?}", "job", json_object_get(job, "job"), "state",
                                  json_object_get(job, "state"));
            ctl_print_json(o);
            json_decref(o);
        } else {
            printf("%s\n", show_state_title(json_string_value(json_object_get(job, "state"))));
        }
    }
    json_decref(job);
    return rc;
}

int ctl_cmd_geterror(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    json_t *job = NULL;
    rc = ctl_call_job(c, "job.info", a.pos[0], &job);
    if (rc != CTL_OK)
        return rc;
    const json_t *err = json_object_get(job, "error");
    if (c->json) {
        json_t *o = json_pack("{s:O?, s:O?}", "job", json_object_get(job, "job"), "error", err);
        ctl_print_json(o);
        json_decref(o);
    }
    if (!json_is_object(err)) {
        /* As BITS's GetError: there is no error to give. */
        const struct xfer_error_row *r = xfer_error_by_name("BG_E_ERROR_INFORMATION_UNAVAILABLE");
        fprintf(stderr, "xferctl: geterror: %s (0x%08X): %s \xE2\x80\x94 job %s is %s\n",
                r ? r->name : "BG_E_ERROR_INFORMATION_UNAVAILABLE", r ? (unsigned)r->hr : 0u,
                r ? r->message : "", show_str(job, "job"), show_str(job, "state"));
        json_decref(job);
        return CTL_FAIL;
    }
    if (!c->json)
        show_error(stdout, job);
    json_decref(job);
    return CTL_OK;
}

int ctl_cmd_get(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    json_t *res = NULL;
    rc = ctl_call(c, "job.get", json_pack("{s:s, s:s}", "job", a.pos[0], "prop", a.pos[1]), &res);
    if (rc == CTL_OK) {
        if (c->json)
            ctl_print_json(res);
        else
            printf("%s\n", show_str(res, "value"));
    }
    json_decref(res);
    return rc;
}
