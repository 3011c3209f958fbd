/*
 * heat2d: explicit time steps of the 2-D heat equation on an N x N grid,
 * checkpointed with mpisnap in collective mode.
 *
 * The grid is split into blocks over a 2-D Cartesian communicator.  Every
 * iteration each rank starts a non-blocking halo exchange with its four
 * neighbours (rows are contiguous, columns travel as an MPI_Type_vector),
 * updates the interior of its block while the halos are in flight, then
 * the cells along its block's edges.  Every K iterations the ranks agree on
 * the residual with MPI_Allreduce.  In collective mode every rank records
 * at the same safe point, after the same iteration, when all of that
 * iteration's halos have arrived, so this program's checkpoints hold no
 * messages in flight (bank and kvstore are the ones that do).
 *
 * Every cell is computed with the same expression in the same order
 * whatever the decomposition, so the final field, and the checksum printed
 * as "ANSWER <hex>", is the same bit for bit on any number of ranks and
 * after any number of restarts.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <math.h>

#include "app.h"

static const char *const prog = "heat2d";

/* The heat equation's coefficient times the time step over the squared
 * grid spacing; the explicit scheme is stable up to 0.25. */
#define ALPHA 0.2

/* Temperatures held fixed on the edges of the global grid. */
#define T_TOP 1.0
#define T_LEFT 0.5
#define T_OTHER 0.0

/* Halo messages are tagged with the direction they travel in. */
enum { TAG_DOWN = 1, TAG_UP, TAG_RIGHT, TAG_LEFT };

struct options {
  long n;       /* global grid: n x n cells */
  long iters;   /* iterations to run */
  long every;   /* residual every this many iterations */
  long nap;     /* microseconds to sleep per iteration */
  int verbose;  /* print the residual whenever it is computed */
  int help;
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: heat2d [-n N] [-i ITERS] [-r K] [-s USEC] [-v] [-h]\n"
          "\n"
          "Explicit 2-D heat equation on an N x N grid, checkpointed with\n"
          "mpisnap (collective mode).  Prints \"ANSWER <hex>\" on rank 0: a\n"
          "checksum of the bits of the final field, the same on any number\n"
          "of ranks.\n"
          "\n"
          "  -n N      global grid size (default 256)\n"
          "  -i ITERS  iterations (default 1000)\n"
          "  -r K      compute the residual every K iterations (default 100)\n"
          "  -s USEC   sleep USEC microseconds per iteration (default 0)\n"
          "  -v        print the residual every K iterations\n"
          "  -h        show this help\n"
          "\n"
          "Checkpoints and restart are configured by the MPISNAP_*\n"
          "environment variables (see the mpisnap README).\n");
}

/* Fills o from the command line; returns -1 with a message in err if an
 * argument is wrong. */
static int parse(int argc, char **argv, struct options *o, char *err,
                 size_t errlen) {
  *o = (struct options){.n = 256, .iters = 1000, .every = 100};
  const struct app_opt opts[] = {
    {"-h", .flag = &o->help},
    {"--help", .flag = &o->help},
    {"-v", .flag = &o->verbose},
    {"-n", .lo = 1, .hi = 1L << 20, .num = &o->n},
    {"-i", .lo = 0, .hi = 1L << 40, .num = &o->iters},
    {"-r", .lo = 1, .hi = 1L << 40, .num = &o->every},
    {"-s", .lo = 0, .hi = 10000000, .num = &o->nap},
    {.name = NULL},
  };
  return app_parse(argc, argv, opts, err, errlen);
}

/* The part of [0, n) that block c of p owns: the first n % p blocks get one
 * cell more than the others. */
static void split(long n, int p, int c, long *start, long *len) {
  long base = n / p, rem = n % p;

  *len = base + (c < rem);
  *start = c * base + (c < rem ? c : rem);
}

/* The local block: ny x nx cells with a halo of one cell all around, row
 * after row; cell (i, j) for i, j >= 1 is global cell (y0 + i - 1,
 * x0 + j - 1). */
struct block {
  long nx, ny, x0, y0;
  double *u, *v;
};

#define AT(b, a, i, j) ((a)[(size_t)(i) * (size_t)((b)->nx + 2) + (size_t)(j)])

/* One explicit step for one cell, from u into v. */
static inline void update(struct block *b, long i, long j) {
  double c = AT(b, b->u, i, j);
  double sum = AT(b, b->u, i - 1, j) + AT(b, b->u, i + 1, j) +
               AT(b, b->u, i, j - 1) + AT(b, b->u, i, j + 1);

  AT(b, b->v, i, j) = c + ALPHA * (sum - 4.0 * c);
}

