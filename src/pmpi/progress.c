/* Progress: take messages and markers off the shadows in FIFO order per
 * channel, match messages to posted receives, and carry out what the
 * engine asks (markers, channel-state logging). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt/ckpt.h"
#include "pmpi/layer.h"
#include "pmpi/replay.h"

/* ---- statuses ---- */

/* A status describing `bytes` bytes from source with tag.  Its MPI_ERROR
 * is left alone: calls that complete one request never write it (MPI 3.1,
 * section 3.2.5); where the layer uses a request's status to carry the
 * completion code, it sets MPI_ERROR itself. */
void mpisnap__status_bytes(MPI_Status *st, int source, int tag,
                           MPI_Count bytes) {
  PMPI_Status_set_elements_x(st, MPI_BYTE, bytes);
  PMPI_Status_set_cancelled(st, 0);
  st->MPI_SOURCE = source;
  st->MPI_TAG = tag;
}

/* What a receive or probe from MPI_PROC_NULL gives (MPI 3.1, section
 * 3.11): source MPI_PROC_NULL, tag MPI_ANY_TAG, count 0; MPI_ERROR, as in
 * every single-completion call, untouched. */
void mpisnap__status_proc_null(MPI_Status *st) {
  if (st != MPI_STATUS_IGNORE)
    mpisnap__status_bytes(st, MPI_PROC_NULL, MPI_ANY_TAG, 0);
}

/* The empty status of MPI 3.1 section 3.7.3 (its error is MPI_SUCCESS). */
void mpisnap__status_empty(MPI_Status *st, int source, int tag) {
  mpisnap__status_bytes(st, source, tag, 0);
  st->MPI_ERROR = MPI_SUCCESS;
}

/* Give the application a request's status from a call that completes one
 * request: everything but MPI_ERROR, which such calls leave untouched. */
void mpisnap__status_out(MPI_Status *dst, const MPI_Status *src) {
  int err;

  if (dst == MPI_STATUS_IGNORE || dst == src)
    return;
  err = dst->MPI_ERROR;
  *dst = *src;
  dst->MPI_ERROR = err;
}

/* ---- channel-state log ---- */

/* Logged messages of the current and the previous snapshot, kept until
 * the checkpoint writer takes them.  Up to a bound (MPISNAP_LOG_MEM bytes,
 * default 256 MiB) they stay in memory; beyond it they are spilled to an
 * anonymous temporary file, never dropped. */
typedef struct logrec {
  struct logrec *next;
  uint64_t sid;
  mpisnap__comm *comm;
  int source, tag;
  uint64_t seq;
  MPI_Count bytes;
  long spill_off;  /* offset in the spill file, or -1 when in memory */
  unsigned char data[];
} logrec;

static logrec *log_head, *log_tail;
static uint64_t log_mem;   /* bytes held in memory */
static FILE *spill;
static void *readback;     /* last record read back from the spill file */

int mpisnap__log_message(mpisnap__comm *c, int source, int tag, uint64_t seq,
                         const void *bytes, MPI_Count len) {
  int in_mem = log_mem + (uint64_t)len <= mpisnap__g.log_mem_limit;
  logrec *l = malloc(sizeof(*l) + (in_mem ? (size_t)len : 0));

  if (l == NULL)
    mpisnap__fatal("out of memory logging %lld bytes of channel state",
                   (long long)len);
  l->next = NULL;
  l->sid = mpisnap__engine_sid(mpisnap__g.engine);
  l->comm = c;
  l->source = source;
  l->tag = tag;
  l->seq = seq;
  l->bytes = len;
  l->spill_off = -1;
  if (in_mem) {
    if (len > 0)
      memcpy(l->data, bytes, (size_t)len);
    log_mem += (uint64_t)len;
  } else {
    if (spill == NULL && (spill = tmpfile()) == NULL)
      mpisnap__fatal("cannot create a file to spill channel state: %s",
                     strerror(errno));
    if (fseek(spill, 0, SEEK_END) != 0 || (l->spill_off = ftell(spill)) < 0 ||
        (len > 0 && fwrite(bytes, 1, (size_t)len, spill) != (size_t)len))
      mpisnap__fatal("cannot spill %lld bytes of channel state: %s",
                     (long long)len, strerror(errno));
  }
  if (log_tail != NULL)
    log_tail->next = l;
  else
    log_head = l;
  log_tail = l;
  return 0;
}

