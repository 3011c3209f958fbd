#!/usr/bin/env bash
# The body of every sbatch script in jobs/slurm/: runs one checkpointed
# mpisnap application as a job step, and resubmits the job when the
# application stops with status 85 (MPISNAP_EXIT_CHECKPOINTED: it has
# checkpointed and must be resubmitted to continue).
#
# An sbatch script ends with
#     exec bash "${MPISNAP_JOBS:-$SLURM_SUBMIT_DIR/jobs/slurm}/mpisnap-job.sh" APP [ARGS...]
# so that this script becomes the batch shell and receives the signal of
# `#SBATCH --signal=B:USR2@60`.  It forwards SIGUSR2 to the job step, whose
# ranks then checkpoint at their next safe point and stop with status 85.
# Even without the signal the library stops the program in time: it reads
# the job's end time from SLURM_JOB_END_TIME (Slurm 23.02 and later), or
# this script sets MPISNAP_WALLTIME from squeue's time left.
#
# What it sets, unless already set:
#   MPISNAP_RESTART=auto       continue from the newest checkpoint if any
#   MPISNAP_EXIT_SIGNAL=USR2   the signal that means checkpoint and stop
#   MPISNAP_DIR=$SLURM_SUBMIT_DIR/mpisnap-checkpoints/$SLURM_JOB_NAME
#   MPISNAP_INTERVAL=600       a checkpoint every 10 minutes, against crashes
# Settings:
#   MPISNAP_LAUNCHER   srun (default), mpirun (Open MPI) or mpiexec (MPICH's
#                      Hydra).  How the MPISNAP_* variables reach the ranks:
#                      srun exports this shell's environment (--export=ALL,
#                      Slurm's default); Hydra passes its whole environment
#                      on (-genvall, its default; one variable: -genv VAR VAL);
#                      Open MPI's mpirun passes only what -x names to ranks
#                      on other nodes, so this script adds -x for each
#                      MPISNAP_* variable.
#   MPISNAP_LAUNCHER_FLAGS  extra launcher flags, e.g. "--mpi=pmix"
#   MPISNAP_RESUBMIT   requeue (default: scontrol requeue, the job keeps its
#                      id; needs #SBATCH --requeue) or sbatch (a new job
#                      that depends on this one)
#   MPISNAP_MAX_RESUBMITS  give up after this many resubmissions (default 50)
#
# APP is a path, a command on PATH, or an application name (heat2d, bank,
# kvstore, workers): mpisnap-APP is then looked for on PATH and in
# $SLURM_SUBMIT_DIR/build.
set -uo pipefail

say() { echo "mpisnap-job: $(date +%T) $*"; }
die() { echo "mpisnap-job: $*" >&2; exit 2; }

