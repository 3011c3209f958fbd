/* The Chandy-Lamport protocol engine of one rank.
 *
 * The engine knows nothing of MPI or HDF5. Its caller (the MPI
 * interception layer, or the simulator in tests/sim) tells it what
 * happened on the rank's channels, and the engine answers through
 * callbacks with what the protocol requires: record the local state now,
 * send a marker on this outgoing channel, log the still-queued messages of
 * this incoming channel, the snapshot is done.  One engine, used by both
 * callers, means the protocol is proven once in the simulator and then
 * trusted by the MPI layer.
 *
 * Channels are numbered by the caller: incoming channels 0..nin-1 and
 * outgoing channels 0..nout-1, added with mpisnap__engine_add_in/_out.
 *
 * Every message the caller receives gets an epoch stamp when it arrives
 * (mpisnap__engine_arrived): the id of the last marker seen on its channel.
 * A message of epoch e was sent after its sender recorded snapshot e and
 * before it recorded snapshot e+1, which is everything needed later to
 * decide, when the application consumes it, whether it belongs to the
 * channel state, is an early message, or is ordinary.
 */
#ifndef MPISNAP_CORE_ENGINE_H
#define MPISNAP_CORE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

/* When a rank records its local state after learning of a snapshot. */
enum mpisnap__record_policy {
  /* Classic Chandy-Lamport: record at once, on initiation or first marker. */
  MPISNAP__RECORD_IMMEDIATE = 0,
  /* Record at the next safe point (mpisnap__engine_point). */
  MPISNAP__RECORD_SAFEPOINT = 1,
  /* Record only when the caller says so (mpisnap__engine_record); used by
   * collective mode, where the ranks agree on the safe point first. */
  MPISNAP__RECORD_EXPLICIT = 2
};

/* The rank's phase for its current snapshot (brief section 3). */
enum mpisnap__phase {
  MPISNAP__IDLE = 0,     /* no snapshot known, or the last one is DONE */
  MPISNAP__PENDING = 1,  /* learned of the snapshot, not yet recorded */
  MPISNAP__RECORDED = 2, /* recorded, waiting for markers */
  MPISNAP__DONE = 3      /* recorded and every incoming marker seen */
};

/* What the application's consumption of a message means for the snapshot. */
enum mpisnap__consume_class {
  MPISNAP__CONSUME_PLAIN = 0, /* nothing to do */
  MPISNAP__CONSUME_LOG = 1,   /* channel state: log a copy of the message */
  MPISNAP__CONSUME_EARLY = 2  /* post-marker message consumed before record */
};

/* Per-channel counters of one snapshot, as stored in a checkpoint.
 * On every channel, once both ends are done:
 *   sent_before_record == consumed_before_record + logged - early
 * where the left side is the sender's and the right side the receiver's. */
typedef struct mpisnap__in_counters {
  uint64_t consumed_before_record; /* cumulative, at the record */
  uint64_t logged;                 /* channel-state messages */
  uint64_t early;                  /* post-marker messages consumed before record */
} mpisnap__in_counters;

typedef struct mpisnap__engine mpisnap__engine;

typedef struct mpisnap__engine_ops {
  /* Copy the local state now; the snapshot id is given. */
  void (*record)(void *ctx, uint64_t sid);
  /* Send the marker of snapshot sid on outgoing channel out, in order
   * with the application's messages on that channel. */
  void (*send_marker)(void *ctx, uint32_t out, uint64_t sid);
  /* Channel in has closed for snapshot sid: log every message of that
   * channel that has arrived, is not yet consumed, and whose epoch is
   * below sid; return how many were logged.  Messages consumed after this
   * call are not logged again (the engine will not ask). */
  uint64_t (*log_queued)(void *ctx, uint32_t in, uint64_t sid);
  /* The rank is DONE with snapshot sid. */
  void (*done)(void *ctx, uint64_t sid);
  /* Optional (may be NULL): the rank has just learned of snapshot sid,
   * before it records or logs anything for it. */
  void (*begin)(void *ctx, uint64_t sid);
} mpisnap__engine_ops;

/* Create an engine for a rank.  Returns NULL when out of memory. */
mpisnap__engine *mpisnap__engine_new(enum mpisnap__record_policy policy,
                                     const mpisnap__engine_ops *ops,
                                     void *ctx);
void mpisnap__engine_free(mpisnap__engine *e);

