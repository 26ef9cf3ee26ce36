/*
 * ctl: what the pieces of xferctl share.
 *
 * xferctl is xferd's command-line client, after bitsadmin. Data flows one
 * way: main.c reads the global options and picks a verb from the verb table
 * (verbs.c, the one list of verbs, their arguments and their help); args.c
 * checks the verb's arguments against that row; the verb's handler builds
 * JSON-RPC params and calls xferd through conn.c (which owns the connection
 * and turns refusals into `xferctl: VERB: NAME (0x...): message — reason`);
 * show.c renders what comes back the way bitsadmin would (or --json prints
 * the protocol's JSON as it is). Nothing here validates a property value or
 * restates a table: property values go to the engine as text and its refusal
 * is shown; error rows come from the engine's table through src/rpc/errrow.
 *
 * Exit codes: 0 ok, 1 failure (xferd refused, unreachable, a transfer ended
 * in ERROR), 2 misuse (unknown verb or flag, wrong arguments, bad number).
 */
#ifndef XFERCTL_CTL_H
#define XFERCTL_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

#define CTL_CALL_TIMEOUT_MS 30000
#define CTL_MAX_FLAGS       4
#define CTL_ERRLEN          512

struct ctl;
struct rpc_client;

/* A flag a verb accepts: a switch (value NULL) or a flag with a value. */
struct ctl_flag {
    const char *name;  /* "--verbose" */
    const char *value; /* placeholder of its value ("SEC"), NULL for a switch */
    const char *help;
};

struct ctl_verb {
    const char *name;
    const char *args;    /* "JOB URL PATH" */
    const char *summary; /* one line for `xferctl help` */
    const char *help;    /* more, for `xferctl VERB --help` (may be NULL) */
    int (*run)(struct ctl *c, int argc, char **argv);
    struct ctl_flag flags[CTL_MAX_FLAGS]; /* ends at the first name == NULL */
    int min_args, max_args;               /* positional arguments; max -1: no limit */
    const char *prop; /* the engine property a set-verb writes (xfer_job_props()), or NULL */
    bool number;      /* its value must be a whole number (seconds, flags) */
};

/* The state of one invocation. */
struct ctl {
    const char *socket; /* the socket path in use */
    bool json;          /* --json: print the protocol's JSON */
    const struct ctl_verb *verb;
    struct rpc_client *rpc; /* opened by ctl_connect; closed by ctl_close */
};

/* The parsed arguments of a verb: positional ones and the flags' values. */
struct ctl_args {
    int npos;
    char **pos;                     /* into argv */
    const char *val[CTL_MAX_FLAGS]; /* per flag of the verb: its value, "" for a switch, or NULL */
};

/* ------------------------------------------------------------- verbs.c */

/* The verb table, *n rows. */
const struct ctl_verb *ctl_verbs(size_t *n);
const struct ctl_verb *ctl_verb_find(const char *name);
/* `xferctl help`: every verb with its summary. */
void ctl_print_overview(FILE *f);
/* The verb's usage line(s), and with full its help and flags. */
void ctl_print_usage(FILE *f, const struct ctl_verb *v, bool full);

/* ------------------------------------------------------------- args.c */

/*
 * Check argv (after the verb's name) against c->verb: known flags (plus
 * --json and --help, which every verb takes), the number of positional
 * arguments. Returns true to go on; false when the verb is done, with *rc
 * set (0 after --help, CTL_USAGE after printing what was wrong and the usage).
 */
