/* What the Fortran module (src/fortran/mpisnap.f90) calls besides the C
 * API itself: the parts a Fortran caller cannot do through
 * iso_c_binding (a Fortran communicator handle, a datatype for a Fortran
 * kind, aborting the job).  Plain C, always built, so libmpisnap is the
 * same library whether or not a Fortran compiler was found. */
#include <stdint.h>
#include <stdio.h>

#include "mpisnap.h"

/* The element kinds the module passes (keep in step with mpisnap.f90). */
enum { F_INTEGER = 1, F_REAL = 2, F_COMPLEX = 3, F_LOGICAL = 4 };

MPISNAP_EXTERN int mpisnap_f_init(MPI_Fint comm, int mode);
MPISNAP_EXTERN int mpisnap_f_protect(const char *name, void *ptr,
                                     int64_t count, int kind, int bytes);
MPISNAP_EXTERN void mpisnap_f_abort(const char *what, int code);

MPISNAP_EXTERN int mpisnap_f_init(MPI_Fint comm, int mode) {
  if (mode < 0)
    return MPISNAP_EINVAL;
  return mpisnap_init(MPI_Comm_f2c(comm), (unsigned)mode);
}

/* count elements of the given kind and size in bytes.  Complex numbers
 * are stored as pairs of reals; logicals as integers of their size. */
MPISNAP_EXTERN int mpisnap_f_protect(const char *name, void *ptr,
                                     int64_t count, int kind, int bytes) {
  MPI_Datatype t = MPI_DATATYPE_NULL;

  if (count < 0)
    return MPISNAP_EINVAL;
  if (kind == F_COMPLEX) {
    count *= 2;
    bytes /= 2;
    kind = F_REAL;
  }
  if (kind == F_INTEGER || kind == F_LOGICAL)
    t = bytes == 1   ? MPI_INT8_T
        : bytes == 2 ? MPI_INT16_T
        : bytes == 4 ? MPI_INT32_T
        : bytes == 8 ? MPI_INT64_T
                     : MPI_DATATYPE_NULL;
  else if (kind == F_REAL)
    t = bytes == 4 ? MPI_FLOAT : bytes == 8 ? MPI_DOUBLE : MPI_DATATYPE_NULL;
  if (t == MPI_DATATYPE_NULL) {
    fprintf(stderr, "mpisnap: error: mpisnap_protect('%s'): no storage for "
            "elements of kind %d and %d bytes\n", name, kind, bytes);
    return MPISNAP_EINVAL;
  }
  return mpisnap_protect(name, ptr, (size_t)count, t);
}

/* A module routine called without ierror failed: stop the job, as MPI's
 * default error handler does, with the message. */
MPISNAP_EXTERN void mpisnap_f_abort(const char *what, int code) {
  fprintf(stderr, "mpisnap: error: %s: %s\n", what, mpisnap_strerror(code));
  fflush(stderr);
  PMPI_Abort(MPI_COMM_WORLD, 70);
}
