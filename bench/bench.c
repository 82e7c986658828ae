/*  bench.c - secpol-bench: throughput and latency of a running secpold.
 *
 *  Starts nothing itself: it connects to --endpoint, prepares its data (the
 *  policies the read scenarios look at, the workspaces the write scenarios
 *  change), then runs each scenario for --seconds with --clients threads,
 *  each with its own secpol_client_t and --depth calls in flight on it
 *  (secpol_client_send/recv). Every call's latency is measured from its send
 *  to the recv of its reply, matched by call_id.
 *
 *  Health/Check is the baseline: the runtime's own round trip (front end,
 *  READ lane, reply) with no store work. Every other scenario is reported
 *  as ratios against it, measured in the same run, so that numbers from
 *  different machines and days stay comparable.
 *
 *  Every reply is checked: its status must be OK and its content what the
 *  prepared data implies. Any error makes the exit status 1, because a
 *  benchmark that silently measures errors measures nothing.
 *
 *  With --echo-endpoint the scenarios of s_echo_ratios (health, get_policy)
 *  also run, in every round, against secpol-echo (bench/echo.c): one thread
 *  that answers every call at once, OK with an empty body, so its replies
 *  are judged by their status alone. secpold's calls/s over the echo's is
 *  what the runtime costs on top of the raw transport, against the targets
 *  of issue 6.
 *
 *  Exit status: 0 all calls OK, 1 an error (setup, connection or any call),
 *  2 usage. bench/run builds secpol-bench, starts a secpold for it and keeps
 *  the report; bench/README.md explains the numbers.
 */
#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/lockout.pb-c.h"
#include "secpol/v1/otp.pb-c.h"
#include "secpol/v1/password.pb-c.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/session.pb-c.h"
#include "secpol/v1/token.pb-c.h"

#include <errno.h>
#include <getopt.h>
#include <liboath/oath.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_CLIENTS       64
#define S_MAX_DEPTH         10000
#define S_READ_WORKSPACES   64         /* workspaces the read scenarios cycle through */
#define S_COMMUNITY         "research" /* the community override they read */
#define S_WORKSPACE_LOCKOUT 3          /* login_lockout.max_failures set per workspace */
#define S_SETUP_IN_FLIGHT   256        /* pipelining depth of the preparation */
#define S_TIMEOUT_VALUE_A   60         /* the write scenarios alternate between these */
#define S_TIMEOUT_VALUE_B   61
#define S_ACTOR             "secpol-bench"
#define S_NS_PER_SEC        1000000000LL
#define S_MAX_ROUNDS        20
#define S_SESSIONS          256   /* sessions validate_session cycles through, one subject each */
#define S_LOCKOUT_SUBJECTS  1024  /* subjects check_lockout cycles through */
#define S_LOCKOUT_MAX       100   /* login_lockout.max_failures of the lockout workspace */
#define S_LOCKOUT_WINDOW    10080 /* ... and its window_minutes (a week: no failure ages out) */
#define S_PASSWORD_HISTORY  3     /* passwords check_password_history's subject changed to */
#define S_PASSWORD_DEPTH    2     /* its calls in flight per client (argon2id, SLOW lane) */
#define S_MAX_STEPS         8     /* calls of one flow (a scenario's first call is step 0) */
#define S_MAX_METHODS       12    /* methods a result breaks its latency down by */
#define S_APPS              64    /* login_flow: users with an authenticator app, per client */
#define S_TOTP_SUBJECTS     64 /* subjects with an authenticator app verify_totp cycles through */
#define S_TOTP_WRONG        "000000" /* the code verify_totp sends (right one time in 333 333) */
#define S_TOTP_PERIOD       30       /* seconds of a TOTP time step */
#define S_POLL_NS           50000    /* open loop: a nap between looks for replies when the */
                                     /* next call is due in under 1 ms (recv waits in ms) */
#define S_LOGIN_FAILURE_PCT 20       /* login_flow: sign-ins with a wrong password */
#define S_LOGIN_RESET_PCT   10       /* login_flow: flows that reset a password instead */

typedef struct run run_t;
typedef struct worker worker_t;
typedef struct scenario scenario_t;

/*  One call in flight, in a worker's open-addressed table keyed by call_id. */
typedef struct {
    uint64_t call_id; /* 0 = free */
    int64_t sent_ns;  /* monotonic, just before secpol_client_send */
    uint32_t expect;  /* what the reply must say; meaning is per scenario */
    uint8_t scenario; /* index in s_scenarios of the call's scenario (a mix's pick) */
    uint8_t step;     /* 0 = the scenario's own call, else a step of its flow */
} slot_t;

/*  A workload: which method, how its requests vary, what its replies must say. */
struct scenario {
    const char *name;   /* stable identifier, first word of its report line */
    const char *what;   /* one line for people */
    const char *method; /* wire path */
    const char *lane;   /* the lane secpold runs it on (docs/POLICY.md) */
    int depth;          /* calls in flight per client; 0 = --depth */
    /*  Fills the worker's request for call number seq (and what its reply
     *  must say); NULL = empty request. */
    const ProtobufCMessage *(*request) (worker_t *worker, uint64_t seq, uint32_t *expect);
    /*  True when an OK response says what it should. */
    bool (*check) (const ProtobufCMessage *response, uint32_t expect);
};

/*  One call of a flow after its first: request fills it from the reply
 *  before it (and what its own reply must say, for check). */
typedef struct {
    const char *method; /* wire path */
    const ProtobufCMessage *(*request) (worker_t *worker, const ProtobufCMessage *response,
                                        uint32_t expect, uint32_t *expect2);
    bool (*check) (const ProtobufCMessage *response, uint32_t expect);
} step_t;

/*  A scenario of flows (listed in s_flows by its name): each OK reply is
 *  followed at once, on the same client, by the call next picks (a step
 *  number of steps, 1 and up), until next answers 0. The first call is the
 *  scenario's own (step 0), unless its request sets worker->call_step to
 *  begin at another step. Every call counts, each with its own latency,
 *  and the report breaks latency down by method. */
typedef struct {
    const char *scenario; /* a name in s_scenarios */
    int (*next) (worker_t *worker, int step, const ProtobufCMessage *response, uint32_t expect);
    step_t steps[S_MAX_STEPS]; /* [0] unused: step 0 is the scenario's own call */
} flow_t;

/*  Latency of one method inside a result (flows and mixes). */
typedef struct {
    const char *method;
    uint64_t calls;
    double p50_us, p90_us, p99_us, p999_us, max_us;
} method_result_t;

/*  What a scenario measured. */
typedef struct {
    const scenario_t *scenario;
    bool echo;            /* measured against secpol-echo, not secpold */
    int clients;          /* threads, one client each */
    int depth;            /* calls in flight per client */
    double window_s;      /* measured time, warm-up excluded */
    uint64_t calls;       /* replies received within the window */
    uint64_t total;       /* every reply, warm-up and drain included */
    uint64_t errors;      /* non-OK replies, wrong answers, failed sends */
    double calls_per_sec; /* calls / window_s */
    double p50_us, p90_us, p99_us, p999_us, max_us; /* latency, send to recv */
    char first_error[256];                          /* the first error, for the report */
    char warning[200]; /* a figure to distrust, though every reply was right ("" = none) */
    int rounds;        /* measurements this result summarises */
    double round_calls_per_sec[S_MAX_ROUNDS]; /* each round's calls/s */
    double rate;                              /* offered calls/s (open loop); 0 = closed */
    /* --alongside: the scenario run at the same time, closed loop */
    const scenario_t *alongside;
    double alongside_calls_per_sec, alongside_p50_us, alongside_p99_us;
    uint64_t alongside_calls;
    size_t n_methods; /* latency by method, when more than one */
    method_result_t methods[S_MAX_METHODS];
} result_t;

/*  An enrolled authenticator app of the login flow: its secret and the
 *  first TOTP time step the server still accepts for it (a code is taken
 *  once, and only of a later step than the last one taken). */
typedef struct {
    char secret[20];
    int64_t next_step;
} totp_app_t;

/*  Settings and the state shared by the threads of a run. */
struct run {
    const char *endpoint;      /* secpold's */
    const char *echo_endpoint; /* a secpol-echo's (--echo-endpoint); NULL = none */
    const char *server_key;    /* CURVE (--server-key); NULL = $SECPOL_SERVER_KEY */
    const char *client_cert;   /* CURVE (--client-cert); NULL = $SECPOL_CLIENT_CERT */
    double seconds;            /* measured time per scenario */
    double warmup;             /* unmeasured time before it */
    int depth;                 /* --depth */
    int clients;               /* --clients */
    int timeout_ms;            /* per call, also sent as deadline_ms */
    int rounds;                /* every scenario runs once per round */
    int workspaces;            /* write scenarios: distinct workspaces in all */
    int pool;                  /* ... per client */
    char prefix[32];           /* of every id this run makes, unique per run */
    char server[64];           /* secpold's version, from Health/Check */
    pthread_barrier_t gate;    /* clients connected; window set */
    int64_t window_start_ns;
    int64_t window_end_ns;
    uint64_t write_cursor[S_MAX_CLIENTS];   /* writes made per client so far */
    uint64_t token_cursor[S_MAX_CLIENTS];   /* IssueToken calls made per client so far */
    uint64_t failure_cursor[S_MAX_CLIENTS]; /* RecordFailure calls made per client so far */
    uint64_t login_cursor[S_MAX_CLIENTS];   /* login flows begun per client so far */
    uint64_t otp_cursor[S_MAX_CLIENTS];     /* IssueEmailOtp calls made per client so far */
    double rate;                            /* --rate: offered calls/s in all; 0 = closed loop */
    int subjects;                           /* --subjects: key space of the lockout scenarios */
    int tokens;                             /* --tokens: live tokens issued before measuring */
    const scenario_t *alongside;            /* --alongside: run with every measured scenario */
    int alongside_clients;                  /* its clients (closed loop, its own depth) */
    unsigned mix_weight[32];                /* --mix: weight per scenario (index) */
    unsigned mix_total;                     /* their sum; 0 = no mix */
    bool totp;                              /* prepare the authenticator apps */
    bool used[32]; /* per scenario: selected, in the mix or alongside (what to prepare) */
    totp_app_t (*apps)[S_APPS]; /* per client */
    /* progress: replies so far, and client threads finished */
    pthread_mutex_t progress_mutex;
    pthread_cond_t progress_done;
    int finished;
    uint64_t replies; /* atomic */
};

/*  One client thread of a scenario. */
struct worker {
    run_t *run;
    const scenario_t *scenario;
    const flow_t *flows[32]; /* per scenario index: its flow (s_flows), NULL = none */
    const char *endpoint;    /* run->endpoint, or run->echo_endpoint */
    bool closed;             /* closed loop even with --rate (an --alongside client) */
    bool echo;               /* against secpol-echo: replies judged by status only */
    int index;               /* 0 .. clients-1 */
    int depth;
    pthread_t thread;
    secpol_client_t *client;
    slot_t *slots; /* calls in flight */
    size_t slot_mask;
    /* request storage, reused for every call (secpol_client_send packs it at once) */
    char workspace_id[96];
    char *update_mask[1];
    Secpol__V1__GetPolicyRequest get;
    Secpol__V1__RenderSecurityHeadersRequest headers;
    Secpol__V1__CheckFileUploadRequest upload;
    Secpol__V1__UpdatePolicyRequest update;
    Secpol__V1__Policy policy;
    Secpol__V1__ValidateSessionRequest validate;
    Secpol__V1__IssueTokenRequest issue;
    Secpol__V1__ConsumeTokenRequest consume;
    Secpol__V1__LockoutRequest lockout;
    Secpol__V1__CheckPasswordRequest password;
    Secpol__V1__CreateSessionRequest create;
    Secpol__V1__IssueEmailOtpRequest issue_otp;
    Secpol__V1__VerifyEmailOtpRequest verify_otp;
    Secpol__V1__VerifyTotpRequest totp;
    char subject_id[64];
    char token[64];
    char code[16];
    int call_step;  /* set by a first call's request to begin its flow at a step */
    uint64_t rng;   /* xorshift state: mix picks, login flow choices */
    uint16_t *tags; /* per latency sample: scenario x S_MAX_STEPS + step */
    /* results */
    uint64_t calls;
    uint64_t total;
    uint64_t errors;
    int64_t *latencies; /* ns, of calls sent and answered within the window */
    size_t n_latencies;
    size_t latencies_size;
    char first_error[256];
};

/*  File names CheckFileUpload judges, with the answer the prepared
 *  allowed_file_extensions (pdf, png, docx, txt) implies. */
static const struct {
    const char *filename;
    bool allowed;
    const char *extension;
} s_uploads[] = {
    {"Quarterly report.PDF", true, "pdf"},
    {"scan 2024-06-01.png", true, "png"},
    {"invoice.pdf.exe", false, "exe"},
    {"../../etc/passwd", false, ""},
};
#define S_UPLOADS (sizeof s_uploads / sizeof s_uploads[0])

static const ProtobufCMessage *s_health_request (worker_t *worker, uint64_t seq, uint32_t *expect);
static bool s_health_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_get_request (worker_t *worker, uint64_t seq, uint32_t *expect);
static bool s_get_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_headers_request (worker_t *worker, uint64_t seq, uint32_t *expect);
static bool s_headers_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_upload_request (worker_t *worker, uint64_t seq, uint32_t *expect);
static bool s_upload_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_update_request (worker_t *worker, uint64_t seq, uint32_t *expect);
static bool s_update_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_validate_request (worker_t *worker, uint64_t seq,
                                                   uint32_t *expect);
static bool s_validate_check (const ProtobufCMessage *response, uint32_t expect);
static int s_prepare_sessions (run_t *run, secpol_client_t *client);
static const ProtobufCMessage *s_issue_request (worker_t *worker, uint64_t seq, uint32_t *expect);
static bool s_issue_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_consume_request (worker_t *worker,
                                                  const ProtobufCMessage *response, uint32_t expect,
                                                  uint32_t *expect2);
static bool s_consume_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_check_lockout_request (worker_t *worker, uint64_t seq,
                                                        uint32_t *expect);
static bool s_check_lockout_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_failure_request (worker_t *worker, uint64_t seq, uint32_t *expect);
static bool s_failure_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_password_request (worker_t *worker, uint64_t seq,
                                                   uint32_t *expect);
static bool s_password_check (const ProtobufCMessage *response, uint32_t expect);
static int s_prepare_lockout (run_t *run, secpol_client_t *client);
static int s_prepare_passwords (run_t *run, secpol_client_t *client);
static int s_prepare_totp (run_t *run, secpol_client_t *client);
static int s_prepare_tokens (run_t *run, secpol_client_t *client);
static const ProtobufCMessage *s_login_request (worker_t *worker, uint64_t seq, uint32_t *expect);
static bool s_login_check (const ProtobufCMessage *response, uint32_t expect);
static int s_login_next (worker_t *worker, int step, const ProtobufCMessage *response,
                         uint32_t expect);
static const ProtobufCMessage *s_login_lockout_request (worker_t *worker,
                                                        const ProtobufCMessage *response,
                                                        uint32_t expect, uint32_t *expect2);
static bool s_login_failure_check (const ProtobufCMessage *response, uint32_t expect);
static bool s_login_success_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_login_create_request (worker_t *worker,
                                                       const ProtobufCMessage *response,
                                                       uint32_t expect, uint32_t *expect2);
static bool s_login_create_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_login_validate_request (worker_t *worker,
                                                         const ProtobufCMessage *response,
                                                         uint32_t expect, uint32_t *expect2);
static bool s_login_validate_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_login_totp_request (worker_t *worker,
                                                     const ProtobufCMessage *response,
                                                     uint32_t expect, uint32_t *expect2);
static bool s_otp_ok_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_reset_consume_request (worker_t *worker,
                                                        const ProtobufCMessage *response,
                                                        uint32_t expect, uint32_t *expect2);
static bool s_reset_consume_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_issue_otp_request (worker_t *worker, uint64_t seq,
                                                    uint32_t *expect);
static bool s_issue_otp_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_verify_otp_request (worker_t *worker,
                                                     const ProtobufCMessage *response,
                                                     uint32_t expect, uint32_t *expect2);
