/* wr_link_priv: helpers shared by wr_link_server.c and wr_link_client.c (not a public API). */
#ifndef WR_LINK_PRIV_H
#define WR_LINK_PRIV_H
#include <stddef.h>
#include "wr_link.h"

/* Copies params (NULL = defaults) into out, replacing zero fields with their defaults. */
void wr_link_params_resolve(const wr_link_params_t *in, wr_link_params_t *out);

/* Sets LINGER 0, SNDHWM, RCVHWM and MAXMSGSIZE (= max_frame) on zsock.
 * Returns 0 or WR_EIO with a reason in err. */
int wr_link_sock_setup(void *zsock, const wr_link_params_t *p, char *err, size_t errlen);

/* Sets an int socket option; returns 0 or WR_EIO with "setsockopt NAME: reason" in err. */
int wr_link_setopt_int(void *zsock, int opt, int value, const char *name, char *err, size_t errlen);

/* Receives and discards the remaining parts of a multipart message; returns how many. */
int wr_link_drain_parts(void *zsock);

#endif
