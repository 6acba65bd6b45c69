import math

import pytest
import torch
from torch import nn

from aeflow.run import devices, metrics, models, training
from aeflow.run.training import TrainingError

CPU = torch.device("cpu")
AE_PARAMS = {
    "architecture": "conv",
    "latent": 8,
    "dropout": 0.1,
    "optimizer": "adam",
    "lr": 0.005,
    "batch_size": 32,
    "output_activation": "sigmoid",
    "epochs": 2,
}
CLF_PARAMS = {
    "architecture": "conv",
    "latent": 8,
    "hidden": 16,
    "dropout": 0.1,
    "optimizer": "adam",
    "lr": 0.005,
    "batch_size": 32,
    "epochs": 2,
    "initialisation": "scratch",
    "autoencoder_id": None,
}


def quiet(_line):
    pass


def same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def without_time(result):
    return {k: v for k, v in result.items() if k != "train_seconds"}


def series(history, split, metric):
    return [r["value"] for r in history if r["split"] == split and r["metric"] == metric]


def encoder_of_random_autoencoder(latent=8, seed=3):
    torch.manual_seed(seed)
    ae = models.build_autoencoder({**AE_PARAMS, "latent": latent})
    return models.encoder_export(ae, {**AE_PARAMS, "latent": latent}, "conv-test")


# --- reproducibility ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["autoencoder", "classifier"])
def test_fit_is_reproducible(tiny_split, kind):
    fit, params = (
        (training.fit_autoencoder, AE_PARAMS)
        if kind == "autoencoder"
        else (training.fit_classifier, CLF_PARAMS)
    )
    m1, r1 = fit(params, tiny_split, 0, CPU, log=quiet)
    m2, r2 = fit(params, tiny_split, 0, CPU, log=quiet)
    assert r1["history"] == r2["history"]
    assert without_time(r1) == without_time(r2)
    assert same_state(m1, m2)
    m3, r3 = fit(params, tiny_split, 1, CPU, log=quiet)
    assert r3["history"] != r1["history"]
    assert not same_state(m1, m3)


def test_result_shape(tiny_split):
    lines = []
    _, result = training.fit_classifier(CLF_PARAMS, tiny_split, 0, CPU, log=lines.append)
    assert result["epochs_run"] == 2 and not result["diverged"]
    assert result["diverged_epoch"] is None and result["train_seconds"] > 0
    history = result["history"]
    assert {(r["epoch"], r["split"], r["metric"]) for r in history} == {
        (e, s, m) for e in (1, 2) for s in ("train", "validation") for m in ("loss", "accuracy")
    }
    assert result["final_validation_accuracy"] == series(history, "validation", "accuracy")[-1]
    assert result["final_train_loss"] == series(history, "train", "loss")[-1]
    assert [line.split()[:2] for line in lines] == [["epoch", "1/2"], ["epoch", "2/2"]]
    assert "validation_accuracy=" in lines[0]


def test_epoch_lines_carry_the_time_left(tiny_split):
    lines = []
    training.fit_autoencoder({**AE_PARAMS, "epochs": 3}, tiny_split, 0, CPU, log=lines.append)
    fields = [dict(f.split("=", 1) for f in line.split()[2:]) for line in lines]
    seconds = [float(f["seconds"]) for f in fields]
    # the mean epoch so far times the epochs left (seconds here, on 300 images)
    for done, f in enumerate(fields, start=1):
        left = (3 - done) * sum(seconds[:done]) / done
        assert f["eta"].endswith("s") and abs(int(f["eta"][:-1]) - left) <= 1, lines
    assert fields[-1]["eta"] == "0s"
    assert lines[0].rsplit("seconds=", 1)[1] == f"{seconds[0]:.2f}"  # still the last field


# --- evaluation --------------------------------------------------------------------------


def test_validation_is_measured_in_eval_mode(tiny_split):
    torch.manual_seed(0)
    model = models.build_autoencoder({**AE_PARAMS, "dropout": 0.9})
    model.train()
    x, y = tiny_split["validation_images"], tiny_split["validation_labels"]
    first = metrics.evaluate_split(model, "autoencoder", x, y, batch_size=16)
    second = metrics.evaluate_split(model, "autoencoder", x, y, batch_size=25)
    assert first["loss"] == pytest.approx(second["loss"], rel=1e-6)
    assert metrics.evaluate_split(model, "autoencoder", x, y, batch_size=16) == first
    assert model.training  # mode restored
    # the same loss as a manual eval-mode computation
    model.eval()
    with torch.no_grad():
        inputs = metrics.as_input(x)
        expected = torch.nn.functional.mse_loss(model(inputs), inputs).item()
    assert first["loss"] == pytest.approx(expected, rel=1e-5)


