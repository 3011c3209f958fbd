/* Fortran MPI entry points.
 *
 * Open MPI 4.1's Fortran bindings (libmpi_mpifh: mpi_send_, ...; and
 * libmpi_usempif08: mpi_send_f08_, ...) call PMPI_Send directly, so a
 * Fortran program's traffic would never meet the C wrappers.  mpisnap
 * defines the Fortran entry points itself, in every mangling, each
 * converting its arguments with the standard MPI_*_f2c/c2f and
 * MPI_Status_f2c/c2f and calling the C wrapper (MPI_Send, ...), so no
 * Fortran variant can bypass the channel layer.  They are generated from
 * one list, fortran.def; mpisnap_init refuses to run when one of these
 * names resolves to another library (mpisnap__layer_fortran_check).
 *
 * Three things Fortran passes are not what C expects:
 * - the sentinels MPI_IN_PLACE, MPI_BOTTOM, MPI_STATUS(ES)_IGNORE,
 *   MPI_UNWEIGHTED, MPI_WEIGHTS_EMPTY are addresses of variables in the
 *   MPI library's Fortran support (Open MPI's mpi_fortran_in_place_, ...),
 *   not the C values: they are looked up by name once MPI is initialised
 *   (the standard's MPI_F_STATUS(ES)_IGNORE as well);
 * - LOGICAL is an integer whose true value is the compiler's
 *   (MPISNAP_FORTRAN_TRUE, 1 for gfortran); any nonzero value reads true;
 * - the layer's own requests are live MPI requests (request.c), which MPI
 *   converts; its messages are virtual handles, which MPI_Message_c2f
 *   cannot convert: they get Fortran handles of their own, negative
 *   numbers from -2 down, handed out only while the message lives, and
 *   told from MPI's by the table (a Fortran message handle that MPI made
 *   never reaches the application: every matched probe is the layer's). */
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmpi/layer.h"

_Static_assert(sizeof(MPI_Fint) == sizeof(int),
               "Fortran INTEGER arrays are passed to C as int arrays");

/* The Fortran status is MPI_F_STATUS_SIZE integers (MPI 4.0; MPICH has
 * it); Open MPI 4.1's mpi.h does not say, and its Fortran status is the C
 * status, integer for integer. */
#ifdef MPI_F_STATUS_SIZE
#define F_STATUS_SIZE MPI_F_STATUS_SIZE
#else
#define F_STATUS_SIZE (sizeof(MPI_Status) / sizeof(MPI_Fint))
#endif

#ifndef MPISNAP_FORTRAN_TRUE
#define MPISNAP_FORTRAN_TRUE 1
#endif

/* ---- the layer's handles, seen from Fortran ---- */

static void **ftab;  /* slot i: the object behind Fortran handle -(i + 2) */
static int *ffree_next;
static int ftab_n, ftab_cap, ffree = -1;

static MPI_Fint fh_new(void *obj) {
  int i;

  if (ffree >= 0) {
    i = ffree;
    ffree = ffree_next[i];
  } else {
    if (ftab_n == ftab_cap) {
      int ncap = ftab_cap ? 2 * ftab_cap : 64;
      void **t = realloc(ftab, (size_t)ncap * sizeof(*t));
      int *n = t ? realloc(ffree_next, (size_t)ncap * sizeof(*n)) : NULL;
      if (t == NULL || n == NULL)
        mpisnap__fatal("out of memory for a Fortran request handle");
      ftab = t;
      ffree_next = n;
      ftab_cap = ncap;
    }
    i = ftab_n++;
  }
  ftab[i] = obj;
  return (MPI_Fint)(-(i + 2));
}

static void *fh_get(MPI_Fint h) {
  long i = -(long)h - 2;
  return h <= -2 && i < ftab_n ? ftab[i] : NULL;
}

void mpisnap__fortran_forget(int h) {
  long i = -(long)h - 2;

  if (h <= -2 && i < ftab_n && ftab[i] != NULL) {
    ftab[i] = NULL;
    ffree_next[i] = ffree;
    ffree = (int)i;
  }
}

/* The layer's request handles are live MPI requests (request.c), so MPI
 * converts them as any other. */
static MPI_Request req_f2c(MPI_Fint h) { return MPI_Request_f2c(h); }

static MPI_Fint req_c2f(MPI_Request r) { return MPI_Request_c2f(r); }

static MPI_Message msg_f2c(MPI_Fint h) {
  void *p = fh_get(h);
  return p != NULL ? ((mpisnap__msg *)p)->hval : MPI_Message_f2c(h);
}

