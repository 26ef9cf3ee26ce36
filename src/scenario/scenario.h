/*
 * scenario: the scenario language — its statement table, its parser and the
 * parsed script (the AST) that the harness executes (issue 6).
 *
 * A scenario is one text file, one statement per line:
 *
 *     # A download survives a dropped network and resumes with a Range request.
 *     # (more leading '#' lines: the description)
 *     origin files.test http
 *     file   files.test /big.bin size 8MiB seed 7
 *     job    d1 download
 *     add    d1 http://files.test/big.bin -> big.bin
 *     0s     resume d1
 *     at d1 3MiB  network none
 *     expect d1 state TRANSIENT_ERROR code BG_E_NETWORK_DISCONNECTED within 5s
 *     +10s   network wifi
 *     expect d1 state TRANSFERRED within 30s
 *
 * Every line is `[TRIGGER] STATEMENT ARGS... [# comment]`. The statement table
 * (scn_stmt_table(), in stmt.c) is the one description of the statements: the
 * parser dispatches on it, help listings print it, scenarios/README.md shows
 * its examples and a unit test checks that all three agree.
 *
 * Time. Lines before the first timeline line are the SETUP: declarations run
 * in order before the clock starts. The timeline begins at the first line
 * that has a trigger or whose statement is a timeline-only one (resume,
 * expect, ...; the table says which). In the timeline, lines run one after the
 * other in file order; a line waits for its trigger:
 *   (none)      runs right after the previous line (the first one at 0s);
 *   5s  2min    absolute simulated time since the start;
 *   +10s        that long after the previous line ran (an `expect ... within`
 *               line "runs" when it is satisfied); before any line: after 0s;
 *   at d1 3MiB  when job d1's current file has received that many body bytes
 *               (`at d1 file 2 3MiB`: the job's 2nd file);
 *   when d1 TRANSIENT_ERROR   as soon as job d1 is in that state.
 *
 * Every name is checked at parse time against its one source of truth:
 * states, error names and HRESULTs, interrupt reasons, WinRT and
 * WebErrorStatus names and contexts come from xfer.h's tables; property names
 * from xfer_job_props(); fault rules are parsed with flt_rule_parse() (its
 * column errors point into the scenario line); network and battery texts with
 * sim_network_parse()/sim_battery_parse(); sizes and durations with units.h.
 *
 * Data flow: text -> lexer (lex.c: words, quoted strings, comments, columns)
 * -> parser (parse*.c, one function per statement, from the table) -> struct
 * scn_script (this file) -> the harness (src/harness) and the runner
 * (scn_covers for `xferlab list`, `repro`, `explain`). The parser never does
 * I/O except reading the file in scn_parse_file().
 */
#ifndef SCN_SCENARIO_H
#define SCN_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "xfer/xfer.h"

/* A place in the script: 1-based line and column (columns count bytes). */
struct scn_pos {
    unsigned line;
    unsigned col;
};

/* ------------------------------------------------------------------ diagnostics */

#define SCN_DIAG_LEN 512

/*
 * What went wrong and where. Printed (scn_diag_format) as
 *     scenarios/basics/http.scn:12:9: unknown state 'TRANSFERING'; did you mean 'TRANSFERRING'?
 *         expect d1 state TRANSFERING
 *                         ^
 * Fixed buffers: a diag owns nothing and needs no freeing.
 */
struct scn_diag {
    char file[256];
    unsigned line, col; /* 1-based; 0 when the error has no place (cannot open the file) */
    char message[SCN_DIAG_LEN];
    char source[SCN_DIAG_LEN]; /* the offending line, tabs as spaces */
    char caret[SCN_DIAG_LEN];  /* spaces then '^' under col */
};

/* "file:line:col: message\n    source\n    caret\n" into buf; returns like snprintf. */
int scn_diag_format(const struct scn_diag *d, char *buf, size_t len);
void scn_diag_print(const struct scn_diag *d, FILE *f);

/*
 * The candidate closest to word (edit distance, xl_closest), or NULL when none
 * is close. The parser's "did you mean" comes from here.
 */
const char *scn_suggest(const char *word, const char *const *candidates, size_t n);

/* ------------------------------------------------------------------ statements */

