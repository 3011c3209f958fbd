/*
 * posted: a blocking standard send whose receive is already posted must
 * complete, whatever its size, as MPI guarantees.
 *
 * MPI completes a standard send once a matching receive is posted, and
 * never promises to complete one locally: Open MPI's self-send limit is
 * 1 KiB and its shared-memory eager limit is 4 KiB including its header.
 * Under mpisnap the receive may be posted in the layer rather than in MPI
 * (during a snapshot, or with MPISNAP_FAST=0), so a send that blocks inside
 * MPI would wait for a receive nothing advances.  Here every rank posts
 * its receives (from itself and from every rank) and then sends with
 * MPI_Send, messages of 1 B to 64 KiB around the limits, and checks every
 * byte.  Found by MPICH's sendself and sendall tests.
 */
#include <string.h>

#include "mpitest.h"

static const int sizes[] = {1, 1000, 1024, 1025, 2048, 4000, 4064, 4096,
                            4097, 8192, 65536};
enum { NSIZES = sizeof(sizes) / sizeof(sizes[0]) };

static unsigned char pattern(int src, int dst, int size, int i) {
  return (unsigned char)(src * 31 + dst * 7 + size + i * 13);
}

static void check(const unsigned char *buf, int src, int size,
                  const char *what) {
  for (int i = 0; i < size; i++)
    if (buf[i] != pattern(src, mt_rank, size, i))
      mt_fail("%s: %d bytes from rank %d: byte %d is %d, want %d", what,
              size, src, i, buf[i], pattern(src, mt_rank, size, i));
}

int main(int argc, char **argv) {
  unsigned char *out, *in;
  MPI_Request *req;
  MPI_Status st;

  mt_init(&argc, &argv, "posted");
  out = malloc(65536);
  in = malloc((size_t)mt_size * 65536);
  req = malloc((size_t)mt_size * sizeof(*req));
  if (out == NULL || in == NULL || req == NULL)
    mt_fail("out of memory");

  for (int round = 0; round < 3; round++)
    for (int s = 0; s < NSIZES; s++) {
      int size = sizes[s];

      /* To oneself: the receive first, then a blocking send. */
      for (int i = 0; i < size; i++)
        out[i] = pattern(mt_rank, mt_rank, size, i);
      memset(in, 0, (size_t)size);
      MPI_Irecv(in, size, MPI_BYTE, mt_rank, s, MPI_COMM_WORLD, &req[0]);
      MPI_Send(out, size, MPI_BYTE, mt_rank, s, MPI_COMM_WORLD);
      MPI_Wait(&req[0], &st);
      MT_EQ("self: count", mt_count(&st, MPI_BYTE), size);
      check(in, mt_rank, size, "self");

      /* To everyone (oneself included): all receives posted, then one
       * blocking send after another, as MPICH's sendall does. */
      memset(in, 0, (size_t)mt_size * (size_t)size);
      for (int p = 0; p < mt_size; p++)
        MPI_Irecv(in + (size_t)p * (size_t)size, size, MPI_BYTE, p, 100 + s,
                  MPI_COMM_WORLD, &req[p]);
      for (int k = 1; k <= mt_size; k++) {
        int p = (mt_rank + k) % mt_size;
        for (int i = 0; i < size; i++)
          out[i] = pattern(mt_rank, p, size, i);
        MPI_Send(out, size, MPI_BYTE, p, 100 + s, MPI_COMM_WORLD);
      }
      MPI_Waitall(mt_size, req, MPI_STATUSES_IGNORE);
      for (int p = 0; p < mt_size; p++)
        check(in + (size_t)p * (size_t)size, p, size, "all");
    }
  free(out);
  free(in);
  free(req);
  return mt_done();
}
