/* Protected variables: what mpisnap_protect registers, how each is
 * stored (basic MPI datatypes as HDF5 numbers, anything else packed), and
 * how a restart puts the saved values back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "mpisnap.h"

/* Basic MPI datatypes are stored as the matching HDF5 native type. */
static int elem_of(MPI_Datatype t, char *sig, size_t siglen) {
  static const struct {
    MPI_Datatype type;
    int elem;
  } basic[] = {
      {MPI_CHAR, MPISNAP__ELEM_CHAR},
      {MPI_SIGNED_CHAR, MPISNAP__ELEM_SCHAR},
      {MPI_UNSIGNED_CHAR, MPISNAP__ELEM_UCHAR},
      {MPI_BYTE, MPISNAP__ELEM_UCHAR},
      {MPI_SHORT, MPISNAP__ELEM_SHORT},
      {MPI_UNSIGNED_SHORT, MPISNAP__ELEM_USHORT},
      {MPI_INT, MPISNAP__ELEM_INT},
      {MPI_UNSIGNED, MPISNAP__ELEM_UINT},
      {MPI_LONG, MPISNAP__ELEM_LONG},
      {MPI_UNSIGNED_LONG, MPISNAP__ELEM_ULONG},
      {MPI_LONG_LONG, MPISNAP__ELEM_LLONG},
      {MPI_LONG_LONG_INT, MPISNAP__ELEM_LLONG},
      {MPI_UNSIGNED_LONG_LONG, MPISNAP__ELEM_ULLONG},
      {MPI_FLOAT, MPISNAP__ELEM_FLOAT},
      {MPI_DOUBLE, MPISNAP__ELEM_DOUBLE},
      {MPI_LONG_DOUBLE, MPISNAP__ELEM_LDOUBLE},
      {MPI_INT8_T, MPISNAP__ELEM_INT8},
      {MPI_UINT8_T, MPISNAP__ELEM_UINT8},
      {MPI_INT16_T, MPISNAP__ELEM_INT16},
      {MPI_UINT16_T, MPISNAP__ELEM_UINT16},
      {MPI_INT32_T, MPISNAP__ELEM_INT32},
      {MPI_UINT32_T, MPISNAP__ELEM_UINT32},
      {MPI_INT64_T, MPISNAP__ELEM_INT64},
      {MPI_UINT64_T, MPISNAP__ELEM_UINT64},
  };

  sig[0] = '\0';
  for (size_t i = 0; i < sizeof(basic) / sizeof(basic[0]); i++)
    if (t == basic[i].type)
      return basic[i].elem;
  /* A derived datatype: stored packed, as bytes, with its signature:
   * the type's size and extent, enough to refuse a different type on
   * restore. */
  {
    MPI_Aint lb = 0, extent = 0;
    int size = 0;
    PMPI_Type_size(t, &size);
    PMPI_Type_get_extent(t, &lb, &extent);
    snprintf(sig, siglen, "derived:size=%d,extent=%ld,lb=%ld", size,
             (long)extent, (long)lb);
  }
  return MPISNAP__ELEM_BYTES;
}

MPISNAP_EXTERN int mpisnap_protect(const char *name, void *ptr, size_t count,
                                   MPI_Datatype type) {
  mpisnap__ck *k = &mpisnap__c;
  mpisnap__pvar *v = NULL;
  int tsize = 0;

  if (!k->on)
    return MPISNAP_ESTATE;
  if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL ||
      strlen(name) >= MPISNAP_NAME_MAX || (ptr == NULL && count > 0) ||
      type == MPI_DATATYPE_NULL || count > (size_t)0x7fffffff)
    return MPISNAP_EINVAL;
  if (PMPI_Type_size(type, &tsize) != MPI_SUCCESS)
    return MPISNAP_EINVAL;
  for (size_t i = 0; i < k->nvars; i++)
    if (strcmp(k->vars[i].name, name) == 0)
      v = &k->vars[i];
  if (v == NULL) {
    if (mpisnap__grow((void **)&k->vars, &k->capvars, k->nvars + 1,
                      sizeof(*k->vars)) != 0)
      return MPISNAP_ENOMEM;
    v = &k->vars[k->nvars++];
    memset(v, 0, sizeof(*v));
    snprintf(v->name, sizeof(v->name), "%s", name);
  }
  v->ptr = ptr;
  v->count = count;
  v->type = type;
  v->tsize = tsize;
  v->elem = elem_of(type, v->sig, sizeof(v->sig));
  return 0;
}

