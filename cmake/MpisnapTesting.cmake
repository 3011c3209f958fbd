# Helpers for tests that run under mpiexec: FindMPI's MPIEXEC_EXECUTABLE,
# MPIEXEC_NUMPROC_FLAG, MPIEXEC_PREFLAGS and MPIEXEC_POSTFLAGS, for whichever
# MPI was chosen (cmake/MpisnapMpi.cmake sets MPISNAP_MPI_FAMILY).
#
# Environment: ctest's ENVIRONMENT reaches the ranks with both launchers on
# one machine (Open MPI's mpirun and MPICH's Hydra both pass their own
# environment on to local ranks), so MPISNAP_* variables are set that way.
# Only LD_PRELOAD goes on the command line, to the ranks alone and not to
# the launcher, sh, tee and grep: `-x VAR=VAL` for Open MPI, `-genv VAR VAL`
# for Hydra (mpisnap_mpiexec_env).

# Open MPI refuses to start more ranks than cores unless told to
# oversubscribe (CI machines have two cores), and to run as root without
# consent; its shared-memory single-copy path (CMA) needs ptrace rights
# that containers usually drop.  Set for every MPI: the others ignore them.
set(MPISNAP_TEST_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1;OMPI_MCA_btl_vader_single_copy_mechanism=none")
# Extra launcher flags, for the test scripts' MPIEXEC_FLAGS.
set(MPISNAP_MPIEXEC_FLAGS "")
if(MPISNAP_MPI_IS_OPENMPI)
  set(MPISNAP_MPIEXEC_FLAGS "--oversubscribe")
endif()

# MPISNAP_TEST_NP_WIDE: the rank count of the tests that are slow for
# nothing but collectives on oversubscribed cores (the communicator
# constructors, cg's restart): 4, unless the MPI's waiting ranks spin
# without yielding (MPICH: every collective of 4 ranks on 2 cores costs a
# scheduler time slice, about 8 ms, docs/BENCHMARKS.md) on fewer than 4
# cores; then 2.  The tests that must run on 4 ranks under MPICH too (heat2d
# and workers restarted, issue 14) keep 4.
cmake_host_system_information(RESULT _mpisnap_cores QUERY NUMBER_OF_LOGICAL_CORES)
set(MPISNAP_TEST_NP_WIDE 4)
if(MPISNAP_MPI_FAMILY STREQUAL "mpich" AND _mpisnap_cores LESS 4)
  set(MPISNAP_TEST_NP_WIDE 2)
endif()

# mpisnap_mpiexec_env(<out-var> <VAR> <value>)
# The launcher arguments that give VAR=value to the ranks only.
function(mpisnap_mpiexec_env out var value)
  if(MPISNAP_MPI_IS_OPENMPI)
    set(${out} -x ${var}=${value} PARENT_SCOPE)
  elseif(MPISNAP_MPI_FAMILY STREQUAL "mpich")
    set(${out} -genv ${var} ${value} PARENT_SCOPE)
  else()
    set(${out} -env ${var} ${value} PARENT_SCOPE)  # the MPI standard's mpiexec has none; most take -env
  endif()
endfunction()

# mpisnap_launch(<out-var> <nprocs> [PRELOAD])
# The command line that starts <nprocs> ranks, up to the program: launcher,
# count, flags, and with PRELOAD libmpisnap.so preloaded into the ranks.
function(mpisnap_launch out nprocs)
  cmake_parse_arguments(PARSE_ARGV 2 arg "PRELOAD" "" "")
  set(cmd ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${nprocs}
    ${MPISNAP_MPIEXEC_FLAGS})
  if(arg_PRELOAD)
    mpisnap_mpiexec_env(env LD_PRELOAD $<TARGET_FILE:mpisnap_shared>)
    list(APPEND cmd ${env})
  endif()
  list(APPEND cmd ${MPIEXEC_PREFLAGS})
  set(${out} ${cmd} PARENT_SCOPE)
endfunction()

# add_mpi_test(<name> <target> <nprocs> [args...])
#
# Runs <target> on <nprocs> ranks; arguments after the third are passed to
# the program.
function(add_mpi_test name target nprocs)
  mpisnap_launch(cmd ${nprocs})
  add_test(NAME ${name} COMMAND ${cmd} $<TARGET_FILE:${target}>
    ${MPIEXEC_POSTFLAGS} ${ARGN})
  set_tests_properties(${name} PROPERTIES
    LABELS mpi
    TIMEOUT 300
    ENVIRONMENT "${MPISNAP_TEST_ENV}")
endfunction()
