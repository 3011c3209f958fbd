/* The receive and probe families.  While no snapshot is active here and
 * the layer holds nothing the receive must match first, a receive goes
 * straight to MPI on the current epoch's shadow (fast.c); otherwise the
 * layer matches it against the messages it has taken off the shadows, in
 * MPI's order (match.c). */
#include <stdlib.h>

#include "pmpi/layer.h"
#include "pmpi/det.h"

/* A wildcard receive or probe: on replay it takes the source and tag it
 * matched before the restart; while a snapshot is being taken, what it
 * matches is logged.  Returns the determinant's index, or -1. */
long mpisnap__wildcard(int *source, int *tag) {
  int a, b;

  if (*source != MPI_ANY_SOURCE && *tag != MPI_ANY_TAG)
    return -1;
  if (mpisnap__det_replay(MPISNAP__DET_RECV, &a, &b, NULL)) {
    if (a >= 0) {
      *source = a;
      *tag = b;
    }
    return -1;
  }
  return mpisnap__det_add(MPISNAP__DET_RECV, -1, -1, 0);
}

static int check_source(mpisnap__comm *c, int source, int tag) {
  if (source != MPI_ANY_SOURCE && (source < 0 || source >= c->size))
    return MPI_ERR_RANK;
  if (tag != MPI_ANY_TAG && (tag < 0 || tag > mpisnap__g.tag_ub))
    return MPI_ERR_TAG;
  return MPI_SUCCESS;
}

static int recv_on(mpisnap__comm *c, void *buf, int count, MPI_Datatype type,
                   int source, int tag, MPI_Status *status) {
  mpisnap__msg *m;
  mpisnap__req r;
  long det;
  int rc;

  if (source == MPI_PROC_NULL) {
    mpisnap__status_proc_null(status);
    return MPI_SUCCESS;
  }
  if ((rc = check_source(c, source, tag)) != MPI_SUCCESS)
    return rc;
  if (mpisnap__fast_ok(c))
    return mpisnap__g.coll_direct
               ? mpisnap__direct_recv(c, buf, count, type, source, tag, status)
               : mpisnap__fast_recv(c, buf, count, type, source, tag, status);
  det = mpisnap__wildcard(&source, &tag);
  m = mpisnap__find_unexpected(c, source, tag, 1);
  if (m != NULL) {
    mpisnap__det_set(det, m->source, m->tag);
    return mpisnap__deliver(m, buf, count, type, status);
  }
  /* Post a receive that lives on this stack frame until it completes. */
  mpisnap__blocking_req(&r, c, buf, count, type, source, tag, det);
  return mpisnap__slow_recv(&r, status);
}

MPISNAP_EXTERN int MPI_Recv(void *buf, int count, MPI_Datatype type,
                            int source, int tag, MPI_Comm comm,
                            MPI_Status *status) {
  mpisnap__comm *c;
  MPI_Comm sh = mpisnap__bare_shadow(comm, &c);

  /* Bare mode (regime.c): MPI's own receive on the shadow. */
  if (sh != MPI_COMM_NULL)
    return mpisnap__raise(c, PMPI_Recv(buf, count, type, source, tag, sh,
                                       status));
  c = mpisnap__enter(comm);

  if (c == NULL)
    return MPI_ERR_COMM;
  return mpisnap__raise(c, recv_on(c, buf, count, type, source, tag, status));
}

/* A blocking receive matched by the layer: r lives on the caller's stack
 * until it completes. */
int mpisnap__slow_recv(mpisnap__req *r, MPI_Status *status) {
  mpisnap__comm *c = r->comm;
  unsigned spins = 0;

  mpisnap__post_recv(r);
  /* Poll this communicator and the markers every time, and all
   * communicators now and then.  Markers are urgent too: a message of a
   * later epoch waits, held, for its marker, and the peers' snapshots wait
   * for this rank's; on an oversubscribed node every idle poll may give
   * the core away (MPI yields when idle), so a marker seen only every
   * sixteenth pass cost milliseconds per snapshot (MPICH's sendflood). */
  for (unsigned k = 1; !r->done; k++) {
    if ((k & 15) == 0 ? mpisnap__progress()
                      : mpisnap__markers_poll() + mpisnap__progress_comm(c))
      continue;
    if (!r->done && (k & 15) == 0)
      mpisnap__wait_backoff(&spins);
  }
  mpisnap__status_out(status, &r->status);
  return r->status.MPI_ERROR;
}

