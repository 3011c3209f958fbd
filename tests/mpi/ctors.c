/*
 * ctors: every communicator constructor, each new communicator used at once
 * for point-to-point traffic and a collective, then freed.
 *
 *   - MPI_Comm_dup, MPI_Comm_dup_with_info (of MPI_COMM_WORLD and of a split
 *     communicator), MPI_Comm_idup: all ranks start it, exchange messages on
 *     the parent and complete it in one MPI_Waitall with them; two idups
 *     pending at once, completed with MPI_Test.
 *   - MPI_Comm_split (negative keys, and MPI_UNDEFINED for one rank),
 *     MPI_Comm_split_type (MPI_COMM_TYPE_SHARED, and MPI_UNDEFINED).
 *   - MPI_Comm_create (a group without the last rank, and a reversed group),
 *     MPI_Comm_create_group called by the even ranks only while the odd ranks
 *     talk among themselves.
 *   - MPI_Cart_create (2-D, and 1-D with fewer nodes than ranks),
 *     MPI_Cart_sub along each dimension, shifts ending in MPI_PROC_NULL.
 *   - MPI_Graph_create of a ring, MPI_Dist_graph_create_adjacent and
 *     MPI_Dist_graph_create.
 *   - MPI_Intercomm_create between the even and odd ranks: wildcard receives
 *     and an MPI_Allreduce across the two groups; then MPI_Intercomm_merge.
 *   - Context-id pressure: 300 dup/free cycles with a message on each
 *     duplicate, and 64 communicators alive at once, each with a message in
 *     flight, freed in a mixed order.
 *   - Messages in flight on the parent across a constructor: a receive and
 *     a send started before MPI_Comm_dup and completed after it; and a
 *     receive posted just before MPI_Comm_dup, MPI_Comm_split or
 *     MPI_Comm_free, matched by the partner's MPI_Ssend made before it
 *     joins the call.
 *   (Not here: MPI_Comm_idup started by one rank that then exchanges
 *     messages with ranks that start it only afterwards.  mpisnap completes
 *     an idup at once, a known deviation: docs/DESIGN.md.)
 *
 * On every new communicator (see exercise()): a ring exchange with a
 * wildcard receive whose value and status name the sender, both as a rank
 * of the communicator and as a world rank; a reverse exchange with
 * MPI_Sendrecv; an MPI_Allreduce and an MPI_Bcast.  Works with 2 or more
 * ranks.
 */
#include <string.h>

#include "mpitest.h"

enum { ROUNDS = 3, CYCLES = 300, ALIVE = 64, INFLIGHT_ROUNDS = 10 };

/* The world rank of every rank of comm (an intracommunicator). */
static void world_ranks(MPI_Comm comm, int *out)
{
  MPI_Allgather(&mt_rank, 1, MPI_INT, out, 1, MPI_INT, comm);
}

/* Point-to-point traffic and collectives on an intracommunicator; salt
 * makes the values of each use different. */
