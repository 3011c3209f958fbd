/*
 * datatypes: derived datatypes on the wire.
 *
 * 1. A strided vector is sent and received as contiguous ints, and
 *    contiguous ints are received into a vector (the gaps stay untouched).
 * 2. A struct type that leaves one field out (a gap) and is resized to the
 *    C struct's extent carries an array of records; the left-out field of
 *    the receiver's records stays untouched.
 * 3. Partial receives: 7 ints received as a type of 3 ints give MPI_Get_count
 *    MPI_UNDEFINED but MPI_Get_elements 7; 6 ints give 2 and 6.  An
 *    {int, double, int} message received as {int, double} records gives
 *    MPI_UNDEFINED and 3 elements.
 * Every rank sends to its right neighbour and receives from its left one;
 * works with 2 or more ranks.
 */
#include <stddef.h>
#include <string.h>

#include "mpitest.h"

enum { VCOUNT = 10, VBLOCK = 2, VSTRIDE = 5, VSPAN = VCOUNT * VSTRIDE,
       VINTS = VCOUNT * VBLOCK, NREC = 4 };

static int left, right;

/* Element k of the vector, as an index into the strided array. */
static int vindex(int k) { return (k / VBLOCK) * VSTRIDE + k % VBLOCK; }

/* The basic-element count of a status, as MPI_Get_elements reports it. */
static int elements(const MPI_Status *st, MPI_Datatype t)
{
  int e = -2;
  MPI_Get_elements(st, t, &e);
  return e;
}

static void vectors(MPI_Datatype vec, int round)
{
  int strided[VSPAN], flat[VINTS];
  MPI_Request req;
  MPI_Status st;

  /* Strided out, contiguous in. */
  for (int i = 0; i < VSPAN; i++)
    strided[i] = mt_rank * 1000 + round * 100 + i;
  MPI_Isend(strided, 1, vec, right, 1, MPI_COMM_WORLD, &req);
  MPI_Recv(flat, VINTS, MPI_INT, left, 1, MPI_COMM_WORLD, &st);
  MPI_Wait(&req, MPI_STATUS_IGNORE);
  MT_EQ("vector received as ints: count", mt_count(&st, MPI_INT), VINTS);
  for (int k = 0; k < VINTS; k++)
    MT_CHECK(flat[k] == left * 1000 + round * 100 + vindex(k),
             "vector received as ints: element %d is %d, want %d", k, flat[k],
             left * 1000 + round * 100 + vindex(k));

  /* Contiguous out, strided in (nonblocking receive); gaps keep -1. */
  for (int k = 0; k < VINTS; k++)
    flat[k] = mt_rank * 1000 + round * 100 + k;
  for (int i = 0; i < VSPAN; i++)
    strided[i] = -1;
  MPI_Irecv(strided, 1, vec, left, 2, MPI_COMM_WORLD, &req);
  MPI_Send(flat, VINTS, MPI_INT, right, 2, MPI_COMM_WORLD);
  MPI_Wait(&req, &st);
  MT_EQ("ints received as vector: count of vectors", mt_count(&st, vec), 1);
  MT_EQ("ints received as vector: elements", elements(&st, vec), VINTS);
  for (int i = 0, k = 0; i < VSPAN; i++) {
    int in_vector = k < VINTS && vindex(k) == i;
    int want = in_vector ? left * 1000 + round * 100 + k++ : -1;
    MT_CHECK(strided[i] == want,
             "ints received as vector: slot %d is %d, want %d (%s)", i,
             strided[i], want, in_vector ? "element" : "gap");
  }
}

/* A record whose 'skipped' field is not part of the datatype. */
typedef struct {
  char c;
  double skipped;
  int i[3];
  short s;
} rec_t;

static MPI_Datatype record_type(void)
{
  int len[3] = {1, 3, 1};
  MPI_Aint disp[3] = {offsetof(rec_t, c), offsetof(rec_t, i),
                      offsetof(rec_t, s)};
  MPI_Datatype types[3] = {MPI_CHAR, MPI_INT, MPI_SHORT}, t, rec;
  MPI_Type_create_struct(3, len, disp, types, &t);
  /* The extent must be the C struct's, so that arrays of records work. */
  MPI_Type_create_resized(t, 0, sizeof(rec_t), &rec);
  MPI_Type_free(&t);
  MPI_Type_commit(&rec);
  return rec;
}

