/* MPI_Init/MPI_Finalize: the interception starts and ends here, whether or
 * not the program ever calls the mpisnap API. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/env.h"
#include "pmpi/layer.h"
#include "pmpi/testhooks.h"

mpisnap__state mpisnap__g;

/* An integer from the environment (common/env.h); MPI_Init has no way to
 * fail for a bad one, so it stops the job, naming it. */
static uint64_t env_int(const char *name, double min, double max,
                        const char *want, uint64_t dflt) {
  double x = (double)dflt;
  char err[512];

  if (mpisnap__env_number(name, MPISNAP__ENV_INTEGER, min, max, want, &x, err,
                          sizeof(err)) < 0)
    mpisnap__fatal("%s", err);
  return (uint64_t)x;
}

static void parse_env(void) {
  mpisnap__state *g = &mpisnap__g;

  g->trigger = env_int("MPISNAP_TEST_TRIGGER", 1, 9e15, "a positive integer", 0);
  g->log_mem_limit = env_int("MPISNAP_LOG_MEM", 0, 9e15,
                             "a non-negative number of bytes", 256u << 20);
  g->verbose = (int)env_int("MPISNAP_VERBOSE", 0, 1e6,
                            "a non-negative integer", 0);
  g->fast_off = env_int("MPISNAP_FAST", 0, 1,
                        "0 (the layer matches every receive) or 1 (the "
                        "default)", 1) == 0;
  g->direct_off = env_int("MPISNAP_DIRECT", 0, 1,
                          "0 (every blocking call waits in the layer) or 1 "
                          "(the default)", 1) == 0;
}

/* The program's name, for checkpoint metadata. */
static void program_name(char *out, size_t len) {
  char buf[512];
  FILE *f = fopen("/proc/self/cmdline", "r");
  size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
  const char *base;

  if (f)
    fclose(f);
  buf[n] = '\0';
  base = strrchr(buf, '/');
  base = base ? base + 1 : buf;
  n = strlen(base) < len ? strlen(base) : len - 1;
  memcpy(out, base, n);
  out[n] = '\0';
}

static int setup(void) {
  mpisnap__state *g = &mpisnap__g;
  int *ub = NULL, flag = 0, rc;

  mpisnap__queue_init(&g->comms);
  program_name(g->program, sizeof(g->program));
  PMPI_Comm_rank(MPI_COMM_WORLD, &g->world_rank);
  PMPI_Comm_size(MPI_COMM_WORLD, &g->world_size);
  parse_env();
  g->rng = 0x6a09e667f3bcc909ULL * (uint64_t)(g->world_rank + 1);
  /* Markers travel on the control communicator, so the application keeps
   * every tag MPI offers. */
  PMPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag);
  if (!flag)
    mpisnap__fatal("MPI_COMM_WORLD has no MPI_TAG_UB attribute");
  g->tag_ub = *ub;
  if ((rc = mpisnap__engine_setup()) != MPI_SUCCESS)
    return rc;
  if ((rc = PMPI_Comm_dup(MPI_COMM_WORLD, &g->control)) != MPI_SUCCESS)
    return rc;
  PMPI_Comm_set_errhandler(g->control, MPI_ERRORS_RETURN);
  mpisnap__chan_setup();
  mpisnap__regime_setup();
  g->info.world_rank = g->world_rank;
  g->info.world_size = g->world_size;
  g->info.program = g->program;
  g->info.verbose = g->verbose;
  g->info.control = g->control;
  g->initialized = 1;
  return mpisnap__comm_setup();
}

/* After MPI's own initialisation returned rc: start the layer, unless
 * that already happened (a Fortran MPI_Init that called our C MPI_Init). */
int mpisnap__init_layer(int rc) {
  if (rc == MPI_SUCCESS && !mpisnap__g.initialized)
    rc = setup();
  if (rc == MPI_SUCCESS)
    mpisnap__fortran_setup();
  return rc;
}

int mpisnap__init_thread_check(int required) {
  if (required == MPI_THREAD_MULTIPLE) {
    fprintf(stderr, "mpisnap: error: this program asks for "
                    "MPI_THREAD_MULTIPLE, which mpisnap does not support; "
                    "ask for MPI_THREAD_SERIALIZED or less, or run without "
                    "mpisnap\n");
    return MPI_ERR_OTHER;
  }
  return MPI_SUCCESS;
}

