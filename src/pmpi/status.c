/* Statuses the layer makes itself, by the rules of MPI 3.1 section 3.2.5
 * (single-completion calls leave MPI_ERROR alone) and 3.7.3 (empty
 * statuses). */
#include "pmpi/layer.h"

/* A status describing `bytes` bytes from source with tag.  Its MPI_ERROR
 * is left alone: calls that complete one request never write it (MPI 3.1,
 * section 3.2.5); where the layer uses a request's status to carry the
 * completion code, it sets MPI_ERROR itself. */
void mpisnap__status_bytes(MPI_Status *st, int source, int tag,
                           MPI_Count bytes) {
  PMPI_Status_set_elements_x(st, MPI_BYTE, bytes);
  PMPI_Status_set_cancelled(st, 0);
  st->MPI_SOURCE = source;
  st->MPI_TAG = tag;
}

/* What a receive or probe from MPI_PROC_NULL gives (MPI 3.1, section
 * 3.11): source MPI_PROC_NULL, tag MPI_ANY_TAG, count 0; MPI_ERROR, as in
 * every single-completion call, untouched. */
void mpisnap__status_proc_null(MPI_Status *st) {
  if (st != MPI_STATUS_IGNORE)
    mpisnap__status_bytes(st, MPI_PROC_NULL, MPI_ANY_TAG, 0);
}

/* The empty status of MPI 3.1 section 3.7.3 (its error is MPI_SUCCESS). */
void mpisnap__status_empty(MPI_Status *st, int source, int tag) {
  mpisnap__status_bytes(st, source, tag, 0);
  st->MPI_ERROR = MPI_SUCCESS;
}

/* Give the application a request's status from a call that completes one
 * request: everything but MPI_ERROR, which such calls leave untouched. */
void mpisnap__status_out(MPI_Status *dst, const MPI_Status *src) {
  int err;

  if (dst == MPI_STATUS_IGNORE || dst == src)
    return;
  err = dst->MPI_ERROR;
  *dst = *src;
  dst->MPI_ERROR = err;
}

