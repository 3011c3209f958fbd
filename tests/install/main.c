/* Prints the library version; check.sh compares it with the project's. */
#include <stdio.h>

#include <mpisnap.h>

int main(void)
{
  printf("%s\n", mpisnap_version_string());
  return 0;
}
