/*
 * Helpers shared by the example applications in apps/: reading numeric
 * options with messages that name the bad argument, checking mpisnap
 * calls, pausing, and the hash functions the applications use for their
 * bit-exact answers.  Everything is static so each application stays a
 * single translation unit.
 */
#ifndef MPISNAP_APP_H
#define MPISNAP_APP_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "mpisnap.h"

/* The exit status of a program started with bad arguments. */
#define APP_EXIT_USAGE 2

/* Reads the value of option argv[*i] (the next argument) as an integer in
 * [lo, hi] and advances *i past it.  On failure it writes a message naming
 * the option and the value into err and returns -1. */
static inline int app_long_opt(int argc, char **argv, int *i, long lo, long hi,
                               long *out, char *err, size_t errlen) {
  const char *opt = argv[*i];
  const char *s;
  char *end;
  long v;

  if (*i + 1 >= argc) {
    snprintf(err, errlen, "option %s needs a value", opt);
    return -1;
  }
  s = argv[++*i];
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
    snprintf(err, errlen, "option %s: '%s' is not an integer from %ld to %ld",
             opt, s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

/* One command-line option: a flag (sets *flag to 1), an integer in
 * [lo, hi] (*num) or a string (*str).  Tables end with a NULL name. */
struct app_opt {
  const char *name;
  long lo, hi;
  long *num;
  int *flag;
  const char **str;
};

/* Reads every argument against the options table; on a wrong or unknown
 * argument writes a message naming it into err and returns -1. */
static inline int app_parse(int argc, char **argv, const struct app_opt *opts,
                            char *err, size_t errlen) {
  for (int i = 1; i < argc; i++) {
    const struct app_opt *o = opts;
    while (o->name != NULL && strcmp(o->name, argv[i]) != 0)
      o++;
    if (o->name == NULL) {
      snprintf(err, errlen, "unknown argument '%s'", argv[i]);
      return -1;
    }
    if (o->num != NULL) {
      if (app_long_opt(argc, argv, &i, o->lo, o->hi, o->num, err, errlen) != 0)
        return -1;
    } else if (o->str != NULL) {
      if (i + 1 >= argc) {
        snprintf(err, errlen, "option %s needs a value", o->name);
        return -1;
      }
      *o->str = argv[++i];
    } else {
      *o->flag = 1;
    }
  }
  return 0;
}

/* For a program that will not run: after a bad command line (bad != 0,
 * err says why) or for -h, prints the message or the usage on rank 0,
 * ends MPI and returns the exit status. */
static inline int app_usage_exit(const char *prog, int rank, int bad,
                                 const char *err, void (*usage)(FILE *)) {
  if (rank == 0) {
    if (bad != 0)
      fprintf(stderr, "%s: %s\nTry '%s -h' for help.\n", prog, err, prog);
    else
      usage(stdout);
  }
  MPI_Finalize();
  return bad != 0 ? APP_EXIT_USAGE : 0;
}

/* Stops the job if an mpisnap call failed: a failure here means the
 * library refused the program's use of it, which no retry would fix. */
static inline void app_check(const char *prog, int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "%s: %s: %s\n", prog, what, mpisnap_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
}

/* Says, on rank 0, that the program leaves its loop because a
 * checkpoint-and-exit request (MPISNAP_EXIT_SIGNAL, MPISNAP_WALLTIME) has
 * committed.  MPI_Finalize then ends the job with status 85
 * (MPISNAP_EXIT_CHECKPOINTED). */
static inline void app_say_stopped(const char *prog, int rank) {
  if (rank == 0)
    printf("%s: stopping after checkpoint %d; run again with "
           "MPISNAP_RESTART=auto to continue (exit status %d)\n",
           prog, mpisnap_last_committed(), MPISNAP_EXIT_CHECKPOINTED);
}

/* Sleeps for usec microseconds (nothing when usec is 0).  The applications
 * use it to slow themselves down for demonstrations and tests. */
static inline void app_nap(long usec) {
  struct timespec ts;

  if (usec <= 0)
    return;
  ts.tv_sec = usec / 1000000;
  ts.tv_nsec = (usec % 1000000) * 1000;
  nanosleep(&ts, NULL);
}

/* The splitmix64 finaliser: a cheap, well-mixed 64-bit hash.  The
 * applications draw their pseudo-random choices from it so that every
 * choice is a pure function of who makes it and when, never of timing. */
static inline uint64_t app_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* One step of the 64-bit FNV-1a hash over a whole 64-bit word: used where
 * the order of the words matters. */
static inline uint64_t app_fnv(uint64_t h, uint64_t word) {
  return (h ^ word) * 1099511628211ULL;
}

#define APP_FNV_INIT 1469598103934665603ULL

#endif /* MPISNAP_APP_H */
