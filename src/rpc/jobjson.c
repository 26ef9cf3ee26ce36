/*
 * jobjson: engine records to protocol JSON (see jobjson.h). Every name is
 * read from the engine's tables.
 */
#include "jobjson.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void rpc_hr_hex(xfer_hr hr, char buf[16])
{
    snprintf(buf, 16, "0x%08X", (unsigned)hr);
}

const char *rpc_hr_name(xfer_hr hr)
{
    const struct xfer_error_row *r = xfer_error_find(hr);
    return r ? r->name : NULL;
}

void rpc_put_hr(json_t *obj, xfer_hr hr)
{
    char hex[16];
    const char *name = rpc_hr_name(hr);
    rpc_hr_hex(hr, hex);
    json_object_set_new(obj, "hr", json_string(hex));
    json_object_set_new(obj, "hr_name", name ? json_string(name) : json_null());
}

static json_t *size_json(uint64_t v)
{
    return v == XFER_SIZE_UNKNOWN ? json_null() : json_integer((json_int_t)v);
}

static const char *lower_name(const char *name, char *buf, size_t len)
{
    size_t i;
    for (i = 0; name[i] && i + 1 < len; i++)
        buf[i] = (char)tolower((unsigned char)name[i]);
    buf[i] = '\0';
    return buf;
}

const char *rpc_job_type_name(enum xfer_job_type t)
{
    /* Lower-cased once from the engine's names. */
    static char names[3][16];
    int i = (int)t;
    if (i < 0 || i > 2)
        return "?";
    if (!names[i][0])
        lower_name(xfer_job_type_name(t), names[i], sizeof names[i]);
    return names[i];
}

bool rpc_job_type_parse(const char *s, enum xfer_job_type *out)
{
    static const enum xfer_job_type all[] = {XFER_DOWNLOAD, XFER_UPLOAD, XFER_UPLOAD_REPLY};
    size_t i;
    for (i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (s && strcasecmp(s, xfer_job_type_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

static json_t *job_error_json(const struct xfer_error_info *e)
{
    json_t *o;
    const char *ws;
    if (e->hr == 0)
        return json_null();
    o = json_object();
    rpc_put_hr(o, e->hr);
    json_object_set_new(o, "context", json_string(xfer_context_name(e->context)));
    json_object_set_new(o, "file", json_integer(e->file));
    json_object_set_new(o, "description", json_string(e->description));
    if (e->row) {
        ws = xfer_winrt_status_name(e->row->winrt_status);
        json_object_set_new(o, "message", json_string(e->row->message));
        json_object_set_new(o, "transient", json_boolean(e->row->transient));
        json_object_set_new(o, "winrt_status", ws ? json_string(ws) : json_null());
        json_object_set_new(o, "web_error_status", json_string(e->row->web_error_name));
        json_object_set_new(o, "interrupt_reason", json_string(e->row->interrupt_name));
    } else {
        json_object_set_new(o, "message", json_null());
        json_object_set_new(o, "transient", json_false());
        json_object_set_new(o, "winrt_status", json_null());
        json_object_set_new(o, "web_error_status", json_null());
        json_object_set_new(o, "interrupt_reason", json_null());
    }
    return o;
}

static json_t *file_json(const struct xfer_file_info *f)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:I, s:b, s:b, s:b, s:I}", "url", f->remote_url, "path",
                     f->local_path, "temp_path", f->temp_path ? f->temp_path : "", "bytes_total",
                     size_json(f->bytes_total), "bytes_done", (json_int_t)f->bytes_done,
                     "completed", f->completed, "has_restarted", f->has_restarted,
                     "has_response_changed", f->has_response_changed, "ranges",
                     (json_int_t)f->nranges);
}

json_t *rpc_job_json(const struct xfer_job_info *info, const char *notify_cmdline, bool with_files)
{
    char guid[XFER_GUID_LEN], cost[16];
    const char *ws = xfer_winrt_status_name(info->winrt_status);
    json_t *o;

    xfer_guid_format(&info->guid, guid);
    snprintf(cost, sizeof cost, "0x%08X", (unsigned)info->cost_flags);
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I}",
                  "job", guid, "name", info->display_name, "description", info->description, "type",
                  rpc_job_type_name(info->type), "state", xfer_state_name(info->state), "owner",
                  (json_int_t)info->owner, "priority", xfer_priority_name(info->priority),
                  "created_unix_ms", (json_int_t)info->created_ms, "modified_unix_ms",
                  (json_int_t)info->modified_ms, "transferred_unix_ms",
                  (json_int_t)info->transferred_ms, "bytes_total", size_json(info->bytes_total),
                  "bytes_done", (json_int_t)info->bytes_done, "files_total",
                  (json_int_t)info->files_total, "files_done", (json_int_t)info->files_done,
                  "error_count", (json_int_t)info->error_count);
    if (!o)
        return NULL;
    json_object_set_new(o, "no_progress_timeout_s", json_integer(info->no_progress_timeout_s));
    json_object_set_new(o, "min_retry_delay_s", json_integer(info->min_retry_delay_s));
    json_object_set_new(o, "max_download_time_s", json_integer(info->max_download_time_s));
    json_object_set_new(o, "cost_flags", json_string(cost));
    json_object_set_new(o, "dynamic_content", json_boolean(info->dynamic_content));
    json_object_set_new(o, "notify_flags", json_integer((json_int_t)info->notify_flags));
    json_object_set_new(o, "notify_cmdline", json_string(notify_cmdline ? notify_cmdline : ""));
    json_object_set_new(o, "winrt_status", ws ? json_string(ws) : json_null());
    json_object_set_new(o, "error", job_error_json(&info->error));
    if (with_files) {
        json_t *files = json_array();
        size_t i;
        for (i = 0; i < info->nfiles; i++)
            json_array_append_new(files, file_json(&info->files[i]));
        json_object_set_new(o, "files", files);
    }
    return o;
}

