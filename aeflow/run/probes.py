"""Probes of a frozen representation: how much class information an encoder's latent
holds, measured without training the encoder (the self-supervised literature's two
standard read-outs).

- :func:`knn_accuracy`: k-nearest-neighbour vote (k = 20, DINO's choice) by cosine
  similarity on L2-normalised latents, with the training latents as the bank.
- :func:`linear_probe_accuracy`: a Linear(n, classes) on standardised latents, trained
  briefly with Adam on all training labels.

Both take latent tensors, so they are tested on synthetic latents with known answers;
:func:`probe_values` encodes a split with an encoder and returns both as metric values.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from aeflow.run.metrics import as_input, evaluating

KNN_K = 20
PROBE_EPOCHS = 10
PROBE_BATCH = 256
PROBE_LR = 0.01
PROBE_MIN_STEPS = 500  # small training sets get more epochs (as min_steps does for classifiers)


class ProbeError(ValueError):
    """Latents and labels that cannot be probed; the message says which."""


def _check(train_z, train_y, test_z, test_y):
    if train_z.dim() != 2 or test_z.dim() != 2 or train_z.shape[1] != test_z.shape[1]:
        raise ProbeError(
            f"latents must be [N, n] with the same n, got {tuple(train_z.shape)} and "
            f"{tuple(test_z.shape)}"
        )
    if len(train_z) != len(train_y) or len(test_z) != len(test_y):
        raise ProbeError("latents and labels differ in count")


@torch.inference_mode()
def knn_accuracy(train_z, train_y, test_z, test_y, k: int = KNN_K, chunk: int = 512) -> float:
    """Fraction of test latents whose ``k`` most cosine-similar training latents vote
    (one vote each; a tie goes to the class with the larger summed similarity) for the
    right class."""
    _check(train_z, train_y, test_z, test_y)
    if not 1 <= k <= len(train_z):
        raise ProbeError(f"k={k} must be between 1 and the {len(train_z)} training latents")
    bank = F.normalize(train_z.float(), dim=1)
    classes = int(max(train_y.max(), test_y.max())) + 1
    correct = 0
    for start in range(0, len(test_z), chunk):
        query = F.normalize(test_z[start : start + chunk].float(), dim=1)
        similarity, index = (query @ bank.T).topk(k, dim=1)
        votes = torch.zeros(len(query), classes, dtype=torch.float64)
        votes.scatter_add_(
            1, train_y[index].long(), torch.ones_like(similarity, dtype=torch.float64)
        )
        strength = torch.zeros(len(query), classes, dtype=torch.float64)
        strength.scatter_add_(1, train_y[index].long(), similarity.double())
        # whole votes first; summed similarity (< k + 1 in size) only breaks ties
        predicted = (votes * (2 * k + 2) + strength).argmax(1)
        correct += int((predicted == test_y[start : start + chunk].long()).sum())
    return correct / len(test_z)


def linear_probe_accuracy(
    train_z, train_y, test_z, test_y, seed: int = 0, epochs: int = PROBE_EPOCHS
) -> float:
    """Test accuracy of Linear(n, classes) trained on the standardised training latents
    (mean and sd of the training latents; Adam, lr 0.01, batches of 256, ``epochs``,
    raised to reach :data:`PROBE_MIN_STEPS` optimiser steps)."""
    _check(train_z, train_y, test_z, test_y)
    train_z, test_z = train_z.float(), test_z.float()
    mean, sd = train_z.mean(0), train_z.std(0).clamp_min(1e-6)
    x, x_test = (train_z - mean) / sd, (test_z - mean) / sd
    y = train_y.long()
    classes = int(max(train_y.max(), test_y.max())) + 1
    generator = torch.Generator().manual_seed(seed)
    probe = torch.nn.Linear(x.shape[1], classes)
    with torch.no_grad():
        bound = 1 / x.shape[1] ** 0.5
        probe.weight.uniform_(-bound, bound, generator=generator)
        probe.bias.zero_()
    opt = torch.optim.Adam(probe.parameters(), lr=PROBE_LR)
    steps_per_epoch = -(-len(x) // PROBE_BATCH)
    epochs = max(epochs, -(-PROBE_MIN_STEPS // steps_per_epoch))
    with torch.enable_grad():
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), PROBE_BATCH):
                idx = order[start : start + PROBE_BATCH]
                loss = F.cross_entropy(probe(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    with torch.no_grad():
        predicted = probe(x_test).argmax(1)
    return float((predicted == test_y.long()).float().mean())


def encode(encoder, images: torch.Tensor, device, batch_size: int = 1000) -> torch.Tensor:
    """Latents of uint8 images [N, 28, 28] (eval mode, on ``device``), on the CPU."""
    out = []
    with evaluating(encoder, device):
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].to(device)
            out.append(encoder(as_input(batch)).float().cpu())
    return torch.cat(out)


def probe_values(encoder, dataset: dict, device, seed: int = 0) -> dict:
    """``test_knn_accuracy`` and ``test_linear_probe_accuracy`` of an encoder's latents
    (all training images as the bank and the probe's training set; the test set scored)."""
    train_z = encode(encoder, dataset["train_images"], device)
    test_z = encode(encoder, dataset["test_images"], device)
    train_y, test_y = dataset["train_labels"], dataset["test_labels"]
    k = min(KNN_K, len(train_z))
    return {
        "test_knn_accuracy": knn_accuracy(train_z, train_y, test_z, test_y, k=k),
        "test_linear_probe_accuracy": linear_probe_accuracy(
            train_z, train_y, test_z, test_y, seed=seed
        ),
    }
