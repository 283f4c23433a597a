/* sim_rootapi: the few questions warren-sim asks a root's HTTP API (libcurl + jansson),
 * and process liveness checks. */
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "sim_fabric.h"

typedef struct {
    char   data[64 * 1024];
    size_t len;
} body_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    body_t *b = ud;
    size_t n = size * nmemb;
    if (b->len + n >= sizeof b->data)
        return 0;   /* too large: abort the transfer */
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    return n;
}

static long get_long(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long)json_integer_value(v) : json_is_real(v) ? (long)json_real_value(v) : 0;
}

int sim_root_status(const char *url, sim_root_status_t *st)
{
    static int curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = 1;
    }
    memset(st, 0, sizeof *st);
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    static body_t body;
    body.len = 0;
    char full[512];
    snprintf(full, sizeof full, "%s/api/v1/status", url);
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || code != 200)
        return -1;
    json_t *root = json_loadb(body.data, body.len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    st->nodes_total = get_long(root, "nodes_total");
    st->nodes_up = get_long(root, "nodes_up");
    st->leaves_up = get_long(root, "leaves_up");
    st->relays_up = get_long(root, "relays_up");
    json_decref(root);
    return 0;
}

int sim_pid_alive(int pid)
{
    if (pid <= 1 || kill(pid, 0) != 0)
        return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *rp = strrchr(buf, ')');   /* the state follows the command name in parentheses */
    return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}