static int recv_request(void *buf, int count, MPI_Datatype type, int source,
                        int tag, MPI_Comm comm, int persistent,
                        MPI_Request *request) {
  mpisnap__comm *c = mpisnap__enter(comm);
  mpisnap__req *r;
  int rc;

  if (c == NULL)
    return MPI_ERR_COMM;
  if (source != MPI_PROC_NULL && (rc = check_source(c, source, tag)) != MPI_SUCCESS)
    return mpisnap__raise(c, rc);
  r = mpisnap__req_new(MPISNAP__REQ_RECV);
  if (r == NULL)
    return MPI_ERR_NO_MEM;
  mpisnap__recv_fields(r, c, buf, count, type, source, tag);
  r->persistent = persistent;
  if ((rc = mpisnap__req_keep_type(r)) != MPI_SUCCESS) {
    mpisnap__req_free(r);
    return mpisnap__raise(c, rc);
  }
  *request = mpisnap__req_handle(r);
  if (persistent)
    return MPI_SUCCESS;
  return mpisnap__raise(c, mpisnap__start_recv(r));
}

/* Start (or post) a receive request. */
int mpisnap__start_recv(mpisnap__req *r) {
  int source = r->peer, tag = r->tag;

  if (r->peer != MPI_PROC_NULL)
    mpisnap__recv_arm(r);
  /* Persistent receives too: a receive the layer held while no snapshot
   * is active would keep every rank in the detour regime (regime.c). */
  if (r->peer != MPI_PROC_NULL && mpisnap__fast_ok(r->comm))
    return mpisnap__fast_irecv(r);
  if (r->peer != MPI_PROC_NULL) {
    /* A persistent receive keeps its wildcards for the next start. */
    r->det_idx = mpisnap__wildcard(&source, &tag);
    if (!r->persistent) {
      r->peer = source;
      r->tag = tag;
    } else if (source != r->peer || tag != r->tag) {
      mpisnap__fatal("replaying a wildcard persistent receive is not "
                     "supported");
    }
  }
  if (r->peer == MPI_PROC_NULL) {
    mpisnap__status_empty(&r->status, MPI_PROC_NULL, MPI_ANY_TAG);
    r->done = 1;
    r->active = 0;
    return MPI_SUCCESS;
  }
  mpisnap__post_recv(r);
  return MPI_SUCCESS;
}

MPISNAP_EXTERN int MPI_Irecv(void *buf, int count, MPI_Datatype type,
                             int source, int tag, MPI_Comm comm,
                             MPI_Request *request) {
  mpisnap__comm *c;
  MPI_Comm sh = mpisnap__bare_shadow(comm, &c);

  /* Bare mode (regime.c): MPI's own request on the shadow. */
  if (sh != MPI_COMM_NULL)
    return mpisnap__raise(c, PMPI_Irecv(buf, count, type, source, tag, sh,
                                        request));
  return recv_request(buf, count, type, source, tag, comm, 0, request);
}

MPISNAP_EXTERN int MPI_Recv_init(void *buf, int count, MPI_Datatype type,
                                 int source, int tag, MPI_Comm comm,
                                 MPI_Request *request) {
  return recv_request(buf, count, type, source, tag, comm, 1, request);
}

/* ---- probes ---- */

static void probe_status(const mpisnap__msg *m, MPI_Status *status) {
  if (status != MPI_STATUS_IGNORE)
    mpisnap__status_bytes(status, m->source, m->tag, m->bytes);
}

static int iprobe(int source, int tag, MPI_Comm comm, int *flag,
                  MPI_Message *message, MPI_Status *status, int blocking) {
  mpisnap__comm *c = mpisnap__enter(comm);
  mpisnap__msg *m;
  unsigned spins = 0;
  long det = -1;
  int rc, f, s, t, logging = 0;

  if (c == NULL)
    return MPI_ERR_COMM;
  if (source == MPI_PROC_NULL) {
    *flag = 1;
    if (message != NULL)
      *message = MPI_MESSAGE_NO_PROC;
    mpisnap__status_proc_null(status);
    return MPI_SUCCESS;
  }
  if ((rc = check_source(c, source, tag)) != MPI_SUCCESS)
    return mpisnap__raise(c, rc);
  if (blocking) {
    det = mpisnap__wildcard(&source, &tag);
  } else if (mpisnap__det_replay(MPISNAP__DET_IPROBE, &f, &s, &t)) {
    /* Replay: the same answer as before the restart. */
    if (!f) {
      *flag = 0;
      return MPI_SUCCESS;
    }
    source = s;
    tag = t;
    blocking = 1;
  } else {
    logging = 1;
  }
  mpisnap__progress();
  /* No snapshot here: no determinant to log or replay (det.c). */
  if (mpisnap__fast_ok(c)) {
    rc = mpisnap__fast_probe(c, source, tag, flag, message, status, blocking);
    if (rc != MPISNAP__FAST_LEFT)
      return rc;
  }
  for (;;) {
    mpisnap__progress();
    mpisnap__progress_comm(c);
    m = mpisnap__find_unexpected(c, source, tag, message != NULL);
    if (m != NULL || !blocking)
      break;
    mpisnap__wait_backoff(&spins);
  }
  if (m != NULL)
    mpisnap__det_set(det, m->source, m->tag);
  if (logging)
    mpisnap__det_add(MPISNAP__DET_IPROBE, m != NULL, m ? m->source : -1,
                     m ? m->tag : -1);
  *flag = m != NULL;
  if (m != NULL) {
    probe_status(m, status);
    if (message != NULL) {
      mpisnap__claim(m);
      *message = mpisnap__msg_handle(m);
    }
  }
  return MPI_SUCCESS;
}

