/* wr_error: names of the WR_E... codes. */
#include "wr_error.h"

const char *wr_strerror(int code)
{
    switch (code) {
    case WR_OK:        return "ok";
    case WR_EINVAL:    return "invalid argument";
    case WR_ENOMEM:    return "out of memory";
    case WR_EPROTO:    return "protocol error";
    case WR_ETOOBIG:   return "size over its cap";
    case WR_EIO:       return "i/o error";
    case WR_ENOTFOUND: return "not found";
    case WR_EFULL:     return "storage full";
    case WR_EAGAIN:    return "would block";
    case WR_ECONFIG:   return "configuration error";
    case WR_ESTORE:    return "store error";
    case WR_ETIMEDOUT: return "timed out";
    case WR_ECLOSED:   return "closed";
    case WR_EEXIST:    return "already exists";
    case WR_EUNSUPPORTED: return "unsupported";
    default:           return "unknown error";
    }
}
