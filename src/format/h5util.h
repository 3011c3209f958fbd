/* Helpers shared by the rank-file and master-file code (h5part_write.c,
 * h5part_read.c, h5meta.c): one context per file that silences HDF5's
 * error printing, keeps the first error with a message naming the file
 * and the object, and small checked wrappers for attributes and 1-D
 * datasets.
 *
 * Every helper returns 0 or a negative MPISNAP_E* code; after the first
 * failure the context keeps that code and message, so callers can chain
 * calls and return the context's code at the end.  No MPI calls: these run
 * in the writer thread. */
#ifndef MPISNAP_FORMAT_H5UTIL_H
#define MPISNAP_FORMAT_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mpisnap__h5 {
  const char *path;      /* the file, as named in messages */
  char *err;             /* caller's message buffer (may be NULL) */
  size_t errlen;
  int rc;                /* first error; 0 while all is well */
  H5E_auto2_t old_func;  /* HDF5's automatic error printing, restored at end */
  void *old_data;
  hid_t file;            /* open file, or H5I_INVALID_HID */
  int created;           /* this context created the file (writer) */
  uint64_t reserved;     /* writer: bytes of disk held for the file */
  hsize_t filesize;      /* reader: bounds every allocation */
} mpisnap__h5;

/* Starts work on path: takes the process-wide HDF5 lock, silences HDF5's
 * error printing and clears err.  Every begin needs its end. */
void mpisnap__h5_begin(mpisnap__h5 *h, const char *path, char *err,
                       size_t errlen);
/* Restores HDF5's error printing, releases the lock and returns the
 * context's code. */
int mpisnap__h5_end(mpisnap__h5 *h);

/* The description of HDF5's innermost error (the one that says what was
 * actually wrong), in buf of MPISNAP__H5_DETAIL_MAX bytes; "" if none. */
#define MPISNAP__H5_DETAIL_MAX 160
void mpisnap__h5_detail(char *buf);

/* Records an error (only the first one sticks) as "PATH: <fmt...>",
 * followed by HDF5's innermost error description when with_hdf5 is set.
 * Returns the context's code, which is code unless an error came first. */