MPISNAP_EXTERN int MPI_Init(int *argc, char ***argv) {
  return mpisnap__init_layer(PMPI_Init(argc, argv));
}

MPISNAP_EXTERN int MPI_Init_thread(int *argc, char ***argv, int required,
                                   int *provided) {
  int rc = mpisnap__init_thread_check(required);

  if (rc != MPI_SUCCESS)
    return rc;
  return mpisnap__init_layer(PMPI_Init_thread(argc, argv, required, provided));
}

/* ---- the checkpoint runtime's view (iface.h) ---- */

const mpisnap__layer_info *mpisnap__layer_info_get(void) {
  return mpisnap__g.initialized && !mpisnap__g.finalized ? &mpisnap__g.info
                                                         : NULL;
}

mpisnap__engine *mpisnap__layer_engine(void) { return mpisnap__g.engine; }

void mpisnap__layer_register(const mpisnap__hooks *hooks) {
  mpisnap__g.hooks = hooks;
  if (hooks != NULL)
    mpisnap__g.bare = 0; /* from here every message is counted */
}

int mpisnap__layer_progress(void) { return mpisnap__progress(); }

void mpisnap__layer_exit_status(int status) { mpisnap__g.exit_status = status; }

static int active(void) {
  enum mpisnap__phase p = mpisnap__engine_phase(mpisnap__g.engine);
  return p == MPISNAP__PENDING || p == MPISNAP__RECORDED ||
         mpisnap__engine_next_pending(mpisnap__g.engine);
}

/* Every rank finishes every snapshot that any rank started, so no rank
 * leaves while another waits for its marker: agree on the newest snapshot
 * id with a nonblocking reduction while still handling markers. */
int mpisnap__layer_finish_snapshots(int record_pending) {
  mpisnap__state *g = &mpisnap__g;
  uint64_t mine = mpisnap__engine_sid(g->engine), newest = 0;
  MPI_Request req;
  unsigned spins = 0;
  int done = 0;

  PMPI_Iallreduce(&mine, &newest, 1, MPI_UINT64_T, MPI_MAX, g->control, &req);
  while (!done) {
    mpisnap__progress();
    PMPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (!done)
      mpisnap__wait_backoff(&spins);
  }
  spins = 0;
  while (mpisnap__engine_sid(g->engine) < newest || active()) {
    mpisnap__progress();
    if (record_pending &&
        mpisnap__engine_phase(g->engine) == MPISNAP__PENDING)
      mpisnap__engine_record(g->engine);
    mpisnap__wait_backoff(&spins);
  }
  if (g->mk_n > 0)
    PMPI_Waitall(g->mk_n, g->mk_req, MPI_STATUSES_IGNORE);
  g->mk_n = 0;
  return 0;
}

/* The job's balance summary, on rank 0's stderr: an imbalance always (it
 * is an error, and the job exits 71), the "all balanced" line only when
 * asked for (MPISNAP_VERBOSE).  Never on stdout: a program's standard
 * output is often its data. */
static void report(void) {
  mpisnap__state *g = &mpisnap__g;
  uint64_t in[7] = {g->snapshots_done, g->channels_checked, g->unbalanced,
                    g->n_ahead, g->n_pulled, g->n_taken_back, g->n_landed};
  uint64_t out[7] = {0};

  PMPI_Reduce(in, out, 7, MPI_UINT64_T, MPI_SUM, 0, g->control);
  if (g->world_rank != 0 || out[0] == 0)
    return;
  if (out[2] != 0)
    fprintf(stderr, "mpisnap: error: %llu unbalanced channels in %llu "
            "snapshots\n", (unsigned long long)out[2],
            (unsigned long long)(out[0] / (uint64_t)g->world_size));
  else if (g->verbose > 0)
    fprintf(stderr,
            "mpisnap: %llu snapshots checked on %llu channels, all balanced "
            "(messages ahead of their marker %llu, drained %llu; fast "
            "receives taken back %llu, matched at the switch %llu)\n",
            (unsigned long long)(out[0] / (uint64_t)g->world_size),
            (unsigned long long)out[1], (unsigned long long)out[3],
            (unsigned long long)out[4], (unsigned long long)out[5],
            (unsigned long long)out[6]);
  fflush(stderr);
}

