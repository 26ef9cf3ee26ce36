/*
 * rule: the action and key tables, the rule parser, and the planner.
 *
 * Tables first: every action and every key is described once, below. The
 * parser checks a rule against its action's row (which keys it allows, which it
 * needs, which one a bare value fills); the planner folds fired rules into a
 * flt_plan; help and the JSON API print the same rows.
 *
 * Tokens: words separated by blanks; a value may be "quoted" with \" and \\
 * escapes. A leading word ending in ':' names the rule.
 */
#include "rule.h"

#include <ctype.h>
#include <stdarg.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum key_type { T_STR, T_COUNT, T_SIZE, T_DUR, T_RATE, T_PROB, T_STATUS, T_SHIFT, T_WORD };

struct key_info {
    const char *name;
    enum key_type type;
    const char *help;
};

static const struct key_info keys[FLT_K__COUNT] = {
    [FLT_K_PATH] = {"path", T_STR, "only requests whose path matches this glob"},
    [FLT_K_METHOD] = {"method", T_WORD, "only this HTTP method or FTP command"},
    [FLT_K_NTH] = {"nth", T_COUNT, "only the n-th matching request"},
    [FLT_K_FIRST] = {"first", T_COUNT, "only the first N matching requests"},
    [FLT_K_EVERY] = {"every", T_COUNT, "only every k-th matching request"},
    [FLT_K_CONN] = {"conn", T_COUNT, "only requests on the n-th connection"},
    [FLT_K_PROB] = {"prob", T_PROB, "fire with this seeded probability (0.25 or 25%)"},
    [FLT_K_SEED] = {"seed", T_COUNT, "seed for prob= (default 1)"},
    [FLT_K_AT] = {"at", T_SIZE, "byte offset in the whole entity"},
    [FLT_K_AFTER] = {"after", T_SIZE, "byte offset in this response's body"},
    [FLT_K_RECEIVED] = {"received", T_SIZE, "byte offset in the request body received"},
    [FLT_K_FOR] = {"for", T_DUR, "how long (a duration or forever)"},
    [FLT_K_DELAY] = {"delay", T_DUR, "how long to wait first"},
    [FLT_K_RATE] = {"rate", T_RATE, "bytes per second (100KiB/s, 8Mbit/s)"},
    [FLT_K_CHUNK] = {"chunk", T_SIZE, "bytes sent per burst"},
    [FLT_K_PAUSE] = {"pause", T_DUR, "pause between bursts"},
    [FLT_K_BY] = {"by", T_SIZE, "how many bytes short"},
    [FLT_K_SIZE] = {"size", T_SIZE, "a size in bytes"},
    [FLT_K_TOTAL] = {"total", T_SIZE, "total size to claim in Content-Range"},
    [FLT_K_SHIFT] = {"shift", T_SHIFT, "signed shift of the 206 start (+100, -4KiB)"},
    [FLT_K_BYTES] = {"bytes", T_SIZE, "how many bytes"},
    [FLT_K_CODE] = {"code", T_STATUS, "status or reply code (100-599)"},
    [FLT_K_HEADER] = {"header", T_STR, "a response header \"Name: value\" (repeatable)"},
    [FLT_K_TO] = {"to", T_STR, "target URL or path"},
    [FLT_K_HOPS] = {"hops", T_COUNT, "redirects in the chain"},
    [FLT_K_MODE] = {"mode", T_WORD, "variant of the action"},
    [FLT_K_USER] = {"user", T_STR, "user name"},
    [FLT_K_PASS] = {"pass", T_STR, "password"},
    [FLT_K_REALM] = {"realm", T_STR, "authentication realm (default xferlab)"},
    [FLT_K_TEXT] = {"text", T_STR, "reply text"},
};

#define B(k) (1ull << FLT_K_##k)
#define SEL  (B(PATH) | B(METHOD) | B(NTH) | B(FIRST) | B(EVERY) | B(CONN) | B(PROB) | B(SEED))
#define NONE FLT_K__COUNT
#define BOTH (FLT_P_HTTP | FLT_P_FTP)