/* The cells along the edges of the block, which need the halos. */
static void update_edges(struct block *b) {
  for (long j = 1; j <= b->nx; j++) {
    update(b, 1, j);
    if (b->ny > 1)
      update(b, b->ny, j);
  }
  for (long i = 2; i < b->ny; i++) {
    update(b, i, 1);
    if (b->nx > 1)
      update(b, i, b->nx);
  }
}

/* The cells that need no halo. */
static void update_interior(struct block *b) {
  for (long i = 2; i < b->ny; i++)
    for (long j = 2; j < b->nx; j++)
      update(b, i, j);
}

/* Copies v's cells back into u and returns the sum of the squared changes
 * (when want_residual is set; otherwise 0). */
static double advance(struct block *b, int want_residual) {
  double r = 0.0;

  for (long i = 1; i <= b->ny; i++) {
    if (want_residual)
      for (long j = 1; j <= b->nx; j++) {
        double d = AT(b, b->v, i, j) - AT(b, b->u, i, j);
        r += d * d;
      }
    memcpy(&AT(b, b->u, i, 1), &AT(b, b->v, i, 1), (size_t)b->nx * sizeof(double));
  }
  return r;
}

/* The halo cells on the edges of the global grid hold the fixed boundary
 * temperatures; every other cell starts at 0. */
static void initialise(struct block *b, int up, int down, int left,
                       int right) {
  size_t cells = (size_t)(b->ny + 2) * (size_t)(b->nx + 2);

  for (size_t c = 0; c < cells; c++)
    b->u[c] = b->v[c] = 0.0;
  for (long i = 1; i <= b->ny; i++) {
    if (left == MPI_PROC_NULL)
      AT(b, b->u, i, 0) = AT(b, b->v, i, 0) = T_LEFT;
    if (right == MPI_PROC_NULL)
      AT(b, b->u, i, b->nx + 1) = AT(b, b->v, i, b->nx + 1) = T_OTHER;
  }
  for (long j = 1; j <= b->nx; j++) {
    if (up == MPI_PROC_NULL)
      AT(b, b->u, 0, j) = AT(b, b->v, 0, j) = T_TOP;
    if (down == MPI_PROC_NULL)
      AT(b, b->u, b->ny + 1, j) = AT(b, b->v, b->ny + 1, j) = T_OTHER;
  }
}

/* The checksum of the block: a sum over cells of a hash of the cell's
 * global index and the bits of its value.  Integer addition is exact and
 * commutative, so the sum over all ranks does not depend on how the grid
 * is split or in which order the parts are added. */
static uint64_t checksum(const struct block *b, long n) {
  uint64_t sum = 0;

  for (long i = 1; i <= b->ny; i++)
    for (long j = 1; j <= b->nx; j++) {
      uint64_t bits, index = (uint64_t)(b->y0 + i - 1) * (uint64_t)n +
                             (uint64_t)(b->x0 + j - 1);
      memcpy(&bits, &AT(b, b->u, i, j), sizeof(bits));
      sum += app_mix(app_mix(index) ^ bits);
    }
  return sum;
}

