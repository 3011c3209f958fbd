#!/usr/bin/env bash
# jobs/slurm/ under a real Slurm: starts munged, slurmctld and slurmd (from
# the Debian packages munge, slurmctld and slurmd) on this machine with a
# private configuration and submits jobs/slurm/heat2d.sbatch with a time
# limit of one minute (Slurm's smallest) for about 90 seconds of work,
# twice: once with Slurm's --signal as the script asks, once with a signal
# the batch shell ignores.  Before each limit the application must
# checkpoint and stop with status 85 -- told by the signal, or by its own
# clock (MPISNAP_WALLTIME) -- and the job must requeue itself, restart
# from its checkpoint and, after as many requeues as it takes, finish with
# the answer of an uninterrupted run.
#
# Skips (77) with the reason when Slurm cannot be set up here: not root,
# the packages are missing, or the daemons do not come up.
#
# usage: slurm.sh MPIEXEC HEAT2D_BINARY
# MPISNAP_TEST_KEEP=1 keeps the scratch directory (logs, configuration).
set -u
mpiexec=$1 heat2d=$(realpath "$2")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jobs=$(cd "$here/../../jobs/slurm" && pwd)
skip() { echo "slurm.sh: SKIP: $*"; exit 77; }
fail() { echo "slurm.sh: FAIL: $*"; [ -n "${work:-}" ] && tail -20 "$work"/*.log 2>/dev/null; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root to run the Slurm daemons"
for tool in munged slurmctld slurmd sbatch scontrol squeue; do
  command -v "$tool" > /dev/null ||
    skip "$tool is missing (apt-get install munge slurmctld slurmd slurm-client)"
done

work=$(mktemp -d)
pids=()
cleanup() {
  local p
  # Cancel the job and let slurmd end its steps before the daemons go.
  if [ -n "${job:-}" ]; then
    scancel --quiet "$job" 2>/dev/null
    for _ in $(seq 100); do
      [ -z "$(squeue -h 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  if [ -n "${MPISNAP_TEST_KEEP:-}" ]; then
    echo "slurm.sh: kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
chmod 755 "$work"

# ---- munge, on a private socket ----------------------------------------------
mkdir -p "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 2> /dev/null
chmod 700 "$work/munge"
chmod 400 "$work/munge/munge.key"
munged --foreground --force --key-file="$work/munge/munge.key" \
  --socket="$work/munge/munge.sock" --pid-file="$work/munge/munged.pid" \
  --seed-file="$work/munge/seed" --log-file="$work/munged.log" &
pids+=($!)
for _ in $(seq 50); do [ -S "$work/munge/munge.sock" ] && break; sleep 0.1; done
[ -S "$work/munge/munge.sock" ] || skip "munged did not start: $(tail -3 "$work/munged.log" 2>/dev/null)"

# ---- slurmctld and slurmd, one node, ports of their own ------------------------
host=$(hostname -s)
# Two free ports below the ephemeral range (32768 and up on Linux), so that
# no outgoing connection can be holding them.
for _ in $(seq 50); do
  port=$((10000 + RANDOM % 20000))
  if ! command -v ss > /dev/null ||
      ! ss -Htan | awk '{print $4}' | grep -qE ":($port|$((port + 1)))\$"; then
    break
  fi
done
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF=$work/slurm.conf
cat > "$SLURM_CONF" <<EOF
ClusterName=mpisnaptest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.sock,cred_expire=5
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=1
NodeName=$host CPUs=4 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
slurmctld -D -i -f "$SLURM_CONF" > "$work/slurmctld.out" 2>&1 &
ctld=$!
pids+=("$ctld")
slurmd -D -f "$SLURM_CONF" > "$work/slurmd.out" 2>&1 &
pids+=($!)
up=0
start=$SECONDS
while [ $((SECONDS - start)) -lt 30 ]; do
  kill -0 "$ctld" 2>/dev/null || break
  if timeout 5 sinfo -h -o '%T' 2>/dev/null | grep -q '^idle'; then up=1; break; fi
  sleep 0.2
done
[ $up -eq 1 ] || skip "Slurm did not come up: $(tail -n 2 "$work/slurmctld.out" "$work/slurmd.log" 2>/dev/null)"
echo "Slurm is up: node $host, port $port"

# ---- the reference -------------------------------------------------------------
# heat2d's -s only sleeps between iterations, so the reference runs without
# it in a few seconds; the job sleeps 1 ms per iteration, some 90 s of work.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
args=(-n 128 -i 80000)
mkdir -p "$work/ref"
ref=$(cd "$work/ref" && MPISNAP_DIR=$work/ref "$mpiexec" -n 4 --oversubscribe "$heat2d" "${args[@]}" 2>&1 | tee "$work/ref.log" |
  grep '^ANSWER')
[ -n "$ref" ] || fail "the uninterrupted run printed no ANSWER"
echo "reference: $ref"

# ---- the jobs --------------------------------------------------------------------
# The sbatch script finds mpisnap-job.sh through MPISNAP_JOBS and the
# application on PATH; both reach the job through sbatch's environment.
# The node claims 4 CPUs whatever the machine has: mpirun, seeing 4 slots,
# would bind each rank to a core and poll without yielding, which on a
# 2-core machine makes every iteration wait for a scheduler time slice.
# --time and --signal on the command line override the script's own.
#
# run_job NAME SIGNAL: submits heat2d.sbatch with a one-minute limit and
# Slurm's --signal=SIGNAL, waits for it to finish after its requeues and
# checks the answer.  Sets OUT to the job's output.
run_job() {
  local name=$1 signal=$2 state restarts stops got start=$SECONDS
  mkdir -p "$work/$name"
  cd "$work/$name" || fail "no directory $work/$name"
  job=$(PATH=$(dirname "$heat2d"):$PATH MPISNAP_JOBS=$jobs MPISNAP_LAUNCHER=mpirun \
    MPISNAP_LAUNCHER_FLAGS="--oversubscribe --bind-to none --mca mpi_yield_when_idle 1" \
    MPISNAP_INTERVAL=10 MPISNAP_VERBOSE=1 \
    sbatch --parsable --ntasks=4 --time=1 --signal="$signal" \
    "$jobs/heat2d.sbatch" "${args[@]}" -s 1000) || fail "$name: sbatch failed"
  echo "$name: job $job, time limit 1 minute, --signal=$signal, about 90 s of work"
  OUT=$work/$name/heat2d-$job.out

  state=''
  while [ $((SECONDS - start)) -lt 600 ]; do
    state=$(scontrol show job "$job" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    case $state in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) break ;; esac
    sleep 1
  done
  restarts=$(scontrol show job "$job" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')
  echo "$name: job $job $state after ${restarts:-?} requeues, $((SECONDS - start)) s"
  grep -E '^(mpisnap-job|RESTARTED|ANSWER)|checkpoint and exit|stopping after' "$OUT"
  [ "$state" = COMPLETED ] || fail "$name: the job ended ${state:-in no known state}: $(tail -5 "$OUT")"
  stops=$(grep -c 'checkpointed and stopped (status 85): resubmitting' "$OUT")
  [ "$stops" -ge 1 ] || fail "$name: the job never stopped with status 85 before its time limit"
  [ "${restarts:-0}" -eq "$stops" ] ||
    fail "$name: $stops stops with status 85 but ${restarts:-?} requeues"
  [ "$(grep -c '^RESTARTED FROM' "$OUT")" -eq "$stops" ] ||
    fail "$name: not every requeued run restarted from a checkpoint"
  grep -q 'DUE TO TIME LIMIT' "$OUT" && fail "$name: Slurm killed a run at its time limit"
  got=$(grep '^ANSWER' "$OUT" | tail -1)
  [ "$got" = "$ref" ] || fail "$name: answer '$got' differs from the reference '$ref'"
  echo "$name: ok: $((stops + 1)) runs of at most a minute each gave the reference answer"
  job=''
}

# 1. As the scripts ask: Slurm signals the batch shell before the limit.
run_job signal B:USR2@20
grep -q 'SIGUSR2: asking the application' "$OUT" || fail "signal: no SIGUSR2 reached the job"
# 2. A signal that never comes (the batch shell ignores SIGURG): the
# library's own clock, MPISNAP_WALLTIME from mpisnap-job.sh, must stop it.
run_job clock B:URG@20
grep -q 'SIGUSR2' "$OUT" && fail "clock: a SIGUSR2 reached the job"
grep -q 'wall-clock limit near: checkpoint and exit' "$OUT" ||
  fail "clock: the library did not stop the job on its wall-clock limit"
echo "slurm.sh: ok"