static bool s_verify_otp_check (const ProtobufCMessage *response, uint32_t expect);
static const ProtobufCMessage *s_totp_request (worker_t *worker, uint64_t seq, uint32_t *expect);
static bool s_totp_check (const ProtobufCMessage *response, uint32_t expect);
static int s_prepare_otp (run_t *run, secpol_client_t *client);

/*  The passwords check_password_history's subject p0 changed to, oldest
 *  first (all kept: password_reuse_limit is S_PASSWORD_HISTORY), then one it
 *  never used; every one passes the MEDIUM rules. */
static const char *const s_passwords[S_PASSWORD_HISTORY + 1] = {
    "Violet-Canyon-Drift-4821",
    "Amber-Tundra-Whisk-6053",
    "Cobalt-Meadow-Pylon-2974",
    "Quartz-Heron-Lantern-7319",
};

/*  The tokens of the sessions s_prepare_sessions made (subject u<i> has
 *  token i); written before the scenarios run, only read by them. */
static char s_session_tokens[S_SESSIONS][64];

static const scenario_t s_scenarios[] = {
    {"health", "Health/Check: front end, READ lane, reply (the baseline)",
     "/secpol.v1.Health/Check", "READ", 0, s_health_request, s_health_check},
    {"get_policy", "GetPolicy of a community override (defaults <- workspace <- community)",
     "/secpol.v1.PolicyService/GetPolicy", "READ", 0, s_get_request, s_get_check},
    {"render_headers", "RenderSecurityHeaders of a community override",
     "/secpol.v1.PolicyService/RenderSecurityHeaders", "READ", 0, s_headers_request,
     s_headers_check},
    {"check_upload", "CheckFileUpload of 4 names (2 allowed, 2 refused) in a community",
     "/secpol.v1.PolicyService/CheckFileUpload", "READ", 0, s_upload_request, s_upload_check},
    {"validate_session",
     "ValidateSession with touch of 256 sessions (a touch is stored at most once a minute)",
     "/secpol.v1.SessionService/ValidateSession", "READ", 0, s_validate_request, s_validate_check},
    {"update_policy", "UpdatePolicy of one setting, each call another workspace (group commit)",
     "/secpol.v1.PolicyService/UpdatePolicy", "WRITE", 0, s_update_request, s_update_check},
    {"update_policy_d1", "the same with one write in flight per client (batches of <= clients)",
     "/secpol.v1.PolicyService/UpdatePolicy", "WRITE", 1, s_update_request, s_update_check},
    {"issue_consume_token",
     "IssueToken, then ConsumeToken of the token it answered (each a write; both counted)",
     "/secpol.v1.TokenService/IssueToken", "WRITE", 0, s_issue_request, s_issue_check},
    {"check_lockout", "CheckLockout (login) of 1024 subjects with 0-3 prepared failures each",
     "/secpol.v1.LockoutService/CheckLockout", "READ", 0, s_check_lockout_request,
     s_check_lockout_check},
    {"record_failure",
     "RecordFailure (login), each call a subject of its own (group commit; max_failures 100)",
     "/secpol.v1.LockoutService/RecordFailure", "WRITE", 0, s_failure_request, s_failure_check},
    {"check_password_history",
     "CheckPassword against a history of 3 argon2id hashes (half reused), 2 in flight/client",
     "/secpol.v1.PasswordService/CheckPassword", "SLOW", S_PASSWORD_DEPTH, s_password_request,
     s_password_check},
    {"issue_verify_email_otp",
     "IssueEmailOtp, then VerifyEmailOtp of the code it answered (each a write; both counted)",
     "/secpol.v1.OtpService/IssueEmailOtp", "WRITE", 0, s_issue_otp_request, s_issue_otp_check},
    {"verify_totp",
     "VerifyTotp of 64 enrolled subjects: secret unsealed, 3 liboath codes compared (refused)",
     "/secpol.v1.OtpService/VerifyTotp", "WRITE", 0, s_totp_request, s_totp_check},
    {"login_flow",
     "sign-ins: CheckLockout -> RecordFailure (20%) | [VerifyTotp] RecordSuccess -> "
     "CreateSession -> ValidateSession; 10% resets: IssueToken -> ConsumeToken",
     "/secpol.v1.LockoutService/CheckLockout", "MIXED", 0, s_login_request, s_login_check},
    {"mix", "--mix: each call a scenario picked by weight (its flow follows)", "(mix)", "MIXED", 0,
     NULL, NULL},
};
#define S_SCENARIOS (sizeof s_scenarios / sizeof s_scenarios[0])
_Static_assert(S_SCENARIOS <= 32, "run_t.mix_weight and worker_t.flows hold 32 scenarios");

/*  The login flow's steps (s_login_next picks them). */
enum {
    L_CHECK = 0, /* CheckLockout, the scenario's own call */
    L_FAILURE,   /* RecordFailure: a wrong password; the flow ends */
    L_SUCCESS,   /* RecordSuccess: the right one */
    L_CREATE,    /* CreateSession */
    L_VALIDATE,  /* ValidateSession with touch: the first page view */
    L_ISSUE,     /* IssueToken of a password reset link (a reset flow's first call) */
    L_CONSUME,   /* ConsumeToken of it */
    L_TOTP,      /* VerifyTotp: a user with an authenticator app, before RecordSuccess */
};
#define S_TOTP_FLAG 0x80000000u /* in a login flow's expect: the subject has an app */

static const flow_t s_flows[] = {
    {"issue_consume_token",
     NULL,
     {{NULL, NULL, NULL},
      {"/secpol.v1.TokenService/ConsumeToken", s_consume_request, s_consume_check}}},
    {"issue_verify_email_otp",
     NULL,
     {{NULL, NULL, NULL},
      {"/secpol.v1.OtpService/VerifyEmailOtp", s_verify_otp_request, s_verify_otp_check}}},
    {"login_flow",
     s_login_next,
     {
         [L_FAILURE] = {"/secpol.v1.LockoutService/RecordFailure", s_login_lockout_request,
                        s_login_failure_check},
         [L_SUCCESS] = {"/secpol.v1.LockoutService/RecordSuccess", s_login_lockout_request,
                        s_login_success_check},
         [L_CREATE] = {"/secpol.v1.SessionService/CreateSession", s_login_create_request,
                       s_login_create_check},
         [L_VALIDATE] = {"/secpol.v1.SessionService/ValidateSession", s_login_validate_request,
                         s_login_validate_check},
         [L_ISSUE] = {"/secpol.v1.TokenService/IssueToken", NULL, s_issue_check},
         [L_CONSUME] = {"/secpol.v1.TokenService/ConsumeToken", s_reset_consume_request,
                        s_reset_consume_check},
         [L_TOTP] = {"/secpol.v1.OtpService/VerifyTotp", s_login_totp_request, s_otp_ok_check},
     }},
};
#define S_FLOWS (sizeof s_flows / sizeof s_flows[0])

/*  The front end's targets (issue 6): secpold's calls/s over secpol-echo's,
 *  the same clients and depth. With --echo-endpoint these scenarios (when
 *  selected; health always) also run against the echo. */
static const struct {
    const char *scenario; /* a name in s_scenarios */
    const char *ratio;    /* its name in the reports */
    double target;        /* the ratio to reach, at least */
} s_echo_ratios[] = {
    {"health", "Health/echo", 0.5},
    {"get_policy", "GetPolicy/echo", 0.4},
};
#define S_ECHO_RATIOS (sizeof s_echo_ratios / sizeof s_echo_ratios[0])

/*  What the command line asks for besides the run's settings. */
typedef struct {
    bool json;                  /* JSON on stdout instead of text */
    const char *json_file;      /* also write JSON here; NULL = no */
    bool selected[S_SCENARIOS]; /* scenarios to run; the baseline always */
    bool echo[S_SCENARIOS];     /* ... also against --echo-endpoint */
} args_t;

