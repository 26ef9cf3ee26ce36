/*
 * rule: what a fault is, how it is written, and which requests it hits.
 *
 * A rule is one line of text:
 *
 *     [name:] action [primary] [key=value ...]
 *     close after=1MiB path=/big.bin nth=1
 *     status 503 header="Retry-After: 5" first=2
 *     reply 502 method=SIZE                       (FTP)
 *
 * The action table in rule.c is the single description of every action: its
 * keys, its help text and its example. The parser, `xferlab serve --help`, the
 * JSON control API and both servers read it.
 *
 * Data flow: text -> flt_rule_parse() -> struct flt_rule (owned by a rule set)
 * -> for each request, flt_rules_plan() runs the selectors of every rule and
 * folds the rules that fire into one struct flt_plan, a flat description of
 * what this response must do wrong. The servers only read plans; they never
 * look at rules. A rule set is locked internally, so a test thread may add or
 * remove rules while a server thread is planning.
 */
#ifndef FLT_RULE_H
#define FLT_RULE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "units.h"

enum flt_action {
    /* Connection level */
    FLT_A_REFUSE,  /* the listener closes: connects get ECONNREFUSED (for=D) */
    FLT_A_SILENT,  /* read the request, never answer */
    FLT_A_EMPTY,   /* close before any header (empty reply) */
    FLT_A_GARBAGE, /* raw garbage bytes instead of a response, then close */
    /* Response head */
    FLT_A_STATUS,       /* answer with a chosen status */
    FLT_A_HEADER,       /* add a header to the response */
    FLT_A_REDIRECT,     /* 3xx to a URL; hops=N chains, mode=loop loops */
    FLT_A_NO_LENGTH,    /* omit Content-Length: mode=close|chunked */
    FLT_A_HTTP10,       /* answer as HTTP/1.0 */
    FLT_A_SHORT,        /* send by=N fewer bytes than Content-Length, then close */
    FLT_A_IGNORE_RANGE, /* a full 200 to a Range request */
    FLT_A_BAD_206,      /* 206 with a wrong start, no Content-Range, or a wrong total */
    FLT_A_CHANGE,       /* the entity changes (new ETag, Last-Modified, size) */
    FLT_A_VALIDATORS,   /* weak validators or none */
    FLT_A_SLOW_HEADERS, /* wait delay=D before the response head */
    FLT_A_AUTH,         /* require Basic or Digest credentials */
    /* Body bytes */
    FLT_A_CLOSE,    /* FIN at a byte */
    FLT_A_RESET,    /* RST at a byte */
    FLT_A_STALL,    /* stop sending at a byte, for=D or forever */
    FLT_A_THROTTLE, /* send at most rate=R */
    FLT_A_DRIBBLE,  /* chunk=N bytes, then pause=D, repeated */
    FLT_A_CORRUPT,  /* flip the bits of byte at=N of the entity */
    /* Uploads */
    FLT_A_MAX_UPLOAD,  /* bodies above size=N get 413 */
    FLT_A_NO_CONTINUE, /* answer Expect: 100-continue with code (default 417) */
    /* FTP */
    FLT_A_REPLY, /* answer command method=CMD with code and text */
    FLT_A_ABORT, /* after=N data bytes: close the data connection, 426 on control */
    FLT_A__COUNT
};

/* Keys a rule can carry. The table in rule.c gives each its type and help. */
enum flt_key {
    FLT_K_PATH,
    FLT_K_METHOD,
    FLT_K_NTH,
    FLT_K_FIRST,
    FLT_K_EVERY,
    FLT_K_CONN,
    FLT_K_PROB,
    FLT_K_SEED,
    FLT_K_AT,
    FLT_K_AFTER,
    FLT_K_RECEIVED,
    FLT_K_FOR,
    FLT_K_DELAY,
    FLT_K_RATE,
    FLT_K_CHUNK,
    FLT_K_PAUSE,
    FLT_K_BY,
    FLT_K_SIZE,
    FLT_K_TOTAL,
    FLT_K_SHIFT,
    FLT_K_BYTES,
    FLT_K_CODE,
    FLT_K_HEADER,
    FLT_K_TO,
    FLT_K_HOPS,
    FLT_K_MODE,
    FLT_K_USER,
    FLT_K_PASS,
    FLT_K_REALM,
    FLT_K_TEXT,
    FLT_K__COUNT
};

