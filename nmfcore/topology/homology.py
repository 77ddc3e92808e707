"""Persistent homology of the items of X.

The items are the columns of X (m x n). Their 0-dimensional persistence (H0)
under the Vietoris–Rips filtration is fully described by the Euclidean minimum
spanning tree (EMST): each of its n - 1 edge lengths is the death time of one
H0 bar, the single-linkage merge heights. :func:`barcodes` computes that tree
exactly without ever forming the n x n distance matrix (Borůvka rounds driven
by k-nearest-neighbour lists, see :func:`euclidean_mst`); H1 comes from ripser.
:func:`nmfcore.topology.scales.canonical_scales` turns the deaths into the
scales at which the connectivity of the ε-neighbourhood graph changes.
"""

from __future__ import annotations

import warnings

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from nmfcore.topology.geometry import diameter, items, pair_distances
from nmfcore.utils.validation import check_positive_int

# Above this many items H1 is computed on ripser's greedy landmark subsample.
H1_EXACT_MAX_ITEMS = 1000
# Non-Euclidean metrics go through ripser's dense distance matrix; refuse it when large.
_DENSE_METRIC_MAX_ITEMS = 5000


@dataclass
class Barcodes:
    """Persistence diagrams of the items (columns) of a data matrix.

    Attributes
    ----------
    h0 : ndarray, shape (n, 2)
        (birth, death) of the H0 bars, deaths ascending; births are 0 and the last
        bar never dies (death ``inf``).
    h1 : ndarray, shape (k, 2) or None
        (birth, death) of the H1 bars, or None when ``maxdim=0``.
    mst_edges : ndarray of int, shape (n - 1, 2) or None
        Item pairs of the Euclidean minimum spanning tree, in the order of
        ``h0[:-1, 1]`` (None for non-Euclidean metrics).
    diameter : float
        Largest distance between two items.
    n_items : int
        Number of items n.
    metric : str
        Distance used.
    h1_landmarks : int or None
        Number of landmarks ripser's greedy subsampling kept for H1, or None when
        H1 used every item.
    """

    h0: np.ndarray
    h1: np.ndarray | None
    mst_edges: np.ndarray | None
    diameter: float
    n_items: int
    metric: str
    h1_landmarks: int | None = None

    @property
    def deaths(self) -> np.ndarray:
        """Finite H0 death times, ascending, shape (n - 1,)."""
        return self.h0[:-1, 1]

    @property
    def note(self) -> str:
        """One line saying how the diagrams were computed."""
        parts = [f"H0 exact on {self.n_items} items"]
        if self.h1 is not None:
            if self.h1_landmarks is None:
                parts.append("H1 exact")
            else:
                parts.append(
                    f"H1 on {self.h1_landmarks} of {self.n_items} items (greedy landmark subsample)"
                )
        return "; ".join(parts)


def _neighbours(Y, n_neighbors: int):
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=n_neighbors).fit(Y)


def _nearest_foreign(dist: np.ndarray, ind: np.ndarray, comp: np.ndarray, rows: np.ndarray):
    """First neighbour of each query row that lies in another component.

    Returns the distance (``inf`` if none in the list), its index, and a lower
    bound on the distance to the nearest foreign item (the list's last distance
    when no foreign item is listed).
    """
    foreign = comp[ind] != comp[rows][:, None]
    found = foreign.any(axis=1)
    first = foreign.argmax(axis=1)
    k = np.arange(len(rows))
    cand_d = np.where(found, dist[k, first], np.inf)
    cand_j = ind[k, first]
    bound = np.where(found, cand_d, dist[:, -1])
    return cand_d, cand_j, bound


