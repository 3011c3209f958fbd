/*
 * sizes: the smallest and a large message.
 *
 * Zero-byte messages (count 0) must arrive as messages of their own, in
 * order, with MPI_Get_count 0 and the receive buffer untouched; a NULL buffer
 * with count 0 is accepted too.  16 MiB messages (far above any eager limit)
 * must arrive intact, checked word by word against a pattern, both with
 * blocking MPI_Send/MPI_Recv and with MPI_Isend/MPI_Irecv.  Every rank sends
 * to its right neighbour and receives from its left one; works with 2 or
 * more ranks.
 */
#include <stdint.h>
#include <string.h>

#include "mpitest.h"

enum { NZERO = 20, BIG = 16 << 20, NBIG = BIG / 4 };

static int left, right;

/* The pattern of big message 'which' from rank src. */
static uint32_t pattern(int src, int which, uint32_t i)
{
  return i * 2654435761u + (uint32_t)src * 7919u + (uint32_t)which;
}

static void fill(uint32_t *buf, int which)
{
  for (uint32_t i = 0; i < NBIG; i++)
    buf[i] = pattern(mt_rank, which, i);
}

static void check_big(const char *how, const uint32_t *buf,
                      const MPI_Status *st, int which)
{
  MT_EQ("big message: source", st->MPI_SOURCE, left);
  MT_EQ("big message: byte count", mt_count(st, MPI_BYTE), BIG);
  for (uint32_t i = 0; i < NBIG; i++)
    MT_CHECK(buf[i] == pattern(left, which, i),
             "%s: 16 MiB message, word %u is %u, want %u", how, (unsigned)i,
             (unsigned)buf[i], (unsigned)pattern(left, which, i));
}

