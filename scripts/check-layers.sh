#!/usr/bin/env bash
# Fails if a source file includes a header of a layer it must not see.
#
#   scripts/check-layers.sh [SRC_DIR]     default: src/ beside this script
#
# The layers (docs/DESIGN.md, "Layers"), each a folder of src/, and what
# each may include besides its own headers and the public ones in
# include/ ("mpisnap.h", "mpisnap_errno.h"):
#   core    nothing: the engine is pure (no MPI, no HDF5, no other layer)
#   common  nothing
#   format  core (its record types), common
#   pmpi    core, common, format (the records a snapshot is handed over in)
#   ckpt    core, common, format, and of pmpi only its interface to the
#           runtime: pmpi/iface.h and pmpi/hooks.h
#   cli     format, common
#   lib     nothing
#   fortran nothing: the Fortran module (only Fortran sources; it reaches
#           the library through the public C API and ckpt/fapi.c)
# A folder of src/ that is not listed here is an error too, so a new layer
# must be given its rule.
set -euo pipefail

src=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../src" && pwd)}
declare -A allow=(
  [core]="core"
  [common]="common"
  [format]="format core common"
  [pmpi]="pmpi core common format"
  [ckpt]="ckpt core common format pmpi/iface.h pmpi/hooks.h"
  [cli]="cli format common"
  [lib]="lib"
  [fortran]="fortran"
)

bad=0 checked=0
for dir in "$src"/*/; do
  layer=$(basename "$dir")
  if [[ -z ${allow[$layer]+x} ]]; then
    echo "check-layers: src/$layer/ is not a known layer: give it a rule in $0" >&2
    bad=1
    continue
  fi
  while IFS= read -r file; do
    while IFS= read -r hit; do
      line=${hit%%:*}
      [[ ${hit#*:} =~ include[[:space:]]+\"([^\"]+)\" ]] || continue
      inc=${BASH_REMATCH[1]}
      checked=$((checked + 1))
      ok=0
      case $inc in
        mpisnap.h | mpisnap_errno.h) ok=1 ;;
        */*)
          for a in ${allow[$layer]}; do
            if [[ $a == */* ]]; then
              [[ $inc == "$a" ]] && ok=1
            elif [[ ${inc%%/*} == "$a" ]]; then
              ok=1
            fi
          done ;;
      esac
      if [[ $ok == 0 ]]; then
        echo "check-layers: ${file#"$src"/}:$line includes \"$inc\", which layer '$layer' must not see (allowed: ${allow[$layer]})" >&2
        bad=1
      fi
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$file" || true)
  done < <(find "$dir" -type f \( -name '*.c' -o -name '*.h' \) | sort)
done
if [[ $checked == 0 ]]; then
  echo "check-layers: no #include found under $src: wrong folder?" >&2
  exit 1
fi
[[ $bad == 0 ]] && echo "check-layers: $checked includes checked, every layer sees only what it may"
exit $bad
