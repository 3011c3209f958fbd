/*
 * workers: a master-worker task farm with uneven task times, checkpointed
 * with mpisnap in independent mode.
 *
 * Rank 0 hands out tasks and receives results with MPI_ANY_SOURCE; each
 * result earns its worker the next task.  Workers take 1 to 4 time units
 * per task, so who does which task changes from run to run, but the set of
 * (task, result) pairs does not.
 *
 * This is the program that shows early messages.  A worker learns of a
 * snapshot from the marker that precedes its next task, but it records
 * only at its next safe point, after it has received that task: the task
 * is consumed before the record, so it is an "early" message.  The
 * checkpoint remembers that the master must not send it again, and on
 * restart the master's wildcard receives are replayed as they happened
 * and the early sends are suppressed.  The master keeps a bitmap of the
 * tasks whose result arrived and stops the job if a result arrives twice
 * or never, so a wrong restart cannot go unnoticed.  Run with
 * MPISNAP_VERBOSE=1 to see the early messages of every checkpoint.
 *
 * Prints "ANSWER <sum> <hex>" on rank 0: the sum of the results and a hash
 * of the (task, result) pairs that does not depend on arrival order.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "app.h"

static const char *const prog = "workers";

enum { TAG_TASK = 1, TAG_RESULT = 2, TAG_STOP = 3 };

struct options {
  long tasks; /* number of tasks */
  long nap;   /* microseconds per unit of work */
  int help;
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: workers [-t TASKS] [-s USEC] [-h]\n"
          "\n"
          "Master-worker task farm (rank 0 is the master); checkpointed with\n"
          "mpisnap (independent mode).  Needs at least 2 ranks.  Prints\n"
          "\"ANSWER <sum> <hex>\" on rank 0.\n"
          "\n"
          "  -t TASKS  number of tasks (default 400)\n"
          "  -s USEC   microseconds per unit of work; a task takes 1 to 4 units\n"
          "            (default 0)\n"
          "  -h        show this help\n");
}

static int parse(int argc, char **argv, struct options *o, char *err,
                 size_t errlen) {
  *o = (struct options){.tasks = 400};
  const struct app_opt opts[] = {
    {"-h", .flag = &o->help},
    {"--help", .flag = &o->help},
    {"-t", .lo = 1, .hi = 1L << 30, .num = &o->tasks},
    {"-s", .lo = 0, .hi = 1000000, .num = &o->nap},
    {.name = NULL},
  };
  return app_parse(argc, argv, opts, err, errlen);
}

/* The work: a result that depends on the task only, and 1 to 4 units of
 * time. */
static int64_t work(int64_t task, long nap) {
  app_nap((1 + task % 4) * nap);
  return (int64_t)(app_mix((uint64_t)task) % 1000003);
}

/* The master's state, all protected. */
struct master {
  int64_t next;         /* the next task to hand out */
  int64_t received;     /* results in */
  int64_t sum;          /* sum of the results */
  uint64_t hash;        /* sum of hashes of (task, result) pairs */
  unsigned char *seen;  /* seen[t]: the result of task t has arrived */
};

/* Returns 1 if the program was asked to stop. */
static int run_master(struct master *m, int n, long tasks, int restarted) {
  if (!restarted)
    for (int w = 1; w < n && m->next < tasks; w++, m->next++)
      MPI_Send(&m->next, 1, MPI_INT64_T, w, TAG_TASK, MPI_COMM_WORLD);
  /* Workers that got no first task (more workers than tasks) stop now. */
  if (!restarted)
    for (int w = (int)tasks + 1; w < n; w++)
      MPI_Send(&m->next, 1, MPI_INT64_T, w, TAG_STOP, MPI_COMM_WORLD);
  while (m->received < tasks) {
    int64_t r[2];
    MPI_Status st;
    MPI_Recv(r, 2, MPI_INT64_T, MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &st);
    if (r[0] < 0 || r[0] >= tasks || m->seen[r[0]]++) {
      fprintf(stderr, "%s: the result of task %" PRId64 " arrived twice\n", prog, r[0]);
      MPI_Abort(MPI_COMM_WORLD, 3);
    }
    m->received++;
    m->sum += r[1];
    m->hash += app_mix(((uint64_t)r[0] << 32) ^ (uint64_t)r[1]);
    /* The worker that answered gets the next task, or is told to stop. */
    if (m->next < tasks) {
      MPI_Send(&m->next, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_TASK, MPI_COMM_WORLD);
      m->next++;
    } else {
      MPI_Send(&m->next, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_STOP, MPI_COMM_WORLD);
    }
    app_check(prog, mpisnap_point(), "mpisnap_point");
    if (mpisnap_should_exit())
      return 1;
  }
  for (int64_t t = 0; t < tasks; t++)
    if (!m->seen[t]) {
      fprintf(stderr, "%s: task %" PRId64 " was never done\n", prog, t);
      MPI_Abort(MPI_COMM_WORLD, 3);
    }
  return 0;
}

