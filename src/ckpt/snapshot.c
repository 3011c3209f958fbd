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

mpisnap__ck mpisnap__c;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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
  t0 = now();
  mpisnap__part_clear(p);
  p->id = k->id_base + sid;
  p->parent = k->parent;
  p->rank = mpisnap__g.world_rank;
  p->nranks = mpisnap__g.world_size;
  p->mode = (int32_t)k->mode;
  p->point_index = k->points;
  snprintf(p->program, sizeof(p->program), "%s", mpisnap__g.program);
  if (k->nvars > 0 && (p->vars = calloc(k->nvars, sizeof(*p->vars))) == NULL)
    mpisnap__fatal("out of memory recording protected variables");
  if (k->nstage < k->nvars) {
    void **s = realloc(k->stage, k->nvars * sizeof(*s));
    size_t *c = realloc(k->stage_cap, k->nvars * sizeof(*c));
    if (s == NULL || c == NULL)
      mpisnap__fatal("out of memory recording protected variables");
    for (size_t i = k->nstage; i < k->nvars; i++) {
      s[i] = NULL;
      c[i] = 0;
    }
    k->stage = s;
    k->stage_cap = c;
    k->nstage = k->nvars;
  }
  p->nvars = k->nvars;
  for (size_t i = 0; i < k->nvars; i++) {
    mpisnap__pvar *v = &k->vars[i];
    mpisnap__var *o = &p->vars[i];
    size_t bytes = v->count * (size_t)v->tsize;
    if (bytes > k->stage_cap[i]) {
      free(k->stage[i]);
      k->stage[i] = malloc(bytes);
      if (k->stage[i] == NULL)
        mpisnap__fatal("out of memory staging %zu bytes of '%s'", bytes,
                       v->name);
      k->stage_cap[i] = bytes;
    }
    /* The record proper: one memcpy per protected variable.  Derived
     * datatypes are packed, which is their contiguous copy. */
    if (v->elem == MPISNAP__ELEM_BYTES && bytes > 0) {
      int pos = 0;
      PMPI_Pack(v->ptr, (int)v->count, v->type, k->stage[i], (int)bytes, &pos,
                MPI_COMM_SELF);
    } else if (bytes > 0) {
      memcpy(k->stage[i], v->ptr, bytes);
    }
    memcpy(o->name, v->name, sizeof(o->name));
    o->elem = v->elem;
    memcpy(o->type_sig, v->sig, sizeof(o->type_sig));
    o->count = v->count;
    o->bytes = bytes;
    o->data = k->stage[i];
  }
  mpisnap__ck_collectives(p);
  k->cur_sid = sid;
  k->want = 0;
  if (k->exiting && k->exit_sid == 0)
    k->exit_sid = sid;
  k->last_time = now();
  p->stall_seconds = k->last_time - t0;
  k->last_stall = p->stall_seconds;
}

/* ---- done: assemble and hand to the writer ---- */

