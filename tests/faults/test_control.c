/*
 * Tests for faults/control.c, the JSON control API, driven with libcurl: a
 * fault HTTP server and the API share one rule set, content and journal, so
 * each test checks both what the API answers and that the change shows on the
 * HTTP server (a rule posted makes it answer 503, a file posted is served byte
 * for byte). Bad input of every kind must get a JSON error with the right
 * status, never a crash, a hang or a closed connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "fltenv.h"
#include "http.h"

struct world {
    struct fltenv env;
    struct flt_http *http;
    struct flt_control *ctl;
    char base[64]; /* http://127.0.0.1:PORT of the fault server */
    char api[64];  /* http://127.0.0.1:PORT of the control API */
};

static struct world *world_new(void)
{
    struct world *w = calloc(1, sizeof *w);
    char err[XL_ERRLEN];
    assert_non_null(w);
    assert_int_equal(fltenv_init(&w->env), 0);
    fltenv_gen(&w->env, "/small.bin", 1000, 3);
    fltenv_gen(&w->env, "/big.bin", 100000, 7);
    struct flt_http_config hc = {.idle_timeout_s = 10};
    w->http = fltenv_http(&w->env, &hc);
    w->ctl = flt_control_new(NULL, 0, &w->env.rules, &w->env.content, &w->env.journal,
                             &w->env.clock, err);
    if (!w->ctl)
        fail_msg("control: %s", err);
    assert_true(flt_control_port(w->ctl) != 0);
    snprintf(w->base, sizeof w->base, "http://127.0.0.1:%u", flt_http_port(w->http));
    snprintf(w->api, sizeof w->api, "http://127.0.0.1:%u", flt_control_port(w->ctl));
    assert_int_equal(fltenv_run(&w->env), 0);
    return w;
}

static void world_free(struct world *w)
{
    fltenv_stop(&w->env);
    flt_control_free(w->ctl);
    flt_http_free(w->http);
    fltenv_free(&w->env);
    free(w);
}

/*
 * One API call: method on path with an optional body of blen bytes. Every
 * answer must be a JSON document served as application/json; it is stored in
 * *out (caller owns) or dropped. Returns the HTTP status.
 */