/* One per statement of the language, in the statement table's order. */
enum scn_kind {
    /* setup (also allowed in the timeline unless the table says setup-only) */
    SCN_ORIGIN,  /* origin files.test http https cert expired        (setup only) */
    SCN_FILE,    /* file files.test /big.bin size 8MiB seed 7 | text "hello" */
    SCN_RULE,    /* rule files.test cut: close after=3MiB nth=1 */
    SCN_UNRULE,  /* unrule files.test cut */
    SCN_CHANGE,  /* change files.test /big.bin [size 4MiB]   (entity changed) */
    SCN_NETWORK, /* network cellular fixed limit=2GiB [silent] [cut=reset|blackhole] */
    SCN_BATTERY, /* battery level=15% saver [silent] */
    SCN_JOB,     /* job d1 download [name "x"] [priority FOREGROUND] */
    SCN_ADD,     /* add d1 http://files.test/big.bin -> big.bin [ranges 0:100,200:eof] */
    SCN_SET,     /* set d1 cost_policy UnrestrictedOnly */
    SCN_GROUP,   /* group g1 d1 d2 [notify "cmd"] */
    SCN_LIMIT,   /* limit 10min [wall 20s]                           (setup only) */
    SCN_SEED,    /* seed 7                                           (setup only) */
    /* timeline only */
    SCN_RESUME,   /* resume d1 */
    SCN_SUSPEND,  /* suspend d1 */
    SCN_CANCEL,   /* cancel d1 */
    SCN_COMPLETE, /* complete d1 */
    SCN_DETACH,   /* detach        (the client disconnects; xferd keeps working) */
    SCN_ATTACH,   /* attach        (a client connects, enumerates, resubscribes) */
    SCN_KILL,     /* kill xferd    (SIGKILL) */
    SCN_RESTART,  /* restart xferd (start it again on the same state directory) */
    SCN_WAIT,     /* wait 30s */
    SCN_EXPECT,   /* expect SUBJECT CHECK... [within DUR] */
    SCN_KIND__COUNT
};

/* One row of the statement table: the single description of the language. */
struct scn_stmt_info {
    enum scn_kind kind;
    const char *name;    /* the keyword: "origin", "expect", ... */
    const char *syntax;  /* "origin NAME PROTO... [cert KIND]" */
    const char *doc;     /* one line */
    const char *example; /* one line that parses in a script with the table's fixture */
    bool setup_only;     /* only before the timeline */
    bool timeline_only;  /* starts the timeline (cannot be setup) */
};
/* The whole table, *n rows, in enum order. */
const struct scn_stmt_info *scn_stmt_table(size_t *n);
const struct scn_stmt_info *scn_stmt_info(enum scn_kind k);
/*
 * The setup lines the table's examples assume (origins files.test and
 * cdn.test, content, jobs d1 and d2, a rule named cut, a group g1): a test
 * parses fixture + each example; README uses the same names.
 */
const char *scn_stmt_fixture(void);
/* The language reference, from the two tables: every statement and every check. */
void scn_print_reference(FILE *f);

/* ------------------------------------------------------------------ triggers */

enum scn_trigger_kind {
    SCN_TRIG_NONE,  /* right after the previous line (setup lines have none) */
    SCN_TRIG_ABS,   /* at ms since the start */
    SCN_TRIG_REL,   /* ms after the previous line ran */
    SCN_TRIG_BYTES, /* job's file has received bytes body bytes */
    SCN_TRIG_STATE  /* job is in state */
};

struct scn_trigger {
    enum scn_trigger_kind kind;
    struct scn_pos pos;
    int64_t ms;            /* ABS, REL */
    size_t job;            /* BYTES, STATE: index in script->jobs */
    size_t file;           /* BYTES: 0-based file index in the job (the language counts from 1) */
    uint64_t bytes;        /* BYTES */
    enum xfer_state state; /* STATE */
};

/* ------------------------------------------------------------------ declarations */

enum { SCN_PROTO_HTTP = 1, SCN_PROTO_HTTPS = 2, SCN_PROTO_FTP = 4 };

