/*
 * comms: point-to-point on communicators other than MPI_COMM_WORLD.
 *
 *   - MPI_Comm_split into even and odd world ranks (ordered backwards by a
 *     negative key), then a ring inside each half.
 *   - MPI_Cart_create of a 1-D periodic grid, neighbours from MPI_Cart_shift.
 *   - MPI_Comm_dup: messages on the duplicate and on the original with the
 *     same source and tag never match each other's receives.
 *   - MPI_Intercomm_create between the even and odd halves: every rank
 *     sends to the rank of the same index in the other group (ranks without
 *     a partner send to the other group's rank 0) and receives from
 *     MPI_ANY_SOURCE, checking the source names the right remote rank;
 *     then MPI_Intercomm_merge, and a ring on the merged communicator.
 *   - MPI_TAG_UB is at least 32767, and that largest tag works.
 * Every communicator is released with MPI_Comm_free.  Works with 2 or more
 * ranks (with 2, each half of the split has one rank and talks to itself).
 */
#include "mpitest.h"

enum { ROUNDS = 5 };

/* Sends to the rank after this one in comm and receives from the one
 * before, checking that the value names the sender and the round. */
static void ring(MPI_Comm comm, int to, int from, int tag, int round,
                 const char *what)
{
  int me, out, in = -1;
  MPI_Request s;
  MPI_Status st;
  MPI_Comm_rank(comm, &me);
  out = me * 100 + round;
  MPI_Isend(&out, 1, MPI_INT, to, tag, comm, &s);
  MPI_Recv(&in, 1, MPI_INT, from, tag, comm, &st);
  MPI_Wait(&s, MPI_STATUS_IGNORE);
  MT_CHECK(in == from * 100 + round,
           "%s: got %d from rank %d of the communicator, want %d", what, in,
           from, from * 100 + round);
  MT_CHECK(st.MPI_SOURCE == from,
           "%s: status source %d, want %d (a rank of the communicator, not "
           "of MPI_COMM_WORLD)", what, st.MPI_SOURCE, from);
  MT_EQ("status tag", st.MPI_TAG, tag);
}

static void split(int round)
{
  MPI_Comm half;
  int color = mt_rank % 2, hrank, hsize;
  /* Key -rank: the highest world rank of each half becomes its rank 0. */
  MPI_Comm_split(MPI_COMM_WORLD, color, -mt_rank, &half);
  MPI_Comm_rank(half, &hrank);
  MPI_Comm_size(half, &hsize);
  int want_size = color == 0 ? (mt_size + 1) / 2 : mt_size / 2;
  MT_EQ("split: size of my half", hsize, want_size);
  MT_EQ("split: my rank in my half", hrank, want_size - 1 - mt_rank / 2);
  ring(half, (hrank + 1) % hsize, (hrank - 1 + hsize) % hsize, 1, round,
       "split ring");
  /* A wildcard receive on the half sees only messages of the half. */
  int out = mt_rank, in = -1;
  MPI_Status st;
  MPI_Sendrecv(&out, 1, MPI_INT, (hrank + 1) % hsize, 2, &in, 1, MPI_INT,
               MPI_ANY_SOURCE, MPI_ANY_TAG, half, &st);
  MT_EQ("split: wildcard receive got a world rank of the same parity",
        in % 2, color);
  MPI_Comm_free(&half);
  MT_CHECK(half == MPI_COMM_NULL, "Comm_free did not set MPI_COMM_NULL");
}

static void cart(int round)
{
  MPI_Comm grid;
  int dims[1] = {mt_size}, periods[1] = {1}, src, dst, me;
  MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &grid);
  MPI_Comm_rank(grid, &me);
  MPI_Cart_shift(grid, 0, 1, &src, &dst);
  MT_EQ("Cart_shift: destination", dst, (me + 1) % mt_size);
  MT_EQ("Cart_shift: source", src, (me - 1 + mt_size) % mt_size);
  ring(grid, dst, src, 3, round, "cartesian shift +1");
  /* And the other way, shifting by -1. */
  MPI_Cart_shift(grid, 0, -1, &src, &dst);
  ring(grid, dst, src, 3, round, "cartesian shift -1");
  MPI_Comm_free(&grid);
}

