/* wr_codec_event: packing of single events (alarm, notification) and the ALARM / NOTIF batch
 * frames that carry them (schema in wr_event.h). Events arrive from the network and from
 * outboxes on disk: both are untrusted and checked field by field. */
#include <stdio.h>
#include <string.h>
#include <msgpack.h>
#include "wr_codec_priv.h"
#include "wr_error.h"
#include "wr_event.h"

/* ---- one event ------------------------------------------------------------------------ */

static int pack_event(msgpack_packer *pk, const wr_event_t *ev)
{
    if (ev->kind == WR_MSG_ALARM) {
        const wr_alarm_event_t *a = &ev->alarm;
        if (a->severity < WR_SEV_CLEARED || a->severity > WR_SEV_CRITICAL)
            return WR_EINVAL;
        PK(msgpack_pack_array(pk, 11));
        TRY(wr_ce_pack_span(pk, "A", 1, 1));
        TRY(wr_ce_pack_field(pk, ev->id.origin, sizeof ev->id.origin, 1));
        PK(msgpack_pack_uint64(pk, ev->id.epoch));
        PK(msgpack_pack_uint64(pk, ev->id.seq));
        PK(msgpack_pack_int64(pk, a->at_ms));
        TRY(wr_ce_pack_field(pk, a->key.scope, sizeof a->key.scope, 1));
        TRY(wr_ce_pack_field(pk, a->key.type, sizeof a->key.type, 1));
        TRY(wr_ce_pack_field(pk, a->key.resource, sizeof a->key.resource, 0));
        PK(msgpack_pack_uint32(pk, (uint32_t)a->severity));
        TRY(wr_ce_pack_field(pk, a->text, sizeof a->text, 0));
        TRY(wr_ce_pack_field(pk, a->origin, sizeof a->origin, 0));
        return WR_OK;
    }
    if (ev->kind == WR_MSG_NOTIF) {
        const wr_notif_t *n = &ev->notif;
        if (n->severity <= WR_SEV_CLEARED || n->severity > WR_SEV_CRITICAL || n->fields[0] != '{')
            return WR_EINVAL;
        PK(msgpack_pack_array(pk, 10));
        TRY(wr_ce_pack_span(pk, "N", 1, 1));
        TRY(wr_ce_pack_field(pk, ev->id.origin, sizeof ev->id.origin, 1));
        PK(msgpack_pack_uint64(pk, ev->id.epoch));
        PK(msgpack_pack_uint64(pk, ev->id.seq));
        PK(msgpack_pack_int64(pk, n->at_ms));
        TRY(wr_ce_pack_field(pk, n->node, sizeof n->node, 1));
        TRY(wr_ce_pack_field(pk, n->type, sizeof n->type, 1));
        PK(msgpack_pack_uint32(pk, (uint32_t)n->severity));
        TRY(wr_ce_pack_field(pk, n->leaf, sizeof n->leaf, 0));
        TRY(wr_ce_pack_field(pk, n->fields, sizeof n->fields, 2));
        return WR_OK;
    }
    return WR_EINVAL;
}

int wr_event_pack(wr_encoder_t *enc, const wr_event_t *ev)
{
    if (!enc || !ev)
        return WR_EINVAL;
    msgpack_sbuffer_clear(&enc->sbuf);
    int rc = pack_event(&enc->pk, ev);
    if (rc == 0 && enc->sbuf.size > WR_EVENT_BYTES_MAX)
        rc = WR_EINVAL;
    return wr_ce_finish(enc, rc);
}

