/*
 * What the benchmarks in bench/ share: the description of the run that
 * heads every table (MPI library, host, date) and the median.  Static
 * inline, so that each benchmark stays one translation unit.
 */
#ifndef MPISNAP_BENCH_H
#define MPISNAP_BENCH_H

#include <mpi.h>

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

#endif /* MPISNAP_BENCH_H */
