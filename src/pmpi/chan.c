/* The channels over three shadows: markers, the drain, held messages.
 *
 * A rank sends on the shadow of its epoch (the last snapshot it recorded,
 * modulo 3) and sends its markers on the control communicator, each with
 * its count of messages sent on the channel before its record.  A
 * receiver rebuilds every channel's FIFO order from that: a message that
 * arrives on the shadow of a later epoch than the channel's last applied
 * marker is held until that marker applies; a marker applies only when
 * every message sent before it has arrived (the drain), pulled off the
 * older epoch's shadow if need be.  The engine then sees each channel
 * exactly as a FIFO channel with in-band markers.
 *
 * Three shadows are enough and two are not: a sender can be at most two
 * snapshots ahead of a receiver's last applied marker on its channel
 * (recording s+2 needs the sender DONE with s+1, so the receiver's marker
 * of s+1, so the receiver DONE with s, so the sender's marker of s
 * applied), so the epochs that can be in flight on a channel are three
 * consecutive ones, one per shadow.
 *
 * The fast path, which lets MPI match receives while no snapshot is
 * active, is in fast.c. */
#include <stdlib.h>
#include <string.h>

#include "pmpi/layer.h"

/* Markers on the control communicator; its collectives never match. */
#define MK_TAG 19531
#define MK_CHUNK 256 /* marker buffers per chunk */

static void mk_post(void) {
  if (PMPI_Irecv(mpisnap__g.mk_in, 4, MPI_UINT64_T, MPI_ANY_SOURCE, MK_TAG,
                 mpisnap__g.control, &mpisnap__g.mk_in_req) != MPI_SUCCESS)
    mpisnap__fatal("cannot post the receive of markers");
}

void mpisnap__chan_setup(void) {
  mpisnap__state *g = &mpisnap__g;

  g->fast = !g->fast_off; /* MPISNAP_FAST, read with the environment */
  g->ep = 0;
  g->shq = 0;
  mk_post();
}

void mpisnap__chan_shutdown(void) {
  mpisnap__state *g = &mpisnap__g;
  int cancelled = 0;
  MPI_Status st;

  /* finish_snapshots completed every marker send. */
  for (size_t i = 0; i < g->mk_nchunk; i++)
    free(g->mk_chunk[i]);
  free(g->mk_chunk);
  free(g->mk_req);
  g->mk_chunk = NULL;
  g->mk_req = NULL;
  g->mk_nchunk = g->mk_chunk_cap = g->mk_req_cap = 0;
  if (g->fast_blocking != NULL) {
    PMPI_Cancel(g->fast_blocking);
    PMPI_Wait(g->fast_blocking, MPI_STATUS_IGNORE);
    g->fast_blocking = NULL;
  }
  if (g->mk_in_req == MPI_REQUEST_NULL)
    return;
  PMPI_Cancel(&g->mk_in_req);
  PMPI_Wait(&g->mk_in_req, &st);
  PMPI_Test_cancelled(&st, &cancelled);
  if (!cancelled)
    mpisnap__fatal("a marker arrived after every snapshot had finished");
  free(g->orphan);
  g->orphan = NULL;
  g->norphan = g->orphan_cap = 0;
}

/* ---- per-communicator state ---- */

