/*
 * self: messages to oneself and to MPI_PROC_NULL.
 *
 * Self: nonblocking sends to the own rank received afterwards (by tag in
 * reverse order, and same-tag messages in order), a receive posted before a
 * blocking self-send, a self MPI_Sendrecv, a probe of a self message and a
 * MPI_ANY_SOURCE receive that can only match the self message.
 * MPI_PROC_NULL: every kind of send to it completes at once and every
 * receive from it completes at once with source MPI_PROC_NULL, tag
 * MPI_ANY_TAG, count 0 and the buffer untouched.  Works with any number of
 * ranks (1 too).
 */
#include "mpitest.h"

enum { NSELF = 6 };

static void self_messages(int round)
{
  int out[NSELF], in = -1;
  MPI_Request req[NSELF];
  MPI_Status st;

  /* Tags 1..NSELF, taken back in reverse tag order. */
  for (int t = 0; t < NSELF; t++) {
    out[t] = round * 100 + t;
    MPI_Isend(&out[t], 1, MPI_INT, mt_rank, 1 + t, MPI_COMM_WORLD, &req[t]);
  }
  for (int t = NSELF - 1; t >= 0; t--) {
    MPI_Recv(&in, 1, MPI_INT, mt_rank, 1 + t, MPI_COMM_WORLD, &st);
    MT_EQ("self message by tag: value", in, round * 100 + t);
    MT_EQ("self message by tag: source", st.MPI_SOURCE, mt_rank);
    MT_EQ("self message by tag: tag", st.MPI_TAG, 1 + t);
  }
  MPI_Waitall(NSELF, req, MPI_STATUSES_IGNORE);

  /* One tag: the messages come back in the order sent. */
  for (int t = 0; t < NSELF; t++)
    MPI_Isend(&out[t], 1, MPI_INT, mt_rank, 20, MPI_COMM_WORLD, &req[t]);
  for (int t = 0; t < NSELF; t++) {
    MPI_Recv(&in, 1, MPI_INT, MPI_ANY_SOURCE, 20, MPI_COMM_WORLD, &st);
    MT_EQ("self messages with one tag: order", in, round * 100 + t);
    MT_EQ("self message via ANY_SOURCE: source", st.MPI_SOURCE, mt_rank);
  }
  MPI_Waitall(NSELF, req, MPI_STATUSES_IGNORE);

  /* A posted receive makes a blocking self-send safe. */
  MPI_Request r;
  in = -1;
  MPI_Irecv(&in, 1, MPI_INT, mt_rank, 30, MPI_COMM_WORLD, &r);
  MPI_Send(&out[2], 1, MPI_INT, mt_rank, 30, MPI_COMM_WORLD);
  MPI_Wait(&r, &st);
  MT_EQ("Irecv then blocking self-send: value", in, round * 100 + 2);

  /* A self Sendrecv. */
  in = -1;
  MPI_Sendrecv(&out[3], 1, MPI_INT, mt_rank, 31, &in, 1, MPI_INT, mt_rank, 31,
               MPI_COMM_WORLD, &st);
  MT_EQ("self Sendrecv: value", in, round * 100 + 3);
  MT_EQ("self Sendrecv: tag", st.MPI_TAG, 31);

  /* A probe sees a self message, with its size, before it is received. */
  int flag = 0, two[2] = {7, 8}, back[2] = {0, 0};
  MPI_Isend(two, 2, MPI_INT, mt_rank, 32, MPI_COMM_WORLD, &r);
  while (!flag)
    MPI_Iprobe(MPI_ANY_SOURCE, 32, MPI_COMM_WORLD, &flag, &st);
  MT_EQ("Iprobe of a self message: source", st.MPI_SOURCE, mt_rank);
  MT_EQ("Iprobe of a self message: count", mt_count(&st, MPI_INT), 2);
  MPI_Recv(back, 2, MPI_INT, mt_rank, 32, MPI_COMM_WORLD, &st);
  MT_CHECK(back[0] == 7 && back[1] == 8, "self message after Iprobe: {%d, %d}",
           back[0], back[1]);
  MPI_Wait(&r, MPI_STATUS_IGNORE);
}

/* What this MPI itself reports for a nonblocking and for a persistent
 * receive from MPI_PROC_NULL (PMPI_ calls never go through mpisnap).  The
 * standard says source MPI_PROC_NULL and tag MPI_ANY_TAG (MPI 3.1, 3.11);
 * MPICH 4.0.2 reports source 0, tag 0 for the first and MPI_ANY_SOURCE,
 * MPI_ANY_TAG for the second.  Where mpisnap hands out MPI's own request
 * (its bare regime) the program sees exactly what MPI gives, so that is
 * accepted as well for that kind of receive, and nothing else. */
