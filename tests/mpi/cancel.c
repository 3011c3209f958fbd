/*
 * cancel: MPI_Cancel of receives and MPI_Request_free of active sends.
 *
 *   - A posted receive that nothing matches is cancelled: MPI_Wait (or a
 *     MPI_Test loop) completes it and MPI_Test_cancelled says true.  A
 *     message sent after the cancellation goes to the next receive instead.
 *   - A receive that has already matched (its sender's MPI_Ssend returned
 *     before a barrier) cannot be cancelled: MPI_Test_cancelled says false
 *     and the data is there.
 *   - A persistent receive can be cancelled and then started again.
 *   - An active send request released with MPI_Request_free still delivers.
 * Every rank sends to its right neighbour and receives from its left one;
 * works with 2 or more ranks.
 */
#include "mpitest.h"

enum { ROUNDS = 8, NEVER = 77, LATER = 78, MATCHED = 79, FREED = 80,
       PERSIST = 81 };

static int left, right;

static int cancelled(const MPI_Status *st)
{
  int flag = -1;
  MPI_Test_cancelled(st, &flag);
  return flag;
}

static void cancel_unmatched(int round)
{
  int in = -1, flag = 0, out = round;
  MPI_Request r;
  MPI_Status st;

  /* From a given source, with MPI_Wait. */
  MPI_Irecv(&in, 1, MPI_INT, left, NEVER, MPI_COMM_WORLD, &r);
  MPI_Cancel(&r);
  MPI_Wait(&r, &st);
  MT_EQ("cancelled receive: MPI_Test_cancelled", cancelled(&st), 1);
  MT_CHECK(r == MPI_REQUEST_NULL, "Wait on a cancelled receive left it active");
  MT_EQ("cancelled receive: buffer untouched", in, -1);

  /* From MPI_ANY_SOURCE, completed with a MPI_Test loop. */
  MPI_Irecv(&in, 1, MPI_INT, MPI_ANY_SOURCE, NEVER, MPI_COMM_WORLD, &r);
  MPI_Cancel(&r);
  while (!flag)
    MPI_Test(&r, &flag, &st);
  MT_EQ("cancelled ANY_SOURCE receive: MPI_Test_cancelled", cancelled(&st), 1);

  /* Cancelled before its message is sent (the send waits behind the
   * barrier): the message then goes to the next receive. */
  MPI_Irecv(&in, 1, MPI_INT, left, LATER, MPI_COMM_WORLD, &r);
  MPI_Cancel(&r);
  MPI_Wait(&r, &st);
  MT_EQ("cancelled receive before its send: MPI_Test_cancelled",
        cancelled(&st), 1);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Request s;
  MPI_Isend(&out, 1, MPI_INT, right, LATER, MPI_COMM_WORLD, &s);
  MPI_Recv(&in, 1, MPI_INT, left, LATER, MPI_COMM_WORLD, &st);
  MT_EQ("message after a cancelled receive: value", in, round);
  MT_EQ("message after a cancelled receive: cancelled flag", cancelled(&st), 0);
  MPI_Wait(&s, MPI_STATUS_IGNORE);
}

static void cancel_matched(int round)
{
  int in = -1, out = 1000 * mt_rank + round;
  MPI_Request r;
  MPI_Status st;

  MPI_Irecv(&in, 1, MPI_INT, left, MATCHED, MPI_COMM_WORLD, &r);
  /* Ssend returns only once the right neighbour's receive has matched. */
  MPI_Ssend(&out, 1, MPI_INT, right, MATCHED, MPI_COMM_WORLD);
  /* After the barrier the left neighbour's Ssend has returned too. */
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Cancel(&r);
  MPI_Wait(&r, &st);
  MT_EQ("cancel of a matched receive: MPI_Test_cancelled", cancelled(&st), 0);
  MT_EQ("cancel of a matched receive: value", in, 1000 * left + round);
  MT_EQ("cancel of a matched receive: source", st.MPI_SOURCE, left);
  MT_EQ("cancel of a matched receive: tag", st.MPI_TAG, MATCHED);
}

static void cancel_persistent(int round)
{
  int in = -1, out = 2000 * mt_rank + round;
  MPI_Request r;
  MPI_Status st;

  MPI_Recv_init(&in, 1, MPI_INT, left, PERSIST, MPI_COMM_WORLD, &r);
  MPI_Start(&r);
  MPI_Cancel(&r);
  MPI_Wait(&r, &st);
  MT_EQ("cancelled persistent receive: MPI_Test_cancelled", cancelled(&st), 1);
  MT_CHECK(r != MPI_REQUEST_NULL,
           "Wait on a cancelled persistent receive freed the request");
  /* Started again, it receives the message sent after the barrier. */
  MPI_Start(&r);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Send(&out, 1, MPI_INT, right, PERSIST, MPI_COMM_WORLD);
  MPI_Wait(&r, &st);
  MT_EQ("restarted persistent receive: cancelled flag", cancelled(&st), 0);
  MT_EQ("restarted persistent receive: value", in, 2000 * left + round);
  MPI_Request_free(&r);
}

static void free_active_send(int round)
{
  /* The buffer must stay valid until the send is done; nothing tells the
   * sender when, so each round has its own. */
  static int out[ROUNDS][4];
  int in[4] = {0};
  MPI_Request s;
  MPI_Status st;

  for (int k = 0; k < 4; k++)
    out[round][k] = 3000 * mt_rank + 10 * round + k;
  MPI_Isend(out[round], 4, MPI_INT, right, FREED, MPI_COMM_WORLD, &s);
  MPI_Request_free(&s);
  MT_CHECK(s == MPI_REQUEST_NULL,
           "Request_free of an active send did not set MPI_REQUEST_NULL");
  MPI_Recv(in, 4, MPI_INT, left, FREED, MPI_COMM_WORLD, &st);
  MT_EQ("freed send: count", mt_count(&st, MPI_INT), 4);
  for (int k = 0; k < 4; k++)
    MT_EQ("freed send: value", in[k], 3000 * left + 10 * round + k);
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "cancel");
  mt_need_ranks(2);
  right = (mt_rank + 1) % mt_size;
  left = (mt_rank - 1 + mt_size) % mt_size;

  for (int round = 0; round < ROUNDS; round++) {
    cancel_unmatched(round);
    cancel_matched(round);
    cancel_persistent(round);
    free_active_send(round);
  }

  return mt_done();
}
