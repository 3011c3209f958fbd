#!/usr/bin/env bash
# Runs the checkpoint benchmark (stall, write and restore against memcpy and
# plain sequential file I/O) and prints its table.
#
#   bench/run-ckpt.sh [--build-dir DIR] [--dir PARENT] [--np N] [--keep]
#                     [--timeout SECONDS] [--] [benchmark options]
#
# The build directory is DIR, else $BUILD_DIR, else build/.  The checkpoints
# and the baseline files go to a new temporary directory under PARENT (else
# $TMPDIR, else /tmp), removed at the end unless --keep.  --np runs N ranks
# (default 1).  These options may come anywhere; everything else (and
# everything after --) goes to the benchmark: --reps N, --quick,
# --max-size BYTES (1G adds 1 GiB), --poll-us N, --no-drop-caches, --verbose
# (see mpisnap-bench-ckpt --help).  Every mpirun is stopped after --timeout
# seconds (default 3600), so a hang ends with a message instead of forever.
#
# For every size, one mpirun takes the checkpoints (the write pass); then,
# because a restart is a process of its own, one mpirun per repetition
# restores the last of them with MPISNAP_RESTART=<id> (the restore pass).
# Sizes go one after the other so that the library's retention
# (MPISNAP_KEEP, taken from the environment like everything the library
# reads) never removes a checkpoint the restore pass still needs.
# Build it first with
#   cmake --build build --target mpisnap-bench-ckpt
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${BUILD_DIR:-build}
parent=${TMPDIR:-/tmp}
np=1
keep=false
limit=3600
need_value() {
  [ "$2" -ge 2 ] || { echo "run-ckpt.sh: $1 needs a value" >&2; exit 2; }
}
bench_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) need_value "$1" $#; build_dir=$2; shift 2 ;;
    --dir) need_value "$1" $#; parent=$2; shift 2 ;;
    --np) need_value "$1" $#; np=$2; shift 2 ;;
    --timeout) need_value "$1" $#; limit=$2; shift 2 ;;
    --keep) keep=true; shift ;;
    --) shift; bench_args+=("$@"); break ;;
    *) bench_args+=("$1"); shift ;;
  esac
done
set -- "${bench_args[@]}"
case $np in
  '' | *[!0-9]* | 0) echo "run-ckpt.sh: --np wants a positive number" >&2; exit 2 ;;
esac
case $limit in
  '' | *[!0-9]* | 0) echo "run-ckpt.sh: --timeout wants seconds" >&2; exit 2 ;;
esac
for arg in "$@"; do
  case $arg in
    --help | -h) exec "$build_dir/bench/mpisnap-bench-ckpt" --help ;;
    --restore | --report | --results | --base-dir | --size | --rep | --list-sizes)
      echo "run-ckpt.sh: $arg is set by the script itself" >&2
      exit 2
      ;;
  esac
done

program=$(realpath -m "$build_dir/bench/mpisnap-bench-ckpt")
if [ ! -x "$program" ]; then
  echo "run-ckpt.sh: $program is missing; build it with" >&2
  echo "  cmake --build $build_dir --target mpisnap-bench-ckpt" >&2
  exit 1
fi
if [ ! -d "$parent" ]; then
  echo "run-ckpt.sh: --dir $parent is not a directory" >&2
  exit 1
fi

work=$(mktemp -d "$(realpath "$parent")/mpisnap-bench-ckpt.XXXXXX")
cleanup() {
  if $keep; then
    echo "run-ckpt.sh: kept $work" >&2
  else
    rm -rf -- "$work"
  fi
}
trap cleanup EXIT
mkdir "$work/ckpt" "$work/base"
results=$work/results.txt

# Containers run us as root, which Open MPI refuses without consent, and
# usually lack the ptrace rights its single-copy (CMA) path needs.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Only the checkpoints the benchmark asks for: nothing that would take
# others, stop the program or restart it.
unset MPISNAP_RESTART MPISNAP_INTERVAL MPISNAP_EVERY MPISNAP_SIGNAL \
  MPISNAP_EXIT_SIGNAL MPISNAP_WALLTIME SLURM_JOB_END_TIME MPISNAP_TEST_TRIGGER
export MPISNAP_DIR=$work/ckpt

# Each rank has a main thread and mpisnap's writer thread: leave the
# scheduler free to put them on any core.
launch=(timeout --kill-after=30 "$limit" mpirun -np "$np" --oversubscribe
        --bind-to none -x MPISNAP_DIR)
run() {
  local status=0
  "${launch[@]}" "$@" || status=$?
  if [ "$status" -eq 124 ]; then
    echo "run-ckpt.sh: stopped after $limit s (a hang?): $*" >&2
  fi
  return "$status"
}

mapfile -t sizes < <("$program" --list-sizes "$@")
[ "${#sizes[@]}" -gt 0 ] || { echo "run-ckpt.sh: no size to measure" >&2; exit 2; }
echo "run-ckpt.sh: $np rank(s), sizes ${sizes[*]} bytes per rank, in $work" >&2
for size in "${sizes[@]}"; do
  echo "run-ckpt.sh: write pass, $size bytes per rank" >&2
  run "$program" --size "$size" --base-dir "$work/base" --results "$results" "$@"
  reps=$(awk '$1 == "H" && $2 == "reps" { n = $3 } END { print n }' "$results")
  id=$(awk -v s="$size" '$1 == "C" && $2 == s { id = $3 } END { print id }' "$results")
  if [ -z "$id" ] || [ -z "$reps" ]; then
    echo "run-ckpt.sh: the write pass of $size bytes left no checkpoint id" >&2
    exit 1
  fi
  echo "run-ckpt.sh: restore pass, $size bytes per rank, checkpoint $id" >&2
  for ((rep = 0; rep < reps; rep++)); do
    MPISNAP_RESTART=$id run -x MPISNAP_RESTART "$program" --restore \
      --size "$size" --rep "$rep" --base-dir "$work/base" \
      --results "$results" "$@"
  done
done

"$program" --report "$results"
