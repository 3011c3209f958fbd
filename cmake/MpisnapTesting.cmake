# Helpers for tests that run under mpiexec.

# Open MPI refuses to start more ranks than cores unless told to
# oversubscribe, and CI machines have two cores.  Recognise it by the library
# version string, or failing that by what its launcher prints (Open MPI 4
# calls the launcher "OpenRTE"; Open MPI 5 prints "Open MPI").
set(MPISNAP_MPI_IS_OPENMPI FALSE)
if(MPI_C_FOUND)
  if(MPI_C_LIBRARY_VERSION_STRING MATCHES "Open MPI")
    set(MPISNAP_MPI_IS_OPENMPI TRUE)
  elseif(MPIEXEC_EXECUTABLE)
    execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version
      OUTPUT_VARIABLE _mpiexec_version ERROR_QUIET)
    if(_mpiexec_version MATCHES "Open MPI|OpenRTE|open-mpi\\.org")
      set(MPISNAP_MPI_IS_OPENMPI TRUE)
    endif()
  endif()
endif()

# add_mpi_test(<name> <target> <nprocs> [args...])
#
# Runs <target> on <nprocs> ranks; arguments after the third are passed to
# the program.
function(add_mpi_test name target nprocs)
  set(cmd ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${nprocs})
  if(MPISNAP_MPI_IS_OPENMPI)
    list(APPEND cmd --oversubscribe)
  endif()
  list(APPEND cmd ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${target}>
    ${MPIEXEC_POSTFLAGS} ${ARGN})
  add_test(NAME ${name} COMMAND ${cmd})
  # CI runs as root in a container: Open MPI needs explicit consent to run as
  # root, and its shared-memory single-copy path (CMA) needs ptrace rights
  # that containers usually drop.
  set_tests_properties(${name} PROPERTIES
    LABELS mpi
    TIMEOUT 300
    ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1;OMPI_MCA_btl_vader_single_copy_mechanism=none")
endfunction()
