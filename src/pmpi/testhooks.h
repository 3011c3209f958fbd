/* Internal test interface of the interception layer.
 *
 * Not part of the public API (not in mpisnap.h, not installed): the MPI
 * tests in tests/mpi use it to take a snapshot at a chosen moment and read
 * back what was recorded in memory, until checkpoint files exist.  The
 * symbols are exported from libmpisnap so that tests work both when linked
 * with -lmpisnap and under LD_PRELOAD (look them up with dlsym then).
 *
 * Environment (read at MPI_Init):
 *   MPISNAP_TEST_TRIGGER=K  every rank, on about one in K intercepted
 *                           point-to-point calls (a per-rank seeded random
 *                           draw), initiates a snapshot: snapshots run
 *                           continuously from random ranks.
 *   At the end of every snapshot each rank checks, on every incoming
 *   channel, sent-before-record (from the channel's marker) =
 *   consumed-before-record + logged - early, and names an unbalanced
 *   channel on stderr at once.  At MPI_Finalize, whenever any snapshot
 *   ran, the layer completes the active one and sums the checks; with
 *   MPISNAP_VERBOSE, rank 0 prints to stderr
 *     "mpisnap: N snapshots checked on M channels, all balanced (...)"
 *   and after any imbalance every rank exits with status 71 (after
 *   MPI_Finalize, so the job ends cleanly and the status tells).
 */
#ifndef MPISNAP_PMPI_TESTHOOKS_H
#define MPISNAP_PMPI_TESTHOOKS_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "mpisnap_errno.h" /* MPISNAP_EXTERN */

/* Initiate a snapshot from this rank now (joins one already active).
 * Returns the snapshot id (> 0) or a negative MPISNAP_E* code; refused
 * (MPISNAP_ESTATE, with a message) unless MPISNAP_DIRECT=0 or
 * MPISNAP_TEST_TRIGGER keeps the layer in the detour regime. */
MPISNAP_EXTERN int mpisnap_test_snapshot(void);

/* Drive the layer's progress until this rank is done with snapshot sid.
 * Returns 0, or a negative code. */
MPISNAP_EXTERN int mpisnap_test_wait_done(int sid);

/* Channel state of snapshot sid on the channel (comm, src -> this rank):
 * returns how many messages were logged (>= 0), or a negative code.  When
 * idx is below that number, stores message idx's tag and byte length and
 * copies min(len, cap) of its bytes (as packed by MPI_Pack) into buf. */
MPISNAP_EXTERN int mpisnap_test_channel_state(int sid, MPI_Comm comm, int src,
                                              int idx, void *buf, size_t cap,
                                              int *tag, size_t *len);

/* Early messages counted on (comm, src -> this rank) in snapshot sid. */
MPISNAP_EXTERN int mpisnap_test_early(int sid, MPI_Comm comm, int src);

#endif /* MPISNAP_PMPI_TESTHOOKS_H */
