/* leaf_frame: the leaf's own framing of an established Erlang distribution connection (after
 * the handshake). Splits the byte stream into packets (4-byte big-endian length; length 0 is
 * a tick), decodes a packet's pass-through header and control message, and encodes the
 * header of a REG_SEND. Pure: no I/O, no logging; leaf_beam.c does the reads and writes. */
#ifndef LEAF_FRAME_H
#define LEAF_FRAME_H
#ifndef _REENTRANT
#define _REENTRANT 1
#endif
#include <ei.h>
#include <stddef.h>
#include <stdint.h>

#define LEAF_FRAME_MAX  (64u << 20)   /* cap on one packet's length (peer-controlled) */

typedef struct leaf_frame {
    unsigned char hdr[4];     /* the length header of the packet being assembled */
    uint32_t      hlen;       /* bytes of hdr received (0..4) */
    uint32_t      need;       /* the packet's length once hlen == 4 */
    uint32_t      len;        /* bytes of the packet body in buf */
    char         *buf;        /* body of an incomplete packet (only packets split across reads) */
    size_t        cap;
} leaf_frame_t;

/* One complete packet: pkt/len without its length header; len 0 is a tick. Returns 0 to go
 * on, nonzero to stop (the connection is gone: the rest of the data is dropped). pkt is valid
 * only during the call. */
typedef int (*leaf_frame_fn)(void *ud, const char *pkt, size_t len);

/* Feeds n bytes read from the connection, calling cb for every packet they complete, in
 * order. Returns 0; 1 if cb asked to stop; WR_ETOOBIG if a packet's length is over max (why
 * names it; the stream cannot be resynchronised: drop the connection). */
int  leaf_frame_feed(leaf_frame_t *f, const char *data, size_t n, size_t max, leaf_frame_fn cb,
                     void *ud, char *why, size_t whylen);
/* Forgets any partial packet (a new connection); keeps the buffer. */
void leaf_frame_reset(leaf_frame_t *f);
/* Frees the buffer; f is then empty (reusable). */
void leaf_frame_free(leaf_frame_t *f);

typedef struct {
    long op;                          /* ERL_SEND, ERL_REG_SEND, ERL_LINK, ... */
    char toname[MAXATOMLEN_UTF8];     /* REG_SEND / REG_SEND_TT: the registered name */
    int  payload;                     /* index in pkt of the message (from its version
                                       * byte), or -1 when the operation carries none */
} leaf_frame_ctl_t;

/* Decodes a packet (not a tick): the pass-through byte 'p', then the control tuple (version
 * byte first). Returns 0, or WR_EPROTO with why set (garbage: the stream is broken). Control
 * operations other than the sends are returned with payload -1 unless they carry one. */
int  leaf_frame_decode(const char *pkt, size_t len, leaf_frame_ctl_t *c, char *why, size_t whylen);

/* Encodes into hdr (cap bytes) the start of a packet sending a msglen-byte message (already
 * encoded, with its version byte) from `from` to the name `to`: length, 'p', version,
 * {6, From, '', To}. Returns the header's length, or WR_ETOOBIG if cap is too small. */
int  leaf_frame_reg_send_header(char *hdr, size_t cap, const erlang_pid *from, const char *to,
                                size_t msglen);

#endif
