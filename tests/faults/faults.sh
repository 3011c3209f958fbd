#!/usr/bin/env bash
# The fault matrix: every case ends with a clear message naming the problem,
# and the checkpoints committed before the fault still restore (the answer
# of a restarted run equals the answer of an uninterrupted one).
#
# usage: faults.sh CASE BUILD_DIR      (faults.sh list: the cases)
#
# Prints "faults: CASE ok" when the case passed; exits 77 when it cannot
# run here (no permission to mount, a missing tool), saying why.
#
# Programs: BUILD_DIR/tests/e2e/{e2e_ring,e2e_stencil,ckcheck} and
# BUILD_DIR/tests/faults/{faults_bigstate,faults_flipall,faults_setmpi}, or
# the paths in FAULTS_RING, FAULTS_STENCIL, FAULTS_CKCHECK, FAULTS_BIGSTATE,
# FAULTS_FLIPALL, FAULTS_SETMPI.  mpiexec: MPIEXEC (default mpirun), extra flags in
# MPIEXEC_FLAGS.  FAULTS_SEED fixes the random kill moments; FAULTS_KEEP=1
# keeps the work directory.
set -u

CASE=${1:-}
BUILD=${2:-}
if [ -z "$CASE" ]; then
  echo "usage: faults.sh CASE BUILD_DIR (faults.sh list: the cases)" >&2
  exit 2
fi

# Nothing from the caller's environment may change what the cases test.
for v in $(env | sed -n 's/^\(MPISNAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
unset HDF5_EXT_PREFIX

RING=${FAULTS_RING:-$BUILD/tests/e2e/e2e_ring}
STENCIL=${FAULTS_STENCIL:-$BUILD/tests/e2e/e2e_stencil}
CKCHECK=${FAULTS_CKCHECK:-$BUILD/tests/e2e/ckcheck}
BIG=${FAULTS_BIGSTATE:-$BUILD/tests/faults/faults_bigstate}
FLIPALL=${FAULTS_FLIPALL:-$BUILD/tests/faults/faults_flipall}
SETMPI=${FAULTS_SETMPI:-$BUILD/tests/faults/faults_setmpi}
MPIEXEC=${MPIEXEC:-mpirun}
if [ -z "${MPIEXEC_FLAGS+x}" ]; then
  MPIEXEC_FLAGS=""
  "$MPIEXEC" --version 2>/dev/null | grep -qiE 'open mpi|openrte' &&
    MPIEXEC_FLAGS="--oversubscribe"
fi
NP=4
# The ring app: 600 iterations of 1 ms, a checkpoint every 50 safe points.
RING_ARGS=(600 1000)
RUN_TIMEOUT=${FAULTS_RUN_TIMEOUT:-60}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/faults.$CASE.XXXXXX")
MOUNTS=()
JOB=""
cleanup() {
  [ -n "$JOB" ] && kill -KILL "$JOB" 2>/dev/null
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  if [ "${FAULTS_KEEP:-0}" = 1 ]; then
    echo "faults: work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# --- helpers ------------------------------------------------------------------

fail() {
  echo "faults: $CASE FAIL: $*"
  exit 1
}
skip() {
  echo "faults: $CASE SKIP: $*"
  exit 77
}
ok() {
  echo "faults: $CASE ok"
  exit 0
}
# Show the output of a run (when a check about it fails).
show() {
  echo "---- $1 (last 40 lines) ----"
  tail -40 "$1" | sed 's/^/| /'
  echo "----"
}
need_tool() {
  command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed (hdf5-tools)"
}
need_prog() {
  for p in "$@"; do
    [ -x "$p" ] || fail "program $p not built (BUILD_DIR=$BUILD)"
  done
}

# run_soft OUT NP [VAR=VALUE...] PROG ARGS...: one MPI job, output in OUT;
# sets RC (124 if it did not end within RUN_TIMEOUT seconds).
run_soft() {
  local out=$1 np=$2
  shift 2
  local envs=()
  while [ $# -gt 0 ] && [[ $1 == *=* ]]; do
    envs+=("$1")
    shift
  done
  # shellcheck disable=SC2086 # MPIEXEC_FLAGS is a list of words
  env "${envs[@]}" FAULTS_TAG="$WORK" timeout -k 10 "$RUN_TIMEOUT" \
    "$MPIEXEC" -n "$np" $MPIEXEC_FLAGS "$@" >"$out" 2>&1
  RC=$?
  return 0
}

# run: the same, but a hang is a failure.
run() {
  run_soft "$@"
  if [ $RC -eq 124 ]; then
    show "$1"
    fail "the job hung: no end after ${RUN_TIMEOUT} s (${*:3})"
  fi
  return 0
}

answer() { grep '^ANSWER' "$1" | tail -1; }

# expect_ok OUT WHAT: the run succeeded.
expect_ok() {
  if [ "$RC" -ne 0 ]; then
    show "$1"
    fail "$2: exit status $RC, expected 0"
  fi
}

# expect_error OUT WHAT STRING...: the run failed (non-zero exit, no hang,
# no crash) and its output contains every STRING (fixed strings).
expect_error() {
  local out=$1 what=$2
  shift 2
  if [ "$RC" -eq 0 ]; then
    show "$out"
    fail "$what: exit status 0, expected an error"
  fi
  if grep -qE 'Segmentation fault|signal 11|signal 6 |Aborted \(core|AddressSanitizer' "$out"; then
    show "$out"
    fail "$what: the job crashed instead of reporting an error"
  fi
  for s in "$@"; do
    if ! grep -qF -- "$s" "$out"; then
      show "$out"
      fail "$what: the message does not name '$s'"
    fi
  done
}

# The committed checkpoint ids in a directory, ascending.
ids_in() { ls -a "$1" | sed -n 's/^ckpt-0*\([0-9][0-9]*\)$/\1/p' | sort -n; }
ckdir() { printf '%s/ckpt-%06d' "$1" "$2"; }
rankfile() { printf '%s/ckpt-%06d/rank-%06d.h5' "$1" "$2" "$3"; }

# flip FILE OFFSET: invert every bit of one byte.
flip() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  [ -n "$b" ] || fail "cannot read byte $2 of $1"
  printf "$(printf '\\%03o' $((b ^ 255)))" |
    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# dset_range FILE DATASET: "OFFSET SIZE" of a contiguous dataset's bytes.
dset_range() {
  h5dump -p -H -d "$2" "$1" 2>/dev/null | awk '
    /STORAGE_LAYOUT/ { in_l = 1 }
    in_l && $1 == "SIZE" { size = $2 }
    in_l && $1 == "OFFSET" { off = $2 }
    END { if (size != "" && off != "") print off, size }'
}

# A reference answer: the same program never interrupted, no checkpoints.
reference() {
  local out=$WORK/ref.$RANDOM.out
  mkdir -p "$WORK/ref-ck"
  run "$out" "$NP" MPISNAP_DIR="$WORK/ref-ck" "$@"
  expect_ok "$out" "the uninterrupted run"
  REF=$(answer "$out")
  [ -n "$REF" ] || fail "the uninterrupted run printed no ANSWER"
}

# ring_checkpoints DIR: a full ring run that leaves every checkpoint in DIR.
ring_checkpoints() {
  mkdir -p "$1"
  run "$WORK/ring-ck.out" "$NP" MPISNAP_DIR="$1" MPISNAP_EVERY=50 MPISNAP_KEEP=0 \
    "$RING" "${RING_ARGS[@]}"
  expect_ok "$WORK/ring-ck.out" "the ring run with checkpoints"
  [ "$(answer "$WORK/ring-ck.out")" = "$REF" ] ||
    fail "the ring run with checkpoints gave $(answer "$WORK/ring-ck.out"), not $REF"
  IDS=$(ids_in "$1")
  [ "$(echo "$IDS" | wc -w)" -ge 3 ] ||
    fail "the ring run committed fewer than 3 checkpoints: $IDS"
  LATEST=$(echo "$IDS" | tail -1)
  PREV=$(echo "$IDS" | tail -2 | head -1)
}

# restart_ok OUT ID WHAT [VAR=VALUE...] PROG ARGS: restart from checkpoint ID
# (a number or latest) with no new checkpoints; the answer must be REF.
restart_ok() {
  local out=$1 id=$2 what=$3 dir=$4
  shift 4
  run "$out" "$NP" MPISNAP_DIR="$dir" MPISNAP_RESTART="$id" "$@"
  expect_ok "$out" "$what"
  if [ "$(answer "$out")" != "$REF" ]; then
    show "$out"
    fail "$what: answer '$(answer "$out")', expected '$REF'"
  fi
}

# The checkpoint directory holds only committed checkpoints (complete:
# a master file and every rank's file) and dot-names of abandoned or
# half-removed ones; every committed one passes the checker.
check_dir_consistent() {
  local dir=$1 e n
  for e in $(ls -A "$dir"); do
    case $e in
      ckpt-[0-9][0-9][0-9][0-9][0-9][0-9]*)
        [[ $e =~ ^ckpt-[0-9]{6,}$ ]] || fail "unexpected entry $e in $dir"
        [ -f "$dir/$e/checkpoint.h5" ] ||
          fail "committed checkpoint $e has no checkpoint.h5: $(ls "$dir/$e")"
        n=$(ls "$dir/$e" | grep -c '^rank-[0-9]*\.h5$')
        [ "$n" -eq "$NP" ] || fail "committed checkpoint $e has $n rank files, not $NP"
        ;;
      .ckpt-*.partial | .ckpt-*.deleting) ;;
      *) fail "unexpected entry '$e' in the checkpoint directory: $(ls -A "$dir")" ;;
    esac
  done
  if [ -n "$(ids_in "$dir")" ]; then
    "$CKCHECK" "$dir" >"$WORK/ckcheck.out" 2>&1 || {
      show "$WORK/ckcheck.out"
      fail "a committed checkpoint in $dir does not verify"
    }
  fi
}