static void s_usage (FILE *out);
static secpol_client_t *s_client (const run_t *run, const char *endpoint);
static int s_parse_args (run_t *run, args_t *args, int argc, char **argv);
static bool s_parse_int (const char *text, int min, int max, int *value_p);
static bool s_parse_seconds (const char *text, double min, double max, double *value_p);
static int64_t s_now_ns (void);
static int s_prepare (run_t *run, secpol_client_t *client);
static void s_run_scenario (run_t *run, const scenario_t *scenario, bool echo, result_t *result);
static void *s_worker (void *arg);
static void s_progress (run_t *run, const result_t *result);
static void s_by_method (result_t *result, const int64_t *all, const uint16_t *tags, size_t n);
static bool s_parse_mix (run_t *run, const char *text);
static bool s_used (const run_t *run, const char *name);
static void s_worker_error (worker_t *worker, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static slot_t *s_slot_add (worker_t *worker, uint64_t call_id);
static slot_t *s_slot_find (worker_t *worker, uint64_t call_id);
static void s_slot_remove (worker_t *worker, slot_t *slot);
static int s_compare_i64 (const void *a, const void *b);
static double s_percentile_us (const int64_t *sorted, size_t n, unsigned per_mille);
static double s_ratio (double value, double base);
static void s_summarise (result_t *out, const result_t *measured, size_t k, size_t stride,
                         int rounds);
static void s_print_text (FILE *out, const run_t *run, const result_t *results, size_t n);
static void s_print_json (FILE *out, const run_t *run, const result_t *results, size_t n);
static void s_print_json_scenario (FILE *out, const result_t *r, const result_t *base, bool last);
static void s_json_string (FILE *out, const char *text);

/*  Parses the command line into run and args. Returns -1 to go on, else the
 *  exit status (0 after --help or --list, 2 on a usage error). */
static int
s_parse_args (run_t *run, args_t *args, int argc, char **argv)
{
    const char *only = NULL;
    static const struct option options[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"echo-endpoint", required_argument, NULL, 'E'},
        {"server-key", required_argument, NULL, 'K'},
        {"client-cert", required_argument, NULL, 'C'},
        {"seconds", required_argument, NULL, 's'},
        {"warmup", required_argument, NULL, 'W'},
        {"depth", required_argument, NULL, 'd'},
        {"clients", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"workspaces", required_argument, NULL, 'w'},
        {"rounds", required_argument, NULL, 'r'},
        {"scenarios", required_argument, NULL, 'S'},
        {"rate", required_argument, NULL, 'R'},
        {"subjects", required_argument, NULL, 'N'},
        {"mix", required_argument, NULL, 'M'},
        {"tokens", required_argument, NULL, 'T'},
        {"alongside", required_argument, NULL, 'A'},
        {"alongside-clients", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"json-file", required_argument, NULL, 'J'},
        {"list", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int option;
    while ((option = getopt_long (argc, argv, "e:s:d:c:t:w:r:jh", options, NULL)) != -1) {
        bool ok = true;
        switch (option) {
            case 'e':
                run->endpoint = optarg;
                break;
            case 'E':
                run->echo_endpoint = optarg;
                break;
            case 'K':
                run->server_key = optarg;
                break;
            case 'C':
                run->client_cert = optarg;
                break;
            case 's':
                ok = s_parse_seconds (optarg, 0.01, 3600, &run->seconds);
                break;
            case 'W':
                ok = s_parse_seconds (optarg, 0, 3600, &run->warmup);
                break;
            case 'd':
                ok = s_parse_int (optarg, 1, S_MAX_DEPTH, &run->depth);
                break;
            case 'c':
                ok = s_parse_int (optarg, 1, S_MAX_CLIENTS, &run->clients);
                break;
            case 't':
                ok = s_parse_int (optarg, 1, 3600000, &run->timeout_ms);
                break;
            case 'w':
                ok = s_parse_int (optarg, 1, 1000000, &run->workspaces);
                break;
            case 'r':
                ok = s_parse_int (optarg, 1, S_MAX_ROUNDS, &run->rounds);
                break;
            case 'S':
                only = optarg;
                break;
            case 'R':
                ok = s_parse_seconds (optarg, 1, 10000000, &run->rate);
                break;
            case 'N':
                ok = s_parse_int (optarg, 1, 100000000, &run->subjects);
                break;
            case 'M':
                ok = s_parse_mix (run, optarg);
                break;
            case 'T':
                ok = s_parse_int (optarg, 0, 100000000, &run->tokens);
                break;
            case 'A':
                run->alongside = NULL;
                for (size_t i = 1; i < S_SCENARIOS; i++)
                    if (s_scenarios[i].request && strcmp (s_scenarios[i].name, optarg) == 0)
                        run->alongside = &s_scenarios[i];
                ok = run->alongside != NULL;
                break;
            case 'a':
                ok = s_parse_int (optarg, 1, S_MAX_CLIENTS, &run->alongside_clients);
                break;
            case 'j':
                args->json = true;
                break;
            case 'J':
                args->json_file = optarg;
                break;
            case 'l':
                for (size_t i = 0; i < S_SCENARIOS; i++)
                    printf ("%-22s %-5s %s\n", s_scenarios[i].name, s_scenarios[i].lane,
                            s_scenarios[i].what);
                return 0;
            case 'h':
                s_usage (stdout);
                return 0;
            default:
                s_usage (stderr);
                return 2;
        }
        if (!ok) {
            const char *name = "?";
            for (const struct option *o = options; o->name; o++)
                if (o->val == option)
                    name = o->name;
            fprintf (stderr, "secpol-bench: bad value for --%s: %s\n", name, optarg);
            return 2;
        }
    }
    if (run->alongside && run->clients + run->alongside_clients > S_MAX_CLIENTS) {
        fprintf (stderr, "secpol-bench: --clients and --alongside-clients exceed %d in all\n",
                 S_MAX_CLIENTS);
        return 2;
    }
    if (optind < argc || !run->endpoint) {
        fprintf (stderr, "secpol-bench: %s\n",
                 optind < argc ? "unexpected argument" : "--endpoint is required");
        s_usage (stderr);
        return 2;
    }
    /* The baseline always; the others all, or as --scenarios names them;
     * mix only with --mix, and then alone unless --scenarios says more. */
    args->selected[0] = true;
    for (size_t i = 1; i < S_SCENARIOS; i++)
        args->selected[i] = only == NULL && !run->mix_total && s_scenarios[i].request;
    for (size_t i = 0; i < S_SCENARIOS && run->mix_total; i++)
        if (!s_scenarios[i].request)
            args->selected[i] = true;
    while (only && *only) {
        size_t length = strcspn (only, ",");
        size_t i = 0;
        while (i < S_SCENARIOS && (strlen (s_scenarios[i].name) != length ||
                                   strncmp (s_scenarios[i].name, only, length) != 0))
            i++;
        if (i == S_SCENARIOS) {
            fprintf (stderr, "secpol-bench: unknown scenario %.*s (see --list)\n", (int)length,
                     only);
            return 2;
        }
        if (!s_scenarios[i].request && !run->mix_total) {
            fprintf (stderr, "secpol-bench: scenario mix needs --mix\n");
            return 2;
        }
        args->selected[i] = true;
        only += length + (only[length] == ',');
    }
    for (size_t i = 0; i < S_SCENARIOS; i++)
        run->used[i] = args->selected[i] || run->mix_weight[i] || run->alongside == &s_scenarios[i];
    run->totp = s_used (run, "login_flow");
    for (size_t k = 0; k < S_ECHO_RATIOS && run->echo_endpoint; k++)
        for (size_t i = 0; i < S_SCENARIOS; i++)
            if (strcmp (s_scenarios[i].name, s_echo_ratios[k].scenario) == 0)
                args->echo[i] = args->selected[i];
    return -1;
}

int
main (int argc, char **argv)
{
    run_t run = {
        .endpoint = NULL,
        .seconds = 3.0,
        .warmup = 0.5,
        .depth = 64,
        .clients = 2,
        .timeout_ms = 10000,
        .rounds = 1,
        .workspaces = 1000,
        .subjects = S_LOCKOUT_SUBJECTS,
        .alongside_clients = 2,
    };
    pthread_mutex_init (&run.progress_mutex, NULL);
    pthread_condattr_t monotonic;
    pthread_condattr_init (&monotonic);
    pthread_condattr_setclock (&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init (&run.progress_done, &monotonic);
    pthread_condattr_destroy (&monotonic);
    args_t args = {0};
    int status = s_parse_args (&run, &args, argc, argv);
    if (status >= 0)
        return status;
    run.pool = run.workspaces / run.clients > 0 ? run.workspaces / run.clients : 1;
    snprintf (run.prefix, sizeof run.prefix, "bench-%08x",
              (unsigned)(getpid () ^ (unsigned)s_now_ns ()));

    secpol_client_t *client = s_client (&run, run.endpoint);
    if (!client) {
        fprintf (stderr, "secpol-bench: no secpold answered at %s within %d ms\n", run.endpoint,
                 run.timeout_ms);
        return 1;
    }
    int rc = s_prepare (&run, client);
    if (rc == 0 && run.totp)
        rc = s_prepare_totp (&run, client);
    if (rc == 0 && run.tokens)
        rc = s_prepare_tokens (&run, client);
    secpol_client_destroy (&client);
    if (rc)
        return 1;
    if (run.echo_endpoint) {
        client = s_client (&run, run.echo_endpoint);
        if (!client) {
            fprintf (stderr, "secpol-bench: no secpol-echo answered at %s within %d ms\n",
                     run.echo_endpoint, run.timeout_ms);
            return 1;
        }
        secpol_client_destroy (&client);
    }
    status = 0;

    /* Rounds run every scenario in turn, so slow drifts of the machine
     * touch the baseline and the others alike; each figure is then the
     * median over the rounds. */
    size_t n_results = 0;
    for (size_t i = 0; i < S_SCENARIOS; i++)
        n_results += args.selected[i] + args.echo[i];
    result_t *measured = calloc ((size_t)run.rounds * n_results, sizeof *measured);
    result_t *results = calloc (n_results, sizeof *results);
    if (!measured || !results) {
        fprintf (stderr, "secpol-bench: out of memory\n");
        status = 1;
        goto done;
    }
    uint64_t errors = 0;
    for (int round = 0; round < run.rounds; round++) {
        size_t k = 0;
        /* secpold's scenarios, then the echo's (secpold's come first in results) */
        for (int echo = 0; echo < 2; echo++)
            for (size_t i = 0; i < S_SCENARIOS; i++) {
                if (!(echo ? args.echo[i] : args.selected[i]))
                    continue;
                result_t *result = &measured[(size_t)round * n_results + k++];
                s_run_scenario (&run, &s_scenarios[i], echo, result);
                errors += result->errors;
                fprintf (stderr,
                         "secpol-bench: round %d/%d %-5s%-22s %8.0f calls/s  p50 %8.1f us  "
                         "p99 %8.1f us  %" PRIu64 " errors%s%s\n",
                         round + 1, run.rounds, echo ? "echo" : "", result->scenario->name,
                         result->calls_per_sec, result->p50_us, result->p99_us, result->errors,
                         result->errors ? ", first: " : "", result->first_error);
            }
    }
    for (size_t k = 0; k < n_results; k++)
        s_summarise (&results[k], measured, k, n_results, run.rounds);

    if (args.json)
        s_print_json (stdout, &run, results, n_results);
    else
        s_print_text (stdout, &run, results, n_results);
    if (args.json_file) {
        FILE *out = fopen (args.json_file, "w");
        if (out)
            s_print_json (out, &run, results, n_results);
        if (!out || fclose (out) != 0) {
            fprintf (stderr, "secpol-bench: cannot write %s: %s\n", args.json_file,
                     strerror (errno));
            status = 1;
        }
    }
    if (errors) {
        fprintf (stderr, "secpol-bench: %" PRIu64 " calls failed: the numbers are not valid\n",
                 errors);
        status = 1;
    }
done:
    free (measured);
    free (results);
    free (run.apps);
    return status;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: secpol-bench --endpoint E [options]\n"
             "\n"
             "Measures a running secpold: calls/s and latency (p50, p99) per scenario,\n"
             "as ratios against Health/Check measured in the same run.\n"
             "\n"
             "  -e, --endpoint E     secpold endpoint (ipc://... or tcp://127.0.0.1:...);\n"
             "                       E1,E2,... for instances of one deployment: every client\n"
             "                       connects to each and spreads its calls (docs/SCALING.md)\n"
             "      --server-key FILE  CURVE: secpold's public certificate or Z85 key\n"
             "                         (SECPOL_SERVER_KEY; with --client-cert)\n"
             "      --client-cert FILE CURVE: this client's secret certificate\n"
             "                         (SECPOL_CLIENT_CERT; docs/SECURITY.md)\n"
             "      --echo-endpoint E  also run health and get_policy against the secpol-echo\n"
             "                       at E (bench/echo.c, the raw transport; its replies are\n"
             "                       judged by status only) and report secpold's calls/s over\n"
             "                       the echo's, with the targets\n"
             "  -s, --seconds S      measured seconds per scenario (default 3)\n"
             "      --warmup S       unmeasured seconds before each scenario (default 0.5)\n"
             "  -d, --depth D        calls in flight per client (default 64)\n"
             "  -c, --clients C      client threads, one connection each (default 2)\n"
             "  -t, --timeout MS     per-call timeout, also the call's deadline (default 10000)\n"
             "  -w, --workspaces N   distinct workspaces the write scenarios change (default "
             "1000)\n"
             "  -r, --rounds N       run every scenario N times in turn, report medians "
             "(default 1)\n"
             "      --scenarios A,B  run only these (and the baseline); --list names them\n"
             "      --rate R         open loop: R calls/s in all, at fixed times (at most\n"
             "                       --depth in flight per client); latency counts from the\n"
             "                       time a call was due (default: closed loop)\n"
             "      --mix A=W,B=W    scenario mix: each call a scenario (or the method of its\n"
             "                       first call, e.g. GetPolicy) picked by weight W\n"
             "      --subjects N     subjects check_lockout reads (prepared with 0-3 failures\n"
             "                       each) and login_flow signs in (default 1024)\n"
             "      --tokens N       issue N live tokens before measuring (a store of size)\n"
             "      --alongside S    run scenario S, closed loop, during every measured\n"
             "                       scenario (e.g. check_password_history: a burst of\n"
             "                       argon2id on the SLOW lane) and report it beside\n"
             "      --alongside-clients N  its clients (default 2)\n"
             "  -j, --json           print JSON instead of the text report\n"
             "      --json-file F    also write the JSON report to F\n"
             "      --list           list the scenarios and exit\n"
             "\n"
             "Exit status: 0 every call OK, 1 any error (the report says which), 2 usage.\n");
}

/*  --mix NAME=WEIGHT,...: NAME is a scenario (--list) or the method of a
 *  scenario's first call, full (/secpol.v1.PolicyService/GetPolicy), with
 *  its service (PolicyService/GetPolicy) or alone (GetPolicy); WEIGHT is
 *  1 to 1000. */
static bool
s_parse_mix (run_t *run, const char *text)
{
    memset (run->mix_weight, 0, sizeof run->mix_weight);
    run->mix_total = 0;
    while (*text) {
        size_t length = strcspn (text, ",");
        const char *equals = memchr (text, '=', length);
        if (!equals)
            return false;
        size_t name_length = (size_t)(equals - text);
        char weight_text[16];
        size_t weight_length = length - name_length - 1;
        if (name_length == 0 || weight_length == 0 || weight_length >= sizeof weight_text)
            return false;
        memcpy (weight_text, equals + 1, weight_length);
        weight_text[weight_length] = '\0';
        int weight;
        if (!s_parse_int (weight_text, 1, 1000, &weight))
            return false;
        size_t i = 0;
        for (; i < S_SCENARIOS; i++) {
            const char *method = s_scenarios[i].method;
            size_t method_length = strlen (method);
            if (!s_scenarios[i].request)
                continue;
            if (strlen (s_scenarios[i].name) == name_length &&
                strncmp (s_scenarios[i].name, text, name_length) == 0)
                break;
            if (method_length >= name_length &&
                strncmp (method + method_length - name_length, text, name_length) == 0 &&
                (method_length == name_length || method[method_length - name_length - 1] == '/' ||
                 method[method_length - name_length - 1] == '.'))
                break;
        }
        if (i == S_SCENARIOS) {
            fprintf (stderr, "secpol-bench: --mix: no scenario or method %.*s (see --list)\n",
                     (int)name_length, text);
            return false;
        }
        run->mix_weight[i] += (unsigned)weight;
        run->mix_total += (unsigned)weight;
        text += length + (text[length] == ',');
    }
    return run->mix_total > 0;
}

static bool
s_parse_int (const char *text, int min, int max, int *value_p)
{
    char *end;
    errno = 0;
    long value = strtol (text, &end, 10);
    if (errno || end == text || *end || value < min || value > max)
        return false;
    *value_p = (int)value;
    return true;
}

static bool
s_parse_seconds (const char *text, double min, double max, double *value_p)
{
    char *end;
    errno = 0;
    double value = strtod (text, &end);
    if (errno || end == text || *end || !(value >= min && value <= max))
        return false;
    *value_p = value;
    return true;
}

static int64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * S_NS_PER_SEC + ts.tv_nsec;
}

/* --- preparation ------------------------------------------------------------ */

/*  Sends one setup call, keeping at most S_SETUP_IN_FLIGHT in flight; with
 *  request NULL only drains. Counts failures in *errors_p. */
static void
s_setup_call (secpol_client_t *client, const char *method, const ProtobufCMessage *request,
              uint64_t *errors_p)
{
    size_t limit = request ? S_SETUP_IN_FLIGHT - 1 : 0;
    while (secpol_client_in_flight (client) > limit) {
        uint64_t id;
        int code = secpol_client_recv (client, -1, &id, NULL);
        if (code != SECPOL_OK) {
            if ((*errors_p)++ == 0)
                fprintf (stderr, "secpol-bench: preparing the data failed: %s: %s\n",
                         secpol_status_name (code), secpol_client_status (client)->message);
            if (id == 0)
                return; /* nothing can complete any more */
        }
    }
    if (!request)
        return;
    int code = secpol_client_send (client, method, request, NULL);
    if (code != SECPOL_OK && (*errors_p)++ == 0)
        fprintf (stderr, "secpol-bench: preparing the data failed: %s: %s\n",
                 secpol_status_name (code), secpol_client_status (client)->message);
}

/*  Writes what the scenarios need before anything is measured:
 *  - S_READ_WORKSPACES workspaces with a workspace-level setting and a
 *    community override of three more (GetPolicy, RenderSecurityHeaders and
 *    CheckFileUpload compose both levels over the defaults);
 *  - the write pool: every workspace UpdatePolicy will change, written once,
 *    so the measured writes update existing policies.
 *  Then checks one effective policy. Returns 0, or -1 after printing why. */
/*  True when scenario name runs in this run (selected, in the mix or
 *  alongside): only its data is prepared. */
static bool
s_used (const run_t *run, const char *name)
{
    for (size_t i = 0; i < S_SCENARIOS; i++)
        if (strcmp (s_scenarios[i].name, name) == 0)
            return run->used[i];
    return false;
}

static int
s_prepare (run_t *run, secpol_client_t *client)
{
    const char *update = "/secpol.v1.PolicyService/UpdatePolicy";
    uint64_t errors = 0;
    char workspace_id[96];
    Secpol__V1__LockoutSettings lockout = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    char *extensions[] = {"pdf", "png", "docx", "txt"};
    char *workspace_mask[] = {"login_lockout.max_failures"};
    char *community_mask[] = {"session_timeout_minutes", "referrer_policy",
                              "allowed_file_extensions"};
    request.workspace_id = workspace_id;
    request.policy = &policy;
    request.actor = S_ACTOR;

    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, "/secpol.v1.Health/Check", NULL, &response);
    if (code != SECPOL_OK) {
        fprintf (stderr, "secpol-bench: Health/Check failed: %s %s\n", secpol_status_name (code),
                 secpol_client_status (client)->message);
        return -1;
    }
    snprintf (run->server, sizeof run->server, "secpold %s",
              ((Secpol__V1__HealthCheckResponse *)response)->version);
    protobuf_c_message_free_unpacked (response, NULL);
    response = NULL;

    for (int i = 0; i < S_READ_WORKSPACES && !errors; i++) {
        snprintf (workspace_id, sizeof workspace_id, "%s-r%d", run->prefix, i);
        lockout.max_failures = S_WORKSPACE_LOCKOUT;
        policy.login_lockout = &lockout;
        request.community_id = "";
        request.update_mask = workspace_mask;
        request.n_update_mask = 1;
        s_setup_call (client, update, &request.base, &errors);

        policy.login_lockout = NULL;
        policy.session_timeout_minutes = 20 + (uint32_t)i % 10;
        policy.referrer_policy = "no-referrer";
        policy.allowed_file_extensions = extensions;
        policy.n_allowed_file_extensions = sizeof extensions / sizeof extensions[0];
        request.community_id = S_COMMUNITY;
        request.update_mask = community_mask;
        request.n_update_mask = sizeof community_mask / sizeof community_mask[0];
        s_setup_call (client, update, &request.base, &errors);
    }

    Secpol__V1__Policy pool_policy = SECPOL__V1__POLICY__INIT;
    char *pool_mask[] = {"session_timeout_minutes"};
    pool_policy.session_timeout_minutes = S_TIMEOUT_VALUE_A;
    request.policy = &pool_policy;
    request.community_id = "";
    request.update_mask = pool_mask;
    request.n_update_mask = 1;
    bool pool = s_used (run, "update_policy") || s_used (run, "update_policy_d1");
    for (int c = 0; c < run->clients && pool && !errors; c++)
        for (int j = 0; j < run->pool && !errors; j++) {
            snprintf (workspace_id, sizeof workspace_id, "%s-w%d-%d", run->prefix, c, j);
            s_setup_call (client, update, &request.base, &errors);
        }
    s_setup_call (client, NULL, NULL, &errors);
    if (errors)
        return -1;

    /* One sync GetPolicy, checked as the scenario checks every reply. */
    Secpol__V1__GetPolicyRequest get = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    snprintf (workspace_id, sizeof workspace_id, "%s-r%d", run->prefix, 1);
    get.workspace_id = workspace_id;
    get.community_id = S_COMMUNITY;
    code = secpol_client_call (client, "/secpol.v1.PolicyService/GetPolicy", &get.base, &response);
    bool right = code == SECPOL_OK && s_get_check (response, 1);
    protobuf_c_message_free_unpacked (response, NULL);
    if (!right) {
        fprintf (stderr, "secpol-bench: the prepared policy does not read back: %s %s\n",
                 secpol_status_name (code), secpol_client_status (client)->message);
        return -1;
    }
    if ((s_used (run, "validate_session") && s_prepare_sessions (run, client)) ||
        ((s_used (run, "check_lockout") || s_used (run, "record_failure") ||
          s_used (run, "login_flow")) &&
         s_prepare_lockout (run, client)) ||
        ((s_used (run, "issue_verify_email_otp") || s_used (run, "verify_totp")) &&
         s_prepare_otp (run, client)))
        return -1;
    return s_used (run, "check_password_history") ? s_prepare_passwords (run, client) : 0;
}

/*  Creates the S_SESSIONS sessions validate_session reads, one per subject
 *  u<i> of workspace <prefix>-s, pipelined, and keeps their tokens. Returns
 *  0, or -1 after printing why. */
static int
s_prepare_sessions (run_t *run, secpol_client_t *client)
{
    const char *create = "/secpol.v1.SessionService/CreateSession";
    char workspace_id[96], subject_id[32];
    snprintf (workspace_id, sizeof workspace_id, "%s-s", run->prefix);
    Secpol__V1__CreateSessionRequest request = SECPOL__V1__CREATE_SESSION_REQUEST__INIT;
    request.workspace_id = workspace_id;
    request.subject_id = subject_id;
    uint64_t ids[S_SESSIONS];
    int code = SECPOL_OK;
    for (int i = 0; i < S_SESSIONS && code == SECPOL_OK; i++) {
        snprintf (subject_id, sizeof subject_id, "u%d", i);
        code = secpol_client_send (client, create, &request.base, &ids[i]);
    }
    for (int n = 0; n < S_SESSIONS && code == SECPOL_OK; n++) {
        uint64_t id = 0;
        ProtobufCMessage *response = NULL;
        code = secpol_client_recv (client, -1, &id, &response);
        for (int i = 0; i < S_SESSIONS && code == SECPOL_OK; i++)
            if (ids[i] == id)
                snprintf (s_session_tokens[i], sizeof s_session_tokens[i], "%s",
                          ((Secpol__V1__CreateSessionResponse *)response)->session_token);
        if (response)
            protobuf_c_message_free_unpacked (response, NULL);
    }
    if (code != SECPOL_OK) {
        fprintf (stderr, "secpol-bench: creating the sessions failed: %s %s\n",
                 secpol_status_name (code), secpol_client_status (client)->message);
        return -1;
    }
    return 0;
}

