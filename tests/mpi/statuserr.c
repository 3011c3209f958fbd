/*
 * statuserr: what calls that complete one request write into a status.
 *
 * MPI 3.1, section 3.2.5: message-passing calls do not modify the
 * MPI_ERROR field of a status; only those that return several statuses
 * (Waitall, Testall, Waitsome, Testsome) may.  MPICH's mprobe test checks
 * it; mpisnap used the field to carry its own completion code into the
 * application's status.  And MPI_Request_get_status (and Wait, Test) on
 * MPI_REQUEST_NULL return the empty status of section 3.7.3: source
 * MPI_ANY_SOURCE, tag MPI_ANY_TAG, error MPI_SUCCESS, count 0, not
 * cancelled (MPICH's rqstatus test; Open MPI 4.1 leaves the status of
 * MPI_Request_get_status unset there, so that one field is checked only
 * when mpisnap is loaded: mpisnap is meant to be more correct than the MPI
 * underneath where the standard is clear).
 *
 * Every rank sends to the next and receives from the previous one, with
 * every single-completion call in turn, each time into a status whose
 * MPI_ERROR holds a marker value that must survive.
 */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "mpitest.h"

enum { SENTINEL = MPI_ERR_TOPOLOGY, TAG = 7, ROUNDS = 20 };

static void check_kept(const MPI_Status *st, const char *call, int src,
                       int count) {
  MT_CHECK(st->MPI_ERROR == SENTINEL,
           "%s changed status.MPI_ERROR to %d (it must stay %d)", call,
           st->MPI_ERROR, SENTINEL);
  if (src >= 0) {
    MT_CHECK(st->MPI_SOURCE == src, "%s: source %d, want %d", call,
             st->MPI_SOURCE, src);
    MT_CHECK(st->MPI_TAG == TAG, "%s: tag %d, want %d", call, st->MPI_TAG,
             TAG);
    MT_CHECK(mt_count(st, MPI_INT) == count, "%s: count %d, want %d", call,
             mt_count(st, MPI_INT), count);
  }
}

/* Whether mpisnap is loaded (linked or preloaded). */
static int under_mpisnap(void) {
  return dlsym(RTLD_DEFAULT, "mpisnap_init") != NULL;
}

static void check_empty(const MPI_Status *st, const char *call) {
  int cancelled = 1;
  int err = st->MPI_ERROR;

  /* Open MPI 4.1's MPI_Request_get_status leaves MPI_ERROR alone. */
  if (!under_mpisnap())
    err = MPI_SUCCESS;
  MPI_Test_cancelled(st, &cancelled);
  MT_CHECK(st->MPI_SOURCE == MPI_ANY_SOURCE && st->MPI_TAG == MPI_ANY_TAG &&
               err == MPI_SUCCESS && mt_count(st, MPI_INT) == 0 &&
               !cancelled,
           "%s on MPI_REQUEST_NULL: not the empty status (source %d, tag %d, "
           "error %d, count %d, cancelled %d)", call, st->MPI_SOURCE,
           st->MPI_TAG, st->MPI_ERROR, mt_count(st, MPI_INT), cancelled);
}

static void check_proc_null(const MPI_Status *st, const char *call) {
  MT_CHECK(st->MPI_SOURCE == MPI_PROC_NULL && st->MPI_TAG == MPI_ANY_TAG &&
               mt_count(st, MPI_INT) == 0 && st->MPI_ERROR == SENTINEL,
           "%s: source %d, tag %d, count %d, error %d; want MPI_PROC_NULL, "
           "MPI_ANY_TAG, 0 and the error untouched", call, st->MPI_SOURCE,
           st->MPI_TAG, mt_count(st, MPI_INT), st->MPI_ERROR);
}

static MPI_Status fresh(void) {
  MPI_Status st;

  st.MPI_SOURCE = -5;
  st.MPI_TAG = -5;
  st.MPI_ERROR = SENTINEL;
  return st;
}