/* Drop logs of snapshots before keep_from. */
static void logs_trim(uint64_t keep_from) {
  while (log_head != NULL && log_head->sid < keep_from) {
    logrec *l = log_head;
    log_head = l->next;
    if (l->spill_off < 0)
      log_mem -= (uint64_t)l->bytes;
    free(l);
  }
  if (log_head == NULL) {
    log_tail = NULL;
    if (spill != NULL) {
      fclose(spill);
      spill = NULL;
    }
  }
}

void mpisnap__snapshot_logs_free(void) {
  logs_trim(UINT64_MAX);
  free(readback);
  readback = NULL;
}

static const void *log_data(logrec *l) {
  if (l->spill_off < 0)
    return l->data;
  free(readback);
  readback = malloc(l->bytes ? (size_t)l->bytes : 1);
  if (readback == NULL || fflush(spill) != 0 ||
      fseek(spill, l->spill_off, SEEK_SET) != 0 ||
      fread(readback, 1, (size_t)l->bytes, spill) != (size_t)l->bytes)
    mpisnap__fatal("cannot read spilled channel state back");
  return readback;
}

/* Copy the channel state of snapshot sid into a new array. */
void mpisnap__log_collect(uint64_t sid, mpisnap__chanmsg **out, size_t *n) {
  size_t cnt = 0;

  for (logrec *l = log_head; l != NULL; l = l->next)
    cnt += l->sid == sid;
  *out = calloc(cnt ? cnt : 1, sizeof(**out));
  *n = 0;
  if (*out == NULL)
    mpisnap__fatal("out of memory collecting channel state");
  for (logrec *l = log_head; l != NULL; l = l->next) {
    mpisnap__chanmsg *m;
    const void *data;
    if (l->sid != sid)
      continue;
    m = &(*out)[(*n)++];
    m->comm_key = l->comm->key;
    m->src = l->source;
    m->dst = l->comm->rank;
    m->tag = l->tag;
    m->seq = l->seq;
    m->bytes = (uint64_t)l->bytes;
    data = log_data(l);
    m->data = malloc(l->bytes ? (size_t)l->bytes : 1);
    if (m->data == NULL)
      mpisnap__fatal("out of memory collecting channel state");
    if (l->bytes > 0)
      memcpy(m->data, data, (size_t)l->bytes);
  }
}

int mpisnap__log_lookup(uint64_t sid, mpisnap__comm *c, int source, int idx,
                        const void **data, MPI_Count *bytes, int *tag) {
  int n = 0;

  for (logrec *l = log_head; l != NULL; l = l->next)
    if (l->sid == sid && l->comm == c && l->source == source) {
      if (n == idx) {
        *data = log_data(l);
        *bytes = l->bytes;
        *tag = l->tag;
      }
      n++;
    }
  return n;
}

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
  mpisnap__ck_record(sid);
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

static uint64_t log_list(mpisnap__msg *m, int peer, uint64_t sid) {
  uint64_t n = 0;

  for (; m != NULL; m = m->next)
    if (m->source == peer && m->epoch < sid) {
      buffer_msg(m);
      mpisnap__log_message(m->comm, m->source, m->tag, m->seq, m->data,
                           m->bytes);
      n++;
    }
  return n;
}

static void log_from_user(mpisnap__comm *c, int source, int tag, uint64_t seq,
                          const void *buf, int count, MPI_Datatype type,
                          MPI_Count bytes);

/* Channel (comm, peer) closed for sid: log every message of it that has
 * arrived and is not consumed, wherever it waits. */
