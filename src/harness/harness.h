/*
 * harness: `xferlab scenario-exec FILE --out DIR [--seed N] [--xferd PATH]
 * [--time-limit DUR] [--scale X]` — run ONE scenario against a real xferd,
 * the fault origins and the simulated network and battery, all hosted by
 * this process, and write DIR/result.json (/work/briefs/result-schema.md),
 * DIR/journal.json and DIR/xferd.log.
 *
 * Exit codes: 0 passed, 1 an expectation failed (or xferd died by itself),
 * 2 script or usage error, 3 stopped at its time limit, 4 harness failure
 * (xferd or a server could not start). No process is left behind.
 */
#ifndef HX_HARNESS_H
#define HX_HARNESS_H

/* argv[0] is "scenario-exec". */
int hx_exec_main(int argc, char **argv);

#endif
