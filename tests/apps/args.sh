#!/usr/bin/env bash
# Every application answers -h with its usage (status 0) and a bad argument
# with a message naming it (status 2).
#
# usage: args.sh MPIEXEC APP...
# Environment: extra mpiexec flags in MPIEXEC_FLAGS.
set -u
mpiexec=$1
shift
fail() { echo "args.sh: FAIL: $*"; exit 1; }
# shellcheck disable=SC2086 # MPIEXEC_FLAGS is a list of words
run() { "$mpiexec" -n 4 ${MPIEXEC_FLAGS:-} "$@"; }

for app in "$@"; do
  name=$(basename "$app")
  out=$(run "$app" -h 2>&1) || fail "$name -h failed"
  echo "$out" | grep -q '^usage: ' || fail "$name -h printed no usage"
  [ "$(echo "$out" | grep -c '^usage: ')" -eq 1 ] || fail "$name -h printed the usage more than once"
  out=$(run "$app" -s banana 2>&1)
  rc=$?
  [ $rc -eq 2 ] || fail "$name -s banana: status $rc, not 2"
  echo "$out" | grep -q "option -s: 'banana' is not an integer" ||
    { echo "$out"; fail "$name -s banana: no message naming the value"; }
  out=$(run "$app" --frobnicate 2>&1)
  rc=$?
  [ $rc -eq 2 ] || fail "$name --frobnicate: status $rc, not 2"
  echo "$out" | grep -q "unknown argument '--frobnicate'" ||
    { echo "$out"; fail "$name --frobnicate: no message naming it"; }
  echo "$name: ok"
done
echo "args.sh: ok"
