/*
 * waittest: every completion call over arrays of mixed requests.
 *
 * Each rank sends to its right neighbour and receives from its left one.  A
 * batch is an array of B triples [receive, MPI_REQUEST_NULL, send], each
 * triple with its own tag.  The batch is completed with Waitany, Testany,
 * Waitall, Testall, Waitsome and Testsome in turn; each completed index must
 * come back exactly once, with the right status for receives, and the
 * request must then be MPI_REQUEST_NULL.  Null entries give empty statuses.
 * Calls that must not complete yet are made before a barrier that the
 * matching send waits behind, so their answers are deterministic.  Also
 * covers MPI_Wait, MPI_Test and MPI_Request_get_status.  Works with 2 or more
 * ranks.
 */
#include <string.h>

#include "mpitest.h"

enum { B = 8, NREQ = 3 * B, LATE_TAG = 500 };

static int left, right;
static int rbuf[B], sbuf[B];
static MPI_Request req[NREQ];

static int value(int src, int b, int round) { return src * 10000 + round * 100 + b; }

/* Posts a batch: entry 3b receives tag 10+b, 3b+1 is null, 3b+2 sends. */
static void post_batch(int round)
{
  for (int b = 0; b < B; b++) {
    rbuf[b] = -1;
    sbuf[b] = value(mt_rank, b, round);
    MPI_Irecv(&rbuf[b], 1, MPI_INT, left, 10 + b, MPI_COMM_WORLD, &req[3 * b]);
    req[3 * b + 1] = MPI_REQUEST_NULL;
    MPI_Isend(&sbuf[b], 1, MPI_INT, right, 10 + b, MPI_COMM_WORLD,
              &req[3 * b + 2]);
  }
}

/* Checks that a status is empty, as for a null request. */
static void check_empty(const char *how, const MPI_Status *st)
{
  MT_CHECK(st->MPI_SOURCE == MPI_ANY_SOURCE && st->MPI_TAG == MPI_ANY_TAG,
           "%s: status of a null request is not empty (source %d, tag %d)",
           how, st->MPI_SOURCE, st->MPI_TAG);
  MT_EQ("count of an empty status", mt_count(st, MPI_INT), 0);
}

/* Checks one completed entry i of the batch; done[] counts completions. */
static void completed(const char *how, int i, const MPI_Status *st, int round,
                      int *done)
{
  MT_CHECK(i >= 0 && i < NREQ, "%s: index %d out of range", how, i);
  MT_CHECK(i % 3 != 1, "%s: returned index %d, a null request", how, i);
  MT_CHECK(done[i] == 0, "%s: returned index %d twice", how, i);
  MT_CHECK(req[i] == MPI_REQUEST_NULL,
           "%s: request %d not set to MPI_REQUEST_NULL after completion", how,
           i);
  done[i] = 1;
  if (i % 3 == 0) {
    int b = i / 3;
    MT_EQ("received value", rbuf[b], value(left, b, round));
    if (st != MPI_STATUS_IGNORE) {
      MT_EQ("receive status: source", st->MPI_SOURCE, left);
      MT_EQ("receive status: tag", st->MPI_TAG, 10 + b);
      MT_EQ("receive status: count", mt_count(st, MPI_INT), 1);
    }
  }
}

/* Checks that every non-null entry completed exactly once. */
static void all_done(const char *how, const int *done)
{
  for (int i = 0; i < NREQ; i++) {
    MT_CHECK(req[i] == MPI_REQUEST_NULL, "%s: request %d still active", how, i);
    MT_CHECK(done[i] == (i % 3 != 1), "%s: index %d completed %d times", how,
             i, done[i]);
  }
}

static void by_waitany(int round)
{
  int done[NREQ] = {0}, idx;
  MPI_Status st;
  for (;;) {
    MPI_Waitany(NREQ, req, &idx, &st);
    if (idx == MPI_UNDEFINED)
      break;
    completed("Waitany", idx, &st, round, done);
  }
  check_empty("Waitany with only null requests", &st);
  all_done("Waitany", done);
}

