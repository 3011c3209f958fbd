/* Rewrites the MPI library a checkpoint records (attribute mpi of its master
 * file, docs/FORMAT.md) with the library's own reader and writer, so that a
 * test can restart a checkpoint "written under another MPI" without a second
 * MPI installed.
 *
 * usage: setmpi CKPT_DIR             print the recorded value ("" if none)
 *        setmpi CKPT_DIR STRING      record STRING ("" removes the attribute)
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "format/part.h"

int main(int argc, char **argv) {
  char err[512] = "", path[4200];
  mpisnap__meta m;

  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: setmpi CKPT_DIR [STRING]\n");
    return 2;
  }
  if (mpisnap__meta_read(argv[1], &m, err, sizeof err) != 0) {
    fprintf(stderr, "setmpi: %s\n", err);
    return 1;
  }
  if (argc == 2) {
    printf("%s\n", m.mpi);
    return 0;
  }
  if (strlen(argv[2]) >= sizeof m.mpi) {
    fprintf(stderr, "setmpi: '%s' is longer than %zu bytes\n", argv[2],
            sizeof m.mpi - 1);
    return 2;
  }
  snprintf(m.mpi, sizeof m.mpi, "%s", argv[2]);
  snprintf(path, sizeof path, "%s/checkpoint.h5", argv[1]);
  if (unlink(path) != 0) {
    perror(path);
    return 1;
  }
  if (mpisnap__meta_write(argv[1], &m, err, sizeof err) != 0) {
    fprintf(stderr, "setmpi: %s\n", err);
    return 1;
  }
  return 0;
}
