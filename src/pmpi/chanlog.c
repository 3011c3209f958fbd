/* The channel-state log: messages that arrived on a channel after its
 * receiver recorded and before the channel's marker (the messages in
 * flight across the cut), kept until the checkpoint runtime collects
 * them (collect.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmpi/layer.h"

/* Logged messages of the current and the previous snapshot, kept until
 * the checkpoint writer takes them.  Up to a bound (MPISNAP_LOG_MEM bytes,
 * default 256 MiB) they stay in memory; beyond it they are spilled to an
 * anonymous temporary file, never dropped. */
typedef struct logrec {
  mpisnap__queue q;
  uint64_t sid;
  /* The communicator by key and this rank in it, not by pointer: it may
   * be freed before its snapshot is collected. */
  uint64_t comm_key;
  int dst;
  int source, tag;
  uint64_t seq;
  MPI_Count bytes;
  long spill_off;  /* offset in the spill file, or -1 when in memory */
  unsigned char data[];
} logrec;

#define LOGREC(link) mpisnap__queue_data(link, logrec, q)

static mpisnap__queue logs = {&logs, &logs}; /* oldest first */
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
  l->sid = mpisnap__engine_sid(mpisnap__g.engine);
  l->comm_key = c->key;
  l->dst = c->rank;
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
  mpisnap__queue_insert_tail(&logs, &l->q);
  return 0;
}

/* Drop logs of snapshots before keep_from. */
void mpisnap__logs_trim(uint64_t keep_from) {
  while (!mpisnap__queue_empty(&logs)) {
    logrec *l = LOGREC(mpisnap__queue_first(&logs));
    if (l->sid >= keep_from)
      break;
    mpisnap__queue_remove(&l->q);
    if (l->spill_off < 0)
      log_mem -= (uint64_t)l->bytes;
    free(l);
  }
  if (mpisnap__queue_empty(&logs)) {
    if (spill != NULL) {
      fclose(spill);
      spill = NULL;
    }
  }
}

void mpisnap__snapshot_logs_free(void) {
  mpisnap__logs_trim(UINT64_MAX);
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
  mpisnap__queue *q;
  size_t cnt = 0;

  mpisnap__queue_foreach(q, &logs)
    cnt += LOGREC(q)->sid == sid;
  *out = calloc(cnt ? cnt : 1, sizeof(**out));
  *n = 0;
  if (*out == NULL)
    mpisnap__fatal("out of memory collecting channel state");
  mpisnap__queue_foreach(q, &logs) {
    logrec *l = LOGREC(q);
    mpisnap__chanmsg *m;
    const void *data;
    if (l->sid != sid)
      continue;
    m = &(*out)[(*n)++];
    m->comm_key = l->comm_key;
    m->src = l->source;
    m->dst = l->dst;
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
  mpisnap__queue *q;
  int n = 0;

  mpisnap__queue_foreach(q, &logs) {
    logrec *l = LOGREC(q);
    if (l->sid == sid && l->comm_key == c->key && l->source == source) {
      if (n == idx) {
        *data = log_data(l);
        *bytes = l->bytes;
        *tag = l->tag;
      }
      n++;
    }
  }
  return n;
}

/* Log a message that MPI_Mrecv just placed in the application's buffer:
 * pack enough elements to cover it and keep its first `bytes` bytes (the
 * packed form of a partial last element is a prefix of a whole one). */
void mpisnap__log_from_user(mpisnap__comm *c, int source, int tag, uint64_t seq,
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

