"""Label efficiency: the ``labels`` and ``min_steps`` classifier hyperparameters (ids,
nested stratified subsets, the minimum number of optimiser steps)."""

import pytest
import torch
from test_grid import CLF_BASE

from aeflow.plan import grid
from aeflow.plan.grid import GridError
from aeflow.run import data, training
from aeflow.run.data import DataError
from aeflow.run.training import TrainingError

CPU = torch.device("cpu")


def unbalanced_labels(n=5000, seed=0):
    """Labels with unequal classes: class c has weight c + 1."""
    weights = torch.arange(1, 11, dtype=torch.float)
    return torch.multinomial(
        weights, n, replacement=True, generator=torch.Generator().manual_seed(seed)
    )


# --- ids: the defaults do not enter a configuration -------------------------------------


def test_default_labels_and_min_steps_leave_params_and_ids_unchanged():
    full = grid.base_params(CLF_BASE, grid.CLASSIFIER_KEYS)
    assert full["labels"] is None and full["min_steps"] == 0
    before = grid.canonical(grid.base_params(CLF_BASE, grid.CLASSIFIER_KEYS[:-2]))
    assert grid.canonical(full) == before
    assert grid.config_id("scratch", full) == grid.config_id("scratch", before)
    assert "labels" not in grid.canonical(full)


def test_labels_enter_the_id_when_set():
    full = grid.base_params(CLF_BASE, grid.CLASSIFIER_KEYS)
    ids = {grid.config_id("scratch", {**full, "labels": n}) for n in (100, 300)}
    ids.add(grid.config_id("scratch", full))
    assert len(ids) == 3


def test_a_labels_sweep_expands_and_is_described():
    cfg = {
        "base": dict(CLF_BASE),
        "sweeps": {"labels": [100, 1000]},
        "initialisations": ["scratch"],
    }
    ae_base = {
        "architecture": "conv", "latent": 64, "dropout": 0.2, "optimizer": "adam",
        "lr": 0.001, "batch_size": 100, "output_activation": "sigmoid", "epochs": 30,
    }  # fmt: skip
    clfs = grid.classifier_grid(cfg, ae_base, {})
    assert sorted(str(p.get("labels")) for p in clfs.values()) == ["100", "1000", "None"]
    base = grid.canonical(grid.base_params(CLF_BASE, grid.CLASSIFIER_KEYS))
    labels = sorted(grid.describe(p, base) for p in clfs.values())
    assert labels == ["base", "labels=100", "labels=1000"]


@pytest.mark.parametrize("bad", [0, -5, 1.5, "all", True])
def test_bad_labels_raise_naming_the_key(bad):
    with pytest.raises(GridError, match="labels"):
        grid.canonical({**CLF_BASE, "labels": bad})


def test_negative_min_steps_raise_naming_the_key():
    with pytest.raises(GridError, match="min_steps"):
        grid.canonical({**CLF_BASE, "min_steps": -1})


# --- subsets ----------------------------------------------------------------------------


@pytest.mark.parametrize("k", [10, 100, 333, 1000, 4999])
def test_every_prefix_is_stratified_within_one_image_per_class(k):
    labels = unbalanced_labels()
    order = data.labelled_order(labels, seed=3)
    assert sorted(order.tolist()) == list(range(len(labels)))  # a permutation
    counts = torch.bincount(labels[order[:k]], minlength=10).double()
    expected = k * torch.bincount(labels, minlength=10).double() / len(labels)
    assert (counts - expected).abs().max() <= 1.0


def test_subsets_of_one_seed_are_nested_and_seeds_differ():
    labels = unbalanced_labels()
    order = data.labelled_order(labels, seed=0)
    small, large = set(order[:100].tolist()), set(order[:300].tolist())
    assert small < large
    other = set(data.labelled_order(labels, seed=1)[:100].tolist())
    assert other != small
    assert data.labelled_order(labels, seed=0).equal(order)  # reproducible


def test_balanced_classes_with_fewer_images_than_classes_are_not_always_the_first():
    labels = torch.arange(10).repeat(50)
    firsts = {tuple(sorted(labels[data.labelled_order(labels, s)[:5]].tolist())) for s in range(8)}
    assert len(firsts) > 1


def test_with_labels_takes_training_images_only_and_keeps_validation_and_test(tiny_split):
    marked = dict(tiny_split)
    # every image carries its part in a pixel: 1 train, 2 validation, 3 test
    for mark, part in enumerate(("train", "validation", "test"), start=1):
        images = marked[f"{part}_images"].clone()
        images[:, 27, 27] = mark
        marked[f"{part}_images"] = images
    sub = data.with_labels(marked, 50, seed=2)
    assert len(sub["train_images"]) == len(sub["train_labels"]) == 50
    assert (sub["train_images"][:, 27, 27] == 1).all()
    for part in ("validation", "test"):
        assert sub[f"{part}_images"] is marked[f"{part}_images"]
        assert sub[f"{part}_labels"] is marked[f"{part}_labels"]
    # images and labels stay paired: the same rows of the training set
    keep = data.labelled_order(marked["train_labels"], 2)[:50]
    assert sub["train_labels"].equal(marked["train_labels"][keep])
    assert sub["train_images"].equal(marked["train_images"][keep])
    assert data.with_labels(marked, None, seed=2) is marked


@pytest.mark.parametrize("bad", [0, 10_000])
def test_with_labels_out_of_range_names_the_key(tiny_split, bad):
    with pytest.raises(DataError, match="labels"):
        data.with_labels(tiny_split, bad, seed=0)


# --- enough training at every size ------------------------------------------------------


def test_planned_epochs_reach_the_minimum_number_of_steps():
    assert training.planned_epochs(30, 50_000, 100, 0) == 30
    assert training.planned_epochs(30, 50_000, 100, 3000) == 30  # 15 000 steps already
    assert training.planned_epochs(30, 100, 100, 3000) == 3000  # one step per epoch
    assert training.planned_epochs(30, 1000, 100, 3000) == 300
    assert training.planned_epochs(2, 250, 100, 10) == 4  # 3 steps per epoch, rounded up
    with pytest.raises(TrainingError, match="min_steps"):
        training.planned_epochs(30, 100, 100, -1)


def test_fit_classifier_trains_on_the_labelled_subset_for_min_steps(tiny_split):
    params = {
        "architecture": "conv", "latent": 8, "hidden": 16, "dropout": 0.1,
        "optimizer": "adam", "lr": 0.005, "batch_size": 20, "epochs": 1,
        "initialisation": "scratch", "autoencoder_id": None, "labels": 40, "min_steps": 6,
    }  # fmt: skip
    lines = []
    _, result = training.fit_classifier(params, tiny_split, 0, CPU, log=lines.append)
    assert result["epochs_run"] == 3  # 2 steps per epoch of 40 images, 6 steps
    assert any("min_steps 6: 3 epochs" in line for line in lines)
