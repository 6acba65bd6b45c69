"""Test-set metrics: reconstruction error, classification scores, confusion matrices;
and the file of reconstructions the figures show."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.nn import functional as F

from aeflow import files
from aeflow.training import as_input


class ReconstructionsError(ValueError):
    """A reconstructions file that cannot be used; the message names the file."""


def save_reconstructions(originals: torch.Tensor, reconstructions: torch.Tensor, path) -> None:
    """Test images and a model's reconstructions of them, as one ``.pt`` file (atomic)."""
    files.save_torch({"originals": originals, "reconstructions": reconstructions}, path)


def load_reconstructions(path: str | Path) -> dict:
    """A file written by :func:`save_reconstructions`, loaded with ``weights_only=True``
    (tensors only: a file that would run code when unpickled is refused)."""
    try:
        saved = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - re-raised with the file named
        raise ReconstructionsError(
            f"{path}: cannot load the reconstructions ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(saved, dict) or {"originals", "reconstructions"} - set(saved):
        raise ReconstructionsError(
            f"{path}: not a reconstructions file (a dict of originals and reconstructions)"
        )
    return saved


@torch.no_grad()
def reconstruct(model, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Reconstructions in [0, 1] (float, [N, 28, 28]) of uint8 images, in eval mode."""
    model.eval()
    return torch.cat(
        [
            model(as_input(images[i : i + batch_size])).squeeze(1)
            for i in range(0, len(images), batch_size)
        ]
    )


@torch.no_grad()
def reconstruction_mse(model, images: torch.Tensor, batch_size: int = 1000) -> float:
    """Mean squared error per pixel between inputs in [0, 1] and reconstructions."""
    model.eval()
    total = torch.zeros((), device=images.device)
    for i in range(0, len(images), batch_size):
        x = as_input(images[i : i + batch_size])
        total += F.mse_loss(model(x), x, reduction="sum")
    return total.item() / images[0].numel() / len(images)


@torch.no_grad()
def predict(model, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits ([N, classes]) in eval mode."""
    model.eval()
    return torch.cat(
        [model(as_input(images[i : i + batch_size])) for i in range(0, len(images), batch_size)]
    )


def confusion_matrix(labels: torch.Tensor, predicted: torch.Tensor, classes: int) -> torch.Tensor:
    """[true, predicted] counts."""
    index = labels.long().cpu() * classes + predicted.long().cpu()
    return torch.bincount(index, minlength=classes * classes).reshape(classes, classes)


def classification_scores(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    """Loss, accuracy, macro-F1, per-class precision and recall, confusion matrix.

    A class never predicted has precision 0 (and so F1 0), as in scikit-learn's
    ``zero_division=0``.
    """
    logits, labels = logits.float().cpu(), labels.long().cpu()
    classes = logits.shape[1]
    matrix = confusion_matrix(labels, logits.argmax(1), classes).double()
    tp = matrix.diag()
    predicted, actual = matrix.sum(0), matrix.sum(1)
    precision = torch.where(predicted > 0, tp / predicted.clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(actual > 0, tp / actual.clamp(min=1), torch.zeros_like(tp))
    denom = precision + recall
    f1 = torch.where(
        denom > 0, 2 * precision * recall / denom.clamp(min=1e-12), torch.zeros_like(tp)
    )
    return {
        "loss": F.cross_entropy(logits, labels).item(),
        "accuracy": (tp.sum() / len(labels)).item(),
        "macro_f1": f1.mean().item(),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "confusion": matrix.long(),
    }