enum { BLOCKING, NONBLOCKING, PERSISTENT };
static int own_source[3] = {MPI_PROC_NULL, MPI_PROC_NULL, MPI_PROC_NULL};
static int own_tag[3] = {MPI_ANY_TAG, MPI_ANY_TAG, MPI_ANY_TAG};

static void learn_own_null_status(void)
{
  static const char *const kind[3] = {"blocking", "nonblocking", "persistent"};
  MPI_Request r;
  MPI_Status st;
  int in = -7;

  for (int k = NONBLOCKING; k <= PERSISTENT; k++) {
    if (k == NONBLOCKING) {
      PMPI_Irecv(&in, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_SELF, &r);
    } else {
      PMPI_Recv_init(&in, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_SELF, &r);
      PMPI_Start(&r);
    }
    PMPI_Wait(&r, &st);
    if (k == PERSISTENT)
      PMPI_Request_free(&r);
    own_source[k] = st.MPI_SOURCE;
    own_tag[k] = st.MPI_TAG;
    if (mt_rank == 0 && (st.MPI_SOURCE != MPI_PROC_NULL || st.MPI_TAG != MPI_ANY_TAG))
      fprintf(stderr, "self: note: this MPI's own %s receive from "
              "MPI_PROC_NULL reports source %d, tag %d (the standard: "
              "MPI_PROC_NULL, MPI_ANY_TAG); accepted for such receives\n",
              kind[k], st.MPI_SOURCE, st.MPI_TAG);
  }
}

/* Checks the status of a receive of that kind from MPI_PROC_NULL. */
static void check_null_status_nb(const char *how, const MPI_Status *st,
                                 int in, int k)
{
  int std = st->MPI_SOURCE == MPI_PROC_NULL && st->MPI_TAG == MPI_ANY_TAG;
  int own = st->MPI_SOURCE == own_source[k] && st->MPI_TAG == own_tag[k];

  MT_CHECK(std || own, "%s: status source %d tag %d, want MPI_PROC_NULL "
           "and MPI_ANY_TAG", how, st->MPI_SOURCE, st->MPI_TAG);
  MT_EQ("receive from MPI_PROC_NULL: count", mt_count(st, MPI_INT), 0);
  MT_EQ("receive from MPI_PROC_NULL: buffer untouched", in, -7);
}

static void check_null_status(const char *how, const MPI_Status *st, int in)
{
  check_null_status_nb(how, st, in, BLOCKING);
}

static void proc_null(void)
{
  int out[4] = {1, 2, 3, 4}, in = -7;
  MPI_Status st;
  MPI_Request r[3];

  MPI_Send(out, 4, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD);
  MPI_Ssend(out, 4, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD);
  MPI_Rsend(out, 4, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD);
  MPI_Recv(&in, 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD, &st);
  check_null_status("Recv", &st, in);

  MPI_Isend(out, 4, MPI_INT, MPI_PROC_NULL, 2, MPI_COMM_WORLD, &r[0]);
  MPI_Issend(out, 4, MPI_INT, MPI_PROC_NULL, 2, MPI_COMM_WORLD, &r[1]);
  MPI_Irecv(&in, 1, MPI_INT, MPI_PROC_NULL, 2, MPI_COMM_WORLD, &r[2]);
  MPI_Status sts[3];
  MPI_Waitall(3, r, sts);
  check_null_status_nb("Irecv", &sts[2], in, NONBLOCKING);

  /* A test completes at once. */
  int flag = 0;
  MPI_Irecv(&in, 1, MPI_INT, MPI_PROC_NULL, MPI_ANY_TAG, MPI_COMM_WORLD, &r[0]);
  MPI_Test(&r[0], &flag, &st);
  MT_EQ("Test of an Irecv from MPI_PROC_NULL: flag", flag, 1);
  check_null_status_nb("Irecv+Test", &st, in, NONBLOCKING);

  MPI_Sendrecv(out, 4, MPI_INT, MPI_PROC_NULL, 3, &in, 1, MPI_INT,
               MPI_PROC_NULL, 3, MPI_COMM_WORLD, &st);
  check_null_status("Sendrecv", &st, in);

  /* Persistent requests on MPI_PROC_NULL. */
  MPI_Send_init(out, 4, MPI_INT, MPI_PROC_NULL, 4, MPI_COMM_WORLD, &r[0]);
  MPI_Recv_init(&in, 1, MPI_INT, MPI_PROC_NULL, 4, MPI_COMM_WORLD, &r[1]);
  MPI_Startall(2, r);
  MPI_Waitall(2, r, sts);
  check_null_status_nb("Recv_init+Start", &sts[1], in, PERSISTENT);
  MPI_Request_free(&r[0]);
  MPI_Request_free(&r[1]);
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "self");
  learn_own_null_status();

  for (int round = 0; round < 10; round++) {
    self_messages(round);
    proc_null();
  }

  return mt_done();
}
