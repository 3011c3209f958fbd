/* Which world ranks make up each communicator of a checkpoint.
 *
 * The rank files name a channel by its communicator's key and the peer's
 * rank in that communicator, but they do not say which world rank holds
 * which rank of the communicator.  The key does, indirectly: the
 * interception layer (comm_key() in src/pmpi/comm.c) computes it as an
 * FNV-1a hash of the members' world ranks in communicator order, XORed
 * with a multiple of a constant that counts earlier communicators with the
 * same members.  So when the world ranks whose files mention a key, in
 * increasing order, hash to that key, they are its members in that order
 * (short of a 64-bit hash collision).  MPI_COMM_WORLD, MPI_COMM_SELF,
 * their duplicates and splits that keep the world order all resolve this
 * way.  Anything else (a split that reorders ranks, an intercommunicator,
 * a communicator freed by some members before their record) is reported
 * as not checked, never guessed.  Should the library ever change how it
 * computes keys, nothing resolves except by this rule, so the checks
 * become "not checked" rather than wrong. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define DUP_STEP 0x9e3779b97f4a7c15ULL
#define MAX_DUPS 65536 /* duplicates tried when matching a key */

static uint64_t hash_members(const int *w, int n)
{
  uint64_t h = FNV_OFFSET;
  for (int i = 0; i < n; i++) {
    h ^= (uint64_t)(uint32_t)w[i] + 1;
    h *= FNV_PRIME;
  }
  return h;
}

/* --- Sorted lookups ------------------------------------------------------- */

static int cmp_count(const void *a, const void *b)
{
  const mpisnap__chancount *x = a, *y = b;
  if (x->comm_key != y->comm_key)
    return x->comm_key < y->comm_key ? -1 : 1;
  if (x->dir != y->dir)
    return x->dir - y->dir;
  return (x->peer > y->peer) - (x->peer < y->peer);
}

void cli_sort_counts(mpisnap__part *p)
{
  if (p->ncounts > 1)
    qsort(p->counts, p->ncounts, sizeof *p->counts, cmp_count);
}

const mpisnap__chancount *cli_counters(const mpisnap__part *p, uint64_t key,
                                       int peer, int dir)
{
  mpisnap__chancount want = {.comm_key = key, .peer = peer, .dir = dir};
  return bsearch(&want, p->counts, p->ncounts, sizeof *p->counts, cmp_count);
}

static int cmp_tally(const void *a, const void *b)
{
  const cli_tally *x = a, *y = b;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return (x->src > y->src) - (x->src < y->src);
}

