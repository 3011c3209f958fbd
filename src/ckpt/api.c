/* The public API (include/mpisnap.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "common/clock.h"
#include "mpisnap.h"

/* ---- configuration ---- */

/* A number from the environment (common/env.h): rank 0 names a bad one,
 * and mpisnap_init fails with MPISNAP_ECONFIG.  Returns 0 or that code. */
int mpisnap__ck_env(const char *name, enum mpisnap__env_kind kind, double min,
                    double max, const char *want, double *out) {
  char err[512];

  if (mpisnap__env_number(name, kind, min, max, want, out, err,
                          sizeof(err)) >= 0)
    return 0;
  if (mpisnap__c.conf.rank == 0)
    fprintf(stderr, "mpisnap: error: %s\n", err);
  return MPISNAP_ECONFIG;
}

/* The checkpoint directory must exist (the default one is created) and be
 * writable; rank 0 checks and every rank learns the verdict. */
static int setup_dir(void) {
  mpisnap__ck *k = &mpisnap__c;
  const char *v = getenv("MPISNAP_DIR");
  int rc = 0;

  snprintf(k->conf.dir, sizeof(k->conf.dir), "%s",
           v && *v ? v : "./mpisnap-checkpoints");
  if (mpisnap__c.conf.rank == 0) {
    struct stat st;
    if (stat(k->conf.dir, &st) != 0 && !(v && *v) && mkdir(k->conf.dir, 0755) == 0)
      stat(k->conf.dir, &st);
    if (stat(k->conf.dir, &st) != 0) {
      fprintf(stderr, "mpisnap: error: MPISNAP_DIR='%s' does not exist\n",
              k->conf.dir);
      rc = MPISNAP_ECONFIG;
    } else if (!S_ISDIR(st.st_mode)) {
      fprintf(stderr, "mpisnap: error: MPISNAP_DIR='%s' is not a directory\n",
              k->conf.dir);
      rc = MPISNAP_ECONFIG;
    } else if (access(k->conf.dir, W_OK | X_OK) != 0) {
      fprintf(stderr, "mpisnap: error: MPISNAP_DIR='%s' is not writable: %s\n",
              k->conf.dir, strerror(errno));
      rc = MPISNAP_ECONFIG;
    }
  }
  PMPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return rc;
}

static int configure(void) {
  mpisnap__ck *k = &mpisnap__c;
  double every = 0;
  int rc;

  k->interval = 0;
  if ((rc = mpisnap__ck_env("MPISNAP_INTERVAL", MPISNAP__ENV_SECONDS, 0, 9e15,
                            "a non-negative number of seconds",
                            &k->interval)) != 0 ||
      (rc = mpisnap__ck_env("MPISNAP_EVERY", MPISNAP__ENV_INTEGER, 0, 9e15,
                            "a non-negative integer", &every)) != 0)
    return rc;
  k->every = (uint64_t)every;
  k->sync_interval = 0.01;
  if ((rc = mpisnap__ck_env("MPISNAP_SYNC_INTERVAL", MPISNAP__ENV_SECONDS, 0,
                            3600, "a number of seconds from 0 to 3600",
                            &k->sync_interval)) != 0)
    return rc;
  if ((rc = mpisnap__ck_ops_setup()) != 0)
    return rc;
  return setup_dir();
}

/* Collective mode places round points by MPISNAP_EVERY (below), so every
 * rank must count the same: a difference would misplace the rounds. */