static MPI_Fint msg_c2f(MPI_Message m) {
  mpisnap__msg *q = mpisnap__msg_lookup(m);

  if (q == NULL)
    return MPI_Message_c2f(m);
  if (q->fhandle == 0)
    q->fhandle = fh_new(q);
  return q->fhandle;
}

/* ---- sentinels ---- */

enum { S_IN_PLACE, S_BOTTOM, S_STATUS_IGNORE, S_STATUSES_IGNORE, S_UNWEIGHTED,
       S_WEIGHTS_EMPTY, S_N, S_MAXADDR = 6 };

static const char *const sentinel_name[S_N] = {
    "MPI_IN_PLACE", "MPI_BOTTOM", "MPI_STATUS_IGNORE", "MPI_STATUSES_IGNORE",
    "MPI_UNWEIGHTED", "MPI_WEIGHTS_EMPTY"};

/* Where each MPI keeps them.  Open MPI: common-block variables, in each
 * Fortran mangling, used by mpif.h, `use mpi` and `use mpi_f08` alike.
 * MPICH (to be verified when MPICH support lands): C pointers to the
 * common blocks, set when Fortran's MPI_Init runs, and the mpi_f08
 * module's own variables. */
static const struct {
  const char *name;
  int which, indirect;
} sentinel_sym[] = {
#define OMPI_S(low, up, w)                                                     \
  {"mpi_fortran_" low "_", w, 0}, {"mpi_fortran_" low, w, 0},                 \
      {"mpi_fortran_" low "__", w, 0}, {"MPI_FORTRAN_" up, w, 0}
    OMPI_S("in_place", "IN_PLACE", S_IN_PLACE),
    OMPI_S("bottom", "BOTTOM", S_BOTTOM),
    OMPI_S("status_ignore", "STATUS_IGNORE", S_STATUS_IGNORE),
    OMPI_S("statuses_ignore", "STATUSES_IGNORE", S_STATUSES_IGNORE),
    OMPI_S("unweighted", "UNWEIGHTED", S_UNWEIGHTED),
    OMPI_S("weights_empty", "WEIGHTS_EMPTY", S_WEIGHTS_EMPTY),
#undef OMPI_S
    {"MPIR_F_MPI_IN_PLACE", S_IN_PLACE, 1},
    {"MPIR_F_MPI_BOTTOM", S_BOTTOM, 1},
    {"MPIR_F_MPI_UNWEIGHTED", S_UNWEIGHTED, 1},
    {"MPIR_F_MPI_WEIGHTS_EMPTY", S_WEIGHTS_EMPTY, 1},
    {"MPIR_F08_MPI_IN_PLACE", S_IN_PLACE, 0},
    {"MPIR_F08_MPI_BOTTOM", S_BOTTOM, 0},
    {"MPIR_F08_MPI_STATUS_IGNORE_OBJ", S_STATUS_IGNORE, 0},
    {"MPIR_F08_MPI_STATUSES_IGNORE_OBJ", S_STATUSES_IGNORE, 0},
};

static void *sent[S_N][S_MAXADDR]; /* NULL-terminated */

static void sentinel_add(int w, void *a) {
  for (int k = 0; k < S_MAXADDR; k++) {
    if (sent[w][k] == a)
      return;
    if (sent[w][k] == NULL) {
      sent[w][k] = a;
      return;
    }
  }
}

/* After MPI_Init (MPICH sets its pointers in Fortran's MPI_Init). */
void mpisnap__fortran_setup(void) {
  for (size_t i = 0; i < sizeof(sentinel_sym) / sizeof(sentinel_sym[0]); i++) {
    void *a = dlsym(RTLD_DEFAULT, sentinel_sym[i].name);
    if (a != NULL && sentinel_sym[i].indirect)
      a = *(void **)a;
    if (a != NULL)
      sentinel_add(sentinel_sym[i].which, a);
  }
  if (MPI_F_STATUS_IGNORE != NULL)
    sentinel_add(S_STATUS_IGNORE, MPI_F_STATUS_IGNORE);
  if (MPI_F_STATUSES_IGNORE != NULL)
    sentinel_add(S_STATUSES_IGNORE, MPI_F_STATUSES_IGNORE);
}

static int is_sentinel(int w, const void *p) {
  for (int k = 0; k < S_MAXADDR && sent[w][k] != NULL; k++)
    if (sent[w][k] == p)
      return 1;
  return 0;
}

