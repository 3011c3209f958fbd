/*
 * Halo-exchange benchmark: the cost of mpisnap's interception on the
 * neighbour exchange of a stencil code, MPI_Irecv and MPI_Isend to every
 * neighbour and one MPI_Waitall.
 *
 * Two patterns: "ring", 2 neighbours on a periodic 1-D ring of all ranks,
 * and "grid", 4 neighbours on a periodic 2-D grid whose shape comes from
 * MPI_Dims_create (neighbours computed from row-major coordinates, as
 * MPI_Cart_shift would).  With 2 ranks the grid is 2 x 1: both neighbours
 * along the first dimension are the other rank, both along the second are
 * the rank itself; every direction has a tag of its own, so the messages
 * cannot be confused.  The size is the message to each neighbour.
 *
 * The method is pingpong.c's: one job measures the "native" layer (PMPI_*
 * on a communicator created with PMPI, never seen by mpisnap) and the
 * "intercepted" layer (MPI_* on MPI_COMM_WORLD, mpisnap's wrappers when
 * the program is linked with libmpisnap or runs with it under LD_PRELOAD;
 * the header says whether they really are).  For every pattern and size,
 * each repetition measures both, the order alternating from one
 * repetition to the next; one layer's turn is a warm-up and a timed loop.
 * The iteration count is calibrated once on the native layer so that a
 * timing lasts about 10 ms (5 ms with --quick).  Time per exchange: every
 * rank synchronises with PMPI_Barrier, times its loop, and the maximum
 * over ranks divided by the iterations is reported (medians over the
 * repetitions, and the median of the per-repetition ratios
 * intercepted/native).
 *
 * Every message carries, in its first 4 bytes, the sender's rank and the
 * direction, and in its last 4 bytes the iteration; the receiver checks
 * both for every message of every iteration, so a layer that loses,
 * misroutes or mangles messages aborts the run instead of looking fast.
 */

/* dladdr() is a GNU extension (bench.h's interception report). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#define DEFAULT_REPS 7
#define QUICK_REPS 3
#define MAX_REPS 1000
#define TARGET_SECONDS 0.010
#define QUICK_TARGET_SECONDS 0.005
#define MAX_ITERS 1000000L
#define MAX_DIRS 4

static const size_t all_sizes[] = {
    8, 64, 512, 4 << 10, 32 << 10, 256 << 10, 1 << 20,
};
static const size_t quick_sizes[] = {8, 4 << 10, 256 << 10};

/* The calls of one layer, and the communicator it runs on. */
struct layer {
    const char *name;
    MPI_Comm comm;
    int (*isend)(const void *, int, MPI_Datatype, int, int, MPI_Comm,
                 MPI_Request *);
    int (*irecv)(void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
    int (*waitall)(int, MPI_Request *, MPI_Status *);
};

enum { NATIVE = 0, INTERCEPTED = 1, NLAYERS = 2 };

/* A neighbour pattern: in direction d this rank sends to to[d] and
 * receives, from from[d], what from[d] sent in the same direction. */
struct pattern {
    const char *name;
    int ndirs;
    int to[MAX_DIRS], from[MAX_DIRS];
};

struct options {
    int reps;
    int quick;
    int verbose;
    size_t max_size;
    int ring, grid;
};

struct bench {
    int rank, nranks;
    MPI_Comm sync_comm;
    unsigned char *sendbuf[MAX_DIRS], *recvbuf[MAX_DIRS];
    MPI_Request reqs[2 * MAX_DIRS];
    /* The current timing. */
    const struct layer *layer;
    const struct pattern *pat;
    size_t size;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mpirun -np P mpisnap-bench-exchange [options]\n"
            "  --reps N          alternating repetitions per size "
            "(default %d, %d with --quick)\n"
            "  --quick           sizes 8 B, 4 KiB, 256 KiB only, shorter "
            "timings (a smoke run)\n"
            "  --pattern P       ring, grid or both (default both)\n"
            "  --max-size BYTES  skip sizes above BYTES (suffixes K and M "
            "are binary)\n"
            "  --verbose         also print every repetition's numbers\n"
            "  --help            print this help\n",
            DEFAULT_REPS, QUICK_REPS);
}

