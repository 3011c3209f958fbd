/* Determinants: the MPI-level choices a rank makes between its record and
 * the end of its snapshot (which message a wildcard receive matched, what
 * Iprobe and the Test family answered, which request Waitany/Waitsome
 * returned).  They are logged in the checkpoint and, after a restart,
 * replayed in order before anything is decided afresh, so the restarted
 * rank re-sends exactly the messages it sent before: the condition for
 * suppressing early messages at their senders (brief section 3, rule 4).
 *
 * Only a rank with a checkpoint runtime logs them: without one, nothing
 * is ever restarted. */
#include <stdlib.h>

#include "pmpi/det.h"
#include "pmpi/layer.h"

static mpisnap__determinant *log_;
static size_t nlog, caplog;
static uint64_t log_sid;
static const mpisnap__part *replay_from; /* the restart's part, or NULL */
static size_t replay_pos;

long mpisnap__det_add(int kind, int a, int b, int c) {
  mpisnap__engine *e = mpisnap__g.engine;
  uint64_t sid;

  /* Every wildcard receive asks: answer without a call when no runtime
   * is registered (a preloaded program that never calls mpisnap_init). */
  if (mpisnap__g.hooks == NULL ||
      mpisnap__engine_phase(e) != MPISNAP__RECORDED)
    return -1;
  sid = mpisnap__engine_sid(e);
  if (sid != log_sid) {
    nlog = 0; /* a new snapshot: the last one's were taken at its end */
    log_sid = sid;
  }
  MPISNAP__GROW(log_, nlog, caplog, "logging a determinant");
  log_[nlog] = (mpisnap__determinant){kind, a, b, c};
  return (long)nlog++;
}

void mpisnap__det_set(long idx, int a, int b) {
  if (idx >= 0 && (size_t)idx < nlog &&
      log_sid == mpisnap__engine_sid(mpisnap__g.engine)) {
    log_[idx].a = a;
    log_[idx].b = b;
  }
}

void mpisnap__det_take(uint64_t sid, mpisnap__part *p) {
  p->ndet = 0;
  p->det = NULL;
  if (log_sid != sid || nlog == 0)
    return;
  p->det = malloc(nlog * sizeof(*p->det));
  if (p->det == NULL)
    mpisnap__fatal("out of memory collecting determinants");
  for (size_t i = 0; i < nlog; i++)
    p->det[i] = log_[i];
  p->ndet = nlog;
  nlog = 0;
}

void mpisnap__det_restore(const mpisnap__part *p) {
  replay_from = p;
  replay_pos = 0;
}

int mpisnap__det_replaying(void) {
  return replay_from != NULL && replay_pos < replay_from->ndet;
}

int mpisnap__det_replay(int kind, int *a, int *b, int *c) {
  const mpisnap__determinant *d;

  if (!mpisnap__det_replaying())
    return 0;
  d = &replay_from->det[replay_pos];
  if (d->kind != kind)
    mpisnap__fatal("restart diverged: the program made a different MPI "
                   "call (kind %d) where checkpoint %llu logged kind %d "
                   "(determinant %zu); is the program deterministic apart "
                   "from MPI?", kind, (unsigned long long)replay_from->id,
                   d->kind, replay_pos);
  replay_pos++;
  if (a)
    *a = d->a;
  if (b)
    *b = d->b;
  if (c)
    *c = d->c;
  return 1;
}
