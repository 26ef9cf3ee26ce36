/*
 * xfer.h: the transfer engine's public interface.
 *
 * An engine owns jobs: ordered lists of files to download (or, later, upload)
 * that move through the nine BITS states (semantics.md §1.1–§1.2), survive the
 * process being killed (a SQLite store beside them), and report every failure
 * in three vocabularies at once: the BITS HRESULT and error context, the WinRT
 * BackgroundTransferStatus and WebErrorStatus, and the WebView2 download
 * interrupt reason. All of them come from one error table (xfer_error_*).
 *
 * Threading: none. The engine runs on the caller's libevent base; every call
 * must come from the thread that runs that base, and events are delivered
 * from inside it.
 *
 * Calls that act on a job take the caller's uid. A job belongs to the uid that
 * created it; another uid gets BG_E_NOT_FOUND, except XFER_OWNER_ANY, which the
 * service uses for root when root asks for everyone's jobs.
 *
 * Results are HRESULTs (xfer_hr): 0 (S_OK) or a positive success code such as
 * BG_S_PARTIAL_COMPLETE, or a negative failure code. xfer_error_find() says
 * what any of them means.
 */
#ifndef XFER_XFER_H
#define XFER_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct xl_clock;

typedef int32_t xfer_hr;
#define XFER_S_OK       ((xfer_hr)0)
#define XFER_FAILED(hr) ((hr) < 0)

#define XFER_SIZE_UNKNOWN  UINT64_MAX
#define XFER_LENGTH_TO_EOF UINT64_MAX
#define XFER_OWNER_ANY     ((uid_t)-1)

/* BG_JOB_STATE, same numbers. */
enum xfer_state {
    XFER_QUEUED = 0,
    XFER_CONNECTING = 1,
    XFER_TRANSFERRING = 2,
    XFER_SUSPENDED = 3,
    XFER_ERROR = 4,
    XFER_TRANSIENT_ERROR = 5,
    XFER_TRANSFERRED = 6,
    XFER_ACKNOWLEDGED = 7,
    XFER_CANCELLED = 8
};
#define XFER_STATE_COUNT 9

/* BG_JOB_TYPE, same numbers. */
enum xfer_job_type { XFER_DOWNLOAD = 0, XFER_UPLOAD = 1, XFER_UPLOAD_REPLY = 2 };

/* BG_JOB_PRIORITY, same numbers. */
enum xfer_priority { XFER_FOREGROUND = 0, XFER_HIGH = 1, XFER_NORMAL = 2, XFER_LOW = 3 };

/* BG_ERROR_CONTEXT, same numbers. */
enum xfer_context {
    XFER_CTX_NONE = 0,
    XFER_CTX_UNKNOWN = 1,
    XFER_CTX_GENERAL_QUEUE_MANAGER = 2,
    XFER_CTX_QUEUE_MANAGER_NOTIFICATION = 3,
    XFER_CTX_LOCAL_FILE = 4,
    XFER_CTX_REMOTE_FILE = 5,
    XFER_CTX_GENERAL_TRANSPORT = 6,
    XFER_CTX_REMOTE_APPLICATION = 7,
    XFER_CTX_SERVER_CERTIFICATE_CALLBACK = 8
};

/* Windows.Networking.BackgroundTransfer.BackgroundTransferStatus, same numbers. */
enum xfer_winrt_status {
    XFER_WINRT_IDLE = 0,
    XFER_WINRT_RUNNING = 1,
    XFER_WINRT_PAUSED_BY_APPLICATION = 2,
    XFER_WINRT_PAUSED_COSTED_NETWORK = 3,
    XFER_WINRT_PAUSED_NO_NETWORK = 4,
    XFER_WINRT_COMPLETED = 5,
    XFER_WINRT_CANCELED = 6,
    XFER_WINRT_ERROR = 7,
    XFER_WINRT_PAUSED_RECOVERABLE_WEB_ERROR_STATUS = 8,
    XFER_WINRT_PAUSED_SYSTEM_POLICY = 32
};

/* ------------------------------------------------------------------ errors */

/*
 * One row of the error table (src/engine/errors.def). Every failure the
 * engine can meet maps to exactly one row.
 */
struct xfer_error_row {
    const char *name;          /* "BG_E_NETWORK_DISCONNECTED", "E_INVALIDARG", ... */
    xfer_hr hr;                /* its HRESULT */
    const char *message;       /* what a user reads */
    enum xfer_context context; /* the error context it is reported with */
    bool transient;            /* TRANSIENT_ERROR (retried) rather than ERROR */
    int winrt_status;          /* enum xfer_winrt_status of a job stopped by it */
    int web_error_status;      /* Windows.Web.WebErrorStatus (0 Unknown, or an HTTP status) */
    int interrupt_reason;      /* CoreWebView2DownloadInterruptReason 0..29 */
    const char *web_error_name;
    const char *interrupt_name;
};

