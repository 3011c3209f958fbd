/* Monotonic time in seconds, for durations. */
#ifndef MPISNAP_COMMON_CLOCK_H
#define MPISNAP_COMMON_CLOCK_H

#include <time.h>

static inline double mpisnap__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif /* MPISNAP_COMMON_CLOCK_H */
