"""A configuration's own data subset, the classifier hyperparameter ``images``
(report 003's 5 000 images split 80/10/10: ``images: 4000-500-500``): ids, parse-time
checks, the stratified per-seed draw, and training and evaluation on it."""

import pytest
import torch
from test_grid import CLF_BASE

from aeflow.plan import cost, grid
from aeflow.plan.grid import GridError
from aeflow.run import data, training
from aeflow.run.data import DataError

CPU = torch.device("cpu")
MLP = {
    "architecture": "mlp", "latent": 16, "hidden": 8, "dropout": 0.0, "optimizer": "sgd",
    "lr": 0.1, "batch_size": "full", "epochs": 2, "initialisation": "scratch",
    "autoencoder_id": None,
}  # fmt: skip


def marked(split: dict) -> dict:
    """The split with each image's part written in a pixel: 1 train, 2 validation, 3 test."""
    out = dict(split)
    for mark, part in enumerate(grid.IMAGE_PARTS, start=1):
        images = out[f"{part}_images"].clone()
        images[:, 27, 27] = mark
        out[f"{part}_images"] = images
    return out


# --- the value, the id, the parse-time checks --------------------------------------------


@pytest.mark.parametrize("value", ["40-10-20", [40, 10, 20]])
def test_images_are_written_one_way_in_params_and_ids(value):
    params = grid.canonical({**CLF_BASE, "images": value})
    assert params["images"] == "40-10-20"
    assert grid.image_counts(params["images"]) == {"train": 40, "validation": 10, "test": 20}
    assert grid.config_id("scratch", params) == grid.config_id(
        "scratch", grid.canonical({**CLF_BASE, "images": "40-10-20"})
    )


def test_images_left_out_change_no_id_and_set_enter_it():
    full = grid.base_params(CLF_BASE, grid.CLASSIFIER_KEYS)
    assert full["images"] is None and "images" not in grid.canonical(full)
    without = {k: v for k, v in full.items() if k != "images"}
    assert grid.config_id("scratch", full) == grid.config_id("scratch", without)
    ids = {grid.config_id("scratch", {**full, "images": v}) for v in ("40-10-20", "80-10-20")}
    assert len(ids | {grid.config_id("scratch", full)}) == 3


@pytest.mark.parametrize("bad", ["4000-500", "4000-0-500", "a-b-c", 5000, [1, 2], True, 1.5])
def test_bad_images_raise_naming_the_key(bad):
    with pytest.raises(GridError, match="images"):
        grid.canonical({**CLF_BASE, "images": bad})


def test_full_batch_is_the_configurations_own_training_images():
    params = grid.canonical({**CLF_BASE, "images": "400-50-50", "batch_size": "full"}, 50_000)
    assert params["batch_size"] == 400
    assert grid.canonical({**CLF_BASE, "batch_size": "full"}, 50_000)["batch_size"] == 50_000


def test_parse_time_checks_name_the_part_that_does_not_fit():
    params = grid.canonical({**CLF_BASE, "images": "400-50-50"}, 2000)
    grid.check(params, "studies.003.classifier", 2000)  # fits
    with pytest.raises(GridError, match=r"studies\.003\.classifier images 400-50-50: 400 train"):
        grid.check(params, "studies.003.classifier", 300)
    with pytest.raises(GridError, match="labels 500 is more than the training set .400"):
        grid.check({**params, "labels": 500}, "x", 2000)
    with pytest.raises(GridError, match="batch_size 401"):
        grid.check({**params, "batch_size": 401}, "x", 2000)
    sizes = {"train": 2000, "validation": 40, "test": None}
    with pytest.raises(GridError, match="clf-1: images 400-50-50 asks for 50 validation"):
        grid.check_images({"clf-1": params}, sizes)
    grid.check_images({"clf-1": params}, {**sizes, "validation": 50})  # the test part: later


