/*
 * collzero: every blocking collective, in its corner cases, with
 * point-to-point messages in flight around it.
 *
 * On MPI_COMM_WORLD and on a split communicator (with its ranks in reverse
 * world order), each of MPI_Barrier, Bcast, Reduce, Allreduce, Gather(v),
 * Scatter(v), Allgather(v), Alltoall(v,w), Reduce_scatter(_block), Scan and
 * Exscan runs
 *   - with zero counts (receive buffers must stay untouched), and zero
 *     counts of derived datatypes, and counts of a zero-size datatype;
 *   - with MPI_IN_PLACE wherever MPI allows it;
 *   - with derived datatypes (vector, resized, contiguous pairs with a
 *     user-defined operation; send and receive types that differ but have
 *     the same type signature), and MAXLOC/MINLOC on MPI_2INT;
 *   - in the v and w forms, with some ranks' counts zero and displacements
 *     out of rank order or with holes (which must stay untouched).
 * Around every collective a message on MPI_COMM_WORLD is in flight: a
 * receive and a send started before the collective and completed after it;
 * or a send started before and the blocking receive made after; or a
 * receive posted before it, matched by the partner rank's MPI_Ssend made
 * before the partner joins the collective (so the receive must be matched
 * while its rank waits in the collective).
 *
 * Then the program's own nonblocking collectives (MPI_Iallreduce, Ibcast,
 * Ibarrier, zero counts too) are completed by MPI_Wait, MPI_Test loops and
 * MPI_Waitall arrays that also hold point-to-point requests; and the
 * neighbourhood collectives MPI_Neighbor_allgather and
 * MPI_Neighbor_alltoall run on a periodic ring and on a 2-D grid (whose
 * edges have MPI_PROC_NULL neighbours), with messages in flight around
 * them, among them a synchronous send whose receive was posted before the
 * collective.
 * All results are checked exactly.  Works with 2 or more ranks.
 */
#include <string.h>

#include "mpitest.h"

enum { ITER = 4, MAXN = 64, SENT = -77 };

static MPI_Datatype vec3;   /* 3 blocks of 2 ints, stride 3: extent 8 ints */
static MPI_Datatype pair;   /* 2 contiguous ints */
static MPI_Datatype spread; /* 1 int, extent 2 ints */
static MPI_Datatype empty;  /* 0 ints */
static MPI_Op pairop;       /* on pairs: sum of the first, max of the second */

static void pairop_fn(void *in, void *inout, int *len, MPI_Datatype *type)
{
  int *a = in, *b = inout;
  (void)type;
  for (int i = 0; i < *len; i++) {
    b[2 * i] += a[2 * i];
    if (a[2 * i + 1] > b[2 * i + 1])
      b[2 * i + 1] = a[2 * i + 1];
  }
}

static void fill(int *buf, int n, int v)
{
  for (int i = 0; i < n; i++)
    buf[i] = v;
}

/* Every element of buf[0..n) is still SENT. */
static void untouched(const int *buf, int n, const char *what)
{
  for (int i = 0; i < n; i++)
    MT_CHECK(buf[i] == SENT, "%s: element %d is %d, should be untouched", what,
             i, buf[i]);
}

/* ---- a message in flight around each collective ---- */

/* Ranks 2k and 2k+1 are partners (the last of an odd count has none). */
static int partner(void)
{
  int p = mt_rank ^ 1;
  return p < mt_size ? p : MPI_PROC_NULL;
}

/* In turn: a receive and a send started before the collective and
 * completed after it; a send before and the blocking receive after; a
 * receive posted before the collective on one rank of each pair, matched by
 * its partner's MPI_Ssend made before the partner joins the collective. */
static struct {
  MPI_Request r[2];
  int out, in, tag, mode, from;
  int flights;
} fl;

static void fly(void)
{
  int right = (mt_rank + 1) % mt_size, left = (mt_rank - 1 + mt_size) % mt_size;
  fl.tag = 1 + fl.flights % 1000;
  fl.mode = fl.flights % 3;
  fl.out = fl.tag * 100 + mt_rank;
  fl.in = -1;
  fl.r[0] = fl.r[1] = MPI_REQUEST_NULL;
  fl.from = left;
  if (fl.mode == 0) {
    MPI_Irecv(&fl.in, 1, MPI_INT, left, fl.tag, MPI_COMM_WORLD, &fl.r[0]);
    MPI_Isend(&fl.out, 1, MPI_INT, right, fl.tag, MPI_COMM_WORLD, &fl.r[1]);
  } else if (fl.mode == 1) {
    MPI_Isend(&fl.out, 1, MPI_INT, right, fl.tag, MPI_COMM_WORLD, &fl.r[1]);
  } else {
    int p = partner();
    if (mt_rank % 2 == (fl.flights / 3) % 2) {
      fl.from = MPI_PROC_NULL;
      MPI_Ssend(&fl.out, 1, MPI_INT, p, fl.tag, MPI_COMM_WORLD);
    } else {
      fl.from = p;
      MPI_Irecv(&fl.in, 1, MPI_INT, p, fl.tag, MPI_COMM_WORLD, &fl.r[0]);
    }
  }
  fl.flights++;
}

static void land(const char *what)
{
  MPI_Status st;
  if (fl.mode == 1) {
    MPI_Recv(&fl.in, 1, MPI_INT, MPI_ANY_SOURCE, fl.tag, MPI_COMM_WORLD, &st);
    MT_CHECK(st.MPI_SOURCE == fl.from, "message around %s: source %d, want "
             "%d", what, st.MPI_SOURCE, fl.from);
  }
  MPI_Waitall(2, fl.r, MPI_STATUSES_IGNORE);
  if (fl.from != MPI_PROC_NULL)
    MT_CHECK(fl.in == fl.tag * 100 + fl.from,
             "message in flight around %s: got %d, want %d", what, fl.in,
             fl.tag * 100 + fl.from);
}

/* ---- the blocking collectives on one communicator ---- */

