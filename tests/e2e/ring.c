/* Token ring in independent mode: every rank always has several tokens in
 * flight to its right neighbour, so every checkpoint cuts through messages
 * in flight, and ranks that learn of a snapshot from a marker often
 * consume a post-marker token before their next safe point (early
 * messages, suppressed at the sender on restart).
 *
 * usage: ring ITERATIONS [USLEEP_PER_ITERATION]
 * Prints "ANSWER <total> <hash>" on rank 0: the conserved total and a hash
 * of every rank's history, identical for any run that is correct. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mpisnap.h"

#define TOKENS 3
#define START 1000

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "ring: %s: %s\n", what, mpisnap_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
}

int main(int argc, char **argv) {
  int rank, n;
  long iters = argc > 1 ? atol(argv[1]) : 1000;
  long nap = argc > 2 ? atol(argv[2]) : 0;
  int64_t balance = START, it = 0;
  uint64_t hash = 1469598103934665603ULL;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  check(mpisnap_init(MPI_COMM_WORLD, MPISNAP_INDEPENDENT), "mpisnap_init");
  check(mpisnap_protect("balance", &balance, 1, MPI_INT64_T), "protect");
  check(mpisnap_protect("iteration", &it, 1, MPI_INT64_T), "protect");
  check(mpisnap_protect("hash", &hash, 1, MPI_UINT64_T), "protect");
  if (mpisnap_restarting()) {
    int id = mpisnap_restore();
    check(id, "mpisnap_restore");
    if (rank == 0)
      printf("RESTARTED FROM %d at iteration %ld\n", id, (long)it);
  } else {
    /* The first tokens: from now on TOKENS are always on each channel. */
    for (int t = 0; t < TOKENS; t++) {
      int64_t amount = 1 + (rank + t) % 5;
      balance -= amount;
      MPI_Send(&amount, 1, MPI_INT64_T, (rank + 1) % n, 0, MPI_COMM_WORLD);
    }
  }
  while (it < iters) {
    int64_t amount;
    MPI_Recv(&amount, 1, MPI_INT64_T, (rank + n - 1) % n, 0, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    balance += amount;
    hash = (hash ^ (uint64_t)balance) * 1099511628211ULL;
    amount = 1 + (uint64_t)(hash >> 33) % (balance > 20 ? 20 : (uint64_t)balance);
    balance -= amount;
    MPI_Send(&amount, 1, MPI_INT64_T, (rank + 1) % n, 0, MPI_COMM_WORLD);
    it++;
    if (nap)
      nanosleep(&(struct timespec){nap / 1000000, (nap % 1000000) * 1000}, NULL);
    check(mpisnap_point(), "mpisnap_point");
  }
  for (int t = 0; t < TOKENS; t++) {
    int64_t amount;
    MPI_Recv(&amount, 1, MPI_INT64_T, (rank + n - 1) % n, 0, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    balance += amount;
  }
  {
    int64_t total = 0;
    uint64_t h = 0, all[64] = {0};
    MPI_Allreduce(&balance, &total, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    MPI_Gather(&hash, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    for (int r = 0; r < n && r < 64; r++)
      h = (h ^ all[r]) * 1099511628211ULL;
    if (rank == 0)
      printf("ANSWER %lld %016llx\n", (long long)total, (unsigned long long)h);
    if (total != (int64_t)START * n) {
      fprintf(stderr, "ring: tokens not conserved: %lld != %lld\n",
              (long long)total, (long long)START * n);
      MPI_Abort(MPI_COMM_WORLD, 3);
    }
  }
  check(mpisnap_finalize(), "mpisnap_finalize");
  MPI_Finalize();
  return 0;
}
