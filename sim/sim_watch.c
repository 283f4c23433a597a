/* sim_watch: `warren-sim watch`, a cheap poller of one or more roots for fault tests and for
 * people watching a fabric heal. Every --every-ms it asks each root for /metrics (the strict
 * per-state node counts: warren_nodes{state="up|unknown|down"}) and for
 * /api/v1/nodes?state=down (its "count"), over kept-alive connections, and prints one line
 * per root and poll:
 *   MS URL up=N unknown=N down=N listed_down=N        (a root that does not answer: "unreachable")
 * until SIGINT/SIGTERM or --duration. Not here: asserting anything (the caller does). */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sim.h"
#include "wr_cli.h"
#include "wr_time.h"

#define WATCH_MAX_ROOTS 8
#define WATCH_BODY_MAX  (4 * 1024 * 1024)

typedef struct {
    char  *data;
    size_t len, cap;
} wbody_t;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    wbody_t *b = ud;
    size_t n = size * nmemb;
    if (b->len + n + 1 > WATCH_BODY_MAX)
        return 0;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = 0;
    return n;
}

static int fetch(CURL *c, const char *url, wbody_t *b, long timeout_ms)
{
    b->len = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    long code = 0;
    if (curl_easy_perform(c) != CURLE_OK)
        return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code == 200 && b->data ? 0 : -1;
}

static long metric_state(const char *text, const char *state)
{
    char key[64];
    snprintf(key, sizeof key, "warren_nodes{state=\"%s\"} ", state);
    const char *p = strstr(text, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static volatile sig_atomic_t watch_stop;

static void on_signal(int sig)
{
    (void)sig;
    watch_stop = 1;
}

static void watch_usage(FILE *out)
{
    fprintf(out,
            "Usage: warren-sim watch --root URL[,URL...] [--every-ms MS] [--duration SEC]\n"
            "Polls each root every MS (default 100) for its node counts by state (/metrics) and the\n"
            "nodes it lists as down (/api/v1/nodes?state=down); prints one line per root and poll:\n"
            "  MS URL up=N unknown=N down=N listed_down=N   (or: MS URL unreachable)\n"
            "until interrupted or SEC seconds have passed. For fault tests and for watching a fabric\n"
            "heal: `warren-sim watch --root $(cat DIR/root.url)`.\n");
}

int sim_watch_main(int argc, char **argv)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"every-ms", required_argument, NULL, 'e'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char roots_arg[2048] = "";
    long every = 100;
    double duration = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': snprintf(roots_arg, sizeof roots_arg, "%s", optarg); break;
        case 'e': if (wr_cli_parse_long(optarg, 10, 600000, &every) != 0) every = -1; break;
        case 'd': if (wr_cli_parse_double(optarg, 0, 1e9, &duration) != 0) duration = -1; break;
        case 'h': watch_usage(stdout); return 0;
        default: watch_usage(stderr); return 2;
        }
    }
    if (!roots_arg[0] || every < 10 || every > 600000 || duration < 0 || optind < argc) {
        fprintf(stderr, "warren-sim watch: %s\n", !roots_arg[0] ? "--root URL[,URL...] is required"
                                                  : optind < argc ? "unexpected argument"
                                                                  : "--every-ms must be 10..600000, --duration >= 0");
        watch_usage(stderr);
        return 2;
    }
    char *urls[WATCH_MAX_ROOTS];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(roots_arg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == WATCH_MAX_ROOTS) {
            fprintf(stderr, "warren-sim watch: at most %d roots\n", WATCH_MAX_ROOTS);
            return 2;
        }
        size_t l = strlen(t);
        while (l && t[l - 1] == '/')
            t[--l] = 0;
        urls[n++] = t;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h[WATCH_MAX_ROOTS];
    for (int i = 0; i < n; i++)
        h[i] = curl_easy_init();
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    wbody_t b = {0};
    char url[2200];
    int64_t start = wr_mono_ms(), next = start;
    while (!watch_stop && (duration <= 0 || wr_mono_ms() - start < (int64_t)(duration * 1000))) {
        for (int i = 0; i < n && !watch_stop; i++) {
            int64_t at = wr_wall_ms();
            long up = -1, unk = -1, down = -1, listed = -1;
            snprintf(url, sizeof url, "%s/metrics", urls[i]);
            int ok = h[i] && fetch(h[i], url, &b, 2000) == 0;
            if (ok) {
                up = metric_state(b.data, "up");
                unk = metric_state(b.data, "unknown");
                down = metric_state(b.data, "down");
                snprintf(url, sizeof url, "%s/api/v1/nodes?state=down", urls[i]);
                ok = fetch(h[i], url, &b, 2000) == 0;
            }
            if (ok) {
                json_t *j = json_loadb(b.data, b.len, 0, NULL);
                json_t *cnt = json_is_object(j) ? json_object_get(j, "count") : NULL;
                listed = json_is_integer(cnt) ? (long)json_integer_value(cnt) : -1;
                json_decref(j);
            }
            if (ok && up >= 0)
                printf("%lld %s up=%ld unknown=%ld down=%ld listed_down=%ld\n", (long long)at, urls[i], up, unk, down,
                       listed);
            else
                printf("%lld %s unreachable\n", (long long)at, urls[i]);
        }
        fflush(stdout);
        next += every;
        int64_t now = wr_mono_ms();
        if (next > now)
            usleep((useconds_t)(next - now) * 1000);
        else
            next = now;   /* late: do not try to catch up */
    }
    for (int i = 0; i < n; i++)
        curl_easy_cleanup(h[i]);
    free(b.data);
    return 0;
}