static const struct flt_action_info actions[FLT_A__COUNT] = {
    [FLT_A_REFUSE] = {"refuse", FLT_A_REFUSE, BOTH, FLT_K_FOR, B(FOR), 0, NULL,
                      "Close the listening socket: connects are refused (ECONNREFUSED) until "
                      "the rule is removed or for= passes.",
                      "refuse for=30s"},
    [FLT_A_SILENT] = {"silent", FLT_A_SILENT, BOTH, NONE, SEL, 0, NULL,
                      "Read the request and never answer (the client's own timeout must fire).",
                      "silent path=/hang nth=1"},
    [FLT_A_EMPTY] = {"empty", FLT_A_EMPTY, FLT_P_HTTP, NONE, SEL, 0, NULL,
                     "Close the connection before any header (an empty reply).", "empty first=2"},
    [FLT_A_GARBAGE] = {"garbage", FLT_A_GARBAGE, FLT_P_HTTP, FLT_K_BYTES, SEL | B(BYTES), 0, NULL,
                       "Send bytes=N (default 64) of non-HTTP garbage, then close.",
                       "garbage bytes=100 nth=1"},
    [FLT_A_STATUS] = {"status", FLT_A_STATUS, FLT_P_HTTP, FLT_K_CODE, SEL | B(CODE) | B(HEADER),
                      B(CODE), NULL,
                      "Answer with this status (and headers) instead of the content.",
                      "status 503 header=\"Retry-After: 5\" first=2"},
    [FLT_A_HEADER] = {"header", FLT_A_HEADER, FLT_P_HTTP, FLT_K_HEADER, SEL | B(HEADER), B(HEADER),
                      NULL, "Add a header to the response.",
                      "header \"Cache-Control: no-store\" path=/a.bin"},
    [FLT_A_REDIRECT] = {"redirect", FLT_A_REDIRECT, FLT_P_HTTP, FLT_K_TO,
                        SEL | B(TO) | B(CODE) | B(HOPS) | B(MODE), 0, "chain|loop",
                        "Redirect (code=301|302|303|307|308, default 302) to=URL, through "
                        "hops=N redirects on this server first; mode=loop redirects to itself.",
                        "redirect https://127.0.0.1:8443/big.bin code=307 hops=3"},
    [FLT_A_NO_LENGTH] = {"no-length", FLT_A_NO_LENGTH, FLT_P_HTTP, FLT_K_MODE, SEL | B(MODE), 0,
                         "close|chunked",
                         "Omit Content-Length: mode=close ends the body by closing (default), "
                         "mode=chunked uses chunked transfer coding.",
                         "no-length chunked path=/dyn"},
    [FLT_A_HTTP10] = {"http10", FLT_A_HTTP10, FLT_P_HTTP, NONE, SEL, 0, NULL,
                      "Answer as an HTTP/1.0 server (status line HTTP/1.0, connection closes).",
                      "http10"},
    [FLT_A_SHORT] = {"short", FLT_A_SHORT, FLT_P_HTTP, FLT_K_BY, SEL | B(BY), B(BY), NULL,
                     "Send by=N fewer body bytes than Content-Length promises, then close.",
                     "short by=1000 nth=1"},
    [FLT_A_IGNORE_RANGE] = {"ignore-range", FLT_A_IGNORE_RANGE, FLT_P_HTTP, FLT_K_MODE,
                            SEL | B(MODE), 0, "none|advertised",
                            "Answer a Range request with the full 200; mode=advertised still "
                            "sends Accept-Ranges: bytes (a lying server), mode=none sends "
                            "Accept-Ranges: none.",
                            "ignore-range advertised path=/big.bin"},
    [FLT_A_BAD_206] = {"bad-206", FLT_A_BAD_206, FLT_P_HTTP, FLT_K_MODE,
                       SEL | B(MODE) | B(SHIFT) | B(TOTAL), 0, "shift|no-content-range|total",
                       "Answer a Range request with a wrong 206: shift=N moves the start, "
                       "mode=no-content-range omits Content-Range, total=N claims another size.",
                       "bad-206 shift=+100"},
    [FLT_A_CHANGE] = {"change", FLT_A_CHANGE, BOTH, FLT_K_SIZE, SEL | B(SIZE), 0, NULL,
                      "From this request on, the entity is a new version: new content, ETag "
                      "and Last-Modified (FTP: size and MDTM); size=N also changes its length.",
                      "change path=/big.bin nth=2 size=9MiB"},
    [FLT_A_VALIDATORS] = {"validators", FLT_A_VALIDATORS, FLT_P_HTTP, FLT_K_MODE, SEL | B(MODE),
                          B(MODE), "weak|none",
                          "mode=weak sends a weak ETag (W/\"...\"), mode=none sends neither ETag "
                          "nor Last-Modified.",
                          "validators none"},
    [FLT_A_SLOW_HEADERS] = {"slow-headers", FLT_A_SLOW_HEADERS, FLT_P_HTTP, FLT_K_DELAY,
                            SEL | B(DELAY), B(DELAY), NULL,
                            "Wait delay=D after the request before sending the head.",
                            "slow-headers 3s nth=1"},
    [FLT_A_AUTH] = {"auth", FLT_A_AUTH, FLT_P_HTTP, FLT_K_MODE,
                    SEL | B(MODE) | B(USER) | B(PASS) | B(REALM), B(USER) | B(PASS), "basic|digest",
                    "Require credentials (mode=basic, default, or digest): 401 with "
                    "WWW-Authenticate until the client sends user= and pass=.",
                    "auth digest user=alice pass=secret"},
    [FLT_A_CLOSE] = {"close", FLT_A_CLOSE, BOTH, FLT_K_AFTER, SEL | B(AT) | B(AFTER) | B(RECEIVED),
                     0, NULL,
                     "Close (FIN) the connection at a byte: after=N of this body, at=N of the "
                     "entity, or received=N of an upload (the server stops reading there; the "
                     "kernel answers upload bytes left unread with an RST).",
                     "close after=1MiB nth=1"},
    [FLT_A_RESET] = {"reset", FLT_A_RESET, BOTH, FLT_K_AFTER, SEL | B(AT) | B(AFTER) | B(RECEIVED),
                     0, NULL,
                     "Reset (RST) the connection at a byte: after=, at= or received= as for "
                     "close.",
                     "reset at=3MiB path=/big.bin"},
    [FLT_A_STALL] = {"stall", FLT_A_STALL, BOTH, FLT_K_AFTER, SEL | B(AT) | B(AFTER) | B(FOR), 0,
                     NULL,
                     "Stop sending at a byte (after=0, default, is right after the head) for=D, "
                     "default forever; then go on.",
                     "stall after=512KiB for=2min"},
    [FLT_A_THROTTLE] = {"throttle", FLT_A_THROTTLE, BOTH, FLT_K_RATE, SEL | B(RATE), B(RATE), NULL,
                        "Send the body at most rate=R.", "throttle 256KiB/s"},
    [FLT_A_DRIBBLE] = {"dribble", FLT_A_DRIBBLE, BOTH, NONE, SEL | B(CHUNK) | B(PAUSE),
                       B(CHUNK) | B(PAUSE), NULL,
                       "Send chunk=N bytes, pause=D, and again, to the end.",
                       "dribble chunk=1KiB pause=100ms"},
    [FLT_A_CORRUPT] = {"corrupt", FLT_A_CORRUPT, BOTH, FLT_K_AT, SEL | B(AT), B(AT), NULL,
                       "Flip every bit of byte at=N of the entity wherever it is sent.",
                       "corrupt at=1000000"},
    [FLT_A_MAX_UPLOAD] = {"max-upload", FLT_A_MAX_UPLOAD, FLT_P_HTTP, FLT_K_SIZE, SEL | B(SIZE),
                          B(SIZE), NULL,
                          "Refuse request bodies larger than size=N with 413 (before reading "
                          "them when Content-Length tells).",
                          "max-upload 1MiB"},
    [FLT_A_NO_CONTINUE] = {"no-continue", FLT_A_NO_CONTINUE, FLT_P_HTTP, FLT_K_CODE, SEL | B(CODE),
                           0, NULL,
                           "Answer Expect: 100-continue with a final status (code=, default "
                           "417) instead of 100 Continue.",
                           "no-continue 417 method=PUT"},
    [FLT_A_REPLY] = {"reply", FLT_A_REPLY, FLT_P_FTP, FLT_K_CODE, SEL | B(CODE) | B(TEXT),
                     B(CODE) | B(METHOD), NULL,
                     "FTP: answer command method=CMD with code (and text=). CONNECT is the "
                     "greeting: reply 421 method=CONNECT.",
                     "reply 502 method=SIZE"},
    [FLT_A_ABORT] = {"abort", FLT_A_ABORT, FLT_P_FTP, FLT_K_AFTER, SEL | B(AFTER) | B(AT), 0, NULL,
                     "FTP: after=N data bytes close the data connection and reply 426 on the "
                     "control connection.",
                     "abort after=64KiB"},
};

