/* The Chandy-Lamport protocol engine; see engine.h for the contract and
 * docs/DESIGN.md for the states and events. */
#include "core/engine.h"

#include <stdlib.h>
#include <string.h>

#include "mpisnap_errno.h"

typedef struct in_chan {
  uint64_t epoch;      /* id of the last marker seen on this channel */
  uint64_t closed_sid; /* == engine sid once closed for that snapshot */
  uint64_t consumed;   /* cumulative messages consumed */
  uint64_t early_next; /* early messages of snapshot sid+1 seen during sid */
  int retired;
  mpisnap__in_counters cur;
} in_chan;

typedef struct out_chan {
  uint64_t sent; /* cumulative messages sent */
  uint64_t sent_before_record;
  int retired;
} out_chan;

struct mpisnap__engine {
  enum mpisnap__record_policy policy;
  mpisnap__engine_ops ops;
  void *ctx;
  uint64_t sid; /* current snapshot, or the last one when IDLE/DONE */
  enum mpisnap__phase phase;
  int next_known; /* a marker of sid+1 arrived before DONE with sid */
  uint64_t markers_sent;
  uint32_t nclosed;
  uint32_t nretired_in;
  uint32_t nin, in_cap;
  uint32_t nout, out_cap;
  in_chan *in;
  out_chan *out;
};

mpisnap__engine *mpisnap__engine_new(enum mpisnap__record_policy policy,
                                     const mpisnap__engine_ops *ops,
                                     void *ctx) {
  mpisnap__engine *e;

  if (ops == NULL || ops->record == NULL || ops->send_marker == NULL ||
      ops->log_queued == NULL || ops->done == NULL)
    return NULL;
  e = calloc(1, sizeof(*e));
  if (e == NULL)
    return NULL;
  e->policy = policy;
  e->ops = *ops;
  e->ctx = ctx;
  e->phase = MPISNAP__IDLE;
  return e;
}

void mpisnap__engine_free(mpisnap__engine *e) {
  if (e == NULL)
    return;
  free(e->in);
  free(e->out);
  free(e);
}

static int is_active(const mpisnap__engine *e) {
  return e->phase == MPISNAP__PENDING || e->phase == MPISNAP__RECORDED;
}

static int grow(void **arr, uint32_t *cap, uint32_t n, size_t elem) {
  uint32_t ncap;
  void *p;

  if (n < *cap)
    return 0;
  ncap = *cap ? *cap * 2 : 16;
  p = realloc(*arr, (size_t)ncap * elem);
  if (p == NULL)
    return MPISNAP_ENOMEM;
  *arr = p;
  *cap = ncap;
  return 0;
}

static void close_in(mpisnap__engine *e, uint32_t i) {
  in_chan *c = &e->in[i];

  c->closed_sid = e->sid;
  c->cur.logged += e->ops.log_queued(e->ctx, i, e->sid);
  e->nclosed++;
}

static void begin(mpisnap__engine *e, uint64_t sid);

static void check_done(mpisnap__engine *e) {
  if (e->phase != MPISNAP__RECORDED || e->nclosed < e->nin)
    return;
  e->phase = MPISNAP__DONE;
  e->ops.done(e->ctx, e->sid);
  /* A marker of the next snapshot may already have arrived; the rank
   * learned of that snapshot then, and takes part in it now. */
  if (e->next_known)
    begin(e, e->sid + 1);
}

static void do_record(mpisnap__engine *e) {
  uint32_t i;

  e->phase = MPISNAP__RECORDED;
  e->ops.record(e->ctx, e->sid);
  /* The marker send rule: a marker on every outgoing channel before any
   * further application send.  The caller's send_marker must send
   * synchronously with respect to the application's sends. */
  for (i = 0; i < e->nout; i++) {
    e->out[i].sent_before_record = e->out[i].sent;
    if (e->out[i].retired)
      continue;
    e->ops.send_marker(e->ctx, i, e->sid);
    e->markers_sent++;
  }
  for (i = 0; i < e->nin; i++) {
    e->in[i].cur.consumed_before_record = e->in[i].consumed;
    /* A channel whose marker came before the record is closed at once:
     * its state is what was queued and not yet consumed. */
    if (e->in[i].epoch >= e->sid && !e->in[i].retired)
      close_in(e, i);
  }
  check_done(e);
}

