"""A training job killed with SIGKILL resumes from its last finished epoch and ends with
exactly the weights, history and test metrics of a run that was never interrupted; for an
autoencoder and for a classifier.

Training is deterministic, so a job that ignored ``resume.pt`` and started again from
epoch 1 would end with the same weights too. What tells a resume from a rerun is the
job's log (``logs/<kind>/.../train.log``, which snakemake starts afresh for the resumed
attempt): after its "resumed from" line the job trains exactly the epochs the killed one
had not finished, and none that it had."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pandas as pd
import pytest
import torch
from conftest import write_idx_dataset
from test_workflow import tiny_config
from workflow_helpers import command, copy_workflow, environment, run, write_config

pytestmark = pytest.mark.workflow
EPOCHS = 6
EPOCH_LINE = re.compile(r" epoch (\d+)/(\d+) ")  # training.train's line for a finished epoch


def resume_config(root):
    """One autoencoder and one scratch classifier, one seed, each EPOCHS small epochs."""
    source = root / "source"
    config = tiny_config(source, write_idx_dataset(source, 300, 100))
    config["autoencoder"] = {"base": {"latent": 16, "epochs": EPOCHS, "batch_size": 10}}
    config["classifier"]["initialisations"] = ["scratch"]
    config["classifier"]["sweeps"] = {}
    config["classifier"]["base"].update(epochs=EPOCHS, batch_size=10)
    return write_config(root / "resume.yaml", config)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The config, and a workflow that ran it without interruption (every table)."""
    root = tmp_path_factory.mktemp("resume")
    configfile = resume_config(root)
    workflow = copy_workflow(root / "reference")
    run(workflow, configfile, "results/tables/autoencoder_metrics.parquet")
    return configfile, workflow


def only_run(workflow, kind):
    (path,) = (workflow / "results" / kind).glob("*/seed0")
    return path


def logged_epochs(text: str) -> list[int]:
    found = EPOCH_LINE.findall(text)
    assert all(int(total) == EPOCHS for _, total in found), found
    return [int(epoch) for epoch, _ in found]


@pytest.mark.parametrize("kind", ["autoencoder", "classifier"])
def test_killed_training_job_resumes_to_identical_results(tmp_path, reference, kind):
    configfile, reference = reference
    target = f"results/tables/{kind}_metrics.parquet"

    workflow = copy_workflow(tmp_path / "killed")
    job = subprocess.Popen(
        command(workflow, configfile, "--cores", "2", target),
        env=environment(workflow),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    logs = workflow / "logs" / kind
    deadline = time.time() + 300
    try:
        while time.time() < deadline:
            text = "".join(p.read_text() for p in logs.rglob("train.log")) if logs.exists() else ""
            if f"epoch 2/{EPOCHS}" in text:
                break
            assert job.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("training never reached epoch 2")
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # snakemake and its job, at once
        job.wait()

    run_dir = only_run(workflow, kind)
    assert not (run_dir / "model.pt").exists()  # no output that looks finished
    saved = torch.load(run_dir / "resume.pt", weights_only=True)
    finished = saved["state"]["epoch"]
    assert 2 <= finished < EPOCHS
    (log_path,) = logs.rglob("train.log")
    before_kill = logged_epochs(log_path.read_text())
    # the checkpoint is written before the epoch's line: the last one may be missing
    assert before_kill in (list(range(1, finished + 1)), list(range(1, finished))), before_kill

    run(workflow, configfile, "--unlock", separate=False)
    run(workflow, configfile, target)
    log = log_path.read_text()
    checkpoint = (run_dir / "resume.pt").relative_to(workflow)  # as the job names it
    resumed = f"resumed from {checkpoint} after epoch {finished}\n"
    assert log.count(resumed) == 1, log
    head, tail = log.split(resumed)
    # snakemake starts a job's log afresh (an older one would keep the killed attempt's lines)
    assert logged_epochs(head) in ([], before_kill), head
    # the resumed job trained only the epochs the killed one had not finished
    assert logged_epochs(tail) == list(range(finished + 1, EPOCHS + 1)), tail
    assert not (run_dir / "resume.pt").exists()

    a = torch.load(only_run(reference, kind) / "model.pt", weights_only=True)
    b = torch.load(run_dir / "model.pt", weights_only=True)
    assert a["state_dict"].keys() == b["state_dict"].keys()
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    history = [
        pd.read_parquet(only_run(w, kind) / "history.parquet") for w in (reference, workflow)
    ]
    pd.testing.assert_frame_equal(history[0], history[1])
    assert sorted(set(history[1]["epoch"])) == list(range(1, EPOCHS + 1))
    metrics = [
        pd.read_parquet(w / target).drop(columns="train_seconds") for w in (reference, workflow)
    ]
    pd.testing.assert_frame_equal(metrics[0], metrics[1])
