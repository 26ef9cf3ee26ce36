/*
 * ftp: the fault-injecting FTP server (downloads only), on libevent.
 *
 * This module owns the FTP sessions: each accepted control connection, its
 * passive data listener and data connection, the transfer in progress and the
 * journal entry of the command being answered. It borrows everything else:
 * the event loop, the rule set (asked for a plan per command), the content
 * (what RETR, SIZE, MDTM, LIST and NLST see), the journal and the clock.
 *
 * Data flow, per command:
 *
 *     control line -> flt_ftp_parse() -> flt_rules_plan(FTP, verb, path, conn)
 *       -> journal entry -> reply (or the plan's override, or silence)
 *       -> RETR/LIST/NLST: bytes from flt_entity_read() or the listing, through
 *          the plan's byte events, throttle, dribble and corruption, onto the
 *          data connection; then 226 or 426 on the control connection.
 *
 * The greeting is planned as the command "CONNECT". Every command, including
 * unparseable lines (method "?"), gets a journal entry; the PASS argument is
 * journaled as sent (test credentials only). Choices where RFC 959 leaves
 * room are documented at the top of ftp.c (REST beyond the end: 554).
 *
 * Threading: everything runs on the loop thread. flt_ftp_new() and
 * flt_ftp_free() must be called while the loop is not running callbacks of
 * this server (before the loop starts / after it stopped).
 */
#ifndef FLT_FTP_H
#define FLT_FTP_H

#include <event2/event.h>
#include <stdint.h>

#include "clock.h"
#include "content.h"
#include "journal.h"
#include "rule.h"

struct flt_ftp_config {
    const char *addr;        /* NULL: 127.0.0.1 */
    uint16_t port;           /* 0: a free port */
    const char *user;        /* NULL: any user name (anonymous too) */
    const char *pass;        /* NULL: any password */
    unsigned idle_timeout_s; /* 0: 60 s of clock time without a command -> 421 and close */
};

struct flt_ftp;

/*
 * Listen on cfg->addr:cfg->port and serve content. The strings of cfg are
 * copied. rules, content, journal and clock (NULL: real time) are borrowed and
 * must outlive the server. The caller owns the result and releases it with
 * flt_ftp_free(). Returns NULL with err (XL_ERRLEN) on failure.
 */
struct flt_ftp *flt_ftp_new(struct event_base *base, const struct flt_ftp_config *cfg,
                            struct flt_rules *rules, struct flt_content *content,
                            struct flt_journal *journal, const struct xl_clock *clock, char *err);
/* The port the control connection listens on. */
uint16_t flt_ftp_port(const struct flt_ftp *s);
/* Sessions currently open (for tests: everything is freed when a client leaves). */
size_t flt_ftp_sessions(const struct flt_ftp *s);
/*
 * Close every connection (open journal entries end as ERROR, or STALLED when
 * the server was stalling them) and free everything. NULL is a no-op.
 */
void flt_ftp_free(struct flt_ftp *s);

#endif