static uint64_t on_log_queued(void *ctx, uint32_t in, uint64_t sid) {
  mpisnap__chan *ch = &mpisnap__g.in_chan[in];
  mpisnap__comm *c = ch->comm;
  uint64_t n;

  (void)ctx;
  if (c == NULL)
    return 0;
  n = log_list(c->unexp, ch->peer, sid) + log_list(c->claimed, ch->peer, sid);
  for (mpisnap__req *r = c->inflight; r != NULL; r = r->inext)
    if (r->src == ch->peer && r->epoch < sid) {
      /* Its data is on the way into the application's buffer: let it land,
       * log it, and leave the consumption to the application's Wait. */
      if (!r->landed) {
        r->status.MPI_ERROR = PMPI_Wait(&r->real, &r->status);
        r->landed = 1;
      }
      log_from_user(c, r->src, r->status.MPI_TAG, r->seq, r->buf, r->count,
                    r->type, r->bytes);
      n++;
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
    uint64_t *mk;
    mpisnap__in_counters c;

    if (ch->comm == NULL)
      continue;
    mk = &ch->comm->marker_count[(size_t)ch->peer * 4 + (sid & 1) * 2];
    if (mk[0] != sid)
      continue; /* the channel was born or retired without this marker */
    c = mpisnap__engine_in_counters(g->engine, i);
    g->channels_checked++;
    if (mk[1] + c.early != c.consumed_before_record + c.logged) {
      g->unbalanced++;
      fprintf(stderr,
              "mpisnap: error: rank %d, snapshot %llu: channel from rank %d "
              "on communicator #%llu is unbalanced: sent before record %llu "
              "!= consumed %llu + logged %llu - early %llu\n",
              g->world_rank, (unsigned long long)sid, ch->peer,
              (unsigned long long)ch->comm->id, (unsigned long long)mk[1],
              (unsigned long long)c.consumed_before_record,
              (unsigned long long)c.logged, (unsigned long long)c.early);
    }
  }
  g->snapshots_done++;
  g->active_hint = 0;
  mpisnap__ck_done(sid);
  logs_trim(sid > 1 ? sid - 1 : 0);
  mpisnap__fast_check();
}

int mpisnap__engine_setup(void) {
  static const mpisnap__engine_ops ops = {on_record, on_send_marker,
                                          on_log_queued, on_done, on_begin};

  mpisnap__g.engine =
      mpisnap__engine_new(MPISNAP__RECORD_IMMEDIATE, &ops, NULL);
  return mpisnap__g.engine ? MPI_SUCCESS : MPI_ERR_NO_MEM;
}

/* ---- matching and delivery ---- */

static int matches(int want_src, int want_tag, int src, int tag) {
  return (want_src == MPI_ANY_SOURCE || want_src == src) &&
         (want_tag == MPI_ANY_TAG || want_tag == tag);
}

/* Log a message that MPI_Mrecv just placed in the application's buffer:
 * pack enough elements to cover it and keep its first `bytes` bytes (the
 * packed form of a partial last element is a prefix of a whole one). */
static void log_from_user(mpisnap__comm *c, int source, int tag, uint64_t seq,
                          const void *buf, int count, MPI_Datatype type,
                          MPI_Count bytes) {
  int size = 0, n, pos = 0;
  void *tmp;

  PMPI_Type_size(type, &size);
  n = size ? (int)((bytes + size - 1) / size) : 0;
  if (n > count)
    n = count;
  tmp = malloc((size_t)n * (size_t)size + 1);
  if (tmp == NULL)
    mpisnap__fatal("out of memory logging channel state");
  if (n > 0)
    PMPI_Pack(buf, n, type, tmp, n * size, &pos, c->shadow);
  /* A truncated message left only what fit in the buffer: that is all
   * there is to log. */
  if (bytes > (MPI_Count)n * size)
    bytes = (MPI_Count)n * size;
  mpisnap__log_message(c, source, tag, seq, tmp, bytes);
  free(tmp);
}

/* Unpack buffered message bytes into the application's buffer.  A partial
 * last element keeps the application's bytes beyond the message. */
