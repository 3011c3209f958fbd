/* The checkpoint runtime: protected variables, the snapshot's assembly
 * into a part, the writer thread, the control rounds that agree on
 * snapshots and commits, and restart. */
#ifndef MPISNAP_CKPT_CKPT_H
#define MPISNAP_CKPT_CKPT_H

#include <mpi.h>
#include <pthread.h>
#include <stdint.h>

#include "common/array.h"
#include "common/env.h"
#include "format/part.h"
#include "mpisnap.h"
#include "pmpi/iface.h"

typedef struct mpisnap__pvar {
  char name[MPISNAP_NAME_MAX];
  void *ptr;
  size_t count;
  MPI_Datatype type;
  int elem;        /* enum mpisnap__elem */
  int tsize;       /* MPI_Type_size */
  char sig[128];
} mpisnap__pvar;

/* Values exchanged in each control round (MPI_MAX over ranks). */
enum { R_WANT, R_EXIT, R_NOT_DURABLE, R_COMMITTED, R_FAILED, R_STALL_US,
       R_WRITE_US, R_EXIT_SID, R_NO_EXIT_SID, R_UNQUIET, R_WCOLL, R_WCOLL_NEG,
       R_SPACING_NEG, R_NMAX };
/* Summed to rank 0 (statistics of the snapshot being committed). */
enum { S_BYTES, S_MSGS, S_EARLY, S_MARKERS, S_NSUM };

/* Fixed by mpisnap_init before the writer thread starts and never changed
 * after: the writer thread reads it without the lock. */
typedef struct mpisnap__ckconf {
  int rank, nranks;    /* in MPI_COMM_WORLD */
  char program[256];
  char mpi[256];       /* the MPI library (restart.c: mpisnap__ck_mpi_init) */
  unsigned mode;       /* MPISNAP_COLLECTIVE or MPISNAP_INDEPENDENT */
  char dir[2048];
  uint64_t id_base;    /* checkpoint id = id_base + snapshot id */
  uint64_t parent;     /* id restored from, 0: fresh */
  int keep;            /* MPISNAP_KEEP */
  int verbose;         /* MPISNAP_VERBOSE */
} mpisnap__ckconf;

/* restart.c: records which MPI library this run uses (conf.mpi). */
void mpisnap__ck_mpi_init(void);

typedef struct mpisnap__ck {
  int on;              /* mpisnap_init done */
  int finalized;
  /* Inside mpisnap_finalize: it runs the last control rounds in lock step
   * itself, so a wait in the layer must not start one (ops.c, ck_idle). */
  int finishing;
  mpisnap__ckconf conf;
  mpisnap__engine *engine; /* the layer's */
  double interval;     /* seconds; 0: off */
  uint64_t every;      /* safe points; 0: off */
  /* Protected variables. */
  mpisnap__pvar *vars;
  size_t nvars, capvars;
  uint64_t points;     /* safe points passed */
  int want;            /* this rank asked for a checkpoint */
  double last_time;    /* when the last checkpoint was taken (or init) */
  uint64_t committed;  /* newest committed id known here */
  /* The snapshot being assembled. */
  mpisnap__part cur;
  /* Staging buffers, one per protected variable, kept from one record
   * to the next (their capacity only grows). */
  struct mpisnap__stage { void *buf; size_t cap; } *stage;
  size_t nstage, stage_alloc;
  uint64_t cur_sid;
  uint64_t done_sid;   /* last snapshot finished here */
  uint64_t taken_sid;  /* last snapshot for which a part went to the writer */
  /* The writer thread. */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int thread_up, stop;
  mpisnap__part *job;  /* waiting or being written */
  char job_dir[2100];
  uint64_t job_sid;
  uint64_t durable_sid; /* written and synced (under mu) */
  uint64_t failed_sid;  /* its write failed (under mu) */
  char write_err[512];
  /* Rank 0: the commit, also done by the writer thread so that the
   * master file, its fsyncs, the rename and the retention of old
   * checkpoints never stall the application.  The main thread hands a
   * snapshot over (commit_sid, with its statistics) and learns the
   * outcome at the next control round. */
  uint64_t commit_sid;        /* handed over, not yet done (under mu) */
  uint64_t commit_sums[S_NSUM], commit_stall_us, commit_write_us;
  uint64_t commit_done_id;    /* newest committed by the writer (under mu) */
  uint64_t commit_failed_sid; /* newest whose commit failed (under mu) */
  uint64_t commit_queued;     /* main thread: newest snapshot handed over */
  /* Control rounds. */
  int round_active;
  MPI_Request round_req[2];
  uint64_t rin[R_NMAX], rout[R_NMAX];
  uint64_t sin[S_NSUM], sout[S_NSUM];
  uint64_t abandoned;  /* newest snapshot id given up (failed write) */
  uint64_t abandon_local; /* rank 0: a commit that failed here */
  uint64_t round_taken;   /* taken_sid when the round in flight started */
  uint64_t round_sin[S_NSUM];
  uint64_t rounds;
  int round_want, round_exit, round_can_start;
  uint64_t coll_sid;   /* collective mode: the snapshot last started together */
  int record_next;     /* collective mode: the next round point records */
  /* Collective mode runs its control round only at "round points", every
   * `spacing` safe points, agreed in the rounds from the time safe points
   * take (api.c, "Round points"). */
  double sync_interval; /* MPISNAP_SYNC_INTERVAL: seconds between rounds */
  uint64_t spacing;     /* safe points between round points, agreed */
  uint64_t round_point; /* the next round point (a value of `points`) */
  uint64_t spacing_want;/* this rank's proposal, sent in the next round */
  double round_time;    /* when the last round point was passed */
  uint64_t round_prev;  /* and its point */
  double last_stall, write_seconds;
  MPI_Comm ctl;        /* control rounds only */
  int exit_requested, should_exit;
  int exiting;         /* a rank asked to checkpoint and exit */
  uint64_t exit_sid;   /* the snapshot taken for it */
  int checked_exit;    /* the program calls mpisnap_should_exit() */
  double deadline;     /* wall clock: checkpoint and exit at this time */
  /* Restart: the part restored from; the layer keeps a pointer to it. */
  mpisnap__part restored;
  uint64_t markers_at_record;
} mpisnap__ck;

extern mpisnap__ck mpisnap__c;

/* snapshot.c (record and done are hooks: hooks.h) */
void mpisnap__ck_record(uint64_t sid);
void mpisnap__ck_done(uint64_t sid);
void mpisnap__ck_round(int blocking);
int mpisnap__ck_round_finish(int blocking);
void mpisnap__ck_round_start(void);
void mpisnap__ck_round_process(void);

/* writer.c */
int mpisnap__ck_writer_start(void);
void mpisnap__ck_writer_stop(void);
int mpisnap__ck_wait_writer(void);

/* api.c */
int mpisnap__ck_env(const char *name, enum mpisnap__env_kind kind, double min,
                    double max, const char *want, double *out);

/* ops.c */
void mpisnap__ck_idle(void);
int mpisnap__ck_ops_setup(void);
void mpisnap__ck_ops_poll(void);
void mpisnap__ck_retention(void);
int mpisnap__ck_remove(const char *dir, uint64_t id);
void mpisnap__ck_remove_partial(const char *dir, uint64_t id);

/* restart.c */
int mpisnap__ck_restart_setup(const char *spec);

#endif /* MPISNAP_CKPT_CKPT_H */
