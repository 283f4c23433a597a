/* root_http_north_udp: how a notification looks to syslog (RFC 5424) and to GELF 1.1 (both
 * sent as one UDP datagram each by root_http_north.c). Formatting only: no sockets here. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "root_http_north_int.h"
#include "wr_alarm.h"

int nu_syslog_severity(int sev)
{
    switch (sev) {
    case WR_SEV_CRITICAL: return 2;  /* crit */
    case WR_SEV_MAJOR: return 3;     /* err */
    case WR_SEV_MINOR: return 4;     /* warning */
    case WR_SEV_WARNING: return 5;   /* notice */
    default: return 6;               /* info (indeterminate) */
    }
}

/* An RFC 5424 header field: printable US-ASCII without spaces, at most max bytes, "-" if empty. */
static void put_token(char *out, size_t cap, const char *s, size_t max)
{
    size_t n = 0;
    for (; s && s[n] && n < max && n + 1 < cap; n++) {
        unsigned char ch = (unsigned char)s[n];
        out[n] = ch > 32 && ch < 127 ? (char)ch : '_';
    }
    if (n == 0 && cap > 1)
        out[n++] = '-';
    out[n] = 0;
}

/* A structured-data parameter value: '"', '\' and ']' escaped with '\'. */
static size_t put_sd(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 3 < cap; s++) {
        if (*s == '"' || *s == '\\' || *s == ']')
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o] = 0;
    return o;
}

static void rfc3339(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", b, (int)(ms % 1000 < 0 ? 0 : ms % 1000));
}

size_t nu_syslog_format(const wr_notif_t *n, const char *origin, int facility, const char *root_id,
                        char *out, size_t outcap)
{
    if (outcap == 0)
        return 0;
    char ts[40], host[256], procid[129], msgid[33];
    rfc3339(n->at_ms, ts, sizeof ts);
    const char *at = strchr(n->node, '@');  /* the node's host: "app@host" */
    put_token(host, sizeof host, at ? at + 1 : n->node, 255);
    put_token(procid, sizeof procid, root_id, 128);
    put_token(msgid, sizeof msgid, n->type, 32);
    char node[2 * WR_NODE_NAME_MAX], type[2 * WR_NOTIF_TYPE_MAX], leaf[2 * WR_ID_MAX], orig[2 * WR_ID_MAX];
    put_sd(node, sizeof node, n->node);
    put_sd(type, sizeof type, n->type);
    put_sd(leaf, sizeof leaf, n->leaf);
    put_sd(orig, sizeof orig, origin ? origin : "");
    int pri = (facility < 0 || facility > 23 ? 16 : facility) * 8 + nu_syslog_severity(n->severity);
    int len = snprintf(out, outcap,
                       "<%d>1 %s %s warren %s %s [warren@32473 node=\"%s\" type=\"%s\" severity=\"%s\""
                       " leaf=\"%s\" origin=\"%s\"] %s",
                       pri, ts, host, procid, msgid, node, type, wr_alarm_severity_name(n->severity),
                       leaf, orig, n->fields);
    if (len < 0)
        return 0;
    return (size_t)len < outcap ? (size_t)len : outcap - 1;
}

static int gelf_key_ok(const char *k)
{
    if (!*k || strlen(k) > 64 || strcmp(k, "id") == 0)
        return 0;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_' && *k != '.' && *k != '-')
            return 0;
    return 1;
}

static size_t gelf_dump(json_t *o, char *out, size_t outcap)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (!s)
        return 0;
    size_t len = strlen(s);
    if (len + 1 > outcap) {
        free(s);
        return 0;
    }
    memcpy(out, s, len + 1);
    free(s);
    return len;
}

size_t nu_gelf_format(const wr_notif_t *n, const char *origin, const char *root_id, char *out,
                      size_t outcap)
{
    char shortm[WR_NOTIF_TYPE_MAX + WR_NODE_NAME_MAX + 8];
    snprintf(shortm, sizeof shortm, "%s on %s", n->type, n->node);
    json_t *o = json_pack("{s:s, s:s, s:s, s:f, s:i, s:s, s:s, s:s, s:s, s:s, s:s}",
                          "version", "1.1", "host", n->node[0] ? n->node : "-", "short_message", shortm,
                          "timestamp", (double)n->at_ms / 1000.0, "level", nu_syslog_severity(n->severity),
                          "_type", n->type, "_node", n->node, "_severity", wr_alarm_severity_name(n->severity),
                          "_leaf", n->leaf, "_origin", origin ? origin : "", "_root", root_id ? root_id : "");
    if (!o)
        return 0;
    json_object_set_new(o, "full_message", json_string(n->fields));
    json_t *f = json_loads(n->fields, JSON_REJECT_DUPLICATES, NULL);
    json_t *full = json_deep_copy(o);
    if (json_is_object(f)) {      /* scalar fields flattened as additional fields "_<key>" */
        const char *k;
        json_t *v;
        json_object_foreach(f, k, v) {
            if (!gelf_key_ok(k) || !(json_is_string(v) || json_is_number(v) || json_is_boolean(v)))
                continue;
            char key[72];
            snprintf(key, sizeof key, "_%s", k);
            if (json_object_get(o, key))
                continue;
            if (json_is_boolean(v))   /* GELF values are strings or numbers */
                json_object_set_new(o, key, json_string(json_is_true(v) ? "true" : "false"));
            else
                json_object_set(o, key, v);
        }
    }
    json_decref(f);
    size_t len = gelf_dump(o, out, outcap);
    if (len == 0 && full) {       /* too big: without the flattened fields, full_message cut */
        size_t fl = strlen(n->fields), keep = outcap > 1024 ? outcap - 1024 : 0;
        if (fl > keep) {
            char *cut = strndup(n->fields, keep);
            json_object_set_new(full, "full_message", json_string(cut ? cut : ""));
            json_object_set_new(full, "_truncated", json_true());
            free(cut);
        }
        len = gelf_dump(full, out, outcap);
    }
    json_decref(full);
    json_decref(o);
    return len;
}
