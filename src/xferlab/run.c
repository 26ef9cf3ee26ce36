/*
 * run: `xferlab run [PATH…]`, the scenario runner's command line. It picks
 * the scenarios (scnlist.h: files and directories, --filter, --shard), runs
 * them (runner.h: a child per scenario and attempt, -j at once), prints the
 * table, and writes the run's reports (rundoc.h). Exit 0 when all passed, 1
 * when some failed, timed out or could not run, 2 on a script error or
 * misuse.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "rundoc.h"
#include "runner.h"
#include "scnlist.h"
#include "text.h"
#include "units.h"
#include "xferlab.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: xferlab run [options] [PATH...]\n\n"
            "Run scenarios (files or directories of *.scn; default: %s), each in its own\n"
            "process with its own xferd, servers, ports and temporary directory, and write\n"
            "the run's reports (results.json, junit.xml, index.html) to a new directory\n"
            "under --reports, pointing its 'latest' at it.\n\n"
            "  -j, --jobs N         scenarios at once (default: the number of cores)\n"
            "  --shard K/N          run only shard K of N of the sorted list\n"
            "  --filter PATTERN     scenarios whose name contains PATTERN, or matches it as\n"
            "                       a glob when it has * ? or [ (e.g. 'disconnects/*')\n"
            "  --repeat N           run each scenario N times and report flaky ones\n"
            "  --seed N             the seed for every scenario (default: each script's)\n"
            "  --keep               keep the directory of each scenario that did not pass\n"
            "  --reports DIR        where run directories go (default: reports)\n"
            "  --xferd PATH         the xferd to test (default: the one beside xferlab)\n"
            "  --time-limit DUR     each scenario's wall-clock limit, instead of its\n"
            "                       script's (it stops itself and reports a timeout)\n"
            "  --wall-limit DUR     kill a scenario's processes after this much real time\n"
            "                       (default: twice its own limit plus 10s; a timeout)\n\n"
            "Exit status: 0 all passed, 1 some failed or timed out, 2 a script error or\n"
            "misuse.\n",
            xl_scn_default_dir());
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "xferlab run: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see xferlab run --help)\n");
    va_end(ap);
    return XL_EXIT_USAGE;
}

static int parse_count(const char *s, const char *what, unsigned max, unsigned *out)
{
    uint64_t v;
    size_t col;
    char err[XL_ERRLEN];
    if (xl_parse_u64(s, &v, &col, err) < 0 || v == 0 || v > max) {
        fprintf(stderr, "xferlab run: %s '%s': expected a whole number from 1 to %u\n", what, s,
                max);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int xl_cmd_run(int argc, char **argv)
{
    enum {
        O_SHARD = 256,
        O_FILTER,
        O_REPEAT,
        O_SEED,
        O_KEEP,
        O_REPORTS,
        O_XFERD,
        O_TLIMIT,
        O_WLIMIT,
        O_HELP
    };
    static const struct option opts[] = {{"jobs", required_argument, NULL, 'j'},
                                         {"shard", required_argument, NULL, O_SHARD},
                                         {"filter", required_argument, NULL, O_FILTER},
                                         {"repeat", required_argument, NULL, O_REPEAT},
                                         {"seed", required_argument, NULL, O_SEED},
                                         {"keep", no_argument, NULL, O_KEEP},
                                         {"reports", required_argument, NULL, O_REPORTS},
                                         {"xferd", required_argument, NULL, O_XFERD},
                                         {"time-limit", required_argument, NULL, O_TLIMIT},
                                         {"wall-limit", required_argument, NULL, O_WLIMIT},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    struct xl_runner_opts o = {.jobs = cores > 0 ? (unsigned)cores : 1, .repeat = 1, .out = stdout};
    const char *reports = "reports", *shard = NULL, *filter = NULL;
    unsigned shard_k = 0, shard_n = 0;
    char err[XL_ERRLEN];
    size_t col;
    int64_t ms;

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":j:", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (parse_count(optarg, "-j", 1024, &o.jobs) < 0)
                return XL_EXIT_USAGE;
            break;
        case O_SHARD:
            if (xl_scn_shard_parse(optarg, &shard_k, &shard_n, err, sizeof err) < 0)
                return bad("%s", err);
            shard = optarg;
            break;
        case O_FILTER:
            filter = optarg;
            break;
        case O_REPEAT:
            if (parse_count(optarg, "--repeat", 100000, &o.repeat) < 0)
                return XL_EXIT_USAGE;
            break;
        case O_SEED:
            if (xl_parse_u64(optarg, &o.seed, &col, err) < 0)
                return bad("--seed '%s': expected a whole number", optarg);
            o.has_seed = true;
            break;
        case O_KEEP:
            o.keep = true;
            break;
        case O_REPORTS:
            reports = optarg;
            break;
        case O_XFERD:
            if (access(optarg, X_OK) < 0)
                return bad("--xferd '%s': not an executable file", optarg);
            o.xferd = optarg;
            break;
        case O_TLIMIT:
            if (xl_parse_duration(optarg, &ms, &col, err) < 0 || ms <= 0)
                return bad("--time-limit '%s': expected a duration such as 10min or 30s", optarg);
            o.time_limit = optarg;
            break;
        case O_WLIMIT:
            if (xl_parse_duration(optarg, &ms, &col, err) < 0 || ms <= 0)
                return bad("--wall-limit '%s': expected a duration such as 60s", optarg);
            o.wall_limit_ms = ms;
            break;
        case O_HELP:
            help(stdout);
            return XL_EXIT_OK;
        case ':':
            return bad("option '%s' needs a value", argv[optind - 1]);
        default:
            return bad("unknown option '%s'", argv[optind - 1]);
        }
    }

    struct xl_scn_list list;
    int rc = XL_EXIT_FAIL;
    json_t *results = NULL, *doc = NULL;
    if (xl_scn_find((const char *const *)argv + optind, (size_t)(argc - optind), &list, err,
                    sizeof err) < 0) {
        fprintf(stderr, "xferlab run: %s\n", err);
        rc = XL_EXIT_USAGE;
        goto out;
    }
    if (list.n == 0) {
        fprintf(stderr, "xferlab run: no scenarios (*.scn) found\n");
        rc = XL_EXIT_USAGE;
        goto out;
    }
    if (filter) {
        xl_scn_filter(&list, filter);
        if (list.n == 0) {
            fprintf(stderr, "xferlab run: no scenario name matches --filter '%s'\n", filter);
            rc = XL_EXIT_USAGE;
            goto out;
        }
    }
    if (shard) {
        xl_scn_shard(&list, shard_k, shard_n);
        if (list.n == 0)
            printf("xferlab run: shard %s is empty (fewer scenarios than shards)\n", shard);
    }

    struct xl_run_facts facts = {.argc = argc,
                                 .argv = argv,
                                 .started_unix_ms = xl_unix_ms(),
                                 .has_seed = o.has_seed,
                                 .seed = o.seed,
                                 .jobs = o.jobs,
                                 .repeat = o.repeat,
                                 .shard = shard,
                                 .filter = filter};
    int64_t t0 = xl_mono_ns();
    printf("running %zu scenario(s)%s with -j %u\n", list.n * o.repeat,
           o.repeat > 1 ? " (with repeats)" : "", o.jobs);
    fflush(stdout);
    bool interrupted = false;
    results = xl_runner_run(&o, &list, &interrupted, err, sizeof err);
    if (!results) {
        fprintf(stderr, "xferlab run: %s\n", err);
        goto out;
    }
    facts.wall_ms = (xl_mono_ns() - t0) / 1000000;
    putchar('\n');
    xl_runner_print_table(stdout, results);
    if (interrupted)
        printf("interrupted: %zu of %zu did not run to the end\n",
               list.n * o.repeat - json_array_size(results), list.n * o.repeat);

    char dir[PATH_MAX], id[128];
    doc = xl_rundoc_make(&facts, "", results);
    if (!doc || xl_rundoc_mkdir(reports, facts.started_unix_ms, dir, id, err, sizeof err) < 0 ||
        (json_object_set_new(json_object_get(doc, "run"), "id", json_string(id)),
         xl_rundoc_write(reports, dir, id, doc, err, sizeof err) < 0)) {
        fprintf(stderr, "xferlab run: reports: %s\n", doc ? err : "out of memory");
        goto out;
    }
    char w[32];
    rpt_fmt_ms(w, sizeof w, facts.wall_ms);
    printf("wall %s · reports: %s/index.html (junit.xml, results.json; %s/latest)\n", w, dir,
           reports);
    rc = interrupted ? XL_EXIT_FAIL : xl_runner_exit_code(results);
out:
    json_decref(doc);
    json_decref(results);
    xl_scn_list_free(&list);
    return rc;
}
