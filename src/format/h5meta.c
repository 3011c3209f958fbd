/* The master file checkpoint.h5 of a checkpoint directory: the global
 * attributes of the checkpoint, and under /ranks an external link to each
 * rank file's root, so that h5ls/h5dump on this one file show every rank's
 * data (layout in docs/FORMAT.md).  No MPI calls. */
#include <stdio.h>
#include <string.h>

#include "format/h5util.h"
#include "format/part.h"
#include "mpisnap_errno.h"

#define META_FILE "checkpoint.h5"

static void meta_path(char *out, size_t len, const char *dir)
{
  snprintf(out, len, "%s/" META_FILE, dir);
}

/* The link name and target file of rank r.  The target is relative: HDF5
 * looks it up in the master file's own directory, so the checkpoint
 * directory can be renamed (the commit does) or moved as a whole. */
static void rank_link(int r, char *name, size_t nlen, char *file, size_t flen)
{
  snprintf(name, nlen, "%06d", r);
  snprintf(file, flen, "rank-%06d.h5", r);
}

static int put_links(mpisnap__h5 *h, int nranks)
{
  hid_t g = H5Gcreate2(h->file, "/ranks", H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT);
  if (g < 0)
    return mpisnap__h5_fail(h, MPISNAP_EHDF5, 1, "group /ranks: cannot create");
  for (int r = 0; r < nranks && h->rc == 0; r++) {
    char name[16], file[32];
    rank_link(r, name, sizeof name, file, sizeof file);
    if (H5Lcreate_external(file, "/", g, name, H5P_DEFAULT, H5P_DEFAULT) < 0)
      mpisnap__h5_fail(h, MPISNAP_EHDF5, 1, "link /ranks/%s: cannot create",
                       name);
  }
  mpisnap__h5_drop(h, g);
  return h->rc;
}

static int check_meta(mpisnap__h5 *h, const mpisnap__meta *m)
{
  if (m->nranks < 1 || m->mode < 0 || m->mode > 1 ||
      strnlen(m->program, sizeof m->program) == sizeof m->program ||
      strnlen(m->created, sizeof m->created) == sizeof m->created ||
      strnlen(m->mpi, sizeof m->mpi) == sizeof m->mpi)
    return mpisnap__h5_fail(h, MPISNAP_EINVAL, 0, "inconsistent metadata");
  return 0;
}

int mpisnap__meta_write(const char *dir, const mpisnap__meta *m, char *err,
                        size_t errlen)
{
  char path[4096];
  meta_path(path, sizeof path, dir != NULL ? dir : "(null)");
  mpisnap__h5 h;
  mpisnap__h5_begin(&h, path, err, errlen);
  if (dir == NULL || m == NULL)
    mpisnap__h5_fail(&h, MPISNAP_EINVAL, 0, "no directory or metadata");
  else if (check_meta(&h, m) == 0 &&
           mpisnap__h5_create(&h, (1u << 20) + 512 * (uint64_t)m->nranks) == 0 &&
           mpisnap__h5_put_root(&h, &mpisnap__meta_root, m) == 0 &&
           (m->mpi[0] == '\0' ||
            mpisnap__h5_put_str(&h, h.file, "/", "mpi", m->mpi) == 0))
    put_links(&h, m->nranks);
  mpisnap__h5_finish_write(&h);
  return mpisnap__h5_end(&h);
}

static int get_attrs(mpisnap__h5 *h, mpisnap__meta *m)
{
  char mode[32];
  if (mpisnap__h5_get_root(h, &mpisnap__meta_root, m, mode, sizeof mode))
    return h->rc;
  if (m->nranks < 1)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0, "/: nranks is %d",
                            (int)m->nranks);
  /* The MPI that wrote it: recorded since MPICH support (issue 14); older
   * checkpoints have none. */
  htri_t has = H5Aexists(h->file, "mpi");
  if (has < 0)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1, "/: attribute mpi "
                            "unreadable");
  if (has > 0 &&
      mpisnap__h5_get_str(h, h->file, "/", "mpi", m->mpi, sizeof m->mpi) != 0)
    return h->rc;
  return mpisnap__h5_check_mode(h, mode, m->mode);
}

/* Checks that /ranks/RRRRRR is the external link to rank-RRRRRR.h5:/ that
 * the writer made.  The link is not followed: the rank files are read,
 * and checked, one by one by the ranks that need them. */
static int check_link(mpisnap__h5 *h, hid_t g, int r)
{
  /* val keeps a NUL after the largest value accepted, so a forged link
   * value without its terminators cannot make the unpacking read on. */
  char name[16], file[32], val[65] = "";
  const char *tfile = NULL, *tobj = NULL;
  unsigned flags;
  H5L_info_t info;
  rank_link(r, name, sizeof name, file, sizeof file);
  htri_t has = H5Lexists(g, name, H5P_DEFAULT);
  if (has <= 0)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, has < 0,
                            "link /ranks/%s: missing", name);
  if (H5Lget_info(g, name, &info, H5P_DEFAULT) < 0 ||
      info.type != H5L_TYPE_EXTERNAL || info.u.val_size >= sizeof val ||
      H5Lget_val(g, name, val, sizeof val, H5P_DEFAULT) < 0 ||
      H5Lunpack_elink_val(val, info.u.val_size, &flags, &tfile, &tobj) < 0 ||
      strcmp(tfile, file) != 0 || strcmp(tobj, "/") != 0)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1,
                            "link /ranks/%s: not an external link to %s:/",
                            name, file);
  return 0;
}

static int get_links(mpisnap__h5 *h, int nranks)
{
  H5G_info_t info;
  hid_t g = H5Gopen2(h->file, "/ranks", H5P_DEFAULT);
  if (g < 0 || H5Gget_info(g, &info) < 0)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1, "group /ranks: cannot open");
  else if (info.nlinks != (hsize_t)nranks)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0,
                     "group /ranks: %llu links for %d ranks",
                     (unsigned long long)info.nlinks, nranks);
  for (int r = 0; r < nranks && h->rc == 0; r++)
    check_link(h, g, r);
  mpisnap__h5_drop(h, g);
  return h->rc;
}

int mpisnap__meta_read(const char *dir, mpisnap__meta *m, char *err,
                       size_t errlen)
{
  char path[4096];
  meta_path(path, sizeof path, dir != NULL ? dir : "(null)");
  mpisnap__h5 h;
  mpisnap__h5_begin(&h, path, err, errlen);
  if (dir == NULL || m == NULL) {
    mpisnap__h5_fail(&h, MPISNAP_EINVAL, 0, "no directory or metadata");
    return mpisnap__h5_end(&h);
  }
  memset(m, 0, sizeof *m);
  if (mpisnap__h5_open(&h, mpisnap__meta_root.format) == 0 &&
      get_attrs(&h, m) == 0)
    get_links(&h, m->nranks);
  mpisnap__h5_close(&h);
  return mpisnap__h5_end(&h);
}
