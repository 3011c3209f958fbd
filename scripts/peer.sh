#!/usr/bin/env bash
# Runs MPICH's point-to-point conformance suite (../shared/peer/mpich-pt2pt,
# a suite nobody on the mpisnap team wrote) against the build in
# $BUILD_DIR: first on plain MPI for the baseline, then in each mode with
# libmpisnap.so preloaded, and fails if any run that passes on plain MPI
# fails in any mode.
#
#   scripts/peer.sh [MODE...]     default: preload snap slow
#
# Modes are run.sh's: preload (no snapshot), snap (snapshots forced,
# MPISNAP_TEST_TRIGGER=7), sparse (MPISNAP_TEST_TRIGGER=101), slow
# (MPISNAP_FAST=0).  Environment: BUILD_DIR (default build), PEER_SUITE (the
# suite's folder, default ../shared/peer/mpich-pt2pt beside the clone),
# PEER_WORK (scratch folder, default ${TMPDIR:-/tmp}/mpisnap-peer),
# PEER_TIMEOUT (seconds per run, default 120), PEER_BASELINE (a plain.txt
# kept from an earlier run: skip the plain run), PEER_SKIP (a grep -E regex
# on a run's "name np args": such runs are left out of every mode, plain
# included, and listed).  Runs that fail on plain MPI
# too (Open MPI 4.1.4: sendrecv3 -isendrecv, recvnull, cancelrecv) are not
# run again in the other modes.  Each mode's table is left in
# $PEER_WORK/MODE.txt and each run's output in $PEER_WORK/logs/MODE/.
#
# The MPI is the build's (MPI_C_COMPILER and MPIEXEC_EXECUTABLE in
# $BUILD_DIR/CMakeCache.txt): the suite is compiled with that compiler, and
# under MPICH (a Hydra launcher) run with scripts/peer-run-hydra.sh, our
# copy of the suite's run.sh that passes the environment with
# `mpiexec -genv` instead of Open MPI's `mpirun -x`.  The default PEER_WORK
# is then ${TMPDIR:-/tmp}/mpisnap-peer-mpich, so the two baselines never mix.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build}
suite=${PEER_SUITE:-$(cd .. && pwd)/shared/peer/mpich-pt2pt}
export PEER_TIMEOUT=${PEER_TIMEOUT:-120}
modes=("$@")
[[ ${#modes[@]} -gt 0 ]] || modes=(preload snap slow)

if [[ ! -f $suite/run.sh || ! -f $suite/build.sh ]]; then
  echo "peer.sh: no peer suite at $suite (set PEER_SUITE to MPICH's pt2pt" \
    "suite folder, the one with build.sh and run.sh)" >&2
  exit 1
fi
[[ -f $BUILD_DIR/libmpisnap.so ]] || {
  echo "peer.sh: no $BUILD_DIR/libmpisnap.so: build first (scripts/setup.sh)" >&2
  exit 1
}

# The build's MPI, from its CMake cache.
cached() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD_DIR/CMakeCache.txt"; }
mpicc=$(cached MPI_C_COMPILER)
mpiexec=$(cached MPIEXEC_EXECUTABLE)
runner=$suite/run.sh
work_default=${TMPDIR:-/tmp}/mpisnap-peer
. scripts/launcher.sh
if [[ -n $mpiexec ]] && launcher_is_hydra "$mpiexec"; then
  runner=$PWD/scripts/peer-run-hydra.sh
  work_default=${TMPDIR:-/tmp}/mpisnap-peer-mpich
  export MPIEXEC=$mpiexec
  echo "peer.sh: MPICH (Hydra: $mpiexec), compiler $mpicc"
fi
[[ -n $mpicc ]] && export MPICC=$mpicc
work=${PEER_WORK:-$work_default}

echo "peer.sh: building MPICH's pt2pt suite into $work"
bash "$suite/build.sh" "$BUILD_DIR" "$work" | sed 's/^/  /'

# One key per run: "kind name np=N args=[...]"; the result after it.
results() { sed -nE 's/^(in|dtp) +([^ ]+) +np=([0-9]+) +args=\[([^]]*)\] +([A-Z]+).*/\1 \2 np=\3 args=[\4]\t\5/p' "$1"; }

# An exact-line regex of the given "kind name np args" keys (stdin) for
# run.sh's PEER_FILTER.
exact() {
  sed -E 's/^(in|dtp) ([^ ]+) np=([0-9]+) args=\[(.*)\]$/\2 \3 \4/; s/ +$//; s/[][\\.^$*+?(){}|]/\\&/g; s/.*/^& ?$/' |
    paste -sd'|'
}

# PEER_SKIP: the runs left out, and a filter of the others for the plain run.
plain_filter=
if [[ -n ${PEER_SKIP:-} ]]; then
  keys=$(awk '{n=$2; np=$3; $1=$2=$3=""; sub(/^ +/, ""); printf "%s %s np=%s args=[%s]\n", "in", n, np, $0}' "$work/tests.txt")
  skipped=$(awk '{n=$2; np=$3; $1=$2=$3=""; sub(/^ +/, ""); print n, np, $0}' "$work/tests.txt" |
    grep -nE -- "$PEER_SKIP" | cut -d: -f1 || true)
  [[ -n $skipped ]] || { echo "peer.sh: PEER_SKIP='$PEER_SKIP' matches no run" >&2; exit 1; }
  echo "peer.sh: left out (PEER_SKIP): $(echo "$skipped" | wc -l) runs:"
  for i in $skipped; do sed -n "${i}p" "$work/tests.txt" | sed 's/^/  /'; done
  plain_filter=$(echo "$keys" | sed "$(for i in $skipped; do printf '%sd;' "$i"; done)" | exact)
fi

# The baseline: plain MPI's table, run now or (PEER_BASELINE) one kept from
# an earlier run against the same MPI, for repeated rounds.
if [[ -n ${PEER_BASELINE:-} ]]; then
  [[ -s $PEER_BASELINE ]] || { echo "peer.sh: PEER_BASELINE=$PEER_BASELINE is not a plain.txt of an earlier run" >&2; exit 1; }
  [[ $PEER_BASELINE -ef $work/plain.txt ]] || cp "$PEER_BASELINE" "$work/plain.txt"
else
  PEER_FILTER=$plain_filter bash "$runner" plain "$work" >"$work/plain.txt" 2>&1 || true
fi
results "$work/plain.txt" | awk -F'\t' '$2 == "PASS" {print $1}' >"$work/baseline.txt"
nbase=$(wc -l <"$work/baseline.txt")
echo "peer.sh: plain MPI${PEER_BASELINE:+ (from $PEER_BASELINE)}: $(tail -1 "$work/plain.txt"); not passing there:"
results "$work/plain.txt" | awk -F'\t' '$2 != "PASS" {print "  " $1 " " $2}'
[[ $nbase -gt 0 ]] || { echo "peer.sh: no run passed on plain MPI" >&2; exit 1; }

# Only the runs that pass on plain MPI: a regex of their exact lines.
filter=$(exact <"$work/baseline.txt")

status=0
for mode in "${modes[@]}"; do
  PEER_FILTER=$filter bash "$runner" "$mode" "$work" >"$work/$mode.txt" 2>&1 || true
  results "$work/$mode.txt" | awk -F'\t' '$2 == "PASS" {print $1}' | sort >"$work/$mode.pass"
  lost=$(sort "$work/baseline.txt" | comm -23 - "$work/$mode.pass")
  printf 'peer.sh: %-8s %s, %s\n' "$mode" "$(tail -1 "$work/$mode.txt")" "$(grep '^mode ' "$work/$mode.txt" | sed 's/^mode [a-z]*: //')"
  if [[ -n $lost ]]; then
    status=1
    echo "peer.sh: $mode: these pass on plain MPI and fail with mpisnap:"
    while read -r key; do
      { grep -F "${key%%args=*}" "$work/$mode.txt" | grep -F "${key#*args=}" || echo "$key"; } | sed 's/^/  /'
    done <<<"$lost"
  fi
done
exit $status