int mpisnap__h5_fail(mpisnap__h5 *h, int code, int with_hdf5, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

/* Files (h5file.c).
 *
 * Writer: creates h->path (fails if it exists) with the sec2 driver and
 * holds `need` bytes of disk for it, at least as many as the finished file
 * takes, so that HDF5 never meets a full disk half way through the file:
 * it handles that badly (see h5file.c).  A disk without that much room
 * fails here, cleanly, with ENOSPC's message. */
int mpisnap__h5_create(mpisnap__h5 *h, uint64_t need);
/* Writer: flushes and closes the file, then fsyncs it and its directory.
 * If anything failed before or here, removes the file instead.  Returns
 * the context's code. */
int mpisnap__h5_finish_write(mpisnap__h5 *h);

/* Reader: opens h->path read-only and checks that its root attribute
 * mpisnap_format is `format` and format_version is supported.  Tells a
 * missing file (ENOENT), a file that is not HDF5 (EFORMAT), a damaged HDF5
 * file (ECORRUPT) and a foreign HDF5 file (EFORMAT) apart. */
int mpisnap__h5_open(mpisnap__h5 *h, const char *format);
void mpisnap__h5_close(mpisnap__h5 *h);

/* Attributes of the object loc, named obj in messages ("/", "/vars/u"). */
int mpisnap__h5_put_u64(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, uint64_t v);
int mpisnap__h5_put_i32(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, int32_t v);
int mpisnap__h5_put_u32(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, uint32_t v);
int mpisnap__h5_put_f64(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, double v);
int mpisnap__h5_put_str(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, const char *s);
int mpisnap__h5_get_u64(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, uint64_t *v);
int mpisnap__h5_get_i32(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, int32_t *v);
int mpisnap__h5_get_u32(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, uint32_t *v);
int mpisnap__h5_get_f64(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, double *v);
/* Reads a fixed-length string attribute into buf (cap bytes, always NUL
 * terminated); a value that does not fit is an error, never truncated. */
int mpisnap__h5_get_str(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, char *buf, size_t cap);

/* The root attributes of a file (h5root.c): one list per kind of file,
 * which its writer and its reader both go through. */
enum mpisnap__attr_type {
  MPISNAP__ATTR_U64, MPISNAP__ATTR_I32, MPISNAP__ATTR_F64,
  MPISNAP__ATTR_STR,  /* a char array of size bytes, NUL terminated */
  MPISNAP__ATTR_MODE  /* the int32 mode code at off, spelt out as text */
};

typedef struct mpisnap__attr {
  const char *name;
  int type;     /* enum mpisnap__attr_type */
  size_t off;   /* of the member in the struct the file is read into */
  size_t size;  /* of that member */
} mpisnap__attr;

typedef struct mpisnap__root {
  const char *format;     /* the value of the attribute mpisnap_format */
  size_t n;
  const mpisnap__attr *a; /* in the order they are written */
} mpisnap__root;

extern const mpisnap__root mpisnap__rank_root; /* of an mpisnap__part */
extern const mpisnap__root mpisnap__meta_root; /* of an mpisnap__meta */

/* Writes mpisnap_format, format_version, then the attributes of r, with the
 * values of the struct s, to the root of h->file. */
int mpisnap__h5_put_root(mpisnap__h5 *h, const mpisnap__root *r,
                         const void *s);
/* Reads the attributes of r from the root of h->file into the struct s
 * (mpisnap__h5_open has checked mpisnap_format and format_version), and
 * the mode's name into mode (len bytes): the caller checks it with
 * mpisnap__h5_check_mode after its own checks of s. */
int mpisnap__h5_get_root(mpisnap__h5 *h, const mpisnap__root *r, void *s,
                         char *mode, size_t len);
/* MPISNAP_ECORRUPT unless mode is the name of the mode code. */
int mpisnap__h5_check_mode(mpisnap__h5 *h, const char *mode, int32_t code);

/* Creates the contiguous 1-D dataset loc/name of n elements (file type
 * ftype, memory type mtype), writes buf (unless it is NULL: then the
 * caller writes the data, see mpisnap__h5_slab), and attaches crc32c.  If dset is
 * not NULL the dataset stays open there for more attributes (the caller
 * closes it); otherwise it is closed. */
int mpisnap__h5_put_1d(mpisnap__h5 *h, hid_t loc, const char *obj,
                       const char *name, hid_t ftype, hid_t mtype, uint64_t n,
                       const void *buf, uint32_t crc, hid_t *dset);
/* Opens loc/name (*dset; the caller closes it), checks it is 1-D (or
 * empty) and that its n elements fit in the file. */
int mpisnap__h5_open_1d(mpisnap__h5 *h, hid_t loc, const char *obj,
                        const char *name, uint64_t *n, hid_t *dset);
/* Reads all n elements of the open dataset d as mtype into a zeroed
 * malloc'd buffer (*buf, NULL when n is 0) of n records of msize bytes;
 * *crc gets its crc32c attribute. */
int mpisnap__h5_read_1d(mpisnap__h5 *h, hid_t d, const char *obj,
                        hid_t mtype, size_t msize, uint64_t n, void **buf,
                        uint32_t *crc);

/* Writes (write set) or reads len bytes at element off of the 1-D byte
 * dataset d. */
int mpisnap__h5_slab(mpisnap__h5 *h, hid_t d, const char *obj, uint64_t off,
                     uint64_t len, void *buf, int write);

/* Closes an HDF5 identifier of any kind if it is valid; failures to close
 * are recorded in h (a failed close can mean lost data when writing). */
void mpisnap__h5_drop(mpisnap__h5 *h, hid_t id);

#endif /* MPISNAP_FORMAT_H5UTIL_H */
