/* Reading the rank file (layout in docs/FORMAT.md), at restart and in the
 * command-line tool, from files that may be truncated, damaged or forged,
 * so nothing read is trusted before it is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/h5part.h"
#include "format/h5table.h"
#include "format/h5util.h"
#include "format/part.h"
#include "mpisnap_errno.h"

static int get_root(mpisnap__h5 *h, mpisnap__part *p)
{
  char mode[32];
  if (mpisnap__h5_get_root(h, &mpisnap__rank_root, p, mode, sizeof mode))
    return h->rc;
  if (p->nranks < 1 || p->rank < 0 || p->rank >= p->nranks)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0, "/: rank %d of %d",
                            (int)p->rank, (int)p->nranks);
  return mpisnap__h5_check_mode(h, mode, p->mode);
}

/* The name of the i-th link of g, in creation order when the group keeps
 * it (ours do) and by name otherwise.  Longer names are refused. */
static int link_name(mpisnap__h5 *h, hid_t g, hsize_t i, char *name)
{
  ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i,
                                   NULL, 0, H5P_DEFAULT);
  H5_index_t idx = H5_INDEX_CRT_ORDER;
  if (len < 0) {
    idx = H5_INDEX_NAME;
    len = H5Lget_name_by_idx(g, ".", idx, H5_ITER_INC, i, NULL, 0,
                             H5P_DEFAULT);
  }
  if (len <= 0 || len >= MPISNAP_NAME_MAX)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, len < 0,
                            "group /vars: link %llu has a bad name",
                            (unsigned long long)i);
  if (H5Lget_name_by_idx(g, ".", idx, H5_ITER_INC, i, name, MPISNAP_NAME_MAX,
                         H5P_DEFAULT) != len)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1,
                            "group /vars: cannot read link %llu",
                            (unsigned long long)i);
  name[len] = '\0';
  return 0;
}

static int get_var_attrs(mpisnap__h5 *h, hid_t d, const char *obj,
                         mpisnap__var *v)
{
  mpisnap__h5_get_u64(h, d, obj, "count", &v->count);
  mpisnap__h5_get_i32(h, d, obj, "elem", &v->elem);
  mpisnap__h5_get_u64(h, d, obj, "bytes", &v->bytes);
  if (h->rc == 0 && v->elem == MPISNAP__ELEM_BYTES)
    mpisnap__h5_get_str(h, d, obj, "type_signature", v->type_sig,
                        sizeof v->type_sig);
  return h->rc;
}

/* Reads one variable: its attributes first, because they say which type to
 * read the data as, then the data, which must have the size they imply and
 * the checksum recorded. */
static int get_var(mpisnap__h5 *h, hid_t vars, hsize_t i, mpisnap__var *v)
{
  char obj[16 + MPISNAP_NAME_MAX];
  uint64_t n, want;
  size_t esize = 1;
  uint32_t crc = 0;
  hid_t d;
  if (link_name(h, vars, i, v->name) != 0)
    return h->rc;
  snprintf(obj, sizeof obj, "/vars/%s", v->name);
  if (mpisnap__h5_open_1d(h, vars, obj, v->name, &n, &d) != 0)
    return h->rc;
  if (get_var_attrs(h, d, obj, v) == 0 &&
      (!mpisnap__var_shape(v->elem, v->count, v->bytes, &want, &esize) ||
       n != want))
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0,
                     "dataset %s: %llu elements do not match attributes "
                     "count %llu, elem %d, bytes %llu", obj,
                     (unsigned long long)n, (unsigned long long)v->count,
                     v->elem, (unsigned long long)v->bytes);
  if (mpisnap__h5_read_1d(h, d, obj, mpisnap__elem_type(v->elem), esize, n,
                          &v->data, &crc) == 0 &&
      mpisnap__crc32c(0, v->data, (size_t)v->bytes) != crc)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0, "dataset %s: checksum mismatch",
                     obj);
  mpisnap__h5_drop(h, d);
  return h->rc;
}

