/* A growable array: a pointer, a count and a capacity, doubled as needed.
 * (The engine in src/core keeps its own copy: the core depends on
 * nothing.) */
#ifndef MPISNAP_COMMON_ARRAY_H
#define MPISNAP_COMMON_ARRAY_H

#include <stddef.h>
#include <stdlib.h>

/* Make room for need elements of size elem in *arr; 0, or -1 (out of
 * memory, *arr unchanged). */
static inline int mpisnap__grow(void **arr, size_t *cap, size_t need,
                                size_t elem) {
  size_t ncap = *cap ? *cap : 16;
  void *p;

  if (need <= *cap)
    return 0;
  while (ncap < need)
    ncap *= 2;
  p = realloc(*arr, ncap * elem);
  if (p == NULL)
    return -1;
  *arr = p;
  *cap = ncap;
  return 0;
}

/* Room for one more element after the n in arr; on failure, fail(what)
 * (a function that does not return). */
#define MPISNAP__GROW_OR(arr, n, cap, fail, what)                             \
  do {                                                                        \
    void *grow_p_ = (arr);                                                    \
    if (mpisnap__grow(&grow_p_, &(cap), (size_t)(n) + 1, sizeof(*(arr))) != 0) \
      fail("out of memory %s", what);                                        \
    (arr) = grow_p_;                                                          \
  } while (0)

#endif /* MPISNAP_COMMON_ARRAY_H */
