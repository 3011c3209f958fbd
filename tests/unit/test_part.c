/* Unit tests of the checkpoint files (src/format/part.c, h5*.c): a rank
 * file and a master file written and read back exactly, every corruption
 * the reader must catch, and the listing of checkpoint directories.
 *
 * Usage: test_part [DIR]   With DIR (new or empty), the files are written
 * there and kept (docs/FORMAT.md shows h5dump output of such files);
 * otherwise a temporary directory is used and removed.  No MPI: the code
 * under test must not make MPI calls, and this runs without mpirun. */
#include <dirent.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/h5table.h"
#include "format/part.h"
#include "mpisnap_errno.h"

static int failures;
static char dir[1024];  /* the checkpoint directory, DIR/ckpt-000001 */
static char top[1024];  /* DIR */

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,        \
              #cond);                                                         \
      failures++;                                                             \
    }                                                                         \
  } while (0)

/* A read that must fail with code and a message containing both words. */
#define CHECK_ERR(rc, code, err, w1, w2)                                      \
  do {                                                                        \
    if ((rc) != (code) || strstr(err, w1) == NULL ||                          \
        strstr(err, w2) == NULL) {                                            \
      fprintf(stderr, "%s:%d: expected %s with \"%s\"/\"%s\", got %s: %s\n",  \
              __FILE__, __LINE__, mpisnap_err_name(code), w1, w2,             \
              mpisnap_err_name(rc), err);                                     \
      failures++;                                                             \
    }                                                                         \
  } while (0)

static void path_in(char *out, size_t len, const char *name)
{
  snprintf(out, len, "%s/%s", dir, name);
}

/* Open HDF5 files, groups, datasets, named types and attributes: equal
 * before and after each call when the code under test closes every
 * handle on every path.  (HDF5 1.10 has no public count of open
 * dataspaces and property lists; H5Inmembers refuses library types.) */
static long open_ids(void)
{
  return (long)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
}

/* --- Building a part ------------------------------------------------------ */

static void *dup_bytes(const void *src, size_t n)
{
  void *p = n ? malloc(n) : NULL;
  if (n)
    memcpy(p, src, n);
  return p;
}

static void add_var(mpisnap__part *p, const char *name, int elem,
                    const void *data, uint64_t count, size_t esize)
{
  mpisnap__var *v = &p->vars[p->nvars++];
  snprintf(v->name, sizeof v->name, "%s", name);
  v->elem = elem;
  v->count = count;
  v->bytes = count * esize;
  v->data = dup_bytes(data, (size_t)v->bytes);
}

static void add_msg(mpisnap__part *p, int src, int tag, uint64_t bytes,
                    unsigned seed)
{
  mpisnap__chanmsg *m = &p->msgs[p->nmsgs];
  *m = (mpisnap__chanmsg){0x1234567890abcdefull, src, p->rank, tag,
                          p->nmsgs, bytes, NULL};
  p->nmsgs++;
  if (bytes == 0)
    return;
  unsigned char *d = malloc((size_t)bytes);
  for (uint64_t i = 0; i < bytes; i++)
    d[i] = (unsigned char)(seed + i * 7 + (i >> 9));
  m->data = d;
}