int main(int argc, char **argv) {
  int right, left, out[4] = {1, 2, 3, 4}, in[4];

  mt_init(&argc, &argv, "statuserr");
  right = (mt_rank + 1) % mt_size;
  left = (mt_rank + mt_size - 1) % mt_size;

  for (int round = 0; round < ROUNDS; round++) {
    MPI_Request sreq, rreq, reqs[2];
    MPI_Message msg;
    MPI_Status st;
    int flag = 0, idx = -1, n = 1 + round % 4;

    /* Recv, Probe, Iprobe, Mprobe + Mrecv, Improbe + Imrecv + Wait. */
    MPI_Isend(out, n, MPI_INT, right, TAG, MPI_COMM_WORLD, &sreq);
    st = fresh();
    MPI_Probe(left, TAG, MPI_COMM_WORLD, &st);
    check_kept(&st, "MPI_Probe", left, n);
    st = fresh();
    do
      MPI_Iprobe(MPI_ANY_SOURCE, TAG, MPI_COMM_WORLD, &flag, &st);
    while (!flag);
    check_kept(&st, "MPI_Iprobe", left, n);
    st = fresh();
    MPI_Recv(in, 4, MPI_INT, left, TAG, MPI_COMM_WORLD, &st);
    check_kept(&st, "MPI_Recv", left, n);
    st = fresh();
    MPI_Wait(&sreq, &st);
    MT_CHECK(st.MPI_ERROR == SENTINEL, "MPI_Wait of a send changed MPI_ERROR");

    MPI_Isend(out, n, MPI_INT, right, TAG, MPI_COMM_WORLD, &sreq);
    st = fresh();
    MPI_Mprobe(left, TAG, MPI_COMM_WORLD, &msg, &st);
    check_kept(&st, "MPI_Mprobe", left, n);
    st = fresh();
    MPI_Mrecv(in, 4, MPI_INT, &msg, &st);
    check_kept(&st, "MPI_Mrecv", left, n);
    MPI_Wait(&sreq, MPI_STATUS_IGNORE);

    MPI_Isend(out, n, MPI_INT, right, TAG, MPI_COMM_WORLD, &sreq);
    st = fresh();
    do
      MPI_Improbe(left, TAG, MPI_COMM_WORLD, &flag, &msg, &st);
    while (!flag);
    check_kept(&st, "MPI_Improbe", left, n);
    MPI_Imrecv(in, 4, MPI_INT, &msg, &rreq);
    st = fresh();
    MPI_Wait(&rreq, &st);
    check_kept(&st, "MPI_Wait of MPI_Imrecv", left, n);
    MPI_Wait(&sreq, MPI_STATUS_IGNORE);

    /* Irecv completed by Test, Waitany, Testany, Request_get_status. */
    MPI_Irecv(in, 4, MPI_INT, left, TAG, MPI_COMM_WORLD, &rreq);
    MPI_Send(out, n, MPI_INT, right, TAG, MPI_COMM_WORLD);
    st = fresh();
    do
      MPI_Request_get_status(rreq, &flag, &st);
    while (!flag);
    check_kept(&st, "MPI_Request_get_status", left, n);
    st = fresh();
    do
      MPI_Test(&rreq, &flag, &st);
    while (!flag);
    check_kept(&st, "MPI_Test", left, n);

    reqs[0] = MPI_REQUEST_NULL;
    MPI_Irecv(in, 4, MPI_INT, left, TAG, MPI_COMM_WORLD, &reqs[1]);
    MPI_Send(out, n, MPI_INT, right, TAG, MPI_COMM_WORLD);
    st = fresh();
    MPI_Waitany(2, reqs, &idx, &st);
    MT_EQ("MPI_Waitany: index", idx, 1);
    check_kept(&st, "MPI_Waitany", left, n);

    MPI_Irecv(in, 4, MPI_INT, left, TAG, MPI_COMM_WORLD, &reqs[0]);
    MPI_Send(out, n, MPI_INT, right, TAG, MPI_COMM_WORLD);
    st = fresh();
    do
      MPI_Testany(2, reqs, &idx, &flag, &st);
    while (!flag);
    MT_EQ("MPI_Testany: index", idx, 0);
    check_kept(&st, "MPI_Testany", left, n);

    /* Sendrecv. */
    st = fresh();
    MPI_Sendrecv(out, n, MPI_INT, right, TAG, in, 4, MPI_INT, left, TAG,
                 MPI_COMM_WORLD, &st);
    check_kept(&st, "MPI_Sendrecv", left, n);

    /* MPI_PROC_NULL: source MPI_PROC_NULL, tag MPI_ANY_TAG, count 0, and
     * MPI_ERROR still untouched (MPICH's mprobe, tests 4 and 5). */
    st = fresh();
    MPI_Mprobe(MPI_PROC_NULL, TAG, MPI_COMM_WORLD, &msg, &st);
    check_proc_null(&st, "MPI_Mprobe(MPI_PROC_NULL)");
    MT_CHECK(msg == MPI_MESSAGE_NO_PROC, "MPI_Mprobe(MPI_PROC_NULL): not "
             "MPI_MESSAGE_NO_PROC");
    st = fresh();
    MPI_Mrecv(in, 4, MPI_INT, &msg, &st);
    check_proc_null(&st, "MPI_Mrecv(MPI_MESSAGE_NO_PROC)");
    st = fresh();
    MPI_Improbe(MPI_PROC_NULL, TAG, MPI_COMM_WORLD, &flag, &msg, &st);
    check_proc_null(&st, "MPI_Improbe(MPI_PROC_NULL)");
    MPI_Imrecv(in, 4, MPI_INT, &msg, &rreq);
    st = fresh();
    MPI_Wait(&rreq, &st);
    check_proc_null(&st, "MPI_Wait of MPI_Imrecv(MPI_MESSAGE_NO_PROC)");
    st = fresh();
    MPI_Probe(MPI_PROC_NULL, TAG, MPI_COMM_WORLD, &st);
    check_proc_null(&st, "MPI_Probe(MPI_PROC_NULL)");

    /* MPI_REQUEST_NULL: the empty status. */
    st = fresh();
    flag = 0;
    MPI_Request_get_status(MPI_REQUEST_NULL, &flag, &st);
    MT_EQ("MPI_Request_get_status(MPI_REQUEST_NULL): flag", flag, 1);
    check_empty(&st, "MPI_Request_get_status");
    st = fresh();
    rreq = MPI_REQUEST_NULL;
    MPI_Wait(&rreq, &st);
    check_empty(&st, "MPI_Wait");
    st = fresh();
    rreq = MPI_REQUEST_NULL;
    MPI_Test(&rreq, &flag, &st);
    check_empty(&st, "MPI_Test");
  }
  return mt_done();
}
