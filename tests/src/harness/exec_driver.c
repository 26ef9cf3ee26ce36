/*
 * exec_driver: `scenario-exec` as a program of its own, so the harness's
 * tests run it without xferlab's dispatcher: exec_driver FILE --out DIR ...
 */
#include "harness.h"

int main(int argc, char **argv)
{
    argv[0] = "scenario-exec";
    return hx_exec_main(argc, argv);
}
