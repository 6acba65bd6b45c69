"""GPUs seen at parse time without torch, the training jobs' gpu resource, and the plan."""

from __future__ import annotations

import pytest

from aeflow.plan import cost, logs, machine


def fake_proc(tmp_path, gpus: int):
    """A /proc/driver/nvidia/gpus with one folder per GPU (as the driver writes it)."""
    proc = tmp_path / "gpus"
    proc.mkdir()
    for i in range(gpus):
        (proc / f"0000:{i:02x}:00.0").mkdir()
        (proc / f"0000:{i:02x}:00.0" / "information").write_text("Model: fake\n")
    return proc


def fake_smi(tmp_path, output: str, status: int = 0) -> str:
    script = tmp_path / "nvidia-smi"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\nexit {status}\n")
    script.chmod(0o755)
    return str(script)


def test_physical_gpus_from_the_driver_folder(tmp_path):
    assert machine.physical_gpus(fake_proc(tmp_path, 2), smi=None) == 2
    assert machine.physical_gpus(tmp_path / "absent", smi=None) == 0


def test_physical_gpus_from_nvidia_smi(tmp_path):
    listing = "GPU 0: NVIDIA H100 (UUID: GPU-aa)\nGPU 1: NVIDIA H100 (UUID: GPU-bb)"
    absent = tmp_path / "absent"
    assert machine.physical_gpus(absent, smi=fake_smi(tmp_path, listing)) == 2
    failing = tmp_path / "failing"
    failing.mkdir()
    no_driver = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    assert machine.physical_gpus(absent, smi=fake_smi(failing, no_driver, status=9)) == 0
    assert machine.physical_gpus(absent, smi=str(tmp_path / "no-such-program")) == 0


@pytest.mark.parametrize(
    "visible, expected",
    [
        (None, 2),  # unset: every GPU of the machine
        ("", 0),  # set empty: none (how users hide GPUs)
        ("1", 1),
        ("0,1", 2),
        ("1,0,5", 2),  # CUDA stops at the first index the machine lacks
        ("-1,0", 0),
        ("GPU-8f6c2a,1", 2),  # UUIDs (SLURM and containers may pass them)
        ("0,1,GPU-a,GPU-b", 2),  # never more than the machine has
    ],
)
def test_cuda_visible_devices_narrows_the_count(tmp_path, visible, expected):
    env = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    assert machine.gpu_count(env, fake_proc(tmp_path, 2), smi=None) == expected


def test_no_gpu_without_a_driver(tmp_path):
    assert machine.gpu_count({"CUDA_VISIBLE_DEVICES": "0"}, tmp_path / "absent", smi=None) == 0


@pytest.mark.parametrize(
    "device, gpus, where, resource",
    [
        ("auto", 0, "cpu", 0),
        ("auto", 1, "cuda", 1),
        ("auto", 4, "cuda", 1),  # one GPU per job; --resources gpu=4 runs four
        ("cpu", 2, "cpu", 0),  # on the cores even where GPUs are
        ("cuda", 1, "cuda", 1),
        ("cuda:1", 2, "cuda", 1),
        ("cuda", 0, "cuda", 0),  # fails when the job starts (below), takes no GPU slot
        ("cuda:0", 0, "cuda", 0),
    ],
)
def test_training_device_and_gpu_resource(device, gpus, where, resource):
    assert machine.training_device(device, gpus) == where
    assert machine.training_gpu_resource(device, gpus) == resource


def test_cuda_without_a_gpu_still_fails_when_the_job_starts(monkeypatch, tmp_path):
    torch = pytest.importorskip("torch")
    from aeflow.run import devices

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(devices.DeviceError, match="'cuda' asked for, but CUDA is not available"):
        with devices.job_device("cuda", tmp_path):
            pass


AE = {"architecture": "conv", "batch_size": 100, "epochs": 30}
CLF = {**AE, "initialisation": "scratch"}


