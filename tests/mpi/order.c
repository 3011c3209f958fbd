/*
 * order: MPI's non-overtaking rule.
 *
 * 1. Same tag between a pair: every rank sends N numbered messages with one
 *    tag to its right neighbour; the left neighbour must see them in order.
 * 2. Wildcards: every rank except 0 sends M numbered messages to rank 0 with
 *    tags that vary per message.  Rank 0 receives them with MPI_ANY_SOURCE
 *    (and a fixed tag), with MPI_ANY_TAG (and a fixed source), and with both
 *    wildcards.  The status must name the real source and tag, and the
 *    messages of each source must arrive in the order it sent them.
 *
 * Works with any number of ranks from 2.
 */
#include <string.h>

#include "mpitest.h"

enum { N = 200, M = 40, NTAGS = 5 };

/* A numbered message: who sent it, its sequence number and its tag. */
typedef struct {
  int src, seq, tag;
} msg_t;

static int tag_of(int src, int seq) { return 100 + (src + seq) % NTAGS; }

/* Part 1: N messages with the same tag around the ring. */
static void same_tag_ring(void)
{
  int right = (mt_rank + 1) % mt_size;
  int left = (mt_rank - 1 + mt_size) % mt_size;
  static int out[N];
  MPI_Request req[N];

  /* Nonblocking sends, so the ring cannot deadlock whatever MPI buffers. */
  for (int i = 0; i < N; i++) {
    out[i] = mt_rank * 100000 + i;
    MPI_Isend(&out[i], 1, MPI_INT, right, 7, MPI_COMM_WORLD, &req[i]);
  }
  for (int i = 0; i < N; i++) {
    int got = -1;
    MPI_Status st;
    MPI_Recv(&got, 1, MPI_INT, left, 7, MPI_COMM_WORLD, &st);
    MT_EQ("same-tag ring: message number", got, left * 100000 + i);
    MT_EQ("same-tag ring: status source", st.MPI_SOURCE, left);
    MT_EQ("same-tag ring: status tag", st.MPI_TAG, 7);
  }
  MPI_Waitall(N, req, MPI_STATUSES_IGNORE);
}

/* Every rank but 0 sends M messages to rank 0, numbered from 0, tagged by
 * tag_of(), or all with tag fixed_tag when that is >= 0.  The sends are
 * nonblocking because rank 0 may take them in another order than sent. */
static void send_numbered(int fixed_tag)
{
  static msg_t m[M];
  MPI_Request req[M];
  for (int seq = 0; seq < M; seq++) {
    m[seq] = (msg_t){mt_rank, seq, tag_of(mt_rank, seq)};
    if (fixed_tag >= 0)
      m[seq].tag = fixed_tag;
    MPI_Isend(&m[seq], 3, MPI_INT, 0, m[seq].tag, MPI_COMM_WORLD, &req[seq]);
  }
  MPI_Waitall(M, req, MPI_STATUSES_IGNORE);
}

/* Rank 0 receives one numbered message with the given source and tag (either
 * may be a wildcard) and checks it against its status and against next[],
 * the next sequence number expected from each source. */
static void recv_numbered(int src, int tag, int *next, const char *how)
{
  msg_t m;
  MPI_Status st;
  memset(&m, 0xff, sizeof m);
  MPI_Recv(&m, 3, MPI_INT, src, tag, MPI_COMM_WORLD, &st);
  MT_CHECK(m.src >= 1 && m.src < mt_size, "%s: payload names source %d",
           how, m.src);
  MT_CHECK(st.MPI_SOURCE == m.src,
           "%s: status.MPI_SOURCE %d but the message came from rank %d", how,
           st.MPI_SOURCE, m.src);
  MT_CHECK(st.MPI_TAG == m.tag,
           "%s: status.MPI_TAG %d but the message was sent with tag %d", how,
           st.MPI_TAG, m.tag);
  MT_CHECK(src == MPI_ANY_SOURCE || m.src == src,
           "%s: asked for source %d, got a message from %d", how, src, m.src);
  MT_CHECK(tag == MPI_ANY_TAG || m.tag == tag,
           "%s: asked for tag %d, got tag %d", how, tag, m.tag);
  MT_CHECK(m.seq == next[m.src],
           "%s: from rank %d got message %d, expected %d (order broken)", how,
           m.src, m.seq, next[m.src]);
  MT_EQ("received count", mt_count(&st, MPI_INT), 3);
  next[m.src]++;
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "order");
  mt_need_ranks(2);
  int nsrc = mt_size - 1;
  int *next = calloc((size_t)mt_size, sizeof *next);

  same_tag_ring();

  /* Part 2a: MPI_ANY_SOURCE with a fixed tag. */
  if (mt_rank == 0) {
    for (int i = 0; i < nsrc * M; i++)
      recv_numbered(MPI_ANY_SOURCE, 42, next, "ANY_SOURCE");
  } else {
    send_numbered(42);
  }

  /* Each part ends with a barrier: a wildcard receive of one part must not
   * match a message the next part already sent. */
  MPI_Barrier(MPI_COMM_WORLD);

  /* Part 2b: MPI_ANY_TAG with a fixed source, sources taken in turn. */
  if (mt_rank == 0) {
    memset(next, 0, (size_t)mt_size * sizeof *next);
    for (int seq = 0; seq < M; seq++)
      for (int src = 1; src < mt_size; src++)
        recv_numbered(src, MPI_ANY_TAG, next, "ANY_TAG");
  } else {
    send_numbered(-1);
  }

  MPI_Barrier(MPI_COMM_WORLD);

  /* Part 2c: both wildcards. */
  if (mt_rank == 0) {
    memset(next, 0, (size_t)mt_size * sizeof *next);
    for (int i = 0; i < nsrc * M; i++)
      recv_numbered(MPI_ANY_SOURCE, MPI_ANY_TAG, next, "ANY_SOURCE+ANY_TAG");
    for (int src = 1; src < mt_size; src++)
      MT_EQ("messages received per source", next[src], M);
  } else {
    send_numbered(-1);
  }

  MPI_Barrier(MPI_COMM_WORLD);

  /* Part 2d: a receive for one tag skips the messages with other tags.  From
   * each source, take every message with one tag first (in their order),
   * then the rest with MPI_ANY_TAG (again in their order). */
  if (mt_rank == 0) {
    for (int src = 1; src < mt_size; src++) {
      int want_tag = tag_of(src, M - 1);
      msg_t m;
      MPI_Status st;
      for (int seq = 0; seq < M; seq++) {
        if (tag_of(src, seq) != want_tag)
          continue;
        MPI_Recv(&m, 3, MPI_INT, src, want_tag, MPI_COMM_WORLD, &st);
        MT_EQ("tag-selective receive: sequence", m.seq, seq);
        MT_EQ("tag-selective receive: tag", m.tag, want_tag);
      }
      /* The rest, in order, skipping those already taken. */
      for (int seq = 0; seq < M; seq++) {
        if (tag_of(src, seq) == want_tag)
          continue;
        MPI_Recv(&m, 3, MPI_INT, src, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        MT_EQ("wildcard after selective: sequence", m.seq, seq);
        MT_EQ("wildcard after selective: status tag", st.MPI_TAG, m.tag);
      }
    }
  } else {
    send_numbered(-1);
  }

  free(next);
  return mt_done();
}
