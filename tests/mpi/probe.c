/*
 * probe: receiving messages of unknown size.
 *
 * Every rank but 0 sends K messages of different lengths and tags to rank 0,
 * four times over.  Rank 0 receives each batch another way:
 *   A. MPI_Probe(ANY_SOURCE, ANY_TAG), MPI_Get_count, then MPI_Recv of
 *      exactly that many from the probed source and tag;
 *   B. MPI_Iprobe in a loop until it reports a message, then the same;
 *   C. MPI_Mprobe then MPI_Mrecv; a matched message is no longer visible to
 *      other receives, so a plain MPI_Recv in between gets the next one;
 *   D. MPI_Improbe in a loop, then MPI_Imrecv and MPI_Wait.
 * Every message's length, content, source and tag are checked, and each
 * source's messages must come in the order sent.  Probes of MPI_PROC_NULL
 * and of a tag nobody sends are checked too.  Works with 2 or more ranks.
 */
#include <string.h>

#include "mpitest.h"

enum { K = 12, MAXLEN = 64, NOTAG = 999 };

/* Message lengths vary; every fifth message is empty. */
static int len_of(int src, int seq)
{
  return seq % 5 == 4 ? 0 : 1 + (src * 7 + seq * 13) % (MAXLEN - 1);
}
static int tag_of(int seq) { return 1 + seq % 3; }
static int word(int src, int seq, int j) { return src * 1000000 + seq * 1000 + j; }

/* Every rank but 0 sends its K messages to rank 0. */
static void send_batch(void)
{
  static int buf[K][MAXLEN];
  MPI_Request req[K];
  for (int seq = 0; seq < K; seq++) {
    int n = len_of(mt_rank, seq);
    for (int j = 0; j < n; j++)
      buf[seq][j] = word(mt_rank, seq, j);
    MPI_Isend(buf[seq], n, MPI_INT, 0, tag_of(seq), MPI_COMM_WORLD, &req[seq]);
  }
  MPI_Waitall(K, req, MPI_STATUSES_IGNORE);
}

/* Checks a received message: st is its receive status, probed the status
 * the probe gave, and *next the sequence number due from that source. */
static void check_msg(const char *how, const int *buf, const MPI_Status *st,
                      const MPI_Status *probed, int *next)
{
  int src = st->MPI_SOURCE;
  MT_CHECK(src >= 1 && src < mt_size, "%s: status source %d", how, src);
  int seq = next[src]++;
  int n = len_of(src, seq);
  MT_CHECK(probed->MPI_SOURCE == src && probed->MPI_TAG == st->MPI_TAG,
           "%s: probe said source %d tag %d, receive got source %d tag %d",
           how, probed->MPI_SOURCE, probed->MPI_TAG, src, st->MPI_TAG);
  MT_CHECK(st->MPI_TAG == tag_of(seq),
           "%s: message %d from rank %d has tag %d, want %d (order broken?)",
           how, seq, src, st->MPI_TAG, tag_of(seq));
  MT_EQ("probed count", mt_count(probed, MPI_INT), n);
  MT_EQ("received count", mt_count(st, MPI_INT), n);
  for (int j = 0; j < n; j++)
    MT_CHECK(buf[j] == word(src, seq, j),
             "%s: message %d from rank %d, word %d is %d, want %d", how, seq,
             src, j, buf[j], word(src, seq, j));
}

/* A: blocking probe, then a receive of exactly the probed size. */
static void probe_then_recv(int *next)
{
  MPI_Status probed, again, st;
  MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &probed);
  /* Probing does not consume: the same source and tag show the same one. */
  int flag = 0;
  while (!flag)
    MPI_Iprobe(probed.MPI_SOURCE, probed.MPI_TAG, MPI_COMM_WORLD, &flag, &again);
  MT_EQ("second probe: count", mt_count(&again, MPI_INT),
        mt_count(&probed, MPI_INT));
  int n = mt_count(&probed, MPI_INT);
  int *buf = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
  MPI_Recv(buf, n, MPI_INT, probed.MPI_SOURCE, probed.MPI_TAG, MPI_COMM_WORLD,
           &st);
  check_msg("Probe+Recv", buf, &st, &probed, next);
  free(buf);
}

/* B: nonblocking probe polled until it finds a message. */
static void iprobe_then_recv(int *next)
{
  MPI_Status probed, st;
  int flag = 0;
  while (!flag)
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &probed);
  int n = mt_count(&probed, MPI_INT);
  int *buf = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
  MPI_Recv(buf, n, MPI_INT, probed.MPI_SOURCE, probed.MPI_TAG, MPI_COMM_WORLD,
           &st);
  check_msg("Iprobe+Recv", buf, &st, &probed, next);
  free(buf);
}

/* C: matched probe per source.  The first message is matched and held while
 * a plain receive takes the second; then the held one is received. */
