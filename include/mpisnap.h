/*
 * mpisnap: consistent global checkpoints of MPI programs (Chandy-Lamport),
 * written to HDF5.  This is the only header applications include.
 */
#ifndef MPISNAP_H
#define MPISNAP_H

#include <stddef.h>

#include <mpi.h>

/* Error codes, mpisnap_strerror() and the MPISNAP_EXTERN export macro live in
 * an MPI-free header so the protocol engine can use them without MPI. */
#include "mpisnap_errno.h"

/* Keep these in step with project(VERSION) in CMakeLists.txt; the build
 * checks that they agree. */
#define MPISNAP_VERSION_MAJOR 0
#define MPISNAP_VERSION_MINOR 1
#define MPISNAP_VERSION_PATCH 0

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the library actually loaded, as "MAJOR.MINOR.PATCH".  It can
 * differ from the MPISNAP_VERSION_* macros the caller was compiled with. */
MPISNAP_EXTERN const char *mpisnap_version_string(void);

/* 0 is success; errors are negative MPISNAP_E... codes (mpisnap_errno.h),
 * described by mpisnap_strerror(). */

/* The exit status of a program stopped after a checkpoint-and-exit request
 * (MPISNAP_EXIT_SIGNAL, MPISNAP_WALLTIME): resubmit it with
 * MPISNAP_RESTART=auto to continue. */
#define MPISNAP_EXIT_CHECKPOINTED 85

#define MPISNAP_COLLECTIVE  0u  /* default: every rank calls mpisnap_point() equally often */
#define MPISNAP_INDEPENDENT 1u  /* ranks reach safe points independently */

/* After MPI_Init; collective over comm (which must be MPI_COMM_WORLD).
 * Reads the MPISNAP_* environment (README.md); a bad value is an error
 * naming the variable and the value. */
MPISNAP_EXTERN int mpisnap_init(MPI_Comm comm, unsigned flags);
/* Collective; MPI_Finalize calls it if the program did not.  Waits for a
 * checkpoint still being written to commit. */
MPISNAP_EXTERN int mpisnap_finalize(void);

/* Protect count elements of type at ptr under name (no '/', unique);
 * protecting the same name again replaces ptr/count/type. */
MPISNAP_EXTERN int mpisnap_protect(const char *name, void *ptr, size_t count,
                                   MPI_Datatype type);
MPISNAP_EXTERN int mpisnap_unprotect(const char *name);

/* The checkpoint id this run restores from (> 0), or 0 for a fresh start. */
MPISNAP_EXTERN int mpisnap_restarting(void);
/* The saved element count of name on this rank (to size a buffer before
 * protecting it). */
MPISNAP_EXTERN int mpisnap_restore_count(const char *name, size_t *count);
/* Fill every protected variable from the checkpoint; returns its id. */
MPISNAP_EXTERN int mpisnap_restore(void);

/* A safe point: returns 1 if this rank recorded its state here, 0 if not,
 * or a negative error. */
MPISNAP_EXTERN int mpisnap_point(void);
/* Ask for a checkpoint; any rank, any time.  Requests made while one is
 * being taken or written are coalesced into the next one. */
MPISNAP_EXTERN int mpisnap_request(void);
/* 1 once a checkpoint-and-exit request has committed. */
MPISNAP_EXTERN int mpisnap_should_exit(void);
/* Newest committed checkpoint id this rank knows of; 0 if none. */
MPISNAP_EXTERN int mpisnap_last_committed(void);

#ifdef __cplusplus
}
#endif

#endif /* MPISNAP_H */