def euclidean_mst(X: np.ndarray | sp.spmatrix, *, n_neighbors: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean minimum spanning tree of the items (columns) of X.

    Borůvka rounds: in each round every component adds its shortest edge to
    another component. The shortest outgoing edge of a component is found from
    k-nearest-neighbour lists (k-d tree, ball tree or chunked brute force, as
    scikit-learn picks): an item whose list holds a foreign item gives a
    candidate, and an item whose list is all home items has its nearest foreign
    item at least as far as its last listed neighbour, a lower bound. Items
    whose bound is below the component's best candidate are queried again with
    longer lists, and as a last resort against a search tree of the items
    outside the component, so the chosen edge is provably the shortest one.
    Memory is O(n k); no n x n matrix is formed.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
        Items as columns.
    n_neighbors : int
        Length k of the first neighbour lists.

    Returns
    -------
    edges : ndarray of int, shape (n - 1, 2)
        Item pairs of the tree, sorted by length.
    lengths : ndarray, shape (n - 1,)
        Euclidean edge lengths, ascending (recomputed exactly from the pair).
    """
    Y = items(X)
    n_neighbors = check_positive_int(n_neighbors, "n_neighbors")
    return _mst_of_rows(Y, n_neighbors)


def _mst_of_rows(Y, n_neighbors: int = 16) -> tuple[np.ndarray, np.ndarray]:
    n = Y.shape[0]
    if n == 1:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    k0 = min(n_neighbors + 1, n)
    nn = _neighbours(Y, k0)
    rows_all = np.arange(n)
    dist, ind = nn.kneighbors(Y)
    comp = rows_all.copy()
    tree_i: list[np.ndarray] = []
    tree_j: list[np.ndarray] = []
    n_comp = n
    while n_comp > 1:
        cand_d, cand_j, bound = _nearest_foreign(dist, ind, comp, rows_all)
        cand_i = rows_all.copy()
        k = k0
        while True:
            best = np.full(n, np.inf)
            np.minimum.at(best, comp, cand_d)
            need = np.flatnonzero(~np.isfinite(cand_d) & (bound < best[comp]))
            if need.size == 0:
                break
            # longer lists pay off while many small components are unresolved; a few
            # (typically whole separated clusters) are cheaper to query exactly
            if np.unique(comp[need]).size > 32 and k < min(n, 256):
                k = min(4 * k, n)
                d2, i2 = nn.kneighbors(Y[need], n_neighbors=k)
                c_d, c_j, c_b = _nearest_foreign(d2, i2, comp, need)
            else:
                c_d, c_j = _nearest_outside(Y, comp, need)
                c_b = c_d
            cand_d[need], cand_j[need], bound[need] = c_d, c_j, c_b
        # one shortest outgoing edge per component (ties to the lowest item index)
        order = np.lexsort((cand_i, cand_d))
        comps_sorted = comp[order]
        _, first = np.unique(comps_sorted, return_index=True)
        chosen = order[first]
        ei, ej = cand_i[chosen], cand_j[chosen]
        keep = _kruskal_filter(ei, ej, cand_d[chosen], comp)
        tree_i.append(ei[keep])
        tree_j.append(ej[keep])
        ti, tj = np.concatenate(tree_i), np.concatenate(tree_j)
        graph = sp.coo_matrix((np.ones(ti.size), (ti, tj)), shape=(n, n))
        n_comp, comp = connected_components(graph, directed=False)
    ti, tj = np.concatenate(tree_i), np.concatenate(tree_j)
    lengths = pair_distances(Y, ti, tj)
    order = np.argsort(lengths, kind="stable")
    edges = np.stack([np.minimum(ti, tj), np.maximum(ti, tj)], axis=1)[order]
    return edges.astype(np.int64), lengths[order]


def _kruskal_filter(ei: np.ndarray, ej: np.ndarray, d: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """Keep candidate edges in order of length unless they close a cycle between components."""
    labels = np.unique(comp)
    parent = {int(c): int(c) for c in labels}

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    keep = np.zeros(ei.size, dtype=bool)
    for e in np.argsort(d, kind="stable"):
        ra, rb = find(int(comp[ei[e]])), find(int(comp[ej[e]]))
        if ra != rb:
            parent[ra] = rb
            keep[e] = True
    return keep


def _nearest_outside(Y, comp: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact nearest item outside its own component for each of ``rows``."""
    out_d = np.empty(rows.size)
    out_j = np.empty(rows.size, dtype=np.int64)
    for c in np.unique(comp[rows]):
        here = comp[rows] == c
        others = np.flatnonzero(comp != c)
        d, j = _neighbours(Y[others], 1).kneighbors(Y[rows[here]])
        out_d[here] = d[:, 0]
        out_j[here] = others[j[:, 0]]
    return out_d, out_j


def barcodes(
    X: np.ndarray | sp.spmatrix,
    *,
    maxdim: int = 1,
    metric: str = "euclidean",
    n_landmarks: int | None = None,
) -> Barcodes:
    """Vietoris–Rips persistence of the items (columns) of X.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
        Nonnegative data; each of the n columns is a point.
    maxdim : {0, 1}
        Highest homology dimension. H0 is always computed.
    metric : str
        "euclidean" (H0 from the exact EMST, any n) or another metric ripser
        accepts (dense distances, at most 5000 items).
    n_landmarks : int or None
        Number of items ripser's greedy permutation keeps for H1. None uses every
        item up to 1000 items and 1000 landmarks beyond. H0 never subsamples.

    Returns
    -------
    Barcodes
    """
    from ripser import ripser

    if maxdim not in (0, 1):
        raise ValueError(f"maxdim must be 0 or 1, got {maxdim!r}; higher dimensions are not supported")
    if not isinstance(metric, str):
        raise ValueError(f"metric must be a string such as 'euclidean', got {metric!r}")
    Y = items(X)
    n = Y.shape[0]
    if n < 2:
        raise ValueError(f"X must have at least 2 columns (items) to compute persistence, got {n}")
    if n_landmarks is not None:
        n_landmarks = check_positive_int(n_landmarks, "n_landmarks", minimum=2)
    if metric == "euclidean":
        edges, lengths = _mst_of_rows(Y)
        diam = diameter(Y)
    else:
        if n > _DENSE_METRIC_MAX_ITEMS:
            raise ValueError(
                f"metric={metric!r} needs the dense {n} x {n} distance matrix; use "
                f"metric='euclidean' (exact H0 without dense distances) or at most "
                f"{_DENSE_METRIC_MAX_ITEMS} items"
            )
        dense = Y.toarray() if sp.issparse(Y) else Y
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The input point cloud has more columns than rows")
            finite = ripser(dense, maxdim=0, metric=metric)["dgms"][0]
        lengths = np.sort(finite[np.isfinite(finite[:, 1]), 1])
        edges = None
        from sklearn.metrics import pairwise_distances

        diam = float(pairwise_distances(dense, metric=metric).max())
    h0 = np.column_stack([np.zeros(n), np.append(lengths, np.inf)])
    h1 = None
    landmarks = None
    if maxdim == 1:
        if n_landmarks is None and n > H1_EXACT_MAX_ITEMS:
            n_landmarks = H1_EXACT_MAX_ITEMS
        if n_landmarks is not None and n_landmarks < n:
            landmarks = n_landmarks
        dense = Y.toarray() if sp.issparse(Y) else Y
        kwargs = {"n_perm": landmarks} if landmarks is not None else {}
        with warnings.catch_warnings():
            # Items are rows of a point cloud here, even when features outnumber them.
            warnings.filterwarnings("ignore", message="The input point cloud has more columns than rows")
            h1 = ripser(dense, maxdim=1, metric=metric, **kwargs)["dgms"][1].astype(np.float64)
    return Barcodes(h0, h1, edges, diam, n, metric, landmarks)