const struct flt_action_info *flt_action_info(enum flt_action a)
{
    return (unsigned)a < FLT_A__COUNT ? &actions[a] : NULL;
}

const char *flt_key_name(enum flt_key k)
{
    return (unsigned)k < FLT_K__COUNT ? keys[k].name : "?";
}

const char *flt_key_help(enum flt_key k)
{
    return (unsigned)k < FLT_K__COUNT ? keys[k].help : "?";
}

/* ---- tokenizer --------------------------------------------------------- */

struct tok {
    char *key;   /* NULL for a bare word */
    char *value; /* unquoted, owned */
    size_t col;  /* column of the token */
    size_t vcol; /* column of the value */
};

#define MAX_TOKENS 48

__attribute__((format(printf, 4, 5))) static int perr(char *err, size_t *col, size_t at,
                                                      const char *fmt, ...)
{
    va_list ap;
    *col = at;
    va_start(ap, fmt);
    vsnprintf(err, XL_ERRLEN, fmt, ap);
    va_end(ap);
    return -1;
}

/* Read a (possibly quoted) value at s[i]; returns an allocated copy and advances *i. */
static char *read_value(const char *s, size_t *i, size_t *col, char *err)
{
    size_t cap = strlen(s + *i) + 1, n = 0;
    char *out = malloc(cap);
    if (!out) {
        perr(err, col, *i, "out of memory");
        return NULL;
    }
    if (s[*i] == '"') {
        size_t start = *i;
        (*i)++;
        for (;;) {
            char c = s[*i];
            if (c == '\0') {
                free(out);
                perr(err, col, start, "unterminated quoted value");
                return NULL;
            }
            (*i)++;
            if (c == '"')
                break;
            if (c == '\\' && (s[*i] == '"' || s[*i] == '\\'))
                c = s[(*i)++];
            out[n++] = c;
        }
        if (s[*i] != '\0' && !isspace((unsigned char)s[*i])) {
            free(out);
            perr(err, col, *i, "expected a blank after the closing quote");
            return NULL;
        }
    } else {
        while (s[*i] != '\0' && !isspace((unsigned char)s[*i]))
            out[n++] = s[(*i)++];
    }
    out[n] = '\0';
    return out;
}

static void free_tokens(struct tok *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].key);
        free(t[i].value);
    }
}

static int tokenize(const char *s, struct tok *t, size_t *nt, size_t *col, char *err)
{
    size_t i = 0, n = 0;
    for (;;) {
        while (isspace((unsigned char)s[i]))
            i++;
        if (s[i] == '\0' || s[i] == '#')
            break;
        if (n == MAX_TOKENS) {
            free_tokens(t, n);
            return perr(err, col, i, "too many words in one rule");
        }
        struct tok *k = &t[n];
        memset(k, 0, sizeof *k);
        k->col = i;
        /* A key is [a-z0-9-]+ followed by '=' */
        size_t j = i;
        while (islower((unsigned char)s[j]) || isdigit((unsigned char)s[j]) || s[j] == '-')
            j++;
        if (j > i && s[j] == '=') {
            k->key = strndup(s + i, j - i);
            i = j + 1;
        }
        k->vcol = i;
        k->value = read_value(s, &i, col, err);
        if (!k->value || (k->key == NULL && j > i && s[j] == '=')) {
            free(k->key);
            free_tokens(t, n);
            return -1;
        }
        n++;
    }
    *nt = n;
    return 0;
}

/* ---- parser ------------------------------------------------------------ */

static int find_action(const char *word)
{
    for (int a = 0; a < FLT_A__COUNT; a++)
        if (strcmp(actions[a].name, word) == 0)
            return a;
    return -1;
}

static int find_key(const char *word)
{
    for (int k = 0; k < FLT_K__COUNT; k++)
        if (strcmp(keys[k].name, word) == 0)
            return k;
    return -1;
}

static int unknown_name(const char *word, bool is_action, size_t at, size_t *col, char *err)
{
    const char
        *names[(int)FLT_A__COUNT > (int)FLT_K__COUNT ? (int)FLT_A__COUNT : (int)FLT_K__COUNT];
    size_t n = is_action ? FLT_A__COUNT : FLT_K__COUNT;
    for (size_t i = 0; i < n; i++)
        names[i] = is_action ? actions[i].name : keys[i].name;
    int c = xl_closest(word, names, n);
    char hint[96] = "";
    if (c >= 0)
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", names[c]);
    return perr(err, col, at, "unknown %s '%s'%s", is_action ? "action" : "key", word, hint);
}