/* The row for hr, or NULL. */
const struct xfer_error_row *xfer_error_find(xfer_hr hr);
/* The row named name (case-insensitive), or NULL. */
const struct xfer_error_row *xfer_error_by_name(const char *name);
/*
 * The rows a user's words name: a symbolic name ("BG_E_NETWORK_DISCONNECTED"),
 * an HRESULT in hex or decimal ("0x80200010"), or a WebView2 interrupt reason
 * ("NetworkDisconnected": every row that produces it). Fills up to max rows
 * and returns how many match.
 */
size_t xfer_error_query(const char *q, const struct xfer_error_row **out, size_t max);
/* The whole table, *n rows. */
const struct xfer_error_row *xfer_error_table(size_t *n);
/* The name of a WebView2 interrupt reason 0..29 ("NetworkDisconnected"), or NULL. */
const char *xfer_interrupt_name(int reason);
/* The name of a BackgroundTransferStatus ("PausedNoNetwork"), or NULL. */
const char *xfer_winrt_status_name(int status);
/* The name of a WebErrorStatus ("Disconnected", "NotFound"), or NULL. */
const char *xfer_web_error_name(int status);

/* ------------------------------------------------------------------ names */

typedef struct {
    unsigned char b[16];
} xfer_guid;

#define XFER_GUID_LEN 39 /* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" + NUL */
void xfer_guid_format(const xfer_guid *g, char out[XFER_GUID_LEN]);
/* Accepts the braced and the bare form. */
bool xfer_guid_parse(const char *s, xfer_guid *g);

/* "QUEUED", ... ; bitsadmin's spelling ("Transient_Error") with xfer_state_title. */
const char *xfer_state_name(enum xfer_state s);
const char *xfer_state_title(enum xfer_state s);
bool xfer_state_parse(const char *s, enum xfer_state *out);
const char *xfer_priority_name(enum xfer_priority p);
const char *xfer_job_type_name(enum xfer_job_type t);
const char *xfer_context_name(enum xfer_context c);

/* ------------------------------------------------------------------ platform */

/*
 * What the platform says about the network and the battery. The engine's
 * policy (src/engine/policy.c) decides from it, per job, whether the job may
 * transfer (semantics.md §1.7, §2.2; decisions.md).
 */
enum xfer_connectivity { XFER_NET_NONE = 0, XFER_NET_LOCAL = 1, XFER_NET_INTERNET = 2 };
enum xfer_net_cost { XFER_COST_UNRESTRICTED = 0, XFER_COST_FIXED = 1, XFER_COST_VARIABLE = 2 };

/* BITS_COST_STATE_* flags: the cost states a job's cost policy allows. */
#define XFER_COST_STATE_UNRESTRICTED         0x00000001u
#define XFER_COST_STATE_CAPPED_USAGE_UNKNOWN 0x00000002u
#define XFER_COST_STATE_BELOW_CAP            0x00000004u
#define XFER_COST_STATE_NEAR_CAP             0x00000008u
#define XFER_COST_STATE_OVERCAP_CHARGED      0x00000010u
#define XFER_COST_STATE_OVERCAP_THROTTLED    0x00000020u
#define XFER_COST_STATE_USAGE_BASED          0x00000040u
#define XFER_COST_STATE_ROAMING              0x00000080u

struct xfer_platform {
    enum xfer_connectivity connectivity;
    enum xfer_net_cost cost;
    bool roaming;
    bool limit_known;           /* the plan's data limit is known */
    bool over_limit;            /* usage is over the limit */
    bool near_limit;            /* usage is on track to exceed the limit */
    bool overage_throttled;     /* beyond the limit the plan throttles (else charges) */
    bool background_restricted; /* the user restricts background data */
    bool battery_saver;         /* battery saver is on */
    bool charging;
};

/* The BITS cost state (one XFER_COST_STATE_* flag) of a platform's network. */
uint32_t xfer_cost_state(const struct xfer_platform *p);

/*
 * A platform provider tells the engine about the platform. start() begins
 * watching and calls changed() (on the engine's loop) with the state now and
 * at every change; stop() ends it. The engine owns neither self nor base.
 * xfer_platform_sim() is the provider the harness drives; one reading
 * NetworkManager and UPower over D-Bus fits the same shape.
 */
struct xfer_platform_provider {
    const char *name;
    int (*start)(void *self, struct event_base *base,
                 void (*changed)(void *arg, const struct xfer_platform *p), void *arg);
    void (*stop)(void *self);
    void *self;
};