static void exercise(MPI_Comm comm, int salt, const char *what)
{
  int me, n, flag = 0, wr[64];
  MPI_Comm_test_inter(comm, &flag);
  MT_CHECK(!flag, "%s: an intercommunicator where an intracommunicator was "
           "expected", what);
  MPI_Comm_rank(comm, &me);
  MPI_Comm_size(comm, &n);
  MT_CHECK(n >= 1 && n <= 64, "%s: size %d", what, n);
  world_ranks(comm, wr);
  MT_CHECK(wr[me] == mt_rank, "%s: Allgather puts world rank %d at my rank "
           "%d, want %d", what, wr[me], me, mt_rank);
  int right = (me + 1) % n, left = (me - 1 + n) % n;

  /* Ring to the right, wildcard receive. */
  int out[2] = {salt * 1000 + me, mt_rank}, in[2] = {-1, -1};
  MPI_Request s;
  MPI_Status st;
  MPI_Isend(out, 2, MPI_INT, right, 11, comm, &s);
  MPI_Recv(in, 2, MPI_INT, MPI_ANY_SOURCE, 11, comm, &st);
  MPI_Wait(&s, MPI_STATUS_IGNORE);
  MT_CHECK(in[0] == salt * 1000 + left && in[1] == wr[left],
           "%s: ring got {%d, %d}, want {%d, %d}", what, in[0], in[1],
           salt * 1000 + left, wr[left]);
  MT_CHECK(st.MPI_SOURCE == left, "%s: wildcard receive: source %d, want %d",
           what, st.MPI_SOURCE, left);
  MT_EQ("wildcard receive: tag", st.MPI_TAG, 11);
  MT_EQ("wildcard receive: count", mt_count(&st, MPI_INT), 2);

  /* And back to the left with MPI_Sendrecv. */
  out[0] = salt * 1000 + 500 + me;
  MPI_Sendrecv(out, 2, MPI_INT, left, 12, in, 2, MPI_INT, right, 12, comm,
               &st);
  MT_CHECK(in[0] == salt * 1000 + 500 + right && in[1] == wr[right],
           "%s: reverse ring got {%d, %d}, want {%d, %d}", what, in[0],
           in[1], salt * 1000 + 500 + right, wr[right]);

  /* Collectives. */
  long v = me + salt, sum = -1;
  MPI_Allreduce(&v, &sum, 1, MPI_LONG, MPI_SUM, comm);
  MT_CHECK(sum == (long)n * (n - 1) / 2 + (long)n * salt,
           "%s: Allreduce sum %ld, want %ld", what, sum,
           (long)n * (n - 1) / 2 + (long)n * salt);
  int b = me == n - 1 ? salt + 7 : -1;
  MPI_Bcast(&b, 1, MPI_INT, n - 1, comm);
  MT_CHECK(b == salt + 7, "%s: Bcast %d, want %d", what, b, salt + 7);
}

static void free_comm(MPI_Comm *comm)
{
  MPI_Comm_free(comm);
  MT_CHECK(*comm == MPI_COMM_NULL, "Comm_free did not set MPI_COMM_NULL");
}

/* ---- duplicates ---- */

static void dups(int round)
{
  MPI_Comm a, b, half, c;
  MPI_Info info;
  int r, n, res;

  MPI_Comm_dup(MPI_COMM_WORLD, &a);
  MPI_Comm_compare(a, MPI_COMM_WORLD, &res);
  MT_EQ("Comm_dup: compare with the original", res, MPI_CONGRUENT);
  exercise(a, round * 10 + 1, "Comm_dup");

  MPI_Info_create(&info);
  MPI_Info_set(info, "mpisnap_test_hint", "1");
  MPI_Comm_dup_with_info(a, info, &b);
  MPI_Comm_rank(b, &r);
  MT_EQ("Comm_dup_with_info: rank", r, mt_rank);
  exercise(b, round * 10 + 2, "Comm_dup_with_info");

  /* Of a split communicator, and freed in the order of creation. */
  MPI_Comm_split(MPI_COMM_WORLD, mt_rank % 2, mt_rank, &half);
  MPI_Comm_dup_with_info(half, info, &c);
  MPI_Info_free(&info);
  MPI_Comm_size(c, &n);
  MT_EQ("Comm_dup_with_info of a split: size", n,
        mt_rank % 2 ? mt_size / 2 : (mt_size + 1) / 2);
  exercise(c, round * 10 + 3, "Comm_dup_with_info of a split");
  free_comm(&a);
  exercise(b, round * 10 + 4, "Comm_dup_with_info after its parent's free");
  free_comm(&half);
  exercise(c, round * 10 + 5, "dup of a split after the split's free");
  free_comm(&b);
  free_comm(&c);
}