static void begin(mpisnap__engine *e, uint64_t sid) {
  uint32_t i;

  e->sid = sid;
  e->phase = MPISNAP__PENDING;
  e->next_known = 0;
  e->markers_sent = 0;
  /* Retired channels never deliver another marker: closed from the start. */
  e->nclosed = e->nretired_in;
  for (i = 0; i < e->nin; i++) {
    in_chan *c = &e->in[i];
    c->cur.consumed_before_record = 0;
    c->cur.logged = 0;
    c->cur.early = c->early_next;
    c->early_next = 0;
  }
  for (i = 0; i < e->nout; i++)
    e->out[i].sent_before_record = 0;
  if (e->ops.begin != NULL)
    e->ops.begin(e->ctx, sid);
  if (e->policy == MPISNAP__RECORD_IMMEDIATE)
    do_record(e);
}

int mpisnap__engine_add_in(mpisnap__engine *e) {
  in_chan *c;
  int rc;

  rc = grow((void **)&e->in, &e->in_cap, e->nin, sizeof(*e->in));
  if (rc < 0)
    return rc;
  c = &e->in[e->nin];
  memset(c, 0, sizeof(*c));
  /* A channel born during a snapshot takes no part in it: it counts as
   * having delivered that snapshot's marker already. */
  c->epoch = e->sid;
  if (e->phase == MPISNAP__RECORDED) {
    c->closed_sid = e->sid;
    e->nclosed++;
  }
  return (int)e->nin++;
}

int mpisnap__engine_add_in_at(mpisnap__engine *e, uint64_t sender_rec) {
  int idx, active = is_active(e);
  in_chan *c;

  /* While this rank is in snapshot s, a sender has recorded s - 1 or s
   * (or s + 1 once it is done with s); otherwise s or s + 1. */
  if (sender_rec > e->sid + 1 || sender_rec + (active ? 1 : 0) < e->sid)
    return MPISNAP_EPROTO;
  idx = mpisnap__engine_add_in(e);
  if (idx < 0)
    return idx;
  c = &e->in[idx];
  if (active && sender_rec < e->sid) {
    /* The sender will record the active snapshot later and send its
     * marker on this channel: the channel is open. */
    c->epoch = sender_rec;
    if (e->phase == MPISNAP__RECORDED) {
      c->closed_sid = 0;
      e->nclosed--;
    }
  }
  if (sender_rec == e->sid + 1)
    return mpisnap__engine_marker(e, (uint32_t)idx, sender_rec) < 0
               ? MPISNAP_EPROTO
               : idx;
  return idx;
}

uint64_t mpisnap__engine_recorded_sid(const mpisnap__engine *e) {
  return e->phase == MPISNAP__PENDING ? e->sid - 1 : e->sid;
}

int mpisnap__engine_retire_in(mpisnap__engine *e, uint32_t in) {
  in_chan *c;

  if (in >= e->nin || e->in[in].retired)
    return MPISNAP_EINVAL;
  c = &e->in[in];
  c->retired = 1;
  e->nretired_in++;
  if (!is_active(e))
    return 0;
  if (e->phase == MPISNAP__RECORDED) {
    if (c->closed_sid != e->sid)
      close_in(e, in);
    check_done(e);
  } else {
    /* PENDING: count it closed now; the record will not close it again. */
    c->closed_sid = e->sid;
    c->cur.logged += e->ops.log_queued(e->ctx, in, e->sid);
    e->nclosed++;
  }
  return 0;
}

int mpisnap__engine_retire_out(mpisnap__engine *e, uint32_t out) {
  if (out >= e->nout || e->out[out].retired)
    return MPISNAP_EINVAL;
  e->out[out].retired = 1;
  return 0;
}

int mpisnap__engine_add_out(mpisnap__engine *e) {
  int rc;

  rc = grow((void **)&e->out, &e->out_cap, e->nout, sizeof(*e->out));
  if (rc < 0)
    return rc;
  memset(&e->out[e->nout], 0, sizeof(*e->out));
  return (int)e->nout++;
}

int mpisnap__engine_set_policy(mpisnap__engine *e,
                               enum mpisnap__record_policy policy) {
  if (is_active(e))
    return MPISNAP_ESTATE;
  e->policy = policy;
  return 0;
}

int mpisnap__engine_set_base(mpisnap__engine *e, uint64_t last_sid) {
  uint32_t i;

  if (is_active(e))
    return MPISNAP_ESTATE;
  e->sid = last_sid;
  e->phase = MPISNAP__IDLE;
  for (i = 0; i < e->nin; i++)
    e->in[i].epoch = last_sid;
  return 0;
}

