/* wr_event: the events that must not be lost (alarm raise / update / clear, notifications)
 * and how they travel (DESIGN section 2: at-least-once, dedup by origin identity).
 *
 * An event has an identity: the tier that first accepted it (origin), that tier's outbox
 * epoch and seq. The identity never changes on the way up, so the root drops duplicates by it
 * (core/wr_dedup.h) however many times a hop resends. Each hop also has its own position: the
 * sender's outbox (epoch, seq), which the parent ACKs (wr_ack_t, cumulative) once it has stored
 * the event in its own outbox or history.
 *
 * One event alone is a msgpack array (what an outbox stores; a relay forwards the same bytes):
 *   alarm: ["A", origin str, epoch uint, seq uint, at int, scope str, type str, resource str,
 *           severity uint (0 = clear .. 5), text str, raised_by str]
 *   notif: ["N", origin str, epoch uint, seq uint, at int, node str, type str,
 *           severity uint (1..5), leaf str, fields str (JSON object text)]
 * A frame of type ALARM or NOTIF carries a batch:
 *   body {events: [[hop_epoch uint, hop_seq uint, event bin, floor uint], ...] R}
 *   (1..WR_EVENT_BATCH_MAX items) where floor (optional: 3-item entries are accepted, 0 =
 *   not said) is the oldest seq of hop_epoch the sender still holds for this parent: every
 *   seq below it was acknowledged (or dropped, counted) already, so the parent may take its
 *   position there, and no higher (a parent that restarted never ACKs past a gap).
 * where every event's kind matches the frame's type. */
#ifndef WR_EVENT_H
#define WR_EVENT_H
#include <stddef.h>
#include <stdint.h>
#include "wr_alarm.h"
#include "wr_codec.h"

#define WR_EVENT_BATCH_MAX   4096          /* events in one frame */
#define WR_EVENT_BYTES_MAX   (32u << 10)   /* one packed event */
#define WR_NOTIF_TYPE_MAX    48
#define WR_NOTIF_FIELDS_MAX  (16u << 10)   /* JSON text of a notification's fields, incl. NUL */

typedef struct {
    char     origin[WR_ID_MAX];   /* tier that first accepted the event */
    uint64_t epoch;               /* its outbox epoch */
    uint64_t seq;                 /* its outbox seq */
} wr_event_id_t;

/* A notification (DESIGN section 3): code loaded, shell command, node up/down, crash dump,
 * logger report, system monitor event, config file changed... */
typedef struct {
    char    node[WR_NODE_NAME_MAX];
    char    type[WR_NOTIF_TYPE_MAX];     /* "code_loaded", "shell_command", "node_down", ... */
    int     severity;                    /* wr_severity_t, never WR_SEV_CLEARED */
    int64_t at_ms;
    char    leaf[WR_ID_MAX];             /* the leaf that received it */
    char    fields[WR_NOTIF_FIELDS_MAX]; /* a JSON object, e.g. {"module":"m","md5":"..."} */
} wr_notif_t;

typedef struct {
    int              kind;          /* WR_MSG_ALARM or WR_MSG_NOTIF */
    wr_event_id_t    id;
    wr_alarm_event_t alarm;         /* kind ALARM (alarm.at_ms is the event's time) */
    wr_notif_t       notif;         /* kind NOTIF */
} wr_event_t;

/* Packs one event alone (no envelope) into enc: the bytes an outbox stores. Returns 0,
 * WR_EINVAL (malformed: empty origin, severity out of range, unterminated field, fields not
 * starting with '{') or WR_ENOMEM. */
int wr_event_pack(wr_encoder_t *enc, const wr_event_t *ev);

/* Unpacks the bytes of one event (untrusted) into *out. Returns 0, or WR_EPROTO / WR_ETOOBIG
 * with a reason naming the field. Never reads past buf. */
int wr_event_unpack(const void *buf, size_t len, wr_event_t *out, char *why, size_t whylen);

/* One item of a batch frame: the hop position and the packed event's bytes. */
typedef struct {
    uint64_t    hop_epoch;
    uint64_t    hop_seq;
    const void *data;
    size_t      len;
    uint64_t    floor;          /* 0: not said; else 1..hop_seq (see the frame format above) */
} wr_event_item_t;

/* Encodes an ALARM or NOTIF frame (env->type) with n items (1..WR_EVENT_BATCH_MAX). The items'
 * bytes are copied as they are (they were checked when packed or unpacked). */
int wr_encode_events(wr_encoder_t *enc, const wr_envelope_t *env, const wr_event_item_t *items,
                     size_t n);

/* For the last decoded ALARM/NOTIF frame: the number of items (checked: 1..BATCH_MAX, each
 * [uint, uint, bin] with the bin within WR_EVENT_BYTES_MAX). */
int wr_decode_events(wr_decoder_t *dec, size_t *count, char *why, size_t whylen);
/* Item i of that frame: its hop position and raw bytes (valid until the next decode on dec),
 * unpacked into *out (which may be NULL to skip unpacking); the event's kind must match the
 * frame's type. */
int wr_decode_event_at(wr_decoder_t *dec, size_t i, wr_event_item_t *item, wr_event_t *out,
                       char *why, size_t whylen);

#endif