static int agree_every(void) {
  mpisnap__ck *k = &mpisnap__c;
  uint64_t in[2] = {k->every, UINT64_MAX - k->every}, out[2];

  PMPI_Allreduce(in, out, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  if (out[0] == UINT64_MAX - out[1])
    return 0;
  if (k->conf.rank == 0)
    fprintf(stderr, "mpisnap: error: MPISNAP_EVERY differs between ranks "
                    "(%llu to %llu); give every rank the same value\n",
            (unsigned long long)(UINT64_MAX - out[1]),
            (unsigned long long)out[0]);
  return MPISNAP_ECONFIG;
}

/* ---- init and finalize ---- */

/* MPI_Finalize without mpisnap_finalize: finish here. */
static void on_mpi_finalize(void) { mpisnap_finalize(); }

static const mpisnap__hooks hooks = {mpisnap__ck_record, mpisnap__ck_done,
                                     mpisnap__ck_idle, on_mpi_finalize};

MPISNAP_EXTERN int mpisnap_init(MPI_Comm comm, unsigned flags) {
  mpisnap__ck *k = &mpisnap__c;
  const mpisnap__layer_info *li = mpisnap__layer_info_get();
  const char *restart = getenv("MPISNAP_RESTART");
  int rc, all = 0;
  char why[512];

  /* Traffic that bypasses the layer would make every checkpoint wrong
   * without a word: refuse to start (every rank runs the same check). */
  if (mpisnap__layer_fortran_check(why, sizeof(why)) != 0) {
    int up = 0, me = 0;
    PMPI_Initialized(&up);
    if (up)
      PMPI_Comm_rank(MPI_COMM_WORLD, &me);
    if (me == 0)
      fprintf(stderr, "mpisnap: error: %s\n", why);
    return MPISNAP_ENOTSUP;
  }
  if (li == NULL)
    return MPISNAP_ESTATE; /* before MPI_Init, or after MPI_Finalize */
  if (k->on || k->finalized)
    return MPISNAP_ESTATE;
  if (comm != MPI_COMM_WORLD || flags > MPISNAP_INDEPENDENT)
    return MPISNAP_EINVAL;
  k->conf.rank = li->world_rank;
  k->conf.nranks = li->world_size;
  snprintf(k->conf.program, sizeof(k->conf.program), "%s", li->program);
  mpisnap__ck_mpi_init();
  k->conf.verbose = li->verbose > 0;
  k->conf.mode = flags;
  k->engine = mpisnap__layer_engine();
  rc = configure();
  /* Every rank must agree before anything collective happens. */
  PMPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (all < 0)
    return rc < 0 ? rc : all;
  if ((rc = agree_every()) != 0)
    return rc;
  /* From here the runtime may begin snapshots (even if a later step fails
   * on some rank, all ranks switch here alike).  Collective mode begins
   * them only at safe points, all ranks alike, so the blocking collectives
   * stay MPI's own until one records; independent mode begins them at any
   * rank's safe point, and a restart may start with channel state to
   * re-deliver: then the nonblocking detour (docs/DESIGN.md, "Blocking
   * collectives"). */
  mpisnap__layer_coll_regime(flags == MPISNAP_COLLECTIVE &&
                             (restart == NULL || *restart == '\0'));
  mpisnap__engine_set_policy(k->engine, flags == MPISNAP_INDEPENDENT
                                            ? MPISNAP__RECORD_SAFEPOINT
                                            : MPISNAP__RECORD_EXPLICIT);
  /* Ids are never reused in a directory: continue after the largest. */
  if (k->conf.rank == 0)
    k->conf.id_base = mpisnap__max_id(k->conf.dir);
  PMPI_Bcast(&k->conf.id_base, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  /* HDF5 makes MPI calls when first used: that must happen here, on the
   * application's thread, not later in the writer thread. */
  if ((rc = mpisnap__part_io_init()) != 0)
    return rc;
  /* A restart settles conf.parent, so it comes before the writer thread,
   * which reads conf without the lock. */
  if (restart != NULL && *restart != '\0') {
    int worst = 0;
    rc = mpisnap__ck_restart_setup(restart);
    /* The ranks leave together: rank 0 reports what is wrong, and a rank
     * that returned at once could otherwise make the program abort the
     * job before that message is out (faults.nranks lost it once). */
    PMPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (worst != 0)
      return rc != 0 ? rc : worst;
  }
  if (PMPI_Comm_dup(MPI_COMM_WORLD, &k->ctl) != MPI_SUCCESS)
    return MPISNAP_EMPI;
  if ((rc = mpisnap__ck_writer_start()) != 0) {
    PMPI_Comm_free(&k->ctl);
    return rc;
  }
  k->on = 1;
  k->last_time = mpisnap__now();
  /* The first safe point is a round point, and so is every one until the
   * rounds have measured how long safe points take. */
  k->spacing = 1;
  k->spacing_want = 1;
  k->round_point = k->points + 1;
  k->round_prev = k->points;
  k->round_time = k->last_time;
  mpisnap__layer_register(&hooks);
  return 0;
}

/* A rank with no snapshot in progress or unwritten may start one. */
static int may_start(void) {
  mpisnap__ck *k = &mpisnap__c;
  enum mpisnap__phase ph = mpisnap__engine_phase(mpisnap__c.engine);

  return (ph == MPISNAP__IDLE || ph == MPISNAP__DONE) &&
         (k->taken_sid == 0 || k->committed >= k->conf.id_base + k->taken_sid ||
          k->abandoned >= k->taken_sid);
}

MPISNAP_EXTERN int mpisnap_finalize(void) {
  mpisnap__ck *k = &mpisnap__c;
  uint64_t rounds = 0;

  if (!k->on)
    return k->finalized ? 0 : MPISNAP_ESTATE;
  if (k->conf.verbose && k->conf.rank == 0)
    fprintf(stderr, "mpisnap: %llu control rounds at %llu safe points "
                    "(%s mode%s)\n",
            (unsigned long long)k->rounds, (unsigned long long)k->points,
            k->conf.mode == MPISNAP_COLLECTIVE ? "collective" : "independent",
            k->conf.mode == MPISNAP_COLLECTIVE && k->sync_interval > 0
                ? ", spaced by MPISNAP_SYNC_INTERVAL"
                : "");
  /* Control rounds are matched by count: catch up with the rank that ran
   * the most before running the final ones in lock step.  From here no
   * wait in the layer may start a round of its own (ck_idle): one that
   * did on some ranks only (a wait long enough on them) left the others
   * waiting for ever in the last rounds. */
  k->finishing = 1;
  PMPI_Allreduce(&k->rounds, &rounds, 1, MPI_UINT64_T, MPI_MAX,
                 mpisnap__layer_info_get()->control);
  while (k->rounds < rounds) {
    mpisnap__ck_round_finish(1);
    mpisnap__ck_round_start();
  }
  mpisnap__ck_round_finish(1);
  /* Finish any snapshot in progress (this is a safe point for a rank that
   * learned of it from a marker), then let its writes commit. */
  mpisnap__layer_finish_snapshots(1);
  mpisnap__ck_wait_writer();
  for (int i = 0; i < 16; i++) {
    /* Rank 0's writer thread may be committing what the last round
     * decided: the next round must carry its outcome. */
    mpisnap__ck_wait_writer();
    mpisnap__ck_round_start();
    mpisnap__ck_round_finish(1);
    if (k->round_taken == 0 ||
        k->rout[R_COMMITTED] >= k->conf.id_base + k->round_taken ||
        k->rout[R_FAILED] >= k->round_taken)
      break;
  }
  mpisnap__ck_writer_stop();
  PMPI_Comm_free(&k->ctl);
  k->on = 0;
  k->finalized = 1;
  /* Checkpointed on request: the exit status tells a job script to
   * resubmit with MPISNAP_RESTART=auto. */
  if (k->should_exit)
    mpisnap__layer_exit_status(MPISNAP_EXIT_CHECKPOINTED);
  mpisnap__layer_register(NULL);
  return 0;
}

/* ---- restart ---- */

MPISNAP_EXTERN int mpisnap_restarting(void) {
  return mpisnap__c.on ? (int)mpisnap__c.conf.parent : 0;
}

/* ---- safe points and requests ---- */

/* Round points.  A control round at every safe point costs a global
 * synchronisation per iteration, which a code that only talks to its
 * neighbours never pays otherwise (heat2d on 4 ranks sharing 2 cores:
 * up to 1.18x).  So collective mode runs the round only at round points,
 * as FTI spaces its own agreement by the measured iteration time: each
 * round point proposes a spacing that puts about MPISNAP_SYNC_INTERVAL
 * seconds between rounds (at most twice the current one, at most
 * MAX_SPACING), the round takes the smallest proposal, and the next round
 * point follows from that and from MPISNAP_EVERY alone, values every rank
 * has alike (docs/DESIGN.md, "Round points").  A request is acted on
 * within three round points; MPISNAP_EVERY's checkpoints land where they
 * would with a round at every safe point: the safe points N, N+1 and N+2
 * of each multiple N of it are round points. */
enum { MAX_SPACING = 64 };

static void next_round_point(mpisnap__ck *k) {
  double t = mpisnap__now(), per;
  uint64_t q = k->points, want = 1, next;

  /* This rank's proposal, for the round that starts here. */
  if (q > k->round_prev && k->sync_interval > 0) {
    per = (t - k->round_time) / (double)(q - k->round_prev);
    if (per <= 0)
      want = MAX_SPACING;
    else if (k->sync_interval / per < MAX_SPACING)
      want = (uint64_t)(k->sync_interval / per);
    else
      want = MAX_SPACING;
    if (want > 2 * k->spacing)
      want = 2 * k->spacing;
    if (want < 1)
      want = 1;
  }
  k->spacing_want = want;
  k->round_time = t;
  k->round_prev = q;
  /* The next round point, from the spacing the last round agreed. */
  next = q + (k->spacing ? k->spacing : 1);
  if (k->every)
    for (uint64_t m = q + 1; m < next; m++)
      if (m % k->every <= 2) {
        next = m;
        break;
      }
  k->round_point = next;
}

MPISNAP_EXTERN int mpisnap_point(void) {
  mpisnap__ck *k = &mpisnap__c;
  mpisnap__engine *e = mpisnap__c.engine;
  int recorded = 0;

  if (!k->on)
    return MPISNAP_ESTATE;
  k->points++;
  mpisnap__layer_progress();
  mpisnap__ck_ops_poll();
  if (k->should_exit && !k->checked_exit) {
    /* The program does not look at mpisnap_should_exit(): its checkpoint
     * has committed, so the library ends it cleanly (exit status
     * MPISNAP_EXIT_CHECKPOINTED, see MPI_Finalize). */
    if (k->conf.verbose && mpisnap__c.conf.rank == 0)
      fprintf(stderr, "mpisnap: checkpoint %llu committed; stopping the "
                      "program as requested\n",
              (unsigned long long)k->committed);
    MPI_Finalize();
  }
  if ((k->every && k->points % k->every == 0) ||
      (k->interval > 0 && mpisnap__now() - k->last_time >= k->interval))
    k->want = 1;
  if (k->conf.mode == MPISNAP_COLLECTIVE) {
    int start, finished;

    /* Between round points a safe point does nothing more: no record, no
     * round, the regime unchanged. */
    if (k->points < k->round_point)
      return 0;
    /* The round started at the previous round point decides, identically
     * on every rank, whether the NEXT round point records: one round
     * point ahead, so that while any rank is between two round points
     * that do not record, no rank can record (a rank runs at most one
     * round point ahead of the slowest, whose round it needs).  That is
     * what lets the calls in between go straight to MPI (regime.c). */
    start = k->record_next;
    finished = mpisnap__ck_round_finish(1);
    k->record_next = 0;
    if (start) {
      uint64_t sid = 0;
      mpisnap__engine_initiate(e, &sid);
      recorded = mpisnap__engine_record(e) == 0;
      k->coll_sid = sid;
    }
    if (finished) {
      /* Decided from values every rank has alike at this safe point: the
       * round's result and the snapshot the ranks last started together
       * (when each rank finished it differs, so that cannot count). */
      int free_to_start =
          !start && (k->coll_sid == 0 ||
                     k->rout[R_COMMITTED] >= k->conf.id_base + k->coll_sid ||
                     k->rout[R_FAILED] >= k->coll_sid);
      k->record_next = k->round_want && free_to_start;
      if (k->rout[R_WCOLL] != UINT64_MAX - k->rout[R_WCOLL_NEG])
        /* Then one collective can fall before a safe point on one rank
         * and after it on another, and the regimes can differ across it;
         * a checkpoint taken there could not restart either. */
        mpisnap__fatal("collective mode: the ranks reached a safe point "
                       "after different numbers of blocking collectives on "
                       "MPI_COMM_WORLD (%llu to %llu); mpisnap_point() must "
                       "be called at the same place on every rank (or use "
                       "MPISNAP_INDEPENDENT)",
                       (unsigned long long)(UINT64_MAX -
                                            k->rout[R_WCOLL_NEG]),
                       (unsigned long long)k->rout[R_WCOLL]);
      /* MPI's own calls until the next safe point only if no rank records
       * here or there and every rank was quiet at the last one
       * (docs/DESIGN.md, "The direct regime"). */
      mpisnap__layer_coll_regime(!start && !k->record_next &&
                                 k->rout[R_UNQUIET] == 0);
      k->spacing = UINT64_MAX - k->rout[R_SPACING_NEG];
    } else if (start) {
      mpisnap__layer_coll_regime(0);
    }
    next_round_point(k);
    mpisnap__ck_round_start();
    return recorded;
  }
  mpisnap__ck_round(0);
  if (k->want && may_start())
    mpisnap__engine_initiate(e, NULL);
  return mpisnap__engine_point(e);
}

MPISNAP_EXTERN int mpisnap_request(void) {
  if (!mpisnap__c.on)
    return MPISNAP_ESTATE;
  mpisnap__c.want = 1;
  return 0;
}

MPISNAP_EXTERN int mpisnap_should_exit(void) {
  mpisnap__c.checked_exit = 1;
  return mpisnap__c.should_exit;
}

MPISNAP_EXTERN int mpisnap_last_committed(void) {
  return (int)mpisnap__c.committed;
}
