/* The send family.  One function carries the channel logic (count the
 * message on its channel, send it on the shadow); every MPI entry point is
 * a line that names its mode.  Ready-mode sends become standard sends: the
 * receive they rely on is posted in mpisnap, not in MPI, and a standard
 * send is a correct implementation of a ready send. */
#include <stdlib.h>

#include "pmpi/layer.h"

enum { MODE_STD = 0, MODE_BUF = 1, MODE_SYNC = 2 };
enum { SUPPRESSED = -1 };   /* post_send: not sent, by design */
enum { TO_PROC_NULL = -2 }; /* send_begin: nothing to send */

/* Snapshot traffic advances in every call: cheaply while a snapshot is
 * active here, and now and then otherwise to notice a new one. */
static void send_progress(void) {
  if (mpisnap__g.active_hint || (++mpisnap__g.calls & 63) == 0)
    mpisnap__progress();
}

/* The send itself, on shadow sh: blocking when real is NULL. */
static int mpi_send(const void *buf, int count, MPI_Datatype type, int dest,
                    int tag, MPI_Comm sh, int mode, MPI_Request *real) {
  if (real == NULL) {
    switch (mode) {
    case MODE_BUF: return PMPI_Bsend(buf, count, type, dest, tag, sh);
    case MODE_SYNC: return PMPI_Ssend(buf, count, type, dest, tag, sh);
    default: return PMPI_Send(buf, count, type, dest, tag, sh);
    }
  }
  switch (mode) {
  case MODE_BUF: return PMPI_Ibsend(buf, count, type, dest, tag, sh, real);
  case MODE_SYNC: return PMPI_Issend(buf, count, type, dest, tag, sh, real);
  default: return PMPI_Isend(buf, count, type, dest, tag, sh, real);
  }
}

static int post_send(const void *buf, int count, MPI_Datatype type, int dest,
                     int tag, mpisnap__comm *c, int mode, MPI_Request *real) {
  if (dest < 0 || dest >= c->size)
    return MPI_ERR_RANK;
  /* After a restart: the receiver consumed this message before its
   * checkpoint; sending it again would deliver it twice. */
  if (mpisnap__suppress(c, dest))
    return SUPPRESSED;
  mpisnap__engine_sent(mpisnap__g.engine, (uint32_t)c->out_idx[dest]);
  /* The shadow of this rank's epoch: it tells the receiver on which side
   * of this rank's record the message was sent. */
  return mpi_send(buf, count, type, dest, tag, c->sh[mpisnap__g.shq], mode,
                  real);
}

/* Whether this rank may block inside MPI for a standard send.  No MPI
 * promises to complete a standard send locally, whatever its size (Open
 * MPI's shared-memory eager limit counts its header, its self-send limit is
 * 1 KiB, and MCA settings and other transports change both), so a blocking
 * PMPI_Send may wait for its receiver.  That is harmless exactly as long as
 * plain MPI would wait the same way: no snapshot is active here (every
 * peer's message of this epoch is matched by MPI itself) and the
 * application has no receive of its own started and not completed (which
 * the layer might have to match, on this rank or, after a marker, moved
 * back from MPI).  Then a peer that waits for this rank waits for what it
 * would wait for without mpisnap.  Otherwise the send waits in mpisnap's
 * loop, which keeps the layer's matching running. */
static int may_block_in_mpi(void) {
  return mpisnap__g.fast && mpisnap__g.recv_armed == 0;
}

/* In the direct regime every send may block inside MPI, synchronous ones
 * too: no snapshot can begin before this rank's next safe point, and
 * every receive of every rank is MPI's to match (regime.c). */

/* The start of every send: the communicator's record in *cp, and
 * MPI_SUCCESS, TO_PROC_NULL (nothing to send), or the error to return. */
static int send_begin(MPI_Comm comm, int dest, int tag, mpisnap__comm **cp) {
  mpisnap__comm *c = *cp = mpisnap__enter(comm);

  if (c == NULL)
    return MPI_ERR_COMM;
  if (dest == MPI_PROC_NULL)
    return TO_PROC_NULL;
  MPISNAP__CHECK_TAG(c, tag);
  return MPI_SUCCESS;
}

