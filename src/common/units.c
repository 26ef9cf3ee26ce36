/*
 * units: parsing and printing of sizes, durations, rates and probabilities.
 *
 * Grammar (whitespace is not allowed anywhere):
 *   size     := number [unit]        unit: B k K KB KiB M MB MiB G GB GiB T TB TiB
 *   duration := number unit | "forever"      unit: us ms s sec min m h d
 *   rate     := size "/s" | number ("bit/s"|"kbit/s"|"Mbit/s"|"Gbit/s")
 *   number   := digits ["." digits]
 * Decimal units are powers of 1000, binary ones powers of 1024; a fraction is
 * allowed only when the result is a whole number of bytes or milliseconds.
 */
#include "units.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct unit {
    const char *name;
    double mult;
};

static const struct unit size_units[] = {
    {"", 1},
    {"B", 1},
    {"k", 1e3},
    {"K", 1e3},
    {"KB", 1e3},
    {"kB", 1e3},
    {"KiB", 1024.0},
    {"M", 1e6},
    {"MB", 1e6},
    {"MiB", 1048576.0},
    {"G", 1e9},
    {"GB", 1e9},
    {"GiB", 1073741824.0},
    {"T", 1e12},
    {"TB", 1e12},
    {"TiB", 1099511627776.0},
};

static const struct unit duration_units[] = {
    {"us", 0.001}, {"ms", 1},      {"s", 1000},    {"sec", 1000},
    {"m", 60000},  {"min", 60000}, {"h", 3600000}, {"d", 86400000},
};

static const struct unit bit_rate_units[] = {
    {"bit/s", 1.0 / 8},
    {"kbit/s", 1e3 / 8},
    {"Mbit/s", 1e6 / 8},
    {"Gbit/s", 1e9 / 8},
};

/*
 * A number as written: its value correctly rounded (strtod on the validated
 * digits), and, when it has no fraction and fits, the exact whole number, so
 * sizes and durations above 2^53 do not drift.
 */
struct number {
    double v;
    uint64_t whole;
    bool exact;
};

/* Parse "digits[.digits]" at s; returns characters consumed (0: none). */
static size_t parse_number(const char *s, struct number *out)
{
    size_t i = 0;
    out->whole = 0;
    out->exact = true;
    while (isdigit((unsigned char)s[i])) {
        unsigned d = (unsigned)(s[i] - '0');
        if (out->whole > (UINT64_MAX - d) / 10)
            out->exact = false;
        else
            out->whole = out->whole * 10 + d;
        i++;
    }
    if (i == 0)
        return 0;
    if (s[i] == '.' && isdigit((unsigned char)s[i + 1])) {
        out->exact = false;
        i++;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    char buf[64];
    if (i >= sizeof buf) {
        out->v = HUGE_VAL; /* far too long: no unit makes it fit */
        return i;
    }
    memcpy(buf, s, i);
    buf[i] = '\0';
    out->v = strtod(buf, NULL);
    return i;
}

/* n times an integral multiplier, exactly, when both allow it. */
static int exact_product(const struct number *n, double mult, uint64_t *out)
{
    if (!n->exact || mult < 1 || mult != floor(mult) || mult > 1.8e19)
        return -1;
    uint64_t m = (uint64_t)mult;
    if (n->whole != 0 && m > UINT64_MAX / n->whole)
        return -1;
    *out = n->whole * m;
    return 0;
}

static int fail(char *err, size_t *col, size_t at, const char *msg, const char *s)
{
    if (col)
        *col = at;
    if (err)
        snprintf(err, XL_ERRLEN, "%s in '%s'", msg, s);
    return -1;
}

static int lookup(const struct unit *u, size_t n, const char *name, double *mult)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(u[i].name, name) == 0) {
            *mult = u[i].mult;
            return 0;
        }
    return -1;
}

static int to_whole(double v, uint64_t *out)
{
    double r = nearbyint(v);
    if (fabs(v - r) > 1e-6 * (r > 1 ? r : 1) || r < 0 || r >= 1.8e19)
        return -1;
    *out = (uint64_t)r;
    return 0;
}

int xl_parse_size(const char *s, uint64_t *out, size_t *col, char *err)
{
    struct number num;
    double mult;
    size_t n = parse_number(s, &num);
    if (n == 0)
        return fail(err, col, 0, "expected a size such as 4096, 64KiB or 8MiB", s);
    if (lookup(size_units, sizeof size_units / sizeof *size_units, s + n, &mult) < 0)
        return fail(err, col, n, "unknown size unit (B, KiB, MiB, GiB, KB, MB, GB)", s);
    if (exact_product(&num, mult, out) == 0)
        return 0;
    if (to_whole(num.v * mult, out) < 0)
        return fail(err, col, 0, "size is not a whole number of bytes", s);
    return 0;
}

int xl_parse_duration(const char *s, int64_t *out_ms, size_t *col, char *err)
{
    struct number num;
    double mult;
    uint64_t ms;
    if (strcmp(s, "forever") == 0) {
        *out_ms = XL_FOREVER;
        return 0;
    }
    size_t n = parse_number(s, &num);
    if (n == 0)
        return fail(err, col, 0, "expected a duration such as 250ms, 30s, 5min or forever", s);
    if (s[n] == '\0')
        return fail(err, col, n, "duration needs a unit (ms, s, min, h, d)", s);
    if (lookup(duration_units, sizeof duration_units / sizeof *duration_units, s + n, &mult) < 0)
        return fail(err, col, n, "unknown duration unit (us, ms, s, min, h, d)", s);
    if ((exact_product(&num, mult, &ms) < 0 && to_whole(num.v * mult, &ms) < 0) ||
        ms > (uint64_t)INT64_MAX / 2)
        return fail(err, col, 0, "duration is not a whole number of milliseconds", s);
    *out_ms = (int64_t)ms;
    return 0;
}

