/* warrenctl: the operator's command-line client of a warren root's HTTP API (docs/API.md).
 * Fetches one answer with libcurl (trying each --root URL in order until one answers) and
 * prints it as a table, or as the API's JSON with --json. See docs/WARRENCTL.md.
 * Exit codes: 0 ok, 1 the root answered with an error, 2 usage error or no root reachable. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "warrenctl_int.h"
#include "wr_cli.h"

#define CTL_DEFAULT_ROOT "http://127.0.0.1:7380"
#define CTL_MAX_BODY     (512u << 20)
#define CTL_MAX_ROOTS    8

typedef struct {
    const char *name, *args, *summary, *options;
} ctl_cmd_t;

static const ctl_cmd_t cmds[] = {
    {"status", "", "fleet summary: nodes up/down, leaves, relays, samples/s, uptime", ""},
    {"nodes", "[--state up|down|unknown]", "every node with its state, since when and its leaf",
     "  --state S        only nodes in state S (up, down or unknown)\n"},
    {"node", "NODE", "one node: state, since, owning leaf", ""},
    {"metric", "NODE METRIC [--since T] [--until T] [--step D] [--limit N]",
     "history of one metric of one node, routed to its leaf: raw, or downsampled with --step",
     "  --since T        from T: Unix ms, or a duration before now (1h, 15m, 30s, 2d; -1h too)\n"
     "  --until T        up to T (same forms); default now\n"
     "  --step D         buckets of D (10s, 1m, 5m, 1h or ms): count/min/avg/max per bucket,\n"
     "                   from the leaf's coarsest fitting tier (counters as per-second rates)\n"
     "  --limit N        at most N points, the newest (1..100000, with --step 1..10000;\n"
     "                   default 1000, with --step 10000)\n"},
    {"tree", "", "the tiers of the fabric as an indented tree (down tiers marked DOWN)", ""},
    {"rollups", "", "fleet-wide count/min/mean/max/sum of every metric, latest interval", ""},
    {"fleet", "METRIC", "fleet-wide count/sum/min/mean/p50/p90/p99/max of one metric, latest interval", ""},
    {"top", "METRIC [-n N]", "the nodes with the largest values of one metric, fleet-wide",
     "  -n N             how many nodes (1..100; default 10)\n"},
    {"procs", "NODE [--by memory|message_queue|reductions|binary] [-n N]",
     "the live top processes of one node (like etop), asked of its agent through its leaf",
     "  --by KEY         rank by memory (bytes, default), message_queue (messages),\n"
     "                   reductions or binary (bytes of off-heap binaries referenced)\n"
     "  -n N             how many processes (1..1000; default 20)\n"},
    {"alarms", "[--all] [--since T] [--node N] [--type T]",
     "active alarms (S = suppressed, A = acknowledged); --all adds the history of changes",
     "  --all            also the history (new, updated, cleared, acked), oldest first\n"
     "  --since T        history from T (Unix ms or a duration before now: 1h, 15m, 2d)\n"
     "  --node N, --type T  only alarms of scope N / of type T\n"},
    {"notifications", "[--node N] [--type T] [--since T] [--limit N] [--follow]",
     "notifications kept by the root (newest 1000 by default, oldest first)",
     "  --node N, --type T  only those of node N / of type T\n"
     "  --since T        from T (Unix ms or a duration before now: 1h, 15m, 2d)\n"
     "  --limit N        at most N (1..100000)\n"
     "  --follow, -f     print new ones as they come (polls every second) until Ctrl-C\n"},
    {"ack", "SCOPE TYPE [RESOURCE] [--by NAME]", "acknowledge an active alarm (it stays active, not paged)",
     "  --by NAME        who acknowledges (default $USER)\n"},
};
#define N_CMDS (sizeof cmds / sizeof cmds[0])

static void usage(FILE *out)
{
    fprintf(out,
            "usage: warrenctl [--root URL[,URL2...]] [--json] [--timeout SEC] COMMAND [ARGS]\n"
            "\n"
            "Queries a warren root's HTTP API.\n"
            "\n"
            "options:\n"
            "  --root URLS      root base URLs, comma separated, tried in order\n"
            "                   (default $WARREN_ROOT, else " CTL_DEFAULT_ROOT ")\n"
            "  --json           print the API's JSON answer instead of a table\n"
            "  --timeout SEC    per-root request timeout in seconds (default 10)\n"
            "  --help           this help; 'warrenctl COMMAND --help' for a command\n"
            "  --version        print the version\n"
            "\ncommands:\n");
    for (size_t i = 0; i < N_CMDS; i++)
        fprintf(out, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
}

static void cmd_usage(FILE *out, const ctl_cmd_t *c)
{
    fprintf(out, "usage: warrenctl [OPTIONS] %s %s\n\n%s.\n", c->name, c->args, c->summary);
    if (c->options[0])
        fprintf(out, "\noptions:\n%s", c->options);
    fprintf(out, "\nglobal options (--root, --json, --timeout): see 'warrenctl --help'.\n");
}

static int usage_error(const ctl_cmd_t *c, const char *fmt, const char *arg)
{
    fprintf(stderr, "warrenctl: ");
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\n");
    if (c) cmd_usage(stderr, c);
    else usage(stderr);
    return 2;
}

/* ---- HTTP ---------------------------------------------------------------------------- */

