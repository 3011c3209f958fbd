/*
 * Ping-pong benchmark: the cost of mpisnap's interception on point-to-point
 * latency and bandwidth.
 *
 * The program runs on exactly two ranks and measures two layers in the same
 * job.  The "native" layer calls PMPI_Send, PMPI_Recv, PMPI_Isend, PMPI_Irecv
 * and PMPI_Waitall directly, so it never enters mpisnap's wrappers.  The
 * "intercepted" layer calls the MPI_* names, which resolve to mpisnap's
 * wrappers when the program is linked with libmpisnap or runs with it under
 * LD_PRELOAD, and to plain MPI otherwise (then every ratio should be ~1.00).
 *
 * For every message size, each repetition measures both layers, and the
 * order alternates from one repetition to the next so that slow drift of
 * the machine (frequency scaling, other load) falls on both layers equally.
 * One layer's turn is a warm-up and a timed ping-pong (half round-trip
 * latency), then a warm-up and a timed stream of windows of non-blocking
 * sends, each window acknowledged by a zero-byte reply (bandwidth).  The
 * table reports medians over the repetitions; the ratios are medians of the
 * per-repetition ratios intercepted/native, which is where the alternation
 * pays off.
 *
 * Every ping-pong message carries the round-trip number modulo 256 in its
 * first and last byte, and both ranks check it, so a layer that loses or
 * mangles data aborts the run instead of looking fast.
 */

/* dladdr() is a GNU extension; it tells which library the MPI_* names
 * resolve to, so the output says whether interception is really active. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <mpi.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define STR_(x) #x
#define STR(x) STR_(x)

enum {
    TAG_PING = 101,
    TAG_STREAM = 102,
    TAG_ACK = 103,
};

/* A bandwidth window holds up to this many messages ... */
#define WINDOW_MESSAGES 64
/* ... and at most this many bytes, so large sizes use fewer messages. */
#define WINDOW_MAX_BYTES ((size_t)64 << 20)

#define DEFAULT_REPS 7
#define MAX_REPS 1000

/*
 * The sizes measured, with the work per timing: `rounds` round trips of the
 * ping-pong and `windows` acknowledged windows of the bandwidth test.  On a
 * 2-core x86 VM over shared memory each timing takes 30-60 ms, a full run of
 * seven repetitions 11-16 s and a --quick run under 2 s; slower machines
 * take proportionally longer.  --quick divides both counts by ten.
 */
static const struct size_plan {
    size_t size;
    long rounds;
    long windows;
} plans[] = {
    {0, 150000, 0}, /* Zero bytes carry no bandwidth; only latency is timed. */
    {8, 150000, 12000},
    {64, 150000, 9000},
    {512, 80000, 7000},
    {4 << 10, 30000, 2000},
    {64 << 10, 8000, 300},
    {256 << 10, 2500, 30},
    {1 << 20, 600, 8},
    {4 << 20, 150, 8},
};
#define NPLANS (sizeof plans / sizeof plans[0])

/* The calls of one layer, and the communicator it runs on. */
struct layer {
    const char *name;
    MPI_Comm comm;
    int (*send)(const void *, int, MPI_Datatype, int, int, MPI_Comm);
    int (*recv)(void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Status *);
    int (*isend)(const void *, int, MPI_Datatype, int, int, MPI_Comm,
                 MPI_Request *);
    int (*irecv)(void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
    int (*waitall)(int, MPI_Request *, MPI_Status *);
};

enum { NATIVE = 0, INTERCEPTED = 1, NLAYERS = 2 };

struct options {
    int reps;
    int quick;
    int verbose;
    size_t max_size;
};

/* Everything one rank needs to run a measurement. */
struct bench {
    int rank;
    /* Synchronisation between timings; it never passes through mpisnap. */
    MPI_Comm sync_comm;
    /* One allocation serves both tests: the ping-pong uses its first two
     * slots of the current size, the bandwidth test a whole window. */
    unsigned char *buf;
    MPI_Request reqs[WINDOW_MESSAGES];
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mpirun -np 2 mpisnap-bench-pingpong [options]\n"
            "  --reps N          alternating repetitions per size "
            "(default %d)\n"
            "  --quick           a tenth of the iterations per timing\n"
            "  --max-size BYTES  skip sizes above BYTES (suffixes K and M "
            "are binary)\n"
            "  --verbose         also print every repetition's numbers\n"
            "  --help            print this help\n",
            DEFAULT_REPS);
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
        } else {
            bad = "unknown option or missing value";
        }
        if (bad) {
            if (rank == 0) {
                fprintf(stderr, "pingpong: %s: %s\n", arg, bad);
                usage(stderr);
            }
            return 2;
        }
    }
    opt->reps = common.reps;
    opt->quick = common.quick;
    opt->verbose = common.verbose;
    return -1;
}

