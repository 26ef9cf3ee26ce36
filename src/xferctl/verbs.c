/*
 * verbs: the one list of xferctl's verbs. Each row names the verb, its
 * arguments, its flags, its help and its handler; `xferctl help`, each
 * verb's --help and usage message, and the argument checks (args.c) all read
 * this table. Property verbs name the engine property they write; its
 * accepted values are the engine's business (src/engine/props.c).
 */
#include <ctype.h>
#include <string.h>

#include "ctl.h"
#include "xfer/xfer.h"

#define JSONF                                                                                      \
    {                                                                                              \
        "--json", NULL, "print the protocol's JSON"                                                \
    }

static const struct ctl_verb verbs[] = {
    {.name = "create",
     .args = "[--download|--upload] NAME",
     .summary = "create a job (it starts SUSPENDED); prints its GUID",
     .run = ctl_cmd_create,
     .flags = {{"--download", NULL, "a download job (the default)"},
               {"--upload", NULL, "an upload job"}},
     .min_args = 1,
     .max_args = 1},
    {.name = "addfile",
     .args = "JOB URL PATH",
     .summary = "add a file to a job",
     .help = "PATH is the local file; a relative PATH is taken from the current directory.",
     .run = ctl_cmd_addfile,
     .min_args = 3,
     .max_args = 3},
    {.name = "addfilewithranges",
     .args = "JOB URL PATH OFFSET:LENGTH[,OFFSET:LENGTH...]",
     .summary = "add a file of which only some byte ranges are downloaded",
     .help = "OFFSET and LENGTH are byte counts (units such as KiB allowed); LENGTH 'eof'\n"
             "means to the end of the remote file. Example: 0:1024,4096:eof",
     .run = ctl_cmd_addfilewithranges,
     .min_args = 4,
     .max_args = 4},
    {.name = "resume",
     .args = "JOB",
     .summary = "activate a new or suspended job (or retry one in error)",
     .run = ctl_cmd_resume,
     .min_args = 1,
     .max_args = 1},
    {.name = "suspend",
     .args = "JOB",
     .summary = "suspend a job",
     .run = ctl_cmd_suspend,
     .min_args = 1,
     .max_args = 1},
    {.name = "cancel",
     .args = "JOB",
     .summary = "remove a job and its temporary files",
     .run = ctl_cmd_cancel,
     .min_args = 1,
     .max_args = 1},
    {.name = "complete",
     .args = "JOB",
     .summary = "make a job's files available (after TRANSFERRED; else only finished files)",
     .run = ctl_cmd_complete,
     .min_args = 1,
     .max_args = 1},
    {.name = "info",
     .args = "JOB [--verbose]",
     .summary = "show a job's properties and progress",
     .run = ctl_cmd_info,
     .flags = {{"--verbose", NULL, "also its files, costs, proxy and the WinRT view"}, JSONF},
     .min_args = 1,
     .max_args = 1},
    {.name = "list",
     .args = "[--all-users] [--verbose]",
     .summary = "list jobs: GUID, name, state, files and bytes",
     .run = ctl_cmd_list,
     .flags = {{"--all-users", NULL, "every user's jobs (root only)"},
               {"--verbose", NULL, "the info block of each job"},
               JSONF},
     .min_args = 0,
     .max_args = 0},
    {.name = "monitor",
     .args = "[--all-users] [--refresh SEC]",
     .summary = "a live table of jobs with progress bars; Ctrl-C quits",
     .help = "Redraws on every event and every SEC seconds (default 5). When standard output\n"
             "is not a terminal, prints one plain line per state change and progress step\n"
             "(--json: one protocol event object per line).",
     .run = ctl_cmd_monitor,
     .flags = {{"--all-users", NULL, "every user's jobs (root only)"},
               {"--refresh", "SEC", "redraw at least every SEC seconds (default 5)"},
               JSONF},
     .min_args = 0,
     .max_args = 0},
    {.name = "getstate",
     .args = "JOB",
     .summary = "print a job's state (Queued, Transferring, Transient_Error, ...)",
     .run = ctl_cmd_getstate,
     .flags = {JSONF},
     .min_args = 1,
     .max_args = 1},
    {.name = "geterror",
     .args = "JOB",
     .summary = "print a job's error: file, code, context and its three vocabularies",
     .run = ctl_cmd_geterror,
     .flags = {JSONF},
     .min_args = 1,
     .max_args = 1},
    {.name = "setpriority",
     .args = "JOB FOREGROUND|HIGH|NORMAL|LOW",
     .summary = "set a job's priority",
     .run = ctl_cmd_setprop,
     .min_args = 2,
     .max_args = 2,
     .prop = "priority"},
    {.name = "setnoprogresstimeout",
     .args = "JOB SEC",
     .summary = "how long a job may stay in TRANSIENT_ERROR without progress (0: no retries)",
     .run = ctl_cmd_setprop,
     .min_args = 2,
     .max_args = 2,
     .prop = "no_progress_timeout",
     .number = true},
    {.name = "setminretrydelay",
     .args = "JOB SEC",
     .summary = "the delay before a job in TRANSIENT_ERROR is retried",
     .run = ctl_cmd_setprop,
     .min_args = 2,
     .max_args = 2,
     .prop = "min_retry_delay",
     .number = true},
    {.name = "setcostpolicy",
     .args = "JOB POLICY",
     .summary = "the networks a job may use",
     .help = "POLICY is whatever the engine's cost_policy property accepts, for example\n"
             "UnrestrictedOnly (WinRT), STANDARD (a BITS preset) or 0x80000067 (BITS cost\n"
             "flags); xferd names what it does not accept.",
     .run = ctl_cmd_setprop,
     .min_args = 2,
     .max_args = 2,
     .prop = "cost_policy"},
    {.name = "setnotifyflags",
     .args = "JOB FLAGS",
     .summary = "which events run the notify command line (1 transferred, 2 error, 3 both, 4 "
                "none)",
     .run = ctl_cmd_setprop,
     .min_args = 2,
     .max_args = 2,
     .prop = "notify_flags",
     .number = true},
    {.name = "setheader",
     .args = "JOB \"Name: value\" | JOB \"Name:\" | JOB NULL",
     .summary = "add or replace a custom request header (\"Name:\" removes it, NULL removes all)",
     .run = ctl_cmd_setheader,
     .min_args = 2,
     .max_args = 2,
     .prop = "headers"},
    {.name = "setcredentials",
     .args = "JOB server|proxy basic|digest USER PASSWORD",
     .summary = "credentials for the server or the proxy",
     .run = ctl_cmd_setcredentials,
     .min_args = 5,
     .max_args = 5},
    {.name = "setproxy",
     .args = "JOB PRECONFIG | JOB OVERRIDE PROXY_URL",
     .summary = "the job's proxy: the environment's (PRECONFIG) or PROXY_URL",
     .help = "PROXY_URL is an http, https, socks5 or socks5h URL.",
     .run = ctl_cmd_setproxy,
     .min_args = 2,
     .max_args = 3,
     .prop = "proxy"},
    {.name = "setnotifycmdline",
     .args = "JOB PROGRAM [PARAMETERS] | JOB NULL",
     .summary = "a command run when the job is transferred or fails (NULL removes it)",
     .help = "PROGRAM is an absolute path; xferd runs 'PROGRAM PARAMETERS' with /bin/sh -c,\n"
             "with XFER_JOB and XFER_STATE in the environment. As with bitsadmin, PARAMETERS\n"
             "may start with PROGRAM itself.",
     .run = ctl_cmd_setnotifycmdline,
     .min_args = 2,
     .max_args = -1,
     .prop = "notify_cmdline"},
    {.name = "set",
     .args = "JOB PROPERTY VALUE",
     .summary = "set any job property by its engine name",
     .run = ctl_cmd_set,
     .min_args = 3,
     .max_args = 3},
    {.name = "get",
     .args = "JOB PROPERTY",
     .summary = "read any job property by its engine name",
     .run = ctl_cmd_get,
     .flags = {JSONF},
     .min_args = 2,
     .max_args = 2},
    {.name = "transfer",
     .args = "NAME [--download|--upload] [--priority P] URL PATH [URL PATH ...]",
     .summary = "create, add, resume, show progress, complete: a download in one step",
     .help = "Keeps going through transient errors. On a fatal error prints the error,\n"
             "cancels the job and exits 1. Ctrl-C leaves the job to xferd and exits 1.",
     .run = ctl_cmd_transfer,
     .flags = {{"--download", NULL, "a download job (the default)"},
               {"--upload", NULL, "an upload job"},
               {"--priority", "P", "FOREGROUND, HIGH, NORMAL or LOW"}},
     .min_args = 3,
     .max_args = -1},
    {.name = "reset",
     .args = "[--all-users]",
     .summary = "cancel every job",
     .run = ctl_cmd_reset,
     .flags = {{"--all-users", NULL, "every user's jobs (root only)"}},
     .min_args = 0,
     .max_args = 0},
    {.name = "explain",
     .args = "CODE",
     .summary = "what an error code means (works without xferd)",
     .help = "CODE is a symbolic name (BG_E_NETWORK_DISCONNECTED), an HRESULT (0x80200010)\n"
             "or a WebView2 interrupt reason (NetworkDisconnected). Prints the engine's\n"
             "error table row(s), as `xferlab explain` does.",
     .run = ctl_cmd_explain,
     .flags = {JSONF},
     .min_args = 1,
     .max_args = 1},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

const struct ctl_verb *ctl_verbs(size_t *n)
{
    *n = NVERBS;
    return verbs;
}

const struct ctl_verb *ctl_verb_find(const char *name)
{
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    return NULL;
}

void ctl_print_overview(FILE *f)
{
    fprintf(f, "usage: xferctl [--socket PATH] [--json] VERB [ARGS]\n\n"
               "The client of xferd, the background transfer service (verbs after bitsadmin's).\n"
               "Jobs are named by GUID or display name.\n\n"
               "verbs:\n");
    for (size_t i = 0; i < NVERBS; i++)
        fprintf(f, "  %-21s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(
        f, "\nglobal options:\n"
           "  --socket PATH   xferd's socket (default: $XFERD_SOCKET, else\n"
           "                  $XDG_RUNTIME_DIR/xferd/xferd.sock, else /tmp/xferd-$UID/xferd.sock)\n"
           "  --json          print the protocol's JSON instead of text\n\n"
           "'xferctl VERB --help' tells more. Exit codes: 0 ok, 1 failure, 2 misuse.\n");
}

void ctl_print_usage(FILE *f, const struct ctl_verb *v, bool full)
{
    fprintf(f, "usage: xferctl %s %s\n", v->name, v->args);
    if (!full)
        return;
    /* The summary as a sentence. */
    fprintf(f, "\n%c%s.\n", toupper((unsigned char)v->summary[0]), v->summary + 1);
    if (v->help)
        fprintf(f, "\n%s\n", v->help);
    if (v->flags[0].name) {
        fprintf(f, "\noptions:\n");
        for (int i = 0; i < CTL_MAX_FLAGS && v->flags[i].name; i++) {
            char head[64];
            snprintf(head, sizeof head, "%s%s%s", v->flags[i].name, v->flags[i].value ? " " : "",
                     v->flags[i].value ? v->flags[i].value : "");
            fprintf(f, "  %-16s %s\n", head, v->flags[i].help);
        }
    }
    if (v->prop)
        fprintf(f, "\nWrites the job property '%s'; xferd checks the value.\n", v->prop);
    if (v->run == ctl_cmd_set || v->run == ctl_cmd_get) {
        fprintf(f, "\nPROPERTY is one of the engine's:\n ");
        int col = 1;
        for (const char *const *p = xfer_job_props(); *p; p++) {
            if (col + 1 + (int)strlen(*p) > 78) {
                fprintf(f, "\n ");
                col = 1;
            }
            col += fprintf(f, " %s", *p);
        }
        fprintf(f, "\n");
    }
}