/* Protocols an action applies to (bit set). */
enum { FLT_P_HTTP = 1, FLT_P_FTP = 2 };

#define FLT_MAX_HEADERS 16
#define FLT_NAME_LEN    48

/* One parsed rule. Strings are owned by the rule; flt_rule_free() releases them. */
struct flt_rule {
    char name[FLT_NAME_LEN];
    enum flt_action action;
    uint64_t have; /* bit (1 << enum flt_key) per key given */
    /* selectors */
    char *path;   /* fnmatch(3) glob on the request path */
    char *method; /* HTTP method or FTP command (upper case) */
    uint64_t nth, first, every, conn, seed;
    double prob;
    /* parameters */
    uint64_t at, after, received, rate, chunk, by, size, total, bytes, hops;
    int64_t shift;                      /* signed byte shift (bad-206 start) */
    int64_t for_ms, delay_ms, pause_ms; /* XL_FOREVER allowed for for= */
    int code;
    char *headers[FLT_MAX_HEADERS];
    size_t nheaders;
    char *to, *mode, *user, *pass, *realm, *text;
    char *source; /* the rule as written */
    /* runtime, under the set's lock */
    uint64_t seen;    /* requests that matched path and method */
    uint64_t fired;   /* times the rule fired */
    int64_t added_ms; /* clock time when added (for= windows) */
};

/* Where a byte-level event is anchored. */
enum flt_anchor {
    FLT_ANCHOR_ENTITY,   /* offset in the whole entity (at=) */
    FLT_ANCHOR_RESPONSE, /* offset in this response's body (after=) */
    FLT_ANCHOR_RECEIVED  /* offset in the request body received (received=) */
};

struct flt_byte_event {
    enum flt_action action; /* CLOSE, RESET, STALL, ABORT */
    enum flt_anchor anchor;
    uint64_t offset;
    int64_t for_ms;          /* STALL */
    char rule[FLT_NAME_LEN]; /* the rule that planned it (removing a stall rule ends its stall) */
};

#define FLT_MAX_EVENTS  8
#define FLT_MAX_REPLIES 8

/* What one response must do, folded from every rule that fired for it. */
struct flt_plan {
    char fired[256]; /* names of the rules that fired, comma-separated */
    bool silent, empty, garbage, http10, change;
    uint64_t garbage_bytes, change_size, short_by;
    int status;
    char *headers[FLT_MAX_HEADERS]; /* borrowed copies owned by the plan */
    size_t nheaders;
    char *redirect_to;
    int redirect_code;
    uint64_t redirect_hops;
    bool redirect_loop;
    enum { FLT_LEN_NORMAL, FLT_LEN_CLOSE, FLT_LEN_CHUNKED } length_mode;
    enum { FLT_RANGE_OBEY, FLT_RANGE_IGNORE, FLT_RANGE_IGNORE_ADVERTISED } range_mode;
    enum { FLT_206_OK, FLT_206_SHIFT, FLT_206_NO_CONTENT_RANGE, FLT_206_TOTAL } bad206;
    int64_t bad206_shift;
    uint64_t bad206_total;
    enum { FLT_VALID_STRONG, FLT_VALID_WEAK, FLT_VALID_NONE } validators;
    int64_t head_delay_ms;
    enum { FLT_AUTH_NONE, FLT_AUTH_BASIC, FLT_AUTH_DIGEST } auth;
    char *auth_user, *auth_pass, *auth_realm;
    struct flt_byte_event events[FLT_MAX_EVENTS];
    size_t nevents;
    uint64_t rate;          /* bytes/s, 0 = unlimited */
    uint64_t dribble_chunk; /* 0 = off */
    int64_t dribble_pause_ms;
    uint64_t corrupt[FLT_MAX_EVENTS]; /* entity offsets whose bits flip */
    size_t ncorrupt;
    uint64_t max_upload; /* 0 = unlimited */
    int no_continue;     /* status for Expect: 100-continue, 0 = continue */
    struct {
        char verb[8];
        int code;
        char *text;
    } replies[FLT_MAX_REPLIES];
    size_t nreplies;
};