static void *f_buf(void *p) {
  if (is_sentinel(S_IN_PLACE, p))
    return MPI_IN_PLACE;
  if (is_sentinel(S_BOTTOM, p))
    return MPI_BOTTOM;
  return p;
}

static const int *f_weights(MPI_Fint *p) {
  if (is_sentinel(S_UNWEIGHTED, p))
    return MPI_UNWEIGHTED;
  if (is_sentinel(S_WEIGHTS_EMPTY, p))
    return MPI_WEIGHTS_EMPTY;
  return (const int *)p;
}

/* A C status for Fortran status f, or MPI_STATUS_IGNORE.  MPI_ERROR is
 * carried in, since single-completion calls leave it alone. */
static MPI_Status *st_in(MPI_Fint *f, MPI_Status *c) {
  if (f == NULL || is_sentinel(S_STATUS_IGNORE, f))
    return MPI_STATUS_IGNORE;
  MPI_Status_f2c(f, c);
  return c;
}

static void st_out(MPI_Status *c, MPI_Fint *f) {
  if (c != MPI_STATUS_IGNORE)
    MPI_Status_c2f(c, f);
}

static MPI_Fint f_logical(int x) { return x ? MPISNAP_FORTRAN_TRUE : 0; }

/* ---- argument kinds ----
 * For each kind K: FWP_K declares the Fortran parameter, FWL_K the local
 * C value (before the call), FWA_K the C argument, FWO_K what goes back
 * to Fortran (after the call). */
#define FWP_I(x) MPI_Fint *x
#define FWL_I(x)
#define FWA_I(x) (int)*x
#define FWO_I(x)

#define FWP_IARR(x) MPI_Fint *x
#define FWL_IARR(x)
#define FWA_IARR(x) (const int *)x
#define FWO_IARR(x)

#define FWP_LOG(x) MPI_Fint *x
#define FWL_LOG(x)
#define FWA_LOG(x) (*x != 0)
#define FWO_LOG(x)

#define FWP_WGT(x) MPI_Fint *x
#define FWL_WGT(x)
#define FWA_WGT(x) f_weights(x)
#define FWO_WGT(x)

#define FWP_IBUF(x) void *x
#define FWL_IBUF(x)
#define FWA_IBUF(x) f_buf(x)
#define FWO_IBUF(x)
#define FWP_OBUF FWP_IBUF
#define FWL_OBUF FWL_IBUF
#define FWA_OBUF FWA_IBUF
#define FWO_OBUF FWO_IBUF

#define FWP_DT(x) MPI_Fint *x
#define FWL_DT(x)
#define FWA_DT(x) MPI_Type_f2c(*x)
#define FWO_DT(x)
#define FWP_OP(x) MPI_Fint *x
#define FWL_OP(x)
#define FWA_OP(x) MPI_Op_f2c(*x)
#define FWO_OP(x)
#define FWP_COMM(x) MPI_Fint *x
#define FWL_COMM(x)
#define FWA_COMM(x) MPI_Comm_f2c(*x)
#define FWO_COMM(x)
#define FWP_GROUP(x) MPI_Fint *x
#define FWL_GROUP(x)
#define FWA_GROUP(x) MPI_Group_f2c(*x)
#define FWO_GROUP(x)
#define FWP_INFO(x) MPI_Fint *x
#define FWL_INFO(x)
#define FWA_INFO(x) MPI_Info_f2c(*x)
#define FWO_INFO(x)

#define FWP_COMMO(x) MPI_Fint *x
#define FWL_COMMO(x) MPI_Comm c_##x = MPI_COMM_NULL;
#define FWA_COMMO(x) &c_##x
#define FWO_COMMO(x) *x = MPI_Comm_c2f(c_##x);
#define FWP_COMMIO(x) MPI_Fint *x
#define FWL_COMMIO(x) MPI_Comm c_##x = MPI_Comm_f2c(*x);
#define FWA_COMMIO(x) &c_##x
#define FWO_COMMIO(x) *x = MPI_Comm_c2f(c_##x);

#define FWP_REQO(x) MPI_Fint *x
#define FWL_REQO(x) MPI_Request c_##x = MPI_REQUEST_NULL;
#define FWA_REQO(x) &c_##x
#define FWO_REQO(x) *x = req_c2f(c_##x);
#define FWP_REQIO(x) MPI_Fint *x
#define FWL_REQIO(x) MPI_Request c_##x = req_f2c(*x);
#define FWA_REQIO(x) &c_##x
#define FWO_REQIO(x) *x = req_c2f(c_##x);
#define FWP_REQI(x) MPI_Fint *x
#define FWL_REQI(x)
#define FWA_REQI(x) req_f2c(*x)
#define FWO_REQI(x)