/*  Workspace <prefix>-l, where the lockout scenarios count: login lockout
 *  at S_LOCKOUT_MAX failures in a week's window, so no call of a run locks or
 *  forgets a failure; subject c<i> has i % 4 failures (0: never seen),
 *  recorded pipelined, then one checked. Returns 0, or -1 after printing why. */
static int
s_prepare_lockout (run_t *run, secpol_client_t *client)
{
    uint64_t errors = 0;
    char workspace_id[96], subject_id[32];
    snprintf (workspace_id, sizeof workspace_id, "%s-l", run->prefix);
    Secpol__V1__LockoutSettings lockout = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    Secpol__V1__UpdatePolicyRequest update = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    char *mask[] = {"login_lockout.max_failures", "login_lockout.window_minutes",
                    "allow_concurrent_login"};
    lockout.max_failures = S_LOCKOUT_MAX;
    lockout.window_minutes = S_LOCKOUT_WINDOW;
    policy.login_lockout = &lockout;
    policy.allow_concurrent_login = true; /* login_flow: no sign-in ends another's session */
    update.workspace_id = workspace_id;
    update.community_id = "";
    update.policy = &policy;
    update.update_mask = mask;
    update.n_update_mask = sizeof mask / sizeof mask[0];
    update.actor = S_ACTOR;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, "/secpol.v1.PolicyService/UpdatePolicy", &update.base,
                                   &response);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    if (code != SECPOL_OK) {
        fprintf (stderr, "secpol-bench: setting the lockout policy failed: %s %s\n",
                 secpol_status_name (code), secpol_client_status (client)->message);
        return -1;
    }

    Secpol__V1__LockoutRequest request = SECPOL__V1__LOCKOUT_REQUEST__INIT;
    request.workspace_id = workspace_id;
    request.subject_id = subject_id;
    request.kind = SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN;
    for (int i = 0; i < run->subjects && s_used (run, "check_lockout") && !errors; i++)
        for (int f = 0; f < i % 4 && !errors; f++) {
            snprintf (subject_id, sizeof subject_id, "c%d", i);
            s_setup_call (client, "/secpol.v1.LockoutService/RecordFailure", &request.base,
                          &errors);
        }
    s_setup_call (client, NULL, NULL, &errors);
    if (errors)
        return -1;

    if (!s_used (run, "check_lockout"))
        return 0;
    /* One sync CheckLockout, checked as the scenario checks every reply. */
    int probe = run->subjects > 3 ? 3 : run->subjects - 1;
    snprintf (subject_id, sizeof subject_id, "c%d", probe);
    code = secpol_client_call (client, "/secpol.v1.LockoutService/CheckLockout", &request.base,
                               &response);
    bool right = code == SECPOL_OK && s_check_lockout_check (response, (uint32_t)probe);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    if (!right) {
        fprintf (stderr, "secpol-bench: the prepared failures do not read back: %s %s\n",
                 secpol_status_name (code), secpol_client_status (client)->message);
        return -1;
    }
    return 0;
}

/*  --tokens N: N live single-use links (ACCOUNT_VERIFICATION, subjects
 *  k<i>) in issue_consume_token's workspace, issued pipelined (group
 *  commit) and never spent: the store the token scenarios then run on holds
 *  them. Returns 0, or -1 after printing why. */
static int
s_prepare_tokens (run_t *run, secpol_client_t *client)
{
    uint64_t errors = 0;
    char workspace_id[96], subject_id[32];
    snprintf (workspace_id, sizeof workspace_id, "%s-t", run->prefix);
    Secpol__V1__IssueTokenRequest issue = SECPOL__V1__ISSUE_TOKEN_REQUEST__INIT;
    issue.workspace_id = workspace_id;
    issue.subject_id = subject_id;
    issue.kind = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_ACCOUNT_VERIFICATION;
    for (int i = 0; i < run->tokens && !errors; i++) {
        snprintf (subject_id, sizeof subject_id, "k%d", i);
        s_setup_call (client, "/secpol.v1.TokenService/IssueToken", &issue.base, &errors);
    }
    s_setup_call (client, NULL, NULL, &errors);
    return errors ? -1 : 0;
}

/*  The authenticator apps of login_flow: S_APPS subjects o<k>-<j>
 *  per client k in the lockout workspace, each enrolled (BeginTotpEnrollment,
 *  then ConfirmTotpEnrollment with the code of now, computed with liboath
 *  from the secret as an app does), pipelined. Returns 0, or -1 after
 *  printing why. */
static int
s_prepare_totp (run_t *run, secpol_client_t *client)
{
    size_t clients = (size_t)run->clients + (run->alongside ? (size_t)run->alongside_clients : 0);
    size_t n = clients * S_APPS;
    run->apps = calloc (clients, sizeof *run->apps);
    uint64_t *ids = calloc (n, sizeof *ids);
    char (*subjects)[32] = calloc (n, sizeof *subjects);
    if (!run->apps || !ids || !subjects || oath_init () != OATH_OK) {
        fprintf (stderr, "secpol-bench: out of memory (or liboath) for the authenticator apps\n");
        free (ids);
        free (subjects);
        return -1;
    }
    char workspace_id[96], code[16];
    snprintf (workspace_id, sizeof workspace_id, "%s-l", run->prefix);
    Secpol__V1__BeginTotpEnrollmentRequest begin = SECPOL__V1__BEGIN_TOTP_ENROLLMENT_REQUEST__INIT;
    Secpol__V1__ConfirmTotpEnrollmentRequest confirm =
        SECPOL__V1__CONFIRM_TOTP_ENROLLMENT_REQUEST__INIT;
    begin.workspace_id = confirm.workspace_id = workspace_id;
    begin.issuer = "secpol-bench";
    confirm.code = code;
    int code_rc = SECPOL_OK;
    const char *failed = NULL;
    for (int pass = 0; pass < 2 && !failed; pass++) {
        for (size_t i = 0; i < n && !failed; i++) {
            snprintf (subjects[i], sizeof subjects[i], "o%zu-%zu", i / S_APPS, i % S_APPS);
            totp_app_t *app = &run->apps[i / S_APPS][i % S_APPS];
            if (pass == 0) {
                begin.subject_id = begin.account_name = subjects[i];
                code_rc = secpol_client_send (client, "/secpol.v1.OtpService/BeginTotpEnrollment",
                                              &begin.base, &ids[i]);
            } else {
                /* the code of the step before (the server takes one step
                 * either side), so the app may sign in again within this
                 * one: runs shorter than a step see TOTP sign-ins too; at
                 * a step's first second, this step's code */
                time_t now = time (NULL);
                int64_t step = (int64_t)now / S_TOTP_PERIOD;
                if (now % S_TOTP_PERIOD >= 1)
                    step--;
                if (oath_totp_generate (app->secret, sizeof app->secret,
                                        (time_t)(step * S_TOTP_PERIOD), S_TOTP_PERIOD, 0, 6,
                                        code) != OATH_OK) {
                    failed = "liboath computes no code";
                    break;
                }
                app->next_step = step + 1;
                confirm.subject_id = subjects[i];
                code_rc = secpol_client_send (client, "/secpol.v1.OtpService/ConfirmTotpEnrollment",
                                              &confirm.base, &ids[i]);
            }
            if (code_rc != SECPOL_OK)
                failed = pass ? "ConfirmTotpEnrollment" : "BeginTotpEnrollment";
        }
        for (size_t done = 0; done < n && !failed; done++) {
            uint64_t id = 0;
            ProtobufCMessage *response = NULL;
            code_rc = secpol_client_recv (client, -1, &id, &response);
            size_t i = 0;
            while (i < n && ids[i] != id)
                i++;
            if (code_rc != SECPOL_OK || i == n)
                failed = pass ? "ConfirmTotpEnrollment" : "BeginTotpEnrollment";
            else if (pass == 0) {
                const char *base32 =
                    ((Secpol__V1__BeginTotpEnrollmentResponse *)response)->secret_base32;
                char *secret = NULL;
                size_t size = 0;
                if (oath_base32_decode (base32, strlen (base32), &secret, &size) != OATH_OK ||
                    size != sizeof run->apps[0][0].secret)
                    failed = "the enrollment's secret does not decode";
                else
                    memcpy (run->apps[i / S_APPS][i % S_APPS].secret, secret, size);
                free (secret);
            } else if (!((Secpol__V1__ConfirmTotpEnrollmentResponse *)response)->ok)
                failed = "ConfirmTotpEnrollment refused the code";
            if (response)
                protobuf_c_message_free_unpacked (response, NULL);
        }
    }
    free (ids);
    free (subjects);
    if (failed) {
        fprintf (stderr, "secpol-bench: enrolling the authenticator apps failed: %s: %s %s\n",
                 failed, secpol_status_name (code_rc), secpol_client_status (client)->message);
        return -1;
    }
    return 0;
}

/*  Workspace <prefix>-p keeps S_PASSWORD_HISTORY hashes per subject; its
 *  subject p0 changes to each of s_passwords but the last, in order (one
 *  call at a time: each hashes with argon2id). Returns 0, or -1 after
 *  printing why. */
static int
s_prepare_passwords (run_t *run, secpol_client_t *client)
{
    char workspace_id[96];
    snprintf (workspace_id, sizeof workspace_id, "%s-p", run->prefix);
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    Secpol__V1__UpdatePolicyRequest update = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    char *mask[] = {"password_reuse_limit"};
    policy.password_reuse_limit = S_PASSWORD_HISTORY;
    update.workspace_id = workspace_id;
    update.community_id = "";
    update.policy = &policy;
    update.update_mask = mask;
    update.n_update_mask = 1;
    update.actor = S_ACTOR;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, "/secpol.v1.PolicyService/UpdatePolicy", &update.base,
                                   &response);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    response = NULL;

    Secpol__V1__RecordPasswordChangeRequest change =
        SECPOL__V1__RECORD_PASSWORD_CHANGE_REQUEST__INIT;
    change.workspace_id = workspace_id;
    change.subject_id = "p0";
    change.community_id = "";
    for (int i = 0; i < S_PASSWORD_HISTORY && code == SECPOL_OK; i++) {
        change.password = (char *)s_passwords[i];
        code = secpol_client_call (client, "/secpol.v1.PasswordService/RecordPasswordChange",
                                   &change.base, &response);
        if (code == SECPOL_OK &&
            ((Secpol__V1__RecordPasswordChangeResponse *)response)->history_size !=
                (uint32_t)i + 1) {
            fprintf (stderr, "secpol-bench: RecordPasswordChange kept %" PRIu32 " hashes, not %d\n",
                     ((Secpol__V1__RecordPasswordChangeResponse *)response)->history_size, i + 1);
            protobuf_c_message_free_unpacked (response, NULL);
            return -1;
        }
        if (response)
            protobuf_c_message_free_unpacked (response, NULL);
        response = NULL;
    }
    if (code != SECPOL_OK) {
        fprintf (stderr, "secpol-bench: preparing the password history failed: %s %s\n",
                 secpol_status_name (code), secpol_client_status (client)->message);
        return -1;
    }
    return 0;
}

/* --- scenarios ---------------------------------------------------------------- */

static const ProtobufCMessage *
s_health_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    (void)worker;
    (void)seq;
    *expect = 0;
    return NULL;
}

static bool
s_health_check (const ProtobufCMessage *response, uint32_t expect)
{
    (void)expect;
    const Secpol__V1__HealthCheckResponse *health =
        (const Secpol__V1__HealthCheckResponse *)response;
    return health->status == SECPOL__V1__SERVING_STATUS__SERVING;
}

/*  The read workspace of call seq: the clients start at different ones. */
static uint32_t
s_read_workspace (worker_t *worker, uint64_t seq)
{
    uint32_t i = (uint32_t)((seq + (uint64_t)worker->index * 17) % S_READ_WORKSPACES);
    snprintf (worker->workspace_id, sizeof worker->workspace_id, "%s-r%" PRIu32,
              worker->run->prefix, i);
    return i;
}

static const ProtobufCMessage *
s_get_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    *expect = s_read_workspace (worker, seq);
    worker->get.workspace_id = worker->workspace_id;
    worker->get.community_id = S_COMMUNITY;
    return &worker->get.base;
}

/*  The community's own value, the workspace's inherited one, a default. */
static bool
s_get_check (const ProtobufCMessage *response, uint32_t expect)
{
    const Secpol__V1__Policy *policy = (const Secpol__V1__Policy *)response;
    return policy->session_timeout_minutes == 20 + expect % 10 && policy->login_lockout &&
           policy->login_lockout->max_failures == S_WORKSPACE_LOCKOUT &&
           policy->n_allowed_file_extensions == 4 && policy->hsts && policy->hsts->enabled;
}

static const ProtobufCMessage *
s_headers_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    s_read_workspace (worker, seq);
    *expect = 0;
    worker->headers.workspace_id = worker->workspace_id;
    worker->headers.community_id = S_COMMUNITY;
    return &worker->headers.base;
}

static bool
s_headers_check (const ProtobufCMessage *response, uint32_t expect)
{
    (void)expect;
    const Secpol__V1__RenderSecurityHeadersResponse *headers =
        (const Secpol__V1__RenderSecurityHeadersResponse *)response;
    for (size_t i = 0; i < headers->n_headers; i++)
        if (strcmp (headers->headers[i]->name, "Referrer-Policy") == 0)
            return strcmp (headers->headers[i]->value, "no-referrer") == 0;
    return false;
}

static const ProtobufCMessage *
s_upload_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    s_read_workspace (worker, seq);
    *expect = (uint32_t)(seq % S_UPLOADS);
    worker->upload.workspace_id = worker->workspace_id;
    worker->upload.community_id = S_COMMUNITY;
    worker->upload.filename = (char *)s_uploads[*expect].filename;
    return &worker->upload.base;
}

static bool
s_upload_check (const ProtobufCMessage *response, uint32_t expect)
{
    const Secpol__V1__CheckFileUploadResponse *upload =
        (const Secpol__V1__CheckFileUploadResponse *)response;
    return upload->allowed == s_uploads[expect].allowed &&
           strcmp (upload->extension, s_uploads[expect].extension) == 0;
}

/*  Client k writes its own workspaces w<k>-0 .. w<k>-(pool-1) in turn, so
 *  consecutive writes hit different workspaces; each pass flips the value
 *  between A and B, so every write is a real change (a no-op update would
 *  write nothing). The cursor carries over from scenario to scenario. */
static const ProtobufCMessage *
s_update_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    (void)seq; /* the client's own write cursor, not seq, which restarts per scenario */
    run_t *run = worker->run;
    uint64_t n = run->write_cursor[worker->index]++;
    uint64_t pass = n / (uint64_t)run->pool;
    snprintf (worker->workspace_id, sizeof worker->workspace_id, "%s-w%d-%" PRIu64, run->prefix,
              worker->index, n % (uint64_t)run->pool);
    *expect = pass % 2 == 0 ? S_TIMEOUT_VALUE_B : S_TIMEOUT_VALUE_A;
    worker->policy.session_timeout_minutes = *expect;
    worker->update_mask[0] = "session_timeout_minutes";
    worker->update.workspace_id = worker->workspace_id;
    worker->update.community_id = "";
    worker->update.policy = &worker->policy;
    worker->update.update_mask = worker->update_mask;
    worker->update.n_update_mask = 1;
    worker->update.actor = S_ACTOR;
    return &worker->update.base;
}

/*  The new value, in a level written at least twice (setup, then here). */
static bool
s_update_check (const ProtobufCMessage *response, uint32_t expect)
{
    const Secpol__V1__Policy *policy = (const Secpol__V1__Policy *)response;
    return policy->session_timeout_minutes == expect && policy->version >= 2;
}