/* The number of messages in one bandwidth window of the given size. */
static int window_messages(size_t size)
{
    if (size == 0 || size * WINDOW_MESSAGES <= WINDOW_MAX_BYTES)
        return WINDOW_MESSAGES;
    return (int)(WINDOW_MAX_BYTES / size);
}

/* Scales an iteration count for --quick, keeping at least `minimum`. */
static long scaled(long count, const struct options *opt, long minimum)
{
    if (opt->quick)
        count /= 10;
    return count < minimum ? minimum : count;
}

/* Writes the round-trip stamp into the first and last byte of a message. */
static void stamp(unsigned char *msg, size_t size, long round)
{
    if (size > 0) {
        msg[0] = (unsigned char)round;
        msg[size - 1] = (unsigned char)round;
    }
}

/* Aborts the job if a received message does not carry the expected stamp. */
static void check_stamp(const struct bench *b, const struct layer *l,
                        const unsigned char *msg, size_t size, long round)
{
    unsigned char want = (unsigned char)round;
    if (size == 0 || (msg[0] == want && msg[size - 1] == want))
        return;
    fprintf(stderr,
            "pingpong: rank %d: the %s layer delivered a wrong %zu-byte "
            "message in round trip %ld: first byte %u, last byte %u, "
            "expected %u in both\n",
            b->rank, l->name, size, round, msg[0], msg[size - 1], want);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/*
 * Runs `rounds` round trips of `size` bytes and returns, on rank 0, the half
 * round-trip time in microseconds.  Each rank receives into a buffer other
 * than the one it sends from, so a receive that writes nothing leaves the
 * previous round's stamp behind and fails the check.
 */
static double pingpong(struct bench *b, const struct layer *l, size_t size,
                       long rounds)
{
    unsigned char *out = b->buf;
    unsigned char *in = b->buf + (size > 0 ? size : 1);
    int count = (int)size;
    int peer = 1 - b->rank;

    PMPI_Barrier(b->sync_comm);
    double start = MPI_Wtime();
    for (long i = 0; i < rounds; i++) {
        if (b->rank == 0) {
            stamp(out, size, i);
            l->send(out, count, MPI_BYTE, peer, TAG_PING, l->comm);
            l->recv(in, count, MPI_BYTE, peer, TAG_PING, l->comm,
                    MPI_STATUS_IGNORE);
            check_stamp(b, l, in, size, i);
        } else {
            l->recv(in, count, MPI_BYTE, peer, TAG_PING, l->comm,
                    MPI_STATUS_IGNORE);
            check_stamp(b, l, in, size, i);
            stamp(out, size, i);
            l->send(out, count, MPI_BYTE, peer, TAG_PING, l->comm);
        }
    }
    double elapsed = MPI_Wtime() - start;
    return elapsed / (2.0 * (double)rounds) * 1e6;
}

/*
 * Streams `windows` windows of `size`-byte messages from rank 0 to rank 1
 * and returns, on rank 0, the bandwidth in MB/s (10^6 bytes per second).
 * Every message of a window has its own slot of the buffer; the zero-byte
 * acknowledgement makes rank 0 wait until rank 1 has received the window,
 * so the time covers delivery and not just the local completion of sends.
 */
static double stream(struct bench *b, const struct layer *l, size_t size,
                     long windows)
{
    int nmsg = window_messages(size);
    int count = (int)size;
    unsigned char ack = 0;

    PMPI_Barrier(b->sync_comm);
    double start = MPI_Wtime();
    for (long w = 0; w < windows; w++) {
        if (b->rank == 0) {
            for (int k = 0; k < nmsg; k++)
                l->isend(b->buf + (size_t)k * size, count, MPI_BYTE, 1,
                         TAG_STREAM, l->comm, &b->reqs[k]);
            l->waitall(nmsg, b->reqs, MPI_STATUSES_IGNORE);
            l->recv(&ack, 0, MPI_BYTE, 1, TAG_ACK, l->comm,
                    MPI_STATUS_IGNORE);
        } else {
            for (int k = 0; k < nmsg; k++)
                l->irecv(b->buf + (size_t)k * size, count, MPI_BYTE, 0,
                         TAG_STREAM, l->comm, &b->reqs[k]);
            l->waitall(nmsg, b->reqs, MPI_STATUSES_IGNORE);
            l->send(&ack, 0, MPI_BYTE, 0, TAG_ACK, l->comm);
        }
    }
    double elapsed = MPI_Wtime() - start;
    return (double)size * nmsg * (double)windows / elapsed / 1e6;
}

/* Per-repetition results of one size, filled in on rank 0. */
struct samples {
    double lat[NLAYERS][MAX_REPS];
    double bw[NLAYERS][MAX_REPS];
};

/* Measures one size on both layers and prints its row on rank 0. */
static void run_size(struct bench *b, const struct layer layers[NLAYERS],
                     const struct size_plan *plan, const struct options *opt,
                     struct samples *s)
{
    size_t size = plan->size;
    long rounds = scaled(plan->rounds, opt, 4);
    long windows = plan->windows > 0 ? scaled(plan->windows, opt, 1) : 0;

    for (int rep = 0; rep < opt->reps; rep++) {
        for (int turn = 0; turn < NLAYERS; turn++) {
            /* Native first in even repetitions, intercepted first in odd. */
            int which = turn ^ (rep & 1);
            const struct layer *l = &layers[which];
            pingpong(b, l, size, rounds / 10 > 2 ? rounds / 10 : 2);
            s->lat[which][rep] = pingpong(b, l, size, rounds);
            if (windows > 0) {
                stream(b, l, size, windows / 10 > 1 ? windows / 10 : 1);
                s->bw[which][rep] = stream(b, l, size, windows);
            }
        }
        if (b->rank == 0 && opt->verbose) {
            printf("#   rep %d (%s first): latency %.3f / %.3f us",
                   rep, layers[rep & 1].name, s->lat[NATIVE][rep],
                   s->lat[INTERCEPTED][rep]);
            if (windows > 0)
                printf(", bandwidth %.1f / %.1f MB/s", s->bw[NATIVE][rep],
                       s->bw[INTERCEPTED][rep]);
            printf("\n");
        }
    }
    if (b->rank != 0)
        return;

    double lat_ratio[MAX_REPS], bw_ratio[MAX_REPS];
    for (int rep = 0; rep < opt->reps; rep++) {
        lat_ratio[rep] = s->lat[INTERCEPTED][rep] / s->lat[NATIVE][rep];
        if (windows > 0)
            bw_ratio[rep] = s->bw[INTERCEPTED][rep] / s->bw[NATIVE][rep];
    }
    printf("%10zu %11.3f %12.3f %10.3f", size,
           bench_median(s->lat[NATIVE], opt->reps),
           bench_median(s->lat[INTERCEPTED], opt->reps),
           bench_median(lat_ratio, opt->reps));
    if (windows > 0)
        printf(" %13.1f %13.1f %9.3f\n", bench_median(s->bw[NATIVE], opt->reps),
               bench_median(s->bw[INTERCEPTED], opt->reps),
               bench_median(bw_ratio, opt->reps));
    else
        printf(" %13s %13s %9s\n", "-", "-", "-");
    fflush(stdout);
}

/* The file name of the shared object (or program) that defines a function. */
static const char *object_of(void *fn)
{
    Dl_info info;
    if (dladdr(fn, &info) && info.dli_fname)
        return info.dli_fname;
    return "?";
}

/*
 * Says where the intercepted layer's calls go.  Without mpisnap, MPI_Send and
 * PMPI_Send live in the same MPI library, and the "mpisnap" columns measure
 * plain MPI; the output says so rather than let such a run pass for a
 * measurement of the library.
 */
static void print_interception(void)
{
    static const struct {
        const char *name;
        void *mpi, *pmpi;
    } calls[] = {
        {"MPI_Send", (void *)MPI_Send, (void *)PMPI_Send},
        {"MPI_Recv", (void *)MPI_Recv, (void *)PMPI_Recv},
        {"MPI_Isend", (void *)MPI_Isend, (void *)PMPI_Isend},
        {"MPI_Irecv", (void *)MPI_Irecv, (void *)PMPI_Irecv},
        {"MPI_Waitall", (void *)MPI_Waitall, (void *)PMPI_Waitall},
    };
    char wrapped[128] = "", plain[128] = "";
    const char *wrapper = NULL;
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const char *lib = object_of(calls[i].mpi);
        int same = calls[i].mpi == calls[i].pmpi ||
                   strcmp(lib, object_of(calls[i].pmpi)) == 0;
        strcat(same ? plain : wrapped, " ");
        strcat(same ? plain : wrapped, calls[i].name);
        if (!same && !wrapper)
            wrapper = lib;
    }
    if (wrapped[0])
        printf("# wrapped by %s:%s\n", wrapper, wrapped);
    if (plain[0])
        printf("# NOT wrapped (the mpisnap columns measure plain MPI):%s\n",
               plain);
}

