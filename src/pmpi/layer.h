/* Internal interface of the interception layer (src/pmpi).
 *
 * Every application communicator has three private shadow duplicates.  A
 * rank sends its application messages on the shadow of its current epoch
 * (the last snapshot it recorded, modulo 3), so the shadow a message
 * arrives on says on which side of its sender's record it was sent.
 * Markers travel on the library's control communicator and carry their
 * sender's count of messages sent on the channel before its record; the
 * receiver takes the rest of the older epoch off its shadow (the drain)
 * before it lets the marker count, which rebuilds each channel's FIFO
 * order of messages and markers exactly (chan.c).
 *
 * While no snapshot is active on a rank, receives go straight to MPI on
 * the current epoch's shadow and MPI does the matching (the fast path).
 * While one is, the layer reads every shadow with MPI_Improbe on
 * MPI_ANY_SOURCE/MPI_ANY_TAG and does the tag matching itself: a message
 * that matches a posted receive moves once, with MPI_Mrecv, straight into
 * the application's buffer; one that matches nothing waits as an
 * MPI_Message handle, its data still inside MPI.
 *
 * Requests the layer gives the application are real, never-started MPI
 * persistent requests standing for its own objects, and its message
 * handles are virtual; a registry maps them to the layer's objects and
 * tells them apart from real MPI requests (collectives, RMA, I/O), which
 * pass through (request.c).  Nothing depends on whether the MPI's handles
 * are pointers (Open MPI) or integers (MPICH). */
#ifndef MPISNAP_PMPI_LAYER_H
#define MPISNAP_PMPI_LAYER_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "common/array.h"
#include "common/queue.h"
#include "core/engine.h"
#include "mpisnap_errno.h"
#include "pmpi/iface.h"

typedef struct mpisnap__comm mpisnap__comm;
typedef struct mpisnap__req mpisnap__req;
typedef struct mpisnap__msg mpisnap__msg;

/* A message taken off a shadow that no receive has consumed yet. */
struct mpisnap__msg {
  mpisnap__queue q;    /* in its communicator's unexp, claimed or ahead */
  mpisnap__comm *comm;
  int source, tag;
  uint64_t epoch;      /* the engine's stamp at arrival */
  MPI_Message handle;  /* data still inside MPI, or MPI_MESSAGE_NULL */
  MPI_Message hval;    /* the application's handle for it (request.c) */
  MPI_Count bytes;     /* packed size */
  void *data;          /* when buffered: the packed bytes */
  int heap;            /* allocated (queued), rather than on a stack */
  uint64_t seq;        /* arrival order on this rank: channel order */
  uint64_t eidx;       /* index among its channel's arrivals of its epoch */
  MPI_Fint fhandle;    /* its Fortran handle (fortran.c), or 0 */
};

enum mpisnap__req_kind {
  MPISNAP__REQ_SEND = 1,  /* a real MPI send request underneath */
  MPISNAP__REQ_RECV = 2,  /* a receive matched by the layer */
  MPISNAP__REQ_MRECV = 3  /* MPI_Imrecv of a message the app probed */
};

struct mpisnap__req {
  mpisnap__queue q;       /* in its communicator's posted queue */
  mpisnap__queue iq;      /* in its communicator's inflight or fastq */
  enum mpisnap__req_kind kind;
  int persistent;
  int active;             /* started and not yet completed */
  int done;               /* complete; status holds the result */
  int freed;              /* MPI_Request_free'd while active */
  MPI_Request self;       /* the application's handle for it (request.c) */
  MPI_Request real;       /* sends: the real request on the shadow */
  mpisnap__comm *comm;
  void *buf;
  int count;
  MPI_Datatype type;
  int peer, tag;          /* destination, or source (may be ANY) */
  int mode;               /* sends: 0 standard, 1 buffered, 2 synchronous */
  int blocking;           /* a blocking receive's request on its stack */
  int fast;               /* a receive posted straight to MPI (real) */
  int cancel;             /* ... which the application cancelled */
  int shq;                /* persistent sends: the shadow real was made on */
  int src;                /* receives in MPI_Imrecv: the message's source */
  uint64_t epoch;         /* ... its epoch stamp (fast: its shadow's epoch) */
  MPI_Count bytes;        /* ... and its size */
  uint64_t seq;           /* ... and its arrival order */
  uint64_t eidx;          /* ... and its index within its epoch */
  int landed;             /* its data was waited for to log it at a close */
  int armed;              /* counted in mpisnap__g.recv_armed */
  int type_owned;         /* type is the layer's own duplicate (request.c) */
  long det_idx;           /* wildcard receive: its determinant, or -1 */
  MPI_Status status;
};

