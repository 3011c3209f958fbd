/* The fast path: while no snapshot is active on this rank, receives go
 * straight to MPI on the current epoch's shadow (only messages of the
 * current epoch travel there, and nothing needs logging), with the
 * standing marker receive beside them.  The moment a snapshot begins here
 * (a marker arrives, or this rank initiates), every such receive is
 * cancelled and handed to the layer's own matching, or, if MPI already
 * matched it, accounted as arrived on its channel (chan.c). */
#include "pmpi/layer.h"
#include "pmpi/det.h"

/* A fast receive that MPI matched: account its message on its channel. */
static void fast_arrived(mpisnap__req *r) {
  mpisnap__comm *c = r->comm;
  int cnt = 0, src = r->status.MPI_SOURCE;

  PMPI_Get_count(&r->status, MPI_BYTE, &cnt);
  r->fast = 0;
  r->real = MPI_REQUEST_NULL;
  r->src = src;
  r->bytes = cnt;
  r->seq = mpisnap__g.arrivals++;
  r->eidx = mpisnap__epoch_index(c, src, r->epoch);
  c->arr[src]++;
}

/* Its real receive completed (r->status holds MPI's status). */
void mpisnap__fast_finish(mpisnap__req *r) {
  int cancelled = 0;

  mpisnap__queue_remove(&r->iq); /* from its communicator's fastq */
  if (r->cancel) /* only the application cancels a fast receive */
    PMPI_Test_cancelled(&r->status, &cancelled);
  if (cancelled) {
    r->fast = 0;
    r->real = MPI_REQUEST_NULL;
    r->done = 1;
    r->active = 0;
    return;
  }
  fast_arrived(r);
  mpisnap__finish_inflight(r);
  if (r->comm->pmk_n[r->src] > 0)
    mpisnap__chan_advance(r->comm, r->src);
}

/* Take r out of MPI: cancelled, it goes back to the layer as a posted
 * receive (returns 0); matched, its message is accounted as arrived and
 * waits, landed, for the application's completion call (returns 1).  One
 * the application cancelled itself stays cancelled (returns 2). */
static int fast_resolve(mpisnap__req *r) {
  mpisnap__comm *c = r->comm;
  MPI_Status st;
  int cancelled = 0;

  if (!r->cancel)
    PMPI_Cancel(&r->real);
  st.MPI_ERROR = PMPI_Wait(&r->real, &st);
  PMPI_Test_cancelled(&st, &cancelled);
  r->real = MPI_REQUEST_NULL;
  r->fast = 0;
  if (cancelled && r->cancel) {
    r->status = st;
    r->done = 1;
    r->active = 0;
    return 2;
  }
  if (cancelled) {
    mpisnap__g.n_taken_back++;
    return 0;
  }
  mpisnap__g.n_landed++;
  r->status = st;
  fast_arrived(r);
  r->landed = 1;
  mpisnap__queue_insert_head(&c->inflight, &r->iq);
  return 1;
}

/* Every fast receive goes back to the layer, in posting order and ahead
 * of the receives the layer already had posted on its communicator. */
void mpisnap__go_slow(void) {
  mpisnap__state *g = &mpisnap__g;
  mpisnap__queue *l;

  if (!g->fast)
    return;
  g->fast = 0;
  g->fast_gen++;
  mpisnap__queue_foreach(l, &g->comms) {
    mpisnap__comm *c = MPISNAP__COMM(l);
    mpisnap__queue back;
    mpisnap__queue_init(&back);
    while (!mpisnap__queue_empty(&c->fastq)) {
      mpisnap__req *r = MPISNAP__IREQ(mpisnap__queue_first(&c->fastq));
      mpisnap__queue_remove(&r->iq);
      switch (fast_resolve(r)) {
      case 2:
        if (r->freed)
          mpisnap__req_free(r);
        continue;
      case 1:
        if (r->freed) {
          mpisnap__finish_inflight(r);
          mpisnap__req_free(r);
        }
        continue;
      }
      mpisnap__queue_insert_tail(&back, &r->q);
    }
    mpisnap__queue_append(&back, &c->posted);
    mpisnap__queue_append(&c->posted, &back);
  }
}