static int unpack_to_user(mpisnap__comm *c, const void *data, MPI_Count bytes,
                          void *buf, int count, MPI_Datatype type) {
  int size = 0, n, pos = 0, rc = MPI_SUCCESS;
  void *tmp;

  PMPI_Type_size(type, &size);
  if (bytes == 0)
    return MPI_SUCCESS;
  if (size == 0 || bytes > (MPI_Count)size * count) {
    /* Too long: the buffer gets what fits, as MPI would give it. */
    if (size > 0 && count > 0)
      PMPI_Unpack(data, (int)bytes, &pos, buf, count, type, c->shadow);
    return MPI_ERR_TRUNCATE;
  }
  n = (int)((bytes + size - 1) / size);
  if ((MPI_Count)n * size == bytes)
    return PMPI_Unpack(data, (int)bytes, &pos, buf, n, type, c->shadow);
  tmp = malloc((size_t)n * (size_t)size);
  if (tmp == NULL)
    return MPI_ERR_NO_MEM;
  rc = PMPI_Pack(buf, n, type, tmp, n * size, &pos, c->shadow);
  memcpy(tmp, data, (size_t)bytes);
  pos = 0;
  if (rc == MPI_SUCCESS)
    rc = PMPI_Unpack(tmp, n * size, &pos, buf, n, type, c->shadow);
  free(tmp);
  return rc;
}

/* Consume message m into the application's buffer.  Frees m.  Returns
 * the receive's error code; status gets source, tag and count, and its
 * MPI_ERROR is not touched. */
int mpisnap__deliver(mpisnap__msg *m, void *buf, int count, MPI_Datatype type,
                     MPI_Status *status) {
  mpisnap__comm *c = m->comm;
  MPI_Status local;
  int cls, rc;

  if (status == MPI_STATUS_IGNORE)
    status = &local;
  cls = mpisnap__engine_consumed(mpisnap__g.engine,
                                 (uint32_t)c->in_idx[m->source], m->epoch);
  if (cls < 0)
    mpisnap__fatal("protocol error consuming a message from rank %d",
                   m->source);
  if (cls == MPISNAP__CONSUME_EARLY)
    mpisnap__ck_early(c, m->source, m->epoch, m->eidx);
  if (m->data == NULL) {
    /* The data moves once, from MPI into the application's buffer. */
    int err = status->MPI_ERROR;
    rc = PMPI_Mrecv(buf, count, type, &m->handle, status);
    status->MPI_ERROR = err;
    if (cls == MPISNAP__CONSUME_LOG)
      log_from_user(c, m->source, m->tag, m->seq, buf, count, type, m->bytes);
  } else {
    if (cls == MPISNAP__CONSUME_LOG)
      mpisnap__log_message(c, m->source, m->tag, m->seq, m->data, m->bytes);
    rc = unpack_to_user(c, m->data, m->bytes, buf, count, type);
    mpisnap__status_bytes(status, m->source, m->tag, m->bytes);
    free(m->data);
  }
  if (m->heap)
    free(m);
  return rc;
}

/* Messages above this size matched by a nonblocking receive move with
 * MPI_Imrecv, so several large transfers overlap as they would in MPI. */
#define MPISNAP__IMRECV_MIN 8192

static void complete_recv(mpisnap__req *r, mpisnap__msg *m) {
  mpisnap__det_set(r->det_idx, m->source, m->tag);
  if (!r->blocking && m->data == NULL && m->bytes >= MPISNAP__IMRECV_MIN) {
    /* Consumed when the application sees it complete (finish_inflight),
     * not now: a record in between must log it as channel state. */
    r->epoch = m->epoch;
    r->src = m->source;
    r->bytes = m->bytes;
    r->seq = m->seq;
    r->eidx = m->eidx;
    r->landed = 0;
    r->inext = r->comm->inflight;
    r->comm->inflight = r;
    if (PMPI_Imrecv(r->buf, r->count, r->type, &m->handle, &r->real) !=
        MPI_SUCCESS)
      mpisnap__fatal("MPI_Imrecv failed");
    if (m->heap)
      free(m);
    return;
  }
  r->status.MPI_ERROR = mpisnap__deliver(m, r->buf, r->count, r->type,
                                         &r->status);
  r->done = 1;
  r->active = 0;
  if (r->freed)
    mpisnap__req_free(r);
}