struct mpisnap__comm {
  MPI_Comm app;
  MPI_Comm sh[3];         /* epoch e's messages travel on sh[e % 3] */
  MPI_Comm shadow;        /* sh[0], for the layer's collectives and packing */
  int *world;             /* world rank of each peer (markers go there) */
  int rank, size;         /* size of the remote group for intercomms */
  int *in_idx, *out_idx;  /* engine channel of each peer */
  /* Per source, by snapshot parity (a snapshot and the one before it may
   * overlap): the last marker applied, and the count it carried of
   * messages sent before its sender's record.  The balance check at the
   * end of a snapshot reads it. */
  struct mpisnap__mkseen { uint64_t sid, count; } (*mk_seen)[2];
  mpisnap__queue posted;  /* receives the layer matches, in posting order */
  mpisnap__queue unexp;   /* arrived messages no receive matched yet */
  /* Arrived, not yet consumed, and not in unexp either: messages the
   * application holds through MPI_Mprobe/Improbe, and receives whose data
   * is moving with MPI_Imrecv.  A channel that closes logs these too. */
  mpisnap__queue claimed;
  mpisnap__queue inflight;
  mpisnap__queue link;    /* in mpisnap__g.comms */
  uint64_t id;            /* creation order on this rank */
  uint64_t collectives;   /* blocking collectives called on it */
  uint64_t key;           /* the same on every member, run after run */
  /* Restart (restore.c), per peer: the indices of the messages this rank
   * sent after its record that the peer consumed before the failure
   * (ascending), how many of them, how many already skipped, and the
   * sends since the restart. */
  uint64_t **supp;
  size_t *supp_n, *supp_next;
  uint64_t *sends;
  uint64_t *eidx;         /* per source: arrivals in the current epoch */
  uint64_t *eidx_epoch;   /* ... and which epoch that count is for */
  /* The channels' FIFO order, rebuilt (chan.c). */
  uint64_t *arr;          /* per source: arrivals counted in its epochs so far */
  uint64_t (*pmk)[3][2];  /* per source: markers (sid, count) not yet applied */
  uint8_t *pmk_n;
  mpisnap__queue ahead;   /* arrived before their epoch's marker */
  mpisnap__queue fastq;   /* fast receives, in posting order */
};

/* Per-channel reverse map, indexed by engine channel number. */
typedef struct mpisnap__chan {
  mpisnap__comm *comm;
  int peer;
} mpisnap__chan;

typedef struct mpisnap__state {
  int initialized, finalized;
  mpisnap__engine *engine;
  mpisnap__queue comms;   /* live communicators, newest first */
  uint64_t ncomms_created;
  mpisnap__chan *in_chan, *out_chan;
  size_t in_cap, out_cap;
  int keyval;
  int tag_ub;             /* MPI_TAG_UB */
  MPI_Comm control;       /* the library's own traffic */
  int world_rank, world_size;
  char program[256];      /* basename of argv[0], for checkpoint metadata */
  mpisnap__layer_info info; /* the runtime's read-only view of the above */
  const mpisnap__hooks *hooks; /* the checkpoint runtime's, or NULL */
  int exit_status;        /* MPI_Finalize exits with it when nonzero */
  mpisnap__part *restored; /* a restart's part (restore.c), or NULL */
  /* Markers in flight from this rank. */
  MPI_Request *mk_req;
  /* Their buffers, in chunks that never move while MPI reads them. */
  uint64_t (**mk_chunk)[4];
  size_t mk_nchunk, mk_chunk_cap;
  /* The standing receive of markers on the control communicator. */
  MPI_Request mk_in_req;
  uint64_t mk_in[4];
  uint64_t (*orphan)[4];  /* markers for communicators not created here yet */
  size_t norphan, orphan_cap;
  /* The fast path (chan.c): on while no snapshot is active here. */
  int fast;
  int fast_off;           /* MPISNAP_FAST=0: never */
  uint64_t fast_gen;      /* times the fast path was left */
  uint64_t ep;            /* the last snapshot this rank recorded */
  int shq;                /* ep % 3: the shadow this rank sends on */
  uint64_t pending_markers, held;
  MPI_Request *fast_blocking; /* a blocking fast receive's real request */
  /* Nonblocking and persistent receives started and not yet completed by
   * the application: while there are none and no snapshot is active here,
   * this rank blocking inside MPI cannot hold up anyone (send.c). */
  uint64_t recv_armed;
  /* Blocking collectives: MPI's own (1) or the nonblocking detour (0); the
   * same on every rank at every collective (regime.c).  coll_permit: the
   * direct regime is possible at all in this job. */
  int coll_direct, coll_permit;
  int direct_off;         /* MPISNAP_DIRECT=0: never the direct regime */
  /* Direct, and no checkpoint runtime registered (yet): no snapshot can
   * ever begin, so point-to-point calls are MPI's own on the shadows,
   * counted nowhere (regime.c). */
  int bare;
  /* Collectives of freed communicators, and those of the detour: the
   * direct ones are the rest (regime.c's report). */
  uint64_t n_coll_retired, n_coll_detour;
  /* A restart's logged messages not yet re-delivered (their communicator
   * is not created again yet): until then receives may be the layer's. */
  uint64_t restore_left;
  /* How often the epoch machinery's rarer paths ran (reported at the end). */
  uint64_t n_ahead, n_pulled, n_taken_back, n_landed;
  int mk_n;
  size_t mk_req_cap;
  /* Test support and statistics. */
  uint64_t log_mem_limit; /* MPISNAP_LOG_MEM: channel state kept in memory */
  uint64_t trigger;       /* MPISNAP_TEST_TRIGGER, 0: off */
  int verbose;            /* MPISNAP_VERBOSE: diagnostics on stderr */
  uint64_t rng;
  uint64_t calls;
  uint64_t snapshots_done, channels_checked, unbalanced;
  uint64_t active_hint;   /* nonzero while a snapshot is active here */
  uint64_t arrivals;      /* messages taken off the shadows so far */
} mpisnap__state;

