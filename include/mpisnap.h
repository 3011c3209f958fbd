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

#ifdef __cplusplus
}
#endif

#endif /* MPISNAP_H */
