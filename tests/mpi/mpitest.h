/*
 * Shared by the MPI semantics tests in this directory.
 *
 * Every test is a plain MPI program: it must pass under Open MPI alone, and
 * again with libmpisnap interposed (linked or preloaded), with snapshots
 * running.  A failed check prints "<test>: rank R: <what was wrong>" to
 * stderr and aborts the whole job with exit code 1; rank 0 prints
 * "<test> ok" when everything held.
 */
#ifndef MPISNAP_TESTS_MPITEST_H
#define MPISNAP_TESTS_MPITEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>

static const char *mt_name = "?";
static int mt_rank = -1;
static int mt_size = 0;

/* Initialises MPI and remembers the test's name, rank and size. */
static inline void mt_init(int *argc, char ***argv, const char *name)
{
  MPI_Init(argc, argv);
  mt_name = name;
  MPI_Comm_rank(MPI_COMM_WORLD, &mt_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &mt_size);
}

/* Reports what was wrong and aborts the job. */
__attribute__((format(printf, 1, 2), noreturn))
static inline void mt_fail(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s: rank %d: ", mt_name, mt_rank);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  abort(); /* MPI_Abort does not return; this keeps the compiler sure of it. */
}

/* Fails unless got == want; what names the value being checked. */
#define MT_EQ(what, got, want)                                                 \
  do {                                                                         \
    long long mt_got_ = (long long)(got), mt_want_ = (long long)(want);        \
    if (mt_got_ != mt_want_)                                                   \
      mt_fail("%s: got %lld, want %lld (%s:%d)", (what), mt_got_, mt_want_,   \
              __FILE__, __LINE__);                                             \
  } while (0)

/* Fails unless cond holds; the message says what was expected. */
#define MT_CHECK(cond, ...)                                                    \
  do {                                                                         \
    if (!(cond))                                                               \
      mt_fail(__VA_ARGS__);                                                    \
  } while (0)

/* Fails unless the job has at least n ranks. */
static inline void mt_need_ranks(int n)
{
  if (mt_size < n)
    mt_fail("needs at least %d ranks, got %d", n, mt_size);
}

/* The element count of a status, as MPI_Get_count reports it. */
static inline int mt_count(const MPI_Status *st, MPI_Datatype type)
{
  int n = -1;
  MPI_Get_count(st, type, &n);
  return n;
}

/* Prints "<test> ok" on rank 0 and finalises MPI. */
static inline int mt_done(void)
{
  /* Everyone has passed its checks before rank 0 says so. */
  MPI_Barrier(MPI_COMM_WORLD);
  if (mt_rank == 0) {
    printf("%s ok\n", mt_name);
    fflush(stdout);
  }
  MPI_Finalize();
  return 0;
}

#endif /* MPISNAP_TESTS_MPITEST_H */
