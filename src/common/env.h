/* The environment: one parser for every MPISNAP_* number, one policy.
 *
 * A variable that is unset or empty has its default.  Anything else must
 * be written plainly: decimal digits, and for a number of seconds at most
 * one decimal point (no sign, no blanks, no exponent, no "inf" or "nan"),
 * within [min, max].  A value that is not is never replaced by a default:
 * the call fails with a message that names the variable, its value and
 * what is expected, and the caller stops (the layer's MPI_Init cannot
 * return a configuration error, so it ends the job; mpisnap_init returns
 * MPISNAP_ECONFIG). */
#ifndef MPISNAP_COMMON_ENV_H
#define MPISNAP_COMMON_ENV_H

#include <stddef.h>

enum mpisnap__env_kind {
  MPISNAP__ENV_INTEGER, /* digits only */
  MPISNAP__ENV_SECONDS  /* digits with at most one decimal point */
};

/* 1 and *out set when name holds a valid value; 0 (and *out untouched)
 * when it is unset or empty; -1 with the message in err otherwise.  want
 * says what is expected, in words ("a positive integer"). */
int mpisnap__env_number(const char *name, enum mpisnap__env_kind kind,
                        double min, double max, const char *want, double *out,
                        char *err, size_t errlen);

#endif /* MPISNAP_COMMON_ENV_H */
