"""Neighbourhood graphs of the items (columns) of X and their Laplacians.

Two families:

- the multi-scale graphs of persistent NMF: at scale ε,
  A^ε_ij = exp(-D_ij² / ε^1.5) if D_ij < ε and i != j, else 0, and
  L^ε = diag(A^ε 1) - A^ε (Zhang, Miao & Li). :class:`ScaleGraphs` keeps one
  list of the item pairs closer than the largest scale, sorted by length; the
  edge set of scale t is a prefix of that list, so going from one scale to the
  next only adds the pairs whose length falls between the two, and each A^ε is
  built on demand from its prefix. Memory is O(#pairs below the largest scale),
  never T x n².
- the kNN heat-kernel graph of GNMF (Cai et al. 2011): k nearest neighbours,
  A_ij = exp(-D_ij² / max(D)^1.5), symmetrised by A <- max(A, Aᵀ).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nmfcore._validation import check_positive_int
from nmfcore.topology import _diameter, _items, _sq_norms

# Pairs whose length equals a scale to within this relative tolerance count as
# equal (not below it), so rounding never puts the tree edge that defines a
# scale into that scale's own graph.
_TIE_RTOL = 1e-12
_ROW_BLOCK = 1024


def _check_scales(scales) -> np.ndarray:
    scales = np.asarray(scales, dtype=np.float64).ravel()
    if scales.size == 0 or not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise ValueError(
            "scales must be a non-empty 1-D array of finite numbers >= 0; get them from "
            "nmfcore.canonical_scales(X)"
        )
    if np.any(np.diff(scales) <= 0):
        raise ValueError("scales must be strictly increasing (finest first); sort them and drop repeats")
    return scales


def _pairs_below(Y, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs i < j with D_ij < radius, in row blocks; returns (i, j, D²)."""
    n = Y.shape[0]
    sq = _sq_norms(Y)
    limit = radius * radius
    out_i, out_j, out_d = [], [], []
    for start in range(0, n - 1, _ROW_BLOCK):
        stop = min(start + _ROW_BLOCK, n)
        G = Y[start:stop] @ Y[start:].T
        G = G.toarray() if sp.issparse(G) else np.asarray(G)
        d2 = sq[start:stop, None] + sq[None, start:] - 2.0 * G
        del G
        np.maximum(d2, 0.0, out=d2)
        # column c of the block is item start + c; k=1 keeps j > i
        rows, cols = np.nonzero(np.triu(d2 < limit, k=1))
        out_d.append(d2[rows, cols])
        out_i.append((rows + start).astype(np.int32))
        out_j.append((cols + start).astype(np.int32))
        del d2
    if not out_i:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
    i, j, d2 = np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d)
    del out_i, out_j, out_d
    order = np.argsort(d2, kind="stable")
    return i[order], j[order], d2[order]


