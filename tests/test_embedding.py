"""Latent maps: PCA and t-SNE embeddings with known answers, and their figure."""

import numpy as np
import pytest

from aeflow.report import embedding, plots


def two_clusters(n=60, dim=12, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    x = rng.normal(0, 0.1, (n, dim)) + 10 * y[:, None] * np.eye(dim)[0]
    return x, y


def test_pca_keeps_the_direction_of_largest_variance():
    rng = np.random.default_rng(0)
    t = rng.normal(0, 5, 200)
    x = np.outer(t, np.ones(8) / np.sqrt(8)) + rng.normal(0, 0.01, (200, 8))
    out = embedding.embed(x, "pca")
    assert out.shape == (200, 2)
    assert abs(np.corrcoef(out[:, 0], t)[0, 1]) > 0.999


def test_tsne_separates_far_clusters_and_is_seeded():
    x, y = two_clusters()
    out = embedding.embed(x, "tsne", seed=1)
    centres = [out[y == c].mean(0) for c in (0, 1)]
    # every point is nearer its own cluster's centre than the other's
    own = np.linalg.norm(out - np.array(centres)[y], axis=1)
    other = np.linalg.norm(out - np.array(centres)[1 - y], axis=1)
    assert (own < other).all()
    assert np.allclose(out, embedding.embed(x, "tsne", seed=1))


def test_bad_method_and_shape_raise():
    x, _ = two_clusters()
    with pytest.raises(ValueError, match="umap"):
        embedding.embed(x, "umap")
    with pytest.raises(ValueError, match="shape"):
        embedding.embed(x[:2], "pca")


def test_latent_maps_figure(tmp_path):
    x, y = two_clusters()
    maps = {"PCA": embedding.embed(x, "pca"), "t-SNE": embedding.embed(x, "tsne")}
    plots.latent_maps(maps, y, ["a", "b"], tmp_path / "maps.png")
    png = (tmp_path / "maps.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    with pytest.raises(ValueError, match="points"):
        plots.latent_maps({"PCA": maps["PCA"][:10]}, y, ["a", "b"], tmp_path / "bad.png")


def test_latent_maps_small_multiples_in_rows(tmp_path, monkeypatch):
    """A study's maps: one panel per autoencoder, ``columns`` per row, the rest hidden."""
    x, y = two_clusters()
    pca = embedding.embed(x, "pca")
    maps = {f"latent={n}": pca for n in (2, 4, 8, 16, 32, 64, 128)}
    drawn = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.append(fig))
    plots.latent_maps(maps, y, ["a", "b"], tmp_path / "maps.png", "Study x", columns=6)
    axes = drawn[0].axes
    assert len(axes) == 12  # 2 rows of 6
    shown = [ax for ax in axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == list(maps)
    assert [t.get_text() for t in axes[5].get_legend().get_texts()] == ["a", "b"]
    assert drawn[0]._suptitle.get_text() == "Study x (60 images)"
