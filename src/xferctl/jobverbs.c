/*
 * jobverbs: the verbs that act on jobs — create, addfile, addfilewithranges,
 * resume, suspend, cancel, complete and reset. Each is one JSON-RPC call (reset:
 * a list, then a cancel per job) whose refusal conn.c prints; the text on
 * success is bitsadmin's, --json prints the call's result.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "units.h"

int ctl_cmd_create(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    if (ctl_flag(c, &a, "--download") && ctl_flag(c, &a, "--upload"))
        return ctl_misuse(c, "--download and --upload exclude each other");
    const char *type = ctl_flag(c, &a, "--upload") ? "upload" : "download";
    json_t *res = NULL;
    rc = ctl_call(c, "job.create", json_pack("{s:s, s:s}", "type", type, "name", a.pos[0]), &res);
    if (rc == CTL_OK) {
        if (c->json)
            ctl_print_json(res);
        else
            printf("created job %s\n", show_str(res, "job"));
    }
    json_decref(res);
    return rc;
}

int ctl_cmd_addfile(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    char *path = ctl_abs_path(a.pos[2]);
    if (!path) {
        fprintf(stderr, "xferctl: addfile: out of memory\n");
        return CTL_FAIL;
    }
    json_t *res = NULL;
    rc = ctl_call(c, "job.add_file",
                  json_pack("{s:s, s:s, s:s}", "job", a.pos[0], "url", a.pos[1], "path", path),
                  &res);
    if (rc == CTL_OK && !c->json)
        printf("added %s -> %s to job %s.\n", a.pos[1], path, a.pos[0]);
    if (rc == CTL_OK && c->json)
        ctl_print_json(res);
    json_decref(res);
    free(path);
    return rc;
}

/* "0:1024,4096:eof" as [[0, 1024], [4096, null]] (caller owns); NULL after a misuse message. */
static json_t *parse_ranges(const struct ctl *c, const char *list)
{
    json_t *arr = json_array();
    char *copy = strdup(list);
    char *save = NULL;
    if (!arr || !copy)
        goto fail;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon) {
            ctl_misuse(c, "range '%s' is not OFFSET:LENGTH", tok);
            goto fail;
        }
        *colon = '\0';
        uint64_t off, len = 0;
        size_t col;
        char err[XL_ERRLEN];
        if (xl_parse_size(tok, &off, &col, err) != 0) {
            ctl_misuse(c, "range offset '%s': %s", tok, err);
            goto fail;
        }
        bool eof = strcmp(colon + 1, "eof") == 0 || strcmp(colon + 1, "EOF") == 0;
        if (!eof && xl_parse_size(colon + 1, &len, &col, err) != 0) {
            ctl_misuse(c, "range length '%s': %s", colon + 1, err);
            goto fail;
        }
        json_t *pair = eof ? json_pack("[I, n]", (json_int_t)off)
                           : json_pack("[I, I]", (json_int_t)off, (json_int_t)len);
        if (json_array_append_new(arr, pair) != 0)
            goto fail;
    }
    if (json_array_size(arr) == 0) {
        ctl_misuse(c, "no ranges in '%s'", list);
        goto fail;
    }
    free(copy);
    return arr;
fail:
    free(copy);
    json_decref(arr);
    return NULL;
}

int ctl_cmd_addfilewithranges(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    json_t *ranges = parse_ranges(c, a.pos[3]);
    if (!ranges)
        return CTL_USAGE;
    char *path = ctl_abs_path(a.pos[2]);
    if (!path) {
        json_decref(ranges);
        fprintf(stderr, "xferctl: addfilewithranges: out of memory\n");
        return CTL_FAIL;
    }
    json_t *res = NULL;
    size_t n = json_array_size(ranges);
    rc = ctl_call(c, "job.add_file_ranges",
                  json_pack("{s:s, s:s, s:s, s:o}", "job", a.pos[0], "url", a.pos[1], "path", path,
                            "ranges", ranges),
                  &res);
    if (rc == CTL_OK && !c->json)
        printf("added %s -> %s (%zu range%s) to job %s.\n", a.pos[1], path, n, n == 1 ? "" : "s",
               a.pos[0]);
    if (rc == CTL_OK && c->json)
        ctl_print_json(res);
    json_decref(res);
    free(path);
    return rc;
}

/* A verb that is one call on a job and one line of text. */
static int job_action(struct ctl *c, int argc, char **argv, const char *method, const char *done)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    json_t *res = NULL;
    rc = ctl_call_job(c, method, a.pos[0], &res);
    if (rc == CTL_OK) {
        if (c->json)
            ctl_print_json(res);
        else
            printf("Job %s.\n", done);
    }
    json_decref(res);
    return rc;
}

int ctl_cmd_resume(struct ctl *c, int argc, char **argv)
{
    return job_action(c, argc, argv, "job.resume", "resumed");
}

int ctl_cmd_suspend(struct ctl *c, int argc, char **argv)
{
    return job_action(c, argc, argv, "job.suspend", "suspended");
}

int ctl_cmd_cancel(struct ctl *c, int argc, char **argv)
{
    return job_action(c, argc, argv, "job.cancel", "canceled");
}

int ctl_cmd_complete(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    json_t *res = NULL;
    rc = ctl_call_job(c, "job.complete", a.pos[0], &res);
    if (rc == CTL_OK) {
        const char *name = json_string_value(json_object_get(res, "hr_name"));
        if (c->json)
            ctl_print_json(res);
        else if (name && strcmp(name, "S_OK") != 0)
            printf("Job partially completed (%s %s): unfinished files were removed.\n", name,
                   show_str(res, "hr"));
        else
            printf("Job completed.\n");
    }
    json_decref(res);
    return rc;
}

int ctl_cmd_reset(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    json_t *list = NULL;
    bool all = ctl_flag(c, &a, "--all-users") != NULL;
    rc = ctl_call(c, "job.list", json_pack("{s:b}", "all_users", all), &list);
    if (rc != CTL_OK)
        return rc;
    size_t i, canceled = 0, total = json_array_size(list);
    json_t *job;
    json_t *out = json_array();
    json_array_foreach(list, i, job)
    {
        const char *guid = show_str(job, "job");
        json_t *res = NULL, *error = NULL;
        int r = ctl_call_raw(c, "job.cancel", json_pack("{s:s}", "job", guid), &res, &error);
        if (r < 0) {
            json_decref(out);
            json_decref(list);
            return CTL_FAIL;
        }
        if (r == 0) {
            canceled++;
            if (!c->json)
                printf("%s canceled.\n", guid);
        } else {
            char text[2 * CTL_ERRLEN];
            ctl_refusal_text(error, text, sizeof text);
            if (!c->json)
                printf("%s could not be canceled: %s\n", guid, text);
        }
        json_array_append_new(
            out, json_pack("{s:s, s:b, s:O?}", "job", guid, "canceled", r == 0, "error", error));
        json_decref(res);
        json_decref(error);
    }
    if (c->json)
        ctl_print_json(out);
    else
        printf("%zu out of %zu jobs canceled.\n", canceled, total);
    json_decref(out);
    json_decref(list);
    return canceled == total ? CTL_OK : CTL_FAIL;
}
