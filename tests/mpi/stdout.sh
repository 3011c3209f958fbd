#!/bin/sh
# A program run under mpisnap, with snapshots and diagnostics asked for,
# writes byte for byte the standard output it writes without mpisnap;
# mpisnap's own lines go to standard error (where the balance report must
# then be).
#
# usage: stdout.sh <command without mpisnap...> -- <command with mpisnap...>
# Both commands run with the caller's environment (MPISNAP_TEST_TRIGGER and
# MPISNAP_VERBOSE set by the test); the first ignores it.
set -u

plain=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  plain="$plain '$1'"
  shift
done
[ $# -gt 1 ] || { echo "usage: stdout.sh <plain command...> -- <mpisnap command...>" >&2; exit 2; }
shift

dir=$(mktemp -d "${TMPDIR:-/tmp}/stdout.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT

eval "$plain" >"$dir/plain.out" 2>"$dir/plain.err" || {
  echo "stdout.sh: the run without mpisnap failed:" >&2
  cat "$dir/plain.err" >&2
  exit 1
}
"$@" >"$dir/snap.out" 2>"$dir/snap.err" || {
  echo "stdout.sh: the run under mpisnap failed:" >&2
  cat "$dir/snap.err" >&2
  exit 1
}
status=0
if ! cmp -s "$dir/plain.out" "$dir/snap.out"; then
  echo "stdout.sh: standard output differs under mpisnap:" >&2
  diff "$dir/plain.out" "$dir/snap.out" >&2
  status=1
fi
if ! grep -q 'all balanced' "$dir/snap.err"; then
  echo "stdout.sh: no balance report on standard error (did a snapshot run?):" >&2
  cat "$dir/snap.err" >&2
  status=1
fi
[ $status = 0 ] && echo "stdout: $(wc -c <"$dir/plain.out") bytes identical, report on stderr"
exit $status