#define FWP_MSGO(x) MPI_Fint *x
#define FWL_MSGO(x) MPI_Message c_##x = MPI_MESSAGE_NULL;
#define FWA_MSGO(x) &c_##x
#define FWO_MSGO(x) *x = msg_c2f(c_##x);
#define FWP_MSGIO(x) MPI_Fint *x
#define FWL_MSGIO(x) MPI_Message c_##x = msg_f2c(*x);
#define FWA_MSGIO(x) &c_##x
#define FWO_MSGIO(x) *x = msg_c2f(c_##x);

#define FWP_FLAG(x) MPI_Fint *x
#define FWL_FLAG(x) int c_##x = 0;
#define FWA_FLAG(x) &c_##x
#define FWO_FLAG(x) *x = f_logical(c_##x);

#define FWP_ST(x) MPI_Fint *x
#define FWL_ST(x) MPI_Status c_##x, *p_##x = st_in(x, &c_##x);
#define FWA_ST(x) p_##x
#define FWO_ST(x) st_out(p_##x, x);

/* ---- the generator ---- */
#define FW_CAT(a, b) FW_CAT_(a, b)
#define FW_CAT_(a, b) a##b
#define FW_N(...) FW_N_(__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define FW_N_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, n, ...) n
#define FW_COMMA() ,
#define FW_NONE()
/* FW_MAP(sep, prefix, K1(a), K2(b), ...): prefixK1(a) sep() prefixK2(b) ... */
#define FW_MAP(s, m, ...) FW_CAT(FW_MAP_, FW_N(__VA_ARGS__))(s, m, __VA_ARGS__)
#define FW_MAP_1(s, m, a) m##a
#define FW_MAP_2(s, m, a, ...) m##a s() FW_MAP_1(s, m, __VA_ARGS__)
#define FW_MAP_3(s, m, a, ...) m##a s() FW_MAP_2(s, m, __VA_ARGS__)
#define FW_MAP_4(s, m, a, ...) m##a s() FW_MAP_3(s, m, __VA_ARGS__)
#define FW_MAP_5(s, m, a, ...) m##a s() FW_MAP_4(s, m, __VA_ARGS__)
#define FW_MAP_6(s, m, a, ...) m##a s() FW_MAP_5(s, m, __VA_ARGS__)
#define FW_MAP_7(s, m, a, ...) m##a s() FW_MAP_6(s, m, __VA_ARGS__)
#define FW_MAP_8(s, m, a, ...) m##a s() FW_MAP_7(s, m, __VA_ARGS__)
#define FW_MAP_9(s, m, a, ...) m##a s() FW_MAP_8(s, m, __VA_ARGS__)
#define FW_MAP_10(s, m, a, ...) m##a s() FW_MAP_9(s, m, __VA_ARGS__)
#define FW_MAP_11(s, m, a, ...) m##a s() FW_MAP_10(s, m, __VA_ARGS__)
#define FW_MAP_12(s, m, a, ...) m##a s() FW_MAP_11(s, m, __VA_ARGS__)

/* ---- wrappers written by hand (FWX) ---- */

static int f_rc(MPI_Fint *ierr, int rc) {
  if (ierr != NULL)
    *ierr = (MPI_Fint)rc;
  return rc;
}

/* The MPI library's own Fortran MPI_Init first, through the standard's
 * Fortran profiling name (MPICH sets up its Fortran sentinels there; Open
 * MPI's calls PMPI_Init), then the layer if that did not reach our C
 * MPI_Init.  Without Fortran bindings in MPI: our C MPI_Init. */
typedef void (*f_init_fn)(MPI_Fint *ierr);
typedef void (*f_init_thread_fn)(MPI_Fint *req, MPI_Fint *prov, MPI_Fint *ierr);

static void *pmpi_fortran(const char *base) {
  static const char *const fmt[] = {"pmpi_%s_", "pmpi_%s__", "pmpi_%s", NULL};
  char name[64];

  for (int i = 0; fmt[i] != NULL; i++) {
    void *f;
    snprintf(name, sizeof(name), fmt[i], base);
    if ((f = dlsym(RTLD_NEXT, name)) != NULL)
      return f;
  }
  return NULL;
}