static int get_vars(mpisnap__h5 *h, mpisnap__part *p)
{
  H5G_info_t info;
  hid_t g = H5Gopen2(h->file, "/vars", H5P_DEFAULT);
  if (g < 0 || H5Gget_info(g, &info) < 0) {
    mpisnap__h5_drop(h, g);
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1, "group /vars: cannot open");
  }
  /* The link count comes from the file: a forged one must not make us
   * allocate more than the file could possibly describe. */
  if (info.nlinks > h->filesize / 8)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0, "group /vars: %llu links cannot "
                     "fit in the file", (unsigned long long)info.nlinks);
  else if (info.nlinks > 0 &&
           (p->vars = calloc(info.nlinks, sizeof *p->vars)) == NULL)
    mpisnap__h5_fail(h, MPISNAP_ENOMEM, 0, "group /vars: out of memory");
  for (hsize_t i = 0; i < info.nlinks && h->rc == 0; i++) {
    /* Counted as soon as it is begun, so part_clear frees its data even if
     * reading it fails half way. */
    p->nvars = (size_t)i + 1;
    get_var(h, g, i, &p->vars[i]);
  }
  mpisnap__h5_drop(h, g);
  return h->rc;
}

/* Every message must lie inside the payload, the messages one after the
 * other in table order, and together cover it exactly. */
static int check_rows(mpisnap__h5 *h, const mpisnap__msgrow *rows, size_t n,
                      uint64_t plen)
{
  uint64_t off = 0;
  for (size_t i = 0; i < n; i++) {
    if (rows[i].offset != off || rows[i].bytes > plen - off)
      return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0,
                              "dataset /channels/messages: message %zu at "
                              "bytes %llu+%llu is not where the payload of "
                              "%llu bytes has it", i,
                              (unsigned long long)rows[i].offset,
                              (unsigned long long)rows[i].bytes,
                              (unsigned long long)plen);
    off += rows[i].bytes;
  }
  if (off != plen)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0,
                            "dataset /channels/payload: %llu bytes, messages "
                            "cover %llu", (unsigned long long)plen,
                            (unsigned long long)off);
  return 0;
}

/* Reads the bytes of messages [i, j) from the payload at off. */
static void get_window(mpisnap__h5 *h, hid_t d, mpisnap__part *p, size_t i,
                       size_t j, uint64_t off, unsigned char *buf)
{
  if (j == i + 1) {
    mpisnap__h5_slab(h, d, "/channels/payload", off, p->msgs[i].bytes,
                     p->msgs[i].data, 0);
    return;
  }
  uint64_t len = 0;
  for (size_t k = i; k < j; k++)
    len += p->msgs[k].bytes;
  if (mpisnap__h5_slab(h, d, "/channels/payload", off, len, buf, 0) != 0)
    return;
  for (size_t k = i, pos = 0; k < j; pos += (size_t)p->msgs[k++].bytes)
    if (p->msgs[k].bytes > 0)
      memcpy(p->msgs[k].data, buf + pos, (size_t)p->msgs[k].bytes);
}

static int alloc_msgs(mpisnap__h5 *h, mpisnap__part *p,
                      const mpisnap__msgrow *rows, size_t n)
{
  if (n > 0 && (p->msgs = calloc(n, sizeof *p->msgs)) == NULL)
    return mpisnap__h5_fail(h, MPISNAP_ENOMEM, 0, "out of memory");
  p->nmsgs = n;
  for (size_t i = 0; i < n; i++) {
    mpisnap__chanmsg *m = &p->msgs[i];
    *m = (mpisnap__chanmsg){rows[i].comm_key, rows[i].src, rows[i].dst,
                            rows[i].tag, rows[i].seq, rows[i].bytes, NULL};
    if (m->bytes > 0 && (m->data = malloc((size_t)m->bytes)) == NULL)
      return mpisnap__h5_fail(h, MPISNAP_ENOMEM, 0, "out of memory");
  }
  return 0;
}

