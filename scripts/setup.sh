#!/usr/bin/env bash
# Installs the build dependencies that are missing, then configures and builds
# mpisnap into $BUILD_DIR (default: build/).  demo.sh and test.sh call it
# first; it is safe to run again and then only rebuilds what changed.
#
#   scripts/setup.sh [--test-tools]
#
# --test-tools (test.sh) also installs what the test suite runs besides the
# build: clang with libFuzzer for the fuzz tests, shellcheck for the
# scripts, munge and Slurm's daemons for the Slurm job test, and MPICH with
# its parallel HDF5 for the MPICH stage (test.sh builds that into
# $MPICH_BUILD_DIR itself).
#
# Installing MPICH registers it with Debian's alternatives (mpicc, mpirun,
# mpiexec, mpi.h, h5pcc); Open MPI stays the default, and this script makes
# sure of it after installing: the default build is Open MPI's.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
PACKAGES=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools gfortran)
case ${1:-} in
  --test-tools)
    PACKAGES+=(clang libclang-rt-14-dev shellcheck munge slurmctld slurmd
      slurm-client libmpich-dev mpich libhdf5-mpich-dev) ;;
  '') ;;
  *) echo "setup.sh: unknown option '$1' (usage: setup.sh [--test-tools])" >&2; exit 2 ;;
esac

install_missing_packages() {
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
        grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0

  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
      echo "setup.sh: missing packages: ${missing[*]}" >&2
      echo "setup.sh: run as root or install sudo to install them" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  echo "setup.sh: installing ${missing[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# Keep Open MPI the system's default MPI: point every MPI alternative that
# has an Open MPI choice at it (only when it does not already).
keep_openmpi_default() {
  local name path current sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  for name in mpi mpirun mpi-x86_64-linux-gnu h5pcc; do
    path=$(update-alternatives --list "$name" 2>/dev/null | grep -m1 openmpi) || continue
    current=$(update-alternatives --query "$name" 2>/dev/null | sed -n 's/^Value: //p')
    if [ "$current" != "$path" ]; then
      echo "setup.sh: $name pointed at $current; setting it back to $path"
      "${sudo[@]}" update-alternatives --set "$name" "$path"
    fi
  done
}

configure_and_build() {
  local werror=OFF
  if [ "${CI:-}" = true ] || [ "${MPISNAP_WERROR:-}" = 1 ]; then
    werror=ON
  fi
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMPISNAP_WERROR=$werror
  cmake --build "$BUILD_DIR" -j"$(nproc)"
}

install_missing_packages
keep_openmpi_default
configure_and_build