typedef struct {
    char  *buf;
    size_t len;
    int    too_big;
} body_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    body_t *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > CTL_MAX_BODY) {
        b->too_big = 1;
        return 0;
    }
    char *nb = realloc(b->buf, b->len + n + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->len, ptr, n);
    b->len += n;
    nb[b->len] = '\0';
    b->buf = nb;
    return n;
}

/* GETs path from the first root that answers. Returns 0 with the body and HTTP status, or 2
 * after printing the "cannot reach" line. */
static int fetch(char **roots, size_t n_roots, const char *path, long timeout_ms, body_t *body,
                 long *status, const char **used)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "warrenctl: curl init failed\n");
        return 2;
    }
    for (size_t i = 0; i < n_roots; i++) {
        char url[4096];
        size_t rl = strlen(roots[i]);
        while (rl > 0 && roots[i][rl - 1] == '/')
            rl--;
        snprintf(url, sizeof url, "%.*s%s", (int)rl, roots[i], path);
        free(body->buf);
        memset(body, 0, sizeof *body);
        errbuf[0] = '\0';
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "warrenctl/" WARREN_VERSION);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        CURLcode rc = curl_easy_perform(c);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
            *used = roots[i];
            curl_easy_cleanup(c);
            return 0;
        }
        if (body->too_big) {
            fprintf(stderr, "warrenctl: answer from %.*s over %u MB\n", (int)rl, roots[i], CTL_MAX_BODY >> 20);
            curl_easy_cleanup(c);
            return 1;
        }
        if (i + 1 == n_roots) {
            fprintf(stderr, "warrenctl: cannot reach root at ");
            for (size_t k = 0; k < n_roots; k++)
                fprintf(stderr, "%s%s", k ? ", " : "", roots[k]);
            fprintf(stderr, ": %s\n", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        }
    }
    curl_easy_cleanup(c);
    return 2;
}

/* Escapes one path segment. */
static char *esc(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e) {
        fprintf(stderr, "warrenctl: out of memory\n");
        exit(2);
    }
    return e;
}

