/* The checkpoint files themselves; see h5util.h.  Writing: create a file
 * with its disk space held, then flush, close and fsync it and its
 * directory.  Reading: open a file read-only and check that it is the
 * mpisnap file asked for.  The files are opened with the default sec2
 * driver and never with MPI-IO: the writer thread must not make MPI calls
 * (the program need not run with MPI_THREAD_MULTIPLE). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fallocate */
#endif
#include "format/h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "format/part.h"
#include "mpisnap_errno.h"

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

/* fsync of the file, so that its data survive a crash of the node. */
static int sync_file(mpisnap__h5 *h)
{
  int fd = open(h->path, O_RDONLY);
  if (fd < 0)
    return mpisnap__h5_fail(h, MPISNAP_EIO, 0, "cannot open %s to fsync: %s",
                            h->path, strerror(errno));
  int r = fsync(fd), e = errno;
  close(fd);
  if (r != 0)
    return mpisnap__h5_fail(h, MPISNAP_EIO, 0, "fsync of %s: %s", h->path,
                            strerror(e));
  return 0;
}

/* fsync of the file's directory, so that its entry survives too. */
static int sync_parent(mpisnap__h5 *h)
{
  char dir[4096] = ".";
  const char *slash = strrchr(h->path, '/');
  if (slash != NULL) {
    size_t len = slash == h->path ? 1 : (size_t)(slash - h->path);
    if (len >= sizeof dir)
      return mpisnap__h5_fail(h, MPISNAP_EINVAL, 0, "path too long");
    memcpy(dir, h->path, len);
    dir[len] = '\0';
  }
  if (mpisnap__fsync_dir(dir) != 0)
    return mpisnap__h5_fail(h, MPISNAP_EIO, 0, "fsync of %s: %s", dir,
                            strerror(errno));
  return 0;
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
  if (h->rc == 0 && sync_file(h) == 0)
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
  char detail[MPISNAP__H5_DETAIL_MAX] = "";
  if (h->file < 0)
    mpisnap__h5_detail(detail);
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