/* A receive whose MPI_Imrecv completed: now the application consumes it. */
void mpisnap__finish_inflight(mpisnap__req *r) {
  mpisnap__comm *c = r->comm;
  mpisnap__req **pp;
  int cls = mpisnap__engine_consumed(mpisnap__g.engine,
                                     (uint32_t)c->in_idx[r->src], r->epoch);

  if (cls < 0)
    mpisnap__fatal("protocol error consuming a message from rank %d", r->src);
  if (cls == MPISNAP__CONSUME_EARLY)
    mpisnap__ck_early(c, r->src, r->epoch, r->eidx);
  if (cls == MPISNAP__CONSUME_LOG)
    log_from_user(c, r->src, r->status.MPI_TAG, r->seq, r->buf, r->count,
                  r->type, r->bytes);
  for (pp = &c->inflight; *pp != NULL; pp = &(*pp)->inext)
    if (*pp == r) {
      *pp = r->inext;
      break;
    }
  r->landed = 0;
  r->real = MPI_REQUEST_NULL;
  r->done = 1;
  r->active = 0;
}

/* The application holds m through a matched probe until MPI_Mrecv. */
void mpisnap__claim(mpisnap__msg *m) {
  m->next = m->comm->claimed;
  m->comm->claimed = m;
}

void mpisnap__unclaim(mpisnap__msg *m) {
  for (mpisnap__msg **pp = &m->comm->claimed; *pp != NULL; pp = &(*pp)->next)
    if (*pp == m) {
      *pp = m->next;
      break;
    }
  m->next = NULL;
}

mpisnap__msg *mpisnap__find_unexpected(mpisnap__comm *c, int source, int tag,
                                       int remove) {
  mpisnap__msg *m, *prev = NULL;

  for (m = c->unexp; m != NULL; prev = m, m = m->next)
    if (matches(source, tag, m->source, m->tag)) {
      if (remove) {
        if (prev)
          prev->next = m->next;
        else
          c->unexp = m->next;
        if (c->unexp_tail == m)
          c->unexp_tail = prev;
        m->next = NULL;
      }
      return m;
    }
  return NULL;
}

/* Post a receive: the earliest queued match, else the posted queue. */
void mpisnap__post_recv(mpisnap__req *r) {
  mpisnap__msg *m = mpisnap__find_unexpected(r->comm, r->peer, r->tag, 1);

  r->active = 1;
  r->done = 0;
  r->next = NULL;
  if (m != NULL) {
    complete_recv(r, m);
    return;
  }
  if (r->comm->posted_tail)
    r->comm->posted_tail->next = r;
  else
    r->comm->posted = r;
  r->comm->posted_tail = r;
}

/* Remove r from its communicator's posted queue; 1 if it was there. */
int mpisnap__unpost_recv(mpisnap__req *r) {
  mpisnap__comm *c = r->comm;
  mpisnap__req *q, *prev = NULL;

  for (q = c->posted; q != NULL; prev = q, q = q->next)
    if (q == r) {
      if (prev)
        prev->next = q->next;
      else
        c->posted = q->next;
      if (c->posted_tail == q)
        c->posted_tail = prev;
      return 1;
    }
  return 0;
}

/* A message of its channel's current epoch, in its channel's order:
 * match it to a posted receive or queue it. */
