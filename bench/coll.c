/*
 * Collectives benchmark: the cost of mpisnap's interception on blocking
 * collectives (Barrier, Bcast, Reduce, Allreduce, Allgather, Alltoall,
 * Gather, Scatter, Reduce_scatter_block, Scan).
 *
 * The method is pingpong.c's.  One job measures two layers: the "native"
 * layer calls PMPI_* directly on a communicator created with PMPI (mpisnap
 * never learns of it), the "intercepted" layer calls the MPI_* names on
 * MPI_COMM_WORLD, which resolve to mpisnap's wrappers when the program is
 * linked with libmpisnap or runs with it under LD_PRELOAD, and to plain MPI
 * otherwise (then every ratio should be ~1.00; the header says which).
 * For every operation and size, each repetition measures both layers, the
 * order alternating from one repetition to the next; one layer's turn is a
 * warm-up and a timed loop.  The table reports medians over the
 * repetitions and the median of the per-repetition ratios
 * intercepted/native.
 *
 * Time per operation: every rank synchronises with PMPI_Barrier on the
 * native communicator, times its loop, and the maximum over ranks of the
 * elapsed times (PMPI_Allreduce, after the loop) divided by the iteration
 * count is the time of one operation.  The iteration count of an
 * operation and size is calibrated once, on the native layer, so that one
 * timing lasts about 10 ms (5 ms with --quick); both layers then run the
 * same count.
 *
 * The size is the message each rank contributes: the whole buffer for
 * Bcast, Reduce, Allreduce, Scan; each rank's block for Allgather and
 * Gather; each block of a pair of ranks for Alltoall, Scatter and
 * Reduce_scatter_block (so a rank sends P blocks of that size).  The data
 * are MPI_INT, so 8 B is two integers.  Element k of the block that rank r
 * sends to rank d (d is 0 where there is one destination) is
 *     7 r + 3 k + 11 d + salt,
 * salt changing with every timing, plus the iteration number in the
 * block's first and last element.  Every iteration checks the first and
 * last element it received against that pattern (or for the reductions
 * against the closed form of the sum or prefix sum), and after every
 * timing (outside it) every element of the last result is checked, so a layer that loses,
 * misplaces or mangles data aborts the run instead of looking fast.
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
#include <strings.h>

#include "bench.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#define DEFAULT_REPS 7
#define QUICK_REPS 3
#define MAX_REPS 1000
/* Seconds one timing should last, and its cap in iterations. */
#define TARGET_SECONDS 0.010
#define QUICK_TARGET_SECONDS 0.005
#define MAX_ITERS 1000000L

static const size_t all_sizes[] = {
    8, 64, 512, 4 << 10, 32 << 10, 256 << 10, 1 << 20, 4 << 20,
};
static const size_t quick_sizes[] = {8, 4 << 10, 256 << 10};

enum op {
    OP_BARRIER,
    OP_BCAST,
    OP_REDUCE,
    OP_ALLREDUCE,
    OP_ALLGATHER,
    OP_ALLTOALL,
    OP_GATHER,
    OP_SCATTER,
    OP_REDUCE_SCATTER_BLOCK,
    OP_SCAN,
    NOPS
};

static const char *const op_names[NOPS] = {
    "Barrier", "Bcast",   "Reduce",  "Allreduce",            "Allgather",
    "Alltoall", "Gather", "Scatter", "Reduce_scatter_block", "Scan",
};

/* The calls of one layer, and the communicator it runs on. */
struct layer {
    const char *name;
    MPI_Comm comm;
    int (*barrier)(MPI_Comm);
    int (*bcast)(void *, int, MPI_Datatype, int, MPI_Comm);
    int (*reduce)(const void *, void *, int, MPI_Datatype, MPI_Op, int,
                  MPI_Comm);
    int (*allreduce)(const void *, void *, int, MPI_Datatype, MPI_Op,
                     MPI_Comm);
    int (*allgather)(const void *, int, MPI_Datatype, void *, int,
                     MPI_Datatype, MPI_Comm);
    int (*alltoall)(const void *, int, MPI_Datatype, void *, int,
                    MPI_Datatype, MPI_Comm);
    int (*gather)(const void *, int, MPI_Datatype, void *, int, MPI_Datatype,
                  int, MPI_Comm);
    int (*scatter)(const void *, int, MPI_Datatype, void *, int, MPI_Datatype,
                   int, MPI_Comm);
    int (*reduce_scatter_block)(const void *, void *, int, MPI_Datatype,
                                MPI_Op, MPI_Comm);
    int (*scan)(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm);
};