static long call(struct world *w, const char *method, const char *path, const char *body,
                 size_t blen, json_t **out)
{
    char url[1024];
    struct fltenv_fetch f;
    snprintf(url, sizeof url, "%s%s", w->api, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    hl = curl_slist_append(hl, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    }
    if (strcmp(method, body ? "POST" : "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    int rc = fltenv_perform(h, &f);
    if (rc != CURLE_OK)
        fail_msg("%s %s: curl error %d: %s", method, path, rc, f.error);
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    if (!ct || strcmp(ct, "application/json") != 0)
        fail_msg("%s %s: content type %s", method, path, ct ? ct : "(none)");
    json_error_t je;
    json_t *j = json_loadb(f.body, f.body_len, JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("%s %s: answer is not JSON (%s): %.200s", method, path, je.text, f.body);
    long status = f.status;
    fltenv_fetch_release(&f);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    if (out)
        *out = j;
    else
        json_decref(j);
    return status;
}

static long call_str(struct world *w, const char *method, const char *path, const char *body,
                     json_t **out)
{
    return call(w, method, path, body, body ? strlen(body) : 0, out);
}

/* POST a JSON value (stolen) to path. */
static long post_json(struct world *w, const char *path, json_t *in, json_t **out)
{
    char *text = json_dumps(in, JSON_COMPACT);
    assert_non_null(text);
    json_decref(in);
    long status = call(w, "POST", path, text, strlen(text), out);
    free(text);
    return status;
}

static long post_rule(struct world *w, const char *rule, json_t **out)
{
    return post_json(w, "/rules", json_pack("{ss}", "rule", rule), out);
}

/* GET path, asserting 200; the caller owns the answer. */
static json_t *get_ok(struct world *w, const char *path)
{
    json_t *j = NULL;
    assert_int_equal(call(w, "GET", path, NULL, 0, &j), 200);
    return j;
}

/* The current rule list as compact text (to check that nothing changed). */
static char *rules_text(struct world *w)
{
    json_t *j = get_ok(w, "/rules");
    assert_true(json_is_array(j));
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    assert_non_null(s);
    return s;
}

/* The rule named name in GET /rules, or NULL; the caller owns it. */
static json_t *find_rule(struct world *w, const char *name)
{
    json_t *all = get_ok(w, "/rules"), *v, *found = NULL;
    size_t i;
    json_array_foreach(all, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
            found = json_incref(v);
    }
    json_decref(all);
    return found;
}

/* The canonical text of a rule, made here with the same parser. */
static void canon(const char *text, char *out, size_t len)
{
    struct flt_rule *r;
    size_t col;
    char err[XL_ERRLEN];
    if (flt_rule_parse(text, &r, &col, err) < 0)
        fail_msg("'%s': %s", text, err);
    assert_true((size_t)flt_rule_format(r, out, len) < len);
    flt_rule_free(r);
}

/* The 1-based column the parser reports for a bad rule. */
static json_int_t parse_col(const char *text)
{
    struct flt_rule *r = NULL;
    size_t col = 0;
    char err[XL_ERRLEN];
    assert_int_equal(flt_rule_parse(text, &r, &col, err), -1);
    return (json_int_t)col + 1;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("no string '%s'", key);
    return s;
}

static json_int_t jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("no integer '%s'", key);
    return json_integer_value(v);
}

/* An error answer: {"error": "..."} with a non-empty message. */
static void assert_error(json_t *j)
{
    assert_true(json_is_object(j));
    assert_true(strlen(jstr(j, "error")) > 0);
}

static long http_status(struct world *w, const char *path)
{
    char url[256];
    struct fltenv_fetch f;
    snprintf(url, sizeof url, "%s%s", w->base, path);
    assert_int_equal(fltenv_get(url, &f), CURLE_OK);
    long status = f.status;
    fltenv_fetch_release(&f);
    return status;
}

/* ---- /actions ------------------------------------------------------------- */

static void test_actions_lists_the_table(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *a = get_ok(w, "/actions");
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), FLT_A__COUNT);
    for (int i = 0; i < FLT_A__COUNT; i++) {
        const struct flt_action_info *ai = flt_action_info((enum flt_action)i);
        json_t *e = json_array_get(a, (size_t)i);
        assert_string_equal(jstr(e, "action"), ai->name);
        assert_string_equal(jstr(e, "help"), ai->help);
        assert_string_equal(jstr(e, "example"), ai->example);
        json_t *protos = json_object_get(e, "protocols");
        assert_int_equal(json_array_size(protos), (ai->protocols & FLT_P_HTTP ? 1u : 0u) +
                                                      (ai->protocols & FLT_P_FTP ? 1u : 0u));
        if (ai->modes)
            assert_string_equal(jstr(e, "modes"), ai->modes);
        else
            assert_true(json_is_null(json_object_get(e, "modes")));
        /* keys: every allowed key once, in table order, with help and required */
        json_t *keys = json_object_get(e, "keys");
        assert_true(json_is_array(keys));
        size_t n = 0;
        for (int k = 0; k < FLT_K__COUNT; k++) {
            if (!(ai->allowed & (1ull << k)))
                continue;
            json_t *ke = json_array_get(keys, n++);
            assert_non_null(ke);
            assert_string_equal(jstr(ke, "key"), flt_key_name((enum flt_key)k));
            assert_string_equal(jstr(ke, "help"), flt_key_help((enum flt_key)k));
            assert_int_equal(json_is_true(json_object_get(ke, "required")),
                             (ai->required & (1ull << k)) != 0);
        }
        assert_int_equal(json_array_size(keys), n);
        /* the example is a rule the API accepts */
        struct flt_rule *r;
        size_t col;
        char err[XL_ERRLEN];
        if (flt_rule_parse(ai->example, &r, &col, err) < 0)
            fail_msg("example '%s': %s", ai->example, err);
        flt_rule_free(r);
    }
    json_decref(a);
    world_free(w);
}

/* ---- POST /rules ---------------------------------------------------------- */

static void test_post_rule_takes_effect(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *j;
    assert_int_equal(http_status(w, "/small.bin"), 200);
    assert_int_equal(post_rule(w, "s1: status 503 path=/small.bin", &j), 201);
    json_t *added = json_object_get(j, "added");
    assert_int_equal(json_array_size(added), 1);
    assert_string_equal(json_string_value(json_array_get(added, 0)), "s1");
    json_decref(j);
    assert_int_equal(http_status(w, "/small.bin"), 503);
    assert_int_equal(http_status(w, "/big.bin"), 200);

    /* GET /rules: name, canonical text, action */
    char want[256];
    canon("s1: status 503 path=/small.bin", want, sizeof want);
    json_t *r = find_rule(w, "s1");
    assert_non_null(r);
    assert_string_equal(jstr(r, "text"), want);
    assert_non_null(strstr(jstr(r, "text"), "code=503"));
    assert_string_equal(jstr(r, "action"), "status");
    json_decref(r);

    /* an unnamed rule is given a name, which the answer returns */
    assert_int_equal(post_rule(w, "status 404 path=/big.bin", &j), 201);
    const char *name = json_string_value(json_array_get(json_object_get(j, "added"), 0));
    assert_non_null(name);
    assert_true(strncmp(name, "status-", 7) == 0);
    r = find_rule(w, name);
    assert_non_null(r);
    json_decref(r);
    json_decref(j);
    assert_int_equal(http_status(w, "/big.bin"), 404);
    world_free(w);
}

static void test_post_batch(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *j;
    assert_int_equal(post_json(w, "/rules",
                               json_pack("{s[ss]}", "rules", "b1: status 503 path=/small.bin",
                                         "b2: header \"X-Batch: two\" path=/big.bin"),
                               &j),
                     201);
    json_t *added = json_object_get(j, "added");
    assert_int_equal(json_array_size(added), 2);
    assert_string_equal(json_string_value(json_array_get(added, 0)), "b1");
    assert_string_equal(json_string_value(json_array_get(added, 1)), "b2");
    json_decref(j);
    json_t *all = get_ok(w, "/rules");
    assert_int_equal(json_array_size(all), 2);
    json_decref(all);
    assert_int_equal(http_status(w, "/small.bin"), 503);

    struct fltenv_fetch f;
    char url[128];
    snprintf(url, sizeof url, "%s/big.bin", w->base);
    assert_int_equal(fltenv_get(url, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_non_null(strstr(f.headers, "X-Batch: two"));
    fltenv_fetch_release(&f);
    world_free(w);
}

static void test_batch_with_a_bad_rule_adds_nothing(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *j;
    assert_int_equal(post_rule(w, "keep: http10 path=/none", NULL), 201);
    char *before = rules_text(w);

    static const char *const bad[] = {
        "ok2: stall after=1 for=banana", /* bad value */
        "ok2: stal after=1",             /* unknown action */
        "ok2: close aftr=1",             /* unknown key */
        "ok2: status 999",               /* out of range */
        "ok2: close",                    /* missing a required key */
        "ok2: header \"X-A: b",          /* unterminated quote */
        "",                              /* empty */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *in = json_pack("{s[sss]}", "rules", "ok1: close after=1", bad[i], "ok3: empty");
        assert_int_equal(post_json(w, "/rules", in, &j), 400);
        assert_error(j);
        assert_int_equal(jint(j, "index"), 1);
        assert_int_equal(jint(j, "col"), parse_col(bad[i]));
        assert_string_equal(jstr(j, "rule"), bad[i]);
        json_decref(j);
        char *after = rules_text(w);
        assert_string_equal(after, before);
        free(after);
    }
    /* the column of "for=banana": the value starts at 0-based column 23 */
    assert_int_equal(post_json(w, "/rules",
                               json_pack("{s[ss]}", "rules", "ok1: close after=1",
                                         "ok2: stall after=1 for=banana"),
                               &j),
                     400);
    assert_int_equal(jint(j, "col"), 24);
    assert_non_null(strstr(jstr(j, "error"), "for"));
    json_decref(j);

    /* the first one bad */
    assert_int_equal(post_rule(w, "close after=1 bogus=2", &j), 400);
    assert_int_equal(jint(j, "index"), 0);
    assert_int_equal(jint(j, "col"), 15);
    assert_non_null(strstr(jstr(j, "error"), "bogus"));
    json_decref(j);

    /* an element that is not a string */
    assert_int_equal(
        post_json(w, "/rules", json_pack("{s[si]}", "rules", "ok1: close after=1", 42), &j), 400);
    assert_error(j);
    assert_non_null(strstr(jstr(j, "error"), "rules[1]"));
    json_decref(j);

    char *after = rules_text(w);
    assert_string_equal(after, before);
    free(after);
    free(before);
    assert_int_equal(http_status(w, "/small.bin"), 200);
    world_free(w);
}

static void test_duplicate_names(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *j;
    assert_int_equal(post_rule(w, "d1: empty path=/none", NULL), 201);
    char *before = rules_text(w);

    assert_int_equal(post_rule(w, "d1: http10", &j), 409);
    assert_error(j);
    assert_non_null(strstr(jstr(j, "error"), "d1"));
    json_decref(j);

    /* in a batch, the whole batch is refused */
    assert_int_equal(post_json(w, "/rules",
                               json_pack("{s[ss]}", "rules", "x1: empty path=/none", "d1: http10"),
                               &j),
                     409);
    assert_int_equal(jint(j, "index"), 1);
    json_decref(j);

    /* two rules of one batch sharing a name */
    assert_int_equal(
        post_json(w, "/rules",
                  json_pack("{s[ss]}", "rules", "y1: empty path=/none", "y1: http10 path=/none"),
                  &j),
        400);
    assert_error(j);
    assert_int_equal(jint(j, "index"), 1);
    json_decref(j);

    char *after = rules_text(w);
    assert_string_equal(after, before);
    free(after);
    free(before);
    world_free(w);
}

/* ---- GET /rules counters -------------------------------------------------- */

static void test_rule_counters_move(void **state)
{
    (void)state;
    struct world *w = world_new();
    assert_int_equal(
        post_json(w, "/rules",
                  json_pack("{s[ss]}", "rules", "c1: status 503 path=/small.bin first=1",
                            "c2: header \"X-C2: yes\""),
                  NULL),
        201);
    json_t *r = find_rule(w, "c1");
    assert_int_equal(jint(r, "seen"), 0);
    assert_int_equal(jint(r, "fired"), 0);
    json_decref(r);

    assert_int_equal(http_status(w, "/small.bin"), 503);
    assert_int_equal(http_status(w, "/small.bin"), 200);
    assert_int_equal(http_status(w, "/big.bin"), 200);
    assert_true(fltenv_wait_ended(&w->env, 3));

    r = find_rule(w, "c1");
    assert_int_equal(jint(r, "seen"), 2);
    assert_int_equal(jint(r, "fired"), 1);
    json_decref(r);
    r = find_rule(w, "c2");
    assert_int_equal(jint(r, "seen"), 3);
    assert_int_equal(jint(r, "fired"), 3);
    assert_string_equal(jstr(r, "action"), "header");
    json_decref(r);
    world_free(w);
}

/* ---- DELETE /rules -------------------------------------------------------- */

static void test_delete_rules(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *j;
    assert_int_equal(post_json(w, "/rules",
                               json_pack("{s[sss]}", "rules", "e1: status 503 path=/small.bin",
                                         "e2: status 502 path=/big.bin", "e3: http10 path=/none"),
                               NULL),
                     201);
    assert_int_equal(call_str(w, "DELETE", "/rules/e1", NULL, &j), 200);
    assert_string_equal(jstr(j, "removed"), "e1");
    json_decref(j);
    assert_int_equal(http_status(w, "/small.bin"), 200);
    assert_int_equal(http_status(w, "/big.bin"), 502);
    json_t *r = find_rule(w, "e1");
    assert_null(r);

    assert_int_equal(call_str(w, "DELETE", "/rules/e1", NULL, &j), 404);
    assert_error(j);
    json_decref(j);
    assert_int_equal(call_str(w, "DELETE", "/rules/never-was", NULL, NULL), 404);
    assert_int_equal(call_str(w, "DELETE", "/rules/", NULL, NULL), 404);

    json_t *all = get_ok(w, "/rules");
    assert_int_equal(json_array_size(all), 2);
    json_decref(all);
    assert_int_equal(call_str(w, "DELETE", "/rules", NULL, &j), 200);
    assert_true(json_is_true(json_object_get(j, "cleared")));
    json_decref(j);
    all = get_ok(w, "/rules");
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    assert_int_equal(http_status(w, "/big.bin"), 200);
    /* clearing an empty set is fine too */
    assert_int_equal(call_str(w, "DELETE", "/rules", NULL, NULL), 200);
    world_free(w);
}

/* ---- /journal ------------------------------------------------------------- */

static void test_journal_and_since(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *j = get_ok(w, "/journal");
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    assert_int_equal(post_rule(w, "j503: status 503 path=/small.bin", NULL), 201);

    /* a range request with a header of ours */
    char url[128];
    struct fltenv_fetch f;
    snprintf(url, sizeof url, "%s/big.bin", w->base);
    CURL *h = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "X-Probe: 42");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_RANGE, "0-99");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(fltenv_perform(h, &f), CURLE_OK);
    assert_int_equal(f.status, 206);
    fltenv_fetch_release(&f);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    assert_int_equal(http_status(w, "/small.bin"), 503);
    assert_int_equal(http_status(w, "/small.bin?x=1"), 503);
    assert_true(fltenv_wait_ended(&w->env, 3));

    j = get_ok(w, "/journal");
    assert_int_equal(json_array_size(j), 3);
    json_t *e = json_array_get(j, 0);
    assert_string_equal(jstr(e, "method"), "GET");
    assert_string_equal(jstr(e, "target"), "/big.bin");
    json_t *hdrs = json_object_get(e, "headers");
    assert_true(json_is_object(hdrs));
    assert_string_equal(jstr(hdrs, "X-Probe"), "42");
    assert_string_equal(jstr(e, "range"), "bytes=0-99");
    assert_int_equal(jint(e, "status"), 206);
    assert_int_equal(jint(e, "sent"), 100);
    assert_string_equal(jstr(e, "outcome"), "complete");
    assert_string_equal(jstr(e, "fired"), "");
    json_int_t id0 = jint(e, "id");

    e = json_array_get(j, 1);
    assert_string_equal(jstr(e, "target"), "/small.bin");
    assert_true(json_is_null(json_object_get(e, "range")));
    assert_int_equal(jint(e, "status"), 503);
    assert_string_equal(jstr(e, "fired"), "j503");
    assert_int_equal(jint(e, "id"), id0 + 1);
    e = json_array_get(j, 2);
    assert_string_equal(jstr(e, "target"), "/small.bin?x=1");
    json_int_t id2 = jint(e, "id");
    json_decref(j);

    /* ?since=ID: only the entries after ID */
    char q[64];
    snprintf(q, sizeof q, "/journal?since=%lld", (long long)id0);
    j = get_ok(w, q);
    assert_int_equal(json_array_size(j), 2);
    assert_int_equal(jint(json_array_get(j, 0), "id"), id0 + 1);
    json_decref(j);
    snprintf(q, sizeof q, "/journal?since=%lld", (long long)id2);
    j = get_ok(w, q);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    j = get_ok(w, "/journal?since=0");
    assert_int_equal(json_array_size(j), 3);
    json_decref(j);

    /* DELETE /journal forgets; ids keep counting */
    assert_int_equal(call_str(w, "DELETE", "/journal", NULL, &j), 200);
    assert_true(json_is_true(json_object_get(j, "cleared")));
    json_decref(j);
    j = get_ok(w, "/journal");
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    assert_int_equal(http_status(w, "/big.bin"), 200);
    assert_true(fltenv_wait_ended(&w->env, 1));
    j = get_ok(w, "/journal");
    assert_int_equal(json_array_size(j), 1);
    assert_true(jint(json_array_get(j, 0), "id") > id2);
    json_decref(j);
    world_free(w);
}

/* ---- /files --------------------------------------------------------------- */

/* GET path from the fault server and compare it with flt_gen_fill(seed, 0). */
static void assert_served(struct world *w, const char *path, uint64_t size, uint64_t seed)
{
    char url[256];
    struct fltenv_fetch f;
    snprintf(url, sizeof url, "%s%s", w->base, path);
    assert_int_equal(fltenv_get(url, &f), CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_int_equal(f.body_len, size);
    unsigned char *want = malloc(size ? size : 1);
    assert_non_null(want);
    flt_gen_fill(seed, 0, 0, want, size);
    assert_memory_equal(f.body, want, size);
    free(want);
    fltenv_fetch_release(&f);
}

static void test_post_files(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *j;
    assert_int_equal(http_status(w, "/gen8.bin"), 404);
    assert_int_equal(
        post_json(w, "/files",
                  json_pack("{ss ss si}", "path", "/gen8.bin", "size", "8MiB", "seed", 11), &j),
        201);
    assert_string_equal(jstr(j, "path"), "/gen8.bin");
    assert_int_equal(jint(j, "size"), 8 * 1024 * 1024);
    assert_int_equal(jint(j, "seed"), 11);
    json_decref(j);
    assert_served(w, "/gen8.bin", 8 * 1024 * 1024, 11);

    /* an integer size; the seed defaults to 1 */
    assert_int_equal(
        post_json(w, "/files", json_pack("{ss si}", "path", "/int.bin", "size", 12345), &j), 201);
    assert_int_equal(jint(j, "size"), 12345);
    assert_int_equal(jint(j, "seed"), 1);
    json_decref(j);
    assert_served(w, "/int.bin", 12345, 1);

    /* an empty one */
    assert_int_equal(
        post_json(w, "/files", json_pack("{ss si}", "path", "/zero.bin", "size", 0), NULL), 201);
    assert_served(w, "/zero.bin", 0, 1);

    /* redeclared: the new size and seed are served */
    assert_int_equal(
        post_json(w, "/files",
                  json_pack("{ss ss si}", "path", "/int.bin", "size", "1KiB", "seed", 5), NULL),
        201);
    assert_served(w, "/int.bin", 1024, 5);

    j = get_ok(w, "/files");
    assert_true(json_is_array(j));
    bool saw8 = false, sawint = false;
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v)
    {
        const char *p = jstr(v, "path");
        if (strcmp(p, "/gen8.bin") == 0) {
            saw8 = true;
            assert_int_equal(jint(v, "size"), 8 * 1024 * 1024);
            assert_int_equal(jint(v, "seed"), 11);
            assert_int_equal(jint(v, "version"), 0);
            assert_true(jstr(v, "etag")[0] == '"');
        } else if (strcmp(p, "/int.bin") == 0) {
            sawint = true;
            assert_int_equal(jint(v, "size"), 1024);
            assert_int_equal(jint(v, "seed"), 5);
        }
    }
    assert_true(saw8 && sawint);
    json_decref(j);
    world_free(w);
}

static void test_post_files_bad(void **state)
{
    (void)state;
    struct world *w = world_new();
    static const char *const bad[] = {
        "{\"size\": 10}",                                  /* no path */
        "{\"path\": 5, \"size\": 10}",                     /* path not a string */
        "{\"path\": \"rel.bin\", \"size\": 10}",           /* not absolute */
        "{\"path\": \"/a.bin\"}",                          /* no size */
        "{\"path\": \"/a.bin\", \"size\": \"8 parsecs\"}", /* not a size */
        "{\"path\": \"/a.bin\", \"size\": \"8 MiB\"}",     /* blank inside */
        "{\"path\": \"/a.bin\", \"size\": -1}",            /* negative */
        "{\"path\": \"/a.bin\", \"size\": 1.5}",           /* not whole */
        "{\"path\": \"/a.bin\", \"size\": null}",
        "{\"path\": \"/a.bin\", \"size\": [10]}",
        "{\"path\": \"/a.bin\", \"size\": 10, \"seed\": \"7\"}",
        "{\"path\": \"/a.bin\", \"size\": 10, \"seed\": -7}",
        "{\"path\": \"/a.bin\", \"size\": 10, \"seed\": 0.5}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *j;
        long st = call_str(w, "POST", "/files", bad[i], &j);
        if (st != 400)
            fail_msg("%s: status %ld", bad[i], st);
        assert_error(j);
        json_decref(j);
    }
    json_t *j = get_ok(w, "/files");
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v)
    {
        assert_string_not_equal(jstr(v, "path"), "/a.bin");
    }
    json_decref(j);
    assert_int_equal(http_status(w, "/a.bin"), 404);
    world_free(w);
}