# rank_pids PROG: "RANK PID" for every rank of this case's running job of
# PROG (found by the FAULTS_TAG its environment carries).
rank_pids() {
  local p r
  for p in $(pgrep -f -- "$1"); do
    grep -qzxF "FAULTS_TAG=$WORK" "/proc/$p/environ" 2>/dev/null || continue
    r=$(grep -zoE '^(OMPI_COMM_WORLD_RANK|PMI_RANK|PMIX_RANK)=[0-9]+' "/proc/$p/environ" 2>/dev/null |
      tr '\0' '\n' | head -1)
    [ -n "$r" ] && echo "${r#*=} $p"
  done
}

# --- SIGKILL during a checkpoint -----------------------------------------------

# A big protected state (16 MiB per rank, 64 MiB per checkpoint) so that a
# checkpoint takes a while to write; one every 20 safe points.
BIG_KIB=16384
BIG_ARGS=("$BIG_KIB" 140 5000 c)

start_big() { # OUT: start the big-state job in the background, continuing
  # from the latest checkpoint if there is one; PIDS[r] is rank r's process
  env FAULTS_TAG="$WORK" MPISNAP_DIR="$CK" MPISNAP_EVERY=20 MPISNAP_RESTART=auto \
    MPISNAP_VERBOSE=1 timeout -k 10 "$RUN_TIMEOUT" \
    "$MPIEXEC" -n "$NP" $MPIEXEC_FLAGS "$BIG" "${BIG_ARGS[@]}" >"$1" 2>&1 &
  JOB=$!
  PIDS=()
  local t0=$SECONDS r p
  while [ ${#PIDS[@]} -lt "$NP" ] && kill -0 "$JOB" 2>/dev/null; do
    while read -r r p; do PIDS[r]=$p; done < <(rank_pids "$BIG")
    [ $((SECONDS - t0)) -lt 30 ] || { show "$1"; fail "cannot find the ranks' processes"; }
    [ ${#PIDS[@]} -lt "$NP" ] && sleep 0.01
  done
}

# After a job was killed: the directory is consistent (only complete
# committed checkpoints, every one verifies), and the checkpoints committed
# before the kill restore to the right answer: all of them (VERIFY=all) or
# the newest (VERIFY=newest).
after_kill() {
  local out=$1 id ids
  wait "$JOB"
  local rc=$?
  JOB=""
  [ $rc -ne 0 ] || { show "$out"; fail "the job finished although a rank was killed"; }
  grep -qE 'Segmentation fault|signal 11|AddressSanitizer' "$out" && { show "$out"; fail "a surviving rank crashed"; }
  check_dir_consistent "$CK"
  ids=$(ids_in "$CK")
  [ -n "$ids" ] || fail "no committed checkpoint survived the kill"
  [ "${VERIFY:-all}" = all ] || ids=$(echo "$ids" | tail -1)
  for id in $ids; do
    restart_ok "$WORK/verify.$id.out" "$id" "restart from checkpoint $id after the kill" \
      "$CK" "$BIG" "${BIG_ARGS[@]}"
    grep -q "^RESTARTED FROM $id " "$WORK/verify.$id.out" ||
      fail "the restart from $id did not say so"
  done
  echo "after the kill: $(ls -A "$CK" | tr '\n' ' ')- restarts from $(echo $ids) give the same answer"
}

# The job continues from its latest checkpoint to the end: the same answer.
finish_big() {
  local out=$WORK/finish.out
  start_big "$out"
  wait "$JOB"
  RC=$?
  JOB=""
  expect_ok "$out" "the run continuing after the kill"
  grep -q '^RESTARTED FROM' "$out" || fail "the continuing run did not restart"
  [ "$(answer "$out")" = "$REF" ] ||
    fail "the continuing run gave $(answer "$out"), expected $REF"
  check_dir_consistent "$CK"
  echo "continued: $(grep -m1 '^RESTARTED' "$out"), finished with the same answer"
}

big_setup() {
  need_prog "$BIG" "$CKCHECK"
  reference "$BIG" "${BIG_ARGS[@]}"
  CK=$WORK/ck
  mkdir -p "$CK"
}

# next_partial AFTER: wait (at most 60 s) until a checkpoint with an id
# above AFTER is being written while an older one is committed; prints its
# partial directory.
next_partial() {
  local t0=$SECONDS p c id
  while [ $((SECONDS - t0)) -lt 60 ] && kill -0 "$JOB" 2>/dev/null; do
    c=$(ids_in "$CK" | tail -1)
    if [ -n "$c" ]; then
      for p in "$CK"/.ckpt-*.partial; do
        [ -d "$p" ] || continue
        id=${p##*/.ckpt-}
        id=$((10#${id%.partial}))
        [ "$id" -gt "$c" ] && [ "$id" -gt "$1" ] && { echo "$p"; return 0; }
      done
    fi
    sleep 0.005
  done
  return 1
}
partial_id() { local id=${1##*/.ckpt-}; echo $((10#${id%.partial})); }

# Kill a rank while it writes its part: when its file in the partial
# directory of a checkpoint after the first has half its data, stop the
# rank (SIGSTOP); if the checkpoint is still uncommitted, SIGKILL it,
# otherwise let it go on (SIGCONT) and try the next checkpoint.
case_kill_write() {
  big_setup
  local out=$WORK/kill.out p id=0 r f size tries=0 full=$((BIG_KIB * 1024))
  start_big "$out"
  while :; do
    p=$(next_partial "$id") || { show "$out"; fail "no new checkpoint started (try $tries)"; }
    id=$(partial_id "$p")
    tries=$((tries + 1))
    f=""
    while [ -z "$f" ] && [ -d "$p" ]; do
      f=$(ls "$p" 2>/dev/null | grep -m1 '^rank-')
    done
    [ -n "$f" ] || continue
    r=$(echo "$f" | sed 's/^rank-0*\([0-9][0-9]*\)\.h5$/\1/;s/^rank-0*\.h5$/0/')
    # Half of its data written (or more: then it is flushing and syncing).
    size=0
    while [ -d "$p" ] && [ "$size" -lt $((full / 2)) ]; do
      size=$(stat -c %s "$p/$f" 2>/dev/null || echo 0)
    done
    kill -STOP "${PIDS[r]}" 2>/dev/null || { show "$out"; fail "rank $r is gone"; }
    size=$(stat -c %s "$p/$f" 2>/dev/null || echo 0)
    if [ -d "$p" ] || [ $tries -ge 5 ]; then
      kill -KILL "${PIDS[r]}"
      break
    fi
    kill -CONT "${PIDS[r]}"
  done
  echo "killed rank $r (pid ${PIDS[r]}) while it wrote checkpoint $id (try $tries): ${p##*/}/$f had $size of about $full bytes"
  after_kill "$out"
  [ ! -d "$CK/$(printf 'ckpt-%06d' "$id")" ] ||
    fail "checkpoint $id was committed although rank $r died writing it"
  echo "checkpoint $id stayed uncommitted: $(ls -A "$CK" | grep -F "$(printf '.ckpt-%06d' "$id")")"
  finish_big
  ok
}

# Kill rank 0 while it commits: when the master file appears in the
# partial directory, stop rank 0 (SIGSTOP); if the directory is not renamed
# yet, SIGKILL it, else let it go on and try the next checkpoint.  After 5
# misses, stop it instead when every part is whole (about to commit).
case_kill_commit() {
  big_setup
  local out=$WORK/kill.out p=x id=0 full=$((BIG_KIB * 1024)) n f s tries=0 what had
  start_big "$out"
  while :; do
    p=$(next_partial "$id") || { show "$out"; fail "no new checkpoint started (try $tries)"; }
    id=$(partial_id "$p")
    tries=$((tries + 1))
    if [ $tries -gt 5 ]; then
      while kill -0 "$JOB" 2>/dev/null && [ -d "$p" ]; do
        n=0
        for f in "$p"/rank-*.h5; do
          s=$(stat -c %s "$f" 2>/dev/null || echo 0)
          [ "$s" -ge "$full" ] && n=$((n + 1))
        done
        [ "$n" -eq "$NP" ] && break
      done
      kill -STOP "${PIDS[0]}" 2>/dev/null || { show "$out"; fail "rank 0 is gone"; }
      if [ -d "$p" ]; then
        what="with every part written"
        break
      fi
      kill -CONT "${PIDS[0]}"
      continue
    fi
    until [ -e "$p/checkpoint.h5" ] || [ ! -d "$p" ]; do :; done
    [ -e "$p/checkpoint.h5" ] || continue
    kill -STOP "${PIDS[0]}" 2>/dev/null || { show "$out"; fail "rank 0 is gone"; }
    if [ -d "$p" ]; then
      what="with its master file on disk, before the rename"
      break
    fi
    kill -CONT "${PIDS[0]}"
  done
  had=$(ls "$p" 2>/dev/null | tr '\n' ' ')
  kill -KILL "${PIDS[0]}"
  echo "killed rank 0 (pid ${PIDS[0]}) during the commit of checkpoint $id $what (try $tries): ${p##*/} held ${had:-nothing}"
  after_kill "$out"
  [ -d "$p" ] || fail "checkpoint $id was renamed after rank 0 was stopped"
  [ ! -d "$CK/$(printf 'ckpt-%06d' "$id")" ] || fail "checkpoint $id committed by a killed rank"
  echo "checkpoint $id stayed uncommitted: ${p##*/}"
  finish_big
  ok
}

# SIGKILL of a random rank at a random moment, up to three times, each run
# continuing from the latest checkpoint; then to the end.  A run that
# finishes before its kill moment ends the series.
case_kill_random() {
  big_setup
  local seed=${FAULTS_SEED:-$(( ($$ ^ $(date +%s)) % 32768 ))} k out r ms kills=0
  RANDOM=$seed
  echo "seed $seed (FAULTS_SEED=$seed repeats the choices, not the timing)"
  for k in 1 2 3; do
    out=$WORK/kill.$k.out
    start_big "$out"
    # The first run is killed once it has a checkpoint, later runs at any
    # moment (while restarting too).
    while [ -z "$(ids_in "$CK")" ] && kill -0 "$JOB" 2>/dev/null; do sleep 0.02; done
    # The first kill must land inside the run (about 0.7 s of work, of
    # which the first checkpoint leaves well over 0.3 s) or the case proves
    # nothing; later ones may come after the end.
    if [ "$k" = 1 ]; then ms=$((RANDOM % 300)); else ms=$((RANDOM % 900)); fi
    r=$((RANDOM % NP))
    sleep "0.$(printf %03d "$ms")"
    if ! kill -KILL "${PIDS[r]}" 2>/dev/null; then
      wait "$JOB"
      RC=$?
      JOB=""
      expect_ok "$out" "the run that ended before kill $k"
      [ "$(answer "$out")" = "$REF" ] || fail "the run that ended before kill $k gave $(answer "$out"), expected $REF"
      echo "kill $k: the run finished first, with the same answer"
      break
    fi
    kills=$((kills + 1))
    echo "kill $k: rank $r (pid ${PIDS[r]}), $ms ms in; directory: $(ls -A "$CK" | tr '\n' ' ')"
    VERIFY=newest after_kill "$out"
  done
  [ $kills -ge 1 ] || fail "no rank was killed: the case proved nothing"
  finish_big
  ok
}

# --- corrupt checkpoints ------------------------------------------------------

# corrupt_case HOW PATTERN...: corrupt rank 2's file of the latest checkpoint
# (HOW is a function taking the file; with NONEMPTY=DATASET, the file of the
# first rank where that dataset is not empty), then
#   - MPISNAP_RESTART=<latest id> fails with a message naming the file and
#     every PATTERN;
#   - MPISNAP_RESTART=latest skips it, says so, and restores the previous one;
#   - the checker reports it.
corrupt_case() {
  local how=$1
  shift
  need_tool h5dump
  need_prog "$RING" "$CKCHECK"
  reference "$RING" "${RING_ARGS[@]}"
  CK=$WORK/ck
  ring_checkpoints "$CK"
  local f r=2 name
  # A channel-state case needs a rank that has some: the first one.
  if [ -n "${NONEMPTY:-}" ]; then
    local i range
    r=""
    for i in $(seq 0 $((NP - 1))); do
      range=$(dset_range "$(rankfile "$CK" "$LATEST" "$i")" "$NONEMPTY")
      if [ -n "$range" ] && [ "${range#* }" -gt 0 ]; then
        r=$i
        break
      fi
    done
    [ -n "$r" ] || fail "no rank has a non-empty $NONEMPTY in checkpoint $LATEST"
  fi
  f=$(rankfile "$CK" "$LATEST" "$r")
  name=${f##*/}
  "$how" "$f"
  run "$WORK/explicit.out" "$NP" MPISNAP_DIR="$CK" MPISNAP_RESTART="$LATEST" \
    "$RING" "${RING_ARGS[@]}"
  expect_error "$WORK/explicit.out" "MPISNAP_RESTART=$LATEST of a damaged checkpoint" \
    "$name" "$@"
  echo "explicit id: $(grep -m1 -F "$name" "$WORK/explicit.out")"
  restart_ok "$WORK/latest.out" latest "MPISNAP_RESTART=latest with a damaged latest" \
    "$CK" "$RING" "${RING_ARGS[@]}"
  grep -q "skipping checkpoint $LATEST" "$WORK/latest.out" || {
    show "$WORK/latest.out"
    fail "the damaged checkpoint $LATEST was not reported as skipped"
  }
  grep -q "^RESTARTED FROM $PREV " "$WORK/latest.out" || {
    show "$WORK/latest.out"
    fail "did not fall back to checkpoint $PREV"
  }
  echo "latest: $(grep -m1 'skipping checkpoint' "$WORK/latest.out"); $(grep -m1 '^RESTARTED' "$WORK/latest.out"), same answer"
  if "$CKCHECK" "$CK" >"$WORK/ckcheck.out" 2>&1; then
    show "$WORK/ckcheck.out"
    fail "the checker did not notice the damage"
  fi
  grep -qF "$name" "$WORK/ckcheck.out" || fail "the checker did not name the file"
  ok
}

truncate_half() { truncate -s $(($(stat -c %s "$1") / 2)) "$1"; }
flip_dataset() { # FILE DATASET
  local r
  r=$(dset_range "$1" "$2")
  [ -n "$r" ] || fail "cannot locate $2 in $1"
  set -- "$1" "$2" $r
  [ "$4" -gt 0 ] || fail "$2 is empty in $1: nothing to flip"
  flip "$1" $(($3 + $4 / 2))
  echo "flipped byte $(($3 + $4 / 2)) of $2 (bytes $3..$(($3 + $4 - 1))) in ${1##*/}"
}
flip_vardata() { flip_dataset "$1" /vars/hash; }
flip_payload() { flip_dataset "$1" /channels/payload; }
flip_messages() { flip_dataset "$1" /channels/messages; }
flip_attribute() {
  # The value of the root attribute "program" (the program's name).
  local off
  off=$(grep -boa 'e2e_ring' "$1" | head -1 | cut -d: -f1)
  [ -n "$off" ] || fail "cannot locate the attribute /program in $1"
  flip "$1" $((off + 3))
  echo "flipped byte $((off + 3)) in the value of attribute /program of ${1##*/}"
}
not_hdf5() { printf 'this is not a checkpoint\n' >"$1"; }
foreign_hdf5() {
  need_tool h5import
  rm -f "$1"
  printf '1 2 3 4\n' >"$WORK/data.txt"
  h5import "$WORK/data.txt" -dims 4 -type TEXTIN -size 32 -o "$1" >/dev/null ||
    fail "h5import failed"
}

case_truncated() { corrupt_case truncate_half "damaged HDF5 file"; }
case_flip_vardata() { corrupt_case flip_vardata "/vars/hash" "checksum"; }
case_flip_payload() { NONEMPTY=/channels/payload corrupt_case flip_payload "/channels/payload" "checksum"; }
case_flip_messages() { NONEMPTY=/channels/messages corrupt_case flip_messages "/channels/messages"; }
case_flip_attribute() { corrupt_case flip_attribute "checksum"; }
case_not_hdf5() { corrupt_case not_hdf5 "not an HDF5 file"; }
case_foreign_hdf5() { corrupt_case foreign_hdf5 "not an mpisnap checkpoint"; }

# The master file damaged or replaced: the same, naming checkpoint.h5.
case_master() {
  need_tool h5dump
  need_prog "$RING" "$CKCHECK"
  reference "$RING" "${RING_ARGS[@]}"
  CK=$WORK/ck
  ring_checkpoints "$CK"
  local m i=0
  m=$(ckdir "$CK" "$LATEST")/checkpoint.h5
  cp "$m" "$WORK/master.orig"
  for how in not_hdf5 foreign_hdf5 rankfile_as_master truncate_half; do
    i=$((i + 1))
    cp "$WORK/master.orig" "$m"
    "$how" "$m"
    run "$WORK/explicit.$i.out" "$NP" MPISNAP_DIR="$CK" MPISNAP_RESTART="$LATEST" \
      "$RING" "${RING_ARGS[@]}"
    expect_error "$WORK/explicit.$i.out" "master file: $how, restart from $LATEST" "checkpoint.h5"
    echo "master file, $how: $(grep -m1 -F 'checkpoint.h5' "$WORK/explicit.$i.out")"
  done
  restart_ok "$WORK/latest.out" latest "MPISNAP_RESTART=latest with a damaged master file" \
    "$CK" "$RING" "${RING_ARGS[@]}"
  grep -q "skipping checkpoint $LATEST" "$WORK/latest.out" || fail "checkpoint $LATEST not skipped"
  grep -q "^RESTARTED FROM $PREV " "$WORK/latest.out" || fail "did not fall back to $PREV"
  ok
}
rankfile_as_master() { cp "$(dirname "$1")/rank-000000.h5" "$1"; }

# Every single-byte change of a rank file and of a master file is either
# detected by the reader or leaves what it reads unchanged.
case_flip_every_byte() {
  need_prog "$RING" "$FLIPALL"
  reference "$RING" "${RING_ARGS[@]}"
  CK=$WORK/ck
  ring_checkpoints "$CK"
  "$FLIPALL" "$(ckdir "$CK" "$LATEST")" 2 >"$WORK/flipall.out" 2>&1 || {
    show "$WORK/flipall.out"
    fail "a corrupted byte went unnoticed or crashed the reader"
  }
  tail -2 "$WORK/flipall.out"
  ok
}

# --- a checkpoint of another program, another number of ranks, unknown ids ----

case_other_program() {
  need_prog "$RING" "$STENCIL"
  reference "$RING" "${RING_ARGS[@]}"
  CK=$WORK/ck
  ring_checkpoints "$CK"
  run "$WORK/latest.out" "$NP" MPISNAP_DIR="$CK" MPISNAP_RESTART=latest "$STENCIL" 100 50
  expect_error "$WORK/latest.out" "the stencil restarted from the ring's checkpoint" "'u'"
  echo "latest: $(grep -m1 -F "'u'" "$WORK/latest.out")"
  run "$WORK/explicit.out" "$NP" MPISNAP_DIR="$CK" MPISNAP_RESTART="$PREV" "$STENCIL" 100 50
  expect_error "$WORK/explicit.out" "the stencil restarted from checkpoint $PREV of the ring" "'u'"
  # The ring's checkpoints were not harmed.
  restart_ok "$WORK/ring.out" latest "the ring from its own checkpoint" "$CK" "$RING" "${RING_ARGS[@]}"
  ok
}

# A checkpoint written under another MPI implementation is refused, naming
# both (its packed data is in the writing MPI's format); one of the same
# family (another version) restarts.  The other MPI is simulated by
# rewriting the identity the checkpoint records (faults_setmpi).
case_other_mpi() {
  need_prog "$RING" "$SETMPI"
  reference "$RING" "${RING_ARGS[@]}"
  CK=$WORK/ck
  ring_checkpoints "$CK"
  local latest prev rec own other
  latest=$(printf '%s/ckpt-%06d' "$CK" "$LATEST")
  prev=$(printf '%s/ckpt-%06d' "$CK" "$PREV")
  rec=$("$SETMPI" "$latest") || fail "cannot read the recorded MPI of $latest"
  echo "recorded: $rec"
  case $rec in
    "Open MPI"*) own="Open MPI"; other="MPICH Version: 4.0.2" ;;
    MPICH*) own="MPICH"; other="Open MPI v4.1.4, package: Debian OpenMPI" ;;
    *) fail "the checkpoint records '$rec', neither Open MPI nor MPICH" ;;
  esac
  # Written under the other MPI: refused, also by latest (no fallback to an
  # older checkpoint, which would silently lose work).
  "$SETMPI" "$latest" "$other" || fail "cannot rewrite $latest"
  "$SETMPI" "$prev" "$other" || fail "cannot rewrite $prev"
  for spec in latest "$LATEST"; do
    run "$WORK/other.$spec.out" "$NP" MPISNAP_DIR="$CK" MPISNAP_RESTART="$spec" \
      "$RING" "${RING_ARGS[@]}"
    expect_error "$WORK/other.$spec.out" "MPISNAP_RESTART=$spec of a checkpoint written under $other" \
      "checkpoint $LATEST was written under ${other%% *}" "this run uses $own" "restart under the MPI that wrote it"
    if grep -q '^RESTARTED FROM' "$WORK/other.$spec.out"; then
      show "$WORK/other.$spec.out"
      fail "MPISNAP_RESTART=$spec restarted although the checkpoint is another MPI's"
    fi
  done
  echo "other MPI: $(grep -m1 'written under' "$WORK/other.latest.out")"
  # The same family, another version: restarts.
  "$SETMPI" "$latest" "$own v99.0 (test)" || fail "cannot rewrite $latest"
  restart_ok "$WORK/same.out" latest "a checkpoint of another $own version" "$CK" "$RING" "${RING_ARGS[@]}"
  # Not recorded (checkpoints of versions before it was): Open MPI's, the
  # only MPI those versions built with.
  "$SETMPI" "$latest" "" || fail "cannot rewrite $latest"
  [ -z "$("$SETMPI" "$latest")" ] || fail "the attribute mpi was not removed"
  if [ "$own" = "Open MPI" ]; then
    restart_ok "$WORK/none.out" latest "a checkpoint with no MPI recorded" "$CK" "$RING" "${RING_ARGS[@]}"
  else
    run "$WORK/none.out" "$NP" MPISNAP_DIR="$CK" MPISNAP_RESTART=latest "$RING" "${RING_ARGS[@]}"
    expect_error "$WORK/none.out" "a checkpoint with no MPI recorded, under $own" \
      "written under Open MPI (not recorded: an Open MPI build)"
  fi
  ok
}

case_nranks() {
  need_prog "$RING"
  reference "$RING" "${RING_ARGS[@]}"
  CK=$WORK/ck
  ring_checkpoints "$CK"
  local spec np
  for np in 3 5; do
    for spec in latest $([ "$np" = 3 ] && echo "$LATEST auto"); do
      run "$WORK/np$np.$spec.out" "$np" MPISNAP_DIR="$CK" MPISNAP_RESTART="$spec" \
        "$RING" "${RING_ARGS[@]}"
      expect_error "$WORK/np$np.$spec.out" "MPISNAP_RESTART=$spec on $np ranks" \
        "$NP ranks" "has $np"
    done
    echo "$np ranks: $(grep -m1 'ranks' "$WORK/np$np.latest.out")"
  done
  restart_ok "$WORK/same.out" latest "the same checkpoint on $NP ranks" "$CK" "$RING" "${RING_ARGS[@]}"
  ok
}

case_unknown_id() {
  need_prog "$RING"
  reference "$RING" "${RING_ARGS[@]}"
  CK=$WORK/ck
  ring_checkpoints "$CK"
  run "$WORK/unknown.out" "$NP" MPISNAP_DIR="$CK" MPISNAP_RESTART=999999 "$RING" "${RING_ARGS[@]}"
  expect_error "$WORK/unknown.out" "MPISNAP_RESTART=999999" "999999" "$CK"
  echo "unknown id: $(grep -m1 999999 "$WORK/unknown.out")"
  # An id that exists only as an abandoned (partial) checkpoint is unknown too.
  local n=$((LATEST + 1))
  cp -r "$(ckdir "$CK" "$LATEST")" "$(printf '%s/.ckpt-%06d.partial' "$CK" $n)"
  run "$WORK/partial.out" "$NP" MPISNAP_DIR="$CK" MPISNAP_RESTART=$n "$RING" "${RING_ARGS[@]}"
  expect_error "$WORK/partial.out" "MPISNAP_RESTART=$n (only partial)" "$n"
  # A removed checkpoint (an id below the kept ones).
  rm -rf "$(ckdir "$CK" "$PREV")"
  run "$WORK/removed.out" "$NP" MPISNAP_DIR="$CK" MPISNAP_RESTART="$PREV" "$RING" "${RING_ARGS[@]}"
  expect_error "$WORK/removed.out" "MPISNAP_RESTART=$PREV (removed)" "$PREV"
  # latest in a directory without checkpoints: an error; auto: a fresh start.
  mkdir -p "$WORK/empty"
  run "$WORK/empty.out" "$NP" MPISNAP_DIR="$WORK/empty" MPISNAP_RESTART=latest "$RING" "${RING_ARGS[@]}"
  expect_error "$WORK/empty.out" "MPISNAP_RESTART=latest in an empty directory" "latest" "$WORK/empty"
  echo "latest, none: $(grep -m1 latest "$WORK/empty.out")"
  restart_ok "$WORK/auto.out" auto "MPISNAP_RESTART=auto in an empty directory" "$WORK/empty" \
    "$RING" "${RING_ARGS[@]}"
  grep -q '^RESTARTED' "$WORK/auto.out" && fail "auto restarted from nothing"
  ok
}

# --- the disk fills up ---------------------------------------------------------

# PROBLEMS collects what went wrong in a case that goes on after a failed
# check, to report everything at the end.
PROBLEMS=()
problem() {
  echo "PROBLEM: $*"
  PROBLEMS+=("$*")
}

case_disk_full() {
  need_prog "$BIG"
  [ "$(id -u)" -eq 0 ] || skip "mounting a small tmpfs needs root"
  local mnt=$WORK/mnt out
  mkdir -p "$mnt"
  mount -t tmpfs -o size=4m tmpfs "$mnt" 2>"$WORK/mount.err" ||
    skip "cannot mount a 4 MiB tmpfs: $(cat "$WORK/mount.err")"
  MOUNTS+=("$mnt")
  # 1. 8 MiB of state on a 4 MiB disk: no checkpoint fits; the program goes
  # on, says why its checkpoints fail, and finishes with the right answer.
  local args=(2048 120 2000 c)
  reference "$BIG" "${args[@]}"
  out=$WORK/full1.out
  run "$out" "$NP" MPISNAP_DIR="$mnt" MPISNAP_EVERY=20 "$BIG" "${args[@]}"
  grep -q 'failed' "$out" || problem "nothing fits: no checkpoint failure was reported"
  grep -q 'No space left on device' "$out" ||
    problem "nothing fits: no message says the disk is full (No space left on device); it says: $(grep -m1 'failed' "$out" | cut -c1-300)"
  [ "$(answer "$out")" = "$REF" ] || problem "nothing fits: answer '$(answer "$out")', expected '$REF'"
  [ "$RC" -eq 0 ] || problem "nothing fits: exit status $RC, expected 0$(grep -q 'signal 11\|Segmentation' "$out" && echo ' (a rank crashed: Segmentation fault)')"
  [ -z "$(ids_in "$mnt")" ] || problem "nothing fits: a checkpoint was committed"
  find "$mnt" -name 'rank-*.h5' -size 0 | grep -q . &&
    problem "nothing fits: empty rank files left behind: $(find "$mnt" -name 'rank-*.h5' -size 0 | sed "s|$mnt/||" | tr '\n' ' ')"
  echo "nothing fits: exit $RC, $(answer "$out"); $(grep -m1 'failed' "$out" | cut -c1-200)"
  # 2. 2 MiB per checkpoint: the first commits, the next ones do not fit;
  # the program goes on, and the first one still restores.
  umount "$mnt" && mount -t tmpfs -o size=4m tmpfs "$mnt" || fail "cannot remount the tmpfs"
  args=(512 120 2000 c)
  reference "$BIG" "${args[@]}"
  out=$WORK/full2.out
  run "$out" "$NP" MPISNAP_DIR="$mnt" MPISNAP_EVERY=20 "$BIG" "${args[@]}"
  local rc=$RC
  [ "$(answer "$out")" = "$REF" ] || problem "filling up: answer '$(answer "$out")', expected '$REF'"
  [ "$RC" -eq 0 ] || problem "filling up: exit status $RC, expected 0$(grep -q 'signal 11\|Segmentation' "$out" && echo ' (a rank crashed: Segmentation fault)')"
  grep -q 'failed' "$out" || problem "filling up: no checkpoint failure was reported"
  if [ -z "$(ids_in "$mnt")" ]; then
    problem "filling up: not even the first checkpoint was committed"
  else
    check_dir_consistent "$mnt"
    restart_ok "$WORK/full2r.out" latest "restart from what was committed before the disk filled" \
      "$mnt" "$BIG" "${args[@]}"
    echo "filling up: exit $rc; checkpoints $(ids_in "$mnt" | tr '\n' ' ')committed, then $(grep -c 'failed and was abandoned' "$out") abandoned; $(grep -m1 '^RESTARTED' "$WORK/full2r.out"): same answer"
  fi
  [ ${#PROBLEMS[@]} -eq 0 ] || fail "${#PROBLEMS[@]} problem(s): $(printf '%s; ' "${PROBLEMS[@]}")"
  ok
}

# --- the checkpoint directory ---------------------------------------------------

case_dir_missing() {
  need_prog "$RING"
  run "$WORK/out" "$NP" MPISNAP_DIR="$WORK/no/such/dir" MPISNAP_EVERY=50 "$RING" 100
  expect_error "$WORK/out" "a missing MPISNAP_DIR" "MPISNAP_DIR" "$WORK/no/such/dir"
  echo "$(grep -m1 MPISNAP_DIR "$WORK/out")"
  ok
}

case_dir_file() {
  need_prog "$RING"
  echo "a file" >"$WORK/file"
  run "$WORK/out" "$NP" MPISNAP_DIR="$WORK/file" MPISNAP_EVERY=50 "$RING" 100
  expect_error "$WORK/out" "MPISNAP_DIR naming a regular file" "MPISNAP_DIR" "$WORK/file"
  echo "$(grep -m1 MPISNAP_DIR "$WORK/out")"
  ok
}

case_dir_readonly() {
  need_prog "$RING"
  local d=$WORK/ro
  mkdir -p "$d"
  if [ "$(id -u)" -eq 0 ]; then
    # Root ignores permission bits: a read-only mount it cannot ignore.
    mount -t tmpfs -o size=1m,ro tmpfs "$d" 2>"$WORK/mount.err" ||
      skip "cannot mount a read-only tmpfs: $(cat "$WORK/mount.err")"
    MOUNTS+=("$d")
  else
    chmod 555 "$d"
  fi
  run "$WORK/out" "$NP" MPISNAP_DIR="$d" MPISNAP_EVERY=50 "$RING" 100
  expect_error "$WORK/out" "a read-only MPISNAP_DIR" "MPISNAP_DIR" "$d" "not writable"
  echo "$(grep -m1 MPISNAP_DIR "$WORK/out")"
  ok
}

# --- bad configuration -----------------------------------------------------------

# bad_value VAR VALUE: the job stops (non-zero) with a message naming both.
# With SOFT=1 a value that is accepted is collected in BAD instead of
# failing at once.
SOFT=0
BAD=()
bad_value() {
  local out=$WORK/bad.$1.$RANDOM.out
  mkdir -p "$WORK/ck"
  run "$out" "$NP" MPISNAP_DIR="$WORK/ck" "$1=$2" "$RING" 50
  if [ "$SOFT" = 1 ] && [ "$RC" -eq 0 ]; then
    BAD+=("$1='$2'")
    echo "$1='$2': ACCEPTED (exit 0, $(answer "$out"))"
    return 0
  fi
  expect_error "$out" "$1='$2'" "$1" "$2"
  grep -F -- "$1" "$out" | grep -qF -- "$2" || {
    show "$out"
    fail "$1='$2': no line names both the variable and the value"
  }
  echo "$1='$2': $(grep -F -- "$1" "$out" | grep -F -- "$2" | head -1)"
}

case_bad_env() {
  need_prog "$RING"
  bad_value MPISNAP_INTERVAL abc
  bad_value MPISNAP_EVERY -1
  bad_value MPISNAP_RESTART bogus
  bad_value MPISNAP_VERBOSE x
  bad_value MPISNAP_SIGNAL NOPE
  bad_value MPISNAP_EXIT_SIGNAL NOPE
  bad_value MPISNAP_WALLTIME 0
  bad_value MPISNAP_WALLTIME_MARGIN -3
  bad_value MPISNAP_KEEP -1
  bad_value MPISNAP_LOG_MEM x
  bad_value MPISNAP_TEST_TRIGGER 0
  bad_value MPISNAP_FAST yes
  bad_value MPISNAP_SYNC_INTERVAL soon
  # Collective mode places its control rounds by MPISNAP_EVERY: one rank
  # counting differently must stop the job with a message, not misplace
  # the rounds.  Rank 1 alone gets another value (the launchers' own rank
  # variables, Open MPI's and Hydra's).
  local out=$WORK/bad.every-differs.out
  run "$out" "$NP" MPISNAP_DIR="$WORK/ck" MPISNAP_EVERY=4 sh -c \
    'r=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-}}; [ -n "$r" ] || exit 99
     [ "$r" != 1 ] || export MPISNAP_EVERY=5; exec "$@"' sh "$RING" 50
  expect_error "$out" "MPISNAP_EVERY 4 on rank 0, 5 on rank 1" \
    "MPISNAP_EVERY differs between ranks (4 to 5)"
  echo "$(grep -m1 'MPISNAP_EVERY differs' "$out")"
  ok
}

# Values that parse as numbers but are not sensible ones.
case_bad_env_edge() {
  need_prog "$RING"
  SOFT=1
  bad_value MPISNAP_EVERY 2.5
  bad_value MPISNAP_SIGNAL KILL
  bad_value MPISNAP_SIGNAL 9
  bad_value MPISNAP_RESTART 0
  bad_value MPISNAP_RESTART -1
  bad_value MPISNAP_INTERVAL nan
  bad_value MPISNAP_WALLTIME nan
  bad_value MPISNAP_WALLTIME_MARGIN nan
  bad_value MPISNAP_EVERY 1e300
  bad_value MPISNAP_KEEP 4294967296
  bad_value MPISNAP_LOG_MEM " -1"
  bad_value MPISNAP_TEST_TRIGGER " -1"
  bad_value MPISNAP_SYNC_INTERVAL 3601
  bad_value MPISNAP_SYNC_INTERVAL nan
  [ ${#BAD[@]} -eq 0 ] || fail "accepted: ${BAD[*]}"
  ok
}

# --- requests while a checkpoint is being written ---------------------------------

case_coalesce() {
  need_prog "$BIG" "$CKCHECK"
  local args mode out ids n req seq
  for mode in c i; do
    # a. A burst: rank 0 asks before safe point 10, and again before the
    # 3 safe points after it recorded that checkpoint (32 MiB), while it is
    # still being written: exactly one more checkpoint follows, not none
    # and not four.
    args=(8192 200 2000 "$mode" 2)
    reference "$BIG" "${args[@]}"
    CK=$WORK/ck.$mode.burst
    mkdir -p "$CK"
    out=$WORK/burst.$mode.out
    run "$out" "$NP" MPISNAP_DIR="$CK" MPISNAP_KEEP=0 MPISNAP_VERBOSE=1 "$BIG" "${args[@]}"
    expect_ok "$out" "a burst of requests ($mode)"
    [ "$(answer "$out")" = "$REF" ] || fail "burst ($mode): answer $(answer "$out"), expected $REF"
    grep -qi 'failed\|error\|not committed' "$out" && { show "$out"; fail "burst ($mode): an error was reported"; }
    n=$(sed -n 's/^REQUESTS.* WHILE_WRITING \([0-9]*\).*/\1/p' "$out")
    [ "${n:-0}" -ge 1 ] || { show "$out"; fail "burst ($mode): no request was made while the first checkpoint was written"; }
    ids=$(ids_in "$CK" | tr '\n' ' ')
    [ "$ids" = "1 2 " ] || { show "$out"; fail "burst ($mode): committed checkpoints '$ids', expected '1 2 '"; }
    ls -A "$CK" | grep -q partial && fail "burst ($mode): abandoned checkpoints left behind: $(ls -A "$CK" | grep partial | tr '\n' ' ')"
    check_dir_consistent "$CK"
    echo "1 request + $n while it was written, mode $mode: checkpoints $ids($(grep -m1 '^REQUESTS' "$out"))"
    # b. A request before every safe point (16 MiB checkpoints): one
    # checkpoint follows another, each committed, none failed or lost.
    args=(4096 100 2000 "$mode" 1)
    reference "$BIG" "${args[@]}"
    CK=$WORK/ck.$mode.every
    mkdir -p "$CK"
    out=$WORK/every.$mode.out
    run "$out" "$NP" MPISNAP_DIR="$CK" MPISNAP_VERBOSE=1 "$BIG" "${args[@]}"
    expect_ok "$out" "a request at every safe point ($mode)"
    [ "$(answer "$out")" = "$REF" ] || fail "every ($mode): answer $(answer "$out"), expected $REF"
    seq=$(sed -n 's/^mpisnap: committed checkpoint \([0-9]*\):.*/\1/p' "$out")
    n=$(echo "$seq" | wc -w)
    # In independent mode a request still pending when the first rank
    # reaches its last safe point starts a snapshot that the others record
    # only in mpisnap_finalize, after the program's final MPI_Reduce: that
    # one is rightly abandoned ("a collective straddles the checkpoint").
    local late=""
    if [ "$mode" = i ] && grep -q "^mpisnap: checkpoint $((n + 1)) not committed: .*a collective straddles the checkpoint" "$out"; then
      late=$((n + 1))
      sed -i "/checkpoint $late not committed: .*a collective straddles/d; /checkpoint $late failed and was abandoned/d" "$out"
      rm -rf "$(printf '%s/.ckpt-%06d.partial' "$CK" "$late")"
    fi
    grep -qi 'failed\|error\|not committed' "$out" && { show "$out"; fail "every ($mode): an error was reported"; }
    req=$(sed -n 's/^REQUESTS \([0-9]*\).*/\1/p' "$out")
    [ "$n" -ge 2 ] || { show "$out"; fail "every ($mode): only $n checkpoints committed for ${req:-?} requests"; }
    [ "$seq" = "$(seq 1 "$n")" ] || fail "every ($mode): committed ids not 1..$n (some abandoned): $(echo $seq)"
    [ "$n" -lt "${req:-0}" ] || fail "every ($mode): $n checkpoints for ${req:-0} requests: not coalesced"
    grep -q "^COMMITTED $n\$" "$out" || fail "every ($mode): rank 0 knows of $(grep '^COMMITTED' "$out"), $n were reported"
    [ "$(ids_in "$CK" | tail -1)" = "$n" ] || fail "every ($mode): the newest on disk is not $n"
    ls -A "$CK" | grep -q partial && fail "every ($mode): abandoned checkpoints left behind without a message: $(ls -A "$CK" | grep partial | tr '\n' ' ')"
    check_dir_consistent "$CK"
    echo "a request before each of $req safe points, mode $mode: $n checkpoints, ids 1..$n, none failed${late:+ (the last one, $late, straddled the final MPI_Reduce and was abandoned)}"
  done
  ok
}

# In collective mode every rank records at the same safe point (DESIGN.md,
# "Control rounds"), also when a checkpoint is wanted at every safe point
# and the ranks drift a few iterations apart (the token ring lets them);
# every snapshot is committed or reported; and a checkpoint restores.
case_collective_points() {
  need_tool h5dump
  need_prog "$BIG" "$CKCHECK"
  local args=(4096 100 2000 c) out d r pts bad=() id try ids
  reference "$BIG" "${args[@]}"
  for try in 1 2; do
    CK=$WORK/ck.$try
    mkdir -p "$CK"
    out=$WORK/every1.$try.out
    run "$out" "$NP" MPISNAP_DIR="$CK" MPISNAP_EVERY=1 MPISNAP_KEEP=0 "$BIG" "${args[@]}"
    expect_ok "$out" "MPISNAP_EVERY=1 in collective mode"
    [ "$(answer "$out")" = "$REF" ] || fail "MPISNAP_EVERY=1: answer $(answer "$out"), expected $REF"
    ls -A "$CK" | grep -q partial &&
      problem "run $try: snapshots neither committed nor reported: $(ls -A "$CK" | grep partial | tr '\n' ' ')"
    for d in "$CK"/ckpt-* "$CK"/.ckpt-*.partial; do
      [ -d "$d" ] || continue
      pts=""
      for r in $(seq 0 $((NP - 1))); do
        [ -f "$d/$(printf 'rank-%06d.h5' "$r")" ] || continue
        pts="$pts $(h5dump -a /point_index "$d/$(printf 'rank-%06d.h5' "$r")" | sed -n 's/^ *(0): //p')"
      done
      if [ "$(echo $pts | tr ' ' '\n' | sort -u | wc -l)" -gt 1 ]; then
        bad+=("$try:${d##*/}")
        problem "run $try: ${d##*/} recorded at different safe points on the ranks:$pts"
      fi
      # Collectives called before the record, per communicator: the same
      # on every member (else a collective straddles the cut).
      local colls
      colls=$(for r in $(seq 0 $((NP - 1))); do
        h5ls -d -S "$d/$(printf 'rank-%06d.h5' "$r")/channels/collectives" 2>/dev/null |
          grep -o 'comm_key=[0-9]*, count=[0-9]*' | sed 's/comm_key=//; s/, count=/ /'
      done | sort | uniq | awk '{n[$1]++; c[$1] = c[$1] " " $2} END {for (k in n) if (n[k] > 1) print "communicator " k ":" c[k]}')
      [ -z "$colls" ] ||
        problem "run $try: ${d##*/}: the ranks disagree on the collectives called before the cut ($colls)"
    done
  done
  # A committed checkpoint whose ranks recorded at different points must
  # still restore (the first such one), as must the newest.
  for id in "${bad[@]}"; do
    try=${id%%:*}
    d=${id#*:}
    case $d in ckpt-*) ;; *) continue ;; esac
    id=$((10#${d#ckpt-}))
    RUN_TIMEOUT=20 run_soft "$WORK/restart.$try.$id.out" "$NP" MPISNAP_DIR="$WORK/ck.$try" \
      MPISNAP_RESTART="$id" "$BIG" "${args[@]}"
    if [ "$RC" -eq 124 ]; then
      problem "restart from checkpoint $id (run $try) hangs: $(grep -m1 RESTARTED "$WORK/restart.$try.$id.out")"
    elif [ "$RC" -ne 0 ] || [ "$(answer "$WORK/restart.$try.$id.out")" != "$REF" ]; then
      problem "restart from checkpoint $id (run $try): exit $RC, $(answer "$WORK/restart.$try.$id.out")"
    fi
    break
  done
  id=$(ids_in "$WORK/ck.1" | tail -1)
  RUN_TIMEOUT=20 run_soft "$WORK/restart.latest.out" "$NP" MPISNAP_DIR="$WORK/ck.1" \
    MPISNAP_RESTART="$id" "$BIG" "${args[@]}"
  if [ "$RC" -eq 124 ]; then
    problem "restart from the newest checkpoint $id (run 1) hangs: $(grep -m1 RESTARTED "$WORK/restart.latest.out")"
  elif [ "$RC" -ne 0 ] || [ "$(answer "$WORK/restart.latest.out")" != "$REF" ]; then
    problem "restart from the newest checkpoint $id (run 1): exit $RC, $(answer "$WORK/restart.latest.out")"
  fi
  echo "two runs with MPISNAP_EVERY=1: $(ids_in "$WORK/ck.1" | wc -l) and $(ids_in "$WORK/ck.2" | wc -l) checkpoints"
  [ ${#PROBLEMS[@]} -eq 0 ] || fail "${#PROBLEMS[@]} problem(s): $(printf '%s; ' "${PROBLEMS[@]}")"
  ok
}

# ----------------------------------------------------------------------------------

CASES="kill-write kill-commit kill-random truncated flip-vardata flip-payload
flip-messages flip-attribute not-hdf5 foreign-hdf5 master flip-every-byte
other-program other-mpi nranks unknown-id disk-full dir-missing dir-file dir-readonly
bad-env bad-env-edge coalesce collective-points"

if [ "$CASE" = list ]; then
  echo $CASES
  exit 0
fi
[ -n "$BUILD" ] || [ -n "${FAULTS_RING:-}" ] || {
  echo "usage: faults.sh CASE BUILD_DIR" >&2
  exit 2
}
fn=case_${CASE//-/_}
declare -F "$fn" >/dev/null || {
  echo "faults.sh: no case '$CASE' (cases: $(echo $CASES))" >&2
  exit 2
}
"$fn"
