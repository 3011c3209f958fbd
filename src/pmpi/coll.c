/* Blocking collectives (the classic ones and the neighbourhood ones).
 * While a snapshot may be in progress somewhere, mpisnap matches
 * point-to-point receives in its own progress, so a rank must not sit
 * inside MPI where that progress cannot run: a peer's MPI_Ssend (or large
 * send) waiting for this rank's posted receive would wait for ever.  Then
 * (the "detour" regime) every blocking collective runs as its nonblocking
 * form completed in mpisnap's progress loop.  While no snapshot can be in
 * progress anywhere and every rank's receives are MPI's to match (the
 * "direct" regime, regime.c), it calls MPI's blocking collective.  Both
 * count collectives per communicator, which independent mode checks
 * across ranks before it commits a checkpoint. */
#include <stdlib.h>
#include <string.h>

#include "pmpi/layer.h"

/* Wait for a real request in the layer's loop (outside MPI_Init..
 * MPI_Finalize there is no layer to run: MPI waits). */
int mpisnap__wait_in_layer(MPI_Request *req) {
  unsigned spins = 0;
  int flag = 0, rc;

  if (!mpisnap__g.initialized || mpisnap__g.finalized)
    return PMPI_Wait(req, MPI_STATUS_IGNORE);
  for (;;) {
    rc = PMPI_Test(req, &flag, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || flag)
      return rc;
    if (mpisnap__progress() == 0)
      mpisnap__wait_backoff(&spins);
  }
}

/* Before a blocking collective that the layer must call inside MPI (a
 * communicator constructor, the exchange of MPI_Comm_free): wait in the
 * layer's loop until every member has reached it.  A member that sits
 * inside MPI cannot match receives the layer holds, so a peer's MPI_Ssend
 * to it, sent before the peer reached the collective, would never
 * complete; once all members are inside the call, none has a send of the
 * program's left to finish first, and the collective cannot wait on the
 * layer. */
int mpisnap__gather_members(MPI_Comm app) {
  mpisnap__comm *c;
  MPI_Request req;
  int rc;

  if (!mpisnap__g.initialized || mpisnap__g.finalized || app == MPI_COMM_NULL)
    return MPI_SUCCESS;
  if ((c = mpisnap__comm_get(app)) == NULL)
    return MPI_ERR_COMM;
  if ((rc = PMPI_Ibarrier(c->shadow, &req)) != MPI_SUCCESS)
    return rc;
  return mpisnap__wait_in_layer(&req);
}

/* Count a blocking collective on comm (independent mode compares the
 * counts across ranks at a cut, collective mode the world's at every
 * round).  A collective counts when it is called, before MPI runs it, so
 * that the direct path ends in a tail call: at 0.1 us per small
 * collective, the call frame a count after it needs was 3-6 % (bench/coll,
 * docs/BENCHMARKS.md).  A call MPI fails is counted too, on every rank that
 * made it. */
#define COLL_COLD __attribute__((noinline, cold))

static inline void coll_count(MPI_Comm comm) {
  mpisnap__comm *c = mpisnap__comm_find(comm);
  if (c != NULL)
    c->collectives++;
}

/* The detour: the nonblocking form, completed in the layer's loop. */
static int coll_wait(MPI_Comm comm, int rc, MPI_Request *req) {
  if (rc != MPI_SUCCESS)
    return rc;
  if (mpisnap__g.initialized && !mpisnap__g.finalized) {
    coll_count(comm);
    mpisnap__g.n_coll_detour++;
  }
  return mpisnap__wait_in_layer(req);
}

/* One line per collective: its parameters, then its arguments (the
 * nonblocking form takes the same ones and a request).  The choice
 * between the two forms must be the same on every member of comm: a
 * blocking collective never matches a nonblocking one (MPI 3.1, section
 * 5.12).  The wrapper itself only dispatches, each way a tail call with
 * the caller's arguments untouched: the direct path with the communicator
 * cached (the usual case) is a load, a compare, an increment and a jump
 * to MPI; the detour and a cache miss are functions of their own, so
 * that the direct path saves no registers for them. */
#define MPISNAP_COLL(name, iname, params, comm, ...)                           \
  static COLL_COLD int detour_##name params {                                  \
    MPI_Request req_;                                                          \
    return coll_wait(comm, PMPI_##iname(__VA_ARGS__, &req_), &req_);           \
  }                                                                            \
  static COLL_COLD int missed_##name params {                                  \
    coll_count(comm);                                                          \
    return PMPI_##name(__VA_ARGS__);                                           \
  }                                                                            \
  MPISNAP_EXTERN int MPI_##name params {                                       \
    mpisnap__comm *c_;                                                         \
    if (!mpisnap__g.coll_direct)                                               \
      return detour_##name(__VA_ARGS__);                                       \
    if ((c_ = mpisnap__comm_cached(comm)) == NULL)                             \
      return missed_##name(__VA_ARGS__);                                       \
    c_->collectives++;                                                         \
    return PMPI_##name(__VA_ARGS__);                                           \
  }

