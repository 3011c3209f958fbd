/* Progress: take markers and messages off the control communicator and
 * the shadows (chan.c puts each in its channel's order, match.c matches
 * it), the layer's way of waiting, the test trigger, and the fatal exit. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pmpi/layer.h"

/* Take every message waiting on one communicator's shadows. */
int mpisnap__progress_comm(mpisnap__comm *c) {
  int n = 0;

  for (int q = 0; q < 3; q++)
    for (;;) {
      MPI_Message h;
      MPI_Status st;
      int flag = 0;
      PMPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->sh[q], &flag, &h, &st);
      if (!flag)
        break;
      mpisnap__shadow_arrival(c, q, h, &st);
      n++;
    }
  return n;
}

/* Markers, then the shadows: all of them while a snapshot is active here;
 * on the fast path only those of communicators where the layer matches a
 * posted receive (MPI matches the others). */
int mpisnap__progress(void) {
  mpisnap__state *g = &mpisnap__g;
  int n = mpisnap__markers_poll();
  mpisnap__queue *l;

  mpisnap__queue_foreach(l, &g->comms)
    if (!g->fast || !mpisnap__queue_empty(&MPISNAP__COMM(l)->posted))
      n += mpisnap__progress_comm(MPISNAP__COMM(l));
  if (g->mk_n > 0) {
    int done = 0;
    PMPI_Testall(g->mk_n, g->mk_req, &done, MPI_STATUSES_IGNORE);
    if (done)
      g->mk_n = 0;
  }
  if (!g->fast)
    mpisnap__fast_check();
  return n;
}

/* A rank blocked in the library polls; after a while it sleeps between
 * polls so that an idle rank does not keep a core busy for mpisnap.  The
 * first 100,000 polls (several milliseconds) spin, as MPI itself would:
 * a rank waiting that long for a large transfer is not idle, and sleeping
 * would delay it by the sleep's wake-up time. */
void mpisnap__wait_backoff(unsigned *spins) {
  struct timespec ts = {0, 50000};

  if (++*spins < 20000)
    return;
  if ((*spins & 1023) == 0 && mpisnap__g.hooks != NULL)
    mpisnap__g.hooks->idle();
  if (*spins >= 100000)
    nanosleep(&ts, NULL);
}

void mpisnap__maybe_trigger(void) {
  mpisnap__state *g = &mpisnap__g;
  uint64_t x;

  if (g->trigger == 0)
    return;
  x = (g->rng += 0x9e3779b97f4a7c15ULL);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 31;
  if (x % g->trigger == 0)
    mpisnap__engine_initiate(g->engine, NULL);
}

void mpisnap__fatal(const char *fmt, ...) {
  va_list ap;

  fprintf(stderr, "mpisnap: error: rank %d: ", mpisnap__g.world_rank);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  PMPI_Abort(MPI_COMM_WORLD, 70);
  abort();
}
