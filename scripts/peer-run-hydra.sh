#!/usr/bin/env bash
# Run every test that build.sh built, once, in one mode, and print one line
# per run and a final "N passed, M failed" line: the peer suite's run.sh
# (../shared/peer/mpich-pt2pt/run.sh), which launches with Open MPI's
# `mpirun -x`, copied for MPICH's Hydra launcher: `mpiexec -genv VAR VAL`
# gives LD_PRELOAD and the MPISNAP_* variables to the ranks only (issue 14).
# scripts/peer.sh runs it when the build uses MPICH.  Output format, modes and
# pass criteria are run.sh's, so peer.sh reads both alike.
#
# usage: peer-run-hydra.sh MODE [WORK_DIR]
#   plain    plain MPI
#   preload  mpiexec -genv LD_PRELOAD libmpisnap.so (no snapshots)
#   snap     preload + MPISNAP_TEST_TRIGGER=7 (snapshots run continuously),
#            as the project's preload.<P>.snap tests
#   sparse   preload + MPISNAP_TEST_TRIGGER=101, as its mpi.<P>.sparse
#   slow     preload + MPISNAP_FAST=0 (the layer matches every receive)
#   WORK_DIR build.sh's work folder (default $PEER_WORK or /tmp/mpisnap-peer)
# Environment: PEER_TIMEOUT (seconds per run, default 60), PEER_FILTER (a
# grep -E regex on the "name np args" of a run: run only those), MPIEXEC
# (the Hydra launcher, default mpiexec.mpich).
#
# A run passes when the launcher exits 0 and a line of its output is " No Errors"
# (MPICH's criterion). With the library preloaded it also fails on
# "unbalanced" or "mpisnap: error" in its output; in snap/sparse mode it
# should print "all balanced" (the project's own criterion for these
# variants); a run that passes without it is marked "(no snapshot ran)".
# Each run's output is kept in WORK_DIR/logs/MODE/.
set -uo pipefail

mode=${1:?usage: peer-run-hydra.sh plain|preload|snap|sparse|slow [WORK_DIR]}
W=${2:-${PEER_WORK:-/tmp/mpisnap-peer}}
W=$(cd "$W" && pwd) || exit 2
limit=${PEER_TIMEOUT:-60}
filter=${PEER_FILTER:-}
[[ -f $W/tests.txt ]] || { echo "peer-run-hydra.sh: no $W/tests.txt: run build.sh" >&2; exit 2; }
lib=$(cat "$W/preload")

# Hydra runs as root and oversubscribes without being asked.  Nothing from
# the caller's environment may change what a mode tests.
for v in $(env | grep -o '^MPISNAP_[A-Z_]*'); do unset "$v"; done

launch=("${MPIEXEC:-mpiexec.mpich}")
case $mode in
  plain) ;;
  preload) launch+=(-genv LD_PRELOAD "$lib") ;;
  snap) launch+=(-genv LD_PRELOAD "$lib" -genv MPISNAP_TEST_TRIGGER 7 -genv MPISNAP_VERBOSE 1) ;;
  sparse) launch+=(-genv LD_PRELOAD "$lib" -genv MPISNAP_TEST_TRIGGER 101 -genv MPISNAP_VERBOSE 1) ;;
  slow) launch+=(-genv LD_PRELOAD "$lib" -genv MPISNAP_FAST 0) ;;
  *) echo "peer-run-hydra.sh: unknown mode '$mode'" >&2; exit 2 ;;
esac

logs=$W/logs/$mode
rm -rf "$logs"
mkdir -p "$logs/cwd"
pass=0 fail=0 i=0
t0=$(date +%s.%N)
while read -r kind name np args; do
  i=$((i + 1))
  [[ -n $filter ]] && ! grep -qE -- "$filter" <<<"$name $np $args" && continue
  log=$logs/$(printf '%03d' "$i")-$name.log
  s=$(date +%s.%N)
  # The ranks inherit PEER_RUN_TOKEN: it tells this run's processes apart.
  token=peer-$mode-$i-$$-$RANDOM
  # shellcheck disable=SC2086 # args are split on purpose
  (cd "$logs/cwd" && PEER_RUN_TOKEN=$token timeout -k 10 "$limit" \
    "${launch[@]}" -n "$np" "$W/bin/$name" $args) </dev/null >"$log" 2>&1
  rc=$?
  e=$(date +%s.%N)
  # A run killed by the timeout may leave ranks behind: end this run's, by pid.
  if ((rc == 124 || rc == 137)); then
    for pid in $(pgrep -f "^$W/bin/$name( |$)" || true); do
      if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "PEER_RUN_TOKEN=$token"; then
        kill -9 "$pid" 2>/dev/null
      fi
    done
  fi
  why=
  if ((rc == 124 || rc == 137)); then
    res=TIMEOUT
  elif ((rc != 0)); then
    res=FAIL why="exit $rc"
  elif ! grep -qE '^ *No Errors *$' "$log"; then
    res=FAIL why='no "No Errors"'
    grep -q 'Test Skipped' "$log" && why='the test skipped itself'
  else
    res=PASS
  fi
  if [[ $mode != plain && $res == PASS ]]; then
    if grep -qE 'unbalanced|mpisnap: error' "$log"; then
      res=FAIL why='mpisnap error/unbalanced in output'
    elif [[ $mode == snap || $mode == sparse ]] && ! grep -q 'all balanced' "$log"; then
      # The layer prints its line only when a snapshot ran; a program that
      # makes no point-to-point call never triggers one.  Passed, marked.
      why='no snapshot ran'
    fi
  fi
  [[ $res == PASS ]] && pass=$((pass + 1)) || fail=$((fail + 1))
  printf '%-4s %-18s np=%-2s args=[%s] %s%s %.1fs\n' "$kind" "$name" "$np" "$args" \
    "$res" "${why:+ ($why)}" "$(awk -v a="$s" -v b="$e" 'BEGIN{print b-a}')"
done <"$W/tests.txt"
t1=$(date +%s.%N)
printf 'mode %s: wall %.0f s\n' "$mode" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
echo "$pass passed, $fail failed"