enum { NATIVE = 0, INTERCEPTED = 1, NLAYERS = 2 };

struct options {
    int reps;
    int quick;
    int verbose;
    size_t max_size;
    int ops[NOPS]; /* 1: measure this operation */
};

/* Everything one rank needs to run a measurement. */
struct bench {
    int rank, nranks;
    MPI_Comm sync_comm; /* timing synchronisation; never seen by mpisnap */
    int *send, *recv;   /* each big enough for P blocks of the largest size */
    /* The current timing. */
    const struct layer *layer;
    enum op op;
    int n;    /* integers per block */
    int salt; /* changes with every timing */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mpirun -np P mpisnap-bench-coll [options]\n"
            "  --reps N          alternating repetitions per size "
            "(default %d, %d with --quick)\n"
            "  --quick           sizes 8 B, 4 KiB, 256 KiB only, shorter "
            "timings (a smoke run)\n"
            "  --ops LIST        comma-separated operations (default all): "
            "Barrier,Bcast,Reduce,\n"
            "                    Allreduce,Allgather,Alltoall,Gather,Scatter,"
            "Reduce_scatter_block,Scan\n"
            "  --max-size BYTES  skip sizes above BYTES (suffixes K and M "
            "are binary)\n"
            "  --verbose         also print every repetition's numbers\n"
            "  --help            print this help\n",
            DEFAULT_REPS, QUICK_REPS);
}

/* Marks the operations named in a comma-separated list; -1 on an unknown
 * name. */
static int parse_ops(const char *list, int ops[NOPS])
{
    char copy[512];
    char *save = NULL;

    if (strlen(list) >= sizeof copy)
        return -1;
    strcpy(copy, list);
    memset(ops, 0, NOPS * sizeof ops[0]);
    for (char *t = strtok_r(copy, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int o = 0; o < NOPS; o++)
            if (strcasecmp(t, op_names[o]) == 0 ||
                (strncasecmp(t, "MPI_", 4) == 0 &&
                 strcasecmp(t + 4, op_names[o]) == 0)) {
                ops[o] = found = 1;
            }
        if (!found)
            return -1;
    }
    return 0;
}

/*
 * Parses the command line, which every rank sees in full.  Returns -1 to go
 * on, or the exit status to stop with (0 after --help, 2 after bad usage).
 */