/* Zero-byte messages, blocking and nonblocking. */
static void zero_bytes(void)
{
  int in[4] = {-1, -1, -1, -1}, out = 42;
  MPI_Status st;
  MPI_Request req[NZERO];

  /* NZERO empty messages with tags 0.. in order, and one empty message
   * from a NULL buffer; their tags are all that tells them apart. */
  for (int t = 0; t < NZERO; t++)
    MPI_Isend(&out, 0, MPI_INT, right, t, MPI_COMM_WORLD, &req[t]);
  MPI_Send(NULL, 0, MPI_BYTE, right, NZERO, MPI_COMM_WORLD);
  for (int t = 0; t <= NZERO; t++) {
    MPI_Recv(in, 4, MPI_INT, left, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
    MT_EQ("empty message: tag (order)", st.MPI_TAG, t);
    MT_EQ("empty message: source", st.MPI_SOURCE, left);
    MT_EQ("empty message: MPI_Get_count", mt_count(&st, MPI_INT), 0);
    MT_EQ("empty message: buffer untouched", in[0], -1);
  }
  MPI_Waitall(NZERO, req, MPI_STATUSES_IGNORE);

  /* Nonblocking empty receive into a NULL buffer. */
  MPI_Request r, s;
  MPI_Irecv(NULL, 0, MPI_INT, left, 99, MPI_COMM_WORLD, &r);
  MPI_Isend(&out, 0, MPI_INT, right, 99, MPI_COMM_WORLD, &s);
  MPI_Wait(&r, &st);
  MPI_Wait(&s, MPI_STATUS_IGNORE);
  MT_EQ("nonblocking empty message: count", mt_count(&st, MPI_INT), 0);
  MT_EQ("nonblocking empty message: tag", st.MPI_TAG, 99);

  /* An empty message does not overtake, and is not merged with, a full
   * one sent before it with the same tag. */
  int full = 1000 + mt_rank;
  MPI_Isend(&full, 1, MPI_INT, right, 5, MPI_COMM_WORLD, &req[0]);
  MPI_Isend(&full, 0, MPI_INT, right, 5, MPI_COMM_WORLD, &req[1]);
  MPI_Recv(in, 4, MPI_INT, left, 5, MPI_COMM_WORLD, &st);
  MT_EQ("full message before empty one: count", mt_count(&st, MPI_INT), 1);
  MT_EQ("full message before empty one: value", in[0], 1000 + left);
  in[0] = -1;
  MPI_Recv(in, 4, MPI_INT, left, 5, MPI_COMM_WORLD, &st);
  MT_EQ("empty message after full one: count", mt_count(&st, MPI_INT), 0);
  MT_EQ("empty message after full one: buffer untouched", in[0], -1);
  MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
}

/* 16 MiB messages, blocking and nonblocking. */
static void big(void)
{
  uint32_t *out = malloc(BIG), *in = malloc(BIG);
  MT_CHECK(out && in, "cannot allocate 2 x 16 MiB");
  MPI_Status st;

  /* Blocking: even ranks send first, odd ranks receive first.  Around an
   * odd-sized ring this still resolves, starting from rank 1. */
  fill(out, 0);
  memset(in, 0, BIG);
  if (mt_rank % 2 == 0) {
    MPI_Send(out, NBIG, MPI_UINT32_T, right, 1, MPI_COMM_WORLD);
    MPI_Recv(in, NBIG, MPI_UINT32_T, left, 1, MPI_COMM_WORLD, &st);
  } else {
    MPI_Recv(in, NBIG, MPI_UINT32_T, left, 1, MPI_COMM_WORLD, &st);
    MPI_Send(out, NBIG, MPI_UINT32_T, right, 1, MPI_COMM_WORLD);
  }
  check_big("Send/Recv", in, &st, 0);

  /* Nonblocking, the receive posted after the send, and received with
   * MPI_ANY_SOURCE (only the left neighbour sends tag 2 here) into a buffer
   * with room to spare, so the status gives the real size. */
  uint32_t *roomy = malloc(BIG + 4096);
  MT_CHECK(roomy, "cannot allocate 16 MiB");
  MPI_Request req[2];
  fill(out, 1);
  MPI_Isend(out, NBIG, MPI_UINT32_T, right, 2, MPI_COMM_WORLD, &req[0]);
  MPI_Irecv(roomy, NBIG + 1024, MPI_UINT32_T, MPI_ANY_SOURCE, 2, MPI_COMM_WORLD,
            &req[1]);
  MPI_Status sts[2];
  MPI_Waitall(2, req, sts);
  check_big("Isend/Irecv", roomy, &sts[1], 1);
  free(roomy);

  /* Twice more in the same direction, back to back, to check that two
   * large messages on one channel stay separate and ordered. */
  uint32_t *out2 = malloc(BIG);
  MT_CHECK(out2, "cannot allocate 16 MiB");
  fill(out, 2);
  fill(out2, 3);
  MPI_Request r4[4];
  MPI_Irecv(in, NBIG, MPI_UINT32_T, left, 3, MPI_COMM_WORLD, &r4[0]);
  MPI_Isend(out, NBIG, MPI_UINT32_T, right, 3, MPI_COMM_WORLD, &r4[1]);
  MPI_Isend(out2, NBIG, MPI_UINT32_T, right, 3, MPI_COMM_WORLD, &r4[2]);
  r4[3] = MPI_REQUEST_NULL;
  MPI_Wait(&r4[0], &st);
  check_big("first of two", in, &st, 2);
  MPI_Irecv(in, NBIG, MPI_UINT32_T, left, 3, MPI_COMM_WORLD, &r4[3]);
  MPI_Status st4[4];
  MPI_Waitall(4, r4, st4);
  check_big("second of two", in, &st4[3], 3);
  free(out2);
  free(out);
  free(in);
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "sizes");
  mt_need_ranks(2);
  right = (mt_rank + 1) % mt_size;
  left = (mt_rank - 1 + mt_size) % mt_size;

  for (int i = 0; i < 3; i++)
    zero_bytes();
  big();

  return mt_done();
}
