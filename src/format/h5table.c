/* Compound tables of the rank file (/channels/messages, counters, early,
 * collectives, determinants): their HDF5 types and their checksums, both
 * derived from one field list per table so they cannot disagree.
 *
 * The checksum of a table is the CRC-32C of its records packed in field
 * order, every field little-endian and without padding: exactly the bytes
 * of the dataset in the file, and independent of the compiler's struct
 * layout, so another tool can recompute it. */
#include "format/h5table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpisnap_errno.h"

#define FIELD(T, m, sgn) { #m, offsetof(T, m), sizeof(((T *)0)->m), sgn }

static const mpisnap__field msg_fields[] = {
  FIELD(mpisnap__msgrow, comm_key, 0), FIELD(mpisnap__msgrow, src, 1),
  FIELD(mpisnap__msgrow, dst, 1),      FIELD(mpisnap__msgrow, tag, 1),
  FIELD(mpisnap__msgrow, seq, 0),      FIELD(mpisnap__msgrow, offset, 0),
  FIELD(mpisnap__msgrow, bytes, 0),
};
static const mpisnap__field count_fields[] = {
  FIELD(mpisnap__chancount, comm_key, 0),
  FIELD(mpisnap__chancount, peer, 1),
  FIELD(mpisnap__chancount, dir, 1),
  FIELD(mpisnap__chancount, sent_before_record, 0),
  FIELD(mpisnap__chancount, consumed_before_record, 0),
  FIELD(mpisnap__chancount, logged, 0),
  FIELD(mpisnap__chancount, early, 0),
};
static const mpisnap__field early_fields[] = {
  FIELD(mpisnap__early, comm_key, 0), FIELD(mpisnap__early, src, 1),
  FIELD(mpisnap__early, dst, 1),      FIELD(mpisnap__early, index, 0),
};
static const mpisnap__field coll_fields[] = {
  FIELD(mpisnap__collcount, comm_key, 0),
  FIELD(mpisnap__collcount, count, 0),
};
static const mpisnap__field det_fields[] = {
  FIELD(mpisnap__determinant, kind, 1), FIELD(mpisnap__determinant, a, 1),
  FIELD(mpisnap__determinant, b, 1),    FIELD(mpisnap__determinant, c, 1),
};

#define TABLE(name, T, f) { name, sizeof(T), sizeof f / sizeof f[0], f }

const mpisnap__table mpisnap__tab_messages =
  TABLE("messages", mpisnap__msgrow, msg_fields);
const mpisnap__table mpisnap__tab_counters =
  TABLE("counters", mpisnap__chancount, count_fields);
const mpisnap__table mpisnap__tab_early =
  TABLE("early", mpisnap__early, early_fields);
const mpisnap__table mpisnap__tab_collectives =
  TABLE("collectives", mpisnap__collcount, coll_fields);
const mpisnap__table mpisnap__tab_determinants =
  TABLE("determinants", mpisnap__determinant, det_fields);

/* Every field is a 32- or 64-bit integer. */
static hid_t mem_int(const mpisnap__field *f)
{
  if (f->size == 4)
    return f->sgn ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32;
  return f->sgn ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
}

static hid_t file_int(const mpisnap__field *f)
{
  if (f->size == 4)
    return f->sgn ? H5T_STD_I32LE : H5T_STD_U32LE;
  return f->sgn ? H5T_STD_I64LE : H5T_STD_U64LE;
}

static size_t packed_size(const mpisnap__table *t)
{
  size_t s = 0;
  for (size_t i = 0; i < t->nf; i++)
    s += t->f[i].size;
  return s;
}

hid_t mpisnap__table_type(const mpisnap__table *t, int file)
{
  hid_t ct = H5Tcreate(H5T_COMPOUND, file ? packed_size(t) : t->rec);
  size_t off = 0;
  for (size_t i = 0; i < t->nf && ct >= 0; i++) {
    const mpisnap__field *f = &t->f[i];
    if (H5Tinsert(ct, f->name, file ? off : f->off,
                  file ? file_int(f) : mem_int(f)) < 0) {
      (void)H5Tclose(ct); /* already failing: the insert is what we report */
      ct = H5I_INVALID_HID;
    }
    off += f->size;
  }
  return ct;
}