def test_evaluate_split_classifier_accuracy(tiny_split):
    torch.manual_seed(0)
    model = models.build_classifier({**CLF_PARAMS, "dropout": 0.9}).train()
    x, y = tiny_split["validation_images"], tiny_split["validation_labels"]
    out = metrics.evaluate_split(model, "classifier", x, y)
    model.eval()
    with torch.no_grad():
        logits = model(metrics.as_input(x))
    assert out["accuracy"] == (logits.argmax(1) == y).sum().item() / len(y)
    assert out["loss"] == pytest.approx(
        torch.nn.functional.cross_entropy(logits, y).item(), rel=1e-5
    )


def test_as_input():
    images = torch.tensor([[[0, 255], [51, 102]]], dtype=torch.uint8)
    x = metrics.as_input(images)
    assert x.shape == (1, 1, 2, 2) and x.dtype == torch.float32
    assert x.flatten().tolist() == pytest.approx([0.0, 1.0, 0.2, 0.4])


# --- learning ----------------------------------------------------------------------------


def test_autoencoder_loss_decreases(tiny_split):
    _, result = training.fit_autoencoder({**AE_PARAMS, "epochs": 3}, tiny_split, 0, CPU, log=quiet)
    train = series(result["history"], "train", "loss")
    val = series(result["history"], "validation", "loss")
    assert len(train) == len(val) == 3
    assert train[-1] < train[0] and val[-1] < val[0]


def test_classifier_learns(tiny_split):
    _, result = training.fit_classifier({**CLF_PARAMS, "epochs": 3}, tiny_split, 0, CPU, log=quiet)
    train = series(result["history"], "train", "loss")
    assert train[-1] < train[0]
    assert result["final_validation_accuracy"] > 0.5  # chance is 0.1


# --- divergence ----------------------------------------------------------------------------


def test_divergence_stops_without_raising(tiny_split):
    params = {**CLF_PARAMS, "optimizer": "sgd", "lr": 1e6, "epochs": 4}
    lines = []
    _, result = training.fit_classifier(params, tiny_split, 0, CPU, log=lines.append)
    assert result["diverged"] is True
    epoch = result["diverged_epoch"]
    assert epoch is not None and 1 <= epoch <= 4
    assert result["epochs_run"] == epoch
    assert not math.isfinite(result["final_train_loss"])
    assert math.isnan(result["final_validation_loss"])
    assert max(r["epoch"] for r in result["history"]) == epoch
    assert any(line.startswith("diverged") for line in lines)


class _NaNAfter(nn.Module):
    """Reconstructs its input until ``epoch`` batches in, then returns NaN."""

    def __init__(self, batches):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.batches = batches
        self.calls = 0

    def forward(self, x):
        if self.training:
            self.calls += 1
        out = x * self.scale
        return out * math.nan if self.calls > self.batches else out


def test_divergence_at_a_later_epoch(tiny_split, tmp_path):
    def run(model):
        return training.train(
            model, tiny_split, task="autoencoder", epochs=5, batch_size=32, optimizer="sgd",
            lr=0.01, seed=0, device=CPU, checkpoint=tmp_path / "ckpt.pt", log=quiet,
        )  # fmt: skip

    result = run(_NaNAfter(batches=8))  # 240 / 32 → 8 batches an epoch: NaN from epoch 2
    assert result["diverged"] and result["diverged_epoch"] == 2 and result["epochs_run"] == 2
    losses = series(result["history"], "train", "loss")
    assert math.isfinite(losses[0]) and math.isnan(losses[1])
    # a rerun from the checkpoint does not train on
    again = run(_NaNAfter(batches=0))
    assert again["diverged_epoch"] == 2 and again["epochs_run"] == 2


# --- resuming ------------------------------------------------------------------------------


class Interrupted(Exception):
    pass


def interrupt_at(epoch_line_prefix):
    def log(line):
        if line.startswith(epoch_line_prefix):
            raise Interrupted(line)

    return log


@pytest.mark.parametrize("kind", ["autoencoder", "classifier"])
def test_resume_after_interruption_is_identical(tiny_split, tmp_path, kind):
    fit = training.fit_autoencoder if kind == "autoencoder" else training.fit_classifier
    params = {**(AE_PARAMS if kind == "autoencoder" else CLF_PARAMS), "epochs": 4}
    full_model, full = fit(params, tiny_split, 0, CPU, log=quiet)

    checkpoint = tmp_path / "run" / "checkpoint.pt"
    # The checkpoint of an epoch is written before its log line: an interruption while
    # logging epoch 3 leaves the checkpoint of epoch 3.
    with pytest.raises(Interrupted):
        fit(params, tiny_split, 0, CPU, checkpoint=checkpoint, log=interrupt_at("epoch 3/4"))
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["state"]["epoch"] == 3
    assert [p.name for p in checkpoint.parent.iterdir()] == ["checkpoint.pt"]

    lines = []
    model, resumed = fit(params, tiny_split, 0, CPU, checkpoint=checkpoint, log=lines.append)
    assert lines[0].startswith("resumed from") and "after epoch 3" in lines[0]
    assert [line.split()[1] for line in lines[1:]] == ["4/4"]
    assert resumed["history"] == full["history"]
    assert without_time(resumed) == without_time(full)
    assert same_state(model, full_model)