static int n, me;        /* size and rank of the communicator */
static const char *cname;

static void rooted(MPI_Comm comm, int it)
{
  int root = it % n, z[8], buf[4 * MAXN], rb[4 * MAXN], sb[4 * MAXN];
  long S = (long)n * (n - 1) / 2;

  /* Barrier. */
  fly();
  MPI_Barrier(comm);
  land("Barrier");

  /* Bcast: zero count, zero count of a derived type, a zero-size type. */
  fly();
  fill(z, 8, SENT);
  MPI_Bcast(z, 0, MPI_INT, root, comm);
  MPI_Bcast(z, 0, vec3, root, comm);
  MPI_Bcast(z, 5, empty, root, comm);
  untouched(z, 8, "Bcast of nothing");
  land("Bcast of nothing");

  /* Bcast of two vectors: the gaps stay as they were. */
  fly();
  for (int i = 0; i < 16; i++)
    buf[i] = me == root ? i * 3 + it : SENT;
  MPI_Bcast(buf, 2, vec3, root, comm);
  for (int i = 0; i < 16; i++) {
    int gap = i % 8 == 2 || i % 8 == 5;
    int want = gap && me != root ? SENT : i * 3 + it;
    MT_CHECK(buf[i] == want, "%s: Bcast of vectors: element %d is %d, want %d",
             cname, i, buf[i], want);
  }
  land("Bcast of vectors");

  /* Reduce: zero count; MPI_IN_PLACE at the root; pairs with a user op;
   * MAXLOC. */
  fly();
  fill(z, 8, SENT);
  fill(rb, 8, SENT);
  MPI_Reduce(z, rb, 0, MPI_INT, MPI_SUM, root, comm);
  untouched(rb, 8, "Reduce of nothing");
  land("Reduce of nothing");

  fly();
  buf[0] = me;
  buf[1] = 2 * me;
  buf[2] = 1;
  if (me == root)
    MPI_Reduce(MPI_IN_PLACE, buf, 3, MPI_INT, MPI_SUM, root, comm);
  else
    MPI_Reduce(buf, NULL, 3, MPI_INT, MPI_SUM, root, comm);
  if (me == root) {
    MT_EQ("Reduce in place: [0]", buf[0], S);
    MT_EQ("Reduce in place: [1]", buf[1], 2 * S);
    MT_EQ("Reduce in place: [2]", buf[2], n);
  }
  land("Reduce in place");

  fly();
  int pin[4] = {me, 10 * me, me + 1, -me}, pout[4];
  fill(pout, 4, SENT);
  MPI_Reduce(pin, pout, 2, pair, pairop, root, comm);
  if (me == root) {
    MT_EQ("Reduce of pairs, user op: [0]", pout[0], S);
    MT_EQ("Reduce of pairs, user op: [1]", pout[1], 10 * (n - 1));
    MT_EQ("Reduce of pairs, user op: [2]", pout[2], S + n);
    MT_EQ("Reduce of pairs, user op: [3]", pout[3], 0);
  } else {
    untouched(pout, 4, "Reduce: a non-root's receive buffer");
  }
  land("Reduce of pairs");

  fly();
  int vl[2] = {me % 3, me}, ml[2] = {-1, -1};
  MPI_Reduce(vl, ml, 1, MPI_2INT, MPI_MAXLOC, root, comm);
  if (me == root) {
    MT_EQ("Reduce MAXLOC: value", ml[0], n - 1 < 2 ? n - 1 : 2);
    MT_EQ("Reduce MAXLOC: location", ml[1], n - 1 < 2 ? n - 1 : 2);
  }
  land("Reduce MAXLOC");

  /* Gather: zero count; MPI_IN_PLACE; into a resized type. */
  fly();
  fill(rb, 8, SENT);
  MPI_Gather(z, 0, MPI_INT, rb, 0, MPI_INT, root, comm);
  untouched(rb, 8, "Gather of nothing");
  land("Gather of nothing");

  fly();
  fill(rb, 2 * n, SENT);
  sb[0] = me;
  sb[1] = me * me + it;
  if (me == root) {
    rb[2 * me] = sb[0];
    rb[2 * me + 1] = sb[1];
    MPI_Gather(MPI_IN_PLACE, 2, MPI_INT, rb, 2, MPI_INT, root, comm);
    for (int i = 0; i < n; i++) {
      MT_EQ("Gather in place: first", rb[2 * i], i);
      MT_EQ("Gather in place: second", rb[2 * i + 1], i * i + it);
    }
  } else {
    MPI_Gather(sb, 2, MPI_INT, NULL, 0, MPI_INT, root, comm);
  }
  land("Gather in place");

  fly();
  fill(rb, 2 * n, SENT);
  sb[0] = 10 + me;
  MPI_Gather(sb, 1, MPI_INT, rb, 1, spread, root, comm);
  if (me == root)
    for (int i = 0; i < n; i++) {
      MT_EQ("Gather into a resized type: value", rb[2 * i], 10 + i);
      MT_EQ("Gather into a resized type: hole", rb[2 * i + 1], SENT);
    }
  land("Gather into a resized type");

  /* Gatherv: rank i sends i % 3 ints, placed in reverse rank order. */
  {
    int rc[MAXN], dp[MAXN], total = 0;
    for (int i = n - 1; i >= 0; i--) {
      rc[i] = i % 3;
      dp[i] = total;
      total += rc[i];
    }
    for (int k = 0; k < rc[me]; k++)
      sb[k] = 100 * me + k + it;
    fly();
    fill(rb, total + 4, SENT);
    MPI_Gatherv(sb, rc[me], MPI_INT, rb, rc, dp, MPI_INT, root, comm);
    if (me == root) {
      for (int i = 0; i < n; i++)
        for (int k = 0; k < rc[i]; k++)
          MT_EQ("Gatherv, some counts zero", rb[dp[i] + k], 100 * i + k + it);
      untouched(rb + total, 4, "Gatherv: past the end");
    }
    land("Gatherv");

    fly();
    fill(rb, total + 4, SENT);
    if (me == root) {
      for (int k = 0; k < rc[me]; k++)
        rb[dp[me] + k] = sb[k];
      MPI_Gatherv(MPI_IN_PLACE, 0, MPI_INT, rb, rc, dp, MPI_INT, root, comm);
      for (int i = 0; i < n; i++)
        for (int k = 0; k < rc[i]; k++)
          MT_EQ("Gatherv in place", rb[dp[i] + k], 100 * i + k + it);
      untouched(rb + total, 4, "Gatherv in place: past the end");
    } else {
      MPI_Gatherv(sb, rc[me], MPI_INT, NULL, NULL, NULL, MPI_INT, root, comm);
    }
    land("Gatherv in place");

    /* All counts zero. */
    for (int i = 0; i < n; i++)
      rc[i] = 0;
    fly();
    fill(rb, 8, SENT);
    MPI_Gatherv(sb, 0, MPI_INT, rb, rc, dp, MPI_INT, root, comm);
    untouched(rb, 8, "Gatherv of nothing");
    land("Gatherv of nothing");
  }

  /* Scatter: zero count; plain; MPI_IN_PLACE at the root; pairs sent as
   * 2 ints received. */
  fly();
  fill(rb, 8, SENT);
  MPI_Scatter(z, 0, MPI_INT, rb, 0, MPI_INT, root, comm);
  untouched(rb, 8, "Scatter of nothing");
  land("Scatter of nothing");

  fly();
  for (int i = 0; i < n; i++) {
    sb[2 * i] = i * 3 + it;
    sb[2 * i + 1] = -i;
  }
  fill(rb, 4, SENT);
  if (me == root) {
    memcpy(rb, sb, sizeof(int) * 2 * n);
    MPI_Scatter(rb, 2, MPI_INT, MPI_IN_PLACE, 2, MPI_INT, root, comm);
    for (int i = 0; i < 2 * n; i++)
      MT_EQ("Scatter in place: the root's buffer", rb[i], sb[i]);
  } else {
    MPI_Scatter(NULL, 0, MPI_INT, rb, 2, MPI_INT, root, comm);
    MT_EQ("Scatter in place: first", rb[0], me * 3 + it);
    MT_EQ("Scatter in place: second", rb[1], -me);
    untouched(rb + 2, 2, "Scatter: past the end");
  }
  land("Scatter in place");

  fly();
  fill(rb, 4, SENT);
  MPI_Scatter(sb, 1, pair, rb, 2, MPI_INT, root, comm);
  MT_EQ("Scatter of pairs: first", rb[0], me * 3 + it);
  MT_EQ("Scatter of pairs: second", rb[1], -me);
  untouched(rb + 2, 2, "Scatter of pairs: past the end");
  land("Scatter of pairs");

  /* Scatterv: rank i gets (i + 1) % 3 ints, taken in reverse rank order. */
  {
    int sc[MAXN], dp[MAXN], total = 0;
    for (int i = n - 1; i >= 0; i--) {
      sc[i] = (i + 1) % 3;
      dp[i] = total;
      total += sc[i];
    }
    for (int i = 0; i < n; i++)
      for (int k = 0; k < sc[i]; k++)
        sb[dp[i] + k] = 1000 * i + k + it;
    fly();
    fill(rb, 4, SENT);
    MPI_Scatterv(sb, sc, dp, MPI_INT, rb, sc[me], MPI_INT, root, comm);
    for (int k = 0; k < sc[me]; k++)
      MT_EQ("Scatterv, some counts zero", rb[k], 1000 * me + k + it);
    untouched(rb + sc[me], 4 - sc[me], "Scatterv: past my part");
    land("Scatterv");

    fly();
    fill(rb, 4, SENT);
    if (me == root) {
      MPI_Scatterv(sb, sc, dp, MPI_INT, MPI_IN_PLACE, 0, MPI_INT, root, comm);
      for (int i = 0; i < total; i++)
        MT_CHECK(sb[i] >= 0, "Scatterv in place changed the send buffer");
    } else {
      MPI_Scatterv(NULL, NULL, NULL, MPI_INT, rb, sc[me], MPI_INT, root, comm);
      for (int k = 0; k < sc[me]; k++)
        MT_EQ("Scatterv in place", rb[k], 1000 * me + k + it);
      untouched(rb + sc[me], 4 - sc[me], "Scatterv in place: past my part");
    }
    land("Scatterv in place");

    for (int i = 0; i < n; i++)
      sc[i] = 0;
    fly();
    fill(rb, 4, SENT);
    MPI_Scatterv(sb, sc, dp, MPI_INT, rb, 0, MPI_INT, root, comm);
    untouched(rb, 4, "Scatterv of nothing");
    land("Scatterv of nothing");
  }
}