int mpisnap__engine_initiate(mpisnap__engine *e, uint64_t *sid) {
  /* Concurrent initiators of the same snapshot: joining is a no-op. */
  if (!is_active(e))
    begin(e, e->sid + 1);
  if (sid != NULL)
    *sid = e->sid;
  return 0;
}

int mpisnap__engine_point(mpisnap__engine *e) {
  if (e->phase != MPISNAP__PENDING || e->policy != MPISNAP__RECORD_SAFEPOINT)
    return 0;
  do_record(e);
  return 1;
}

int mpisnap__engine_record(mpisnap__engine *e) {
  if (e->phase != MPISNAP__PENDING)
    return MPISNAP_ESTATE;
  do_record(e);
  return 0;
}

int mpisnap__engine_sent(mpisnap__engine *e, uint32_t out) {
  if (out >= e->nout)
    return MPISNAP_EINVAL;
  e->out[out].sent++;
  return 0;
}

int mpisnap__engine_arrived(mpisnap__engine *e, uint32_t in, uint64_t *epoch) {
  if (in >= e->nin || epoch == NULL)
    return MPISNAP_EINVAL;
  *epoch = e->in[in].epoch;
  return 0;
}

int mpisnap__engine_consumed(mpisnap__engine *e, uint32_t in, uint64_t epoch) {
  in_chan *c;

  if (in >= e->nin)
    return MPISNAP_EINVAL;
  c = &e->in[in];
  if (epoch > c->epoch)
    return MPISNAP_EPROTO; /* a message from beyond the channel's markers */
  c->consumed++;
  if (epoch == e->sid + 1) {
    /* Sent after its sender recorded the next snapshot, which this rank
     * has not recorded yet: early for that snapshot. */
    c->early_next++;
    return MPISNAP__CONSUME_EARLY;
  }
  if (e->phase == MPISNAP__PENDING && epoch == e->sid) {
    c->cur.early++;
    return MPISNAP__CONSUME_EARLY;
  }
  if (e->phase == MPISNAP__RECORDED && epoch < e->sid &&
      c->closed_sid != e->sid) {
    c->cur.logged++;
    return MPISNAP__CONSUME_LOG;
  }
  return MPISNAP__CONSUME_PLAIN;
}

int mpisnap__engine_marker(mpisnap__engine *e, uint32_t in, uint64_t sid) {
  in_chan *c;

  if (in >= e->nin)
    return MPISNAP_EINVAL;
  c = &e->in[in];
  /* FIFO channels carry the markers of successive snapshots in order. */
  if (sid != c->epoch + 1)
    return MPISNAP_EPROTO;
  if (is_active(e) && sid == e->sid) {
    c->epoch = sid;
    if (e->phase == MPISNAP__RECORDED) {
      close_in(e, in);
      check_done(e);
    }
    return 0;
  }
  if (sid != e->sid + 1)
    return MPISNAP_EPROTO;
  c->epoch = sid;
  if (is_active(e))
    e->next_known = 1; /* taken up when the current snapshot is done */
  else
    begin(e, sid);
  return 0;
}

uint64_t mpisnap__engine_sid(const mpisnap__engine *e) { return e->sid; }

enum mpisnap__phase mpisnap__engine_phase(const mpisnap__engine *e) {
  return e->phase;
}

uint32_t mpisnap__engine_nin(const mpisnap__engine *e) { return e->nin; }
uint32_t mpisnap__engine_nout(const mpisnap__engine *e) { return e->nout; }

uint64_t mpisnap__engine_sent_before_record(const mpisnap__engine *e,
                                            uint32_t out) {
  return out < e->nout ? e->out[out].sent_before_record : 0;
}

mpisnap__in_counters mpisnap__engine_in_counters(const mpisnap__engine *e,
                                                 uint32_t in) {
  mpisnap__in_counters zero = {0, 0, 0};
  return in < e->nin ? e->in[in].cur : zero;
}

uint64_t mpisnap__engine_in_epoch(const mpisnap__engine *e, uint32_t in) {
  return in < e->nin ? e->in[in].epoch : 0;
}

uint64_t mpisnap__engine_markers_sent(const mpisnap__engine *e) {
  return e->markers_sent;
}

int mpisnap__engine_next_pending(const mpisnap__engine *e) {
  return e->next_known;
}
