"""Measures of a factorisation: sparsity, factor matching and clustering scores."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def hoyer_sparsity(A: np.ndarray, axis: int = 0) -> np.ndarray:
    """Hoyer sparsity of each column (``axis=0``) or row (``axis=1``) of ``A``.

    ``(sqrt(k) - ||x||_1 / ||x||_2) / (sqrt(k) - 1)`` for a vector x of length k:
    0 for a constant vector, 1 for a vector with a single non-zero.

    Parameters
    ----------
    A : ndarray, shape (k, p) for axis=0 or (p, k) for axis=1
    axis : {0, 1}
        Axis along which the vectors run.

    Returns
    -------
    ndarray, shape (p,)
        Sparsity in [0, 1]; an all-zero vector gets 0.
    """
    A = np.abs(np.asarray(A, dtype=float))
    k = A.shape[axis]
    if k < 2:
        raise ValueError(f"hoyer_sparsity needs vectors of length >= 2 along axis {axis}, got {k}")
    l1 = A.sum(axis=axis)
    l2 = np.sqrt((A * A).sum(axis=axis))
    ratio = np.divide(l1, l2, out=np.full_like(l1, np.sqrt(k)), where=l2 > 0)
    return (np.sqrt(k) - ratio) / (np.sqrt(k) - 1)


def _angles_deg(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Matrix of angles (degrees) between the columns of A (rows) and of B (columns)."""
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    if A.ndim != 2 or B.ndim != 2 or A.shape[0] != B.shape[0]:
        raise ValueError(
            f"factors to compare must be 2-D with the same number of rows, got {A.shape} and {B.shape}"
        )
    na = np.linalg.norm(A, axis=0)
    nb = np.linalg.norm(B, axis=0)
    cos = (A.T @ B) / np.maximum(np.outer(na, nb), np.finfo(float).tiny)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def match_factors(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Match the columns of ``B`` to those of ``A`` by angle (Hungarian algorithm).

    Matching by angle ignores the scaling of each factor, so a permuted and
    rescaled copy of ``A`` is matched exactly.

    Parameters
    ----------
    A : ndarray, shape (m, r)
        Reference factors, one per column.
    B : ndarray, shape (m, s), s >= r
        Factors to align with ``A``.

    Returns
    -------
    perm : ndarray of int, shape (r,)
        ``B[:, perm]`` is aligned with ``A``.
    angles : ndarray, shape (r,)
        Angle in degrees between ``A[:, k]`` and ``B[:, perm[k]]``.
    """
    angles = _angles_deg(A, B)
    if B.shape[1] < A.shape[1]:
        raise ValueError(
            f"B has {B.shape[1]} factors but A has {A.shape[1]}; B needs at least as many to match"
        )
    rows, cols = linear_sum_assignment(angles)
    perm = np.empty(A.shape[1], dtype=int)
    perm[rows] = cols
    return perm, angles[np.arange(A.shape[1]), perm]


def spectral_angle_distance(
    W_est: np.ndarray, W_true: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Spectral angle distance (SAD) of estimated endmembers against a ground truth.

    Parameters
    ----------
    W_est : ndarray, shape (bands, s)
        Estimated endmembers, s >= r.
    W_true : ndarray, shape (bands, r)
        Ground-truth endmembers.

    Returns
    -------
    mean_deg : float
        Mean SAD in degrees over the matched endmembers.
    per_column_deg : ndarray, shape (r,)
        SAD of each ground-truth endmember to its match.
    perm : ndarray of int, shape (r,)
        ``W_est[:, perm]`` is aligned with ``W_true``.
    """
    perm, angles = match_factors(W_true, W_est)
    return float(angles.mean()), angles, perm


def _encode_labels(labels: np.ndarray) -> np.ndarray:
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    return codes.ravel()


def hungarian_accuracy(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Fraction of items whose predicted cluster maps to their class under the best one-to-one map."""
    t = _encode_labels(labels_true)
    p = _encode_labels(labels_pred)
    counts = np.zeros((p.max() + 1, t.max() + 1))
    np.add.at(counts, (p, t), 1)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / t.size)


def purity(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Fraction of items that belong to the majority class of their cluster."""
    t = _encode_labels(labels_true)
    p = _encode_labels(labels_pred)
    counts = np.zeros((p.max() + 1, t.max() + 1))
    np.add.at(counts, (p, t), 1)
    return float(counts.max(axis=1).sum() / t.size)


def cluster_scores(
    H: np.ndarray, labels: np.ndarray, *, n_init: int = 10, random_state: int | None = 0
) -> dict[str, float]:
    """Cluster the columns of ``H`` with k-means and score the clusters against ``labels``.

    Parameters
    ----------
    H : ndarray, shape (r, n)
        Coefficients; each column is an item's embedding.
    labels : array-like, shape (n,)
        Known class of each item; k is the number of distinct labels.
    n_init : int
        k-means restarts.
    random_state : int or None
        Seed of k-means.

    Returns
    -------
    dict
        ``{"ari", "nmi", "purity", "accuracy"}``; accuracy uses the Hungarian map
        between clusters and classes.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    H = np.asarray(H, dtype=float)
    labels = np.asarray(labels).ravel()
    if H.ndim != 2 or H.shape[1] != labels.size:
        raise ValueError(
            f"labels must have one entry per column of H ({H.shape[-1]}), got {labels.size}"
        )
    k = np.unique(labels).size
    if k < 2:
        raise ValueError("labels must contain at least two classes to score a clustering")
    pred = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit_predict(H.T)
    return {
        "ari": float(adjusted_rand_score(labels, pred)),
        "nmi": float(normalized_mutual_info_score(labels, pred)),
        "purity": purity(labels, pred),
        "accuracy": hungarian_accuracy(labels, pred),
    }


def knn_accuracy(H: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-nearest-neighbour label accuracy on the columns of ``H``.

    Rewards embeddings that keep neighbourhoods of any shape (rings, arcs),
    which k-means scores miss.

    Parameters
    ----------
    H : ndarray, shape (r, n)
    labels : array-like, shape (n,)
    k : int
        Number of neighbours voting (majority, ties to the nearest).

    Returns
    -------
    float
        Fraction of items whose label equals the vote of their k nearest other items.
    """
    from sklearn.neighbors import NearestNeighbors

    H = np.asarray(H, dtype=float)
    codes = _encode_labels(labels)
    if H.shape[1] != codes.size:
        raise ValueError(f"labels must have one entry per column of H ({H.shape[1]}), got {codes.size}")
    if not 1 <= k < codes.size:
        raise ValueError(f"k must be between 1 and n - 1 = {codes.size - 1}, got {k}")
    n = codes.size
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(H.T).kneighbors(H.T)
    keep = idx != np.arange(n)[:, None]
    keep[keep.all(axis=1), -1] = False  # a duplicate point may hide the item itself
    neighbours = idx[keep].reshape(n, k)
    votes = np.zeros((n, codes.max() + 1))
    weights = 1.0 + 1e-6 * np.arange(k, 0, -1)
    np.add.at(votes, (np.repeat(np.arange(n), k), codes[neighbours].ravel()), np.tile(weights, n))
    return float(np.mean(votes.argmax(axis=1) == codes))
