/* 1-D heat stencil in collective mode.  The halo exchange is overlapped
 * with the interior update, and a rank may run one iteration ahead of its
 * neighbour, so halo messages sent before a safe point are received after
 * it: they are the channel state of the checkpoint.
 *
 * usage: stencil CELLS_PER_RANK ITERATIONS [USLEEP_PER_ITERATION]
 * Prints "ANSWER <hex>" on rank 0: a bit-exact hash of the final field. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpisnap.h"

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "stencil: %s: %s\n", what, mpisnap_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
}

int main(int argc, char **argv) {
  int rank, n;
  long m = argc > 1 ? atol(argv[1]) : 1000;
  long iters = argc > 2 ? atol(argv[2]) : 1000;
  long nap = argc > 3 ? atol(argv[3]) : 0;
  int64_t it = 0;
  double *u, *v;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  u = calloc((size_t)m + 2, sizeof(double));
  v = calloc((size_t)m + 2, sizeof(double));
  for (long i = 1; i <= m; i++)
    u[i] = (double)((rank * m + i) % 97) / 7.0;
  check(mpisnap_init(MPI_COMM_WORLD, MPISNAP_COLLECTIVE), "mpisnap_init");
  check(mpisnap_protect("u", u, (size_t)m + 2, MPI_DOUBLE), "protect");
  check(mpisnap_protect("iteration", &it, 1, MPI_INT64_T), "protect");
  if (mpisnap_restarting()) {
    int id = mpisnap_restore();
    check(id, "mpisnap_restore");
    if (rank == 0)
      printf("RESTARTED FROM %d at iteration %ld\n", id, (long)it);
  }
  int left = rank > 0 ? rank - 1 : MPI_PROC_NULL;
  int right = rank < n - 1 ? rank + 1 : MPI_PROC_NULL;
  while (it < iters) {
    MPI_Request req[4];
    MPI_Irecv(&u[0], 1, MPI_DOUBLE, left, (int)(it % 1000), MPI_COMM_WORLD, &req[0]);
    MPI_Irecv(&u[m + 1], 1, MPI_DOUBLE, right, (int)(it % 1000), MPI_COMM_WORLD, &req[1]);
    MPI_Isend(&u[1], 1, MPI_DOUBLE, left, (int)(it % 1000), MPI_COMM_WORLD, &req[2]);
    MPI_Isend(&u[m], 1, MPI_DOUBLE, right, (int)(it % 1000), MPI_COMM_WORLD, &req[3]);
    for (long i = 2; i < m; i++)
      v[i] = u[i] + 0.25 * (u[i - 1] - 2 * u[i] + u[i + 1]);
    MPI_Waitall(4, req, MPI_STATUSES_IGNORE);
    v[1] = u[1] + 0.25 * (u[0] - 2 * u[1] + u[2]);
    v[m] = u[m] + 0.25 * (u[m - 1] - 2 * u[m] + u[m + 1]);
    memcpy(&u[1], &v[1], (size_t)m * sizeof(double));
    it++;
    if (nap)
      nanosleep(&(struct timespec){nap / 1000000, (nap % 1000000) * 1000}, NULL);
    check(mpisnap_point(), "mpisnap_point");
  }
  {
    uint64_t h = 1469598103934665603ULL, all = 0;
    for (long i = 1; i <= m; i++) {
      uint64_t b;
      memcpy(&b, &u[i], sizeof(b));
      h = (h ^ b) * 1099511628211ULL;
    }
    MPI_Reduce(&h, &all, 1, MPI_UINT64_T, MPI_BXOR, 0, MPI_COMM_WORLD);
    if (rank == 0)
      printf("ANSWER %016llx\n", (unsigned long long)all);
  }
  check(mpisnap_finalize(), "mpisnap_finalize");
  free(u);
  free(v);
  MPI_Finalize();
  return 0;
}