static void by_testany(int round)
{
  int done[NREQ] = {0}, idx, flag;
  MPI_Status st;
  for (;;) {
    MPI_Testany(NREQ, req, &idx, &flag, &st);
    if (flag && idx == MPI_UNDEFINED)
      break;
    if (flag)
      completed("Testany", idx, &st, round, done);
    else
      MT_EQ("Testany without completion: index", idx, MPI_UNDEFINED);
  }
  check_empty("Testany with only null requests", &st);
  all_done("Testany", done);
}

static void by_waitall(int round)
{
  int done[NREQ] = {0};
  MPI_Status st[NREQ];
  MPI_Waitall(NREQ, req, st);
  for (int i = 0; i < NREQ; i++) {
    if (i % 3 == 1)
      check_empty("Waitall", &st[i]);
    else
      completed("Waitall", i, &st[i], round, done);
  }
  all_done("Waitall", done);
}

static void by_testall(int round)
{
  int done[NREQ] = {0}, flag = 0;
  MPI_Status st[NREQ];
  while (!flag)
    MPI_Testall(NREQ, req, &flag, st);
  for (int i = 0; i < NREQ; i++) {
    if (i % 3 == 1)
      check_empty("Testall", &st[i]);
    else
      completed("Testall", i, &st[i], round, done);
  }
  all_done("Testall", done);
}

static void by_some(int round, int test)
{
  const char *how = test ? "Testsome" : "Waitsome";
  int done[NREQ] = {0}, idx[NREQ], out;
  MPI_Status st[NREQ];
  for (;;) {
    if (test)
      MPI_Testsome(NREQ, req, &out, idx, st);
    else
      MPI_Waitsome(NREQ, req, &out, idx, st);
    if (out == MPI_UNDEFINED)
      break;
    MT_CHECK(out >= (test ? 0 : 1) && out <= NREQ, "%s: outcount %d", how,
             out);
    for (int k = 0; k < out; k++)
      completed(how, idx[k], &st[k], round, done);
  }
  all_done(how, done);
}

/* MPI_Wait, MPI_Test and null requests. */
static void single_requests(void)
{
  MPI_Request null = MPI_REQUEST_NULL, r, s;
  MPI_Status st;
  int flag = 0, in = -1, out = mt_rank;

  MPI_Wait(&null, &st);
  check_empty("Wait on MPI_REQUEST_NULL", &st);
  MPI_Test(&null, &flag, &st);
  MT_EQ("Test on MPI_REQUEST_NULL: flag", flag, 1);
  check_empty("Test on MPI_REQUEST_NULL", &st);

  /* The matching send is posted only after the barrier, so this Test must
   * say "not yet" and leave the request alone. */
  MPI_Irecv(&in, 1, MPI_INT, left, LATE_TAG, MPI_COMM_WORLD, &r);
  MPI_Test(&r, &flag, &st);
  MT_EQ("Test of a receive whose send is not posted: flag", flag, 0);
  MT_CHECK(r != MPI_REQUEST_NULL, "Test without completion freed the request");
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Isend(&out, 1, MPI_INT, right, LATE_TAG, MPI_COMM_WORLD, &s);
  flag = 0;
  while (!flag)
    MPI_Test(&r, &flag, &st);
  MT_CHECK(r == MPI_REQUEST_NULL, "Test with completion did not free request");
  MT_EQ("Test: received value", in, left);
  MT_EQ("Test: status source", st.MPI_SOURCE, left);
  MT_EQ("Test: status tag", st.MPI_TAG, LATE_TAG);
  MPI_Wait(&s, MPI_STATUS_IGNORE);
  MT_CHECK(s == MPI_REQUEST_NULL, "Wait did not free the send request");
}

/* MPI_Testall must not complete or free anything while one request is
 * pending, even when others are complete. */