def test_checkpoint_of_other_settings_is_ignored(tiny_split, tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    training.fit_autoencoder(AE_PARAMS, tiny_split, 0, CPU, checkpoint=checkpoint, log=quiet)
    lines = []
    params = {**AE_PARAMS, "lr": 0.002}
    model, result = training.fit_autoencoder(
        params, tiny_split, 0, CPU, checkpoint=checkpoint, log=lines.append
    )
    assert lines[0].startswith("ignoring")
    fresh_model, fresh = training.fit_autoencoder(params, tiny_split, 0, CPU, log=quiet)
    assert result["history"] == fresh["history"] and same_state(model, fresh_model)
    # another seed is other settings too
    lines.clear()
    training.fit_autoencoder(AE_PARAMS, tiny_split, 1, CPU, checkpoint=checkpoint, log=lines.append)
    assert lines[0].startswith("ignoring")


# --- pretrained classifiers ------------------------------------------------------------------


def test_frozen_classifier_keeps_its_encoder(tiny_split):
    export = encoder_of_random_autoencoder()
    params = {**CLF_PARAMS, "initialisation": "frozen", "autoencoder_id": "conv-test"}
    torch.manual_seed(0)
    start = models.build_classifier(params)
    model, result = training.fit_classifier(params, tiny_split, 0, CPU, encoder=export, log=quiet)
    for key, value in export["state_dict"].items():
        assert torch.equal(model.encoder.state_dict()[key], value), key
    assert not model.encoder.training
    # the head trained (it starts from the same seeded init as ``start``)
    changed = [
        not torch.equal(model.head.state_dict()[k], v) for k, v in start.head.state_dict().items()
    ]
    assert all(changed)
    assert not result["diverged"]


def test_finetuned_classifier_changes_its_encoder(tiny_split):
    export = encoder_of_random_autoencoder()
    params = {**CLF_PARAMS, "initialisation": "finetune", "autoencoder_id": "conv-test"}
    model, _ = training.fit_classifier(params, tiny_split, 0, CPU, encoder=export, log=quiet)
    assert model.encoder.training
    assert any(
        not torch.equal(model.encoder.state_dict()[k], v) for k, v in export["state_dict"].items()
    )


def test_pretrained_classifier_starts_from_the_encoder(tiny_split):
    """With lr 0 nothing moves: the encoder is exactly the exported one."""
    export = encoder_of_random_autoencoder()
    params = {**CLF_PARAMS, "initialisation": "finetune", "lr": 0.0, "epochs": 1}
    model, _ = training.fit_classifier(params, tiny_split, 0, CPU, encoder=export, log=quiet)
    for key, value in export["state_dict"].items():
        assert torch.equal(model.encoder.state_dict()[key], value)


def test_fit_classifier_encoder_mismatch(tiny_split):
    with pytest.raises(TrainingError, match="needs an encoder"):
        training.fit_classifier({**CLF_PARAMS, "initialisation": "frozen"}, tiny_split, 0, CPU)
    with pytest.raises(TrainingError, match="needs no encoder"):
        training.fit_classifier(
            CLF_PARAMS, tiny_split, 0, CPU, encoder=encoder_of_random_autoencoder()
        )
    with pytest.raises(models.ModelError, match="latent 8.*latent 16"):
        training.fit_classifier(
            {**CLF_PARAMS, "initialisation": "frozen", "latent": 16},
            tiny_split,
            0,
            CPU,
            encoder=encoder_of_random_autoencoder(latent=8),
        )


# --- options ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"task": "regression"}, "task 'regression' unknown"),
        ({"batch_size": 0}, "batch_size 0"),
        ({"batch_size": 241}, "batch_size 241"),
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"optimizer": "rmsprop"}, "optimizer 'rmsprop' unknown"),
    ],
)
def test_bad_options(tiny_split, overrides, match):
    options = {
        "task": "autoencoder",
        "epochs": 1,
        "batch_size": 32,
        "optimizer": "adam",
        "lr": 0.01,
        "seed": 0,
        "device": CPU,
        "log": quiet,
    }
    with pytest.raises(TrainingError, match=match):
        training.train(models.Autoencoder(latent=4), tiny_split, **{**options, **overrides})


def test_select_device():
    assert devices.select_device("cpu") == CPU
    assert devices.select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(devices.DeviceError, match="CUDA is not available"):
            devices.select_device("cuda:0")


def test_model_file_is_weights_only(tiny_split, tmp_path):
    model, result = training.fit_autoencoder(
        {**AE_PARAMS, "epochs": 1}, tiny_split, 0, CPU, log=quiet
    )
    obj = training.model_file("autoencoder", "conv-x", 0, AE_PARAMS, model, result)
    assert "history" not in obj["summary"] and obj["summary"]["epochs_run"] == 1
    path = tmp_path / "model.pt"
    training.save_model(obj, path)
    loaded, saved = models.load_trained(path, AE_PARAMS)
    assert saved["model_id"] == "conv-x" and saved["seed"] == 0
    assert same_state(loaded, model)
