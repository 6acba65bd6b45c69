"""Fashion-MNIST: reading the IDX files, splitting, and loading (fetching and checking
them is :mod:`aeflow.run.fetch`, which needs no torch).

Nothing here knows Snakemake or a fixed path: functions take the paths, sources
and checksums they need.
"""

from __future__ import annotations

import gzip
import tempfile
import zlib
from pathlib import Path

import torch

from aeflow.plan.grid import IMAGES, image_counts
from aeflow.run import files
from aeflow.run.fetch import DataError, fetch, verify  # noqa: F401 (their home is aeflow.run.fetch)

IDX_MAGIC = {"images": 2051, "labels": 2049}
IMAGE_SHAPE = (28, 28)


def read_idx(path: str | Path, kind: str) -> torch.Tensor:
    """Decode one gzipped IDX file (``kind`` "images" or "labels") into a uint8 tensor."""
    path = Path(path)
    try:
        content = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: cannot decompress ({err}); truncated or not gzip") from err
    magic = int.from_bytes(content[:4], "big") if len(content) >= 4 else None
    if magic != IDX_MAGIC[kind]:
        raise DataError(
            f"{path}: wrong IDX magic number {magic}, expected {IDX_MAGIC[kind]} for {kind}"
        )
    # imported here: torchvision costs ~1 s of start-up that the jobs which only load
    # the prepared split do not need
    from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor

    with tempfile.NamedTemporaryFile() as tmp:
        tmp.write(content)
        tmp.flush()
        try:
            tensor = read_sn3_pascalvincent_tensor(tmp.name, strict=True)
        except (AssertionError, RuntimeError, ValueError) as err:
            raise DataError(
                f"{path}: malformed IDX {kind} file (size does not match header)"
            ) from err
    if tensor.dtype != torch.uint8:
        raise DataError(f"{path}: expected unsigned bytes, got {tensor.dtype}")
    if kind == "images" and tuple(tensor.shape[1:]) != IMAGE_SHAPE:
        raise DataError(f"{path}: images are {tuple(tensor.shape[1:])}, expected 28×28")
    if kind == "labels" and tensor.dim() != 1:
        raise DataError(f"{path}: labels must be one-dimensional, got shape {tuple(tensor.shape)}")
    return tensor


