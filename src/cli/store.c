/* The checkpoint directory as the command-line tool sees it: which
 * directory, which checkpoints it holds in which state, and small helpers
 * about their files. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/array.h"

#define DEFAULT_DIR "./mpisnap-checkpoints"

int cli_open_dir(const char *cmd, const char *arg, char *out, size_t len)
{
  const char *env = getenv("MPISNAP_DIR"), *from = "";
  const char *dir = arg;
  if (dir == NULL && env != NULL && env[0] != '\0') {
    dir = env;
    from = " (from $MPISNAP_DIR)";
  } else if (dir == NULL) {
    dir = DEFAULT_DIR;
    from = " (the default; name a directory or set $MPISNAP_DIR)";
  }
  if (dir[0] == '\0') {
    cli_error(cmd, "the checkpoint directory name is empty");
    return CLI_FAIL;
  }
  if ((size_t)snprintf(out, len, "%s", dir) >= len) {
    cli_error(cmd, "checkpoint directory name too long");
    return CLI_FAIL;
  }
  /* Trailing slashes would give names like DIR//ckpt-000001. */
  for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--)
    out[n - 1] = '\0';
  struct stat st;
  if (stat(out, &st) != 0) {
    cli_error(cmd, "checkpoint directory '%s'%s: %s", out, from,
              strerror(errno));
    return CLI_FAIL;
  }
  if (!S_ISDIR(st.st_mode)) {
    cli_error(cmd, "'%s'%s is not a directory", out, from);
    return CLI_FAIL;
  }
  DIR *d = opendir(out);
  if (d == NULL) {
    cli_error(cmd, "cannot read directory '%s'%s: %s", out, from,
              strerror(errno));
    return CLI_FAIL;
  }
  closedir(d);
  return CLI_OK;
}

static int cmp_entry(const void *a, const void *b)
{
  const cli_entry *x = a, *y = b;
  if (x->id != y->id)
    return x->id < y->id ? -1 : 1;
  return x->kind - y->kind;
}

static int add_entry(cli_entry **v, int *n, size_t *cap, uint64_t id,
                     int kind, const char *name)
{
  if (mpisnap__grow((void **)v, cap, (size_t)*n + 1, sizeof(**v)) != 0)
    return -1;
  cli_entry *e = &(*v)[(*n)++];
  e->id = id;
  e->kind = kind;
  snprintf(e->name, sizeof e->name, "%s", name);
  return 0;
}

int cli_open_scan(const char *cmd, const char *arg, char *out, size_t len,
                  cli_entry **entries)
{
  *entries = NULL;
  if (cli_open_dir(cmd, arg, out, len) != CLI_OK)
    return -1;
  int n = cli_scan(out, entries);
  if (n < 0)
    cli_error(cmd, "cannot read directory '%s': %s", out, strerror(errno));
  return n;
}

int cli_scan(const char *dir, cli_entry **out)
{
  cli_entry *v = NULL;
  size_t cap = 0;
  int n = 0, rc = 0;
  uint64_t *ids = NULL;
  /* Committed checkpoints are whatever the library itself would restart
   * from, so ask it rather than repeat its rules. */
  int nc = mpisnap__list_committed(dir, &ids);
  if (nc < 0) {
    errno = EIO;
    return -1;
  }
  char name[64];
  for (int i = 0; i < nc && rc == 0; i++) {
    mpisnap__ckpt_name(name, sizeof name, ids[i], MPISNAP__CKPT_COMMITTED);
    rc = add_entry(&v, &n, &cap, ids[i], CLI_COMMITTED, name);
  }
  free(ids);
  DIR *d = opendir(dir);
  if (d == NULL)
    rc = -1;
  for (struct dirent *e; rc == 0 && d != NULL && (e = readdir(d)) != NULL;) {
    uint64_t id;
    if (mpisnap__ckpt_parse(e->d_name, MPISNAP__CKPT_PARTIAL, &id))
      rc = add_entry(&v, &n, &cap, id, CLI_PARTIAL, e->d_name);
    else if (mpisnap__ckpt_parse(e->d_name, MPISNAP__CKPT_DELETING, &id))
      rc = add_entry(&v, &n, &cap, id, CLI_DELETING, e->d_name);
  }
  if (d != NULL)
    closedir(d);
  if (rc != 0) {
    int saved = errno;
    free(v);
    errno = saved;
    return -1;
  }
  if (n > 1)
    qsort(v, (size_t)n, sizeof *v, cmp_entry);
  *out = v;
  return n;
}

const char *cli_kind_name(int kind)
{
  static const char *const names[] = {
    [CLI_COMMITTED] = "committed", [CLI_PARTIAL] = "incomplete",
    [CLI_DELETING] = "deleting"};
  if (kind < 0 || (size_t)kind >= sizeof names / sizeof names[0])
    return "unknown";
  return names[kind];
}

