#!/usr/bin/env bash
# scripts/launcher.sh tells Hydra from Open MPI and spells their options.
# The launchers here are fakes whose --version prints its tell-tale first
# and then far more than a pipe holds: a detection that pipes the text into
# `grep -q` under pipefail (what the scripts did before) sees the launcher
# die of SIGPIPE and takes Hydra for Open MPI, every time.
#
# usage: launcher.sh SOURCE_DIR
set -euo pipefail
top=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$top/scripts/launcher.sh"

fail() { echo "launcher.sh: FAIL: $*"; exit 1; }

fake() { # fake NAME FIRST-LINE
  cat > "$work/$1" <<EOT
#!/bin/sh
echo "$2"
i=0
while [ \$i -lt 20000 ]; do echo "    Configure options: 'padding line \$i of a long build description'"; i=\$((i + 1)); done
EOT
  chmod +x "$work/$1"
}
fake hydra "HYDRA build details:"
fake ompi "mpiexec (OpenRTE) 4.1.4"

launcher_is_hydra "$work/hydra" || fail "Hydra's mpiexec not recognised"
! launcher_is_hydra "$work/ompi" || fail "Open MPI's mpiexec taken for Hydra"
launcher_is_openmpi "$work/ompi" || fail "Open MPI's mpiexec not recognised"
! launcher_is_openmpi "$work/hydra" || fail "Hydra taken for Open MPI"

# From a build's CMake cache, and the options each launcher is given.
mkdir -p "$work/b"
echo "MPIEXEC_EXECUTABLE:FILEPATH=$work/hydra" > "$work/b/CMakeCache.txt"
launcher_detect "$work/b"
[[ $launcher_mpiexec == "$work/hydra" && $launcher_hydra == true ]] ||
  fail "detect: '$launcher_mpiexec' hydra=$launcher_hydra"
args=()
launcher_env args LD_PRELOAD /x/lib.so
launcher_bind args 1
[[ "${args[*]}" == "-genv LD_PRELOAD /x/lib.so -bind-to core" ]] ||
  fail "Hydra options: ${args[*]}"

echo "MPIEXEC_EXECUTABLE:FILEPATH=$work/ompi" > "$work/b/CMakeCache.txt"
launcher_detect "$work/b"
[[ $launcher_hydra == false ]] || fail "detect took Open MPI for Hydra"
args=()
launcher_env args LD_PRELOAD /x/lib.so
launcher_bind args 100000
[[ "${args[*]}" == "-x LD_PRELOAD=/x/lib.so --bind-to none --oversubscribe" ]] ||
  fail "Open MPI options: ${args[*]}"

# No cache: Open MPI's mpirun, as before there was a choice.
launcher_detect "$work/none"
[[ $launcher_mpiexec == mpirun && $launcher_hydra == false ]] ||
  fail "no cache: '$launcher_mpiexec' hydra=$launcher_hydra"
echo "launcher.sh: ok"