MPISNAP_EXTERN int MPI_Finalize(void) {
  mpisnap__state *g = &mpisnap__g;

  if (g->initialized && !g->finalized) {
    uint64_t bad;
    g->trigger = 0;
    g->bare = 0; /* the calls of the end go the layer's way */
    if (g->hooks != NULL)
      g->hooks->finalize();
    mpisnap__layer_finish_snapshots(1);
    report();
    mpisnap__regime_report();
    bad = g->unbalanced;
    g->finalized = 1;
    /* The direct path reads only coll_direct: a collective called after
     * this (erroneous) goes to MPI's nonblocking form and its error. */
    g->coll_direct = 0;
    mpisnap__snapshot_logs_free();
    mpisnap__comm_release_all();
    mpisnap__chan_shutdown();
    mpisnap__handles_release();
    PMPI_Comm_free(&g->control);
    mpisnap__engine_free(g->engine);
    g->engine = NULL;
    if (bad) {
      PMPI_Finalize();
      exit(71);
    }
    if (g->exit_status != 0) {
      PMPI_Finalize();
      exit(g->exit_status);
    }
  }
  return PMPI_Finalize();
}

/* ---- test hooks (pmpi/testhooks.h) ---- */

MPISNAP_EXTERN int mpisnap_test_snapshot(void) {
  uint64_t sid = 0;

  if (!mpisnap__g.initialized)
    return MPISNAP_ESTATE;
  /* The direct regime rests on no snapshot beginning outside a safe point
   * (regime.c): a test that begins its own asks for the detour. */
  if (mpisnap__g.coll_permit) {
    fprintf(stderr, "mpisnap: error: mpisnap_test_snapshot() needs "
                    "MPISNAP_DIRECT=0 (or MPISNAP_TEST_TRIGGER)\n");
    return MPISNAP_ESTATE;
  }
  mpisnap__engine_initiate(mpisnap__g.engine, &sid);
  mpisnap__progress();
  return (int)sid;
}

MPISNAP_EXTERN int mpisnap_test_wait_done(int sid) {
  unsigned spins = 0;

  if (!mpisnap__g.initialized || sid <= 0)
    return MPISNAP_EINVAL;
  while (mpisnap__engine_sid(mpisnap__g.engine) < (uint64_t)sid ||
         (mpisnap__engine_sid(mpisnap__g.engine) == (uint64_t)sid &&
          mpisnap__engine_phase(mpisnap__g.engine) != MPISNAP__DONE)) {
    mpisnap__progress();
    mpisnap__wait_backoff(&spins);
  }
  return 0;
}

MPISNAP_EXTERN int mpisnap_test_channel_state(int sid, MPI_Comm comm, int src,
                                              int idx, void *buf, size_t cap,
                                              int *tag, size_t *len) {
  mpisnap__comm *c;
  const void *data = NULL;
  MPI_Count bytes = 0;
  int n, t = 0;

  if (!mpisnap__g.initialized || sid <= 0)
    return MPISNAP_EINVAL;
  c = mpisnap__comm_get(comm);
  n = mpisnap__log_lookup((uint64_t)sid, c, src, idx, &data, &bytes, &t);
  if (idx >= 0 && idx < n) {
    if (tag != NULL)
      *tag = t;
    if (len != NULL)
      *len = (size_t)bytes;
    if (buf != NULL)
      memcpy(buf, data, (size_t)bytes < cap ? (size_t)bytes : cap);
  }
  return n;
}

MPISNAP_EXTERN int mpisnap_test_early(int sid, MPI_Comm comm, int src) {
  mpisnap__comm *c = mpisnap__comm_get(comm);

  if (mpisnap__engine_sid(mpisnap__g.engine) != (uint64_t)sid)
    return MPISNAP_ENOENT;
  return (int)mpisnap__engine_in_counters(mpisnap__g.engine,
                                          (uint32_t)c->in_idx[src]).early;
}