static void everyone(MPI_Comm comm, int it)
{
  int z[8], buf[8 * MAXN], rb[8 * MAXN], sb[8 * MAXN];
  long S = (long)n * (n - 1) / 2;

  /* Allreduce: zero count (also in place); in place; pairs with a user
   * op; MINLOC. */
  fly();
  fill(z, 8, SENT);
  fill(rb, 8, SENT);
  MPI_Allreduce(z, rb, 0, MPI_INT, MPI_SUM, comm);
  MPI_Allreduce(MPI_IN_PLACE, rb, 0, MPI_INT, MPI_MAX, comm);
  MPI_Allreduce(z, rb, 0, pair, pairop, comm);
  untouched(rb, 8, "Allreduce of nothing");
  land("Allreduce of nothing");

  fly();
  buf[0] = me;
  buf[1] = 1;
  buf[2] = -me - it;
  MPI_Allreduce(MPI_IN_PLACE, buf, 3, MPI_INT, MPI_SUM, comm);
  MT_EQ("Allreduce in place: [0]", buf[0], S);
  MT_EQ("Allreduce in place: [1]", buf[1], n);
  MT_EQ("Allreduce in place: [2]", buf[2], -S - (long)n * it);
  land("Allreduce in place");

  fly();
  int pin[4] = {me, 10 * me, it, -me}, pout[4];
  MPI_Allreduce(pin, pout, 2, pair, pairop, comm);
  MT_EQ("Allreduce of pairs, user op: [0]", pout[0], S);
  MT_EQ("Allreduce of pairs, user op: [1]", pout[1], 10 * (n - 1));
  MT_EQ("Allreduce of pairs, user op: [2]", pout[2], n * it);
  MT_EQ("Allreduce of pairs, user op: [3]", pout[3], 0);
  MPI_Allreduce(MPI_IN_PLACE, pin, 2, pair, pairop, comm);
  MT_CHECK(memcmp(pin, pout, sizeof(pin)) == 0,
           "Allreduce of pairs in place differs from out of place");
  land("Allreduce of pairs");

  fly();
  int vl[2] = {-(me % 3), me}, ml[2] = {-1, -1};
  MPI_Allreduce(vl, ml, 1, MPI_2INT, MPI_MINLOC, comm);
  MT_EQ("Allreduce MINLOC: value", ml[0], -(n - 1 < 2 ? n - 1 : 2));
  MT_EQ("Allreduce MINLOC: location", ml[1], n - 1 < 2 ? n - 1 : 2);
  land("Allreduce MINLOC");

  /* Allgather: zero count; in place; 2 ints sent as 1 pair received; a
   * zero-size type. */
  fly();
  fill(rb, 8, SENT);
  MPI_Allgather(z, 0, MPI_INT, rb, 0, MPI_INT, comm);
  MPI_Allgather(z, 3, empty, rb, 3, empty, comm);
  MPI_Allgather(MPI_IN_PLACE, 0, MPI_INT, rb, 0, MPI_INT, comm);
  untouched(rb, 8, "Allgather of nothing");
  land("Allgather of nothing");

  fly();
  fill(buf, 2 * n + 2, SENT);
  buf[2 * me] = me;
  buf[2 * me + 1] = it - me;
  MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, 2, MPI_INT, comm);
  for (int i = 0; i < n; i++) {
    MT_EQ("Allgather in place: first", buf[2 * i], i);
    MT_EQ("Allgather in place: second", buf[2 * i + 1], it - i);
  }
  untouched(buf + 2 * n, 2, "Allgather in place: past the end");
  land("Allgather in place");

  fly();
  sb[0] = 7 * me;
  sb[1] = it;
  fill(rb, 2 * n, SENT);
  MPI_Allgather(sb, 2, MPI_INT, rb, 1, pair, comm);
  for (int i = 0; i < n; i++) {
    MT_EQ("Allgather into pairs: first", rb[2 * i], 7 * i);
    MT_EQ("Allgather into pairs: second", rb[2 * i + 1], it);
  }
  land("Allgather into pairs");

  /* Allgatherv: rank i contributes i % 3 ints at 3 i, leaving holes. */
  {
    int rc[MAXN], dp[MAXN];
    for (int i = 0; i < n; i++) {
      rc[i] = i % 3;
      dp[i] = 3 * i;
    }
    for (int k = 0; k < rc[me]; k++)
      sb[k] = 50 * me + k + it;
    fly();
    fill(rb, 3 * n, SENT);
    MPI_Allgatherv(sb, rc[me], MPI_INT, rb, rc, dp, MPI_INT, comm);
    for (int i = 0; i < n; i++)
      for (int k = 0; k < 3; k++)
        MT_EQ("Allgatherv, some counts zero, with holes", rb[3 * i + k],
              k < rc[i] ? 50 * i + k + it : SENT);
    land("Allgatherv");

    fly();
    fill(rb, 3 * n, SENT);
    for (int k = 0; k < rc[me]; k++)
      rb[dp[me] + k] = sb[k];
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, rb, rc, dp, MPI_INT,
                   comm);
    for (int i = 0; i < n; i++)
      for (int k = 0; k < 3; k++)
        MT_EQ("Allgatherv in place", rb[3 * i + k],
              k < rc[i] ? 50 * i + k + it : SENT);
    land("Allgatherv in place");

    for (int i = 0; i < n; i++)
      rc[i] = 0;
    fly();
    fill(rb, 8, SENT);
    MPI_Allgatherv(sb, 0, MPI_INT, rb, rc, dp, MPI_INT, comm);
    untouched(rb, 8, "Allgatherv of nothing");
    land("Allgatherv of nothing");
  }

  /* Alltoall: zero count; plain; in place; pairs sent as 2 ints. */
  fly();
  fill(rb, 8, SENT);
  MPI_Alltoall(z, 0, MPI_INT, rb, 0, MPI_INT, comm);
  MPI_Alltoall(MPI_IN_PLACE, 0, MPI_INT, rb, 0, MPI_INT, comm);
  untouched(rb, 8, "Alltoall of nothing");
  land("Alltoall of nothing");

  fly();
  for (int j = 0; j < n; j++)
    sb[j] = 100 * me + j + it;
  fill(rb, n + 1, SENT);
  MPI_Alltoall(sb, 1, MPI_INT, rb, 1, MPI_INT, comm);
  for (int j = 0; j < n; j++)
    MT_EQ("Alltoall", rb[j], 100 * j + me + it);
  untouched(rb + n, 1, "Alltoall: past the end");
  land("Alltoall");

  fly();
  for (int j = 0; j < n; j++)
    buf[j] = 100 * me + j + it;
  MPI_Alltoall(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, 1, MPI_INT, comm);
  for (int j = 0; j < n; j++)
    MT_EQ("Alltoall in place", buf[j], 100 * j + me + it);
  land("Alltoall in place");

  fly();
  for (int j = 0; j < n; j++) {
    sb[2 * j] = 100 * me + j;
    sb[2 * j + 1] = it;
  }
  MPI_Alltoall(sb, 1, pair, rb, 2, MPI_INT, comm);
  for (int j = 0; j < n; j++) {
    MT_EQ("Alltoall of pairs: first", rb[2 * j], 100 * j + me);
    MT_EQ("Alltoall of pairs: second", rb[2 * j + 1], it);
  }
  land("Alltoall of pairs");

  /* Alltoallv: (i + j) % 3 ints from i to j, sent in rank order, received
   * in reverse rank order. */
  {
    int sc[MAXN], sd[MAXN], rc[MAXN], rd[MAXN], tot = 0;
    for (int j = 0; j < n; j++) {
      sc[j] = (me + j) % 3;
      sd[j] = tot;
      for (int k = 0; k < sc[j]; k++)
        sb[tot + k] = 1000 * me + 10 * j + k + it;
      tot += sc[j];
    }
    int rtot = 0;
    for (int j = n - 1; j >= 0; j--) {
      rc[j] = (me + j) % 3;
      rd[j] = rtot;
      rtot += rc[j];
    }
    fly();
    fill(rb, rtot + 2, SENT);
    MPI_Alltoallv(sb, sc, sd, MPI_INT, rb, rc, rd, MPI_INT, comm);
    for (int j = 0; j < n; j++)
      for (int k = 0; k < rc[j]; k++)
        MT_EQ("Alltoallv, some counts zero", rb[rd[j] + k],
              1000 * j + 10 * me + k + it);
    untouched(rb + rtot, 2, "Alltoallv: past the end");
    land("Alltoallv");

    /* In place: the counts are symmetric, as MPI requires. */
    fly();
    fill(buf, rtot + 2, SENT);
    for (int j = 0; j < n; j++)
      for (int k = 0; k < rc[j]; k++)
        buf[rd[j] + k] = 1000 * me + 10 * j + k + it;
    MPI_Alltoallv(MPI_IN_PLACE, NULL, NULL, MPI_DATATYPE_NULL, buf, rc, rd,
                  MPI_INT, comm);
    for (int j = 0; j < n; j++)
      for (int k = 0; k < rc[j]; k++)
        MT_EQ("Alltoallv in place", buf[rd[j] + k],
              1000 * j + 10 * me + k + it);
    untouched(buf + rtot, 2, "Alltoallv in place: past the end");
    land("Alltoallv in place");

    for (int j = 0; j < n; j++)
      sc[j] = rc[j] = 0;
    fly();
    fill(rb, 8, SENT);
    MPI_Alltoallv(sb, sc, sd, MPI_INT, rb, rc, rd, MPI_INT, comm);
    untouched(rb, 8, "Alltoallv of nothing");
    land("Alltoallv of nothing");
  }

  /* Alltoallw: to j, nothing, 1 int, or 2 ints received as 1 pair,
   * depending on (i + j) % 3; displacements in bytes, received in reverse
   * rank order. */
  {
    int sc[MAXN], sd[MAXN], rc[MAXN], rd[MAXN], so = 0, ro = 0;
    MPI_Datatype stt[MAXN], rtt[MAXN];
    for (int j = 0; j < n; j++) {
      int kind = (me + j) % 3;
      sc[j] = kind;
      stt[j] = kind == 0 ? vec3 : MPI_INT;
      sd[j] = so * (int)sizeof(int);
      for (int k = 0; k < kind; k++)
        sb[so + k] = 1000 * me + 10 * j + k + it;
      so += kind;
    }
    for (int j = n - 1; j >= 0; j--) {
      int kind = (me + j) % 3;
      rc[j] = kind == 2 ? 1 : kind;
      rtt[j] = kind == 2 ? pair : kind == 1 ? MPI_INT : vec3;
      rd[j] = ro * (int)sizeof(int);
      ro += kind;
    }
    fly();
    fill(rb, ro + 2, SENT);
    MPI_Alltoallw(sb, sc, sd, stt, rb, rc, rd, rtt, comm);
    for (int j = 0; j < n; j++)
      for (int k = 0; k < (me + j) % 3; k++)
        MT_EQ("Alltoallw, mixed types, some counts zero",
              rb[rd[j] / (int)sizeof(int) + k], 1000 * j + 10 * me + k + it);
    untouched(rb + ro, 2, "Alltoallw: past the end");
    land("Alltoallw");

    /* In place: the receive side's counts and types serve both ways. */
    fly();
    fill(buf, ro + 2, SENT);
    for (int j = 0; j < n; j++)
      for (int k = 0; k < (me + j) % 3; k++)
        buf[rd[j] / (int)sizeof(int) + k] = 1000 * me + 10 * j + k + it;
    MPI_Alltoallw(MPI_IN_PLACE, NULL, NULL, NULL, buf, rc, rd, rtt, comm);
    for (int j = 0; j < n; j++)
      for (int k = 0; k < (me + j) % 3; k++)
        MT_EQ("Alltoallw in place", buf[rd[j] / (int)sizeof(int) + k],
              1000 * j + 10 * me + k + it);
    untouched(buf + ro, 2, "Alltoallw in place: past the end");
    land("Alltoallw in place");

    for (int j = 0; j < n; j++)
      sc[j] = rc[j] = 0;
    fly();
    fill(rb, 8, SENT);
    MPI_Alltoallw(sb, sc, sd, stt, rb, rc, rd, rtt, comm);
    untouched(rb, 8, "Alltoallw of nothing");
    land("Alltoallw of nothing");
  }
}