static void build(mpisnap__part *p, int rank)
{
  memset(p, 0, sizeof *p);
  p->id = 1;
  p->parent = 0;
  p->rank = rank;
  p->nranks = 2;
  p->mode = 1;
  p->exact = 0;
  p->point_index = 42;
  p->stall_seconds = 0.00125;
  p->write_seconds = 0.5;
  snprintf(p->program, sizeof p->program, "heat2d");

  p->vars = calloc(8, sizeof *p->vars);
  int u[5] = {1, -2, 3, 2147483647, -2147483647 - 1};
  double t[3] = {0.1, -2.5e300, 1.0 / 3.0};
  long double ld[2];
  memset(ld, 0, sizeof ld); /* also the padding bytes: they are checksummed */
  ld[0] = 1.5L;
  ld[1] = -3.25L;
  uint64_t big[2] = {UINT64_MAX, 7};
  short s[4] = {-1, 2, -3, 4};
  unsigned char raw[13] = "struct{i,d}!";
  add_var(p, "u", MPISNAP__ELEM_INT, u, 5, sizeof(int));
  add_var(p, "temperature", MPISNAP__ELEM_DOUBLE, t, 3, sizeof(double));
  add_var(p, "ld", MPISNAP__ELEM_LDOUBLE, ld, 2, sizeof(long double));
  add_var(p, "big", MPISNAP__ELEM_UINT64, big, 2, 8);
  add_var(p, "empty", MPISNAP__ELEM_FLOAT, NULL, 0, sizeof(float));
  add_var(p, "s", MPISNAP__ELEM_SHORT, s, 4, sizeof(short));
  add_var(p, "particle", MPISNAP__ELEM_BYTES, raw, 1, sizeof raw);
  snprintf(p->vars[p->nvars - 1].type_sig, 128, "{MPI_INT,MPI_DOUBLE}+pad");

  p->msgs = calloc(6, sizeof *p->msgs);
  add_msg(p, 1 - rank, 7, 16, 1);
  add_msg(p, 1 - rank, 7, 0, 2); /* a zero-byte message */
  add_msg(p, 1 - rank, 8, 5u << 20, 3); /* bigger than the I/O window */
  add_msg(p, 1 - rank, 9, 3, 4);
  add_msg(p, 1 - rank, 9, 1000, 5);

  p->counts = calloc(2, sizeof *p->counts);
  p->counts[0] = (mpisnap__chancount){0x1234567890abcdefull, 1 - rank, 0, 0,
                                      17, 5, 1};
  p->counts[1] = (mpisnap__chancount){0x1234567890abcdefull, 1 - rank, 1, 23,
                                      0, 0, 0};
  p->ncounts = 2;
  p->early = calloc(1, sizeof *p->early);
  p->early[0] = (mpisnap__early){0x1234567890abcdefull, 1 - rank, rank, 0};
  p->nearly = 1;
  p->coll = calloc(2, sizeof *p->coll);
  p->coll[0] = (mpisnap__collcount){1, 10};
  p->coll[1] = (mpisnap__collcount){0x1234567890abcdefull, 3};
  p->ncoll = 2;
  p->det = calloc(3, sizeof *p->det);
  p->det[0] = (mpisnap__determinant){1, 1, 7, -1};
  p->det[1] = (mpisnap__determinant){2, 0, 0, 1};
  p->det[2] = (mpisnap__determinant){3, -1, -1, 2};
  p->ndet = 3;
}

/* --- Comparing ------------------------------------------------------------ */

static int same_bytes(const void *a, const void *b, uint64_t n)
{
  return n == 0 || (a != NULL && b != NULL && memcmp(a, b, (size_t)n) == 0);
}

static void compare(const mpisnap__part *a, const mpisnap__part *b)
{
  CHECK(a->id == b->id && a->parent == b->parent && a->rank == b->rank);
  CHECK(a->nranks == b->nranks && a->mode == b->mode && a->exact == b->exact);
  CHECK(a->point_index == b->point_index);
  CHECK(a->stall_seconds == b->stall_seconds);
  CHECK(a->write_seconds == b->write_seconds);
  CHECK(strcmp(a->program, b->program) == 0);
  CHECK(a->nvars == b->nvars);
  for (size_t i = 0; i < a->nvars && i < b->nvars; i++) {
    const mpisnap__var *x = &a->vars[i], *y = &b->vars[i];
    CHECK(strcmp(x->name, y->name) == 0);
    CHECK(x->elem == y->elem && x->count == y->count && x->bytes == y->bytes);
    CHECK(same_bytes(x->data, y->data, x->bytes));
    CHECK(x->elem != MPISNAP__ELEM_BYTES ||
          strcmp(x->type_sig, y->type_sig) == 0);
  }
  CHECK(a->nmsgs == b->nmsgs);
  for (size_t i = 0; i < a->nmsgs && i < b->nmsgs; i++) {
    const mpisnap__chanmsg *x = &a->msgs[i], *y = &b->msgs[i];
    CHECK(x->comm_key == y->comm_key && x->src == y->src &&
          x->dst == y->dst && x->tag == y->tag && x->seq == y->seq &&
          x->bytes == y->bytes);
    CHECK(same_bytes(x->data, y->data, x->bytes));
  }
  CHECK(a->ncounts == b->ncounts && a->nearly == b->nearly);
  CHECK(a->ncoll == b->ncoll && a->ndet == b->ndet);
  for (size_t i = 0; i < a->ncounts && i < b->ncounts; i++) {
    const mpisnap__chancount *x = &a->counts[i], *y = &b->counts[i];
    CHECK(x->comm_key == y->comm_key && x->peer == y->peer &&
          x->dir == y->dir && x->sent_before_record == y->sent_before_record &&
          x->consumed_before_record == y->consumed_before_record &&
          x->logged == y->logged && x->early == y->early);
  }
  for (size_t i = 0; i < a->nearly && i < b->nearly; i++)
    CHECK(a->early[i].comm_key == b->early[i].comm_key &&
          a->early[i].src == b->early[i].src &&
          a->early[i].dst == b->early[i].dst &&
          a->early[i].index == b->early[i].index);
  for (size_t i = 0; i < a->ncoll && i < b->ncoll; i++)
    CHECK(a->coll[i].comm_key == b->coll[i].comm_key &&
          a->coll[i].count == b->coll[i].count);
  for (size_t i = 0; i < a->ndet && i < b->ndet; i++)
    CHECK(memcmp(&a->det[i], &b->det[i], sizeof a->det[i]) == 0);
}

