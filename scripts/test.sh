#!/usr/bin/env bash
# Builds mpisnap and runs every test: first the engine under AddressSanitizer
# and UBSan, then the full suite.  The full suite runs last so the output
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

ctest --test-dir "$BUILD_DIR" --output-on-failure -j2
