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
    r->inext = r->comm->inflight;
    r->comm->inflight = r;
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
  mpisnap__req **pp;
  int cls = mpisnap__engine_consumed(mpisnap__g.engine,
                                     (uint32_t)c->in_idx[r->src], r->epoch);

  if (cls < 0)
    mpisnap__fatal("protocol error consuming a message from rank %d", r->src);
  if (cls == MPISNAP__CONSUME_EARLY)
    mpisnap__note_early(c, r->src, r->epoch, r->eidx);
  if (cls == MPISNAP__CONSUME_LOG)
    mpisnap__log_from_user(c, r->src, r->status.MPI_TAG, r->seq, r->buf, r->count,
                  r->type, r->bytes);
  for (pp = &c->inflight; *pp != NULL; pp = &(*pp)->inext)
    if (*pp == r) {
      *pp = r->inext;
      break;
    }
  r->landed = 0;
  r->real = MPI_REQUEST_NULL;
  r->done = 1;
  r->active = 0;
}

/* The application holds m through a matched probe until MPI_Mrecv. */
void mpisnap__claim(mpisnap__msg *m) {
  m->next = m->comm->claimed;
  m->comm->claimed = m;
}

void mpisnap__unclaim(mpisnap__msg *m) {
  for (mpisnap__msg **pp = &m->comm->claimed; *pp != NULL; pp = &(*pp)->next)
    if (*pp == m) {
      *pp = m->next;
      break;
    }
  m->next = NULL;
}

mpisnap__msg *mpisnap__find_unexpected(mpisnap__comm *c, int source, int tag,
                                       int remove) {
  mpisnap__msg *m, *prev = NULL;

  for (m = c->unexp; m != NULL; prev = m, m = m->next)
    if (matches(source, tag, m->source, m->tag)) {
      if (remove) {
        if (prev)
          prev->next = m->next;
        else
          c->unexp = m->next;
        if (c->unexp_tail == m)
          c->unexp_tail = prev;
        m->next = NULL;
      }
      return m;
    }
  return NULL;
}

/* Post a receive: the earliest queued match, else the posted queue. */
void mpisnap__post_recv(mpisnap__req *r) {
  mpisnap__msg *m = mpisnap__find_unexpected(r->comm, r->peer, r->tag, 1);

  r->active = 1;
  r->done = 0;
  r->next = NULL;
  if (m != NULL) {
    complete_recv(r, m);
    return;
  }
  if (r->comm->posted_tail)
    r->comm->posted_tail->next = r;
  else
    r->comm->posted = r;
  r->comm->posted_tail = r;
}

/* Remove r from its communicator's posted queue; 1 if it was there. */
int mpisnap__unpost_recv(mpisnap__req *r) {
  mpisnap__comm *c = r->comm;
  mpisnap__req *q, *prev = NULL;

  for (q = c->posted; q != NULL; prev = q, q = q->next)
    if (q == r) {
      if (prev)
        prev->next = q->next;
      else
        c->posted = q->next;
      if (c->posted_tail == q)
        c->posted_tail = prev;
      return 1;
    }
  return 0;
}

/* A message of its channel's current epoch, in its channel's order:
 * match it to a posted receive or queue it. */
void mpisnap__arrival(mpisnap__comm *c, MPI_Message h, int src, int tag,
                      MPI_Count bytes) {
  mpisnap__state *g = &mpisnap__g;
  mpisnap__req *r, *prev = NULL;
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
  for (r = c->posted; r != NULL; prev = r, r = r->next)
    if (matches(r->peer, r->tag, src, tag)) {
      if (prev)
        prev->next = r->next;
      else
        c->posted = r->next;
      if (c->posted_tail == r)
        c->posted_tail = prev;
      complete_recv(r, &tmp);
      return;
    }
  m = malloc(sizeof(*m));
  if (m == NULL)
    mpisnap__fatal("out of memory queueing a message");
  *m = tmp;
  m->heap = 1;
  if (c->unexp_tail)
    c->unexp_tail->next = m;
  else
    c->unexp = m;
  c->unexp_tail = m;
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

