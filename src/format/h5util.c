/* Checked HDF5 helpers for the checkpoint files; see h5util.h.  The files
 * are opened with the default sec2 driver and never with MPI-IO: the
 * writer thread must not make MPI calls (the program need not run with
 * MPI_THREAD_MULTIPLE). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fallocate */
#endif
#include "format/h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

#define DETAIL_MAX 160

/* Keeps the description of the innermost HDF5 error, the one that says
 * what was actually wrong ("truncated file", "bad object header ..."). */
static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data)
{
  if (n == 0 && e->desc != NULL)
    snprintf(data, DETAIL_MAX, "%s", e->desc);
  return 0;
}

static void hdf5_detail(char *buf)
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
  char what[512], detail[DETAIL_MAX] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (with_hdf5)
    hdf5_detail(detail);
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

/* --- Files ---------------------------------------------------------------- */

/* File access: the sec2 driver (POSIX read/write, no MPI-IO), objects in the
 * HDF5 1.8 format, whose object headers and superblock carry HDF5's own
 * checksums (the 1.6 defaults have none), and SEMI close, so that closing
 * the file fails instead of silently leaving it open if an object were
 * still open: then the fsync that follows would miss data. */
static hid_t make_fapl(mpisnap__h5 *h)
{
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0 || H5Pset_fapl_sec2(fapl) < 0 ||
      H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
      H5Pset_fclose_degree(fapl, H5F_CLOSE_SEMI) < 0) {
    mpisnap__h5_fail(h, MPISNAP_EHDF5, 1, "cannot set up file access");
    mpisnap__h5_drop(h, fapl);
    return H5I_INVALID_HID;
  }
  return fapl;
}

/* Why space is held before HDF5 writes: when a write of HDF5 1.10 fails
 * for want of space, the file's H5Fclose fails too and leaves an identifier
 * to a file that is half torn down, on which HDF5's own shutdown (in
 * MPI_Finalize) then crashes.  So no HDF5 write may meet a full disk.
 *
 * The space is held in the file itself, by fallocate with KEEP_SIZE on
 * HDF5's descriptor: HDF5 sees an empty file and its writes land in blocks
 * already allocated.  A side file holds the same space first, so that a
 * disk without room fails before HDF5 has anything to close; it shrinks to
 * a little slack while the file takes the space over, and that slack is
 * what lets HDF5 close the file should another process take the space in
 * between.  Where the file system cannot allocate ahead (EOPNOTSUPP), the
 * side file's check is all there is. */
enum { SLACK = 256 * 1024 };

static int hold_space(int fd, uint64_t need)
{
  int r = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)need);
  if (r != 0 && (errno == EOPNOTSUPP || errno == ENOSYS))
    return 0;
  return r != 0 ? errno : 0;
}

int mpisnap__h5_create(mpisnap__h5 *h, uint64_t need)
{
  char side[4200];
  int sfd = -1, e;

  if (snprintf(side, sizeof side, "%s.space", h->path) >= (int)sizeof side)
    return mpisnap__h5_fail(h, MPISNAP_EINVAL, 0, "path too long");
  sfd = open(side, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  if (sfd < 0)
    return mpisnap__h5_fail(h, MPISNAP_EIO, 0, "cannot create %s: %s", side,
                            strerror(errno));
  if ((e = hold_space(sfd, need)) != 0) {
    close(sfd);
    unlink(side);
    return mpisnap__h5_fail(h, MPISNAP_EIO, 0,
                            "%s while reserving %llu bytes for the file",
                            strerror(e), (unsigned long long)need);
  }

  hid_t fapl = make_fapl(h);
  if (fapl >= 0) {
    h->file = H5Fcreate(h->path, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
    if (h->file < 0) {
      e = errno;
      if (access(h->path, F_OK) == 0)
        mpisnap__h5_fail(h, MPISNAP_EINVAL, 0, "cannot create: file exists");
      else
        mpisnap__h5_fail(h, MPISNAP_EIO, 1, "cannot create file: %s",
                         strerror(e));
    } else {
      h->created = 1;
    }
  }
  if (h->rc == 0) {
    void *handle = NULL;
    if (H5Fget_vfd_handle(h->file, fapl, &handle) < 0 || handle == NULL) {
      mpisnap__h5_fail(h, MPISNAP_EHDF5, 1, "cannot get the file descriptor");
    } else if (ftruncate(sfd, 0) != 0 || hold_space(sfd, SLACK) != 0 ||
               (e = hold_space(*(int *)handle, need)) != 0) {
      mpisnap__h5_fail(h, MPISNAP_EIO, 0,
                       "%s while reserving %llu bytes for the file",
                       strerror(e != 0 ? e : ENOSPC), (unsigned long long)need);
    } else {
      h->reserved = need;
    }
  }
  mpisnap__h5_drop(h, fapl);
  /* The slack goes now, before any HDF5 flush can need it. */
  close(sfd);
  unlink(side);
  return h->rc;
}

/* Gives back what the file held beyond its end. */
static void release_space(mpisnap__h5 *h)
{
  struct stat st;
  int fd;

  if (h->reserved == 0 || (fd = open(h->path, O_WRONLY | O_CLOEXEC)) < 0)
    return;
  if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < h->reserved)
    (void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    st.st_size, (off_t)(h->reserved - (uint64_t)st.st_size));
  close(fd);
}

/* fsync of path (a file, or with dir set a directory), so the data and
 * the directory entry survive a crash of the node. */
static int sync_path(mpisnap__h5 *h, const char *path, int dir)
{
  int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0)
    return mpisnap__h5_fail(h, MPISNAP_EIO, 0, "cannot open %s to fsync: %s",
                            path, strerror(errno));
  int r = fsync(fd), e = errno;
  close(fd);
  if (r != 0)
    return mpisnap__h5_fail(h, MPISNAP_EIO, 0, "fsync of %s: %s", path,
                            strerror(e));
  return 0;
}