static void records(MPI_Datatype rec, int round)
{
  rec_t out[NREC], in[NREC];
  MPI_Request req;
  MPI_Status st;

  memset(out, 0, sizeof out);
  for (int r = 0; r < NREC; r++) {
    out[r].c = (char)('a' + r + round);
    out[r].skipped = 1e6 + mt_rank; /* must not travel */
    for (int j = 0; j < 3; j++)
      out[r].i[j] = mt_rank * 100 + r * 10 + j + round;
    out[r].s = (short)(-r - mt_rank);
  }
  for (int r = 0; r < NREC; r++) {
    in[r].c = '?';
    in[r].skipped = -1.0;
    in[r].i[0] = in[r].i[1] = in[r].i[2] = -1;
    in[r].s = -1;
  }
  MPI_Irecv(in, NREC, rec, left, 3, MPI_COMM_WORLD, &req);
  MPI_Send(out, NREC, rec, right, 3, MPI_COMM_WORLD);
  MPI_Wait(&req, &st);
  MT_EQ("records: count", mt_count(&st, rec), NREC);
  for (int r = 0; r < NREC; r++) {
    MT_EQ("record field c", in[r].c, 'a' + r + round);
    for (int j = 0; j < 3; j++)
      MT_EQ("record field i[j]", in[r].i[j], left * 100 + r * 10 + j + round);
    MT_EQ("record field s", in[r].s, -r - left);
    MT_CHECK(in[r].skipped == -1.0,
             "record %d: the field outside the datatype was overwritten (%g)",
             r, in[r].skipped);
  }
}

static void partial(MPI_Datatype three)
{
  int out[7], in[9];
  MPI_Status st;
  MPI_Request req;

  for (int i = 0; i < 7; i++)
    out[i] = mt_rank * 10 + i;
  MPI_Isend(out, 7, MPI_INT, right, 4, MPI_COMM_WORLD, &req);
  MPI_Recv(in, 3, three, left, 4, MPI_COMM_WORLD, &st);
  MPI_Wait(&req, MPI_STATUS_IGNORE);
  MT_EQ("7 ints as triples: MPI_Get_count", mt_count(&st, three),
        MPI_UNDEFINED);
  MT_EQ("7 ints as triples: MPI_Get_elements", elements(&st, three), 7);
  MT_EQ("7 ints as triples: MPI_Get_count(MPI_INT)", mt_count(&st, MPI_INT), 7);
  for (int i = 0; i < 7; i++)
    MT_EQ("7 ints as triples: value", in[i], left * 10 + i);

  MPI_Isend(out, 6, MPI_INT, right, 5, MPI_COMM_WORLD, &req);
  MPI_Recv(in, 3, three, left, 5, MPI_COMM_WORLD, &st);
  MPI_Wait(&req, MPI_STATUS_IGNORE);
  MT_EQ("6 ints as triples: MPI_Get_count", mt_count(&st, three), 2);
  MT_EQ("6 ints as triples: MPI_Get_elements", elements(&st, three), 6);

  /* {int, double, int} received as two {int, double}: one and a half. */
  typedef struct {
    int i;
    double d;
  } pair_t;
  int len[3] = {1, 1, 1};
  MPI_Aint disp[3] = {0, offsetof(pair_t, d), sizeof(pair_t)};
  MPI_Datatype types[3] = {MPI_INT, MPI_DOUBLE, MPI_INT}, triple, pair;
  MPI_Type_create_struct(3, len, disp, types, &triple);
  MPI_Type_commit(&triple);
  MPI_Type_create_struct(2, len, disp, types, &pair);
  MPI_Type_commit(&pair);
  pair_t pout[2] = {{mt_rank, 0.5 + mt_rank}, {mt_rank + 100, 0.0}};
  pair_t pin[2] = {{-1, -1.0}, {-1, -1.0}};
  MPI_Isend(pout, 1, triple, right, 6, MPI_COMM_WORLD, &req);
  MPI_Recv(pin, 2, pair, left, 6, MPI_COMM_WORLD, &st);
  MPI_Wait(&req, MPI_STATUS_IGNORE);
  MT_EQ("{int,double,int} as pairs: MPI_Get_count", mt_count(&st, pair),
        MPI_UNDEFINED);
  MT_EQ("{int,double,int} as pairs: MPI_Get_elements", elements(&st, pair), 3);
  MT_EQ("pair 0 int", pin[0].i, left);
  MT_CHECK(pin[0].d == 0.5 + left, "pair 0 double is %g, want %g", pin[0].d,
           0.5 + left);
  MT_EQ("pair 1 int", pin[1].i, left + 100);
  MT_CHECK(pin[1].d == -1.0, "pair 1 double was written (%g)", pin[1].d);
  MPI_Type_free(&triple);
  MPI_Type_free(&pair);
}

int main(int argc, char **argv)
{
  mt_init(&argc, &argv, "datatypes");
  mt_need_ranks(2);
  right = (mt_rank + 1) % mt_size;
  left = (mt_rank - 1 + mt_size) % mt_size;

  MPI_Datatype vec, rec, three;
  MPI_Type_vector(VCOUNT, VBLOCK, VSTRIDE, MPI_INT, &vec);
  MPI_Type_commit(&vec);
  rec = record_type();
  MPI_Type_contiguous(3, MPI_INT, &three);
  MPI_Type_commit(&three);

  for (int round = 0; round < 8; round++) {
    vectors(vec, round);
    records(rec, round);
    partial(three);
  }

  MPI_Type_free(&vec);
  MPI_Type_free(&rec);
  MPI_Type_free(&three);
  return mt_done();
}
