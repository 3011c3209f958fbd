/*
 * A benchmark baseline only, never a library to run programs with: the
 * mpisnap API as functions that do nothing, built as a shared library
 * named like the real one (libmpisnap.so.0) and wrapping no MPI call.
 * bench/run-apps.sh runs the very same mpisnap-heat2d and mpisnap-cg
 * binaries twice: once as built (the real libmpisnap), once with this
 * library's directory first on LD_LIBRARY_PATH, which the loader searches
 * before the binaries' RUNPATH.  So the two runs differ only by what
 * libmpisnap does, not by how the compiler laid out a second copy of the
 * program (two copies of heat2d compiled apart ran 25% apart in the same
 * hot loop).
 *
 * Every function answers as the library does on a run that never
 * checkpoints and never restarts.
 */
#include "mpisnap.h"

const char *mpisnap_strerror(int code) {
  return code == 0 ? "success" : "error (no-op benchmark library)";
}
const char *mpisnap_version_string(void) { return "no-op"; }
int mpisnap_init(MPI_Comm comm, unsigned flags) {
  (void)comm;
  (void)flags;
  return 0;
}
int mpisnap_finalize(void) { return 0; }
int mpisnap_protect(const char *name, void *ptr, size_t count,
                    MPI_Datatype type) {
  (void)name;
  (void)ptr;
  (void)count;
  (void)type;
  return 0;
}
int mpisnap_unprotect(const char *name) {
  (void)name;
  return 0;
}
int mpisnap_restarting(void) { return 0; }
int mpisnap_restore_count(const char *name, size_t *count) {
  (void)name;
  *count = 0;
  return 0;
}
int mpisnap_restore(void) { return 0; }
int mpisnap_point(void) { return 0; }
int mpisnap_request(void) { return 0; }
int mpisnap_should_exit(void) { return 0; }
int mpisnap_last_committed(void) { return 0; }