/* Certificate of an origin's HTTPS listener; same order as faults/pki.h flt_cert_kind. */
enum scn_cert { SCN_CERT_VALID, SCN_CERT_EXPIRED, SCN_CERT_WRONG_HOST, SCN_CERT_SELF_SIGNED };

struct scn_origin {
    char *name;      /* "files.test": the host name URLs use */
    unsigned protos; /* SCN_PROTO_* bits, at least one */
    enum scn_cert cert;
    struct scn_pos pos;
};

struct scn_job {
    char *id; /* "d1": the script's name for it */
    enum xfer_job_type type;
    char *display_name; /* NULL: none given (the harness may use id) */
    bool has_priority;
    enum xfer_priority priority;
    struct scn_pos pos;
};

struct scn_group {
    char *name;
    size_t *jobs; /* indices in script->jobs */
    size_t njobs;
    char *notify; /* the command line to run when all have ended, or NULL */
    struct scn_pos pos;
};

/* ------------------------------------------------------------------ statement arguments */

struct scn_file_args { /* SCN_FILE: declare (or redeclare) content */
    size_t origin;
    char *path; /* URL path, "/big.bin" */
    bool is_text;
    uint64_t size, seed; /* generated: size, seed (default: the script's seed) */
    char *text;          /* is_text: the exact bytes (escapes \n \t \" \\ decoded) */
    bool seed_given;     /* seed written on the line (else the script's) */
};

struct scn_rule_args { /* SCN_RULE, SCN_UNRULE */
    size_t origin;
    char *text;        /* SCN_RULE: the rule as flt_rule_parse() reads it */
    unsigned text_col; /* 1-based column of text in the line */
    char *name;        /* the rule's name ("cut"), or NULL for an unnamed rule */
};

struct scn_change_args { /* SCN_CHANGE */
    size_t origin;
    char *path;
    uint64_t new_size; /* 0: same size */
};

enum scn_cut { SCN_CUT_DEFAULT, SCN_CUT_RESET, SCN_CUT_BLACKHOLE };

struct scn_network_args {     /* SCN_NETWORK */
    char *text;               /* for sim_network_parse(), without silent/cut= */
    struct sim_network state; /* the network after this line, evaluated in file order
                                 from sim_network_default() (usage as written) */
    bool silent;              /* the platform is not told (xferd has not noticed) */
    enum scn_cut cut;         /* how live connections die when connectivity goes */
};

struct scn_battery_args { /* SCN_BATTERY */
    char *text;
    struct sim_battery state; /* after this line, from sim_battery_default() */
    bool silent;
};

struct scn_add_args { /* SCN_ADD */
    size_t job;
    char *url;                 /* as written: "http://files.test/big.bin" */
    size_t origin;             /* the origin its host names */
    unsigned proto;            /* SCN_PROTO_* of its scheme */
    char *path;                /* URL path */
    char *local;               /* destination, relative to the run's downloads directory */
    struct xfer_range *ranges; /* NULL: the whole file */
    size_t nranges;
};

struct scn_set_args { /* SCN_SET */
    size_t job;
    const char *prop; /* from xfer_job_props() (not owned) */
    char *value;      /* as written, quotes removed */
};

/* ------------------------------------------------------------------ expectations */

enum scn_subject {
    SCN_SUBJ_JOB,      /* expect d1 ... */
    SCN_SUBJ_REQUEST,  /* expect request 2 [on files.test] ... */
    SCN_SUBJ_REQUESTS, /* expect requests [on files.test] [path /big.bin] count 3 */
    SCN_SUBJ_FILE,     /* expect file big.bin ... */
    SCN_SUBJ_GROUP     /* expect group g1 ran 1 */
};

