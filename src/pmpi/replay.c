/* Determinants: the MPI-level choices a rank makes between its record and
 * the end of its snapshot (which message a wildcard receive matched, what
 * Iprobe and the Test family answered, which request Waitany/Waitsome
 * returned).  They are logged in the checkpoint and, after a restart,
 * replayed in order before anything is decided afresh, so the restarted
 * rank re-sends exactly the messages it sent before: the condition for
 * suppressing early messages at their senders (brief section 3, rule 4). */
#include <stdlib.h>

#include "ckpt/ckpt.h"
#include "pmpi/replay.h"

static mpisnap__determinant *log_;
static size_t nlog, caplog;
static uint64_t log_sid;
static size_t replay_pos;

int mpisnap__det_logging(void) {
  return mpisnap__c.on &&
         mpisnap__engine_phase(mpisnap__g.engine) == MPISNAP__RECORDED;
}

long mpisnap__det_add(int kind, int a, int b, int c) {
  uint64_t sid = mpisnap__engine_sid(mpisnap__g.engine);

  if (!mpisnap__det_logging())
    return -1;
  if (sid != log_sid) {
    nlog = 0; /* a new snapshot: the last one's were taken at its end */
    log_sid = sid;
  }
  if (nlog == caplog) {
    size_t ncap = caplog ? caplog * 2 : 64;
    mpisnap__determinant *p = realloc(log_, ncap * sizeof(*p));
    if (p == NULL)
      mpisnap__fatal("out of memory logging a determinant");
    log_ = p;
    caplog = ncap;
  }
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

int mpisnap__det_replaying(void) {
  return mpisnap__c.on && mpisnap__c.parent != 0 &&
         replay_pos < mpisnap__c.restored.ndet;
}

int mpisnap__det_replay(int kind, int *a, int *b, int *c) {
  mpisnap__part *p = &mpisnap__c.restored;
  mpisnap__determinant *d;

  if (!mpisnap__c.on || mpisnap__c.parent == 0 || replay_pos >= p->ndet)
    return 0;
  d = &p->det[replay_pos];
  if (d->kind != kind)
    mpisnap__fatal("restart diverged: the program made a different MPI "
                   "call (kind %d) where checkpoint %llu logged kind %d "
                   "(determinant %zu); is the program deterministic apart "
                   "from MPI?", kind, (unsigned long long)p->id, d->kind,
                   replay_pos);
  replay_pos++;
  if (a)
    *a = d->a;
  if (b)
    *b = d->b;
  if (c)
    *c = d->c;
  return 1;
}