int mpisnap__chan_comm_setup(mpisnap__comm *c, int inter) {
  MPI_Group grp, world;
  int *in, rc = MPI_SUCCESS;

  for (int q = 0; q < 3; q++)
    c->sh[q] = MPI_COMM_NULL;
  /* The shadows return errors to the layer, which raises them on the
   * program's communicator (mpisnap__raise). */
  for (int q = 0; q < 3 && rc == MPI_SUCCESS; q++)
    if ((rc = PMPI_Comm_dup(c->app, &c->sh[q])) == MPI_SUCCESS)
      rc = PMPI_Comm_set_errhandler(c->sh[q], MPI_ERRORS_RETURN);
  if (rc != MPI_SUCCESS)
    return rc;
  c->shadow = c->sh[0];
  c->world = malloc((size_t)c->size * sizeof(int));
  c->arr = calloc((size_t)c->size, sizeof(uint64_t));
  c->pmk = calloc((size_t)c->size, sizeof(*c->pmk));
  c->pmk_n = calloc((size_t)c->size, 1);
  in = malloc((size_t)c->size * sizeof(int));
  if (!c->world || !c->arr || !c->pmk || !c->pmk_n || !in) {
    free(in);
    return MPI_ERR_NO_MEM;
  }
  /* Markers go to the peer's rank in the control communicator (a
   * duplicate of MPI_COMM_WORLD); for an intercommunicator the peers are
   * the remote group. */
  if (inter)
    PMPI_Comm_remote_group(c->app, &grp);
  else
    PMPI_Comm_group(c->app, &grp);
  PMPI_Comm_group(MPI_COMM_WORLD, &world);
  for (int p = 0; p < c->size; p++)
    in[p] = p;
  rc = PMPI_Group_translate_ranks(grp, c->size, in, world, c->world);
  PMPI_Group_free(&grp);
  PMPI_Group_free(&world);
  free(in);
  return rc;
}

/* Messages nobody will receive (their communicator is being freed): take
 * them out of MPI and drop them. */
void mpisnap__msgs_discard(mpisnap__queue *list) {
  while (!mpisnap__queue_empty(list)) {
    mpisnap__msg *m = MPISNAP__MSG(mpisnap__queue_first(list));
    mpisnap__queue_remove(&m->q);
    if (m->handle != MPI_MESSAGE_NULL) {
      char *tmp = malloc(m->bytes ? (size_t)m->bytes : 1);
      PMPI_Mrecv(tmp, (int)m->bytes, MPI_BYTE, &m->handle, MPI_STATUS_IGNORE);
      free(tmp);
    }
    free(m->data);
    free(m);
  }
}

void mpisnap__chan_comm_free(mpisnap__comm *c) {
  mpisnap__queue *l;

  mpisnap__queue_foreach(l, &c->ahead)
    mpisnap__g.held--;
  mpisnap__msgs_discard(&c->ahead);
  for (int p = 0; p < c->size && c->pmk_n != NULL; p++)
    mpisnap__g.pending_markers -= c->pmk_n[p];
  for (int q = 0; q < 3; q++)
    if (c->sh[q] != MPI_COMM_NULL)
      PMPI_Comm_free(&c->sh[q]);
  c->shadow = MPI_COMM_NULL;
  free(c->world);
  free(c->arr);
  free(c->pmk);
  free(c->pmk_n);
}

/* ---- markers ---- */

void mpisnap__send_marker(mpisnap__comm *c, int peer, uint64_t sid,
                          uint64_t count) {
  mpisnap__state *g = &mpisnap__g;
  int k;

  uint64_t *b;

  /* The requests' array may move (MPI keeps no pointer into it); a send
   * buffer must not until its send completes, so the buffers come in
   * chunks, allocated once and reused whenever every marker has gone
   * (mk_n back to 0: progress.c, finish_snapshots). */
  MPISNAP__GROW(g->mk_req, g->mk_n, g->mk_req_cap, "sending markers");
  if ((size_t)g->mk_n / MK_CHUNK == g->mk_nchunk) {
    MPISNAP__GROW(g->mk_chunk, g->mk_nchunk, g->mk_chunk_cap,
                  "sending markers");
    g->mk_chunk[g->mk_nchunk] = malloc(MK_CHUNK * sizeof(**g->mk_chunk));
    if (g->mk_chunk[g->mk_nchunk] == NULL)
      mpisnap__fatal("out of memory sending markers");
    g->mk_nchunk++;
  }
  k = g->mk_n++;
  b = g->mk_chunk[k / MK_CHUNK][k % MK_CHUNK];
  b[0] = sid;
  b[1] = count;
  b[2] = c->key;
  b[3] = (uint64_t)c->rank;
  if (PMPI_Isend(b, 4, MPI_UINT64_T, c->world[peer], MK_TAG,
                 g->control, &g->mk_req[k]) != MPI_SUCCESS)
    mpisnap__fatal("sending a marker failed");
}

