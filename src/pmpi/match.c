/* Matching and delivery while the layer matches receives itself: posted
 * receives and unexpected messages per communicator, in MPI's order
 * (MPI 3.1 section 3.5, non-overtaking), and the consumption that the
 * engine counts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmpi/det.h"
#include "pmpi/layer.h"

/* ---- matching and delivery ---- */

static int matches(int want_src, int want_tag, int src, int tag) {
  return (want_src == MPI_ANY_SOURCE || want_src == src) &&
         (want_tag == MPI_ANY_TAG || want_tag == tag);
}

/* Unpack buffered message bytes into the application's buffer.  A partial
 * last element keeps the application's bytes beyond the message. */
static int unpack_to_user(mpisnap__comm *c, const void *data, MPI_Count bytes,
                          void *buf, int count, MPI_Datatype type) {
  int size = 0, n, pos = 0, rc = MPI_SUCCESS;
  void *tmp;

  PMPI_Type_size(type, &size);
  if (bytes == 0)
    return MPI_SUCCESS;
  if (size == 0 || bytes > (MPI_Count)size * count) {
    /* Too long: the buffer gets what fits, as MPI would give it. */
    if (size > 0 && count > 0)
      PMPI_Unpack(data, (int)bytes, &pos, buf, count, type, c->shadow);
    return MPI_ERR_TRUNCATE;
  }
  n = (int)((bytes + size - 1) / size);
  if ((MPI_Count)n * size == bytes)
    return PMPI_Unpack(data, (int)bytes, &pos, buf, n, type, c->shadow);
  tmp = malloc((size_t)n * (size_t)size);
  if (tmp == NULL)
    return MPI_ERR_NO_MEM;
  rc = PMPI_Pack(buf, n, type, tmp, n * size, &pos, c->shadow);
  memcpy(tmp, data, (size_t)bytes);
  pos = 0;
  if (rc == MPI_SUCCESS)
    rc = PMPI_Unpack(tmp, n * size, &pos, buf, n, type, c->shadow);
  free(tmp);
  return rc;
}

/* Consume message m into the application's buffer.  Frees m.  Returns
 * the receive's error code; status gets source, tag and count, and its
 * MPI_ERROR is not touched. */
int mpisnap__deliver(mpisnap__msg *m, void *buf, int count, MPI_Datatype type,
                     MPI_Status *status) {
  mpisnap__comm *c = m->comm;
  MPI_Status local;
  int cls, rc;

  if (status == MPI_STATUS_IGNORE)
    status = &local;
  cls = mpisnap__engine_consumed(mpisnap__g.engine,
                                 (uint32_t)c->in_idx[m->source], m->epoch);
  if (cls < 0)
    mpisnap__fatal("protocol error consuming a message from rank %d",
                   m->source);
  if (cls == MPISNAP__CONSUME_EARLY)
    mpisnap__note_early(c, m->source, m->epoch, m->eidx);
  if (m->data == NULL) {
    /* The data moves once, from MPI into the application's buffer. */
    int err = status->MPI_ERROR;
    rc = PMPI_Mrecv(buf, count, type, &m->handle, status);
    status->MPI_ERROR = err;
    if (cls == MPISNAP__CONSUME_LOG)
      mpisnap__log_from_user(c, m->source, m->tag, m->seq, buf, count, type, m->bytes);
  } else {
    if (cls == MPISNAP__CONSUME_LOG)
      mpisnap__log_message(c, m->source, m->tag, m->seq, m->data, m->bytes);
    rc = unpack_to_user(c, m->data, m->bytes, buf, count, type);
    mpisnap__status_bytes(status, m->source, m->tag, m->bytes);
    free(m->data);
  }
  if (m->heap)
    free(m);
  return rc;
}

/* Messages above this size matched by a nonblocking receive move with
 * MPI_Imrecv, so several large transfers overlap as they would in MPI. */
#define MPISNAP__IMRECV_MIN 8192

static void complete_recv(mpisnap__req *r, mpisnap__msg *m) {
  mpisnap__det_set(r->det_idx, m->source, m->tag);
  if (!r->blocking && m->data == NULL && m->bytes >= MPISNAP__IMRECV_MIN) {
    /* Consumed when the application sees it complete (finish_inflight),
     * not now: a record in between must log it as channel state. */
    r->epoch = m->epoch;
    r->src = m->source;
    r->bytes = m->bytes;
    r->seq = m->seq;
    r->eidx = m->eidx;
    r->landed = 0;
    mpisnap__queue_insert_head(&r->comm->inflight, &r->iq);
    if (PMPI_Imrecv(r->buf, r->count, r->type, &m->handle, &r->real) !=
        MPI_SUCCESS)
      mpisnap__fatal("MPI_Imrecv failed");
    if (m->heap)
      free(m);
    return;
  }
  r->status.MPI_ERROR = mpisnap__deliver(m, r->buf, r->count, r->type,
                                         &r->status);
  r->done = 1;
  r->active = 0;
  if (r->freed)
    mpisnap__req_free(r);
}

