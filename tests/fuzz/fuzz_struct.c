/* Structure-aware libFuzzer harness for the checkpoint readers.
 *
 * Raw bytes (fuzz_part.c) rarely get past HDF5's own checksums, so the
 * readers' checks of what HDF5 hands them stay mostly unexercised.  Here
 * the input is a recipe: it decides, attribute by attribute and dataset by
 * dataset, how to write a rank file or a master file with the HDF5 library
 * (the right type or a wrong one, scalar or not, a value from the input,
 * a good or a bad checksum, a table with the right fields or not, links of
 * every kind), and then the file is read with mpisnap__part_read or
 * mpisnap__meta_read.  A reader must never crash, leak, over-read or hang;
 * it must fail with a message or return a part that the writer accepts and
 * that reads back identically (a round trip).
 *
 * Build and run like fuzz_part (tests/fuzz/CMakeLists.txt, run.sh). */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/part.h"

/* ---- the recipe ---- */

typedef struct {
  const uint8_t *p;
  size_t n;
} rd;

static uint64_t take(rd *r, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) {
    v |= (uint64_t)(r->n ? *r->p : 0) << (8 * i);
    if (r->n) {
      r->p++;
      r->n--;
    }
  }
  return v;
}
static unsigned u8(rd *r) { return (unsigned)take(r, 1); }
static uint64_t u64(rd *r) { return take(r, 8); }

/* A number that is usually small and sometimes extreme. */
static uint64_t num(rd *r) {
  switch (u8(r) % 8) {
  case 0: return u64(r);
  case 1: return UINT64_MAX - (u8(r) % 4);
  case 2: return (uint64_t)INT32_MAX + (u8(r) % 4) - 1;
  case 3: return (uint64_t)(int64_t)-(int64_t)(u8(r) % 4);
  default: return u8(r) % 8;
  }
}

static void text(rd *r, char *out, size_t cap, const char *good) {
  unsigned k = u8(r) % 8;
  if (k < 5 && good != NULL) {
    snprintf(out, cap, "%s", good);
    return;
  }
  size_t len = k == 7 ? 200 + u8(r) : u8(r) % 70;
  if (len >= cap)
    len = cap - 1;
  for (size_t i = 0; i < len; i++)
    out[i] = (char)(k == 6 ? 'a' + u8(r) % 26 : (u8(r) | 1));
  out[len] = '\0';
}

/* ---- writing with HDF5 ---- */

enum akind { A_I32, A_U32, A_U64, A_F64, A_STR };

static hid_t str_type(size_t len) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, len > 0 ? len : 1);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  return t;
}

/* An attribute the reader expects as `kind` with `good` as its sensible
 * value: the recipe may leave it out, give it another type or shape, or
 * another value. */
static void attr(rd *r, hid_t loc, const char *name, enum akind kind,
                 uint64_t good, const char *sgood) {
  unsigned how = u8(r) % 16;
  enum akind k = kind;
  hid_t space, type;
  char s[300];
  uint64_t v = good;
  unsigned char buf[2 * 310]; /* two values (a 2-element dataspace) of up to 302 bytes */

  if (how == 0)
    return; /* missing */
  if (how == 1)
    k = (enum akind)(u8(r) % 5); /* another type */
  if (how == 2 || how == 3)
    v = num(r);
  if (how == 4) {
    hsize_t two = 2;
    space = H5Screate_simple(1, &two, NULL);
  } else if (how == 5) {
    space = H5Screate(H5S_NULL);
  } else {
    space = H5Screate(H5S_SCALAR);
  }
  memset(buf, 0, sizeof buf);
  switch (k) {
  case A_I32: type = H5Tcopy(how == 6 ? H5T_STD_I16LE : H5T_STD_I32LE);
    memcpy(buf, &v, 4); memcpy(buf + 4, &v, 4); break;
  case A_U32: type = H5Tcopy(how == 6 ? H5T_STD_U64LE : H5T_STD_U32LE);
    memcpy(buf, &v, 8); memcpy(buf + 8, &v, 8); break;
  case A_U64: type = H5Tcopy(how == 6 ? H5T_STD_I64LE : H5T_STD_U64LE);
    memcpy(buf, &v, 8); memcpy(buf + 8, &v, 8); break;
  case A_F64: {
    double d = how == 2 ? (double)(int64_t)v : (double)v / 8;
    type = H5Tcopy(how == 6 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE);
    memcpy(buf, &d, 8); memcpy(buf + 8, &d, 8);
    break;
  }
  default:
    text(r, s, sizeof s, kind == A_STR ? sgood : "12");
    type = str_type(how == 7 ? strlen(s) : strlen(s) + 1 + u8(r) % 3);
    memcpy(buf, s, strlen(s) + 1);
    memcpy(buf + H5Tget_size(type), s, strlen(s) + 1);
    if (how == 8)
      H5Tset_strpad(type, H5T_STR_SPACEPAD);
    break;
  }
  hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0) {
    H5Awrite(a, type, buf);
    H5Aclose(a);
  }
  H5Tclose(type);
  H5Sclose(space);
}

