/*
 * What the benchmarks in bench/ share: the description of the run that
 * heads every table (MPI library, host, date), the median, byte counts
 * on the command line and in tables, the calibration of iteration counts
 * and (for a file that defines _GNU_SOURCE, for dladdr) the report of
 * whether the MPI_* calls really reach mpisnap's wrappers.  Static inline,
 * so that each benchmark stays one translation unit.
 */
#ifndef MPISNAP_BENCH_H
#define MPISNAP_BENCH_H

#include <mpi.h>

#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bench_run {
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING]; /* first line of the MPI library's version */
    char host[256];
    char date[64]; /* local time, with the zone */
};

static inline void bench_describe(struct bench_run *r)
{
    int len;
    time_t now = time(NULL);
    struct tm tm;

    MPI_Get_library_version(r->mpi, &len);
    r->mpi[strcspn(r->mpi, "\n")] = '\0';
    strcpy(r->host, "?");
    gethostname(r->host, sizeof r->host);
    r->host[sizeof r->host - 1] = '\0';
    strcpy(r->date, "?");
    if (localtime_r(&now, &tm))
        strftime(r->date, sizeof r->date, "%Y-%m-%d %H:%M:%S %z", &tm);
}

static inline int bench_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of n values; sorts them in place. */
static inline double bench_median(double *values, int n)
{
    qsort(values, (size_t)n, sizeof *values, bench_compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

/* Parses a byte count such as 4096, 64K, 4M or 1G (binary multiples);
 * returns 0 on success, -1 on a malformed or too large count. */
static inline int bench_parse_size(const char *text, size_t *out)
{
    char *end;
    unsigned long long value;
    int shift = 0;

    if (text[0] == '-')
        return -1;
    errno = 0;
    value = strtoull(text, &end, 10);
    if (errno != 0 || end == text)
        return -1;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift) {
        if (value > (ULLONG_MAX >> shift))
            return -1;
        value <<= shift;
        end++;
    }
    if (*end != '\0' || value > SIZE_MAX)
        return -1;
    *out = (size_t)value;
    return 0;
}

/* A byte count as a short label: "8 B", "4 KiB", "1 MiB". */
static inline const char *bench_size_label(size_t size, char *buf, size_t len)
{
    if (size >= ((size_t)1 << 20) && size % ((size_t)1 << 20) == 0)
        snprintf(buf, len, "%zu MiB", size >> 20);
    else if (size >= 1024 && size % 1024 == 0)
        snprintf(buf, len, "%zu KiB", size >> 10);
    else
        snprintf(buf, len, "%zu B", size);
    return buf;
}

/*
 * One timing of `iters` iterations of some loop, as the slowest rank saw
 * it: returns the same number of seconds on every rank (the timed function
 * synchronises with PMPI before its loop and takes the maximum over ranks
 * with PMPI after it).
 */
typedef double (*bench_timed_fn)(void *ctx, long iters);

/*
 * The iteration count that makes one timing last about `target` seconds.
 * Starting from one iteration, it times (the faster of two), scales the count by what the
 * timing says (by at most 10x per step, so that one slow outlier, such as
 * a first call that sets up a connection, cannot stop it early), and stops
 * once a timing lands within [target/2, 2 target] or after 12 steps.
 * Every rank gets the same count, because every rank sees the same
 * (maximum) times.  At least 1, at most max_iters.
 */
static inline long bench_calibrate(bench_timed_fn run, void *ctx,
                                   double target, long max_iters)
{
    long iters = 1;

    for (int step = 0; step < 12; step++) {
        /* The faster of two timings: a rank preempted once by other load
         * should not make the count small. */
        double t = run(ctx, iters), t2 = run(ctx, iters), want;
        if (t2 < t)
            t = t2;
        if (t >= target / 2 && t <= 2 * target)
            break;
        want = t > 0 ? (double)iters * target / t : (double)iters * 10;
        if (want > (double)iters * 10)
            want = (double)iters * 10;
        if (want < 1)
            want = 1;
        if (want > (double)max_iters)
            want = (double)max_iters;
        if ((long)want == iters) {
            if (t >= target / 2 || iters >= max_iters)
                break;
            want = (double)iters * 2; /* a preempted timing: try more */
        }
        iters = (long)want;
    }
    return iters;
}

#ifdef _GNU_SOURCE
#include <dlfcn.h>

/* The file name of the shared object (or program) that defines a function. */
static inline const char *bench_object_of(void *fn)
{
    Dl_info info;
    if (dladdr(fn, &info) && info.dli_fname)
        return info.dli_fname;
    return "?";
}

/* An MPI call the intercepted layer makes, by both of its names. */
struct bench_call {
    const char *name;
    void *mpi, *pmpi;
};

/*
 * Says where the intercepted layer's calls go: "wrapped by <library>" for
 * the MPI_* names that resolve elsewhere than their PMPI_* twins, "NOT
 * wrapped" for those that resolve into the MPI library itself (then that
 * column measures plain MPI).  Each line starts with `prefix`.  Returns
 * the number of calls that are not wrapped.
 */
static inline int bench_print_interception(const char *prefix,
                                           const struct bench_call *calls,
                                           size_t n)
{
    char wrapped[1024] = "", plain[1024] = "";
    const char *wrapper = NULL;
    int unwrapped = 0;

    for (size_t i = 0; i < n; i++) {
        const char *lib = bench_object_of(calls[i].mpi);
        int same = calls[i].mpi == calls[i].pmpi ||
                   strcmp(lib, bench_object_of(calls[i].pmpi)) == 0;
        char *list = same ? plain : wrapped;
        if (strlen(list) + strlen(calls[i].name) + 2 < sizeof wrapped) {
            strcat(list, " ");
            strcat(list, calls[i].name);
        }
        if (same)
            unwrapped++;
        else if (!wrapper)
            wrapper = lib;
    }
    if (wrapped[0])
        printf("%swrapped by %s:%s\n", prefix, wrapper, wrapped);
    if (plain[0])
        printf("%sNOT wrapped (the mpisnap columns measure plain MPI):%s\n",
               prefix, plain);
    return unwrapped;
}
#endif /* _GNU_SOURCE */

/* The options every benchmark takes: --help (-h), --quick, --verbose and
 * --reps N with N from 1 to max_reps.  Returns 1 when argv[*i] is one of
 * them (*i moved past N), 0 when it is none of them, and -1 with *bad set
 * when N is wrong. */
struct bench_common {
    int help, quick, verbose, reps, reps_given;
};

static inline int bench_common_option(int argc, char **argv, int *i,
                                      int max_reps, struct bench_common *c,
                                      const char **bad)
{
    const char *arg = argv[*i];

    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        c->help = 1;
    } else if (strcmp(arg, "--quick") == 0) {
        c->quick = 1;
    } else if (strcmp(arg, "--verbose") == 0) {
        c->verbose = 1;
    } else if (strcmp(arg, "--reps") == 0 && *i + 1 < argc) {
        char *end;
        long reps = strtol(argv[++*i], &end, 10);
        if (*end != '\0' || reps < 1 || reps > max_reps) {
            *bad = "wants a number from 1 to the maximum --help gives";
            return -1;
        }
        c->reps = (int)reps;
        c->reps_given = 1;
    } else {
        return 0;
    }
    return 1;
}

#endif /* MPISNAP_BENCH_H */