/* --- Files ---------------------------------------------------------------- */

static int copy_file(const char *from, const char *to)
{
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  char buf[65536];
  size_t n;
  int ok = in != NULL && out != NULL;
  while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
    ok = fwrite(buf, 1, n, out) == n;
  if (in)
    fclose(in);
  if (out && fclose(out) != 0)
    ok = 0;
  return ok ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  fputs(text, f);
  fclose(f);
}

/* Flips one byte at offset off of path. */
static void flip_byte(const char *path, long off)
{
  int fd = open(path, O_RDWR);
  unsigned char b = 0;
  CHECK(fd >= 0 && pread(fd, &b, 1, off) == 1);
  b ^= 0x5a;
  CHECK(fd >= 0 && pwrite(fd, &b, 1, off) == 1);
  if (fd >= 0)
    close(fd);
}

/* The file offset of a contiguous dataset's data. */
static long dataset_offset(const char *path, const char *name)
{
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t d = f >= 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
  haddr_t off = d >= 0 ? H5Dget_offset(d) : HADDR_UNDEF;
  if (d >= 0)
    H5Dclose(d);
  if (f >= 0)
    H5Fclose(f);
  CHECK(off != HADDR_UNDEF);
  return (long)off;
}

/* Rewrites attribute name (an integer) of object obj of path.  The object
 * is opened first: in HDF5 1.10.8, H5Awrite on an attribute opened with
 * H5Aopen_by_name through a path fails ("can't locate open attribute?"). */
static void set_attr_u64(const char *path, const char *obj, const char *name,
                         uint64_t v)
{
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t o = f >= 0 ? H5Oopen(f, obj, H5P_DEFAULT) : -1;
  hid_t a = o >= 0 ? H5Aopen(o, name, H5P_DEFAULT) : -1;
  CHECK(a >= 0 && H5Awrite(a, H5T_NATIVE_UINT64, &v) >= 0);
  if (a >= 0)
    H5Aclose(a);
  if (o >= 0)
    H5Oclose(o);
  if (f >= 0)
    H5Fclose(f);
}

/* Moves message 1's bytes one byte later in the messages table and fixes
 * the table's checksum: only the reader's bounds checks can catch it. */
