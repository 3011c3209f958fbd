#!/usr/bin/env bash
# Builds mpisnap and runs every test: first the engine, then the MPI layer's
# programs, under AddressSanitizer and UBSan, then MPICH's point-to-point
# suite (scripts/peer.sh), then the MPICH stage (the library built against
# MPICH: the MPI layer's tests, the kill-and-restart tests and the peer
# suite), then the full suite on Open MPI.  The full suite runs last so the
# output ends with its summary.  Exits non-zero if anything fails.
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
# The suite's 24 largest datatype runs (sendrecv1, sendself and pingping
# with 65530 and 262144 mixed-type elements: 250 s of each mode's 400, the
# same tests and types as their smaller runs) are left out, for the time
# the MPICH stage below needs; an empty OMPI_PEER_SKIP= keeps them (all 125 pass
# in every mode: docs/CONFORMANCE.md).
read -r -a peer_modes <<<"${MPISNAP_PEER_MODES:-preload snap slow}"
PEER_SKIP=${OMPI_PEER_SKIP-'-sendcnt=(65530|262144) '} \
  ./scripts/peer.sh "${peer_modes[@]}"

# MPICH (issue 14): the same sources built against MPICH 4 (Debian's
# mpicc.mpich, h5pcc.mpich, mpiexec.mpich: -DMPISNAP_MPI=mpich), launched with
# Hydra.  A subset, for time: the MPI layer's programs linked and preloaded
# in every mode, the e2e and the applications' kill-and-restart tests, the
# fault case of a checkpoint from another MPI, and the peer suite in modes
# preload and snap without its 30 longest runs (below).  Left to the Open MPI run below: the CLI, the rest of the
# fault matrix, fuzzers, install, Slurm, the apps' argument and job-script
# tests.  MPICH_SKIP: a ctest regex of tests to leave out (none by default).
# MPICH's ranks spin when oversubscribed, so on fewer than 4 cores ctors
# and cg's restart run on 2 ranks (MPISNAP_TEST_NP_WIDE,
# cmake/MpisnapTesting.cmake): they had taken 490 and 389 of ctest's 877 s.
MPICH_BUILD_DIR=${MPICH_BUILD_DIR:-build-mpich}
MPICH_SKIP=${MPICH_SKIP:-'^$'}
mpich_t0=$(date +%s)
cmake -S . -B "$MPICH_BUILD_DIR" -DMPISNAP_MPI=mpich -DMPISNAP_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$MPICH_BUILD_DIR" -j"$(nproc)"
ctest --test-dir "$MPICH_BUILD_DIR" --output-on-failure -j2 -E "$MPICH_SKIP" \
  -R '^(mpi|preload|e2e)\.|^apps\.[a-z0-9]+\.restart$|^faults\.other-mpi$'
# MPICH 4.0.2 here (ch4:ucx, built without yaksa) needs minutes for the
# suite's largest runs on plain MPI (sendrecv1 with 262144 mixed-type
# elements: 96 s; the whole plain run 17 min on 2 loaded cores): those are
# left out, with the two that do not pass on plain MPICH anyway.
BUILD_DIR=$MPICH_BUILD_DIR PEER_SKIP=${MPICH_PEER_SKIP:-'^(sendflood|cancelrecv|pt2pt_large|large_message) |-sendcnt=(65530|262144) '} \
  ./scripts/peer.sh preload snap
echo "test.sh: MPICH stage: $(( ($(date +%s) - mpich_t0) / 60 )) min"

ctest --test-dir "$BUILD_DIR" --output-on-failure -j2