/* ---- bad requests --------------------------------------------------------- */

static void test_bad_bodies(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *j;

    /* not JSON: the message names line and column */
    assert_int_equal(call_str(w, "POST", "/rules", "this is not json", &j), 400);
    assert_error(j);
    assert_non_null(strstr(jstr(j, "error"), "line 1"));
    assert_non_null(strstr(jstr(j, "error"), "column"));
    json_decref(j);
    assert_int_equal(call_str(w, "POST", "/rules", "{\n  \"rule\": oops\n}", &j), 400);
    assert_non_null(strstr(jstr(j, "error"), "line 2"));
    json_decref(j);

    static const char *const bad[] = {
        "{\"rule\": \"empty\"", /* unterminated */
        "",                     /* no body at all */
        "   ",
        "[\"empty\"]", /* JSON, not an object */
        "\"empty\"",
        "42",
        "null",
        "{}", /* an object without rule or rules */
        "{\"rule\": 5}",
        "{\"rule\": null}",
        "{\"rule\": [\"empty\"]}",
        "{\"rules\": \"empty\"}",
        "{\"rules\": {\"a\": \"empty\"}}",
        "{\"rules\": [1]}",
        "{\"rules\": [\"empty\", null]}",
        "{\"rule\": \"\xff\xfe\"}",       /* not UTF-8 */
        "{\"rule\": \"em\\u0000pty\"}",   /* NUL */
        "{\"rule\": \"empty\"} trailing", /* junk after the object */
        "{\"rule\": \"empty\", \"rule\": \"http10\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        long st = call_str(w, "POST", "/rules", bad[i], &j);
        if (st != 400)
            fail_msg("body %zu '%s': status %ld", i, bad[i], st);
        assert_error(j);
        json_decref(j);
    }
    /* JSON, but an array: said so, without a made-up line and column */
    assert_int_equal(call_str(w, "POST", "/files", "[1, 2]", &j), 400);
    assert_non_null(strstr(jstr(j, "error"), "array"));
    assert_null(strstr(jstr(j, "error"), "line -1"));
    json_decref(j);
    /* a body that holds a NUL byte */
    assert_int_equal(call(w, "POST", "/rules", "{\"rule\": \"empty\"}\0x", 19, &j), 400);
    assert_error(j);
    json_decref(j);
    /* nothing was added by any of them */
    j = get_ok(w, "/rules");
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    world_free(w);
}