MPISNAP_EXTERN int MPI_Iprobe(int source, int tag, MPI_Comm comm, int *flag,
                              MPI_Status *status) {
  return iprobe(source, tag, comm, flag, NULL, status, 0);
}

MPISNAP_EXTERN int MPI_Probe(int source, int tag, MPI_Comm comm,
                             MPI_Status *status) {
  int flag;
  return iprobe(source, tag, comm, &flag, NULL, status, 1);
}

MPISNAP_EXTERN int MPI_Improbe(int source, int tag, MPI_Comm comm, int *flag,
                               MPI_Message *message, MPI_Status *status) {
  return iprobe(source, tag, comm, flag, message, status, 0);
}

MPISNAP_EXTERN int MPI_Mprobe(int source, int tag, MPI_Comm comm,
                              MPI_Message *message, MPI_Status *status) {
  int flag;
  return iprobe(source, tag, comm, &flag, message, status, 1);
}

MPISNAP_EXTERN int MPI_Mrecv(void *buf, int count, MPI_Datatype type,
                             MPI_Message *message, MPI_Status *status) {
  mpisnap__comm *c;
  mpisnap__msg *m;

  if (*message == MPI_MESSAGE_NO_PROC) {
    mpisnap__status_proc_null(status);
    *message = MPI_MESSAGE_NULL;
    return MPI_SUCCESS;
  }
  m = mpisnap__msg_lookup(*message);
  if (m == NULL)
    return MPI_ERR_REQUEST; /* not a message handle mpisnap gave out */
  mpisnap__msg_forget(m);
  mpisnap__unclaim(m);
  *message = MPI_MESSAGE_NULL;
  c = m->comm; /* deliver frees m */
  return mpisnap__raise(c, mpisnap__deliver(m, buf, count, type, status));
}

MPISNAP_EXTERN int MPI_Imrecv(void *buf, int count, MPI_Datatype type,
                              MPI_Message *message, MPI_Request *request) {
  mpisnap__req *r = mpisnap__req_new(MPISNAP__REQ_MRECV);
  int rc;

  if (r == NULL)
    return MPI_ERR_NO_MEM;
  /* The message is already matched: receiving it now is a valid
   * schedule of the nonblocking receive. */
  rc = MPI_Mrecv(buf, count, type, message, &r->status);
  r->status.MPI_ERROR = rc;
  if (rc != MPI_SUCCESS && rc != MPI_ERR_TRUNCATE) {
    mpisnap__req_free(r);
    return rc;
  }
  r->done = 1;
  *request = mpisnap__req_handle(r);
  return MPI_SUCCESS;
}

/* ---- combined send-receive ---- */

MPISNAP_EXTERN int MPI_Sendrecv(const void *sbuf, int scount, MPI_Datatype stype,
                                int dest, int stag, void *rbuf, int rcount,
                                MPI_Datatype rtype, int source, int rtag,
                                MPI_Comm comm, MPI_Status *status) {
  MPI_Request sreq;
  int rc = MPI_Isend(sbuf, scount, stype, dest, stag, comm, &sreq);

  if (rc != MPI_SUCCESS)
    return rc;
  rc = MPI_Recv(rbuf, rcount, rtype, source, rtag, comm, status);
  if (rc != MPI_SUCCESS) {
    MPI_Wait(&sreq, MPI_STATUS_IGNORE);
    return rc;
  }
  return MPI_Wait(&sreq, MPI_STATUS_IGNORE);
}

MPISNAP_EXTERN int MPI_Sendrecv_replace(void *buf, int count, MPI_Datatype type,
                                        int dest, int stag, int source, int rtag,
                                        MPI_Comm comm, MPI_Status *status) {
  mpisnap__comm *c = mpisnap__enter(comm);
  int size = 0, pos = 0, rc;
  void *tmp;

  if (c == NULL)
    return MPI_ERR_COMM;
  /* Pack the outgoing data first: the receive overwrites the buffer. */
  PMPI_Pack_size(count, type, c->shadow, &size);
  tmp = malloc(size ? (size_t)size : 1);
  if (tmp == NULL)
    return MPI_ERR_NO_MEM;
  rc = PMPI_Pack(buf, count, type, tmp, size, &pos, c->shadow);
  if (rc == MPI_SUCCESS)
    rc = MPI_Sendrecv(tmp, pos, MPI_PACKED, dest, stag, buf, count, type,
                      source, rtag, comm, status);
  free(tmp);
  return rc;
}