static bool mode_allowed(const char *modes, const char *m)
{
    size_t ml = strlen(m);
    for (const char *p = modes; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == ml && strncmp(p, m, len) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static int set_key(struct flt_rule *r, int k, const struct tok *t, size_t *col, char *err)
{
    const char *v = t->value;
    size_t vc = 0;
    uint64_t u = 0;
    int64_t d = 0;
    char sub[XL_ERRLEN];
    int rc = 0;

    if ((r->have & (1ull << k)) && k != FLT_K_HEADER)
        return perr(err, col, t->col, "key '%s' given twice", keys[k].name);
    switch (keys[k].type) {
    case T_STR:
    case T_WORD:
        if (*v == '\0')
            return perr(err, col, t->vcol, "key '%s' needs a value", keys[k].name);
        break;
    case T_COUNT:
        rc = xl_parse_u64(v, &u, &vc, sub);
        if (rc == 0 && u == 0 && k != FLT_K_SEED)
            return perr(err, col, t->vcol, "'%s' counts from 1", keys[k].name);
        break;
    case T_SIZE:
        rc = xl_parse_size(v, &u, &vc, sub);
        break;
    case T_DUR:
        rc = xl_parse_duration(v, &d, &vc, sub);
        break;
    case T_RATE:
        rc = xl_parse_rate(v, &u, &vc, sub);
        break;
    case T_PROB:
        rc = xl_parse_prob(v, &r->prob, &vc, sub);
        break;
    case T_STATUS:
        rc = xl_parse_u64(v, &u, &vc, sub);
        if (rc == 0 && (u < 100 || u > 599))
            return perr(err, col, t->vcol, "'%s' must be a status from 100 to 599", v);
        break;
    case T_SHIFT: {
        int sign = 1;
        const char *p = v;
        if (*p == '+' || *p == '-') {
            sign = *p == '-' ? -1 : 1;
            p++;
        }
        rc = xl_parse_size(p, &u, &vc, sub);
        vc += (size_t)(p - v);
        if (rc == 0 && u > INT64_MAX)
            return perr(err, col, t->vcol, "shift too large");
        r->shift = sign * (int64_t)u;
        break;
    }
    }
    if (rc < 0) {
        *col = t->vcol + vc;
        snprintf(err, XL_ERRLEN, "%s: %s", keys[k].name, sub);
        return -1;
    }
    r->have |= 1ull << k;
    switch ((enum flt_key)k) {
    case FLT_K_PATH:
        r->path = strdup(v);
        break;
    case FLT_K_METHOD:
        r->method = strdup(v);
        for (char *p = r->method; p && *p; p++)
            *p = (char)toupper((unsigned char)*p);
        break;
    case FLT_K_NTH:
        r->nth = u;
        break;
    case FLT_K_FIRST:
        r->first = u;
        break;
    case FLT_K_EVERY:
        r->every = u;
        break;
    case FLT_K_CONN:
        r->conn = u;
        break;
    case FLT_K_PROB:
        break;
    case FLT_K_SEED:
        r->seed = u;
        break;
    case FLT_K_AT:
        r->at = u;
        break;
    case FLT_K_AFTER:
        r->after = u;
        break;
    case FLT_K_RECEIVED:
        r->received = u;
        break;
    case FLT_K_FOR:
        r->for_ms = d;
        break;
    case FLT_K_DELAY:
        r->delay_ms = d;
        break;
    case FLT_K_RATE:
        r->rate = u;
        break;
    case FLT_K_CHUNK:
        if (u == 0)
            return perr(err, col, t->vcol, "chunk must be at least 1 byte");
        r->chunk = u;
        break;
    case FLT_K_PAUSE:
        r->pause_ms = d;
        break;
    case FLT_K_BY:
        r->by = u;
        break;
    case FLT_K_SIZE:
        r->size = u;
        break;
    case FLT_K_TOTAL:
        r->total = u;
        break;
    case FLT_K_SHIFT:
        break;
    case FLT_K_BYTES:
        r->bytes = u;
        break;
    case FLT_K_CODE:
        r->code = (int)u;
        break;
    case FLT_K_HEADER: {
        const char *colon = strchr(v, ':');
        if (!colon || colon == v || strpbrk(v, "\r\n"))
            return perr(err, col, t->vcol, "header must look like \"Name: value\"");
        for (const char *p = v; p < colon; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
                return perr(err, col, t->vcol + (size_t)(p - v), "bad character in header name");
        if (r->nheaders == FLT_MAX_HEADERS)
            return perr(err, col, t->col, "too many headers in one rule");
        r->headers[r->nheaders++] = strdup(v);
        break;
    }
    case FLT_K_TO:
        r->to = strdup(v);
        break;
    case FLT_K_HOPS:
        r->hops = u;
        break;
    case FLT_K_MODE:
        r->mode = strdup(v);
        break;
    case FLT_K_USER:
        r->user = strdup(v);
        break;
    case FLT_K_PASS:
        r->pass = strdup(v);
        break;
    case FLT_K_REALM:
        r->realm = strdup(v);
        break;
    case FLT_K_TEXT:
        r->text = strdup(v);
        break;
    case FLT_K__COUNT:
        break;
    }
    return 0;
}

static bool valid_name(const char *s, size_t len)
{
    if (len == 0 || len >= FLT_NAME_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

int flt_rule_parse(const char *text, struct flt_rule **out, size_t *col, char *err)
{
    struct tok t[MAX_TOKENS];
    size_t nt = 0, first = 0;
    size_t dummy_col;
    if (!col)
        col = &dummy_col;
    *out = NULL;
    if (tokenize(text, t, &nt, col, err) < 0)
        return -1;
    struct flt_rule *r = calloc(1, sizeof *r);
    if (!r) {
        free_tokens(t, nt);
        return perr(err, col, 0, "out of memory");
    }
    r->for_ms = XL_FOREVER;
    r->seed = 1;
    if (nt == 0) {
        perr(err, col, 0, "empty rule: expected an action such as close, status, stall");
        goto fail;
    }
    /* Optional "name:" */
    size_t l0 = strlen(t[0].value);
    if (!t[0].key && l0 > 1 && t[0].value[l0 - 1] == ':') {
        if (!valid_name(t[0].value, l0 - 1)) {
            perr(err, col, t[0].col, "bad rule name '%s' (letters, digits, - _ .)", t[0].value);
            goto fail;
        }
        memcpy(r->name, t[0].value, l0 - 1);
        first = 1;
    }
    if (first >= nt || t[first].key) {
        perr(err, col, first < nt ? t[first].col : strlen(text),
             "expected an action such as close, status, stall");
        goto fail;
    }
    int a = find_action(t[first].value);
    if (a < 0) {
        unknown_name(t[first].value, true, t[first].col, col, err);
        goto fail;
    }
    r->action = (enum flt_action)a;
    const struct flt_action_info *ai = &actions[a];
    bool positional_used = false;
    for (size_t i = first + 1; i < nt; i++) {
        int k;
        if (!t[i].key) {
            if (ai->primary == NONE || positional_used) {
                perr(err, col, t[i].col, "'%s' takes %s bare value; write key=value", ai->name,
                     ai->primary == NONE ? "no" : "only one");
                goto fail;
            }
            positional_used = true;
            k = (int)ai->primary;
            t[i].vcol = t[i].col;
        } else {
            k = find_key(t[i].key);
            if (k < 0) {
                unknown_name(t[i].key, false, t[i].col, col, err);
                goto fail;
            }
            if (!(ai->allowed & (1ull << k))) {
                perr(err, col, t[i].col, "action '%s' takes no key '%s'", ai->name, keys[k].name);
                goto fail;
            }
        }
        if (set_key(r, k, &t[i], col, err) < 0)
            goto fail;
    }
    for (int k = 0; k < FLT_K__COUNT; k++)
        if ((ai->required & (1ull << k)) && !(r->have & (1ull << k))) {
            perr(err, col, strlen(text), "action '%s' needs %s=", ai->name, keys[k].name);
            goto fail;
        }
    if (r->mode && !mode_allowed(ai->modes, r->mode)) {
        char allowed[96];
        snprintf(allowed, sizeof allowed, "%s", ai->modes ? ai->modes : "none");
        for (size_t i = first + 1; i < nt; i++)
            if (!t[i].key || strcmp(t[i].key, "mode") == 0)
                *col = t[i].vcol;
        snprintf(err, XL_ERRLEN, "'%s' is not a mode of '%s' (%s)", r->mode, ai->name, allowed);
        goto fail;
    }
    int anchors = !!(r->have & B(AT)) + !!(r->have & B(AFTER)) + !!(r->have & B(RECEIVED));
    if (anchors > 1) {
        perr(err, col, t[first].col, "give only one of at=, after= and received=");
        goto fail;
    }
    if ((r->action == FLT_A_CLOSE || r->action == FLT_A_RESET) && anchors == 0) {
        perr(err, col, strlen(text), "'%s' needs a byte: after=, at= or received=", ai->name);
        goto fail;
    }
    if (r->action == FLT_A_BAD_206 && !r->mode && !(r->have & (B(SHIFT) | B(TOTAL)))) {
        perr(err, col, strlen(text), "'bad-206' needs shift=, total= or mode=no-content-range");
        goto fail;
    }
    if (r->action == FLT_A_REDIRECT && !r->to && !(r->mode && strcmp(r->mode, "loop") == 0)) {
        perr(err, col, strlen(text), "'redirect' needs to=URL (or mode=loop)");
        goto fail;
    }
    if (r->action == FLT_A_REDIRECT && (r->have & B(CODE)) && (r->code < 300 || r->code > 399)) {
        perr(err, col, t[first].col, "redirect code must be a 3xx status");
        goto fail;
    }
    r->source = strdup(text);
    free_tokens(t, nt);
    *out = r;
    return 0;
fail:
    free_tokens(t, nt);
    flt_rule_free(r);
    return -1;
}

void flt_rule_free(struct flt_rule *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->method);
    for (size_t i = 0; i < r->nheaders; i++)
        free(r->headers[i]);
    free(r->to);
    free(r->mode);
    free(r->user);
    free(r->pass);
    free(r->realm);
    free(r->text);
    free(r->source);
    free(r);
}

/* Append "key=value" with the value quoted when it needs to be. */
static void put(char *buf, size_t len, size_t *n, const char *key, const char *val)
{
    bool quote = *val == '\0' || strpbrk(val, "\"\\#") != NULL;
    for (const char *p = val; *p && !quote; p++)
        quote = isspace((unsigned char)*p) != 0;
    int w = snprintf(buf + (*n < len ? *n : len), *n < len ? len - *n : 0, " %s=%s", key,
                     quote ? "\"" : "");
    *n += (size_t)w;
    if (quote) {
        for (const char *p = val; *p; p++) {
            if (*p == '"' || *p == '\\') {
                if (*n < len)
                    buf[*n] = '\\';
                (*n)++;
            }
            if (*n < len)
                buf[*n] = *p;
            (*n)++;
        }
        if (*n < len)
            buf[*n] = '"';
        (*n)++;
    } else {
        w = snprintf(buf + (*n < len ? *n : len), *n < len ? len - *n : 0, "%s", val);
        *n += (size_t)w;
    }
    if (len)
        buf[*n < len ? *n : len - 1] = '\0';
}

int flt_rule_format(const struct flt_rule *r, char *buf, size_t len)
{
    size_t n = 0;
    char v[64];
    int w = snprintf(buf, len, "%s%s%s", r->name, r->name[0] ? ": " : "", actions[r->action].name);
    n = (size_t)w;
    for (int k = 0; k < FLT_K__COUNT; k++) {
        if (!(r->have & (1ull << k)))
            continue;
        const char *s = v;
        switch ((enum flt_key)k) {
        case FLT_K_PATH:
            s = r->path;
            break;
        case FLT_K_METHOD:
            s = r->method;
            break;
        case FLT_K_NTH:
        case FLT_K_FIRST:
        case FLT_K_EVERY:
        case FLT_K_CONN:
        case FLT_K_SEED:
        case FLT_K_HOPS:
        case FLT_K_CODE: {
            uint64_t x = k == FLT_K_NTH     ? r->nth
                         : k == FLT_K_FIRST ? r->first
                         : k == FLT_K_EVERY ? r->every
                         : k == FLT_K_CONN  ? r->conn
                         : k == FLT_K_SEED  ? r->seed
                         : k == FLT_K_HOPS  ? r->hops
                                            : (uint64_t)r->code;
            snprintf(v, sizeof v, "%llu", (unsigned long long)x);
            break;
        }
        case FLT_K_PROB: {
            /* The shortest plain decimal that reads back as the same double. */
            for (int prec = 1; prec <= 40; prec++) {
                double back;
                size_t c;
                char e[XL_ERRLEN];
                snprintf(v, sizeof v, "%.*f", prec, r->prob);
                if (xl_parse_prob(v, &back, &c, e) == 0 && back == r->prob)
                    break;
            }
            break;
        }
        case FLT_K_AT:
        case FLT_K_AFTER:
        case FLT_K_RECEIVED:
        case FLT_K_CHUNK:
        case FLT_K_BY:
        case FLT_K_SIZE:
        case FLT_K_TOTAL:
        case FLT_K_BYTES:
            xl_format_size(k == FLT_K_AT         ? r->at
                           : k == FLT_K_AFTER    ? r->after
                           : k == FLT_K_RECEIVED ? r->received
                           : k == FLT_K_CHUNK    ? r->chunk
                           : k == FLT_K_BY       ? r->by
                           : k == FLT_K_SIZE     ? r->size
                           : k == FLT_K_TOTAL    ? r->total
                                                 : r->bytes,
                           v, sizeof v);
            break;
        case FLT_K_FOR:
        case FLT_K_DELAY:
        case FLT_K_PAUSE:
            xl_format_duration(k == FLT_K_FOR     ? r->for_ms
                               : k == FLT_K_DELAY ? r->delay_ms
                                                  : r->pause_ms,
                               v, sizeof v);
            break;
        case FLT_K_RATE: {
            char sz[40];
            xl_format_size(r->rate, sz, sizeof sz);
            snprintf(v, sizeof v, "%s%s/s", sz,
                     strchr("0123456789", sz[strlen(sz) - 1]) ? "B" : "");
            break;
        }
        case FLT_K_SHIFT: {
            char sz[40];
            xl_format_size((uint64_t)(r->shift < 0 ? -r->shift : r->shift), sz, sizeof sz);
            snprintf(v, sizeof v, "%c%s", r->shift < 0 ? '-' : '+', sz);
            break;
        }
        case FLT_K_HEADER:
            for (size_t i = 0; i < r->nheaders; i++)
                put(buf, len, &n, "header", r->headers[i]);
            continue;
        case FLT_K_TO:
            s = r->to;
            break;
        case FLT_K_MODE:
            s = r->mode;
            break;
        case FLT_K_USER:
            s = r->user;
            break;
        case FLT_K_PASS:
            s = r->pass;
            break;
        case FLT_K_REALM:
            s = r->realm;
            break;
        case FLT_K_TEXT:
            s = r->text;
            break;
        case FLT_K__COUNT:
            continue;
        }
        put(buf, len, &n, keys[k].name, s);
    }
    return (int)n;
}

/* ---- rule sets --------------------------------------------------------- */

static void notify(struct flt_rules *set);

void flt_rules_init(struct flt_rules *set)
{
    memset(set, 0, sizeof *set);
    pthread_mutex_init(&set->lock, NULL);
    set->next_id = 1;
}

void flt_rules_clear(struct flt_rules *set)
{
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < set->n; i++)
        flt_rule_free(set->v[i]);
    free(set->v);
    set->v = NULL;
    set->n = set->cap = 0;
    set->generation++;
    pthread_mutex_unlock(&set->lock);
    notify(set);
}

int flt_rules_add(struct flt_rules *set, struct flt_rule *r, int64_t now_ms, char *err)
{
    int rc = -1;
    pthread_mutex_lock(&set->lock);
    if (!r->name[0])
        snprintf(r->name, sizeof r->name, "%s-%llu", actions[r->action].name,
                 (unsigned long long)set->next_id);
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i]->name, r->name) == 0) {
            snprintf(err, XL_ERRLEN, "a rule named '%s' exists already", r->name);
            goto out;
        }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 8;
        struct flt_rule **v = realloc(set->v, cap * sizeof *v);
        if (!v) {
            snprintf(err, XL_ERRLEN, "out of memory");
            goto out;
        }
        set->v = v;
        set->cap = cap;
    }
    r->added_ms = now_ms;
    set->v[set->n++] = r;
    set->next_id++;
    set->generation++;
    rc = 0;
