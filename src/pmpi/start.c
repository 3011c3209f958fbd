/* A request's life outside completion: starting persistent requests,
 * cancelling and freeing, over the layer's requests and real MPI ones
 * alike. */
#include "pmpi/layer.h"

MPISNAP_EXTERN int MPI_Start(MPI_Request *h) {
  mpisnap__req *r = mpisnap__req_lookup(*h);

  if (r == NULL)
    return PMPI_Start(h);
  if (!r->persistent || r->active)
    return MPI_ERR_REQUEST;
  mpisnap__maybe_trigger();
  if (r->kind == MPISNAP__REQ_SEND)
    return mpisnap__start_send(r);
  return mpisnap__start_recv(r);
}

MPISNAP_EXTERN int MPI_Startall(int n, MPI_Request h[]) {
  for (int i = 0; i < n; i++) {
    int rc = MPI_Start(&h[i]);
    if (rc != MPI_SUCCESS)
      return rc;
  }
  return MPI_SUCCESS;
}

MPISNAP_EXTERN int MPI_Cancel(MPI_Request *h) {
  mpisnap__req *r = mpisnap__req_lookup(*h);

  if (r == NULL)
    return PMPI_Cancel(h);
  if (r->fast && r->active && !r->cancel) {
    r->cancel = 1; /* MPI cancels a request once */
    return PMPI_Cancel(&r->real);
  }
  if (r->kind == MPISNAP__REQ_SEND)
    return r->active ? PMPI_Cancel(&r->real) : MPI_SUCCESS;
  /* A receive not yet matched leaves the posted queue and completes as
   * cancelled; one already matched completes normally. */
  if (r->active && !r->done && mpisnap__unpost_recv(r)) {
    mpisnap__status_empty(&r->status, MPI_ANY_SOURCE, MPI_ANY_TAG);
    PMPI_Status_set_cancelled(&r->status, 1);
    r->done = 1;
    r->active = 0;
  }
  return MPI_SUCCESS;
}

MPISNAP_EXTERN int MPI_Request_free(MPI_Request *h) {
  mpisnap__req *r = mpisnap__req_lookup(*h);

  if (r == NULL)
    return PMPI_Request_free(h);
  if (r->kind == MPISNAP__REQ_SEND && r->real != MPI_REQUEST_NULL)
    PMPI_Request_free(&r->real); /* an active send still completes */
  if (r->fast && r->active)
    r->freed = 1; /* still receives; counted when the layer takes it back */
  else if (r->kind == MPISNAP__REQ_RECV && r->active && !r->done &&
      (r->landed || r->real != MPI_REQUEST_NULL)) {
    /* Its message is already matched and moving: finish it here so that
     * the consumption is counted. */
    if (!r->landed)
      PMPI_Wait(&r->real, &r->status);
    mpisnap__finish_inflight(r);
    mpisnap__req_free(r);
  } else if (r->kind == MPISNAP__REQ_RECV && r->active && !r->done) {
    r->freed = 1; /* freed by the layer once its message arrives */
  } else {
    mpisnap__req_free(r);
  }
  *h = MPI_REQUEST_NULL;
  return MPI_SUCCESS;
}
