/*
 * idle: a rank blocked for a long time in a receive does not keep its core
 * busy for mpisnap's sake (issue 3, "Progress").
 *
 * Rank 0 sleeps a second before each send; rank 1 waits for the message in
 * four ways (MPI_Recv, MPI_Irecv + MPI_Wait, MPI_Probe + MPI_Recv, and a
 * persistent receive, the last two matched by the layer itself) and
 * measures the CPU time it used during each wait.  Plain Open MPI spins at
 * 100% in all four, so this program is run only with mpisnap.
 */
#include "mpitest.h"

#include <sys/resource.h>
#include <time.h>

enum { WAYS = 4, TAG = 5 };
static const char *way_name[WAYS] = {"MPI_Recv", "MPI_Irecv+MPI_Wait",
                                     "MPI_Probe+MPI_Recv", "MPI_Start+MPI_Wait"};

static double cpu_seconds(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
         (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static void wait_for(int way, int *in)
{
  MPI_Request r;
  MPI_Status st;

  switch (way) {
  case 0:
    MPI_Recv(in, 1, MPI_INT, 0, TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    break;
  case 1:
    MPI_Irecv(in, 1, MPI_INT, 0, TAG, MPI_COMM_WORLD, &r);
    MPI_Wait(&r, MPI_STATUS_IGNORE);
    break;
  case 2:
    MPI_Probe(MPI_ANY_SOURCE, TAG, MPI_COMM_WORLD, &st);
    MPI_Recv(in, 1, MPI_INT, st.MPI_SOURCE, TAG, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    break;
  default:
    MPI_Recv_init(in, 1, MPI_INT, 0, TAG, MPI_COMM_WORLD, &r);
    MPI_Start(&r);
    MPI_Wait(&r, MPI_STATUS_IGNORE);
    MPI_Request_free(&r);
    break;
  }
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "idle");
  mt_need_ranks(2);

  for (int way = 0; way < WAYS; way++) {
    int out = 100 + way, in = -1;
    MPI_Barrier(MPI_COMM_WORLD);
    if (mt_rank == 0) {
      struct timespec second = {1, 0};
      nanosleep(&second, NULL);
      MPI_Send(&out, 1, MPI_INT, 1, TAG, MPI_COMM_WORLD);
    } else if (mt_rank == 1) {
      double w0 = MPI_Wtime(), c0 = cpu_seconds(), wall, cpu;
      wait_for(way, &in);
      wall = MPI_Wtime() - w0;
      cpu = cpu_seconds() - c0;
      MT_EQ(way_name[way], in, 100 + way);
      printf("idle: %s waited %.2f s using %.2f s of CPU\n", way_name[way],
             wall, cpu);
      MT_CHECK(wall > 0.5, "%s returned after %.2f s, before its message was "
               "sent", way_name[way], wall);
      MT_CHECK(cpu < 0.5 * wall, "%s kept the core busy: %.2f s of CPU in "
               "%.2f s of waiting", way_name[way], cpu, wall);
    }
  }
  return mt_done();
}