static void testall_partial(void)
{
  MPI_Request r[2];
  int flag = 1, in = -1, out = mt_rank;
  MPI_Isend(&out, 1, MPI_INT, right, LATE_TAG + 1, MPI_COMM_WORLD, &r[0]);
  MPI_Irecv(&in, 1, MPI_INT, left, LATE_TAG + 2, MPI_COMM_WORLD, &r[1]);
  MPI_Testall(2, r, &flag, MPI_STATUSES_IGNORE);
  MT_EQ("Testall with a pending receive: flag", flag, 0);
  MT_CHECK(r[0] != MPI_REQUEST_NULL && r[1] != MPI_REQUEST_NULL,
           "Testall returned false but freed a request");
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Request s;
  MPI_Isend(&out, 1, MPI_INT, right, LATE_TAG + 2, MPI_COMM_WORLD, &s);
  MPI_Status st[2];
  flag = 0;
  while (!flag)
    MPI_Testall(2, r, &flag, st);
  MT_CHECK(r[0] == MPI_REQUEST_NULL && r[1] == MPI_REQUEST_NULL,
           "Testall returned true but left a request active");
  MT_EQ("Testall: received value", in, left);
  MT_EQ("Testall: status tag", st[1].MPI_TAG, LATE_TAG + 2);
  /* A receive of the first send (same value) cleans up. */
  MPI_Recv(&in, 1, MPI_INT, left, LATE_TAG + 1, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  MPI_Wait(&s, MPI_STATUS_IGNORE);
}

/* MPI_Request_get_status reports completion without freeing the request. */
static void get_status(void)
{
  MPI_Request null = MPI_REQUEST_NULL, r, s;
  MPI_Status st;
  int flag = 0, in = -1, out = 7 * mt_rank;

  MPI_Request_get_status(null, &flag, &st);
  MT_EQ("Request_get_status(MPI_REQUEST_NULL): flag", flag, 1);
  check_empty("Request_get_status(MPI_REQUEST_NULL)", &st);

  MPI_Irecv(&in, 1, MPI_INT, left, LATE_TAG + 3, MPI_COMM_WORLD, &r);
  flag = 1;
  MPI_Request_get_status(r, &flag, &st);
  MT_EQ("Request_get_status of a receive whose send is not posted: flag",
        flag, 0);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Isend(&out, 1, MPI_INT, right, LATE_TAG + 3, MPI_COMM_WORLD, &s);
  flag = 0;
  while (!flag)
    MPI_Request_get_status(r, &flag, &st);
  MT_CHECK(r != MPI_REQUEST_NULL, "Request_get_status freed the request");
  MT_EQ("Request_get_status: value", in, 7 * left);
  MT_EQ("Request_get_status: source", st.MPI_SOURCE, left);
  MT_EQ("Request_get_status: tag", st.MPI_TAG, LATE_TAG + 3);
  /* Asking again still answers "complete"; MPI_Wait then frees it. */
  MPI_Request_get_status(r, &flag, MPI_STATUS_IGNORE);
  MT_EQ("Request_get_status asked twice: flag", flag, 1);
  MPI_Wait(&r, &st);
  MT_CHECK(r == MPI_REQUEST_NULL, "Wait did not free the request");
  MT_EQ("Wait after Request_get_status: source", st.MPI_SOURCE, left);
  MT_EQ("Wait after Request_get_status: tag", st.MPI_TAG, LATE_TAG + 3);
  MPI_Wait(&s, MPI_STATUS_IGNORE);
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "waittest");
  mt_need_ranks(2);
  right = (mt_rank + 1) % mt_size;
  left = (mt_rank - 1 + mt_size) % mt_size;

  single_requests();
  testall_partial();
  get_status();

  /* Several rounds of each completion call; the values carry the round so
   * a stale message would be noticed. */
  for (int round = 0; round < 3; round++) {
    int base = round * 6;
    post_batch(base + 0);
    by_waitany(base + 0);
    post_batch(base + 1);
    by_testany(base + 1);
    post_batch(base + 2);
    by_waitall(base + 2);
    post_batch(base + 3);
    by_testall(base + 3);
    post_batch(base + 4);
    by_some(base + 4, 0);
    post_batch(base + 5);
    by_some(base + 5, 1);
  }

  return mt_done();
}
