/*
 * A benchmark baseline only, never a way to build an application: the
 * mpisnap API as no-op inline functions, so that an application of apps/
 * can be compiled a second time without mpisnap at all.  bench/run-apps.sh
 * times mpisnap-heat2d and mpisnap-cg (linked with libmpisnap, no
 * checkpoint requested) against these copies (MPI only, libmpisnap never
 * loaded), which is the whole cost of having the library in the program.
 *
 * How it gets in without a change to apps/: apps/app.h says
 * #include "mpisnap.h"; the "-nosnap" targets of bench/CMakeLists.txt
 * neither link mpisnap::mpisnap (so the real header's directory is not on
 * their include path) nor miss this directory, which they put first, and
 * define APP_WITHOUT_MPISNAP.  Included anywhere else, this file stops
 * the build.
 *
 * Every function answers as the library does on a run that never
 * checkpoints and never restarts: success, not restarting, not recorded,
 * no exit requested, no checkpoint committed.
 */
#ifndef MPISNAP_H
#define MPISNAP_H

#ifndef APP_WITHOUT_MPISNAP
#error "bench/nosnap/mpisnap.h is the benchmark's no-op stand-in for mpisnap; build with -DAPP_WITHOUT_MPISNAP or use include/mpisnap.h"
#endif

#include <stddef.h>

#include <mpi.h>

#define MPISNAP_EXIT_CHECKPOINTED 85
#define MPISNAP_COLLECTIVE 0u
#define MPISNAP_INDEPENDENT 1u

static inline const char *mpisnap_strerror(int code) {
  return code == 0 ? "success" : "unknown error";
}
static inline const char *mpisnap_version_string(void) { return "none"; }
static inline int mpisnap_init(MPI_Comm comm, unsigned flags) {
  (void)comm;
  (void)flags;
  return 0;
}
static inline int mpisnap_finalize(void) { return 0; }
static inline int mpisnap_protect(const char *name, void *ptr, size_t count,
                                  MPI_Datatype type) {
  (void)name;
  (void)ptr;
  (void)count;
  (void)type;
  return 0;
}
static inline int mpisnap_unprotect(const char *name) {
  (void)name;
  return 0;
}
static inline int mpisnap_restarting(void) { return 0; }
static inline int mpisnap_restore_count(const char *name, size_t *count) {
  (void)name;
  *count = 0;
  return 0;
}
static inline int mpisnap_restore(void) { return 0; }
static inline int mpisnap_point(void) { return 0; }
static inline int mpisnap_request(void) { return 0; }
static inline int mpisnap_should_exit(void) { return 0; }
static inline int mpisnap_last_committed(void) { return 0; }

#endif /* MPISNAP_H */
