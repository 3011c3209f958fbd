#!/usr/bin/env bash
# Runs one of the benchmarks that compare PMPI_* with MPI_* in one binary
# on several rank counts (bench/coll.c, bench/exchange.c) and prints their
# tables (markdown).  run-coll.sh and run-exchange.sh call it:
#
#   bench/run-ranks.sh NAME [--build-dir DIR] [--preload] [--yield]
#                      [--ranks "2 4"] [--timeout SECONDS] [--] [benchmark options]
#
# The build directory is DIR, else $BUILD_DIR, else build/.  By default the
# benchmark linked with libmpisnap runs; --preload runs the one linked with
# MPI alone and loads libmpisnap.so from the build directory with
# LD_PRELOAD.  Everything else goes to the benchmark (see its --help).
# Ranks are bound one per core when there are enough cores; beyond that the
# job is oversubscribed and left unbound.  --yield (MPICH builds) preloads
# bench/yield's shim into every rank, both columns alike, so that MPICH's
# idle ranks give the core away as Open MPI's do when oversubscribed
# (without it, 4 ranks on 2 cores measure the scheduler's time slices).
# Build it first with
#   cmake --build build --target mpisnap-bench-NAME mpisnap-bench-NAME-plain
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ $# -ge 1 ] || { echo "usage: run-ranks.sh NAME [options]" >&2; exit 2; }
name=$1
shift
build_dir=${BUILD_DIR:-build}
preload=false
yield=false
ranks="2 4"
limit=900
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir|--ranks|--timeout)
      [ $# -ge 2 ] || { echo "run-$name.sh: $1 needs a value" >&2; exit 2; }
      case $1 in
        --build-dir) build_dir=$2 ;;
        --ranks) ranks=$2 ;;
        --timeout) limit=$2 ;;
      esac
      shift 2
      ;;
    --preload) preload=true; shift ;;
    --yield) yield=true; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done

if $preload; then
  program=$build_dir/bench/mpisnap-bench-$name-plain
else
  program=$build_dir/bench/mpisnap-bench-$name
fi
if [ ! -x "$program" ]; then
  echo "run-$name.sh: $program is missing; build it with" >&2
  echo "  cmake --build $build_dir --target $(basename "$program")" >&2
  exit 1
fi
extra=()
if $preload; then
  library=$(realpath -m "$build_dir/libmpisnap.so")
  [ -e "$library" ] || { echo "run-$name.sh: $library is missing" >&2; exit 1; }
  preload_lib=$library
fi
# The build's own MPI launcher (an MPICH build runs under Hydra's mpiexec,
# whose options are spelled differently).
. scripts/launcher.sh
launcher_detect "$build_dir"
if $yield; then
  yield_lib=$(realpath -m "$build_dir/bench/yield/libmpisnap-bench-yield.so")
  [ -e "$yield_lib" ] || { echo "run-$name.sh: $yield_lib is missing (an MPICH build's target mpisnap-bench-yield)" >&2; exit 1; }
  preload_lib=$yield_lib${preload_lib:+:$preload_lib}
fi
if [ -n "${preload_lib:-}" ]; then
  launcher_env extra LD_PRELOAD "$preload_lib"
fi

# Containers run us as root, which Open MPI refuses without consent, and
# usually lack the ptrace rights its single-copy (CMA) path needs.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# No checkpoint, no verbosity: only the interception is measured.
for v in $(env | grep -o '^MPISNAP_[A-Z_]*' || true); do unset "$v"; done

first=true
for np in $ranks; do
  # One core per rank when there are enough; binding more ranks than cores
  # would make them take turns on a core, so then leave the scheduler free.
  launch=("$launcher_mpiexec" -n "$np")
  launcher_bind launch "$np"
  $first || echo
  first=false
  timeout -k 10 "$limit" "${launch[@]}" "${extra[@]}" "$program" "$@"
done