static int sync_parent(mpisnap__h5 *h)
{
  char dir[4096];
  const char *slash = strrchr(h->path, '/');
  if (slash == NULL)
    return sync_path(h, ".", 1);
  size_t len = slash == h->path ? 1 : (size_t)(slash - h->path);
  if (len >= sizeof dir)
    return mpisnap__h5_fail(h, MPISNAP_EINVAL, 0, "path too long");
  memcpy(dir, h->path, len);
  dir[len] = '\0';
  return sync_path(h, dir, 1);
}

int mpisnap__h5_finish_write(mpisnap__h5 *h)
{
  if (h->file >= 0) {
    if (h->rc == 0 && H5Fflush(h->file, H5F_SCOPE_LOCAL) < 0)
      mpisnap__h5_fail(h, MPISNAP_EIO, 1, "cannot flush");
    if (H5Fclose(h->file) < 0)
      mpisnap__h5_fail(h, MPISNAP_EIO, 1, "cannot close");
    h->file = H5I_INVALID_HID;
  }
  if (h->rc == 0)
    release_space(h);
  if (h->rc == 0 && sync_path(h, h->path, 0) == 0)
    sync_parent(h);
  /* A half-written file must not stay behind: a retry creates it again
   * with EXCL, and a reader must never mistake it for a good one. */
  if (h->rc != 0 && h->created)
    (void)unlink(h->path);
  return h->rc;
}

/* Why h->path cannot be opened, as precisely as can be told; detail is
 * what HDF5 said when the open failed. */
static int open_failure(mpisnap__h5 *h, const char *detail)
{
  struct stat st;
  if (stat(h->path, &st) != 0)
    return mpisnap__h5_fail(h, errno == ENOENT ? MPISNAP_ENOENT : MPISNAP_EIO,
                            0, "%s", strerror(errno));
  if (!S_ISREG(st.st_mode))
    return mpisnap__h5_fail(h, MPISNAP_EFORMAT, 0, "not a regular file");
  htri_t is = H5Fis_hdf5(h->path);
  if (is == 0)
    return mpisnap__h5_fail(h, MPISNAP_EFORMAT, 0, "not an HDF5 file");
  if (is < 0) /* Not even its signature could be read: unreadable. */
    return mpisnap__h5_fail(h, MPISNAP_EIO, 0, "cannot read%s%s",
                            detail[0] ? ": HDF5: " : "", detail);
  /* The HDF5 signature is there but the file does not open: typically a
   * truncated or overwritten checkpoint. */
  return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0,
                          "damaged HDF5 file (truncated?), cannot open%s%s",
                          detail[0] ? ": HDF5: " : "", detail);
}

static int check_format(mpisnap__h5 *h, const char *format)
{
  char value[64];
  htri_t has = H5Aexists(h->file, "mpisnap_format");
  if (has < 0)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1, "cannot read the root group");
  if (has == 0)
    return mpisnap__h5_fail(h, MPISNAP_EFORMAT, 0,
                            "not an mpisnap checkpoint (no attribute "
                            "/mpisnap_format)");
  if (mpisnap__h5_get_str(h, h->file, "/", "mpisnap_format", value,
                          sizeof value) != 0)
    return h->rc;
  if (strcmp(value, format) != 0)
    return mpisnap__h5_fail(h, MPISNAP_EFORMAT, 0,
                            "mpisnap_format is \"%s\", expected \"%s\"", value,
                            format);
  int32_t version;
  if (mpisnap__h5_get_i32(h, h->file, "/", "format_version", &version) != 0)
    return h->rc;
  if (version > MPISNAP_FORMAT_VERSION)
    return mpisnap__h5_fail(h, MPISNAP_EFORMAT, 0,
                            "format version %d is newer than this library's "
                            "version %d", (int)version, MPISNAP_FORMAT_VERSION);
  if (version < 1)
    return mpisnap__h5_fail(h, MPISNAP_EFORMAT, 0, "bad format version %d",
                            (int)version);
  return 0;
}

int mpisnap__h5_open(mpisnap__h5 *h, const char *format)
{
  hid_t fapl = make_fapl(h);
  if (fapl < 0)
    return h->rc;
  h->file = H5Fopen(h->path, H5F_ACC_RDONLY, fapl);
  char detail[DETAIL_MAX] = "";
  if (h->file < 0)
    hdf5_detail(detail);
  mpisnap__h5_drop(h, fapl);
  if (h->file < 0)
    return open_failure(h, detail);
  if (H5Fget_filesize(h->file, &h->filesize) < 0)
    return mpisnap__h5_fail(h, MPISNAP_EIO, 1, "cannot get the file size");
  return check_format(h, format);
}

void mpisnap__h5_close(mpisnap__h5 *h)
{
  if (h->file >= 0 && H5Fclose(h->file) < 0)
    mpisnap__h5_fail(h, MPISNAP_EHDF5, 1, "cannot close");
  h->file = H5I_INVALID_HID;
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