static int get_payload(mpisnap__h5 *h, hid_t ch, mpisnap__part *p,
                       const mpisnap__msgrow *rows, size_t n)
{
  uint64_t plen;
  uint32_t want = 0, crc = 0;
  hid_t d;
  unsigned char *buf = NULL;
  if (mpisnap__h5_open_1d(h, ch, "/channels/payload", "payload", &plen, &d))
    return h->rc;
  if (mpisnap__h5_get_u32(h, d, "/channels/payload", "crc32c", &want) == 0 &&
      check_rows(h, rows, n, plen) == 0 && alloc_msgs(h, p, rows, n) == 0 &&
      plen > 0 &&
      (buf = malloc(plen < MPISNAP__WINDOW ? plen : MPISNAP__WINDOW)) == NULL)
    mpisnap__h5_fail(h, MPISNAP_ENOMEM, 0, "out of memory");
  for (size_t i = 0, j; i < n && h->rc == 0; i = j) {
    uint64_t len = p->msgs[i].bytes;
    for (j = i + 1; j < n && len + p->msgs[j].bytes <= MPISNAP__WINDOW; j++)
      len += p->msgs[j].bytes;
    get_window(h, d, p, i, j, rows[i].offset, buf);
  }
  for (size_t i = 0; i < n && h->rc == 0; i++)
    crc = mpisnap__crc32c(crc, p->msgs[i].data, (size_t)p->msgs[i].bytes);
  if (h->rc == 0 && crc != want)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0,
                     "dataset /channels/payload: checksum mismatch");
  free(buf);
  mpisnap__h5_drop(h, d);
  return h->rc;
}

/* Reads table t of /channels: its rows, or NULL (and *n 0) when it is
 * empty or cannot be read, which h records. */
static void *get_table(mpisnap__h5 *h, hid_t ch, const mpisnap__table *t,
                       size_t *n)
{
  void *rows = NULL;
  mpisnap__table_get(h, ch, t, &rows, n);
  return rows;
}

/* Reads the tables of /channels: all of them, or (whole == 0) only the
 * collectives, which is what the commit's check needs. */
static int get_channels(mpisnap__h5 *h, mpisnap__part *p, int whole)
{
  hid_t ch = H5Gopen2(h->file, "/channels", H5P_DEFAULT);
  if (ch < 0)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1,
                            "group /channels: cannot open");
  if (whole) {
    size_t n = 0;
    mpisnap__msgrow *rows = get_table(h, ch, &mpisnap__tab_messages, &n);
    if (h->rc == 0)
      get_payload(h, ch, p, rows, n);
    free(rows);
    p->counts = get_table(h, ch, &mpisnap__tab_counters, &p->ncounts);
    p->early = get_table(h, ch, &mpisnap__tab_early, &p->nearly);
  }
  p->coll = get_table(h, ch, &mpisnap__tab_collectives, &p->ncoll);
  if (whole)
    p->det = get_table(h, ch, &mpisnap__tab_determinants, &p->ndet);
  mpisnap__h5_drop(h, ch);
  return h->rc;
}

/* Read a rank file: all of it, or (whole == 0) its root and collectives. */
static int part_read(const char *path, mpisnap__part *p, char *err,
                     size_t errlen, int whole)
{
  mpisnap__h5 h;
  mpisnap__h5_begin(&h, path != NULL ? path : "(null)", err, errlen);
  if (path == NULL || p == NULL) {
    mpisnap__h5_fail(&h, MPISNAP_EINVAL, 0, "no path or part");
    return mpisnap__h5_end(&h);
  }
  memset(p, 0, sizeof *p);
  if (mpisnap__h5_open(&h, mpisnap__rank_root.format) == 0 &&
      get_root(&h, p) == 0 && (!whole || get_vars(&h, p) == 0))
    get_channels(&h, p, whole);
  mpisnap__h5_close(&h);
  if (h.rc != 0)
    mpisnap__part_clear(p);
  return mpisnap__h5_end(&h);
}

int mpisnap__part_read(const char *path, mpisnap__part *p, char *err,
                       size_t errlen)
{
  return part_read(path, p, err, errlen, 1);
}

int mpisnap__part_read_collectives(const char *path, mpisnap__part *p,
                                   char *err, size_t errlen)
{
  return part_read(path, p, err, errlen, 0);
}