out:
    pthread_mutex_unlock(&set->lock);
    if (rc == 0)
        notify(set);
    return rc;
}

int flt_rules_add_text(struct flt_rules *set, const char *text, int64_t now_ms, char *err)
{
    struct flt_rule *r;
    size_t col;
    char sub[XL_ERRLEN];
    if (flt_rule_parse(text, &r, &col, sub) < 0) {
        snprintf(err, XL_ERRLEN, "col %zu: %s", col + 1, sub);
        return -1;
    }
    if (flt_rules_add(set, r, now_ms, err) < 0) {
        flt_rule_free(r);
        return -1;
    }
    return 0;
}

int flt_rules_watch(struct flt_rules *set, flt_rules_watch_fn fn, void *arg)
{
    int rc = -1;
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < FLT_MAX_WATCHERS; i++)
        if (!set->watchers[i].fn) {
            set->watchers[i].fn = fn;
            set->watchers[i].arg = arg;
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&set->lock);
    return rc;
}

void flt_rules_unwatch(struct flt_rules *set, flt_rules_watch_fn fn, void *arg)
{
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < FLT_MAX_WATCHERS; i++)
        if (set->watchers[i].fn == fn && set->watchers[i].arg == arg)
            set->watchers[i].fn = NULL;
    pthread_mutex_unlock(&set->lock);
}

