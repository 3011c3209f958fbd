/* Internal interface of the interception layer (src/pmpi).
 *
 * Every application communicator has a private shadow duplicate.  The
 * application's messages travel on the shadow with their own tags; markers
 * travel on the same shadow with a reserved tag, so MPI's non-overtaking
 * rule keeps each (source -> destination) stream a FIFO.  The layer reads
 * each shadow with MPI_Improbe on MPI_ANY_SOURCE/MPI_ANY_TAG, which yields
 * every source's messages in send order, and does the tag matching itself:
 * a message that matches a posted receive moves once, with MPI_Mrecv,
 * straight into the application's buffer; one that matches nothing waits
 * as an MPI_Message handle, its data still inside MPI.
 *
 * Requests and message handles that the layer gives the application are
 * the addresses of its own objects; a registry tells them apart from real
 * MPI requests (collectives, RMA, I/O), which pass through. */
#ifndef MPISNAP_PMPI_LAYER_H
#define MPISNAP_PMPI_LAYER_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "core/engine.h"
#include "mpisnap_errno.h"

typedef struct mpisnap__comm mpisnap__comm;
typedef struct mpisnap__req mpisnap__req;
typedef struct mpisnap__msg mpisnap__msg;

/* A message taken off a shadow that no receive has consumed yet. */
struct mpisnap__msg {
  mpisnap__msg *next;
  mpisnap__comm *comm;
  int source, tag;
  uint64_t epoch;      /* the engine's stamp at arrival */
  MPI_Message handle;  /* data still inside MPI, or MPI_MESSAGE_NULL */
  MPI_Count bytes;     /* packed size */
  void *data;          /* when buffered: the packed bytes */
  int heap;            /* allocated (queued), rather than on a stack */
  uint64_t seq;        /* arrival order on this rank: channel order */
  uint64_t eidx;       /* index among its channel's arrivals of its epoch */
};

enum mpisnap__req_kind {
  MPISNAP__REQ_SEND = 1,  /* a real MPI send request underneath */
  MPISNAP__REQ_RECV = 2,  /* a receive matched by the layer */
  MPISNAP__REQ_MRECV = 3  /* MPI_Imrecv of a message the app probed */
};

struct mpisnap__req {
  mpisnap__req *next;     /* posted-receive queue of its communicator */
  enum mpisnap__req_kind kind;
  int persistent;
  int active;             /* started and not yet completed */
  int done;               /* complete; status holds the result */
  int freed;              /* MPI_Request_free'd while active */
  MPI_Request real;       /* sends: the real request on the shadow */
  mpisnap__comm *comm;
  void *buf;
  int count;
  MPI_Datatype type;
  int peer, tag;          /* destination, or source (may be ANY) */
  int mode;               /* sends: 0 standard, 1 buffered, 2 synchronous */
  int blocking;           /* a blocking receive's request on its stack */
  int src;                /* receives in MPI_Imrecv: the message's source */
  uint64_t epoch;         /* ... its epoch stamp */
  MPI_Count bytes;        /* ... and its size */
  uint64_t seq;           /* ... and its arrival order */
  uint64_t eidx;          /* ... and its index within its epoch */
  int landed;             /* its data was waited for to log it at a close */
  long det_idx;           /* wildcard receive: its determinant, or -1 */
  mpisnap__req *inext;    /* the communicator's list of such receives */
  MPI_Status status;
};

struct mpisnap__comm {
  MPI_Comm app;
  MPI_Comm shadow;
  int rank, size;         /* size of the remote group for intercomms */
  int *in_idx, *out_idx;  /* engine channel of each peer */
  uint64_t *marker_count; /* per source: sent-before-record in its marker */
  mpisnap__req *posted, *posted_tail;
  mpisnap__msg *unexp, *unexp_tail;
  /* Arrived, not yet consumed, and not in unexp either: messages the
   * application holds through MPI_Mprobe/Improbe, and receives whose data
   * is moving with MPI_Imrecv.  A channel that closes logs these too. */
  mpisnap__msg *claimed;
  mpisnap__req *inflight;
  mpisnap__comm *next;    /* the list of live communicators */
  uint64_t id;            /* creation order on this rank */
  uint64_t collectives;   /* blocking collectives called on it */
  uint64_t key;           /* the same on every member, run after run */
  uint64_t **supp;        /* restart, per peer: early messages not to send again */
  size_t *supp_n, *supp_next;
  uint64_t *sends;        /* restart: sends per peer since the restart */
  uint64_t *eidx;         /* per source: arrivals in the current epoch */
  uint64_t *eidx_epoch;   /* ... and which epoch that count is for */
};

/* Per-channel reverse map, indexed by engine channel number. */
typedef struct mpisnap__chan {
  mpisnap__comm *comm;
  int peer;
} mpisnap__chan;