static void duplicate(int round)
{
  MPI_Comm copy;
  int right = (mt_rank + 1) % mt_size, left = (mt_rank - 1 + mt_size) % mt_size;
  int a = 1000 + mt_rank, b = 2000 + mt_rank, in = -1;
  MPI_Request s[2];
  MPI_Status st;

  MPI_Comm_dup(MPI_COMM_WORLD, &copy);
  /* Same destination and tag on both communicators; the world message is
   * sent first but the duplicate's receive must not take it. */
  MPI_Isend(&a, 1, MPI_INT, right, 4, MPI_COMM_WORLD, &s[0]);
  MPI_Isend(&b, 1, MPI_INT, right, 4, copy, &s[1]);
  MPI_Recv(&in, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, copy, &st);
  MT_EQ("Comm_dup: the duplicate's receive got", in, 2000 + left);
  MPI_Recv(&in, 1, MPI_INT, left, 4, MPI_COMM_WORLD, &st);
  MT_EQ("Comm_dup: the original's receive got", in, 1000 + left);
  MPI_Waitall(2, s, MPI_STATUSES_IGNORE);
  ring(copy, right, left, 5, round, "ring on the duplicate");
  MPI_Comm_free(&copy);
}

/* Which remote ranks send to local rank `me` of a group, when every rank
 * of the other group (of size `other`) sends to the same index here, or to
 * rank 0 if this group is smaller. */
static int expected_from(int me, int mine, int other, int from[])
{
  int n = 0;
  for (int r = 0; r < other; r++)
    if ((r < mine ? r : 0) == me)
      from[n++] = r;
  return n;
}

static void inter(int round)
{
  MPI_Comm half, ic, merged;
  int color = mt_rank % 2, lrank, lsize, rsize, mrank, msize, from[8], n;
  int out, in = -1, got = 0;
  MPI_Request s;
  MPI_Status st;

  MPI_Comm_split(MPI_COMM_WORLD, color, mt_rank, &half);
  MPI_Comm_rank(half, &lrank);
  MPI_Comm_size(half, &lsize);
  /* Local leader: rank 0 of each half; remote leader in world: 1 - color. */
  MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, 1 - color, 77 + round, &ic);
  MPI_Comm_remote_size(ic, &rsize);
  MT_EQ("intercommunicator: remote size", rsize, mt_size / 2 + (color == 0 ? 0 : mt_size % 2));
  out = 100 * round + 10 * color + lrank;
  MPI_Isend(&out, 1, MPI_INT, lrank < rsize ? lrank : 0, 6, ic, &s);
  n = expected_from(lrank, lsize, rsize, from);
  for (int k = 0; k < n; k++) {
    MPI_Recv(&in, 1, MPI_INT, MPI_ANY_SOURCE, 6, ic, &st);
    MT_EQ("intercommunicator: value names its sender", in,
          100 * round + 10 * (1 - color) + st.MPI_SOURCE);
    for (int j = 0; j < n; j++)
      got += from[j] == st.MPI_SOURCE;
  }
  MT_EQ("intercommunicator: messages from the expected remote ranks", got, n);
  MPI_Wait(&s, MPI_STATUS_IGNORE);

  MPI_Intercomm_merge(ic, color, &merged);
  MPI_Comm_rank(merged, &mrank);
  MPI_Comm_size(merged, &msize);
  MT_EQ("Intercomm_merge: size", msize, mt_size);
  {
    int right = (mrank + 1) % msize, left = (mrank - 1 + msize) % msize;
    int v = 500 + mrank;
    MPI_Sendrecv(&v, 1, MPI_INT, right, 7, &in, 1, MPI_INT, left, 7, merged,
                 MPI_STATUS_IGNORE);
    MT_EQ("Intercomm_merge: ring value", in, 500 + left);
  }
  MPI_Comm_free(&merged);
  MPI_Comm_free(&ic);
  MPI_Comm_free(&half);
}

static void tag_ub(void)
{
  int *ub = NULL, flag = 0;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag);
  MT_CHECK(flag && ub, "MPI_TAG_UB attribute missing on MPI_COMM_WORLD");
  MT_CHECK(*ub >= 32767, "MPI_TAG_UB is %d, below the 32767 MPI guarantees",
           *ub);
  int right = (mt_rank + 1) % mt_size, left = (mt_rank - 1 + mt_size) % mt_size;
  int out = mt_rank, in = -1;
  MPI_Status st;
  MPI_Sendrecv(&out, 1, MPI_INT, right, *ub, &in, 1, MPI_INT, left, *ub,
               MPI_COMM_WORLD, &st);
  MT_EQ("message with tag MPI_TAG_UB: value", in, left);
  MT_EQ("message with tag MPI_TAG_UB: status tag", st.MPI_TAG, *ub);
  MPI_Sendrecv(&out, 1, MPI_INT, right, *ub, &in, 1, MPI_INT, left,
               MPI_ANY_TAG, MPI_COMM_WORLD, &st);
  MT_EQ("tag MPI_TAG_UB via ANY_TAG: status tag", st.MPI_TAG, *ub);
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "comms");
  mt_need_ranks(2);

  for (int round = 0; round < ROUNDS; round++) {
    split(round);
    cart(round);
    duplicate(round);
    inter(round);
  }
  tag_ub();

  return mt_done();
}
