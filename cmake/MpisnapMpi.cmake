# Choosing the MPI, and refusing an HDF5 or a launcher of another MPI.
#
# The usual CMake way chooses the MPI: -DMPI_C_COMPILER=mpicc.mpich (FindMPI)
# with the parallel HDF5 built for it, -DHDF5_C_COMPILER_EXECUTABLE=h5pcc.mpich
# (FindHDF5).  -DMPISNAP_MPI=mpich|openmpi is a shorthand for Debian's and
# Ubuntu's names of both (mpicc.X, h5pcc.X, mpiexec.X), which install side by
# side; on other systems name the compiler wrappers yourself.
#
# mpisnap_mpi_choose()   before find_package(MPI) and find_package(HDF5)
# mpisnap_mpi_check()    after both: sets MPISNAP_MPI_FAMILY (openmpi, mpich
#                        or other) and MPISNAP_MPI_IS_OPENMPI, makes sure
#                        MPIEXEC_EXECUTABLE is this MPI's launcher, and stops
#                        if HDF5 was built for another MPI.

set(MPISNAP_MPI "" CACHE STRING
  "Shorthand for Debian's MPI wrappers: mpich or openmpi (empty: MPI_C_COMPILER and HDF5_C_COMPILER_EXECUTABLE, or whatever mpicc and h5pcc are)")
set_property(CACHE MPISNAP_MPI PROPERTY STRINGS "" mpich openmpi)

macro(mpisnap_mpi_choose)
  if(MPISNAP_MPI)
    if(NOT MPISNAP_MPI MATCHES "^(mpich|openmpi)$")
      message(FATAL_ERROR "MPISNAP_MPI='${MPISNAP_MPI}': use mpich or openmpi "
        "(or leave it empty and set MPI_C_COMPILER and "
        "HDF5_C_COMPILER_EXECUTABLE).")
    endif()
    foreach(_tool IN ITEMS mpicc h5pcc mpiexec)
      find_program(_mpisnap_${_tool} NAMES ${_tool}.${MPISNAP_MPI} NO_CACHE)
      if(NOT _mpisnap_${_tool})
        message(FATAL_ERROR "MPISNAP_MPI=${MPISNAP_MPI}: no ${_tool}.${MPISNAP_MPI} "
          "on the PATH.  On Debian 12 install "
          "${MPISNAP_MPI_PACKAGES_${MPISNAP_MPI}}; elsewhere set "
          "MPI_C_COMPILER and HDF5_C_COMPILER_EXECUTABLE instead.")
      endif()
    endforeach()
    # A build directory configured for one MPI keeps FindMPI's and
    # FindHDF5's cached answers: switching in place would mix the two.
    foreach(_pair IN ITEMS "MPI_C_COMPILER;mpicc" "HDF5_C_COMPILER_EXECUTABLE;h5pcc")
      list(GET _pair 0 _var)
      list(GET _pair 1 _tool)
      if(DEFINED CACHE{${_var}} AND NOT "${${_var}}" STREQUAL "${_mpisnap_${_tool}}"
         AND NOT "${${_var}}" STREQUAL "${_tool}.${MPISNAP_MPI}")
        message(FATAL_ERROR "MPISNAP_MPI=${MPISNAP_MPI}, but this build directory "
          "was configured with ${_var}=${${_var}}: use a new build directory "
          "for another MPI.")
      endif()
    endforeach()
    set(MPI_C_COMPILER ${_mpisnap_mpicc} CACHE FILEPATH "MPI C compiler wrapper")
    set(HDF5_C_COMPILER_EXECUTABLE ${_mpisnap_h5pcc} CACHE FILEPATH
      "HDF5 C compiler wrapper")
    set(MPIEXEC_EXECUTABLE ${_mpisnap_mpiexec} CACHE FILEPATH "MPI launcher")
    # The Fortran wrapper of the same MPI, when it is there (Fortran is
    # optional; CMakeLists.txt checks the two MPIs are one).
    find_program(_mpisnap_mpifort NAMES mpifort.${MPISNAP_MPI} mpif90.${MPISNAP_MPI}
      NO_CACHE)
    if(_mpisnap_mpifort)
      set(MPI_Fortran_COMPILER ${_mpisnap_mpifort} CACHE FILEPATH
        "MPI Fortran compiler wrapper")
    endif()
  endif()
endmacro()
set(MPISNAP_MPI_PACKAGES_mpich "libmpich-dev mpich libhdf5-mpich-dev")
set(MPISNAP_MPI_PACKAGES_openmpi "libopenmpi-dev openmpi-bin libhdf5-openmpi-dev")

# The family of an MPI library from its version string, or of a launcher
# from what `LAUNCHER --version` prints.
function(_mpisnap_family text out)
  if(text MATCHES "Open MPI|OpenRTE|open-mpi\\.org")
    set(${out} openmpi PARENT_SCOPE)
  elseif(text MATCHES "MPICH|HYDRA|MVAPICH|Intel\\(R\\) MPI")
    set(${out} mpich PARENT_SCOPE)
  else()
    set(${out} other PARENT_SCOPE)
  endif()
endfunction()