/* A 1-D dataset of n elements of type t with the given bytes (the recipe
 * may make it 2-D, empty-by-NULL, chunked or compact). */
static hid_t dataset(rd *r, hid_t loc, const char *name, hid_t t, uint64_t n,
                     const void *data) {
  unsigned how = u8(r) % 12;
  hsize_t dims[2] = {n, 1};
  hid_t space, dcpl = H5Pcreate(H5P_DATASET_CREATE), d;

  if (how == 0 && n == 0)
    space = H5Screate(H5S_NULL);
  else if (how == 1)
    space = H5Screate_simple(2, dims, NULL);
  else
    space = H5Screate_simple(1, dims, NULL);
  if (how == 2 && n > 0) {
    hsize_t c = n;
    H5Pset_chunk(dcpl, 1, &c);
  } else if (how == 3 && n * H5Tget_size(t) < 4000) {
    H5Pset_layout(dcpl, H5D_COMPACT);
  }
  d = H5Dcreate2(loc, name, t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d >= 0 && n > 0 && data != NULL)
    H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  H5Pclose(dcpl);
  H5Sclose(space);
  return d;
}

static void crc_attr(rd *r, hid_t d, uint32_t good) {
  attr(r, d, "crc32c", A_U32, u8(r) % 8 == 0 ? (uint32_t)num(r) : good, NULL);
}

static hid_t native_of(int elem) {
  static const hid_t *const t[] = {
      &H5T_NATIVE_UCHAR_g, &H5T_NATIVE_SCHAR_g, &H5T_NATIVE_SCHAR_g,
      &H5T_NATIVE_UCHAR_g, &H5T_NATIVE_SHORT_g, &H5T_NATIVE_USHORT_g,
      &H5T_NATIVE_INT_g, &H5T_NATIVE_UINT_g, &H5T_NATIVE_LONG_g,
      &H5T_NATIVE_ULONG_g, &H5T_NATIVE_LLONG_g, &H5T_NATIVE_ULLONG_g,
      &H5T_NATIVE_FLOAT_g, &H5T_NATIVE_DOUBLE_g, &H5T_NATIVE_LDOUBLE_g,
      &H5T_NATIVE_INT8_g, &H5T_NATIVE_UINT8_g, &H5T_NATIVE_INT16_g,
      &H5T_NATIVE_UINT16_g, &H5T_NATIVE_INT32_g, &H5T_NATIVE_UINT32_g,
      &H5T_NATIVE_INT64_g, &H5T_NATIVE_UINT64_g};
  return elem >= 0 && elem < (int)(sizeof t / sizeof t[0]) ? *t[elem]
                                                            : H5T_NATIVE_UCHAR;
}