static void idups(int round)
{
  int right = (mt_rank + 1) % mt_size, left = (mt_rank - 1 + mt_size) % mt_size;
  MPI_Comm a, b, c;
  MPI_Request req[4];
  MPI_Status st[4];
  int out = 3000 + round * 10 + mt_rank, in = -1, flag;

  /* Every rank starts the idup, then a receive and a send on the parent;
   * one Waitall completes all three. */
  MPI_Comm_idup(MPI_COMM_WORLD, &a, &req[0]);
  MPI_Irecv(&in, 1, MPI_INT, MPI_ANY_SOURCE, 21, MPI_COMM_WORLD, &req[1]);
  MPI_Isend(&out, 1, MPI_INT, right, 21, MPI_COMM_WORLD, &req[2]);
  MPI_Waitall(3, req, st);
  MT_EQ("receive next to a pending Comm_idup: value", in,
        3000 + round * 10 + left);
  MT_EQ("receive next to a pending Comm_idup: source", st[1].MPI_SOURCE,
        left);
  for (int k = 0; k < 3; k++)
    MT_CHECK(req[k] == MPI_REQUEST_NULL, "Waitall left request %d active", k);
  exercise(a, round * 10 + 6, "Comm_idup");

  /* Two idups pending at once (the second of the first's result), with a
   * message on the parent between them; completed by MPI_Test loops in
   * reverse order of starting. */
  MPI_Comm_idup(MPI_COMM_WORLD, &b, &req[0]);
  MPI_Sendrecv(&out, 1, MPI_INT, left, 22, &in, 1, MPI_INT, right, 22,
               MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  MT_EQ("exchange between two pending idups: value", in,
        3000 + round * 10 + right);
  MPI_Comm_idup(a, &c, &req[1]);
  for (flag = 0; !flag;)
    MPI_Test(&req[1], &flag, MPI_STATUS_IGNORE);
  MT_CHECK(req[1] == MPI_REQUEST_NULL, "MPI_Test left a complete idup active");
  for (flag = 0; !flag;)
    MPI_Test(&req[0], &flag, MPI_STATUS_IGNORE);
  exercise(c, round * 10 + 7, "Comm_idup of an idup's result");
  exercise(b, round * 10 + 8, "second pending Comm_idup");
  free_comm(&a);
  free_comm(&c);
  free_comm(&b);
}

/* ---- split ---- */

static void splits(int round)
{
  MPI_Comm half, most, shared, none;
  int color = mt_rank % 2, r, n;

  /* Key -rank: the highest world rank of each half becomes its rank 0. */
  MPI_Comm_split(MPI_COMM_WORLD, color, -mt_rank, &half);
  MPI_Comm_rank(half, &r);
  MPI_Comm_size(half, &n);
  int want_n = color == 0 ? (mt_size + 1) / 2 : mt_size / 2;
  MT_EQ("Comm_split: size", n, want_n);
  MT_EQ("Comm_split: rank", r, want_n - 1 - mt_rank / 2);
  exercise(half, round * 10 + 1, "Comm_split by parity");

  /* The last rank is left out; the rest keep their order, split of a
   * split's sibling while the halves are alive. */
  MPI_Comm_split(MPI_COMM_WORLD, mt_rank == mt_size - 1 ? MPI_UNDEFINED : 3,
                 mt_rank, &most);
  if (mt_rank == mt_size - 1) {
    MT_CHECK(most == MPI_COMM_NULL,
             "Comm_split with MPI_UNDEFINED did not give MPI_COMM_NULL");
  } else {
    MPI_Comm_rank(most, &r);
    MPI_Comm_size(most, &n);
    MT_EQ("Comm_split without the last rank: size", n, mt_size - 1);
    MT_EQ("Comm_split without the last rank: rank", r, mt_rank);
    exercise(most, round * 10 + 2, "Comm_split without the last rank");
    free_comm(&most);
  }

  MPI_Comm_split_type(half, MPI_COMM_TYPE_SHARED, mt_rank, MPI_INFO_NULL,
                      &shared);
  MT_CHECK(shared != MPI_COMM_NULL, "Comm_split_type(SHARED) gave "
           "MPI_COMM_NULL");
  exercise(shared, round * 10 + 3, "Comm_split_type(SHARED) of a split");
  free_comm(&shared);
  free_comm(&half);

  MPI_Comm_split_type(MPI_COMM_WORLD,
                      mt_rank == 0 ? MPI_UNDEFINED : MPI_COMM_TYPE_SHARED, 0,
                      MPI_INFO_NULL, &none);
  if (mt_rank == 0) {
    MT_CHECK(none == MPI_COMM_NULL, "Comm_split_type(MPI_UNDEFINED) did not "
             "give MPI_COMM_NULL");
  } else {
    MT_CHECK(none != MPI_COMM_NULL, "Comm_split_type(SHARED) gave "
             "MPI_COMM_NULL");
    exercise(none, round * 10 + 4, "Comm_split_type without rank 0");
    free_comm(&none);
  }
}

/* ---- groups ---- */

static void creates(int round)
{
  MPI_Group world, nolast, reversed, evens;
  MPI_Comm c;
  int ranks[64], r, n;

  MPI_Comm_group(MPI_COMM_WORLD, &world);
  int last = mt_size - 1;
  MPI_Group_excl(world, 1, &last, &nolast);
  MPI_Comm_create(MPI_COMM_WORLD, nolast, &c);
  if (mt_rank == last) {
    MT_CHECK(c == MPI_COMM_NULL, "Comm_create: a non-member got a "
             "communicator");
  } else {
    MPI_Comm_size(c, &n);
    MT_EQ("Comm_create without the last rank: size", n, mt_size - 1);
    exercise(c, round * 10 + 1, "Comm_create without the last rank");
    free_comm(&c);
  }
  MPI_Group_free(&nolast);

  for (int k = 0; k < mt_size; k++)
    ranks[k] = mt_size - 1 - k;
  MPI_Group_incl(world, mt_size, ranks, &reversed);
  MPI_Comm_create(MPI_COMM_WORLD, reversed, &c);
  MPI_Comm_rank(c, &r);
  MT_EQ("Comm_create of the reversed group: rank", r, mt_size - 1 - mt_rank);
  exercise(c, round * 10 + 2, "Comm_create of the reversed group");
  free_comm(&c);
  MPI_Group_free(&reversed);

  /* Comm_create_group: only the even ranks call it; meanwhile the odd
   * ranks exchange messages among themselves on MPI_COMM_WORLD. */
  n = 0;
  for (int k = 0; k < mt_size; k += 2)
    ranks[n++] = k;
  MPI_Group_incl(world, n, ranks, &evens);
  if (mt_rank % 2 == 0) {
    MPI_Comm_create_group(MPI_COMM_WORLD, evens, 40 + round, &c);
    MPI_Comm_rank(c, &r);
    MT_EQ("Comm_create_group of the even ranks: rank", r, mt_rank / 2);
    exercise(c, round * 10 + 3, "Comm_create_group of the even ranks");
    free_comm(&c);
  } else {
    int nodd = mt_size / 2, me = mt_rank / 2;
    int to = 2 * ((me + 1) % nodd) + 1, from = 2 * ((me - 1 + nodd) % nodd) + 1;
    int out = 4000 + mt_rank, in = -1;
    MPI_Sendrecv(&out, 1, MPI_INT, to, 41, &in, 1, MPI_INT, from, 41,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MT_EQ("odd ranks' ring beside Comm_create_group", in, 4000 + from);
  }
  MPI_Group_free(&evens);
  MPI_Group_free(&world);
}

/* ---- topologies ---- */

static void carts(int round)
{
  MPI_Comm grid, row, col, line;
  int dims[2] = {0, 0}, periods[2] = {1, 0}, coords[2], me, n, src, dst;

  MPI_Dims_create(mt_size, 2, dims);
  MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 1, &grid);
  MT_CHECK(grid != MPI_COMM_NULL, "Cart_create gave MPI_COMM_NULL");
  MPI_Comm_rank(grid, &me);
  MPI_Cart_coords(grid, me, 2, coords);
  exercise(grid, round * 10 + 1, "Cart_create 2-D");

  /* Periodic dimension 0: a ring of shifts. */
  MPI_Cart_shift(grid, 0, 1, &src, &dst);
  int out = 5000 + me, in = -1;
  MPI_Status st;
  MPI_Sendrecv(&out, 1, MPI_INT, dst, 51, &in, 1, MPI_INT, src, 51, grid, &st);
  MT_EQ("Cart_shift along the periodic dimension: value", in, 5000 + src);
  MT_EQ("Cart_shift along the periodic dimension: source", st.MPI_SOURCE, src);
  /* Dimension 1 is not periodic: the ends talk to MPI_PROC_NULL. */
  MPI_Cart_shift(grid, 1, 1, &src, &dst);
  MT_EQ("Cart_shift: no source at the low end", src == MPI_PROC_NULL,
        coords[1] == 0);
  MT_EQ("Cart_shift: no destination at the high end", dst == MPI_PROC_NULL,
        coords[1] == dims[1] - 1);
  in = -1;
  MPI_Sendrecv(&out, 1, MPI_INT, dst, 52, &in, 1, MPI_INT, src, 52, grid, &st);
  if (src == MPI_PROC_NULL) {
    MT_EQ("receive from MPI_PROC_NULL: buffer untouched", in, -1);
    MT_EQ("receive from MPI_PROC_NULL: source", st.MPI_SOURCE, MPI_PROC_NULL);
    MT_EQ("receive from MPI_PROC_NULL: tag", st.MPI_TAG, MPI_ANY_TAG);
    MT_EQ("receive from MPI_PROC_NULL: count", mt_count(&st, MPI_INT), 0);
  } else {
    MT_EQ("Cart_shift along the open dimension: value", in, 5000 + src);
  }

  int keep_row[2] = {0, 1}, keep_col[2] = {1, 0};
  MPI_Cart_sub(grid, keep_row, &row);
  MPI_Cart_sub(grid, keep_col, &col);
  MPI_Comm_size(row, &n);
  MT_EQ("Cart_sub along dimension 1: size", n, dims[1]);
  MPI_Comm_rank(row, &me);
  MT_EQ("Cart_sub along dimension 1: rank", me, coords[1]);
  MPI_Comm_size(col, &n);
  MT_EQ("Cart_sub along dimension 0: size", n, dims[0]);
  MPI_Comm_rank(col, &me);
  MT_EQ("Cart_sub along dimension 0: rank", me, coords[0]);
  free_comm(&grid); /* the subs outlive their parent */
  exercise(row, round * 10 + 2, "Cart_sub, a row");
  exercise(col, round * 10 + 3, "Cart_sub, a column");
  free_comm(&col);
  free_comm(&row);

  /* A 1-D grid one node short of the job: the last rank is left out. */
  int d1 = mt_size - 1, p1 = 1;
  MPI_Cart_create(MPI_COMM_WORLD, 1, &d1, &p1, 0, &line);
  if (mt_rank == mt_size - 1) {
    MT_CHECK(line == MPI_COMM_NULL, "Cart_create: a rank outside the grid "
             "got a communicator");
  } else {
    exercise(line, round * 10 + 4, "Cart_create one node short");
    free_comm(&line);
  }
}

static void graphs(int round)
{
  MPI_Comm g, dg, dg2;
  int n = mt_size, me, cnt, nb[2], index[64], edges[128];

  /* A ring as an MPI_Graph_create graph: node i's edges go to i-1, i+1. */
  for (int i = 0; i < n; i++) {
    index[i] = 2 * (i + 1);
    edges[2 * i] = (i - 1 + n) % n;
    edges[2 * i + 1] = (i + 1) % n;
  }
  MPI_Graph_create(MPI_COMM_WORLD, n, index, edges, 0, &g);
  MPI_Comm_rank(g, &me);
  MPI_Graph_neighbors_count(g, me, &cnt);
  MT_EQ("Graph_neighbors_count", cnt, 2);
  MPI_Graph_neighbors(g, me, 2, nb);
  MT_EQ("Graph_neighbors: left", nb[0], (me - 1 + n) % n);
  MT_EQ("Graph_neighbors: right", nb[1], (me + 1) % n);
  {
    /* One message each way to each neighbour, told apart by tag (with two
     * ranks both neighbours are the same rank). */
    int out[2] = {6000 + me, 6100 + me}, in[2] = {-1, -1};
    MPI_Request r[4];
    MPI_Irecv(&in[0], 1, MPI_INT, nb[0], 61, g, &r[0]);
    MPI_Irecv(&in[1], 1, MPI_INT, nb[1], 62, g, &r[1]);
    MPI_Isend(&out[0], 1, MPI_INT, nb[1], 61, g, &r[2]);
    MPI_Isend(&out[1], 1, MPI_INT, nb[0], 62, g, &r[3]);
    MPI_Waitall(4, r, MPI_STATUSES_IGNORE);
    MT_EQ("Graph_create: from the left neighbour", in[0], 6000 + nb[0]);
    MT_EQ("Graph_create: from the right neighbour", in[1], 6100 + nb[1]);
  }
  exercise(g, round * 10 + 1, "Graph_create");

  /* Dist_graph_create_adjacent: in from the left, out to the right. */
  int src = (mt_rank - 1 + n) % n, dst = (mt_rank + 1) % n, indeg, outdeg, w;
  int sw = 3, dw = 4; /* weights (MPI_UNWEIGHTED upsets GCC's -Wstringop) */
  MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 1, &src, &sw, 1, &dst, &dw,
                                 MPI_INFO_NULL, 0, &dg);
  MPI_Dist_graph_neighbors_count(dg, &indeg, &outdeg, &w);
  MT_EQ("Dist_graph_create_adjacent: in-degree", indeg, 1);
  MT_EQ("Dist_graph_create_adjacent: out-degree", outdeg, 1);
  MT_EQ("Dist_graph_create_adjacent: weighted", w, 1);
  {
    int out = 6200 + mt_rank, in = -1;
    MPI_Status st;
    MPI_Sendrecv(&out, 1, MPI_INT, dst, 63, &in, 1, MPI_INT, MPI_ANY_SOURCE,
                 63, dg, &st);
    MT_EQ("Dist_graph_create_adjacent: value", in, 6200 + src);
    MT_EQ("Dist_graph_create_adjacent: source", st.MPI_SOURCE, src);
  }
  free_comm(&g);
  exercise(dg, round * 10 + 2, "Dist_graph_create_adjacent");

  /* Dist_graph_create: each rank names one edge, to rank + 2. */
  int dst2 = (mt_rank + 2) % n, one = 1, ins[2], outs[2], wi[2], wo[2];
  MPI_Dist_graph_create(dg, 1, &mt_rank, &one, &dst2, &dw, MPI_INFO_NULL, 0,
                        &dg2);
  MPI_Dist_graph_neighbors_count(dg2, &indeg, &outdeg, &w);
  MT_EQ("Dist_graph_create: in-degree", indeg, 1);
  MT_EQ("Dist_graph_create: out-degree", outdeg, 1);
  MPI_Dist_graph_neighbors(dg2, 1, ins, wi, 1, outs, wo);
  MT_EQ("Dist_graph_create: in-neighbour", ins[0], (mt_rank - 2 + 2 * n) % n);
  MT_EQ("Dist_graph_create: out-neighbour", outs[0], dst2);
  MT_EQ("Dist_graph_create: in-weight", wi[0], dw);
  MT_EQ("Dist_graph_create: out-weight", wo[0], dw);
  {
    int out = 6300 + mt_rank, in = -1;
    MPI_Sendrecv(&out, 1, MPI_INT, outs[0], 64, &in, 1, MPI_INT, ins[0], 64,
                 dg2, MPI_STATUS_IGNORE);
    MT_EQ("Dist_graph_create: value", in, 6300 + ins[0]);
  }
  exercise(dg2, round * 10 + 3, "Dist_graph_create");
  free_comm(&dg);
  free_comm(&dg2);
}

