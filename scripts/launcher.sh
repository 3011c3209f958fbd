# shellcheck shell=bash
# Sourced by the scripts that launch MPI jobs (scripts/peer.sh, scripts/demo.sh,
# bench/run-*.sh): which launcher a build uses, and how to spell its options.
#
#   launcher_detect BUILD_DIR   sets launcher_mpiexec (the build's
#                               MPIEXEC_EXECUTABLE, else mpirun) and
#                               launcher_hydra (true for MPICH's Hydra mpiexec,
#                               false for Open MPI's mpirun)
#   launcher_is_hydra MPIEXEC   exit status 0 when MPIEXEC is Hydra's
#   launcher_is_openmpi MPIEXEC exit status 0 when MPIEXEC is Open MPI's
#   launcher_env ARRAY NAME VALUE
#                               appends to ARRAY what passes NAME=VALUE to every
#                               rank: -genv NAME VALUE (Hydra), -x NAME=VALUE
#   launcher_bind ARRAY NP      appends the binding for NP ranks: one core per
#                               rank when there are enough cores, else none
#                               (Open MPI also needs --oversubscribe then)
#
# The version text is read whole before it is searched: piping it into
# `grep -q` lets grep exit at the first match, the launcher then dies of
# SIGPIPE, and under `set -o pipefail` an MPICH build was taken for Open MPI
# whenever that race went the other way.

launcher_is_hydra() {
  local version
  version=$("$1" --version 2>&1 || true)
  [[ $version == *HYDRA* ]]
}

launcher_is_openmpi() {
  local version
  version=$("$1" --version 2>&1 || true)
  [[ $version == *"Open MPI"* || $version == *OpenRTE* ]]
}

launcher_detect() {
  local cache=$1/CMakeCache.txt
  launcher_mpiexec=$(sed -n 's/^MPIEXEC_EXECUTABLE:[A-Z]*=//p' "$cache" 2>/dev/null || true)
  launcher_hydra=false
  if [[ -n $launcher_mpiexec ]] && launcher_is_hydra "$launcher_mpiexec"; then
    launcher_hydra=true
  fi
  [[ -n $launcher_mpiexec ]] || launcher_mpiexec=mpirun
  return 0
}

launcher_env() {
  # shellcheck disable=SC2178 # a nameref to the caller's array
  local -n launcher_args_=$1
  if ${launcher_hydra:-false}; then
    launcher_args_+=(-genv "$2" "$3")
  else
    launcher_args_+=(-x "$2=$3")
  fi
}

launcher_bind() {
  # shellcheck disable=SC2178 # a nameref to the caller's array
  local -n launcher_args_=$1
  if [[ $2 -le $(nproc) ]]; then
    if ${launcher_hydra:-false}; then launcher_args_+=(-bind-to core); else launcher_args_+=(--bind-to core); fi
  elif ! ${launcher_hydra:-false}; then
    launcher_args_+=(--bind-to none --oversubscribe)
  fi
}
