/*
 * collsafe: a rank sits in a blocking collective while a peer, before it
 * reaches the collective, sends to it with a send that completes only when
 * the message is matched (MPI_Ssend, or a standard send too large to be
 * sent eagerly).  Plain MPI completes the send inside the collective when
 * the receive is posted before it; mpisnap must too, whether its blocking
 * collectives are MPI's own (no snapshot possible) or the nonblocking
 * detour (snapshots running), and with the receive posted as a
 * nonblocking, a persistent, or after a probe that looked at another
 * message (a probe must not leave messages in the layer that turn the next
 * receive into one MPI cannot match).  Without a receive pending, the send
 * is nonblocking and completes after the collective.
 *
 * Ranks 0 and 1 are the pair; the others only join the collectives.  Each
 * case runs several times in a row so that snapshots (in .snap and
 * .sparse) begin while ranks are inside the collectives.
 */
#include <stdint.h>
#include <string.h>

#include "mpitest.h"
#ifdef COLLSAFE_RUNTIME
#include "mpisnap.h"
#endif

enum { TAG_A = 5, TAG_B = 6 };
#define BIG (1 << 20) /* beyond every eager limit of Open MPI and MPICH */

static unsigned char *buf, *rbuf;

static void fill(unsigned char *p, int n, int seed) {
  for (int i = 0; i < n; i++)
    p[i] = (unsigned char)(seed * 31 + i * 7);
}

static void check(const unsigned char *p, int n, int seed, const char *what) {
  for (int i = 0; i < n; i++)
    if (p[i] != (unsigned char)(seed * 31 + i * 7))
      mt_fail("%s: byte %d is %d, want %d", what, i, p[i],
              (unsigned char)(seed * 31 + i * 7));
}

/* The collective the receiver sits in while the sender's send waits. */
static void coll(int which) {
  long in = mt_rank + 1, out = 0, want = (long)mt_size * (mt_size + 1) / 2;

  switch (which % 3) {
  case 0:
    MPI_Barrier(MPI_COMM_WORLD);
    break;
  case 1:
    MPI_Allreduce(&in, &out, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    MT_EQ("allreduce", out, want);
    break;
  default:
    /* Rooted at the receiver: it waits for every rank's contribution. */
    MPI_Reduce(&in, &out, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (mt_rank == 0)
      MT_EQ("reduce", out, want);
    break;
  }
}

/* Receiver 0 posts the receive (how: 0 nonblocking, 1 persistent, 2 after
 * an Iprobe of another message), sits in the collective, then waits. */
static void pending_case(int how, int big, int ssend, int round) {
  int n = big ? BIG : 8, seed = round * 4 + how;
  MPI_Request r;
  MPI_Status st;

  if (mt_rank == 0) {
    if (how == 2) {
      int flag = 0;
      while (!flag)
        MPI_Iprobe(1, TAG_B, MPI_COMM_WORLD, &flag, &st);
      MT_EQ("probed tag", st.MPI_TAG, TAG_B);
    }
    if (how == 1)
      MPI_Recv_init(rbuf, n, MPI_BYTE, 1, TAG_A, MPI_COMM_WORLD, &r);
    memset(rbuf, 0, (size_t)n);
    if (how == 1)
      MPI_Start(&r);
    else
      MPI_Irecv(rbuf, n, MPI_BYTE, 1, TAG_A, MPI_COMM_WORLD, &r);
    coll(round);
    MPI_Wait(&r, &st);
    MT_EQ("source", st.MPI_SOURCE, 1);
    MT_EQ("count", mt_count(&st, MPI_BYTE), n);
    check(rbuf, n, seed, "pending receive");
    if (how == 1)
      MPI_Request_free(&r);
    if (how == 2) {
      int x = 0;
      MPI_Recv(&x, 1, MPI_INT, 1, TAG_B, MPI_COMM_WORLD, &st);
      MT_EQ("probed message", x, seed);
    }
  } else if (mt_rank == 1) {
    if (how == 2)
      MPI_Send(&seed, 1, MPI_INT, 0, TAG_B, MPI_COMM_WORLD);
    fill(buf, n, seed);
    if (ssend)
      MPI_Ssend(buf, n, MPI_BYTE, 0, TAG_A, MPI_COMM_WORLD);
    else
      MPI_Send(buf, n, MPI_BYTE, 0, TAG_A, MPI_COMM_WORLD);
    coll(round);
  } else {
    coll(round);
  }
}

/* No receive pending: the sender's synchronous send is nonblocking and
 * completes only after the receiver left the collective. */
static void idle_case(int big, int round) {
  int n = big ? BIG : 8, seed = 100 + round;
  MPI_Request r;
  MPI_Status st;

  if (mt_rank == 0) {
    coll(round);
    memset(rbuf, 0, (size_t)n);
    MPI_Recv(rbuf, n, MPI_BYTE, 1, TAG_A, MPI_COMM_WORLD, &st);
    MT_EQ("count", mt_count(&st, MPI_BYTE), n);
    check(rbuf, n, seed, "receive after the collective");
  } else if (mt_rank == 1) {
    fill(buf, n, seed);
    MPI_Issend(buf, n, MPI_BYTE, 0, TAG_A, MPI_COMM_WORLD, &r);
    coll(round);
    MPI_Wait(&r, MPI_STATUS_IGNORE);
  } else {
    coll(round);
  }
}

int main(int argc, char **argv) {
  mt_init(&argc, &argv, "collsafe");
  mt_need_ranks(2);
  buf = malloc(BIG);
  rbuf = malloc(BIG);
  MT_CHECK(buf && rbuf, "out of memory");
#ifdef COLLSAFE_RUNTIME
  MT_EQ("mpisnap_init", mpisnap_init(MPI_COMM_WORLD, MPISNAP_COLLECTIVE), 0);
#endif
  for (int round = 0; round < 12; round++) {
#ifdef COLLSAFE_RUNTIME
    MT_CHECK(mpisnap_point() >= 0, "mpisnap_point failed");
#endif
    for (int how = 0; how < 3; how++) {
      pending_case(how, 0, 1, round); /* Ssend, 8 bytes */
      pending_case(how, 1, 0, round); /* standard send, 1 MiB */
      pending_case(how, 1, 1, round); /* Ssend, 1 MiB */
    }
    idle_case(0, round);
    idle_case(1, round);
  }
#ifdef COLLSAFE_RUNTIME
  MT_EQ("mpisnap_finalize", mpisnap_finalize(), 0);
#endif
  free(buf);
  free(rbuf);
  return mt_done();
}