/*  Session i of call seq: the clients start at different ones. */
static const ProtobufCMessage *
s_validate_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    *expect = (uint32_t)((seq + (uint64_t)worker->index * 37) % S_SESSIONS);
    worker->validate.session_token = s_session_tokens[*expect];
    worker->validate.touch = true;
    return &worker->validate.base;
}

/*  The session of subject u<expect>. */
static bool
s_validate_check (const ProtobufCMessage *response, uint32_t expect)
{
    const Secpol__V1__ValidateSessionResponse *validated =
        (const Secpol__V1__ValidateSessionResponse *)response;
    char subject_id[32];
    snprintf (subject_id, sizeof subject_id, "u%" PRIu32, expect);
    return validated->session && strcmp (validated->session->subject_id, subject_id) == 0;
}

/*  A link token for a subject of its own: client k's n-th is t<k>-<n> (the
 *  cursor carries over from round to round), so the single-use rule never
 *  revokes one, even a token a round's end left unconsumed, and every pair
 *  is the common path: issue, then consume the token it answered. */
static const ProtobufCMessage *
s_issue_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    (void)seq; /* the client's own cursor, not seq, which restarts per scenario */
    uint64_t n = worker->run->token_cursor[worker->index]++;
    *expect = (uint32_t)n;
    snprintf (worker->workspace_id, sizeof worker->workspace_id, "%s-t", worker->run->prefix);
    snprintf (worker->subject_id, sizeof worker->subject_id, "t%d-%" PRIu64, worker->index, n);
    worker->issue.workspace_id = worker->workspace_id;
    worker->issue.kind = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_ACCOUNT_VERIFICATION;
    worker->issue.subject_id = worker->subject_id;
    return &worker->issue.base;
}

static bool
s_issue_check (const ProtobufCMessage *response, uint32_t expect)
{
    (void)expect;
    const Secpol__V1__IssueTokenResponse *issued = (const Secpol__V1__IssueTokenResponse *)response;
    return strncmp (issued->token, "spl_", 4) == 0 && strlen (issued->token) == 32 &&
           issued->expires_at > 0 && issued->revoked == 0;
}

static const ProtobufCMessage *
s_consume_request (worker_t *worker, const ProtobufCMessage *response, uint32_t expect,
                   uint32_t *expect2)
{
    const Secpol__V1__IssueTokenResponse *issued = (const Secpol__V1__IssueTokenResponse *)response;
    snprintf (worker->token, sizeof worker->token, "%s", issued->token);
    *expect2 = expect;
    /* in a mix, calls of other scenarios went out since the IssueToken */
    snprintf (worker->workspace_id, sizeof worker->workspace_id, "%s-t", worker->run->prefix);
    worker->consume.token = worker->token;
    worker->consume.kind = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_ACCOUNT_VERIFICATION;
    worker->consume.workspace_id = worker->workspace_id;
    return &worker->consume.base;
}

/*  Spent, and the token of subject t<k>-<expect>. */
static bool
s_consume_check (const ProtobufCMessage *response, uint32_t expect)
{
    const Secpol__V1__TokenInfo *info = (const Secpol__V1__TokenInfo *)response;
    const char *dash = strrchr (info->subject_id, '-');
    return info->uses_left == 0 && info->max_uses == 1 &&
           info->kind == SECPOL__V1__TOKEN_KIND__TOKEN_KIND_ACCOUNT_VERIFICATION && dash &&
           strtoull (dash + 1, NULL, 10) == expect;
}

/*  Subject c<expect> of the lockout workspace: the clients start at
 *  different ones. */
static const ProtobufCMessage *
s_check_lockout_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    *expect = (uint32_t)((seq + (uint64_t)worker->index * 101) % (uint64_t)worker->run->subjects);
    snprintf (worker->workspace_id, sizeof worker->workspace_id, "%s-l", worker->run->prefix);
    snprintf (worker->subject_id, sizeof worker->subject_id, "c%" PRIu32, *expect);
    worker->lockout.workspace_id = worker->workspace_id;
    worker->lockout.subject_id = worker->subject_id;
    worker->lockout.kind = SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN;
    return &worker->lockout.base;
}

/*  A login counter under the workspace's policy, unlocked, with `failures`
 *  failures and the attempts left that implies. */
static bool
s_lockout_status (const Secpol__V1__LockoutStatus *status, uint32_t failures)
{
    return !status->locked && !status->just_locked && status->failures == failures &&
           status->remaining_attempts == S_LOCKOUT_MAX - failures &&
           status->retry_after_seconds == 0 && status->locked_until == 0 &&
           status->prompt_seconds == 0 &&
           status->kind == SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN &&
           status->max_failures == S_LOCKOUT_MAX;
}

/*  Subject c<expect>'s prepared expect % 4 failures. */
static bool
s_check_lockout_check (const ProtobufCMessage *response, uint32_t expect)
{
    return s_lockout_status ((const Secpol__V1__LockoutStatus *)response, expect % 4);
}

/*  Client k's n-th failure is subject f<k>-<n>'s first (the cursor carries
 *  over from round to round), so every call writes a new counter and none
 *  comes near a lock. */
static const ProtobufCMessage *
s_failure_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    (void)seq; /* the client's own cursor, not seq, which restarts per scenario */
    uint64_t n = worker->run->failure_cursor[worker->index]++;
    *expect = 1;
    snprintf (worker->workspace_id, sizeof worker->workspace_id, "%s-l", worker->run->prefix);
    snprintf (worker->subject_id, sizeof worker->subject_id, "f%d-%" PRIu64, worker->index, n);
    worker->lockout.workspace_id = worker->workspace_id;
    worker->lockout.subject_id = worker->subject_id;
    worker->lockout.kind = SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN;
    return &worker->lockout.base;
}

/*  The subject's first failure, counted, not locked. */
static bool
s_failure_check (const ProtobufCMessage *response, uint32_t expect)
{
    return s_lockout_status ((const Secpol__V1__LockoutStatus *)response, expect);
}

/*  Subject p0's candidates in turn: its S_PASSWORD_HISTORY stored passwords
 *  (REUSED) and one it never used (ok), so half the calls match a hash and
 *  half verify against all of them. */
static const ProtobufCMessage *
s_password_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    uint64_t i = (seq + (uint64_t)worker->index) % (2 * S_PASSWORD_HISTORY);
    *expect = i < S_PASSWORD_HISTORY ? (uint32_t)i : S_PASSWORD_HISTORY;
    snprintf (worker->workspace_id, sizeof worker->workspace_id, "%s-p", worker->run->prefix);
    worker->password.workspace_id = worker->workspace_id;
    worker->password.community_id = "";
    worker->password.subject_id = "p0";
    worker->password.password = (char *)s_passwords[*expect];
    return &worker->password.base;
}

/*  s_passwords[expect]: REUSED alone when stored, else ok. */
static bool
s_password_check (const ProtobufCMessage *response, uint32_t expect)
{
    const Secpol__V1__CheckPasswordResponse *checked =
        (const Secpol__V1__CheckPasswordResponse *)response;
    if (checked->next_change_allowed_at != 0)
        return false;
    if (expect == S_PASSWORD_HISTORY)
        return checked->ok && checked->n_violations == 0;
    return !checked->ok && checked->n_violations == 1 &&
           strcmp (checked->violations[0]->code, "REUSED") == 0;
}

/*  xorshift64: the mix's picks and the login flow's choices. */
static uint64_t
s_random (worker_t *worker)
{
    uint64_t x = worker->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return worker->rng = x;
}

static void
s_lockout_workspace (worker_t *worker)
{
    snprintf (worker->workspace_id, sizeof worker->workspace_id, "%s-l", worker->run->prefix);
}

/*  The subject of a login flow: g<i> of the --subjects key space, or o<k>-<j>
 *  for app j of client k (S_TOTP_FLAG set, step bits 8-15). */
static void
s_login_subject (worker_t *worker, uint32_t expect)
{
    if (expect & S_TOTP_FLAG)
        snprintf (worker->subject_id, sizeof worker->subject_id, "o%d-%u", worker->index,
                  expect & 0xff);
    else
        snprintf (worker->subject_id, sizeof worker->subject_id, "g%u", expect);
}

/*  An app of this client that takes a code now: none in flight, and this
 *  time step unused by it (a code is accepted once, and only of a later
 *  step than the last one taken). App k's turn comes k/S_APPS of
 *  the way into each step, so the apps' sign-ins spread over it: about
 *  S_APPS per 30 s per client. Reserves the step and returns the
 *  app's expect bits, or 0 when no app takes one now. */
static uint32_t
s_totp_reserve (worker_t *worker)
{
    if (!worker->run->apps)
        return 0;
    totp_app_t *apps = worker->run->apps[worker->index];
    struct timespec real;
    clock_gettime (CLOCK_REALTIME, &real);
    int64_t now_ms = (int64_t)real.tv_sec * 1000 + real.tv_nsec / 1000000;
    int64_t now_step = now_ms / (S_TOTP_PERIOD * 1000);
    int64_t into_ms = now_ms % (S_TOTP_PERIOD * 1000);
    for (uint32_t k = 0; k < S_APPS; k++) {
        totp_app_t *app = &apps[k];
        /* next_step < 0: its VerifyTotp is in flight */
        if (app->next_step < 0 || app->next_step > now_step ||
            into_ms < (int64_t)k * S_TOTP_PERIOD * 1000 / S_APPS)
            continue;
        app->next_step = -now_step - 1; /* busy until its VerifyTotp is answered */
        return S_TOTP_FLAG | ((uint32_t)(now_step & 0xff) << 8) | k;
    }
    return 0;
}

/*  A login flow: a reset (IssueToken of r<k>-<n>, then ConsumeToken), or a
 *  sign-in of a user with an app (when one takes a code now and the
 *  password is right), or of g<i> from the key space. */
static const ProtobufCMessage *
s_login_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    (void)seq;
    run_t *run = worker->run;
    uint64_t n = run->login_cursor[worker->index]++;
    s_lockout_workspace (worker);
    uint64_t roll = s_random (worker) % 100;
    if (roll < S_LOGIN_RESET_PCT) {
        worker->call_step = L_ISSUE;
        *expect = (uint32_t)n;
        snprintf (worker->subject_id, sizeof worker->subject_id, "r%d-%" PRIu64, worker->index, n);
        worker->issue.workspace_id = worker->workspace_id;
        worker->issue.kind = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_PASSWORD_RESET;
        worker->issue.subject_id = worker->subject_id;
        return &worker->issue.base;
    }
    uint32_t app = roll >= S_LOGIN_RESET_PCT + S_LOGIN_FAILURE_PCT ? s_totp_reserve (worker) : 0;
    *expect = app ? app
                  : (uint32_t)((n * (uint64_t)run->clients + (uint64_t)worker->index) %
                               (uint64_t)run->subjects);
    s_login_subject (worker, *expect);
    worker->lockout.workspace_id = worker->workspace_id;
    worker->lockout.subject_id = worker->subject_id;
    worker->lockout.kind = SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN;
    return &worker->lockout.base;
}

/*  Step 0: a sign-in's check; no failure count is known (flows share the
 *  key space), but nobody comes near a lock at max_failures 100. */
static bool
s_login_check (const ProtobufCMessage *response, uint32_t expect)
{
    (void)expect;
    const Secpol__V1__LockoutStatus *status = (const Secpol__V1__LockoutStatus *)response;
    return !status->locked && status->max_failures == S_LOCKOUT_MAX &&
           status->kind == SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN;
}

static int
s_login_next (worker_t *worker, int step, const ProtobufCMessage *response, uint32_t expect)
{
    (void)response;
    switch (step) {
        case L_CHECK:
            if (expect & S_TOTP_FLAG)
                return L_TOTP;
            /* the reset share came first: this roll splits the sign-ins */
            return s_random (worker) % (100 - S_LOGIN_RESET_PCT) < S_LOGIN_FAILURE_PCT ? L_FAILURE
                                                                                       : L_SUCCESS;
        case L_TOTP: {
            totp_app_t *app = &worker->run->apps[worker->index][expect & 0xff];
            app->next_step = -app->next_step; /* reserved -step-1: takes step+1 on */
            return L_SUCCESS;
        }
        case L_SUCCESS:
            return L_CREATE;
        case L_CREATE:
            return L_VALIDATE;
        case L_ISSUE:
            return L_CONSUME;
        default:
            return 0;
    }
}

static const ProtobufCMessage *
s_login_lockout_request (worker_t *worker, const ProtobufCMessage *response, uint32_t expect,
                         uint32_t *expect2)
{
    (void)response;
    *expect2 = expect;
    s_lockout_workspace (worker);
    s_login_subject (worker, expect);
    worker->lockout.workspace_id = worker->workspace_id;
    worker->lockout.subject_id = worker->subject_id;
    worker->lockout.kind = SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN;
    return &worker->lockout.base;
}

static bool
s_login_failure_check (const ProtobufCMessage *response, uint32_t expect)
{
    const Secpol__V1__LockoutStatus *status = (const Secpol__V1__LockoutStatus *)response;
    return s_login_check (response, expect) && status->failures >= 1;
}

static bool
s_login_success_check (const ProtobufCMessage *response, uint32_t expect)
{
    const Secpol__V1__LockoutStatus *status = (const Secpol__V1__LockoutStatus *)response;
    return s_login_check (response, expect) && status->failures == 0;
}

static const ProtobufCMessage *
s_login_create_request (worker_t *worker, const ProtobufCMessage *response, uint32_t expect,
                        uint32_t *expect2)
{
    (void)response;
    *expect2 = expect;
    s_lockout_workspace (worker);
    s_login_subject (worker, expect);
    worker->create.workspace_id = worker->workspace_id;
    worker->create.subject_id = worker->subject_id;
    return &worker->create.base;
}

static bool
s_login_create_check (const ProtobufCMessage *response, uint32_t expect)
{
    (void)expect;
    const Secpol__V1__CreateSessionResponse *created =
        (const Secpol__V1__CreateSessionResponse *)response;
    return strncmp (created->session_token, "sps_", 4) == 0 && created->revoked_sessions == 0;
}

static const ProtobufCMessage *
s_login_validate_request (worker_t *worker, const ProtobufCMessage *response, uint32_t expect,
                          uint32_t *expect2)
{
    const Secpol__V1__CreateSessionResponse *created =
        (const Secpol__V1__CreateSessionResponse *)response;
    *expect2 = expect;
    snprintf (worker->token, sizeof worker->token, "%s", created->session_token);
    worker->validate.session_token = worker->token;
    worker->validate.touch = true;
    return &worker->validate.base;
}

/*  The session of the flow's subject. */
static bool
s_login_validate_check (const ProtobufCMessage *response, uint32_t expect)
{
    const Secpol__V1__ValidateSessionResponse *validated =
        (const Secpol__V1__ValidateSessionResponse *)response;
    if (!validated->session)
        return false;
    const char *subject = validated->session->subject_id;
    char want[32];
    if (expect & S_TOTP_FLAG) { /* o<k>-<j>: the client is not known here */
        snprintf (want, sizeof want, "-%u", expect & 0xff);
        size_t length = strlen (subject), tail = strlen (want);
        return subject[0] == 'o' && length > tail && strcmp (subject + length - tail, want) == 0;
    }
    snprintf (want, sizeof want, "g%u", expect);
    return strcmp (subject, want) == 0;
}

/*  The code of the step reserved in expect, from the app's secret (liboath,
 *  as the app computes it). */
static const ProtobufCMessage *
s_login_totp_request (worker_t *worker, const ProtobufCMessage *response, uint32_t expect,
                      uint32_t *expect2)
{
    (void)response;
    *expect2 = expect;
    totp_app_t *app = &worker->run->apps[worker->index][expect & 0xff];
    int64_t now_step = (int64_t)time (NULL) / S_TOTP_PERIOD;
    int64_t step = now_step - 2;
    while ((step & 0xff) != (int64_t)((expect >> 8) & 0xff))
        step++;
    if (oath_totp_generate (app->secret, sizeof app->secret, (time_t)(step * S_TOTP_PERIOD),
                            S_TOTP_PERIOD, 0, 6, worker->code) != OATH_OK)
        worker->code[0] = '\0'; /* answered INVALID_ARGUMENT: counted as an error */
    s_lockout_workspace (worker);
    s_login_subject (worker, expect);
    worker->totp.workspace_id = worker->workspace_id;
    worker->totp.subject_id = worker->subject_id;
    worker->totp.code = worker->code;
    return &worker->totp.base;
}

