#!/usr/bin/env bash
# Runs the collectives benchmark (bench/coll.c) on each rank count and
# prints its tables (markdown); see run-ranks.sh for the options.
#
#   bench/run-coll.sh [--build-dir DIR] [--preload] [--ranks "2 4"]
#                     [--timeout SECONDS] [--] [benchmark options]
#
# Benchmark options: --reps N, --quick, --ops LIST,
# --max-size BYTES, --verbose (see its --help).
exec "$(dirname "${BASH_SOURCE[0]}")/run-ranks.sh" coll "$@"