/* ---- intercommunicators ---- */

static void inters(int round)
{
  MPI_Comm half, ic, merged;
  int color = mt_rank % 2, lrank, lsize, rsize, flag = 0;

  MPI_Comm_split(MPI_COMM_WORLD, color, mt_rank, &half);
  MPI_Comm_rank(half, &lrank);
  MPI_Comm_size(half, &lsize);
  MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, 1 - color, 70 + round, &ic);
  MPI_Comm_test_inter(ic, &flag);
  MT_CHECK(flag, "Intercomm_create did not give an intercommunicator");
  MPI_Comm_remote_size(ic, &rsize);
  MT_EQ("intercommunicator: remote size", rsize,
        color == 0 ? mt_size / 2 : (mt_size + 1) / 2);

  /* Every rank sends to the remote rank of its own index (or the last
   * remote rank if the other group is smaller); wildcard receives. */
  int to = lrank < rsize ? lrank : rsize - 1, expect = 0;
  for (int r = 0; r < rsize; r++)
    expect += (r < lsize ? r : lsize - 1) == lrank;
  int out[2] = {7000 + 100 * round + lrank, mt_rank}, in[2];
  MPI_Request s;
  MPI_Status st;
  MPI_Isend(out, 2, MPI_INT, to, 71, ic, &s);
  for (int k = 0; k < expect; k++) {
    MPI_Recv(in, 2, MPI_INT, MPI_ANY_SOURCE, 71, ic, &st);
    MT_EQ("intercommunicator: value names its sender", in[0],
          7000 + 100 * round + st.MPI_SOURCE);
    MT_EQ("intercommunicator: world rank of the sender", in[1],
          2 * st.MPI_SOURCE + 1 - color);
    MT_CHECK((st.MPI_SOURCE < lsize ? st.MPI_SOURCE : lsize - 1) == lrank,
             "intercommunicator: message from remote rank %d, which does "
             "not send here", st.MPI_SOURCE);
  }
  MPI_Wait(&s, MPI_STATUS_IGNORE);

  /* Allreduce on an intercommunicator: each group gets the other's sum. */
  long mine = mt_rank, other = -1, want = 0;
  MPI_Allreduce(&mine, &other, 1, MPI_LONG, MPI_SUM, ic);
  for (int r = 1 - color; r < mt_size; r += 2)
    want += r;
  MT_EQ("Allreduce on an intercommunicator", other, want);
  MPI_Barrier(ic);

  /* Odd ranks high: the even ranks come first in the merged order. */
  MPI_Intercomm_merge(ic, color, &merged);
  int mrank;
  MPI_Comm_rank(merged, &mrank);
  MT_EQ("Intercomm_merge: rank", mrank,
        color == 0 ? mt_rank / 2 : (mt_size + 1) / 2 + mt_rank / 2);
  free_comm(&ic);
  free_comm(&half);
  exercise(merged, round * 10 + 1, "Intercomm_merge");
  free_comm(&merged);
}

