/* Request and message handles, independent of how the MPI implementation
 * represents them (Open MPI: pointers; MPICH and its family: integers).
 *
 * Requests.  The application holds real MPI requests (collectives, RMA,
 * I/O, generalized, and on the fast path the layer's sends and receives)
 * beside the layer's own, and every completion call must tell the two
 * apart.  The handle of a layer request is therefore a real MPI request:
 * a persistent receive that is made (PMPI_Recv_init on a private duplicate
 * of MPI_COMM_SELF) and never started.  It is live for as long as the
 * layer request exists, so no request MPI returns meanwhile can have the
 * same value, on any implementation (MPI identifies a request by its
 * handle's value, so two live requests never share one), and it is never
 * MPI_REQUEST_NULL.  A hash map from handle values to the layer's objects
 * tells the layer's handles from MPI's: one probe, as when the handles
 * were the objects' addresses.  A freed request keeps its handle in the
 * spare list, so a stream of nonblocking calls makes no MPI call for it.
 *
 * Messages.  The application never holds a real MPI_Message: every
 * matched probe on an intercepted communicator is the layer's (fast.c,
 * recv.c).  So message handles are virtual: a nonzero counter stored in
 * the handle's bytes, never equal to MPI_MESSAGE_NULL or
 * MPI_MESSAGE_NO_PROC, nor to a handle still held. */
#include <stdlib.h>
#include <string.h>

#include "pmpi/layer.h"

/* Handles are compared and copied as values of at most 8 bytes (MPI: a
 * handle is a C type with assignment and equality; in practice an integer
 * or a pointer). */
_Static_assert(sizeof(MPI_Request) <= sizeof(uint64_t) &&
                   sizeof(MPI_Message) <= sizeof(uint64_t),
               "mpisnap keys MPI handles by their value in 8 bytes");

static uint64_t req_key(MPI_Request h) {
  uint64_t k = 0;
  memcpy(&k, &h, sizeof(h));
  return k;
}

static uint64_t msg_key(MPI_Message h) {
  uint64_t k = 0;
  memcpy(&k, &h, sizeof(h));
  return k;
}

/* Open addressing, linear probing; a slot is empty when obj is NULL, so
 * every key value, 0 included, can be stored. */
typedef struct hmap {
  struct slot {
    uint64_t key;
    void *obj;
  } *slot;
  size_t cap, n;
} hmap;

static hmap reqs, msgs;

static size_t hash(uint64_t x, size_t cap) {
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 32;
  return (size_t)x & (cap - 1);
}

static int map_grow(hmap *s) {
  size_t ncap = s->cap ? s->cap * 2 : 256, i;
  struct slot *old = s->slot, *nslot = calloc(ncap, sizeof(*nslot));

  if (nslot == NULL)
    return -1;
  for (i = 0; i < s->cap; i++)
    if (old[i].obj != NULL) {
      size_t h = hash(old[i].key, ncap);
      while (nslot[h].obj != NULL)
        h = (h + 1) & (ncap - 1);
      nslot[h] = old[i];
    }
  free(old);
  s->slot = nslot;
  s->cap = ncap;
  return 0;
}

static int map_add(hmap *s, uint64_t key, void *obj) {
  size_t h;

  if ((s->n + 1) * 2 > s->cap && map_grow(s) < 0)
    return -1;
  h = hash(key, s->cap);
  while (s->slot[h].obj != NULL)
    h = (h + 1) & (s->cap - 1);
  s->slot[h].key = key;
  s->slot[h].obj = obj;
  s->n++;
  return 0;
}

static void *map_get(const hmap *s, uint64_t key) {
  size_t h;

  if (s->n == 0)
    return NULL;
  for (h = hash(key, s->cap); s->slot[h].obj != NULL; h = (h + 1) & (s->cap - 1))
    if (s->slot[h].key == key)
      return s->slot[h].obj;
  return NULL;
}

/* Backward-shift deletion: no tombstones. */
static void map_del(hmap *s, uint64_t key) {
  size_t h, j;

  if (s->n == 0)
    return;
  for (h = hash(key, s->cap); s->slot[h].obj == NULL || s->slot[h].key != key;
       h = (h + 1) & (s->cap - 1))
    if (s->slot[h].obj == NULL)
      return;
  s->slot[h].obj = NULL;
  s->n--;
  for (j = (h + 1) & (s->cap - 1); s->slot[j].obj != NULL;
       j = (j + 1) & (s->cap - 1)) {
    size_t home = hash(s->slot[j].key, s->cap);
    /* Move slot j back to the hole if its home does not lie in (h, j]. */
    if ((j > h && (home <= h || home > j)) || (j < h && home <= h && home > j)) {
      s->slot[h] = s->slot[j];
      s->slot[j].obj = NULL;
      h = j;
    }
  }
}