enum scn_check_kind {
    /* job */
    SCN_CK_STATE,           /* state TRANSFERRED */
    SCN_CK_STATES,          /* states QUEUED CONNECTING ...  (the whole history, exact) */
    SCN_CK_STATES_CONTAINS, /* states contains TRANSIENT_ERROR QUEUED  (a subsequence) */
    SCN_CK_CODE,            /* code BG_E_NETWORK_DISCONNECTED | 0x80200010 | none */
    SCN_CK_CONTEXT,         /* context GENERAL_TRANSPORT */
    SCN_CK_WINRT,           /* status PausedNoNetwork */
    SCN_CK_WEBERROR,        /* weberror Disconnected */
    SCN_CK_INTERRUPT,       /* interrupt NetworkDisconnected */
    SCN_CK_BYTES,           /* bytes 3MiB  (job bytes done); progress 3MiB/8MiB sets both */
    SCN_CK_TOTAL,           /* total 8MiB | unknown */
    SCN_CK_RESTARTED,       /* restarted yes|no  (any file's HasRestarted) */
    SCN_CK_RESULT,          /* result BG_S_PARTIAL_COMPLETE  (of the last action on the job) */
    SCN_CK_NOTIFIED,        /* notified 1  (times the job's notify command ran) */
    SCN_CK_ERRORS,          /* errors 2  (the job's error count) */
    /* request */
    SCN_CK_HEADER,    /* header Range "bytes=3145728-" */
    SCN_CK_NO_HEADER, /* header Range absent */
    SCN_CK_METHOD,    /* method GET */
    SCN_CK_STATUS,    /* status 206  (HTTP status answered; for a REQUEST subject) */
    SCN_CK_PATH,      /* path /big.bin */
    /* requests */
    SCN_CK_COUNT, /* count 3 */
    /* file */
    SCN_CK_SHA256,    /* sha256 9f86d0...  (64 hex digits) */
    SCN_CK_SHA256_OF, /* sha256 of http://files.test/big.bin  (the origin's current content) */
    SCN_CK_ABSENT,    /* absent */
    SCN_CK_SIZE,      /* size 8MiB */
    /* group */
    SCN_CK_RAN, /* ran 1  (times the group's command ran) */
    SCN_CK__COUNT
};

struct scn_check {
    enum scn_check_kind kind;
    struct scn_pos pos;      /* of the check's keyword */
    enum xfer_state state;   /* STATE */
    enum xfer_state *states; /* STATES, STATES_CONTAINS (owned) */
    size_t nstates;
    xfer_hr hr;                       /* CODE, RESULT */
    const struct xfer_error_row *row; /* CODE, RESULT: its row (NULL for a hex code not in it) */
    int value;     /* CONTEXT (enum xfer_context), WINRT, WEBERROR, INTERRUPT, STATUS (HTTP) */
    uint64_t num;  /* BYTES, TOTAL (XFER_SIZE_UNKNOWN), NOTIFIED, ERRORS, COUNT, SIZE, RAN */
    bool flag;     /* RESTARTED */
    char *name;    /* HEADER, NO_HEADER: header name; METHOD; PATH */
    char *text;    /* HEADER: value; SHA256: lower-case hex; SHA256_OF: the URL */
    size_t origin; /* SHA256_OF: origin of the URL */
    char *path;    /* SHA256_OF: URL path */
};

/* One row of the check table: what `expect` can test (parse_expect.c). */
enum {
    SCN_ON_JOB = 1,
    SCN_ON_REQUEST = 2,
    SCN_ON_REQUESTS = 4,
    SCN_ON_FILE = 8,
    SCN_ON_GROUP = 16
};
struct scn_check_info {
    const char *name;   /* the keyword: "state", "code", ... */
    unsigned subjects;  /* SCN_ON_* bits: the subjects it applies to */
    const char *syntax; /* "code NAME|0xHEX|none" */
    const char *doc;    /* one line */
};
/* The whole table, *n rows (a keyword may have a row per subject: `status`). */
const struct scn_check_info *scn_check_table(size_t *n);

#define SCN_NOW (-1) /* within_ms of an expectation checked at once */

struct scn_expect_args { /* SCN_EXPECT */
    enum scn_subject subject;
    size_t job;               /* JOB */
    uint64_t request;         /* REQUEST: 1-based number in the origin's journal */
    size_t origin;            /* REQUEST, REQUESTS: the origin (the only one when not named) */
    char *path;               /* REQUESTS: fnmatch glob on the request path, or NULL for all */
    char *file;               /* FILE: local path, relative to the downloads directory */
    size_t group;             /* GROUP */
    int64_t within_ms;        /* SCN_NOW, or the simulated time allowed */
    struct scn_check *checks; /* owned, at least one, all must hold at the same moment */
    size_t nchecks;
};