static void forge_offset(const char *path)
{
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, "/channels/messages", H5P_DEFAULT);
  hid_t mt = mpisnap__table_type(&mpisnap__tab_messages, 0);
  mpisnap__msgrow rows[5];
  CHECK(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
  rows[1].offset += 1;
  CHECK(H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
  uint32_t crc = mpisnap__table_crc(&mpisnap__tab_messages, rows, 5);
  hid_t a = H5Aopen(d, "crc32c", H5P_DEFAULT);
  CHECK(H5Awrite(a, H5T_NATIVE_UINT32, &crc) >= 0);
  H5Aclose(a);
  H5Tclose(mt);
  H5Dclose(d);
  H5Fclose(f);
}

/* Edits of a rank file that only a forger (or a bug) would make: the
 * reader must refuse each one without trusting what the file claims. */
static void forge(const char *path, int what)
{
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t s = H5I_INVALID_HID, d = H5I_INVALID_HID;
  hsize_t dims = 1ull << 40;
  CHECK(f >= 0);
  if (what == 0) { /* a table of the wrong type */
    CHECK(H5Ldelete(f, "/channels/early", H5P_DEFAULT) >= 0);
    s = H5Screate_simple(1, &dims, NULL);
    dims = 1;
    H5Sset_extent_simple(s, 1, &dims, NULL);
    d = H5Dcreate2(f, "/channels/early", H5T_STD_I64LE, s, H5P_DEFAULT,
                   H5P_DEFAULT, H5P_DEFAULT);
  } else if (what == 1) { /* a table missing */
    CHECK(H5Ldelete(f, "/channels/determinants", H5P_DEFAULT) >= 0);
  } else { /* a variable claiming 2^40 doubles, never written */
    s = H5Screate_simple(1, &dims, NULL);
    d = H5Dcreate2(f, "/vars/huge", H5T_NATIVE_DOUBLE, s, H5P_DEFAULT,
                   H5P_DEFAULT, H5P_DEFAULT);
  }
  if (what != 1) {
    hid_t as = H5Screate(H5S_SCALAR);
    uint32_t zero = 0;
    hid_t a = H5Acreate2(d, "crc32c", H5T_STD_U32LE, as, H5P_DEFAULT,
                         H5P_DEFAULT);
    CHECK(d >= 0 && a >= 0 && H5Awrite(a, H5T_NATIVE_UINT32, &zero) >= 0);
    H5Aclose(a);
    H5Sclose(as);
    H5Dclose(d);
    H5Sclose(s);
  }
  H5Fclose(f);
}

/* A foreign HDF5 file: with format set, root attributes mpisnap_format and
 * format_version as given; without, only an unrelated attribute. */
static void make_h5(const char *path, const char *format, int version)
{
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t s = H5Screate(H5S_SCALAR);
  if (format != NULL) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(format) + 1);
    hid_t a = H5Acreate2(f, "mpisnap_format", t, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, format);
    H5Aclose(a);
    H5Tclose(t);
    a = H5Acreate2(f, "format_version", H5T_STD_I32LE, s, H5P_DEFAULT,
                   H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT, &version);
    H5Aclose(a);
  } else {
    hid_t a = H5Acreate2(f, "something_else", H5T_STD_I32LE, s, H5P_DEFAULT,
                         H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT, &version);
    H5Aclose(a);
  }
  H5Sclose(s);
  H5Fclose(f);
}

/* Reads path expecting failure code with both words in the message, and
 * checks that the failed read leaves a zeroed part and no open handles. */
static void expect_read_error(const char *path, int code, const char *w1,
                              const char *w2)
{
  mpisnap__part q;
  char err[512];
  long ids = open_ids();
  int rc = mpisnap__part_read(path, &q, err, sizeof err);
  CHECK_ERR(rc, code, err, w1, w2);
  CHECK(q.vars == NULL && q.msgs == NULL && q.nvars == 0);
  CHECK(open_ids() == ids);
  printf("  expected error: %s\n", err);
}

/* --- Tests ---------------------------------------------------------------- */