extern mpisnap__state mpisnap__g;

/* coll.c */
int mpisnap__wait_in_layer(MPI_Request *req);
int mpisnap__gather_members(MPI_Comm app);

/* regime.c */
void mpisnap__regime_setup(void);
void mpisnap__regime_report(void);

/* comm.c */
int mpisnap__comm_setup(void);
mpisnap__comm *mpisnap__comm_get(MPI_Comm app);
/* The one-entry cache in front of mpisnap__comm_get's attribute lookup
 * (programs use one communicator for long stretches), readable inline. */
typedef struct {
  MPI_Comm app;
  mpisnap__comm *c; /* NULL, with app MPI_COMM_NULL, when empty */
} mpisnap__commcache;
extern mpisnap__commcache mpisnap__comm_cache;

/* app's record if it is the cached one, else NULL (no lookup). */
static inline mpisnap__comm *mpisnap__comm_cached(MPI_Comm app) {
  return app == mpisnap__comm_cache.app ? mpisnap__comm_cache.c : NULL;
}

/* mpisnap__comm_get with its cache hit inlined: the hot paths (bare
 * point-to-point, direct collectives) pay a compare, not a call. */
static inline mpisnap__comm *mpisnap__comm_find(MPI_Comm app) {
  mpisnap__comm *c = mpisnap__comm_cached(app);

  return c != NULL ? c : mpisnap__comm_get(app);
}
int mpisnap__comm_register(MPI_Comm app);
void mpisnap__comm_release_all(void);

/* progress.c, match.c, status.c, events.c */
int mpisnap__progress(void);
int mpisnap__progress_comm(mpisnap__comm *c);
int mpisnap__deliver(mpisnap__msg *m, void *buf, int count, MPI_Datatype type,
                     MPI_Status *status);
void mpisnap__post_recv(mpisnap__req *r);
int mpisnap__unpost_recv(mpisnap__req *r);
void mpisnap__finish_inflight(mpisnap__req *r);
long mpisnap__wildcard(int *source, int *tag); /* recv.c: det.c for wildcards */
int mpisnap__start_recv(mpisnap__req *r); /* recv.c */
int mpisnap__start_send(mpisnap__req *r); /* send.c */
mpisnap__msg *mpisnap__find_unexpected(mpisnap__comm *c, int source, int tag,
                                       int remove);
void mpisnap__wait_backoff(unsigned *spins);
int mpisnap__engine_setup(void);
void mpisnap__maybe_trigger(void);
void mpisnap__status_empty(MPI_Status *st, int source, int tag);
void mpisnap__status_out(MPI_Status *dst, const MPI_Status *src);
void mpisnap__status_proc_null(MPI_Status *st);
void mpisnap__status_bytes(MPI_Status *st, int source, int tag,
                           MPI_Count bytes);