[ -n "${SLURM_JOB_ID:-}" ] || die "not inside a Slurm job (submit with sbatch)"
[ $# -ge 1 ] || die "usage: mpisnap-job.sh APP [ARGS...]"

app=$1
shift
if [[ $app != */* ]]; then
  for candidate in "$(command -v "$app")" "$(command -v "mpisnap-$app")" \
      "${SLURM_SUBMIT_DIR:-.}/build/mpisnap-$app"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && [ ! -d "$candidate" ]; then
      app=$candidate
      break
    fi
  done
fi
[ -x "$app" ] || die "cannot find the application '$app'"

export MPISNAP_RESTART=${MPISNAP_RESTART:-auto}
export MPISNAP_EXIT_SIGNAL=${MPISNAP_EXIT_SIGNAL:-USR2}
export MPISNAP_DIR=${MPISNAP_DIR:-${SLURM_SUBMIT_DIR:-.}/mpisnap-checkpoints/${SLURM_JOB_NAME:-job}}
if [ -z "${MPISNAP_INTERVAL:-}" ] && [ -z "${MPISNAP_EVERY:-}" ]; then
  export MPISNAP_INTERVAL=600
fi
mkdir -p "$MPISNAP_DIR" || die "cannot create $MPISNAP_DIR"

# The job's time left in seconds, from squeue's [D-][HH:]MM:SS.
time_left() {
  local t d=0 h=0 m=0 s=0
  t=$(squeue -h -j "$SLURM_JOB_ID" -o %L 2>/dev/null) || return 1
  [[ $t =~ ^(([0-9]+)-)?(([0-9]+):)?([0-9]+):([0-9]+)$ ]] || return 1
  d=${BASH_REMATCH[2]:-0} h=${BASH_REMATCH[4]:-0}
  m=${BASH_REMATCH[5]} s=${BASH_REMATCH[6]}
  echo $(((((10#$d * 24) + 10#$h) * 60 + 10#$m) * 60 + 10#$s))
}
# The library stops the job in time by itself when it knows the job's end:
# Slurm 23.02 and later give it SLURM_JOB_END_TIME; before that (Debian 12
# has 22.05) it gets MPISNAP_WALLTIME from the time left now.  The signal
# stays the main way; this is for a signal that never comes.
if [ -z "${MPISNAP_WALLTIME:-}" ] && [ -z "${SLURM_JOB_END_TIME:-}" ]; then
  if left=$(time_left) && [ "$left" -gt 0 ]; then
    export MPISNAP_WALLTIME=$left
    say "time left: $left s (MPISNAP_WALLTIME)"
  else
    say "the job's time left is unknown (squeue -o %L): only the signal will stop it in time"
  fi
fi

case ${MPISNAP_LAUNCHER:-srun} in
  srun) launcher=(srun) ;;
  mpirun)
    launcher=(mpirun -n "${SLURM_NTASKS:-1}")
    for v in $(compgen -e | grep '^MPISNAP_'); do launcher+=(-x "$v"); done ;;
  mpiexec) launcher=(mpiexec -n "${SLURM_NTASKS:-1}") ;;
  *) die "MPISNAP_LAUNCHER must be srun, mpirun or mpiexec, not '$MPISNAP_LAUNCHER'" ;;
esac
read -r -a extra <<< "${MPISNAP_LAUNCHER_FLAGS:-}"

resubmits=${MPISNAP_RESUBMITS:-${SLURM_RESTART_COUNT:-0}}
say "job $SLURM_JOB_ID, submission $((resubmits + 1)): $app $*"
say "checkpoints in $MPISNAP_DIR"

# The step runs in the background so that this shell can take SIGUSR2
# and pass it on.
step=
# shellcheck disable=SC2317 # called by the trap
forward() {
  say "SIGUSR2: asking the application to checkpoint and stop"
  [ -n "$step" ] && kill -USR2 "$step" 2>/dev/null
}
trap forward USR2
"${launcher[@]}" "${extra[@]}" "$app" "$@" &
step=$!
wait "$step"
rc=$?
# A trapped signal interrupts wait: wait again until the step has ended.
while kill -0 "$step" 2>/dev/null; do
  wait "$step"
  rc=$?
done

case $rc in
  0)
    say "the application finished"
    exit 0 ;;
  85)
    if [ "$resubmits" -ge "${MPISNAP_MAX_RESUBMITS:-50}" ]; then
      say "checkpointed and stopped, but $resubmits resubmissions are enough: giving up"
      exit 1
    fi
    say "checkpointed and stopped (status 85): resubmitting"
    case ${MPISNAP_RESUBMIT:-requeue} in
      requeue)
        # The job goes back to the queue under the same id and runs this
        # script again; SLURM_RESTART_COUNT counts the requeues.  Slurm
        # makes a requeued job eligible again after a delay (two minutes
        # with Slurm 22.05).
        scontrol requeue "$SLURM_JOB_ID" || die "scontrol requeue failed"
        exit 0 ;;
      sbatch)
        # A new job that starts once this one has ended, running the same
        # batch script with the same arguments.
        command=$(scontrol show job "$SLURM_JOB_ID" | sed -n 's/^ *Command=//p')
        [ -n "$command" ] || die "cannot find this job's batch script"
        read -r -a script <<< "$command"
        sbatch --dependency="afterany:$SLURM_JOB_ID" \
          --export="ALL,MPISNAP_RESUBMITS=$((resubmits + 1))" "${script[@]}" ||
          die "sbatch failed"
        exit 0 ;;
      *) die "MPISNAP_RESUBMIT must be requeue or sbatch, not '$MPISNAP_RESUBMIT'" ;;
    esac ;;
  *)
    say "the application failed with status $rc"
    exit "$rc" ;;
esac
