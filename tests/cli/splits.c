/* Token rings on two splits of MPI_COMM_WORLD by parity, in independent
 * mode, so checkpoints have channels on sub-communicators: one split keeps
 * the world order (key = rank: `mpisnap verify` can match its channels to
 * rank files and checks them), the other reverses it (key = -rank: the
 * files do not say which world rank is which rank of it, so verify must
 * report its channels as not checked rather than guess).
 *
 * usage: splits ITERATIONS    (run with an even number of ranks >= 2) */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpisnap.h"

#define TOKENS 2

static void check(int rc, const char *what)
{
  if (rc < 0) {
    fprintf(stderr, "splits: %s: %s\n", what, mpisnap_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
}

/* Passes one token around the ring of comm. */
static void step(MPI_Comm comm, int64_t *sum)
{
  int me, n;
  int64_t v;
  MPI_Comm_rank(comm, &me);
  MPI_Comm_size(comm, &n);
  MPI_Recv(&v, 1, MPI_INT64_T, (me + n - 1) % n, 0, comm, MPI_STATUS_IGNORE);
  *sum += v;
  MPI_Send(&v, 1, MPI_INT64_T, (me + 1) % n, 0, comm);
}

static void start(MPI_Comm comm, int64_t value)
{
  int me, n;
  MPI_Comm_rank(comm, &me);
  MPI_Comm_size(comm, &n);
  for (int t = 0; t < TOKENS; t++)
    MPI_Send(&value, 1, MPI_INT64_T, (me + 1) % n, 0, comm);
}

static void drain(MPI_Comm comm)
{
  int me, n;
  int64_t v;
  MPI_Comm_rank(comm, &me);
  MPI_Comm_size(comm, &n);
  for (int t = 0; t < TOKENS; t++)
    MPI_Recv(&v, 1, MPI_INT64_T, (me + n - 1) % n, 0, comm,
             MPI_STATUS_IGNORE);
}

int main(int argc, char **argv)
{
  int rank;
  long iters = argc > 1 ? atol(argv[1]) : 200;
  int64_t it = 0, sum = 0;
  double field[3] = {0.5, 1.5, 2.5};
  MPI_Comm ordered, reversed;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  check(mpisnap_init(MPI_COMM_WORLD, MPISNAP_INDEPENDENT), "mpisnap_init");
  check(mpisnap_protect("iteration", &it, 1, MPI_INT64_T), "protect");
  check(mpisnap_protect("sum", &sum, 1, MPI_INT64_T), "protect");
  check(mpisnap_protect("field", field, 3, MPI_DOUBLE), "protect");
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &ordered);
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &reversed);
  start(ordered, rank);
  start(reversed, 100 + rank);
  for (; it < iters; it++) {
    step(ordered, &sum);
    step(reversed, &sum);
    field[it % 3] += 1.0;
    check(mpisnap_point(), "mpisnap_point");
  }
  drain(ordered);
  drain(reversed);
  /* Freed only once every checkpoint has committed: the library drops the
   * counters of a communicator freed while a snapshot is still running. */
  check(mpisnap_finalize(), "mpisnap_finalize");
  MPI_Comm_free(&ordered);
  MPI_Comm_free(&reversed);
  if (rank == 0)
    printf("splits: done\n");
  MPI_Finalize();
  return 0;
}
