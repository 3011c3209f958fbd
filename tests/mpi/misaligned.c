/*
 * misaligned: a collective-mode program whose ranks call mpisnap_point()
 * at different places relative to a collective on MPI_COMM_WORLD (rank 0
 * before its MPI_Allreduce, the others after).  That breaks collective
 * mode's contract: a collective could run as MPI's own on one rank and
 * through the layer on another, and a checkpoint taken there could not
 * restart into matching collectives.  mpisnap must stop the job with a
 * message that says so, at the second safe point, and never hang.
 */
#include "mpitest.h"
#include "mpisnap.h"

int main(int argc, char **argv) {
  mt_init(&argc, &argv, "misaligned");
  MT_EQ("mpisnap_init", mpisnap_init(MPI_COMM_WORLD, MPISNAP_COLLECTIVE), 0);
  for (int i = 0; i < 10; i++) {
    long in = 1, out = 0;
    if (mt_rank == 0)
      mpisnap_point();
    MPI_Allreduce(&in, &out, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    MT_EQ("allreduce", out, mt_size);
    if (mt_rank != 0)
      mpisnap_point();
  }
  mt_fail("ten misaligned safe points went unnoticed");
}
