#!/usr/bin/env bash
# Runs an mpisnap application on this machine with checkpoints, and keeps
# restarting it from its latest checkpoint until it finishes.  Optionally it
# kills one of the application's ranks (SIGKILL) at a random moment to show
# that the job survives.
#
# usage: jobs/local/run.sh [options] -- APP [ARGS...]
#
#   -n RANKS        number of ranks (default 4)
#   --kill          kill one rank at a random moment of the first run
#   --kills K       kill one rank in each of the first K runs
#   --every N       a checkpoint every N safe points (MPISNAP_EVERY)
#   --interval S    a checkpoint every S seconds (MPISNAP_INTERVAL; the
#                   default is 5 when neither is given here or in the
#                   environment)
#   --walltime S    each run may last S seconds: it checkpoints and stops
#                   with status 85 just before (MPISNAP_WALLTIME), as under
#                   a batch scheduler, and is resubmitted
#   --dir DIR       checkpoint directory (default ./mpisnap-checkpoints); a
#                   directory that already holds checkpoints is continued
#   --fresh         delete the checkpoints in DIR first
#   --max-runs M    give up after M runs (default 20)
#   --seed S        seed for the random kills
#   -h, --help      this help
#
# APP is a path, a command on PATH, or the name of one of the applications
# (heat2d, bank, kvstore, workers): mpisnap-APP is then looked for on PATH
# and in $BUILD_DIR (default: build/ of this repository).
#
# Exit status 85 from the application means "checkpointed and stopped:
# resubmit"; any other failure (a killed rank) is also restarted from the
# latest checkpoint (MPISNAP_RESTART=auto).  At the end this prints the
# number of restarts and the application's ANSWER line; the exit status is
# 0 once the application has finished.
#
# Environment: MPIEXEC (default mpirun; MPICH: MPIEXEC=mpiexec.mpich),
# MPIEXEC_FLAGS (default --oversubscribe with Open MPI), and every MPISNAP_*
# variable (on one machine both Open MPI's mpirun and MPICH's Hydra pass
# their environment on to the ranks).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "run.sh: $*" >&2; exit 2; }
say() { echo "run.sh: $*"; }

# ---- arguments -------------------------------------------------------------

np=4 kills=0 dir=./mpisnap-checkpoints fresh=0 max_runs=20 seed=''
every='' interval='' walltime=''
number() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a non-negative integer, not '$2'"; }
seconds() { [[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$1 needs a number of seconds, not '$2'"; }
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    -n) [ $# -ge 2 ] || die "-n needs a value"; number -n "$2"; np=$2; shift ;;
    --kill) kills=1 ;;
    --kills) [ $# -ge 2 ] || die "--kills needs a value"; number --kills "$2"; kills=$2; shift ;;
    --every) [ $# -ge 2 ] || die "--every needs a value"; number --every "$2"; every=$2; shift ;;
    --interval) [ $# -ge 2 ] || die "--interval needs a value"; seconds --interval "$2"; interval=$2; shift ;;
    --walltime) [ $# -ge 2 ] || die "--walltime needs a value"; seconds --walltime "$2"; walltime=$2; shift ;;
    --dir) [ $# -ge 2 ] || die "--dir needs a value"; dir=$2; shift ;;
    --fresh) fresh=1 ;;
    --max-runs) [ $# -ge 2 ] || die "--max-runs needs a value"; number --max-runs "$2"; max_runs=$2; shift ;;
    --seed) [ $# -ge 2 ] || die "--seed needs a value"; number --seed "$2"; seed=$2; shift ;;
    --) shift; break ;;
    *) die "unknown option '$1' (the application comes after --; see --help)" ;;
  esac
  shift
