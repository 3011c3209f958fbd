/*
 * cg: conjugate gradients on the 2-D Poisson equation, checkpointed with
 * mpisnap in collective mode.
 *
 * The matrix is the 5-point Laplacian of an N x N grid of unknowns with
 * zero (Dirichlet) boundary values, 4 u(i,j) - u(i-1,j) - u(i+1,j) -
 * u(i,j-1) - u(i,j+1), applied without ever being stored; the right-hand
 * side is a fixed pseudo-random field in [0, 1).  The grid is split by
 * rows over the ranks (the first N % P ranks get one row more).  Every
 * iteration each rank exchanges the boundary rows of the search direction
 * p with its two neighbours (MPI_Irecv, MPI_Isend, applying the operator
 * to its inner rows while they travel, MPI_Waitall), and the ranks agree
 * on two dot products with two small MPI_Allreduce calls.  The iteration
 * count is fixed (-i), with no convergence test, so the work is the same
 * on every run.  In collective mode every rank records at the same safe
 * point, after the same iteration, so the checkpoints hold no messages in
 * flight.
 *
 * The answer is bit for bit the same on any number of ranks, and after any
 * number of restarts.  Every cell is computed with the same expression in
 * the same order whatever the split, so the only place the number of
 * ranks could enter is the dot products, whose floating-point sums depend
 * on the order of the additions.  They are made exact instead: each rank
 * sums each of its rows in double, always from the first column to the
 * last (a row is never split between ranks, so these row sums do not
 * depend on the split), and adds every row sum exactly into a fixed-point
 * accumulator that covers the whole range of double: 70 bins of 32 bits,
 * held in int64_t so that carries have room (struct exact).  Integer
 * addition is exact and associative, so the MPI_Allreduce of the 70
 * integers (MPI_INT64_T, MPI_SUM: 560 bytes) gives the same bins on every
 * rank for any number of ranks and any reduction order, and every rank
 * turns them into the same double.  The cost is one frexp and three
 * integer additions per row, not per cell.  "ANSWER <hex>" is a checksum
 * of the bits of the final solution x, an integer sum over cells like
 * heat2d's.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <math.h>

#include "app.h"

static const char *const prog = "cg";

/* Halo messages are tagged with the direction they travel in. */
enum { TAG_DOWN = 1, TAG_UP };

struct options {
  long n;      /* global grid: n x n unknowns */
  long iters;  /* iterations to run */
  long nap;    /* microseconds to sleep per iteration */
  int verbose; /* print the residual norm every 100 iterations */
  int help;
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: cg [-n N] [-i ITERS] [-s USEC] [-v] [-h]\n"
          "\n"
          "Conjugate gradients on the 2-D Poisson equation (5-point\n"
          "Laplacian, matrix-free) on an N x N grid split by rows,\n"
          "checkpointed with mpisnap (collective mode).  Runs exactly ITERS\n"
          "iterations and prints \"ANSWER <hex>\" on rank 0: a checksum of\n"
          "the bits of the final solution, the same on any number of ranks.\n"
          "\n"
          "  -n N      global grid size (default 256)\n"
          "  -i ITERS  iterations (default 500)\n"
          "  -s USEC   sleep USEC microseconds per iteration (default 0)\n"
          "  -v        print the residual norm every 100 iterations\n"
          "  -h        show this help\n"
          "\n"
          "Checkpoints and restart are configured by the MPISNAP_*\n"
          "environment variables (see the mpisnap README).\n");
}

static int parse(int argc, char **argv, struct options *o, char *err,
                 size_t errlen) {
  *o = (struct options){.n = 256, .iters = 500};
  const struct app_opt opts[] = {
    {"-h", .flag = &o->help},
    {"--help", .flag = &o->help},
    {"-v", .flag = &o->verbose},
    {"-n", .lo = 1, .hi = 1L << 16, .num = &o->n},
    {"-i", .lo = 0, .hi = 1L << 40, .num = &o->iters},
    {"-s", .lo = 0, .hi = 10000000, .num = &o->nap},
    {.name = NULL},
  };
  return app_parse(argc, argv, opts, err, errlen);
}

/* The rows of [0, n) that rank c of p owns: the first n % p ranks get one
 * row more than the others. */
static void split(long n, int p, int c, long *start, long *len) {
  long base = n / p, rem = n % p;

  *len = base + (c < rem);
  *start = c * base + (c < rem ? c : rem);
}