/* chan.c, fast.c */
void mpisnap__chan_setup(void);
void mpisnap__chan_shutdown(void);
int mpisnap__chan_comm_setup(mpisnap__comm *c, int inter);
void mpisnap__chan_comm_free(mpisnap__comm *c);
void mpisnap__send_marker(mpisnap__comm *c, int peer, uint64_t sid,
                          uint64_t count);
int mpisnap__markers_poll(void);
void mpisnap__shadow_arrival(mpisnap__comm *c, int q, MPI_Message h,
                             MPI_Status *st);
void mpisnap__arrival(mpisnap__comm *c, MPI_Message h, int src, int tag,
                      MPI_Count bytes); /* progress.c */
void mpisnap__go_slow(void);
void mpisnap__fast_check(void);
int mpisnap__direct_recv(mpisnap__comm *c, void *buf, int count,
                         MPI_Datatype type, int source, int tag,
                         MPI_Status *status);
enum { MPISNAP__FAST_LEFT = -1 };
int mpisnap__fast_probe(mpisnap__comm *c, int source, int tag, int *flag,
                        MPI_Message *message, MPI_Status *status,
                        int blocking);
void mpisnap__fast_finish(mpisnap__req *r);
int mpisnap__fast_recv(mpisnap__comm *c, void *buf, int count,
                       MPI_Datatype type, int source, int tag,
                       MPI_Status *status);
int mpisnap__fast_irecv(mpisnap__req *r);
void mpisnap__chan_adopt(mpisnap__comm *c);
void mpisnap__chan_advance(mpisnap__comm *c, int src);
void mpisnap__marker_fired(void);
void mpisnap__msgs_discard(mpisnap__queue *list);
int mpisnap__slow_recv(mpisnap__req *r, MPI_Status *status); /* recv.c */

/* What every receive request holds about its receive. */
static inline void mpisnap__recv_fields(mpisnap__req *r, mpisnap__comm *c,
                                        void *buf, int count,
                                        MPI_Datatype type, int source,
                                        int tag) {
  r->comm = c;
  r->buf = buf;
  r->count = count;
  r->type = type;
  r->peer = source;
  r->tag = tag;
  r->det_idx = -1;
}

/* The element a list link belongs to. */
#define MPISNAP__MSG(l) mpisnap__queue_data(l, mpisnap__msg, q)
#define MPISNAP__REQ(l) mpisnap__queue_data(l, mpisnap__req, q)
#define MPISNAP__IREQ(l) mpisnap__queue_data(l, mpisnap__req, iq)
#define MPISNAP__COMM(l) mpisnap__queue_data(l, mpisnap__comm, link)

/* A request's links point at themselves until it is queued. */
static inline void mpisnap__req_links(mpisnap__req *r) {
  mpisnap__queue_init(&r->q);
  mpisnap__queue_init(&r->iq);
}

/* A blocking receive's request, which lives on its caller's stack. */
static inline void mpisnap__blocking_req(mpisnap__req *r, mpisnap__comm *c,
                                         void *buf, int count,
                                         MPI_Datatype type, int source,
                                         int tag, long det) {
  *r = (mpisnap__req){0};
  r->kind = MPISNAP__REQ_RECV;
  r->blocking = 1;
  r->real = MPI_REQUEST_NULL;
  mpisnap__req_links(r);
  mpisnap__recv_fields(r, c, buf, count, type, source, tag);
  r->det_idx = det;
}

/* An error of a call on c: the program's error handler on its own
 * communicator decides (abort, return, or its own function); the layer's
 * shadows only return errors. */
static inline int mpisnap__raise(mpisnap__comm *c, int rc) {
  if (rc != MPI_SUCCESS && c != NULL)
    PMPI_Comm_call_errhandler(c->app, rc);
  return rc;
}

/* Whether a receive on c may go straight to MPI: no snapshot active here,
 * and nothing the layer holds on c that the receive must match first. */
static inline int mpisnap__fast_ok(const mpisnap__comm *c) {
  return mpisnap__g.fast && mpisnap__queue_empty(&c->posted) &&
         mpisnap__queue_empty(&c->unexp) && mpisnap__queue_empty(&c->ahead);
}

/* Bare mode (regime.c): the shadow a point-to-point call goes straight
 * to, with *cp its communicator's record; MPI_COMM_NULL when the call
 * takes the layer's way (not bare, or something queued on comm). */