bool ctl_parse(struct ctl *c, int argc, char **argv, struct ctl_args *a, int *rc);
/* The value of the verb's flag name ("" for a set switch), or NULL when absent. */
const char *ctl_flag(const struct ctl *c, const struct ctl_args *a, const char *name);
/* Print `xferctl VERB: <message>` and the usage on stderr; returns CTL_USAGE. */
int ctl_misuse(const struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Parse a whole non-negative integer (decimal, or hex with 0x) named what;
 * false after printing a misuse message naming what and s.
 */
bool ctl_number(const struct ctl *c, const char *what, const char *s, uint64_t *out);

/* ------------------------------------------------------------- conn.c */

/* The default socket: $XFERD_SOCKET, $XDG_RUNTIME_DIR/xferd/xferd.sock, /tmp/xferd-$UID/... */
void ctl_default_socket(char *buf, size_t len);
/* Connect if not yet connected. CTL_OK, or CTL_FAIL after saying why on stderr. */
int ctl_connect(struct ctl *c);
void ctl_close(struct ctl *c);
/*
 * Call method with params (stolen, may be NULL). 0 with *result (caller owns);
 * 1 with *error (the JSON-RPC error object, caller owns); -1 when xferd could
 * not be reached or did not answer (already said on stderr).
 */
int ctl_call_raw(struct ctl *c, const char *method, json_t *params, json_t **result,
                 json_t **error);
/* ctl_call_raw that prints a refusal itself: CTL_OK with *result, or CTL_FAIL. */
int ctl_call(struct ctl *c, const char *method, json_t *params, json_t **result);
/* Call a method whose only param is {"job": job}; prints the refusal. */
int ctl_call_job(struct ctl *c, const char *method, const char *job, json_t **result);
/* `xferctl: VERB: NAME (0x...): message — reason` (or the protocol error's words). */
void ctl_print_refusal(const struct ctl *c, const json_t *error);
/* One line "NAME (0x...): message — reason" for error, into buf. */
void ctl_refusal_text(const json_t *error, char *buf, size_t len);
/* Print v as indented JSON and a newline on stdout. */
void ctl_print_json(const json_t *v);
/* Under --json print v, else nothing; returns CTL_OK (for verbs whose text is their JSON). */
int ctl_done(const struct ctl *c, const json_t *v);

/* ------------------------------------------------------------- show.c */

/*
 * A member as text: a string, an integer, "UNKNOWN" for null or missing.
 * Integers are written into one of four rotating static buffers, so one
 * statement may hold at most four of them.
 */
const char *show_str(const json_t *obj, const char *key);
uint64_t show_u64(const json_t *obj, const char *key);
/* A size member, or "UNKNOWN" when null. */
void show_size(const json_t *obj, const char *key, char *buf, size_t len);
/* bitsadmin's spelling of a protocol state name ("Transient_Error"). */
const char *show_state_title(const char *state);
/* `{GUID} 'NAME' STATE files_done / files_total bytes_done / bytes_total` */
void show_list_line(FILE *f, const json_t *job);
/* The info block (bitsadmin /info); verbose adds files, costs and the WinRT view. */
void show_info(FILE *f, const json_t *job, const json_t *extra, bool verbose);
/* The job's error object as bitsadmin /geterror prints it. */
void show_error(FILE *f, const json_t *job);
/* A progress bar of width cells for done of total (total 0 or unknown: empty). */
void show_bar(char *buf, size_t len, uint64_t done, uint64_t total, bool known, int width);
/* A byte count for people ("3.0 MiB"). */
void show_human(uint64_t n, char *buf, size_t len);
/* Unix ms as local "YYYY-MM-DD HH:MM:SS", or "UNKNOWN" for 0. */
void show_time(int64_t unix_ms, char *buf, size_t len);

/*
 * `{GUID} 'NAME' STATE [#####.....] 42% 3.0 MiB / 8.0 MiB` (no newline) into
 * buf, the quoted name padded to name_width.
 */
void show_progress_line(const json_t *job, int name_width, int bar_width, char *buf, size_t len);

/* ------------------------------------------------------------- live.c */

/* Catch SIGINT and SIGTERM (no SA_RESTART) so that live verbs can stop cleanly. */
void ctl_live_catch(void);
/* Whether Ctrl-C (or SIGTERM) came. */
bool ctl_live_stopped(void);
/* Milliseconds of the monotonic clock. */
int64_t ctl_live_now_ms(void);
/* The wall clock as local "HH:MM:SS" for plain lines. */
void ctl_live_stamp(char *buf, size_t len);
/*
 * The next notification's params (caller owns), waiting at most timeout_ms.
 * NULL on timeout (*closed false) or when xferd went away (*closed true,
 * reason said on stderr).
 */
json_t *ctl_live_next(struct ctl *c, int timeout_ms, bool *closed);

/* ------------------------------------------------------------- the verbs */

int ctl_cmd_create(struct ctl *c, int argc, char **argv);
int ctl_cmd_addfile(struct ctl *c, int argc, char **argv);
int ctl_cmd_addfilewithranges(struct ctl *c, int argc, char **argv);
int ctl_cmd_resume(struct ctl *c, int argc, char **argv);
int ctl_cmd_suspend(struct ctl *c, int argc, char **argv);
int ctl_cmd_cancel(struct ctl *c, int argc, char **argv);
int ctl_cmd_complete(struct ctl *c, int argc, char **argv);
int ctl_cmd_reset(struct ctl *c, int argc, char **argv);
int ctl_cmd_info(struct ctl *c, int argc, char **argv);
int ctl_cmd_list(struct ctl *c, int argc, char **argv);
int ctl_cmd_getstate(struct ctl *c, int argc, char **argv);
int ctl_cmd_geterror(struct ctl *c, int argc, char **argv);
int ctl_cmd_setprop(struct ctl *c, int argc, char **argv);
int ctl_cmd_set(struct ctl *c, int argc, char **argv);
int ctl_cmd_get(struct ctl *c, int argc, char **argv);
int ctl_cmd_setheader(struct ctl *c, int argc, char **argv);
int ctl_cmd_setcredentials(struct ctl *c, int argc, char **argv);
int ctl_cmd_setproxy(struct ctl *c, int argc, char **argv);
int ctl_cmd_setnotifycmdline(struct ctl *c, int argc, char **argv);
int ctl_cmd_monitor(struct ctl *c, int argc, char **argv);
int ctl_cmd_transfer(struct ctl *c, int argc, char **argv);
int ctl_cmd_explain(struct ctl *c, int argc, char **argv);

/* An absolute form of a local path (relative ones are taken from the cwd). Caller frees. */
char *ctl_abs_path(const char *path);

#endif