typedef struct mpisnap__state {
  int initialized, finalized;
  mpisnap__engine *engine;
  mpisnap__comm *comms;
  uint64_t ncomms_created;
  mpisnap__chan *in_chan, *out_chan;
  uint32_t in_cap, out_cap;
  int keyval;
  int tag_ub;             /* what the application sees */
  int marker_tag;         /* reserved: the real MPI_TAG_UB */
  MPI_Comm control;       /* the library's own traffic */
  int world_rank, world_size;
  char program[256];      /* basename of argv[0], for checkpoint metadata */
  /* Markers in flight from this rank. */
  MPI_Request *mk_req;
  uint64_t (*mk_buf)[2];
  int mk_n, mk_cap;
  /* Test support and statistics. */
  uint64_t log_mem_limit; /* MPISNAP_LOG_MEM: channel state kept in memory */
  uint64_t trigger;       /* MPISNAP_TEST_TRIGGER, 0: off */
  uint64_t rng;
  uint64_t calls;
  uint64_t snapshots_done, channels_checked, unbalanced;
  uint64_t active_hint;   /* nonzero while a snapshot is active here */
  uint64_t arrivals;      /* messages taken off the shadows so far */
} mpisnap__state;

extern mpisnap__state mpisnap__g;

/* comm.c */
int mpisnap__comm_setup(void);
mpisnap__comm *mpisnap__comm_get(MPI_Comm app);
int mpisnap__comm_register(MPI_Comm app);
void mpisnap__comm_release_all(void);

/* progress.c */
int mpisnap__progress(void);
int mpisnap__progress_comm(mpisnap__comm *c);
int mpisnap__deliver(mpisnap__msg *m, void *buf, int count, MPI_Datatype type,
                     MPI_Status *status);
void mpisnap__post_recv(mpisnap__req *r);
int mpisnap__unpost_recv(mpisnap__req *r);
void mpisnap__finish_inflight(mpisnap__req *r);
long mpisnap__wildcard(int *source, int *tag); /* replay.c glue, recv.c */
int mpisnap__start_recv(mpisnap__req *r); /* recv.c */
int mpisnap__start_send(mpisnap__req *r); /* send.c */
mpisnap__msg *mpisnap__find_unexpected(mpisnap__comm *c, int source, int tag,
                                       int remove);
void mpisnap__wait_backoff(unsigned *spins);
int mpisnap__engine_setup(void);
void mpisnap__maybe_trigger(void);
void mpisnap__status_empty(MPI_Status *st, int source, int tag);
void mpisnap__status_bytes(MPI_Status *st, int source, int tag,
                           MPI_Count bytes);

/* request.c */
mpisnap__req *mpisnap__req_new(enum mpisnap__req_kind kind);
void mpisnap__req_free(mpisnap__req *r);
mpisnap__req *mpisnap__req_lookup(MPI_Request h);
MPI_Request mpisnap__req_handle(mpisnap__req *r);
int mpisnap__req_test(mpisnap__req *r); /* 1 if complete */
mpisnap__msg *mpisnap__msg_lookup(MPI_Message h);
MPI_Message mpisnap__msg_handle(mpisnap__msg *m);
void mpisnap__msg_forget(mpisnap__msg *m);

/* channel log (progress.c) and checks */
int mpisnap__log_message(mpisnap__comm *c, int source, int tag, uint64_t seq,
                         const void *bytes, MPI_Count len);
void mpisnap__claim(mpisnap__msg *m);
void mpisnap__unclaim(mpisnap__msg *m);
void mpisnap__snapshot_logs_free(void);
struct mpisnap__chanmsg;
void mpisnap__log_collect(uint64_t sid, struct mpisnap__chanmsg **out,
                          size_t *n);
uint64_t mpisnap__epoch_index(mpisnap__comm *c, int src, uint64_t epoch);
int mpisnap__finish_snapshots(int record_pending);
int mpisnap__log_lookup(uint64_t sid, mpisnap__comm *c, int source, int idx,
                        const void **data, MPI_Count *bytes, int *tag);

/* Errors that must never pass silently. */
void mpisnap__fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The start of every point-to-point entry point: refuses a call outside
 * MPI_Init..MPI_Finalize, lets a test trigger fire, and finds the
 * communicator's shadow (NULL: not a communicator). */
static inline mpisnap__comm *mpisnap__enter(MPI_Comm comm) {
  if (!mpisnap__g.initialized || mpisnap__g.finalized)
    mpisnap__fatal("a point-to-point call outside MPI_Init..MPI_Finalize");
  mpisnap__maybe_trigger();
  return mpisnap__comm_get(comm);
}

#define MPISNAP__CHECK_TAG(tag)                                               \
  do {                                                                        \
    if ((tag) > mpisnap__g.tag_ub)                                            \
      return MPI_ERR_TAG;                                                     \
  } while (0)

#endif /* MPISNAP_PMPI_LAYER_H */
