/* Communicators: every application communicator gets three shadow
 * duplicates (one per epoch modulo 3, chan.c) and one engine channel per
 * peer in each direction.  The record is found through attribute caching
 * on the application's communicator. */
#include <stdlib.h>
#include <string.h>

#include "pmpi/layer.h"

/* Not static: the direct regime's collectives and bare point-to-point
 * calls read it inline (layer.h). */
mpisnap__commcache mpisnap__comm_cache = {MPI_COMM_NULL, NULL};

mpisnap__comm *mpisnap__comm_get(MPI_Comm app) {
  mpisnap__comm *c;
  int flag = 0;

  if ((c = mpisnap__comm_cached(app)) != NULL)
    return c;
  if (app == MPI_COMM_NULL)
    return NULL;
  if (PMPI_Comm_get_attr(app, mpisnap__g.keyval, &c, &flag) != MPI_SUCCESS ||
      !flag)
    mpisnap__fatal("a point-to-point call used a communicator that mpisnap "
                   "does not know (created before MPI_Init completed, or by "
                   "a constructor mpisnap does not intercept)");
  mpisnap__comm_cache.app = app;
  mpisnap__comm_cache.c = c;
  return c;
}

/* FNV-1a over the world ranks of a group. */
static uint64_t hash_group(MPI_Group grp, uint64_t h) {
  MPI_Group world;
  int n = 0, *in, *out;

  PMPI_Group_size(grp, &n);
  PMPI_Comm_group(MPI_COMM_WORLD, &world);
  in = malloc((size_t)(n ? n : 1) * sizeof(int));
  out = malloc((size_t)(n ? n : 1) * sizeof(int));
  if (in == NULL || out == NULL)
    mpisnap__fatal("out of memory naming a communicator");
  for (int i = 0; i < n; i++)
    in[i] = i;
  PMPI_Group_translate_ranks(grp, n, in, world, out);
  for (int i = 0; i < n; i++) {
    h ^= (uint64_t)(uint32_t)out[i] + 1;
    h *= 0x100000001b3ULL;
  }
  PMPI_Group_free(&world);
  free(in);
  free(out);
  return h;
}

/* A communicator's key: the same on every member and in every run that
 * creates its communicators in the same order (how a restart matches
 * them): its members' world ranks, and how many communicators with the
 * same members this rank created before it. */
static uint64_t comm_key(MPI_Comm app, int inter) {
  /* Per member set: how many communicators with those members this rank
   * created so far.  It grows without bound: markers find their
   * communicator by key, so two live keys must never be equal. */
  static uint64_t (*seen)[2];
  static size_t nseen, cap;
  MPI_Group grp;
  uint64_t h = 0xcbf29ce484222325ULL, ord = 0;
  size_t i;

  PMPI_Comm_group(app, &grp);
  h = hash_group(grp, h);
  PMPI_Group_free(&grp);
  if (inter) {
    /* Both sides of an intercommunicator must get the same key: combine
     * the two groups' hashes in an order that does not depend on the side. */
    uint64_t r;
    PMPI_Comm_remote_group(app, &grp);
    r = hash_group(grp, 0xcbf29ce484222325ULL);
    PMPI_Group_free(&grp);
    h = (h < r ? h : r) * 0x9e3779b97f4a7c15ULL ^ (h < r ? r : h);
  }
  for (i = 0; i < nseen; i++)
    if (seen[i][0] == h) {
      ord = ++seen[i][1];
      break;
    }
  if (i == nseen) {
    MPISNAP__GROW(seen, nseen, cap, "naming a communicator");
    seen[nseen][0] = h;
    seen[nseen][1] = 0;
    nseen++;
  }
  return h ^ (ord * 0x9e3779b97f4a7c15ULL);
}

/* Everything a communicator's record holds; partly built ones too (their
 * lists are empty, their arrays NULL). */
