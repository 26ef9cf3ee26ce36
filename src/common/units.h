/*
 * units: the numbers people write in fault rules and scenarios.
 *
 * Sizes ("8MiB", "1.5GB", "4096"), durations ("250ms", "2min", "14d", "forever")
 * and rates ("100KiB/s", "8Mbit/s") are parsed here and nowhere else, so a rule,
 * a scenario and a command-line flag accept exactly the same spellings. Each
 * parser consumes the whole string or fails with a message naming the offending
 * column; none allocates.
 */
#ifndef XL_UNITS_H
#define XL_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define XL_ERRLEN 256

/* Durations are milliseconds; XL_FOREVER stands for "never ends". */
#define XL_FOREVER INT64_MAX

/*
 * Each returns 0 and stores the value, or -1 and writes a message to err
 * (XL_ERRLEN bytes) with *col set to the 0-based column where parsing failed.
 */
int xl_parse_size(const char *s, uint64_t *out, size_t *col, char *err);
int xl_parse_duration(const char *s, int64_t *out_ms, size_t *col, char *err);
int xl_parse_rate(const char *s, uint64_t *bytes_per_sec, size_t *col, char *err);
int xl_parse_u64(const char *s, uint64_t *out, size_t *col, char *err);
int xl_parse_prob(const char *s, double *out, size_t *col, char *err);

/* Format a size as the shortest exact binary spelling ("3MiB", "1000"). */
void xl_format_size(uint64_t v, char *buf, size_t len);
/* Format a duration in milliseconds ("250ms", "2min", "forever"). */
void xl_format_duration(int64_t ms, char *buf, size_t len);

/* Index of the candidate closest to word (Levenshtein), or -1 when none is close. */
int xl_closest(const char *word, const char *const *candidates, size_t n);

#endif