static int send_blocking(const void *buf, int count, MPI_Datatype type,
                         int dest, int tag, MPI_Comm comm, int mode) {
  mpisnap__comm *c;
  MPI_Request req;
  MPI_Comm sh = mpisnap__bare_shadow(comm, &c);
  int rc;

  /* Bare mode: MPI's own send on the shadow, nothing counted. */
  if (sh != MPI_COMM_NULL)
    return mpisnap__raise(c, mpi_send(buf, count, type, dest, tag, sh, mode,
                                      NULL));
  rc = send_begin(comm, dest, tag, &c);

  if (rc != MPI_SUCCESS)
    return rc == TO_PROC_NULL ? MPI_SUCCESS : rc;
  /* A buffered send completes locally by definition. */
  if (mode == MODE_BUF || mpisnap__g.coll_direct ||
      (mode == MODE_STD && may_block_in_mpi())) {
    rc = post_send(buf, count, type, dest, tag, c, mode, NULL);
    send_progress();
    return rc == SUPPRESSED ? MPI_SUCCESS : mpisnap__raise(c, rc);
  }
  rc = post_send(buf, count, type, dest, tag, c, mode, &req);
  if (rc == SUPPRESSED)
    return MPI_SUCCESS;
  if (rc == MPI_SUCCESS)
    rc = mpisnap__wait_in_layer(&req);
  return mpisnap__raise(c, rc);
}

/* A request that is complete from the start (a send to MPI_PROC_NULL). */
static int done_request(MPI_Request *request, int persistent) {
  mpisnap__req *r = mpisnap__req_new(MPISNAP__REQ_SEND);

  if (r == NULL)
    return MPI_ERR_NO_MEM;
  r->persistent = persistent;
  r->peer = MPI_PROC_NULL;
  r->done = !persistent;
  mpisnap__status_empty(&r->status, MPI_PROC_NULL, MPI_ANY_TAG);
  *request = mpisnap__req_handle(r);
  return MPI_SUCCESS;
}

/* A nonblocking send hands the application MPI's own request: the message
 * is counted on its channel when it is sent, and nothing about its
 * completion concerns the layer.  Only a send that is not sent (to
 * MPI_PROC_NULL, or suppressed after a restart) gets a layer request,
 * complete from the start. */
static int send_nonblocking(const void *buf, int count, MPI_Datatype type,
                            int dest, int tag, MPI_Comm comm, int mode,
                            MPI_Request *request) {
  mpisnap__comm *c;
  mpisnap__req *r;
  MPI_Comm sh = mpisnap__bare_shadow(comm, &c);
  int rc;

  if (sh != MPI_COMM_NULL)
    return mpisnap__raise(c, mpi_send(buf, count, type, dest, tag, sh, mode,
                                      request));
  rc = send_begin(comm, dest, tag, &c);
  if (rc != MPI_SUCCESS)
    return rc == TO_PROC_NULL ? done_request(request, 0) : rc;
  rc = post_send(buf, count, type, dest, tag, c, mode, request);
  if (rc != MPI_SUCCESS && rc != SUPPRESSED)
    return mpisnap__raise(c, rc);
  if (rc == SUPPRESSED) {
    if ((r = mpisnap__req_new(MPISNAP__REQ_SEND)) == NULL)
      return MPI_ERR_NO_MEM;
    r->comm = c;
    r->peer = dest;
    r->done = 1;
    mpisnap__status_empty(&r->status, MPI_ANY_SOURCE, MPI_ANY_TAG);
    *request = mpisnap__req_handle(r);
    rc = MPI_SUCCESS;
  }
  send_progress();
  return rc;
}

/* A persistent send's real request is made on the shadow of the epoch it
 * is started in, and made again when that changes. */
static int send_init_real(mpisnap__req *r) {
  MPI_Comm sh = r->comm->sh[mpisnap__g.shq];
  const void *buf = r->buf;
  int rc;

  switch (r->mode) {
  case MODE_BUF: rc = PMPI_Bsend_init(buf, r->count, r->type, r->peer, r->tag, sh, &r->real); break;
  case MODE_SYNC: rc = PMPI_Ssend_init(buf, r->count, r->type, r->peer, r->tag, sh, &r->real); break;
  default: rc = PMPI_Send_init(buf, r->count, r->type, r->peer, r->tag, sh, &r->real); break;
  }
  r->shq = mpisnap__g.shq;
  return rc;
}