static void fw_init(MPI_Fint *ierr) {
  f_init_fn f = (f_init_fn)pmpi_fortran("init");
  MPI_Fint rc = MPI_SUCCESS;

  if (f == NULL) {
    f_rc(ierr, MPI_Init(NULL, NULL));
    return;
  }
  f(&rc);
  f_rc(ierr, mpisnap__init_layer(rc));
}

static void fw_init_thread(MPI_Fint *required, MPI_Fint *provided,
                           MPI_Fint *ierr) {
  f_init_thread_fn f = (f_init_thread_fn)pmpi_fortran("init_thread");
  MPI_Fint rc = MPI_SUCCESS;
  int prov = 0;

  if (f == NULL) {
    f_rc(ierr, MPI_Init_thread(NULL, NULL, (int)*required, &prov));
    *provided = prov;
    return;
  }
  if ((rc = mpisnap__init_thread_check((int)*required)) != MPI_SUCCESS) {
    f_rc(ierr, rc);
    return;
  }
  f(required, provided, &rc);
  f_rc(ierr, mpisnap__init_layer(rc));
}

static void fw_finalize(MPI_Fint *ierr) { f_rc(ierr, MPI_Finalize()); }

/* Arrays of handles: on the stack when small. */
#define F_SMALL 32

static MPI_Request *reqs_in(int n, MPI_Fint *f, MPI_Request *small) {
  MPI_Request *c = n <= F_SMALL ? small : malloc((size_t)n * sizeof(*c));
  if (c == NULL)
    mpisnap__fatal("out of memory converting %d Fortran requests", n);
  for (int i = 0; i < n; i++)
    c[i] = req_f2c(f[i]);
  return c;
}

static void reqs_out(int n, MPI_Request *c, MPI_Fint *f, MPI_Request *small) {
  for (int i = 0; i < n; i++)
    f[i] = req_c2f(c[i]);
  if (c != small)
    free(c);
}

/* Statuses: MPI_STATUSES_IGNORE, or a C array of n, of which the first k
 * go back to Fortran (sts_out also frees it). */
static MPI_Status *sts_in(int n, MPI_Fint *f, MPI_Status *small) {
  MPI_Status *c;

  if (f == NULL || is_sentinel(S_STATUSES_IGNORE, f))
    return MPI_STATUSES_IGNORE;
  c = n <= F_SMALL ? small : malloc((size_t)(n > 0 ? n : 1) * sizeof(*c));
  if (c == NULL)
    mpisnap__fatal("out of memory converting %d Fortran statuses", n);
  for (int i = 0; i < n; i++)
    MPI_Status_f2c(f + (size_t)i * F_STATUS_SIZE, &c[i]);
  return c;
}

static void sts_out(int k, MPI_Status *c, MPI_Fint *f, MPI_Status *small) {
  if (c == MPI_STATUSES_IGNORE)
    return;
  for (int i = 0; i < k; i++)
    MPI_Status_c2f(&c[i], f + (size_t)i * F_STATUS_SIZE);
  if (c != small)
    free(c);
}

static void fw_startall(MPI_Fint *n, MPI_Fint *freq, MPI_Fint *ierr) {
  MPI_Request small[F_SMALL], *c = reqs_in(*n, freq, small);
  int rc = MPI_Startall(*n, c);
  reqs_out(*n, c, freq, small);
  f_rc(ierr, rc);
}

static void fw_waitall(MPI_Fint *n, MPI_Fint *freq, MPI_Fint *fst,
                       MPI_Fint *ierr) {
  MPI_Request small[F_SMALL], *c = reqs_in(*n, freq, small);
  MPI_Status ssmall[F_SMALL], *st = sts_in(*n, fst, ssmall);
  int rc = MPI_Waitall(*n, c, st);
  reqs_out(*n, c, freq, small);
  sts_out(*n, st, fst, ssmall);
  f_rc(ierr, rc);
}

static void fw_testall(MPI_Fint *n, MPI_Fint *freq, MPI_Fint *flag,
                       MPI_Fint *fst, MPI_Fint *ierr) {
  MPI_Request small[F_SMALL], *c = reqs_in(*n, freq, small);
  MPI_Status ssmall[F_SMALL], *st = sts_in(*n, fst, ssmall);
  int done = 0, rc = MPI_Testall(*n, c, &done, st);
  reqs_out(*n, c, freq, small);
  sts_out(done || rc == MPI_ERR_IN_STATUS ? *n : 0, st, fst, ssmall);
  *flag = f_logical(done);
  f_rc(ierr, rc);
}

