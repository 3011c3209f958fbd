#!/usr/bin/env bash
# jobs/local/run.sh end to end: a run with a rank killed at a random moment
# and a run that stops with status 85 at every (short) wall-clock limit must
# both be restarted until they finish, with the answer of an uninterrupted
# run.
#
# usage: jobs-local.sh MPIEXEC HEAT2D BANK
# Environment: extra mpiexec flags in MPIEXEC_FLAGS.
set -u
mpiexec=$1 heat2d=$2 bank=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
runsh=$here/../../jobs/local/run.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "jobs-local.sh: FAIL: $*"; exit 1; }
export MPIEXEC=$mpiexec MPIEXEC_FLAGS=${MPIEXEC_FLAGS:-}

reference() {
  # shellcheck disable=SC2086 # MPIEXEC_FLAGS is a list of words
  (unset MPISNAP_EVERY MPISNAP_INTERVAL MPISNAP_RESTART
   MPISNAP_DIR=$work "$mpiexec" -n 4 $MPIEXEC_FLAGS "$@") 2>&1 | grep '^ANSWER'
}

# 1. heat2d, one rank killed.
args=(-n 256 -i 4000 -s 300)
ref=$(reference "$heat2d" "${args[@]}")
[ -n "$ref" ] || fail "the uninterrupted heat2d run printed no ANSWER"
"$runsh" -n 4 --kill --every 50 --dir "$work/ck1" --seed 7 -- "$heat2d" "${args[@]}" \
  > "$work/kill.out" 2>&1 || { cat "$work/kill.out"; fail "run.sh --kill failed"; }
grep '^run.sh:' "$work/kill.out"
grep -q '^run.sh: killed rank' "$work/kill.out" || fail "run.sh killed no rank"
grep -q '^run.sh: finished after [1-9]' "$work/kill.out" || fail "run.sh did not restart"
[ "$(grep '^run.sh: ANSWER' "$work/kill.out" | sed 's/^run.sh: //')" = "$ref" ] ||
  fail "heat2d's answer after the kill differs from '$ref'"

# 2. bank, stopped with status 85 at every 2-second wall-clock limit.
args=(-t 2000 -s 1000)
ref=$(reference "$bank" "${args[@]}")
[ -n "$ref" ] || fail "the uninterrupted bank run printed no ANSWER"
"$runsh" -n 4 --walltime 2 --interval 1 --dir "$work/ck2" -- "$bank" "${args[@]}" \
  > "$work/walltime.out" 2>&1 || { cat "$work/walltime.out"; fail "run.sh --walltime failed"; }
grep '^run.sh:' "$work/walltime.out"
grep -q 'checkpointed and stopped (status 85)' "$work/walltime.out" ||
  fail "no run stopped with status 85"
[ "$(grep '^run.sh: ANSWER' "$work/walltime.out" | sed 's/^run.sh: //')" = "$ref" ] ||
  fail "bank's answer after the stops differs from '$ref'"
echo "jobs-local.sh: ok"
