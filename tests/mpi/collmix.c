/*
 * collmix: the program's own collectives mixed with point-to-point traffic.
 *
 * In every iteration, around the ring:
 *   - a nonblocking MPI_Iallreduce completed by one MPI_Waitall together with
 *     a receive and a send;
 *   - a receive posted before a blocking MPI_Allreduce and matched by a send
 *     made after it;
 *   - MPI_Bcast from a rotating root between two point-to-point exchanges;
 *   - an MPI_Ibarrier completed by MPI_Waitany together with a receive;
 *   - MPI_Barrier.
 * All results are checked exactly.  Works with 2 or more ranks.
 */
#include "mpitest.h"

enum { ITER = 20 };

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "collmix");
  mt_need_ranks(2);
  int right = (mt_rank + 1) % mt_size, left = (mt_rank - 1 + mt_size) % mt_size;
  long ranksum = (long)mt_size * (mt_size - 1) / 2;

  for (int it = 0; it < ITER; it++) {
    /* Iallreduce in one Waitall with point-to-point requests. */
    long mine = mt_rank + it, sum = -1;
    int out = mt_rank * 1000 + it, in = -1;
    MPI_Request req[3];
    MPI_Status st[3];
    MPI_Irecv(&in, 1, MPI_INT, left, 1, MPI_COMM_WORLD, &req[0]);
    MPI_Iallreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD, &req[1]);
    MPI_Isend(&out, 1, MPI_INT, right, 1, MPI_COMM_WORLD, &req[2]);
    MPI_Waitall(3, req, st);
    MT_EQ("Iallreduce: sum", sum, ranksum + (long)mt_size * it);
    MT_EQ("receive next to Iallreduce: value", in, left * 1000 + it);
    MT_EQ("receive next to Iallreduce: source", st[0].MPI_SOURCE, left);
    for (int k = 0; k < 3; k++)
      MT_CHECK(req[k] == MPI_REQUEST_NULL, "Waitall left request %d active", k);

    /* A receive pending across a blocking Allreduce. */
    MPI_Irecv(&in, 1, MPI_INT, left, 2, MPI_COMM_WORLD, &req[0]);
    long got = -1;
    MPI_Allreduce(&mine, &got, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
    MT_EQ("Allreduce: max", got, mt_size - 1 + it);
    out = mt_rank * 1000 + it + 1;
    MPI_Isend(&out, 1, MPI_INT, right, 2, MPI_COMM_WORLD, &req[1]);
    MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
    MT_EQ("receive across Allreduce: value", in, left * 1000 + it + 1);

    /* Bcast from a rotating root, between point-to-point exchanges in
     * both directions. */
    int root = it % mt_size, b = root == mt_rank ? 500 + it : -1;
    MPI_Sendrecv(&out, 1, MPI_INT, left, 3, &in, 1, MPI_INT, right, 3,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MT_EQ("exchange before Bcast: value", in, right * 1000 + it + 1);
    MPI_Bcast(&b, 1, MPI_INT, root, MPI_COMM_WORLD);
    MT_EQ("Bcast: value", b, 500 + it);
    MPI_Sendrecv(&b, 1, MPI_INT, right, 4, &in, 1, MPI_INT, left, 4,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MT_EQ("exchange after Bcast: value", in, 500 + it);

    /* Ibarrier and a receive in one Waitany loop; the message is sent only
     * after this rank has started the barrier. */
    int idx, done = 0;
    MPI_Irecv(&in, 1, MPI_INT, left, 5, MPI_COMM_WORLD, &req[0]);
    MPI_Ibarrier(MPI_COMM_WORLD, &req[1]);
    MPI_Isend(&out, 1, MPI_INT, right, 5, MPI_COMM_WORLD, &req[2]);
    for (int k = 0; k < 3; k++) {
      MPI_Waitany(3, req, &idx, MPI_STATUS_IGNORE);
      MT_CHECK(idx >= 0 && idx < 3 && !(done & (1 << idx)),
               "Waitany with Ibarrier returned index %d (again?)", idx);
      done |= 1 << idx;
    }
    MT_EQ("receive next to Ibarrier: value", in, left * 1000 + it + 1);

    /* The sum of what everyone received equals the sum of what was sent. */
    long recvd = in, total = -1;
    MPI_Allreduce(&recvd, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    MT_EQ("Allreduce of received values", total,
          1000 * ranksum + (long)mt_size * (it + 1));
    MPI_Barrier(MPI_COMM_WORLD);
  }

  return mt_done();
}
