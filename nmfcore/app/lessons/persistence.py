"""Lesson 6, persistent homology and pNMF: growing balls on a point cloud, its H0 barcode, pNMF along the scales."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.distance import pdist, squareform

from nmfcore.topology import PNMFResult, barcodes, pnmf
from nmfcore.utils.validation import check_choice, check_nonnegative_float


def point_cloud(kind: str = "clusters", n: int = 60, noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small nonnegative point cloud in the plane, one point per column.

    Parameters
    ----------
    kind : {"clusters", "circles"}
        Three Gaussian blobs, or two concentric circles.

    Returns
    -------
    X : ndarray, shape (2, n)
    labels : ndarray of int, shape (n,)
    """
    check_choice(kind, "kind", ("clusters", "circles"))
    rng = np.random.default_rng(seed)
    if kind == "clusters":
        labels = np.arange(n) % 3
        centres = np.array([[1.0, 1.0], [3.0, 1.3], [2.0, 3.0]])
        points = centres[labels] + (0.25 + noise) * rng.standard_normal((n, 2))
    else:
        labels = np.arange(n) % 2
        angles = rng.uniform(0, 2 * np.pi, n)
        radius = np.where(labels == 0, 0.8, 2.0)
        points = np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])
        points += noise * rng.standard_normal((n, 2))
    points -= points.min(axis=0) - 0.1
    return points.T, labels


def filtration_at(X: np.ndarray, epsilon: float) -> dict[str, Any]:
    """The Vietoris–Rips graph of the columns of X at scale ε and its H0 barcode.

    Parameters
    ----------
    X : ndarray, shape (d, n)
    epsilon : float
        Two points are joined when their distance is below ε (balls of radius
        ε/2 touch).

    Returns
    -------
    dict
        ``edges`` (k, 2) item pairs joined at ε, ``n_components`` connected
        components at ε, ``deaths`` (n − 1,) H0 death times ascending (each a
        merge of two components), ``alive`` boolean mask of the finite bars
        still alive at ε, ``barcodes`` the :class:`~nmfcore.topology.Barcodes`.
    """
    epsilon = check_nonnegative_float(epsilon, "epsilon")
    bars = barcodes(X, maxdim=0)
    D = squareform(pdist(X.T))
    i, j = np.nonzero(np.triu(D < epsilon, k=1))
    deaths = bars.deaths
    return {
        "edges": np.column_stack([i, j]),
        "n_components": int(1 + np.sum(deaths >= epsilon)),
        "deaths": deaths,
        "alive": deaths >= epsilon,
        "barcodes": bars,
    }


def filtration_range(X: np.ndarray) -> float:
    """Largest scale worth showing for a point cloud: 10 % past its last H0 merge.

    Parameters
    ----------
    X : ndarray, shape (d, n)

    Returns
    -------
    float
        1.1 times the largest finite H0 death; at that scale everything is connected.
    """
    return float(barcodes(X, maxdim=0).deaths.max()) * 1.1


def pnmf_path(X: np.ndarray, rank: int = 2, n_scales: int = 6, seed: int = 0) -> PNMFResult:
    """Persistent NMF of the point cloud over a reduced canonical set of scales.

    Returns
    -------
    PNMFResult
        ``scales`` (T,) and one ``layers()`` entry per scale whose H (rank, n)
        is the embedding of the points at that scale.
    """
    return pnmf(X, rank, n_scales=n_scales, lambdas=(10.0, 10.0, 1.0), random_state=seed)