#define SBUF const void *sbuf
#define RBUF void *rbuf
typedef const int cint;

MPISNAP_COLL(Barrier, Ibarrier, (MPI_Comm comm), comm, comm)
MPISNAP_COLL(Bcast, Ibcast, (void *buf, int n, MPI_Datatype t, int root, MPI_Comm comm),
             comm, buf, n, t, root, comm)
MPISNAP_COLL(Reduce, Ireduce, (SBUF, RBUF, int n, MPI_Datatype t, MPI_Op op, int root,
                      MPI_Comm comm),
             comm, sbuf, rbuf, n, t, op, root, comm)
MPISNAP_COLL(Allreduce, Iallreduce, (SBUF, RBUF, int n, MPI_Datatype t, MPI_Op op,
                         MPI_Comm comm),
             comm, sbuf, rbuf, n, t, op, comm)
MPISNAP_COLL(Gather, Igather, (SBUF, int sn, MPI_Datatype st, RBUF, int rn,
                      MPI_Datatype rt, int root, MPI_Comm comm),
             comm, sbuf, sn, st, rbuf, rn, rt, root, comm)
MPISNAP_COLL(Gatherv, Igatherv, (SBUF, int sn, MPI_Datatype st, RBUF, cint rn[],
                       cint displs[], MPI_Datatype rt, int root, MPI_Comm comm),
             comm, sbuf, sn, st, rbuf, rn, displs, rt, root, comm)
MPISNAP_COLL(Scatter, Iscatter, (SBUF, int sn, MPI_Datatype st, RBUF, int rn,
                       MPI_Datatype rt, int root, MPI_Comm comm),
             comm, sbuf, sn, st, rbuf, rn, rt, root, comm)
MPISNAP_COLL(Scatterv, Iscatterv, (SBUF, cint sn[], cint displs[], MPI_Datatype st, RBUF,
                        int rn, MPI_Datatype rt, int root, MPI_Comm comm),
             comm, sbuf, sn, displs, st, rbuf, rn, rt, root, comm)
MPISNAP_COLL(Allgather, Iallgather, (SBUF, int sn, MPI_Datatype st, RBUF, int rn,
                         MPI_Datatype rt, MPI_Comm comm),
             comm, sbuf, sn, st, rbuf, rn, rt, comm)
MPISNAP_COLL(Allgatherv, Iallgatherv, (SBUF, int sn, MPI_Datatype st, RBUF, cint rn[],
                          cint displs[], MPI_Datatype rt, MPI_Comm comm),
             comm, sbuf, sn, st, rbuf, rn, displs, rt, comm)
MPISNAP_COLL(Alltoall, Ialltoall, (SBUF, int sn, MPI_Datatype st, RBUF, int rn,
                        MPI_Datatype rt, MPI_Comm comm),
             comm, sbuf, sn, st, rbuf, rn, rt, comm)
MPISNAP_COLL(Alltoallv, Ialltoallv, (SBUF, cint sn[], cint sd[], MPI_Datatype st, RBUF,
                         cint rn[], cint rd[], MPI_Datatype rt, MPI_Comm comm),
             comm, sbuf, sn, sd, st, rbuf, rn, rd, rt, comm)
/* MPI_Alltoallw in place, in the detour, is not given to MPI as
 * MPI_Ialltoallw in place: MPICH 4.0.2's in-place MPI_Ialltoallw fails
 * with "Message truncated" for mixed receive types (tests/mpi/collzero.c
 * and plain MPICH alike; its blocking form works).  The standard's
 * meaning of in place, the data sent taken from the receive buffer with
 * the receive layout, is spelt out instead: a copy of the buffer's span
 * is the send buffer.  A span that starts before rbuf (negative
 * displacements or lower bounds) is left in place. */
