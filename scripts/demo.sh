#!/usr/bin/env bash
# Builds mpisnap and runs the demo.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR

# The demo until the MPI layer exists: the simulator replays the lecture's
# seed-000 exercise and prints the trace.
run_demo() {
  "$BUILD_DIR/mpisnap-sim" tests/sim/scenarios/seed-000.txt --verbose
}

./scripts/setup.sh
run_demo
