/* wr_codec_priv: what the codec's own files share (not a public API): the decoder's state,
 * the checked field accessors of wr_codec_fields.c, and the encoder's packing helpers. */
#ifndef WR_CODEC_PRIV_H
#define WR_CODEC_PRIV_H
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "wr_codec.h"

struct wr_decoder {
    size_t         max_frame;
    char          *buf;        /* private copy of the last frame: borrowed strings point here */
    size_t         cap;
    msgpack_zone   zone;       /* msgpack-c objects of the last frame, cleared per frame */
    msgpack_object root;
    int            have;       /* 1 after a successful wr_decoder_decode */
    int            type;
    const msgpack_object *body;
};

#define TRY(call) do { int rc_ = (call); if (rc_ != 0) return rc_; } while (0)

typedef struct {
    const char *msg;     /* "DELTA", or NULL for envelope items */
    const char *field;
    long        i, j;    /* -1: absent */
    const char *noun;
} path_t;

#define PATH(msg, field, i, j, noun) (&(const path_t){ (msg), (field), (i), (j), (noun) })

#define PBUF 128
#define PS(p) wr_cf_path_str((p), pb, sizeof(pb))

/* A body key and where its value was found. */
typedef struct {
    const char           *key;
    int                   required;
    const msgpack_object *val;
} field_t;

int wr_cf_fail(int code, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *wr_cf_type_of(const msgpack_object *o);
const char *wr_cf_path_str(const path_t *p, char *buf, size_t n);
int wr_cf_uint(const msgpack_object *o, uint64_t max, const path_t *p, uint64_t *out, char *why, size_t whylen);
int wr_cf_int(const msgpack_object *o, int64_t min, int64_t max, const path_t *p, int64_t *out, char *why, size_t whylen);
int wr_cf_num(const msgpack_object *o, const path_t *p, double *out, char *why, size_t whylen);
int wr_cf_bool(const msgpack_object *o, const path_t *p, uint8_t *out, char *why, size_t whylen);
int wr_cf_str(const msgpack_object *o, size_t min_len, size_t max_len, const path_t *p,
              const char **s, size_t *n, char *why, size_t whylen);
int wr_cf_copy_str(const msgpack_object *o, char *dst, size_t cap, size_t min_len, const path_t *p,
                   char *why, size_t whylen);
int wr_cf_array(const msgpack_object *o, uint32_t n, const path_t *p, const msgpack_object **items,
                uint32_t *count, char *why, size_t whylen);
int wr_cf_get_fields(const wr_decoder_t *dec, field_t *f, size_t nf, char *why, size_t whylen);
int wr_cf_want_frame(const wr_decoder_t *dec, int t1, int t2, char *why, size_t whylen);

/* encoder side (wr_codec_encode.c) */
struct wr_encoder {
    msgpack_sbuffer sbuf;
    msgpack_packer  pk;
};
#define PK(call) do { if ((call) != 0) return WR_ENOMEM; } while (0)
int wr_ce_pack_field(msgpack_packer *pk, const char *s, size_t cap, size_t min_len);
int wr_ce_pack_span(msgpack_packer *pk, const char *s, size_t len, size_t min_len);
int wr_ce_pack_key(msgpack_packer *pk, const char *key);
int wr_ce_begin(wr_encoder_t *enc, const wr_envelope_t *env, int want, int want2);
int wr_ce_finish(wr_encoder_t *enc, int rc);

#endif