static void reductions(MPI_Comm comm, int it)
{
  int z[8], buf[8 * MAXN], rb[8 * MAXN], sb[8 * MAXN];
  long S = (long)n * (n - 1) / 2;

  /* Reduce_scatter: rank i gets i % 3 ints (rank 0 none); in place; all
   * counts zero. */
  {
    int rc[MAXN], off[MAXN], tot = 0;
    for (int i = 0; i < n; i++) {
      rc[i] = i % 3;
      off[i] = tot;
      tot += rc[i];
    }
    for (int p = 0; p < tot; p++)
      sb[p] = 1000 * me + p + it;
    fly();
    fill(rb, 4, SENT);
    MPI_Reduce_scatter(sb, rb, rc, MPI_INT, MPI_SUM, comm);
    for (int k = 0; k < rc[me]; k++)
      MT_EQ("Reduce_scatter, some counts zero", rb[k],
            1000 * S + (long)n * (off[me] + k + it));
    untouched(rb + rc[me], 4 - rc[me], "Reduce_scatter: past my part");
    land("Reduce_scatter");

    fly();
    memcpy(buf, sb, sizeof(int) * tot);
    MPI_Reduce_scatter(MPI_IN_PLACE, buf, rc, MPI_INT, MPI_SUM, comm);
    for (int k = 0; k < rc[me]; k++)
      MT_EQ("Reduce_scatter in place", buf[k],
            1000 * S + (long)n * (off[me] + k + it));
    land("Reduce_scatter in place");

    fly();
    int pin[2 * MAXN];
    for (int i = 0; i < n; i++) {
      pin[2 * i] = me + i;
      pin[2 * i + 1] = me * i;
    }
    for (int i = 0; i < n; i++)
      rc[i] = 1;
    fill(rb, 4, SENT);
    MPI_Reduce_scatter(pin, rb, rc, pair, pairop, comm);
    MT_EQ("Reduce_scatter of pairs, user op: sum", rb[0], S + (long)n * me);
    MT_EQ("Reduce_scatter of pairs, user op: max", rb[1], (n - 1) * me);
    untouched(rb + 2, 2, "Reduce_scatter of pairs: past my part");
    land("Reduce_scatter of pairs");

    for (int i = 0; i < n; i++)
      rc[i] = 0;
    fly();
    fill(rb, 8, SENT);
    MPI_Reduce_scatter(sb, rb, rc, MPI_INT, MPI_SUM, comm);
    untouched(rb, 8, "Reduce_scatter of nothing");
    land("Reduce_scatter of nothing");
  }

  /* Reduce_scatter_block: zero count; 2 each; in place. */
  fly();
  fill(z, 8, SENT);
  fill(rb, 8, SENT);
  MPI_Reduce_scatter_block(z, rb, 0, MPI_INT, MPI_SUM, comm);
  MPI_Reduce_scatter_block(MPI_IN_PLACE, rb, 0, MPI_INT, MPI_SUM, comm);
  untouched(rb, 8, "Reduce_scatter_block of nothing");
  land("Reduce_scatter_block of nothing");

  fly();
  for (int p = 0; p < 2 * n; p++)
    sb[p] = me * p + it;
  fill(rb, 4, SENT);
  MPI_Reduce_scatter_block(sb, rb, 2, MPI_INT, MPI_SUM, comm);
  MT_EQ("Reduce_scatter_block: [0]", rb[0], S * (2 * me) + (long)n * it);
  MT_EQ("Reduce_scatter_block: [1]", rb[1], S * (2 * me + 1) + (long)n * it);
  untouched(rb + 2, 2, "Reduce_scatter_block: past my part");
  land("Reduce_scatter_block");

  fly();
  memcpy(buf, sb, sizeof(int) * 2 * n);
  MPI_Reduce_scatter_block(MPI_IN_PLACE, buf, 2, MPI_INT, MPI_MAX, comm);
  MT_EQ("Reduce_scatter_block in place: [0]", buf[0], (n - 1) * (2 * me) + it);
  MT_EQ("Reduce_scatter_block in place: [1]", buf[1],
        (n - 1) * (2 * me + 1) + it);
  land("Reduce_scatter_block in place");

  /* Scan and Exscan: zero count; plain; in place; pairs with a user op. */
  fly();
  fill(rb, 8, SENT);
  MPI_Scan(z, rb, 0, MPI_INT, MPI_SUM, comm);
  MPI_Exscan(z, rb, 0, MPI_INT, MPI_SUM, comm);
  MPI_Scan(MPI_IN_PLACE, rb, 0, MPI_INT, MPI_SUM, comm);
  MPI_Exscan(MPI_IN_PLACE, rb, 0, MPI_INT, MPI_SUM, comm);
  untouched(rb, 8, "Scan and Exscan of nothing");
  land("Scan of nothing");

  fly();
  sb[0] = me + 1;
  sb[1] = it;
  MPI_Scan(sb, rb, 2, MPI_INT, MPI_SUM, comm);
  MT_EQ("Scan: [0]", rb[0], (me + 1) * (me + 2) / 2);
  MT_EQ("Scan: [1]", rb[1], (me + 1) * it);
  buf[0] = me + 1;
  buf[1] = it;
  MPI_Scan(MPI_IN_PLACE, buf, 2, MPI_INT, MPI_SUM, comm);
  MT_EQ("Scan in place: [0]", buf[0], (me + 1) * (me + 2) / 2);
  MT_EQ("Scan in place: [1]", buf[1], (me + 1) * it);
  land("Scan");

  fly();
  fill(rb, 2, SENT);
  MPI_Exscan(sb, rb, 2, MPI_INT, MPI_SUM, comm);
  if (me > 0) {
    MT_EQ("Exscan: [0]", rb[0], me * (me + 1) / 2);
    MT_EQ("Exscan: [1]", rb[1], me * it);
  }
  buf[0] = me + 1;
  buf[1] = it;
  MPI_Exscan(MPI_IN_PLACE, buf, 2, MPI_INT, MPI_SUM, comm);
  if (me > 0) {
    MT_EQ("Exscan in place: [0]", buf[0], me * (me + 1) / 2);
    MT_EQ("Exscan in place: [1]", buf[1], me * it);
  }
  land("Exscan");

  fly();
  int pin[2] = {me, (me * 7) % 5}, pout[2] = {SENT, SENT}, mx = 0;
  MPI_Scan(pin, pout, 1, pair, pairop, comm);
  for (int i = 0; i <= me; i++)
    mx = (i * 7) % 5 > mx ? (i * 7) % 5 : mx;
  MT_EQ("Scan of pairs, user op: sum", pout[0], me * (me + 1) / 2);
  MT_EQ("Scan of pairs, user op: max", pout[1], mx);
  pout[0] = pout[1] = SENT;
  MPI_Exscan(pin, pout, 1, pair, pairop, comm);
  if (me > 0) {
    mx = 0;
    for (int i = 0; i < me; i++)
      mx = (i * 7) % 5 > mx ? (i * 7) % 5 : mx;
    MT_EQ("Exscan of pairs, user op: sum", pout[0], (me - 1) * me / 2);
    MT_EQ("Exscan of pairs, user op: max", pout[1], mx);
  }
  land("Scan of pairs");
}

