/*
 * MPI smoke test: proves that the MPI launcher, the test environment and
 * linking against libmpisnap all work before any real MPI test runs.
 *
 * Each rank passes its rank to the right neighbour in a ring, checks what it
 * got from the left one, and then checks an allreduce sum.
 */
#include <stdio.h>

#include <mpi.h>

#include "mpisnap.h"

static void fail(const char *what, int rank, long got, long want)
{
  fprintf(stderr, "smoke: rank %d: %s: got %ld, want %ld\n", rank, what, got,
          want);
  MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char **argv)
{
  int rank, size;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  int right = (rank + 1) % size;
  int left = (rank - 1 + size) % size;
  int got = -1;
  MPI_Sendrecv(&rank, 1, MPI_INT, right, 0, &got, 1, MPI_INT, left, 0,
               MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (got != left)
    fail("ring value from left neighbour", rank, got, left);

  long mine = rank, sum = -1;
  long want = (long)size * (size - 1) / 2;
  MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  if (sum != want)
    fail("allreduce sum of ranks", rank, sum, want);

  if (rank == 0)
    printf("smoke ok: %d ranks, mpisnap %s\n", size, mpisnap_version_string());

  MPI_Finalize();
  return 0;
}
