"""The linear and k-NN probes on synthetic latents with known answers."""

import pytest
import torch

from aeflow.run import models, probes
from aeflow.run.probes import ProbeError


def clusters(n_per_class, dim=16, spread=0.05, seed=0):
    """Ten tight clusters around orthogonal directions: perfectly separable."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.eye(10, dim) * 5
    y = torch.arange(10).repeat_interleave(n_per_class)
    z = centres[y] + spread * torch.randn(len(y), dim, generator=g)
    return z, y


def one_informative_coordinate(n, noise_dims=60, seed=0):
    """Two classes told apart by the sign of coordinate 0 alone, buried among many
    large noise coordinates: a linear read-out finds it, cosine neighbours do not."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    z = torch.cat([(2.0 * y - 1).unsqueeze(1), 3 * torch.randn(n, noise_dims, generator=g)], 1)
    return z, y


def test_separable_clusters_give_both_probes_full_accuracy():
    train_z, train_y = clusters(50)
    test_z, test_y = clusters(20, seed=1)
    assert probes.knn_accuracy(train_z, train_y, test_z, test_y) == 1.0
    assert probes.linear_probe_accuracy(train_z, train_y, test_z, test_y) == 1.0


def test_knn_fails_where_only_one_coordinate_carries_the_class():
    train_z, train_y = one_informative_coordinate(4000)
    test_z, test_y = one_informative_coordinate(1000, seed=1)
    knn = probes.knn_accuracy(train_z, train_y, test_z, test_y)
    linear = probes.linear_probe_accuracy(train_z, train_y, test_z, test_y)
    assert knn < 0.7  # near chance (0.5)
    assert linear > 0.97


def test_knn_uses_cosine_not_distance():
    # class 0 along +x, class 1 along +y; a test point far out on +x is class 0 by
    # direction although it is nearer (Euclidean) to the class-1 bank
    train_z = torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 30.0]] * 3)
    train_y = torch.tensor([0, 0, 0, 1, 1, 1])
    test_z = torch.tensor([[25.0, 1.0]])
    assert probes.knn_accuracy(train_z, train_y, test_z, torch.tensor([0]), k=3) == 1.0


def test_knn_is_chunk_independent():
    train_z, train_y = one_informative_coordinate(500)
    test_z, test_y = one_informative_coordinate(300, seed=2)
    a = probes.knn_accuracy(train_z, train_y, test_z, test_y, chunk=7)
    b = probes.knn_accuracy(train_z, train_y, test_z, test_y, chunk=1000)
    assert a == b


def test_bad_shapes_and_k_raise():
    z, y = clusters(5)
    with pytest.raises(ProbeError, match="same n"):
        probes.knn_accuracy(z, y, z[:, :3], y)
    with pytest.raises(ProbeError, match="count"):
        probes.linear_probe_accuracy(z, y[:-1], z, y)
    with pytest.raises(ProbeError, match="k=100"):
        probes.knn_accuracy(z, y, z, y, k=100)


def test_probe_values_of_an_encoder(tiny_split):
    torch.manual_seed(0)
    ae = models.build_autoencoder(
        {"architecture": "conv", "latent": 8, "dropout": 0.1, "output_activation": "sigmoid",
         "channels": "16-32", "pooling": "max"}
    )  # fmt: skip
    values = probes.probe_values(ae.encoder, tiny_split, torch.device("cpu"))
    assert set(values) == {"test_knn_accuracy", "test_linear_probe_accuracy"}
    assert all(0.0 <= v <= 1.0 for v in values.values())
    assert ae.encoder.training  # mode restored
