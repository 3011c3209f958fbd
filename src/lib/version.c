/* The version of the library that is actually loaded at run time. */
#include "mpisnap.h"

/* Two levels so the macro arguments expand before they are stringified. */
#define MPISNAP_STR_(x) #x
#define MPISNAP_STR(x) MPISNAP_STR_(x)

const char *mpisnap_version_string(void)
{
  return MPISNAP_STR(MPISNAP_VERSION_MAJOR) "." MPISNAP_STR(
      MPISNAP_VERSION_MINOR) "." MPISNAP_STR(MPISNAP_VERSION_PATCH);
}
