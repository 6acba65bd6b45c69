"""Two-dimensional maps of latents (report time): PCA and t-SNE from scikit-learn.

Imported only by the latent-map job, so no other job pays for scikit-learn.
"""

from __future__ import annotations

import numpy as np

METHODS = ("pca", "tsne")
NAMES = {"pca": "PCA", "tsne": "t-SNE"}  # in figure panels


def embed(latents, method: str, seed: int = 0) -> np.ndarray:
    """[N, n] latents → [N, 2]: ``pca`` (the two leading principal components) or ``tsne``
    (perplexity 30, or less for few points; PCA initialisation; ``seed``)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    x = np.asarray(latents, dtype=np.float32)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"embed: expected [N >= 3, n] latents, got shape {x.shape}")
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "tsne":
        perplexity = min(30.0, (len(x) - 1) / 3)
        return TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=seed
        ).fit_transform(x)
    raise ValueError(f"embed: method {method!r} unknown; allowed: {', '.join(METHODS)}")
