/* What the interception layer offers a checkpoint runtime (src/ckpt).
 *
 * This header and hooks.h are the only way between the two layers: the
 * runtime sees none of the layer's internals (layer.h), and the layer
 * calls the runtime only through the hooks table.  The snapshot's data
 * travels in the format's own record types (format/part.h). */
#ifndef MPISNAP_PMPI_IFACE_H
#define MPISNAP_PMPI_IFACE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "core/engine.h"
#include "format/part.h"
#include "pmpi/hooks.h"

/* Fixed at MPI_Init and never changed until MPI_Finalize returns, so any
 * thread may read it. */
typedef struct mpisnap__layer_info {
  int world_rank, world_size;
  const char *program;  /* basename of argv[0], for checkpoint metadata */
  MPI_Comm control;     /* the library's own communicator */
  int verbose;          /* MPISNAP_VERBOSE: diagnostics on stderr */
} mpisnap__layer_info;

/* NULL outside MPI_Init..MPI_Finalize. */
const mpisnap__layer_info *mpisnap__layer_info_get(void);

/* The snapshot engine the layer drives (initiate, record, phase, ...). */
mpisnap__engine *mpisnap__layer_engine(void);

/* Register the runtime's hooks (NULL: none). */
void mpisnap__layer_register(const mpisnap__hooks *hooks);

/* Move messages and markers; returns how many moved. */
int mpisnap__layer_progress(void);

/* Every rank finishes every snapshot any rank started (collective over
 * the world); record_pending: record a pending snapshot here. */
int mpisnap__layer_finish_snapshots(int record_pending);

/* The blocking collectives called so far on each communicator, at a
 * record (independent mode refuses a cut through a collective). */
void mpisnap__layer_collect_collectives(mpisnap__part *p);

/* When snapshot sid is done here: its channel state (logged messages in
 * channel order), channel counters, early messages and determinants,
 * moved into p. */
void mpisnap__layer_collect(uint64_t sid, mpisnap__part *p);

/* Restart from p: every receive is matched by the layer until p's
 * determinants are replayed; each communicator, now and as it is created
 * again, gets its logged messages back and tells its senders which
 * messages not to send again.  p must live until MPI_Finalize; the layer
 * takes the logged messages' data out of it. */
void mpisnap__layer_restore(mpisnap__part *p);

/* Whether this rank is quiet: no snapshot in progress or pending here,
 * nothing held or left to re-deliver or replay, and every receive it has
 * posted or may post is MPI's to match (regime.c). */
int mpisnap__layer_quiet(void);
/* Blocking collectives from now on: MPI's own (direct) or the nonblocking
 * detour.  The caller must switch every rank at the same point of the
 * program (a collective safe point), with the proof in docs/DESIGN.md
 * ("Blocking collectives"); the layer refuses direct where it is never
 * safe (snapshots forced by MPISNAP_TEST_TRIGGER, MPISNAP_FAST=0). */
void mpisnap__layer_coll_regime(int direct);
/* The blocking collectives the program called on MPI_COMM_WORLD so far:
 * the same on every rank at a safe point of collective mode. */
uint64_t mpisnap__layer_world_collectives(void);
/* MPI_Finalize ends the process with this status (a checkpoint-and-exit
 * that committed); 0: return normally. */
void mpisnap__layer_exit_status(int status);

/* Whether every Fortran MPI entry point in the process is the layer's
 * (fortran.c): 0, or -1 with a message naming the first that is not. */
int mpisnap__layer_fortran_check(char *msg, size_t len);

/* Stop the job with a message on stderr (MPI_Abort, status 70). */
void mpisnap__fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif /* MPISNAP_PMPI_IFACE_H */