/* ---- context-id pressure ---- */

static void cycles(void)
{
  MPI_Comm half, parent, c;
  MPI_Comm_split(MPI_COMM_WORLD, mt_rank % 2, 0, &half);

  for (int i = 0; i < CYCLES; i++) {
    parent = i % 3 == 2 ? half : MPI_COMM_WORLD;
    if (i % 2)
      MPI_Comm_dup(parent, &c);
    else
      MPI_Comm_split(parent, 0, mt_rank, &c);
    int me, n;
    MPI_Comm_rank(c, &me);
    MPI_Comm_size(c, &n);
    int right = (me + 1) % n, left = (me - 1 + n) % n;
    int out = i * 100 + me, in = -1;
    MPI_Status st;
    MPI_Sendrecv(&out, 1, MPI_INT, right, i % 50, &in, 1, MPI_INT,
                 MPI_ANY_SOURCE, MPI_ANY_TAG, c, &st);
    MT_CHECK(in == i * 100 + left && st.MPI_SOURCE == left &&
                 st.MPI_TAG == i % 50,
             "dup/free cycle %d: got %d from %d tag %d, want %d from %d tag "
             "%d", i, in, st.MPI_SOURCE, st.MPI_TAG, i * 100 + left, left,
             i % 50);
    if (i % 25 == 0) {
      int sum = -1;
      MPI_Allreduce(&i, &sum, 1, MPI_INT, MPI_SUM, c);
      MT_EQ("dup/free cycle: Allreduce", sum, i * n);
    }
    free_comm(&c);
  }
  free_comm(&half);
}

