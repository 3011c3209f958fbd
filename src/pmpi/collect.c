/* What a snapshot leaves in the layer, handed to the checkpoint runtime
 * (iface.h): the channel state logged while channels closed, each
 * channel's counters, the early messages consumed since the record, the
 * determinants, and each communicator's count of blocking collectives. */
#include <stdlib.h>

#include "pmpi/det.h"
#include "pmpi/layer.h"

void mpisnap__layer_collect_collectives(mpisnap__part *p) {
  mpisnap__queue *l;
  size_t n = 0;

  mpisnap__queue_foreach(l, &mpisnap__g.comms)
    n++;
  p->coll = calloc(n ? n : 1, sizeof(*p->coll));
  if (p->coll == NULL)
    mpisnap__fatal("out of memory recording collective counts");
  mpisnap__queue_foreach(l, &mpisnap__g.comms) {
    const mpisnap__comm *c = MPISNAP__COMM(l);
    p->coll[p->ncoll].comm_key = c->key;
    p->coll[p->ncoll].count = c->collectives;
    p->ncoll++;
  }
}

/* ---- early messages, remembered until their snapshot is done ---- */

typedef struct early_rec {
  uint64_t sid;
  mpisnap__early e;
} early_rec;

static early_rec *early;
static size_t nearly, capearly;

/* The application consumed a message its sender sent after recording
 * snapshot `epoch` before this rank recorded it: at a restart from that
 * snapshot, the sender must not send it again.  Only a rank with a
 * runtime can be restarted, so only such a rank remembers. */
void mpisnap__note_early(mpisnap__comm *c, int src, uint64_t epoch,
                    uint64_t index) {
  if (mpisnap__g.hooks == NULL)
    return;
  MPISNAP__GROW(early, nearly, capearly, "recording an early message");
  early[nearly].sid = epoch;
  early[nearly].e.comm_key = c->key;
  early[nearly].e.src = src;
  early[nearly].e.dst = c->rank;
  early[nearly].e.index = index;
  nearly++;
}

static void take_early(mpisnap__part *p, uint64_t sid) {
  size_t n = 0, keep = 0;

  for (size_t i = 0; i < nearly; i++)
    n += early[i].sid == sid;
  p->early = calloc(n ? n : 1, sizeof(*p->early));
  if (p->early == NULL)
    mpisnap__fatal("out of memory collecting early messages");
  for (size_t i = 0; i < nearly; i++) {
    if (early[i].sid == sid)
      p->early[p->nearly++] = early[i].e;
    else if (early[i].sid > sid)
      early[keep++] = early[i];
  }
  nearly = keep;
}

/* ---- counters ---- */

static void take_counters(mpisnap__part *p) {
  mpisnap__state *g = &mpisnap__g;
  uint32_t nin = mpisnap__engine_nin(g->engine);
  uint32_t nout = mpisnap__engine_nout(g->engine);

  p->counts = calloc((size_t)nin + nout + 1, sizeof(*p->counts));
  if (p->counts == NULL)
    mpisnap__fatal("out of memory collecting channel counters");
  for (uint32_t i = 0; i < nin; i++) {
    mpisnap__chan *ch = &g->in_chan[i];
    mpisnap__in_counters c;
    mpisnap__chancount *o;
    if (ch->comm == NULL)
      continue;
    c = mpisnap__engine_in_counters(g->engine, i);
    o = &p->counts[p->ncounts++];
    o->comm_key = ch->comm->key;
    o->peer = ch->peer;
    o->dir = 0;
    o->consumed_before_record = c.consumed_before_record;
    o->logged = c.logged;
    o->early = c.early;
  }
  for (uint32_t i = 0; i < nout; i++) {
    mpisnap__chan *ch = &g->out_chan[i];
    mpisnap__chancount *o;
    if (ch->comm == NULL)
      continue;
    o = &p->counts[p->ncounts++];
    o->comm_key = ch->comm->key;
    o->peer = ch->peer;
    o->dir = 1;
    o->sent_before_record = mpisnap__engine_sent_before_record(g->engine, i);
  }
}

static int cmp_msg(const void *a, const void *b) {
  const mpisnap__chanmsg *x = a, *y = b;

  if (x->comm_key != y->comm_key)
    return x->comm_key < y->comm_key ? -1 : 1;
  if (x->src != y->src)
    return x->src < y->src ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void mpisnap__layer_collect(uint64_t sid, mpisnap__part *p) {
  mpisnap__log_collect(sid, &p->msgs, &p->nmsgs);
  /* Channel order, so a restart re-delivers each channel's messages in
   * the order they were sent. */
  if (p->nmsgs > 1)
    qsort(p->msgs, p->nmsgs, sizeof(*p->msgs), cmp_msg);
  take_counters(p);
  take_early(p, sid);
  mpisnap__det_take(sid, p);
}
