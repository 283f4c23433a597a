/* warrenctl_events: the alarm and notification commands of warrenctl (docs/WARRENCTL.md):
 *   alarms [--all] [--since T] [--node N] [--type T]      GET /api/v1/alarms
 *   notifications [--node N] [--type T] [--since T] [--limit N] [--follow]
 *                                                         GET /api/v1/notifications
 *   ack SCOPE TYPE [RESOURCE] [--by NAME]                 POST /api/v1/alarms/ack
 * They parse their own options (the common --root, --json and --timeout too) and talk to the
 * root with their own small libcurl helper, because ack POSTs and --follow polls every second
 * until SIGINT. Human tables by default, the API's JSON with --json (with --follow: one JSON
 * object per line). Exit codes as warrenctl: 0 ok, 1 the root answered an error, 2 usage or
 * no root reachable. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "warrenctl_int.h"

#define EV_DEFAULT_ROOT "http://127.0.0.1:7380"
#define EV_MAX_BODY     (256u << 20)

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig)
{
    (void)sig;
    g_stop = 1;
}

int ctl_events_command(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-') {
            if ((strcmp(a, "--root") == 0 || strcmp(a, "--timeout") == 0) && i + 1 < argc)
                i++;
            continue;
        }
        return strcmp(a, "alarms") == 0 || strcmp(a, "notifications") == 0 || strcmp(a, "ack") == 0 ? i : 0;
    }
    return 0;
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

typedef struct {
    char  *buf;
    size_t len;
} body_t;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    body_t *b = ud;
    size_t k = sz * n;
    if (b->len + k > EV_MAX_BODY)
        return 0;
    char *nb = realloc(b->buf, b->len + k + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->len, p, k);
    b->len += k;
    nb[b->len] = '\0';
    b->buf = nb;
    return k;
}

typedef struct {
    char *roots[8];
    size_t n_roots;
    long  timeout_ms;
} conn_t;

/* GET (post == NULL) or POST post to path on the first root that answers. Returns 0 and the
 * parsed JSON in *out (NULL if not JSON) with *status, or 2 after printing why. */
