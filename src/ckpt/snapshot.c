/* Taking a checkpoint: record (a memcpy into staging buffers), assemble
 * the rank's part when the snapshot is done, write it from a background
 * thread, and commit it once every rank's part is durable.  Commit and
 * collective-mode agreement travel in "control rounds": one small
 * nonblocking allreduce started at a safe point and completed at a later
 * one, so no rank waits for another at a safe point. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "common/clock.h"

mpisnap__ck mpisnap__c;

/* ---- record ---- */

void mpisnap__ck_record(uint64_t sid) {
  mpisnap__ck *k = &mpisnap__c;
  mpisnap__part *p = &k->cur;
  double t0;

  if (!k->on)
    return;
  /* The staging buffers are still being written out: the one case where
   * a record waits (brief section 7). */
  mpisnap__ck_wait_writer();
  t0 = mpisnap__now();
  mpisnap__part_clear(p);
  p->id = k->conf.id_base + sid;
  p->parent = k->conf.parent;
  p->rank = mpisnap__c.conf.rank;
  p->nranks = mpisnap__c.conf.nranks;
  p->mode = (int32_t)k->conf.mode;
  p->point_index = k->points;
  snprintf(p->program, sizeof(p->program), "%s", mpisnap__c.conf.program);
  if (k->nvars > 0 && (p->vars = calloc(k->nvars, sizeof(*p->vars))) == NULL)
    mpisnap__fatal("out of memory recording protected variables");
  if (k->nstage < k->nvars) {
    if (mpisnap__grow((void **)&k->stage, &k->stage_alloc, k->nvars,
                      sizeof(*k->stage)) != 0)
      mpisnap__fatal("out of memory recording protected variables");
    memset(&k->stage[k->nstage], 0,
           (k->nvars - k->nstage) * sizeof(*k->stage));
    k->nstage = k->nvars;
  }
  p->nvars = k->nvars;
  for (size_t i = 0; i < k->nvars; i++) {
    mpisnap__pvar *v = &k->vars[i];
    mpisnap__var *o = &p->vars[i];
    size_t bytes = v->count * (size_t)v->tsize;
    struct mpisnap__stage *st = &k->stage[i];
    if (bytes > st->cap) {
      free(st->buf);
      st->buf = malloc(bytes);
      if (st->buf == NULL)
        mpisnap__fatal("out of memory staging %zu bytes of '%s'", bytes,
                       v->name);
      st->cap = bytes;
    }
    /* The record proper: one memcpy per protected variable.  Derived
     * datatypes are packed, which is their contiguous copy. */
    if (v->elem == MPISNAP__ELEM_BYTES && bytes > 0) {
      int pos = 0;
      PMPI_Pack(v->ptr, (int)v->count, v->type, st->buf, (int)bytes, &pos,
                MPI_COMM_SELF);
    } else if (bytes > 0) {
      memcpy(st->buf, v->ptr, bytes);
    }
    memcpy(o->name, v->name, sizeof(o->name));
    o->elem = v->elem;
    memcpy(o->type_sig, v->sig, sizeof(o->type_sig));
    o->count = v->count;
    o->bytes = bytes;
    o->data = st->buf;
  }
  mpisnap__layer_collect_collectives(p);
  k->cur_sid = sid;
  k->want = 0;
  if (k->exiting && k->exit_sid == 0)
    k->exit_sid = sid;
  k->last_time = mpisnap__now();
  p->stall_seconds = k->last_time - t0;
  k->last_stall = p->stall_seconds;
}

/* ---- done: assemble and hand to the writer ---- */

static void make_partial_dir(uint64_t id, char *out, size_t len) {
  mpisnap__ckpt_dirname(out, len, mpisnap__c.conf.dir, id, 1);
  if (mkdir(out, 0755) != 0 && errno != EEXIST)
    mpisnap__fatal("cannot create checkpoint directory %s: %s", out,
                   strerror(errno));
}

void mpisnap__ck_done(uint64_t sid) {
  mpisnap__ck *k = &mpisnap__c;
  mpisnap__part *job;

  if (!k->on || sid != k->cur_sid)
    return;
  job = malloc(sizeof(*job));
  if (job == NULL)
    mpisnap__fatal("out of memory assembling a checkpoint");
  *job = k->cur;
  memset(&k->cur, 0, sizeof(k->cur));
  mpisnap__layer_collect(sid, job);
  k->markers_at_record = mpisnap__engine_markers_sent(mpisnap__c.engine);
  /* Statistics first: once handed over, the job belongs to the writer,
   * which frees it when done. */
  k->sin[S_BYTES] = 0;
  for (size_t i = 0; i < job->nvars; i++)
    k->sin[S_BYTES] += job->vars[i].bytes;
  k->sin[S_MSGS] = job->nmsgs;
  k->sin[S_EARLY] = job->nearly;
  k->sin[S_MARKERS] = k->markers_at_record;
  k->done_sid = sid;
  k->taken_sid = sid;
  pthread_mutex_lock(&k->mu);
  make_partial_dir(job->id, k->job_dir, sizeof(k->job_dir));
  k->job = job;
  k->job_sid = sid;
  pthread_cond_signal(&k->cv);
  pthread_mutex_unlock(&k->mu);
}

/* ---- control rounds ---- */

