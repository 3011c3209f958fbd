/* Master-worker task farm in independent mode.  The master receives
 * results with MPI_ANY_SOURCE and hands the next task to whichever worker
 * answered; task times are uneven.  Workers often consume their next task
 * before they record (early messages), so a restart is right only if the
 * master replays its wildcard matches (determinants) and suppresses the
 * tasks those workers already consumed.
 *
 * usage: workers TASKS [USLEEP_PER_UNIT]
 * Prints "ANSWER <sum> <hash>" on rank 0; the hash is over (task,
 * result) pairs and does not depend on the order results arrive in (which
 * differs from run to run), and the master aborts if any task's result
 * arrives twice or never. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mpisnap.h"

enum { TAG_TASK = 1, TAG_RESULT = 2, TAG_STOP = 3 };

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "workers: %s: %s\n", what, mpisnap_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
}

static int64_t work(int64_t task, long nap) {
  int64_t x = task * 2654435761LL % 1000003;
  long units = 1 + task % 4; /* uneven task times */
  if (nap)
    nanosleep(&(struct timespec){0, (units * nap % 1000000) * 1000}, NULL);
  return x;
}

int main(int argc, char **argv) {
  int rank, n;
  int64_t tasks = argc > 1 ? atol(argv[1]) : 200;
  long nap = argc > 2 ? atol(argv[2]) : 0;
  /* Master: next task to hand out, results in, running sum and hash of
   * (worker, result) in arrival order.  Workers: tasks done. */
  int64_t next = 0, received = 0, sum = 0, done = 0;
  uint64_t hash = 0;
  unsigned char *seen;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  check(mpisnap_init(MPI_COMM_WORLD, MPISNAP_INDEPENDENT), "mpisnap_init");
  check(mpisnap_protect("next", &next, 1, MPI_INT64_T), "protect");
  check(mpisnap_protect("received", &received, 1, MPI_INT64_T), "protect");
  check(mpisnap_protect("sum", &sum, 1, MPI_INT64_T), "protect");
  check(mpisnap_protect("hash", &hash, 1, MPI_UINT64_T), "protect");
  check(mpisnap_protect("done", &done, 1, MPI_INT64_T), "protect");
  seen = calloc((size_t)tasks, 1);
  if (rank == 0)
    check(mpisnap_protect("seen", seen, (size_t)tasks, MPI_UNSIGNED_CHAR),
          "protect");
  if (mpisnap_restarting()) {
    int id = mpisnap_restore();
    check(id, "mpisnap_restore");
    if (rank == 0)
      printf("RESTARTED FROM %d at result %lld\n", id, (long long)received);
  } else if (rank == 0) {
    for (int w = 1; w < n; w++, next++)
      MPI_Send(&next, 1, MPI_INT64_T, w, TAG_TASK, MPI_COMM_WORLD);
  }
  if (rank == 0) {
    while (received < tasks) {
      int64_t r[2];
      MPI_Status st;
      MPI_Recv(r, 2, MPI_INT64_T, MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &st);
      received++;
      if (r[0] < 0 || r[0] >= tasks || seen[r[0]]++) {
        fprintf(stderr, "workers: the result of task %lld arrived twice\n",
                (long long)r[0]);
        MPI_Abort(MPI_COMM_WORLD, 3);
      }
      sum += r[1];
      hash += ((uint64_t)r[0] * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)r[1];
      if (next < tasks) {
        MPI_Send(&next, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_TASK, MPI_COMM_WORLD);
        next++;
      } else {
        MPI_Send(&next, 0, MPI_INT64_T, st.MPI_SOURCE, TAG_STOP, MPI_COMM_WORLD);
      }
      check(mpisnap_point(), "mpisnap_point");
    }
    for (int64_t t = 0; t < tasks; t++)
      if (!seen[t]) {
        fprintf(stderr, "workers: task %lld was never done\n", (long long)t);
        MPI_Abort(MPI_COMM_WORLD, 3);
      }
    printf("ANSWER %lld %016llx\n", (long long)sum, (unsigned long long)hash);
  } else {
    for (;;) {
      int64_t task, r[2];
      MPI_Status st;
      MPI_Recv(&task, 1, MPI_INT64_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
      if (st.MPI_TAG == TAG_STOP)
        break;
      r[0] = task;
      r[1] = work(task, nap);
      done++;
      MPI_Send(r, 2, MPI_INT64_T, 0, TAG_RESULT, MPI_COMM_WORLD);
      check(mpisnap_point(), "mpisnap_point");
    }
  }
  check(mpisnap_finalize(), "mpisnap_finalize");
  MPI_Finalize();
  return 0;
}