/* The request a plan is made for. */
struct flt_request {
    const char *method; /* HTTP method or FTP command */
    const char *path;   /* decoded path, or the FTP argument */
    uint64_t conn;      /* 1-based connection number on this server */
};

#define FLT_MAX_WATCHERS 16

/* Called on the changing thread, under the set's lock, after a rule is added or removed;
 * it must not call back into the set. */
typedef void (*flt_rules_watch_fn)(void *arg);

struct flt_rules {
    pthread_mutex_t lock;
    struct {
        flt_rules_watch_fn fn;
        void *arg;
    } watchers[FLT_MAX_WATCHERS];
    struct flt_rule **v;
    size_t n, cap;
    uint64_t next_id;
    uint64_t generation; /* bumped on every change; servers re-check refuse windows */
};

/* Metadata of the action table, for help texts and the JSON API. */
struct flt_action_info {
    const char *name;
    enum flt_action action;
    unsigned protocols;
    enum flt_key primary; /* key a bare positional value fills, FLT_K__COUNT if none */
    uint64_t allowed, required;
    const char *modes; /* "a|b|c" allowed for mode=, NULL if none */
    const char *help;
    const char *example;
};
const struct flt_action_info *flt_action_info(enum flt_action a);
const char *flt_key_name(enum flt_key k);
const char *flt_key_help(enum flt_key k);

/*
 * Parse one rule. On success returns 0 and *out (caller owns; flt_rule_free()).
 * On failure returns -1, *col is the 0-based column of the fault and err
 * (XL_ERRLEN) says what is wrong, suggesting the closest name when one is near.
 */
int flt_rule_parse(const char *text, struct flt_rule **out, size_t *col, char *err);
void flt_rule_free(struct flt_rule *r);
/* The canonical text of a rule (re-parseable). Returns bytes written like snprintf. */
int flt_rule_format(const struct flt_rule *r, char *buf, size_t len);

void flt_rules_init(struct flt_rules *set);
void flt_rules_clear(struct flt_rules *set);
/* Takes ownership of r. Fails (-1, err) if the name is taken. now_ms starts for= windows. */
int flt_rules_add(struct flt_rules *set, struct flt_rule *r, int64_t now_ms, char *err);
/* Parse text and add it; err gets "rule: col N: message". */
int flt_rules_add_text(struct flt_rules *set, const char *text, int64_t now_ms, char *err);
int flt_rules_remove(struct flt_rules *set, const char *name);
/* Whether a rule of that name is in the set. */
bool flt_rules_has(struct flt_rules *set, const char *name);
/* Be told of every change (listeners re-check refuse windows). Returns 0 or -1 if full. */
int flt_rules_watch(struct flt_rules *set, flt_rules_watch_fn fn, void *arg);
void flt_rules_unwatch(struct flt_rules *set, flt_rules_watch_fn fn, void *arg);
/*
 * Is the listener to be closed now? Returns true while a refuse rule's window
 * is open, and stores in *until_ms when it closes (XL_FOREVER: until removed).
 */
bool flt_rules_refusing(struct flt_rules *set, int64_t now_ms, int64_t *until_ms);
/*
 * Does a response that fired the rules named in fired (comma-separated, as in
 * a journal entry) wait with no timer — a silent server, a stall forever — so
 * that only the client can end the wait? A harness may jump its clock over
 * such a wait; over any timed fault (stall for=, slow headers, throttle,
 * dribble) it may not.
 */
bool flt_rules_hold_forever(struct flt_rules *set, const char *fired);

/*
 * Run every rule's selectors against req (counting it), fold the ones that
 * fire and apply to proto into plan. The plan owns copies of the strings it
 * holds; release them with flt_plan_release().
 */
void flt_rules_plan(struct flt_rules *set, unsigned proto, const struct flt_request *req,
                    struct flt_plan *plan);
void flt_plan_release(struct flt_plan *plan);

#endif