/* Checks the unpacked array of one event into *out (kind decided by its first item). */
static int check_event(const msgpack_object *o, const char *where, wr_event_t *out, char *why,
                       size_t whylen)
{
    const msgpack_object *e = NULL;
    uint32_t k = 0;
    uint64_t u;
    int64_t at;
    const char *tag;
    size_t tl;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: expected a non-empty array, got %s", where,
                          wr_cf_type_of(o));
    TRY(wr_cf_str(&o->via.array.ptr[0], 1, 1, PATH(where, "kind", -1, -1, NULL), &tag, &tl, why, whylen));
    memset(out, 0, sizeof *out);
    int alarm = tag[0] == 'A';
    if (!alarm && tag[0] != 'N')
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: unknown event kind \"%c\"", where, tag[0]);
    TRY(wr_cf_array(o, alarm ? 11 : 10, PATH(where, alarm ? "alarm" : "notif", -1, -1, NULL), &e, &k,
                    why, whylen));
    out->kind = alarm ? WR_MSG_ALARM : WR_MSG_NOTIF;
    TRY(wr_cf_copy_str(&e[1], out->id.origin, sizeof out->id.origin, 1, PATH(where, "origin", -1, -1, NULL),
                       why, whylen));
    TRY(wr_cf_uint(&e[2], UINT64_MAX, PATH(where, "epoch", -1, -1, NULL), &out->id.epoch, why, whylen));
    TRY(wr_cf_uint(&e[3], UINT64_MAX, PATH(where, "seq", -1, -1, NULL), &out->id.seq, why, whylen));
    TRY(wr_cf_int(&e[4], INT64_MIN, INT64_MAX, PATH(where, "at", -1, -1, NULL), &at, why, whylen));
    if (alarm) {
        wr_alarm_event_t *a = &out->alarm;
        a->at_ms = at;
        TRY(wr_cf_copy_str(&e[5], a->key.scope, sizeof a->key.scope, 1, PATH(where, "scope", -1, -1, NULL),
                           why, whylen));
        TRY(wr_cf_copy_str(&e[6], a->key.type, sizeof a->key.type, 1, PATH(where, "type", -1, -1, NULL),
                           why, whylen));
        TRY(wr_cf_copy_str(&e[7], a->key.resource, sizeof a->key.resource, 0,
                           PATH(where, "resource", -1, -1, NULL), why, whylen));
        TRY(wr_cf_uint(&e[8], WR_SEV_CRITICAL, PATH(where, "severity", -1, -1, NULL), &u, why, whylen));
        a->severity = (int)u;
        TRY(wr_cf_copy_str(&e[9], a->text, sizeof a->text, 0, PATH(where, "text", -1, -1, NULL), why, whylen));
        TRY(wr_cf_copy_str(&e[10], a->origin, sizeof a->origin, 0, PATH(where, "raised_by", -1, -1, NULL),
                           why, whylen));
        return WR_OK;
    }
    wr_notif_t *n = &out->notif;
    n->at_ms = at;
    TRY(wr_cf_copy_str(&e[5], n->node, sizeof n->node, 1, PATH(where, "node", -1, -1, NULL), why, whylen));
    TRY(wr_cf_copy_str(&e[6], n->type, sizeof n->type, 1, PATH(where, "type", -1, -1, NULL), why, whylen));
    TRY(wr_cf_uint(&e[7], WR_SEV_CRITICAL, PATH(where, "severity", -1, -1, NULL), &u, why, whylen));
    if (u == WR_SEV_CLEARED)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s severity: a notification cannot be \"cleared\"", where);
    n->severity = (int)u;
    TRY(wr_cf_copy_str(&e[8], n->leaf, sizeof n->leaf, 0, PATH(where, "leaf", -1, -1, NULL), why, whylen));
    TRY(wr_cf_copy_str(&e[9], n->fields, sizeof n->fields, 2, PATH(where, "fields", -1, -1, NULL), why, whylen));
    if (n->fields[0] != '{')
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s fields: expected a JSON object", where);
    return WR_OK;
}

/* Unpacks bytes already known to be one well-formed object into a caller's zone. */
static int unpack_into(const void *buf, size_t len, msgpack_zone *zone, msgpack_object *obj,
                       const char *where, char *why, size_t whylen)
{
    TRY(wr_codec_prescan(buf, len, WR_EVENT_BYTES_MAX, why, whylen));
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack(buf, len, &off, zone, obj);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: not one msgpack object", where);
    return WR_OK;
}

int wr_event_unpack(const void *buf, size_t len, wr_event_t *out, char *why, size_t whylen)
{
    if (!buf || !out)
        return wr_cf_fail(WR_EINVAL, why, whylen, "event: missing argument");
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 2048))
        return wr_cf_fail(WR_ENOMEM, why, whylen, "event: no memory");
    msgpack_object obj;
    int rc = unpack_into(buf, len, &zone, &obj, "event", why, whylen);
    if (rc == 0)
        rc = check_event(&obj, "event", out, why, whylen);
    msgpack_zone_destroy(&zone);
    return rc;
}

/* ---- batch frames --------------------------------------------------------------------- */

static int encode_events(wr_encoder_t *enc, const wr_envelope_t *env, const wr_event_item_t *items,
                         size_t n)
{
    if (!items || n == 0 || n > WR_EVENT_BATCH_MAX)
        return WR_EINVAL;
    TRY(wr_ce_begin(enc, env, WR_MSG_ALARM, WR_MSG_NOTIF));
    PK(msgpack_pack_map(&enc->pk, 1));
    TRY(wr_ce_pack_key(&enc->pk, "events"));
    PK(msgpack_pack_array(&enc->pk, (uint32_t)n));
    for (size_t i = 0; i < n; i++) {
        if (!items[i].data || items[i].len == 0 || items[i].len > WR_EVENT_BYTES_MAX ||
            items[i].floor > items[i].hop_seq)
            return WR_EINVAL;
        PK(msgpack_pack_array(&enc->pk, items[i].floor ? 4 : 3));
        PK(msgpack_pack_uint64(&enc->pk, items[i].hop_epoch));
        PK(msgpack_pack_uint64(&enc->pk, items[i].hop_seq));
        PK(msgpack_pack_bin(&enc->pk, items[i].len));
        PK(msgpack_pack_bin_body(&enc->pk, items[i].data, items[i].len));
        if (items[i].floor)
            PK(msgpack_pack_uint64(&enc->pk, items[i].floor));
    }
    return WR_OK;
}