int main(int argc, char **argv) {
  struct options o;
  struct block blk;
  struct block *b = &blk;
  char err[256];
  int rank, size, bad, dims[2] = {0, 0}, periods[2] = {0, 0}, coords[2];
  int up, down, left, right, stopped = 0;
  int64_t it = 0;
  double residual = 0.0;
  MPI_Comm cart;
  MPI_Datatype column;

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  bad = parse(argc, argv, &o, err, sizeof(err));
  MPI_Dims_create(size, 2, dims);
  if (bad == 0 && !o.help && (o.n < dims[0] || o.n < dims[1])) {
    snprintf(err, sizeof(err), "-n %ld is too small for a %d x %d grid of "
             "ranks: every rank needs at least one cell", o.n, dims[0], dims[1]);
    bad = -1;
  }
  if (bad != 0 || o.help)
    return app_usage_exit(prog, rank, bad, err, usage);

  /* mpisnap comes first, before any communication and before the
   * Cartesian communicator is created. */
  app_check(prog, mpisnap_init(MPI_COMM_WORLD, MPISNAP_COLLECTIVE), "mpisnap_init");
  MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
  MPI_Cart_coords(cart, rank, 2, coords);
  MPI_Cart_shift(cart, 0, 1, &up, &down);
  MPI_Cart_shift(cart, 1, 1, &left, &right);
  split(o.n, dims[0], coords[0], &b->y0, &b->ny);
  split(o.n, dims[1], coords[1], &b->x0, &b->nx);
  b->u = malloc((size_t)(b->ny + 2) * (size_t)(b->nx + 2) * sizeof(double));
  b->v = malloc((size_t)(b->ny + 2) * (size_t)(b->nx + 2) * sizeof(double));
  if (b->u == NULL || b->v == NULL) {
    fprintf(stderr, "%s: rank %d: out of memory for a %ld x %ld block\n", prog,
            rank, b->ny, b->nx);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  initialise(b, up, down, left, right);
  /* One column of the block's interior: ny cells, one per row. */
  MPI_Type_vector((int)b->ny, 1, (int)(b->nx + 2), MPI_DOUBLE, &column);
  MPI_Type_commit(&column);

  /* The state a restart needs: the field (with its halo, which also holds
   * the boundary temperatures), the iteration and the last residual. */
  app_check(prog, mpisnap_protect("u", b->u, (size_t)(b->ny + 2) * (size_t)(b->nx + 2),
                                  MPI_DOUBLE), "mpisnap_protect u");
  app_check(prog, mpisnap_protect("iteration", &it, 1, MPI_INT64_T),
            "mpisnap_protect iteration");
  app_check(prog, mpisnap_protect("residual", &residual, 1, MPI_DOUBLE),
            "mpisnap_protect residual");
  if (mpisnap_restarting()) {
    int id = mpisnap_restore();
    app_check(prog, id, "mpisnap_restore");
    if (rank == 0)
      printf("RESTARTED FROM %d at iteration %" PRId64 "\n", id, it);
  }
  if (rank == 0)
    printf("heat2d: %ld x %ld grid on %d x %d ranks, %ld iterations\n", o.n, o.n,
           dims[0], dims[1], o.iters);
  /* Flush now: a killed rank's buffered output is lost. */
  fflush(stdout);

  while (it < o.iters) {
    MPI_Request req[8];
    int want_residual = (it + 1) % o.every == 0 || it + 1 == o.iters;

    /* Halos in, then the block's own edge cells out. */
    MPI_Irecv(&AT(b, b->u, 0, 1), (int)b->nx, MPI_DOUBLE, up, TAG_DOWN, cart, &req[0]);
    MPI_Irecv(&AT(b, b->u, b->ny + 1, 1), (int)b->nx, MPI_DOUBLE, down, TAG_UP, cart,
              &req[1]);
    MPI_Irecv(&AT(b, b->u, 1, 0), 1, column, left, TAG_RIGHT, cart, &req[2]);
    MPI_Irecv(&AT(b, b->u, 1, b->nx + 1), 1, column, right, TAG_LEFT, cart, &req[3]);
    MPI_Isend(&AT(b, b->u, b->ny, 1), (int)b->nx, MPI_DOUBLE, down, TAG_DOWN, cart,
              &req[4]);
    MPI_Isend(&AT(b, b->u, 1, 1), (int)b->nx, MPI_DOUBLE, up, TAG_UP, cart, &req[5]);
    MPI_Isend(&AT(b, b->u, 1, b->nx), 1, column, right, TAG_RIGHT, cart, &req[6]);
    MPI_Isend(&AT(b, b->u, 1, 1), 1, column, left, TAG_LEFT, cart, &req[7]);
    /* The interior needs no halo: compute it while the messages travel. */
    update_interior(b);
    MPI_Waitall(8, req, MPI_STATUSES_IGNORE);
    update_edges(b);
    {
      double local = advance(b, want_residual);
      if (want_residual) {
        MPI_Allreduce(&local, &residual, 1, MPI_DOUBLE, MPI_SUM, cart);
        residual = sqrt(residual);
        if (o.verbose && rank == 0) {
          printf("iteration %" PRId64 ": residual %.6e\n", it + 1, residual);
          fflush(stdout);
        }
      }
    }
    it++;
    app_nap(o.nap);
    /* A safe point: no request is pending and u and it agree. */
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
    uint64_t mine = checksum(b, o.n), all = 0;
    MPI_Reduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, 0, cart);
    if (rank == 0) {
      printf("heat2d: %" PRId64 " iterations done, residual %.6e\n", it, residual);
      printf("ANSWER %016" PRIx64 "\n", all);
    }
  }
  fflush(stdout);
  MPI_Type_free(&column);
  MPI_Comm_free(&cart);
  app_check(prog, mpisnap_finalize(), "mpisnap_finalize");
  free(b->u);
  free(b->v);
  MPI_Finalize();
  return 0;
}