/* ------------------------------------------------------------------ the script */

struct scn_stmt {
    enum scn_kind kind;
    struct scn_pos pos;         /* of the statement's keyword */
    struct scn_trigger trigger; /* SCN_TRIG_NONE in setup */
    bool setup;                 /* before the timeline */
    char *source;               /* the whole line as written (no newline) */
    union {
        size_t origin; /* SCN_ORIGIN: index in script->origins */
        size_t job;    /* SCN_JOB (index of the declared job), RESUME, SUSPEND, CANCEL, COMPLETE */
        size_t group;  /* SCN_GROUP */
        struct scn_file_args file;
        struct scn_rule_args rule; /* SCN_RULE, SCN_UNRULE */
        struct scn_change_args change;
        struct scn_network_args network;
        struct scn_battery_args battery;
        struct scn_add_args add;
        struct scn_set_args set;
        struct {
            int64_t sim_ms, wall_ms;
        } limit;         /* SCN_LIMIT */
        uint64_t seed;   /* SCN_SEED */
        int64_t wait_ms; /* SCN_WAIT */
        struct scn_expect_args expect;
    } u; /* nothing for DETACH, ATTACH, KILL, RESTART */
};

#define SCN_DEFAULT_LIMIT_MS      (10 * 60 * 1000) /* simulated */
#define SCN_DEFAULT_WALL_LIMIT_MS (20 * 1000)

struct scn_script {
    char *path;        /* as given to the parser ("<string>" for scn_parse_string without a name) */
    char *title;       /* the first header comment line, without '#', trimmed; "" if none */
    char *description; /* the following header comment lines joined with '\n'; "" if none */
    uint64_t seed;     /* `seed`, else 1 */
    bool seed_given;
    int64_t limit_ms;      /* simulated time limit (`limit`, else SCN_DEFAULT_LIMIT_MS) */
    int64_t wall_limit_ms; /* wall-clock limit (`limit ... wall`, else SCN_DEFAULT_WALL_LIMIT_MS) */
    struct scn_origin *origins;
    size_t norigins;
    struct scn_job *jobs;
    size_t njobs;
    struct scn_group *groups;
    size_t ngroups;
    struct scn_stmt *stmts; /* every statement in file order */
    size_t nstmts;
    size_t nsetup; /* stmts[0 .. nsetup) are the setup, the rest the timeline */
};

/*
 * Parse a scenario file. Returns 0 and *out (caller owns; free with
 * scn_script_free), or -1 with *diag filled (diag may be NULL). Stops at the
 * first error.
 */
int scn_parse_file(const char *path, struct scn_script **out, struct scn_diag *diag);
/* The same for text in memory; name is used in messages (NULL: "<string>"). */
int scn_parse_string(const char *name, const char *text, size_t len, struct scn_script **out,
                     struct scn_diag *diag);
void scn_script_free(struct scn_script *s);

/* Index of the job named id, or (size_t)-1. Same for origins and groups. */
size_t scn_job_find(const struct scn_script *s, const char *id);
size_t scn_origin_find(const struct scn_script *s, const char *name);
size_t scn_group_find(const struct scn_script *s, const char *name);

/* ------------------------------------------------------------------ coverage */

/* What a script's expectations name (for `xferlab list`, `repro`, `explain`). */
enum scn_cover_kind {
    SCN_COVER_CODE,      /* error names (code and result checks; not S_OK), from the error table */
    SCN_COVER_INTERRUPT, /* interrupt reason names */
    SCN_COVER_STATE,     /* state names (state, states, and `when` triggers) */
    SCN_COVER_WINRT,     /* BackgroundTransferStatus names */
    SCN_COVER_WEBERROR   /* WebErrorStatus names */
};

/*
 * The distinct names of one kind the script's expectations use, in first-use
 * order: up to max into out (static strings from xfer.h's tables; not owned).
 * Returns how many there are (may exceed max).
 */
size_t scn_covers(const struct scn_script *s, enum scn_cover_kind kind, const char **out,
                  size_t max);
/* Whether any expectation names row's code, or (when interrupt is true) its interrupt reason. */
bool scn_covers_row(const struct scn_script *s, const struct xfer_error_row *row, bool interrupt);

#endif
