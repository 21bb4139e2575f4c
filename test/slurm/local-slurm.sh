#!/usr/bin/env bash
# Copied from the shared test infrastructure (../shared/slurm/local-slurm.sh beside the project), so that a clone runs its Slurm tests on its own.
# A real one-node Slurm cluster on this machine (Debian slurm-wlm 22.05 + munge), for tests.
# Proven here: install ~1 min (apt), start ~3 s, a 4-element job array runs 2 at a time.
#
#   bash local-slurm.sh start DIR    # installs (apt, as root) if needed, writes DIR/slurm.conf,
#                                    # starts munged (if not running), slurmctld, slurmd; prints
#                                    # `export SLURM_CONF=DIR/slurm.conf` for sbatch/squeue/scancel
#   bash local-slurm.sh stop DIR     # stops the slurmctld/slurmd started for DIR (by their pid files)
#
# Notes: daemons run as root (SlurmUser=root) on ports 16817/16818 of 127.0.0.1; no accounting
# daemon (sacct has nothing: use squeue / scontrol show job, which keeps finished jobs for
# MinJobAge=300 s, or your own result files); node = this machine with its real CPU count and
# 8 GB declared memory. Real clusters differ (accounting, partitions, QOS): treat this as one.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?DIR}
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
case $cmd in
start)
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  fi
  # LOCAL_SLURM_CPUS declares more CPUs than the machine has (benchmarks of no-op jobs: Slurm starts
  # that many at once); default: the real count. LOCAL_SLURM_MAX_ARRAY_SIZE: a smaller
  # MaxArraySize than Slurm's 1001 (tests of arrays split at the limit).
  host=$(hostname -s); cpus=${LOCAL_SLURM_CPUS:-$(nproc)}
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  cat > "$dir/slurm.conf" <<CONF
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SchedulerType=sched/backfill
MpiDefault=none
$([ -n "${LOCAL_SLURM_CPUS:-}" ] && echo 'SlurmdParameters=config_overrides' || true)
$([ -n "${LOCAL_SLURM_MAX_ARRAY_SIZE:-}" ] && echo "MaxArraySize=$LOCAL_SLURM_MAX_ARRAY_SIZE" || true)
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=8000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  if ! munge -n >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || /usr/sbin/create-munge-key -f; }
    su -s /bin/sh munge -c /usr/sbin/munged || /usr/sbin/munged --force
  fi
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF"; slurmd -f "$SLURM_CONF"
  for _ in $(seq 1 30); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
  sinfo -h -o %T | grep -q idle || { echo "slurm did not come up: see $dir/log" >&2; exit 1; }
  echo "export SLURM_CONF=$SLURM_CONF"
  ;;
stop)
  for p in slurmd slurmctld; do [ -f "$dir/$p.pid" ] && kill "$(cat "$dir/$p.pid")" 2>/dev/null || true; done
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