static void mprobe_source(int src, int *next)
{
  MPI_Message held, msg;
  MPI_Status held_st, probed, st, second_st;
  int first[MAXLEN], second[MAXLEN], buf[MAXLEN];

  MPI_Mprobe(src, MPI_ANY_TAG, MPI_COMM_WORLD, &held, &held_st);
  MT_CHECK(held != MPI_MESSAGE_NULL, "Mprobe returned MPI_MESSAGE_NULL");
  /* The held message is out of the queue: this receive gets message 1. */
  MPI_Recv(second, MAXLEN, MPI_INT, src, MPI_ANY_TAG, MPI_COMM_WORLD,
           &second_st);
  MPI_Mrecv(first, mt_count(&held_st, MPI_INT), MPI_INT, &held, &st);
  MT_CHECK(held == MPI_MESSAGE_NULL, "Mrecv did not set the message to NULL");
  check_msg("Mprobe+Mrecv (held)", first, &st, &held_st, next);
  check_msg("Recv while message 0 was held", second, &second_st, &second_st,
            next);

  for (int seq = 2; seq < K; seq++) {
    MPI_Mprobe(src, MPI_ANY_TAG, MPI_COMM_WORLD, &msg, &probed);
    MPI_Mrecv(buf, mt_count(&probed, MPI_INT), MPI_INT, &msg, &st);
    check_msg("Mprobe+Mrecv", buf, &st, &probed, next);
  }
}

/* D: nonblocking matched probe, then a nonblocking matched receive. */
static void improbe_then_imrecv(int *next)
{
  MPI_Message msg = MPI_MESSAGE_NULL;
  MPI_Status probed, st;
  MPI_Request req;
  int buf[MAXLEN], flag = 0;
  while (!flag)
    MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &msg,
                &probed);
  MPI_Imrecv(buf, mt_count(&probed, MPI_INT), MPI_INT, &msg, &req);
  MT_CHECK(msg == MPI_MESSAGE_NULL, "Imrecv did not set the message to NULL");
  MPI_Wait(&req, &st);
  MT_CHECK(req == MPI_REQUEST_NULL, "Wait did not free the Imrecv request");
  check_msg("Improbe+Imrecv", buf, &st, &probed, next);
}

/* Probes of MPI_PROC_NULL succeed at once with an empty status. */
static void proc_null_probes(void)
{
  MPI_Status st;
  MPI_Message msg;
  int flag = 0, x = 5;

  MPI_Probe(MPI_PROC_NULL, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
  MT_EQ("Probe(PROC_NULL): source", st.MPI_SOURCE, MPI_PROC_NULL);
  MT_EQ("Probe(PROC_NULL): tag", st.MPI_TAG, MPI_ANY_TAG);
  MT_EQ("Probe(PROC_NULL): count", mt_count(&st, MPI_INT), 0);
  MPI_Iprobe(MPI_PROC_NULL, 3, MPI_COMM_WORLD, &flag, &st);
  MT_EQ("Iprobe(PROC_NULL): flag", flag, 1);
  MT_EQ("Iprobe(PROC_NULL): source", st.MPI_SOURCE, MPI_PROC_NULL);

  MPI_Mprobe(MPI_PROC_NULL, 3, MPI_COMM_WORLD, &msg, &st);
  MT_CHECK(msg == MPI_MESSAGE_NO_PROC,
           "Mprobe(PROC_NULL) did not return MPI_MESSAGE_NO_PROC");
  MPI_Mrecv(&x, 1, MPI_INT, &msg, &st);
  MT_EQ("Mrecv(NO_PROC): source", st.MPI_SOURCE, MPI_PROC_NULL);
  MT_EQ("Mrecv(NO_PROC): count", mt_count(&st, MPI_INT), 0);
  MT_EQ("Mrecv(NO_PROC): buffer untouched", x, 5);

  flag = 0;
  MPI_Improbe(MPI_PROC_NULL, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &msg, &st);
  MT_EQ("Improbe(PROC_NULL): flag", flag, 1);
  MT_CHECK(msg == MPI_MESSAGE_NO_PROC,
           "Improbe(PROC_NULL) did not return MPI_MESSAGE_NO_PROC");
  MPI_Request req;
  MPI_Imrecv(&x, 1, MPI_INT, &msg, &req);
  MPI_Wait(&req, &st);
  MT_EQ("Imrecv(NO_PROC): source", st.MPI_SOURCE, MPI_PROC_NULL);
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "probe");
  mt_need_ranks(2);
  int nsrc = mt_size - 1;
  int *next = calloc((size_t)mt_size, sizeof *next);

  for (int phase = 0; phase < 4; phase++) {
    if (mt_rank != 0) {
      send_batch();
    } else {
      memset(next, 0, (size_t)mt_size * sizeof *next);
      for (int i = 0; i < nsrc * K; i++) {
        if (phase == 0)
          probe_then_recv(next);
        else if (phase == 1)
          iprobe_then_recv(next);
        else if (phase == 3)
          improbe_then_imrecv(next);
      }
      if (phase == 2)
        for (int src = 1; src < mt_size; src++)
          mprobe_source(src, next);
      for (int src = 1; src < mt_size; src++)
        MT_EQ("messages received from one rank", next[src], K);
    }
    /* A wildcard probe of one phase must not see the next phase's sends. */
    MPI_Barrier(MPI_COMM_WORLD);
  }

  /* Nobody ever sends tag NOTAG: Iprobe and Improbe must say so. */
  int flag = 1;
  MPI_Message msg = MPI_MESSAGE_NULL;
  MPI_Iprobe(MPI_ANY_SOURCE, NOTAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
  MT_EQ("Iprobe of an unused tag: flag", flag, 0);
  flag = 1;
  MPI_Improbe(MPI_ANY_SOURCE, NOTAG, MPI_COMM_WORLD, &flag, &msg,
              MPI_STATUS_IGNORE);
  MT_EQ("Improbe of an unused tag: flag", flag, 0);

  proc_null_probes();
  free(next);
  return mt_done();
}