/* ---- main ---------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (ctl_events_command(argc, argv))     /* alarms, notifications, ack: warrenctl_events.c */
        return ctl_events_main(argc, argv);
    const char *root_opt = getenv("WARREN_ROOT");
    if (!root_opt || !*root_opt)
        root_opt = CTL_DEFAULT_ROOT;
    int json = 0, help = 0;
    double timeout = 10.0;
    const char *state = NULL, *since = NULL, *until = NULL, *limit = NULL;
    const char *step = NULL;                  /* metric --step */
    enum { O_STEP = 400 };
    const char *by = NULL, *count_n = NULL;   /* procs (and -n for any command that ranks) */
    enum { O_ROOT = 256, O_JSON, O_TIMEOUT, O_HELP, O_VERSION, O_STATE, O_SINCE, O_UNTIL, O_LIMIT,
           O_BY };
    static const struct option longopts[] = {
        {"root", required_argument, NULL, O_ROOT},      {"json", no_argument, NULL, O_JSON},
        {"timeout", required_argument, NULL, O_TIMEOUT}, {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},      {"state", required_argument, NULL, O_STATE},
        {"since", required_argument, NULL, O_SINCE},    {"until", required_argument, NULL, O_UNTIL},
        {"limit", required_argument, NULL, O_LIMIT},    {"by", required_argument, NULL, O_BY},
        {"step", required_argument, NULL, O_STEP}, {NULL, 0, NULL, 0}};
    int opt;
    opterr = 0;
    /* "+" would stop at the command; options may come anywhere, so permute (the default). */
    while ((opt = getopt_long(argc, argv, ":hn:", longopts, NULL)) != -1) {
        switch (opt) {
        case O_ROOT: root_opt = optarg; break;
        case O_JSON: json = 1; break;
        case O_TIMEOUT:
            if (wr_cli_parse_double(optarg, 0, 3600, &timeout) != 0 || !(timeout > 0))
                return usage_error(NULL, "--timeout: expected seconds in (0, 3600], got '%s'", optarg);
            break;
        case 'h': case O_HELP: help = 1; break;
        case O_VERSION: printf("warrenctl %s\n", WARREN_VERSION); return 0;
        case O_STATE: state = optarg; break;
        case O_SINCE: since = optarg; break;
        case O_UNTIL: until = optarg; break;
        case O_LIMIT: limit = optarg; break;
        case O_STEP: step = optarg; break;
        case O_BY: by = optarg; break;
        case 'n': count_n = optarg; break;
        case ':':
            return usage_error(NULL, "option %s needs a value", argv[optind - 1]);
        default:
            return usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        if (help) {
            usage(stdout);
            return 0;
        }
        return usage_error(NULL, "no command given%s", NULL);
    }
    const char *name = argv[optind++];
    const ctl_cmd_t *cmd = NULL;
    for (size_t i = 0; i < N_CMDS; i++)
        if (strcmp(cmds[i].name, name) == 0)
            cmd = &cmds[i];
    if (!cmd)
        return usage_error(NULL, "unknown command '%s'", name);
    if (help) {
        cmd_usage(stdout, cmd);
        return 0;
    }
    char **pos = argv + optind;
    int npos = argc - optind;
    int is_nodes = strcmp(name, "nodes") == 0, is_metric = strcmp(name, "metric") == 0;
    if (state && !is_nodes)
        return usage_error(cmd, "--state applies to 'nodes' only%s", NULL);
    if ((since || until || limit || step) && !is_metric)
        return usage_error(cmd, "--since/--until/--step/--limit apply to 'metric' only%s", NULL);
    int is_procs = strcmp(name, "procs") == 0;
    int fleet_cmd = ctl_fleet_cmd(name);
    if ((by || count_n) && !is_procs && !(count_n && !by && fleet_cmd == CTL_TOP))
        return usage_error(cmd, "--by/-n apply to 'procs' only (and -n to 'top')%s", NULL);
    if (state && strcmp(state, "up") && strcmp(state, "down") && strcmp(state, "unknown"))
        return usage_error(cmd, "--state: expected up, down or unknown, got '%s'", state);

    int want = strcmp(name, "node") == 0 || is_procs || fleet_cmd ? 1 : is_metric ? 2 : 0;
    if (npos < want)
        return usage_error(cmd, "missing argument: expected %s", fleet_cmd ? "METRIC" : want == 1 ? "NODE" : "NODE METRIC");
    if (npos > want)
        return usage_error(cmd, "too many arguments (first extra: '%s')", pos[want]);

    /* the path */
    char path[2048];
    if (is_nodes) {
        snprintf(path, sizeof path, "/api/v1/nodes%s%s", state ? "?state=" : "", state ? state : "");
    } else if (is_procs) {
        if (ctl_procs_path(pos[0], by, count_n, path, sizeof path) != 0)
            return usage_error(cmd, "%s", ctl_procs_error());
    } else if (fleet_cmd) {
        if (ctl_fleet_path(fleet_cmd, pos[0], count_n, path, sizeof path) != 0)
            return usage_error(cmd, "%s", ctl_fleet_error());
    } else if (want == 1) {
        char *e = esc(pos[0]);
        snprintf(path, sizeof path, "/api/v1/nodes/%s", e);
        curl_free(e);
    } else if (is_metric) {
        char *e1 = esc(pos[0]), *e2 = esc(pos[1]);
        int n = snprintf(path, sizeof path, "/api/v1/nodes/%s/metrics/%s", e1, e2);
        curl_free(e1);
        curl_free(e2);
        const char *keys[4] = {"since", "until", "limit", "step"}, *vals[4] = {since, until, limit, step};
        char sep = '?';
        for (int i = 0; i < 4; i++) {
            if (!vals[i])
                continue;
            char *ev = esc(vals[i]);
            n += snprintf(path + n, sizeof path - (size_t)(n < (int)sizeof path ? n : (int)sizeof path - 1),
                          "%c%s=%s", sep, keys[i], ev);
            curl_free(ev);
            sep = '&';
        }
        if (n >= (int)sizeof path)
            return usage_error(cmd, "arguments too long%s", NULL);
    } else {
        snprintf(path, sizeof path, "/api/v1/%s", name);
    }

    /* the roots */
    char *roots_copy = strdup(root_opt);
    char *roots[CTL_MAX_ROOTS];
    size_t n_roots = 0;
    for (char *save = NULL, *tok = strtok_r(roots_copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        if (!*tok)
            continue;
        if (n_roots == CTL_MAX_ROOTS) {
            free(roots_copy);
            return usage_error(NULL, "--root: at most 8 URLs%s", NULL);
        }
        roots[n_roots++] = tok;
    }
    if (n_roots == 0) {
        free(roots_copy);
        return usage_error(NULL, "--root: no URL given%s", NULL);
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    body_t body = {0};
    long status = 0;
    const char *used = NULL;
    int rc = fetch(roots, n_roots, path, (long)(timeout * 1000.0), &body, &status, &used);
    if (rc != 0)
        goto out;

    json_error_t jerr;
    json_t *j = body.buf ? json_loadb(body.buf, body.len, 0, &jerr) : NULL;
    if (status >= 400) {
        const char *msg = json_string_value(json_object_get(j, "error"));
        fprintf(stderr, "warrenctl: %s (HTTP %ld from %s)\n", msg ? msg : "error", status, used);
        rc = 1;
    } else if (!j) {
        fprintf(stderr, "warrenctl: %s answered HTTP %ld with invalid JSON: %s\n", used, status,
                body.buf ? jerr.text : "empty body");
        rc = 1;
    } else if (json) {
        char *s = json_dumps(fleet_cmd ? ctl_fleet_json(fleet_cmd, j) : j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s) {
            puts(s);
            free(s);
        } else {
            rc = 1;
        }
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        int r = 0;
        if (strcmp(name, "status") == 0) r = ctl_print_status(stdout, j, now);
        else if (is_nodes) r = ctl_print_nodes(stdout, j, now);
        else if (is_procs) r = ctl_print_procs(stdout, j);
        else if (fleet_cmd == CTL_FLEET) r = ctl_print_fleet(stdout, j);
        else if (fleet_cmd == CTL_TOP) r = ctl_print_top(stdout, j);
        else if (want == 1) r = ctl_print_node(stdout, j, now);
        else if (is_metric) r = ctl_print_metric(stdout, j);
        else if (strcmp(name, "tree") == 0) r = ctl_print_tree(stdout, j);
        else r = ctl_print_rollups(stdout, j);
        rc = r < 0 ? 1 : 0;
    }
    json_decref(j);
out:
    free(body.buf);
    free(roots_copy);
    curl_global_cleanup();
    if (fflush(stdout) != 0)
        rc = rc ? rc : 1;
    return rc;
}
