/* What the two halves of the rank file code share: h5part_write.c writes
 * a part, h5part_read.c reads one back (layout in docs/FORMAT.md). */
#ifndef MPISNAP_FORMAT_H5PART_H
#define MPISNAP_FORMAT_H5PART_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "format/part.h"

/* The channel payload is moved through a buffer of this size, so a million
 * small messages cost a few hundred HDF5 calls, not a million. */
#define MPISNAP__WINDOW (4u << 20)

/* The HDF5 native type of an element kind, or a negative id for a kind this
 * version does not know.  Bytes are stored as unsigned chars. */
static inline hid_t mpisnap__elem_type(int elem)
{
  switch (elem) {
  case MPISNAP__ELEM_BYTES: return H5T_NATIVE_UCHAR;
  case MPISNAP__ELEM_CHAR: return H5T_NATIVE_CHAR;
  case MPISNAP__ELEM_SCHAR: return H5T_NATIVE_SCHAR;
  case MPISNAP__ELEM_UCHAR: return H5T_NATIVE_UCHAR;
  case MPISNAP__ELEM_SHORT: return H5T_NATIVE_SHORT;
  case MPISNAP__ELEM_USHORT: return H5T_NATIVE_USHORT;
  case MPISNAP__ELEM_INT: return H5T_NATIVE_INT;
  case MPISNAP__ELEM_UINT: return H5T_NATIVE_UINT;
  case MPISNAP__ELEM_LONG: return H5T_NATIVE_LONG;
  case MPISNAP__ELEM_ULONG: return H5T_NATIVE_ULONG;
  case MPISNAP__ELEM_LLONG: return H5T_NATIVE_LLONG;
  case MPISNAP__ELEM_ULLONG: return H5T_NATIVE_ULLONG;
  case MPISNAP__ELEM_FLOAT: return H5T_NATIVE_FLOAT;
  case MPISNAP__ELEM_DOUBLE: return H5T_NATIVE_DOUBLE;
  case MPISNAP__ELEM_LDOUBLE: return H5T_NATIVE_LDOUBLE;
  case MPISNAP__ELEM_INT8: return H5T_NATIVE_INT8;
  case MPISNAP__ELEM_UINT8: return H5T_NATIVE_UINT8;
  case MPISNAP__ELEM_INT16: return H5T_NATIVE_INT16;
  case MPISNAP__ELEM_UINT16: return H5T_NATIVE_UINT16;
  case MPISNAP__ELEM_INT32: return H5T_NATIVE_INT32;
  case MPISNAP__ELEM_UINT32: return H5T_NATIVE_UINT32;
  case MPISNAP__ELEM_INT64: return H5T_NATIVE_INT64;
  case MPISNAP__ELEM_UINT64: return H5T_NATIVE_UINT64;
  default: return H5I_INVALID_HID;
  }
}

/* The number of dataset elements and their size for a variable: bytes for
 * ELEM_BYTES, else count elements whose size must give bytes.  Returns 0
 * if the three numbers do not agree. */
static inline int mpisnap__var_shape(int elem, uint64_t count,
                                     uint64_t bytes, uint64_t *n,
                                     size_t *esize)
{
  hid_t t = mpisnap__elem_type(elem);
  if (t < 0)
    return 0;
  *esize = H5Tget_size(t);
  if (elem == MPISNAP__ELEM_BYTES) {
    *n = bytes;
    return 1;
  }
  *n = count;
  return *esize > 0 && count <= UINT64_MAX / *esize && count * *esize == bytes;
}

#endif /* MPISNAP_FORMAT_H5PART_H */
