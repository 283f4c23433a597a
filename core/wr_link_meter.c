/* wr_link_meter: per-second rates of a link's cumulative counters (frames and bytes, in and
 * out), recomputed over windows of at least min_ms so a frequent caller sees stable values. */
#include <string.h>
#include "wr_link.h"

void wr_link_stats_add(wr_link_stats_t *sum, const wr_link_stats_t *x)
{
    sum->frames_in += x->frames_in;
    sum->frames_out += x->frames_out;
    sum->bytes_in += x->bytes_in;
    sum->bytes_out += x->bytes_out;
    sum->bad_frames += x->bad_frames;
    sum->send_dropped += x->send_dropped;
    sum->unknown_peer += x->unknown_peer;
}

/* Counter delta per second; a counter that went backwards (a link rebuilt) counts from 0. */
static double per_s(uint64_t now, uint64_t before, double secs)
{
    return (double)(now >= before ? now - before : now) / secs;
}

void wr_link_meter_update(wr_link_meter_t *m, const wr_link_stats_t *total, int64_t now_ms,
                          int64_t min_ms)
{
    if (m->last_ms == 0) {
        m->last = *total;
        m->last_ms = now_ms;
        return;
    }
    if (now_ms - m->last_ms < (min_ms > 0 ? min_ms : 1))
        return;
    double secs = (double)(now_ms - m->last_ms) / 1000.0;
    m->rates.frames_in = per_s(total->frames_in, m->last.frames_in, secs);
    m->rates.frames_out = per_s(total->frames_out, m->last.frames_out, secs);
    m->rates.bytes_in = per_s(total->bytes_in, m->last.bytes_in, secs);
    m->rates.bytes_out = per_s(total->bytes_out, m->last.bytes_out, secs);
    m->last = *total;
    m->last_ms = now_ms;
}