int xl_parse_rate(const char *s, uint64_t *out, size_t *col, char *err)
{
    struct number num;
    double mult;
    size_t n = parse_number(s, &num);
    if (n == 0)
        return fail(err, col, 0, "expected a rate such as 100KiB/s or 8Mbit/s", s);
    if (lookup(bit_rate_units, sizeof bit_rate_units / sizeof *bit_rate_units, s + n, &mult) == 0) {
        if (to_whole(num.v * mult, out) < 0 || *out == 0)
            return fail(err, col, 0, "rate is not a whole number of bytes per second", s);
        return 0;
    }
    const char *slash = strstr(s + n, "/s");
    if (!slash || slash[2] != '\0')
        return fail(err, col, n, "rate needs a unit ending in /s (KiB/s, Mbit/s)", s);
    char unit[16];
    size_t ulen = (size_t)(slash - (s + n));
    if (ulen >= sizeof unit)
        return fail(err, col, n, "unknown rate unit", s);
    memcpy(unit, s + n, ulen);
    unit[ulen] = '\0';
    if (lookup(size_units, sizeof size_units / sizeof *size_units, unit, &mult) < 0)
        return fail(err, col, n, "unknown rate unit (B/s, KiB/s, MiB/s, kbit/s, Mbit/s)", s);
    if ((exact_product(&num, mult, out) < 0 && to_whole(num.v * mult, out) < 0) || *out == 0)
        return fail(err, col, 0, "rate is not a whole, positive number of bytes per second", s);
    return 0;
}

int xl_parse_u64(const char *s, uint64_t *out, size_t *col, char *err)
{
    uint64_t v = 0;
    size_t i = 0;
    if (!isdigit((unsigned char)s[0]))
        return fail(err, col, 0, "expected a whole number", s);
    for (; isdigit((unsigned char)s[i]); i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return fail(err, col, 0, "number too large", s);
        v = v * 10 + d;
    }
    if (s[i] != '\0')
        return fail(err, col, i, "unexpected character after number", s);
    *out = v;
    return 0;
}

int xl_parse_prob(const char *s, double *out, size_t *col, char *err)
{
    struct number num;
    size_t n = parse_number(s, &num);
    double v = num.v;
    if (n == 0)
        return fail(err, col, 0, "expected a probability such as 0.25 or 25%", s);
    if (s[n] == '%') {
        v /= 100;
        n++;
    }
    if (s[n] != '\0')
        return fail(err, col, n, "unexpected character after probability", s);
    if (v > 1)
        return fail(err, col, 0, "probability above 1", s);
    if (v != 0 && v < 1e-12)
        return fail(err, col, 0, "probability below 1e-12 (write 0 for never)", s);
    *out = v;
    return 0;
}

void xl_format_size(uint64_t v, char *buf, size_t len)
{
    static const char *const names[] = {"", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v != 0 && v % 1024 == 0 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(buf, len, "%llu%s", (unsigned long long)v, names[i]);
}

void xl_format_duration(int64_t ms, char *buf, size_t len)
{
    if (ms == XL_FOREVER)
        snprintf(buf, len, "forever");
    else if (ms != 0 && ms % 86400000 == 0)
        snprintf(buf, len, "%lldd", (long long)(ms / 86400000));
    else if (ms != 0 && ms % 3600000 == 0)
        snprintf(buf, len, "%lldh", (long long)(ms / 3600000));
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(buf, len, "%lldmin", (long long)(ms / 60000));
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(buf, len, "%llds", (long long)(ms / 1000));
    else
        snprintf(buf, len, "%lldms", (long long)ms);
}

int xl_closest(const char *word, const char *const *cand, size_t n)
{
    int best = -1;
    size_t best_d = (size_t)-1;
    size_t wl = strlen(word);
    if (wl > 63)
        return -1;
    for (size_t c = 0; c < n; c++) {
        size_t cl = strlen(cand[c]);
        if (cl > 63)
            continue;
        size_t row[64];
        for (size_t j = 0; j <= cl; j++)
            row[j] = j;
        for (size_t i = 1; i <= wl; i++) {
            size_t diag = row[0];
            row[0] = i;
            for (size_t j = 1; j <= cl; j++) {
                size_t up = row[j];
                size_t cost =
                    tolower((unsigned char)word[i - 1]) != tolower((unsigned char)cand[c][j - 1]);
                size_t v = diag + cost;
                if (row[j] + 1 < v)
                    v = row[j] + 1;
                if (row[j - 1] + 1 < v)
                    v = row[j - 1] + 1;
                row[j] = v;
                diag = up;
            }
        }
        if (row[cl] < best_d) {
            best_d = row[cl];
            best = (int)c;
        }
    }
    /* Close: one edit for short words, two up to six letters, three beyond. */
    size_t allowed = wl <= 3 ? 1 : wl <= 6 ? 2 : 3;
    if (best >= 0 && best_d <= allowed && best_d < wl)
        return best;
    return -1;
}
