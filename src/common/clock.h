/* The clock for intervals: no MPI, no HDF5, so every layer may use it. */
#ifndef MPISNAP_COMMON_CLOCK_H
#define MPISNAP_COMMON_CLOCK_H

#include <time.h>

/* Seconds on the monotonic clock.  Only differences mean anything (stall,
 * write and commit times, the checkpoint interval): unlike the wall clock,
 * it never jumps when the system time is set. */
static inline double mpisnap__now(void)
{
  struct timespec ts;
  /* POSIX requires CLOCK_MONOTONIC, and with a valid timespec it cannot
   * fail; should it ever, 0 keeps every interval finite. */
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
    return 0;
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif /* MPISNAP_COMMON_CLOCK_H */
