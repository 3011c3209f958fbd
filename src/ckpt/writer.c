/* The writer thread: it writes each rank's part of a snapshot, and on
 * rank 0 also commits (the master file, its fsyncs, the rename and the
 * retention of old checkpoints), so none of that stalls the application.
 * It reads only the runtime's configuration (fixed before it starts) and
 * the fields under the runtime's mutex. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt/ckpt.h"
#include "common/clock.h"
#include "common/fsutil.h"

/* ---- commit ---- */

/* Independent mode: application collectives may straddle the cut; a
 * checkpoint whose ranks disagree on a communicator's collective count
 * would restart into mismatched collectives, so it is refused. */
static int check_collectives(const char *dir, char *err, size_t errlen) {
  mpisnap__collcount *first = NULL;
  size_t nfirst = 0;
  int rc = 0;

  if (mpisnap__c.conf.mode != MPISNAP_INDEPENDENT)
    return 0;
  for (int r = 0; r < mpisnap__c.conf.nranks && rc == 0; r++) {
    char path[2300], e[512];
    mpisnap__part p;
    mpisnap__rank_filename(path, sizeof(path), dir, r);
    if (mpisnap__part_read_collectives(path, &p, e, sizeof(e)) != 0) {
      snprintf(err, errlen, "%s", e);
      rc = -1;
      break;
    }
    if (r == 0) {
      first = p.coll;
      nfirst = p.ncoll;
      p.coll = NULL;
      p.ncoll = 0;
    } else {
      for (size_t i = 0; i < p.ncoll && rc == 0; i++)
        for (size_t j = 0; j < nfirst; j++)
          if (first[j].comm_key == p.coll[i].comm_key &&
              first[j].count != p.coll[i].count) {
            snprintf(err, errlen,
                     "ranks 0 and %d disagree on the number of collectives "
                     "called on a communicator before the cut (%llu vs "
                     "%llu): a collective straddles the checkpoint",
                     r, (unsigned long long)first[j].count,
                     (unsigned long long)p.coll[i].count);
            rc = -1;
            break;
          }
    }
    mpisnap__part_clear(&p);
  }
  free(first);
  return rc;
}

/* Rank 0's writer thread, once every part of snapshot sid is durable: the
 * master file, then the rename that makes the checkpoint exist, then the
 * retention of old ones.  Returns the id committed, or 0.  Touches only
 * what does not change after mpisnap_init and its arguments. */
static uint64_t commit(uint64_t sid, const uint64_t *sums, uint64_t stall_us,
                       uint64_t write_us) {
  mpisnap__ck *k = &mpisnap__c;
  uint64_t id = k->conf.id_base + sid;
  char part[2100], final[2100], err[512] = "";
  mpisnap__meta m;
  double t0 = mpisnap__now();
  time_t t = time(NULL);

  memset(&m, 0, sizeof(m));
  m.id = id;
  m.parent = k->conf.parent;
  m.nranks = mpisnap__c.conf.nranks;
  m.mode = (int32_t)k->conf.mode;
  m.exact = sums[S_EARLY] == 0;
  m.total_bytes = sums[S_BYTES];
  m.inflight_msgs = sums[S_MSGS];
  m.early_msgs = sums[S_EARLY];
  m.markers = sums[S_MARKERS];
  m.stall_seconds_max = 1e-6 * (double)stall_us;
  m.write_seconds_max = 1e-6 * (double)write_us;
  snprintf(m.program, sizeof(m.program), "%s", mpisnap__c.conf.program);
  snprintf(m.mpi, sizeof(m.mpi), "%s", mpisnap__c.conf.mpi);
  strftime(m.created, sizeof(m.created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  mpisnap__ckpt_dirname(part, sizeof(part), k->conf.dir, id, 1);
  mpisnap__ckpt_dirname(final, sizeof(final), k->conf.dir, id, 0);
  if (check_collectives(part, err, sizeof(err)) != 0) {
    fprintf(stderr, "mpisnap: checkpoint %llu not committed: %s\n",
            (unsigned long long)id, err);
    return 0;
  }
  m.commit_seconds = mpisnap__now() - t0;
  if (mpisnap__meta_write(part, &m, err, sizeof(err)) != 0 ||
      rename(part, final) != 0 || mpisnap__fsync_dir(k->conf.dir) != 0) {
    fprintf(stderr, "mpisnap: checkpoint %llu not committed: %s%s\n",
            (unsigned long long)id, err[0] ? err : "rename failed: ",
            err[0] ? "" : strerror(errno));
    return 0;
  }
  mpisnap__ck_retention();
  if (k->conf.verbose)
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
    t0 = mpisnap__now();
    job->write_seconds = 0;
    rc = mpisnap__part_write(path, job, err, sizeof(err));
    job->write_seconds = mpisnap__now() - t0;
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

