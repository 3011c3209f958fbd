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

static cli_comm *find_or_add(cli_comms *c, uint64_t key, size_t *cap)
{
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i].key == key)
      return &c->v[i];
  if (c->n == *cap) {
    size_t ncap = *cap ? 2 * *cap : 16;
    cli_comm *v = realloc(c->v, ncap * sizeof *v);
    if (v == NULL)
      return NULL;
    c->v = v;
    *cap = ncap;
  }
  cli_comm *m = &c->v[c->n++];
  memset(m, 0, sizeof *m);
  m->key = key;
  m->size = -1;
  return m;
}

/* Records that world rank r's file has counters for key, with peers up to
 * max_peer.  A rank whose counters disagree with the others on the size
 * makes the communicator unresolvable. */
static void note_rank(cli_comm *m, int max_peer)
{
  m->nhave++;
  if (m->size == -1)
    m->size = max_peer + 1;
  else if (m->size != max_peer + 1 && m->why[0] == '\0')
    snprintf(m->why, sizeof m->why,
             "the rank files disagree on its number of ranks");
}

/* Tries the members' hash against the key, allowing for duplicates. */
static void resolve(cli_comm *m, int *have, int nranks)
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
  int n = 0;
  for (int r = 0; r < nranks; r++)
    if (have[r])
      n++;
  int *w = malloc((size_t)n * sizeof *w);
  if (w == NULL) {
    snprintf(m->why, sizeof m->why, "out of memory");
    return;
  }
  n = 0;
  for (int r = 0; r < nranks; r++)
    if (have[r])
      w[n++] = r;
  uint64_t h = hash_members(w, n);
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
  size_t cap = 0;
  memset(c, 0, sizeof *c);
  c->nranks = nranks;
  for (int r = 0; r < nranks; r++) {
    if (parts[r] == NULL)
      continue;
    const mpisnap__part *p = parts[r];
    /* Each key once per rank, with the largest peer this rank has. */
    for (size_t i = 0; i < p->ncounts; i++) {
      int seen = 0, max_peer = -1;
      for (size_t k = 0; k < i && !seen; k++)
        seen = p->counts[k].comm_key == p->counts[i].comm_key;
      if (seen)
        continue;
      for (size_t k = i; k < p->ncounts; k++)
        if (p->counts[k].comm_key == p->counts[i].comm_key &&
            p->counts[k].peer > max_peer)
          max_peer = p->counts[k].peer;
      cli_comm *m = find_or_add(c, p->counts[i].comm_key, &cap);
      if (m == NULL)
        return -1;
      note_rank(m, max_peer);
    }
  }
  int *have = calloc((size_t)nranks, sizeof *have);
  if (have == NULL)
    return -1;
  for (size_t i = 0; i < c->n; i++) {
    for (int r = 0; r < nranks; r++) {
      have[r] = 0;
      for (size_t k = 0; parts[r] != NULL && k < parts[r]->ncounts; k++)
        have[r] |= parts[r]->counts[k].comm_key == c->v[i].key;
    }
    resolve(&c->v[i], have, nranks);
  }
  free(have);
  return 0;
}

void cli_comms_free(cli_comms *c)
{
  for (size_t i = 0; i < c->n; i++)
    free(c->v[i].members);
  free(c->v);
  memset(c, 0, sizeof *c);
}

const cli_comm *cli_comms_find(const cli_comms *c, uint64_t key)
{
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i].key == key)
      return &c->v[i];
  return NULL;
}

const char *cli_comm_label(const cli_comm *c, uint64_t key, char *buf,
                           size_t len)
{
  /* The first communicator of all world ranks in world order is
   * MPI_COMM_WORLD; the first of one rank alone is MPI_COMM_SELF.  Both
   * are registered before the program can create any other. */
  if (c != NULL && c->resolved && c->dup == 0 && c->size == 1)
    snprintf(buf, len, "self");
  else if (c != NULL && c->resolved && c->dup == 0 && c->size > 1)
    snprintf(buf, len, "world");
  else
    snprintf(buf, len, "0x%016llx", (unsigned long long)key);
  return buf;
}

int cli_comm_rank(const cli_comm *c, int w)
{
  for (int i = 0; c->resolved && i < c->size; i++)
    if (c->members[i] == w)
      return i;
  return -1;
}
