/* Checked attribute helpers for the checkpoint files; see h5util.h.
 * Attributes read from a file are checked for their class, size and shape
 * before they are read, because the file may be damaged or forged. */
#include <stdlib.h>
#include <string.h>

#include "format/h5util.h"
#include "mpisnap_errno.h"

static int put_attr(mpisnap__h5 *h, hid_t loc, const char *obj,
                    const char *name, hid_t ftype, hid_t mtype, const void *v)
{
  if (h->rc != 0)
    return h->rc;
  hid_t space = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
  if (space >= 0)
    a = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
  if (space < 0 || a < 0 || H5Awrite(a, mtype, v) < 0)
    mpisnap__h5_fail(h, MPISNAP_EHDF5, 1, "%s: cannot write attribute %s", obj,
                     name);
  mpisnap__h5_drop(h, a);
  mpisnap__h5_drop(h, space);
  return h->rc;
}

int mpisnap__h5_put_u64(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, uint64_t v)
{
  return put_attr(h, loc, obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}

int mpisnap__h5_put_i32(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, int32_t v)
{
  return put_attr(h, loc, obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &v);
}

int mpisnap__h5_put_u32(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, uint32_t v)
{
  return put_attr(h, loc, obj, name, H5T_STD_U32LE, H5T_NATIVE_UINT32, &v);
}

int mpisnap__h5_put_f64(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, double v)
{
  return put_attr(h, loc, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

/* Strings are fixed-length and NUL terminated (h5dump prints them as
 * plain text; variable-length strings would need HDF5 to free them). */
int mpisnap__h5_put_str(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, const char *s)
{
  if (h->rc != 0)
    return h->rc;
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0 || H5Tset_size(t, strlen(s) + 1) < 0 ||
      H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
    mpisnap__h5_drop(h, t);
    return mpisnap__h5_fail(h, MPISNAP_EHDF5, 1,
                            "%s: cannot make the type of attribute %s", obj,
                            name);
  }
  put_attr(h, loc, obj, name, t, t, s);
  mpisnap__h5_drop(h, t);
  return h->rc;
}

/* Opens attribute name of loc after checking it exists, holds exactly one
 * value and is of the given class (and, unless size is 0, size and
 * signedness): the file may be damaged or forged, and reading a bigger
 * value than the buffer would overflow it. */
static hid_t open_attr(mpisnap__h5 *h, hid_t loc, const char *obj,
                       const char *name, H5T_class_t cls, size_t size,
                       H5T_sign_t sign, hid_t *type)
{
  *type = H5I_INVALID_HID;
  if (h->rc != 0)
    return H5I_INVALID_HID;
  htri_t has = H5Aexists(loc, name);
  if (has <= 0) {
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, has < 0, "%s: attribute %s %s", obj,
                     name, has < 0 ? "unreadable" : "missing");
    return H5I_INVALID_HID;
  }
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  hid_t space = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
  *type = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
  int ok = space >= 0 && *type >= 0 &&
           H5Sget_simple_extent_npoints(space) == 1 &&
           H5Tget_class(*type) == cls &&
           (size == 0 || (H5Tget_size(*type) == size &&
                          (cls != H5T_INTEGER || H5Tget_sign(*type) == sign)));
  if (ok && cls == H5T_STRING)
    ok = H5Tis_variable_str(*type) == 0;
  mpisnap__h5_drop(h, space);
  if (!ok) {
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1,
                     "%s: attribute %s has the wrong type or shape", obj, name);
    mpisnap__h5_drop(h, *type);
    mpisnap__h5_drop(h, a);
    *type = H5I_INVALID_HID;
    return H5I_INVALID_HID;
  }
  return a;
}

static int get_attr(mpisnap__h5 *h, hid_t loc, const char *obj,
                    const char *name, H5T_class_t cls, size_t size,
                    H5T_sign_t sign, hid_t mtype, void *v)
{
  hid_t type, a = open_attr(h, loc, obj, name, cls, size, sign, &type);
  if (a < 0)
    return h->rc;
  if (H5Aread(a, mtype, v) < 0)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1, "%s: cannot read attribute %s",
                     obj, name);
  mpisnap__h5_drop(h, type);
  mpisnap__h5_drop(h, a);
  return h->rc;
}

int mpisnap__h5_get_u64(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, uint64_t *v)
{
  return get_attr(h, loc, obj, name, H5T_INTEGER, 8, H5T_SGN_NONE,
                  H5T_NATIVE_UINT64, v);
}

int mpisnap__h5_get_i32(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, int32_t *v)
{
  return get_attr(h, loc, obj, name, H5T_INTEGER, 4, H5T_SGN_2,
                  H5T_NATIVE_INT32, v);
}

int mpisnap__h5_get_u32(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, uint32_t *v)
{
  return get_attr(h, loc, obj, name, H5T_INTEGER, 4, H5T_SGN_NONE,
                  H5T_NATIVE_UINT32, v);
}

int mpisnap__h5_get_f64(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, double *v)
{
  return get_attr(h, loc, obj, name, H5T_FLOAT, 8, H5T_SGN_ERROR,
                  H5T_NATIVE_DOUBLE, v);
}

int mpisnap__h5_get_str(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, char *buf, size_t cap)
{
  hid_t type, a = open_attr(h, loc, obj, name, H5T_STRING, 0, H5T_SGN_ERROR,
                            &type);
  if (a < 0)
    return h->rc;
  size_t size = H5Tget_size(type);
  char *tmp = size > 0 && size < 65536 ? calloc(1, size + 1) : NULL;
  hid_t mt = tmp != NULL ? H5Tcopy(type) : H5I_INVALID_HID;
  if (tmp == NULL)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0, "%s: attribute %s: bad size %zu",
                     obj, name, size);
  else if (mt < 0 || H5Aread(a, mt, tmp) < 0)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 1, "%s: cannot read attribute %s",
                     obj, name);
  else if (strlen(tmp) >= cap)
    mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0, "%s: attribute %s is too long "
                     "(%zu bytes, at most %zu)", obj, name, strlen(tmp),
                     cap - 1);
  else
    memcpy(buf, tmp, strlen(tmp) + 1);
  free(tmp);
  mpisnap__h5_drop(h, mt);
  mpisnap__h5_drop(h, type);
  mpisnap__h5_drop(h, a);
  return h->rc;
}