static void blocking(MPI_Comm comm, const char *name, int it)
{
  MPI_Comm_size(comm, &n);
  MPI_Comm_rank(comm, &me);
  cname = name;
  rooted(comm, it);
  everyone(comm, it);
  reductions(comm, it);
}

/* ---- the program's own nonblocking collectives ---- */

static void nonblocking(int it)
{
  int right = (mt_rank + 1) % mt_size, left = (mt_rank - 1 + mt_size) % mt_size;
  long S = (long)mt_size * (mt_size - 1) / 2;
  MPI_Request req[6];
  MPI_Status st[6];
  int out = 200 + it * 10 + mt_rank, in = -1, in2 = -1, flag;

  /* Iallreduce, a zero-count Iallreduce and a zero-count Ibcast in one
   * Waitall with a wildcard receive and a send. */
  long v = mt_rank + it, sum = -1;
  int z[4];
  fill(z, 4, SENT);
  MPI_Irecv(&in, 1, MPI_INT, MPI_ANY_SOURCE, 2001, MPI_COMM_WORLD, &req[0]);
  MPI_Iallreduce(&v, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD, &req[1]);
  MPI_Iallreduce(MPI_IN_PLACE, z, 0, MPI_INT, MPI_SUM, MPI_COMM_WORLD,
                 &req[2]);
  MPI_Isend(&out, 1, MPI_INT, right, 2001, MPI_COMM_WORLD, &req[3]);
  MPI_Ibcast(z, 0, MPI_INT, it % mt_size, MPI_COMM_WORLD, &req[4]);
  MPI_Waitall(5, req, st);
  MT_EQ("Iallreduce in a Waitall: sum", sum, S + (long)mt_size * it);
  MT_EQ("receive in a Waitall with Iallreduce: value", in,
        200 + it * 10 + left);
  MT_EQ("receive in a Waitall with Iallreduce: source", st[0].MPI_SOURCE,
        left);
  MT_EQ("receive in a Waitall with Iallreduce: tag", st[0].MPI_TAG, 2001);
  untouched(z, 4, "zero-count Iallreduce and Ibcast");
  for (int k = 0; k < 5; k++)
    MT_CHECK(req[k] == MPI_REQUEST_NULL, "Waitall left request %d active", k);

  /* Ibcast completed by an MPI_Test loop, with an exchange started after
   * it and completed inside the loop. */
  int root = it % mt_size, b[3];
  for (int k = 0; k < 3; k++)
    b[k] = mt_rank == root ? 300 + it + k : SENT;
  MPI_Ibcast(b, 3, MPI_INT, root, MPI_COMM_WORLD, &req[0]);
  MPI_Irecv(&in, 1, MPI_INT, left, 2002, MPI_COMM_WORLD, &req[1]);
  MPI_Isend(&out, 1, MPI_INT, right, 2002, MPI_COMM_WORLD, &req[2]);
  for (flag = 0; !flag;)
    MPI_Test(&req[0], &flag, MPI_STATUS_IGNORE);
  MT_CHECK(req[0] == MPI_REQUEST_NULL, "MPI_Test left a complete Ibcast "
           "active");
  for (int k = 0; k < 3; k++)
    MT_EQ("Ibcast completed by MPI_Test", b[k], 300 + it + k);
  for (flag = 0; !flag;)
    MPI_Testall(2, &req[1], &flag, MPI_STATUSES_IGNORE);
  MT_EQ("exchange beside Ibcast: value", in, 200 + it * 10 + left);

  /* Ibarrier completed by MPI_Wait, with a send started before it and
   * the receive made while it is pending. */
  MPI_Isend(&out, 1, MPI_INT, left, 2003, MPI_COMM_WORLD, &req[1]);
  MPI_Ibarrier(MPI_COMM_WORLD, &req[0]);
  MPI_Recv(&in2, 1, MPI_INT, right, 2003, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  MPI_Wait(&req[0], MPI_STATUS_IGNORE);
  MPI_Wait(&req[1], MPI_STATUS_IGNORE);
  MT_EQ("receive while Ibarrier is pending: value", in2,
        200 + it * 10 + right);

  /* Several collectives pending at once, completed by one Waitall in an
   * order that is not the order they started in, between point-to-point
   * requests. */
  long mx = -1;
  int bb = mt_rank == root ? 400 + it : SENT;
  MPI_Irecv(&in, 1, MPI_INT, left, 2004, MPI_COMM_WORLD, &req[5]);
  MPI_Ibarrier(MPI_COMM_WORLD, &req[3]);
  MPI_Ibcast(&bb, 1, MPI_INT, root, MPI_COMM_WORLD, &req[1]);
  MPI_Iallreduce(&v, &mx, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD, &req[0]);
  MPI_Isend(&out, 1, MPI_INT, right, 2004, MPI_COMM_WORLD, &req[4]);
  req[2] = MPI_REQUEST_NULL;
  MPI_Waitall(6, req, st);
  MT_EQ("pending Iallreduce: max", mx, mt_size - 1 + it);
  MT_EQ("pending Ibcast: value", bb, 400 + it);
  MT_EQ("receive beside pending collectives: value", in,
        200 + it * 10 + left);
  MT_EQ("receive beside pending collectives: source", st[5].MPI_SOURCE, left);
}

/* ---- neighbourhood collectives ---- */

/* Neighbor_allgather and Neighbor_alltoall on a Cartesian communicator,
 * checked against MPI_Cart_shift, with a message on MPI_COMM_WORLD in
 * flight around them.  ssend: the message is a synchronous send to the
 * partner, which posted its receive and went on into the collectives. */
static void neighbours(MPI_Comm cart, int ndims, int it, int ssend)
{
  int nb[8], me_c, sb[8], rb[8], ag[8];
  MPI_Comm_rank(cart, &me_c);
  for (int d = 0; d < ndims; d++)
    MPI_Cart_shift(cart, d, 1, &nb[2 * d], &nb[2 * d + 1]);

  int right = (mt_rank + 1) % mt_size, left = (mt_rank - 1 + mt_size) % mt_size;
  int out = 600 + it * 10 + mt_rank, in = -1, from = left;
  MPI_Request r[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  if (!ssend) {
    MPI_Irecv(&in, 1, MPI_INT, left, 2100, MPI_COMM_WORLD, &r[0]);
    MPI_Isend(&out, 1, MPI_INT, right, 2100, MPI_COMM_WORLD, &r[1]);
  } else if (mt_rank % 2 == it % 2) {
    /* Synchronous, to a partner that has gone into the collective. */
    from = MPI_PROC_NULL;
    MPI_Ssend(&out, 1, MPI_INT, partner(), 2101, MPI_COMM_WORLD);
  } else {
    from = partner();
    MPI_Irecv(&in, 1, MPI_INT, from, 2101, MPI_COMM_WORLD, &r[0]);
  }

  int mine[2] = {me_c, it};
  fill(ag, 8, SENT);
  MPI_Neighbor_allgather(mine, 1, pair, ag, 2, MPI_INT, cart);
  for (int k = 0; k < 2 * ndims; k++)
    if (nb[k] == MPI_PROC_NULL) {
      MT_EQ("Neighbor_allgather from MPI_PROC_NULL: untouched", ag[2 * k],
            SENT);
      MT_EQ("Neighbor_allgather from MPI_PROC_NULL: untouched", ag[2 * k + 1],
            SENT);
    } else {
      MT_EQ("Neighbor_allgather: the neighbour's rank", ag[2 * k], nb[k]);
      MT_EQ("Neighbor_allgather: second", ag[2 * k + 1], it);
    }

  /* To neighbour k goes 100 * me + k; the neighbour below in dimension d
   * sent to me as its neighbour above (2 d + 1), and the other way. */
  for (int k = 0; k < 2 * ndims; k++)
    sb[k] = 100 * me_c + k + it;
  fill(rb, 8, SENT);
  MPI_Neighbor_alltoall(sb, 1, MPI_INT, rb, 1, MPI_INT, cart);
  for (int k = 0; k < 2 * ndims; k++)
    MT_EQ("Neighbor_alltoall", rb[k],
          nb[k] == MPI_PROC_NULL ? SENT : 100 * nb[k] + (k ^ 1) + it);

  /* Zero counts. */
  fill(rb, 8, SENT);
  MPI_Neighbor_allgather(sb, 0, MPI_INT, rb, 0, MPI_INT, cart);
  MPI_Neighbor_alltoall(sb, 0, MPI_INT, rb, 0, MPI_INT, cart);
  untouched(rb, 8, "neighbourhood collectives of nothing");

  MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
  if (from != MPI_PROC_NULL)
    MT_EQ("message in flight around neighbourhood collectives", in,
          600 + it * 10 + from);
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "collzero");
  mt_need_ranks(2);
  MT_CHECK(mt_size <= MAXN, "at most %d ranks", MAXN);

  MPI_Type_vector(3, 2, 3, MPI_INT, &vec3);
  MPI_Type_commit(&vec3);
  MPI_Type_contiguous(2, MPI_INT, &pair);
  MPI_Type_commit(&pair);
  MPI_Type_create_resized(MPI_INT, 0, 2 * sizeof(int), &spread);
  MPI_Type_commit(&spread);
  MPI_Type_contiguous(0, MPI_INT, &empty);
  MPI_Type_commit(&empty);
  MPI_Op_create(pairop_fn, 1, &pairop);

  /* The halves by parity, each in reverse world order. */
  MPI_Comm half;
  MPI_Comm_split(MPI_COMM_WORLD, mt_rank % 2, -mt_rank, &half);

  /* A periodic ring (periodic only when the neighbours differ), and a 2-D
   * grid that is not periodic in a dimension of size below 3. */
  MPI_Comm ring, grid;
  int d1 = mt_size, p1 = mt_size >= 3, dims[2] = {0, 0}, per[2];
  MPI_Cart_create(MPI_COMM_WORLD, 1, &d1, &p1, 0, &ring);
  MPI_Dims_create(mt_size, 2, dims);
  per[0] = dims[0] >= 3;
  per[1] = dims[1] >= 3;
  MPI_Cart_create(MPI_COMM_WORLD, 2, dims, per, 0, &grid);

  for (int it = 0; it < ITER; it++) {
    blocking(MPI_COMM_WORLD, "MPI_COMM_WORLD", it);
    blocking(half, "a split communicator", it);
    nonblocking(it);
    neighbours(ring, 1, it, 0);
    neighbours(grid, 2, it, 0);
  }
  /* Last, as they depend most on what the layer does around a collective it
   * does not wrap: a synchronous send just before it. */
  for (int it = 0; it < ITER; it++) {
    neighbours(ring, 1, it, 1);
    neighbours(grid, 2, it, 1);
  }

  MPI_Comm_free(&grid);
  MPI_Comm_free(&ring);
  MPI_Comm_free(&half);
  MPI_Op_free(&pairop);
  MPI_Type_free(&empty);
  MPI_Type_free(&spread);
  MPI_Type_free(&pair);
  MPI_Type_free(&vec3);
  return mt_done();
}
