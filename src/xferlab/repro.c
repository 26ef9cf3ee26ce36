/*
 * repro: `xferlab repro <interrupt reason | BG_E name | hex>`. The query is
 * resolved to rows of the error table (xfer_error_query, as explain does);
 * the scenarios whose expectations cover one of them (covers.h) are run
 * (runner.h), and each result is printed as a readable trace: the timeline
 * (actions, link events, faults, expectations), each job's state history,
 * the requests, and the error object of every failure code the jobs met, in
 * the error table's three vocabularies. Exit 0 when they all passed, 1 when
 * one did not or none covers the query, 2 on misuse or a script error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "covers.h"
#include "doc.h"
#include "errrow.h"
#include "runner.h"
#include "scnlist.h"
#include "text.h"
#include "units.h"
#include "xferlab.h"

#define MAX_ROWS 64
#define MAX_HRS  32

static void help(FILE *f)
{
    fprintf(f,
            "usage: xferlab repro [options] CODE\n\n"
            "CODE is a WebView2 interrupt reason (NetworkDisconnected), a symbolic name\n"
            "(BG_E_NETWORK_DISCONNECTED) or an HRESULT (0x80200010). Runs the scenarios\n"
            "whose expectations produce it and prints what happened in each: requests,\n"
            "link events, state changes and the error object.\n\n"
            "  --scenarios DIR   where to look (default: %s)\n"
            "  -j, --jobs N      scenarios at once (default: 1)\n"
            "  --seed N          the seed for every scenario\n"
            "  --xferd PATH      the xferd to run\n"
            "  --keep            keep the directory of a scenario that did not pass\n"
            "  --list            only list the scenarios, do not run them\n",
            xl_scn_default_dir());
}

/* The error objects of a result: each distinct failure HRESULT its jobs reported. */
static void error_objects(FILE *f, const json_t *r)
{
    xfer_hr seen[MAX_HRS];
    size_t n = 0, k, i;
    const json_t *job, *s;
    json_array_foreach(rpt_arr(r, "jobs"), k, job)
    {
        json_array_foreach(rpt_arr(job, "states"), i, s)
        {
            const char *hex = rpt_str(s, "hr", NULL);
            if (!hex)
                continue;
            xfer_hr hr = (xfer_hr)(uint32_t)strtoul(hex, NULL, 16);
            if (!XFER_FAILED(hr))
                continue;
            bool dup = false;
            for (size_t x = 0; x < n; x++)
                dup = dup || seen[x] == hr;
            if (dup || n == MAX_HRS)
                continue;
            seen[n++] = hr;
            const struct xfer_error_row *row = xfer_error_find(hr);
            fprintf(f, "error object (job %s, %s):\n", rpt_str(job, "id", "?"), hex);
            if (row)
                rpc_error_row_print(f, row);
            else
                fprintf(f, "  %s is not in the error table\n", hex);
        }
    }
}

int xl_cmd_repro(int argc, char **argv)
{
    enum { O_SCEN = 256, O_SEED, O_XFERD, O_KEEP, O_LIST, O_HELP };
    static const struct option opts[] = {{"scenarios", required_argument, NULL, O_SCEN},
                                         {"jobs", required_argument, NULL, 'j'},
                                         {"seed", required_argument, NULL, O_SEED},
                                         {"xferd", required_argument, NULL, O_XFERD},
                                         {"keep", no_argument, NULL, O_KEEP},
                                         {"list", no_argument, NULL, O_LIST},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};
    struct xl_runner_opts o = {.jobs = 1, .repeat = 1, .quiet_failures = true, .out = stdout};
    const char *dir = NULL;
    bool only_list = false;
    char err[XL_ERRLEN];
    size_t col;
    uint64_t v;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":j:", opts, NULL)) != -1) {
        switch (c) {
        case O_SCEN:
            dir = optarg;
            break;
        case 'j':
            if (xl_parse_u64(optarg, &v, &col, err) < 0 || v == 0 || v > 1024) {
                fprintf(stderr, "xferlab repro: -j '%s': expected 1 to 1024\n", optarg);
                return XL_EXIT_USAGE;
            }
            o.jobs = (unsigned)v;
            break;
        case O_SEED:
            if (xl_parse_u64(optarg, &o.seed, &col, err) < 0) {
                fprintf(stderr, "xferlab repro: --seed '%s': expected a whole number\n", optarg);
                return XL_EXIT_USAGE;
            }
            o.has_seed = true;
            break;
        case O_XFERD:
            o.xferd = optarg;
            break;
        case O_KEEP:
            o.keep = true;
            break;
        case O_LIST:
            only_list = true;
            break;
        case O_HELP:
            help(stdout);
            return XL_EXIT_OK;
        case ':':
            fprintf(stderr, "xferlab repro: option '%s' needs a value\n", argv[optind - 1]);
            return XL_EXIT_USAGE;
        default:
            fprintf(stderr, "xferlab repro: unknown option '%s'\n", argv[optind - 1]);
            return XL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: xferlab repro [options] CODE   (one code; see --help)\n");
        return XL_EXIT_USAGE;
    }
    const char *query = argv[optind];
    const struct xfer_error_row *rows[MAX_ROWS];
    size_t nrows = xfer_error_query(query, rows, MAX_ROWS);
    if (nrows == 0) {
        fprintf(stderr, "xferlab repro: '%s' is not a known code, name or interrupt reason\n",
                query);
        return XL_EXIT_FAIL;
    }
    if (nrows > MAX_ROWS)
        nrows = MAX_ROWS;

    struct xl_scn_list all, hit = {0};
    json_t *results = NULL;
    int rc = XL_EXIT_FAIL;
    if (xl_scn_find(dir ? &dir : NULL, dir ? 1 : 0, &all, err, sizeof err) < 0) {
        fprintf(stderr, "xferlab repro: %s\n", err);
        rc = XL_EXIT_USAGE;
        goto out;
    }
    if (xl_covering(&all, rows, nrows, xl_query_is_interrupt(query), &hit, stderr) == 0) {
        printf("no scenario covers %s ('xferlab explain %s' shows what it means)\n", query, query);
        goto out;
    }
    printf("scenarios that produce %s:\n", query);
    for (size_t i = 0; i < hit.n; i++)
        printf("  %s  (%s)\n", hit.v[i].name, hit.v[i].file);
    if (only_list) {
        rc = XL_EXIT_OK;
        goto out;
    }
    putchar('\n');
    fflush(stdout);
    bool interrupted;
    results = xl_runner_run(&o, &hit, &interrupted, err, sizeof err);
    if (!results) {
        fprintf(stderr, "xferlab repro: %s\n", err);
        goto out;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(results, i, r)
    {
        printf("\n== %s: %s ==\n", rpt_str(r, "scenario", "?"),
               rpt_status_name(rpt_result_status(r)));
        rpt_text_trace(stdout, r);
        error_objects(stdout, r);
    }
    rc = interrupted ? XL_EXIT_FAIL : xl_runner_exit_code(results);
out:
    json_decref(results);
    xl_scn_list_free(&hit);
    xl_scn_list_free(&all);
    return rc;
}