/*
 * Watchers run under the lock, so once flt_rules_unwatch() returns no call to
 * that watcher is in flight. They must not call back into the set.
 */
static void notify(struct flt_rules *set)
{
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < FLT_MAX_WATCHERS; i++)
        if (set->watchers[i].fn)
            set->watchers[i].fn(set->watchers[i].arg);
    pthread_mutex_unlock(&set->lock);
}

bool flt_rules_has(struct flt_rules *set, const char *name)
{
    bool found = false;
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < set->n && !found; i++)
        found = strcmp(set->v[i]->name, name) == 0;
    pthread_mutex_unlock(&set->lock);
    return found;
}

int flt_rules_remove(struct flt_rules *set, const char *name)
{
    int rc = -1;
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i]->name, name) == 0) {
            flt_rule_free(set->v[i]);
            memmove(&set->v[i], &set->v[i + 1], (set->n - i - 1) * sizeof *set->v);
            set->n--;
            set->generation++;
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&set->lock);
    if (rc == 0)
        notify(set);
    return rc;
}

/* A rule that makes a response wait on the clock. */
static bool timed(const struct flt_rule *r)
{
    switch (r->action) {
    case FLT_A_STALL:
        return r->for_ms != XL_FOREVER;
    case FLT_A_SLOW_HEADERS:
    case FLT_A_THROTTLE:
    case FLT_A_DRIBBLE:
    case FLT_A_REFUSE:
        return true;
    case FLT_A_SILENT:
    case FLT_A_EMPTY:
    case FLT_A_GARBAGE:
    case FLT_A_STATUS:
    case FLT_A_HEADER:
    case FLT_A_REDIRECT:
    case FLT_A_NO_LENGTH:
    case FLT_A_HTTP10:
    case FLT_A_SHORT:
    case FLT_A_IGNORE_RANGE:
    case FLT_A_BAD_206:
    case FLT_A_CHANGE:
    case FLT_A_VALIDATORS:
    case FLT_A_AUTH:
    case FLT_A_CLOSE:
    case FLT_A_RESET:
    case FLT_A_CORRUPT:
    case FLT_A_MAX_UPLOAD:
    case FLT_A_NO_CONTINUE:
    case FLT_A_REPLY:
    case FLT_A_ABORT:
    case FLT_A__COUNT:
        return false;
    }
    return true;
}