class ScaleGraphs:
    """The multi-scale ε-graphs of the items of X, built one scale at a time.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
        Items as columns.
    scales : array-like, shape (T,)
        Strictly increasing scales ε_1 < ... < ε_T (finest first).
    cache_bytes : int
        Memory allowed for keeping built sparse adjacencies between calls of
        :meth:`product` (first come, first kept); the rest are rebuilt on demand.
    dense_fraction : float
        A scale's adjacency is returned as a dense ndarray when it has more than
        this fraction of the n² entries (matrix products are then faster and
        smaller than in CSR), otherwise as CSR.

    Attributes
    ----------
    scales : ndarray, shape (T,)
    n_items : int
    edge_counts : ndarray of int, shape (T,)
        Number of undirected edges of each scale's graph (nondecreasing).
    """

    def __init__(
        self, X, scales, *, dense_fraction: float = 0.25, cache_bytes: int = 32 * 2**20
    ) -> None:
        Y = _items(X)
        self.scales = _check_scales(scales)
        self.n_items = Y.shape[0]
        self.dense_fraction = float(dense_fraction)
        self._i, self._j, self._d2 = _pairs_below(Y, float(self.scales[-1]))
        self._degrees: dict[int, np.ndarray] = {}
        self._cache: dict[int, sp.csr_matrix] = {}
        self._cache_left = int(cache_bytes)
        self.edge_counts = np.searchsorted(
            self._d2, self.scales**2 * (1.0 - _TIE_RTOL), side="left"
        )

    def __len__(self) -> int:
        return int(self.scales.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by the shared sorted edge list."""
        return int(self._i.nbytes + self._j.nbytes + self._d2.nbytes)

    def _weights(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = int(self.edge_counts[t])
        w = np.exp(-self._d2[:k] / self.scales[t] ** 1.5)
        return self._i[:k], self._j[:k], w

    def adjacency(self, t: int) -> np.ndarray | sp.csr_matrix:
        """Symmetric weighted adjacency A^ε_t, shape (n, n), CSR or dense (see ``dense_fraction``)."""
        i, j, w = self._weights(t)
        n = self.n_items
        if 2 * w.size > self.dense_fraction * n * n:
            A = np.zeros((n, n))
            A[i, j] = w
            A[j, i] = w
            return A
        return sp.csr_matrix(
            (np.concatenate([w, w]), (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(n, n)
        )

    def degrees(self, t: int) -> np.ndarray:
        """Degrees A^ε_t 1, shape (n,) (kept after the first call: T x n floats)."""
        if t not in self._degrees:
            i, j, w = self._weights(t)
            n = self.n_items
            self._degrees[t] = np.bincount(i, w, minlength=n) + np.bincount(j, w, minlength=n)
        return self._degrees[t]

    def product(self, t: int, H: np.ndarray) -> np.ndarray:
        """H A^ε_t, shape (r, n), without building a CSR matrix for sparse scales.

        Sparse scales multiply with the upper-triangle edge list in COO form
        (A = U + Uᵀ); no sorting or format conversion is needed.
        """
        if t in self._cache:
            return np.asarray(self._cache[t] @ H.T).T
        i, j, w = self._weights(t)
        n = self.n_items
        if 2 * w.size > self.dense_fraction * n * n:
            return H @ self.adjacency(t)
        if 24 * w.size <= self._cache_left:
            # small enough to keep: later products skip the weights and conversion
            self._cache[t] = self.adjacency(t)
            self._cache_left -= 24 * w.size
            return np.asarray(self._cache[t] @ H.T).T
        U = sp.coo_matrix((w, (i, j)), shape=(n, n))
        Ht = np.ascontiguousarray(H.T)
        return np.asarray(U @ Ht + U.T @ Ht).T

    def laplacian(self, t: int) -> sp.csr_matrix:
        """Graph Laplacian L^ε_t = diag(A 1) - A as CSR, shape (n, n)."""
        return laplacian(self.adjacency(t))


def scale_graphs(X, scales) -> list[sp.csr_matrix]:
    """Sparse Laplacians of the ε-neighbourhood graphs of the items of X.

    A^ε_ij = exp(-D_ij² / ε^1.5) for D_ij < ε, i != j; L^ε = diag(A^ε 1) - A^ε.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
        Items as columns.
    scales : array-like, shape (T,)
        Strictly increasing scales, e.g. from :func:`nmfcore.canonical_scales`.

    Returns
    -------
    list of csr_matrix, each shape (n, n)
        One Laplacian per scale, finest first. For many scales on many items use
        :class:`ScaleGraphs`, which builds one graph at a time.
    """
    graphs = ScaleGraphs(X, scales, dense_fraction=np.inf)
    return [graphs.laplacian(t) for t in range(len(graphs))]


def knn_graph(X, n_neighbors: int = 8) -> sp.csr_matrix:
    """Symmetric kNN heat-kernel adjacency of GNMF.

    A_ij = exp(-D_ij² / max(D)^1.5) when j is among the ``n_neighbors`` nearest
    items of i, then A <- max(A, Aᵀ).

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
        Items as columns.
    n_neighbors : int
        Neighbours per item (1 <= k < n).

    Returns
    -------
    csr_matrix, shape (n, n)
    """
    from sklearn.neighbors import NearestNeighbors

    Y = _items(X)
    n = Y.shape[0]
    n_neighbors = check_positive_int(n_neighbors, "n_neighbors")
    if n_neighbors >= n:
        raise ValueError(f"n_neighbors must be below the number of items n = {n}, got {n_neighbors}")
    dist, ind = NearestNeighbors(n_neighbors=n_neighbors).fit(Y).kneighbors()
    scale = max(_diameter(Y), np.finfo(float).tiny) ** 1.5
    rows = np.repeat(np.arange(n), n_neighbors)
    A = sp.csr_matrix((np.exp(-dist.ravel() ** 2 / scale), (rows, ind.ravel())), shape=(n, n))
    return A.maximum(A.T).tocsr()


def laplacian(A: np.ndarray | sp.spmatrix) -> sp.csr_matrix:
    """L = diag(A 1) - A for a symmetric nonnegative adjacency A, shape (n, n), as CSR."""
    A = sp.csr_matrix(A)
    return (sp.diags(np.asarray(A.sum(axis=1)).ravel()) - A).tocsr()
