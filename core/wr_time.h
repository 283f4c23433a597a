/* wr_time: clocks used across warren. Wall time (ms since the Unix epoch) stamps data;
 * monotonic time (ms) measures intervals and deadlines. */
#ifndef WR_TIME_H
#define WR_TIME_H
#include <stdint.h>
#include <time.h>

static inline int64_t wr_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t wr_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