/* The fast path comes back once this rank's snapshot is over and nothing
 * of it is left to rebuild or replay. */
void mpisnap__fast_check(void) {
  mpisnap__state *g = &mpisnap__g;
  enum mpisnap__phase ph;

  if (g->fast || g->fast_off || g->pending_markers > 0 || g->held > 0 ||
      mpisnap__det_replaying())
    return;
  ph = mpisnap__engine_phase(g->engine);
  if ((ph == MPISNAP__IDLE || ph == MPISNAP__DONE) &&
      !mpisnap__engine_next_pending(g->engine))
    g->fast = 1;
}

int mpisnap__fast_irecv(mpisnap__req *r) {
  mpisnap__comm *c = r->comm;
  int rc;

  r->fast = 1;
  r->cancel = 0; /* a persistent receive starts afresh */
  r->epoch = mpisnap__g.ep;
  r->active = 1;
  r->done = 0;
  r->landed = 0;
  rc = PMPI_Irecv(r->buf, r->count, r->type, r->peer, r->tag,
                  c->sh[mpisnap__g.shq], &r->real);
  if (rc != MPI_SUCCESS) {
    r->fast = 0;
    r->active = 0;
    return rc;
  }
  mpisnap__queue_insert_tail(&c->fastq, &r->iq);
  return MPI_SUCCESS;
}

/* A snapshot began while a blocking fast receive waited: take it out of
 * MPI.  Returns 1 when MPI had matched it (its message is accounted and
 * in r's buffer), 0 when it was cancelled and is posted in the layer. */
static int fast_recv_leave(mpisnap__req *r, MPI_Request real) {
  r->real = real;
  r->fast = 1;
  if (!fast_resolve(r))
    return 0;
  /* Not a request the application will complete: consumed right here. */
  mpisnap__queue_remove(&r->iq);
  r->landed = 0;
  return 1;
}

/* A blocking receive on the fast path: MPI matches it on the current
 * shadow while the standing marker receive watches for a snapshot. */
int mpisnap__fast_recv(mpisnap__comm *c, void *buf, int count,
                       MPI_Datatype type, int source, int tag,
                       MPI_Status *status) {
  mpisnap__state *g = &mpisnap__g;
  mpisnap__req r;
  MPI_Request rq[2];
  uint64_t gen = g->fast_gen;
  unsigned spins = 0;
  int idx, flag, rc;

  mpisnap__blocking_req(&r, c, buf, count, type, source, tag, -1);
  r.epoch = g->ep;
  rc = PMPI_Irecv(buf, count, type, source, tag, c->sh[g->shq], &rq[0]);
  if (rc != MPI_SUCCESS)
    return rc;
  /* The library may stop the program from inside this wait (a committed
   * checkpoint-and-exit in independent mode); MPI_Finalize cancels it. */
  g->fast_blocking = &rq[0];
  for (unsigned k = 1;; k++) {
    rq[1] = g->mk_in_req;
    flag = 0;
    rc = PMPI_Testany(2, rq, &idx, &flag, &r.status);
    if (flag && idx == 0) {
      r.status.MPI_ERROR = rc;
      r.real = MPI_REQUEST_NULL;
      fast_arrived(&r);
      break;
    }
    if (flag && idx == 1)
      mpisnap__marker_fired();
    else if ((k & 15) == 0)
      /* Receives the layer matches on other communicators, and the
       * checkpoint's control rounds, go on while this rank waits. */
      mpisnap__progress();
    /* A snapshot began: even if it is already over (the fast path is back,
     * in a new epoch), this receive waits on the old epoch's shadow. */
    if (g->fast_gen != gen) {
      g->fast_blocking = NULL;
      if (!fast_recv_leave(&r, rq[0]))
        return mpisnap__slow_recv(&r, status);
      break;
    }
    mpisnap__wait_backoff(&spins);
  }
  g->fast_blocking = NULL;
  mpisnap__finish_inflight(&r);
  if (c->pmk_n[r.src] > 0)
    mpisnap__chan_advance(c, r.src);
  mpisnap__status_out(status, &r.status);
  return r.status.MPI_ERROR;
}

