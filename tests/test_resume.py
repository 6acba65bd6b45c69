"""A training job killed with SIGKILL resumes from its last finished epoch and ends with
exactly the weights, history and test metrics of a run that was never interrupted."""

from __future__ import annotations

import os
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


def resume_config(root):
    source = root / "source"
    config = tiny_config(source, write_idx_dataset(source, 300, 100))
    config["autoencoder"] = {"base": {"latent": 16, "epochs": EPOCHS, "batch_size": 10}}
    config["classifier"]["initialisations"] = ["scratch"]
    config["classifier"]["sweeps"] = {}
    return write_config(root / "resume.yaml", config)


def only_model(workflow, kind):
    (path,) = (workflow / "results" / kind).glob("*/seed0/model.pt")
    return path


def test_killed_training_job_resumes_to_identical_results(tmp_path):
    configfile = resume_config(tmp_path)
    target = "results/tables/autoencoder_metrics.parquet"

    reference = copy_workflow(tmp_path / "reference")
    run(reference, configfile, target)

    workflow = copy_workflow(tmp_path / "killed")
    args = ["--cores", "2", target]
    job = subprocess.Popen(
        command(workflow, configfile, *args),
        env=environment(workflow),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    logs = workflow / "logs" / "autoencoder"
    deadline = time.time() + 300
    try:
        while time.time() < deadline:
            text = "".join(p.read_text() for p in logs.rglob("train.log")) if logs.exists() else ""
            if "epoch 2/" in text:
                break
            assert job.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("training never reached epoch 2")
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # snakemake and its job, at once
        job.wait()

    (run_dir,) = (workflow / "results" / "autoencoder").glob("*/seed0")
    assert not (run_dir / "model.pt").exists()  # no output that looks finished
    saved = torch.load(run_dir / "resume.pt", weights_only=True)
    assert 2 <= saved["state"]["epoch"] < EPOCHS

    run(workflow, configfile, "--unlock")
    run(workflow, configfile, target)
    log = next(logs.rglob("train.log")).read_text()
    assert f"after epoch {saved['state']['epoch']}" in log and "resumed from" in log
    assert not (run_dir / "resume.pt").exists()

    a = torch.load(only_model(reference, "autoencoder"), weights_only=True)
    b = torch.load(only_model(workflow, "autoencoder"), weights_only=True)
    assert a["state_dict"].keys() == b["state_dict"].keys()
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    history = [
        pd.read_parquet(next((w / "results" / "autoencoder").rglob("history.parquet")))
        for w in (reference, workflow)
    ]
    pd.testing.assert_frame_equal(history[0], history[1])
    metrics = [
        pd.read_parquet(w / target).drop(columns="train_seconds") for w in (reference, workflow)
    ]
    pd.testing.assert_frame_equal(metrics[0], metrics[1])