def test_the_cost_model_counts_the_configurations_own_images():
    small = grid.canonical({**MLP, "images": "100-20-20"}, 50_000)
    whole = grid.canonical(MLP, 50_000)
    assert cost.training_images(small, 50_000) == 100
    assert cost.epoch_seconds("classifier", small, 50_000, 10_000) < cost.epoch_seconds(
        "classifier", whole, 50_000, 10_000
    )


# --- the draw -----------------------------------------------------------------------------


def test_each_part_is_cut_from_its_own_part_stratified_and_paired(tiny_split):
    split = marked(tiny_split)
    counts = {"train": 100, "validation": 30, "test": 50}
    sub = data.with_images(split, counts, seed=4)
    for mark, (part, n) in enumerate(counts.items(), start=1):
        images, labels = sub[f"{part}_images"], sub[f"{part}_labels"]
        assert len(images) == len(labels) == n
        assert (images[:, 27, 27] == mark).all()  # nothing crosses parts
        per_class = torch.bincount(labels, minlength=10)
        whole = torch.bincount(split[f"{part}_labels"], minlength=10)
        expected = whole.double() * n / len(split[f"{part}_labels"])
        assert ((per_class - expected).abs() <= 1).all()  # stratified
        keep = data.labelled_order(split[f"{part}_labels"], 4, data.IMAGES_STREAM)[:n]
        assert images.equal(split[f"{part}_images"][keep])  # images and labels paired
        assert labels.equal(split[f"{part}_labels"][keep])
    assert data.with_images(split, None, seed=4) is split


def test_one_seed_draws_the_same_images_for_every_configuration_another_seed_others(tiny_split):
    counts = {"train": 100, "validation": 30, "test": 50}
    a = data.with_images(tiny_split, counts, seed=1)
    assert a["train_images"].equal(data.with_images(tiny_split, counts, seed=1)["train_images"])
    b = data.with_images(tiny_split, counts, seed=2)
    assert not a["train_images"].equal(b["train_images"])
    # not the labels' stream: the 100 images are not the first 100 labelled ones
    labelled = data.with_labels(tiny_split, 100, seed=1)
    assert not a["train_images"].equal(labelled["train_images"])


def test_labels_are_drawn_inside_the_configurations_own_training_images(tiny_split):
    split = marked(tiny_split)
    params = {**MLP, "images": "100-30-50", "labels": 40}
    seen = data.configuration_data(split, params, seed=0)
    own = data.with_images(split, grid.image_counts("100-30-50"), seed=0)
    assert len(seen["train_images"]) == 40 and len(seen["validation_images"]) == 30
    rows = {tuple(x.flatten().tolist()) for x in own["train_images"]}
    assert all(tuple(x.flatten().tolist()) in rows for x in seen["train_images"])


@pytest.mark.parametrize("part", grid.IMAGE_PARTS)
def test_a_part_larger_than_the_split_is_a_data_error_naming_it(tiny_split, part):
    counts = {"train": 10, "validation": 10, "test": 10, part: 10_000}
    with pytest.raises(DataError, match=f"images: 10000 {part} images"):
        data.with_images(tiny_split, counts, seed=0)


# --- training and evaluation see the subset ----------------------------------------------


def test_a_classifier_trains_full_batch_on_its_own_images(tiny_split):
    params = grid.canonical({**MLP, "images": "60-20-30"}, len(tiny_split["train_images"]))
    assert params["batch_size"] == 60
    _, result = training.fit_classifier(params, tiny_split, 0, CPU, log=lambda _: None)
    # the same run as on the subset cut beforehand, without ``images``
    cut = data.with_images(tiny_split, grid.image_counts("60-20-30"), seed=0)
    plain = {k: v for k, v in params.items() if k != "images"}
    _, expected = training.fit_classifier(plain, cut, 0, CPU, log=lambda _: None)
    assert result["history"] == expected["history"]
    # and not the run on the whole split
    _, whole = training.fit_classifier(plain, tiny_split, 0, CPU, log=lambda _: None)
    assert result["history"] != whole["history"]
    assert len(data.configuration_data(tiny_split, params, 0)["test_labels"]) == 30
