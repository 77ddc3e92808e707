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

from nmfcore.topology import _kernels as _k
from nmfcore.topology.geometry import diameter, gram, items, sq_norms
from nmfcore.topology.scales import check_scales
from nmfcore.utils.parallel import run_jobs
from nmfcore.utils.validation import check_positive_int

# Pairs whose length equals a scale to within this relative tolerance count as
# equal (not below it), so rounding never puts the tree edge that defines a
# scale into that scale's own graph.
_TIE_RTOL = 1e-12
_ROW_BLOCK = 1024


def _pairs_below(Y, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs i < j with D_ij < radius, in row blocks; returns (i, j, D²)."""
    n = Y.shape[0]
    sq = sq_norms(Y)
    limit = radius * radius
    out_i, out_j, out_d = [], [], []
    for start in range(0, n - 1, _ROW_BLOCK):
        stop = min(start + _ROW_BLOCK, n)
        G = gram(Y[start:stop], Y[start:])
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

    Two views of the pairs closer than the largest scale are kept: one list
    sorted by length (the edges of scale t are a prefix of it) for the explicit
    matrices, and the same pairs grouped by item, each item's neighbours sorted
    by distance (its neighbours at scale t are a prefix of its row), for the
    products. Products and degrees compute the weights exp(-D² / ε^1.5) on the
    fly in compiled kernels (:mod:`nmfcore.topology._kernels`), many scales at once.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
        Items as columns.
    scales : array-like, shape (T,)
        Strictly increasing scales ε_1 < ... < ε_T (finest first).
    dense_fraction : float
        :meth:`adjacency` returns a dense ndarray when the graph has more than
        this fraction of the n² entries, otherwise CSR.

    Attributes
    ----------
    scales : ndarray, shape (T,)
    n_items : int
    edge_counts : ndarray of int, shape (T,)
        Number of undirected edges of each scale's graph (nondecreasing).
    """

    def __init__(self, X, scales, *, dense_fraction: float = 0.25) -> None:
        Y = items(X)
        self.scales = check_scales(scales)
        self.n_items = Y.shape[0]
        self.dense_fraction = float(dense_fraction)
        self._i, self._j, self._d2 = _pairs_below(Y, float(self.scales[-1]))
        # a pair counts at scale ε when D² < ε² (1 - rtol): see _TIE_RTOL
        self._limits = self.scales**2 * (1.0 - _TIE_RTOL)
        with np.errstate(divide="ignore"):  # a scale of 0 (duplicate items) has no edges to weigh
            self._inv = 1.0 / self.scales**1.5
        self.edge_counts = np.searchsorted(self._d2, self._limits, side="left")
        self._indptr, self._nbr, self._nd2 = _rows_by_item(self._i, self._j, self._d2, self.n_items)
        self._degrees: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.scales.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by the sorted pair list and its grouping by item."""
        arrays = (self._i, self._j, self._d2, self._indptr, self._nbr, self._nd2)
        return int(sum(a.nbytes for a in arrays))

    def _weights(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = int(self.edge_counts[t])
        w = np.exp(-self._d2[:k] * self._inv[t])
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

    def degrees(self, t: int | np.ndarray) -> np.ndarray:
        """Degrees A^ε_t 1, shape (n,), or (c, n) for an array of c scales.

        All T degree vectors are computed on the first call and kept (T x n floats).
        """
        if self._degrees is None:
            self._degrees = np.empty((len(self), self.n_items))
            run_jobs(
                _k.weighted_degrees,
                _k.item_jobs(*self._degrees.shape),
                self._indptr,
                self._nd2,
                self._limits,
                self._inv,
                self._degrees,
            )
        return self._degrees[t]

    def products(self, ts: np.ndarray, H: np.ndarray, threads: int | None = None) -> np.ndarray:
        """H[s] A^ε_{ts[s]} for a batch of scales, shape (c, r, n).

        Parameters
        ----------
        ts : ndarray of int, shape (c,)
            Scale indices.
        H : ndarray, shape (c, r, n)
            float32 or float64; the result has the same dtype.
        threads : int or None
            Threads to use; None uses numba's thread count.
        """
        ts = np.asarray(ts, dtype=np.intp)
        H = np.ascontiguousarray(H)
        out = np.empty_like(H)
        run_jobs(
            _k.graph_products,
            _k.item_jobs(H.shape[0], H.shape[2]),
            self._indptr,
            self._nbr,
            self._nd2,
            self._limits[ts],
            self._inv[ts].astype(H.dtype),
            H,
            out,
            threads=threads,
        )
        return out

    def product(self, t: int, H: np.ndarray, threads: int | None = None) -> np.ndarray:
        """H A^ε_t, shape (r, n), for H of shape (r, n); ``threads`` as in :meth:`products`."""
        return self.products(np.array([t]), H[None], threads)[0]

    def laplacian(self, t: int) -> sp.csr_matrix:
        """Graph Laplacian L^ε_t = diag(A 1) - A as CSR, shape (n, n)."""
        return laplacian(self.adjacency(t))


def _rows_by_item(
    i: np.ndarray, j: np.ndarray, d2: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs (i, j, D²) as rows per item: (indptr, neighbour, D²).

    Row a lists every neighbour of a (both directions of each pair) by
    ascending distance, so its neighbours at any scale are a prefix of the row.
    """
    src = np.concatenate([i, j])
    both = np.concatenate([d2, d2])
    order = np.lexsort((both, src))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, np.concatenate([j, i])[order], both[order]


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

    Y = items(X)
    n = Y.shape[0]
    n_neighbors = check_positive_int(n_neighbors, "n_neighbors")
    if n_neighbors >= n:
        raise ValueError(f"n_neighbors must be below the number of items n = {n}, got {n_neighbors}")
    dist, ind = NearestNeighbors(n_neighbors=n_neighbors).fit(Y).kneighbors()
    scale = max(diameter(Y), np.finfo(float).tiny) ** 1.5
    rows = np.repeat(np.arange(n), n_neighbors)
    A = sp.csr_matrix((np.exp(-dist.ravel() ** 2 / scale), (rows, ind.ravel())), shape=(n, n))
    return A.maximum(A.T).tocsr()


def laplacian(A: np.ndarray | sp.spmatrix) -> sp.csr_matrix:
    """L = diag(A 1) - A for a symmetric nonnegative adjacency A, shape (n, n), as CSR."""
    A = sp.csr_matrix(A)
    return (sp.diags(np.asarray(A.sum(axis=1)).ravel()) - A).tocsr()
