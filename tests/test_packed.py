"""Packs (aeflow.run.packed): several models trained as one stacked model on the CPU.

The tolerance a member is held to against the same model trained alone (same seed, data
order and dropout masks; only the order of floating-point sums in the batched kernels
differs, and those differences grow from epoch to epoch): the first epoch's losses
within a relative 1e-4 (a different mask, batch or update would show there at 1e-2),
later epochs' losses within 1e-2, every accuracy within 0.02 (one image of the tiny
split's 60 validation images on the other side), and on the test images an
autoencoder's outputs within 1e-3 and a classifier's predicted classes the same for at
least 95 % of the images. Measured on this machine's CPU: first-epoch losses within
2e-7, later ones within 2.3e-3, autoencoder outputs within 3.7e-4. The largest
differences are one seed's: the classifier of seed 1 (lr 0.005 or 0.002, 3 epochs)
ends with logits up to 0.11-0.14 apart and losses 1.6e-3 apart, whether in a pack of
two or a pack of one (so not from its neighbours), while seeds 0, 2 and 3 agree within
5e-6: a trajectory that amplifies rounding.
Weights are not compared one by one: a weight whose gradient is rounding noise (a dead
unit) gets Adam steps of size lr in either run. conv_bn is held to its losses only,
within 1e-2 from the first epoch on (measured: 4e-4 in the first, 1.6e-3 later): a
convolution's bias right before batch norm has no effect on the output and a gradient
that is only rounding noise, which Adam scales up to steps of size lr.
"""

import math

import pytest
import torch

from aeflow.run import metrics, packed, training
from aeflow.run.training import TrainingError