static bool
s_otp_ok_check (const ProtobufCMessage *response, uint32_t expect)
{
    (void)expect;
    const Secpol__V1__OtpVerifyResponse *verified = (const Secpol__V1__OtpVerifyResponse *)response;
    return verified->ok && verified->reason[0] == '\0';
}

static const ProtobufCMessage *
s_reset_consume_request (worker_t *worker, const ProtobufCMessage *response, uint32_t expect,
                         uint32_t *expect2)
{
    const ProtobufCMessage *request = s_consume_request (worker, response, expect, expect2);
    s_lockout_workspace (worker);
    worker->consume.kind = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_PASSWORD_RESET;
    return request;
}

/*  Spent, and the reset link of subject r<k>-<expect>. */
static bool
s_reset_consume_check (const ProtobufCMessage *response, uint32_t expect)
{
    const Secpol__V1__TokenInfo *info = (const Secpol__V1__TokenInfo *)response;
    const char *dash = strrchr (info->subject_id, '-');
    return info->uses_left == 0 &&
           info->kind == SECPOL__V1__TOKEN_KIND__TOKEN_KIND_PASSWORD_RESET && dash &&
           strtoull (dash + 1, NULL, 10) == expect;
}

/*  Workspace <prefix>-o, where the OTP scenarios run: email codes on, the
 *  two-factor lockout off (verify_totp's refusals never lock), and
 *  S_TOTP_SUBJECTS subjects o<i> with an authenticator app, each begun and
 *  confirmed with the code liboath computes from the secret it was given
 *  at the server's time (Health/Check). Returns 0, or -1 after printing why. */
static int
s_prepare_otp (run_t *run, secpol_client_t *client)
{
    char workspace_id[96], subject_id[32];
    snprintf (workspace_id, sizeof workspace_id, "%s-o", run->prefix);
    Secpol__V1__LockoutSettings lockout = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    Secpol__V1__UpdatePolicyRequest update = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    char *mask[] = {"email_two_step_enabled", "authenticator_app_enabled",
                    "two_factor_lockout.max_failures"};
    policy.email_two_step_enabled = true;
    policy.authenticator_app_enabled = true;
    lockout.max_failures = 0;
    policy.two_factor_lockout = &lockout;
    update.workspace_id = workspace_id;
    update.community_id = "";
    update.policy = &policy;
    update.update_mask = mask;
    update.n_update_mask = sizeof mask / sizeof mask[0];
    update.actor = S_ACTOR;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, "/secpol.v1.PolicyService/UpdatePolicy", &update.base,
                                   &response);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    response = NULL;
    if (code == SECPOL_OK && oath_init () != OATH_OK) {
        fprintf (stderr, "secpol-bench: liboath does not start\n");
        return -1;
    }
    for (int i = 0; i < S_TOTP_SUBJECTS && code == SECPOL_OK; i++) {
        snprintf (subject_id, sizeof subject_id, "o%d", i);
        Secpol__V1__BeginTotpEnrollmentRequest begin =
            SECPOL__V1__BEGIN_TOTP_ENROLLMENT_REQUEST__INIT;
        begin.workspace_id = workspace_id;
        begin.subject_id = subject_id;
        begin.account_name = subject_id;
        begin.issuer = "secpol-bench";
        code = secpol_client_call (client, "/secpol.v1.OtpService/BeginTotpEnrollment", &begin.base,
                                   &response);
        if (code != SECPOL_OK)
            break;
        const char *base32 = ((Secpol__V1__BeginTotpEnrollmentResponse *)response)->secret_base32;
        char *secret = NULL, totp[16];
        size_t secret_size = 0;
        ProtobufCMessage *health = NULL;
        bool made = oath_base32_decode (base32, strlen (base32), &secret, &secret_size) == OATH_OK;
        protobuf_c_message_free_unpacked (response, NULL);
        response = NULL;
        code = secpol_client_call (client, "/secpol.v1.Health/Check", NULL, &health);
        made = made && code == SECPOL_OK &&
               oath_totp_generate (secret, secret_size,
                                   (time_t)((Secpol__V1__HealthCheckResponse *)health)->now,
                                   OATH_TOTP_DEFAULT_TIME_STEP_SIZE, OATH_TOTP_DEFAULT_START_TIME,
                                   6, totp) == OATH_OK;
        if (health)
            protobuf_c_message_free_unpacked (health, NULL);
        free (secret);
        if (!made) {
            fprintf (stderr, "secpol-bench: no TOTP code for the prepared subject %s\n",
                     subject_id);
            return -1;
        }
        Secpol__V1__ConfirmTotpEnrollmentRequest confirm =
            SECPOL__V1__CONFIRM_TOTP_ENROLLMENT_REQUEST__INIT;
        confirm.workspace_id = workspace_id;
        confirm.subject_id = subject_id;
        confirm.code = totp;
        code = secpol_client_call (client, "/secpol.v1.OtpService/ConfirmTotpEnrollment",
                                   &confirm.base, &response);
        bool confirmed =
            code == SECPOL_OK && ((Secpol__V1__ConfirmTotpEnrollmentResponse *)response)->ok;
        if (response)
            protobuf_c_message_free_unpacked (response, NULL);
        response = NULL;
        if (code == SECPOL_OK && !confirmed) {
            fprintf (stderr, "secpol-bench: the prepared subject %s's code was refused\n",
                     subject_id);
            return -1;
        }
    }
    if (code != SECPOL_OK) {
        fprintf (stderr, "secpol-bench: preparing the OTP workspace failed: %s %s\n",
                 secpol_status_name (code), secpol_client_status (client)->message);
        return -1;
    }
    return 0;
}

/*  An email code for a subject of its own: client k's n-th is e<k>-<n> (the
 *  cursor carries over from round to round), so every pair is the common
 *  path: issue, then verify the code it answered. */
static const ProtobufCMessage *
s_issue_otp_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    (void)seq; /* the client's own cursor, not seq, which restarts per scenario */
    uint32_t n = (uint32_t)worker->run->otp_cursor[worker->index]++;
    *expect = n;
    snprintf (worker->workspace_id, sizeof worker->workspace_id, "%s-o", worker->run->prefix);
    snprintf (worker->subject_id, sizeof worker->subject_id, "e%d-%" PRIu32, worker->index, n);
    worker->issue_otp.workspace_id = worker->workspace_id;
    worker->issue_otp.subject_id = worker->subject_id;
    worker->issue_otp.purpose = "sign_in";
    return &worker->issue_otp.base;
}

static bool
s_issue_otp_check (const ProtobufCMessage *response, uint32_t expect)
{
    (void)expect;
    const Secpol__V1__IssueEmailOtpResponse *issued =
        (const Secpol__V1__IssueEmailOtpResponse *)response;
    return strlen (issued->code) == 6 && strspn (issued->code, "0123456789") == 6 &&
           issued->expires_at > 0 && !issued->replaced;
}

static const ProtobufCMessage *
s_verify_otp_request (worker_t *worker, const ProtobufCMessage *response, uint32_t expect,
                      uint32_t *expect2)
{
    const Secpol__V1__IssueEmailOtpResponse *issued =
        (const Secpol__V1__IssueEmailOtpResponse *)response;
    snprintf (worker->code, sizeof worker->code, "%s", issued->code);
    *expect2 = expect;
    /* the subject of the issue this answers (calls are pipelined: not the
     * last one the worker named) */
    snprintf (worker->subject_id, sizeof worker->subject_id, "e%d-%" PRIu32, worker->index, expect);
    /* and its workspace: in a mix, calls of other scenarios went out since */
    snprintf (worker->workspace_id, sizeof worker->workspace_id, "%s-o", worker->run->prefix);
    worker->verify_otp.workspace_id = worker->workspace_id;
    worker->verify_otp.subject_id = worker->subject_id;
    worker->verify_otp.purpose = "sign_in";
    worker->verify_otp.code = worker->code;
    return &worker->verify_otp.base;
}

/*  The right code, accepted. */
static bool
s_verify_otp_check (const ProtobufCMessage *response, uint32_t expect)
{
    (void)expect;
    const Secpol__V1__OtpVerifyResponse *verdict = (const Secpol__V1__OtpVerifyResponse *)response;
    return verdict->ok && !*verdict->reason && verdict->lockout && !verdict->lockout->locked;
}

/*  Subject o<i> of the OTP workspace in turn, with S_TOTP_WRONG: every call
 *  opens a sealed secret and compares three codes, as an accepted one does
 *  (a subject can be accepted once per 30 s step, so a load of right codes
 *  cannot be sustained); no failure is stored (lockout off). */
static const ProtobufCMessage *
s_totp_request (worker_t *worker, uint64_t seq, uint32_t *expect)
{
    *expect = (uint32_t)((seq + (uint64_t)worker->index * 17) % S_TOTP_SUBJECTS);
    snprintf (worker->workspace_id, sizeof worker->workspace_id, "%s-o", worker->run->prefix);
    snprintf (worker->subject_id, sizeof worker->subject_id, "o%" PRIu32, *expect);
    worker->totp.workspace_id = worker->workspace_id;
    worker->totp.subject_id = worker->subject_id;
    worker->totp.code = S_TOTP_WRONG;
    return &worker->totp.base;
}

/*  Refused as a wrong code (or, one time in 333 333, accepted or replayed:
 *  S_TOTP_WRONG was right), the lockout off. */
static bool
s_totp_check (const ProtobufCMessage *response, uint32_t expect)
{
    (void)expect;
    const Secpol__V1__OtpVerifyResponse *verdict = (const Secpol__V1__OtpVerifyResponse *)response;
    return verdict->lockout && !verdict->lockout->locked && verdict->lockout->max_failures == 0 &&
           (verdict->ok || strcmp (verdict->reason, "invalid") == 0 ||
            strcmp (verdict->reason, "replayed") == 0);
}

/* --- running a scenario ---------------------------------------------------------- */

/*  The --alongside clients' figures, into result (their errors count as
 *  the scenario's: a run with any is not valid); frees their samples. */
static void
s_alongside_result (run_t *run, worker_t *workers, result_t *result)
{
    size_t n = 0;
    for (int i = 0; i < run->alongside_clients; i++)
        n += workers[i].n_latencies;
    int64_t *all = malloc ((n ? n : 1) * sizeof *all);
    size_t at = 0;
    for (int i = 0; i < run->alongside_clients; i++) {
        worker_t *worker = &workers[i];
        result->alongside_calls += worker->calls;
        if (worker->errors && !result->errors)
            /* precisions bound it: a scenario name and the worker's message */
            snprintf (result->first_error, sizeof result->first_error, "%.40s: %.200s",
                      run->alongside->name, worker->first_error);
        result->errors += worker->errors;
        if (all && worker->n_latencies)
            memcpy (all + at, worker->latencies, worker->n_latencies * sizeof *all);
        at += worker->n_latencies;
        free (worker->latencies);
        free (worker->tags);
        worker->latencies = NULL;
        worker->tags = NULL;
        worker->n_latencies = 0;
    }
    if (all) {
        qsort (all, n, sizeof *all, s_compare_i64);
        result->alongside_p50_us = s_percentile_us (all, n, 500);
        result->alongside_p99_us = s_percentile_us (all, n, 990);
    }
    result->alongside_calls_per_sec = (double)result->alongside_calls / run->seconds;
    free (all);
}

static void
s_run_scenario (run_t *run, const scenario_t *scenario, bool echo, result_t *result)
{
    memset (result, 0, sizeof *result);
    result->scenario = scenario;
    result->echo = echo;
    result->clients = run->clients;
    result->depth = scenario->depth ? scenario->depth : run->depth;
    result->window_s = run->seconds;
    result->rate = run->rate;
    run->finished = 0;
    __atomic_store_n (&run->replies, 0, __ATOMIC_RELAXED);
    /* --alongside: its clients run with every measured scenario but the baseline */
    bool alongside = run->alongside && !echo && scenario != &s_scenarios[0];
    int total = run->clients + (alongside ? run->alongside_clients : 0);
    result->alongside = alongside ? run->alongside : NULL;

    worker_t *workers = calloc ((size_t)total, sizeof *workers);
    if (!workers) {
        result->errors = 1;
        snprintf (result->first_error, sizeof result->first_error, "out of memory");
        return;
    }
    pthread_barrier_init (&run->gate, NULL, (unsigned)total + 1);
    int started = 0;
    for (int i = 0; i < total; i++) {
        worker_t *worker = &workers[i];
        worker->run = run;
        worker->scenario = i < run->clients ? scenario : run->alongside;
        worker->closed = i >= run->clients;
        for (size_t k = 0; k < S_FLOWS; k++)
            for (size_t j = 0; j < S_SCENARIOS; j++)
                if (strcmp (s_flows[k].scenario, s_scenarios[j].name) == 0)
                    worker->flows[j] = &s_flows[k];
        worker->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) ^ (uint64_t)s_now_ns ();
        worker->endpoint = echo ? run->echo_endpoint : run->endpoint;
        worker->echo = echo;
        worker->index = i;
        worker->depth = i < run->clients        ? result->depth
                        : run->alongside->depth ? run->alongside->depth
                                                : run->depth;
        worker->get = (Secpol__V1__GetPolicyRequest)SECPOL__V1__GET_POLICY_REQUEST__INIT;
        worker->headers = (Secpol__V1__RenderSecurityHeadersRequest)
            SECPOL__V1__RENDER_SECURITY_HEADERS_REQUEST__INIT;
        worker->upload =
            (Secpol__V1__CheckFileUploadRequest)SECPOL__V1__CHECK_FILE_UPLOAD_REQUEST__INIT;
        worker->update = (Secpol__V1__UpdatePolicyRequest)SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
        worker->policy = (Secpol__V1__Policy)SECPOL__V1__POLICY__INIT;
        worker->validate =
            (Secpol__V1__ValidateSessionRequest)SECPOL__V1__VALIDATE_SESSION_REQUEST__INIT;
        worker->issue = (Secpol__V1__IssueTokenRequest)SECPOL__V1__ISSUE_TOKEN_REQUEST__INIT;
        worker->consume = (Secpol__V1__ConsumeTokenRequest)SECPOL__V1__CONSUME_TOKEN_REQUEST__INIT;
        worker->lockout = (Secpol__V1__LockoutRequest)SECPOL__V1__LOCKOUT_REQUEST__INIT;
        worker->password =
            (Secpol__V1__CheckPasswordRequest)SECPOL__V1__CHECK_PASSWORD_REQUEST__INIT;
        worker->create = (Secpol__V1__CreateSessionRequest)SECPOL__V1__CREATE_SESSION_REQUEST__INIT;
        worker->issue_otp =
            (Secpol__V1__IssueEmailOtpRequest)SECPOL__V1__ISSUE_EMAIL_OTP_REQUEST__INIT;
        worker->verify_otp =
            (Secpol__V1__VerifyEmailOtpRequest)SECPOL__V1__VERIFY_EMAIL_OTP_REQUEST__INIT;
        worker->totp = (Secpol__V1__VerifyTotpRequest)SECPOL__V1__VERIFY_TOTP_REQUEST__INIT;
        if (pthread_create (&worker->thread, NULL, s_worker, worker) != 0)
            break;
        started++;
    }
    if (started < total) {
        /* Cannot happen on a sane system; the started threads must still pass the gate. */
        fprintf (stderr, "secpol-bench: cannot start client threads\n");
        exit (1);
    }
    pthread_barrier_wait (&run->gate); /* every client connected (or failed) */
    run->window_start_ns = s_now_ns () + (int64_t)(run->warmup * S_NS_PER_SEC);
    run->window_end_ns = run->window_start_ns + (int64_t)(run->seconds * S_NS_PER_SEC);
    pthread_barrier_wait (&run->gate); /* go */
    s_progress (run, result);
    for (int i = 0; i < total; i++)
        pthread_join (workers[i].thread, NULL);
    pthread_barrier_destroy (&run->gate);
    if (alongside)
        s_alongside_result (run, workers + run->clients, result);

    size_t n = 0;
    for (int i = 0; i < run->clients; i++)
        n += workers[i].n_latencies;
    int64_t *all = malloc ((n ? n : 1) * sizeof *all);
    uint16_t *tags = malloc ((n ? n : 1) * sizeof *tags);
    if (!tags) {
        free (all);
        all = NULL;
    }
    size_t at = 0;
    for (int i = 0; i < run->clients; i++) {
        worker_t *worker = &workers[i];
        result->calls += worker->calls;
        result->total += worker->total;
        if (worker->errors && !result->errors)
            snprintf (result->first_error, sizeof result->first_error, "%s", worker->first_error);
        result->errors += worker->errors;
        if (all && worker->n_latencies) {
            memcpy (all + at, worker->latencies, worker->n_latencies * sizeof *all);
            memcpy (tags + at, worker->tags, worker->n_latencies * sizeof *tags);
        }
        at += worker->n_latencies;
        free (worker->latencies);
        free (worker->tags);
    }
    if (!all) {
        result->errors++;
        snprintf (result->first_error, sizeof result->first_error, "out of memory");
        n = 0;
    }
    s_by_method (result, all, tags, n);
    free (tags);
    qsort (all, n, sizeof *all, s_compare_i64);
    result->calls_per_sec = (double)result->calls / run->seconds;
    result->p50_us = s_percentile_us (all, n, 500);
    result->p90_us = s_percentile_us (all, n, 900);
    result->p99_us = s_percentile_us (all, n, 990);
    result->p999_us = s_percentile_us (all, n, 999);
    result->max_us = n ? (double)all[n - 1] / 1000.0 : 0;
    if (result->total == 0 && !result->errors) {
        result->errors = 1;
        snprintf (result->first_error, sizeof result->first_error, "no call completed at all");
    } else if (result->calls == 0 && !result->errors)
        /* replies came, all of them outside the window: a stall longer than
         * the window (a loaded machine), not a wrong answer */
        snprintf (result->warning, sizeof result->warning,
                  "no call completed within the %.1f s measured window (%" PRIu64
                  " outside it): the machine stalled; rerun with a longer --seconds",
                  run->seconds, result->total);
    free (all);
    free (workers);
}

