/* A restart, on the layer's side: each communicator's channels are put
 * back as they were at the checkpoint: its logged messages re-delivered
 * first, in channel order; its early messages suppressed at their
 * senders.  Communicators are matched by key (the same on every member,
 * run after run: comm.c). */
#include <stdlib.h>
#include <string.h>

#include "pmpi/det.h"
#include "pmpi/layer.h"

/* Re-deliver c's logged messages: they enter the unexpected queue before
 * anything new can arrive on the communicator. */
static void inject(mpisnap__comm *c) {
  mpisnap__part *p = mpisnap__g.restored;

  for (size_t i = 0; i < p->nmsgs; i++) {
    mpisnap__chanmsg *lm = &p->msgs[i];
    mpisnap__msg *m;
    if (lm->comm_key != c->key)
      continue;
    if (lm->src < 0 || lm->src >= c->size)
      mpisnap__fatal("checkpoint %llu: a logged message names source %d of "
                     "a %d-rank communicator", (unsigned long long)p->id,
                     lm->src, c->size);
    m = calloc(1, sizeof(*m));
    if (m == NULL)
      mpisnap__fatal("out of memory re-delivering channel state");
    m->comm = c;
    m->source = lm->src;
    m->tag = lm->tag;
    m->handle = MPI_MESSAGE_NULL;
    m->bytes = (MPI_Count)lm->bytes;
    m->data = lm->data;
    lm->data = NULL;
    m->heap = 1;
    m->seq = mpisnap__g.arrivals++;
    c->arr[lm->src]++; /* counted by its sender as sent (exchange) */
    mpisnap__engine_arrived(mpisnap__g.engine, (uint32_t)c->in_idx[lm->src],
                            &m->epoch);
    m->eidx = mpisnap__epoch_index(c, lm->src, m->epoch);
    mpisnap__queue_insert_tail(&c->unexp, &m->q);
    mpisnap__g.restore_left--;
  }
}

/* Tell every sender what it must know about its channel to this rank:
 * how many of its old messages this rank re-delivers (they count as sent
 * before the restart), and which of its next messages this rank already
 * consumed (early messages, not to be sent again). */
static void exchange(mpisnap__comm *c) {
  const mpisnap__part *p = mpisnap__g.restored;
  int n = c->size;
  int *scnt = calloc((size_t)n, sizeof(int)), *rcnt = calloc((size_t)n, sizeof(int));
  int *sdis = calloc((size_t)n, sizeof(int)), *rdis = calloc((size_t)n, sizeof(int));
  uint64_t *sbuf, *rbuf;
  int stot = 0, rtot = 0;

  if (!scnt || !rcnt || !sdis || !rdis)
    mpisnap__fatal("out of memory restoring channels");
  /* Per peer: [logged count, early indices...]. */
  for (int q = 0; q < n; q++)
    scnt[q] = 1;
  for (size_t i = 0; i < p->nearly; i++)
    if (p->early[i].comm_key == c->key && p->early[i].src >= 0 &&
        p->early[i].src < n)
      scnt[p->early[i].src]++;
  for (int q = 0; q < n; q++) {
    sdis[q] = stot;
    stot += scnt[q];
  }
  sbuf = calloc((size_t)stot, sizeof(*sbuf));
  if (sbuf == NULL)
    mpisnap__fatal("out of memory restoring channels");
  {
    int *fill = calloc((size_t)n, sizeof(int));
    for (size_t i = 0; i < p->nmsgs; i++)
      if (p->msgs[i].comm_key == c->key && p->msgs[i].src >= 0 &&
          p->msgs[i].src < n)
        sbuf[sdis[p->msgs[i].src]]++;
    for (size_t i = 0; i < p->nearly; i++)
      if (p->early[i].comm_key == c->key && p->early[i].src >= 0 &&
          p->early[i].src < n) {
        int q = p->early[i].src;
        sbuf[sdis[q] + 1 + fill[q]++] = p->early[i].index;
      }
    free(fill);
  }
  PMPI_Alltoall(scnt, 1, MPI_INT, rcnt, 1, MPI_INT, c->shadow);
  for (int q = 0; q < n; q++) {
    rdis[q] = rtot;
    rtot += rcnt[q];
  }
  rbuf = calloc((size_t)(rtot ? rtot : 1), sizeof(*rbuf));
  if (rbuf == NULL)
    mpisnap__fatal("out of memory restoring channels");
  PMPI_Alltoallv(sbuf, scnt, sdis, MPI_UINT64_T, rbuf, rcnt, rdis,
                 MPI_UINT64_T, c->shadow);
  c->supp = calloc((size_t)n, sizeof(*c->supp));
  c->supp_n = calloc((size_t)n, sizeof(size_t));
  c->supp_next = calloc((size_t)n, sizeof(size_t));
  c->sends = calloc((size_t)n, sizeof(uint64_t));
  if (!c->supp || !c->supp_n || !c->supp_next || !c->sends)
    mpisnap__fatal("out of memory restoring channels");
  for (int q = 0; q < n; q++) {
    uint64_t logged = rbuf[rdis[q]];
    size_t ne = (size_t)rcnt[q] - 1;
    /* Messages this peer re-delivers were sent before the checkpoint. */
    for (uint64_t j = 0; j < logged; j++)
      mpisnap__engine_sent(mpisnap__g.engine, (uint32_t)c->out_idx[q]);
    if (ne > 0) {
      c->supp[q] = malloc(ne * sizeof(uint64_t));
      if (c->supp[q] == NULL)
        mpisnap__fatal("out of memory restoring channels");
      memcpy(c->supp[q], rbuf + rdis[q] + 1, ne * sizeof(uint64_t));
      /* Ascending: suppression walks them in send order. */
      for (size_t a = 1; a < ne; a++)
        for (size_t b = a; b > 0 && c->supp[q][b - 1] > c->supp[q][b]; b--) {
          uint64_t t = c->supp[q][b];
          c->supp[q][b] = c->supp[q][b - 1];
          c->supp[q][b - 1] = t;
        }
      c->supp_n[q] = ne;
    }
  }
  free(scnt);
  free(rcnt);
  free(sdis);
  free(rdis);
  free(sbuf);
  free(rbuf);
}

/* A communicator of the restarted run (world and self at the restart,
 * the others as the program creates them again): its channels back. */
void mpisnap__restore_comm(mpisnap__comm *c) {
  if (mpisnap__g.restored == NULL || c->supp != NULL)
    return;
  inject(c);
  exchange(c);
}

void mpisnap__layer_restore(mpisnap__part *p) {
  mpisnap__g.restored = p;
  mpisnap__g.restore_left = p->nmsgs;
  mpisnap__det_restore(p);
  /* The logged choices are replayed by the layer's own matching: no
   * receive goes straight to MPI until they are all used. */
  mpisnap__go_slow();
  mpisnap__queue *l;

  mpisnap__queue_foreach(l, &mpisnap__g.comms)
    mpisnap__restore_comm(MPISNAP__COMM(l));
}

/* A send to dest on c that the restarted rank must not make again: the
 * peer consumed it before the failure (an early message). */
int mpisnap__suppress(mpisnap__comm *c, int dest) {
  uint64_t idx;

  if (c->supp == NULL || c->supp_next[dest] >= c->supp_n[dest])
    return 0;
  idx = c->sends[dest]++;
  if (c->supp[dest][c->supp_next[dest]] != idx)
    return 0;
  c->supp_next[dest]++;
  return 1;
}