/* Add a channel; returns its index or a negative MPISNAP_E* code.
 * A channel added while a snapshot is active takes no part in it: the
 * caller guarantees (for example by creating channels only between
 * snapshots, or by agreement with the peer) that both ends see it the same
 * way.  A new incoming channel starts at the current epoch. */
int mpisnap__engine_add_in(mpisnap__engine *e);
int mpisnap__engine_add_out(mpisnap__engine *e);

/* Add an incoming channel whose sender had recorded snapshots up to
 * sender_rec when the channel was created (both ends learn that by an
 * exchange at creation): the channel expects markers from sender_rec + 1
 * on.  A sender one snapshot ahead counts as that snapshot's marker having
 * arrived on the channel.  Returns the index or a negative code. */
int mpisnap__engine_add_in_at(mpisnap__engine *e, uint64_t sender_rec);

/* The last snapshot this rank has recorded (what a new channel's peer is
 * told at creation). */
uint64_t mpisnap__engine_recorded_sid(const mpisnap__engine *e);

/* Retire a channel (its communicator was freed): an incoming channel is
 * closed for the active snapshot, if not yet, and for all later ones; an
 * outgoing channel gets no more markers. */
int mpisnap__engine_retire_in(mpisnap__engine *e, uint32_t in);
int mpisnap__engine_retire_out(mpisnap__engine *e, uint32_t out);

/* Change when the rank records (allowed while no snapshot is active). */
int mpisnap__engine_set_policy(mpisnap__engine *e,
                               enum mpisnap__record_policy policy);

/* Resume counting from a restored checkpoint: the last snapshot id known
 * to every rank, so the next one is last_sid + 1 on every channel. */
int mpisnap__engine_set_base(mpisnap__engine *e, uint64_t last_sid);

/* ---- events ---- */

/* This rank initiates a snapshot.  If a snapshot is already active on this
 * rank, it joins it (concurrent initiators of the same snapshot); else it
 * starts the next id.  Stores the id in *sid when sid is not NULL. */
int mpisnap__engine_initiate(mpisnap__engine *e, uint64_t *sid);

/* The rank reached a safe point.  Records when the policy is SAFEPOINT and
 * the rank is PENDING.  Returns 1 if it recorded, 0 if not. */
int mpisnap__engine_point(mpisnap__engine *e);

/* The caller records now (EXPLICIT policy, or any policy while PENDING).
 * Error MPISNAP_ESTATE if the rank is not PENDING. */
int mpisnap__engine_record(mpisnap__engine *e);

/* The application sent one message on outgoing channel out. */
int mpisnap__engine_sent(mpisnap__engine *e, uint32_t out);

/* A message arrived (was taken off the network into the caller's queue)
 * on incoming channel in.  Returns its epoch stamp through *epoch. */
int mpisnap__engine_arrived(mpisnap__engine *e, uint32_t in, uint64_t *epoch);

/* The application consumed a message of channel in with the given epoch.
 * Returns an mpisnap__consume_class (>= 0), or a negative error. */
int mpisnap__engine_consumed(mpisnap__engine *e, uint32_t in, uint64_t epoch);

/* The marker of snapshot sid arrived on incoming channel in. */
int mpisnap__engine_marker(mpisnap__engine *e, uint32_t in, uint64_t sid);

/* ---- queries ---- */

uint64_t mpisnap__engine_sid(const mpisnap__engine *e);  /* current or last */
enum mpisnap__phase mpisnap__engine_phase(const mpisnap__engine *e);
uint32_t mpisnap__engine_nin(const mpisnap__engine *e);
uint32_t mpisnap__engine_nout(const mpisnap__engine *e);
/* Counters of the current (or last) snapshot. */
uint64_t mpisnap__engine_sent_before_record(const mpisnap__engine *e,
                                            uint32_t out);
mpisnap__in_counters mpisnap__engine_in_counters(const mpisnap__engine *e,
                                                 uint32_t in);
/* Id of the last marker seen on incoming channel in. */
uint64_t mpisnap__engine_in_epoch(const mpisnap__engine *e, uint32_t in);
/* Markers this rank sent for the current (or last) snapshot. */
uint64_t mpisnap__engine_markers_sent(const mpisnap__engine *e);
/* Whether the rank already knows of the snapshot after the current one
 * (a marker of sid+1 arrived before it was DONE with sid). */
int mpisnap__engine_next_pending(const mpisnap__engine *e);

#endif /* MPISNAP_CORE_ENGINE_H */
