#include "common/env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Digits, and where allowed one decimal point, with at least one digit. */
static int plain(const char *v, int point_ok) {
  int digits = 0, points = 0;

  for (; *v != '\0'; v++) {
    if (*v >= '0' && *v <= '9')
      digits++;
    else if (*v == '.' && point_ok && points == 0)
      points++;
    else
      return 0;
  }
  return digits > 0;
}

int mpisnap__env_number(const char *name, enum mpisnap__env_kind kind,
                        double min, double max, const char *want, double *out,
                        char *err, size_t errlen) {
  const char *v = getenv(name);
  char *end;
  double x;

  if (v == NULL || *v == '\0')
    return 0;
  errno = 0;
  if (plain(v, kind == MPISNAP__ENV_SECONDS)) {
    x = strtod(v, &end);
    if (errno == 0 && *end == '\0' && x >= min && x <= max) {
      *out = x;
      return 1;
    }
  }
  snprintf(err, errlen, "%s='%s' is not valid: expected %s", name, v, want);
  return -1;
}
