/* Determinant logging and replay (replay.c). */
#ifndef MPISNAP_PMPI_REPLAY_H
#define MPISNAP_PMPI_REPLAY_H

#include <stdint.h>

#include "format/part.h"

enum mpisnap__det_kind {
  MPISNAP__DET_RECV = 1,   /* wildcard receive or probe: a=source, b=tag */
  MPISNAP__DET_IPROBE = 2, /* Iprobe/Improbe: a=flag, b=source, c=tag */
  MPISNAP__DET_TEST = 3,   /* Test/Testall/Request_get_status: a=flag */
  MPISNAP__DET_ANY = 4,    /* Waitany/Testany: a=index (-1: none yet) */
  MPISNAP__DET_SOME = 5    /* Waitsome/Testsome: a=outcount, b=bitmap word */
};

int mpisnap__det_logging(void);
long mpisnap__det_add(int kind, int a, int b, int c);
void mpisnap__det_set(long idx, int a, int b);
void mpisnap__det_take(uint64_t sid, mpisnap__part *p);
/* 1 and the logged values if the next determinant is to be replayed. */
int mpisnap__det_replay(int kind, int *a, int *b, int *c);
/* 1 while determinants of a restart remain to be replayed. */
int mpisnap__det_replaying(void);

#endif /* MPISNAP_PMPI_REPLAY_H */
