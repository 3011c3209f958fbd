/* The checkpoint directory: the names of its entries (a checkpoint in
 * each state, a rank file) and the listing of its checkpoints.  Nothing
 * here touches MPI or HDF5, so the writer thread, the restart code and the
 * command-line tool can all use it. */
#include "format/part.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mpisnap_errno.h"

/* --- Names ---------------------------------------------------------------- */

/* The entry name of a checkpoint in each state is prefix, id, suffix. */
static const struct {
  const char *prefix, *suffix;
} shapes[] = {
  [MPISNAP__CKPT_COMMITTED] = {"ckpt-", ""},
  [MPISNAP__CKPT_PARTIAL] = {".ckpt-", ".partial"},
  [MPISNAP__CKPT_DELETING] = {".ckpt-", ".deleting"},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

void mpisnap__ckpt_name(char *out, size_t len, uint64_t id, int state)
{
  if (state < 0 || (size_t)state >= NSHAPES) {
    if (len > 0)
      out[0] = '\0';
    return;
  }
  snprintf(out, len, "%s%06llu%s", shapes[state].prefix,
           (unsigned long long)id, shapes[state].suffix);
}

void mpisnap__ckpt_dirname(char *out, size_t len, const char *dir, uint64_t id,
                           int state)
{
  char name[64];
  mpisnap__ckpt_name(name, sizeof name, id, state);
  snprintf(out, len, "%s/%s", dir, name);
}

void mpisnap__rank_filename(char *out, size_t len, const char *ckdir, int rank)
{
  snprintf(out, len, "%s/rank-%06d.h5", ckdir, rank);
}

/* Only the canonical spelling that mpisnap__ckpt_name produces is
 * accepted, so "ckpt-1" and "ckpt-000001" can never both claim id 1, and
 * names such as "ckpt-000001~" or "ckpt-000001.bak" that editors and users
 * leave behind are ignored. */
int mpisnap__ckpt_parse(const char *name, int state, uint64_t *id)
{
  if (state < 0 || (size_t)state >= NSHAPES)
    return 0;
  const char *prefix = shapes[state].prefix, *suffix = shapes[state].suffix;
  size_t plen = strlen(prefix), slen = strlen(suffix), nlen = strlen(name);
  if (nlen <= plen + slen || strncmp(name, prefix, plen) != 0 ||
      strcmp(name + nlen - slen, suffix) != 0)
    return 0;
  size_t ndig = nlen - plen - slen;
  if (ndig > 20)
    return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < ndig; i++) {
    char c = name[plen + i];
    if (c < '0' || c > '9')
      return 0;
    unsigned d = (unsigned)(c - '0');
    if (v > (UINT64_MAX - d) / 10)
      return 0;
    v = v * 10 + d;
  }
  char canon[64];
  mpisnap__ckpt_name(canon, sizeof canon, v, state);
  if (strcmp(canon, name) != 0)
    return 0;
  *id = v;
  return 1;
}

/* Whether dir/name is a directory (following symbolic links, so a
 * checkpoint moved elsewhere and linked back still counts). */
static int is_dir(const char *dir, const char *name)
{
  char path[4096];
  int n = snprintf(path, sizeof path, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= sizeof path)
    return 0;
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Calls fn for every committed (a directory) and, if partials is set,
 * every partial checkpoint name in dir.  A missing directory has no
 * checkpoints, which is not an error: a job's first run starts there. */
static int scan_dir(const char *dir, int partials,
                    int (*fn)(void *ctx, uint64_t id), void *ctx)
{
  DIR *d = opendir(dir);
  if (d == NULL)
    return errno == ENOENT ? 0 : MPISNAP_EIO;
  int rc = 0;
  struct dirent *e;
  for (;;) {
    errno = 0;
    e = readdir(d);
    if (e == NULL) {
      if (errno != 0)
        rc = MPISNAP_EIO;
      break;
    }
    uint64_t id;
    int hit = (mpisnap__ckpt_parse(e->d_name, MPISNAP__CKPT_COMMITTED, &id) &&
               is_dir(dir, e->d_name)) ||
              (partials &&
               mpisnap__ckpt_parse(e->d_name, MPISNAP__CKPT_PARTIAL, &id));
    if (hit && (rc = fn(ctx, id)) != 0)
      break;
  }
  closedir(d);
  return rc;
}

typedef struct idlist {
  uint64_t *ids;
  size_t n, cap;
} idlist;

static int add_id(void *ctx, uint64_t id)
{
  idlist *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    if (cap > (size_t)INT32_MAX)
      return MPISNAP_ENOMEM;
    uint64_t *ids = realloc(l->ids, cap * sizeof *ids);
    if (ids == NULL)
      return MPISNAP_ENOMEM;
    l->ids = ids;
    l->cap = cap;
  }
  l->ids[l->n++] = id;
  return 0;
}

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

int mpisnap__list_committed(const char *dir, uint64_t **ids)
{
  if (dir == NULL || ids == NULL)
    return MPISNAP_EINVAL;
  *ids = NULL;
  idlist l = {0};
  int rc = scan_dir(dir, 0, add_id, &l);
  if (rc != 0) {
    free(l.ids);
    return rc;
  }
  if (l.n > 1)
    qsort(l.ids, l.n, sizeof *l.ids, cmp_u64);
  *ids = l.ids;
  return (int)l.n;
}

static int take_max(void *ctx, uint64_t id)
{
  uint64_t *max = ctx;
  if (id > *max)
    *max = id;
  return 0;
}

uint64_t mpisnap__max_id(const char *dir)
{
  uint64_t max = 0;
  if (dir != NULL)
    (void)scan_dir(dir, 1, take_max, &max);
  return max;
}
