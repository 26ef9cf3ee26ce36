/*
 * report: the renderers of a run (library xl_report). A run document
 * (reports/<run>/results.json; reports/README.md describes it) goes in; JUnit
 * XML and one self-contained HTML page come out. `xferlab run` renders after
 * each run and `xferlab report RUN_DIR` renders a run again.
 *
 *   doc.*    reading the document (fields with defaults, statuses, counts)
 *   esc.*    the XML/HTML escaper every text goes through
 *   text.*   a result as plain text (terminal, JUnit system-out)
 *   junit.c  junit.xml
 *   html.c   index.html: summary table and each scenario's detail
 *   svg.c    the timeline picture of one scenario (inline SVG)
 *   render.c a run directory: results.json in, junit.xml and index.html out
 *
 * The renderers never fail on a result's content (missing fields read as
 * defaults); they fail only on I/O and on a document that is not a run
 * document at all.
 */
#ifndef RPT_REPORT_H
#define RPT_REPORT_H

#include <jansson.h>
#include <stdio.h>

/* Write the run document doc as JUnit XML to f. */
void rpt_write_junit(FILE *f, const json_t *doc);
/* Write the run document doc as one self-contained HTML page to f. */
void rpt_write_html(FILE *f, const json_t *doc);
/*
 * Write one scenario's timeline (a result object) as an inline <svg> element;
 * idx makes its element ids unique on the page.
 */
void rpt_write_svg(FILE *f, const json_t *result, size_t idx);

/*
 * Render a run directory: read dir/results.json, write dir/junit.xml and
 * dir/index.html (each to a temporary name, then renamed). Returns 0, or -1
 * with a message naming the file and what was wrong.
 */
int rpt_render_dir(const char *dir, char *err, size_t errlen);
/* The same from a document already in memory (the runner's). */
int rpt_render_doc(const char *dir, const json_t *doc, char *err, size_t errlen);

#endif