static int request(const conn_t *c, const char *path, const char *post, json_t **out, long *status)
{
    CURL *h = curl_easy_init();
    char errbuf[CURL_ERROR_SIZE] = "";
    body_t b = {0};
    *out = NULL;
    if (!h)
        return 2;
    for (size_t i = 0; i < c->n_roots; i++) {
        char url[4096];
        size_t rl = strlen(c->roots[i]);
        while (rl > 0 && c->roots[i][rl - 1] == '/')
            rl--;
        snprintf(url, sizeof url, "%.*s%s", (int)rl, c->roots[i], path);
        free(b.buf);
        memset(&b, 0, sizeof b);
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        struct curl_slist *hdr = NULL;
        if (post) {
            hdr = curl_slist_append(NULL, "Content-Type: application/json");
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        }
        CURLcode rc = curl_easy_perform(h);
        curl_slist_free_all(hdr);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
            *out = b.buf ? json_loadb(b.buf, b.len, 0, NULL) : NULL;
            free(b.buf);
            curl_easy_cleanup(h);
            return 0;
        }
        if (i + 1 == c->n_roots)
            fprintf(stderr, "warrenctl: cannot reach root at %.*s: %s\n", (int)rl, c->roots[i],
                    errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    free(b.buf);
    curl_easy_cleanup(h);
    return 2;
}

/* Prints the root's error for an answer >= 400. Returns 1. */
static int answer_error(json_t *j, long status)
{
    const char *msg = json_string_value(json_object_get(j, "error"));
    fprintf(stderr, "warrenctl: %s (HTTP %ld)\n", msg ? msg : "error", status);
    return 1;
}

/* ---- tables ------------------------------------------------------------------------------------ */

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int64_t num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_alarm_row(FILE *out, json_t *a, const char *change, int64_t at)
{
    char when[48], flags[16] = "";
    if (change)
        ctl_fmt_iso(at, when, sizeof when);
    else
        ctl_fmt_ago(num(a, "raised_ms"), now_ms(), when, sizeof when);
    if (json_is_true(json_object_get(a, "suppressed")))
        strcat(flags, "S");
    if (json_is_true(json_object_get(a, "acked")))
        strcat(flags, "A");
    if (change)
        fprintf(out, "%-24s %-8s ", when, change);
    fprintf(out, "%-13s %-28s %-24s %-16s %-3s %s", str(a, "severity"), str(a, "scope"), str(a, "type"),
            str(a, "resource")[0] ? str(a, "resource") : "-", flags[0] ? flags : "-", str(a, "text"));
    if (!change)
        fprintf(out, "  (raised %s, x%lld)", when, (long long)num(a, "count"));
    fputc('\n', out);
}

static int print_alarms(FILE *out, json_t *j)
{
    json_t *arr = json_object_get(j, "alarms"), *it;
    size_t i;
    if (!json_is_array(arr)) {
        fprintf(stderr, "warrenctl: unexpected answer from the root: no alarms list\n");
        return -1;
    }
    json_t *c = json_object_get(j, "counts");
    fprintf(out, "%lld active: %lld critical, %lld major, %lld minor, %lld warning, %lld indeterminate"
                 " (%lld suppressed, %lld acknowledged)\n",
            (long long)num(c, "total"), (long long)num(c, "critical"), (long long)num(c, "major"),
            (long long)num(c, "minor"), (long long)num(c, "warning"), (long long)num(c, "indeterminate"),
            (long long)num(c, "suppressed"), (long long)num(c, "acked"));
    if (json_array_size(arr)) {
        fprintf(out, "%-13s %-28s %-24s %-16s %-3s %s\n", "SEVERITY", "SCOPE", "TYPE", "RESOURCE", "S/A", "TEXT");
        json_array_foreach(arr, i, it)
            print_alarm_row(out, it, NULL, 0);
    }
    json_t *hist = json_object_get(j, "history");
    if (json_is_array(hist)) {
        fprintf(out, "\nhistory (%zu changes):\n%-24s %-8s %-13s %-28s %-24s %-16s %-3s %s\n", json_array_size(hist),
                "AT", "CHANGE", "SEVERITY", "SCOPE", "TYPE", "RESOURCE", "S/A", "TEXT");
        json_array_foreach(hist, i, it)
            print_alarm_row(out, it, str(it, "change"), num(it, "at"));
    }
    return 0;
}

static void print_notif_row(FILE *out, json_t *n)
{
    char when[48];
    ctl_fmt_iso(num(n, "at"), when, sizeof when);
    char *fields = json_dumps(json_object_get(n, "fields"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    fprintf(out, "%-24s %-28s %-18s %-13s %s\n", when, str(n, "node"), str(n, "type"), str(n, "severity"),
            fields ? fields : "{}");
    free(fields);
}

/* ---- the commands ---------------------------------------------------------------------------------- */

static int usage_err(const char *fmt, const char *arg)
{
    fprintf(stderr, "warrenctl: ");
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\nusage: warrenctl [--root URL] [--json] alarms [--all] [--since T] [--node N] [--type T]\n"
                    "       warrenctl [--root URL] [--json] notifications [--node N] [--type T] [--since T]"
                    " [--limit N] [--follow]\n"
                    "       warrenctl [--root URL] [--json] ack SCOPE TYPE [RESOURCE] [--by NAME]\n");
    return 2;
}

/* Appends &key=value (escaped) to path. */
static void add_param(char *path, size_t cap, const char *key, const char *val)
{
    if (!val)
        return;
    char *e = curl_easy_escape(NULL, val, 0);
    size_t l = strlen(path);
    snprintf(path + l, cap - l, "%c%s=%s", strchr(path, '?') ? '&' : '?', key, e ? e : "");
    curl_free(e);
}

static int cmd_notifications_follow(const conn_t *c, const char *base, int json)
{
    /* polls every second with since = the newest time seen, printing each identity once */
    int64_t since = now_ms() - 1000;
    json_t *seen = json_object();   /* "origin/epoch/seq" of the last second's notifications */
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    if (!json)
        fprintf(stdout, "%-24s %-28s %-18s %-13s %s\n", "AT", "NODE", "TYPE", "SEVERITY", "FIELDS");
    while (!g_stop) {
        char path[2048], s[32];
        snprintf(path, sizeof path, "%s", base);
        snprintf(s, sizeof s, "%lld", (long long)since);
        add_param(path, sizeof path, "since", s);
        add_param(path, sizeof path, "limit", "10000");
        json_t *j = NULL;
        long status = 0;
        if (request(c, path, NULL, &j, &status) == 0 && status < 400) {
            json_t *arr = json_object_get(j, "notifications"), *it;
            size_t i;
            json_t *next_seen = json_object();
            int64_t newest = since;
            json_array_foreach(arr, i, it) {
                char id[160];
                snprintf(id, sizeof id, "%s/%lld/%lld", str(it, "origin"), (long long)num(it, "epoch"),
                         (long long)num(it, "seq"));
                int64_t at = num(it, "at");
                if (at >= newest) {
                    if (at > newest)
                        json_object_clear(next_seen);
                    newest = at;
                    json_object_set_new(next_seen, id, json_true());
                }
                if (json_object_get(seen, id))
                    continue;
                if (json) {
                    char *line = json_dumps(it, JSON_COMPACT | JSON_PRESERVE_ORDER);
                    if (line)
                        puts(line);
                    free(line);
                } else {
                    print_notif_row(stdout, it);
                }
            }
            if (newest > since) {
                json_decref(seen);
                seen = next_seen;
                since = newest;
            } else {
                json_object_update(seen, next_seen);
                json_decref(next_seen);
            }
            fflush(stdout);
        } else if (j && status >= 400) {
            answer_error(j, status);
            json_decref(j);
            json_decref(seen);
            return 1;
        }
        json_decref(j);
        for (int k = 0; k < 10 && !g_stop; k++)
            usleep(100000);
    }
    json_decref(seen);
    return 0;
}

int ctl_events_main(int argc, char **argv)
{
    const char *root_opt = getenv("WARREN_ROOT");
    int json = 0, all = 0, follow = 0;
    double timeout = 10.0;
    const char *since = NULL, *node = NULL, *type = NULL, *limit = NULL, *by = NULL;
    enum { O_ROOT = 256, O_JSON, O_TIMEOUT, O_ALL, O_SINCE, O_NODE, O_TYPE, O_LIMIT, O_FOLLOW, O_BY };
    static const struct option longopts[] = {
        {"root", required_argument, NULL, O_ROOT},   {"json", no_argument, NULL, O_JSON},
        {"timeout", required_argument, NULL, O_TIMEOUT}, {"all", no_argument, NULL, O_ALL},
        {"since", required_argument, NULL, O_SINCE}, {"node", required_argument, NULL, O_NODE},
        {"type", required_argument, NULL, O_TYPE},   {"limit", required_argument, NULL, O_LIMIT},
        {"follow", no_argument, NULL, O_FOLLOW},     {"by", required_argument, NULL, O_BY},
        {NULL, 0, NULL, 0}};
    int o;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "+f", longopts, NULL)) != -1 || optind < argc) {
        if (o == -1) {                /* a positional argument: options may follow it */
            optind++;
            continue;
        }
        switch (o) {
        case O_ROOT: root_opt = optarg; break;
        case O_JSON: json = 1; break;
        case O_TIMEOUT:
            timeout = atof(optarg);
            if (!(timeout > 0 && timeout <= 3600))
                return usage_err("--timeout: expected seconds in (0, 3600], got '%s'", optarg);
            break;
        case O_ALL: all = 1; break;
        case O_SINCE: since = optarg; break;
        case O_NODE: node = optarg; break;
        case O_TYPE: type = optarg; break;
        case O_LIMIT: limit = optarg; break;
        case 'f':
        case O_FOLLOW: follow = 1; break;
        case O_BY: by = optarg; break;
        case ':': return usage_err("option %s needs a value", argv[optind - 1]);
        default: return usage_err("unknown option '%s'", argv[optind - 1]);
        }
    }
    /* positional arguments, in order */
    const char *pos[8];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            if (strchr(argv[i], '=') == NULL &&
                (!strcmp(argv[i], "--root") || !strcmp(argv[i], "--timeout") || !strcmp(argv[i], "--since") ||
                 !strcmp(argv[i], "--node") || !strcmp(argv[i], "--type") || !strcmp(argv[i], "--limit") ||
                 !strcmp(argv[i], "--by")))
                i++;
            continue;
        }
        if (npos < 8)
            pos[npos++] = argv[i];
    }
    if (npos == 0)
        return usage_err("no command given%s", NULL);
    const char *name = pos[0];
    int is_alarms = !strcmp(name, "alarms"), is_notifs = !strcmp(name, "notifications"), is_ack = !strcmp(name, "ack");
    if ((all && !is_alarms) || (follow && !is_notifs) || (limit && !is_notifs) || (by && !is_ack) ||
        ((since || node || type) && is_ack))
        return usage_err("an option does not apply to '%s' (see warrenctl --help)", name);
    if (is_ack ? (npos < 3 || npos > 4) : npos != 1)
        return usage_err(is_ack ? "ack: expected SCOPE TYPE [RESOURCE]%s" : "'%s' takes no arguments", is_ack ? NULL : name);

    conn_t c = {.timeout_ms = (long)(timeout * 1000)};
    char *roots_copy = strdup(root_opt && *root_opt ? root_opt : EV_DEFAULT_ROOT);
    for (char *save = NULL, *tok = strtok_r(roots_copy, ",", &save); tok && c.n_roots < 8;
         tok = strtok_r(NULL, ",", &save))
        if (*tok)
            c.roots[c.n_roots++] = tok;
    if (!c.n_roots) {
        free(roots_copy);
        return usage_err("--root: no URL given%s", NULL);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 0;
    char path[2048];
    json_t *j = NULL;
    long status = 0;
    if (is_ack) {
        json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "scope", pos[1], "type", pos[2], "resource",
                                 npos > 3 ? pos[3] : "", "by", by ? by : (getenv("USER") ? getenv("USER") : "operator"));
        char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        rc = s ? request(&c, "/api/v1/alarms/ack", s, &j, &status) : 2;
        free(s);
        if (rc == 0 && status >= 400)
            rc = answer_error(j, status);
        else if (rc == 0 && json) {
            char *d = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            puts(d ? d : "{}");
            free(d);
        } else if (rc == 0) {
            json_t *a = json_object_get(j, "acked");
            printf("acknowledged: %s %s %s (by %s)\n", str(a, "scope"), str(a, "type"),
                   str(a, "resource")[0] ? str(a, "resource") : "-", str(a, "acked_by"));
        }
    } else {
        snprintf(path, sizeof path, "/api/v1/%s", name);
        if (all)
            add_param(path, sizeof path, "all", "1");
        add_param(path, sizeof path, "node", node);
        add_param(path, sizeof path, "type", type);
        if (follow) {
            rc = cmd_notifications_follow(&c, path, json);
            goto out;
        }
        add_param(path, sizeof path, "since", since);
        add_param(path, sizeof path, "limit", limit);
        rc = request(&c, path, NULL, &j, &status);
        if (rc == 0 && status >= 400) {
            rc = answer_error(j, status);
        } else if (rc == 0 && !j) {
            fprintf(stderr, "warrenctl: the root answered HTTP %ld with invalid JSON\n", status);
            rc = 1;
        } else if (rc == 0 && json) {
            char *d = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            puts(d ? d : "{}");
            free(d);
        } else if (rc == 0 && is_alarms) {
            rc = print_alarms(stdout, j) < 0 ? 1 : 0;
        } else if (rc == 0) {
            json_t *arr = json_object_get(j, "notifications"), *it;
            size_t i;
            printf("%-24s %-28s %-18s %-13s %s\n", "AT", "NODE", "TYPE", "SEVERITY", "FIELDS");
            json_array_foreach(arr, i, it)
                print_notif_row(stdout, it);
        }
    }
out:
    json_decref(j);
    free(roots_copy);
    curl_global_cleanup();
    if (fflush(stdout) != 0 && !rc)
        rc = 1;
    return rc;
}