static MPI_Fint f_index(int i) { return i == MPI_UNDEFINED ? i : i + 1; }

static void fw_waitany(MPI_Fint *n, MPI_Fint *freq, MPI_Fint *index,
                       MPI_Fint *fst, MPI_Fint *ierr) {
  MPI_Request small[F_SMALL], *c = reqs_in(*n, freq, small);
  MPI_Status cst, *st = st_in(fst, &cst);
  int idx = MPI_UNDEFINED, rc = MPI_Waitany(*n, c, &idx, st);
  reqs_out(*n, c, freq, small);
  st_out(st, fst);
  *index = f_index(idx);
  f_rc(ierr, rc);
}

static void fw_testany(MPI_Fint *n, MPI_Fint *freq, MPI_Fint *index,
                       MPI_Fint *flag, MPI_Fint *fst, MPI_Fint *ierr) {
  MPI_Request small[F_SMALL], *c = reqs_in(*n, freq, small);
  MPI_Status cst, *st = st_in(fst, &cst);
  int idx = MPI_UNDEFINED, done = 0, rc = MPI_Testany(*n, c, &idx, &done, st);
  reqs_out(*n, c, freq, small);
  if (done)
    st_out(st, fst);
  *index = f_index(idx);
  *flag = f_logical(done);
  f_rc(ierr, rc);
}

typedef int (*some_fn)(int, MPI_Request[], int *, int[], MPI_Status[]);

static void some(some_fn fn, MPI_Fint *n, MPI_Fint *freq, MPI_Fint *outcount,
                 MPI_Fint *indices, MPI_Fint *fst, MPI_Fint *ierr) {
  MPI_Request small[F_SMALL], *c = reqs_in(*n, freq, small);
  MPI_Status ssmall[F_SMALL], *st = sts_in(*n, fst, ssmall);
  int out = MPI_UNDEFINED, rc = fn(*n, c, &out, (int *)indices, st);
  int k = out == MPI_UNDEFINED ? 0 : out;
  reqs_out(*n, c, freq, small);
  sts_out(k, st, fst, ssmall);
  for (int i = 0; i < k; i++)
    indices[i] += 1;
  *outcount = out;
  f_rc(ierr, rc);
}

static void fw_waitsome(MPI_Fint *n, MPI_Fint *freq, MPI_Fint *outcount,
                        MPI_Fint *indices, MPI_Fint *fst, MPI_Fint *ierr) {
  some(MPI_Waitsome, n, freq, outcount, indices, fst, ierr);
}

static void fw_testsome(MPI_Fint *n, MPI_Fint *freq, MPI_Fint *outcount,
                        MPI_Fint *indices, MPI_Fint *fst, MPI_Fint *ierr) {
  some(MPI_Testsome, n, freq, outcount, indices, fst, ierr);
}

/* Datatype arrays, whose length MPI knows from the communicator. */
static MPI_Datatype *types_in(int n, const MPI_Fint *f) {
  MPI_Datatype *c = malloc((size_t)(n > 0 ? n : 1) * sizeof(*c));
  if (c == NULL)
    mpisnap__fatal("out of memory converting %d Fortran datatypes", n);
  for (int i = 0; i < n; i++)
    c[i] = MPI_Type_f2c(f[i]);
  return c;
}

static void fw_alltoallw(void *sbuf, MPI_Fint *scounts, MPI_Fint *sdispls,
                         MPI_Fint *stypes, void *rbuf, MPI_Fint *rcounts,
                         MPI_Fint *rdispls, MPI_Fint *rtypes, MPI_Fint *comm,
                         MPI_Fint *ierr) {
  MPI_Comm c = MPI_Comm_f2c(*comm);
  int inter = 0, n = 0, rc;
  void *cs = f_buf(sbuf);
  MPI_Datatype *st, *rt;

  PMPI_Comm_test_inter(c, &inter);
  (inter ? PMPI_Comm_remote_size : PMPI_Comm_size)(c, &n);
  st = types_in(cs == MPI_IN_PLACE ? 0 : n, stypes);
  rt = types_in(n, rtypes);
  rc = MPI_Alltoallw(cs, (const int *)scounts, (const int *)sdispls, st,
                     f_buf(rbuf), (const int *)rcounts, (const int *)rdispls,
                     rt, c);
  free(st);
  free(rt);
  f_rc(ierr, rc);
}

