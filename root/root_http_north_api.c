/* root_http_north_api: the northbound counters (root_http_north.h) as they appear in
 * /api/v1/status ("northbound") and in /metrics (warren_northbound_*). */
#include "root_http_int.h"
#include "root_http_north.h"
#include "root_http_north_int.h"

void rh_north_status_json(const root_north_t *north, rh_buf_t *b)
{
    rh_buf_puts(b, ",\"northbound\":[");
    for (size_t i = 0; i < root_north_count(north); i++) {
        root_north_target_t t;
        if (root_north_target(north, i, &t) != 0)
            continue;
        rh_buf_puts(b, i ? ",{\"kind\":" : "{\"kind\":");
        rh_buf_json_str(b, t.kind);
        rh_buf_puts(b, ",\"dest\":");
        rh_buf_json_str(b, t.dest);
        rh_buf_printf(b, ",\"pushed\":%llu,\"failed\":%llu,\"retried\":%llu,\"dropped\":%llu"
                      ",\"rejected\":%llu,\"queued\":%zu,\"last_ok\":%lld,\"last_error\":",
                      (unsigned long long)t.pushed, (unsigned long long)t.failed,
                      (unsigned long long)t.retried, (unsigned long long)t.dropped,
                      (unsigned long long)t.rejected, t.queued, (long long)t.last_ok_ms);
        rh_buf_json_str(b, t.last_error);
        rh_buf_puts(b, "}");
    }
    rh_buf_puts(b, "]");
}

static void prom_family(const root_north_t *north, rh_buf_t *b, const char *name, const char *type,
                        const char *help, int which)
{
    size_t n = root_north_count(north);
    if (n == 0)
        return;
    rh_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (size_t i = 0; i < n; i++) {
        root_north_target_t t;
        if (root_north_target(north, i, &t) != 0)
            continue;
        uint64_t v = which == 0 ? t.pushed : which == 1 ? t.failed : which == 2 ? t.retried
                   : which == 3 ? t.dropped : which == 4 ? t.rejected : (uint64_t)t.queued;
        rh_buf_printf(b, "%s{kind=\"", name);
        rh_buf_prom_label(b, t.kind);
        rh_buf_puts(b, "\",dest=\"");
        rh_buf_prom_label(b, t.dest);
        rh_buf_printf(b, "\"} %llu\n", (unsigned long long)v);
    }
}

void rh_north_prometheus(const root_north_t *north, rh_buf_t *b)
{
    prom_family(north, b, "warren_northbound_pushed_total", "counter", "Items delivered northbound (alerts, alarm changes, datagrams).", 0);
    prom_family(north, b, "warren_northbound_failed_total", "counter", "Failed northbound attempts (transport error, 5xx, send error).", 1);
    prom_family(north, b, "warren_northbound_retried_total", "counter", "Northbound attempts made after a failure (with backoff).", 2);
    prom_family(north, b, "warren_northbound_dropped_total", "counter", "Northbound items dropped because the target's queue was full.", 3);
    prom_family(north, b, "warren_northbound_rejected_total", "counter", "Northbound items the receiver refused (HTTP 4xx).", 4);
    prom_family(north, b, "warren_northbound_queued", "gauge", "Northbound items waiting to be sent.", 5);
}
