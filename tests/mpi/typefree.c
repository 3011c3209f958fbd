/*
 * typefree: a derived datatype freed while a receive or a persistent
 * request that uses it is still pending.
 *
 * MPI lets a program free a datatype right after starting an operation
 * with it (MPI 3.1, section 4.1.9: "Freeing a datatype does not affect any
 * other datatype that was built from the freed datatype... any pending
 * communication using it will complete normally").  MPICH's dtype_send
 * test does exactly that, between MPI_Irecv and MPI_Waitall; mpisnap kept
 * the raw handle and crashed on it when it matched the message itself.
 * Here: vector and indexed types with holes, freed after MPI_Irecv (and
 * after MPI_Send_init/MPI_Recv_init, started several times), with the
 * messages sent only afterwards; every element and every hole checked.
 */
#include "mpitest.h"

enum { N = 64, ROUNDS = 20 };

static MPI_Datatype make_type(int k) {
  MPI_Datatype t;
  int blen[3] = {1, 2, 3}, disp[3] = {0, 5, 11};

  if (k % 2 == 0)
    MPI_Type_vector(N / 4, 2, 4, MPI_INT, &t); /* holes of 2 ints */
  else
    MPI_Type_indexed(3, blen, disp, MPI_INT, &t);
  MPI_Type_commit(&t);
  return t;
}

/* The ints a type of kind k covers in a buffer of N ints. */
static int covered(int k, int i) {
  if (k % 2 == 0)
    return i < N && i % 4 < 2;
  return i == 0 || i == 5 || i == 6 || (i >= 11 && i <= 13);
}

int main(int argc, char **argv) {
  int left, right;

  mt_init(&argc, &argv, "typefree");
  right = (mt_rank + 1) % mt_size;
  left = (mt_rank + mt_size - 1) % mt_size;

  for (int round = 0; round < ROUNDS; round++) {
    int k = round;
    int in[N], out[N];
    MPI_Datatype rt = make_type(k), st = make_type(k);
    MPI_Request req[2];

    for (int i = 0; i < N; i++) {
      in[i] = -1;
      out[i] = mt_rank * 100000 + round * 1000 + i;
    }
    MPI_Irecv(in, 1, rt, left, round, MPI_COMM_WORLD, &req[0]);
    MPI_Type_free(&rt); /* the receive is still pending */
    MPI_Isend(out, 1, st, right, round, MPI_COMM_WORLD, &req[1]);
    MPI_Type_free(&st);
    MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
    for (int i = 0; i < N; i++) {
      int want = covered(k, i) ? left * 100000 + round * 1000 + i : -1;
      MT_EQ("element after the type was freed", in[i], want);
    }
  }

  /* Persistent requests outlive their types too. */
  {
    int in[N], out[N];
    MPI_Datatype rt = make_type(0), st = make_type(0);
    MPI_Request req[2];

    MPI_Recv_init(in, 1, rt, left, 99, MPI_COMM_WORLD, &req[0]);
    MPI_Send_init(out, 1, st, right, 99, MPI_COMM_WORLD, &req[1]);
    MPI_Type_free(&rt);
    MPI_Type_free(&st);
    for (int round = 0; round < ROUNDS; round++) {
      for (int i = 0; i < N; i++) {
        in[i] = -1;
        out[i] = mt_rank * 100000 + round * 1000 + i;
      }
      MPI_Startall(2, req);
      MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
      for (int i = 0; i < N; i++) {
        int want = covered(0, i) ? left * 100000 + round * 1000 + i : -1;
        MT_EQ("persistent: element after the type was freed", in[i], want);
      }
    }
    MPI_Request_free(&req[0]);
    MPI_Request_free(&req[1]);
  }
  return mt_done();
}
