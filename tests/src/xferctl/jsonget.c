/*
 * jsonget: the shell tests' JSON reader (python3 and jq are not on a fresh
 * Debian 12). Reads one JSON document from stdin with jansson — so it also
 * checks that xferctl's --json output parses — and prints the member a dotted
 * path names: "state", "files.0.url", "0.job", "." for the whole document,
 * "#" appended for an array's or object's size ("files#"). Strings print as
 * they are, everything else as compact JSON. Exit 0, 1 when the input is not
 * JSON or the path is missing, 2 misuse.
 *
 *   xferctl --json info d1 | jsonget error.hr_name
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const json_t *walk(const json_t *v, char *path)
{
    char *save = NULL;
    for (char *tok = strtok_r(path, ".", &save); v && tok; tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(v)) {
            char *end;
            long i = strtol(tok, &end, 10);
            v = *end || i < 0 ? NULL : json_array_get(v, (size_t)i);
        } else {
            v = json_object_get(v, tok);
        }
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: jsonget PATH < document.json\n");
        return 2;
    }
    json_error_t jerr;
    json_t *doc = json_loadf(stdin, 0, &jerr);
    if (!doc) {
        fprintf(stderr, "jsonget: not JSON: line %d col %d: %s\n", jerr.line, jerr.column,
                jerr.text);
        return 1;
    }
    char *path = strdup(argv[1]);
    size_t n = strlen(path);
    int want_size = n && path[n - 1] == '#';
    if (want_size)
        path[n - 1] = '\0';
    const json_t *v = strcmp(path, ".") == 0 || path[0] == '\0' ? doc : walk(doc, path);
    int rc = 0;
    if (!v) {
        fprintf(stderr, "jsonget: no '%s'\n", argv[1]);
        rc = 1;
    } else if (want_size) {
        printf("%zu\n", json_is_array(v) ? json_array_size(v) : json_object_size(v));
    } else if (json_is_string(v)) {
        printf("%s\n", json_string_value(v));
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s\n", s ? s : "");
        free(s);
    }
    free(path);
    json_decref(doc);
    return rc;
}