/* ---- requests ---- */

/* The communicator the handles' persistent receives are made on: private,
 * so that nothing the program does can involve them. */
static MPI_Comm handle_comm = MPI_COMM_NULL;

static int handle_make(MPI_Request *h) {
  if (handle_comm == MPI_COMM_NULL) {
    int rc = PMPI_Comm_dup(MPI_COMM_SELF, &handle_comm);
    if (rc != MPI_SUCCESS)
      return rc;
    PMPI_Comm_set_errhandler(handle_comm, MPI_ERRORS_RETURN);
  }
  return PMPI_Recv_init(NULL, 0, MPI_BYTE, 0, 0, handle_comm, h);
}

/* Freed requests are kept for reuse, with their handles: a stream of small
 * nonblocking messages would otherwise pay an allocation, a free and two
 * MPI calls for each. */
#define SPARE_MAX 256
static mpisnap__req *spare[SPARE_MAX];
static int nspare;

mpisnap__req *mpisnap__req_new(enum mpisnap__req_kind kind) {
  mpisnap__req *r;
  MPI_Request self;

  if (nspare > 0) {
    r = spare[--nspare];
    self = r->self;
  } else {
    if ((r = malloc(sizeof(*r))) == NULL)
      return NULL;
    if (handle_make(&self) != MPI_SUCCESS) {
      free(r);
      return NULL;
    }
  }
  memset(r, 0, sizeof(*r));
  r->self = self;
  if (map_add(&reqs, req_key(self), r) < 0) {
    PMPI_Request_free(&r->self);
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
  map_del(&reqs, req_key(r->self));
  if (nspare < SPARE_MAX) {
    spare[nspare++] = r;
  } else {
    PMPI_Request_free(&r->self);
    free(r);
  }
}

int mpisnap__req_any(void) { return reqs.n > 0; }

mpisnap__req *mpisnap__req_lookup(MPI_Request h) {
  return map_get(&reqs, req_key(h));
}

MPI_Request mpisnap__req_handle(mpisnap__req *r) { return r->self; }

/* ---- messages ---- */

static uint32_t msg_next;

mpisnap__msg *mpisnap__msg_lookup(MPI_Message h) {
  return map_get(&msgs, msg_key(h));
}

MPI_Message mpisnap__msg_handle(mpisnap__msg *m) {
  MPI_Message h;

  m->fhandle = 0;
  for (;;) {
    uint32_t v = ++msg_next;
    memset(&h, 0, sizeof(h));
    memcpy(&h, &v, sizeof(v) < sizeof(h) ? sizeof(v) : sizeof(h));
    if (v != 0 && h != MPI_MESSAGE_NULL && h != MPI_MESSAGE_NO_PROC &&
        map_get(&msgs, msg_key(h)) == NULL)
      break;
  }
  m->hval = h;
  if (map_add(&msgs, msg_key(h), m) < 0)
    mpisnap__fatal("out of memory registering a message handle");
  return h;
}

void mpisnap__msg_forget(mpisnap__msg *m) {
  map_del(&msgs, msg_key(m->hval));
  if (m->fhandle != 0)
    mpisnap__fortran_forget(m->fhandle);
  m->fhandle = 0;
}

/* MPI_Finalize: the handles' persistent requests and their communicator
 * go back to MPI (MPICH reports handles still allocated at its end). */
void mpisnap__handles_release(void) {
  for (size_t i = 0; i < reqs.cap; i++)
    if (reqs.slot[i].obj != NULL) {
      mpisnap__req *r = reqs.slot[i].obj;
      PMPI_Request_free(&r->self);
    }
  free(reqs.slot);
  reqs = (hmap){0};
  while (nspare > 0) {
    mpisnap__req *r = spare[--nspare];
    PMPI_Request_free(&r->self);
    free(r);
  }
  free(msgs.slot);
  msgs = (hmap){0};
  if (handle_comm != MPI_COMM_NULL)
    PMPI_Comm_free(&handle_comm);
}
