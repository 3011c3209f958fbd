/* Writing the rank file: one rank's part of a checkpoint in serial HDF5
 * (layout in docs/FORMAT.md).  The writer thread calls it, so no MPI
 * calls; h5part_read.c reads the file back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/h5part.h"
#include "format/h5table.h"
#include "format/h5util.h"
#include "format/part.h"
#include "mpisnap_errno.h"

/* Names become HDF5 link names: no '/', not "." and not empty. */
static int valid_name(const char *name)
{
  size_t len = strnlen(name, MPISNAP_NAME_MAX);
  return len > 0 && len < MPISNAP_NAME_MAX && strchr(name, '/') == NULL &&
         strcmp(name, ".") != 0;
}

static int put_var(mpisnap__h5 *h, hid_t vars, const mpisnap__var *v)
{
  char obj[16 + MPISNAP_NAME_MAX];
  uint64_t n;
  size_t esize;
  if (!valid_name(v->name))
    return mpisnap__h5_fail(h, MPISNAP_EINVAL, 0, "bad variable name");
  snprintf(obj, sizeof obj, "/vars/%s", v->name);
  if (!mpisnap__var_shape(v->elem, v->count, v->bytes, &n, &esize) ||
      (v->bytes > 0 && v->data == NULL) ||
      (v->elem == MPISNAP__ELEM_BYTES &&
       strnlen(v->type_sig, sizeof v->type_sig) == sizeof v->type_sig))
    return mpisnap__h5_fail(h, MPISNAP_EINVAL, 0,
                            "dataset %s: inconsistent variable", obj);
  htri_t dup = H5Lexists(vars, v->name, H5P_DEFAULT);
  if (dup != 0)
    return mpisnap__h5_fail(h, dup > 0 ? MPISNAP_EINVAL : MPISNAP_EHDF5, 1,
                            "dataset %s: %s", obj,
                            dup > 0 ? "duplicate variable name" : "lookup");
  hid_t t = mpisnap__elem_type(v->elem), d;
  uint32_t crc = mpisnap__crc32c(0, v->data, (size_t)v->bytes);
  if (mpisnap__h5_put_1d(h, vars, obj, v->name, t, t, n, v->data, crc, &d))
    return h->rc;
  mpisnap__h5_put_u64(h, d, obj, "count", v->count);
  mpisnap__h5_put_i32(h, d, obj, "elem", v->elem);
  mpisnap__h5_put_u64(h, d, obj, "bytes", v->bytes);
  if (v->elem == MPISNAP__ELEM_BYTES)
    mpisnap__h5_put_str(h, d, obj, "type_signature", v->type_sig);
  mpisnap__h5_drop(h, d);
  return h->rc;
}

/* A group whose links remember their creation order, so variables come
 * back in the order the program protected them. */
static hid_t make_group(mpisnap__h5 *h, const char *name)
{
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g = H5I_INVALID_HID;
  if (gcpl >= 0 && H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED |
                                              H5P_CRT_ORDER_INDEXED) >= 0)
    g = H5Gcreate2(h->file, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
  if (g < 0)
    mpisnap__h5_fail(h, MPISNAP_EHDF5, 1, "group %s: cannot create", name);
  mpisnap__h5_drop(h, gcpl);
  return g;
}

/* Writes the bytes of messages [i, j) to the payload dataset at off:
 * through buf when there are several, straight from the message when one. */
static void put_window(mpisnap__h5 *h, hid_t d, const mpisnap__part *p,
                       size_t i, size_t j, uint64_t off, unsigned char *buf)
{
  if (j == i + 1) {
    mpisnap__h5_slab(h, d, "/channels/payload", off, p->msgs[i].bytes,
                     p->msgs[i].data, 1);
    return;
  }
  size_t pos = 0;
  for (size_t k = i; k < j; k++) {
    if (p->msgs[k].bytes > 0) /* a zero-byte message may have no buffer */
      memcpy(buf + pos, p->msgs[k].data, (size_t)p->msgs[k].bytes);
    pos += (size_t)p->msgs[k].bytes;
  }
  mpisnap__h5_slab(h, d, "/channels/payload", off, pos, buf, 1);
}

static int put_payload(mpisnap__h5 *h, hid_t ch, const mpisnap__part *p,
                       uint64_t total, uint32_t crc)
{
  hid_t d;
  unsigned char *buf =
      total > 0 ? malloc(total < MPISNAP__WINDOW ? total : MPISNAP__WINDOW)
                : NULL;
  if (total > 0 && buf == NULL)
    return mpisnap__h5_fail(h, MPISNAP_ENOMEM, 0, "out of memory");
  if (mpisnap__h5_put_1d(h, ch, "/channels/payload", "payload",
                         H5T_NATIVE_UCHAR, H5T_NATIVE_UCHAR, total, NULL, crc,
                         &d) == 0) {
    uint64_t off = 0;
    for (size_t i = 0, j; i < p->nmsgs && h->rc == 0; i = j) {
      uint64_t len = p->msgs[i].bytes;
      for (j = i + 1;
           j < p->nmsgs && len + p->msgs[j].bytes <= MPISNAP__WINDOW; j++)
        len += p->msgs[j].bytes;
      put_window(h, d, p, i, j, off, buf);
      off += len;
    }
    mpisnap__h5_drop(h, d);
  }
  free(buf);
  return h->rc;
}