static void alive(int round)
{
  MPI_Comm c[ALIVE];
  MPI_Request r[2 * ALIVE];
  MPI_Status st[2 * ALIVE];
  int in[ALIVE], out[ALIVE];
  int right = (mt_rank + 1) % mt_size, left = (mt_rank - 1 + mt_size) % mt_size;

  /* Duplicates of the world, of each other, and splits, all alive. */
  for (int k = 0; k < ALIVE; k++) {
    if (k % 4 == 3)
      MPI_Comm_split(MPI_COMM_WORLD, 1, mt_rank, &c[k]);
    else if (k % 4 == 1)
      MPI_Comm_dup(c[k - 1], &c[k]);
    else
      MPI_Comm_dup(MPI_COMM_WORLD, &c[k]);
  }
  /* A wildcard receive on each, then the sends in reverse order: each
   * receive must take the message of its own communicator. */
  for (int k = 0; k < ALIVE; k++)
    MPI_Irecv(&in[k], 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, c[k], &r[k]);
  for (int k = ALIVE - 1; k >= 0; k--) {
    out[k] = 100000 * round + 1000 * k + mt_rank;
    MPI_Isend(&out[k], 1, MPI_INT, right, 5, c[k], &r[ALIVE + k]);
  }
  MPI_Waitall(2 * ALIVE, r, st);
  for (int k = 0; k < ALIVE; k++) {
    MT_CHECK(in[k] == 100000 * round + 1000 * k + left &&
                 st[k].MPI_SOURCE == left,
             "communicator %d of %d alive: got %d from %d, want %d from %d",
             k, ALIVE, in[k], st[k].MPI_SOURCE,
             100000 * round + 1000 * k + left, left);
  }
  /* A collective on every other one, then free: odd ones first, then the
   * even ones from the top down. */
  for (int k = 0; k < ALIVE; k += 2) {
    int sum = -1;
    MPI_Allreduce(&k, &sum, 1, MPI_INT, MPI_SUM, c[k]);
    MT_EQ("Allreduce with 64 communicators alive", sum, k * mt_size);
  }
  for (int k = 1; k < ALIVE; k += 2)
    free_comm(&c[k]);
  for (int k = ALIVE - 2; k >= 0; k -= 2)
    free_comm(&c[k]);
}