static int parse_options(int argc, char **argv, int rank, struct options *opt)
{
    *opt = (struct options){.reps = DEFAULT_REPS, .max_size = (size_t)-1,
                            .ring = 1, .grid = 1};
    struct bench_common common = {.reps = opt->reps};

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *bad = NULL;
        if (bench_common_option(argc, argv, &i, MAX_REPS, &common, &bad)) {
            if (common.help) {
                if (rank == 0)
                    usage(stdout);
                return 0;
            }
        } else if (strcmp(arg, "--max-size") == 0 && i + 1 < argc) {
            if (bench_parse_size(argv[++i], &opt->max_size) != 0)
                bad = "wants a byte count such as 4096, 64K or 4M";
        } else if (strcmp(arg, "--pattern") == 0 && i + 1 < argc) {
            const char *p = argv[++i];
            opt->ring = strcmp(p, "ring") == 0 || strcmp(p, "both") == 0;
            opt->grid = strcmp(p, "grid") == 0 || strcmp(p, "both") == 0;
            if (!opt->ring && !opt->grid)
                bad = "wants ring, grid or both";
        } else {
            bad = "unknown option or missing value";
        }
        if (bad) {
            if (rank == 0) {
                fprintf(stderr, "exchange: %s: %s\n", arg, bad);
                usage(stderr);
            }
            return 2;
        }
    }
    opt->reps = common.reps;
    opt->quick = common.quick;
    opt->verbose = common.verbose;
    if (opt->quick && !common.reps_given)
        opt->reps = QUICK_REPS;
    return -1;
}

/* The ring: direction 0 sends to the right (rank + 1), direction 1 to the
 * left. */
static void make_ring(struct pattern *p, int rank, int nranks)
{
    int right = (rank + 1) % nranks, left = (rank + nranks - 1) % nranks;

    *p = (struct pattern){.name = "ring", .ndirs = 2,
                          .to = {right, left}, .from = {left, right}};
}

/* The periodic 2-D grid, row-major: directions 0 and 1 along the first
 * dimension (+1, -1), 2 and 3 along the second. */
static void make_grid(struct pattern *p, int rank, int nranks, int dims[2])
{
    int y, x, py, px;

    dims[0] = dims[1] = 0;
    MPI_Dims_create(nranks, 2, dims);
    y = rank / dims[1];
    x = rank % dims[1];
    *p = (struct pattern){.name = "grid", .ndirs = 4};
    py = (y + 1) % dims[0];
    px = (y + dims[0] - 1) % dims[0];
    p->to[0] = py * dims[1] + x;
    p->from[0] = px * dims[1] + x;
    p->to[1] = px * dims[1] + x;
    p->from[1] = py * dims[1] + x;
    py = (x + 1) % dims[1];
    px = (x + dims[1] - 1) % dims[1];
    p->to[2] = y * dims[1] + py;
    p->from[2] = y * dims[1] + px;
    p->to[3] = y * dims[1] + px;
    p->from[3] = y * dims[1] + py;
}

static inline void put32(unsigned char *at, uint32_t v)
{
    memcpy(at, &v, sizeof v);
}

static inline uint32_t get32(const unsigned char *at)
{
    uint32_t v;
    memcpy(&v, at, sizeof v);
    return v;
}

/* The first word of a message: who sent it, in which direction. */
static inline uint32_t origin(int sender, int dir)
{
    return (uint32_t)sender | (uint32_t)dir << 24;
}