/* Returns 1 if the program was asked to stop. */
static int run_worker(int64_t *done, long nap) {
  for (;;) {
    int64_t task = 0, r[2];
    MPI_Status st;
    MPI_Recv(&task, 1, MPI_INT64_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
    if (st.MPI_TAG == TAG_STOP)
      return 0;
    r[0] = task;
    r[1] = work(task, nap);
    ++*done;
    MPI_Send(r, 2, MPI_INT64_T, 0, TAG_RESULT, MPI_COMM_WORLD);
    app_check(prog, mpisnap_point(), "mpisnap_point");
    if (mpisnap_should_exit())
      return 1;
  }
}

int main(int argc, char **argv) {
  struct options o;
  struct master m = {0};
  char err[256];
  int rank, n, bad, stopped, restarted = 0;
  int64_t done = 0;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  bad = parse(argc, argv, &o, err, sizeof(err));
  if (bad == 0 && !o.help && n < 2) {
    snprintf(err, sizeof(err), "needs at least 2 ranks (a master and a worker)");
    bad = -1;
  }
  if (bad != 0 || o.help)
    return app_usage_exit(prog, rank, bad, err, usage);

  app_check(prog, mpisnap_init(MPI_COMM_WORLD, MPISNAP_INDEPENDENT), "mpisnap_init");
  if (rank == 0) {
    m.seen = calloc((size_t)o.tasks, 1);
    if (m.seen == NULL) {
      fprintf(stderr, "%s: out of memory for %ld tasks\n", prog, o.tasks);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    app_check(prog, mpisnap_protect("next", &m.next, 1, MPI_INT64_T), "protect next");
    app_check(prog, mpisnap_protect("received", &m.received, 1, MPI_INT64_T),
              "protect received");
    app_check(prog, mpisnap_protect("sum", &m.sum, 1, MPI_INT64_T), "protect sum");
    app_check(prog, mpisnap_protect("hash", &m.hash, 1, MPI_UINT64_T), "protect hash");
    app_check(prog, mpisnap_protect("seen", m.seen, (size_t)o.tasks, MPI_UNSIGNED_CHAR),
              "protect seen");
  } else {
    app_check(prog, mpisnap_protect("done", &done, 1, MPI_INT64_T), "protect done");
  }
  if (mpisnap_restarting()) {
    int id = mpisnap_restore();
    app_check(prog, id, "mpisnap_restore");
    restarted = 1;
    if (rank == 0)
      printf("RESTARTED FROM %d at result %" PRId64 " of %ld\n", id, m.received,
             o.tasks);
  }
  if (rank == 0)
    printf("workers: %ld tasks, %d workers\n", o.tasks, n - 1);
  /* Flush now: a killed rank's buffered output is lost. */
  fflush(stdout);

  if (rank == 0)
    stopped = run_master(&m, n, o.tasks, restarted);
  else
    stopped = run_worker(&done, o.nap);

  if (stopped) {
    app_say_stopped(prog, rank);
  } else {
    /* How the tasks were shared out differs from run to run; the answer
     * does not. */
    int64_t *counts = rank == 0 ? calloc((size_t)n, sizeof(*counts)) : NULL;
    MPI_Gather(&done, 1, MPI_INT64_T, counts, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      printf("workers: every task done exactly once; tasks per worker:");
      for (int w = 1; w < n; w++)
        printf(" %" PRId64, counts[w]);
      printf("\nANSWER %" PRId64 " %016" PRIx64 "\n", m.sum, m.hash);
    }
    free(counts);
  }
  fflush(stdout);
  app_check(prog, mpisnap_finalize(), "mpisnap_finalize");
  free(m.seen);
  MPI_Finalize();
  return 0;
}
