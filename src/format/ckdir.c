/* The checkpoint directory: the names of its entries (a checkpoint in
 * each state, a rank file), the listing of its checkpoints, and their
 * removal.  Nothing here touches MPI or HDF5, so the writer thread, the
 * restart code and the command-line tool can all use it. */
#include "common/array.h"
#include "format/part.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
  /* The count is returned as an int. */
  if (l->n >= (size_t)INT32_MAX ||
      mpisnap__grow((void **)&l->ids, &l->cap, l->n + 1, sizeof(*l->ids)))
    return MPISNAP_ENOMEM;
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

/* --- Removal -------------------------------------------------------------- */

/* Checkpoint directories are flat; this only bounds a tree someone put
 * inside one. */
#define MAX_DEPTH 32

/* Frees names[0..n) and names. */
static void free_names(char **names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

/* The entries of the open directory d but "." and "..", in *names (*n of
 * them).  They are collected before anything is removed: removing entries
 * while readdir walks the directory may skip some.  Returns 0, or -1 with
 * errno set. */
static int read_names(DIR *d, char ***names, size_t *n)
{
  size_t cap = 0;
  *names = NULL;
  *n = 0;
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (e == NULL)
      return errno == 0 ? 0 : -1;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (mpisnap__grow((void **)names, &cap, *n + 1, sizeof(**names)) != 0) {
      errno = ENOMEM;
      return -1;
    }
    if (((*names)[*n] = strdup(e->d_name)) == NULL)
      return -1;
    (*n)++;
  }
}

/* Removes name (a file, a symbolic link or a whole tree) in the directory
 * parent, never following symbolic links: a checkpoint that is a link
 * loses the link, not what it points to.  Already gone is fine: the
 * library's retention and mpisnap prune may be removing it at the same
 * time.  Returns 0, or -1 with errno set. */
static int remove_tree(int parent, const char *name, int depth)
{
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(st.st_mode))
    return unlinkat(parent, name, 0) == 0 || errno == ENOENT ? 0 : -1;
  if (depth > MAX_DEPTH) {
    errno = ELOOP;
    return -1;
  }
  int fd = openat(parent, name,
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    int e = errno;
    if (fd >= 0)
      (void)close(fd);
    errno = e;
    return -1;
  }
  char **names;
  size_t n;
  int rc = read_names(d, &names, &n);
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = remove_tree(dirfd(d), names[i], depth + 1);
  int e = errno;
  /* A directory only read: closing it loses nothing. */
  (void)closedir(d);
  free_names(names, n);
  if (rc != 0) {
    errno = e;
    return -1;
  }
  return unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0
                                                                      : -1;
}

/* Sets why (may be NULL) to the formatted message, keeping errno: the
 * callers report the failure through both. */
static void say_why(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say_why(char *why, size_t len, const char *fmt, ...)
{
  int e = errno;
  if (why != NULL && len > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
  }
  errno = e;
}

/* Takes committed checkpoint `name` out of the committed namespace: renames
 * it to `to` in the directory dfd and makes that rename durable. */
static int condemn(int dfd, const char *name, const char *to, char *why,
                   size_t len)
{
  int rc = renameat(dfd, name, dfd, to);
  if (rc != 0 && (errno == EEXIST || errno == ENOTEMPTY)) {
    /* A stale .deleting of the same id is in the way: it is condemned
     * already, so finish it first. */
    if (remove_tree(dfd, to, 0) == 0)
      rc = renameat(dfd, name, dfd, to);
  }
  if (rc != 0 && errno == ENOENT) {
    say_why(why, len, "no such checkpoint");
    return MPISNAP_ENOENT;
  }
  if (rc != 0) {
    say_why(why, len, "%s", strerror(errno));
    return MPISNAP_EIO;
  }
  /* Until the directory is synced, a crash may bring back the committed
   * name with some of its files already deleted: a torn checkpoint that
   * a restart would pick. */
  if (fsync(dfd) != 0) {
    say_why(why, len, "renamed to %s, but the directory could not be "
            "synced (%s); its files were left: run prune again", to,
            strerror(errno));
    return MPISNAP_EIO;
  }
  return 0;
}

int mpisnap__ckpt_remove(const char *dir, uint64_t id, int state, char *why,
                         size_t len)
{
  char name[64], to[64];
  if (dir == NULL || state < 0 || (size_t)state >= NSHAPES) {
    errno = EINVAL;
    say_why(why, len, "%s", strerror(errno));
    return MPISNAP_EINVAL;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    say_why(why, len, "%s", strerror(errno));
    return MPISNAP_EIO;
  }
  mpisnap__ckpt_name(name, sizeof name, id, state);
  mpisnap__ckpt_name(to, sizeof to, id, MPISNAP__CKPT_DELETING);
  int rc = 0;
  if (state == MPISNAP__CKPT_COMMITTED)
    rc = condemn(dfd, name, to, why, len);
  else /* out of the committed namespace already: it can go directly */
    snprintf(to, sizeof to, "%s", name);
  if (rc == 0 && remove_tree(dfd, to, 0) != 0) {
    if (state == MPISNAP__CKPT_COMMITTED)
      say_why(why, len, "renamed to %s, then: %s", to, strerror(errno));
    else
      say_why(why, len, "%s", strerror(errno));
    rc = MPISNAP_EIO;
  }
  int e = errno;
  /* Only read and synced through: closing it loses nothing. */
  (void)close(dfd);
  errno = e;
  return rc;
}
