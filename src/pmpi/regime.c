/* The regime of blocking collectives: MPI's own (direct) or the
 * nonblocking form completed in the layer's loop (detour).
 *
 * A blocking collective never matches a nonblocking one (MPI 3.1, section
 * 5.12), so the regime must be the same on every member at every
 * collective: it is never decided from one rank's state at the call.  It
 * changes only where every rank is at the same point of the program:
 * MPI_Init (no snapshot can have begun), mpisnap_init (collective), and a
 * safe point of collective mode, from the control round's result, which
 * every rank has alike (ckpt/api.c).  docs/DESIGN.md ("Blocking
 * collectives") proves that the direct regime is exactly as safe as plain
 * MPI: while it holds, no snapshot is in progress anywhere, every rank is
 * in the same epoch, and every receive of the program is posted in MPI on
 * the shadow its messages travel on, so MPI matches whatever plain MPI
 * would match while a rank sits in the collective. */
#include <stdio.h>

#include "pmpi/det.h"
#include "pmpi/layer.h"

/* At MPI_Init: no snapshot has begun and only the checkpoint runtime
 * (which switches at mpisnap_init) or the test trigger can begin one.
 * The trigger begins them at any call of any rank, and MPISNAP_FAST=0
 * leaves every receive to the layer: then never direct.  MPISNAP_DIRECT=0
 * asks for the detour throughout (every blocking call then waits in the
 * layer's loop, which sleeps when idle). */
void mpisnap__regime_setup(void) {
  mpisnap__state *g = &mpisnap__g;

  g->coll_permit = g->trigger == 0 && !g->fast_off && !g->direct_off;
  g->coll_direct = g->coll_permit;
  /* Until a runtime registers (mpisnap_init, collective, before any
   * communication by the program's contract) nothing can begin a
   * snapshot: receives need no layer request and no channel counts them
   * (nor does any sender, so the counts stay consistent). */
  g->bare = g->coll_permit;
}

void mpisnap__layer_coll_regime(int direct) {
  mpisnap__state *g = &mpisnap__g;

  g->coll_direct = direct && g->coll_permit && g->initialized &&
                   !g->finalized;
}

int mpisnap__layer_quiet(void) {
  mpisnap__state *g = &mpisnap__g;
  enum mpisnap__phase ph;
  mpisnap__queue *l;

  if (!g->initialized || g->finalized)
    return 0;
  mpisnap__fast_check();
  if (!g->fast || g->held > 0 || g->pending_markers > 0 ||
      g->restore_left > 0 || mpisnap__det_replaying())
    return 0;
  ph = mpisnap__engine_phase(g->engine);
  if ((ph != MPISNAP__IDLE && ph != MPISNAP__DONE) ||
      mpisnap__engine_next_pending(g->engine))
    return 0;
  /* A receive the layer holds, or a queued message that makes the next
   * receive on its communicator the layer's (mpisnap__fast_ok). */
  mpisnap__queue_foreach(l, &g->comms) {
    mpisnap__comm *c = MPISNAP__COMM(l);
    if (!mpisnap__queue_empty(&c->posted) ||
        !mpisnap__queue_empty(&c->unexp) || !mpisnap__queue_empty(&c->ahead))
      return 0;
  }
  return 1;
}

uint64_t mpisnap__layer_world_collectives(void) {
  mpisnap__comm *c;

  if (!mpisnap__g.initialized || mpisnap__g.finalized)
    return 0;
  c = mpisnap__comm_get(MPI_COMM_WORLD);
  return c != NULL ? c->collectives : 0;
}

/* With MPISNAP_VERBOSE, on rank 0's stderr: how the blocking collectives
 * ran, summed over the ranks. */
void mpisnap__regime_report(void) {
  mpisnap__state *g = &mpisnap__g;
  uint64_t in[2] = {g->n_coll_retired, g->n_coll_detour}, out[2] = {0, 0};
  mpisnap__queue *l;

  /* Every blocking collective is counted on its communicator; the direct
   * path counts nothing else (it ends in a tail call to MPI). */
  mpisnap__queue_foreach(l, &g->comms) in[0] += MPISNAP__COMM(l)->collectives;
  in[0] -= g->n_coll_detour;

  /* Every rank reduces (MPISNAP_VERBOSE could differ between ranks). */
  PMPI_Reduce(in, out, 2, MPI_UINT64_T, MPI_SUM, 0, g->control);
  if (g->world_rank == 0 && g->verbose > 0) {
    fprintf(stderr, "mpisnap: blocking collectives: %llu direct, %llu "
                    "through the layer (all ranks)\n",
            (unsigned long long)out[0], (unsigned long long)out[1]);
    fflush(stderr);
  }
}
