#!/usr/bin/env bash
# Builds mpisnap and runs the demo.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/launcher.sh
BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR

# The demo: heat2d (apps/heat2d.c) on 4 ranks three times, about a minute
# in all on a 2-core machine.
#   1. uninterrupted, without checkpoints: the reference answer;
#   2. with a checkpoint every 2 seconds, and one rank SIGKILLed midway,
#      which brings the whole job down;
#   3. restarted from the latest checkpoint (MPISNAP_RESTART=latest), to
#      the end.
# The answer is a checksum of the bits of the final temperature field: the
# restarted run must print the very same one.  Exits non-zero if it does
# not.  A one-line teaser first: the simulator replays the lecture's
# seed-000 exercise.
run_demo() {
  local app
  local args=(-n 512 -i 4000 -r 1000 -v -s 4000)
  local mpiexec=${MPIEXEC:-mpirun} flags=() work ref got t0 t_ref job pids victim rank
  local show='^(heat2d|iteration|RESTARTED|ANSWER|mpisnap: committed)'

  # An absolute path: the kill finds the ranks by their command line.
  app=$(cd "$BUILD_DIR" && pwd)/mpisnap-heat2d
  # Open MPI: 4 ranks on fewer cores, as root, in a container.
  if launcher_is_openmpi "$mpiexec"; then
    flags=(--oversubscribe)
    export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1}
    export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
    export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
  fi
  unset MPISNAP_EVERY MPISNAP_INTERVAL MPISNAP_RESTART MPISNAP_DIR
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expand $work now
  trap "rm -rf '$work'" EXIT

  echo "== 0. Teaser: the lecture's seed-000 exercise, replayed in the simulator"
  "$BUILD_DIR/mpisnap-sim" tests/sim/scenarios/seed-000.txt
  echo

  echo "== 1. heat2d on 4 ranks, uninterrupted and without checkpoints"
  echo "\$ $mpiexec -n 4 $app ${args[*]}"
  t0=$SECONDS
  MPISNAP_DIR=$work "$mpiexec" -n 4 "${flags[@]}" "$app" "${args[@]}" \
    > "$work/ref.out" 2>&1 || { cat "$work/ref.out"; return 1; }
  t_ref=$((SECONDS - t0))
  grep -E "$show" "$work/ref.out"
  ref=$(grep '^ANSWER' "$work/ref.out")
  echo "(${t_ref} s)"
  echo

  echo "== 2. The same with a checkpoint every 2 s; one rank is killed midway"
  mkdir "$work/ck"
  echo "\$ MPISNAP_DIR=$work/ck MPISNAP_INTERVAL=2 MPISNAP_VERBOSE=1 $mpiexec -n 4 $app ${args[*]}"
  MPISNAP_DIR=$work/ck MPISNAP_INTERVAL=2 MPISNAP_VERBOSE=1 \
    "$mpiexec" -n 4 "${flags[@]}" "$app" "${args[@]}" 2>&1 |
    grep --line-buffered -E "$show" &
  job=$!
  t0=$SECONDS
  while [ $((SECONDS - t0)) -lt $((t_ref / 2)) ] ||
      ! compgen -G "$work/ck/ckpt-*" > /dev/null; do
    sleep 0.2
  done
  # The ranks are the processes whose command line is exactly the program's.
  pids=$(pgrep -f -x "$app ${args[*]}") || { echo "no rank to kill"; return 1; }
  victim=$(echo "$pids" | shuf -n 1)
  rank=$(tr '\0' '\n' < "/proc/$victim/environ" | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
  echo ">>> kill -KILL $victim (rank ${rank:-?}) after $((SECONDS - t0)) s"
  kill -KILL "$victim"
  wait "$job" || true
  echo ">>> the job is gone; committed checkpoints: $(cd "$work/ck" && echo ckpt-*)"
  echo

  echo "== 3. Restart from the latest checkpoint"
  echo "\$ MPISNAP_DIR=$work/ck MPISNAP_RESTART=latest $mpiexec -n 4 $app ${args[*]}"
  t0=$SECONDS
  MPISNAP_DIR=$work/ck MPISNAP_RESTART=latest \
    "$mpiexec" -n 4 "${flags[@]}" "$app" "${args[@]}" > "$work/restart.out" 2>&1 ||
    { cat "$work/restart.out"; return 1; }
  grep -E "$show" "$work/restart.out"
  echo "($((SECONDS - t0)) s)"
  got=$(grep '^ANSWER' "$work/restart.out")
  echo

  echo "uninterrupted:            $ref"
  echo "killed, then restarted:   $got"
  if [ -n "$ref" ] && [ "$got" = "$ref" ]; then
    echo "same answer: the restart was exact"
  else
    echo "DIFFERENT: the restart was not exact"
    return 1
  fi
}

./scripts/setup.sh
run_demo
