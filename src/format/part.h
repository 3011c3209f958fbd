/* One rank's part of a checkpoint, in memory, and its HDF5 file.
 *
 * A checkpoint with id N lives in DIR/ckpt-NNNNNN/ (NNNNNN: the id, zero
 * padded to 6 digits, more if larger) once committed; while being written
 * it is DIR/.ckpt-NNNNNN.partial/.  Inside:
 *   rank-RRRRRR.h5   one per rank, written by that rank (serial HDF5, from
 *                    the library's writer thread)
 *   checkpoint.h5    the master file, written by rank 0 at commit: global
 *                    attributes plus, under /ranks/RRRRRR, an HDF5 external
 *                    link to each rank file's root group, so `h5dump -r`/`h5ls -r`
 *                    on it shows the global view
 * The commit is the rename of the .partial directory to its final name.
 *
 * Everything here is free of MPI calls: the writer thread uses it. */
#ifndef MPISNAP_FORMAT_PART_H
#define MPISNAP_FORMAT_PART_H

#include <stddef.h>
#include <stdint.h>

#define MPISNAP_FORMAT_VERSION 1
#define MPISNAP_NAME_MAX 64 /* protected variable names, including the NUL */

/* How a protected variable's elements are stored: basic MPI datatypes map
 * to HDF5 native types (so h5dump shows numbers); anything else is bytes,
 * with the MPI type signature recorded as text. */
enum mpisnap__elem {
  MPISNAP__ELEM_BYTES = 0,
  MPISNAP__ELEM_CHAR, MPISNAP__ELEM_SCHAR, MPISNAP__ELEM_UCHAR,
  MPISNAP__ELEM_SHORT, MPISNAP__ELEM_USHORT,
  MPISNAP__ELEM_INT, MPISNAP__ELEM_UINT,
  MPISNAP__ELEM_LONG, MPISNAP__ELEM_ULONG,
  MPISNAP__ELEM_LLONG, MPISNAP__ELEM_ULLONG,
  MPISNAP__ELEM_FLOAT, MPISNAP__ELEM_DOUBLE, MPISNAP__ELEM_LDOUBLE,
  MPISNAP__ELEM_INT8, MPISNAP__ELEM_UINT8, MPISNAP__ELEM_INT16,
  MPISNAP__ELEM_UINT16, MPISNAP__ELEM_INT32, MPISNAP__ELEM_UINT32,
  MPISNAP__ELEM_INT64, MPISNAP__ELEM_UINT64,
  MPISNAP__ELEM_COUNT_
};

typedef struct mpisnap__var {
  char name[MPISNAP_NAME_MAX];
  int elem;            /* enum mpisnap__elem */
  char type_sig[128];  /* for ELEM_BYTES: the MPI type signature, as text */
  uint64_t count;      /* elements of the MPI datatype */
  uint64_t bytes;      /* stored bytes (count * size) */
  void *data;          /* owned by the part */
} mpisnap__var;

/* A channel is identified across ranks by its communicator's key (the
 * same on every member: see src/pmpi/comm.c) and the ranks in that
 * communicator. */
typedef struct mpisnap__chanmsg {
  uint64_t comm_key;
  int32_t src, dst; /* ranks in the communicator */
  int32_t tag;
  uint64_t seq;     /* order of arrival on this rank (channel order) */
  uint64_t bytes;
  void *data;       /* packed bytes, owned by the part */
} mpisnap__chanmsg;

/* Counters of one incoming (dir 0) or outgoing (dir 1) channel. */
typedef struct mpisnap__chancount {
  uint64_t comm_key;
  int32_t peer;     /* the other end's rank in the communicator */
  int32_t dir;      /* 0: peer -> this rank, 1: this rank -> peer */
  uint64_t sent_before_record;     /* dir 1 */
  uint64_t consumed_before_record; /* dir 0 */
  uint64_t logged;                 /* dir 0 */
  uint64_t early;                  /* dir 0 */
} mpisnap__chancount;

/* An early message: the index-th message (0-based) its sender sent on the
 * channel after recording; the restarted sender must not send it again. */
typedef struct mpisnap__early {
  uint64_t comm_key;
  int32_t src, dst;
  uint64_t index;
} mpisnap__early;

typedef struct mpisnap__collcount {
  uint64_t comm_key;
  uint64_t count;   /* blocking collectives called before the record */
} mpisnap__collcount;

/* A determinant: an MPI-level choice made between the record and the end
 * of the snapshot, replayed in order on restart. */
typedef struct mpisnap__determinant {
  int32_t kind;     /* src/pmpi/det.h */
  int32_t a, b, c;  /* kind-specific: source, tag, index or flag */
} mpisnap__determinant;

typedef struct mpisnap__part {
  uint64_t id;             /* checkpoint id */
  uint64_t parent;         /* id this run restarted from; 0: fresh start */
  int32_t rank, nranks;
  int32_t mode;            /* 0 collective, 1 independent */
  int32_t exact;           /* 1 if no early messages anywhere (set at commit) */
  uint64_t point_index;    /* safe points this rank passed before recording */
  double stall_seconds;    /* time the record took the application */
  double write_seconds;    /* time the writer took */
  char program[256];       /* program identification (argv[0] basename) */
  size_t nvars;
  mpisnap__var *vars;
  size_t nmsgs;
  mpisnap__chanmsg *msgs;
  size_t ncounts;
  mpisnap__chancount *counts;
  size_t nearly;
  mpisnap__early *early;
  size_t ncoll;
  mpisnap__collcount *coll;
  size_t ndet;
  mpisnap__determinant *det;
} mpisnap__part;

