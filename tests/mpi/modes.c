/*
 * modes: the four send modes, blocking and nonblocking.
 *
 * Every rank sends to its right neighbour and receives from its left one.
 *   - MPI_Ssend and MPI_Issend: an Issend whose receive is not posted yet
 *     must not complete (the receive is posted only after a barrier).
 *   - MPI_Rsend and MPI_Irsend: the receiver posts MPI_Irecv, then all ranks
 *     pass a barrier, then the sender sends in ready mode.
 *   - MPI_Bsend and MPI_Ibsend with MPI_Buffer_attach: buffered sends
 *     complete with no receive posted (the receives come after a barrier);
 *     MPI_Buffer_detach gives the buffer back.
 *   - All modes on one channel and tag keep their order.
 * Works with 2 or more ranks.
 */
#include "mpitest.h"

enum { NB = 8, NMIX = 7 };

static int left, right;

static int value(int src, int round, int k) { return src * 10000 + round * 100 + k; }

static void synchronous(int round)
{
  int out = value(mt_rank, round, 1), in = -1, flag = 1;
  MPI_Request r, s;
  MPI_Status st;

  /* Blocking Ssend into a posted receive. */
  MPI_Irecv(&in, 1, MPI_INT, left, 1, MPI_COMM_WORLD, &r);
  MPI_Ssend(&out, 1, MPI_INT, right, 1, MPI_COMM_WORLD);
  MPI_Wait(&r, &st);
  MT_EQ("Ssend: value", in, value(left, round, 1));

  /* Issend into a receive posted only after the barrier.  Plain MPI would
   * not let it complete before that; under mpisnap it may, once the
   * receiver's progress has taken the message off the network (a known
   * deviation, docs/DESIGN.md "Synchronous sends"), so the test checks the
   * data and the request's completion, not the timing. */
  MPI_Issend(&out, 1, MPI_INT, right, 2, MPI_COMM_WORLD, &s);
  MPI_Test(&s, &flag, MPI_STATUS_IGNORE);
  MT_CHECK(flag || s != MPI_REQUEST_NULL,
           "Issend request freed before completion");
  MPI_Barrier(MPI_COMM_WORLD);
  in = -1;
  MPI_Recv(&in, 1, MPI_INT, left, 2, MPI_COMM_WORLD, &st);
  MPI_Wait(&s, MPI_STATUS_IGNORE);
  MT_EQ("Issend: value", in, value(left, round, 1));
}

static void ready(int round)
{
  int out = value(mt_rank, round, 2), in[2] = {-1, -1};
  MPI_Request r[2], s;
  MPI_Status st[2];

  /* Both receives are posted before anyone passes the barrier, so both
   * ready-mode sends find them. */
  MPI_Irecv(&in[0], 1, MPI_INT, left, 3, MPI_COMM_WORLD, &r[0]);
  MPI_Irecv(&in[1], 1, MPI_INT, left, 4, MPI_COMM_WORLD, &r[1]);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Rsend(&out, 1, MPI_INT, right, 3, MPI_COMM_WORLD);
  MPI_Irsend(&out, 1, MPI_INT, right, 4, MPI_COMM_WORLD, &s);
  MPI_Waitall(2, r, st);
  MPI_Wait(&s, MPI_STATUS_IGNORE);
  MT_EQ("Rsend: value", in[0], value(left, round, 2));
  MT_EQ("Irsend: value", in[1], value(left, round, 2));
  MT_EQ("Rsend: tag", st[0].MPI_TAG, 3);
  MT_EQ("Irsend: tag", st[1].MPI_TAG, 4);
}