def test_cost_model_orders_configurations_sensibly():
    scratch = cost.epoch_seconds("classifier", CLF, 50_000, 10_000)
    frozen = cost.epoch_seconds("classifier", {**CLF, "initialisation": "frozen"}, 50_000, 10_000)
    deep = cost.epoch_seconds("autoencoder", {**AE, "architecture": "conv_deep"}, 50_000, 10_000)
    conv = cost.epoch_seconds("autoencoder", AE, 50_000, 10_000)
    assert 0 < frozen < scratch and conv < deep
    assert cost.epoch_seconds("autoencoder", AE, 5_000, 1_000) < conv / 5
    full = cost.epoch_seconds("autoencoder", {**AE, "batch_size": "full"}, 50_000, 10_000)
    assert full <= conv  # one batch: no per-batch overhead
    assert cost.training_seconds("autoencoder", AE, 50_000, 10_000) == pytest.approx(
        30 * conv + cost.JOB_START
    )
    # unmeasured on a GPU: no number
    assert cost.epoch_seconds("autoencoder", AE, 50_000, 10_000, device="cuda") is None


def test_cost_per_batch_and_per_weight(monkeypatch):
    monkeypatch.setitem(cost.CPU_COST, ("autoencoder", "conv"), (1e-4, 1e-2, 0.0))
    at_100 = cost.epoch_seconds("autoencoder", AE, 1000, 0)
    at_10 = cost.epoch_seconds("autoencoder", {**AE, "batch_size": 10}, 1000, 0)
    assert at_100 == pytest.approx(0.1 + 10 * 0.01) and at_10 == pytest.approx(0.1 + 100 * 0.01)
    mlp = {"architecture": "mlp", "latent": 128, "hidden": "64", "batch_size": 100}
    assert cost.mlp_weights("classifier", mlp) == 784 * 128 + 128 * 64 + 64 * 10
    assert cost.mlp_weights("autoencoder", {**mlp, "latent": 512}) == 2 * 784 * 512
    wide = cost.epoch_seconds("classifier", {**mlp, "latent": 2000, "hidden": "1000"}, 1000, 0)
    assert wide > 10 * cost.epoch_seconds("classifier", mlp, 1000, 0)


def test_cost_of_labels_and_min_steps(monkeypatch):
    """A classifier with ``labels`` trains on that many images per epoch, and ``min_steps``
    raises its epochs: 100 labels in batches of 100 with min_steps 1000 are 1 000 epochs of
    one batch each, and each epoch still validates every validation image."""
    monkeypatch.setitem(cost.CPU_COST, ("classifier", "conv"), (1e-4, 1e-2, 1e-5))
    small = {**CLF, "labels": 100, "min_steps": 1000, "epochs": 30}
    epoch = cost.epoch_seconds("classifier", small, 50_000, 10_000)
    assert epoch == pytest.approx(100 * 1e-4 + 1 * 1e-2 + 10_000 * 1e-5)
    assert cost.training_seconds("classifier", small, 50_000, 10_000) == pytest.approx(
        1000 * epoch + cost.JOB_START
    )
    # 50 000 labels: 500 steps per epoch, min_steps 1000 < 30 epochs: 30 epochs
    large = {**small, "labels": 50_000}
    assert cost.training_seconds("classifier", large, 50_000, 10_000) == pytest.approx(
        30 * cost.epoch_seconds("classifier", large, 50_000, 10_000) + cost.JOB_START
    )


@pytest.mark.parametrize(
    "n_train, batch_size", [(1, 1), (99, 32), (100, 100), (101, 100), (50_000, 100), (50_000, 1)]
)
@pytest.mark.parametrize("min_steps", [0, 1, 150, 1000])
def test_planned_epochs_as_training_plans_them(n_train, batch_size, min_steps):
    from aeflow.run import training

    assert cost.planned_epochs(3, n_train, batch_size, min_steps) == training.planned_epochs(
        3, n_train, batch_size, min_steps
    )


