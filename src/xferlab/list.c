/*
 * list: `xferlab list [--json] [PATH…]`, each scenario with its title and
 * what its expectations cover (codes, interrupt reasons, states; from
 * scn_covers). A script that does not parse is reported with its diagnostic
 * and makes the exit status 2.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "scnlist.h"
#include "units.h"
#include "xferlab.h"

#define MAX_NAMES 64

static json_t *names(const struct scn_script *s, enum scn_cover_kind kind)
{
    const char *v[MAX_NAMES];
    size_t n = scn_covers(s, kind, v, MAX_NAMES);
    json_t *a = json_array();
    for (size_t i = 0; a && i < n && i < MAX_NAMES; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void print_names(const char *what, const json_t *a)
{
    if (!json_array_size(a))
        return;
    printf("    %s:", what);
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v)
    {
        printf(" %s", json_string_value(v));
    }
    putchar('\n');
}

int xl_cmd_list(int argc, char **argv)
{
    bool json = false;
    const char *paths[256];
    size_t np = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: xferlab list [--json] [PATH...]\n\n"
                   "Each scenario under PATH (files or directories; default: %s) with\n"
                   "its title and what its expectations cover: error codes, interrupt\n"
                   "reasons, states. Exit 2 when a script does not parse.\n",
                   xl_scn_default_dir());
            return XL_EXIT_OK;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "xferlab list: unknown option '%s'\n", argv[i]);
            return XL_EXIT_USAGE;
        } else if (np == sizeof paths / sizeof paths[0]) {
            fprintf(stderr, "xferlab list: at most %zu paths\n", np);
            return XL_EXIT_USAGE;
        } else {
            paths[np++] = argv[i];
        }
    }
    struct xl_scn_list list;
    char err[XL_ERRLEN];
    if (xl_scn_find(paths, np, &list, err, sizeof err) < 0) {
        fprintf(stderr, "xferlab list: %s\n", err);
        xl_scn_list_free(&list);
        return XL_EXIT_USAGE;
    }
    int rc = XL_EXIT_OK;
    json_t *all = json_array();
    for (size_t i = 0; i < list.n; i++) {
        struct scn_script *s = NULL;
        struct scn_diag d;
        if (scn_parse_file(list.v[i].file, &s, &d) < 0) {
            scn_diag_print(&d, stderr);
            rc = XL_EXIT_USAGE;
            continue;
        }
        json_t *e =
            json_pack("{s:s, s:s, s:s, s:s, s:{s:o, s:o, s:o}}", "name", list.v[i].name, "file",
                      list.v[i].file, "title", s->title, "description", s->description, "covers",
                      "codes", names(s, SCN_COVER_CODE), "interrupts",
                      names(s, SCN_COVER_INTERRUPT), "states", names(s, SCN_COVER_STATE));
        scn_script_free(s);
        if (!e)
            continue;
        if (!json) {
            printf("%-40s %s\n", list.v[i].name, json_string_value(json_object_get(e, "title")));
            const json_t *c = json_object_get(e, "covers");
            print_names("codes", json_object_get(c, "codes"));
            print_names("interrupts", json_object_get(c, "interrupts"));
            print_names("states", json_object_get(c, "states"));
        }
        json_array_append_new(all, e);
    }
    if (json) {
        char *s = json_dumps(all, JSON_INDENT(2));
        puts(s ? s : "[]");
        free(s);
    } else {
        printf("\n%zu scenario(s)\n", json_array_size(all));
    }
    json_decref(all);
    xl_scn_list_free(&list);
    return rc;
}