uint32_t mpisnap__table_crc(const mpisnap__table *t, const void *rows,
                            size_t n)
{
  uint32_t crc = 0;
  const unsigned char *r = rows;
  for (size_t k = 0; k < n; k++, r += t->rec) {
    unsigned char rec[128];
    size_t pos = 0;
    for (size_t i = 0; i < t->nf; i++) {
      const mpisnap__field *f = &t->f[i];
      uint64_t v;
      if (f->size == 4) {
        uint32_t v32;
        memcpy(&v32, r + f->off, 4);
        v = v32;
      } else {
        memcpy(&v, r + f->off, 8);
      }
      for (size_t b = 0; b < f->size; b++)
        rec[pos++] = (unsigned char)(v >> (8 * b));
    }
    crc = mpisnap__crc32c(crc, rec, pos);
  }
  return crc;
}

/* A table read from a file must have exactly our fields, each an integer
 * of the right size and signedness. */
static int check_type(mpisnap__h5 *h, hid_t d, const char *obj,
                      const mpisnap__table *t)
{
  hid_t ft = H5Dget_type(d);
  int ok = ft >= 0 && H5Tget_class(ft) == H5T_COMPOUND &&
           H5Tget_nmembers(ft) == (int)t->nf;
  for (size_t i = 0; ok && i < t->nf; i++) {
    int idx = H5Tget_member_index(ft, t->f[i].name);
    hid_t mt = idx >= 0 ? H5Tget_member_type(ft, (unsigned)idx)
                        : H5I_INVALID_HID;
    ok = mt >= 0 && H5Tget_class(mt) == H5T_INTEGER &&
         H5Tget_size(mt) == t->f[i].size &&
         H5Tget_sign(mt) == (t->f[i].sgn ? H5T_SGN_2 : H5T_SGN_NONE);
    mpisnap__h5_drop(h, mt);
  }
  mpisnap__h5_drop(h, ft);
  if (!ok)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0,
                            "dataset %s: not the %s table type (%zu "
                            "integer fields)", obj, t->name, t->nf);
  return h->rc;
}

int mpisnap__table_put(mpisnap__h5 *h, hid_t loc, const mpisnap__table *t,
                       const void *rows, size_t n)
{
  char obj[80];
  snprintf(obj, sizeof obj, "/channels/%s", t->name);
  if (h->rc != 0)
    return h->rc;
  hid_t mt = mpisnap__table_type(t, 0), ft = mpisnap__table_type(t, 1);
  if (mt < 0 || ft < 0)
    mpisnap__h5_fail(h, MPISNAP_EHDF5, 1, "dataset %s: cannot make its type",
                     obj);
  else
    mpisnap__h5_put_1d(h, loc, obj, t->name, ft, mt, n, rows,
                       mpisnap__table_crc(t, rows, n), NULL);
  mpisnap__h5_drop(h, ft);
  mpisnap__h5_drop(h, mt);
  return h->rc;
}

int mpisnap__table_get(mpisnap__h5 *h, hid_t loc, const mpisnap__table *t,
                       void **rows, size_t *n)
{
  char obj[80];
  snprintf(obj, sizeof obj, "/channels/%s", t->name);
  *rows = NULL;
  *n = 0;
  if (h->rc != 0)
    return h->rc;
  hid_t mt = mpisnap__table_type(t, 0), d = H5I_INVALID_HID;
  uint64_t cnt = 0;
  uint32_t crc = 0;
  if (mt < 0)
    return mpisnap__h5_fail(h, MPISNAP_EHDF5, 1,
                            "dataset %s: cannot make its type", obj);
  /* The type is checked before reading: HDF5 would otherwise fill missing
   * members with zeros or fail with a less helpful message. */
  if (mpisnap__h5_open_1d(h, loc, obj, t->name, &cnt, &d) == 0 &&
      check_type(h, d, obj, t) == 0 &&
      mpisnap__h5_read_1d(h, d, obj, mt, t->rec, cnt, rows, &crc) == 0 &&
      mpisnap__table_crc(t, *rows, (size_t)cnt) != crc)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0, "dataset %s: checksum mismatch",
                     obj);
  mpisnap__h5_drop(h, d);
  mpisnap__h5_drop(h, mt);
  if (h->rc != 0) {
    free(*rows);
    *rows = NULL;
    return h->rc;
  }
  *n = (size_t)cnt;
  return 0;
}
