/*
 * Flood benchmark: many small messages between a master and every other
 * rank, as MPICH's sendflood test (which found the cost of snapshots under
 * oversubscription): each iteration the master receives one message from
 * every worker in rank order, then sends one back to each.  Every message
 * carries the iteration number, checked on arrival.
 *
 *   mpisnap-bench-flood [ITERATIONS]     (default 20000)
 *
 * Rank 0 prints one line: "flood: ranks N iterations I seconds S" for the
 * timed loop alone (after a barrier, without start-up and MPI_Finalize).
 * bench/run-flood.sh runs it plain, with libmpisnap preloaded and with
 * snapshots forced, alternating, and prints the table.
 */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>

enum { TAG = 999, DATA = 3 };

int main(int argc, char **argv) {
  int rank, size, buf[DATA];
  long iters = argc > 1 ? atol(argv[1]) : 20000;
  double t0, t1;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (iters <= 0 || size < 2) {
    if (rank == 0)
      fprintf(stderr, "flood: needs 2 or more ranks and ITERATIONS > 0\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  t0 = MPI_Wtime();
  for (long i = 0; i < iters; i++) {
    if (rank == 0) {
      for (int j = 1; j < size; j++) {
        MPI_Recv(buf, DATA, MPI_INT, j, TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (buf[0] != (int)i || buf[1] != j) {
          fprintf(stderr, "flood: iteration %ld: got %d from %d\n", i, buf[0],
                  buf[1]);
          MPI_Abort(MPI_COMM_WORLD, 1);
        }
      }
      for (int j = 1; j < size; j++) {
        buf[0] = (int)i;
        buf[1] = 0;
        MPI_Send(buf, DATA, MPI_INT, j, TAG, MPI_COMM_WORLD);
      }
    } else {
      buf[0] = (int)i;
      buf[1] = rank;
      MPI_Send(buf, DATA, MPI_INT, 0, TAG, MPI_COMM_WORLD);
      MPI_Recv(buf, DATA, MPI_INT, 0, TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (buf[0] != (int)i) {
        fprintf(stderr, "flood: rank %d, iteration %ld: got %d\n", rank, i,
                buf[0]);
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  t1 = MPI_Wtime();
  if (rank == 0) {
    printf("flood: ranks %d iterations %ld seconds %.6f\n", size, iters,
           t1 - t0);
    fflush(stdout);
  }
  MPI_Finalize();
  return 0;
}