done
[ $# -ge 1 ] || die "no application given (usage: run.sh [options] -- APP [ARGS...])"
[ "$np" -ge 1 ] || die "-n needs at least 1 rank"
[ -z "$every" ] || [ -z "$interval" ] || die "give --every or --interval, not both"

# The application, as an absolute path: the kill finds its ranks by their
# exact command line.
app=$1
shift
build_dir=${BUILD_DIR:-$repo/build}
if [[ $app != */* ]]; then
  for candidate in "$(command -v "$app")" "$(command -v "mpisnap-$app")" \
      "$build_dir/mpisnap-$app"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && [ ! -d "$candidate" ]; then
      app=$candidate
      break
    fi
  done
fi
if [ ! -x "$app" ] || [ -d "$app" ]; then
  die "cannot find the application '$app'"
fi
app=$(cd "$(dirname "$app")" && pwd)/$(basename "$app")
cmd=("$app" "$@")

# ---- environment -----------------------------------------------------------

mpiexec=${MPIEXEC:-mpirun}
command -v "$mpiexec" >/dev/null || die "cannot find $mpiexec (set MPIEXEC)"
if [ -z "${MPIEXEC_FLAGS+set}" ]; then
  MPIEXEC_FLAGS=
  if "$mpiexec" --version 2>/dev/null | grep -q 'Open MPI\|OpenRTE'; then
    MPIEXEC_FLAGS=--oversubscribe
    # Open MPI refuses to run as root without consent, and its single-copy
    # shared-memory path needs ptrace rights that containers often lack.
    if [ "$(id -u)" -eq 0 ]; then
      export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1}
      export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
    fi
    export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
  fi
fi
read -r -a mpiexec_flags <<< "$MPIEXEC_FLAGS"

mkdir -p "$dir" || die "cannot create the checkpoint directory $dir"
dir=$(cd "$dir" && pwd)
if [ $fresh -eq 1 ]; then
  rm -rf "$dir"/ckpt-[0-9]* "$dir"/.ckpt-[0-9]*.partial
fi
export MPISNAP_DIR=$dir MPISNAP_RESTART=auto
if [ -n "$every" ]; then
  export MPISNAP_EVERY=$every
  unset MPISNAP_INTERVAL
elif [ -n "$interval" ]; then
  export MPISNAP_INTERVAL=$interval
  unset MPISNAP_EVERY
elif [ -z "${MPISNAP_EVERY:-}" ] && [ -z "${MPISNAP_INTERVAL:-}" ]; then
  export MPISNAP_INTERVAL=5
fi
[ -z "$walltime" ] || export MPISNAP_WALLTIME=$walltime
[ -z "$seed" ] || RANDOM=$seed

logs=$(mktemp -d)
job=
cleanup() { rm -rf "$logs"; }
interrupted() {
  [ -n "$job" ] && kill -TERM "$job" 2>/dev/null
  say "interrupted; the checkpoints stay in $dir"
  exit 130
}
trap cleanup EXIT
trap interrupted INT TERM

# The newest committed checkpoint's id in $dir (0 if none).
latest() {
  local d id=0 best=0
  for d in "$dir"/ckpt-[0-9]*; do
    [ -d "$d" ] || continue
    id=${d##*/ckpt-}
    id=$((10#$id))
    [ "$id" -gt "$best" ] && best=$id
  done
  echo "$best"
}

# Waits until the running job has committed a checkpoint newer than $1,
# then a random 0.5 to 2.5 s more, then SIGKILLs one of its ranks, picked at
# random.  Returns 1 if the job ended first.
kill_one_rank() {
  local before=$1 pids victim rank
  while [ "$(latest)" -le "$before" ]; do
    kill -0 "$job" 2>/dev/null || return 1
    sleep 0.1
  done
  sleep "$((RANDOM % 3)).$((5 + RANDOM % 5))"
  pids=$(pgrep -f -x "${cmd[*]}") || return 1
  victim=$(echo "$pids" | sed -n "$((1 + RANDOM % $(echo "$pids" | wc -l)))p")
  rank=$(tr '\0' '\n' < "/proc/$victim/environ" 2>/dev/null |
    sed -n 's/^\(OMPI_COMM_WORLD_RANK\|PMI_RANK\)=//p' | head -1)
  kill -KILL "$victim" 2>/dev/null || return 1
  say "killed rank ${rank:-?} (pid $victim) with SIGKILL"
}

# ---- run until done --------------------------------------------------------

restarts=0 killed=0 stops=0 runs=0
say "${cmd[*]} on $np ranks; checkpoints in $dir" \
  "(${MPISNAP_EVERY:+every $MPISNAP_EVERY safe points}${MPISNAP_INTERVAL:+every $MPISNAP_INTERVAL s})"
while :; do
  runs=$((runs + 1))
  [ $runs -le "$max_runs" ] || { say "giving up after $max_runs runs"; exit 1; }
  start=$(latest)
  if [ "$start" -gt 0 ]; then
    say "run $runs: restarting from checkpoint $start"
  else
    say "run $runs: starting"
  fi
  log=$logs/run.$runs
  "$mpiexec" -n "$np" "${mpiexec_flags[@]}" "${cmd[@]}" 2>&1 | tee "$log" &
  job=$!
  was_killed=0
  if [ $runs -le "$kills" ] && kill_one_rank "$start"; then
    was_killed=1
    killed=$((killed + 1))
  fi
  wait "$job"
  rc=$?
  job=
  [ $runs -gt 1 ] && restarts=$((restarts + 1))
  case $rc in
    0) break ;;
    85) stops=$((stops + 1))
        say "run $runs checkpointed and stopped (status 85): resubmitting" ;;
    *) if [ $was_killed -eq 1 ]; then
         say "run $runs failed after the kill (status $rc): restarting"
       else
         say "run $runs failed with status $rc: restarting"
       fi ;;
  esac
done

answer=$(grep '^ANSWER' "$log" | tail -1)
say "finished after $restarts restarts ($killed ranks killed, $stops stops with status 85)"
say "${answer:-the application printed no ANSWER line}"
