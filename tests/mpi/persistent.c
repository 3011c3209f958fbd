/*
 * persistent: persistent requests reused over many iterations.
 *
 * Every rank sets up, once, MPI_Recv_init from its left neighbour and
 * MPI_Send_init, MPI_Bsend_init and MPI_Ssend_init to its right one (one tag
 * each), then for several iterations changes the send buffers, starts the
 * receives with MPI_Startall and the sends with MPI_Start, and waits.  Each
 * iteration must deliver that iteration's values.  A completed persistent
 * request stays allocated (inactive, not MPI_REQUEST_NULL), and waiting on
 * or testing an inactive one returns at once with an empty status.  At the
 * end MPI_Request_free releases them.  Works with 2 or more ranks.
 */
#include "mpitest.h"

enum { ITER = 12, NREQ = 6 };

static int value(int src, int it, int k) { return src * 10000 + it * 10 + k; }

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "persistent");
  mt_need_ranks(2);
  int right = (mt_rank + 1) % mt_size;
  int left = (mt_rank - 1 + mt_size) % mt_size;

  int pack = 0;
  MPI_Pack_size(1, MPI_INT, MPI_COMM_WORLD, &pack);
  /* Room for every iteration's buffered message: MPI frees a buffered copy
   * only some time after the receiver got it. */
  int bsize = ITER * (pack + MPI_BSEND_OVERHEAD);
  char *bbuf = malloc((size_t)bsize);
  MPI_Buffer_attach(bbuf, bsize);

  /* Requests 0..2 receive tags 1..3, requests 3..5 send them in the modes
   * standard, buffered and synchronous. */
  int in[3], out[3];
  MPI_Request req[NREQ];
  for (int k = 0; k < 3; k++)
    MPI_Recv_init(&in[k], 1, MPI_INT, left, 1 + k, MPI_COMM_WORLD, &req[k]);
  MPI_Send_init(&out[0], 1, MPI_INT, right, 1, MPI_COMM_WORLD, &req[3]);
  MPI_Bsend_init(&out[1], 1, MPI_INT, right, 2, MPI_COMM_WORLD, &req[4]);
  MPI_Ssend_init(&out[2], 1, MPI_INT, right, 3, MPI_COMM_WORLD, &req[5]);

  for (int it = 0; it < ITER; it++) {
    for (int k = 0; k < 3; k++) {
      in[k] = -1;
      out[k] = value(mt_rank, it, k);
    }
    MPI_Startall(3, req);
    /* Alternate between MPI_Start one by one and MPI_Startall. */
    if (it % 2 == 0)
      for (int k = 3; k < NREQ; k++)
        MPI_Start(&req[k]);
    else
      MPI_Startall(3, &req[3]);

    MPI_Status st[NREQ];
    if (it % 3 == 0) {
      MPI_Waitall(NREQ, req, st);
    } else {
      /* Completing one at a time; an inactive request is never returned. */
      int seen[NREQ] = {0}, idx;
      for (int n = 0; n < NREQ; n++) {
        MPI_Status one;
        MPI_Waitany(NREQ, req, &idx, &one);
        MT_CHECK(idx >= 0 && idx < NREQ && !seen[idx],
                 "iteration %d: Waitany returned index %d (again?)", it, idx);
        seen[idx] = 1;
        st[idx] = one;
      }
      MPI_Waitany(NREQ, req, &idx, MPI_STATUS_IGNORE);
      MT_EQ("Waitany over inactive persistent requests: index", idx,
            MPI_UNDEFINED);
    }

    for (int k = 0; k < NREQ; k++)
      MT_CHECK(req[k] != MPI_REQUEST_NULL,
               "iteration %d: persistent request %d became MPI_REQUEST_NULL",
               it, k);
    for (int k = 0; k < 3; k++) {
      MT_CHECK(in[k] == value(left, it, k),
               "iteration %d: persistent receive %d got %d, want %d", it, k,
               in[k], value(left, it, k));
      MT_EQ("persistent receive: source", st[k].MPI_SOURCE, left);
      MT_EQ("persistent receive: tag", st[k].MPI_TAG, 1 + k);
    }

    /* Waiting on or testing an inactive request returns an empty status. */
    MPI_Status empty;
    int flag = 0;
    MPI_Wait(&req[0], &empty);
    MT_CHECK(empty.MPI_SOURCE == MPI_ANY_SOURCE && empty.MPI_TAG == MPI_ANY_TAG,
             "Wait on an inactive persistent request: status not empty "
             "(source %d, tag %d)", empty.MPI_SOURCE, empty.MPI_TAG);
    MPI_Test(&req[3], &flag, &empty);
    MT_EQ("Test on an inactive persistent request: flag", flag, 1);
    MT_CHECK(req[0] != MPI_REQUEST_NULL && req[3] != MPI_REQUEST_NULL,
             "Wait/Test on an inactive persistent request freed it");
  }

  for (int k = 0; k < NREQ; k++) {
    MPI_Request_free(&req[k]);
    MT_CHECK(req[k] == MPI_REQUEST_NULL,
             "Request_free did not set request %d to MPI_REQUEST_NULL", k);
  }
  void *back;
  int back_size;
  MPI_Buffer_detach(&back, &back_size);
  free(bbuf);
  return mt_done();
}
