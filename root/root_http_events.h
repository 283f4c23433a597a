/* root_http_events: the alarm and notification routes of the HTTP API (root_http_events.c),
 * called by root_http.c's router. Internal to the root. */
#ifndef ROOT_HTTP_EVENTS_H
#define ROOT_HTTP_EVENTS_H
#include <stddef.h>
#include "root_events.h"
#include "root_http_int.h"
#include "tier.h"

struct MHD_Connection;

/* Answers /api/v1/alarms, /api/v1/alarms/ack (POST only: body, body_len) and
 * /api/v1/notifications into r, given the path after "/api/v1/" split into n segments.
 * events may be NULL (history routes answer 503). Returns 1 if the path was one of these
 * (r is filled), else 0 (r untouched). */
int rh_events_route(tier_t *tier, root_events_t *events, struct MHD_Connection *conn, int is_post,
                    const char *body, size_t body_len, const char *const *seg, const size_t *len, size_t n,
                    rh_resp_t *r);

#endif
