/* Determinants (det.c): the layer's log of the MPI-level choices a rank
 * makes while its snapshot is recorded, and their replay after a
 * restart. */
#ifndef MPISNAP_PMPI_DET_H
#define MPISNAP_PMPI_DET_H

#include <stdint.h>

#include "format/part.h"

enum mpisnap__det_kind {
  MPISNAP__DET_RECV = 1,   /* wildcard receive or probe: a=source, b=tag */
  MPISNAP__DET_IPROBE = 2, /* Iprobe/Improbe: a=flag, b=source, c=tag */
  MPISNAP__DET_TEST = 3,   /* Test/Testall/Request_get_status: a=flag */
  MPISNAP__DET_ANY = 4,    /* Waitany/Testany: a=index (-1: none yet) */
  /* Waitsome/Testsome: a=outcount (-2: MPI_UNDEFINED), followed by one
   * DET_ANY determinant per completed index. */
  MPISNAP__DET_SOME = 5
};

/* Log a choice; its index (for det_set), or -1 when nothing is logged. */
long mpisnap__det_add(int kind, int a, int b, int c);
void mpisnap__det_set(long idx, int a, int b);
/* Move snapshot sid's determinants into p. */
void mpisnap__det_take(uint64_t sid, mpisnap__part *p);
/* Replay the determinants of p (a restart); p outlives the replay. */
void mpisnap__det_restore(const mpisnap__part *p);
/* 1 and the logged values if the next determinant is to be replayed. */
int mpisnap__det_replay(int kind, int *a, int *b, int *c);
/* 1 while determinants of a restart remain to be replayed. */
int mpisnap__det_replaying(void);

#endif /* MPISNAP_PMPI_DET_H */
