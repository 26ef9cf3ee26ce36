/*
 * control: the JSON control API of `xferlab serve`, in the spirit of toxiproxy's.
 *
 *   GET    /rules            every rule: name, text, action, seen, fired
 *   POST   /rules            {"rule": "close after=1MiB"} or {"rules": [...]}; all or nothing
 *   DELETE /rules/NAME       remove one rule;  DELETE /rules  removes all
 *   GET    /journal?since=ID the journal entries after ID
 *   DELETE /journal          forget the journal
 *   GET    /files            the generated entities
 *   POST   /files            {"path": "/x.bin", "size": "8MiB", "seed": 7}
 *   GET    /actions          the fault table: names, keys, help, examples
 *
 * Errors are {"error": "...", "col": N} with 400 (bad input), 404 or 405.
 * The API runs on its own libmicrohttpd thread; everything it touches is
 * locked by its owner (rule set, content, journal).
 */
#ifndef FLT_CONTROL_H
#define FLT_CONTROL_H

#include <stdint.h>

#include "clock.h"
#include "content.h"
#include "journal.h"
#include "rule.h"

struct flt_control;

/* Start on addr:port (NULL: 127.0.0.1; 0: free port). Caller owns; flt_control_free(). */
struct flt_control *flt_control_new(const char *addr, uint16_t port, struct flt_rules *rules,
                                    struct flt_content *content, struct flt_journal *journal,
                                    const struct xl_clock *clock, char *err);
uint16_t flt_control_port(const struct flt_control *c);
void flt_control_free(struct flt_control *c);
/* The action table as JSON (also used by --help --json). Caller owns the reference. */
json_t *flt_actions_json(void);
/* Every rule as JSON. Caller owns the reference. */
json_t *flt_rules_json(struct flt_rules *rules);

#endif
