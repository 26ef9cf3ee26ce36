/*
 * monitor: a live view of the caller's jobs (bitsadmin /monitor). It
 * subscribes to xferd's events (state, progress, file, restart), and:
 *
 *   on a terminal   redraws a table in place (job.list, one line per job
 *                   with a progress bar) on every event, at most 5 times a
 *                   second, and at least every --refresh seconds;
 *   otherwise       prints one plain line per event (time, job, what
 *                   happened), after one line per job at the start;
 *   with --json     prints each event's params as one JSON line.
 *
 * Ctrl-C (or SIGTERM) ends it with exit 0; losing xferd with exit 1.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define BAR_WIDTH    20
#define NAME_WIDTH   26
#define MIN_DRAW_MS  200
#define PROGRESS_TTY 250
#define PROGRESS_OUT 1000

struct mon {
    struct ctl *c;
    bool all_users;
    bool tty;
    int64_t refresh_ms;
    json_t *jobs; /* the last job.list */
};

static int fetch(struct mon *m)
{
    json_t *list = NULL;
    int rc = ctl_call(m->c, "job.list", json_pack("{s:b}", "all_users", m->all_users), &list);
    if (rc != CTL_OK)
        return rc;
    json_decref(m->jobs);
    m->jobs = list;
    return CTL_OK;
}

static void draw(struct mon *m)
{
    char stamp[32], line[512];
    ctl_live_stamp(stamp, sizeof stamp);
    /* Home, clear the screen, draw: the table replaces itself. */
    printf("\033[H\033[2J");
    printf("MONITORING BACKGROUND COPY MANAGER (%lld second refresh)\n",
           (long long)(m->refresh_ms / 1000));
    printf("%s  %zu job(s)%s  Ctrl-C quits\n\n", stamp, json_array_size(m->jobs),
           m->all_users ? " of all users" : "");
    size_t i;
    json_t *job;
    int width = 0; /* the names line up, up to NAME_WIDTH */
    json_array_foreach(m->jobs, i, job)
    {
        int w = (int)strlen(show_str(job, "name")) + 2;
        width = w > width ? (w > NAME_WIDTH ? NAME_WIDTH : w) : width;
    }
    json_array_foreach(m->jobs, i, job)
    {
        show_progress_line(job, width, BAR_WIDTH, line, sizeof line);
        printf("%s  %s / %s files\n", line, show_str(job, "files_done"),
               show_str(job, "files_total"));
    }
    fflush(stdout);
}

static const json_t *find_job(struct mon *m, const char *guid)
{
    size_t i;
    json_t *job;
    json_array_foreach(m->jobs, i, job)
    {
        const char *g = json_string_value(json_object_get(job, "job"));
        if (g && guid && strcmp(g, guid) == 0)
            return job;
    }
    return NULL;
}

/* One plain line for an event. */
static void print_event(struct mon *m, const json_t *ev)
{
    const char *guid = json_string_value(json_object_get(ev, "job"));
    const char *type = show_str(ev, "type");
    if (guid && !find_job(m, guid))
        fetch(m); /* a job created since: learn its name */
    const json_t *job = find_job(m, guid);
    char stamp[32];
    ctl_live_stamp(stamp, sizeof stamp);
    printf("%s %s '%s' ", stamp, guid ? guid : "-", job ? show_str(job, "name") : "?");
    if (strcmp(type, "state") == 0) {
        const char *hr_name = json_string_value(json_object_get(ev, "hr_name"));
        printf("state %s -> %s", show_str(ev, "old"), show_str(ev, "new"));
        if (hr_name && hr_name[0] && strcmp(hr_name, "S_OK") != 0)
            printf(" %s", hr_name);
        printf(" (%s)\n", show_str(ev, "cause"));
    } else if (strcmp(type, "progress") == 0) {
        char total[32];
        show_size(ev, "total", total, sizeof total);
        uint64_t b = show_u64(ev, "bytes"), t = show_u64(ev, "total");
        printf("progress file %s: %s / %s", show_str(ev, "file"), show_str(ev, "bytes"), total);
        if (json_is_integer(json_object_get(ev, "total")) && t)
            printf(" (%u%%)", (unsigned)(b >= t ? 100 : b * 100 / t));
        putchar('\n');
    } else if (strcmp(type, "file") == 0) {
        printf("file %s transferred: %s bytes\n", show_str(ev, "file"), show_str(ev, "bytes"));
    } else if (strcmp(type, "restart") == 0) {
        printf("file %s restarted from byte 0: %s\n", show_str(ev, "file"),
               show_str(ev, "hr_name"));
    } else {
        printf("%s\n", type);
    }
    fflush(stdout);
}

int ctl_cmd_monitor(struct ctl *c, int argc, char **argv)
{
    struct ctl_args a;
    int rc;
    if (!ctl_parse(c, argc, argv, &a, &rc))
        return rc;
    struct mon m = {.c = c, .refresh_ms = 5000};
    m.all_users = ctl_flag(c, &a, "--all-users") != NULL;
    m.tty = !c->json && isatty(STDOUT_FILENO);
    const char *refresh = ctl_flag(c, &a, "--refresh");
    if (refresh) {
        uint64_t sec;
        if (!ctl_number(c, "--refresh", refresh, &sec))
            return CTL_USAGE;
        if (sec == 0 || sec > 86400)
            return ctl_misuse(c, "--refresh: %s is not from 1 to 86400 seconds", refresh);
        m.refresh_ms = (int64_t)sec * 1000;
    }
    ctl_live_catch();
    json_t *res = NULL;
    json_t *params =
        json_pack("{s:[s,s,s,s], s:i, s:b}", "types", "state", "progress", "file", "restart",
                  "progress_ms", m.tty ? PROGRESS_TTY : PROGRESS_OUT, "all_users", m.all_users);
    rc = ctl_call(c, "events.subscribe", params, &res);
    json_decref(res);
    if (rc != CTL_OK || (rc = fetch(&m)) != CTL_OK)
        goto done;

    if (m.tty) {
        printf("\033[?25l"); /* hide the cursor while redrawing */
        draw(&m);
    } else if (!c->json) {
        size_t i;
        json_t *job;
        json_array_foreach(m.jobs, i, job)
        {
            char stamp[32];
            ctl_live_stamp(stamp, sizeof stamp);
            printf("%s ", stamp);
            show_list_line(stdout, job);
        }
        fflush(stdout);
    }
    int64_t last_draw = ctl_live_now_ms();
    bool dirty = false;
    while (!ctl_live_stopped()) {
        int64_t now = ctl_live_now_ms();
        int64_t due = !m.tty  ? now + 1000
                      : dirty ? last_draw + MIN_DRAW_MS
                              : last_draw + m.refresh_ms;
        bool closed;
        json_t *ev = ctl_live_next(c, due > now ? (int)(due - now) : 0, &closed);
        if (closed) {
            rc = CTL_FAIL;
            break;
        }
        if (ev && c->json) {
            char *s = json_dumps(ev, JSON_COMPACT);
            if (s)
                puts(s);
            free(s);
            fflush(stdout);
        } else if (ev && !m.tty) {
            print_event(&m, ev);
        }
        dirty = dirty || ev;
        json_decref(ev);
        now = ctl_live_now_ms();
        if (m.tty &&
            ((dirty && now - last_draw >= MIN_DRAW_MS) || now - last_draw >= m.refresh_ms)) {
            if ((rc = fetch(&m)) != CTL_OK)
                break;
            draw(&m);
            last_draw = now;
            dirty = false;
        }
    }
    if (m.tty)
        printf("\033[?25h\n");
done:
    json_decref(m.jobs);
    return rc;
}
