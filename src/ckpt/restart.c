/* Restart: choose a committed checkpoint every rank can read, load this
 * rank's part, and put the channels back as they were: logged messages
 * re-delivered first, in order; early messages suppressed at their
 * senders.  Communicators are matched by key (creation order). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"

/* Try checkpoint id on every rank; 1 if every rank read its part. */
static int try_load(uint64_t id, int explicit_id, int *fatal) {
  mpisnap__ck *k = &mpisnap__c;
  char dir[2100], path[2300], err[512] = "";
  mpisnap__meta m;
  int ok = 1, all = 0, rc;

  mpisnap__ckpt_dirname(dir, sizeof(dir), k->dir, id, 0);
  rc = mpisnap__meta_read(dir, &m, err, sizeof(err));
  if (rc == 0 && m.nranks != mpisnap__g.world_size) {
    if (mpisnap__g.world_rank == 0)
      fprintf(stderr, "mpisnap: error: checkpoint %llu was taken with %d "
                      "ranks; this run has %d (restart with the same number "
                      "of ranks)\n", (unsigned long long)id, m.nranks,
              mpisnap__g.world_size);
    *fatal = MPISNAP_EMISMATCH;
    return 0;
  }
  if (rc == 0) {
    mpisnap__rank_filename(path, sizeof(path), dir, mpisnap__g.world_rank);
    rc = mpisnap__part_read(path, &k->restored, err, sizeof(err));
  }
  if (rc != 0) {
    ok = 0;
    fprintf(stderr, "mpisnap: rank %d: checkpoint %llu is unusable: %s\n",
            mpisnap__g.world_rank, (unsigned long long)id, err);
  }
  PMPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all) {
    mpisnap__part_clear(&k->restored);
    if (explicit_id)
      *fatal = MPISNAP_ECORRUPT;
    else if (mpisnap__g.world_rank == 0)
      fprintf(stderr, "mpisnap: skipping checkpoint %llu; falling back to "
                      "the previous committed one\n", (unsigned long long)id);
  }
  return all;
}