/* A receive whose MPI_Imrecv completed: now the application consumes it. */
void mpisnap__finish_inflight(mpisnap__req *r) {
  mpisnap__comm *c = r->comm;
  int cls = mpisnap__engine_consumed(mpisnap__g.engine,
                                     (uint32_t)c->in_idx[r->src], r->epoch);

  if (cls < 0)
    mpisnap__fatal("protocol error consuming a message from rank %d", r->src);
  if (cls == MPISNAP__CONSUME_EARLY)
    mpisnap__note_early(c, r->src, r->epoch, r->eidx);
  if (cls == MPISNAP__CONSUME_LOG)
    mpisnap__log_from_user(c, r->src, r->status.MPI_TAG, r->seq, r->buf,
                           r->count, r->type, r->bytes);
  mpisnap__queue_remove(&r->iq);
  r->landed = 0;
  r->real = MPI_REQUEST_NULL;
  r->done = 1;
  r->active = 0;
}

/* The application holds m through a matched probe until MPI_Mrecv. */
void mpisnap__claim(mpisnap__msg *m) {
  mpisnap__queue_insert_head(&m->comm->claimed, &m->q);
}

void mpisnap__unclaim(mpisnap__msg *m) { mpisnap__queue_remove(&m->q); }

mpisnap__msg *mpisnap__find_unexpected(mpisnap__comm *c, int source, int tag,
                                       int remove) {
  mpisnap__queue *l;

  mpisnap__queue_foreach(l, &c->unexp) {
    mpisnap__msg *m = MPISNAP__MSG(l);
    if (matches(source, tag, m->source, m->tag)) {
      if (remove)
        mpisnap__queue_remove(&m->q);
      return m;
    }
  }
  return NULL;
}

/* Post a receive: the earliest queued match, else the posted queue. */
void mpisnap__post_recv(mpisnap__req *r) {
  mpisnap__msg *m = mpisnap__find_unexpected(r->comm, r->peer, r->tag, 1);

  r->active = 1;
  r->done = 0;
  if (m != NULL) {
    complete_recv(r, m);
    return;
  }
  mpisnap__queue_insert_tail(&r->comm->posted, &r->q);
}

/* Remove r from its communicator's posted queue; 1 if it was there. */
int mpisnap__unpost_recv(mpisnap__req *r) {
  if (!mpisnap__queue_linked(&r->q))
    return 0;
  mpisnap__queue_remove(&r->q);
  return 1;
}

/* A message of its channel's current epoch, in its channel's order:
 * match it to a posted receive or queue it. */
void mpisnap__arrival(mpisnap__comm *c, MPI_Message h, int src, int tag,
                      MPI_Count bytes) {
  mpisnap__state *g = &mpisnap__g;
  mpisnap__queue *l;
  mpisnap__msg *m;

  c->arr[src]++;
  /* A message that matches a posted receive never leaves this frame. */
  mpisnap__msg tmp = {0};
  tmp.comm = c;
  tmp.source = src;
  tmp.tag = tag;
  tmp.handle = h;
  tmp.bytes = bytes;
  tmp.seq = g->arrivals++;
  mpisnap__engine_arrived(g->engine, (uint32_t)c->in_idx[src], &tmp.epoch);
  tmp.eidx = mpisnap__epoch_index(c, src, tmp.epoch);
  mpisnap__queue_foreach(l, &c->posted) {
    mpisnap__req *r = MPISNAP__REQ(l);
    if (matches(r->peer, r->tag, src, tag)) {
      mpisnap__queue_remove(&r->q);
      complete_recv(r, &tmp);
      return;
    }
  }
  m = malloc(sizeof(*m));
  if (m == NULL)
    mpisnap__fatal("out of memory queueing a message");
  *m = tmp;
  m->heap = 1;
  mpisnap__queue_insert_tail(&c->unexp, &m->q);
}

/* The position of a message among its channel's arrivals of the same
 * epoch: which message after its sender's record it is. */
uint64_t mpisnap__epoch_index(mpisnap__comm *c, int src, uint64_t epoch) {
  if (c->eidx_epoch[src] != epoch) {
    c->eidx_epoch[src] = epoch;
    c->eidx[src] = 0;
  }
  return c->eidx[src]++;
}