bool flt_rules_hold_forever(struct flt_rules *set, const char *fired)
{
    bool hold = false, clock = false;
    pthread_mutex_lock(&set->lock);
    for (const char *p = fired; p && *p;) {
        size_t n = strcspn(p, ",");
        for (size_t i = 0; i < set->n; i++) {
            const struct flt_rule *r = set->v[i];
            if (strlen(r->name) != n || strncmp(r->name, p, n) != 0)
                continue;
            clock |= timed(r);
            hold |=
                r->action == FLT_A_SILENT || (r->action == FLT_A_STALL && r->for_ms == XL_FOREVER);
        }
        p += n + (p[n] == ',');
    }
    pthread_mutex_unlock(&set->lock);
    return hold && !clock;
}

bool flt_rules_refusing(struct flt_rules *set, int64_t now_ms, int64_t *until_ms)
{
    bool refusing = false;
    int64_t until = 0;
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < set->n; i++) {
        const struct flt_rule *r = set->v[i];
        if (r->action != FLT_A_REFUSE)
            continue;
        int64_t end = r->for_ms == XL_FOREVER ? XL_FOREVER : r->added_ms + r->for_ms;
        if (now_ms < end) {
            refusing = true;
            if (end > until)
                until = end;
        }
    }
    pthread_mutex_unlock(&set->lock);
    if (until_ms)
        *until_ms = until;
    return refusing;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Data actions on FTP apply to the transfer commands unless a method is given. */
static bool ftp_data_action(enum flt_action a)
{
    switch (a) {
    case FLT_A_CLOSE:
    case FLT_A_RESET:
    case FLT_A_STALL:
    case FLT_A_THROTTLE:
    case FLT_A_DRIBBLE:
    case FLT_A_CORRUPT:
    case FLT_A_ABORT:
    case FLT_A_CHANGE:
        return true;
    case FLT_A_REFUSE:
    case FLT_A_SILENT:
    case FLT_A_EMPTY:
    case FLT_A_GARBAGE:
    case FLT_A_STATUS:
    case FLT_A_HEADER:
    case FLT_A_REDIRECT:
    case FLT_A_NO_LENGTH:
    case FLT_A_HTTP10:
    case FLT_A_SHORT:
    case FLT_A_IGNORE_RANGE:
    case FLT_A_BAD_206:
    case FLT_A_VALIDATORS:
    case FLT_A_SLOW_HEADERS:
    case FLT_A_AUTH:
    case FLT_A_MAX_UPLOAD:
    case FLT_A_NO_CONTINUE:
    case FLT_A_REPLY:
    case FLT_A__COUNT:
        return false;
    }
    return false;
}

static bool selects(struct flt_rule *r, unsigned proto, const struct flt_request *req)
{
    if (!(actions[r->action].protocols & proto) || r->action == FLT_A_REFUSE)
        return false;
    if (r->path && fnmatch(r->path, req->path ? req->path : "", 0) != 0)
        return false;
    if (r->method) {
        if (!req->method || strcasecmp(r->method, req->method) != 0)
            return false;
    } else if (proto == FLT_P_FTP && ftp_data_action(r->action)) {
        if (!req->method || strcasecmp(req->method, "RETR") != 0)
            return false;
    }
    r->seen++;
    if ((r->have & B(NTH)) && r->seen != r->nth)
        return false;
    if ((r->have & B(FIRST)) && r->seen > r->first)
        return false;
    if ((r->have & B(EVERY)) && r->seen % r->every != 0)
        return false;
    if ((r->have & B(CONN)) && req->conn != r->conn)
        return false;
    if (r->have & B(PROB)) {
        double u = (double)(mix64(mix64(r->seed) ^ r->seen) >> 11) / 9007199254740992.0;
        if (u >= r->prob)
            return false;
    }
    return true;
}