/*  A client of endpoint that waited for a first answer (NULL when none
 *  came): with CURVE as --server-key and --client-cert (or the
 *  environment) say for secpold; plain text for secpol-echo, which knows
 *  no CURVE. */
static secpol_client_t *
s_client (const run_t *run, const char *endpoint)
{
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.timeout_ms = run->timeout_ms;
    options.check_server = true;
    bool echo = run->echo_endpoint && strcmp (endpoint, run->echo_endpoint) == 0;
    options.server_key = echo ? "" : run->server_key;
    options.client_cert = echo ? "" : run->client_cert;
    return secpol_client_open (endpoint, &options, NULL);
}

/*  The wire path of a latency tag (scenario x S_MAX_STEPS + step). */
static const char *
s_tag_method (uint16_t tag)
{
    size_t scenario = tag / S_MAX_STEPS, step = tag % S_MAX_STEPS;
    if (step == 0)
        return s_scenarios[scenario].method;
    for (size_t k = 0; k < S_FLOWS; k++)
        if (strcmp (s_flows[k].scenario, s_scenarios[scenario].name) == 0)
            return s_flows[k].steps[step].method;
    return "?";
}

/*  Latency percentiles per method, when the result has more than one
 *  (flows, mixes): a method's samples gathered, sorted, ranked. */
static void
s_by_method (result_t *result, const int64_t *all, const uint16_t *tags, size_t n)
{
    result->n_methods = 0;
    if (!all || n == 0)
        return;
    const char *methods[S_MAX_METHODS];
    size_t n_methods = 0;
    for (size_t i = 0; i < n; i++) {
        const char *method = s_tag_method (tags[i]);
        size_t k = 0;
        while (k < n_methods && strcmp (methods[k], method) != 0)
            k++;
        if (k == n_methods && n_methods < S_MAX_METHODS)
            methods[n_methods++] = method;
    }
    if (n_methods < 2)
        return;
    int64_t *samples = malloc (n * sizeof *samples);
    if (!samples)
        return;
    for (size_t k = 0; k < n_methods; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp (s_tag_method (tags[i]), methods[k]) == 0)
                samples[m++] = all[i];
        qsort (samples, m, sizeof *samples, s_compare_i64);
        method_result_t *out = &result->methods[result->n_methods++];
        out->method = methods[k];
        out->calls = m;
        out->p50_us = s_percentile_us (samples, m, 500);
        out->p90_us = s_percentile_us (samples, m, 900);
        out->p99_us = s_percentile_us (samples, m, 990);
        out->p999_us = s_percentile_us (samples, m, 999);
        out->max_us = m ? (double)samples[m - 1] / 1000.0 : 0;
    }
    free (samples);
}

/*  Waits for the clients of a scenario to finish; on a terminal, prints a
 *  progress line once a second meanwhile. */
static void
s_progress (run_t *run, const result_t *result)
{
    bool terminal = isatty (STDERR_FILENO);
    int64_t began = s_now_ns ();
    uint64_t before = 0;
    int total = run->clients + (result->alongside ? run->alongside_clients : 0);
    pthread_mutex_lock (&run->progress_mutex);
    for (int second = 1; run->finished < total; second++) {
        struct timespec until;
        clock_gettime (CLOCK_MONOTONIC, &until);
        until.tv_sec += 1;
        while (run->finished < total &&
               pthread_cond_timedwait (&run->progress_done, &run->progress_mutex, &until) == 0)
            ;
        if (!terminal || run->finished >= total)
            continue;
        uint64_t replies = __atomic_load_n (&run->replies, __ATOMIC_RELAXED);
        int64_t now = s_now_ns ();
        const char *phase = now < run->window_start_ns  ? "warm-up"
                            : now <= run->window_end_ns ? "measuring"
                                                        : "draining";
        fprintf (stderr, "secpol-bench: %-22s %3ds %-9s %9" PRIu64 " replies/s",
                 result->scenario->name, second, phase, replies - before);
        if (run->rate > 0)
            fprintf (stderr, " (offered %.0f/s)", run->rate);
        fprintf (stderr, "  %.1f s\n", (double)(now - began) / S_NS_PER_SEC);
        before = replies;
    }
    pthread_mutex_unlock (&run->progress_mutex);
}

/*  Sends one call and books it in the slots; false after a local failure. */
static bool
s_send (worker_t *worker, const char *method, const ProtobufCMessage *request, int64_t sent_ns,
        uint32_t expect, size_t scenario, int step)
{
    uint64_t call_id = 0;
    int code = secpol_client_send (worker->client, method, request, &call_id);
    if (code != SECPOL_OK) {
        s_worker_error (worker, "send: %s: %s", secpol_status_name (code),
                        secpol_client_status (worker->client)->message);
        return false;
    }
    slot_t *slot = s_slot_add (worker, call_id);
    slot->sent_ns = sent_ns;
    slot->expect = expect;
    slot->scenario = (uint8_t)scenario;
    slot->step = (uint8_t)step;
    return true;
}

/*  The scenario of a first call: the worker's own, or with --mix one picked
 *  by weight. */
static size_t
s_pick (worker_t *worker)
{
    run_t *run = worker->run;
    size_t own = (size_t)(worker->scenario - s_scenarios);
    if (worker->scenario->request || run->mix_total == 0)
        return own;
    uint64_t roll = s_random (worker) % run->mix_total;
    for (size_t i = 0; i < S_SCENARIOS; i++) {
        if (roll < run->mix_weight[i])
            return i;
        roll -= run->mix_weight[i];
    }
    return 0;
}

/*  One client: keeps depth calls in flight until the window ends (closed
 *  loop), or with --rate sends its share of the calls at fixed times, at
 *  most depth in flight (open loop: a call that waits for a free place is
 *  late, and its latency counts from the time it was due, as wrk2 does, so
 *  a stall shows instead of slowing the load down); then collects every
 *  reply still due. */
static void *
s_worker (void *arg)
{
    worker_t *worker = arg;
    run_t *run = worker->run;
    worker->client = s_client (run, worker->endpoint);
    size_t slots = 16;
    while (slots < 4 * (size_t)worker->depth)
        slots *= 2;
    worker->slots = calloc (slots, sizeof *worker->slots);
    worker->slot_mask = slots - 1;
    pthread_barrier_wait (&run->gate);
    pthread_barrier_wait (&run->gate);
    if (!worker->client || !worker->slots) {
        s_worker_error (worker, "cannot connect to %s", worker->endpoint);
        goto done;
    }

    const int64_t start = run->window_start_ns, end = run->window_end_ns;
    const bool open_loop = run->rate > 0 && !worker->closed;
    /* open loop: this client's calls are due every interval, the clients
     * staggered across it */
    const double interval = open_loop ? (double)S_NS_PER_SEC * run->clients / run->rate : 0;
    const int64_t first_due = s_now_ns () + (int64_t)(interval * worker->index / run->clients);
    uint64_t due_calls = 0;
    size_t in_flight = 0;
    uint64_t seq = 0;
    bool sending = true;
    const int wait_forever = run->timeout_ms + 1000; /* every call ends by its own timeout */
    while (true) {
        int64_t now = s_now_ns ();
        if (sending && now >= end)
            sending = false;
        int64_t due = first_due + (int64_t)(interval * (double)due_calls);
        while (sending && in_flight < (size_t)worker->depth && (!open_loop || due <= now)) {
            uint32_t expect = 0;
            size_t scenario = s_pick (worker);
            worker->call_step = 0;
            const ProtobufCMessage *request =
                s_scenarios[scenario].request
                    ? s_scenarios[scenario].request (worker, seq++, &expect)
                    : NULL;
            const char *method = worker->call_step
                                     ? worker->flows[scenario]->steps[worker->call_step].method
                                     : s_scenarios[scenario].method;
            if (!s_send (worker, method, request, open_loop ? due : s_now_ns (), expect, scenario,
                         worker->call_step)) {
                sending = false; /* a local failure: more sends would fail alike */
                break;
            }
            in_flight++;
            due = first_due + (int64_t)(interval * (double)++due_calls);
        }
        if (in_flight == 0 && !sending)
            break;
        int wait_ms = wait_forever;
        if (open_loop && sending && in_flight < (size_t)worker->depth) {
            int64_t gap = due - s_now_ns ();
            if (gap <= 0)
                continue;
            if (gap >= 1000000)
                wait_ms = (int)(gap / 1000000);
            else if (in_flight == 0) { /* nothing can arrive: sleep until due */
                struct timespec nap = {0, (long)gap};
                nanosleep (&nap, NULL);
                continue;
            } else
                wait_ms = 0;
        }
        uint64_t call_id = 0;
        ProtobufCMessage *response = NULL;
        int code = secpol_client_recv (worker->client, wait_ms, &call_id, &response);
        int64_t received = s_now_ns ();
        if (call_id == 0 && wait_ms < wait_forever) {
            if (wait_ms == 0) { /* the next call is due in under 1 ms: look again soon */
                int64_t gap = due - received;
                struct timespec nap = {0,
                                       (long)(gap < S_POLL_NS ? (gap > 0 ? gap : 0) : S_POLL_NS)};
                nanosleep (&nap, NULL);
            }
            continue;
        }
        slot_t *slot = call_id ? s_slot_find (worker, call_id) : NULL;
        if (!slot) {
            protobuf_c_message_free_unpacked (response, NULL);
            s_worker_error (worker, "recv: %s: %s (%zu calls in flight abandoned)",
                            secpol_status_name (code),
                            secpol_client_status (worker->client)->message, in_flight);
            break;
        }
        worker->total++;
        __atomic_fetch_add (&run->replies, 1, __ATOMIC_RELAXED);
        const flow_t *flow = worker->flows[slot->scenario];
        bool (*check) (const ProtobufCMessage *, uint32_t) =
            slot->step ? flow->steps[slot->step].check : s_scenarios[slot->scenario].check;
        bool good = code == SECPOL_OK && (worker->echo || !check || check (response, slot->expect));
        if (code != SECPOL_OK)
            s_worker_error (worker, "%s: %s: %s",
                            s_tag_method ((uint16_t)(slot->scenario * S_MAX_STEPS + slot->step)),
                            secpol_status_name (code),
                            secpol_client_status (worker->client)->message);
        else if (!good)
            s_worker_error (worker,
                            "a reply of %s with status OK says something else than the "
                            "prepared data implies",
                            s_tag_method ((uint16_t)(slot->scenario * S_MAX_STEPS + slot->step)));
        /* the next call of a flow goes out at once, in this call's place */
        const ProtobufCMessage *next = NULL;
        uint32_t next_expect = 0;
        int next_step = 0;
        if (good && !worker->echo && flow) {
            next_step = flow->next ? flow->next (worker, slot->step, response, slot->expect)
                                   : slot->step == 0;
            if (next_step && sending)
                next =
                    flow->steps[next_step].request (worker, response, slot->expect, &next_expect);
        }
        protobuf_c_message_free_unpacked (response, NULL);
        if (received >= start && received <= end)
            worker->calls++;
        /* every call due in the window counts, answered in it or after: a
         * stall across the window's end is measured, not left out */
        if (slot->sent_ns >= start && slot->sent_ns <= end) {
            if (worker->n_latencies == worker->latencies_size) {
                size_t size = worker->latencies_size ? 2 * worker->latencies_size : 65536;
                int64_t *grown = realloc (worker->latencies, size * sizeof *grown);
                uint16_t *grown_tags =
                    grown ? realloc (worker->tags, size * sizeof *grown_tags) : NULL;
                if (grown)
                    worker->latencies = grown;
                if (!grown || !grown_tags) {
                    s_worker_error (worker, "out of memory for latency samples");
                    break;
                }
                worker->tags = grown_tags;
                worker->latencies_size = size;
            }
            worker->tags[worker->n_latencies] =
                (uint16_t)(slot->scenario * S_MAX_STEPS + slot->step);
            worker->latencies[worker->n_latencies++] = received - slot->sent_ns;
        }
        size_t scenario = slot->scenario;
        s_slot_remove (worker, slot);
        in_flight--;
        if (next) {
            if (!s_send (worker, flow->steps[next_step].method, next, s_now_ns (), next_expect,
                         scenario, next_step)) {
                sending = false;
                continue;
            }
            in_flight++;
        }
    }

done:
    free (worker->slots);
    worker->slots = NULL;
    secpol_client_destroy (&worker->client);
    pthread_mutex_lock (&run->progress_mutex);
    run->finished++;
    pthread_cond_signal (&run->progress_done);
    pthread_mutex_unlock (&run->progress_mutex);
    return NULL;
}

static void
s_worker_error (worker_t *worker, const char *fmt, ...)
{
    if (worker->errors++ == 0) {
        va_list args;
        va_start (args, fmt);
        vsnprintf (worker->first_error, sizeof worker->first_error, fmt, args);
        va_end (args);
    }
}

/*  The slots are an open-addressed table (linear probing, size a power of
 *  two, at least 4 x depth): call ids are sequential, so they spread well. */
static slot_t *
s_slot_add (worker_t *worker, uint64_t call_id)
{
    size_t i = call_id & worker->slot_mask;
    while (worker->slots[i].call_id)
        i = (i + 1) & worker->slot_mask;
    worker->slots[i].call_id = call_id;
    return &worker->slots[i];
}

static slot_t *
s_slot_find (worker_t *worker, uint64_t call_id)
{
    for (size_t i = call_id & worker->slot_mask; worker->slots[i].call_id;
         i = (i + 1) & worker->slot_mask)
        if (worker->slots[i].call_id == call_id)
            return &worker->slots[i];
    return NULL;
}

/*  Deletes by shifting later entries of the probe run back (no tombstones). */
static void
s_slot_remove (worker_t *worker, slot_t *slot)
{
    size_t mask = worker->slot_mask;
    size_t hole = (size_t)(slot - worker->slots);
    for (size_t j = (hole + 1) & mask; worker->slots[j].call_id; j = (j + 1) & mask) {
        size_t home = worker->slots[j].call_id & mask;
        /* Entry j may move to the hole unless its home lies in (hole, j]. */
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            worker->slots[hole] = worker->slots[j];
            hole = j;
        }
    }
    worker->slots[hole].call_id = 0;
}

