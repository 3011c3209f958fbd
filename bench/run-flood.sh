#!/usr/bin/env bash
# Runs the flood benchmark (bench/flood.c) on plain MPI, with libmpisnap.so
# preloaded and no snapshot, and with snapshots forced
# (MPISNAP_TEST_TRIGGER=7: a snapshot is almost always running), for each
# rank count, the three alternating in every repetition, and prints the
# median time of the timed loop, the ratios to plain MPI, and what a
# snapshot costs: (snap - preload) / snapshots, per snapshot of the job.
#
#   bench/run-flood.sh [--build-dir DIR] [--ranks "2 4 8"] [--reps N]
#                      [--iters N] [--timeout SECONDS]
#
# Beyond 2 ranks on a 2-core machine the job is oversubscribed, as MPICH's
# sendflood runs in CI: then every wait that polls gives the core away
# (Open MPI yields when idle), and what the layer polls between yields
# decides how fast markers travel.  Build it first with
#   cmake --build build --target mpisnap-bench-flood mpisnap_shared
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir=${BUILD_DIR:-build}
ranks="2 4 8"
reps=5
iters=5000
limit=600
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    *) echo "run-flood.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin=$build_dir/bench/mpisnap-bench-flood
lib=$(cd "$build_dir" && pwd)/libmpisnap.so
for f in "$bin" "$lib"; do
  [ -e "$f" ] || { echo "run-flood.sh: no $f: build it first" >&2; exit 1; }
done

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
for v in $(env | grep -o '^MPISNAP_[A-Z_]*'); do unset "$v"; done

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# run MODE NP: prints "seconds snapshots" of one run.
run() {
  local extra=()
  case $1 in
    preload) extra=(-x "LD_PRELOAD=$lib") ;;
    snap) extra=(-x "LD_PRELOAD=$lib" -x MPISNAP_TEST_TRIGGER=7 -x MPISNAP_VERBOSE=1) ;;
  esac
  if ! timeout -k 10 "$limit" mpirun --oversubscribe -n "$2" "${extra[@]}" \
      "$bin" "$iters" >"$out" 2>&1; then
    echo "run-flood.sh: $1 on $2 ranks failed or timed out (${limit}s):" >&2
    tail -5 "$out" >&2
    exit 1
  fi
  awk '/^flood:/ {s=$7} /snapshots checked/ {n=$2} END {print s, n+0}' "$out"
}

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "flood: $iters iterations, $reps repetitions alternating plain/preload/snap, medians"
echo "machine: $(nproc) cores, $(uname -r), $(mpirun --version 2>&1 | head -1), $(date -u '+%Y-%m-%d %H:%M UTC')"
printf '%5s | %9s | %9s %6s | %9s %6s | %9s | %12s\n' ranks "plain s" "preload s" ratio "snap s" ratio snapshots "us/snapshot"
for np in $ranks; do
  p=() l=() s=() n=() rl=() rs=()
  for ((r = 0; r < reps; r++)); do
    # Rotate the order so that drift falls on every mode alike.
    order=(plain preload snap)
    for ((k = 0; k < r % 3; k++)); do order=("${order[@]:1}" "${order[0]}"); done
    for m in "${order[@]}"; do
      read -r t c < <(run "$m" "$np")
      case $m in
        plain) tp=$t ;;
        preload) tl=$t ;;
        snap) ts=$t; n+=("$c") ;;
      esac
    done
    p+=("$tp"); l+=("$tl"); s+=("$ts")
    rl+=("$(awk -v a="$tl" -v b="$tp" 'BEGIN{print a/b}')")
    rs+=("$(awk -v a="$ts" -v b="$tp" 'BEGIN{print a/b}')")
  done
  mp=$(printf '%s\n' "${p[@]}" | median)
  ml=$(printf '%s\n' "${l[@]}" | median)
  ms=$(printf '%s\n' "${s[@]}" | median)
  mn=$(printf '%s\n' "${n[@]}" | median)
  printf '%5s | %9.3f | %9.3f %6.2f | %9.3f %6.2f | %9.0f | %12.1f\n' "$np" "$mp" "$ml" \
    "$(printf '%s\n' "${rl[@]}" | median)" "$ms" "$(printf '%s\n' "${rs[@]}" | median)" "$mn" \
    "$(awk -v s="$ms" -v l="$ml" -v n="$mn" 'BEGIN{print (n > 0 ? (s-l)/n*1e6 : 0)}')"
done
