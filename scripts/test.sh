#!/usr/bin/env bash
# Builds mpisnap and runs every test: first the engine, then the MPI layer's
# programs, under AddressSanitizer and UBSan, then MPICH's point-to-point
# suite (scripts/peer.sh), then the full suite.  The full suite runs last so the output
# ends with its summary.  Exits non-zero if anything fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
export BUILD_DIR

./scripts/setup.sh --test-tools

# The engine and simulator need neither MPI nor HDF5, so they get a separate
# sanitizer build (MPI libraries produce sanitizer noise of their own).
cmake -S . -B "$ASAN_BUILD_DIR" -DMPISNAP_ENGINE_ONLY=ON -DMPISNAP_SANITIZE=ON \
  -DMPISNAP_WERROR=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build "$ASAN_BUILD_DIR" -j"$(nproc)"
ctest --test-dir "$ASAN_BUILD_DIR" -L engine --output-on-failure

# The interception layer under the same sanitizers: the MPI programs linked
# with the library (a preloaded library would have to come after the
# sanitizer runtime, so the preload variants run only in the full suite).
# Open MPI keeps some memory to the end on purpose, so leak checking is off.
ASAN_MPI_BUILD_DIR=${ASAN_MPI_BUILD_DIR:-build-asan-mpi}
cmake -S . -B "$ASAN_MPI_BUILD_DIR" -DMPISNAP_SANITIZE=ON \
  -DMPISNAP_WERROR=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build "$ASAN_MPI_BUILD_DIR" -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=0 ctest --test-dir "$ASAN_MPI_BUILD_DIR" -L mpi \
  -LE preload --output-on-failure -j2

# A suite nobody here wrote: MPICH's point-to-point conformance tests, on
# plain MPI and then with libmpisnap.so preloaded, with snapshots forced and
# with the layer's own matching; any run that passes on plain MPI and fails
# under mpisnap fails the test command (docs/CONFORMANCE.md).
read -r -a peer_modes <<<"${MPISNAP_PEER_MODES:-preload snap slow}"
./scripts/peer.sh "${peer_modes[@]}"

ctest --test-dir "$BUILD_DIR" --output-on-failure -j2