MPISNAP_EXTERN int mpisnap_unprotect(const char *name) {
  mpisnap__ck *k = &mpisnap__c;

  if (!k->on)
    return MPISNAP_ESTATE;
  if (name == NULL)
    return MPISNAP_EINVAL;
  for (size_t i = 0; i < k->nvars; i++)
    if (strcmp(k->vars[i].name, name) == 0) {
      k->vars[i] = k->vars[--k->nvars];
      return 0;
    }
  return MPISNAP_ENOENT;
}

/* ---- restore ---- */

static mpisnap__var *saved(const char *name) {
  mpisnap__part *p = &mpisnap__c.restored;

  for (size_t i = 0; i < p->nvars; i++)
    if (strcmp(p->vars[i].name, name) == 0)
      return &p->vars[i];
  return NULL;
}

static int saved_count(const char *name, size_t *count) {
  mpisnap__var *v;

  if (mpisnap__c.conf.parent == 0)
    return MPISNAP_ESTATE;
  if ((v = saved(name)) == NULL)
    return MPISNAP_ENOENT;
  *count = (size_t)v->count;
  return 0;
}

static int restore_vars(void) {
  mpisnap__ck *k = &mpisnap__c;
  mpisnap__part *p = &k->restored;

  for (size_t i = 0; i < k->nvars; i++) {
    mpisnap__pvar *v = &k->vars[i];
    mpisnap__var *s = saved(v->name);
    size_t bytes = v->count * (size_t)v->tsize;
    if (s == NULL) {
      fprintf(stderr, "mpisnap: error: rank %d: protected variable '%s' is "
                      "not in checkpoint %llu (a checkpoint of another "
                      "program?)\n", mpisnap__c.conf.rank, v->name,
              (unsigned long long)p->id);
      return MPISNAP_EMISMATCH;
    }
    if (s->elem != v->elem || s->count != v->count || s->bytes != bytes ||
        (v->elem == MPISNAP__ELEM_BYTES && strcmp(s->type_sig, v->sig) != 0)) {
      fprintf(stderr, "mpisnap: error: rank %d: protected variable '%s' was "
                      "saved as %llu elements of type %d (%llu bytes) but is "
                      "protected as %zu elements of type %d (%zu bytes)\n",
              mpisnap__c.conf.rank, v->name, (unsigned long long)s->count,
              s->elem, (unsigned long long)s->bytes, v->count, v->elem, bytes);
      return MPISNAP_EMISMATCH;
    }
  }
  if (p->nvars != k->nvars) {
    fprintf(stderr, "mpisnap: error: rank %d: checkpoint %llu holds %zu "
                    "variables but %zu are protected (a checkpoint of "
                    "another program?)\n", mpisnap__c.conf.rank,
            (unsigned long long)p->id, p->nvars, k->nvars);
    return MPISNAP_EMISMATCH;
  }
  for (size_t i = 0; i < k->nvars; i++) {
    mpisnap__pvar *v = &k->vars[i];
    mpisnap__var *s = saved(v->name);
    if (s->bytes == 0)
      continue;
    if (v->elem == MPISNAP__ELEM_BYTES) {
      int pos = 0;
      PMPI_Unpack(s->data, (int)s->bytes, &pos, v->ptr, (int)v->count,
                  v->type, MPI_COMM_SELF);
    } else {
      memcpy(v->ptr, s->data, (size_t)s->bytes);
    }
  }
  return (int)p->id;
}

MPISNAP_EXTERN int mpisnap_restore_count(const char *name, size_t *count) {
  if (!mpisnap__c.on)
    return MPISNAP_ESTATE;
  if (name == NULL || count == NULL)
    return MPISNAP_EINVAL;
  return saved_count(name, count);
}

MPISNAP_EXTERN int mpisnap_restore(void) {
  mpisnap__ck *k = &mpisnap__c;
  int rc, all = 0;

  if (!k->on || k->conf.parent == 0)
    return MPISNAP_ESTATE;
  rc = restore_vars();
  PMPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (rc < 0)
    return rc;
  return all < 0 ? MPISNAP_EMISMATCH : rc;
}