static void test_body_too_large(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *j;
    const size_t max = 1024 * 1024;
    char *big = malloc(4 * max);
    assert_non_null(big);

    /* exactly 1 MiB (the rule padded with blanks) is accepted */
    const char *rule = "{\"rule\": \"p1: http10 path=/none\"}";
    memset(big, ' ', max);
    memcpy(big, rule, strlen(rule));
    assert_int_equal(call(w, "POST", "/rules", big, max, &j), 201);
    json_decref(j);
    /* one byte more is not, nor is 4 MiB, and nothing is added */
    memcpy(big, "{\"rule\": \"p2: http10 path=/none\"}", strlen(rule));
    assert_int_equal(call(w, "POST", "/rules", big, max + 1, &j), 413);
    assert_error(j);
    json_decref(j);
    memset(big, 'x', 4 * max);
    assert_int_equal(call(w, "POST", "/rules", big, 4 * max, &j), 413);
    json_decref(j);
    assert_int_equal(call(w, "POST", "/files", big, 2 * max, &j), 413);
    json_decref(j);
    free(big);
    j = get_ok(w, "/rules");
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(jstr(json_array_get(j, 0), "name"), "p1");
    json_decref(j);
    world_free(w);
}

static void test_unknown_endpoint_and_wrong_method(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *j;
    static const struct {
        const char *method, *path, *body;
        long status;
    } cases[] = {
        {"GET", "/nope", NULL, 404},       {"GET", "/", NULL, 404},
        {"GET", "/rulesx", NULL, 404},     {"DELETE", "/nope", NULL, 404},
        {"POST", "/nope", "{}", 404},      {"POST", "/nope", "not json at all", 404},
        {"PUT", "/rules", "{}", 405},      {"PATCH", "/rules", "{}", 405},
        {"GET", "/rules/r1", NULL, 405},   {"POST", "/rules/r1", "{}", 405},
        {"PUT", "/journal", NULL, 405},    {"POST", "/journal", "{}", 405},
        {"DELETE", "/files", NULL, 405},   {"PUT", "/files", "{}", 405},
        {"POST", "/actions", "{}", 405},   {"POST", "/actions", "not json", 405},
        {"DELETE", "/actions", NULL, 405},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        long st = call_str(w, cases[i].method, cases[i].path, cases[i].body, &j);
        if (st != cases[i].status)
            fail_msg("%s %s: status %ld, want %ld", cases[i].method, cases[i].path, st,
                     cases[i].status);
        assert_error(j);
        json_decref(j);
    }
    /* still answering */
    j = get_ok(w, "/actions");
    assert_int_equal(json_array_size(j), FLT_A__COUNT);
    json_decref(j);
    world_free(w);
}