static int send_init(const void *buf, int count, MPI_Datatype type, int dest,
                     int tag, MPI_Comm comm, int mode, MPI_Request *request) {
  mpisnap__comm *c;
  mpisnap__req *r;
  int rc = send_begin(comm, dest, tag, &c);

  if (rc != MPI_SUCCESS)
    return rc == TO_PROC_NULL ? done_request(request, 1) : rc;
  if (dest < 0 || dest >= c->size)
    return mpisnap__raise(c, MPI_ERR_RANK);
  r = mpisnap__req_new(MPISNAP__REQ_SEND);
  if (r == NULL)
    return MPI_ERR_NO_MEM;
  r->comm = c;
  r->peer = dest;
  r->persistent = 1;
  r->mode = mode;
  r->buf = (void *)(uintptr_t)buf; /* only ever read */
  r->count = count;
  r->type = type;
  r->tag = tag;
  if ((rc = mpisnap__req_keep_type(r)) != MPI_SUCCESS ||
      (rc = send_init_real(r)) != MPI_SUCCESS) {
    mpisnap__req_free(r);
    return mpisnap__raise(c, rc);
  }
  *request = mpisnap__req_handle(r);
  return MPI_SUCCESS;
}

#define SEND_ARGS const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm

MPISNAP_EXTERN int MPI_Send(SEND_ARGS) { return send_blocking(buf, count, type, dest, tag, comm, MODE_STD); }
MPISNAP_EXTERN int MPI_Bsend(SEND_ARGS) { return send_blocking(buf, count, type, dest, tag, comm, MODE_BUF); }
MPISNAP_EXTERN int MPI_Ssend(SEND_ARGS) { return send_blocking(buf, count, type, dest, tag, comm, MODE_SYNC); }
MPISNAP_EXTERN int MPI_Rsend(SEND_ARGS) { return send_blocking(buf, count, type, dest, tag, comm, MODE_STD); }

MPISNAP_EXTERN int MPI_Isend(SEND_ARGS, MPI_Request *r) { return send_nonblocking(buf, count, type, dest, tag, comm, MODE_STD, r); }
MPISNAP_EXTERN int MPI_Ibsend(SEND_ARGS, MPI_Request *r) { return send_nonblocking(buf, count, type, dest, tag, comm, MODE_BUF, r); }
MPISNAP_EXTERN int MPI_Issend(SEND_ARGS, MPI_Request *r) { return send_nonblocking(buf, count, type, dest, tag, comm, MODE_SYNC, r); }
MPISNAP_EXTERN int MPI_Irsend(SEND_ARGS, MPI_Request *r) { return send_nonblocking(buf, count, type, dest, tag, comm, MODE_STD, r); }

MPISNAP_EXTERN int MPI_Send_init(SEND_ARGS, MPI_Request *r) { return send_init(buf, count, type, dest, tag, comm, MODE_STD, r); }
MPISNAP_EXTERN int MPI_Bsend_init(SEND_ARGS, MPI_Request *r) { return send_init(buf, count, type, dest, tag, comm, MODE_BUF, r); }
MPISNAP_EXTERN int MPI_Ssend_init(SEND_ARGS, MPI_Request *r) { return send_init(buf, count, type, dest, tag, comm, MODE_SYNC, r); }
MPISNAP_EXTERN int MPI_Rsend_init(SEND_ARGS, MPI_Request *r) { return send_init(buf, count, type, dest, tag, comm, MODE_STD, r); }

/* Starting a persistent send counts one message on its channel. */
int mpisnap__start_send(mpisnap__req *r) {
  int rc;

  if (r->peer == MPI_PROC_NULL) {
    r->done = 1;
    return MPI_SUCCESS;
  }
  if (mpisnap__suppress(r->comm, r->peer)) {
    r->active = 1;
    r->done = 1;
    mpisnap__status_empty(&r->status, MPI_ANY_SOURCE, MPI_ANY_TAG);
    return MPI_SUCCESS;
  }
  if (r->shq != mpisnap__g.shq) {
    PMPI_Request_free(&r->real);
    if ((rc = send_init_real(r)) != MPI_SUCCESS)
      return rc;
  }
  mpisnap__engine_sent(mpisnap__g.engine, (uint32_t)r->comm->out_idx[r->peer]);
  rc = PMPI_Start(&r->real);
  r->active = rc == MPI_SUCCESS;
  r->done = 0;
  return rc;
}