def _stratified(labels: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` indices, as equal per class as the data allow, in a random order."""
    classes = labels.unique()
    order = torch.randperm(len(labels), generator=generator)
    per_class = [order[labels[order] == c] for c in classes]
    quota = [n // len(classes) + (1 if i < n % len(classes) else 0) for i in range(len(classes))]
    picked = torch.cat([idx[:q] for idx, q in zip(per_class, quota)])
    if len(picked) < n:
        raise DataError(f"asked for a subset of {n} images, only {len(picked)} available per-class")
    return picked[torch.randperm(len(picked), generator=generator)]


def split(
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    test_images: torch.Tensor,
    test_labels: torch.Tensor,
    validation_size: int,
    seed: int,
    classes: list[str],
    subset: dict | None = None,
    train_images_expected: int | None = None,
) -> dict:
    """Train / validation / test split, optionally a stratified subset of each.

    The validation images are drawn at random (``seed``) from the original
    training set; the test set is the original one. ``subset`` ({train, validation,
    test: counts}) takes a stratified sample of each part, for quick runs.
    ``train_images_expected``: the number of training images the config expects (checked).
    """
    if len(train_images) != len(train_labels) or len(test_images) != len(test_labels):
        raise DataError("images and labels differ in count")
    if train_images_expected is not None and len(train_images) != train_images_expected:
        raise DataError(
            f"data.train_images is {train_images_expected} but the training file has "
            f"{len(train_images)} images; set data.train_images to {len(train_images)}"
        )
    if not 0 < validation_size < len(train_images):
        raise DataError(
            f"data.validation_size={validation_size} must be between 1 and "
            f"{len(train_images) - 1} (the training file has {len(train_images)} images)"
        )
    labels = torch.cat([train_labels, test_labels])
    if int(labels.max()) >= len(classes):
        raise DataError(f"labels go up to {int(labels.max())} but only {len(classes)} class names")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(train_images), generator=generator)
    parts = {
        "train": (train_images[order[validation_size:]], train_labels[order[validation_size:]]),
        "validation": (
            train_images[order[:validation_size]],
            train_labels[order[:validation_size]],
        ),
        "test": (test_images, test_labels),
    }
    out = {"classes": list(classes)}
    for part, (x, y) in parts.items():
        if subset and subset.get(part):
            keep = _stratified(y, int(subset[part]), generator)
            x, y = x[keep], y[keep]
        out[f"{part}_images"] = x.contiguous()
        out[f"{part}_labels"] = y.long().contiguous()
    return out


# Offset the replicate seed for drawing labelled subsets and a configuration's own
# images, so that which images are drawn is not the same random stream as the training
# shuffle of that seed, nor one draw the other's.
LABELS_STREAM = 7_919
IMAGES_STREAM = 104_729


def labelled_order(labels: torch.Tensor, seed: int, stream: int = LABELS_STREAM) -> torch.Tensor:
    """A per-seed order of the training indices whose every prefix is stratified by class.

    Each class's indices are shuffled (``seed``); the r-th of class c's n_c images gets the
    key (r + ½) / n_c, and all indices are sorted by key (ties in a random order). A
    prefix of k indices then holds k·n_c/N ± 1 images of class c, and the first k are
    inside the first k' > k: one seed's 100 labelled images lie inside its 300.
    """
    if labels.dim() != 1 or len(labels) == 0:
        raise DataError("labelled_order: expected a non-empty one-dimensional label tensor")
    generator = torch.Generator().manual_seed(stream + int(seed))
    shuffled = torch.randperm(len(labels), generator=generator)
    key = torch.empty(len(labels), dtype=torch.float64)
    for c in labels.unique():
        members = shuffled[labels[shuffled] == c]
        key[members] = (torch.arange(len(members), dtype=torch.float64) + 0.5) / len(members)
    # stable sort of a random permutation: equal keys keep a random (seeded) order
    tie_order = torch.randperm(len(labels), generator=generator)
    return tie_order[torch.sort(key[tie_order], stable=True).indices]


def with_labels(dataset: dict, labels: int | None, seed: int) -> dict:
    """The split with only ``labels`` labelled training images (the first of
    :func:`labelled_order` for ``seed``); validation and test stay whole. ``None``: all."""
    if labels is None:
        return dataset
    n_train = len(dataset["train_labels"])
    if not 1 <= labels <= n_train:
        raise DataError(f"labels={labels}: must be between 1 and the {n_train} training images")
    keep = labelled_order(dataset["train_labels"], seed)[:labels]
    return {
        **dataset,
        "train_images": dataset["train_images"][keep],
        "train_labels": dataset["train_labels"][keep],
    }


def with_images(dataset: dict, counts: dict[str, int] | None, seed: int) -> dict:
    """The split cut to ``counts`` ({train, validation, test: images}) of each part: the
    first of each part's :func:`labelled_order` for ``seed`` (its own stream), so every
    part is stratified by class and every configuration of one seed sees the same
    images. ``None``: the whole split."""
    if counts is None:
        return dataset
    out = dict(dataset)
    for part, n in counts.items():
        labels = dataset[f"{part}_labels"]
        if not 1 <= n <= len(labels):
            raise DataError(
                f"images: {n} {part} images asked for, but the prepared split has "
                f"{len(labels)} (data.subset, data.validation_size)"
            )
        keep = labelled_order(labels, seed, IMAGES_STREAM)[:n]
        out[f"{part}_images"] = dataset[f"{part}_images"][keep]
        out[f"{part}_labels"] = labels[keep]
    return out


def for_configuration(
    dataset: dict, counts: dict[str, int] | None, labels: int | None, seed: int
) -> dict:
    """The data one configuration trains and is tested on, for one replicate ``seed``:
    its own images (``counts``, a subset of each part: :func:`with_images`), then its
    ``labels`` (a subset of that training part: :func:`with_labels`)."""
    return with_labels(with_images(dataset, counts, seed), labels, seed)


def save(dataset: dict, path: str | Path) -> None:
    """Save the split as one ``.pt`` file (uint8 images), written atomically."""
    files.save_torch(dataset, path)


def load(path: str | Path) -> dict:
    """Load a split saved by :func:`save` (tensors and class names only)."""
    try:
        dataset = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - re-raised with the file named
        raise DataError(f"{path}: cannot load the prepared dataset ({err})") from err
    for part in ("train", "validation", "test"):
        for key in (f"{part}_images", f"{part}_labels"):
            if key not in dataset:
                raise DataError(f"{path}: missing {key}")
    return dataset


def configuration_data(data: dict, params: dict, seed: int) -> dict:
    """The split as a classifier configuration sees it for one replicate ``seed``: its
    own ``images`` and ``labels``, if it has them (:func:`for_configuration`); training
    and evaluation both take their data from here."""
    return for_configuration(data, image_counts(params.get(IMAGES)), params.get("labels"), seed)