json_t *rpc_transition_json(const struct xfer_transition *t)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "time_ms", (json_int_t)t->time_ms, "old",
                          xfer_state_name(t->old_state), "new", xfer_state_name(t->new_state),
                          "cause", t->cause);
    if (o)
        rpc_put_hr(o, t->hr);
    return o;
}

const char *rpc_event_type_name(enum xfer_event_type t)
{
    switch (t) {
    case XFER_EV_STATE:
        return "state";
    case XFER_EV_PROGRESS:
        return "progress";
    case XFER_EV_FILE_TRANSFERRED:
        return "file";
    case XFER_EV_RESTART:
        return "restart";
    }
    return "?";
}

json_t *rpc_event_json(const struct xfer_event *ev)
{
    char guid[XFER_GUID_LEN];
    json_t *o;
    xfer_guid_format(&ev->job, guid);
    o = json_pack("{s:s, s:s, s:I}", "type", rpc_event_type_name(ev->type), "job", guid, "time_ms",
                  (json_int_t)ev->time_ms);
    if (!o)
        return NULL;
    switch (ev->type) {
    case XFER_EV_STATE:
        json_object_set_new(o, "owner", json_integer((json_int_t)ev->owner));
        json_object_set_new(o, "old", json_string(xfer_state_name(ev->old_state)));
        json_object_set_new(o, "new", json_string(xfer_state_name(ev->new_state)));
        rpc_put_hr(o, ev->cause_hr);
        json_object_set_new(o, "cause", json_string(ev->cause ? ev->cause : ""));
        break;
    case XFER_EV_PROGRESS:
        json_object_set_new(o, "file", json_integer(ev->file));
        json_object_set_new(o, "bytes", json_integer((json_int_t)ev->bytes));
        json_object_set_new(o, "total", size_json(ev->total));
        break;
    case XFER_EV_FILE_TRANSFERRED:
        json_object_set_new(o, "file", json_integer(ev->file));
        json_object_set_new(o, "bytes", json_integer((json_int_t)ev->bytes));
        break;
    case XFER_EV_RESTART:
        json_object_set_new(o, "file", json_integer(ev->file));
        rpc_put_hr(o, ev->cause_hr);
        break;
    }
    return o;
}

json_t *rpc_engine_error(xfer_hr hr, const char *reason)
{
    const struct xfer_error_row *r = xfer_error_find(hr);
    char hex[16];
    json_t *data;
    rpc_hr_hex(hr, hex);
    data = json_pack("{s:s, s:s, s:s, s:s}", "name", r ? r->name : hex, "hr", hex, "context",
                     xfer_context_name(r ? r->context : XFER_CTX_UNKNOWN), "reason",
                     reason ? reason : "");
    return rpc_error_object((int)hr, r ? r->message : "engine error", data);
}
