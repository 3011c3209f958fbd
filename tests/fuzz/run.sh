#!/usr/bin/env bash
# Fuzz the checkpoint readers for a bounded time.
#
# usage: run.sh FUZZER SECONDS NAME       (NAME: part or struct)
#
# First replays every input regress/NAME-* (each must pass), then fuzzes for
# SECONDS from them and, for fuzz_part, the seed corpus (corpus/: real rank
# and master files).  A crash, hang, leak outside HDF5 or sanitizer report
# fails the test; the input that caused it is kept in the test's working
# directory (fuzz-artifacts-NAME/) and belongs in tests/fuzz/regress/.
# Exits 77 (skipped) when the fuzzer was not built (no clang with libFuzzer).
set -u
fuzzer=$1
secs=${2:-60}
name=${3:-part}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$fuzzer" ]; then
  echo "fuzz: SKIP: $fuzzer was not built (no clang with libFuzzer at configure time)"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
art=$PWD/fuzz-artifacts-$name
mkdir -p "$art" "$work/corpus"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}abort_on_error=0"

# 1. Known crashers stay fixed.
regress=()
for f in "$here"/regress/"$name"-*; do
  [ -f "$f" ] && regress+=("$f")
done
if [ ${#regress[@]} -gt 0 ]; then
  if ! "$fuzzer" -timeout=20 "${regress[@]}" >"$work/regress.log" 2>&1; then
    tail -60 "$work/regress.log"
    echo "fuzz: FAIL: a regression input $here/regress/$name-* crashes the reader again"
    exit 1
  fi
  echo "fuzz: ${#regress[@]} regression inputs pass"
fi

# 2. Fuzz.  New inputs go to a scratch corpus; the checked-in ones are read.
seeds=()
[ "$name" = part ] && seeds+=("$here/corpus")
[ ${#regress[@]} -gt 0 ] && { mkdir -p "$work/regress"; cp "${regress[@]}" "$work/regress/"; seeds+=("$work/regress"); }
"$fuzzer" -max_total_time="$secs" -timeout=20 -max_len=16384 \
  -artifact_prefix="$art/" -print_final_stats=1 \
  "$work/corpus" "${seeds[@]}" >"$work/fuzz.log" 2>&1
rc=$?
grep -E '^(stat::|Done )' "$work/fuzz.log"
if [ $rc -ne 0 ]; then
  grep -vE '^#[0-9]+' "$work/fuzz.log" | tail -80
  echo "fuzz: FAIL: exit status $rc; the input is in $art:"
  ls -l "$art"
  echo "fuzz: add it to $here/regress/ as $name-WHAT.bin"
  exit 1
fi
echo "fuzz: $name ok (${secs} s, no crash)"
