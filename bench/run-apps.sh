#!/usr/bin/env bash
# The cost of having mpisnap in an application that never checkpoints:
# wall time of heat2d and cg "with the library" (build/mpisnap-heat2d and
# build/mpisnap-cg as built: linked with libmpisnap, no checkpoint
# requested) against "without": the very same binaries with
# build/bench/noop first on LD_LIBRARY_PATH, where a libmpisnap.so.0 whose
# API functions do nothing and which wraps no MPI call stands in
# (bench/nosnap/noop.c; the loader searches LD_LIBRARY_PATH before the
# binaries' RUNPATH).  One binary, so compiler layout cannot differ: two
# copies of heat2d compiled apart ran 25% apart in the same hot loop.
# The no-op library is a benchmark baseline, not a way to run programs.
#
#   bench/run-apps.sh [--build-dir DIR] [--ranks "2 4"] [--reps N]
#                     [--apps "heat2d cg"] [--heat2d "ARGS"] [--cg "ARGS"]
#                     [--timeout SECONDS]
#
# Defaults: 5 repetitions, heat2d "-n 1024 -i 6000", cg "-n 1024 -i 2400"
# (each run 5-8 s on 2 cores: a job that runs for days pays the library's
# start-up and finalize, about 0.04 s, once).  Every repetition runs both, the order
# alternating, and times the whole mpirun (start-up included, the same for
# both).  Prints, per application and rank count, the median wall times
# and the median of the per-repetition ratios with/without, and checks
# that every run of both printed the same ANSWER line (the answers are
# independent of the rank count, so all rows must agree too).  Every
# MPISNAP_* variable (and Slurm's SLURM_JOB_END_TIME, which would set a
# wall-time checkpoint) is removed from the environment, and each run
# starts in an empty directory, checked afterwards for checkpoints.
# Build first with
#   cmake --build build --target mpisnap-heat2d mpisnap-cg mpisnap-bench-noop
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${BUILD_DIR:-build}
ranks="2 4"
reps=5
apps="heat2d cg"
heat2d_args="-n 1024 -i 6000"
cg_args="-n 1024 -i 2400"
limit=300
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "run-apps.sh: $1 needs a value" >&2; exit 2; }
  case $1 in
    --build-dir) build_dir=$2 ;;
    --ranks) ranks=$2 ;;
    --reps) reps=$2 ;;
    --apps) apps=$2 ;;
    --heat2d) heat2d_args=$2 ;;
    --cg) cg_args=$2 ;;
    --timeout) limit=$2 ;;
    *) echo "run-apps.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift 2
done
build_dir=$(cd "$build_dir" && pwd)
noop=$build_dir/bench/noop
[ -e "$noop/libmpisnap.so.0" ] || { echo "run-apps.sh: no $noop/libmpisnap.so.0: build mpisnap-bench-noop first" >&2; exit 1; }
for app in $apps; do
  f=$build_dir/mpisnap-$app
  [ -x "$f" ] || { echo "run-apps.sh: no $f: build it first" >&2; exit 1; }
  # The stand-in must really be the one loaded, and the real one otherwise.
  if ! LD_LIBRARY_PATH=$noop ldd "$f" | grep -q "=> $noop/libmpisnap.so.0"; then
    echo "run-apps.sh: $f does not load $noop/libmpisnap.so.0 first" >&2; exit 1
  fi
  if ldd "$f" | grep -q "=> $noop/"; then
    echo "run-apps.sh: $f loads the no-op library without being asked" >&2; exit 1
  fi
done
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
for v in $(env | grep -o '^MPISNAP_[A-Z_]*' || true); do unset "$v"; done
unset SLURM_JOB_END_TIME

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# run WHICH APP NP: runs one job in an empty directory; prints
# "seconds ANSWER-line".
run() {
  local which=$1 app=$2 np=$3 bin args dir t0 t1 launch=(mpirun -np "$3")
  bin=$build_dir/mpisnap-$app
  if [ "$which" = without ]; then
    launch+=(-x "LD_LIBRARY_PATH=$noop${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  fi
  if [ "$app" = heat2d ]; then args=$heat2d_args; else args=$cg_args; fi
  if [ "$np" -le "$(nproc)" ]; then
    launch+=(--bind-to core)
  else
    launch+=(--bind-to none --oversubscribe)
  fi
  dir=$work/run
  rm -rf "$dir"
  mkdir "$dir"
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086 # the arguments are a list of words
  if ! (cd "$dir" && timeout -k 10 "$limit" "${launch[@]}" "$bin" $args) >"$work/out" 2>&1; then
    echo "run-apps.sh: $which $app on $np ranks failed or timed out (${limit}s):" >&2
    tail -5 "$work/out" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  if [ -n "$(find "$dir" -type f -print -quit)" ]; then
    echo "run-apps.sh: $which $app on $np ranks wrote files (a checkpoint?):" >&2
    find "$dir" -type f >&2
    exit 1
  fi
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $(grep '^ANSWER' "$work/out" | tail -1)"
}

echo "mpisnap in the applications, no checkpoint: wall time of mpirun of one binary with the library (MPISNAP_* unset) and without (a no-op libmpisnap.so.0 first on LD_LIBRARY_PATH), medians of $reps alternating repetitions  "
echo "$(hostname), $(nproc) cores, $(uname -r), $(mpirun --version 2>&1 | head -1), $(date '+%Y-%m-%d %H:%M:%S %z'), build type ${build_type:-none}  "
echo "heat2d $heat2d_args; cg $cg_args; ranks bound to cores up to $(nproc), beyond that oversubscribed and unbound"
echo
printf '| %-6s | %5s | %9s | %9s | %6s | %-23s |\n' app ranks without_s with_s ratio answer
printf '|--------|------:|----------:|----------:|-------:|-------------------------|\n'
status=0
for app in $apps; do
  reference=
  for np in $ranks; do
    wo=() wi=() ra=()
    for ((r = 0; r < reps; r++)); do
      if ((r % 2 == 0)); then order=(without with); else order=(with without); fi
      for which in "${order[@]}"; do
        read -r t answer < <(run "$which" "$app" "$np")
        [ -n "$answer" ] || { echo "run-apps.sh: $which $app on $np ranks printed no ANSWER" >&2; exit 1; }
        if [ -z "$reference" ]; then
          reference=$answer
        elif [ "$answer" != "$reference" ]; then
          echo "run-apps.sh: $which $app on $np ranks: '$answer', expected '$reference'" >&2
          status=1
        fi
        if [ "$which" = with ]; then tw=$t; else to=$t; fi
      done
      wo+=("$to") wi+=("$tw")
      ra+=("$(awk -v a="$tw" -v b="$to" 'BEGIN{print a/b}')")
    done
    printf '| %-6s | %5s | %9.3f | %9.3f | %6.3f | %-23s |\n' "$app" "$np" \
      "$(printf '%s\n' "${wo[@]}" | median)" "$(printf '%s\n' "${wi[@]}" | median)" \
      "$(printf '%s\n' "${ra[@]}" | median)" "${reference#ANSWER }"
  done
done
[ "$status" -eq 0 ] || echo "run-apps.sh: the ANSWER lines differ (above)" >&2
exit "$status"
