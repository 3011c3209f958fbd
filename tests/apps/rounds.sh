#!/usr/bin/env bash
# Collective mode's control rounds are spaced (docs/DESIGN.md, "Round
# points"): heat2d's 2000 fast safe points run far fewer rounds than safe
# points; MPISNAP_SYNC_INTERVAL=0 runs one at every safe point; with
# either, checkpoints taken by MPISNAP_INTERVAL commit and the answer is
# the uninterrupted one.
#
# usage: rounds.sh MPIEXEC HEAT2D
# Environment: extra mpiexec flags in MPIEXEC_FLAGS.
set -u
mpiexec=$1
heat2d=$2
fail() { echo "rounds.sh: FAIL: $*"; exit 1; }
work=$(mktemp -d /tmp/mpisnap-rounds.XXXXXX)
trap 'rm -rf "$work"' EXIT
args=(-n 64 -i 2000)

# run NAME VAR=VALUE...: heat2d on 4 ranks, verbose, its own directory.
run() {
  local name=$1
  shift
  mkdir -p "$work/$name"
  # shellcheck disable=SC2086 # MPIEXEC_FLAGS is a list of words
  env MPISNAP_VERBOSE=1 MPISNAP_DIR="$work/$name" "$@" \
    "$mpiexec" -n 4 ${MPIEXEC_FLAGS:-} "$heat2d" "${args[@]}" \
    >"$work/$name.out" 2>&1 || { cat "$work/$name.out"; fail "$name: exit status $?"; }
}
rounds() { sed -n 's/^mpisnap: \([0-9]*\) control rounds at 2000 safe points.*/\1/p' "$work/$1.out"; }
answer() { grep '^ANSWER' "$work/$1.out"; }

run spaced
run every MPISNAP_SYNC_INTERVAL=0
run spaced-ck MPISNAP_INTERVAL=0.05
ref=$(answer every)
[ -n "$ref" ] || fail "no ANSWER line"
for name in spaced spaced-ck; do
  [ "$(answer $name)" = "$ref" ] || fail "$name: $(answer $name), expected $ref"
done
spaced=$(rounds spaced)
every=$(rounds every)
if [ -z "$spaced" ] || [ -z "$every" ]; then
  cat "$work/spaced.out"
  fail "no 'control rounds' line"
fi
echo "rounds at 2000 safe points: $spaced spaced, $every with MPISNAP_SYNC_INTERVAL=0"
[ "$every" -ge 2000 ] || fail "MPISNAP_SYNC_INTERVAL=0: $every rounds for 2000 safe points"
[ "$spaced" -le 500 ] || fail "spaced: $spaced rounds for 2000 safe points"
n=0
for d in "$work"/spaced-ck/ckpt-*; do
  [ -d "$d" ] && n=$((n + 1))
done
grep -q "all balanced" "$work/spaced-ck.out" || { cat "$work/spaced-ck.out"; fail "spaced-ck: no balance report"; }
[ "$n" -ge 1 ] || { ls -A "$work/spaced-ck"; fail "spaced-ck: no committed checkpoint"; }
echo "MPISNAP_INTERVAL=0.05 with spaced rounds: $n checkpoints kept, answer identical"
echo "rounds.sh: ok"