/* Initializes HDF5.  Call it from the main thread after MPI_Init and
 * before the writer thread starts: the parallel HDF5 library makes MPI
 * calls when it initializes (MPI_Initialized, MPI_Comm_create_keyval and
 * MPI_Comm_set_attr on MPI_COMM_SELF, to shut itself down in
 * MPI_Finalize), and these must not come from the writer thread.  The
 * functions below serialize their HDF5 calls under one lock, because that
 * HDF5 is not thread-safe.  Returns 0 or MPISNAP_EHDF5. */
int mpisnap__part_io_init(void);

/* Free everything a part owns (not the part itself); leaves it zeroed. */
void mpisnap__part_clear(mpisnap__part *p);

/* Write p to path (a new file; fails if it exists) with checksums on every
 * dataset, then fsync it.  Returns 0 or a negative MPISNAP_E* code and, on
 * error, a message naming what failed in err (may be NULL). */
int mpisnap__part_write(const char *path, const mpisnap__part *p, char *err,
                        size_t errlen);

/* Read the part at path into p (zeroed first).  Verifies the format
 * version and every checksum; MPISNAP_EFORMAT for a file that is not an
 * mpisnap rank file, MPISNAP_ECORRUPT for a checksum mismatch or missing
 * piece, each with a message naming the file and what is wrong. */
int mpisnap__part_read(const char *path, mpisnap__part *p, char *err,
                       size_t errlen);
/* Only the root attributes and the collective counts of the part at path
 * (p->coll, p->ncoll; the rest stays empty), checked as part_read checks
 * them: what the commit needs without reading the data back. */
int mpisnap__part_read_collectives(const char *path, mpisnap__part *p,
                                   char *err, size_t errlen);

/* Checkpoint-level metadata, in the master file. */
typedef struct mpisnap__meta {
  uint64_t id, parent;
  int32_t nranks, mode, exact;
  uint64_t total_bytes;     /* protected state, all ranks */
  uint64_t inflight_msgs;   /* channel-state messages, all ranks */
  uint64_t early_msgs;
  uint64_t markers;
  double stall_seconds_max, write_seconds_max, commit_seconds;
  char program[256];
  char created[32];         /* ISO 8601 UTC */
  /* The MPI library that wrote it: the first line of
   * MPI_Get_library_version ("Open MPI v4.1.4, ...", "MPICH Version: 4.0.2").
   * Optional in the file (attribute mpi): "" when absent, in checkpoints of
   * versions before it was recorded. */
  char mpi[256];
} mpisnap__meta;

/* Write the master file (checkpoint.h5 in dir) with external links to
 * dir/rank-RRRRRR.h5 for every rank, and fsync it. */
int mpisnap__meta_write(const char *dir, const mpisnap__meta *m, char *err,
                        size_t errlen);
/* Read and validate the master file of dir (format, version, attributes). */
int mpisnap__meta_read(const char *dir, mpisnap__meta *m, char *err,
                       size_t errlen);

/* --- The checkpoint directory (ckdir.c) ----------------------------------- */

/* The states of a checkpoint, each with its own entry name in DIR:
 * ckpt-NNNNNN once committed, .ckpt-NNNNNN.partial while being written (or
 * abandoned), .ckpt-NNNNNN.deleting while being removed. */
enum mpisnap__ckpt_state {
  MPISNAP__CKPT_COMMITTED = 0,
  MPISNAP__CKPT_PARTIAL = 1,
  MPISNAP__CKPT_DELETING = 2
};

/* The entry name of checkpoint id in that state ("ckpt-000012"). */
void mpisnap__ckpt_name(char *out, size_t len, uint64_t id, int state);
/* Whether name is the entry name of a checkpoint in that state, spelt
 * exactly as mpisnap__ckpt_name spells it; if so, *id is its id. */
int mpisnap__ckpt_parse(const char *name, int state, uint64_t *id);
/* Path helpers: DIR/ and the entry name of checkpoint id in that state (0
 * committed, 1 partial: enum mpisnap__ckpt_state), and the rank file
 * inside a checkpoint directory. */
void mpisnap__ckpt_dirname(char *out, size_t len, const char *dir, uint64_t id,
                           int state);
void mpisnap__rank_filename(char *out, size_t len, const char *ckdir, int rank);

/* Committed checkpoint ids in dir, ascending (ckpt-* directories whose
 * name parses).  Returns the count (>= 0) and a malloc'd array in *ids, or
 * a negative code. */
int mpisnap__list_committed(const char *dir, uint64_t **ids);

/* The largest id ever used in dir, committed or partial (ids are never
 * reused). */
uint64_t mpisnap__max_id(const char *dir);

/* Removes checkpoint id of dir in the given state.  A committed one is
 * first renamed out of the committed namespace, to .ckpt-NNNNNN.deleting
 * (a stale one of the same id in the way is removed first), and the
 * directory fsynced, and only then are its files deleted: a crash half way
 * leaves a .deleting directory, never a torn checkpoint under a committed
 * name.  A partial or deleting one is deleted directly.  Symbolic links
 * are removed, never followed.  Returns 0; MPISNAP_ENOENT if it is not
 * there; MPISNAP_EIO (or MPISNAP_EINVAL) with errno set; on error, why
 * (len bytes, may be NULL) says what failed. */
int mpisnap__ckpt_remove(const char *dir, uint64_t id, int state, char *why,
                         size_t len);

/* --- CRC-32C (part.c) ----------------------------------------------------- */

/* CRC-32C (Castagnoli) of a buffer, continuing from crc (start with 0). */
uint32_t mpisnap__crc32c(uint32_t crc, const void *buf, size_t len);
/* The same without the SSE4.2 instruction (for the tests). */
uint32_t mpisnap__crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif /* MPISNAP_FORMAT_PART_H */
