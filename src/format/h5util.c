/* Checked HDF5 helpers for the checkpoint files; see h5util.h: the
 * context (lock, errors) and 1-D datasets.  Creating, finishing and opening
 * the files themselves is in h5file.c. */
#include "format/h5util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/part.h"
#include "mpisnap_errno.h"

/* --- Context and errors --------------------------------------------------- */

/* The HDF5 that parallel builds ship is not thread-safe (Debian's reports
 * "Threadsafety: no"), yet the writer thread writes rank files while the
 * main thread may read them (restart, the commit's checks).  Every entry
 * point of these files holds this lock from mpisnap__h5_begin to
 * mpisnap__h5_end, so our own HDF5 calls never overlap. */
static pthread_mutex_t h5_lock = PTHREAD_MUTEX_INITIALIZER;

int mpisnap__part_io_init(void)
{
  pthread_mutex_lock(&h5_lock);
  herr_t r = H5open();
  pthread_mutex_unlock(&h5_lock);
  return r < 0 ? MPISNAP_EHDF5 : 0;
}

void mpisnap__h5_begin(mpisnap__h5 *h, const char *path, char *err,
                       size_t errlen)
{
  pthread_mutex_lock(&h5_lock);
  memset(h, 0, sizeof *h);
  h->path = path;
  h->err = err;
  h->errlen = errlen;
  h->file = H5I_INVALID_HID;
  if (err != NULL && errlen > 0)
    err[0] = '\0';
  /* A library must not print HDF5's error stacks on the user's terminal:
   * every failure is reported through the return code and err instead. */
  if (H5Eget_auto2(H5E_DEFAULT, &h->old_func, &h->old_data) < 0) {
    h->old_func = NULL;
    h->old_data = NULL;
  }
  (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

int mpisnap__h5_end(mpisnap__h5 *h)
{
  /* Restoring can only fail if HDF5 is broken; nothing to report it to. */
  (void)H5Eset_auto2(H5E_DEFAULT, h->old_func, h->old_data);
  int rc = h->rc;
  pthread_mutex_unlock(&h5_lock);
  return rc;
}

/* Keeps the description of the innermost HDF5 error, the one that says
 * what was actually wrong ("truncated file", "bad object header ..."). */
static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data)
{
  if (n == 0 && e->desc != NULL)
    snprintf(data, MPISNAP__H5_DETAIL_MAX, "%s", e->desc);
  return 0;
}

void mpisnap__h5_detail(char *buf)
{
  buf[0] = '\0';
  (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, buf);
}

int mpisnap__h5_fail(mpisnap__h5 *h, int code, int with_hdf5, const char *fmt,
                     ...)
{
  if (h->rc != 0)
    return h->rc;
  h->rc = code;
  if (h->err == NULL || h->errlen == 0)
    return code;
  char what[512], detail[MPISNAP__H5_DETAIL_MAX] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (with_hdf5)
    mpisnap__h5_detail(detail);
  snprintf(h->err, h->errlen, "%s: %s%s%s", h->path, what,
           detail[0] ? ": HDF5: " : "", detail);
  return code;
}

void mpisnap__h5_drop(mpisnap__h5 *h, hid_t id)
{
  if (id < 0)
    return;
  herr_t r;
  switch (H5Iget_type(id)) {
  case H5I_FILE: r = H5Fclose(id); break;
  case H5I_GROUP: r = H5Gclose(id); break;
  case H5I_DATASET: r = H5Dclose(id); break;
  case H5I_ATTR: r = H5Aclose(id); break;
  case H5I_DATASPACE: r = H5Sclose(id); break;
  case H5I_DATATYPE: r = H5Tclose(id); break;
  case H5I_GENPROP_LST: r = H5Pclose(id); break;
  default: r = -1; break;
  }
  if (r < 0)
    mpisnap__h5_fail(h, MPISNAP_EHDF5, 1, "cannot close an HDF5 object");
}

/* --- 1-D datasets --------------------------------------------------------- */

int mpisnap__h5_put_1d(mpisnap__h5 *h, hid_t loc, const char *obj,
                       const char *name, hid_t ftype, hid_t mtype, uint64_t n,
                       const void *buf, uint32_t crc, hid_t *dset)
{
  if (dset != NULL)
    *dset = H5I_INVALID_HID;
  if (h->rc != 0)
    return h->rc;
  /* Contiguous even when empty: HDF5 1.10 stores a 0-element contiguous
   * dataset and h5dump shows it as "SIMPLE { ( 0 ) / ( 0 ) }", and a
   * contiguous dataset has one file offset (H5Dget_offset), which lets
   * tools and tests find its bytes. */
  hsize_t dims = (hsize_t)n;
  hid_t space = H5Screate_simple(1, &dims, &dims);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), d = H5I_INVALID_HID;
  if (space >= 0 && dcpl >= 0 && H5Pset_layout(dcpl, H5D_CONTIGUOUS) >= 0)
    d = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d < 0)
    mpisnap__h5_fail(h, MPISNAP_EHDF5, 1, "dataset %s: cannot create", obj);
  else if (n > 0 && buf != NULL &&
           H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
    mpisnap__h5_fail(h, MPISNAP_EIO, 1, "dataset %s: cannot write", obj);
  else
    mpisnap__h5_put_u32(h, d, obj, "crc32c", crc);
  mpisnap__h5_drop(h, dcpl);
  mpisnap__h5_drop(h, space);
  if (dset != NULL && h->rc == 0)
    *dset = d;
  else
    mpisnap__h5_drop(h, d);
  return h->rc;
}

