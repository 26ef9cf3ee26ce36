/*
 * propverbs: the set* verbs. Each turns its arguments into the text of one
 * engine property (the property named in its verb-table row) and calls
 * job.set; the engine decides whether the value is good and its refusal is
 * what the user sees. The only checks here are the verb's own syntax: a
 * number where the verb takes seconds or flags, `server|proxy` for
 * setcredentials, PRECONFIG|OVERRIDE for setproxy.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"

static int set_value(struct ctl *c, const char *job, const char *prop, const char *value)
{
    json_t *res = NULL;
    int rc = ctl_call(c, "job.set",
                      json_pack("{s:s, s:s, s:s}", "job", job, "prop", prop, "value", value), &res);
    if (rc == CTL_OK) {
        if (c->json)
            ctl_print_json(res);
        else
            printf("%s of job %s set.\n", prop, job);
    }
    json_decref(res);
    return rc;
}

int ctl_cmd_setprop(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    uint64_t n;
    if (c->verb->number && !ctl_number(c, c->verb->prop, a.pos[1], &n))
        return CTL_USAGE;
    return set_value(c, a.pos[0], c->verb->prop, a.pos[1]);
}

int ctl_cmd_set(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    return set_value(c, a.pos[0], a.pos[1], a.pos[2]);
}

/* The length of the header name at the start of line, up to its ':' (0: no colon). */
static size_t header_name_len(const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    return colon ? (size_t)(colon - line) : 0;
}

int ctl_cmd_setheader(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    const char *job = a.pos[0], *header = a.pos[1];
    if (strcmp(header, "NULL") == 0)
        return set_value(c, job, c->verb->prop, "");
    size_t name_len = header_name_len(header, strlen(header));
    if (name_len == 0)
        return ctl_misuse(c, "'%s' is not \"Name: value\"", header);
    const char *value = header + name_len + 1;
    while (*value == ' ' || *value == '\t')
        value++;

    /* Read the job's headers, keep the lines of other names, add this one. */
    json_t *res = NULL;
    rc = ctl_call(c, "job.get", json_pack("{s:s, s:s}", "job", job, "prop", c->verb->prop), &res);
    if (rc != CTL_OK)
        return rc;
    const char *old = json_string_value(json_object_get(res, "value"));
    old = old ? old : "";
    size_t cap = strlen(old) + strlen(header) + 2, o = 0;
    char *text = malloc(cap);
    if (!text) {
        json_decref(res);
        fprintf(stderr, "xferctl: setheader: out of memory\n");
        return CTL_FAIL;
    }
    for (const char *line = old; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        size_t k = header_name_len(line, n);
        bool same = k == name_len && strncasecmp(line, header, k) == 0;
        if (n && !same) {
            memcpy(text + o, line, n);
            o += n;
            text[o++] = '\n';
        }
        line += n + (end ? 1 : 0);
    }
    if (*value) {
        memcpy(text + o, header, strlen(header));
        o += strlen(header);
    } else if (o) {
        o--; /* "Name:" only removes: drop the last separator */
    }
    text[o] = '\0';
    rc = set_value(c, job, c->verb->prop, text);
    free(text);
    json_decref(res);
    return rc;
}

int ctl_cmd_setcredentials(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    const char *prop;
    if (strcasecmp(a.pos[1], "server") == 0)
        prop = "server_credentials";
    else if (strcasecmp(a.pos[1], "proxy") == 0)
        prop = "proxy_credentials";
    else
        return ctl_misuse(c, "target '%s' is not server or proxy", a.pos[1]);
    size_t n = strlen(a.pos[2]) + strlen(a.pos[3]) + strlen(a.pos[4]) + 3;
    char *value = malloc(n);
    if (!value) {
        fprintf(stderr, "xferctl: setcredentials: out of memory\n");
        return CTL_FAIL;
    }
    snprintf(value, n, "%s %s:%s", a.pos[2], a.pos[3], a.pos[4]);
    rc = set_value(c, a.pos[0], prop, value);
    free(value);
    return rc;
}

int ctl_cmd_setproxy(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    const char *usage = a.pos[1];
    if (strcasecmp(usage, "PRECONFIG") == 0) {
        if (a.npos != 2)
            return ctl_misuse(c, "PRECONFIG takes no proxy ('%s' is extra)", a.pos[2]);
        return set_value(c, a.pos[0], c->verb->prop, "");
    }
    if (strcasecmp(usage, "OVERRIDE") == 0) {
        if (a.npos != 3)
            return ctl_misuse(c, "OVERRIDE needs the proxy's URL");
        return set_value(c, a.pos[0], c->verb->prop, a.pos[2]);
    }
    if (strcasecmp(usage, "NO_PROXY") == 0 || strcasecmp(usage, "AUTODETECT") == 0)
        return ctl_misuse(c, "%s is not offered by xferd: use PRECONFIG or OVERRIDE", usage);
    return ctl_misuse(c, "'%s' is not PRECONFIG or OVERRIDE", usage);
}

int ctl_cmd_setnotifycmdline(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    const char *program = a.pos[1];
    if (strcmp(program, "NULL") == 0) {
        if (a.npos > 2)
            return ctl_misuse(c, "NULL takes no parameters ('%s' is extra)", a.pos[2]);
        return set_value(c, a.pos[0], c->verb->prop, "");
    }
    /* PARAMETERS joined; bitsadmin's habit of repeating PROGRAM first is accepted. */
    size_t plen = strlen(program), n = plen + 1;
    for (int i = 2; i < a.npos; i++)
        n += strlen(a.pos[i]) + 1;
    char *line = malloc(n);
    if (!line) {
        fprintf(stderr, "xferctl: setnotifycmdline: out of memory\n");
        return CTL_FAIL;
    }
    size_t o = 0;
    bool repeats = a.npos > 2 && strncmp(a.pos[2], program, plen) == 0 &&
                   (a.pos[2][plen] == '\0' || a.pos[2][plen] == ' ');
    if (!repeats) {
        memcpy(line, program, plen);
        o = plen;
    }
    for (int i = 2; i < a.npos; i++) {
        if (o)
            line[o++] = ' ';
        memcpy(line + o, a.pos[i], strlen(a.pos[i]));
        o += strlen(a.pos[i]);
    }
    line[o] = '\0';
    rc = set_value(c, a.pos[0], c->verb->prop, line);
    free(line);
    return rc;
}