static void buffered(int round)
{
  int pack = 0, out[NB], in = -1;
  MPI_Pack_size(1, MPI_INT, MPI_COMM_WORLD, &pack);
  int size = NB * (pack + MPI_BSEND_OVERHEAD);
  char *buf = malloc((size_t)size);
  MPI_Request s[NB / 2];
  MPI_Status st;

  MPI_Buffer_attach(buf, size);
  /* Half Bsend, half Ibsend, all with no receive posted yet. */
  for (int k = 0; k < NB; k++) {
    out[k] = value(mt_rank, round, 10 + k);
    if (k % 2 == 0)
      MPI_Bsend(&out[k], 1, MPI_INT, right, 5, MPI_COMM_WORLD);
    else
      MPI_Ibsend(&out[k], 1, MPI_INT, right, 5, MPI_COMM_WORLD, &s[k / 2]);
  }
  /* The buffered copies let every rank reach the barrier. */
  MPI_Waitall(NB / 2, s, MPI_STATUSES_IGNORE);
  MPI_Barrier(MPI_COMM_WORLD);
  for (int k = 0; k < NB; k++) {
    MPI_Recv(&in, 1, MPI_INT, left, 5, MPI_COMM_WORLD, &st);
    MT_EQ("Bsend/Ibsend: value (order)", in, value(left, round, 10 + k));
  }

  void *back = NULL;
  int back_size = 0;
  MPI_Buffer_detach(&back, &back_size);
  MT_CHECK(back == buf, "Buffer_detach returned another address");
  MT_EQ("Buffer_detach: size", back_size, size);
  free(buf);
}

/* Every mode on one channel and one tag: the receiver sees the send order. */
static void mixed(int round)
{
  int pack = 0, out[NMIX], in[NMIX];
  MPI_Pack_size(1, MPI_INT, MPI_COMM_WORLD, &pack);
  int size = 2 * (pack + MPI_BSEND_OVERHEAD);
  char *buf = malloc((size_t)size);
  MPI_Request r[NMIX], s[4];

  MPI_Buffer_attach(buf, size);
  for (int k = 0; k < NMIX; k++) {
    in[k] = -1;
    out[k] = value(mt_rank, round, 20 + k);
    MPI_Irecv(&in[k], 1, MPI_INT, left, 6, MPI_COMM_WORLD, &r[k]);
  }
  /* All receives are posted before the ready-mode sends below. */
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Bsend(&out[0], 1, MPI_INT, right, 6, MPI_COMM_WORLD);
  MPI_Isend(&out[1], 1, MPI_INT, right, 6, MPI_COMM_WORLD, &s[0]);
  MPI_Issend(&out[2], 1, MPI_INT, right, 6, MPI_COMM_WORLD, &s[1]);
  MPI_Rsend(&out[3], 1, MPI_INT, right, 6, MPI_COMM_WORLD);
  MPI_Ibsend(&out[4], 1, MPI_INT, right, 6, MPI_COMM_WORLD, &s[2]);
  MPI_Irsend(&out[5], 1, MPI_INT, right, 6, MPI_COMM_WORLD, &s[3]);
  MPI_Send(&out[6], 1, MPI_INT, right, 6, MPI_COMM_WORLD);
  MPI_Waitall(NMIX, r, MPI_STATUSES_IGNORE);
  MPI_Waitall(4, s, MPI_STATUSES_IGNORE);
  static const char *mode[NMIX] = {"Bsend", "Isend", "Issend", "Rsend",
                                   "Ibsend", "Irsend", "Send"};
  for (int k = 0; k < NMIX; k++)
    MT_CHECK(in[k] == value(left, round, 20 + k),
             "mixed modes: receive %d got %d, want the %s value %d", k, in[k],
             mode[k], value(left, round, 20 + k));

  void *back = NULL;
  int back_size = 0;
  MPI_Buffer_detach(&back, &back_size);
  free(buf);
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "modes");
  mt_need_ranks(2);
  right = (mt_rank + 1) % mt_size;
  left = (mt_rank - 1 + mt_size) % mt_size;

  for (int round = 0; round < 5; round++) {
    synchronous(round);
    ready(round);
    buffered(round);
    mixed(round);
  }

  return mt_done();
}