/* ---- messages in flight across a constructor ---- */

/* Ranks 2k and 2k+1 are partners (the last of an odd count has none). */
static int partner(void)
{
  int p = mt_rank ^ 1;
  return p < mt_size ? p : MPI_PROC_NULL;
}

/* One rank of each pair posts a receive and goes on into a constructor or
 * MPI_Comm_free at once; its partner makes a synchronous send to it first,
 * which completes only once the receive has been matched.  In plain MPI
 * the posted receive matches while its rank waits inside the collective
 * call; a layer that matches receives itself must do so there too. */
static void ssend_then(int i, int what, MPI_Comm *c)
{
  int p = partner(), sender = mt_rank % 2 == i % 2;
  int out = 8500 + 10 * i + mt_rank, in = -1;
  MPI_Request r = MPI_REQUEST_NULL;

  if (!sender)
    MPI_Irecv(&in, 1, MPI_INT, p, 83, MPI_COMM_WORLD, &r);
  else
    MPI_Ssend(&out, 1, MPI_INT, p, 83, MPI_COMM_WORLD);
  switch (what) {
  case 0: MPI_Comm_dup(MPI_COMM_WORLD, c); break;
  case 1: MPI_Comm_split(MPI_COMM_WORLD, 0, -mt_rank, c); break;
  default: free_comm(c); break;
  }
  MPI_Wait(&r, MPI_STATUS_IGNORE);
  if (!sender && p != MPI_PROC_NULL)
    MT_EQ("receive posted before a constructor, matched by an Ssend", in,
          8500 + 10 * i + p);
}