static void fw_neighbor_alltoallw(void *sbuf, MPI_Fint *scounts,
                                  MPI_Aint *sdispls, MPI_Fint *stypes,
                                  void *rbuf, MPI_Fint *rcounts,
                                  MPI_Aint *rdispls, MPI_Fint *rtypes,
                                  MPI_Fint *comm, MPI_Fint *ierr) {
  MPI_Comm c = MPI_Comm_f2c(*comm);
  int topo = MPI_UNDEFINED, in = 0, out = 0, rc;
  MPI_Datatype *st, *rt;

  PMPI_Topo_test(c, &topo);
  if (topo == MPI_CART) {
    PMPI_Cartdim_get(c, &in);
    in = out = 2 * in;
  } else if (topo == MPI_GRAPH) {
    int me = 0;
    PMPI_Comm_rank(c, &me);
    PMPI_Graph_neighbors_count(c, me, &in);
    out = in;
  } else if (topo == MPI_DIST_GRAPH) {
    int weighted;
    PMPI_Dist_graph_neighbors_count(c, &in, &out, &weighted);
  }
  st = types_in(out, stypes);
  rt = types_in(in, rtypes);
  rc = MPI_Neighbor_alltoallw(f_buf(sbuf), (const int *)scounts, sdispls, st,
                              f_buf(rbuf), (const int *)rcounts, rdispls, rt, c);
  free(st);
  free(rt);
  f_rc(ierr, rc);
}

/* LOGICAL arrays: Fortran's true is not C's 1. */
static int *logicals_in(int n, const MPI_Fint *f) {
  int *c = malloc((size_t)(n > 0 ? n : 1) * sizeof(*c));
  if (c == NULL)
    mpisnap__fatal("out of memory converting %d Fortran logicals", n);
  for (int i = 0; i < n; i++)
    c[i] = f[i] != 0;
  return c;
}

static void fw_cart_create(MPI_Fint *comm, MPI_Fint *ndims, MPI_Fint *dims,
                           MPI_Fint *periods, MPI_Fint *reorder,
                           MPI_Fint *newcomm, MPI_Fint *ierr) {
  int *p = logicals_in(*ndims, periods);
  MPI_Comm nc = MPI_COMM_NULL;
  int rc = MPI_Cart_create(MPI_Comm_f2c(*comm), *ndims, (const int *)dims, p,
                           *reorder != 0, &nc);
  free(p);
  *newcomm = MPI_Comm_c2f(nc);
  f_rc(ierr, rc);
}

static void fw_cart_sub(MPI_Fint *comm, MPI_Fint *remain, MPI_Fint *newcomm,
                        MPI_Fint *ierr) {
  MPI_Comm c = MPI_Comm_f2c(*comm), nc = MPI_COMM_NULL;
  int n = 0, *r, rc;

  PMPI_Cartdim_get(c, &n);
  r = logicals_in(n, remain);
  rc = MPI_Cart_sub(c, r, &nc);
  free(r);
  *newcomm = MPI_Comm_c2f(nc);
  f_rc(ierr, rc);
}

/* ---- the generated wrappers ---- */

#define FW(Mixed, lower, UPPER, ...)                                           \
  static void fw_##lower(FW_MAP(FW_COMMA, FWP_, __VA_ARGS__), MPI_Fint *ierr) { \
    FW_MAP(FW_NONE, FWL_, __VA_ARGS__)                                         \
    int rc_ = MPI_##Mixed(FW_MAP(FW_COMMA, FWA_, __VA_ARGS__));                 \
    FW_MAP(FW_NONE, FWO_, __VA_ARGS__)                                         \
    f_rc(ierr, rc_);                                                           \
  }
#define FWX(Mixed, lower, UPPER)
/* The arguments are never looked at: the call stops the job. */
#define FWU(Mixed, lower, UPPER)                                               \
  static void fw_##lower(void) {                                               \
    mpisnap__fatal("MPI_" #Mixed " (from Fortran) is not supported by "        \
                   "mpisnap (dynamic processes have no checkpointable "        \
                   "channels)");                                               \
  }
#include "pmpi/fortran.def"
#undef FW
#undef FWX
#undef FWU