static void destroy(mpisnap__comm *c) {
  mpisnap__msgs_discard(&c->unexp);
  mpisnap__chan_comm_free(c);
  free(c->in_idx);
  free(c->out_idx);
  free(c->mk_seen);
  free(c->eidx);
  free(c->eidx_epoch);
  if (c->supp != NULL)
    for (int p = 0; p < c->size; p++)
      free(c->supp[p]);
  free(c->supp);
  free(c->supp_n);
  free(c->supp_next);
  free(c->sends);
  free(c);
}

/* Create the shadows and the channels of a new communicator.  Collective
 * over app: the ranks tell each other which snapshot they last recorded,
 * so both ends of every new channel agree on which marker comes next. */
int mpisnap__comm_register(MPI_Comm app) {
  mpisnap__state *g = &mpisnap__g;
  mpisnap__comm *c = calloc(1, sizeof(*c));
  mpisnap__queue *l;
  uint64_t mine, *theirs = NULL;
  int inter = 0, rc, p;

  if (c == NULL)
    return MPI_ERR_NO_MEM;
  mpisnap__queue_init(&c->posted);
  mpisnap__queue_init(&c->unexp);
  mpisnap__queue_init(&c->claimed);
  mpisnap__queue_init(&c->inflight);
  mpisnap__queue_init(&c->ahead);
  mpisnap__queue_init(&c->fastq);
  mpisnap__queue_init(&c->link);
  c->app = app;
  c->id = g->ncomms_created++;
  PMPI_Comm_test_inter(app, &inter);
  PMPI_Comm_rank(app, &c->rank);
  if (inter)
    PMPI_Comm_remote_size(app, &c->size);
  else
    PMPI_Comm_size(app, &c->size);
  if ((rc = mpisnap__chan_comm_setup(c, inter)) != MPI_SUCCESS)
    goto fail;
  c->in_idx = malloc((size_t)c->size * sizeof(int));
  c->out_idx = malloc((size_t)c->size * sizeof(int));
  c->mk_seen = calloc((size_t)c->size, sizeof(*c->mk_seen));
  c->eidx = calloc((size_t)c->size, sizeof(uint64_t));
  c->eidx_epoch = calloc((size_t)c->size, sizeof(uint64_t));
  c->key = comm_key(app, inter);
  mpisnap__queue_foreach(l, &g->comms)
    if (MPISNAP__COMM(l)->key == c->key)
      mpisnap__fatal("a new communicator's key %016llx equals that of live "
                     "communicator #%llu (a hash collision): its markers "
                     "could not be told apart", (unsigned long long)c->key,
                     (unsigned long long)MPISNAP__COMM(l)->id);
  theirs = malloc((size_t)c->size * sizeof(*theirs));
  if (!c->in_idx || !c->out_idx || !c->mk_seen || !theirs || !c->eidx ||
      !c->eidx_epoch ||
      mpisnap__grow((void **)&g->in_chan, &g->in_cap,
                    mpisnap__engine_nin(g->engine) + (size_t)c->size,
                    sizeof(*g->in_chan)) < 0 ||
      mpisnap__grow((void **)&g->out_chan, &g->out_cap,
                    mpisnap__engine_nout(g->engine) + (size_t)c->size,
                    sizeof(*g->out_chan)) < 0) {
    rc = MPI_ERR_NO_MEM;
    goto fail;
  }
  mine = mpisnap__engine_recorded_sid(g->engine);
  rc = PMPI_Allgather(&mine, 1, MPI_UINT64_T, theirs, 1, MPI_UINT64_T,
                      c->shadow);
  if (rc != MPI_SUCCESS)
    goto fail;
  /* Link the record first: adding a channel can start a snapshot whose
   * callbacks look the communicator up. */
  mpisnap__queue_insert_head(&g->comms, &c->link);
  for (p = 0; p < c->size; p++) {
    uint32_t o = mpisnap__engine_nout(g->engine);
    g->out_chan[o].comm = c;
    g->out_chan[o].peer = p;
    c->out_idx[p] = mpisnap__engine_add_out(g->engine);
  }
  for (p = 0; p < c->size; p++) {
    uint32_t i = mpisnap__engine_nin(g->engine);
    g->in_chan[i].comm = c;
    g->in_chan[i].peer = p;
    c->in_idx[p] = mpisnap__engine_add_in_at(g->engine, theirs[p]);
    if (c->in_idx[p] < 0)
      mpisnap__fatal("new communicator: rank %d reports snapshot %llu, which "
                     "contradicts this rank's snapshot %llu", p,
                     (unsigned long long)theirs[p],
                     (unsigned long long)mpisnap__engine_sid(g->engine));
  }
  free(theirs);
  mpisnap__chan_adopt(c);
  if ((rc = PMPI_Comm_set_attr(app, g->keyval, c)) != MPI_SUCCESS)
    mpisnap__fatal("cannot attach mpisnap state to a communicator (MPI "
                   "error %d)", rc);
  mpisnap__restore_comm(c);
  return MPI_SUCCESS;
fail:
  free(theirs);
  destroy(c);
  return rc;
}