/* The simulation provider: the state is whatever xfer_platform_sim_push() last said. */
struct xfer_platform_sim;
/* A new simulation provider, connected to the internet on an unrestricted network. Caller frees. */
struct xfer_platform_sim *xfer_platform_sim_new(void);
void xfer_platform_sim_free(struct xfer_platform_sim *s);
struct xfer_platform_provider xfer_platform_sim_provider(struct xfer_platform_sim *s);
/* Tell the engine (if started) about a new state; it re-evaluates every job at once. */
void xfer_platform_sim_push(struct xfer_platform_sim *s, const struct xfer_platform *p);

/* ------------------------------------------------------------------ engine */

enum xfer_event_type {
    XFER_EV_STATE,            /* a state change (the history's newest row) */
    XFER_EV_PROGRESS,         /* bytes of a file moved (at most every 100 ms per file) */
    XFER_EV_FILE_TRANSFERRED, /* a file is complete */
    XFER_EV_RESTART           /* a file started over from byte 0; cause_hr says why */
};

struct xfer_event {
    enum xfer_event_type type;
    xfer_guid job;
    uid_t owner;
    int64_t time_ms; /* engine time */
    /* XFER_EV_STATE */
    enum xfer_state old_state, new_state;
    xfer_hr cause_hr;  /* the error that caused it (or the restart), or 0 */
    const char *cause; /* "resume", "connected", "retry-delay", ... */
    /* XFER_EV_PROGRESS and XFER_EV_FILE_TRANSFERRED */
    int file;       /* index in the job, -1 for the job as a whole */
    uint64_t bytes; /* of the file */
    uint64_t total; /* of the file, XFER_SIZE_UNKNOWN */
    bool has_restarted;
};

typedef void (*xfer_event_fn)(void *arg, const struct xfer_event *ev);

struct xfer_config {
    struct event_base *base;      /* borrowed; the engine runs on it */
    const char *store_path;       /* the SQLite job store; created if missing */
    const struct xl_clock *clock; /* borrowed; NULL = the monotonic clock */
    const char *ca_file;          /* PEM bundle for HTTPS; NULL = the system's */
    const char *link_proxy;       /* every connection through it ("socks5h://..."), or NULL */
    xfer_event_fn on_event;
    void *event_arg;
    /* Limits; 0 = the default of decisions.md. */
    unsigned max_transfers;       /* 100 */
    unsigned max_jobs_per_owner;  /* 200 */
    unsigned max_jobs;            /* 300 */
    unsigned max_files_per_job;   /* 200 */
    unsigned max_ranges_per_file; /* 500 */
    int64_t slice_ms;             /* round-robin slice among background jobs: 60 s */
    int64_t checkpoint_ms;        /* checkpoint at least this often while moving: 1 s */
    uint64_t checkpoint_bytes;    /* and at least every so many bytes: 16 MiB */
    bool no_checkpoints;          /* benchmarks only: never checkpoint mid-file */
    bool full_verify;             /* hash whole partial files, not samples (slower) */
    const struct xfer_platform_provider *platform; /* NULL: always online, unrestricted */
};

struct xfer_engine;

/*
 * Open the store and start the engine on cfg->base. Jobs that were moving
 * when the store was last written go back to QUEUED. On failure returns a
 * negative HRESULT with a message in err (a corrupt or newer store is refused,
 * never rewritten). The caller owns *out and frees it with xfer_engine_close.
 */
xfer_hr xfer_engine_open(const struct xfer_config *cfg, struct xfer_engine **out, char *err,
                         size_t errlen);
/* Stop every transfer (checkpointing it), close the store, free the engine. */
void xfer_engine_close(struct xfer_engine *e);

/* Engine time in ms (continues across restarts on the same store). */
int64_t xfer_engine_now(const struct xfer_engine *e);
/* What was wrong with the last call that failed (names the argument and the reason). */
const char *xfer_last_error(const struct xfer_engine *e);
/* Number of transfers with an open connection. */
unsigned xfer_engine_in_flight(const struct xfer_engine *e);
/*
 * Of those, how many are still connecting (no connection yet, through any
 * proxy). A harness compares it with the connections it sees waiting: a
 * request xferd has started but no proxy has seen yet is about to move.
 */
unsigned xfer_engine_connecting(const struct xfer_engine *e);
/* Engine time of the next timer due, or INT64_MAX (the harness jumps the clock to it). */
int64_t xfer_engine_next_due(const struct xfer_engine *e);
/* The platform state the engine works with now. */
void xfer_engine_platform(const struct xfer_engine *e, struct xfer_platform *out);
/* The clock jumped: fire what is due now. */
void xfer_engine_clock_jumped(struct xfer_engine *e);