def test_wall_time_uses_the_cores_or_the_gpus():
    jobs = [100.0] * 8
    one_core = cost.wall_seconds(jobs, "cpu", cores=1, gpus=0)
    two = cost.wall_seconds(jobs, "cpu", cores=2, gpus=0)
    eight = cost.wall_seconds(jobs, "cpu", cores=8, gpus=0)
    assert eight < two < sum(jobs) < one_core
    assert cost.wall_seconds(jobs[:1], "cpu", cores=8, gpus=0) > 100 / 8  # one job: one core
    assert cost.wall_seconds(jobs, "cuda", cores=8, gpus=2) is None  # unmeasured


@pytest.mark.parametrize(
    "seconds, text", [(40.4, "40s"), (12 * 60 + 9.6, "12m10s"), (2 * 3600 + 5 * 60 + 59, "2h05m")]
)
def test_duration_text(seconds, text):
    assert logs.duration_text(seconds) == text


def test_plan_lines_count_the_trainings_left():
    trainings = {
        "autoencoder": [(AE, True), (AE, False)],
        "classifier": [(CLF, False)] * 3,
    }
    lines = cost.plan_lines(trainings, 50_000, 10_000, "cpu", 0, 4, "results/report.html")
    text = "\n".join(lines)
    assert lines[0].startswith("aeflow plan: 5 trainings (2 autoencoder and 3 classifier)")
    assert "4 of them not trained yet" in lines[0]
    assert "cpu (no GPU visible)" in text and "side by side on 4 cores" in text
    assert "results/report.html" in lines[-1]
    expected = cost.wall_seconds(
        [cost.training_seconds("autoencoder", AE, 50_000, 10_000)]
        + [cost.training_seconds("classifier", CLF, 50_000, 10_000)] * 3,
        "cpu",
        4,
        0,
    )
    assert f"about {cost.duration_text(expected)} of training" in text
    done = {kind: [(p, True) for p, _ in jobs] for kind, jobs in trainings.items()}
    assert "about 0s" in "\n".join(cost.plan_lines(done, 50_000, 10_000, "cpu", 0, 4, "r"))
    one = "\n".join(cost.plan_lines(trainings, 50_000, 10_000, "cpu", 0, 1, "r"))
    assert "one at a time on 1 core" in one
    gpu = "\n".join(cost.plan_lines(trainings, 50_000, 10_000, "cuda", 2, 4, "r"))
    assert "one training job at a time per GPU (2 visible)" in gpu
    assert "projected: no time on a GPU, its step times are unmeasured" in gpu
    packs = "\n".join(cost.plan_lines(trainings, 50_000, 10_000, "cuda", 1, 4, "r", pack=3))
    assert "3 models a job (a configuration's seeds as one pack)" in packs
    missing = "\n".join(cost.plan_lines(trainings, 50_000, 10_000, "cuda", 0, 4, "r"))
    assert "no GPU is visible: training jobs will fail" in missing


def test_split_sizes():
    data = {"train_images": 60_000, "validation_size": 10_000, "subset": None}
    assert cost.split_sizes(data) == (50_000, 10_000)
    subset = {"train": 2000, "validation": 500, "test": 1000}
    assert cost.split_sizes({**data, "subset": subset}) == (2000, 500)


def test_mlp_weights_with_and_without_hidden_layers():
    from aeflow.plan import cost

    assert cost.mlp_weights("classifier", {"latent": 10, "hidden": "none"}) == 784 * 10 + 10 * 10
    assert cost.mlp_weights("classifier", {"latent": 10, "hidden": "8-4"}) == (
        784 * 10 + 10 * 8 + 8 * 4 + 4 * 10
    )
    assert cost.mlp_weights("classifier", {"latent": 10, "hidden": [8, 4]}) == (
        784 * 10 + 10 * 8 + 8 * 4 + 4 * 10
    )