void mpisnap__arrival(mpisnap__comm *c, MPI_Message h, int src, int tag,
                      MPI_Count bytes) {
  mpisnap__state *g = &mpisnap__g;
  mpisnap__req *r, *prev = NULL;
  mpisnap__msg *m;

  c->arr[src]++;
  /* A message that matches a posted receive never leaves this frame. */
  mpisnap__msg tmp = {0};
  tmp.comm = c;
  tmp.source = src;
  tmp.tag = tag;
  tmp.handle = h;
  tmp.bytes = bytes;
  tmp.seq = g->arrivals++;
  mpisnap__engine_arrived(g->engine, (uint32_t)c->in_idx[src], &tmp.epoch);
  tmp.eidx = mpisnap__epoch_index(c, src, tmp.epoch);
  for (r = c->posted; r != NULL; prev = r, r = r->next)
    if (matches(r->peer, r->tag, src, tag)) {
      if (prev)
        prev->next = r->next;
      else
        c->posted = r->next;
      if (c->posted_tail == r)
        c->posted_tail = prev;
      complete_recv(r, &tmp);
      return;
    }
  m = malloc(sizeof(*m));
  if (m == NULL)
    mpisnap__fatal("out of memory queueing a message");
  *m = tmp;
  m->heap = 1;
  if (c->unexp_tail)
    c->unexp_tail->next = m;
  else
    c->unexp = m;
  c->unexp_tail = m;
}

/* The position of a message among its channel's arrivals of the same
 * epoch: which message after its sender's record it is. */
uint64_t mpisnap__epoch_index(mpisnap__comm *c, int src, uint64_t epoch) {
  if (c->eidx_epoch[src] != epoch) {
    c->eidx_epoch[src] = epoch;
    c->eidx[src] = 0;
  }
  return c->eidx[src]++;
}

/* Take every message waiting on one communicator's shadows. */
int mpisnap__progress_comm(mpisnap__comm *c) {
  int n = 0;

  for (int q = 0; q < 3; q++)
    for (;;) {
      MPI_Message h;
      MPI_Status st;
      int flag = 0;
      PMPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->sh[q], &flag, &h, &st);
      if (!flag)
        break;
      mpisnap__shadow_arrival(c, q, h, &st);
      n++;
    }
  return n;
}

/* Markers, then the shadows: all of them while a snapshot is active here;
 * on the fast path only those of communicators where the layer matches a
 * posted receive (MPI matches the others). */
int mpisnap__progress(void) {
  mpisnap__state *g = &mpisnap__g;
  int n = mpisnap__markers_poll();

  for (mpisnap__comm *c = g->comms; c != NULL; c = c->next)
    if (!g->fast || c->posted != NULL)
      n += mpisnap__progress_comm(c);
  if (g->mk_n > 0) {
    int done = 0;
    PMPI_Testall(g->mk_n, g->mk_req, &done, MPI_STATUSES_IGNORE);
    if (done)
      g->mk_n = 0;
  }
  if (!g->fast)
    mpisnap__fast_check();
  return n;
}

/* A rank blocked in the library polls; after a while it sleeps between
 * polls so that an idle rank does not keep a core busy for mpisnap.  The
 * first 100,000 polls (several milliseconds) spin, as MPI itself would:
 * a rank waiting that long for a large transfer is not idle, and sleeping
 * would delay it by the sleep's wake-up time. */
void mpisnap__wait_backoff(unsigned *spins) {
  struct timespec ts = {0, 50000};

  if (++*spins < 20000)
    return;
  if ((*spins & 1023) == 0)
    mpisnap__ck_idle();
  if (*spins >= 100000)
    nanosleep(&ts, NULL);
}

void mpisnap__maybe_trigger(void) {
  mpisnap__state *g = &mpisnap__g;
  uint64_t x;

  if (g->trigger == 0)
    return;
  x = (g->rng += 0x9e3779b97f4a7c15ULL);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 31;
  if (x % g->trigger == 0)
    mpisnap__engine_initiate(g->engine, NULL);
}

void mpisnap__fatal(const char *fmt, ...) {
  va_list ap;

  fprintf(stderr, "mpisnap: error: rank %d: ", mpisnap__g.world_rank);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  PMPI_Abort(MPI_COMM_WORLD, 70);
  abort();
}