static void in_flight(void)
{
  int right = (mt_rank + 1) % mt_size, left = (mt_rank - 1 + mt_size) % mt_size;

  for (int i = 0; i < INFLIGHT_ROUNDS; i++) {
    MPI_Comm c;
    MPI_Request r[2];
    int out = 8000 + 10 * i + mt_rank, in = -1;

    /* A receive and a standard send pending across the dup. */
    MPI_Irecv(&in, 1, MPI_INT, left, 81, MPI_COMM_WORLD, &r[0]);
    MPI_Isend(&out, 1, MPI_INT, right, 81, MPI_COMM_WORLD, &r[1]);
    MPI_Comm_dup(MPI_COMM_WORLD, &c);
    MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
    MT_EQ("receive across Comm_dup: value", in, 8000 + 10 * i + left);
    exercise(c, 900 + i, "Comm_dup with messages in flight");
    free_comm(&c);
  }
  for (int i = 0; i < INFLIGHT_ROUNDS; i++) {
    MPI_Comm c;
    ssend_then(i, i % 2, &c);
    exercise(c, 950 + i, "a communicator made after an Ssend");
    ssend_then(i + 1, 2, &c);
  }
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "ctors");
  mt_need_ranks(2);
  MT_CHECK(mt_size <= 64, "at most 64 ranks");

  for (int round = 0; round < ROUNDS; round++) {
    dups(round);
    idups(round);
    splits(round);
    creates(round);
    carts(round);
    graphs(round);
    inters(round);
  }
  cycles();
  for (int round = 0; round < 2; round++)
    alive(round);
  in_flight();

  return mt_done();
}