static int alltoallw_inplace_detour(void *rbuf, cint rn[], cint rd[],
                                    const MPI_Datatype rt[], MPI_Comm comm) {
  MPI_Request req;
  MPI_Aint lo = 0, hi = 0, lb, ext, tlb, text;
  unsigned char *copy;
  int n = 0, rc, inter = 0;

  PMPI_Comm_test_inter(comm, &inter);
  if (!inter)
    PMPI_Comm_size(comm, &n);
  for (int j = 0; j < n; j++) {
    if (rn[j] <= 0)
      continue;
    PMPI_Type_get_extent(rt[j], &lb, &ext);
    PMPI_Type_get_true_extent(rt[j], &tlb, &text);
    MPI_Aint first = rd[j] + tlb, last = rd[j] + (MPI_Aint)(rn[j] - 1) * ext +
                                         tlb + text;
    if (first < lo)
      lo = first;
    if (last > hi)
      hi = last;
  }
  if (n == 0 || lo < 0 || (copy = malloc(hi > 0 ? (size_t)hi : 1)) == NULL)
    return coll_wait(comm, PMPI_Ialltoallw(MPI_IN_PLACE, rn, rd, rt, rbuf, rn,
                                           rd, rt, comm, &req), &req);
  memcpy(copy, rbuf, (size_t)hi);
  rc = coll_wait(comm, PMPI_Ialltoallw(copy, rn, rd, rt, rbuf, rn, rd, rt,
                                       comm, &req), &req);
  free(copy);
  return rc;
}

MPISNAP_EXTERN int MPI_Alltoallw(SBUF, cint sn[], cint sd[],
                                 const MPI_Datatype st[], RBUF, cint rn[],
                                 cint rd[], const MPI_Datatype rt[],
                                 MPI_Comm comm) {
  MPI_Request req;

  if (mpisnap__g.coll_direct) {
    coll_count(comm);
    return PMPI_Alltoallw(sbuf, sn, sd, st, rbuf, rn, rd, rt, comm);
  }
  if (sbuf == MPI_IN_PLACE)
    return alltoallw_inplace_detour(rbuf, rn, rd, rt, comm);
  return coll_wait(comm, PMPI_Ialltoallw(sbuf, sn, sd, st, rbuf, rn, rd, rt,
                                         comm, &req), &req);
}
MPISNAP_COLL(Reduce_scatter, Ireduce_scatter, (SBUF, RBUF, cint rn[], MPI_Datatype t, MPI_Op op,
                              MPI_Comm comm),
             comm, sbuf, rbuf, rn, t, op, comm)
MPISNAP_COLL(Reduce_scatter_block, Ireduce_scatter_block, (SBUF, RBUF, int rn, MPI_Datatype t,
                                    MPI_Op op, MPI_Comm comm),
             comm, sbuf, rbuf, rn, t, op, comm)
MPISNAP_COLL(Scan, Iscan, (SBUF, RBUF, int n, MPI_Datatype t, MPI_Op op, MPI_Comm comm),
             comm, sbuf, rbuf, n, t, op, comm)
MPISNAP_COLL(Exscan, Iexscan, (SBUF, RBUF, int n, MPI_Datatype t, MPI_Op op,
                      MPI_Comm comm),
             comm, sbuf, rbuf, n, t, op, comm)

/* Neighbourhood collectives (MPI 3.1, section 7.6) on topology
 * communicators: the same hazard, the same cure. */
MPISNAP_COLL(Neighbor_allgather, Ineighbor_allgather,
             (SBUF, int sn, MPI_Datatype st, RBUF, int rn, MPI_Datatype rt,
              MPI_Comm comm),
             comm, sbuf, sn, st, rbuf, rn, rt, comm)
MPISNAP_COLL(Neighbor_allgatherv, Ineighbor_allgatherv,
             (SBUF, int sn, MPI_Datatype st, RBUF, cint rn[], cint displs[],
              MPI_Datatype rt, MPI_Comm comm),
             comm, sbuf, sn, st, rbuf, rn, displs, rt, comm)
MPISNAP_COLL(Neighbor_alltoall, Ineighbor_alltoall,
             (SBUF, int sn, MPI_Datatype st, RBUF, int rn, MPI_Datatype rt,
              MPI_Comm comm),
             comm, sbuf, sn, st, rbuf, rn, rt, comm)
MPISNAP_COLL(Neighbor_alltoallv, Ineighbor_alltoallv,
             (SBUF, cint sn[], cint sd[], MPI_Datatype st, RBUF, cint rn[],
              cint rd[], MPI_Datatype rt, MPI_Comm comm),
             comm, sbuf, sn, sd, st, rbuf, rn, rd, rt, comm)
MPISNAP_COLL(Neighbor_alltoallw, Ineighbor_alltoallw,
             (SBUF, cint sn[], const MPI_Aint sd[], const MPI_Datatype st[],
              RBUF, cint rn[], const MPI_Aint rd[], const MPI_Datatype rt[],
              MPI_Comm comm),
             comm, sbuf, sn, sd, st, rbuf, rn, rd, rt, comm)
