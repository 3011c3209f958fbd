/* What the engine asks of the layer (core/engine.h's callbacks): leave
 * the fast path when a snapshot begins, switch epochs at the record, send
 * markers, log a closing channel's queued messages, and check every
 * channel's balance when the snapshot is done. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmpi/layer.h"

/* ---- buffering a message out of MPI ---- */

/* Receive a queued message into a library buffer (packed bytes), so it
 * can be logged now and delivered later. */
static void buffer_msg(mpisnap__msg *m) {
  if (m->handle == MPI_MESSAGE_NULL)
    return;
  m->data = malloc(m->bytes ? (size_t)m->bytes : 1);
  if (m->data == NULL)
    mpisnap__fatal("out of memory buffering a %lld-byte message",
                   (long long)m->bytes);
  if (PMPI_Mrecv(m->data, (int)m->bytes, MPI_PACKED, &m->handle,
                 MPI_STATUS_IGNORE) != MPI_SUCCESS)
    mpisnap__fatal("MPI_Mrecv of a queued message failed");
  m->handle = MPI_MESSAGE_NULL;
}

/* ---- engine callbacks ---- */

static void on_begin(void *ctx, uint64_t sid) {
  (void)ctx;
  (void)sid;
  mpisnap__go_slow();
}

static void on_record(void *ctx, uint64_t sid) {
  (void)ctx;
  mpisnap__g.active_hint = 1;
  /* From here on this rank's messages belong to the new epoch. */
  mpisnap__g.ep = sid;
  mpisnap__g.shq = (int)(sid % 3);
  if (mpisnap__g.hooks != NULL)
    mpisnap__g.hooks->record(sid);
}

static void on_send_marker(void *ctx, uint32_t out, uint64_t sid) {
  mpisnap__chan *ch = &mpisnap__g.out_chan[out];

  (void)ctx;
  /* The marker carries the sender's count of messages sent on the channel
   * before its record: the receiver drains the channel up to it. */
  mpisnap__send_marker(ch->comm, ch->peer, sid,
                       mpisnap__engine_sent_before_record(mpisnap__g.engine,
                                                          out));
}

static uint64_t log_list(mpisnap__queue *list, int peer, uint64_t sid) {
  mpisnap__queue *l;
  uint64_t n = 0;

  mpisnap__queue_foreach(l, list) {
    mpisnap__msg *m = MPISNAP__MSG(l);
    if (m->source == peer && m->epoch < sid) {
      buffer_msg(m);
      mpisnap__log_message(m->comm, m->source, m->tag, m->seq, m->data,
                           m->bytes);
      n++;
    }
  }
  return n;
}

/* Channel (comm, peer) closed for sid: log every message of it that has
 * arrived and is not consumed, wherever it waits. */
static uint64_t on_log_queued(void *ctx, uint32_t in, uint64_t sid) {
  mpisnap__chan *ch = &mpisnap__g.in_chan[in];
  mpisnap__comm *c = ch->comm;
  mpisnap__queue *l;
  uint64_t n;

  (void)ctx;
  if (c == NULL)
    return 0;
  n = log_list(&c->unexp, ch->peer, sid) +
      log_list(&c->claimed, ch->peer, sid);
  mpisnap__queue_foreach(l, &c->inflight) {
    mpisnap__req *r = MPISNAP__IREQ(l);
    if (r->src == ch->peer && r->epoch < sid) {
      /* Its data is on the way into the application's buffer: let it land,
       * log it, and leave the consumption to the application's Wait. */
      if (!r->landed) {
        r->status.MPI_ERROR = PMPI_Wait(&r->real, &r->status);
        r->landed = 1;
      }
      mpisnap__log_from_user(c, r->src, r->status.MPI_TAG, r->seq, r->buf,
                             r->count, r->type, r->bytes);
      n++;
    }
  }
  return n;
}

static void on_done(void *ctx, uint64_t sid) {
  mpisnap__state *g = &mpisnap__g;
  uint32_t nin = mpisnap__engine_nin(g->engine);

  (void)ctx;
  /* Check every channel's balance against the count in its marker. */
  for (uint32_t i = 0; i < nin; i++) {
    mpisnap__chan *ch = &g->in_chan[i];
    const struct mpisnap__mkseen *mk;
    mpisnap__in_counters c;

    if (ch->comm == NULL)
      continue;
    mk = &ch->comm->mk_seen[ch->peer][sid & 1];
    if (mk->sid != sid)
      continue; /* the channel was born or retired without this marker */
    c = mpisnap__engine_in_counters(g->engine, i);
    g->channels_checked++;
    if (mk->count + c.early != c.consumed_before_record + c.logged) {
      g->unbalanced++;
      fprintf(stderr,
              "mpisnap: error: rank %d, snapshot %llu: channel from rank %d "
              "on communicator #%llu is unbalanced: sent before record %llu "
              "!= consumed %llu + logged %llu - early %llu\n",
              g->world_rank, (unsigned long long)sid, ch->peer,
              (unsigned long long)ch->comm->id, (unsigned long long)mk->count,
              (unsigned long long)c.consumed_before_record,
              (unsigned long long)c.logged, (unsigned long long)c.early);
    }
  }
  g->snapshots_done++;
  g->active_hint = 0;
  if (g->hooks != NULL)
    g->hooks->done(sid);
  mpisnap__logs_trim(sid > 1 ? sid - 1 : 0);
  mpisnap__fast_check();
}

int mpisnap__engine_setup(void) {
  static const mpisnap__engine_ops ops = {on_record, on_send_marker,
                                          on_log_queued, on_done, on_begin};

  mpisnap__g.engine =
      mpisnap__engine_new(MPISNAP__RECORD_IMMEDIATE, &ops, NULL);
  return mpisnap__g.engine ? MPI_SUCCESS : MPI_ERR_NO_MEM;
}

