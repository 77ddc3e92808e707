"""Lesson 1, what NMF is: a small exact matrix, error against rank, NMF against PCA; the data sets.

Also the faces the lessons share and the planted example of the rank page.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nmfcore.classic import nmf
from nmfcore.data import load_sample

TOY_RANKS = (1, 2, 3, 4, 5)


def faces() -> tuple[np.ndarray, tuple[int, int]]:
    """The bundled faces sample, or 100 LFW faces from scikit-image when it is missing.

    Returns
    -------
    X : ndarray, shape (h * w, n)
        One face per column.
    image_shape : (h, w)
    """
    try:
        ds = load_sample("faces")
        return np.asarray(ds.X, dtype=float), tuple(ds.image_shape)
    except (ImportError, ValueError, OSError):
        from skimage.data import lfw_subset

        images = lfw_subset()[:100]
        return images.reshape(len(images), -1).T, images.shape[1:]


def toy_matrix(m: int = 10, n: int = 14, rank: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small exact rank-``rank`` nonnegative matrix built from sparse parts.

    Returns
    -------
    X : ndarray, shape (m, n)
    W : ndarray, shape (m, rank)
        Each column is a contiguous block of features (a "part").
    H : ndarray, shape (rank, n)
        Sparse coefficients: each item uses one or two parts.
    """
    rng = np.random.default_rng(seed)
    W = np.zeros((m, rank))
    for k, block in enumerate(np.array_split(np.arange(m), rank)):
        W[block, k] = 1.0 + rng.random(block.size)
    H = rng.random((rank, n)) * (rng.random((rank, n)) < 0.5)
    H[rng.integers(0, rank, n), np.arange(n)] += 1.0
    return W @ H, W, H


def error_by_rank(X: np.ndarray, ranks: list[int], seed: int = 0) -> np.ndarray:
    """Relative error ``‖X − WH‖_F / ‖X‖_F`` of NMF at each rank, shape (len(ranks),)."""
    return np.array([nmf(X, r, max_iter=300, random_state=seed).relative_error for r in ranks])


def toy_fit(rank: int, seed: int = 0) -> dict[str, Any]:
    """NMF of :func:`toy_matrix` at one rank, and the error curve over :data:`TOY_RANKS`.

    Returns
    -------
    dict
        ``X`` (10, 14), ``W`` (10, rank), ``H`` (rank, 14), ``error`` the relative
        error at ``rank``, ``ranks`` and ``curve`` the error at each of :data:`TOY_RANKS`.
    """
    X, _, _ = toy_matrix(seed=seed)
    result = nmf(X, rank, max_iter=500, random_state=seed)
    return {"X": X, "W": result.W, "H": result.H, "error": result.relative_error,
            "ranks": list(TOY_RANKS), "curve": error_by_rank(X, list(TOY_RANKS), seed)}


def nmf_vs_pca(X: np.ndarray, rank: int, seed: int = 0) -> dict[str, Any]:
    """NMF basis and PCA components of the same data, for side-by-side images.

    Parameters
    ----------
    X : ndarray, shape (m, n)
        Items (e.g. face images flattened) as columns.
    rank : int

    Returns
    -------
    dict
        ``nmf`` (m, rank) basis, ``pca`` (m, rank) principal directions (SVD of
        the centred data), ``nmf_error``/``pca_error`` relative errors (PCA
        reconstruction includes the mean), ``pca_negative`` the fraction of
        negative entries in the PCA components, ``nmf_sparsity`` the fraction of
        near-zero pixels in the NMF basis.
    """
    result = nmf(X, rank, max_iter=300, random_state=seed)
    mean = X.mean(axis=1, keepdims=True)
    U, S, Vt = np.linalg.svd(X - mean, full_matrices=False)
    pca = U[:, :rank] * np.sign(U[:, :rank].sum(axis=0, keepdims=True) + 1e-300)
    approx = mean + U[:, :rank] * S[:rank] @ Vt[:rank]
    W = result.W / np.maximum(result.W.max(axis=0, keepdims=True), np.finfo(float).tiny)
    return {
        "nmf": result.W,
        "pca": pca,
        "nmf_error": result.relative_error,
        "pca_error": float(np.linalg.norm(X - approx) / np.linalg.norm(X)),
        "pca_negative": float(np.mean(pca < 0)),
        "nmf_sparsity": float(np.mean(W < 0.05)),
    }


def planted_example(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 40 x 80 matrix with 4 planted parts and 4 item clusters, plus uniform noise.

    Returns
    -------
    X : ndarray, shape (40, 80)
    labels : ndarray of int, shape (80,)
        The dominant part of each item.
    """
    rng = np.random.default_rng(seed)
    W = np.kron(np.eye(4), np.ones((10, 1))) * (0.5 + rng.random((40, 1)))
    labels = np.repeat(np.arange(4), 20)
    H = 0.05 * rng.random((4, 80))
    H[labels, np.arange(80)] += 1 + rng.random(80)
    return W @ H + 0.1 * rng.random((40, 80)), labels
