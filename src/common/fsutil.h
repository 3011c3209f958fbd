/* Durability helpers. */
#ifndef MPISNAP_COMMON_FSUTIL_H
#define MPISNAP_COMMON_FSUTIL_H

/* fsync a directory, so a rename or a creation in it survives a crash;
 * 0, or -1 with errno set. */
int mpisnap__fsync_dir(const char *dir);

#endif /* MPISNAP_COMMON_FSUTIL_H */