static void unlink_comm(mpisnap__comm *c) {
  mpisnap__queue_remove(&c->link);
  mpisnap__g.n_coll_retired += c->collectives;
  if (mpisnap__comm_cache.c == c) {
    mpisnap__comm_cache.c = NULL;
    mpisnap__comm_cache.app = MPI_COMM_NULL;
  }
}

/* A freed communicator's channels must end in agreement: every marker a
 * peer sent on them is applied (its channel drained) before they retire. */
static int release(mpisnap__comm *c) {
  mpisnap__state *g = &mpisnap__g;
  uint64_t mine, *theirs;
  unsigned spins = 0;
  int p, rc;

  /* Every member inside MPI_Comm_free first (the layer's loop runs until
   * then); from here on no progress runs until the exchange below, so the
   * snapshot id told to the peers is the one the channels retire with. */
  if ((rc = mpisnap__gather_members(c->app)) != MPI_SUCCESS)
    return rc;
  mine = mpisnap__engine_recorded_sid(g->engine);
  theirs = malloc((size_t)c->size * sizeof(*theirs));
  if (theirs == NULL)
    return MPI_ERR_NO_MEM;
  /* Receives MPI still holds on its shadows go back to the layer. */
  if (!mpisnap__queue_empty(&c->fastq))
    mpisnap__go_slow();
  /* No marker may follow the count we tell the peers: retire the outgoing
   * channels before anything can record again. */
  for (p = 0; p < c->size; p++) {
    mpisnap__engine_retire_out(g->engine, (uint32_t)c->out_idx[p]);
    g->out_chan[c->out_idx[p]].comm = NULL;
  }
  rc = PMPI_Allgather(&mine, 1, MPI_UINT64_T, theirs, 1, MPI_UINT64_T,
                      c->shadow);
  if (rc != MPI_SUCCESS) {
    free(theirs);
    return rc;
  }
  for (p = 0; p < c->size; p++)
    while (mpisnap__engine_in_epoch(g->engine, (uint32_t)c->in_idx[p]) <
           theirs[p]) {
      mpisnap__progress();
      mpisnap__wait_backoff(&spins);
    }
  free(theirs);
  for (p = 0; p < c->size; p++) {
    mpisnap__engine_retire_in(g->engine, (uint32_t)c->in_idx[p]);
    g->in_chan[c->in_idx[p]].comm = NULL;
  }
  unlink_comm(c);
  destroy(c);
  return MPI_SUCCESS;
}

void mpisnap__comm_release_all(void) {
  while (!mpisnap__queue_empty(&mpisnap__g.comms)) {
    mpisnap__comm *c = MPISNAP__COMM(mpisnap__queue_first(&mpisnap__g.comms));
    unlink_comm(c);
    destroy(c);
  }
}

