#!/usr/bin/env bash
# Stop what tests/slurm/start.sh STATE_DIR started: cancel its jobs, then end slurmd,
# slurmctld and munged by the PID files in STATE_DIR (never by name). Leaves STATE_DIR
# (configuration and logs) in place; safe to run twice.
#   tests/slurm/stop.sh STATE_DIR
set -uo pipefail

state=${1:?usage: stop.sh STATE_DIR}
state=$(cd "$state" && pwd) || exit 1

if [[ -f $state/slurm.conf && -f $state/run/slurmctld.pid ]]; then
    # Jobs first, so that no slurmstepd outlives the daemons (wait up to 15 s for them).
    export SLURM_CONF=$state/slurm.conf
    jobs=$(timeout 10 squeue -h -o %i 2>/dev/null)
    if [[ -n $jobs ]]; then
        timeout 10 scancel $jobs 2>/dev/null
        for ((i = 0; i < 30; i++)); do
            [[ -z $(timeout 10 squeue -h -t running,completing -o %i 2>/dev/null) ]] && break
            sleep 0.5
        done
    fi
fi

stop_pid_file() {
    local name=$1 file=$2 pid
    [[ -f $file ]] || return 0
    pid=$(<"$file")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "stop.sh: $name ($pid) still running after 10 s: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    rm -f "$file"
}

stop_pid_file slurmd "$state/run/slurmd.pid"
stop_pid_file slurmctld "$state/run/slurmctld.pid"
stop_pid_file munged "$state/munge/munged.pid"
# The link start.sh made from the default configuration path, if it is this cluster's.
if [[ -L /etc/slurm/slurm.conf && $(readlink /etc/slurm/slurm.conf) == "$state/slurm.conf" ]]; then
    rm -f /etc/slurm/slurm.conf
fi
exit 0
