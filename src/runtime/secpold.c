/*  secpold.c - the secpol daemon: options, signals, server lifetime. */
#include "log.h"
#include "server.h"

#include <czmq.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static volatile sig_atomic_t s_stop = 0;
static volatile sig_atomic_t s_reload = 0; /* SIGHUP: secpol_server_reload */

static void s_on_signal (int signum);
static void s_usage (FILE *out);
static int s_parse_int (const char *what, const char *text, int min, int max, int *out);
static bool s_truthy (const char *text);

int
main (int argc, char **argv)
{
    secpol_server_config_t config = {0};
    config.data_dir = "./var";
    config.default_role = SECPOL_ROLE_ADMIN; /* no authentication configured */
    const char *log_level = "info";
    static char endpoint_buf[4096];

    /* Environment first, options override. */
    const char *env;
    if ((env = getenv ("SECPOL_ENDPOINT")) && *env) {
        snprintf (endpoint_buf, sizeof endpoint_buf, "%s", env);
        for (char *save = NULL, *tok = strtok_r (endpoint_buf, ",", &save);
             tok && config.n_endpoints < SECPOL_MAX_ENDPOINTS; tok = strtok_r (NULL, ",", &save))
            config.endpoints[config.n_endpoints++] = tok;
    }
    if ((env = getenv ("SECPOL_DATA_DIR")) && *env)
        config.data_dir = env;
    if ((env = getenv ("SECPOL_KEY_FILE")) && *env)
        config.store.key_file = env;
    const char *store = "lmdb";
    if ((env = getenv ("SECPOL_STORE")) && *env)
        store = env;
    if ((env = getenv ("SECPOL_WORKERS")) && *env &&
        s_parse_int ("SECPOL_WORKERS", env, 1, 256, &config.read_workers))
        return 2;
    if ((env = getenv ("SECPOL_SLOW_WORKERS")) && *env &&
        s_parse_int ("SECPOL_SLOW_WORKERS", env, 1, 256, &config.slow_workers))
        return 2;
    if ((env = getenv ("SECPOL_LOG_LEVEL")) && *env)
        log_level = env;
    if ((env = getenv ("SECPOL_METRICS_LISTEN")) && *env)
        config.metrics_listen = env;
    if ((env = getenv ("SECPOL_TEST_CLOCK")) && *env)
        config.test_clock = s_truthy (env);
    int number;
    if ((env = getenv ("SECPOL_MAX_CONNECTIONS")) && *env) {
        if (s_parse_int ("SECPOL_MAX_CONNECTIONS", env, 1, 1 << 20, &number))
            return 2;
        config.max_connections = (unsigned)number;
    }
    if ((env = getenv ("SECPOL_MAX_CLIENT_REQUESTS")) && *env) {
        if (s_parse_int ("SECPOL_MAX_CLIENT_REQUESTS", env, 1, 1 << 20, &number))
            return 2;
        config.max_peer_requests = (unsigned)number;
    }
    if ((env = getenv ("SECPOL_MAX_BATCH")) && *env) {
        if (s_parse_int ("SECPOL_MAX_BATCH", env, 0, 1 << 20, &number))
            return 2;
        config.write_batch_max = (unsigned)number;
    }
    if ((env = getenv ("SECPOL_MAX_CLIENT_MB")) && *env) {
        if (s_parse_int ("SECPOL_MAX_CLIENT_MB", env, 1, 4096, &number))
            return 2;
        config.max_peer_bytes = (size_t)number << 20;
    }
    if ((env = getenv ("SECPOL_REMEMBER_ME_DAYS")) && *env) {
        if (s_parse_int ("SECPOL_REMEMBER_ME_DAYS", env, 1, 3650, &number))
            return 2;
        config.remember_me_days = (unsigned)number;
    }
    if ((env = getenv ("SECPOL_CURVE_SECRET_KEY")) && *env)
        config.curve_secret_key = env;
    if ((env = getenv ("SECPOL_AUTHORIZED_KEYS")) && *env)
        config.authorized_keys = env;
    if ((env = getenv ("SECPOL_INSECURE")) && *env)
        config.insecure = s_truthy (env);
    config.audit_retention_days = 365;
    if ((env = getenv ("SECPOL_AUDIT_RETENTION_DAYS")) && *env) {
        if (s_parse_int ("SECPOL_AUDIT_RETENTION_DAYS", env, 0, 36500, &number))
            return 2;
        config.audit_retention_days = (unsigned)number;
    }
    if ((env = getenv ("SECPOL_DRAIN_SECONDS")) && *env) {
        if (s_parse_int ("SECPOL_DRAIN_SECONDS", env, 1, 3600, &number))
            return 2;
        config.drain_ms = (unsigned)number * 1000;
    }

    static const struct option options[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"data-dir", required_argument, NULL, 'd'},
        {"key-file", required_argument, NULL, 'K'},
        {"workers", required_argument, NULL, 'w'},
        {"slow-workers", required_argument, NULL, 's'},
        {"log-level", required_argument, NULL, 'l'},
        {"test-clock", no_argument, NULL, 't'},
        {"max-connections", required_argument, NULL, 'C'},
        {"max-client-requests", required_argument, NULL, 'R'},
        {"max-client-mb", required_argument, NULL, 'M'},
        {"max-batch", required_argument, NULL, 'B' + 256},
        {"drain-seconds", required_argument, NULL, 'D'},
        {"remember-me-days", required_argument, NULL, 'M' + 256},
        {"curve-secret-key", required_argument, NULL, 'c' + 256},
        {"authorized-keys", required_argument, NULL, 'A' + 256},
        {"insecure", no_argument, NULL, 'I' + 256},
        {"metrics-listen", required_argument, NULL, 'm'},
        {"audit-retention-days", required_argument, NULL, 'a' + 256},
        {"store", required_argument, NULL, 'S' + 256},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    bool endpoints_from_options = false;
    int opt;
    while ((opt = getopt_long (argc, argv, "e:d:w:s:l:thV", options, NULL)) != -1) {
        switch (opt) {
            case 'e':
                if (!endpoints_from_options) {
                    config.n_endpoints = 0; /* options replace SECPOL_ENDPOINT */
                    endpoints_from_options = true;
                }
                if (config.n_endpoints == SECPOL_MAX_ENDPOINTS) {
                    fprintf (stderr, "secpold: at most %d --endpoint options\n",
                             SECPOL_MAX_ENDPOINTS);
                    return 2;
                }
                config.endpoints[config.n_endpoints++] = optarg;
                break;
            case 'd':
                config.data_dir = optarg;
                break;
            case 'K':
                config.store.key_file = optarg;
                break;
            case 'S' + 256:
                store = optarg;
                break;
            case 'w':
                if (s_parse_int ("--workers", optarg, 1, 256, &config.read_workers))
                    return 2;
                break;
            case 's':
                if (s_parse_int ("--slow-workers", optarg, 1, 256, &config.slow_workers))
                    return 2;
                break;
            case 'l':
                log_level = optarg;
                break;
            case 't':
                config.test_clock = true;
                break;
            case 'C':
                if (s_parse_int ("--max-connections", optarg, 1, 1 << 20, &number))
                    return 2;
                config.max_connections = (unsigned)number;
                break;
            case 'R':
                if (s_parse_int ("--max-client-requests", optarg, 1, 1 << 20, &number))
                    return 2;
                config.max_peer_requests = (unsigned)number;
                break;
            case 'M':
                if (s_parse_int ("--max-client-mb", optarg, 1, 4096, &number))
                    return 2;
                config.max_peer_bytes = (size_t)number << 20;
                break;
            case 'B' + 256:
                if (s_parse_int ("--max-batch", optarg, 0, 1 << 20, &number))
                    return 2;
                config.write_batch_max = (unsigned)number;
                break;
            case 'M' + 256:
                if (s_parse_int ("--remember-me-days", optarg, 1, 3650, &number))
                    return 2;
                config.remember_me_days = (unsigned)number;
                break;
            case 'm':
                config.metrics_listen = optarg;
                break;
            case 'D':
                if (s_parse_int ("--drain-seconds", optarg, 1, 3600, &number))
                    return 2;
                config.drain_ms = (unsigned)number * 1000;
                break;
            case 'c' + 256:
                config.curve_secret_key = optarg;
                break;
            case 'A' + 256:
                config.authorized_keys = optarg;
                break;
            case 'I' + 256:
                config.insecure = true;
                break;
            case 'a' + 256:
                if (s_parse_int ("--audit-retention-days", optarg, 0, 36500, &number))
                    return 2;
                config.audit_retention_days = (unsigned)number;
                break;
            case 'h':
                s_usage (stdout);
                return 0;
            case 'V':
                printf ("secpold %s (schema %d)\n", SECPOL_VERSION, SECPOL_SCHEMA_VERSION);
                return 0;
            default:
                s_usage (stderr);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "secpold: unexpected argument '%s'\n", argv[optind]);
        s_usage (stderr);
        return 2;
    }
    int level = secpol_log_parse_level (log_level);
    if (level < 0) {
        fprintf (stderr, "secpold: --log-level must be debug, info, warn or error, not '%s'\n",
                 log_level);
        return 2;
    }
    secpol_log_set_level ((secpol_log_level_t)level);

    struct sigaction action = {0};
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGHUP, &action, NULL); /* reload, never stop */
    signal (SIGPIPE, SIG_IGN);

    if (secpol_store_is_postgresql (store))
        config.store.url = store;
    else if (strcmp (store, "lmdb") != 0) {
        fprintf (stderr, "secpold: --store must be lmdb or a postgresql:// URI\n");
        return 2;
    }
    /* czmq's own error lines (a bad certificate file, ...) are not logfmt:
     * secpold says what matters itself. */
    zsys_set_logstream (NULL);
    char err[1024], quoted[1200], where[300];
    secpol_server_t *server = secpol_server_new (&config, err, sizeof err);
    if (!server) {
        secpol_log (SECPOL_LOG_ERROR, "start failed", "error=%s",
                    secpol_log_quote (quoted, sizeof quoted, err));
        return 1;
    }
    secpol_log (SECPOL_LOG_INFO, "start",
                "version=%s schema=%u store=%s data_dir=%s test_clock=%s curve=%s", SECPOL_VERSION,
                secpol_store_schema (secpol_server_store (server)),
                secpol_store_describe (where, sizeof where, config.store.url),
                secpol_log_quote (quoted, sizeof quoted, config.data_dir),
                config.test_clock ? "on" : "off", config.curve_secret_key ? "on" : "off");
    if (!config.curve_secret_key)
        secpol_log (SECPOL_LOG_WARN, "curve off",
                    "note=\"plain text, and every caller is admin%s\"",
                    config.insecure ? "; --insecure: other hosts may reach it" : "");
    uint32_t upgraded_from = secpol_store_upgraded_from (secpol_server_store (server));
    if (upgraded_from)
        secpol_log (SECPOL_LOG_INFO, "store upgraded", "from=%u to=%u data_dir=%s", upgraded_from,
                    secpol_store_schema (secpol_server_store (server)),
                    secpol_log_quote (quoted, sizeof quoted, config.data_dir));
    secpol_server_watch_reload (server, &s_reload);
    secpol_server_run (server, &s_stop);
    secpol_server_destroy (&server);
    /* Ends the ZeroMQ context: libzmq writes the replies still queued for
     * connected peers, for at most the ROUTER's linger (5 s). */
    zsys_shutdown ();
    secpol_log (SECPOL_LOG_INFO, "stop", NULL);
    return 0;
}

