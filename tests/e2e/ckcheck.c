/* Checks every committed checkpoint in a directory: the master file and
 * every rank file read back with their checksums, and on every channel of
 * MPI_COMM_WORLD and MPI_COMM_SELF,
 *   sent-before-record = consumed-before-record + logged - early.
 * usage: ckcheck DIR    (exit 0 only if every checkpoint passes) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/part.h"

static int in_all(mpisnap__part *p, int n, uint64_t key) {
  for (int r = 0; r < n; r++) {
    int found = 0;
    for (size_t i = 0; i < p[r].ncounts; i++)
      found |= p[r].counts[i].comm_key == key;
    if (!found)
      return 0;
  }
  return 1;
}

static const mpisnap__chancount *find(mpisnap__part *p, uint64_t key,
                                      int peer, int dir) {
  for (size_t i = 0; i < p->ncounts; i++)
    if (p->counts[i].comm_key == key && p->counts[i].peer == peer &&
        p->counts[i].dir == dir)
      return &p->counts[i];
  return NULL;
}

static int check_one(const char *top, uint64_t id) {
  char dir[4096], path[4200], err[512];
  mpisnap__meta m;
  mpisnap__part *p;
  int bad = 0, checked = 0;

  mpisnap__ckpt_dirname(dir, sizeof(dir), top, id, 0);
  if (mpisnap__meta_read(dir, &m, err, sizeof(err)) != 0) {
    printf("ckcheck: checkpoint %llu: %s\n", (unsigned long long)id, err);
    return 1;
  }
  p = calloc((size_t)m.nranks, sizeof(*p));
  for (int r = 0; r < m.nranks; r++) {
    mpisnap__rank_filename(path, sizeof(path), dir, r);
    if (mpisnap__part_read(path, &p[r], err, sizeof(err)) != 0) {
      printf("ckcheck: checkpoint %llu: %s\n", (unsigned long long)id, err);
      bad = 1;
    }
  }
  for (int r = 0; r < m.nranks && !bad; r++)
    for (size_t i = 0; i < p[r].ncounts; i++) {
      const mpisnap__chancount *s = &p[r].counts[i], *d;
      int to, from;
      if (s->dir != 1)
        continue;
      if (in_all(p, m.nranks, s->comm_key)) {
        to = s->peer;       /* world (or a full duplicate of it) */
        from = r;
      } else if (s->peer == 0) {
        to = r;             /* self */
        from = 0;
      } else {
        continue;
      }
      if (to < 0 || to >= m.nranks)
        continue;
      d = find(&p[to], s->comm_key, from, 0);
      checked++;
      if (d == NULL ||
          s->sent_before_record + d->early != d->consumed_before_record + d->logged) {
        printf("ckcheck: checkpoint %llu: channel %d -> %d unbalanced: sent "
               "%llu, consumed %llu + logged %llu - early %llu\n",
               (unsigned long long)id, r, to,
               (unsigned long long)s->sent_before_record,
               d ? (unsigned long long)d->consumed_before_record : 0ULL,
               d ? (unsigned long long)d->logged : 0ULL,
               d ? (unsigned long long)d->early : 0ULL);
        bad = 1;
      }
    }
  for (int r = 0; r < m.nranks; r++)
    mpisnap__part_clear(&p[r]);
  free(p);
  if (!bad)
    printf("ckcheck: checkpoint %llu: %d ranks, %d channels balanced, %llu "
           "in-flight, %llu early\n", (unsigned long long)id, m.nranks,
           checked, (unsigned long long)m.inflight_msgs,
           (unsigned long long)m.early_msgs);
  return bad;
}

int main(int argc, char **argv) {
  uint64_t *ids = NULL;
  int n, bad = 0;

  if (argc != 2) {
    fprintf(stderr, "usage: ckcheck DIR\n");
    return 2;
  }
  n = mpisnap__list_committed(argv[1], &ids);
  if (n <= 0) {
    printf("ckcheck: no committed checkpoint in %s\n", argv[1]);
    return 1;
  }
  for (int i = 0; i < n; i++)
    bad |= check_one(argv[1], ids[i]);
  free(ids);
  return bad;
}