/* ------------------------------------------------------------------ jobs */

xfer_hr xfer_job_create(struct xfer_engine *e, uid_t owner, enum xfer_job_type type,
                        const char *display_name, xfer_guid *out);
xfer_hr xfer_job_add_file(struct xfer_engine *e, uid_t owner, const xfer_guid *job,
                          const char *remote_url, const char *local_path);

struct xfer_range {
    uint64_t offset;
    uint64_t length; /* XFER_LENGTH_TO_EOF: to the end of the remote file */
};
xfer_hr xfer_job_add_file_ranges(struct xfer_engine *e, uid_t owner, const xfer_guid *job,
                                 const char *remote_url, const char *local_path,
                                 const struct xfer_range *ranges, size_t n);
xfer_hr xfer_job_resume(struct xfer_engine *e, uid_t owner, const xfer_guid *job);
xfer_hr xfer_job_suspend(struct xfer_engine *e, uid_t owner, const xfer_guid *job);
xfer_hr xfer_job_cancel(struct xfer_engine *e, uid_t owner, const xfer_guid *job);
/* S_OK, or BG_S_PARTIAL_COMPLETE when some files were not finished. */
xfer_hr xfer_job_complete(struct xfer_engine *e, uid_t owner, const xfer_guid *job);

/*
 * Properties, by name (the table in src/engine/props.c): priority,
 * no_progress_timeout, min_retry_delay, max_download_time, cost_policy,
 * headers, server_credentials, proxy_credentials, proxy, dynamic_content,
 * display_name, description, notify_flags, notify_cmdline. Values are text
 * ("FOREGROUND", "600", "UnrestrictedOnly", "0x80000067", "basic alice:pw").
 * Bad values give E_INVALIDARG with the reason in err.
 */
xfer_hr xfer_job_set(struct xfer_engine *e, uid_t owner, const xfer_guid *job, const char *prop,
                     const char *value, char *err, size_t errlen);
xfer_hr xfer_job_get(struct xfer_engine *e, uid_t owner, const xfer_guid *job, const char *prop,
                     char *buf, size_t len);
/* The names of all properties, NULL-terminated. */
const char *const *xfer_job_props(void);

struct xfer_file_info {
    char *remote_url; /* inside the info allocation */
    char *local_path;
    char *temp_path;
    uint64_t bytes_total; /* XFER_SIZE_UNKNOWN before the size is known */
    uint64_t bytes_done;
    bool completed;
    bool has_restarted;
    bool has_response_changed;
    size_t nranges;
};

struct xfer_error_info {
    xfer_hr hr; /* 0 when the job has no error */
    enum xfer_context context;
    int file; /* failing file index, -1 for none */
    char description[512];
    const struct xfer_error_row *row; /* NULL when hr is 0 */
};

struct xfer_job_info {
    xfer_guid guid;
    enum xfer_job_type type;
    enum xfer_state state;
    enum xfer_priority priority;
    uid_t owner;
    char display_name[256];
    char description[1024];
    int64_t created_ms, modified_ms, transferred_ms; /* wall clock, Unix ms; 0 = never */
    uint32_t cost_flags;
    int64_t no_progress_timeout_s, min_retry_delay_s, max_download_time_s;
    bool dynamic_content;
    uint32_t notify_flags;
    size_t files_total, files_done;
    uint64_t bytes_total; /* XFER_SIZE_UNKNOWN until every size is known */
    uint64_t bytes_done;
    unsigned error_count;
    struct xfer_error_info error;
    int winrt_status; /* enum xfer_winrt_status */
    size_t nfiles;
    struct xfer_file_info *files; /* inside the same allocation */
};
/* A snapshot; the caller frees *out with free(). */
xfer_hr xfer_job_info(struct xfer_engine *e, uid_t owner, const xfer_guid *job,
                      struct xfer_job_info **out);

/* The jobs owner may see (XFER_OWNER_ANY: everyone's), oldest first. Caller frees *out. */
xfer_hr xfer_job_enum(struct xfer_engine *e, uid_t owner, xfer_guid **out, size_t *n);

struct xfer_transition {
    int64_t time_ms; /* engine time */
    enum xfer_state old_state, new_state;
    xfer_hr hr;     /* the error that caused it, 0 for none */
    char cause[32]; /* "resume", "connected", "network-lost", ... */
};
/* Every state change of the job, in order. Caller frees *out. */
xfer_hr xfer_job_history(struct xfer_engine *e, uid_t owner, const xfer_guid *job,
                         struct xfer_transition **out, size_t *n);

#endif
