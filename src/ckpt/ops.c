/* Operating a job: checkpoint on a signal, checkpoint and exit on a
 * signal or before the wall-clock limit, and retention of old
 * checkpoints.  Signal handlers only set flags; everything else happens at
 * safe points. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ckpt/ckpt.h"

static volatile sig_atomic_t sig_ckpt, sig_exit;

static void on_ckpt(int sig) {
  (void)sig;
  sig_ckpt = 1;
}

static void on_exit_sig(int sig) {
  (void)sig;
  sig_exit = 1;
}

/* "USR1", "SIGUSR1" or a number. */
static int parse_signal(const char *v) {
  static const struct {
    const char *name;
    int sig;
  } names[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM},
               {"INT", SIGINT},   {"HUP", SIGHUP},   {"QUIT", SIGQUIT},
               {"ALRM", SIGALRM}, {"CONT", SIGCONT}};
  char *end;
  long n;

  if (strncasecmp(v, "SIG", 3) == 0)
    v += 3;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcasecmp(v, names[i].name) == 0)
      return names[i].sig;
  n = strtol(v, &end, 10);
  if (*v != '\0' && *end == '\0' && n > 0 && n < 64 && n != SIGKILL &&
      n != SIGSTOP)
    return (int)n;
  return -1;
}

static int install(const char *var, void (*fn)(int)) {
  const char *v = getenv(var);
  struct sigaction sa;
  int sig;

  if (v == NULL || *v == '\0')
    return 0;
  if ((sig = parse_signal(v)) < 0) {
    if (mpisnap__c.conf.rank == 0)
      fprintf(stderr, "mpisnap: error: %s='%s' is not a signal name (USR1, "
                      "USR2, TERM, ...) or number\n", var, v);
    return MPISNAP_ECONFIG;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(sig, &sa, NULL) != 0)
    return MPISNAP_EINVAL;
  return 0;
}

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* MPISNAP_WALLTIME (seconds from start) or, under Slurm, the job's end
 * time; MPISNAP_WALLTIME_MARGIN seconds before it (default 10% of the
 * limit, at most 300 s) the job checkpoints and exits. */
static int setup_walltime(void) {
  mpisnap__ck *k = &mpisnap__c;
  const char *end_env = getenv("SLURM_JOB_END_TIME");
  double limit = 0, margin = -1;
  int rc;

  if ((rc = mpisnap__ck_env("MPISNAP_WALLTIME", MPISNAP__ENV_SECONDS, 1e-3,
                            1e12, "a positive number of seconds", &limit)) ||
      (rc = mpisnap__ck_env("MPISNAP_WALLTIME_MARGIN", MPISNAP__ENV_SECONDS, 0,
                            1e12, "a non-negative number of seconds",
                            &margin)))
    return rc;
  if (limit > 0) {
    k->deadline = wall() + limit;
  } else if (end_env != NULL && *end_env != '\0') {
    /* Slurm's own variable: used when it makes sense, never an error. */
    char *end;
    double t = strtod(end_env, &end);
    if (*end == '\0' && t > wall()) {
      k->deadline = t;
      limit = t - wall();
    }
  }
  if (k->deadline > 0)
    k->deadline -= margin >= 0 ? margin : (limit * 0.1 < 300 ? limit * 0.1 : 300);
  return 0;
}

static int setup_keep(void) {
  double keep = 3;
  int rc = mpisnap__ck_env("MPISNAP_KEEP", MPISNAP__ENV_INTEGER, 0, 1e6,
                           "a non-negative integer (0 keeps every checkpoint)",
                           &keep);

  mpisnap__c.conf.keep = (int)keep;
  return rc;
}

int mpisnap__ck_ops_setup(void) {
  int rc;

  if ((rc = install("MPISNAP_SIGNAL", on_ckpt)) != 0 ||
      (rc = install("MPISNAP_EXIT_SIGNAL", on_exit_sig)) != 0 ||
      (rc = setup_walltime()) != 0 || (rc = setup_keep()) != 0)
    return rc;
  return 0;
}

/* At a safe point: turn signals and the clock into requests. */
void mpisnap__ck_ops_poll(void) {
  mpisnap__ck *k = &mpisnap__c;

  if (sig_ckpt) {
    sig_ckpt = 0;
    k->want = 1;
  }
  if (sig_exit || (k->deadline > 0 && wall() >= k->deadline)) {
    if (!k->exit_requested && k->conf.verbose)
      fprintf(stderr, "mpisnap: rank %d: %s: checkpoint and exit\n",
              mpisnap__c.conf.rank,
              sig_exit ? "exit signal" : "wall-clock limit near");
    sig_exit = 0;
    k->deadline = 0;
    k->exit_requested = 1;
    k->exiting = 1;
    k->want = 1;
  }
}

/* ---- retention ---- */

/* Remove one committed checkpoint: first renamed out of the committed
 * namespace, so a crash half-way never leaves a half checkpoint that looks
 * committed. */
int mpisnap__ck_remove(const char *dir, uint64_t id) {
  /* The format's remover, shared with mpisnap prune, also makes the
   * rename durable before it deletes anything; errno says why it failed. */
  return mpisnap__ckpt_remove(dir, id, MPISNAP__CKPT_COMMITTED, NULL, 0) == 0
             ? 0
             : MPISNAP_EIO;
}

/* Remove an abandoned checkpoint's partial directory. */
void mpisnap__ck_remove_partial(const char *dir, uint64_t id) {
  /* Best effort: a partial left behind is never restarted from, and
   * mpisnap prune --partial removes it. */
  (void)mpisnap__ckpt_remove(dir, id, MPISNAP__CKPT_PARTIAL, NULL, 0);
}

/* Rank 0, after a commit: keep the newest MPISNAP_KEEP checkpoints, and
 * always the one this run restarted from. */
void mpisnap__ck_retention(void) {
  mpisnap__ck *k = &mpisnap__c;
  uint64_t *ids = NULL;
  int n;

  if (k->conf.keep == 0)
    return;
  n = mpisnap__list_committed(k->conf.dir, &ids);
  for (int i = 0; i < n - k->conf.keep; i++) {
    if (ids[i] == k->conf.parent)
      continue;
    if (mpisnap__ck_remove(k->conf.dir, ids[i]) != 0)
      fprintf(stderr, "mpisnap: could not remove old checkpoint %llu: %s\n",
              (unsigned long long)ids[i], strerror(errno));
    else if (k->conf.verbose)
      fprintf(stderr, "mpisnap: removed old checkpoint %llu (MPISNAP_KEEP=%d)\n",
              (unsigned long long)ids[i], k->conf.keep);
  }
  free(ids);
}

/* A rank blocked in MPI for a while (independent mode): keep the control
 * rounds going, and if a checkpoint-and-exit has committed, stop here: the
 * message this rank waits for may never come, because its sender has
 * already stopped. */
void mpisnap__ck_idle(void) {
  mpisnap__ck *k = &mpisnap__c;
  static int inside;

  if (!k->on || k->finalized || k->finishing ||
      k->conf.mode != MPISNAP_INDEPENDENT || inside)
    return;
  inside = 1;
  mpisnap__ck_ops_poll();
  mpisnap__ck_round(0);
  inside = 0;
  if (k->should_exit) {
    if (k->conf.verbose)
      fprintf(stderr, "mpisnap: rank %d: checkpoint committed; stopping the "
                      "program as requested\n", mpisnap__c.conf.rank);
    MPI_Finalize();
  }
}
