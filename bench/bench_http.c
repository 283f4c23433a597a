/* bench_http: JSON GETs against a warren root's HTTP API (libcurl easy handle reused, so the
 * connection stays open between polls; jansson parses). Returns errors, never prints. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "wr_error.h"

#define BENCH_HTTP_MAX_BODY (1024 * 1024)

struct bench_http {
    CURL  *curl;
    char   base[256];
    char  *body;
    size_t len;
    int    too_big;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    bench_http_t *h = ud;
    size_t n = size * nmemb;
    if (h->len + n >= BENCH_HTTP_MAX_BODY) {
        h->too_big = 1;
        return 0;   /* aborts the transfer */
    }
    memcpy(h->body + h->len, ptr, n);
    h->len += n;
    return n;
}

bench_http_t *bench_http_new(const char *base)
{
    static int curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        curl_ready = 1;
    }
    bench_http_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->body = malloc(BENCH_HTTP_MAX_BODY);
    h->curl = curl_easy_init();
    if (!h->body || !h->curl || strlen(base) >= sizeof h->base) {
        bench_http_destroy(&h);
        return NULL;
    }
    snprintf(h->base, sizeof h->base, "%s", base);
    return h;
}

void bench_http_destroy(bench_http_t **hp)
{
    if (!hp || !*hp)
        return;
    bench_http_t *h = *hp;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    free(h->body);
    free(h);
    *hp = NULL;
}

int bench_http_get_json(bench_http_t *h, const char *path, long timeout_ms, json_t **out, char *err,
                        size_t errlen)
{
    char url[512];
    *out = NULL;
    snprintf(url, sizeof url, "%s%s", h->base, path);
    h->len = 0;
    h->too_big = 0;
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    CURLcode rc = curl_easy_perform(h->curl);
    if (h->too_big) {
        snprintf(err, errlen, "%s: answer larger than %d bytes", url, BENCH_HTTP_MAX_BODY);
        return WR_ETOOBIG;
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(rc));
        return WR_EIO;
    }
    long code = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        snprintf(err, errlen, "%s: HTTP %ld", url, code);
        return WR_EPROTO;
    }
    json_error_t jerr;
    json_t *j = json_loadb(h->body, h->len, 0, &jerr);
    if (!json_is_object(j)) {
        snprintf(err, errlen, "%s: not a JSON object (%s)", url, j ? "other JSON type" : jerr.text);
        json_decref(j);
        return WR_EPROTO;
    }
    *out = j;
    return 0;
}

double bench_json_num(const json_t *obj, const char *key, double dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}