static void wrong(const struct bench *b, int dir, long i, uint32_t got_from,
                  uint32_t got_iter)
{
    fprintf(stderr,
            "exchange: rank %d: the %s layer delivered a wrong %zu-byte "
            "message in direction %d of the %s pattern, iteration %ld: "
            "sender/direction word 0x%08x, iteration %u; expected 0x%08x "
            "and %u\n",
            b->rank, b->layer->name, b->size, dir, b->pat->name, i,
            (unsigned)got_from, (unsigned)got_iter,
            (unsigned)origin(b->pat->from[dir], dir), (unsigned)i);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* Runs `iters` exchanges on the current layer and pattern and returns the
 * slowest rank's elapsed seconds, on every rank (a bench_timed_fn). */
static double timed(void *ctx, long iters)
{
    struct bench *b = ctx;
    const struct layer *l = b->layer;
    const struct pattern *p = b->pat;
    size_t size = b->size;
    int count = (int)size, nd = p->ndirs;
    double elapsed, slowest;

    for (int d = 0; d < nd; d++)
        memset(b->recvbuf[d], 0xff, size);
    PMPI_Barrier(b->sync_comm);
    double start = MPI_Wtime();
    for (long i = 0; i < iters; i++) {
        for (int d = 0; d < nd; d++)
            l->irecv(b->recvbuf[d], count, MPI_BYTE, p->from[d], 200 + d,
                     l->comm, &b->reqs[d]);
        for (int d = 0; d < nd; d++) {
            put32(b->sendbuf[d], origin(b->rank, d));
            put32(b->sendbuf[d] + size - 4, (uint32_t)i);
            l->isend(b->sendbuf[d], count, MPI_BYTE, p->to[d], 200 + d,
                     l->comm, &b->reqs[nd + d]);
        }
        l->waitall(2 * nd, b->reqs, MPI_STATUSES_IGNORE);
        for (int d = 0; d < nd; d++) {
            uint32_t from = get32(b->recvbuf[d]);
            uint32_t iter = get32(b->recvbuf[d] + size - 4);
            if (from != origin(p->from[d], d) || iter != (uint32_t)i)
                wrong(b, d, i, from, iter);
        }
    }
    elapsed = MPI_Wtime() - start;
    PMPI_Allreduce(&elapsed, &slowest, 1, MPI_DOUBLE, MPI_MAX, b->sync_comm);
    return slowest;
}

struct samples {
    double us[NLAYERS][MAX_REPS];
};

static void run_case(struct bench *b, const struct layer layers[NLAYERS],
                     const struct pattern *pat, size_t size,
                     const struct options *opt, struct samples *s)
{
    double target = opt->quick ? QUICK_TARGET_SECONDS : TARGET_SECONDS;
    double ratio[MAX_REPS], nat, icp;
    char label[32];
    long iters;

    b->pat = pat;
    b->size = size;
    b->layer = &layers[NATIVE];
    timed(b, 2);
    iters = bench_calibrate(timed, b, target, MAX_ITERS);
    for (int rep = 0; rep < opt->reps; rep++) {
        for (int turn = 0; turn < NLAYERS; turn++) {
            int which = turn ^ (rep & 1);
            b->layer = &layers[which];
            timed(b, iters / 10 > 2 ? iters / 10 : 2);
            s->us[which][rep] = timed(b, iters) / (double)iters * 1e6;
        }
        if (b->rank == 0 && opt->verbose)
            printf("    rep %d (%s first): %.3f / %.3f us\n", rep,
                   layers[rep & 1].name, s->us[NATIVE][rep],
                   s->us[INTERCEPTED][rep]);
    }
    if (b->rank != 0)
        return;
    for (int rep = 0; rep < opt->reps; rep++)
        ratio[rep] = s->us[INTERCEPTED][rep] / s->us[NATIVE][rep];
    nat = bench_median(s->us[NATIVE], opt->reps);
    icp = bench_median(s->us[INTERCEPTED], opt->reps);
    /* Bytes this rank receives per exchange, over the native time. */
    printf("| %-7s | %7s | %8ld | %11.3f | %11.3f | %6.3f | %11.1f |\n",
           pat->name, bench_size_label(size, label, sizeof label), iters,
           nat, icp, bench_median(ratio, opt->reps),
           (double)size * pat->ndirs / nat);
    fflush(stdout);
}

static void print_header(const struct options *opt, int nranks,
                         const int dims[2])
{
    static const struct bench_call calls[] = {
        {"MPI_Isend", (void *)MPI_Isend, (void *)PMPI_Isend},
        {"MPI_Irecv", (void *)MPI_Irecv, (void *)PMPI_Irecv},
        {"MPI_Waitall", (void *)MPI_Waitall, (void *)PMPI_Waitall},
    };
    struct bench_run run;

    bench_describe(&run);
    printf("mpisnap halo exchange, %d ranks (ring of %d, grid %d x %d), %s, "
           "medians of %d alternating repetitions%s  \n",
           nranks, nranks, dims[0], dims[1], run.mpi, opt->reps,
           opt->quick ? " (--quick)" : "");
    printf("host %s, %s  \n", run.host, run.date);
    bench_print_interception("", calls, sizeof calls / sizeof calls[0]);
    printf("time per exchange in us (Irecv+Isend to every neighbour, one "
           "Waitall): the slowest rank's loop / iterations, each timing "
           "~%.0f ms; size: per neighbour; ratio: median of per-repetition "
           "mpisnap/native; native_MBps: bytes received per rank per "
           "native exchange time\n\n",
           (opt->quick ? QUICK_TARGET_SECONDS : TARGET_SECONDS) * 1e3);
    printf("| %-7s | %7s | %8s | %11s | %11s | %6s | %11s |\n", "pattern",
           "size", "iters", "native_us", "mpisnap_us", "ratio",
           "native_MBps");
    printf("|---------|--------:|---------:|------------:|------------:|"
           "-------:|------------:|\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, nranks, dims[2];
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    struct options opt;
    int status = parse_options(argc, argv, rank, &opt);
    if (status >= 0) {
        MPI_Finalize();
        return status;
    }
    const size_t *sizes = opt.quick ? quick_sizes : all_sizes;
    size_t nsizes = opt.quick ? sizeof quick_sizes / sizeof quick_sizes[0]
                              : sizeof all_sizes / sizeof all_sizes[0];

    struct pattern ring, grid;
    make_ring(&ring, rank, nranks);
    make_grid(&grid, rank, nranks, dims);

    MPI_Comm native_comm;
    PMPI_Comm_dup(MPI_COMM_WORLD, &native_comm);
    const struct layer layers[NLAYERS] = {
        [NATIVE] = {"native", native_comm, PMPI_Isend, PMPI_Irecv,
                    PMPI_Waitall},
        [INTERCEPTED] = {"mpisnap", MPI_COMM_WORLD, MPI_Isend, MPI_Irecv,
                         MPI_Waitall},
    };

    size_t largest = 8;
    for (size_t i = 0; i < nsizes; i++)
        if (sizes[i] <= opt.max_size && sizes[i] > largest)
            largest = sizes[i];
    struct bench b = {.rank = rank, .nranks = nranks,
                      .sync_comm = native_comm};
    for (int d = 0; d < MAX_DIRS; d++) {
        if (posix_memalign((void **)&b.sendbuf[d], 4096, largest) != 0 ||
            posix_memalign((void **)&b.recvbuf[d], 4096, largest) != 0) {
            fprintf(stderr, "exchange: rank %d: out of memory\n", rank);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        memset(b.sendbuf[d], 0, largest);
        memset(b.recvbuf[d], 0, largest);
    }
    struct samples *samples = malloc(sizeof *samples);
    if (!samples) {
        fprintf(stderr, "exchange: rank %d: out of memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    if (rank == 0)
        print_header(&opt, nranks, dims);
    double start = MPI_Wtime();
    for (int p = 0; p < 2; p++) {
        if (!(p == 0 ? opt.ring : opt.grid))
            continue;
        for (size_t i = 0; i < nsizes; i++)
            if (sizes[i] <= opt.max_size && sizes[i] >= 8)
                run_case(&b, layers, p == 0 ? &ring : &grid, sizes[i], &opt,
                         samples);
    }
    if (rank == 0)
        printf("\ntotal %.1f s\n", MPI_Wtime() - start);

    free(samples);
    for (int d = 0; d < MAX_DIRS; d++) {
        free(b.sendbuf[d]);
        free(b.recvbuf[d]);
    }
    PMPI_Comm_free(&native_comm);
    MPI_Finalize();
    return 0;
}