CPU = torch.device("cpu")
AE = {
    "architecture": "conv",
    "latent": 8,
    "dropout": 0.1,
    "optimizer": "adam",
    "lr": 0.005,
    "batch_size": 32,
    "output_activation": "sigmoid",
    "epochs": 2,
}
CLF = {
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
FIRST_EPOCH = 1e-4
RELATIVE = 1e-2
ACCURACY = 0.02
OUTPUTS = 1e-3
PREDICTIONS = 0.95


def quiet(_line):
    pass


def values(result):
    return [(r["epoch"], r["split"], r["metric"]) for r in result["history"]], [
        r["value"] for r in result["history"]
    ]


def close_runs(
    alone, pack, test_images, relative=RELATIVE, outputs=OUTPUTS, first_epoch=FIRST_EPOCH
):
    (model_a, result_a), (model_p, result_p) = alone, pack
    keys_a, values_a = values(result_a)
    keys_p, values_p = values(result_p)
    assert keys_a == keys_p
    for (epoch, _, metric), a, p in zip(keys_a, values_a, values_p):
        if metric == "accuracy":  # a count: one image may fall on the other side
            assert a == pytest.approx(p, rel=0, abs=ACCURACY)
        else:
            rel = first_epoch if epoch == 1 else relative
            assert a == pytest.approx(p, rel=rel, nan_ok=True), (epoch, metric)
    for key in ("diverged", "diverged_epoch", "epochs_run", "best_epoch", "stopped_early"):
        assert result_a[key] == result_p[key], key
    if outputs is not None:  # the trained networks compute the same function
        images = metrics.as_input(test_images)
        with torch.no_grad():
            out_a, out_p = model_a.eval()(images), model_p.eval()(images)
        if out_a.dim() == 2:  # a classifier's logits: the predicted classes
            agree = (out_a.argmax(1) == out_p.argmax(1)).float().mean().item()
            assert agree >= PREDICTIONS
        else:
            assert torch.allclose(out_a, out_p, rtol=0, atol=outputs)


def encoder_export(seed=3):
    from aeflow.run import models

    torch.manual_seed(seed)
    params = {**AE, "latent": 8}
    return models.encoder_export(models.build_autoencoder(params), params, "conv-test")


@pytest.mark.parametrize(
    "kind, params, seeds",
    [
        ("autoencoder", AE, (0, 1)),
        # per-member hyperparameters: another lr and an lr schedule for the second member
        ("classifier", {**CLF, "epochs": 3, "patience": 1}, (0, 1)),
        ("classifier", {**CLF, "initialisation": "frozen", "labels": 100}, (0, 1)),
        ("autoencoder", {**AE, "architecture": "mlp", "latent": 16}, (0, 1)),
    ],
    ids=["conv-autoencoder", "classifier-early-stopping", "frozen-with-labels", "mlp"],
)
def test_each_member_equals_its_model_alone(tiny_split, kind, params, seeds):
    encoder = encoder_export() if params.get("initialisation") == "frozen" else None
    fit = training.fit_autoencoder if kind == "autoencoder" else training.fit_classifier
    extra = {} if kind == "autoencoder" else {"encoder": encoder}
    alone = [fit(params, tiny_split, s, CPU, log=quiet, **extra) for s in seeds]
    pack = packed.fit_pack(
        kind,
        [(params, s) for s in seeds],
        tiny_split,
        CPU,
        log=quiet,
        encoders=[encoder] * len(seeds) if encoder else None,
    )
    for a, p in zip(alone, pack):
        close_runs(a, p, tiny_split["test_images"])
    # the members really differ from one another (own seed, data order, masks)
    assert values(pack[0][1])[1] != values(pack[1][1])[1]


def test_members_with_their_own_hyperparameters(tiny_split):
    runs = [
        ({**AE, "lr": 0.005}, 0),
        ({**AE, "lr": 0.002, "lr_schedule": "exponential", "lr_gamma": 0.5}, 0),
    ]
    alone = [training.fit_autoencoder(p, tiny_split, s, CPU, log=quiet) for p, s in runs]
    pack = packed.fit_pack("autoencoder", runs, tiny_split, CPU, log=quiet)
    for a, p in zip(alone, pack):
        close_runs(a, p, tiny_split["test_images"])
    assert [r["value"] for r in pack[1][1]["history"] if r["metric"] == "lr"] == [0.002, 0.001]


def test_conv_bn_members_agree_in_their_losses(tiny_split):
    params = {**AE, "architecture": "conv_bn", "channels": "4-8"}
    alone = [training.fit_autoencoder(params, tiny_split, s, CPU, log=quiet) for s in (0, 1)]
    pack = packed.fit_pack("autoencoder", [(params, s) for s in (0, 1)], tiny_split, CPU, log=quiet)
    for a, p in zip(alone, pack):
        close_runs(a, p, tiny_split["test_images"], outputs=None, first_epoch=RELATIVE)


def test_a_pack_is_deterministic_bit_for_bit(tiny_split):
    runs = [(CLF, 0), (CLF, 1)]
    first = packed.fit_pack("classifier", runs, tiny_split, CPU, log=quiet)
    second = packed.fit_pack("classifier", runs, tiny_split, CPU, log=quiet)
    for (m1, r1), (m2, r2) in zip(first, second):
        assert values(r1) == values(r2)
        s1, s2 = m1.state_dict(), m2.state_dict()
        assert all(torch.equal(s1[k], s2[k]) for k in s1)


class Interrupted(Exception):
    pass


def test_a_killed_pack_resumes_bit_identically(tiny_split, tmp_path):
    params = {**AE, "epochs": 3}
    runs = [(params, 0), (params, 1)]
    full = packed.fit_pack("autoencoder", runs, tiny_split, CPU, log=quiet)

    def interrupt(line):
        if line.startswith("seed 1: epoch 2/3"):  # after the checkpoint of epoch 2
            raise Interrupted(line)

    checkpoint = tmp_path / "pack.pt"
    with pytest.raises(Interrupted):
        packed.fit_pack("autoencoder", runs, tiny_split, CPU, checkpoint, log=interrupt)
    lines = []
    resumed = packed.fit_pack("autoencoder", runs, tiny_split, CPU, checkpoint, log=lines.append)
    assert lines[0] == f"resumed from {checkpoint} after epoch 2"
    assert [line.split()[3] for line in lines[1:]] == ["3/3", "3/3"]
    for (m1, r1), (m2, r2) in zip(full, resumed):
        assert values(r1) == values(r2)
        s1, s2 = m1.state_dict(), m2.state_dict()
        assert all(torch.equal(s1[k], s2[k]) for k in s1)
    # another pack (other seeds) does not resume from it
    lines = []
    packed.fit_pack(
        "autoencoder", [(params, 0), (params, 2)], tiny_split, CPU, checkpoint, log=lines.append
    )
    assert lines[0].startswith("ignoring")


def test_a_diverging_member_is_recorded_and_the_others_go_on(tiny_split):
    sgd = {**CLF, "optimizer": "sgd", "lr": 0.05, "epochs": 3}
    runs = [(sgd, 0), ({**sgd, "lr": 1e6}, 0), (sgd, 1)]
    lines = []
    pack = packed.fit_pack("classifier", runs, tiny_split, CPU, log=lines.append)
    bad = pack[1][1]
    assert bad["diverged"] and bad["epochs_run"] == bad["diverged_epoch"] < 3
    assert math.isnan(bad["final_validation_loss"])
    assert any(line.startswith("diverged") for line in lines)
    for i in (0, 2):
        assert not pack[i][1]["diverged"] and pack[i][1]["epochs_run"] == 3
        params, seed = runs[i]
        alone = training.fit_classifier(params, tiny_split, seed, CPU, log=quiet)
        close_runs(alone, pack[i], tiny_split["test_images"])


@pytest.mark.parametrize(
    "second, match",
    [
        ({"batch_size": 16}, "differ in batch_size"),
        ({"optimizer": "sgd"}, "differ in optimizer"),
        ({"latent": 4}, "different shapes"),
    ],
)
def test_members_that_cannot_share_a_step_fail_before_training(tiny_split, second, match):
    lines = []
    with pytest.raises(TrainingError, match=match):
        packed.fit_pack(
            "autoencoder", [(AE, 0), ({**AE, **second}, 1)], tiny_split, CPU, log=lines.append
        )
    assert lines == []


def test_packs_by_default_only_where_training_uses_a_gpu():
    from aeflow.plan import machine

    assert machine.pack_seeds("auto", training_gpu=1) is True
    assert machine.pack_seeds("auto", training_gpu=0) is False
    assert machine.pack_seeds(True, training_gpu=0) is True
    assert machine.pack_seeds(False, training_gpu=1) is False
    with pytest.raises(ValueError, match="engine.pack must be auto, true or false"):
        machine.pack_seeds("yes", training_gpu=1)
