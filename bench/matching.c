/*
 * The floor of a message path: the 8-byte half round trip of plain MPI
 * receives, each way of receiving measured on its own, with no mpisnap in
 * the program (link with MPI alone).  It answers one question for the
 * interception layer's design (brief section 4): how close to a plain
 * MPI_Recv can a layer get that reads each shadow communicator with
 * MPI_Improbe on MPI_ANY_SOURCE/MPI_ANY_TAG and MPI_Mrecv (the library's
 * path today), against one that keeps MPI's own matching (MPI_Irecv and a
 * wait beside a standing control receive, the two-shadow design)?
 *
 *   recv      MPI_Recv(source, tag)                     the baseline
 *   improbe   MPI_Improbe(ANY_SOURCE, ANY_TAG) until found, MPI_Mrecv
 *   irecv2    MPI_Irecv(source, tag) + MPI_Waitany with a standing
 *             MPI_Irecv of a control tag that never arrives
 *
 * The ways alternate inside every repetition, in a rotating order; the
 * table gives the median half round trip and the median of the
 * per-repetition ratios to recv.  Run on two ranks:
 *   mpirun -n 2 build/bench/mpisnap-bench-matching [--reps N] [--iters N]
 */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { RECV, IMPROBE, IRECV2, NWAYS };
static const char *names[NWAYS] = {"recv", "improbe", "irecv2"};
enum { TAG = 7, CTRL_TAG = 9, MAX_REPS = 99 };

static void receive(int way, char *buf, int peer, MPI_Request *ctrl)
{
  MPI_Status st;
  if (way == RECV) {
    MPI_Recv(buf, 8, MPI_BYTE, peer, TAG, MPI_COMM_WORLD, &st);
  } else if (way == IMPROBE) {
    MPI_Message m;
    int flag = 0;
    while (!flag)
      MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &m, &st);
    MPI_Mrecv(buf, 8, MPI_BYTE, &m, &st);
  } else {
    MPI_Request rq[2];
    int idx;
    rq[0] = *ctrl;
    MPI_Irecv(buf, 8, MPI_BYTE, peer, TAG, MPI_COMM_WORLD, &rq[1]);
    MPI_Waitany(2, rq, &idx, &st);
    if (idx != 1) {
      fprintf(stderr, "matching: the control receive completed\n");
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
}

/* Seconds per half round trip of n ping-pongs received the given way. */
static double pingpong(int way, int rank, int n, MPI_Request *ctrl)
{
  char buf[8] = {0};
  int peer = 1 - rank;
  MPI_Barrier(MPI_COMM_WORLD);
  double t = MPI_Wtime();
  for (int i = 0; i < n; i++) {
    if (rank == 0) {
      MPI_Send(buf, 8, MPI_BYTE, peer, TAG, MPI_COMM_WORLD);
      receive(way, buf, peer, ctrl);
    } else {
      receive(way, buf, peer, ctrl);
      MPI_Send(buf, 8, MPI_BYTE, peer, TAG, MPI_COMM_WORLD);
    }
  }
  t = MPI_Wtime() - t;
  MPI_Bcast(&t, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return t / (2.0 * n);
}

int main(int argc, char **argv)
{
  int rank, size, reps = 15, iters = 100000;
  double t[NWAYS][MAX_REPS], ratio[NWAYS][MAX_REPS];
  MPI_Request ctrl;
  char cbuf[8];

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
      iters = atoi(argv[++i]);
    else {
      if (rank == 0)
        fprintf(stderr, "usage: mpirun -n 2 %s [--reps N (1..%d)] [--iters N]\n",
                argv[0], MAX_REPS);
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
  }
  if (size != 2 || reps < 1 || reps > MAX_REPS || iters < 1) {
    if (rank == 0)
      fprintf(stderr, "matching: needs 2 ranks, 1..%d reps and iters >= 1\n",
              MAX_REPS);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  /* The standing control receive of the irecv2 way: nothing ever matches
   * it; it is cancelled at the end. */
  MPI_Irecv(cbuf, 8, MPI_BYTE, 1 - rank, CTRL_TAG, MPI_COMM_WORLD, &ctrl);

  for (int w = 0; w < NWAYS; w++)
    pingpong(w, rank, iters / 10 + 1, &ctrl); /* warm-up */
  for (int r = 0; r < reps; r++) {
    for (int k = 0; k < NWAYS; k++) {
      int w = (r + k) % NWAYS;
      t[w][r] = pingpong(w, rank, iters, &ctrl);
    }
    for (int w = 0; w < NWAYS; w++)
      ratio[w][r] = t[w][r] / t[RECV][r];
  }
  MPI_Cancel(&ctrl);
  MPI_Wait(&ctrl, MPI_STATUS_IGNORE);

  if (rank == 0) {
    struct bench_run run;
    bench_describe(&run);
    printf("# 8-byte half round trip by way of receiving, 2 ranks, %s\n", run.mpi);
    printf("# host %s, %s\n", run.host, run.date);
    printf("# medians of %d rotating repetitions of %d ping-pongs each\n", reps,
           iters);
    printf("# %-8s %10s %10s\n", "way", "half_rt_us", "vs_recv");
    for (int w = 0; w < NWAYS; w++)
      printf("  %-8s %10.3f %10.3f\n", names[w], 1e6 * bench_median(t[w], reps),
             bench_median(ratio[w], reps));
  }
  MPI_Finalize();
  return 0;
}
