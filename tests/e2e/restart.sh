#!/usr/bin/env bash
# Run-kill-restart test: the final answer of a job that is killed (SIGKILL
# of one rank at a random moment) and restarted from its latest checkpoint
# until it finishes must equal, bit for bit, the answer of a run that was
# never interrupted.  Then the same from an older checkpoint, and after
# corrupting the latest one (the restart must skip it and say so).  Every
# committed checkpoint is checked with the project's own checker.
#
# usage: restart.sh MPIEXEC NPROCS CHECKER SEED -- PROGRAM ARGS...
# Environment: MPISNAP_EVERY etc. are set here; extra mpiexec flags in
# MPIEXEC_FLAGS.
set -u
mpiexec=$1 np=$2 checker=$3 seed=$4
shift 4
[ "$1" = "--" ] && shift
prog=("$@")
RANDOM=$seed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "restart.sh: FAIL: $*"; exit 1; }
run() { "$mpiexec" -n "$np" ${MPIEXEC_FLAGS:-} "${prog[@]}"; }
answer() { grep '^ANSWER' "$1" | tail -1; }

# 1. The reference: no checkpoints at all.
mkdir -p "$work/ref-ck"
(unset MPISNAP_EVERY MPISNAP_INTERVAL MPISNAP_RESTART; MPISNAP_DIR="$work/ref-ck" run) \
  > "$work/ref.out" 2>&1 || { cat "$work/ref.out"; fail "uninterrupted run failed"; }
ref=$(answer "$work/ref.out")
[ -n "$ref" ] || fail "the uninterrupted run printed no ANSWER"
echo "reference: $ref"

# 2. Killed and restarted until it finishes.
ck="$work/ck"
mkdir -p "$ck"
export MPISNAP_DIR=$ck MPISNAP_RESTART=auto MPISNAP_EVERY=${MPISNAP_EVERY:-20}
kills=0 restarts=0 done=0
for attempt in $(seq 1 25); do
  run > "$work/run.$attempt" 2>&1 &
  job=$!
  # Kill a rank at a random moment after the run has committed a new
  # checkpoint; later attempts are left to finish.
  if [ "$attempt" -le 3 ]; then
    before=$(ls "$ck" | grep -c '^ckpt-')
    for _ in $(seq 1 200); do
      kill -0 $job 2>/dev/null || break
      [ "$(ls "$ck" | grep -c '^ckpt-')" != "$before" ] && break
      sleep 0.05
    done
    sleep "0.$((1 + RANDOM % 5))"
    pids=$(pgrep -f -x "${prog[*]}" || true)
    if [ -n "$pids" ] && ls "$ck" | grep -q '^ckpt-'; then
      victim=$(echo "$pids" | shuf -n 1 --random-source=<(yes $seed))
      kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1))
    fi
  fi
  wait $job
  rc=$?
  grep -q '^RESTARTED FROM' "$work/run.$attempt" && restarts=$((restarts + 1))
  if [ $rc -eq 0 ]; then
    done=1
    break
  fi
done
[ $done -eq 1 ] || fail "the job did not finish in 25 attempts"
got=$(answer "$work/run.$attempt")
echo "after $kills kills and $restarts restarts: $got"
[ "$got" = "$ref" ] || fail "answer after restarts differs: '$got' vs '$ref'"
[ $kills -ge 1 ] || fail "no rank was killed: the test proved nothing"
[ $restarts -ge 1 ] || fail "no run restarted from a checkpoint"

# 3. Every committed checkpoint balances on every channel.
"$checker" "$ck" || fail "a committed checkpoint failed the check"

ids=$(ls "$ck" | sed -n 's/^ckpt-0*\([0-9][0-9]*\)$/\1/p' | sort -n)
count=$(echo "$ids" | wc -w)
[ "$count" -ge 2 ] || fail "fewer than two checkpoints to restart from"

# 4. From an older checkpoint: the first one.
old=$(echo "$ids" | head -1)
MPISNAP_RESTART=$old run > "$work/old.out" 2>&1 || { cat "$work/old.out"; fail "restart from checkpoint $old failed"; }
grep -q "^RESTARTED FROM $old " "$work/old.out" || fail "did not restart from $old"
[ "$(answer "$work/old.out")" = "$ref" ] || fail "answer from checkpoint $old differs"
echo "from older checkpoint $old: same answer"

# 5. The latest checkpoint corrupted: flip one byte of rank 0's data.
ids=$(ls "$ck" | sed -n 's/^ckpt-0*\([0-9][0-9]*\)$/\1/p' | sort -n)
latest=$(echo "$ids" | tail -1)
prev=$(echo "$ids" | tail -2 | head -1)
f=$(printf '%s/ckpt-%06d/rank-000000.h5' "$ck" "$latest")
size=$(stat -c %s "$f")
off=$((size - 9))
byte=$(dd if="$f" bs=1 skip=$off count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(( (byte + 1) % 256 )))" | dd of="$f" bs=1 seek=$off conv=notrunc 2>/dev/null
MPISNAP_RESTART=latest run > "$work/corrupt.out" 2>&1 || { cat "$work/corrupt.out"; fail "restart after corrupting $latest failed"; }
grep -q "skipping checkpoint $latest" "$work/corrupt.out" || { cat "$work/corrupt.out"; fail "the corrupt checkpoint $latest was not reported"; }
grep -q "^RESTARTED FROM $prev " "$work/corrupt.out" || fail "did not fall back to $prev"
[ "$(answer "$work/corrupt.out")" = "$ref" ] || fail "answer after fallback differs"
echo "corrupt checkpoint $latest skipped, restarted from $prev: same answer"
echo "restart.sh: ok"
