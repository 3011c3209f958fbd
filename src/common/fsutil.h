/* File system helpers that every layer may use: POSIX only, no MPI and no
 * HDF5. */
#ifndef MPISNAP_COMMON_FSUTIL_H
#define MPISNAP_COMMON_FSUTIL_H

/* fsync of the directory dir, so that the entries created, renamed or
 * removed in it survive a crash of the node.  Returns 0, or -1 with errno
 * set by the call that failed (open or fsync). */
int mpisnap__fsync_dir(const char *dir);

#endif /* MPISNAP_COMMON_FSUTIL_H */
