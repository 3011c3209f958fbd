/* File system helpers; see fsutil.h. */
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int mpisnap__fsync_dir(const char *dir)
{
  /* O_CLOEXEC: the library runs inside programs that may fork and exec
   * while the writer thread syncs. */
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int r = fsync(fd), e = errno;
  /* Nothing was written through this descriptor, so closing it cannot lose
   * data; it must only not hide fsync's errno. */
  (void)close(fd);
  errno = e;
  return r == 0 ? 0 : -1;
}