int mpisnap__comm_setup(void) {
  int rc;

  rc = PMPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN,
                               &mpisnap__g.keyval, NULL);
  if (rc != MPI_SUCCESS)
    return rc;
  if ((rc = mpisnap__comm_register(MPI_COMM_WORLD)) != MPI_SUCCESS)
    return rc;
  return mpisnap__comm_register(MPI_COMM_SELF);
}

/* ---- wrappers: constructors, free, attributes ---- */

/* Every constructor: wait in the layer's loop until every member of the
 * communicator it is collective over (`over`) has called it, then call
 * PMPI, then give the new communicator its shadows (mpisnap__comm_register,
 * itself collective over the new communicator, whose members are all in
 * this wrapper by then). */
#define MPISNAP_CTOR(name, params, args, out, over)                           \
  MPISNAP_EXTERN int MPI_##name params {                                      \
    int rc_ = mpisnap__gather_members(over);                                  \
    if (rc_ != MPI_SUCCESS)                                                   \
      return rc_;                                                             \
    rc_ = PMPI_##name args;                                                   \
    if (rc_ == MPI_SUCCESS && mpisnap__g.initialized && *(out) != MPI_COMM_NULL) \
      rc_ = mpisnap__comm_register(*(out));                                   \
    return rc_;                                                               \
  }

MPISNAP_CTOR(Comm_dup, (MPI_Comm comm, MPI_Comm *newcomm), (comm, newcomm),
             newcomm, comm)
MPISNAP_CTOR(Comm_dup_with_info, (MPI_Comm comm, MPI_Info info, MPI_Comm *newcomm),
             (comm, info, newcomm), newcomm, comm)
MPISNAP_CTOR(Comm_split, (MPI_Comm comm, int color, int key, MPI_Comm *newcomm),
             (comm, color, key, newcomm), newcomm, comm)
MPISNAP_CTOR(Comm_split_type,
             (MPI_Comm comm, int type, int key, MPI_Info info, MPI_Comm *newcomm),
             (comm, type, key, info, newcomm), newcomm, comm)
MPISNAP_CTOR(Comm_create, (MPI_Comm comm, MPI_Group group, MPI_Comm *newcomm),
             (comm, group, newcomm), newcomm, comm)
MPISNAP_CTOR(Comm_create_group,
             (MPI_Comm comm, MPI_Group group, int tag, MPI_Comm *newcomm),
             (comm, group, tag, newcomm), newcomm, MPI_COMM_NULL)
MPISNAP_CTOR(Cart_create,
             (MPI_Comm old, int ndims, const int dims[], const int periods[],
              int reorder, MPI_Comm *cart),
             (old, ndims, dims, periods, reorder, cart), cart, old)
MPISNAP_CTOR(Cart_sub, (MPI_Comm comm, const int remain[], MPI_Comm *newcomm),
             (comm, remain, newcomm), newcomm, comm)
MPISNAP_CTOR(Graph_create,
             (MPI_Comm old, int nnodes, const int index[], const int edges[],
              int reorder, MPI_Comm *graph),
             (old, nnodes, index, edges, reorder, graph), graph, old)
MPISNAP_CTOR(Dist_graph_create,
             (MPI_Comm old, int n, const int sources[], const int degrees[],
              const int dests[], const int weights[], MPI_Info info,
              int reorder, MPI_Comm *graph),
             (old, n, sources, degrees, dests, weights, info, reorder, graph),
             graph, old)
MPISNAP_CTOR(Dist_graph_create_adjacent,
             (MPI_Comm old, int indeg, const int sources[], const int sw[],
              int outdeg, const int dests[], const int dw[], MPI_Info info,
              int reorder, MPI_Comm *graph),
             (old, indeg, sources, sw, outdeg, dests, dw, info, reorder, graph),
             graph, old)