/* ---- text that is long or not ASCII -------------------------------------- */

static void test_long_rule_text_is_whole(void **state)
{
    (void)state;
    struct world *w = world_new();
    /* a canonical text longer than any fixed buffer */
    size_t plen = 5000;
    char *rule = malloc(plen + 64), *want = malloc(plen + 128);
    assert_non_null(rule);
    assert_non_null(want);
    int n = snprintf(rule, 64, "long: status 503 path=/");
    memset(rule + n, 'a', plen);
    rule[n + (int)plen] = '\0';
    assert_int_equal(post_rule(w, rule, NULL), 201);
    canon(rule, want, plen + 128);
    json_t *r = find_rule(w, "long");
    assert_non_null(r);
    assert_string_equal(jstr(r, "text"), want);
    /* and the text is a rule again */
    struct flt_rule *back;
    size_t col;
    char err[XL_ERRLEN];
    assert_int_equal(flt_rule_parse(jstr(r, "text"), &back, &col, err), 0);
    flt_rule_free(back);
    json_decref(r);
    free(rule);
    free(want);
    world_free(w);
}

static void test_text_not_ascii(void **state)
{
    (void)state;
    struct world *w = world_new();
    json_t *j;
    char rule[1024], path[300];

    /* UTF-8 in a rule: kept as it is */
    assert_int_equal(post_rule(w, "u1: status 503 path=/caf\xc3\xa9.bin", NULL), 201);
    json_t *r = find_rule(w, "u1");
    assert_non_null(r);
    assert_non_null(strstr(jstr(r, "text"), "path=/caf\xc3\xa9.bin"));
    json_decref(r);

    /* an error message cut inside a UTF-8 sequence is still a JSON answer */
    for (int odd = 0; odd < 2; odd++) {
        int n = snprintf(rule, sizeof rule, "%s", odd ? "x" : "");
        for (int i = 0; i < 200; i++)
            n += snprintf(rule + n, sizeof rule - (size_t)n, "\xc3\xa9");
        assert_int_equal(post_rule(w, rule, &j), 400);
        assert_error(j);
        assert_int_equal(jint(j, "index"), 0);
        json_decref(j);
        /* the same for a file path the content refuses */
        n = snprintf(path, sizeof path, "%s", odd ? "x" : "");
        for (int i = 0; i < 100; i++)
            n += snprintf(path + n, sizeof path - (size_t)n, "\xc3\xa9");
        assert_int_equal(post_json(w, "/files", json_pack("{ss si}", "path", path, "size", 10), &j),
                         400);
        assert_error(j);
        json_decref(j);
    }

    /* rules and files added by other means may hold any bytes: still listed */
    fltenv_rule(&w->env, "bin: status 503 path=/\xff\xfe.bin");
    fltenv_gen(&w->env, "/\xff.bin", 10, 1);
    r = find_rule(w, "bin");
    assert_non_null(r);
    json_decref(r);
    j = get_ok(w, "/files");
    assert_int_equal(json_array_size(j), 3);
    json_decref(j);
    world_free(w);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_actions_lists_the_table),
        cmocka_unit_test(test_post_rule_takes_effect),
        cmocka_unit_test(test_post_batch),
        cmocka_unit_test(test_batch_with_a_bad_rule_adds_nothing),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_rule_counters_move),
        cmocka_unit_test(test_delete_rules),
        cmocka_unit_test(test_journal_and_since),
        cmocka_unit_test(test_post_files),
        cmocka_unit_test(test_post_files_bad),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_unknown_endpoint_and_wrong_method),
        cmocka_unit_test(test_long_rule_text_is_whole),
        cmocka_unit_test(test_text_not_ascii),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
