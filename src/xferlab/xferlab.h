/* xferlab: the verbs of the harness's command line. */
#ifndef XFERLAB_H
#define XFERLAB_H

#define XFERLAB_VERSION "0.1.0"

enum { XL_EXIT_OK = 0, XL_EXIT_FAIL = 1, XL_EXIT_USAGE = 2 };

int xl_cmd_serve(int argc, char **argv);
int xl_cmd_selfcheck(int argc, char **argv);
int xl_cmd_explain(int argc, char **argv);
int xl_cmd_run(int argc, char **argv);
int xl_cmd_list(int argc, char **argv);
int xl_cmd_repro(int argc, char **argv);
int xl_cmd_report(int argc, char **argv);

#endif