# The shared objects an ELF file needs (readelf -d), with its own soname.
function(_mpisnap_elf_names file out)
  set(names "")
  find_program(_mpisnap_readelf NAMES readelf ${CMAKE_READELF})
  if(_mpisnap_readelf AND EXISTS "${file}")
    execute_process(COMMAND ${_mpisnap_readelf} -d ${file}
      OUTPUT_VARIABLE dyn ERROR_QUIET)
    string(REGEX MATCHALL "\\(NEEDED\\)[^[]*\\[[^]]+\\]|\\(SONAME\\)[^[]*\\[[^]]+\\]" lines "${dyn}")
    foreach(l IN LISTS lines)
      string(REGEX REPLACE ".*\\[([^]]+)\\]" "\\1" n "${l}")
      list(APPEND names ${n})
    endforeach()
  endif()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

function(mpisnap_mpi_check)
  # -- the family --------------------------------------------------------------
  _mpisnap_family("${MPI_C_LIBRARY_VERSION_STRING}" fam)
  set(MPISNAP_MPI_FAMILY ${fam} PARENT_SCOPE)
  if(fam STREQUAL "openmpi")
    set(MPISNAP_MPI_IS_OPENMPI TRUE PARENT_SCOPE)
  else()
    set(MPISNAP_MPI_IS_OPENMPI FALSE PARENT_SCOPE)
  endif()
  string(REGEX REPLACE "[\n,].*" "" mpi_name "${MPI_C_LIBRARY_VERSION_STRING}")
  string(REGEX REPLACE "[ \t]+" " " mpi_name "${mpi_name}")
  message(STATUS "mpisnap: MPI is ${mpi_name} (${fam}), from ${MPI_C_COMPILER}")

  # -- the launcher ------------------------------------------------------------
  # Debian's /usr/bin/mpiexec is whichever MPI the alternatives system
  # chose, while mpicc.mpich sits in the same /usr/bin: FindMPI then
  # takes Open MPI's launcher for MPICH.  Take the MPI's own, by its
  # suffixed name, unless the user named one.
  if(MPIEXEC_EXECUTABLE AND NOT fam STREQUAL "other")
    execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version
      OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 20)
    _mpisnap_family("${out}${err}" lfam)
    if(NOT lfam STREQUAL fam)
      get_filename_component(bindir "${MPI_C_COMPILER}" DIRECTORY)
      if(fam STREQUAL "mpich")
        set(names mpiexec.mpich mpiexec.hydra)
      else()
        set(names mpiexec.openmpi)
      endif()
      find_program(own NAMES ${names} HINTS ${bindir} NO_CACHE)
      if(NOT own)
        message(FATAL_ERROR "The MPI is ${mpi_name} (${fam}) but the launcher "
          "${MPIEXEC_EXECUTABLE} is ${lfam}'s, and no ${names} was found: set "
          "MPIEXEC_EXECUTABLE to this MPI's mpiexec.")
      endif()
      message(STATUS "mpisnap: ${MPIEXEC_EXECUTABLE} launches ${lfam}; "
        "using ${own}")
      set(MPIEXEC_EXECUTABLE ${own} CACHE FILEPATH "MPI launcher" FORCE)
    endif()
  endif()

  # -- HDF5 built for the same MPI -----------------------------------------------
  # A parallel HDF5 links its MPI library; one linked with another MPI's
  # would load both MPIs into every program.  Compare the MPI libraries
  # HDF5 needs with the MPI's own (their sonames).
  set(mpi_sonames "")
  foreach(lib IN LISTS MPI_C_LIBRARIES)
    _mpisnap_elf_names("${lib}" names)
    foreach(n IN LISTS names)
      if(n MATCHES "^libmpi")
        list(APPEND mpi_sonames ${n})
      endif()
    endforeach()
  endforeach()
  set(hdf5_lib "")
  foreach(lib IN LISTS HDF5_C_LIBRARIES HDF5_LIBRARIES)
    get_filename_component(base "${lib}" NAME)
    if(base MATCHES "^libhdf5[._]" AND NOT hdf5_lib)
      set(hdf5_lib ${lib})
    endif()
  endforeach()
  _mpisnap_elf_names("${hdf5_lib}" hdf5_needs)
  set(hdf5_mpi "")
  foreach(n IN LISTS hdf5_needs)
    if(n MATCHES "^libmpi")
      list(APPEND hdf5_mpi ${n})
    endif()
  endforeach()
  if(hdf5_mpi AND mpi_sonames)
    foreach(n IN LISTS hdf5_mpi)
      if(NOT n IN_LIST mpi_sonames)
        message(FATAL_ERROR "HDF5 (${hdf5_lib}) was built for another MPI: it "
          "needs ${n}, while the MPI found, ${mpi_name} (${MPI_C_COMPILER}), is "
          "${mpi_sonames}.  Point HDF5_C_COMPILER_EXECUTABLE at the h5pcc of "
          "the same MPI (Debian: h5pcc.mpich or h5pcc.openmpi), or use "
          "-DMPISNAP_MPI=mpich|openmpi.")
      endif()
    endforeach()
  elseif(NOT hdf5_lib OR NOT mpi_sonames)
    message(STATUS "mpisnap: could not read which MPI HDF5 (${hdf5_lib}) was "
      "built for; make sure it is the same as ${mpi_name}")
  endif()
endfunction()
