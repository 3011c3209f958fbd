/* A ring of tokens with a big protected state, for the fault tests: each
 * rank protects KIB kibibytes, so writing a checkpoint takes long enough to
 * kill a rank in the middle of it, or to fill a small disk.
 *
 * usage: bigstate KIB ITERATIONS [USLEEP_PER_ITERATION [MODE [REQUEST]]]
 *   MODE     c: collective (default), i: independent
 *   REQUEST  1: call mpisnap_request() before every safe point but the
 *            last 10; 2: rank 0 calls it before safe point 10, and before
 *            the 3 safe points after it recorded that checkpoint while it
 *            has not committed yet (those must be coalesced into exactly
 *            one more checkpoint)
 *
 * Every iteration a rank receives a token from its left neighbour, mixes
 * it into a window of its state and sends a token to its right neighbour;
 * TOKENS tokens are always on each channel, so checkpoints have channel
 * state.  Prints "ANSWER <hex>" on rank 0: a hash of every rank's whole
 * state, identical for every correct run.  Rank 0 also prints
 * "COMMITTED <n>", the newest committed checkpoint it knows of, and with
 * REQUEST "REQUESTS <made> WHILE_WRITING <made during the first
 * checkpoint> RECORDED <records on rank 0>". */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpisnap.h"

#define TOKENS 2
#define WINDOW 512

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "bigstate: %s: %s\n", what, mpisnap_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
}

static uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ULL;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dULL;
  return x ^ (x >> 33);
}

int main(int argc, char **argv) {
  int rank, n;
  long kib = argc > 1 ? atol(argv[1]) : 1024;
  long iters = argc > 2 ? atol(argv[2]) : 100;
  long nap = argc > 3 ? atol(argv[3]) : 0;
  unsigned mode = argc > 4 && argv[4][0] == 'i' ? MPISNAP_INDEPENDENT
                                                : MPISNAP_COLLECTIVE;
  int req = argc > 5 ? atoi(argv[5]) : 0;
  size_t words = (size_t)(kib > 0 ? kib : 1) * 1024 / sizeof(uint64_t);
  int64_t it = 0;
  uint64_t *a, token_sum = 0;
  long requests = 0, pending = 0, recorded = 0;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  a = malloc(words * sizeof(*a));
  if (a == NULL) {
    fprintf(stderr, "bigstate: out of memory\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  for (size_t i = 0; i < words; i++)
    a[i] = mix(((uint64_t)rank << 40) + i);
  check(mpisnap_init(MPI_COMM_WORLD, mode), "mpisnap_init");
  check(mpisnap_protect("state", a, words, MPI_UINT64_T), "protect");
  check(mpisnap_protect("iteration", &it, 1, MPI_INT64_T), "protect");
  check(mpisnap_protect("token_sum", &token_sum, 1, MPI_UINT64_T), "protect");
  if (mpisnap_restarting()) {
    int id = mpisnap_restore();
    check(id, "mpisnap_restore");
    if (rank == 0)
      printf("RESTARTED FROM %d at iteration %ld\n", id, (long)it);
  } else {
    for (int t = 0; t < TOKENS; t++) {
      uint64_t tok = mix((uint64_t)(rank * TOKENS + t) + 1);
      MPI_Send(&tok, 1, MPI_UINT64_T, (rank + 1) % n, 0, MPI_COMM_WORLD);
    }
  }
  while (it < iters) {
    uint64_t tok;
    size_t base;
    MPI_Recv(&tok, 1, MPI_UINT64_T, (rank + n - 1) % n, 0, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    token_sum += tok;
    base = (size_t)(mix(tok ^ (uint64_t)it) % words);
    for (size_t j = 0; j < WINDOW; j++) {
      size_t i = (base + j * 4099) % words;
      a[i] = mix(a[i] ^ tok ^ j);
    }
    tok = mix(tok ^ a[base]);
    MPI_Send(&tok, 1, MPI_UINT64_T, (rank + 1) % n, 0, MPI_COMM_WORLD);
    it++;
    if (nap)
      nanosleep(&(struct timespec){nap / 1000000, (nap % 1000000) * 1000}, NULL);
    /* Not in the last 10 iterations: a snapshot started there could
     * straddle the final collective, and would rightly be abandoned. */
    if ((req == 1 && it + 10 <= iters) ||
        (req == 2 && rank == 0 && it == 10)) {
      check(mpisnap_request(), "mpisnap_request");
      requests++;
    } else if (req == 2 && rank == 0 && recorded >= 1 && pending < 3 &&
               mpisnap_last_committed() == 0) {
      /* While the first checkpoint is being written: after rank 0 has
       * recorded it (a request before that is coalesced into it, and how
       * many safe points a request takes to be acted on is the library's
       * business: docs/DESIGN.md, "Round points"). */
      check(mpisnap_request(), "mpisnap_request");
      requests++;
      pending++;
    }
    {
      int rc = mpisnap_point();
      check(rc, "mpisnap_point");
      recorded += rc;
    }
  }
  for (int t = 0; t < TOKENS; t++) {
    uint64_t tok;
    MPI_Recv(&tok, 1, MPI_UINT64_T, (rank + n - 1) % n, 0, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    token_sum += tok;
  }
  {
    uint64_t h = 1469598103934665603ULL, all = 0;
    for (size_t i = 0; i < words; i++)
      h = (h ^ a[i]) * 1099511628211ULL;
    h = mix(h ^ token_sum ^ ((uint64_t)rank << 56));
    MPI_Reduce(&h, &all, 1, MPI_UINT64_T, MPI_BXOR, 0, MPI_COMM_WORLD);
    if (rank == 0)
      printf("ANSWER %016llx\n", (unsigned long long)all);
  }
  check(mpisnap_finalize(), "mpisnap_finalize");
  if (rank == 0) {
    printf("COMMITTED %d\n", mpisnap_last_committed());
    if (req)
      printf("REQUESTS %ld WHILE_WRITING %ld RECORDED %ld\n", requests,
             pending, recorded);
  }
  free(a);
  MPI_Finalize();
  return 0;
}
