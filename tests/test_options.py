"""Training options of the seed studies: lr schedules, early stopping with the best
weights restored, momentum, L2 weight decay and full-batch gradient descent."""

import math

import pytest
import torch

from aeflow.run import metrics, optim, training
from aeflow.run.training import TrainingError

CPU = torch.device("cpu")
CLF = {
    "architecture": "mlp",
    "latent": 32,
    "hidden": "16",
    "dropout": 0.0,
    "optimizer": "sgd",
    "lr": 0.1,
    "batch_size": 30,
    "epochs": 3,
    "initialisation": "scratch",
    "autoencoder_id": None,
}


def quiet(_line):
    pass


def series(history, split, metric):
    return [r["value"] for r in history if r["split"] == split and r["metric"] == metric]


# --- schedules ----------------------------------------------------------------------------


def test_linear_saturating_schedule():
    lrs = [training.scheduled_lr(e, 0.1, "linear", lr_min=0.01, lr_epochs=4) for e in range(1, 8)]
    # η(t) = max(η_min, η₀ (1 - t/T)), t = epoch - 1
    assert lrs == pytest.approx([0.1, 0.075, 0.05, 0.025, 0.01, 0.01, 0.01])


def test_exponential_schedule():
    lrs = [training.scheduled_lr(e, 0.1, "exponential", lr_gamma=0.5) for e in range(1, 5)]
    assert lrs == pytest.approx([0.1, 0.05, 0.025, 0.0125])


def test_no_schedule_is_constant():
    assert [training.scheduled_lr(e, 0.3, "none", lr_gamma=0.5) for e in (1, 10)] == [0.3, 0.3]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"schedule": "cosine"}, "lr_schedule 'cosine' unknown"),
        ({"schedule": "exponential", "lr_gamma": 1.5}, "lr_gamma"),
        ({"schedule": "linear", "lr_epochs": 0}, "lr_epochs"),
    ],
)
def test_bad_schedule(kwargs, match):
    with pytest.raises(TrainingError, match=match):
        training.scheduled_lr(1, 0.1, **kwargs)


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"lr_schedule": "linear", "lr_min": 0.02, "lr_epochs": 2}, [0.1, 0.05, 0.02]),
        ({"lr_schedule": "exponential", "lr_gamma": 0.5}, [0.1, 0.05, 0.025]),
    ],
)
def test_training_uses_and_records_the_schedule(tiny_split, params, expected, monkeypatch):
    seen = []
    step = optim.SGD.step

    def record(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(optim.SGD, "step", record)
    _, result = training.fit_classifier({**CLF, **params}, tiny_split, 0, CPU, log=quiet)
    assert series(result["history"], "train", "lr") == pytest.approx(expected)
    steps = math.ceil(240 / CLF["batch_size"])
    assert seen == pytest.approx([lr for lr in expected for _ in range(steps)])
    assert "final_train_lr" not in result


# --- early stopping --------------------------------------------------------------------------


def overfitting(patience):
    # a wide network, a large lr and 240 images: the validation loss soon rises
    return {**CLF, "latent": 256, "hidden": "128", "optimizer": "adam", "lr": 0.01,
            "epochs": 40, "patience": patience}  # fmt: skip


def test_early_stopping_stops_and_restores_the_best_epoch(tiny_split):
    model, result = training.fit_classifier(overfitting(3), tiny_split, 0, CPU, log=quiet)
    val = series(result["history"], "validation", "loss")
    best = min(range(len(val)), key=val.__getitem__) + 1
    assert result["stopped_early"]
    assert result["best_epoch"] == best
    assert result["epochs_run"] == best + 3 < 40  # three epochs without improvement
    # the weights are the best epoch's: their validation loss is that epoch's
    again = metrics.evaluate_split(
        model, "classifier", tiny_split["validation_images"], tiny_split["validation_labels"]
    )
    assert again["loss"] == pytest.approx(val[best - 1], rel=1e-5)
    assert result["final_validation_loss"] == val[best - 1]
    assert again["loss"] < val[-1]


def test_without_patience_training_runs_every_epoch(tiny_split):
    params = {**overfitting(0), "epochs": 8}
    model, result = training.fit_classifier(params, tiny_split, 0, CPU, log=quiet)
    val = series(result["history"], "validation", "loss")
    assert result["epochs_run"] == 8 and not result["stopped_early"]
    assert result["best_epoch"] == 8
    assert result["final_validation_loss"] == val[-1]


def test_early_stopping_resumes_with_its_best_weights(tiny_split, tmp_path):
    params = overfitting(3)
    _, whole = training.fit_classifier(params, tiny_split, 0, CPU, log=quiet)
    ckpt = tmp_path / "resume.pt"
    stop_after = whole["best_epoch"] + 1  # past the best epoch, before stopping
    part = {**params, "epochs": stop_after}
    training.fit_classifier(part, tiny_split, 0, CPU, checkpoint=ckpt, log=quiet)
    saved = torch.load(ckpt, weights_only=True)
    saved["fingerprint"] = {**params, "seed": 0}  # as if the longer run had been killed
    torch.save(saved, ckpt)
    model, resumed = training.fit_classifier(params, tiny_split, 0, CPU, checkpoint=ckpt, log=quiet)
    assert resumed["history"] == whole["history"]
    assert resumed["best_epoch"] == whole["best_epoch"]
    assert resumed["final_validation_loss"] == whole["final_validation_loss"]


# --- optimizer options -----------------------------------------------------------------------


def test_momentum_and_weight_decay_reach_the_optimizer():
    w = torch.nn.Parameter(torch.ones(3))
    sgd = training.make_optimizer("sgd", [w], 0.1, momentum=0.9, weight_decay=0.01)
    assert sgd.param_groups[0]["momentum"] == 0.9
    assert sgd.param_groups[0]["weight_decay"] == 0.01
    adam = training.make_optimizer("adam", [w], 0.1, momentum=0.9, weight_decay=0.01)
    assert adam.param_groups[0]["weight_decay"] == 0.01
    with pytest.raises(TrainingError, match="must not be negative"):
        training.make_optimizer("sgd", [w], 0.1, weight_decay=-1)


def test_weight_decay_is_an_l2_penalty():
    # with a zero loss gradient, a step of SGD with L2 λ shrinks w by lr·λ·w
    w = torch.nn.Parameter(torch.ones(3))
    opt = training.make_optimizer("sgd", [w], 0.5, weight_decay=0.1)
    w.grad = torch.zeros(3)
    opt.step()
    assert torch.allclose(w.detach(), torch.full((3,), 1 - 0.5 * 0.1))


def test_l2_gives_smaller_weights(tiny_split):
    plain, _ = training.fit_classifier(CLF, tiny_split, 0, CPU, log=quiet)
    decayed, _ = training.fit_classifier(
        {**CLF, "weight_decay": 0.5}, tiny_split, 0, CPU, log=quiet
    )
    norm = lambda m: sum(float(p.detach().norm()) for p in m.parameters())  # noqa: E731
    assert norm(decayed) < norm(plain)


def test_full_batch_takes_one_step_per_epoch(tiny_split, monkeypatch):
    steps = []
    step = optim.SGD.step
    monkeypatch.setattr(
        optim.SGD, "step", lambda self, *a, **k: steps.append(1) or step(self, *a, **k)
    )
    _, result = training.fit_classifier({**CLF, "batch_size": 240}, tiny_split, 0, CPU, log=quiet)
    assert len(steps) == CLF["epochs"] and result["epochs_run"] == CLF["epochs"]
