/* wr_codec: the small, stateless parts of the wire codec: message type and node state names,
 * and the sender's side of envelopes (origin epoch and sequence numbers). The encoder lives in
 * wr_codec_encode.c, the decoder in wr_codec_decode.c, the pre-scan in wr_codec_prescan.c. */
#include <string.h>
#include <time.h>
#include "wr_codec.h"
#include "wr_time.h"

const char *wr_msg_type_name(int type)
{
    switch (type) {
    case WR_MSG_HELLO:     return "HELLO";
    case WR_MSG_SNAPSHOT:  return "SNAPSHOT";
    case WR_MSG_DELTA:     return "DELTA";
    case WR_MSG_ALARM:     return "ALARM";
    case WR_MSG_NOTIF:     return "NOTIF";
    case WR_MSG_ACK:       return "ACK";
    case WR_MSG_HEARTBEAT: return "HEARTBEAT";
    case WR_MSG_QUERY:     return "QUERY";
    case WR_MSG_REPLY:     return "REPLY";
    case WR_MSG_COMMAND:   return "COMMAND";
    default:               return "?";
    }
}

const char *wr_node_state_name(int state)
{
    switch (state) {
    case WR_NODE_UP:   return "up";
    case WR_NODE_DOWN: return "down";
    default:           return "unknown";
    }
}

void wr_origin_init(wr_origin_t *origin, const char *id)
{
    struct timespec ts;
    memset(origin, 0, sizeof(*origin));
    if (id) {
        size_t n = strnlen(id, WR_ID_MAX - 1);
        memcpy(origin->id, id, n);
        origin->id[n] = '\0';
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    origin->epoch = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    origin->next_seq = 1;
}

void wr_envelope_next(wr_origin_t *origin, int type, wr_envelope_t *env)
{
    memset(env, 0, sizeof(*env));
    env->v = WR_WIRE_VERSION;
    env->type = type;
    memcpy(env->from, origin->id, sizeof(env->from));
    env->from[WR_ID_MAX - 1] = '\0';
    env->epoch = origin->epoch;
    env->seq = origin->next_seq++;
    env->ts_ms = wr_wall_ms();
}
