/*
 * mpisnap error codes.
 *
 * This header is separate from mpisnap.h because it must not pull in <mpi.h>:
 * the protocol engine and the simulator use these codes and are built and
 * tested on machines without any MPI installed.  Users normally include
 * <mpisnap.h>, which includes this file.
 */
#ifndef MPISNAP_ERRNO_H
#define MPISNAP_ERRNO_H

/*
 * The library is compiled with hidden visibility, so only declarations marked
 * MPISNAP_EXTERN are exported from libmpisnap.so (the same scheme as libuv's
 * UV_EXTERN).  MPISNAP_BUILDING is defined while the library itself compiles.
 */
#ifndef MPISNAP_EXTERN
#  if defined(MPISNAP_BUILDING) || (defined(__GNUC__) && __GNUC__ >= 4)
#    define MPISNAP_EXTERN __attribute__((visibility("default")))
#  else
#    define MPISNAP_EXTERN
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every error code, its value and its message in one table, so the enum, the
 * names and the messages cannot drift apart.  Codes are negative; 0 is
 * success.  Codes are part of the ABI: never renumber, only append.
 */
#define MPISNAP_ERRNO_MAP(XX)                                                  \
  XX(EINVAL, -1, "invalid argument")                                           \
  XX(ENOMEM, -2, "out of memory")                                              \
  XX(ESTATE, -3, "call not valid in the current state")                        \
  XX(EPROTO, -4, "snapshot protocol violation")                                \
  XX(EIO, -5, "i/o error")                                                     \
  XX(EFORMAT, -6, "not an mpisnap checkpoint or unsupported format")           \
  XX(ECORRUPT, -7, "checkpoint failed its integrity check")                    \
  XX(ENOENT, -8, "no such checkpoint")                                         \
  XX(EMISMATCH, -9, "checkpoint does not match this run")                      \
  XX(EMPI, -10, "MPI call failed")                                             \
  XX(EHDF5, -11, "HDF5 call failed")                                           \
  XX(ENOTSUP, -12, "operation not supported by mpisnap")                       \
  XX(ECONFIG, -13, "bad configuration value")

enum mpisnap_errno {
#define MPISNAP_ERRNO_ENUM_(name, code, msg) MPISNAP_##name = (code),
  MPISNAP_ERRNO_MAP(MPISNAP_ERRNO_ENUM_)
#undef MPISNAP_ERRNO_ENUM_
};

/* Human-readable message for an error code; "success" for 0, "unknown error"
 * for anything not in the table.  Never returns NULL. */
MPISNAP_EXTERN const char *mpisnap_strerror(int code);

/* Symbolic name of an error code, such as "MPISNAP_EINVAL"; "MPISNAP_OK" for 0
 * and "MPISNAP_UNKNOWN" otherwise.  Never returns NULL. */
MPISNAP_EXTERN const char *mpisnap_err_name(int code);

#ifdef __cplusplus
}
#endif

#endif /* MPISNAP_ERRNO_H */
