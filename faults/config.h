/*
 * config: fault files — content declarations and rules, one per line.
 *
 *     # a comment
 *     file /big.bin size=8MiB seed=7     a generated entity
 *     root ./www                         serve a directory
 *     close after=1MiB nth=1             any other line is a rule (rule.h)
 *
 * Loading is all or nothing: every line is checked first, and only a file
 * without errors changes the rule set and the content. An error names the
 * file, line and column, shows the line and puts a caret under the column.
 */
#ifndef FLT_CONFIG_H
#define FLT_CONFIG_H

#include <stddef.h>

#include "content.h"
#include "rule.h"

/*
 * Load text (named `name` in messages) into rules and content. Returns 0, or
 * -1 with a message in err (errlen bytes; several lines with the caret).
 */
int flt_config_load_text(const char *name, const char *text, struct flt_rules *rules,
                         struct flt_content *content, int64_t now_ms, char *err, size_t errlen);
/* Read the file at path and load it as above. */
int flt_config_load_file(const char *path, struct flt_rules *rules, struct flt_content *content,
                         int64_t now_ms, char *err, size_t errlen);
/* Parse "PATH=SIZE[:SEED]" (the --file flag) into a generated entity. */
int flt_config_file_flag(const char *arg, struct flt_content *content, char *err);

#endif