/* Every name of every entry point: aliases of the one implementation. */
#define FW_ALIAS(lower, name)                                                  \
  MPISNAP_EXTERN __typeof__(fw_##lower) name __attribute__((alias("fw_" #lower)));
#define FW_NAMES(Mixed, lower, UPPER)                                          \
  FW_ALIAS(lower, mpi_##lower##_)                                              \
  FW_ALIAS(lower, mpi_##lower##__)                                             \
  FW_ALIAS(lower, mpi_##lower)                                                 \
  FW_ALIAS(lower, MPI_##UPPER)                                                 \
  FW_ALIAS(lower, mpi_##lower##_f08_)                                          \
  FW_ALIAS(lower, MPI_##Mixed##_f)                                             \
  FW_ALIAS(lower, MPI_##Mixed##_f08)
#define FW(Mixed, lower, UPPER, ...) FW_NAMES(Mixed, lower, UPPER)
#define FWX(Mixed, lower, UPPER) FW_NAMES(Mixed, lower, UPPER)
#define FWU(Mixed, lower, UPPER) FW_NAMES(Mixed, lower, UPPER)
#include "pmpi/fortran.def"
#undef FW
#undef FWX
#undef FWU

/* ---- can every Fortran call be caught? ---- */

static const struct {
  const char *name;
  void *impl;
} entries[] = {
#define FW_ENTRY1(lower, name) {#name, (void *)fw_##lower},
#define FW_ENTRY(Mixed, lower, UPPER)                                          \
  FW_ENTRY1(lower, mpi_##lower##_) FW_ENTRY1(lower, mpi_##lower##__)           \
  FW_ENTRY1(lower, mpi_##lower) FW_ENTRY1(lower, MPI_##UPPER)                  \
  FW_ENTRY1(lower, mpi_##lower##_f08_) FW_ENTRY1(lower, MPI_##Mixed##_f)       \
  FW_ENTRY1(lower, MPI_##Mixed##_f08)
#define FW(Mixed, lower, UPPER, ...) FW_ENTRY(Mixed, lower, UPPER)
#define FWX(Mixed, lower, UPPER) FW_ENTRY(Mixed, lower, UPPER)
#define FWU(Mixed, lower, UPPER) FW_ENTRY(Mixed, lower, UPPER)
#include "pmpi/fortran.def"
#undef FW
#undef FWX
#undef FWU
};

/* Whether address a lies in the main program (libmpisnap.a linked in). */
struct in_main {
  const void *addr;
  int found;
};

static int in_main_cb(struct dl_phdr_info *info, size_t size, void *data) {
  struct in_main *m = data;
  (void)size;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && (uintptr_t)m->addr >= lo &&
        (uintptr_t)m->addr < lo + ph->p_memsz)
      m->found = 1;
  }
  return 1; /* the first object is the main program: stop there */
}

int mpisnap__layer_fortran_check(char *msg, size_t len) {
  struct in_main m = {(const void *)fw_send, 0};
  size_t n = sizeof(entries) / sizeof(entries[0]);
  const char *bad = NULL;
  Dl_info where;
  int nbad = 0;

  /* Linked statically, the program's own calls are bound to these at link
   * time, and the main program's symbols are visible to dlsym only when
   * exported: nothing to look up. */
  dl_iterate_phdr(in_main_cb, &m);
  if (!m.found) {
    for (size_t i = 0; i < n; i++) {
      void *p = dlsym(RTLD_DEFAULT, entries[i].name);
      if (p != NULL && p != entries[i].impl) {
        if (bad == NULL)
          bad = entries[i].name;
        nbad++;
      }
    }
  }
  if (bad != NULL) {
    void *p = dlsym(RTLD_DEFAULT, bad);
    snprintf(msg, len,
             "the Fortran MPI entry point %s%s resolves to %s, not to "
             "libmpisnap: Fortran MPI calls would bypass the checkpoint "
             "layer.  Link -lmpisnap before the MPI Fortran libraries (or "
             "preload libmpisnap.so)",
             bad, nbad > 1 ? " (and others)" : "",
             dladdr(p, &where) && where.dli_fname ? where.dli_fname
                                                   : "another object");
    return -1;
  }
  /* A program with MPI's Fortran support loaded passes Fortran sentinels
   * that must be recognised. */
  if (dlsym(RTLD_DEFAULT, "pmpi_init_") != NULL ||
      dlsym(RTLD_DEFAULT, "pmpi_init") != NULL) {
    for (int w = 0; w < S_N; w++)
      if (sent[w][0] == NULL) {
        snprintf(msg, len,
                 "this MPI's Fortran %s could not be found (no known "
                 "symbol), so Fortran calls passing it cannot be "
                 "converted", sentinel_name[w]);
        return -1;
      }
  }
  return 0;
}
