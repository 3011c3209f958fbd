/*
 * Error names and messages, generated from the table in mpisnap_errno.h.
 *
 * This file is part of the MPI-free core, so it includes only
 * mpisnap_errno.h and never <mpi.h> or <mpisnap.h>.
 */
#include "mpisnap_errno.h"

const char *mpisnap_strerror(int code)
{
  switch (code) {
  case 0:
    return "success";
#define MPISNAP_STRERROR_CASE_(name, value, msg) \
  case MPISNAP_##name:                           \
    return msg;
    MPISNAP_ERRNO_MAP(MPISNAP_STRERROR_CASE_)
#undef MPISNAP_STRERROR_CASE_
  default:
    return "unknown error";
  }
}

const char *mpisnap_err_name(int code)
{
  switch (code) {
  case 0:
    return "MPISNAP_OK";
#define MPISNAP_ERR_NAME_CASE_(name, value, msg) \
  case MPISNAP_##name:                           \
    return "MPISNAP_" #name;
    MPISNAP_ERRNO_MAP(MPISNAP_ERR_NAME_CASE_)
#undef MPISNAP_ERR_NAME_CASE_
  default:
    return "MPISNAP_UNKNOWN";
  }
}