static void marker_queue(mpisnap__comm *c, int src, uint64_t sid,
                         uint64_t count) {
  if (src < 0 || src >= c->size)
    mpisnap__fatal("a marker names rank %d of a %d-rank communicator", src,
                   c->size);
  if (c->pmk_n[src] == 3)
    mpisnap__fatal("more than three markers from rank %d on communicator "
                   "#%llu wait for their channel", src,
                   (unsigned long long)c->id);
  c->pmk[src][c->pmk_n[src]][0] = sid;
  c->pmk[src][c->pmk_n[src]][1] = count;
  c->pmk_n[src]++;
  mpisnap__g.pending_markers++;
  mpisnap__chan_advance(c, src);
}

static mpisnap__comm *comm_by_key(uint64_t key) {
  mpisnap__queue *l;

  mpisnap__queue_foreach(l, &mpisnap__g.comms)
    if (MPISNAP__COMM(l)->key == key)
      return MPISNAP__COMM(l);
  return NULL;
}

static void marker_in(const uint64_t b[4]) {
  mpisnap__state *g = &mpisnap__g;
  mpisnap__comm *c;

  /* A snapshot is starting or going on: the fast path's receives go back
   * to the layer before anything is counted for it. */
  mpisnap__go_slow();
  c = comm_by_key(b[2]);
  if (c != NULL) {
    marker_queue(c, (int)b[3], b[0], b[1]);
    return;
  }
  /* Its communicator is not created on this rank yet: keep it. */
  MPISNAP__GROW(g->orphan, g->norphan, g->orphan_cap, "keeping a marker");
  memcpy(g->orphan[g->norphan++], b, 4 * sizeof(uint64_t));
}

/* A new communicator takes the markers that came before it. */
void mpisnap__chan_adopt(mpisnap__comm *c) {
  mpisnap__state *g = &mpisnap__g;
  size_t k = 0;

  while (k < g->norphan)
    if (g->orphan[k][2] == c->key) {
      uint64_t b[4];
      memcpy(b, g->orphan[k], sizeof(b));
      memmove(g->orphan[k], g->orphan[k + 1],
              (size_t)(g->norphan - k - 1) * sizeof(*g->orphan));
      g->norphan--;
      marker_queue(c, (int)b[3], b[0], b[1]);
    } else {
      k++;
    }
}

/* The standing marker receive completed (its request is gone). */
void mpisnap__marker_fired(void) {
  uint64_t b[4];

  mpisnap__g.mk_in_req = MPI_REQUEST_NULL;
  memcpy(b, mpisnap__g.mk_in, sizeof(b));
  mk_post();
  marker_in(b);
}

int mpisnap__markers_poll(void) {
  int n = 0, flag = 1;

  while (flag) {
    flag = 0;
    PMPI_Test(&mpisnap__g.mk_in_req, &flag, MPI_STATUS_IGNORE);
    if (flag) {
      mpisnap__marker_fired();
      n++;
    }
  }
  return n;
}

/* ---- rebuilding the FIFO order ---- */

/* Take the next message of epoch e from src off e's shadow, if it is there. */
static int pull(mpisnap__comm *c, int src, uint64_t e) {
  MPI_Message h;
  MPI_Status st;
  int flag = 0, cnt = 0;

  PMPI_Improbe(src, MPI_ANY_TAG, c->sh[e % 3], &flag, &h, &st);
  if (!flag)
    return 0;
  PMPI_Get_count(&st, MPI_BYTE, &cnt);
  mpisnap__g.n_pulled++;
  mpisnap__arrival(c, h, src, st.MPI_TAG, cnt);
  return 1;
}

/* Hand on the first held message from src of epoch e; 1 if there was one. */
static int release_ahead(mpisnap__comm *c, int src, uint64_t e) {
  mpisnap__msg *m = NULL;
  mpisnap__queue *l;

  mpisnap__queue_foreach(l, &c->ahead)
    if ((m = MPISNAP__MSG(l))->source == src && m->epoch == e)
      break;
  if (l == &c->ahead)
    return 0;
  mpisnap__queue_remove(&m->q);
  mpisnap__g.held--;
  mpisnap__arrival(c, m->handle, src, m->tag, m->bytes);
  free(m);
  return 1;
}

