#!/bin/sh
# Every MPI function libmpisnap wraps in C must have its Fortran entry
# points in libmpisnap too, under every name the MPI library's Fortran
# bindings define for it: otherwise a Fortran call could reach MPI
# without passing through the layer (src/pmpi/fortran.def).
#
# usage: coverage.sh LIBMPISNAP [MPI_FORTRAN_LIBRARY...]
set -u
lib=$1
shift
dir=$(mktemp -d "${TMPDIR:-/tmp}/coverage.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT

defined() { nm -D --defined-only "$1" | awk '{print $NF}' | sed 's/@.*//' | sort -u; }
defined "$lib" > "$dir/ours"
# The C wrappers: MPI_ followed by a capital and lower-case letters.
grep -E '^MPI_[A-Z][a-z_]*[a-z]$' "$dir/ours" | grep -Ev '_f(08)?$' > "$dir/wrapped"
n=$(wc -l < "$dir/wrapped")
[ "$n" -gt 50 ] || { echo "coverage.sh: only $n C wrappers found in $lib"; exit 1; }

status=0
: > "$dir/want"
while read -r c; do
  low=$(echo "$c" | tr 'A-Z' 'a-z')
  up=$(echo "$c" | tr 'a-z' 'A-Z')
  printf '%s\n' "${low}_" "${low}__" "$low" "$up" "${low}_f08_" >> "$dir/want"
done < "$dir/wrapped"
# The MPI library's own Fortran names of those functions (not pmpi_*):
# any mangling of mpi_<name>, mpi_<name>_f08, MPI_<Name>_f, MPI_<Name>_f08.
tr 'A-Z' 'a-z' < "$dir/wrapped" > "$dir/wrapped.lower"
for f in "$@"; do
  defined "$f" | awk 'NR == FNR { w[$1] = 1; next }
    { b = tolower($1); sub(/_+$/, "", b); sub(/_f(08)?$/, "", b)
      if (b in w) print $1 }' "$dir/wrapped.lower" - >> "$dir/want"
done
sort -u "$dir/want" > "$dir/want.sorted"
missing=$(comm -23 "$dir/want.sorted" "$dir/ours")
if [ -n "$missing" ]; then
  echo "coverage.sh: Fortran entry points of wrapped MPI functions that libmpisnap does not define:"
  echo "$missing" | sed 's/^/  /'
  status=1
fi
echo "coverage.sh: $n wrapped functions, $(wc -l < "$dir/want.sorted") Fortran names checked"
[ $status -eq 0 ] && echo "coverage.sh: ok"
exit $status
