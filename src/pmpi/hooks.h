/* What the interception layer asks of a checkpoint runtime.
 *
 * The layer never calls the runtime by name: a runtime that wants to hear
 * about snapshots registers this table with mpisnap__layer_register()
 * (src/pmpi/iface.h) at mpisnap_init and removes it at mpisnap_finalize,
 * as darshan's modules register with its core.  Without one, the layer
 * still runs every snapshot (the test trigger does so) and keeps channel
 * state and balance, but nothing is recorded or written, and no
 * determinant or early message is remembered past its snapshot. */
#ifndef MPISNAP_PMPI_HOOKS_H
#define MPISNAP_PMPI_HOOKS_H

#include <stdint.h>

typedef struct mpisnap__hooks {
  /* This rank records snapshot sid now: save its local state.  Called
   * from inside an intercepted MPI call or a safe point. */
  void (*record)(uint64_t sid);
  /* Snapshot sid is complete on this rank: every channel's state is in
   * the layer; collect it (mpisnap__layer_collect) and write it out. */
  void (*done)(uint64_t sid);
  /* The rank has been waiting inside the layer for a while. */
  void (*idle)(void);
  /* MPI_Finalize was called: finish the runtime (MPI still works). */
  void (*finalize)(void);
} mpisnap__hooks;

#endif /* MPISNAP_PMPI_HOOKS_H */