static void
s_on_signal (int signum)
{
    if (signum == SIGHUP)
        s_reload = 1;
    else
        s_stop = 1;
}

static int
s_parse_int (const char *what, const char *text, int min, int max, int *out)
{
    char *end;
    long value = strtol (text, &end, 10);
    if (*text == '\0' || *end != '\0' || value < min || value > max) {
        fprintf (stderr, "secpold: %s must be a number from %d to %d, not '%s'\n", what, min, max,
                 text);
        return -1;
    }
    *out = (int)value;
    return 0;
}

static bool
s_truthy (const char *text)
{
    return strcmp (text, "1") == 0 || strcasecmp (text, "true") == 0 ||
           strcasecmp (text, "yes") == 0 || strcasecmp (text, "on") == 0;
}

static void
s_usage (FILE *out)
{
    fprintf (
        out,
        "usage: secpold [options]\n"
        "\n"
        "secpol security-policy service. Every option can also be set by the\n"
        "environment variable shown; options win.\n"
        "\n"
        "  -e, --endpoint E      ZeroMQ endpoint to bind; repeatable\n"
        "                        (SECPOL_ENDPOINT, comma-separated; default tcp://127.0.0.1:7420)\n"
        "  -d, --data-dir DIR    LMDB store directory, created if missing\n"
        "                        (SECPOL_DATA_DIR; default ./var); with a PostgreSQL\n"
        "                        store it holds only the key file\n"
        "      --key-file PATH   master key of stored hashes and TOTP secrets, created\n"
        "                        0600 on first start; back it up with the data\n"
        "                        (SECPOL_KEY_FILE; default DIR/secret.key); every\n"
        "                        secpold on one PostgreSQL store needs the same key\n"
        "      --store S         lmdb (the default: in --data-dir) or a PostgreSQL\n"
        "                        connection URI postgresql://user@host/db?... that\n"
        "                        several secpold may share (SECPOL_STORE); see SCALING.md\n"
        "  -w, --workers N       READ lane threads (SECPOL_WORKERS; default: cores)\n"
        "  -s, --slow-workers N  SLOW lane threads (SECPOL_SLOW_WORKERS; default: cores/2)\n"
        "  -l, --log-level L     debug, info, warn or error (SECPOL_LOG_LEVEL; default info)\n"
        "  -t, --test-clock      serve TestClockService, which shifts the clock\n"
        "                        (SECPOL_TEST_CLOCK=1); for tests only\n"
        "      --max-connections N      clients connected at once (SECPOL_MAX_CONNECTIONS;\n"
        "                               default and ceiling: the free file descriptors - 64)\n"
        "      --max-client-requests N  requests in flight per client, more are refused\n"
        "                               RESOURCE_EXHAUSTED (SECPOL_MAX_CLIENT_REQUESTS; 4096)\n"
        "      --max-client-mb N        request and reply MiB held per client\n"
        "                               (SECPOL_MAX_CLIENT_MB; default 16)\n"
        "      --max-batch N            most writes one commit carries (SECPOL_MAX_BATCH;\n"
        "                               default 0: all waiting, adaptive, on LMDB; 64\n"
        "                               on PostgreSQL; 1 = a commit per write, to compare)\n"
        "      --drain-seconds N        on SIGTERM, serve queued requests this long, then\n"
        "                               answer the rest UNAVAILABLE (SECPOL_DRAIN_SECONDS; 10)\n"
        "      --remember-me-days N     absolute lifetime of remember-me sessions\n"
        "                               (SECPOL_REMEMBER_ME_DAYS; default 30)\n"
        "      --curve-secret-key FILE  encrypt with CURVE: the server's secret\n"
        "                               certificate, mode 0600 (secpolctl keygen;\n"
        "                               SECPOL_CURVE_SECRET_KEY); needs --authorized-keys\n"
        "      --authorized-keys DIR    public certificates of the clients let in, each\n"
        "                               with role admin or service (SECPOL_AUTHORIZED_KEYS);\n"
        "                               read again on SIGHUP and when DIR changes\n"
        "      --insecure               without CURVE, bind endpoints other hosts can reach\n"
        "                               too (SECPOL_INSECURE=1); else only loopback and ipc\n"
        "      --metrics-listen ADDR:PORT  serve Prometheus metrics (/metrics) and probes\n"
        "                               (/healthz, /readyz) over HTTP there, e.g.\n"
        "                               127.0.0.1:9464 (SECPOL_METRICS_LISTEN; default off)\n"
        "      --audit-retention-days N audit events older than N days are deleted, oldest\n"
        "                               first; 0 keeps them (SECPOL_AUDIT_RETENTION_DAYS; 365)\n"
        "  -h, --help            this text\n"
        "  -V, --version         print the version\n"
        "\n"
        "Logs are logfmt lines on stderr. SIGINT/SIGTERM: stop taking requests, answer\n"
        "every one taken (see --drain-seconds), flush replies (at most 5 s more), exit 0.\n"
        "SIGHUP: read --authorized-keys again, keep serving. Without CURVE every\n"
        "caller is admin: see docs/SECURITY.md.\n"
        "Refuses to start (exit 1) on a data dir another secpold serves, or an ipc://\n"
        "socket another process listens on.\n");
}
