"""A machine without a GPU: training jobs ask for no GPU there (so --resources gpu=1 does
not queue them one at a time), one with a GPU still gives each job one, the SLURM
profile still asks SLURM for one; the plan printed before the first job; 1e-3 read as a
number. Dry runs only (in this process: workflow_helpers.in_process), with the GPUs
faked through the environment."""

from __future__ import annotations

import os
import re

import pytest
from conftest import write_idx_dataset
from test_workflow import tiny_config
from workflow_helpers import command, copy_workflow, environment, in_process, write_config

pytestmark = pytest.mark.workflow

TRAINING_RULES = ("train_autoencoder", "train_classifier")
# engine.pack's default, auto, trains a configuration's seeds as one pack job on a GPU
PACK_RULES = ("train_autoencoder_seeds", "train_classifier_seeds")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cpu_run")
    source = root / "source"
    checksums = write_idx_dataset(source, 300, 100)
    config = tiny_config(source, checksums)
    config["device"] = "auto"
    return copy_workflow(root / "wf"), config, root


def fake_gpus(root, count: int) -> dict:
    """Environment under which aeflow.plan.machine sees ``count`` GPUs: none through
    CUDA_VISIBLE_DEVICES="", else an nvidia-smi listing them first on PATH (a machine
    with a real driver shows its real GPUs, at least one where ``count`` is)."""
    if count == 0:
        return {"CUDA_VISIBLE_DEVICES": ""}
    bin_dir = root / f"bin{count}"
    bin_dir.mkdir(exist_ok=True)
    smi = bin_dir / "nvidia-smi"
    lines = "\n".join(f"GPU {i}: Fake GPU (UUID: GPU-{i})" for i in range(count))
    smi.write_text(f"#!/bin/sh\ncat <<'EOF'\n{lines}\nEOF\n")
    smi.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def dry_run(workflow, configfile, env_extra, *args):
    env = environment(workflow, **env_extra)
    if "CUDA_VISIBLE_DEVICES" not in env_extra:
        env.pop("CUDA_VISIBLE_DEVICES", None)  # every GPU of the machine, fake or real
    result = in_process(command(workflow, configfile, "--cores", "2", "--dry-run", *args)[1:], env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return output


def gpu_resources(output: str) -> dict[str, set[int]]:
    """The gpu resource of each planned job, by rule (from the dry run's job listing)."""
    found: dict[str, set[int]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        resources = re.search(r"^\s+resources: (.*)$", block, re.MULTILINE)
        if rule and resources:
            gpu = re.search(r"\bgpu=(\d+)", resources.group(1))
            found.setdefault(rule.group(1), set()).add(int(gpu.group(1)) if gpu else 0)
    return found


def test_training_jobs_take_no_gpu_on_a_cpu_machine(setup):
    workflow, config, root = setup
    output = dry_run(workflow, write_config(root / "auto.yaml", config), fake_gpus(root, 0))
    resources = gpu_resources(output)
    assert set(TRAINING_RULES) <= set(resources)
    assert all(resources[rule] == {0} for rule in TRAINING_RULES), resources
    assert "device: cpu (no GPU visible), training jobs side by side on 2 cores" in output


def test_training_jobs_take_one_gpu_each_where_there_are_gpus(setup):
    workflow, config, root = setup
    output = dry_run(workflow, write_config(root / "auto.yaml", config), fake_gpus(root, 2))
    resources = gpu_resources(output)
    assert set(PACK_RULES) <= set(resources), resources
    assert not set(TRAINING_RULES) & set(resources), resources  # packs, not per-seed jobs
    assert all(resources[rule] == {1} for rule in PACK_RULES), resources
    assert "device: cuda, one training job at a time per GPU (2 visible)" in output
    # device: cpu keeps them on the cores, one job a seed, however many GPUs there are
    cpu = write_config(root / "cpu.yaml", {**config, "device": "cpu"})
    resources = gpu_resources(dry_run(workflow, cpu, fake_gpus(root, 2)))
    assert all(resources[rule] == {0} for rule in TRAINING_RULES), resources


def test_cuda_asked_for_without_a_gpu_is_announced(setup):
    workflow, config, root = setup
    cuda = write_config(root / "cuda.yaml", {**config, "device": "cuda"})
    output = dry_run(workflow, cuda, fake_gpus(root, 0))
    assert "cuda asked for, but no GPU is visible: training jobs will fail" in output
    # the job itself fails when it starts (tests/test_machine.py)


def test_the_slurm_profile_asks_for_a_gpu_from_a_login_node_without_one(setup):
    """set-resources in profiles/slurm overrides the rule's gpu=0 (the login node, where
    snakemake parses the workflow, has no GPU)."""
    workflow, config, root = setup
    output = dry_run(
        workflow,
        write_config(root / "auto.yaml", config),
        fake_gpus(root, 0),
        "--profile",
        str(workflow / "profiles" / "slurm"),
        "--default-resources",
        "slurm_partition=p",
        "slurm_account=a",
        "mem_mb=1000",
        "runtime=10",
    )
    resources = gpu_resources(output)
    assert all(resources[rule] == {1} for rule in TRAINING_RULES), resources


def test_the_plan_comes_before_the_jobs(setup):
    workflow, config, root = setup
    output = dry_run(workflow, write_config(root / "auto.yaml", config), fake_gpus(root, 0))
    counts = r"aeflow plan: (\d+) trainings \((\d+) autoencoder and (\d+) classifier"
    plan = re.search(counts, output)
    assert plan, output[:2000]
    # 3 autoencoders (latent 8/16, sgd/adam around the base), 3 initialisations x 2 lrs
    assert plan.groups() == ("9", "3", "6")
    assert "9 of them not trained yet" in output
    assert re.search(r"projected: about \d+(h\d\dm|m\d\ds|s) of training", output)
    assert "report: results/report.html" in output
    assert output.index("aeflow plan:") < output.index("rule train_autoencoder:")
    assert output.count("aeflow plan:") == 1


def test_scientific_notation_is_accepted_and_text_refused(setup):
    workflow, config, root = setup
    written = root / "sci.yaml"
    text = write_config(written, config).read_text()
    text = text.replace("lr: 0.01\n", "lr: 1e-2\n", 1)  # classifier base, as a user types it
    text = text.replace("epochs: 2\n", "epochs: 2\n    lr: 5e-4\n", 1)  # autoencoder base
    written.write_text(text)
    assert "1e-2" in text and "5e-4" in text
    dry_run(workflow, written, fake_gpus(root, 0))
    written.write_text(text.replace("lr: 5e-4", "lr: fast"))
    result = in_process(
        command(workflow, written, "--cores", "1", "--dry-run")[1:], environment(workflow)
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Invalid config: autoencoder.base.lr: 'fast' is not a number; write a number" in output
