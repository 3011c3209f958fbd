/* The compound tables of a rank file's /channels group: one field list per
 * table gives both its HDF5 types and its checksum (see h5table.c). */
#ifndef MPISNAP_FORMAT_H5TABLE_H
#define MPISNAP_FORMAT_H5TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "format/h5util.h"
#include "format/part.h"

/* A row of /channels/messages: a channel message without its bytes, which
 * are at [offset, offset + bytes) of /channels/payload. */
typedef struct mpisnap__msgrow {
  uint64_t comm_key;
  int32_t src, dst, tag;
  uint64_t seq, offset, bytes;
} mpisnap__msgrow;

typedef struct mpisnap__field {
  const char *name;
  size_t off;          /* in the C struct */
  unsigned char size;  /* 4 or 8 */
  unsigned char sgn;   /* signed */
} mpisnap__field;

typedef struct mpisnap__table {
  const char *name;    /* dataset name in /channels */
  size_t rec;          /* sizeof the C struct */
  size_t nf;
  const mpisnap__field *f;
} mpisnap__table;

extern const mpisnap__table mpisnap__tab_messages;     /* mpisnap__msgrow */
extern const mpisnap__table mpisnap__tab_counters;     /* mpisnap__chancount */
extern const mpisnap__table mpisnap__tab_early;        /* mpisnap__early */
extern const mpisnap__table mpisnap__tab_collectives;  /* mpisnap__collcount */
extern const mpisnap__table mpisnap__tab_determinants; /* mpisnap__determinant */

/* The compound type of t in memory (file 0: the C struct) or in the file
 * (file 1: packed, little-endian).  The caller closes it. */
hid_t mpisnap__table_type(const mpisnap__table *t, int file);
/* CRC-32C of n rows, packed as in the file. */
uint32_t mpisnap__table_crc(const mpisnap__table *t, const void *rows,
                            size_t n);
/* Writes n rows as dataset t->name of loc, with its crc32c. */
int mpisnap__table_put(mpisnap__h5 *h, hid_t loc, const mpisnap__table *t,
                       const void *rows, size_t n);
/* Reads dataset t->name of loc into a malloc'd array (*rows; NULL if
 * empty) after checking its type and checksum. */
int mpisnap__table_get(mpisnap__h5 *h, hid_t loc, const mpisnap__table *t,
                       void **rows, size_t *n);

#endif /* MPISNAP_FORMAT_H5TABLE_H */