/* --- Exact sums of doubles ----------------------------------------------
 *
 * A finite double is m 2^e with m an integer below 2^53 and e from -1126
 * (subnormals, as frexp reports them) to 971.  Bin k holds multiples of
 * 2^(32 k + EXACT_BASE); a value adds its 53-bit mantissa, shifted into
 * place, to three neighbouring bins, less than 2^32 to each, so 2^31 values
 * (far more rows than any grid here has) fit before a bin could overflow.
 */
#define EXACT_BINS 70
#define EXACT_BASE (-36 * 32) /* -1152 <= -1126, a multiple of 32 */

struct exact {
  int64_t bin[EXACT_BINS];
};

static void exact_add(struct exact *a, double v) {
  int e, k, s;
  int64_t m, p0, p1, p2;
  uint64_t mag;
  unsigned __int128 w;

  if (v == 0.0)
    return;
  if (!isfinite(v)) {
    fprintf(stderr, "%s: a dot product met %g: the iteration diverged\n",
            prog, v);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  m = (int64_t)ldexp(frexp(v, &e), 53); /* v = m 2^(e - 53), exactly */
  k = (e - 53 - EXACT_BASE) / 32;
  s = (e - 53 - EXACT_BASE) % 32;
  mag = (uint64_t)(m < 0 ? -m : m);
  w = (unsigned __int128)mag << s;
  p0 = (int64_t)(uint64_t)(w & 0xffffffffu);
  p1 = (int64_t)(uint64_t)((w >> 32) & 0xffffffffu);
  p2 = (int64_t)(uint64_t)(w >> 64);
  if (m < 0) {
    p0 = -p0;
    p1 = -p1;
    p2 = -p2;
  }
  a->bin[k] += p0;
  a->bin[k + 1] += p1;
  a->bin[k + 2] += p2;
}

/* Moves carries up until every bin but the top one is in [0, 2^32). */
static void exact_normalise(int64_t *b) {
  for (int k = 0; k < EXACT_BINS - 1; k++) {
    /* floor(b[k] / 2^32), without relying on >> of a negative number */
    int64_t carry = b[k] >= 0 ? b[k] / 4294967296
                              : -((-b[k] + 4294967295) / 4294967296);
    b[k] -= carry * 4294967296;
    b[k + 1] += carry;
  }
}

/* The double nearest (within an ulp or so) the exact sum: the bins
 * normalised (and negated, for a negative sum, so that every bin is
 * non-negative and no two terms can cancel into inf - inf), then added
 * from the top down.  A function of the bins alone, so every rank and
 * every rank count gets the same bits. */
static double exact_value(const struct exact *a) {
  int64_t b[EXACT_BINS];
  double v = 0.0, sign = 1.0;

  memcpy(b, a->bin, sizeof(b));
  exact_normalise(b);
  if (b[EXACT_BINS - 1] < 0) {
    sign = -1.0;
    for (int k = 0; k < EXACT_BINS; k++)
      b[k] = -b[k];
    exact_normalise(b);
  }
  for (int k = EXACT_BINS - 1; k >= 0; k--)
    if (b[k] != 0)
      v += ldexp((double)b[k], 32 * k + EXACT_BASE);
  return sign * v;
}

/* The sum over all ranks of the row sums in `mine`: one MPI_Allreduce of
 * the bins. */
static double exact_allreduce(const struct exact *mine, MPI_Comm comm) {
  struct exact all;

  MPI_Allreduce(mine->bin, all.bin, EXACT_BINS, MPI_INT64_T, MPI_SUM, comm);
  return exact_value(&all);
}

/* --- The grid --------------------------------------------------------- */

/* This rank's rows: ny rows of n cells, global rows y0 ... y0 + ny - 1.
 * p has a halo row above and below (row 0 and row ny + 1 of its array);
 * the halo rows on the edges of the global grid stay 0, the boundary
 * values.  x, r and q (= A p) have no halo: their row i is p's row i + 1. */
struct grid {
  long n, ny, y0;
  double *x, *r, *p, *q;
};

#define ROW(g, a, i) ((a) + (size_t)(i) * (size_t)(g)->n)
#define PROW(g, i) ROW(g, (g)->p, (i) + 1)

/* q = A p on local row i (0-based), which needs p's rows i - 1 .. i + 1. */
static void apply_row(struct grid *g, long i) {
  const double *above = PROW(g, i - 1), *mid = PROW(g, i), *below = PROW(g, i + 1);
  double *q = ROW(g, g->q, i);
  long n = g->n;

  for (long j = 0; j < n; j++) {
    double left = j > 0 ? mid[j - 1] : 0.0;
    double right = j + 1 < n ? mid[j + 1] : 0.0;
    q[j] = 4.0 * mid[j] - above[j] - below[j] - left - right;
  }
}

/* The right-hand side at global cell (gy, gx): in [0, 1), a function of the
 * cell alone. */
static double rhs(long n, long gy, long gx) {
  uint64_t h = app_mix((uint64_t)gy * (uint64_t)n + (uint64_t)gx);
  return (double)(h >> 11) * 0x1p-53;
}

/* The checksum of x: a sum over cells of a hash of the cell's global index
 * and the bits of its value, as in heat2d; integer addition makes it
 * independent of the split and of the order of the parts. */
static uint64_t checksum(const struct grid *g) {
  uint64_t sum = 0;

  for (long i = 0; i < g->ny; i++)
    for (long j = 0; j < g->n; j++) {
      uint64_t bits, index = (uint64_t)(g->y0 + i) * (uint64_t)g->n + (uint64_t)j;
      memcpy(&bits, &ROW(g, g->x, i)[j], sizeof(bits));
      sum += app_mix(app_mix(index) ^ bits);
    }
  return sum;
}

int main(int argc, char **argv) {
  struct options o;
  struct grid grid;
  struct grid *g = &grid;
  struct exact acc;
  char err[256];
  int rank, size, bad, up, down, stopped = 0;
  int64_t it = 0;
  double rr = 0.0; /* r . r of the current residual */
  size_t cells;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  bad = parse(argc, argv, &o, err, sizeof(err));
  if (bad == 0 && !o.help && o.n < size) {
    snprintf(err, sizeof(err), "-n %ld is too small for %d ranks: every "
             "rank needs at least one row", o.n, size);
    bad = -1;
  }
  if (bad != 0 || o.help)
    return app_usage_exit(prog, rank, bad, err, usage);

  /* mpisnap comes first, before any communication. */
  app_check(prog, mpisnap_init(MPI_COMM_WORLD, MPISNAP_COLLECTIVE), "mpisnap_init");
  up = rank > 0 ? rank - 1 : MPI_PROC_NULL;
  down = rank + 1 < size ? rank + 1 : MPI_PROC_NULL;
  g->n = o.n;
  split(o.n, size, rank, &g->y0, &g->ny);
  cells = (size_t)g->ny * (size_t)g->n;
  g->x = calloc(cells, sizeof(double));
  g->r = calloc(cells, sizeof(double));
  g->q = calloc(cells, sizeof(double));
  g->p = calloc(cells + 2 * (size_t)g->n, sizeof(double));
  if (g->x == NULL || g->r == NULL || g->q == NULL || g->p == NULL) {
    fprintf(stderr, "%s: rank %d: out of memory for %ld rows of %ld\n", prog,
            rank, g->ny, g->n);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  /* x = 0, r = b - A x = b, p = r, rr = r . r. */
  memset(&acc, 0, sizeof(acc));
  for (long i = 0; i < g->ny; i++) {
    double s = 0.0;
    for (long j = 0; j < g->n; j++) {
      double b = rhs(g->n, g->y0 + i, j);
      ROW(g, g->r, i)[j] = PROW(g, i)[j] = b;
      s += b * b;
    }
    exact_add(&acc, s);
  }
  rr = exact_allreduce(&acc, MPI_COMM_WORLD);

  /* The state a restart needs: the solution, the residual, the search
   * direction (its own rows; the halo rows are received every iteration),
   * the iteration and r . r.  q is recomputed from p. */
  app_check(prog, mpisnap_protect("x", g->x, cells, MPI_DOUBLE), "mpisnap_protect x");
  app_check(prog, mpisnap_protect("r", g->r, cells, MPI_DOUBLE), "mpisnap_protect r");
  app_check(prog, mpisnap_protect("p", PROW(g, 0), cells, MPI_DOUBLE),
            "mpisnap_protect p");
  app_check(prog, mpisnap_protect("iteration", &it, 1, MPI_INT64_T),
            "mpisnap_protect iteration");
  app_check(prog, mpisnap_protect("rr", &rr, 1, MPI_DOUBLE), "mpisnap_protect rr");
  if (mpisnap_restarting()) {
    int id = mpisnap_restore();
    app_check(prog, id, "mpisnap_restore");
    if (rank == 0)
      printf("RESTARTED FROM %d at iteration %" PRId64 "\n", id, it);
  }
  if (rank == 0)
    printf("cg: %ld x %ld grid on %d ranks, %ld iterations\n", o.n, o.n, size,
           o.iters);
  /* Flush now: a killed rank's buffered output is lost. */
  fflush(stdout);

  while (it < o.iters) {
    MPI_Request req[4];
    double pq, alpha, rr_new, beta;

    /* p's boundary rows out, the neighbours' into the halo rows. */
    MPI_Irecv(PROW(g, -1), (int)g->n, MPI_DOUBLE, up, TAG_DOWN, MPI_COMM_WORLD, &req[0]);
    MPI_Irecv(PROW(g, g->ny), (int)g->n, MPI_DOUBLE, down, TAG_UP, MPI_COMM_WORLD,
              &req[1]);
    MPI_Isend(PROW(g, g->ny - 1), (int)g->n, MPI_DOUBLE, down, TAG_DOWN,
              MPI_COMM_WORLD, &req[2]);
    MPI_Isend(PROW(g, 0), (int)g->n, MPI_DOUBLE, up, TAG_UP, MPI_COMM_WORLD, &req[3]);
    /* The inner rows need no halo: apply A to them while the rows travel. */
    for (long i = 1; i + 1 < g->ny; i++)
      apply_row(g, i);
    MPI_Waitall(4, req, MPI_STATUSES_IGNORE);
    apply_row(g, 0);
    if (g->ny > 1)
      apply_row(g, g->ny - 1);

    /* alpha = r.r / p.Ap */
    memset(&acc, 0, sizeof(acc));
    for (long i = 0; i < g->ny; i++) {
      const double *p = PROW(g, i), *q = ROW(g, g->q, i);
      double s = 0.0;
      for (long j = 0; j < g->n; j++)
        s += p[j] * q[j];
      exact_add(&acc, s);
    }
    pq = exact_allreduce(&acc, MPI_COMM_WORLD);
    /* Past convergence both can reach 0; a fixed count still runs on. */
    alpha = pq != 0.0 ? rr / pq : 0.0;

    /* x += alpha p, r -= alpha Ap, and the new r.r */
    memset(&acc, 0, sizeof(acc));
    for (long i = 0; i < g->ny; i++) {
      const double *p = PROW(g, i), *q = ROW(g, g->q, i);
      double *x = ROW(g, g->x, i), *r = ROW(g, g->r, i);
      double s = 0.0;
      for (long j = 0; j < g->n; j++) {
        x[j] += alpha * p[j];
        r[j] -= alpha * q[j];
        s += r[j] * r[j];
      }
      exact_add(&acc, s);
    }
    rr_new = exact_allreduce(&acc, MPI_COMM_WORLD);
    beta = rr != 0.0 ? rr_new / rr : 0.0;

    /* p = r + beta p */
    for (long i = 0; i < g->ny; i++) {
      double *p = PROW(g, i);
      const double *r = ROW(g, g->r, i);
      for (long j = 0; j < g->n; j++)
        p[j] = r[j] + beta * p[j];
    }
    rr = rr_new;
    it++;
    if (o.verbose && rank == 0 && it % 100 == 0) {
      printf("iteration %" PRId64 ": residual norm %.6e\n", it, sqrt(rr));
      fflush(stdout);
    }
    app_nap(o.nap);
    /* A safe point: no request is pending, and x, r, p, it and rr agree. */
    app_check(prog, mpisnap_point(), "mpisnap_point");
    if (mpisnap_should_exit()) {
      stopped = 1;
      break;
    }
  }

  if (stopped) {
    /* Leave without the final reduction: the job resumes from the
     * checkpoint, which may be a few iterations behind this one. */
    app_say_stopped(prog, rank);
  } else {
    uint64_t mine = checksum(g), all = 0;
    MPI_Reduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      printf("cg: %" PRId64 " iterations done, residual norm %.6e\n", it, sqrt(rr));
      printf("ANSWER %016" PRIx64 "\n", all);
    }
  }
  fflush(stdout);
  app_check(prog, mpisnap_finalize(), "mpisnap_finalize");
  free(g->x);
  free(g->r);
  free(g->q);
  free(g->p);
  MPI_Finalize();
  return 0;
}