/* --- statistics and reports ---------------------------------------------------------- */

static int
s_compare_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/*  Nearest-rank percentile of sorted ns samples, in microseconds. */
static double
s_percentile_us (const int64_t *sorted, size_t n, unsigned per_mille)
{
    if (n == 0)
        return 0;
    size_t rank = (n * per_mille + 999) / 1000; /* ceil (n * p) */
    if (rank < 1)
        rank = 1;
    return (double)sorted[rank - 1] / 1000.0;
}

static double
s_ratio (double value, double base)
{
    return base > 0 ? value / base : 0;
}

static int
s_compare_double (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*  Median of n values (sorts them). */
static double
s_median (double *values, size_t n)
{
    qsort (values, n, sizeof *values, s_compare_double);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/*  One scenario's rounds (measured[k], measured[k + stride], ...) as one
 *  result: counts summed, every rate and percentile the median of the rounds. */
static void
s_summarise (result_t *out, const result_t *measured, size_t k, size_t stride, int rounds)
{
    *out = measured[k];
    out->rounds = rounds;
    out->calls = out->total = out->errors = 0;
    out->window_s = 0;
    double values[5][S_MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        const result_t *one = &measured[(size_t)r * stride + k];
        out->calls += one->calls;
        out->total += one->total;
        out->window_s += one->window_s;
        if (one->errors && !out->errors)
            snprintf (out->first_error, sizeof out->first_error, "%s", one->first_error);
        if (*one->warning && !*out->warning)
            snprintf (out->warning, sizeof out->warning, "%s", one->warning);
        out->errors += one->errors;
        out->round_calls_per_sec[r] = one->calls_per_sec;
        values[0][r] = one->calls_per_sec;
        values[1][r] = one->p50_us;
        values[2][r] = one->p90_us;
        values[3][r] = one->p99_us;
        values[4][r] = one->p999_us;
        if (one->max_us > out->max_us)
            out->max_us = one->max_us;
    }
    out->calls_per_sec = s_median (values[0], (size_t)rounds);
    out->p50_us = s_median (values[1], (size_t)rounds);
    out->p90_us = s_median (values[2], (size_t)rounds);
    out->p99_us = s_median (values[3], (size_t)rounds);
    out->p999_us = s_median (values[4], (size_t)rounds);
}

static const result_t *
s_find (const result_t *results, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (results[i].scenario->name, name) == 0)
            return &results[i];
    return NULL;
}

/*  The spread of a scenario's calls/s over its rounds, in % of the median;
 *  negative with a single round (no spread to tell). */
static double
s_spread (const result_t *r)
{
    if (r->rounds < 2 || r->calls_per_sec <= 0)
        return -1;
    double low = r->round_calls_per_sec[0], high = low;
    for (int i = 1; i < r->rounds; i++) {
        if (r->round_calls_per_sec[i] < low)
            low = r->round_calls_per_sec[i];
        if (r->round_calls_per_sec[i] > high)
            high = r->round_calls_per_sec[i];
    }
    return 100.0 * (high - low) / r->calls_per_sec;
}

/*  How many results, from the first, were measured against secpold: the
 *  echo's follow them. */
static size_t
s_secpold_results (const result_t *results, size_t n)
{
    size_t m = 0;
    while (m < n && !results[m].echo)
        m++;
    return m;
}

/*  Ratio k of s_echo_ratios: secpold's calls/s over the echo's, and the two
 *  results; -1 when either was not measured. */
static double
s_echo_ratio (const result_t **secpold_p, const result_t **echo_p, const result_t *results,
              size_t n, size_t k)
{
    size_t m = s_secpold_results (results, n);
    *secpold_p = s_find (results, m, s_echo_ratios[k].scenario);
    *echo_p = s_find (results + m, n - m, s_echo_ratios[k].scenario);
    if (!*secpold_p || !*echo_p)
        return -1;
    return s_ratio ((*secpold_p)->calls_per_sec, (*echo_p)->calls_per_sec);
}

/*  Text and JSON reports: secpold's scenarios, ratios against the first
 *  (the baseline); then, when the echo ran, its scenarios and the ratios of
 *  s_echo_ratios. */
static void
s_print_text (FILE *out, const run_t *run, const result_t *results, size_t n)
{
    const result_t *base = &results[0];
    size_t m = s_secpold_results (results, n);
    fprintf (out,
             "secpol-bench: %s at %s, %d clients x depth %d, %.2f s per scenario after %.2f s "
             "warm-up, %d round%s\n",
             run->server, run->endpoint, run->clients, run->depth, run->seconds, run->warmup,
             run->rounds,
             run->rounds > 1 ? "s (medians; spread = (max - min) / median of calls/s)" : "");
    fprintf (out,
             "ratios are against %s measured in this run: calls/s x (above 1 = faster), "
             "latency x (above 1 = slower)\n\n",
             base->scenario->name);
    fprintf (out, "%-22s %-5s %7s %5s %9s %9s %7s %9s %9s %6s %7s %6s %6s\n", "scenario", "lane",
             "clients", "depth", "calls", "calls/s", "spread", "p50 us", "p99 us", "errors",
             "tput x", "p50 x", "p99 x");
    for (size_t i = 0; i < m; i++) {
        const result_t *r = &results[i];
        char spread[16] = "-";
        if (s_spread (r) >= 0)
            snprintf (spread, sizeof spread, "%.0f%%", s_spread (r));
        fprintf (out,
                 "%-22s %-5s %7d %5d %9" PRIu64 " %9.0f %7s %9.1f %9.1f %6" PRIu64
                 " %7.3f %6.2f %6.2f\n",
                 r->scenario->name, r->scenario->lane, r->clients, r->depth, r->calls,
                 r->calls_per_sec, spread, r->p50_us, r->p99_us, r->errors,
                 s_ratio (r->calls_per_sec, base->calls_per_sec), s_ratio (r->p50_us, base->p50_us),
                 s_ratio (r->p99_us, base->p99_us));
    }
    const result_t *batched = s_find (results, m, "update_policy");
    const result_t *single = s_find (results, m, "update_policy_d1");
    if (batched && single)
        fprintf (out,
                 "\ngroup commit: depth %d writes %.2fx the calls/s of depth %d "
                 "(%.0f vs %.0f writes/s)\n",
                 batched->depth, s_ratio (batched->calls_per_sec, single->calls_per_sec),
                 single->depth, batched->calls_per_sec, single->calls_per_sec);
    if (m < n) {
        fprintf (out,
                 "\nfront end: secpold's calls/s over secpol-echo's (bench/echo.c: one thread "
                 "answering every call at once,\nthe raw transport) at %s, the same clients x "
                 "depth; targets from issue 6\n",
                 run->echo_endpoint);
        fprintf (out, "%-22s %9s %9s %11s %11s %11s %7s %s\n", "ratio", "secpold/s", "echo/s",
                 "echo spread", "echo p50 us", "echo p99 us", "ratio", "target");
    }
    for (size_t k = 0; k < S_ECHO_RATIOS; k++) {
        const result_t *secpold, *echo;
        double ratio = s_echo_ratio (&secpold, &echo, results, n, k);
        if (ratio < 0)
            continue;
        char spread[16] = "-";
        if (s_spread (echo) >= 0)
            snprintf (spread, sizeof spread, "%.0f%%", s_spread (echo));
        fprintf (out, "%-22s %9.0f %9.0f %11s %11.1f %11.1f %7.3f >= %.2f %s\n",
                 s_echo_ratios[k].ratio, secpold->calls_per_sec, echo->calls_per_sec, spread,
                 echo->p50_us, echo->p99_us, ratio, s_echo_ratios[k].target,
                 ratio >= s_echo_ratios[k].target ? "met" : "BELOW");
    }
    for (size_t i = 0; i < m; i++) {
        const result_t *r = &results[i];
        if (r->n_methods)
            fprintf (out, "\n%s by method (first round): %-30s %9s %9s %9s %9s %9s %9s\n",
                     r->scenario->name, "", "calls", "p50 us", "p90 us", "p99 us", "p99.9 us",
                     "max us");
        for (size_t k = 0; k < r->n_methods; k++) {
            const method_result_t *mr = &r->methods[k];
            fprintf (out, "  %-60s %9" PRIu64 " %9.1f %9.1f %9.1f %9.1f %9.1f\n", mr->method,
                     mr->calls, mr->p50_us, mr->p90_us, mr->p99_us, mr->p999_us, mr->max_us);
        }
    }
    for (size_t i = 0; i < m; i++)
        if (results[i].alongside)
            fprintf (out,
                     "alongside %s: %s, %d clients closed loop: %.0f calls/s, p50 %.1f us, p99 "
                     "%.1f us\n",
                     results[i].scenario->name, results[i].alongside->name, run->alongside_clients,
                     results[i].alongside_calls_per_sec, results[i].alongside_p50_us,
                     results[i].alongside_p99_us);
    if (run->rate > 0)
        fprintf (out,
                 "\nopen loop: %.0f calls/s offered in all, at fixed times; latency from the time "
                 "each call was due\n",
                 run->rate);
    fprintf (out, "\n");
    for (size_t i = 0; i < m; i++)
        fprintf (out, "  %-22s %s\n", results[i].scenario->name, results[i].scenario->what);
    for (size_t i = 0; i < n; i++)
        if (results[i].errors)
            fprintf (out, "ERRORS in %s%s: %" PRIu64 ", first: %s\n",
                     results[i].echo ? "secpol-echo " : "", results[i].scenario->name,
                     results[i].errors, results[i].first_error);
    for (size_t i = 0; i < n; i++)
        if (*results[i].warning)
            fprintf (out, "WARNING for %s%s: %s\n", results[i].echo ? "secpol-echo " : "",
                     results[i].scenario->name, results[i].warning);
}

static void
s_print_json (FILE *out, const run_t *run, const result_t *results, size_t n)
{
    const result_t *base = &results[0];
    size_t m = s_secpold_results (results, n);
    fprintf (out, "{\n  \"server\": ");
    s_json_string (out, run->server);
    fprintf (out, ",\n  \"endpoint\": ");
    s_json_string (out, run->endpoint);
    fprintf (out,
             ",\n  \"clients\": %d,\n  \"depth\": %d,\n  \"seconds\": %.3f,\n"
             "  \"warmup_seconds\": %.3f,\n  \"rounds\": %d,\n  \"timeout_ms\": %d,\n"
             "  \"workspaces\": %d,\n  \"subjects\": %d,\n  \"tokens\": %d,\n"
             "  \"rate\": %.1f,\n  \"mix\": {",
             run->clients, run->depth, run->seconds, run->warmup, run->rounds, run->timeout_ms,
             run->pool * run->clients, run->subjects, run->tokens, run->rate);
    const char *comma = "";
    for (size_t i = 0; i < S_SCENARIOS; i++)
        if (run->mix_weight[i]) {
            fprintf (out, "%s\"%s\": %u", comma, s_scenarios[i].name, run->mix_weight[i]);
            comma = ", ";
        }
    fprintf (out, "},\n  \"baseline\": ");
    s_json_string (out, base->scenario->name);
    fprintf (out, ",\n  \"scenarios\": [\n");
    for (size_t i = 0; i < m; i++)
        s_print_json_scenario (out, &results[i], base, i + 1 == m);
    fprintf (out, "  ],\n");
    if (m < n) {
        fprintf (out, "  \"echo\": {\"endpoint\": ");
        s_json_string (out, run->echo_endpoint);
        fprintf (out, ", \"scenarios\": [\n");
        for (size_t i = m; i < n; i++)
            s_print_json_scenario (out, &results[i], &results[m], i + 1 == n);
        fprintf (out, "  ]},\n  \"front_end\": [");
        const char *separator = "\n";
        for (size_t k = 0; k < S_ECHO_RATIOS; k++) {
            const result_t *secpold, *echo;
            double ratio = s_echo_ratio (&secpold, &echo, results, n, k);
            if (ratio < 0)
                continue;
            fprintf (out, "%s    {\"ratio\": ", separator);
            s_json_string (out, s_echo_ratios[k].ratio);
            fprintf (out, ", \"scenario\": ");
            s_json_string (out, s_echo_ratios[k].scenario);
            fprintf (out,
                     ", \"calls_per_sec\": %.1f, \"echo_calls_per_sec\": %.1f,\n"
                     "     \"value\": %.4f, \"target\": %.2f, \"met\": %s}",
                     secpold->calls_per_sec, echo->calls_per_sec, ratio, s_echo_ratios[k].target,
                     ratio >= s_echo_ratios[k].target ? "true" : "false");
            separator = ",\n";
        }
        fprintf (out, "\n  ],\n");
    }
    uint64_t errors = 0;
    for (size_t i = 0; i < n; i++)
        errors += results[i].errors;
    const result_t *batched = s_find (results, m, "update_policy");
    const result_t *single = s_find (results, m, "update_policy_d1");
    if (batched && single)
        fprintf (out, "  \"group_commit_speedup\": %.4f,\n",
                 s_ratio (batched->calls_per_sec, single->calls_per_sec));
    fprintf (out, "  \"errors\": %" PRIu64 "\n}\n", errors);
}

/*  One scenario's object in a "scenarios" list, its ratios against base. */
static void
s_print_json_scenario (FILE *out, const result_t *r, const result_t *base, bool last)
{
    fprintf (out, "    {\"name\": ");
    s_json_string (out, r->scenario->name);
    fprintf (out, ", \"method\": ");
    s_json_string (out, r->scenario->method);
    fprintf (out, ", \"lane\": ");
    s_json_string (out, r->scenario->lane);
    fprintf (out,
             ", \"clients\": %d, \"depth\": %d, \"seconds\": %.3f,\n"
             "     \"calls\": %" PRIu64 ", \"calls_total\": %" PRIu64 ", \"errors\": %" PRIu64
             ", \"calls_per_sec\": %.1f, \"calls_per_sec_rounds\": [",
             r->clients, r->depth, r->window_s, r->calls, r->total, r->errors, r->calls_per_sec);
    for (int k = 0; k < r->rounds; k++)
        fprintf (out, "%s%.1f", k ? ", " : "", r->round_calls_per_sec[k]);
    fprintf (out,
             "],\n"
             "     \"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, "
             "\"p999\": %.1f, \"max\": %.1f},\n"
             "     \"ratio\": {\"calls_per_sec\": %.4f, \"p50\": %.4f, \"p99\": %.4f}",
             r->p50_us, r->p90_us, r->p99_us, r->p999_us, r->max_us,
             s_ratio (r->calls_per_sec, base->calls_per_sec), s_ratio (r->p50_us, base->p50_us),
             s_ratio (r->p99_us, base->p99_us));
    fprintf (out, ",\n     \"offered_rate\": %.1f", r->rate);
    if (r->alongside) {
        fprintf (out, ",\n     \"alongside\": {\"name\": ");
        s_json_string (out, r->alongside->name);
        fprintf (out,
                 ", \"calls\": %" PRIu64 ", \"calls_per_sec\": %.1f, \"latency_us\": "
                 "{\"p50\": %.1f, \"p99\": %.1f}}",
                 r->alongside_calls, r->alongside_calls_per_sec, r->alongside_p50_us,
                 r->alongside_p99_us);
    }
    if (r->n_methods) {
        fprintf (out, ",\n     \"methods\": [");
        for (size_t k = 0; k < r->n_methods; k++) {
            const method_result_t *m = &r->methods[k];
            fprintf (out, "%s\n       {\"method\": ", k ? "," : "");
            s_json_string (out, m->method);
            fprintf (out,
                     ", \"calls\": %" PRIu64 ", \"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, "
                     "\"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f}}",
                     m->calls, m->p50_us, m->p90_us, m->p99_us, m->p999_us, m->max_us);
        }
        fprintf (out, "]");
    }
    if (r->errors) {
        fprintf (out, ",\n     \"first_error\": ");
        s_json_string (out, r->first_error);
    }
    if (*r->warning) {
        fprintf (out, ",\n     \"warning\": ");
        s_json_string (out, r->warning);
    }
    fprintf (out, "}%s\n", last ? "" : ",");
}

static void
s_json_string (FILE *out, const char *text)
{
    fputc ('"', out);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf (out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf (out, "\\u%04x", *p);
        else
            fputc (*p, out);
    }
    fputc ('"', out);
}