/* Prints the header: the MPI library, the host, the date and the units. */
static void print_header(const struct options *opt)
{
    struct bench_run run;
    bench_describe(&run);
    printf("# mpisnap ping-pong, 2 ranks, %s, medians of %d alternating "
           "repetitions%s\n",
           run.mpi, opt->reps, opt->quick ? " (--quick)" : "");
    printf("# host %s, %s\n", run.host, run.date);
    print_interception();
    printf("# latency: half round trip in us; bandwidth: MB/s (10^6 B/s), "
           "windows of up to %d messages and %zu MiB; ratios: medians of "
           "per-repetition mpisnap/native\n",
           WINDOW_MESSAGES, WINDOW_MAX_BYTES >> 20);
    printf("#%9s %11s %12s %10s %13s %13s %9s\n", "size", "native_us",
           "mpisnap_us", "lat_ratio", "native_MBps", "mpisnap_MBps",
           "bw_ratio");
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
    if (status < 0 && nranks != 2) {
        if (rank == 0)
            fprintf(stderr,
                    "pingpong: needs exactly 2 ranks, got %d "
                    "(run it with mpirun -np 2)\n",
                    nranks);
        status = 1;
    }
    if (status >= 0) {
        MPI_Finalize();
        return status;
    }

    /* The native layer gets a communicator of its own, created with PMPI so
     * that mpisnap never learns of it: no native message can ever be seen,
     * counted or matched by the library's wrappers.  MPI's default error
     * handler (errors are fatal) covers every call below. */
    MPI_Comm native_comm;
    PMPI_Comm_dup(MPI_COMM_WORLD, &native_comm);
    const struct layer layers[NLAYERS] = {
        [NATIVE] = {"native", native_comm, PMPI_Send, PMPI_Recv, PMPI_Isend,
                    PMPI_Irecv, PMPI_Waitall},
        [INTERCEPTED] = {"mpisnap", MPI_COMM_WORLD, MPI_Send, MPI_Recv,
                         MPI_Isend, MPI_Irecv, MPI_Waitall},
    };

    /* Size the buffer for the largest test and touch every page now, so
     * that no page fault lands inside a timing. */
    size_t buf_size = 2;
    for (size_t i = 0; i < NPLANS; i++) {
        size_t size = plans[i].size;
        if (size > opt.max_size)
            continue;
        size_t need = (size_t)window_messages(size) * size;
        if (need < 2 * size)
            need = 2 * size;
        if (need > buf_size)
            buf_size = need;
    }
    struct bench b = {.rank = rank, .sync_comm = native_comm};
    if (posix_memalign((void **)&b.buf, 4096, buf_size) != 0) {
        fprintf(stderr, "pingpong: rank %d: cannot allocate %zu bytes\n",
                rank, buf_size);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(b.buf, 0, buf_size);

    struct samples *samples = malloc(sizeof *samples);
    if (!samples) {
        fprintf(stderr, "pingpong: rank %d: out of memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    if (rank == 0)
        print_header(&opt);
    double start = MPI_Wtime();
    for (size_t i = 0; i < NPLANS; i++)
        if (plans[i].size <= opt.max_size)
            run_size(&b, layers, &plans[i], &opt, samples);
    if (rank == 0)
        printf("# total %.1f s\n", MPI_Wtime() - start);

    free(samples);
    free(b.buf);
    PMPI_Comm_free(&native_comm);
    MPI_Finalize();
    return 0;
}