MPISNAP_CTOR(Intercomm_create,
             (MPI_Comm local, int lleader, MPI_Comm peer, int rleader, int tag,
              MPI_Comm *newcomm),
             (local, lleader, peer, rleader, tag, newcomm), newcomm, local)
MPISNAP_CTOR(Intercomm_merge, (MPI_Comm inter, int high, MPI_Comm *newcomm),
             (inter, high, newcomm), newcomm, inter)

/* MPI_Comm_idup: the shadows must exist before the new communicator can be
 * used, so the duplication completes at once; the request returned is an
 * already-complete generalized request. */
static int idup_query(void *s, MPI_Status *st) {
  (void)s;
  PMPI_Status_set_elements(st, MPI_BYTE, 0);
  PMPI_Status_set_cancelled(st, 0);
  st->MPI_SOURCE = MPI_UNDEFINED;
  st->MPI_TAG = MPI_UNDEFINED;
  return MPI_SUCCESS;
}
static int idup_free(void *s) { (void)s; return MPI_SUCCESS; }
static int idup_cancel(void *s, int done) { (void)s; (void)done; return MPI_SUCCESS; }

MPISNAP_EXTERN int MPI_Comm_idup(MPI_Comm comm, MPI_Comm *newcomm,
                                 MPI_Request *request) {
  int rc = MPI_Comm_dup(comm, newcomm);

  if (rc != MPI_SUCCESS)
    return rc;
  rc = PMPI_Grequest_start(idup_query, idup_free, idup_cancel, NULL, request);
  if (rc == MPI_SUCCESS)
    rc = PMPI_Grequest_complete(*request);
  return rc;
}

MPISNAP_EXTERN int MPI_Comm_free(MPI_Comm *comm) {
  if (mpisnap__g.initialized && !mpisnap__g.finalized && comm != NULL &&
      *comm != MPI_COMM_NULL && *comm != MPI_COMM_WORLD &&
      *comm != MPI_COMM_SELF) {
    int rc = release(mpisnap__comm_get(*comm));
    if (rc != MPI_SUCCESS)
      return rc;
  }
  return PMPI_Comm_free(comm);
}

MPISNAP_EXTERN int MPI_Comm_disconnect(MPI_Comm *comm) {
  if (mpisnap__g.initialized && comm != NULL && *comm != MPI_COMM_NULL) {
    int rc = release(mpisnap__comm_get(*comm));
    if (rc != MPI_SUCCESS)
      return rc;
  }
  return PMPI_Comm_disconnect(comm);
}

/* Dynamic processes would need channels to ranks outside the job.  The
 * stubs ignore their arguments on purpose. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define MPISNAP_UNSUPPORTED(name, params)                                     \
  MPISNAP_EXTERN int MPI_##name params {                                      \
    mpisnap__fatal("MPI_" #name " is not supported by mpisnap (dynamic "      \
                   "processes have no checkpointable channels)");             \
  }

MPISNAP_UNSUPPORTED(Comm_spawn,
                    (const char *cmd, char *argv[], int maxprocs, MPI_Info info,
                     int root, MPI_Comm comm, MPI_Comm *inter, int errs[]))
MPISNAP_UNSUPPORTED(Comm_spawn_multiple,
                    (int count, char *cmds[], char **argv[], const int maxprocs[],
                     const MPI_Info infos[], int root, MPI_Comm comm,
                     MPI_Comm *inter, int errs[]))
MPISNAP_UNSUPPORTED(Comm_accept, (const char *port, MPI_Info info, int root,
                                  MPI_Comm comm, MPI_Comm *newcomm))
MPISNAP_UNSUPPORTED(Comm_connect, (const char *port, MPI_Info info, int root,
                                   MPI_Comm comm, MPI_Comm *newcomm))
MPISNAP_UNSUPPORTED(Comm_join, (int fd, MPI_Comm *inter))