const cli_entry *cli_find(const cli_entry *e, int n, int kind, uint64_t id)
{
  for (int i = 0; i < n; i++)
    if (e[i].kind == kind && e[i].id == id)
      return &e[i];
  return NULL;
}

int cli_no_such(const char *cmd, const char *dir, const cli_entry *e, int n,
                uint64_t id)
{
  char name[64];
  mpisnap__ckpt_name(name, sizeof name, id, MPISNAP__CKPT_PARTIAL);
  if (cli_find(e, n, CLI_PARTIAL, id) != NULL)
    cli_error(cmd, "checkpoint %" PRIu64 " in %s is incomplete (%s: still "
              "being written, or abandoned by a job that stopped)", id, dir,
              name);
  else if (cli_find(e, n, CLI_DELETING, id) != NULL)
    cli_error(cmd, "checkpoint %" PRIu64 " in %s is being deleted", id, dir);
  else
    cli_error(cmd, "no checkpoint %" PRIu64 " in %s (see 'mpisnap list')",
              id, dir);
  return CLI_FAIL;
}

void cli_strip_dir(char *msg, const char *ckdir)
{
  size_t n = strlen(ckdir);
  if (strncmp(msg, ckdir, n) == 0 && msg[n] == '/')
    memmove(msg, msg + n + 1, strlen(msg + n + 1) + 1);
}

const char *cli_elem_name(const mpisnap__var *v, char *buf, size_t len)
{
  /* Sizes are the reader's: the library converted the data to this
   * machine's native types when it read them. */
  static const struct {
    const char *kind;
    size_t size;
  } t[MPISNAP__ELEM_COUNT_] = {
    [MPISNAP__ELEM_CHAR] = {"char", 0},
    [MPISNAP__ELEM_SCHAR] = {"int", sizeof(signed char)},
    [MPISNAP__ELEM_UCHAR] = {"uint", sizeof(unsigned char)},
    [MPISNAP__ELEM_SHORT] = {"int", sizeof(short)},
    [MPISNAP__ELEM_USHORT] = {"uint", sizeof(unsigned short)},
    [MPISNAP__ELEM_INT] = {"int", sizeof(int)},
    [MPISNAP__ELEM_UINT] = {"uint", sizeof(unsigned)},
    [MPISNAP__ELEM_LONG] = {"int", sizeof(long)},
    [MPISNAP__ELEM_ULONG] = {"uint", sizeof(unsigned long)},
    [MPISNAP__ELEM_LLONG] = {"int", sizeof(long long)},
    [MPISNAP__ELEM_ULLONG] = {"uint", sizeof(unsigned long long)},
    [MPISNAP__ELEM_FLOAT] = {"float", sizeof(float)},
    [MPISNAP__ELEM_DOUBLE] = {"float", sizeof(double)},
    [MPISNAP__ELEM_LDOUBLE] = {"long double", 0},
    [MPISNAP__ELEM_INT8] = {"int", 1},
    [MPISNAP__ELEM_UINT8] = {"uint", 1},
    [MPISNAP__ELEM_INT16] = {"int", 2},
    [MPISNAP__ELEM_UINT16] = {"uint", 2},
    [MPISNAP__ELEM_INT32] = {"int", 4},
    [MPISNAP__ELEM_UINT32] = {"uint", 4},
    [MPISNAP__ELEM_INT64] = {"int", 8},
    [MPISNAP__ELEM_UINT64] = {"uint", 8},
  };
  if (v->elem == MPISNAP__ELEM_BYTES)
    snprintf(buf, len, "bytes(%s)", v->type_sig);
  else if (v->elem < 0 || v->elem >= MPISNAP__ELEM_COUNT_)
    snprintf(buf, len, "unknown(%d)", v->elem);
  else if (t[v->elem].size == 0)
    snprintf(buf, len, "%s", t[v->elem].kind);
  else
    snprintf(buf, len, "%s%zu", t[v->elem].kind, 8 * t[v->elem].size);
  return buf;
}

uint64_t cli_disk_bytes(const char *ckdir)
{
  uint64_t total = 0;
  DIR *d = opendir(ckdir);
  if (d == NULL)
    return 0;
  char path[CLI_PATH];
  struct stat st;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    int n = snprintf(path, sizeof path, "%s/%s", ckdir, e->d_name);
    if (n > 0 && (size_t)n < sizeof path && lstat(path, &st) == 0 &&
        S_ISREG(st.st_mode))
      total += (uint64_t)st.st_size;
  }
  closedir(d);
  return total;
}
