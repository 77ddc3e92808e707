"""Euclidean geometry of the items (columns) of X, shared by the topology modules.

Barcodes, canonical scales, the ε-graphs of persistent NMF and the kNN graph of
GNMF all look at the n items of X (m x n) as points, stored as the rows of an
n x m array (dense or CSR, never densified). The helpers here compute norms,
Gram blocks, pairwise distances and the diameter of such point sets in blocks,
so that no n x n matrix is formed.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nmfcore.utils.validation import check_matrix

# Rows per block of the exact diameter search (memory O(n * block)).
_DIAMETER_BLOCK = 2048
# Pairs per block of pair_distances.
_PAIR_BLOCK = 4096


def items(X: np.ndarray | sp.spmatrix) -> np.ndarray | sp.csr_matrix:
    """The items of X as rows, without densifying sparse input.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
        Nonnegative data, items as columns (checked with
        :func:`nmfcore.utils.validation.check_matrix`).

    Returns
    -------
    ndarray (float64, C order) or csr_matrix, shape (n, m)
    """
    X = check_matrix(X, "X")
    return sp.csr_matrix(X.T) if sp.issparse(X) else np.ascontiguousarray(X.T, dtype=np.float64)


def sq_norms(Y: np.ndarray | sp.csr_matrix) -> np.ndarray:
    """Squared Euclidean norms of the rows of Y.

    Parameters
    ----------
    Y : ndarray or csr_matrix, shape (n, m)

    Returns
    -------
    ndarray, shape (n,)
    """
    if sp.issparse(Y):
        return np.asarray(Y.multiply(Y).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", Y, Y)


def squared_frobenius(X: np.ndarray | sp.spmatrix) -> float:
    """‖X‖_F², for dense or sparse X of any shape (m, n)."""
    return float(X.multiply(X).sum()) if sp.issparse(X) else float(np.einsum("ij,ij->", X, X))


def gram(A: np.ndarray | sp.csr_matrix, B: np.ndarray | sp.csr_matrix) -> np.ndarray:
    """Dense ``A @ B.T`` for dense or CSR row blocks A (a, m) and B (b, m), shape (a, b)."""
    G = A @ B.T
    return G.toarray() if sp.issparse(G) else np.asarray(G)


def pair_distances(Y: np.ndarray | sp.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Euclidean distances between rows ``Y[i]`` and ``Y[j]``, pair by pair.

    Parameters
    ----------
    Y : ndarray or csr_matrix, shape (n, m)
        Items as rows.
    i, j : ndarray of int, shape (k,)

    Returns
    -------
    ndarray, shape (k,)
    """
    out = np.empty(len(i))
    for start in range(0, len(i), _PAIR_BLOCK):
        stop = start + _PAIR_BLOCK
        diff = Y[i[start:stop]] - Y[j[start:stop]]
        if sp.issparse(diff):
            out[start:stop] = np.sqrt(np.asarray(diff.multiply(diff).sum(axis=1)).ravel())
        else:
            out[start:stop] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def diameter(Y: np.ndarray | sp.csr_matrix) -> float:
    """Exact largest pairwise distance between the rows of Y (n, m).

    Items sorted by their distance r to the centroid; a pair can only beat the
    best distance found so far if r_i + r_j exceeds it, so each block of rows
    is compared with a prefix of the sorted items only. Memory O(n * block).

    Returns
    -------
    float
        0 for fewer than two rows.
    """
    n = Y.shape[0]
    if n < 2:
        return 0.0
    centroid = np.asarray(Y.mean(axis=0)).ravel()
    sq = sq_norms(Y)
    r = np.sqrt(np.maximum(sq - 2 * np.asarray(Y @ centroid).ravel() + centroid @ centroid, 0))
    order = np.argsort(-r)
    Ys, sqs, rs = Y[order], sq[order], r[order]
    # farthest-point iterations give a good lower bound to prune with
    best2 = 0.0
    a = 0
    for _ in range(3):
        d2 = np.maximum(sqs + sqs[a] - 2 * gram(Ys, Ys[a : a + 1]).ravel(), 0)
        b = int(np.argmax(d2))
        best2 = max(best2, float(d2[b]))
        a = b
    for start in range(0, n, _DIAMETER_BLOCK):
        if 2 * rs[start] <= np.sqrt(best2):
            break
        stop = min(start + _DIAMETER_BLOCK, n)
        reach = int(np.searchsorted(-rs, -(np.sqrt(best2) - rs[start]), side="right"))
        reach = max(reach, stop)
        d2 = sqs[start:stop, None] + sqs[None, start:reach] - 2 * gram(Ys[start:stop], Ys[start:reach])
        best2 = max(best2, float(d2.max()))
    return float(np.sqrt(best2))