int wr_encode_events(wr_encoder_t *enc, const wr_envelope_t *env, const wr_event_item_t *items,
                     size_t n)
{
    if (!enc)
        return WR_EINVAL;
    return wr_ce_finish(enc, encode_events(enc, env, items, n));
}

/* The events array of the decoder's ALARM/NOTIF frame. */
static int events_array(wr_decoder_t *dec, const msgpack_object **items, uint32_t *n, char *why,
                        size_t whylen)
{
    field_t f[] = { { "events", 1, NULL } };
    TRY(wr_cf_want_frame(dec, WR_MSG_ALARM, WR_MSG_NOTIF, why, whylen));
    TRY(wr_cf_get_fields(dec, f, 1, why, whylen));
    const char *tn = wr_msg_type_name(dec->type);
    TRY(wr_cf_array(f[0].val, 0, PATH(tn, "events", -1, -1, NULL), items, n, why, whylen));
    if (*n == 0 || *n > WR_EVENT_BATCH_MAX)
        return wr_cf_fail(*n ? WR_ETOOBIG : WR_EPROTO, why, whylen, "%s events: %u entries (expected 1..%u)",
                          tn, (unsigned)*n, WR_EVENT_BATCH_MAX);
    return WR_OK;
}

static int event_item(wr_decoder_t *dec, const msgpack_object *o, long i, wr_event_item_t *item,
                      char *why, size_t whylen)
{
    const char *tn = wr_msg_type_name(dec->type);
    const msgpack_object *e = NULL;
    uint32_t k = 0;
    TRY(wr_cf_array(o, 0, PATH(tn, "events", i, -1, NULL), &e, &k, why, whylen));
    if (k != 3 && k != 4)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s events[%ld]: expected array of 3 or 4, got array of %u",
                          tn, i, (unsigned)k);
    TRY(wr_cf_uint(&e[0], UINT64_MAX, PATH(tn, "events", i, 0, "hop epoch"), &item->hop_epoch, why, whylen));
    TRY(wr_cf_uint(&e[1], UINT64_MAX, PATH(tn, "events", i, 1, "hop seq"), &item->hop_seq, why, whylen));
    if (e[2].type != MSGPACK_OBJECT_BIN)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s events[%ld][2]: expected bin, got %s", tn, i,
                          wr_cf_type_of(&e[2]));
    if (e[2].via.bin.size == 0 || e[2].via.bin.size > WR_EVENT_BYTES_MAX)
        return wr_cf_fail(WR_ETOOBIG, why, whylen, "%s events[%ld][2]: %u bytes (expected 1..%u)", tn, i,
                          (unsigned)e[2].via.bin.size, WR_EVENT_BYTES_MAX);
    item->data = e[2].via.bin.ptr;
    item->len = e[2].via.bin.size;
    item->floor = 0;
    if (k == 4) {
        TRY(wr_cf_uint(&e[3], item->hop_seq, PATH(tn, "events", i, 3, "floor (at most the hop seq)"),
                       &item->floor, why, whylen));
    }
    return WR_OK;
}

int wr_decode_events(wr_decoder_t *dec, size_t *count, char *why, size_t whylen)
{
    const msgpack_object *items = NULL;
    uint32_t n = 0;
    TRY(events_array(dec, &items, &n, why, whylen));
    for (uint32_t i = 0; i < n; i++) {
        wr_event_item_t it;
        TRY(event_item(dec, &items[i], (long)i, &it, why, whylen));
    }
    *count = n;
    return WR_OK;
}

int wr_decode_event_at(wr_decoder_t *dec, size_t i, wr_event_item_t *item, wr_event_t *out,
                       char *why, size_t whylen)
{
    const msgpack_object *items = NULL;
    uint32_t n = 0;
    TRY(events_array(dec, &items, &n, why, whylen));
    if (i >= n)
        return wr_cf_fail(WR_EINVAL, why, whylen, "event %zu of %u", i, (unsigned)n);
    wr_event_item_t it;
    TRY(event_item(dec, &items[i], (long)i, &it, why, whylen));
    if (item)
        *item = it;
    if (!out)
        return WR_OK;
    char where[48];
    snprintf(where, sizeof where, "%s events[%zu]", wr_msg_type_name(dec->type), i);
    TRY(wr_event_unpack(it.data, it.len, out, why, whylen));
    if (out->kind != dec->type)
        return wr_cf_fail(WR_EPROTO, why, whylen, "%s: a %s in a %s frame", where,
                          wr_msg_type_name(out->kind), wr_msg_type_name(dec->type));
    return WR_OK;
}
