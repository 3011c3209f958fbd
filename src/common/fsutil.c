#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int mpisnap__fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY), rc, e;

  if (fd < 0)
    return -1;
  rc = fsync(fd);
  e = errno;
  close(fd);
  errno = e;
  return rc;
}