static void make_partial_dir(uint64_t id, char *out, size_t len) {
  mpisnap__ckpt_dirname(out, len, mpisnap__c.dir, id, 1);
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
  mpisnap__ck_channels(job, sid);
  k->markers_at_record = mpisnap__engine_markers_sent(mpisnap__g.engine);
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

/* ---- commit ---- */

static int fsync_dir(const char *dir) {
  FILE *f = fopen(dir, "r");
  int rc;

  if (f == NULL)
    return -1;
  rc = fsync(fileno(f));
  fclose(f);
  return rc;
}

/* Rank 0's writer thread, once every part of snapshot sid is durable: the
 * master file, then the rename that makes the checkpoint exist, then the
 * retention of old ones.  Returns the id committed, or 0.  Touches only
 * what does not change after mpisnap_init and its arguments. */
static uint64_t commit(uint64_t sid, const uint64_t *sums, uint64_t stall_us,
                       uint64_t write_us) {
  mpisnap__ck *k = &mpisnap__c;
  uint64_t id = k->id_base + sid;
  char part[2100], final[2100], err[512] = "";
  mpisnap__meta m;
  double t0 = now();
  time_t t = time(NULL);

  memset(&m, 0, sizeof(m));
  m.id = id;
  m.parent = k->parent;
  m.nranks = mpisnap__g.world_size;
  m.mode = (int32_t)k->mode;
  m.exact = sums[S_EARLY] == 0;
  m.total_bytes = sums[S_BYTES];
  m.inflight_msgs = sums[S_MSGS];
  m.early_msgs = sums[S_EARLY];
  m.markers = sums[S_MARKERS];
  m.stall_seconds_max = 1e-6 * (double)stall_us;
  m.write_seconds_max = 1e-6 * (double)write_us;
  snprintf(m.program, sizeof(m.program), "%s", mpisnap__g.program);
  strftime(m.created, sizeof(m.created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  mpisnap__ckpt_dirname(part, sizeof(part), k->dir, id, 1);
  mpisnap__ckpt_dirname(final, sizeof(final), k->dir, id, 0);
  if (mpisnap__ck_check_collectives(part, err, sizeof(err)) != 0) {
    fprintf(stderr, "mpisnap: checkpoint %llu not committed: %s\n",
            (unsigned long long)id, err);
    return 0;
  }
  m.commit_seconds = now() - t0;
  if (mpisnap__meta_write(part, &m, err, sizeof(err)) != 0 ||
      rename(part, final) != 0 || fsync_dir(k->dir) != 0) {
    fprintf(stderr, "mpisnap: checkpoint %llu not committed: %s%s\n",
            (unsigned long long)id, err[0] ? err : "rename failed: ",
            err[0] ? "" : strerror(errno));
    return 0;
  }
  mpisnap__ck_retention();
  if (k->verbose)
    fprintf(stderr,
            "mpisnap: committed checkpoint %llu: %llu bytes, stall %.6f s, "
            "write %.3f s, %llu in-flight messages, %llu early, %llu markers\n",
            (unsigned long long)id, (unsigned long long)m.total_bytes,
            m.stall_seconds_max, m.write_seconds_max,
            (unsigned long long)m.inflight_msgs,
            (unsigned long long)m.early_msgs, (unsigned long long)m.markers);
  return id;
}

/* The writer thread, holding mu: the commit handed over. */
static void run_commit(void) {
  mpisnap__ck *k = &mpisnap__c;
  uint64_t sid = k->commit_sid, sums[S_NSUM], id;
  uint64_t stall_us = k->commit_stall_us, write_us = k->commit_write_us;

  memcpy(sums, k->commit_sums, sizeof(sums));
  pthread_mutex_unlock(&k->mu);
  id = commit(sid, sums, stall_us, write_us);
  pthread_mutex_lock(&k->mu);
  if (id != 0)
    k->commit_done_id = id;
  else
    k->commit_failed_sid = sid;
  k->commit_sid = 0;
  pthread_cond_broadcast(&k->cv);
}

/* ---- the writer thread ---- */

static void *writer_main(void *arg) {
  mpisnap__ck *k = &mpisnap__c;

  (void)arg;
  pthread_mutex_lock(&k->mu);
  for (;;) {
    mpisnap__part *job;
    char path[2200], err[512] = "";
    uint64_t sid;
    double t0;
    int rc;

    while (k->job == NULL && k->commit_sid == 0 && !k->stop)
      pthread_cond_wait(&k->cv, &k->mu);
    if (k->commit_sid != 0) {
      run_commit();
      continue;
    }
    if (k->job == NULL && k->stop)
      break;
    job = k->job;
    sid = k->job_sid;
    mpisnap__rank_filename(path, sizeof(path), k->job_dir, job->rank);
    pthread_mutex_unlock(&k->mu);
    t0 = now();
    job->write_seconds = 0;
    rc = mpisnap__part_write(path, job, err, sizeof(err));
    job->write_seconds = now() - t0;
    /* The staging buffers belong to the runtime, not to the part. */
    for (size_t i = 0; i < job->nvars; i++)
      job->vars[i].data = NULL;
    pthread_mutex_lock(&k->mu);
    if (rc == 0) {
      k->durable_sid = sid;
      k->write_seconds = job->write_seconds;
    } else {
      k->failed_sid = sid;
      snprintf(k->write_err, sizeof(k->write_err), "%s", err);
    }
    mpisnap__part_clear(job);
    free(job);
    k->job = NULL;
    pthread_cond_broadcast(&k->cv);
  }
  pthread_mutex_unlock(&k->mu);
  return NULL;
}

int mpisnap__ck_writer_start(void) {
  mpisnap__ck *k = &mpisnap__c;

  pthread_mutex_init(&k->mu, NULL);
  pthread_cond_init(&k->cv, NULL);
  if (pthread_create(&k->thread, NULL, writer_main, NULL) != 0)
    return MPISNAP_ENOMEM;
  k->thread_up = 1;
  return 0;
}

int mpisnap__ck_wait_writer(void) {
  mpisnap__ck *k = &mpisnap__c;

  if (!k->thread_up)
    return 0;
  pthread_mutex_lock(&k->mu);
  while (k->job != NULL || k->commit_sid != 0)
    pthread_cond_wait(&k->cv, &k->mu);
  pthread_mutex_unlock(&k->mu);
  return 0;
}

void mpisnap__ck_writer_stop(void) {
  mpisnap__ck *k = &mpisnap__c;

  if (!k->thread_up)
    return;
  pthread_mutex_lock(&k->mu);
  k->stop = 1;
  pthread_cond_broadcast(&k->cv);
  pthread_mutex_unlock(&k->mu);
  pthread_join(k->thread, NULL);
  k->thread_up = 0;
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
    if (mpisnap__g.world_rank == 0) {
      fprintf(stderr, "mpisnap: checkpoint %llu failed and was abandoned "
                      "(the program goes on)\n",
              (unsigned long long)(k->id_base + k->abandoned));
      mpisnap__ck_remove_partial(k->dir, k->id_base + k->abandoned);
    }
  }
  if (mpisnap__g.world_rank == 0 && taken > 0 &&
      k->id_base + taken > k->committed && taken > k->abandoned &&
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
      k->rout[R_COMMITTED] >= k->id_base + k->rout[R_EXIT_SID])
    k->should_exit = 1;
  /* Whether a new snapshot may start is decided from the round's values
   * only, so every rank decides the same. */
  k->round_can_start =
      k->round_taken == 0 || k->rout[R_COMMITTED] >= k->id_base + taken ||
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
            mpisnap__g.world_rank,
            (unsigned long long)(k->id_base + k->failed_sid), k->write_err);
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
