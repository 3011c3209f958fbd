/* The root attributes of the two checkpoint files: the numbers a rank file
 * or the master file holds about the checkpoint as a whole (id, ranks,
 * mode, timings, ...).  Each kind of file has one list of them below, and
 * its writer and its reader both go through that list, so the two sides
 * cannot disagree on a name, a type or the order; the order is the one
 * h5dump shows and docs/FORMAT.md documents. */
#include "format/h5util.h"

#include <stddef.h>
#include <string.h>

#include "format/part.h"
#include "mpisnap_errno.h"

/* Member m of struct T as the root attribute called name.  The attribute's
 * type follows the member's, so a list cannot disagree with its struct. */
#define ATTR_AS(name, T, m)                                                   \
  {name,                                                                      \
   _Generic(((T *)0)->m, uint64_t: MPISNAP__ATTR_U64,                         \
            int32_t: MPISNAP__ATTR_I32, double: MPISNAP__ATTR_F64,            \
            char *: MPISNAP__ATTR_STR),                                       \
   offsetof(T, m), sizeof(((T *)0)->m)}
#define ATTR(T, m) ATTR_AS(#m, T, m)
/* The mode spelt out ("collective"), beside its code (mode_code): people
 * read the one, programs the other, and the reader checks they agree. */
#define MODE(T) {"mode", MPISNAP__ATTR_MODE, offsetof(T, mode), sizeof(int32_t)}

static const mpisnap__attr rank_attrs[] = {
  ATTR(mpisnap__part, id),
  ATTR(mpisnap__part, parent),
  ATTR(mpisnap__part, rank),
  ATTR(mpisnap__part, nranks),
  MODE(mpisnap__part),
  ATTR_AS("mode_code", mpisnap__part, mode),
  ATTR(mpisnap__part, exact),
  ATTR(mpisnap__part, point_index),
  ATTR(mpisnap__part, stall_seconds),
  ATTR(mpisnap__part, write_seconds),
  ATTR(mpisnap__part, program),
};

static const mpisnap__attr meta_attrs[] = {
  ATTR(mpisnap__meta, id),
  ATTR(mpisnap__meta, parent),
  ATTR(mpisnap__meta, nranks),
  MODE(mpisnap__meta),
  ATTR_AS("mode_code", mpisnap__meta, mode),
  ATTR(mpisnap__meta, exact),
  ATTR(mpisnap__meta, total_bytes),
  ATTR(mpisnap__meta, inflight_msgs),
  ATTR(mpisnap__meta, early_msgs),
  ATTR(mpisnap__meta, markers),
  ATTR(mpisnap__meta, stall_seconds_max),
  ATTR(mpisnap__meta, write_seconds_max),
  ATTR(mpisnap__meta, commit_seconds),
  ATTR(mpisnap__meta, program),
  ATTR(mpisnap__meta, created),
};

const mpisnap__root mpisnap__rank_root = {
  "mpisnap-rank", sizeof rank_attrs / sizeof rank_attrs[0], rank_attrs};
const mpisnap__root mpisnap__meta_root = {
  "mpisnap-checkpoint", sizeof meta_attrs / sizeof meta_attrs[0],
  meta_attrs};

static const char *const mode_names[] = {"collective", "independent"};

int mpisnap__h5_put_root(mpisnap__h5 *h, const mpisnap__root *r,
                         const void *s)
{
  hid_t f = h->file;
  const unsigned char *b = s;
  mpisnap__h5_put_str(h, f, "/", "mpisnap_format", r->format);
  mpisnap__h5_put_i32(h, f, "/", "format_version", MPISNAP_FORMAT_VERSION);
  for (size_t i = 0; i < r->n && h->rc == 0; i++) {
    const mpisnap__attr *a = &r->a[i];
    /* Copied out rather than cast: s is only known as bytes here. */
    uint64_t u;
    int32_t k;
    double d;
    switch (a->type) {
    case MPISNAP__ATTR_U64:
      memcpy(&u, b + a->off, sizeof u);
      mpisnap__h5_put_u64(h, f, "/", a->name, u);
      break;
    case MPISNAP__ATTR_I32:
      memcpy(&k, b + a->off, sizeof k);
      mpisnap__h5_put_i32(h, f, "/", a->name, k);
      break;
    case MPISNAP__ATTR_F64:
      memcpy(&d, b + a->off, sizeof d);
      mpisnap__h5_put_f64(h, f, "/", a->name, d);
      break;
    case MPISNAP__ATTR_STR:
      mpisnap__h5_put_str(h, f, "/", a->name, (const char *)(b + a->off));
      break;
    case MPISNAP__ATTR_MODE:
      memcpy(&k, b + a->off, sizeof k);
      /* The writers check the mode first; this only keeps the index safe. */
      if (k < 0 || k > 1)
        return mpisnap__h5_fail(h, MPISNAP_EINVAL, 0, "/: mode code %d",
                                (int)k);
      mpisnap__h5_put_str(h, f, "/", a->name, mode_names[k]);
      break;
    default:
      return mpisnap__h5_fail(h, MPISNAP_EINVAL, 0, "/: attribute %s: bad "
                              "list entry", a->name);
    }
  }
  return h->rc;
}

int mpisnap__h5_get_root(mpisnap__h5 *h, const mpisnap__root *r, void *s,
                         char *mode, size_t len)
{
  hid_t f = h->file;
  unsigned char *b = s;
  for (size_t i = 0; i < r->n && h->rc == 0; i++) {
    const mpisnap__attr *a = &r->a[i];
    void *v = b + a->off; /* the member itself, of the attribute's type */
    switch (a->type) {
    case MPISNAP__ATTR_U64: mpisnap__h5_get_u64(h, f, "/", a->name, v); break;
    case MPISNAP__ATTR_I32: mpisnap__h5_get_i32(h, f, "/", a->name, v); break;
    case MPISNAP__ATTR_F64: mpisnap__h5_get_f64(h, f, "/", a->name, v); break;
    case MPISNAP__ATTR_STR:
      mpisnap__h5_get_str(h, f, "/", a->name, v, a->size);
      break;
    case MPISNAP__ATTR_MODE:
      mpisnap__h5_get_str(h, f, "/", a->name, mode, len);
      break;
    default:
      return mpisnap__h5_fail(h, MPISNAP_EINVAL, 0, "/: attribute %s: bad "
                              "list entry", a->name);
    }
  }
  return h->rc;
}

int mpisnap__h5_check_mode(mpisnap__h5 *h, const char *mode, int32_t code)
{
  if (code < 0 || code > 1 || strcmp(mode, mode_names[code]) != 0)
    return mpisnap__h5_fail(h, MPISNAP_ECORRUPT, 0,
                            "/: mode \"%s\" and mode_code %d disagree", mode,
                            (int)code);
  return 0;
}