/* The number of elements of a dataset that must be 1-D or empty, and the
 * size of one element in the file. */
static int extent_1d(mpisnap__h5 *h, hid_t d, const char *obj, uint64_t *n,
                     size_t *fsize)
{
  hid_t space = H5Dget_space(d), ft = H5Dget_type(d);
  H5S_class_t cls = space >= 0 ? H5Sget_simple_extent_type(space)
                               : H5S_NO_CLASS;
  hsize_t dims = 0;
  int ok = cls == H5S_NULL ||
           (cls == H5S_SIMPLE && H5Sget_simple_extent_ndims(space) == 1 &&
            H5Sget_simple_extent_dims(space, &dims, NULL) == 1);
  *fsize = ft >= 0 ? H5Tget_size(ft) : 0;
  mpisnap__h5_drop(h, ft);
  mpisnap__h5_drop(h, space);
  if (!ok || *fsize == 0)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1,
                            "dataset %s: not a one-dimensional array", obj);
  *n = dims;
  return h->rc;
}

int mpisnap__h5_open_1d(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, uint64_t *n, hid_t *dset)
{
  *n = 0;
  *dset = H5I_INVALID_HID;
  if (h->rc != 0)
    return h->rc;
  htri_t has = H5Lexists(loc, name, H5P_DEFAULT);
  if (has <= 0)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, has < 0, "dataset %s: %s",
                            obj, has < 0 ? "unreadable" : "missing");
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  if (d < 0)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1, "dataset %s: cannot open",
                            obj);
  size_t fsize = 0;
  /* A forged dimension must not make us allocate more memory than the file
   * is big: n elements of the file type have to fit in the file. */
  if (extent_1d(h, d, obj, n, &fsize) == 0 && *n > h->filesize / fsize)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0,
                     "dataset %s: %llu elements cannot fit in the file", obj,
                     (unsigned long long)*n);
  if (h->rc != 0) {
    mpisnap__h5_drop(h, d);
    *n = 0;
    return h->rc;
  }
  *dset = d;
  return 0;
}

int mpisnap__h5_read_1d(mpisnap__h5 *h, hid_t d, const char *obj,
                        hid_t mtype, size_t msize, uint64_t n, void **buf,
                        uint32_t *crc)
{
  *buf = NULL;
  if (h->rc != 0)
    return h->rc;
  if (n > SIZE_MAX / msize)
    mpisnap__h5_fail(h, MPISNAP_ENOMEM, 0, "dataset %s: too big", obj);
  else if (n > 0 && (*buf = calloc((size_t)n, msize)) == NULL)
    mpisnap__h5_fail(h, MPISNAP_ENOMEM, 0, "dataset %s: out of memory", obj);
  else if (n > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf) < 0)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1, "dataset %s: cannot read", obj);
  else
    mpisnap__h5_get_u32(h, d, obj, "crc32c", crc);
  if (h->rc != 0) {
    free(*buf);
    *buf = NULL;
  }
  return h->rc;
}

int mpisnap__h5_slab(mpisnap__h5 *h, hid_t d, const char *obj, uint64_t off,
                     uint64_t len, void *buf, int write)
{
  if (h->rc != 0 || len == 0)
    return h->rc;
  hsize_t start = (hsize_t)off, count = (hsize_t)len;
  hid_t fs = H5Dget_space(d);
  hid_t ms = H5Screate_simple(1, &count, NULL);
  herr_t r = -1;
  if (fs >= 0 && ms >= 0 &&
      H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL) >= 0)
    r = write ? H5Dwrite(d, H5T_NATIVE_UCHAR, ms, fs, H5P_DEFAULT, buf)
              : H5Dread(d, H5T_NATIVE_UCHAR, ms, fs, H5P_DEFAULT, buf);
  if (r < 0)
    mpisnap__h5_fail(h, write ? MPISNAP_EIO : MPISNAP_ECORRUPT, 1,
                     "dataset %s: cannot %s bytes %llu..%llu", obj,
                     write ? "write" : "read", (unsigned long long)off,
                     (unsigned long long)(off + len));
  mpisnap__h5_drop(h, ms);
  mpisnap__h5_drop(h, fs);
  return h->rc;
}