/* Apply what can be applied on channel (c, src), in its FIFO order. */
void mpisnap__chan_advance(mpisnap__comm *c, int src) {
  mpisnap__state *g = &mpisnap__g;
  uint32_t in = (uint32_t)c->in_idx[src];

  for (;;) {
    uint64_t e = mpisnap__engine_in_epoch(g->engine, in), sid, cnt;
    if (release_ahead(c, src, e))
      continue;
    if (c->pmk_n[src] == 0)
      return;
    sid = c->pmk[src][0][0];
    cnt = c->pmk[src][0][1];
    if (sid != e + 1)
      mpisnap__fatal("marker %llu from rank %d on communicator #%llu arrived "
                     "out of sequence (the channel expected marker %llu; "
                     "this rank is at snapshot %llu)", (unsigned long long)sid,
                     src, (unsigned long long)c->id,
                     (unsigned long long)e + 1,
                     (unsigned long long)mpisnap__engine_sid(g->engine));
    if (c->arr[src] < cnt) {
      /* The drain: messages sent before the marker are still coming. */
      if (pull(c, src, e))
        continue;
      return;
    }
    if (c->arr[src] > cnt)
      mpisnap__fatal("rank %d sent %llu messages on communicator #%llu "
                     "before its record of snapshot %llu, but %llu arrived",
                     src, (unsigned long long)cnt, (unsigned long long)c->id,
                     (unsigned long long)sid,
                     (unsigned long long)c->arr[src]);
    memmove(c->pmk[src][0], c->pmk[src][1], 2 * sizeof(c->pmk[src][0]));
    c->pmk_n[src]--;
    g->pending_markers--;
    c->mk_seen[src][sid & 1].sid = sid;
    c->mk_seen[src][sid & 1].count = cnt;
    if (mpisnap__engine_marker(g->engine, in, sid) < 0)
      mpisnap__fatal("marker %llu from rank %d on communicator #%llu does "
                     "not fit this rank's snapshot %llu",
                     (unsigned long long)sid, src, (unsigned long long)c->id,
                     (unsigned long long)mpisnap__engine_sid(g->engine));
  }
}

/* A message taken off shadow q: its epoch is the one of the three that
 * can be in flight on its channel which travels on q. */
void mpisnap__shadow_arrival(mpisnap__comm *c, int q, MPI_Message h,
                             MPI_Status *st) {
  int src = st->MPI_SOURCE, cnt = 0;
  uint64_t e = mpisnap__engine_in_epoch(mpisnap__g.engine,
                                        (uint32_t)c->in_idx[src]);
  uint64_t ahead = ((uint64_t)q + 3 - e % 3) % 3;
  mpisnap__msg *m;

  PMPI_Get_count(st, MPI_BYTE, &cnt);
  if (ahead == 0) {
    mpisnap__arrival(c, h, src, st->MPI_TAG, cnt);
    if (c->pmk_n[src] > 0)
      mpisnap__chan_advance(c, src);
    return;
  }
  /* Sent after a marker that has not been applied here yet. */
  m = calloc(1, sizeof(*m));
  if (m == NULL)
    mpisnap__fatal("out of memory holding a message");
  m->comm = c;
  m->source = src;
  m->tag = st->MPI_TAG;
  m->handle = h;
  m->bytes = cnt;
  m->epoch = e + ahead;
  m->heap = 1;
  mpisnap__queue_insert_tail(&c->ahead, &m->q);
  mpisnap__g.held++;
  mpisnap__g.n_ahead++;
  mpisnap__go_slow();
  /* Its marker was sent before it and has almost always arrived: apply it
   * now rather than at the next full progress pass.  A receive waiting for
   * this message polls only its own communicator between those passes,
   * and on an oversubscribed node each of those polls may give the core
   * away (MPI yields when idle), so waiting for the next pass cost
   * milliseconds per snapshot (MPICH's sendflood, 8 ranks on 2 cores). */
  mpisnap__markers_poll();
  mpisnap__chan_advance(c, src);
}