static void variables(rd *r, hid_t f) {
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g;
  unsigned nv = u8(r) % 5;

  if (u8(r) % 16 == 0) { /* /vars is not a group */
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(f, "vars", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(s);
    H5Pclose(gcpl);
    return;
  }
  if (u8(r) % 4 != 0)
    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  g = H5Gcreate2(f, "vars", H5P_DEFAULT, gcpl, H5P_DEFAULT);
  H5Pclose(gcpl);
  if (g < 0)
    return;
  for (unsigned i = 0; i < nv; i++) {
    char name[300];
    int elem = u8(r) % 8 == 0 ? (int)(int8_t)u8(r) : (int)(u8(r) % 23);
    uint64_t count = u8(r) % 24;
    hid_t t = native_of(elem), ft = t;
    size_t esize = H5Tget_size(t);
    uint64_t n = count, bytes;
    unsigned char *data;
    hid_t d;

    text(r, name, sizeof name, NULL);
    if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0)
      snprintf(name, sizeof name, "v%u", i);
    if (elem == 0)
      n = count * (1 + u8(r) % 4); /* bytes of a derived type */
    bytes = elem == 0 ? n : n * esize;
    switch (u8(r) % 10) {
    case 0: ft = H5T_STD_I32LE; break;              /* another type */
    case 1: n += 1 + u8(r) % 3; break;              /* another size */
    case 2: ft = H5T_IEEE_F64LE; break;
    default: break;
    }
    data = calloc(1, (size_t)(n * H5Tget_size(ft)) + 1);
    for (uint64_t b = 0; b < n * H5Tget_size(ft); b++)
      data[b] = (unsigned char)u8(r);
    d = dataset(r, g, name, ft, n, data);
    if (d >= 0) {
      attr(r, d, "elem", A_I32, (uint64_t)(int64_t)elem, NULL);
      attr(r, d, "count", A_U64, count, NULL);
      attr(r, d, "bytes", A_U64, bytes, NULL);
      crc_attr(r, d, mpisnap__crc32c(0, data, (size_t)(n * H5Tget_size(ft))));
      if (elem == 0 || u8(r) % 8 == 0)
        attr(r, d, "type_signature", A_STR, 0, "MPI_INT x3, MPI_DOUBLE");
      H5Dclose(d);
    }
    free(data);
  }
  if (u8(r) % 16 == 0) /* a link that is not a dataset */
    H5Lcreate_soft(u8(r) % 2 ? "/vars" : "/nowhere", g, "loop", H5P_DEFAULT,
                   H5P_DEFAULT);
  if (u8(r) % 16 == 0) {
    hid_t sub = H5Gcreate2(g, "group", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(sub);
  }
  H5Gclose(g);
}

/* Field i of a table: name, size, signedness. */
typedef struct {
  const char *name;
  int size, sgn;
} fld;

static const fld t_messages[] = {{"comm_key", 8, 0}, {"src", 4, 1}, {"dst", 4, 1},
                                 {"tag", 4, 1}, {"seq", 8, 0}, {"offset", 8, 0},
                                 {"bytes", 8, 0}};
static const fld t_counters[] = {{"comm_key", 8, 0}, {"peer", 4, 1}, {"dir", 4, 1},
                                 {"sent_before_record", 8, 0},
                                 {"consumed_before_record", 8, 0},
                                 {"logged", 8, 0}, {"early", 8, 0}};
static const fld t_early[] = {{"comm_key", 8, 0}, {"src", 4, 1}, {"dst", 4, 1},
                              {"index", 8, 0}};
static const fld t_coll[] = {{"comm_key", 8, 0}, {"count", 8, 0}};
static const fld t_det[] = {{"kind", 4, 1}, {"a", 4, 1}, {"b", 4, 1}, {"c", 4, 1}};

static hid_t int_type(int size, int sgn) {
  switch (size) {
  case 1: return sgn ? H5T_STD_I8LE : H5T_STD_U8LE;
  case 2: return sgn ? H5T_STD_I16LE : H5T_STD_U16LE;
  case 4: return sgn ? H5T_STD_I32LE : H5T_STD_U32LE;
  default: return sgn ? H5T_STD_I64LE : H5T_STD_U64LE;
  }
}

/* A table: usually its right packed compound type, sometimes one with a
 * field missing, renamed, resized, of another sign or a float; rows from
 * the recipe (for messages, usually consistent with a payload). */
static void table(rd *r, hid_t ch, const char *name, const fld *f, size_t nf,
                  uint64_t *payload_len) {
  unsigned how = u8(r) % 12, bad = u8(r) % nf;
  size_t rec = 0, nfile = nf;
  uint64_t rows = u8(r) % 6, off = 0;
  hid_t t;
  unsigned char *data;

  if (how == 0)
    return; /* missing */
  if (how == 1)
    nfile = nf - 1;
  for (size_t i = 0; i < nfile; i++)
    rec += (size_t)(how == 3 && i == bad ? (f[i].size == 8 ? 4 : 8) : f[i].size);
  t = H5Tcreate(H5T_COMPOUND, rec);
  for (size_t i = 0, pos = 0; i < nfile; i++) {
    int size = how == 3 && i == bad ? (f[i].size == 8 ? 4 : 8) : f[i].size;
    int sgn = how == 4 && i == bad ? !f[i].sgn : f[i].sgn;
    const char *fn = how == 2 && i == bad ? "renamed" : f[i].name;
    hid_t ft = how == 5 && i == bad && size == 8 ? H5T_IEEE_F64LE
                                                 : int_type(size, sgn);
    H5Tinsert(t, fn, pos, ft);
    pos += (size_t)size;
  }
  data = calloc(rows ? rows : 1, rec);
  for (uint64_t i = 0; i < rows; i++) {
    unsigned char *row = data + i * rec;
    for (size_t b = 0; b < rec; b++)
      row[b] = (unsigned char)(u8(r) % 4 ? 0 : u8(r));
    if (payload_len != NULL && how > 5 && rec == 44) {
      /* offset and bytes consistent unless the recipe says otherwise */
      uint64_t len = u8(r) % 5;
      if (u8(r) % 8 == 0)
        len = num(r);
      memcpy(row + 28, &off, 8);
      memcpy(row + 36, &len, 8);
      off += len;
    }
  }
  if (payload_len != NULL)
    *payload_len = off;
  hid_t d = dataset(r, ch, name, t, rows, data);
  if (d >= 0) {
    crc_attr(r, d, mpisnap__crc32c(0, data, (size_t)(rows * rec)));
    H5Dclose(d);
  }
  free(data);
  H5Tclose(t);
}

static void channels(rd *r, hid_t f) {
  uint64_t plen = 0;
  hid_t ch;

  if (u8(r) % 16 == 0)
    return;
  ch = H5Gcreate2(f, "channels", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (ch < 0)
    return;
  table(r, ch, "messages", t_messages, 7, &plen);
  {
    uint64_t n = u8(r) % 8 == 0 ? plen + num(r) % 4 : plen;
    unsigned char *data;
    hid_t d;
    if (n > 4096)
      n = 4096;
    data = calloc(4, (size_t)n + 1); /* room for the wrong, 4-byte type */
    for (uint64_t i = 0; i < n; i++)
      data[i] = (unsigned char)u8(r);
    if (u8(r) % 16 != 0) {
      d = dataset(r, ch, "payload", u8(r) % 16 ? H5T_STD_U8LE : H5T_STD_I32LE, n,
                  data);
      if (d >= 0) {
        crc_attr(r, d, mpisnap__crc32c(0, data, (size_t)n));
        H5Dclose(d);
      }
    }
    free(data);
  }
  table(r, ch, "counters", t_counters, 7, NULL);
  table(r, ch, "early", t_early, 4, NULL);
  table(r, ch, "collectives", t_coll, 2, NULL);
  table(r, ch, "determinants", t_det, 4, NULL);
  H5Gclose(ch);
}

static hid_t create(const char *path) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f;
  H5Pset_fapl_sec2(fapl);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
  f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  return f;
}

static void write_rank(rd *r, const char *path) {
  hid_t f = create(path);
  int32_t nranks = 1 + (int32_t)(u8(r) % 4), mode = (int32_t)(u8(r) % 2);
  if (f < 0)
    return;
  attr(r, f, "mpisnap_format", A_STR, 0, "mpisnap-rank");
  attr(r, f, "format_version", A_I32, 1, NULL);
  attr(r, f, "id", A_U64, 7, NULL);
  attr(r, f, "parent", A_U64, 0, NULL);
  attr(r, f, "rank", A_I32, (uint64_t)(nranks - 1), NULL);
  attr(r, f, "nranks", A_I32, (uint64_t)nranks, NULL);
  attr(r, f, "mode", A_STR, 0, mode ? "independent" : "collective");
  attr(r, f, "mode_code", A_I32, (uint64_t)mode, NULL);
  attr(r, f, "exact", A_I32, 1, NULL);
  attr(r, f, "point_index", A_U64, 42, NULL);
  attr(r, f, "stall_seconds", A_F64, 1, NULL);
  attr(r, f, "write_seconds", A_F64, 2, NULL);
  attr(r, f, "program", A_STR, 0, "fuzz");
  variables(r, f);
  channels(r, f);
  H5Fclose(f);
}

static void write_master(rd *r, const char *path) {
  hid_t f = create(path), g;
  int32_t nranks = 1 + (int32_t)(u8(r) % 4), mode = (int32_t)(u8(r) % 2);
  int nlinks;
  if (f < 0)
    return;
  attr(r, f, "mpisnap_format", A_STR, 0, "mpisnap-checkpoint");
  attr(r, f, "format_version", A_I32, 1, NULL);
  attr(r, f, "id", A_U64, 7, NULL);
  attr(r, f, "parent", A_U64, 0, NULL);
  attr(r, f, "nranks", A_I32, (uint64_t)nranks, NULL);
  attr(r, f, "mode", A_STR, 0, mode ? "independent" : "collective");
  attr(r, f, "mode_code", A_I32, (uint64_t)mode, NULL);
  attr(r, f, "exact", A_I32, 1, NULL);
  attr(r, f, "total_bytes", A_U64, 100, NULL);
  attr(r, f, "inflight_msgs", A_U64, 3, NULL);
  attr(r, f, "early_msgs", A_U64, 0, NULL);
  attr(r, f, "markers", A_U64, 12, NULL);
  attr(r, f, "stall_seconds_max", A_F64, 1, NULL);
  attr(r, f, "write_seconds_max", A_F64, 2, NULL);
  attr(r, f, "commit_seconds", A_F64, 3, NULL);
  attr(r, f, "program", A_STR, 0, "fuzz");
  attr(r, f, "created", A_STR, 0, "2024-05-01T12:00:00Z");
  if (u8(r) % 16 == 0) {
    H5Fclose(f);
    return;
  }
  g = H5Gcreate2(f, "ranks", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  nlinks = u8(r) % 8 == 0 ? (int)(u8(r) % 6) : nranks;
  for (int i = 0; i < nlinks && g >= 0; i++) {
    char name[64], file[300], obj[300];
    int rr = u8(r) % 8 == 0 ? (int)(u8(r) % 6) : i;
    snprintf(name, sizeof name, "%06d", rr);
    snprintf(file, sizeof file, "rank-%06d.h5", rr);
    snprintf(obj, sizeof obj, "/");
    switch (u8(r) % 12) {
    case 0: H5Lcreate_soft("/", g, name, H5P_DEFAULT, H5P_DEFAULT); continue;
    case 1: H5Lcreate_hard(f, "/", g, name, H5P_DEFAULT, H5P_DEFAULT); continue;
    case 2: text(r, file, sizeof file, NULL); break;
    case 3: text(r, obj, sizeof obj, NULL); break;
    case 4: text(r, name, sizeof name, NULL); break;
    default: break;
    }
    if (file[0] == '\0' || obj[0] == '\0' || name[0] == '\0' ||
        strchr(name, '/') != NULL || strcmp(name, ".") == 0)
      continue;
    H5Lcreate_external(file, obj, g, name, H5P_DEFAULT, H5P_DEFAULT);
  }
  if (g >= 0)
    H5Gclose(g);
  H5Fclose(f);
}

/* ---- checks ---- */

static int same_part(const mpisnap__part *a, const mpisnap__part *b) {
  if (a->id != b->id || a->parent != b->parent || a->rank != b->rank ||
      a->nranks != b->nranks || a->mode != b->mode || a->exact != b->exact ||
      a->point_index != b->point_index || strcmp(a->program, b->program) ||
      a->nvars != b->nvars || a->nmsgs != b->nmsgs ||
      a->ncounts != b->ncounts || a->nearly != b->nearly ||
      a->ncoll != b->ncoll || a->ndet != b->ndet)
    return 0;
  for (size_t i = 0; i < a->nvars; i++) {
    const mpisnap__var *x = &a->vars[i], *y = &b->vars[i];
    if (strcmp(x->name, y->name) || x->elem != y->elem || x->count != y->count ||
        x->bytes != y->bytes || strcmp(x->type_sig, y->type_sig) ||
        (x->bytes && memcmp(x->data, y->data, (size_t)x->bytes)))
      return 0;
  }
  for (size_t i = 0; i < a->nmsgs; i++) {
    const mpisnap__chanmsg *x = &a->msgs[i], *y = &b->msgs[i];
    if (x->comm_key != y->comm_key || x->src != y->src || x->dst != y->dst ||
        x->tag != y->tag || x->seq != y->seq || x->bytes != y->bytes ||
        (x->bytes && memcmp(x->data, y->data, (size_t)x->bytes)))
      return 0;
  }
  return (!a->ncounts || !memcmp(a->counts, b->counts, a->ncounts * sizeof *a->counts)) &&
         (!a->nearly || !memcmp(a->early, b->early, a->nearly * sizeof *a->early)) &&
         (!a->ncoll || !memcmp(a->coll, b->coll, a->ncoll * sizeof *a->coll)) &&
         (!a->ndet || !memcmp(a->det, b->det, a->ndet * sizeof *a->det));
}

static char base[256];
static unsigned long counter;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  snprintf(base, sizeof(base), "%s/mpisnap-fuzz-struct.XXXXXX",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  if (mkdtemp(base) == NULL || mpisnap__part_io_init() != 0)
    abort();
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd r = {data, size};
  char dir[512], path[600], path2[600], err[1024];
  unsigned long n = counter++;
  int master = size > 0 && (data[0] & 1);

  snprintf(dir, sizeof(dir), "%s/%lu", base, n);
  if (mkdir(dir, 0700) != 0)
    abort();
  u8(&r);
  if (master) {
    mpisnap__meta m;
    snprintf(path, sizeof(path), "%s/checkpoint.h5", dir);
    write_master(&r, path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    err[0] = '\0';
    if (mpisnap__meta_read(dir, &m, err, sizeof(err)) == 0) {
      if (m.nranks < 1 || m.mode < 0 || m.mode > 1 ||
          memchr(m.program, 0, sizeof m.program) == NULL ||
          memchr(m.created, 0, sizeof m.created) == NULL)
        abort();
      /* What is read can be written again. */
      char dir2[600];
      snprintf(dir2, sizeof(dir2), "%s/again", dir);
      mkdir(dir2, 0700);
      if (mpisnap__meta_write(dir2, &m, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_struct: the master file read back is refused by "
                        "the writer: %s\n", err);
        abort();
      }
      snprintf(path2, sizeof(path2), "%s/checkpoint.h5", dir2);
      unlink(path2);
      rmdir(dir2);
    } else if (err[0] == '\0' || strstr(err, "checkpoint.h5") == NULL) {
      fprintf(stderr, "fuzz_struct: master file error without the file name: '%s'\n", err);
      abort();
    }
  } else {
    mpisnap__part p, q;
    snprintf(path, sizeof(path), "%s/rank-000000.h5", dir);
    write_rank(&r, path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    err[0] = '\0';
    if (mpisnap__part_read(path, &p, err, sizeof(err)) == 0) {
      /* What is read can be written again and reads back the same. */
      snprintf(path2, sizeof(path2), "%s/again.h5", dir);
      if (mpisnap__part_write(path2, &p, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_struct: the part read back is refused by the "
                        "writer: %s\n", err);
        abort();
      }
      if (mpisnap__part_read(path2, &q, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_struct: a rewritten part does not read: %s\n", err);
        abort();
      }
      if (!same_part(&p, &q)) {
        fprintf(stderr, "fuzz_struct: a rewritten part reads back differently\n");
        abort();
      }
      mpisnap__part_clear(&q);
      mpisnap__part_clear(&p);
      unlink(path2);
    } else if (err[0] == '\0' || strstr(err, "rank-000000.h5") == NULL) {
      fprintf(stderr, "fuzz_struct: rank file error without the file name: '%s'\n", err);
      abort();
    }
  }
  unlink(path);
  rmdir(dir);
  return 0;
}
