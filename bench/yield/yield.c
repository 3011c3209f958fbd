/*
 * A benchmark harness shim, not part of mpisnap: makes MPICH's idle polling
 * give the core away, so that more ranks than cores can be measured.
 *
 * MPICH 4 (ch4:ucx) waits by calling ucp_worker_progress() in a loop and
 * never yields (libmpich imports no sched_yield; MPIR_CVAR_POLLS_BEFORE_YIELD
 * is ch3's).  With 4 ranks on 2 cores every collective then costs a
 * scheduler time slice, about 8 ms, on both sides of a comparison, and a
 * table of such runs measures Linux's scheduler (docs/BENCHMARKS.md).  Open
 * MPI does by itself what this does when a node is oversubscribed
 * (mpi_yield_when_idle): a pass of the progress engine that found nothing
 * to do ends with sched_yield().
 *
 * bench/run-ranks.sh --yield preloads it into every rank, so both columns
 * of a table (PMPI_* and the intercepted MPI_*) run with it alike.  It
 * changes MPICH's waiting, not what mpisnap does: a ratio measured with it
 * is mpisnap's cost on an MPICH that yields when idle.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dlfcn.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

/* ucp_worker_h is a pointer to an opaque struct: a void * on the ABI. */
typedef unsigned (*progress_fn)(void *worker);

/* Exported despite the project's hidden default: it must interpose. */
__attribute__((visibility("default"))) unsigned
ucp_worker_progress(void *worker);

unsigned ucp_worker_progress(void *worker) {
  static progress_fn real;
  unsigned events;

  if (real == NULL) {
    void *sym = dlsym(RTLD_NEXT, "ucp_worker_progress");
    if (sym == NULL) {
      fprintf(stderr, "mpisnap-bench-yield: no ucp_worker_progress after "
                      "this library (is this MPI built on UCX?)\n");
      abort();
    }
    *(void **)&real = sym;
  }
  events = real(worker);
  if (events == 0)
    sched_yield();
  return events;
}