int cli_tally_build(const mpisnap__part *p, int early, cli_tallies *t)
{
  size_t n = early ? p->nearly : p->nmsgs;
  t->v = malloc((n ? n : 1) * sizeof *t->v);
  t->n = 0;
  if (t->v == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    t->v[i] = early ? (cli_tally){p->early[i].comm_key, p->early[i].src, 1, 0}
                    : (cli_tally){p->msgs[i].comm_key, p->msgs[i].src, 1,
                                  p->msgs[i].bytes};
  if (n > 1)
    qsort(t->v, n, sizeof *t->v, cmp_tally);
  /* Adds up runs of the same channel. */
  for (size_t i = 0; i < n; i++) {
    if (t->n > 0 && cmp_tally(&t->v[t->n - 1], &t->v[i]) == 0) {
      t->v[t->n - 1].n++;
      t->v[t->n - 1].bytes += t->v[i].bytes;
    } else {
      t->v[t->n++] = t->v[i];
    }
  }
  return 0;
}

cli_tally cli_tally_get(const cli_tallies *t, uint64_t key, int src)
{
  cli_tally want = {key, src, 0, 0};
  const cli_tally *hit = bsearch(&want, t->v, t->n, sizeof *t->v, cmp_tally);
  return hit != NULL ? *hit : want;
}

/* --- Members -------------------------------------------------------------- */

/* One communicator seen by one rank: the largest peer it has counters
 * for. */
typedef struct sighting {
  cli_seen at;
  int max_peer;
} sighting;

int cli_cmp_seen(const void *a, const void *b)
{
  const cli_seen *x = a, *y = b;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->rank - y->rank;
}

/* Given the ranks that have the key, in increasing order, finds whether
 * they hash to it, allowing for duplicates. */
static void resolve(cli_comm *m, const sighting *s)
{
  if (m->why[0] != '\0')
    return;
  if (m->nhave != m->size) {
    snprintf(m->why, sizeof m->why,
             "%d rank files have counters for its %d ranks (an "
             "intercommunicator, or freed by some ranks before their record)",
             m->nhave, m->size);
    return;
  }
  int *w = malloc((size_t)m->nhave * sizeof *w);
  if (w == NULL) {
    snprintf(m->why, sizeof m->why, "out of memory");
    return;
  }
  for (int i = 0; i < m->nhave; i++)
    w[i] = s[i].at.rank;
  uint64_t h = hash_members(w, m->nhave);
  for (uint64_t d = 0; d < MAX_DUPS; d++)
    if ((h ^ (d * DUP_STEP)) == m->key) {
      m->members = w;
      m->resolved = 1;
      m->dup = d;
      return;
    }
  free(w);
  snprintf(m->why, sizeof m->why,
           "its rank order is not the world order (a split that reorders "
           "ranks?), so its ranks cannot be matched to rank files");
}

int cli_comms_build(cli_comms *c, mpisnap__part *const *parts, int nranks)
{
  size_t ns = 0, total = 0;
  memset(c, 0, sizeof *c);
  c->nranks = nranks;
  for (int r = 0; r < nranks; r++)
    total += parts[r] != NULL ? parts[r]->ncounts : 0;
  sighting *s = malloc((total ? total : 1) * sizeof *s);
  c->v = calloc(total ? total : 1, sizeof *c->v);
  if (s == NULL || c->v == NULL) {
    free(s);
    return -1;
  }
  /* The counters are sorted by key: one sighting per run of a key. */
  for (int r = 0; r < nranks; r++) {
    const mpisnap__part *p = parts[r];
    for (size_t i = 0; p != NULL && i < p->ncounts; i++) {
      const mpisnap__chancount *k = &p->counts[i];
      if (ns > 0 && s[ns - 1].at.rank == r &&
          s[ns - 1].at.key == k->comm_key) {
        if (k->peer > s[ns - 1].max_peer)
          s[ns - 1].max_peer = k->peer;
        continue;
      }
      s[ns++] = (sighting){{k->comm_key, r}, k->peer};
    }
  }
  if (ns > 1)
    qsort(s, ns, sizeof *s, cli_cmp_seen);
  for (size_t i = 0, j; i < ns; i = j) {
    cli_comm *m = &c->v[c->n++];
    m->key = s[i].at.key;
    m->size = s[i].max_peer < nranks ? s[i].max_peer + 1 : 0;
    for (j = i; j < ns && s[j].at.key == m->key; j++) {
      m->nhave++;
      /* No communicator, not even the remote group of an
       * intercommunicator, has more ranks than the job. */
      if (s[j].max_peer < 0 || s[j].max_peer >= nranks) {
        m->size = 0;
        snprintf(m->why, sizeof m->why, "rank-%06d.h5 has counters for "
                 "peer %d of it, in a job of %d ranks", s[j].at.rank,
                 s[j].max_peer, nranks);
      } else if (s[j].max_peer + 1 != m->size && m->why[0] == '\0') {
        snprintf(m->why, sizeof m->why,
                 "the rank files disagree on its number of ranks");
      }
    }
    resolve(m, &s[i]);
  }
  free(s);
  return 0;
}

void cli_comms_free(cli_comms *c)
{
  for (size_t i = 0; i < c->n; i++)
    free(c->v[i].members);
  free(c->v);
  memset(c, 0, sizeof *c);
}

static int cmp_comm(const void *a, const void *b)
{
  const cli_comm *x = a, *y = b;
  return (x->key > y->key) - (x->key < y->key);
}

const cli_comm *cli_comms_find(const cli_comms *c, uint64_t key)
{
  cli_comm want = {.key = key};
  return bsearch(&want, c->v, c->n, sizeof *c->v, cmp_comm);
}

const char *cli_comm_label(int nranks, int rank, uint64_t key, char *buf,
                           size_t len)
{
  /* The layer registers MPI_COMM_WORLD and then MPI_COMM_SELF before the
   * program can create any communicator, so MPI_COMM_WORLD is the first
   * communicator of all ranks in world order and MPI_COMM_SELF the first of
   * the rank alone (the second, in a job of one rank). */
  static int cached_n = -1;
  static uint64_t world_key;
  if (nranks != cached_n) {
    world_key = FNV_OFFSET;
    for (int i = 0; i < nranks; i++) {
      world_key ^= (uint64_t)(uint32_t)i + 1;
      world_key *= FNV_PRIME;
    }
    cached_n = nranks;
  }
  int world = nranks > 0 && key == world_key;
  uint64_t self_dup = nranks == 1 ? DUP_STEP : 0;
  if (world)
    snprintf(buf, len, "world");
  else if (rank >= 0 && (hash_members(&rank, 1) ^ self_dup) == key)
    snprintf(buf, len, "self");
  else
    snprintf(buf, len, "0x%016llx", (unsigned long long)key);
  return buf;
}

int cli_comm_rank(const cli_comm *c, int w)
{
  /* A resolved communicator's members are in increasing order. */
  int lo = 0, hi = c->resolved ? c->size : 0;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (c->members[mid] < w)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < (c->resolved ? c->size : 0) && c->members[lo] == w ? lo : -1;
}
