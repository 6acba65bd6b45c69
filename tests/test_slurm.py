"""The quick config through the SLURM profile, on a real single-node SLURM on localhost.

``tests/slurm/start.sh`` starts munged, slurmctld and slurmd (two fake GPUs) from the
Debian packages ``slurmctld slurmd slurm-client munge``; the workflow then runs through
``profiles/slurm`` as a user would run it, with only the partition/account placeholders
(and memory and time limits sized for a CI machine) replaced on the command line. The
test checks what SLURM itself recorded: only training jobs were submitted, each asking
for one GPU; every output exists; and the tables equal those of a local run of the same
config (the CPU path is deterministic, up to the last bit of float32 evaluation losses;
the local run is conftest's ``quick_run``, which tests/test_realdata.py checks too).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import DEBIAN_DATA, require
from workflow_helpers import command, copy_workflow, environment

pytestmark = [pytest.mark.workflow, pytest.mark.slurm]

SLURM_SCRIPTS = Path(__file__).resolve().parent / "slurm"
TABLES = ["histories", "autoencoder_metrics", "classifier_metrics", "confusion_matrices"]
TIMING_COLUMNS = ["train_seconds"]  # wall-clock: the only columns that differ between runs
RUN_TIMEOUT = 600  # seconds, for each run (3-6 min on two busy cores; a hang must not block CI)
SUBMITTED = re.compile(
    r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: .*?/rule_(\w+)/(?:[^/]*/)?\d+\.log\)"
)


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError as err:
        return f"({path}: {err})"


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running one-node SLURM: yields the environment its clients need."""
    require(
        shutil.which("sbatch") is not None, "apt-get install slurmctld slurmd slurm-client munge"
    )
    require(
        importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None,
        'pip install -e ".[cluster]" (snakemake-executor-plugin-slurm)',
    )
    require(os.geteuid() == 0, "starting munged and slurmd needs root")
    require(DEBIAN_DATA.is_dir(), "apt-get install dataset-fashion-mnist")
    # A short path: munged's socket lives in it (a Unix socket path is limited to 108 bytes).
    state = Path(tempfile.mkdtemp(prefix="aeflow-slurm."))
    try:
        started = subprocess.run(
            [str(SLURM_SCRIPTS / "start.sh"), str(state)],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if started.returncode != 0:
            pytest.fail(f"tests/slurm/start.sh failed:\n{started.stdout}\n{started.stderr}")
        conf = started.stdout.strip().splitlines()[-1].removeprefix("SLURM_CONF=")
        yield {"SLURM_CONF": conf, "state": state, "partition": "ci"}
    finally:
        subprocess.run([str(SLURM_SCRIPTS / "stop.sh"), str(state)], check=False, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def _snakemake(workflow: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """Start snakemake on the copy (its package first on the import path), output to a file."""
    with open(workflow / "snakemake.out", "w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            command(workflow, workflow / "config" / "quick.yaml", *args),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment(workflow, **(env or {})),
        )


def _finish(process: subprocess.Popen, workflow: Path, what: str, cluster=None):
    try:
        returncode = process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        returncode = f"killed after {RUN_TIMEOUT} s"
    if returncode != 0:
        logs = ""
        if cluster is not None:
            state = cluster["state"]
            logs = "\n".join(
                f"--- {name}:\n{_tail(state / 'log' / name, 1500)}"
                for name in ("slurmctld.log", "slurmd.log")
            )
        raise AssertionError(
            f"{what} failed ({returncode}):\n{_tail(workflow / 'snakemake.out')}\n{logs}"
        )


def _profile_resources(workflow: Path, partition: str) -> list[str]:
    """The profile's default-resources with the placeholders replaced.

    A --default-resources on the command line replaces the profile's whole mapping, so
    every key is passed again: the profile's own values, except the placeholders and the
    memory and time limits (sized for a CI machine with two cores).
    """
    profile = yaml.safe_load((workflow / "profiles" / "slurm" / "config.yaml").read_text())
    resources = dict(profile["default-resources"])
    assert str(resources["slurm_partition"]).startswith("CHANGE-ME"), resources
    assert str(resources["slurm_account"]).startswith("CHANGE-ME"), resources
    resources.update(slurm_partition=partition, slurm_account="aeflow-ci", mem_mb=2000, runtime=15)
    return [f"{key}={value}" for key, value in resources.items()]


@pytest.fixture(scope="module")
def runs(quick_run, slurm_cluster, tmp_path_factory):
    """The quick config through the SLURM profile, and the same config run locally."""
    cluster = copy_workflow(tmp_path_factory.mktemp("slurm") / "wf")
    slurm_env = {"SLURM_CONF": slurm_cluster["SLURM_CONF"]}
    on_slurm = _snakemake(
        cluster,
        "--profile",
        str(cluster / "profiles" / "slurm"),
        "--default-resources",
        *_profile_resources(cluster, slurm_cluster["partition"]),
        # No slurmdbd here, so no sacct: ask squeue (MinJobAge keeps finished jobs).
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--slurm-keep-successful-logs",
        "--retries",
        "0",
        "--verbose",  # logs every sbatch command line
        env=slurm_env,
    )
    try:
        _finish(on_slurm, cluster, "snakemake --profile profiles/slurm", slurm_cluster)
    finally:
        if on_slurm.poll() is None:
            on_slurm.kill()
            on_slurm.wait()
    return {"cluster": cluster, "local": quick_run, "env": slurm_env}


def _scontrol_job(job_id: str, env: dict) -> dict[str, str]:
    """``scontrol show job -d`` as key=value pairs (finished jobs stay for MinJobAge)."""
    out = subprocess.run(
        ["scontrol", "show", "job", "-d", job_id],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
        timeout=30,
    ).stdout
    return dict(re.findall(r"(\S+?)=(\S*)", out))


def test_every_output_exists(runs):
    cluster = runs["cluster"]
    assert (cluster / "results" / "report.html").stat().st_size > 10_000
    for table in TABLES:
        assert (cluster / "results" / "tables" / f"{table}.parquet").is_file(), table
    quick = yaml.safe_load((cluster / "config" / "quick.yaml").read_text())
    clf = quick["classifier"]
    main = "studies/main"  # the main grid is the first study
    figures = {
        *(f"{main}/ae_sweep_{p}.png" for p in quick["autoencoder"]["sweeps"]),
        *(f"{main}/clf_sweep_{i}_{p}.png" for i in clf["initialisations"] for p in clf["sweeps"]),
        *(f"{main}/{name}.png" for name in ("reconstructions", "latent_maps", "clf_curves",
                                             "confusion_matrices", "test_accuracy")),
        "latent_maps.png",
        "probes.png",
    }  # fmt: skip
    assert len(figures) == 12
    folder = cluster / "results" / "figures"
    assert {str(p.relative_to(folder)) for p in folder.rglob("*.png")} == figures


def test_only_training_jobs_were_submitted_each_with_one_gpu(runs):
    cluster, env = runs["cluster"], runs["env"]
    text = (cluster / "snakemake.out").read_text()
    submitted = {slurm_id: rule for _, slurm_id, rule in SUBMITTED.findall(text)}
    expected = {
        "train_autoencoder": len(list(cluster.glob("results/autoencoder/*/seed*/model.pt"))),
        "train_classifier": len(list(cluster.glob("results/classifier/*/seed*/model.pt"))),
    }
    counts = {rule: list(submitted.values()).count(rule) for rule in set(submitted.values())}
    assert counts == expected, counts  # local rules (data, evaluation, figures...) stay local
    assert sum(expected.values()) == 9  # quick config: 3 autoencoders, 6 classifiers, 1 seed

    # What SLURM recorded: every job of this private cluster is one of those, asked
    # for one GPU, got one (fake) GPU, and completed.
    queue = subprocess.run(
        ["squeue", "--noheader", "--states=all", "--format=%i|%T|%k"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout.split()
    assert sorted((line.split("|")[0] for line in queue), key=int) == sorted(submitted, key=int)
    for job_id, rule in submitted.items():
        job = _scontrol_job(job_id, env)
        assert job["Comment"].startswith(f"rule_{rule}_wildcards_"), job
        assert job["JobState"] == "COMPLETED", job
        assert job["TresPerJob"] == "gres:gpu:1", job  # sbatch --gpus=1
        assert job["JOB_GRES"] == "gpu:1", job  # and the scheduler gave it one
        assert job["Partition"] == "ci" and job["Account"] == "aeflow-ci", job

    # The command lines snakemake handed to sbatch (--verbose).
    calls = re.findall(r"^sbatch call: (sbatch .*)$", text, re.MULTILINE)
    assert len(calls) == len(submitted)
    for call in calls:
        assert re.search(r"--comment rule_train_(autoencoder|classifier)_", call), call
        assert " --gpus=1 " in call, call

    # The training jobs saw their GPU from SLURM (the fake ones: PyTorch sees no CUDA).
    # (the job step's --verbose log prints its environment)
    logs = list(cluster.glob(".snakemake/slurm_logs/rule_train_*/*/*.log"))
    assert len(logs) == len(submitted)
    for log in logs:
        assert "'CUDA_VISIBLE_DEVICES': '" in log.read_text(), log


def test_tables_match_a_local_run(runs):
    for table in TABLES:
        on_cluster, on_host = (
            pd.read_parquet(runs[where] / "results" / "tables" / f"{table}.parquet")
            .drop(columns=TIMING_COLUMNS, errors="ignore")
            .sort_values(["model_id", "seed"], kind="stable")
            .reset_index(drop=True)
            for where in ("cluster", "local")
        )
        # Identical training (same weights: equal training losses, accuracies, confusion
        # counts); evaluation losses summed in float32 may differ in the last bit.
        pd.testing.assert_frame_equal(on_cluster, on_host, rtol=1e-6, atol=1e-9, obj=table)
