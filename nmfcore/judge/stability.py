"""Stability of factorisations across runs: do different seeds find the same factors?

- :func:`consensus_matrix` and :func:`cophenetic_correlation`: how often runs put two
  items in the same factor, and how close that is to a clean clustering (Brunet et al.,
  PNAS 2004).
- :func:`factor_silhouette`: the silhouette of the basis vectors of all runs clustered
  together (the consensus step of cNMF, Kotliar et al., eLife 2019).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nmfcore.utils.validation import check_random_state


def consensus_matrix(H_runs: Sequence[np.ndarray]) -> np.ndarray:
    """Consensus matrix of several factorisations (Brunet et al. 2004).

    Each run assigns item j to the factor with the largest coefficient,
    ``argmax_k H[k, j]``; entry (i, j) of the consensus matrix is the fraction of
    runs that put items i and j in the same factor.

    Parameters
    ----------
    H_runs : sequence of ndarray, each of shape (r, n)
        Coefficients of the runs (the same n items; r may differ).

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric, entries in [0, 1], ones on the diagonal.
    """
    if len(H_runs) == 0:
        raise ValueError("H_runs is empty; pass the coefficient matrices of at least one run")
    n = np.asarray(H_runs[0]).shape[1]
    consensus = np.zeros((n, n))
    for H in H_runs:
        H = np.asarray(H)
        if H.ndim != 2 or H.shape[1] != n:
            raise ValueError(
                f"every H in H_runs must have shape (r, {n}); got {H.shape}: the runs must "
                "factorise the same items"
            )
        labels = H.argmax(axis=0)
        consensus += labels[:, None] == labels[None, :]
    return consensus / len(H_runs)


def cophenetic_correlation(consensus: np.ndarray) -> float:
    """Cophenetic correlation of a consensus matrix (Brunet et al. 2004).

    The Pearson correlation between the distances ``1 - C`` and the cophenetic
    distances of the average-linkage tree built on them. It is 1 when every run
    agrees (C holds only 0 and 1) and falls as the runs disagree.

    Parameters
    ----------
    consensus : ndarray, shape (n, n)

    Returns
    -------
    float
        In [-1, 1]; NaN when every pair has the same consensus (nothing to rank,
        e.g. one factor or one item).
    """
    from scipy.cluster.hierarchy import cophenet, linkage
    from scipy.spatial.distance import squareform

    C = np.asarray(consensus, dtype=float)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"consensus must be a square matrix, got shape {C.shape}")
    if C.shape[0] < 3:
        return float("nan")
    distances = squareform(1.0 - C, checks=False)
    if np.ptp(distances) == 0:
        return float("nan")
    return float(cophenet(linkage(distances, method="average"), distances)[0])


def factor_silhouette(
    W_runs: Sequence[np.ndarray], *, random_state: None | int | np.random.Generator = 0
) -> float:
    """Stability of the basis across runs, as in the consensus step of cNMF.

    The columns of every run's W are scaled to unit ℓ2 norm, pooled, and split
    into r clusters by k-means (r = rank of the runs); the score is the mean
    silhouette of that clustering. Stable factors come back at every seed and
    form tight, separate clusters (silhouette near 1).

    Parameters
    ----------
    W_runs : sequence of ndarray, each of shape (m, r)
        Basis of each run, same m and r.
    random_state : None, int or Generator
        Seed of k-means.

    Returns
    -------
    float
        Mean silhouette in [-1, 1]; NaN for r = 1.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    if len(W_runs) < 2:
        raise ValueError(f"W_runs needs at least 2 runs to measure stability, got {len(W_runs)}")
    shapes = {np.shape(W) for W in W_runs}
    if len(shapes) != 1:
        raise ValueError(f"every W in W_runs must have the same shape, got {sorted(shapes)}")
    rank = np.shape(W_runs[0])[1]
    if rank < 2:
        return float("nan")
    pooled = np.hstack([np.asarray(W, dtype=float) for W in W_runs]).T
    pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.finfo(float).tiny)
    seed = int(check_random_state(random_state).integers(0, 2**31 - 1))
    labels = KMeans(n_clusters=rank, n_init=10, random_state=seed).fit_predict(pooled)
    if np.unique(labels).size < 2:
        return float("nan")
    return float(silhouette_score(pooled, labels, metric="euclidean"))