int mpisnap__ck_restart_setup(const char *spec) {
  mpisnap__ck *k = &mpisnap__c;
  uint64_t *ids = NULL, want = 0;
  int n = 0, automatic = 0, latest = 0, fatal = 0;
  char *end;

  if (strcmp(spec, "auto") == 0)
    automatic = 1;
  else if (strcmp(spec, "latest") == 0)
    latest = 1;
  else {
    want = strtoull(spec, &end, 10);
    if (*end != '\0' || want == 0 || spec[0] == '-') {
      if (mpisnap__g.world_rank == 0)
        fprintf(stderr, "mpisnap: error: MPISNAP_RESTART='%s' is not "
                        "'latest', 'auto' or a checkpoint id\n", spec);
      return MPISNAP_ECONFIG;
    }
  }
  /* Rank 0 lists the directory; every rank sees the same candidates. */
  if (mpisnap__g.world_rank == 0) {
    n = mpisnap__list_committed(k->dir, &ids);
    if (n < 0)
      n = 0;
  }
  PMPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (mpisnap__g.world_rank != 0 && n > 0)
    ids = malloc((size_t)n * sizeof(*ids));
  if (n > 0)
    PMPI_Bcast(ids, n, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (want) {
    int found = 0;
    for (int i = 0; i < n; i++)
      found |= ids[i] == want;
    free(ids);
    if (!found) {
      if (mpisnap__g.world_rank == 0)
        fprintf(stderr, "mpisnap: error: no committed checkpoint %llu in %s\n",
                (unsigned long long)want, k->dir);
      return MPISNAP_ENOENT;
    }
    if (!try_load(want, 1, &fatal)) {
      if (mpisnap__g.world_rank == 0)
        fprintf(stderr, "mpisnap: error: checkpoint %llu cannot be restored "
                        "(see above)\n", (unsigned long long)want);
      return fatal ? fatal : MPISNAP_ECORRUPT;
    }
    k->parent = want;
  } else {
    for (int i = n - 1; i >= 0 && k->parent == 0 && !fatal; i--)
      if (try_load(ids[i], 0, &fatal))
        k->parent = ids[i];
    free(ids);
    if (fatal)
      return fatal;
    if (k->parent == 0 && latest) {
      if (mpisnap__g.world_rank == 0)
        fprintf(stderr, "mpisnap: error: MPISNAP_RESTART=latest but %s holds "
                        "no usable committed checkpoint\n", k->dir);
      return MPISNAP_ENOENT;
    }
    (void)automatic; /* auto: a fresh start when there is none */
  }
  if (k->parent != 0) {
    k->restoring = 1;
    k->points = k->restored.point_index;
    /* The logged choices are replayed by the layer's own matching: no
     * receive goes straight to MPI until they are all used. */
    mpisnap__go_slow();
    if (mpisnap__g.world_rank == 0 && k->verbose)
      fprintf(stderr, "mpisnap: restarting from checkpoint %llu\n",
              (unsigned long long)k->parent);
    /* World and self exist already: give them their channels back. */
    for (mpisnap__comm *c = mpisnap__g.comms; c != NULL; c = c->next)
      mpisnap__ck_comm_registered(c);
  }
  return 0;
}

/* ---- channels of a communicator, after a restart ---- */

/* Re-deliver c's logged messages: they enter the unexpected queue before
 * anything new can arrive on the communicator. */
static void inject(mpisnap__comm *c) {
  mpisnap__part *p = &mpisnap__c.restored;

  for (size_t i = 0; i < p->nmsgs; i++) {
    mpisnap__chanmsg *lm = &p->msgs[i];
    mpisnap__msg *m;
    if (lm->comm_key != c->key)
      continue;
    if (lm->src < 0 || lm->src >= c->size)
      mpisnap__fatal("checkpoint %llu: a logged message names source %d of "
                     "a %d-rank communicator", (unsigned long long)p->id,
                     lm->src, c->size);
    m = calloc(1, sizeof(*m));
    if (m == NULL)
      mpisnap__fatal("out of memory re-delivering channel state");
    m->comm = c;
    m->source = lm->src;
    m->tag = lm->tag;
    m->handle = MPI_MESSAGE_NULL;
    m->bytes = (MPI_Count)lm->bytes;
    m->data = lm->data;
    lm->data = NULL;
    m->heap = 1;
    m->seq = mpisnap__g.arrivals++;
    c->arr[lm->src]++; /* counted by its sender as sent (exchange) */
    mpisnap__engine_arrived(mpisnap__g.engine, (uint32_t)c->in_idx[lm->src],
                            &m->epoch);
    m->eidx = mpisnap__epoch_index(c, lm->src, m->epoch);
    if (c->unexp_tail)
      c->unexp_tail->next = m;
    else
      c->unexp = m;
    c->unexp_tail = m;
  }
}

/* Tell every sender what it must know about its channel to this rank:
 * how many of its old messages this rank re-delivers (they count as sent
 * before the restart), and which of its next messages this rank already
 * consumed (early messages, not to be sent again). */
static void exchange(mpisnap__comm *c) {
  mpisnap__part *p = &mpisnap__c.restored;
  int n = c->size;
  int *scnt = calloc((size_t)n, sizeof(int)), *rcnt = calloc((size_t)n, sizeof(int));
  int *sdis = calloc((size_t)n, sizeof(int)), *rdis = calloc((size_t)n, sizeof(int));
  uint64_t *sbuf, *rbuf;
  int stot = 0, rtot = 0;

  if (!scnt || !rcnt || !sdis || !rdis)
    mpisnap__fatal("out of memory restoring channels");
  /* Per peer: [logged count, early indices...]. */
  for (int q = 0; q < n; q++)
    scnt[q] = 1;
  for (size_t i = 0; i < p->nearly; i++)
    if (p->early[i].comm_key == c->key && p->early[i].src >= 0 &&
        p->early[i].src < n)
      scnt[p->early[i].src]++;
  for (int q = 0; q < n; q++) {
    sdis[q] = stot;
    stot += scnt[q];
  }
  sbuf = calloc((size_t)stot, sizeof(*sbuf));
  if (sbuf == NULL)
    mpisnap__fatal("out of memory restoring channels");
  {
    int *fill = calloc((size_t)n, sizeof(int));
    for (size_t i = 0; i < p->nmsgs; i++)
      if (p->msgs[i].comm_key == c->key && p->msgs[i].src >= 0 &&
          p->msgs[i].src < n)
        sbuf[sdis[p->msgs[i].src]]++;
    for (size_t i = 0; i < p->nearly; i++)
      if (p->early[i].comm_key == c->key && p->early[i].src >= 0 &&
          p->early[i].src < n) {
        int q = p->early[i].src;
        sbuf[sdis[q] + 1 + fill[q]++] = p->early[i].index;
      }
    free(fill);
  }
  PMPI_Alltoall(scnt, 1, MPI_INT, rcnt, 1, MPI_INT, c->shadow);
  for (int q = 0; q < n; q++) {
    rdis[q] = rtot;
    rtot += rcnt[q];
  }
  rbuf = calloc((size_t)(rtot ? rtot : 1), sizeof(*rbuf));
  if (rbuf == NULL)
    mpisnap__fatal("out of memory restoring channels");
  PMPI_Alltoallv(sbuf, scnt, sdis, MPI_UINT64_T, rbuf, rcnt, rdis,
                 MPI_UINT64_T, c->shadow);
  c->supp = calloc((size_t)n, sizeof(*c->supp));
  c->supp_n = calloc((size_t)n, sizeof(size_t));
  c->supp_next = calloc((size_t)n, sizeof(size_t));
  c->sends = calloc((size_t)n, sizeof(uint64_t));
  if (!c->supp || !c->supp_n || !c->supp_next || !c->sends)
    mpisnap__fatal("out of memory restoring channels");
  for (int q = 0; q < n; q++) {
    uint64_t logged = rbuf[rdis[q]];
    size_t ne = (size_t)rcnt[q] - 1;
    /* Messages this peer re-delivers were sent before the checkpoint. */
    for (uint64_t j = 0; j < logged; j++)
      mpisnap__engine_sent(mpisnap__g.engine, (uint32_t)c->out_idx[q]);
    if (ne > 0) {
      c->supp[q] = malloc(ne * sizeof(uint64_t));
      if (c->supp[q] == NULL)
        mpisnap__fatal("out of memory restoring channels");
      memcpy(c->supp[q], rbuf + rdis[q] + 1, ne * sizeof(uint64_t));
      /* Ascending: suppression walks them in send order. */
      for (size_t a = 1; a < ne; a++)
        for (size_t b = a; b > 0 && c->supp[q][b - 1] > c->supp[q][b]; b--) {
          uint64_t t = c->supp[q][b];
          c->supp[q][b] = c->supp[q][b - 1];
          c->supp[q][b - 1] = t;
        }
      c->supp_n[q] = ne;
    }
  }
  free(scnt);
  free(rcnt);
  free(sdis);
  free(rdis);
  free(sbuf);
  free(rbuf);
}

void mpisnap__ck_comm_registered(mpisnap__comm *c) {
  if (!mpisnap__c.on || !mpisnap__c.restoring || c->supp != NULL)
    return;
  inject(c);
  exchange(c);
}

/* ---- protected variables ---- */

static mpisnap__var *saved(const char *name) {
  mpisnap__part *p = &mpisnap__c.restored;

  for (size_t i = 0; i < p->nvars; i++)
    if (strcmp(p->vars[i].name, name) == 0)
      return &p->vars[i];
  return NULL;
}

int mpisnap__ck_saved_count(const char *name, size_t *count) {
  mpisnap__var *v;

  if (mpisnap__c.parent == 0)
    return MPISNAP_ESTATE;
  if ((v = saved(name)) == NULL)
    return MPISNAP_ENOENT;
  *count = (size_t)v->count;
  return 0;
}

int mpisnap__ck_restore_vars(void) {
  mpisnap__ck *k = &mpisnap__c;
  mpisnap__part *p = &k->restored;

  for (size_t i = 0; i < k->nvars; i++) {
    mpisnap__pvar *v = &k->vars[i];
    mpisnap__var *s = saved(v->name);
    size_t bytes = v->count * (size_t)v->tsize;
    if (s == NULL) {
      fprintf(stderr, "mpisnap: error: rank %d: protected variable '%s' is "
                      "not in checkpoint %llu (a checkpoint of another "
                      "program?)\n", mpisnap__g.world_rank, v->name,
              (unsigned long long)p->id);
      return MPISNAP_EMISMATCH;
    }
    if (s->elem != v->elem || s->count != v->count || s->bytes != bytes ||
        (v->elem == MPISNAP__ELEM_BYTES && strcmp(s->type_sig, v->sig) != 0)) {
      fprintf(stderr, "mpisnap: error: rank %d: protected variable '%s' was "
                      "saved as %llu elements of type %d (%llu bytes) but is "
                      "protected as %zu elements of type %d (%zu bytes)\n",
              mpisnap__g.world_rank, v->name, (unsigned long long)s->count,
              s->elem, (unsigned long long)s->bytes, v->count, v->elem, bytes);
      return MPISNAP_EMISMATCH;
    }
  }
  if (p->nvars != k->nvars) {
    fprintf(stderr, "mpisnap: error: rank %d: checkpoint %llu holds %zu "
                    "variables but %zu are protected (a checkpoint of "
                    "another program?)\n", mpisnap__g.world_rank,
            (unsigned long long)p->id, p->nvars, k->nvars);
    return MPISNAP_EMISMATCH;
  }
  for (size_t i = 0; i < k->nvars; i++) {
    mpisnap__pvar *v = &k->vars[i];
    mpisnap__var *s = saved(v->name);
    if (s->bytes == 0)
      continue;
    if (v->elem == MPISNAP__ELEM_BYTES) {
      int pos = 0;
      PMPI_Unpack(s->data, (int)s->bytes, &pos, v->ptr, (int)v->count,
                  v->type, MPI_COMM_SELF);
    } else {
      memcpy(v->ptr, s->data, (size_t)s->bytes);
    }
  }
  return (int)p->id;
}
