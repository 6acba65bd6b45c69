"""Evaluation, below the training loop: the model's input, its loss on a batch, and
every evaluation pass over a split (validation during training, the test set after).

Each pass goes through :func:`evaluating`: eval mode (dropout off, as report 000 insists
for the validation loss), no autograd, the model's mode and layout restored afterwards.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch.nn import functional as F

from aeflow.run import files
from aeflow.run.memory import keep_freed_memory, preferred_memory_format, set_memory_format


def as_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 28, 28] → float [N, 1, 28, 28] in [0, 1]."""
    return images.unsqueeze(1).float().div_(255)


def batch_loss(model, task, images, labels):
    """Summed loss of a batch (per-pixel MSE for autoencoders, cross-entropy for
    classifiers), the number of correct predictions (classifiers; else None) and the
    model's output."""
    x = as_input(images)
    out = model(x)
    if task == "autoencoder":
        return F.mse_loss(out, x, reduction="sum") / x[0].numel(), None, out
    loss = F.cross_entropy(out, labels, reduction="sum")
    return loss, (out.argmax(1) == labels).sum(), out


def eval_batch_size(device) -> int:
    """The evaluation batch the engine uses: 100 on the CPU, where a batch's activations
    then stay in cache (``docs/performance.md``), 1000 elsewhere."""
    return 100 if torch.device(device).type == "cpu" else 1000


@contextlib.contextmanager
def evaluating(model, device, memory_format=None):
    """Eval mode under ``torch.inference_mode`` for the block, optionally in another
    memory layout (converted for the block and put back); the model's mode is restored."""
    if torch.device(device).type == "cpu":
        keep_freed_memory()
    was_training = model.training
    model.eval()
    converted = memory_format is not None and set_memory_format(model, memory_format)
    try:
        with torch.inference_mode():
            yield model
    finally:
        if converted:
            set_memory_format(model, torch.contiguous_format)
        model.train(was_training)


def evaluate_split(model, task, images, labels, batch_size=1000) -> dict:
    """Mean loss (and accuracy for classifiers) over a split, in eval mode and the
    device's preferred layout: the validation pass of every epoch."""
    with evaluating(model, images.device, preferred_memory_format(images.device)):
        total = torch.zeros((), device=images.device)
        correct = torch.zeros((), device=images.device)
        for start in range(0, len(images), batch_size):
            loss, right, _ = batch_loss(
                model,
                task,
                images[start : start + batch_size],
                labels[start : start + batch_size],
            )
            total += loss
            if right is not None:
                correct += right
    out = {"loss": total.item() / len(images)}
    if task == "classifier":
        out["accuracy"] = correct.item() / len(images)
    return out


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


def reconstruct(model, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Reconstructions in [0, 1] (float, [N, 28, 28]) of uint8 images, in eval mode."""
    with evaluating(model, images.device):
        return torch.cat(
            [
                model(as_input(images[i : i + batch_size])).squeeze(1)
                for i in range(0, len(images), batch_size)
            ]
        )


def reconstruction_mse(model, images: torch.Tensor, batch_size: int = 1000) -> float:
    """Mean squared error per pixel between inputs in [0, 1] and reconstructions (the
    test set's; in the default layout, summed before dividing, as the tables have it)."""
    with evaluating(model, images.device):
        total = torch.zeros((), device=images.device)
        for i in range(0, len(images), batch_size):
            x = as_input(images[i : i + batch_size])
            total += F.mse_loss(model(x), x, reduction="sum")
    return total.item() / images[0].numel() / len(images)


def predict(model, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits ([N, classes]) in eval mode."""
    with evaluating(model, images.device):
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