static int put_messages(mpisnap__h5 *h, hid_t ch, const mpisnap__part *p)
{
  mpisnap__msgrow *rows = p->nmsgs ? calloc(p->nmsgs, sizeof *rows) : NULL;
  if (p->nmsgs > 0 && rows == NULL)
    return mpisnap__h5_fail(h, MPISNAP_ENOMEM, 0, "out of memory");
  uint64_t off = 0;
  uint32_t crc = 0;
  for (size_t i = 0; i < p->nmsgs; i++) {
    const mpisnap__chanmsg *m = &p->msgs[i];
    if (m->bytes > 0 && m->data == NULL) {
      free(rows);
      return mpisnap__h5_fail(h, MPISNAP_EINVAL, 0, "message %zu: no data", i);
    }
    rows[i] = (mpisnap__msgrow){m->comm_key, m->src, m->dst, m->tag, m->seq,
                                off, m->bytes};
    off += m->bytes;
    crc = mpisnap__crc32c(crc, m->data, (size_t)m->bytes);
  }
  mpisnap__table_put(h, ch, &mpisnap__tab_messages, rows, p->nmsgs);
  free(rows);
  return put_payload(h, ch, p, off, crc);
}

static int put_channels(mpisnap__h5 *h, const mpisnap__part *p)
{
  hid_t ch = make_group(h, "/channels");
  if (ch < 0)
    return h->rc;
  put_messages(h, ch, p);
  mpisnap__table_put(h, ch, &mpisnap__tab_counters, p->counts, p->ncounts);
  mpisnap__table_put(h, ch, &mpisnap__tab_early, p->early, p->nearly);
  mpisnap__table_put(h, ch, &mpisnap__tab_collectives, p->coll, p->ncoll);
  mpisnap__table_put(h, ch, &mpisnap__tab_determinants, p->det, p->ndet);
  mpisnap__h5_drop(h, ch);
  return h->rc;
}

static int check_part(mpisnap__h5 *h, const mpisnap__part *p)
{
  if (p->nranks < 1 || p->rank < 0 || p->rank >= p->nranks ||
      p->mode < 0 || p->mode > 1 ||
      strnlen(p->program, sizeof p->program) == sizeof p->program ||
      (p->nvars > 0 && p->vars == NULL) || (p->nmsgs > 0 && p->msgs == NULL) ||
      (p->ncounts > 0 && p->counts == NULL) ||
      (p->nearly > 0 && p->early == NULL) || (p->ncoll > 0 && p->coll == NULL)
      || (p->ndet > 0 && p->det == NULL))
    return mpisnap__h5_fail(h, MPISNAP_EINVAL, 0, "inconsistent part");
  return 0;
}

/* More than the rank file can take: the data, HDF5's object headers and
 * attributes (a few KiB an object), 128 bytes a table row (the widest row
 * takes 64), and 64 KiB for the superblock, the groups and the rest. */
static uint64_t space_needed(const mpisnap__part *p)
{
  uint64_t need = 64 * 1024;
  for (size_t i = 0; i < p->nvars; i++)
    need += p->vars[i].bytes + 8192;
  for (size_t i = 0; i < p->nmsgs; i++)
    need += p->msgs[i].bytes + 256;
  need += 128 * (uint64_t)(p->ncounts + p->nearly + p->ncoll + p->ndet);
  return need + 8 * 8192; /* the tables and the message index */
}

int mpisnap__part_write(const char *path, const mpisnap__part *p, char *err,
                        size_t errlen)
{
  mpisnap__h5 h;
  mpisnap__h5_begin(&h, path != NULL ? path : "(null)", err, errlen);
  if (path == NULL || p == NULL) {
    mpisnap__h5_fail(&h, MPISNAP_EINVAL, 0, "no path or part");
    return mpisnap__h5_end(&h);
  }
  if (check_part(&h, p) == 0 && mpisnap__h5_create(&h, space_needed(p)) == 0 &&
      mpisnap__h5_put_root(&h, &mpisnap__rank_root, p) == 0) {
    hid_t vars = make_group(&h, "/vars");
    for (size_t i = 0; i < p->nvars && h.rc == 0; i++)
      put_var(&h, vars, &p->vars[i]);
    mpisnap__h5_drop(&h, vars);
    put_channels(&h, p);
  }
  mpisnap__h5_finish_write(&h);
  return mpisnap__h5_end(&h);
}