void mpisnap__ck_round_process(void) {
  mpisnap__ck *k = &mpisnap__c;
  uint64_t min_durable = UINT64_MAX - k->rout[R_NOT_DURABLE];
  uint64_t taken = k->round_taken; /* as it was when the round started */

  if (k->rout[R_COMMITTED] > k->committed)
    k->committed = k->rout[R_COMMITTED];
  if (k->rout[R_FAILED] > k->abandoned) {
    k->abandoned = k->rout[R_FAILED];
    if (mpisnap__c.conf.rank == 0) {
      fprintf(stderr, "mpisnap: checkpoint %llu failed and was abandoned "
                      "(the program goes on)\n",
              (unsigned long long)(k->conf.id_base + k->abandoned));
      mpisnap__ck_remove_partial(k->conf.dir, k->conf.id_base + k->abandoned);
    }
  }
  if (mpisnap__c.conf.rank == 0 && taken > 0 &&
      k->conf.id_base + taken > k->committed && taken > k->abandoned &&
      taken > k->abandon_local && taken > k->commit_queued &&
      min_durable >= taken) {
    pthread_mutex_lock(&k->mu);
    k->commit_sid = taken;
    memcpy(k->commit_sums, k->sout, sizeof(k->commit_sums));
    k->commit_stall_us = k->rout[R_STALL_US];
    k->commit_write_us = k->rout[R_WRITE_US];
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    k->commit_queued = taken;
  }
  k->round_want = k->rout[R_WANT] != 0;
  k->round_exit = k->rout[R_EXIT] != 0;
  if (k->round_exit && !k->exiting) {
    /* Some rank must stop: every rank takes part in one more checkpoint
     * and leaves once it has committed. */
    k->exiting = 1;
    k->want = 1;
    k->round_want = 1;
  }
  /* Every rank has recorded a snapshot since it knew of the exit, and the
   * newest of those has committed: every rank learns it in this round. */
  if (k->round_exit && k->rout[R_NO_EXIT_SID] == 0 &&
      k->rout[R_COMMITTED] >= k->conf.id_base + k->rout[R_EXIT_SID])
    k->should_exit = 1;
  /* Whether a new snapshot may start is decided from the round's values
   * only, so every rank decides the same. */
  k->round_can_start =
      k->round_taken == 0 || k->rout[R_COMMITTED] >= k->conf.id_base + taken ||
      k->rout[R_FAILED] >= taken;
}

/* Complete the round in flight; 1 if it completed (and was processed). */
int mpisnap__ck_round_finish(int blocking) {
  mpisnap__ck *k = &mpisnap__c;
  int done = 0;

  if (!k->round_active)
    return 0;
  if (blocking)
    PMPI_Waitall(2, k->round_req, MPI_STATUSES_IGNORE);
  else
    PMPI_Testall(2, k->round_req, &done, MPI_STATUSES_IGNORE);
  if (!blocking && !done)
    return 0;
  k->round_active = 0;
  mpisnap__ck_round_process();
  return 1;
}

void mpisnap__ck_round_start(void) {
  mpisnap__ck *k = &mpisnap__c;

  pthread_mutex_lock(&k->mu);
  if (k->commit_done_id > k->committed)
    k->committed = k->commit_done_id;
  if (k->commit_failed_sid > k->abandon_local)
    k->abandon_local = k->commit_failed_sid;
  k->rin[R_NOT_DURABLE] = UINT64_MAX - k->durable_sid;
  k->rin[R_FAILED] = k->failed_sid > k->abandon_local ? k->failed_sid
                                                      : k->abandon_local;
  if (k->failed_sid && k->write_err[0]) {
    fprintf(stderr, "mpisnap: rank %d: writing checkpoint %llu failed: %s\n",
            mpisnap__c.conf.rank,
            (unsigned long long)(k->conf.id_base + k->failed_sid), k->write_err);
    k->write_err[0] = '\0';
  }
  pthread_mutex_unlock(&k->mu);
  k->rin[R_WANT] = (uint64_t)k->want;
  k->rin[R_EXIT] = (uint64_t)k->exit_requested;
  k->rin[R_COMMITTED] = k->committed;
  k->rin[R_STALL_US] = (uint64_t)(k->last_stall * 1e6);
  k->rin[R_WRITE_US] = (uint64_t)(k->write_seconds * 1e6);
  k->rin[R_EXIT_SID] = k->exit_sid;
  k->rin[R_NO_EXIT_SID] = k->exit_sid == 0;
  /* Sampled after this safe point's record, if any: the next safe point
   * may switch the collectives to MPI's own only if every rank was quiet
   * here (nothing can make a quiet rank busy again before a record). */
  k->rin[R_UNQUIET] = !mpisnap__layer_quiet();
  /* Its maximum and minimum (by MAX of the complement) must agree: safe
   * points sit at the same place relative to the world's collectives. */
  k->rin[R_WCOLL] = mpisnap__layer_world_collectives();
  k->rin[R_WCOLL_NEG] = UINT64_MAX - k->rin[R_WCOLL];
  /* The spacing of round points: the smallest any rank proposes. */
  k->rin[R_SPACING_NEG] = UINT64_MAX - (k->spacing_want ? k->spacing_want : 1);
  memcpy(k->round_sin, k->sin, sizeof(k->sin));
  k->round_taken = k->taken_sid;
  PMPI_Iallreduce(k->rin, k->rout, R_NMAX, MPI_UINT64_T, MPI_MAX, k->ctl,
                  &k->round_req[0]);
  PMPI_Ireduce(k->round_sin, k->sout, S_NSUM, MPI_UINT64_T, MPI_SUM, 0, k->ctl,
               &k->round_req[1]);
  k->round_active = 1;
  k->rounds++;
}

/* At a safe point: finish the round in flight if it is done (or wait for
 * it), and start the next one. */
void mpisnap__ck_round(int blocking) {
  mpisnap__ck *k = &mpisnap__c;

  if (k->round_active && !mpisnap__ck_round_finish(blocking))
    return;
  mpisnap__ck_round_start();
}
