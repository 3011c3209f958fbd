/* Request and message handles.  The layer's own requests and messages are
 * handed to the application as their addresses; a small open-addressing
 * set of those addresses tells them apart from real MPI requests
 * (collectives, RMA, I/O, generalized), which pass through to PMPI. */
#include <stdlib.h>
#include <string.h>

#include "pmpi/layer.h"

_Static_assert(sizeof(MPI_Request) == sizeof(void *) &&
                   sizeof(MPI_Message) == sizeof(void *),
               "mpisnap hands out object addresses as MPI handles");

typedef struct ptrset {
  uintptr_t *slot; /* 0: empty */
  size_t cap, n;
} ptrset;

static ptrset reqs, msgs;

static size_t hash(uintptr_t p, size_t cap) {
  uint64_t x = (uint64_t)p;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 32;
  return (size_t)x & (cap - 1);
}

static int set_grow(ptrset *s) {
  size_t ncap = s->cap ? s->cap * 2 : 256, i;
  uintptr_t *old = s->slot, *nslot = calloc(ncap, sizeof(*nslot));

  if (nslot == NULL)
    return -1;
  for (i = 0; i < s->cap; i++)
    if (old[i] != 0) {
      size_t h = hash(old[i], ncap);
      while (nslot[h] != 0)
        h = (h + 1) & (ncap - 1);
      nslot[h] = old[i];
    }
  free(old);
  s->slot = nslot;
  s->cap = ncap;
  return 0;
}

static int set_add(ptrset *s, uintptr_t p) {
  size_t h;

  if ((s->n + 1) * 2 > s->cap && set_grow(s) < 0)
    return -1;
  h = hash(p, s->cap);
  while (s->slot[h] != 0)
    h = (h + 1) & (s->cap - 1);
  s->slot[h] = p;
  s->n++;
  return 0;
}

static int set_has(const ptrset *s, uintptr_t p) {
  size_t h;

  if (s->cap == 0 || p == 0)
    return 0;
  for (h = hash(p, s->cap); s->slot[h] != 0; h = (h + 1) & (s->cap - 1))
    if (s->slot[h] == p)
      return 1;
  return 0;
}

/* Linear probing with backward-shift deletion: no tombstones. */
static void set_del(ptrset *s, uintptr_t p) {
  size_t h, j;

  if (s->cap == 0)
    return;
  for (h = hash(p, s->cap); s->slot[h] != p; h = (h + 1) & (s->cap - 1))
    if (s->slot[h] == 0)
      return;
  s->slot[h] = 0;
  s->n--;
  for (j = (h + 1) & (s->cap - 1); s->slot[j] != 0; j = (j + 1) & (s->cap - 1)) {
    size_t home = hash(s->slot[j], s->cap);
    /* Move slot j back to the hole if its home does not lie in (h, j]. */
    if ((j > h && (home <= h || home > j)) || (j < h && home <= h && home > j)) {
      s->slot[h] = s->slot[j];
      s->slot[j] = 0;
      h = j;
    }
  }
}

/* Freed requests are kept for reuse: a stream of small nonblocking
 * messages would otherwise pay an allocation and a free for each. */
#define SPARE_MAX 256
static mpisnap__req *spare[SPARE_MAX];
static int nspare;

mpisnap__req *mpisnap__req_new(enum mpisnap__req_kind kind) {
  mpisnap__req *r;

  if (nspare > 0) {
    r = spare[--nspare];
    memset(r, 0, sizeof(*r));
  } else if ((r = calloc(1, sizeof(*r))) == NULL) {
    return NULL;
  }
  if (set_add(&reqs, (uintptr_t)r) < 0) {
    free(r);
    return NULL;
  }
  r->kind = kind;
  r->real = MPI_REQUEST_NULL;
  mpisnap__req_links(r);
  return r;
}

/* A request that outlives its call keeps its own reference to a derived
 * datatype: MPI lets the application free the datatype as soon as the
 * call returns, while the operation is pending (MPI 3.1, section 4.1.9),
 * and the layer still needs it to receive, unpack, log or restart the
 * operation.  Predefined datatypes are never freed. */
/* Predefined datatypes seen lately: asking MPI for the envelope on every
 * nonblocking receive cost more than the rest of the layer's bookkeeping.
 * A predefined handle is never freed, so never becomes a derived type. */
#define NAMED_SEEN 8
static MPI_Datatype named_seen[NAMED_SEEN];
static unsigned named_n; /* entries filled; then the next to replace */

int mpisnap__req_keep_type(mpisnap__req *r) {
  int ni, na, nd, combiner, rc;

  if (r->type_owned || r->type == MPI_DATATYPE_NULL)
    return MPI_SUCCESS;
  for (unsigned i = 0; i < named_n && i < NAMED_SEEN; i++)
    if (named_seen[i] == r->type)
      return MPI_SUCCESS;
  rc = PMPI_Type_get_envelope(r->type, &ni, &na, &nd, &combiner);
  if (rc != MPI_SUCCESS)
    return rc;
  if (combiner == MPI_COMBINER_NAMED) {
    named_seen[named_n++ % NAMED_SEEN] = r->type;
    if (named_n == 2 * NAMED_SEEN)
      named_n = NAMED_SEEN; /* stays "full", keeps cycling */
    return MPI_SUCCESS;
  }
  if ((rc = PMPI_Type_dup(r->type, &r->type)) != MPI_SUCCESS)
    return rc;
  r->type_owned = 1;
  return MPI_SUCCESS;
}

void mpisnap__req_free(mpisnap__req *r) {
  mpisnap__recv_disarm(r);
  if (r->type_owned) {
    PMPI_Type_free(&r->type);
    r->type_owned = 0;
  }
  set_del(&reqs, (uintptr_t)r);
  if (r->fhandle != 0)
    mpisnap__fortran_forget(r->fhandle);
  if (nspare < SPARE_MAX)
    spare[nspare++] = r;
  else
    free(r);
}

int mpisnap__req_any(void) { return reqs.n > 0; }

mpisnap__req *mpisnap__req_lookup(MPI_Request h) {
  return set_has(&reqs, (uintptr_t)h) ? (mpisnap__req *)(uintptr_t)h : NULL;
}

MPI_Request mpisnap__req_handle(mpisnap__req *r) {
  return (MPI_Request)(uintptr_t)r;
}

mpisnap__msg *mpisnap__msg_lookup(MPI_Message h) {
  return set_has(&msgs, (uintptr_t)h) ? (mpisnap__msg *)(uintptr_t)h : NULL;
}

MPI_Message mpisnap__msg_handle(mpisnap__msg *m) {
  m->fhandle = 0;
  if (set_add(&msgs, (uintptr_t)m) < 0)
    mpisnap__fatal("out of memory registering a message handle");
  return (MPI_Message)(uintptr_t)m;
}

void mpisnap__msg_forget(mpisnap__msg *m) {
  set_del(&msgs, (uintptr_t)m);
  if (m->fhandle != 0)
    mpisnap__fortran_forget(m->fhandle);
  m->fhandle = 0;
}