static inline MPI_Comm mpisnap__bare_shadow(MPI_Comm comm,
                                           mpisnap__comm **cp) {
  mpisnap__comm *c;

  if (!mpisnap__g.bare || (c = mpisnap__comm_find(comm)) == NULL ||
      !mpisnap__fast_ok(c))
    return MPI_COMM_NULL;
  *cp = c;
  return c->sh[mpisnap__g.shq];
}

/* A receive request the application started, until it completes it. */
static inline void mpisnap__recv_arm(mpisnap__req *r) {
  if (!r->armed) {
    r->armed = 1;
    mpisnap__g.recv_armed++;
  }
}

static inline void mpisnap__recv_disarm(mpisnap__req *r) {
  if (r->armed) {
    r->armed = 0;
    mpisnap__g.recv_armed--;
  }
}

/* request.c */
mpisnap__req *mpisnap__req_new(enum mpisnap__req_kind kind);
void mpisnap__req_free(mpisnap__req *r);
/* Whether any of the layer's requests exists: when none does, every
 * handle is MPI's own and completion calls need not look them up. */
int mpisnap__req_any(void);
mpisnap__req *mpisnap__req_lookup(MPI_Request h);
MPI_Request mpisnap__req_handle(mpisnap__req *r);
int mpisnap__req_keep_type(mpisnap__req *r);
int mpisnap__req_test(mpisnap__req *r); /* 1 if complete */
mpisnap__msg *mpisnap__msg_lookup(MPI_Message h);
MPI_Message mpisnap__msg_handle(mpisnap__msg *m);
void mpisnap__msg_forget(mpisnap__msg *m);
void mpisnap__handles_release(void); /* MPI_Finalize */

/* init.c: start the layer after MPI's initialisation returned rc (once);
 * refuse thread levels the layer cannot carry. */
int mpisnap__init_layer(int rc);
int mpisnap__init_thread_check(int required);

/* fortran.c: the Fortran sentinels, looked up after MPI_Init; a layer
 * object's Fortran handle, released when the object goes. */
void mpisnap__fortran_setup(void);
void mpisnap__fortran_forget(int fhandle);

/* chanlog.c */
void mpisnap__log_from_user(mpisnap__comm *c, int source, int tag,
                            uint64_t seq, const void *buf, int count,
                            MPI_Datatype type, MPI_Count bytes);
int mpisnap__log_message(mpisnap__comm *c, int source, int tag, uint64_t seq,
                         const void *bytes, MPI_Count len);
void mpisnap__claim(mpisnap__msg *m);
void mpisnap__unclaim(mpisnap__msg *m);
/* Drop the logs of snapshots before keep_from (all: UINT64_MAX). */
void mpisnap__logs_trim(uint64_t keep_from);
void mpisnap__snapshot_logs_free(void);
void mpisnap__log_collect(uint64_t sid, mpisnap__chanmsg **out, size_t *n);
uint64_t mpisnap__epoch_index(mpisnap__comm *c, int src, uint64_t epoch);
int mpisnap__log_lookup(uint64_t sid, mpisnap__comm *c, int source, int idx,
                        const void **data, MPI_Count *bytes, int *tag);

/* Room for one more element of a growable array, or a fatal error. */
#define MPISNAP__GROW(arr, n, cap, what)                                      \
  MPISNAP__GROW_OR(arr, n, cap, mpisnap__fatal, what)

/* collect.c, restore.c: what the runtime takes and gives back. */
void mpisnap__note_early(mpisnap__comm *c, int src, uint64_t epoch,
                    uint64_t index);
void mpisnap__restore_comm(mpisnap__comm *c);
int mpisnap__suppress(mpisnap__comm *c, int dest);

/* The start of every point-to-point entry point: refuses a call outside
 * MPI_Init..MPI_Finalize, lets a test trigger fire, and finds the
 * communicator's shadow (NULL: not a communicator). */
static inline mpisnap__comm *mpisnap__enter(MPI_Comm comm) {
  if (!mpisnap__g.initialized || mpisnap__g.finalized)
    mpisnap__fatal("a point-to-point call outside MPI_Init..MPI_Finalize");
  mpisnap__maybe_trigger();
  return mpisnap__comm_get(comm);
}

#define MPISNAP__CHECK_TAG(c, tag)                                            \
  do {                                                                        \
    if ((tag) < 0 || (tag) > mpisnap__g.tag_ub)                               \
      return mpisnap__raise((c), MPI_ERR_TAG);                                \
  } while (0)

#endif /* MPISNAP_PMPI_LAYER_H */