static void test_crc(void)
{
  CHECK(mpisnap__crc32c(0, "123456789", 9) == 0xE3069283u);
  CHECK(mpisnap__crc32c(0, NULL, 0) == 0);
  unsigned char buf[100];
  for (int i = 0; i < 100; i++)
    buf[i] = (unsigned char)(i * 31 + 5);
  /* Chaining must equal one pass, whatever the split and alignment. */
  uint32_t whole = mpisnap__crc32c(0, buf, 100);
  for (size_t cut = 0; cut <= 100; cut += 7)
    CHECK(mpisnap__crc32c(mpisnap__crc32c(0, buf, cut), buf + cut,
                          100 - cut) == whole);
  CHECK(mpisnap__crc32c(0, buf + 1, 99) != mpisnap__crc32c(0, buf, 99));

  /* The fast path (three chains joined, from 768 bytes up) must agree with
   * the portable one at every length around its block sizes, at every
   * alignment, and chained from any starting value. */
  size_t big = 3 * 8192 * 2 + 3 * 256 * 2 + 64;
  unsigned char *m = malloc(big + 8);
  CHECK(m != NULL);
  uint32_t x = 12345;
  for (size_t i = 0; i < big + 8; i++) {
    x = x * 1103515245u + 12345u;
    m[i] = (unsigned char)(x >> 16);
  }
  size_t lens[] = {0, 1, 7, 8, 255, 256, 767, 768, 769, 3 * 256 + 8, 4096,
                   3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 3 * 8192 + 3 * 256,
                   3 * 8192 * 2 + 100, big};
  for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
    for (size_t off = 0; off < 8; off++)
      for (uint32_t start = 0; start < 2; start++) {
        uint32_t s0 = start ? 0xDEADBEEFu : 0;
        CHECK(mpisnap__crc32c(s0, m + off, lens[l]) ==
              mpisnap__crc32c_sw(s0, m + off, lens[l]));
      }
  CHECK(mpisnap__crc32c_sw(0, "123456789", 9) == 0xE3069283u);
  free(m);
}

static void test_roundtrip(mpisnap__part *p)
{
  char path[1200], err[512];
  mpisnap__part q;
  long ids = open_ids();
  mpisnap__rank_filename(path, sizeof path, dir, 0);
  int rc = mpisnap__part_write(path, p, err, sizeof err);
  if (rc != 0)
    fprintf(stderr, "part_write: %s\n", err);
  CHECK(rc == 0);
  CHECK(open_ids() == ids);
  rc = mpisnap__part_read(path, &q, err, sizeof err);
  if (rc != 0)
    fprintf(stderr, "part_read: %s\n", err);
  CHECK(rc == 0);
  CHECK(open_ids() == ids);
  compare(p, &q);
  mpisnap__part_clear(&q);
  CHECK(q.vars == NULL && q.nvars == 0 && q.msgs == NULL);

  /* The commit's light reading: the root and the collective counts only. */
  rc = mpisnap__part_read_collectives(path, &q, err, sizeof err);
  CHECK(rc == 0);
  CHECK(q.id == p->id && q.rank == p->rank && q.ncoll == p->ncoll);
  for (size_t i = 0; i < q.ncoll && i < p->ncoll; i++)
    CHECK(q.coll[i].comm_key == p->coll[i].comm_key &&
          q.coll[i].count == p->coll[i].count);
  CHECK(q.nvars == 0 && q.nmsgs == 0 && q.ncounts == 0 && q.ndet == 0);
  mpisnap__part_clear(&q);
  CHECK(open_ids() == ids);
  rc = mpisnap__part_read_collectives(dir, &q, err, sizeof err);
  CHECK(rc < 0 && q.coll == NULL);

  /* Never overwrite: the file is created exclusively and left intact. */
  rc = mpisnap__part_write(path, p, err, sizeof err);
  CHECK_ERR(rc, MPISNAP_EINVAL, err, "rank-000000.h5", "exists");
  CHECK(mpisnap__part_read(path, &q, err, sizeof err) == 0);
  mpisnap__part_clear(&q);
  CHECK(open_ids() == ids);

  /* An empty part: no variables, no messages, every table empty. */
  mpisnap__part e = {.id = 1, .rank = 1, .nranks = 2};
  mpisnap__rank_filename(path, sizeof path, dir, 1);
  CHECK(mpisnap__part_write(path, &e, err, sizeof err) == 0);
  CHECK(mpisnap__part_read(path, &q, err, sizeof err) == 0);
  compare(&e, &q);
  mpisnap__part_clear(&q);
  CHECK(open_ids() == ids);

  /* Bad input is refused and leaves no file behind. */
  e.rank = 5;
  path_in(path, sizeof path, "bad.h5");
  CHECK(mpisnap__part_write(path, &e, err, sizeof err) == MPISNAP_EINVAL);
  CHECK(access(path, F_OK) != 0);
}

