/* wr_error: the error codes every libwarren function returns (0 or a negative WR_E...).
 * Not a logging facility: callers decide what to print. */
#ifndef WR_ERROR_H
#define WR_ERROR_H

enum {
    WR_OK        = 0,
    WR_EINVAL    = -1,   /* bad argument or bad input value */
    WR_ENOMEM    = -2,   /* allocation failed */
    WR_EPROTO    = -3,   /* malformed frame or term */
    WR_ETOOBIG   = -4,   /* a peer-controlled size exceeds its cap */
    WR_EIO       = -5,   /* socket / file / system call failed */
    WR_ENOTFOUND = -6,   /* no such key, node, metric, peer */
    WR_EFULL     = -7,   /* store map full even after pruning */
    WR_EAGAIN    = -8,   /* would block (high-water mark reached); try later */
    WR_ECONFIG   = -9,   /* configuration error */
    WR_ESTORE    = -10,  /* LMDB error other than the above */
    WR_ETIMEDOUT = -11,  /* deadline passed */
    WR_ECLOSED   = -12,  /* peer or connection closed */
    WR_EEXIST    = -13,  /* already exists */
    WR_EUNSUPPORTED = -14 /* unknown message type, query kind, version */
};

/* Returns a static, human-readable name for a WR_E... code (never NULL). */
const char *wr_strerror(int code);

#endif