/* A probe on the fast path: MPI looks on the current shadow, where every
 * message of this epoch travels.  Nothing leaves MPI but the message a
 * matching probe hands to the program: a message taken into the layer's
 * queue would make the next receives on its communicator the layer's
 * (mpisnap__fast_ok), and then a peer's synchronous send to one of them
 * would wait on this rank's progress, even in a blocking collective.
 * Returns MPISNAP__FAST_LEFT when a snapshot began while a blocking probe
 * waited: the layer's own probe takes over. */
int mpisnap__fast_probe(mpisnap__comm *c, int source, int tag, int *flag,
                        MPI_Message *message, MPI_Status *status,
                        int blocking) {
  mpisnap__state *g = &mpisnap__g;
  uint64_t gen = g->fast_gen;
  unsigned spins = 0;

  for (;;) {
    MPI_Comm sh = c->sh[g->shq];
    MPI_Message h = MPI_MESSAGE_NULL;
    MPI_Status st;
    int f = 0, cnt = 0;

    if (message != NULL)
      PMPI_Improbe(source, tag, sh, &f, &h, &st);
    else
      PMPI_Iprobe(source, tag, sh, &f, &st);
    if (f && message != NULL) {
      /* Its arrival is accounted as the layer's progress would, and the
       * program holds it from here (the queue was empty before). */
      mpisnap__msg *m;
      mpisnap__shadow_arrival(c, g->shq, h, &st);
      m = mpisnap__find_unexpected(c, st.MPI_SOURCE, st.MPI_TAG, 1);
      if (m == NULL)
        mpisnap__fatal("a message MPI_Improbe matched on the fast path is "
                       "not in its communicator's queue");
      if (status != MPI_STATUS_IGNORE)
        mpisnap__status_bytes(status, m->source, m->tag, m->bytes);
      mpisnap__claim(m);
      *message = mpisnap__msg_handle(m);
    } else if (f && status != MPI_STATUS_IGNORE) {
      PMPI_Get_count(&st, MPI_BYTE, &cnt);
      mpisnap__status_bytes(status, st.MPI_SOURCE, st.MPI_TAG, cnt);
    }
    if (f || !blocking) {
      *flag = f;
      return MPI_SUCCESS;
    }
    mpisnap__progress();
    if (g->fast_gen != gen || !mpisnap__fast_ok(c))
      return MPISNAP__FAST_LEFT;
    mpisnap__wait_backoff(&spins);
  }
}

/* A blocking receive in the direct regime: no snapshot is in progress
 * anywhere and none can begin before this rank's next safe point
 * (regime.c), so no marker needs watching while MPI waits, exactly as
 * plain MPI would wait.  Only the channel's arrival count and the
 * consumption are kept, for the next snapshot's balance. */
int mpisnap__direct_recv(mpisnap__comm *c, void *buf, int count,
                         MPI_Datatype type, int source, int tag,
                         MPI_Status *status) {
  mpisnap__req r;
  int rc;

  mpisnap__blocking_req(&r, c, buf, count, type, source, tag, -1);
  r.epoch = mpisnap__g.ep;
  r.status.MPI_SOURCE = MPI_ANY_SOURCE; /* stays so if nothing arrives */
  rc = PMPI_Recv(buf, count, type, source, tag, c->sh[mpisnap__g.shq],
                 &r.status);
  if (rc != MPI_SUCCESS && r.status.MPI_SOURCE == MPI_ANY_SOURCE)
    return rc; /* nothing was received */
  r.status.MPI_ERROR = rc;
  fast_arrived(&r);
  mpisnap__finish_inflight(&r);
  mpisnap__status_out(status, &r.status);
  return rc;
}