static void test_meta(void)
{
  mpisnap__meta m = {.id = 1, .parent = 0, .nranks = 2, .mode = 1,
                     .exact = 0, .total_bytes = 4242, .inflight_msgs = 10,
                     .early_msgs = 2, .markers = 2, .stall_seconds_max = 0.002,
                     .write_seconds_max = 0.75, .commit_seconds = 0.01};
  snprintf(m.program, sizeof m.program, "heat2d");
  snprintf(m.created, sizeof m.created, "2024-05-01T12:00:00Z");
  mpisnap__meta r;
  char err[512];
  long ids = open_ids();
  int rc = mpisnap__meta_write(dir, &m, err, sizeof err);
  if (rc != 0)
    fprintf(stderr, "meta_write: %s\n", err);
  CHECK(rc == 0);
  rc = mpisnap__meta_read(dir, &r, err, sizeof err);
  if (rc != 0)
    fprintf(stderr, "meta_read: %s\n", err);
  CHECK(rc == 0);
  CHECK(memcmp(&m, &r, sizeof m) == 0);
  CHECK(open_ids() == ids);
  CHECK(mpisnap__meta_write(dir, &m, err, sizeof err) == MPISNAP_EINVAL);
  rc = mpisnap__meta_read(top, &r, err, sizeof err);
  CHECK_ERR(rc, MPISNAP_ENOENT, err, "checkpoint.h5", "No such file");
  CHECK(open_ids() == ids);
}

static void test_corruption(void)
{
  char good[1200], bad[1200], cmd[2600];
  mpisnap__rank_filename(good, sizeof good, dir, 0);
  path_in(bad, sizeof bad, "corrupt.h5");

  /* One flipped bit of a variable's data. */
  CHECK(copy_file(good, bad) == 0);
  flip_byte(bad, dataset_offset(bad, "/vars/temperature") + 9);
  expect_read_error(bad, MPISNAP_ECORRUPT, "/vars/temperature",
                    "checksum mismatch");
  /* ... and of the channel payload. */
  CHECK(copy_file(good, bad) == 0);
  flip_byte(bad, dataset_offset(bad, "/channels/payload") + 5000);
  expect_read_error(bad, MPISNAP_ECORRUPT, "/channels/payload",
                    "checksum mismatch");
  /* A message table pointing outside its place in the payload. */
  CHECK(copy_file(good, bad) == 0);
  forge_offset(bad);
  expect_read_error(bad, MPISNAP_ECORRUPT, "/channels/messages", "message 1");
  /* Attributes that disagree with the data. */
  CHECK(copy_file(good, bad) == 0);
  set_attr_u64(bad, "/vars/u", "count", 1000000);
  expect_read_error(bad, MPISNAP_ECORRUPT, "/vars/u", "do not match");
  /* Tables of the wrong type or missing, a variable bigger than the file. */
  CHECK(copy_file(good, bad) == 0);
  forge(bad, 0);
  expect_read_error(bad, MPISNAP_ECORRUPT, "/channels/early", "table type");
  CHECK(copy_file(good, bad) == 0);
  forge(bad, 1);
  expect_read_error(bad, MPISNAP_ECORRUPT, "/channels/determinants",
                    "missing");
  CHECK(copy_file(good, bad) == 0);
  forge(bad, 2);
  expect_read_error(bad, MPISNAP_ECORRUPT, "/vars/huge", "cannot fit");

  /* Truncated: at half, and just before the end. */
  struct stat st;
  CHECK(stat(good, &st) == 0);
  for (int k = 0; k < 2; k++) {
    CHECK(copy_file(good, bad) == 0);
    CHECK(truncate(bad, k == 0 ? st.st_size / 2 : st.st_size - 1) == 0);
    mpisnap__part q;
    char err[512];
    int rc = mpisnap__part_read(bad, &q, err, sizeof err);
    CHECK(rc == MPISNAP_ECORRUPT || rc == MPISNAP_EFORMAT);
    CHECK(strstr(err, "corrupt.h5") != NULL);
    printf("  expected error: %s\n", err);
  }

  /* Not HDF5; HDF5 but not ours; ours but newer; the wrong kind; none. */
  path_in(bad, sizeof bad, "notes.txt");
  write_text(bad, "this is not an HDF5 file\n");
  expect_read_error(bad, MPISNAP_EFORMAT, "notes.txt", "not an HDF5 file");
  path_in(bad, sizeof bad, "other.h5");
  make_h5(bad, NULL, 1);
  expect_read_error(bad, MPISNAP_EFORMAT, "other.h5",
                    "not an mpisnap checkpoint");
  path_in(bad, sizeof bad, "future.h5");
  make_h5(bad, "mpisnap-rank", 99);
  expect_read_error(bad, MPISNAP_EFORMAT, "version 99", "version 1");
  path_in(bad, sizeof bad, "checkpoint.h5");
  expect_read_error(bad, MPISNAP_EFORMAT, "mpisnap-checkpoint",
                    "mpisnap-rank");
  path_in(bad, sizeof bad, "missing.h5");
  expect_read_error(bad, MPISNAP_ENOENT, "missing.h5", "No such file");

  /* Clean up the debris so the kept directory holds only a checkpoint. */
  static const char *const junk[] = {"corrupt.h5", "notes.txt", "other.h5",
                                     "future.h5"};
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
    path_in(cmd, sizeof cmd, junk[i]);
    unlink(cmd);
  }
}