static int parse_options(int argc, char **argv, int rank, struct options *opt)
{
    opt->reps = DEFAULT_REPS;
    opt->quick = 0;
    opt->verbose = 0;
    opt->max_size = (size_t)-1;
    for (int o = 0; o < NOPS; o++)
        opt->ops[o] = 1;
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
        } else if (strcmp(arg, "--ops") == 0 && i + 1 < argc) {
            if (parse_ops(argv[++i], opt->ops) != 0)
                bad = "wants a comma-separated list of operations (see "
                      "--help)";
        } else {
            bad = "unknown option or missing value";
        }
        if (bad) {
            if (rank == 0) {
                fprintf(stderr, "coll: %s: %s\n", arg, bad);
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

/* The value rank r sends to rank d as element k (of n) of its block, in
 * iteration i.  Integers wrap like MPI_INT sums do: both sides compute in
 * unsigned arithmetic, which is exact modulo 2^32. */
static inline unsigned value(const struct bench *b, int r, int d, int k,
                             long i)
{
    unsigned v = 7u * (unsigned)r + 3u * (unsigned)k + 11u * (unsigned)d +
                 (unsigned)b->salt;
    if (k == 0 || k == b->n - 1)
        v += (unsigned)i;
    return v;
}

/* The sum over ranks r in [0, upto] of value(r, d, k, i). */
static inline unsigned value_sum(const struct bench *b, int upto, int d,
                                 int k, long i)
{
    unsigned count = (unsigned)upto + 1;
    return 7u * ((unsigned)upto * count / 2u) +
           count * (value(b, 0, d, k, i));
}

/* Fills the send buffer for one timing; the stamps of iteration i are
 * rewritten by stamp() in every iteration. */
static void fill(struct bench *b)
{
    int blocks = 1, n = b->n, r = b->rank;

    if (b->op == OP_ALLTOALL || b->op == OP_SCATTER ||
        b->op == OP_REDUCE_SCATTER_BLOCK)
        blocks = b->nranks;
    for (int d = 0; d < blocks; d++)
        for (int k = 0; k < n; k++)
            b->send[(size_t)d * n + k] = (int)value(b, r, d, k, 0);
    memset(b->recv, 0xff, (size_t)b->nranks * n * sizeof(int));
    /* Bcast works in place: the root's data start in its receive buffer. */
    if (b->op == OP_BCAST && r == 0)
        memcpy(b->recv, b->send, (size_t)n * sizeof(int));
}

/* Writes iteration i's stamps into the first and last element of every
 * block this rank sends. */
static inline void stamp(struct bench *b, long i)
{
    int blocks = 1, n = b->n, r = b->rank;
    int *buf = b->op == OP_BCAST ? b->recv : b->send;

    if (b->op == OP_BARRIER || (b->op == OP_BCAST && r != 0) ||
        (b->op == OP_SCATTER && r != 0))
        return;
    if (b->op == OP_ALLTOALL || b->op == OP_SCATTER ||
        b->op == OP_REDUCE_SCATTER_BLOCK)
        blocks = b->nranks;
    for (int d = 0; d < blocks; d++) {
        buf[(size_t)d * n] = (int)value(b, r, d, 0, i);
        buf[(size_t)d * n + n - 1] = (int)value(b, r, d, n - 1, i);
    }
}

static void wrong(const struct bench *b, long i, size_t index, int got,
                  unsigned want)
{
    fprintf(stderr,
            "coll: rank %d: the %s layer's %s of %d integers gave a wrong "
            "result in iteration %ld: element %zu is %d, expected %d\n",
            b->rank, b->layer->name, op_names[b->op], b->n, i, index, got,
            (int)want);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* Checks what iteration i delivered to this rank: the first and last
 * element of every block, or every element when `all` is set. */
static void check(const struct bench *b, long i, int all)
{
    int n = b->n, r = b->rank, P = b->nranks;
    const int *got = b->recv;

    for (int k = 0; k < n; k += (all || k == n - 1) ? 1 : n - 1) {
        switch (b->op) {
        case OP_BARRIER:
            return;
        case OP_BCAST:
            if ((unsigned)got[k] != value(b, 0, 0, k, i))
                wrong(b, i, (size_t)k, got[k], value(b, 0, 0, k, i));
            break;
        case OP_REDUCE:
            if (r != 0)
                return;
            /* fall through */
        case OP_ALLREDUCE:
            if ((unsigned)got[k] != value_sum(b, P - 1, 0, k, i))
                wrong(b, i, (size_t)k, got[k], value_sum(b, P - 1, 0, k, i));
            break;
        case OP_SCAN:
            if ((unsigned)got[k] != value_sum(b, r, 0, k, i))
                wrong(b, i, (size_t)k, got[k], value_sum(b, r, 0, k, i));
            break;
        case OP_REDUCE_SCATTER_BLOCK:
            if ((unsigned)got[k] != value_sum(b, P - 1, r, k, i))
                wrong(b, i, (size_t)k, got[k], value_sum(b, P - 1, r, k, i));
            break;
        case OP_SCATTER:
            if ((unsigned)got[k] != value(b, 0, r, k, i))
                wrong(b, i, (size_t)k, got[k], value(b, 0, r, k, i));
            break;
        case OP_GATHER:
            if (r != 0)
                return;
            /* fall through */
        case OP_ALLGATHER:
        case OP_ALLTOALL:
            for (int s = 0; s < P; s++) {
                size_t at = (size_t)s * n + k;
                unsigned want = value(b, s, b->op == OP_ALLTOALL ? r : 0, k, i);
                if ((unsigned)got[at] != want)
                    wrong(b, i, at, got[at], want);
            }
            break;
        default:
            return;
        }
    }
}

/* One operation of the current timing. */
static inline void operate(struct bench *b)
{
    const struct layer *l = b->layer;
    int n = b->n;
    MPI_Comm c = l->comm;

    switch (b->op) {
    case OP_BARRIER:
        l->barrier(c);
        break;
    case OP_BCAST:
        l->bcast(b->recv, n, MPI_INT, 0, c);
        break;
    case OP_REDUCE:
        l->reduce(b->send, b->recv, n, MPI_INT, MPI_SUM, 0, c);
        break;
    case OP_ALLREDUCE:
        l->allreduce(b->send, b->recv, n, MPI_INT, MPI_SUM, c);
        break;
    case OP_ALLGATHER:
        l->allgather(b->send, n, MPI_INT, b->recv, n, MPI_INT, c);
        break;
    case OP_ALLTOALL:
        l->alltoall(b->send, n, MPI_INT, b->recv, n, MPI_INT, c);
        break;
    case OP_GATHER:
        l->gather(b->send, n, MPI_INT, b->recv, n, MPI_INT, 0, c);
        break;
    case OP_SCATTER:
        l->scatter(b->send, n, MPI_INT, b->recv, n, MPI_INT, 0, c);
        break;
    case OP_REDUCE_SCATTER_BLOCK:
        l->reduce_scatter_block(b->send, b->recv, n, MPI_INT, MPI_SUM, c);
        break;
    case OP_SCAN:
        l->scan(b->send, b->recv, n, MPI_INT, MPI_SUM, c);
        break;
    default:
        break;
    }
}

/* Runs `iters` operations on the current layer and returns the slowest
 * rank's elapsed seconds, on every rank (a bench_timed_fn). */
static double timed(void *ctx, long iters)
{
    struct bench *b = ctx;
    double elapsed, slowest;

    b->salt++;
    fill(b);
    PMPI_Barrier(b->sync_comm);
    double start = MPI_Wtime();
    for (long i = 0; i < iters; i++) {
        stamp(b, i);
        operate(b);
        check(b, i, 0);
    }
    elapsed = MPI_Wtime() - start;
    PMPI_Allreduce(&elapsed, &slowest, 1, MPI_DOUBLE, MPI_MAX, b->sync_comm);
    /* Every element of the last result, outside the timing. */
    check(b, iters - 1, 1);
    return slowest;
}

/* Per-repetition results of one operation and size (microseconds). */
struct samples {
    double us[NLAYERS][MAX_REPS];
};

/* Measures one operation at one size on both layers and prints its row on
 * rank 0. */
static void run_case(struct bench *b, const struct layer layers[NLAYERS],
                     enum op op, size_t size, const struct options *opt,
                     struct samples *s)
{
    double target = opt->quick ? QUICK_TARGET_SECONDS : TARGET_SECONDS;
    double ratio[MAX_REPS];
    char label[32];
    long iters;

    b->op = op;
    b->n = op == OP_BARRIER ? 0 : (int)(size / sizeof(int));
    b->layer = &layers[NATIVE];
    timed(b, 2); /* first touch of this size's pages, connections */
    iters = bench_calibrate(timed, b, target, MAX_ITERS);

    for (int rep = 0; rep < opt->reps; rep++) {
        for (int turn = 0; turn < NLAYERS; turn++) {
            /* Native first in even repetitions, intercepted first in odd. */
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
    printf("| %-20s | %7s | %8ld | %11.3f | %11.3f | %6.3f |\n",
           op_names[op],
           op == OP_BARRIER ? "-" : bench_size_label(size, label, sizeof label),
           iters, bench_median(s->us[NATIVE], opt->reps),
           bench_median(s->us[INTERCEPTED], opt->reps),
           bench_median(ratio, opt->reps));
    fflush(stdout);
}

/* Prints the header: the MPI library, the host, the date, the ranks, where
 * the MPI_* calls go, and the table's head. */
static void print_header(const struct options *opt, int nranks)
{
    static const struct bench_call calls[] = {
        {"MPI_Barrier", (void *)MPI_Barrier, (void *)PMPI_Barrier},
        {"MPI_Bcast", (void *)MPI_Bcast, (void *)PMPI_Bcast},
        {"MPI_Reduce", (void *)MPI_Reduce, (void *)PMPI_Reduce},
        {"MPI_Allreduce", (void *)MPI_Allreduce, (void *)PMPI_Allreduce},
        {"MPI_Allgather", (void *)MPI_Allgather, (void *)PMPI_Allgather},
        {"MPI_Alltoall", (void *)MPI_Alltoall, (void *)PMPI_Alltoall},
        {"MPI_Gather", (void *)MPI_Gather, (void *)PMPI_Gather},
        {"MPI_Scatter", (void *)MPI_Scatter, (void *)PMPI_Scatter},
        {"MPI_Reduce_scatter_block", (void *)MPI_Reduce_scatter_block,
         (void *)PMPI_Reduce_scatter_block},
        {"MPI_Scan", (void *)MPI_Scan, (void *)PMPI_Scan},
    };
    struct bench_run run;

    bench_describe(&run);
    printf("mpisnap collectives, %d ranks, %s, medians of %d alternating "
           "repetitions%s  \n",
           nranks, run.mpi, opt->reps, opt->quick ? " (--quick)" : "");
    printf("host %s, %s  \n", run.host, run.date);
    bench_print_interception("", calls, sizeof calls / sizeof calls[0]);
    printf("time per operation in us: the slowest rank's loop / iterations, "
           "each timing ~%.0f ms; size: per rank, per block (MPI_INT data); "
           "ratio: median of per-repetition mpisnap/native\n\n",
           (opt->quick ? QUICK_TARGET_SECONDS : TARGET_SECONDS) * 1e3);
    printf("| %-20s | %7s | %8s | %11s | %11s | %6s |\n", "operation", "size",
           "iters", "native_us", "mpisnap_us", "ratio");
    printf("|%s|%s|%s|%s|%s|%s|\n", "----------------------", "--------:",
           "---------:", "------------:", "------------:", "-------:");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, nranks;
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

    /* The native layer's own communicator, created with PMPI so that
     * mpisnap never learns of it.  Errors are fatal (MPI's default). */
    MPI_Comm native_comm;
    PMPI_Comm_dup(MPI_COMM_WORLD, &native_comm);
    const struct layer layers[NLAYERS] = {
        [NATIVE] = {"native", native_comm, PMPI_Barrier, PMPI_Bcast,
                    PMPI_Reduce, PMPI_Allreduce, PMPI_Allgather,
                    PMPI_Alltoall, PMPI_Gather, PMPI_Scatter,
                    PMPI_Reduce_scatter_block, PMPI_Scan},
        [INTERCEPTED] = {"mpisnap", MPI_COMM_WORLD, MPI_Barrier, MPI_Bcast,
                         MPI_Reduce, MPI_Allreduce, MPI_Allgather,
                         MPI_Alltoall, MPI_Gather, MPI_Scatter,
                         MPI_Reduce_scatter_block, MPI_Scan},
    };

    /* Buffers for P blocks of the largest size, touched now so that no
     * page fault lands inside a timing. */
    size_t largest = sizeof(int);
    for (size_t i = 0; i < nsizes; i++)
        if (sizes[i] <= opt.max_size && sizes[i] > largest)
            largest = sizes[i];
    size_t bytes = largest * (size_t)nranks;
    struct bench b = {.rank = rank, .nranks = nranks,
                      .sync_comm = native_comm};
    if (posix_memalign((void **)&b.send, 4096, bytes) != 0 ||
        posix_memalign((void **)&b.recv, 4096, bytes) != 0) {
        fprintf(stderr, "coll: rank %d: cannot allocate 2 x %zu bytes\n",
                rank, bytes);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(b.send, 0, bytes);
    memset(b.recv, 0, bytes);
    struct samples *samples = malloc(sizeof *samples);
    if (!samples) {
        fprintf(stderr, "coll: rank %d: out of memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    if (rank == 0)
        print_header(&opt, nranks);
    double start = MPI_Wtime();
    for (int op = 0; op < NOPS; op++) {
        if (!opt.ops[op])
            continue;
        if (op == OP_BARRIER) {
            run_case(&b, layers, OP_BARRIER, 0, &opt, samples);
            continue;
        }
        for (size_t i = 0; i < nsizes; i++)
            if (sizes[i] <= opt.max_size && sizes[i] >= sizeof(int))
                run_case(&b, layers, (enum op)op, sizes[i], &opt, samples);
    }
    if (rank == 0)
        printf("\ntotal %.1f s\n", MPI_Wtime() - start);

    free(samples);
    free(b.send);
    free(b.recv);
    PMPI_Comm_free(&native_comm);
    MPI_Finalize();
    return 0;
}
