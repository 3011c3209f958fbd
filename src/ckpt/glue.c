/* Where the checkpoint runtime meets the interception layer: collecting a
 * snapshot's channel state, counters and early messages into the rank's
 * part, and (on restart) feeding logged messages back into channels and
 * suppressing early messages at their senders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "pmpi/replay.h"

void mpisnap__ck_collectives(mpisnap__part *p) {
  size_t n = 0;

  for (mpisnap__comm *c = mpisnap__g.comms; c != NULL; c = c->next)
    n++;
  p->coll = calloc(n ? n : 1, sizeof(*p->coll));
  if (p->coll == NULL)
    mpisnap__fatal("out of memory recording collective counts");
  for (mpisnap__comm *c = mpisnap__g.comms; c != NULL; c = c->next) {
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

void mpisnap__ck_early(mpisnap__comm *c, int src, uint64_t epoch,
                       uint64_t index) {
  if (!mpisnap__c.on)
    return;
  if (nearly == capearly) {
    size_t ncap = capearly ? capearly * 2 : 64;
    early_rec *p = realloc(early, ncap * sizeof(*p));
    if (p == NULL)
      mpisnap__fatal("out of memory recording an early message");
    early = p;
    capearly = ncap;
  }
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

void mpisnap__ck_channels(mpisnap__part *p, uint64_t sid) {
  mpisnap__log_collect(sid, &p->msgs, &p->nmsgs);
  /* Channel order, so a restart re-delivers each channel's messages in
   * the order they were sent. */
  if (p->nmsgs > 1)
    qsort(p->msgs, p->nmsgs, sizeof(*p->msgs), cmp_msg);
  take_counters(p);
  take_early(p, sid);
  mpisnap__det_take(sid, p);
}

/* Independent mode: application collectives may straddle the cut; a
 * checkpoint whose ranks disagree on a communicator's collective count
 * would restart into mismatched collectives, so it is refused. */
int mpisnap__ck_check_collectives(const char *dir, char *err, size_t errlen) {
  mpisnap__collcount *first = NULL;
  size_t nfirst = 0;
  int rc = 0;

  if (mpisnap__c.mode != MPISNAP_INDEPENDENT)
    return 0;
  for (int r = 0; r < mpisnap__g.world_size && rc == 0; r++) {
    char path[2300], e[512];
    mpisnap__part p;
    mpisnap__rank_filename(path, sizeof(path), dir, r);
    if (mpisnap__part_read_collectives(path, &p, e, sizeof(e)) != 0) {
      snprintf(err, errlen, "%s", e);
      rc = -1;
      break;
    }
    if (r == 0) {
      first = p.coll;
      nfirst = p.ncoll;
      p.coll = NULL;
      p.ncoll = 0;
    } else {
      for (size_t i = 0; i < p.ncoll && rc == 0; i++)
        for (size_t j = 0; j < nfirst; j++)
          if (first[j].comm_key == p.coll[i].comm_key &&
              first[j].count != p.coll[i].count) {
            snprintf(err, errlen,
                     "ranks 0 and %d disagree on the number of collectives "
                     "called on a communicator before the cut (%llu vs "
                     "%llu): a collective straddles the checkpoint",
                     r, (unsigned long long)first[j].count,
                     (unsigned long long)p.coll[i].count);
            rc = -1;
            break;
          }
    }
    mpisnap__part_clear(&p);
  }
  free(first);
  return rc;
}

/* ---- restart: suppression at senders ---- */

int mpisnap__ck_suppress(mpisnap__comm *c, int dest) {
  uint64_t idx;

  if (c->supp == NULL || c->supp_next[dest] >= c->supp_n[dest])
    return 0;
  idx = c->sends[dest]++;
  if (c->supp[dest][c->supp_next[dest]] != idx)
    return 0;
  c->supp_next[dest]++;
  return 1;
}

/* Basic MPI datatypes are stored as the matching HDF5 native type. */
int mpisnap__ck_elem_of(MPI_Datatype t, char *sig, size_t siglen) {
  sig[0] = '\0';
  if (t == MPI_CHAR) return MPISNAP__ELEM_CHAR;
  if (t == MPI_SIGNED_CHAR) return MPISNAP__ELEM_SCHAR;
  if (t == MPI_UNSIGNED_CHAR || t == MPI_BYTE) return MPISNAP__ELEM_UCHAR;
  if (t == MPI_SHORT) return MPISNAP__ELEM_SHORT;
  if (t == MPI_UNSIGNED_SHORT) return MPISNAP__ELEM_USHORT;
  if (t == MPI_INT) return MPISNAP__ELEM_INT;
  if (t == MPI_UNSIGNED) return MPISNAP__ELEM_UINT;
  if (t == MPI_LONG) return MPISNAP__ELEM_LONG;
  if (t == MPI_UNSIGNED_LONG) return MPISNAP__ELEM_ULONG;
  if (t == MPI_LONG_LONG || t == MPI_LONG_LONG_INT) return MPISNAP__ELEM_LLONG;
  if (t == MPI_UNSIGNED_LONG_LONG) return MPISNAP__ELEM_ULLONG;
  if (t == MPI_FLOAT) return MPISNAP__ELEM_FLOAT;
  if (t == MPI_DOUBLE) return MPISNAP__ELEM_DOUBLE;
  if (t == MPI_LONG_DOUBLE) return MPISNAP__ELEM_LDOUBLE;
  if (t == MPI_INT8_T) return MPISNAP__ELEM_INT8;
  if (t == MPI_UINT8_T) return MPISNAP__ELEM_UINT8;
  if (t == MPI_INT16_T) return MPISNAP__ELEM_INT16;
  if (t == MPI_UINT16_T) return MPISNAP__ELEM_UINT16;
  if (t == MPI_INT32_T) return MPISNAP__ELEM_INT32;
  if (t == MPI_UINT32_T) return MPISNAP__ELEM_UINT32;
  if (t == MPI_INT64_T) return MPISNAP__ELEM_INT64;
  if (t == MPI_UINT64_T) return MPISNAP__ELEM_UINT64;
  /* A derived datatype: stored packed, as bytes, with its signature:
   * the type's size and extent, enough to refuse a different type on
   * restore. */
  {
    MPI_Aint lb = 0, extent = 0;
    int size = 0;
    PMPI_Type_size(t, &size);
    PMPI_Type_get_extent(t, &lb, &extent);
    snprintf(sig, siglen, "derived:size=%d,extent=%ld,lb=%ld", size,
             (long)extent, (long)lb);
  }
  return MPISNAP__ELEM_BYTES;
}
