/*
 * truncate: a message longer than its receive, with MPI_ERRORS_RETURN set
 * on the communicator by the program after MPI_Init.
 *
 *   - MPI_Recv returns an error of class MPI_ERR_TRUNCATE, and nothing is
 *     written beyond the receive buffer.  What the buffer holds is not
 *     specified (MPI 3.1, 3.2.4 only names the overflow error): Open MPI
 *     fills it with what fits, MPICH leaves it untouched.
 *   - MPI_Irecv + MPI_Wait: the same, from MPI_Wait.
 *   - the program goes on: an ordinary exchange afterwards works.
 * With the default handler (MPI_ERRORS_ARE_FATAL) the job would abort; the
 * layer must raise the error on the program's communicator, not on its own.
 * Works with 2 or more ranks (pairs 0-1 exchange; others only barrier).
 */
#include "mpitest.h"

enum { ROUNDS = 6, TAG = 9 };

static int err_class(int rc)
{
  int cls = -1;
  MPI_Error_class(rc, &cls);
  return cls;
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "truncate");
  mt_need_ranks(2);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);

  for (int round = 0; round < ROUNDS; round++) {
    int out[4] = {round, round + 1, round + 2, round + 3}, in[4] = {-1, -1, -1, -1};
    MPI_Request r;
    MPI_Status st;
    int rc;

    if (mt_rank == 0) {
      MPI_Send(out, 4, MPI_INT, 1, TAG, MPI_COMM_WORLD);
      MPI_Send(out, 4, MPI_INT, 1, TAG, MPI_COMM_WORLD);
      MPI_Send(out, 1, MPI_INT, 1, TAG + 1, MPI_COMM_WORLD);
    } else if (mt_rank == 1) {
      rc = MPI_Recv(in, 2, MPI_INT, 0, TAG, MPI_COMM_WORLD, &st);
      MT_EQ("MPI_Recv of a longer message: error class", err_class(rc),
            MPI_ERR_TRUNCATE);
      MT_EQ("MPI_Recv of a longer message: beyond the count", in[2], -1);
      MT_EQ("MPI_Recv of a longer message: status source", st.MPI_SOURCE, 0);

      in[0] = in[1] = -1;
      MPI_Irecv(in, 2, MPI_INT, 0, TAG, MPI_COMM_WORLD, &r);
      rc = MPI_Wait(&r, &st);
      MT_EQ("MPI_Wait of a truncated receive: error class", err_class(rc),
            MPI_ERR_TRUNCATE);
      MT_EQ("MPI_Wait of a truncated receive: beyond the count", in[2], -1);

      rc = MPI_Recv(in, 4, MPI_INT, 0, TAG + 1, MPI_COMM_WORLD, &st);
      MT_EQ("a receive after the errors: return code", rc, MPI_SUCCESS);
      MT_EQ("a receive after the errors: value", in[0], round);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  return mt_done();
}