static void test_listing(void)
{
  char d[1200], p[1300];
  snprintf(d, sizeof d, "%s/list", top);
  CHECK(mkdir(d, 0700) == 0);
  static const char *const dirs[] = {"ckpt-000001", "ckpt-000003",
                                     ".ckpt-000007.partial", "ckpt-12",
                                     "ckpt-000004.old", "ckpt-"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", d, dirs[i]);
    CHECK(mkdir(p, 0700) == 0);
  }
  snprintf(p, sizeof p, "%s/ckpt-000009", d); /* a file, not a checkpoint */
  write_text(p, "x");
  snprintf(p, sizeof p, "%s/junk", d);
  write_text(p, "x");
  uint64_t *ids = NULL;
  int n = mpisnap__list_committed(d, &ids);
  CHECK(n == 2 && ids != NULL && ids[0] == 1 && ids[1] == 3);
  free(ids);
  CHECK(mpisnap__max_id(d) == 7);
  snprintf(p, sizeof p, "%s/nonexistent", d);
  CHECK(mpisnap__list_committed(p, &ids) == 0 && ids == NULL);
  CHECK(mpisnap__max_id(p) == 0);

  char name[1200];
  mpisnap__ckpt_dirname(name, sizeof name, "/x", 12, 0);
  CHECK(strcmp(name, "/x/ckpt-000012") == 0);
  mpisnap__ckpt_dirname(name, sizeof name, "/x", 1234567, 1);
  CHECK(strcmp(name, "/x/.ckpt-1234567.partial") == 0);
  mpisnap__rank_filename(name, sizeof name, "/x/ckpt-000012", 3);
  CHECK(strcmp(name, "/x/ckpt-000012/rank-000003.h5") == 0);
}

static void remove_tree(const char *path)
{
  DIR *d = opendir(path);
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char sub[2048];
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      remove_tree(sub);
    }
    closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

int main(int argc, char **argv)
{
  int keep = argc > 1;
  if (keep) {
    snprintf(top, sizeof top, "%s", argv[1]);
    mkdir(top, 0700);
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(top, sizeof top, "%s/test_part.XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(top) == NULL) {
      perror("mkdtemp");
      return 2;
    }
  }
  mpisnap__ckpt_dirname(dir, sizeof dir, top, 1, 0);
  if (mkdir(dir, 0700) != 0) {
    perror(dir);
    return 2;
  }
  H5open();
  mpisnap__part p;
  build(&p, 0);
  test_crc();
  test_roundtrip(&p);
  test_meta();
  test_corruption();
  test_listing();
  mpisnap__part_clear(&p);
  if (!keep)
    remove_tree(top);
  if (failures) {
    fprintf(stderr, "test_part: %d check(s) failed\n", failures);
    return 1;
  }
  printf("test_part: all checks passed\n");
  return 0;
}
