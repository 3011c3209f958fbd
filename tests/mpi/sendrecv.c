/*
 * sendrecv: MPI_Sendrecv and MPI_Sendrecv_replace.
 *
 *   - Around the ring at every shift k (send to rank+k, receive from
 *     rank-k), with different send and receive tags and a receive buffer
 *     larger than the message, checking data and status.
 *   - The same with MPI_ANY_SOURCE and MPI_ANY_TAG on the receive side.
 *   - A non-periodic chain where the ends talk to MPI_PROC_NULL.
 *   - MPI_Sendrecv_replace around the ring, with ints and with a strided
 *     vector type (the gaps must stay untouched).
 * Works with 2 or more ranks.
 */
#include "mpitest.h"

enum { N = 6, ROUNDS = 4 };

static int value(int src, int k, int i) { return src * 10000 + k * 100 + i; }

static void shifts(int round)
{
  for (int k = 1; k < mt_size; k++) {
    int to = (mt_rank + k) % mt_size, from = (mt_rank - k + mt_size) % mt_size;
    int out[N], in[N + 4];
    MPI_Status st;
    for (int i = 0; i < N; i++)
      out[i] = value(mt_rank, k, i + round);
    for (int i = 0; i < N + 4; i++)
      in[i] = -1;
    /* Send tag 100+k; the receiver asks for the same tag as its own k. */
    MPI_Sendrecv(out, N, MPI_INT, to, 100 + k, in, N + 4, MPI_INT, from,
                 100 + k, MPI_COMM_WORLD, &st);
    MT_EQ("Sendrecv: source", st.MPI_SOURCE, from);
    MT_EQ("Sendrecv: tag", st.MPI_TAG, 100 + k);
    MT_EQ("Sendrecv: count", mt_count(&st, MPI_INT), N);
    for (int i = 0; i < N; i++)
      MT_EQ("Sendrecv: value", in[i], value(from, k, i + round));
    MT_EQ("Sendrecv: buffer past the message untouched", in[N], -1);

    /* Different tags for the two halves; wildcards on the receive. */
    MPI_Sendrecv(out, 2, MPI_INT, to, 200 + k, in, N, MPI_INT,
                 MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
    MT_EQ("Sendrecv with wildcards: source", st.MPI_SOURCE, from);
    MT_EQ("Sendrecv with wildcards: tag", st.MPI_TAG, 200 + k);
    MT_EQ("Sendrecv with wildcards: count", mt_count(&st, MPI_INT), 2);
    MT_EQ("Sendrecv with wildcards: value", in[1], value(from, k, 1 + round));
    /* Keep the wildcard receives of one shift away from the next. */
    MPI_Barrier(MPI_COMM_WORLD);
  }
}

static void chain(int round)
{
  int up = mt_rank + 1 < mt_size ? mt_rank + 1 : MPI_PROC_NULL;
  int down = mt_rank > 0 ? mt_rank - 1 : MPI_PROC_NULL;
  int out = value(mt_rank, 0, round), in = -1;
  MPI_Status st;
  MPI_Sendrecv(&out, 1, MPI_INT, up, 5, &in, 1, MPI_INT, down, 5,
               MPI_COMM_WORLD, &st);
  if (down == MPI_PROC_NULL) {
    MT_EQ("chain end: source", st.MPI_SOURCE, MPI_PROC_NULL);
    MT_EQ("chain end: tag", st.MPI_TAG, MPI_ANY_TAG);
    MT_EQ("chain end: count", mt_count(&st, MPI_INT), 0);
    MT_EQ("chain end: buffer untouched", in, -1);
  } else {
    MT_EQ("chain: source", st.MPI_SOURCE, down);
    MT_EQ("chain: value", in, value(down, 0, round));
  }
}

static void replace(MPI_Datatype vec, int round)
{
  int right = (mt_rank + 1) % mt_size, left = (mt_rank - 1 + mt_size) % mt_size;
  int buf[N], strided[2 * N];
  MPI_Status st;

  for (int i = 0; i < N; i++)
    buf[i] = value(mt_rank, 1, i + round);
  MPI_Sendrecv_replace(buf, N, MPI_INT, right, 6, left, 6, MPI_COMM_WORLD, &st);
  MT_EQ("Sendrecv_replace: source", st.MPI_SOURCE, left);
  MT_EQ("Sendrecv_replace: tag", st.MPI_TAG, 6);
  for (int i = 0; i < N; i++)
    MT_EQ("Sendrecv_replace: value", buf[i], value(left, 1, i + round));

  /* Every other int travels; the ints in between are not touched. */
  for (int i = 0; i < 2 * N; i++)
    strided[i] = i % 2 == 0 ? value(mt_rank, 2, i + round) : -5;
  MPI_Sendrecv_replace(strided, 1, vec, right, 7, MPI_ANY_SOURCE, 7,
                       MPI_COMM_WORLD, &st);
  MT_EQ("Sendrecv_replace (vector): source", st.MPI_SOURCE, left);
  for (int i = 0; i < 2 * N; i++)
    MT_EQ("Sendrecv_replace (vector): slot", strided[i],
          i % 2 == 0 ? value(left, 2, i + round) : -5);
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "sendrecv");
  mt_need_ranks(2);

  MPI_Datatype vec;
  MPI_Type_vector(N, 1, 2, MPI_INT, &vec);
  MPI_Type_commit(&vec);

  for (int round = 0; round < ROUNDS; round++) {
    shifts(round);
    chain(round);
    replace(vec, round);
  }

  MPI_Type_free(&vec);
  return mt_done();
}
