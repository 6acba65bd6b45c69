#!/usr/bin/env bash
# Start a single-node SLURM "cluster" on localhost, for tests: munged, slurmctld and slurmd
# with two fake GPUs. Everything (configuration, keys, sockets, state, logs, PID files) lives
# in one folder; nothing under /etc is touched.
#
#   tests/slurm/start.sh [STATE_DIR]      # default: a new /tmp/aeflow-slurm.XXXXXX
#   export SLURM_CONF=STATE_DIR/slurm.conf   # what the last line of the output says
#   sinfo; sbatch ...; squeue
#   tests/slurm/stop.sh STATE_DIR
#
# Needs root (munged runs as user munge, slurmd as root) and the Debian packages
# `slurmctld slurmd slurm-client munge` (SLURM 22.05 in Debian 12). No systemd needed.
# The fake GPUs (character devices /dev/null and /dev/zero in gres.conf) test scheduling
# only: a job asking for --gpus=1 gets one of them and CUDA_VISIBLE_DEVICES, but PyTorch
# still sees no CUDA. sacct does not work (no slurmdbd): use `scontrol show job -d ID`
# (finished jobs stay visible for MinJobAge seconds) and `squeue` for status.
#
# Prints, on its last line, `SLURM_CONF=<path>`; the other settings go to stderr.
# Environment: AEFLOW_SLURM_PARTITION (default ci), AEFLOW_SLURM_CTLD_PORT (6817),
# AEFLOW_SLURM_SLURMD_PORT (6818), AEFLOW_SLURM_WAIT (seconds to wait for an idle node, 30).
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "start.sh: needs root (munged runs as user munge, slurmd as root)" >&2
    exit 2
fi
for tool in munged mungekey slurmctld slurmd sinfo scontrol runuser; do
    command -v "$tool" >/dev/null || {
        echo "start.sh: $tool not found: apt-get install slurmctld slurmd slurm-client munge" >&2
        exit 2
    }
done

state=${1:-$(mktemp -d /tmp/aeflow-slurm.XXXXXX)}
mkdir -p "$state"
state=$(cd "$state" && pwd)
# A step that fails (a daemon that does not start, a port in use) stops what did start.
trap '"$(dirname "$0")/stop.sh" "$state" >&2 || true' ERR
# munged (user munge) must be able to reach its subfolder; nothing here is world-writable.
chmod 755 "$state"
partition=${AEFLOW_SLURM_PARTITION:-ci}
ctld_port=${AEFLOW_SLURM_CTLD_PORT:-6817}
slurmd_port=${AEFLOW_SLURM_SLURMD_PORT:-6818}
host=$(hostname -s)

# --- munge: its own key, socket, PID and log files, as user munge -------------------------
munge_dir=$state/munge
mkdir -p "$munge_dir"
chown munge:munge "$munge_dir"
chmod 755 "$munge_dir"   # munged: the socket folder must be searchable by all
if [[ ! -f $munge_dir/munge.key ]]; then
    runuser -u munge -- mungekey --create --keyfile "$munge_dir/munge.key"
fi
runuser -u munge -- munged \
    --key-file "$munge_dir/munge.key" \
    --socket "$munge_dir/munge.socket" \
    --pid-file "$munge_dir/munged.pid" \
    --log-file "$munge_dir/munged.log" \
    --seed-file "$munge_dir/munged.seed"

# --- slurm.conf and gres.conf -----------------------------------------------------------
mkdir -p "$state/ctld" "$state/slurmd" "$state/log" "$state/run"
# The node as slurmd sees it (CPUs, sockets, cores, threads, RealMemory), minus UpTime.
node_line=$(slurmd -C | grep '^NodeName=')
cat >"$state/slurm.conf" <<EOF
# Written by tests/slurm/start.sh: a one-node cluster on localhost, for tests.
ClusterName=aeflow-ci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_dir/munge.socket
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups (containers, no systemd): track processes by parent id, bind tasks to CPUs.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
# No slurmdbd: sacct fails; squeue/scontrol answer from slurmctld.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
# Keep finished jobs in slurmctld for an hour, so that squeue (the status command the
# executor plugin must use here) and scontrol show job still see them.
MinJobAge=3600
# Cores and memory are consumable, so jobs share the node; without DefMemPerCPU each job
# would take the whole node's memory and jobs would run one at a time.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
GresTypes=gpu
$node_line NodeAddr=127.0.0.1 Gres=gpu:2 State=UNKNOWN
PartitionName=$partition Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
sed -i 's/ UpTime=[^ ]*//' "$state/slurm.conf"
cat >"$state/gres.conf" <<EOF
# Two fake GPUs: any character device will do (a plain file or a Count= alone makes
# the node invalid). They exercise scheduling only; there is no CUDA behind them.
AutoDetect=off
NodeName=$host Name=gpu File=/dev/null
NodeName=$host Name=gpu File=/dev/zero
EOF

export SLURM_CONF=$state/slurm.conf
# Clients find the configuration through SLURM_CONF, except where it is taken from them:
# snakemake-executor-plugin-slurm-jobstep (0.6.1) drops every SLURM_* variable but the job's
# identity before it runs `srun` inside a job, so that srun reads the default path. Link the
# default path to this cluster's configuration for as long as it runs (stop.sh removes the
# link); never replace a real configuration.
etc_conf=/etc/slurm/slurm.conf
if [[ -L $etc_conf && $(readlink -f "$etc_conf") != "$SLURM_CONF" ]]; then
    # Left behind by a test cluster that is gone (its folder deleted, or its slurmctld
    # no longer running)?
    old_conf=$(readlink -f "$etc_conf" || true)
    old_pid=$(cat "$(dirname "$old_conf")/run/slurmctld.pid" 2>/dev/null || true)
    if [[ ! -e $old_conf ]] || { head -n1 "$old_conf" | grep -q 'tests/slurm/start.sh' &&
        ! { [[ -n $old_pid ]] && kill -0 "$old_pid" 2>/dev/null; }; }; then
        rm -f "$etc_conf"
    fi
fi
if [[ -e $etc_conf || -L $etc_conf ]]; then
    if [[ $(readlink -f "$etc_conf") != "$SLURM_CONF" ]]; then
        echo "start.sh: $etc_conf exists (another SLURM configuration); not starting a" \
            "test cluster over it" >&2
        "$(dirname "$0")/stop.sh" "$state" >&2 || true
        exit 3
    fi
else
    mkdir -p /etc/slurm
    ln -s "$SLURM_CONF" "$etc_conf"
fi
# Both daemonise; -f names the configuration (gres.conf is read from the same folder).
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"

# --- wait for the node to be idle ---------------------------------------------------------
wait_s=${AEFLOW_SLURM_WAIT:-30}
for ((i = 0; i < wait_s * 4; i++)); do
    node_state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
    if [[ $node_state == idle ]]; then
        echo "start.sh: node $host idle in partition $partition (state: $state)" >&2
        echo "SLURM_CONF=$SLURM_CONF"
        exit 0
    fi
    sleep 0.25
done
echo "start.sh: node $host not idle after ${wait_s} s (state '${node_state:-?}'); logs:" >&2
tail -n 20 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
"$(dirname "$0")/stop.sh" "$state" >&2 || true
exit 1
