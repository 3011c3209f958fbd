#!/usr/bin/env bash
# Runs the ping-pong benchmark on two ranks and prints its table.
#
#   bench/run-pingpong.sh [--build-dir DIR] [--preload] [--] [benchmark options]
#
# The build directory is DIR, else $BUILD_DIR, else build/.  By default the
# benchmark linked with libmpisnap runs; --preload runs the one linked with
# MPI alone and loads libmpisnap.so from the build directory with LD_PRELOAD.
# Everything else goes to the benchmark: --reps N, --quick, --max-size BYTES,
# --verbose (see --help).  Build it first with
#   cmake --build build --target mpisnap-bench-pingpong mpisnap-bench-pingpong-plain
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${BUILD_DIR:-build}
preload=false
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir)
      [ $# -ge 2 ] || { echo "run-pingpong.sh: --build-dir needs a value" >&2; exit 2; }
      build_dir=$2
      shift 2
      ;;
    --preload) preload=true; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done

if $preload; then
  program=$build_dir/bench/mpisnap-bench-pingpong-plain
else
  program=$build_dir/bench/mpisnap-bench-pingpong
fi
if [ ! -x "$program" ]; then
  echo "run-pingpong.sh: $program is missing; build it with" >&2
  echo "  cmake --build $build_dir --target $(basename "$program")" >&2
  exit 1
fi

# The build's own MPI launcher (an MPICH build runs under Hydra's mpiexec,
# whose options are spelled differently), one core per rank.
. scripts/launcher.sh
launcher_detect "$build_dir"
launch=("$launcher_mpiexec" -n 2)
launcher_bind launch 2
if $preload; then
  library=$(realpath -m "$build_dir/libmpisnap.so")
  [ -e "$library" ] || { echo "run-pingpong.sh: $library is missing" >&2; exit 1; }
  launcher_env launch LD_PRELOAD "$library"
fi

# Containers run us as root, which Open MPI refuses without consent, and
# usually lack the ptrace rights its single-copy (CMA) path needs.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none

exec "${launch[@]}" "$program" "$@"
