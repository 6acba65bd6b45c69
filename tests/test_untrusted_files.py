"""A file that would run code when unpickled is refused by every loader of the workflow,
with an error that names the file, and the code never runs: the resume checkpoint
(``resume.pt``), the prepared dataset, an autoencoder's reconstructions, an exported
encoder and a trained model's file.

Each case takes a real file of its kind, checks that the loader accepts it, adds one
object whose unpickling runs code, and checks that the loader refuses the result. A
control loads that file without ``weights_only`` and sees the code run, so the payload
is live and the refusal is what kept it from running.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import pytest
import torch

from aeflow.run import data, metrics, models, training
from aeflow.run.data import DataError
from aeflow.run.metrics import ReconstructionsError
from aeflow.run.models import ModelError
from aeflow.run.training import TrainingError

CPU = torch.device("cpu")
AE_PARAMS = {"architecture": "conv", "latent": 8, "dropout": 0.0, "output_activation": "sigmoid",
             "optimizer": "adam", "lr": 1e-3, "batch_size": 60, "epochs": 1}  # fmt: skip


class Shell:
    """Unpickling it runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class WriteFile:
    """Unpickling it writes ``marker`` from Python."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


def _train(split, checkpoint, epochs, log=None):
    """An autoencoder trained for ``epochs`` epochs of one batch (the first 60 images)."""
    small = {**split, "train_images": split["train_images"][:60],
             "train_labels": split["train_labels"][:60]}  # fmt: skip
    torch.manual_seed(0)
    model = models.build_autoencoder(AE_PARAMS)
    return training.train(
        model, small, task="autoencoder", epochs=epochs, batch_size=60, optimizer="adam",
        lr=1e-3, seed=0, device=CPU, checkpoint=checkpoint, fingerprint={"case": "resume"},
        log=log if log is not None else (lambda line: None),
    )  # fmt: skip


# Each loader: (write a genuine file of its kind at a path, load a path, its error type).
def _resume_file(path, split):
    _train(split, path, epochs=1)  # one finished epoch of two: a checkpoint to resume from


def _resume(path, split):
    lines = []
    _train(split, path, epochs=2, log=lines.append)
    assert any(line.startswith(f"resumed from {path} after epoch 1") for line in lines), lines


def _dataset_file(path, split):
    data.save(split, path)


def _reconstructions_file(path, split):
    images = split["test_images"][:4]
    metrics.save_reconstructions(images, images.float() / 255, path)


def _encoder_file(path, split):
    ae = models.build_autoencoder(AE_PARAMS)
    torch.save(models.encoder_export(ae, AE_PARAMS, "conv-x"), path)


def _model_file(path, split):
    ae = models.build_autoencoder(AE_PARAMS)
    training.save_model(
        training.model_file("autoencoder", "conv-x", 0, AE_PARAMS, ae, {"history": []}), path
    )


LOADERS = {
    "resume.pt": (_resume_file, _resume, TrainingError),
    "dataset": (_dataset_file, lambda path, split: data.load(path), DataError),
    "reconstructions": (
        _reconstructions_file,
        lambda path, split: metrics.load_reconstructions(path),
        ReconstructionsError,
    ),
    "encoder": (_encoder_file, lambda path, split: models.load_encoder(path), ModelError),
    "encoder for a classifier": (
        _encoder_file,
        lambda path, split: models.load_checkpoint(path),  # what scripts/train.py calls
        ModelError,
    ),
    "model": (_model_file, lambda path, split: models.load_trained(path, AE_PARAMS), ModelError),
}


@pytest.mark.parametrize("payload", [Shell, WriteFile])
@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_file_that_runs_code_is_refused(tmp_path, tiny_split, kind, payload):
    write, load, error = LOADERS[kind]
    path = tmp_path / "file.pt"
    write(path, tiny_split)
    genuine = torch.load(path, weights_only=True)
    load(path, tiny_split)  # control: the genuine file loads

    marker = tmp_path / "code-ran"
    torch.save({**genuine, "extra": payload(marker)}, path)
    before = path.read_bytes()
    with pytest.raises(error, match=re.escape(f"{path}: ") + ".*Weights only load failed") as info:
        load(path, tiny_split)
    assert not marker.exists()
    assert isinstance(info.value.__cause__, pickle.UnpicklingError)  # the refusal, as the cause
    assert path.read_bytes() == before  # refused, not rewritten (resume.pt included)

    # control: unpickled without weights_only, the file does run its code
    torch.load(path, weights_only=False)
    assert marker.exists()