static void add_event(struct flt_plan *p, const struct flt_rule *r)
{
    if (p->nevents == FLT_MAX_EVENTS)
        return;
    struct flt_byte_event *e = &p->events[p->nevents++];
    e->action = r->action;
    e->for_ms = r->for_ms;
    snprintf(e->rule, sizeof e->rule, "%s", r->name);
    if (r->have & B(AT)) {
        e->anchor = FLT_ANCHOR_ENTITY;
        e->offset = r->at;
    } else if (r->have & B(RECEIVED)) {
        e->anchor = FLT_ANCHOR_RECEIVED;
        e->offset = r->received;
    } else {
        e->anchor = FLT_ANCHOR_RESPONSE;
        e->offset = r->after;
    }
}

static void fold(struct flt_plan *p, const struct flt_rule *r)
{
    size_t fl = strlen(p->fired);
    snprintf(p->fired + fl, sizeof p->fired - fl, "%s%s", fl ? "," : "", r->name);
    const char *m = r->mode ? r->mode : "";
    switch (r->action) {
    case FLT_A_REFUSE:
        break;
    case FLT_A_SILENT:
        p->silent = true;
        break;
    case FLT_A_EMPTY:
        p->empty = true;
        break;
    case FLT_A_GARBAGE:
        p->garbage = true;
        p->garbage_bytes = (r->have & B(BYTES)) ? r->bytes : 64;
        break;
    case FLT_A_STATUS:
        p->status = r->code;
        /* fall through to the headers it carries */
        /* FALLTHROUGH */
    case FLT_A_HEADER:
        for (size_t i = 0; i < r->nheaders && p->nheaders < FLT_MAX_HEADERS; i++)
            p->headers[p->nheaders++] = strdup(r->headers[i]);
        break;
    case FLT_A_REDIRECT:
        free(p->redirect_to);
        p->redirect_to = r->to ? strdup(r->to) : NULL;
        p->redirect_code = r->code ? r->code : 302;
        p->redirect_hops = r->hops;
        p->redirect_loop = strcmp(m, "loop") == 0;
        break;
    case FLT_A_NO_LENGTH:
        p->length_mode = strcmp(m, "chunked") == 0 ? FLT_LEN_CHUNKED : FLT_LEN_CLOSE;
        break;
    case FLT_A_HTTP10:
        p->http10 = true;
        break;
    case FLT_A_SHORT:
        p->short_by = r->by;
        break;
    case FLT_A_IGNORE_RANGE:
        p->range_mode =
            strcmp(m, "advertised") == 0 ? FLT_RANGE_IGNORE_ADVERTISED : FLT_RANGE_IGNORE;
        break;
    case FLT_A_BAD_206:
        if (r->have & B(SHIFT)) {
            p->bad206 = FLT_206_SHIFT;
            p->bad206_shift = r->shift;
        } else if (r->have & B(TOTAL)) {
            p->bad206 = FLT_206_TOTAL;
            p->bad206_total = r->total;
        } else {
            p->bad206 = FLT_206_NO_CONTENT_RANGE;
        }
        break;
    case FLT_A_CHANGE:
        p->change = true;
        p->change_size = (r->have & B(SIZE)) ? r->size : 0;
        break;
    case FLT_A_VALIDATORS:
        p->validators = strcmp(m, "weak") == 0 ? FLT_VALID_WEAK : FLT_VALID_NONE;
        break;
    case FLT_A_SLOW_HEADERS:
        p->head_delay_ms += r->delay_ms;
        break;
    case FLT_A_AUTH:
        p->auth = strcmp(m, "digest") == 0 ? FLT_AUTH_DIGEST : FLT_AUTH_BASIC;
        free(p->auth_user);
        free(p->auth_pass);
        free(p->auth_realm);
        p->auth_user = strdup(r->user);
        p->auth_pass = strdup(r->pass);
        p->auth_realm = strdup(r->realm ? r->realm : "xferlab");
        break;
    case FLT_A_CLOSE:
    case FLT_A_RESET:
    case FLT_A_STALL:
    case FLT_A_ABORT:
        add_event(p, r);
        break;
    case FLT_A_THROTTLE:
        if (p->rate == 0 || r->rate < p->rate)
            p->rate = r->rate;
        break;
    case FLT_A_DRIBBLE:
        p->dribble_chunk = r->chunk;
        p->dribble_pause_ms = r->pause_ms;
        break;
    case FLT_A_CORRUPT:
        if (p->ncorrupt < FLT_MAX_EVENTS)
            p->corrupt[p->ncorrupt++] = r->at;
        break;
    case FLT_A_MAX_UPLOAD:
        p->max_upload = r->size;
        break;
    case FLT_A_NO_CONTINUE:
        p->no_continue = r->code ? r->code : 417;
        break;
    case FLT_A_REPLY:
        if (p->nreplies < FLT_MAX_REPLIES) {
            snprintf(p->replies[p->nreplies].verb, sizeof p->replies[0].verb, "%s", r->method);
            p->replies[p->nreplies].code = r->code;
            p->replies[p->nreplies].text = r->text ? strdup(r->text) : NULL;
            p->nreplies++;
        }
        break;
    case FLT_A__COUNT:
        break;
    }
}

void flt_rules_plan(struct flt_rules *set, unsigned proto, const struct flt_request *req,
                    struct flt_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < set->n; i++) {
        struct flt_rule *r = set->v[i];
        if (selects(r, proto, req)) {
            r->fired++;
            fold(plan, r);
        }
    }
    pthread_mutex_unlock(&set->lock);
}

void flt_plan_release(struct flt_plan *p)
{
    for (size_t i = 0; i < p->nheaders; i++)
        free(p->headers[i]);
    for (size_t i = 0; i < p->nreplies; i++)
        free(p->replies[i].text);
    free(p->redirect_to);
    free(p->auth_user);
    free(p->auth_pass);
    free(p->auth_realm);
    memset(p, 0, sizeof *p);
}
