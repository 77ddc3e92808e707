"""Persistent homology of the items of X and the canonical scales it defines.

The items are the columns of X (m x n). Their 0-dimensional persistence (H0)
under the Vietoris–Rips filtration is fully described by the Euclidean minimum
spanning tree (EMST): each of its n - 1 edge lengths is the death time of one
H0 bar, the single-linkage merge heights. :func:`barcodes` computes that tree
exactly without ever forming the n x n distance matrix (Borůvka rounds driven
by k-nearest-neighbour lists, see :func:`euclidean_mst`); H1 comes from ripser.
:func:`canonical_scales` turns the deaths into the scales at which the
connectivity of the ε-neighbourhood graph changes.
"""

from __future__ import annotations

import warnings

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from nmfcore.utils.validation import check_choice, check_matrix, check_positive_int

SCALE_METHODS = ("levels", "gaps")
# Above this many items H1 is computed on ripser's greedy landmark subsample.
H1_EXACT_MAX_ITEMS = 1000
# Rows per block of the exact diameter search (memory O(n * block)).
_DIAMETER_BLOCK = 2048
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


def _items(X: np.ndarray | sp.spmatrix) -> np.ndarray | sp.csr_matrix:
    """The items of X as rows (n x m), without densifying sparse input."""
    X = check_matrix(X, "X")
    return sp.csr_matrix(X.T) if sp.issparse(X) else np.ascontiguousarray(X.T, dtype=np.float64)


def _sq_norms(Y: np.ndarray | sp.csr_matrix) -> np.ndarray:
    if sp.issparse(Y):
        return np.asarray(Y.multiply(Y).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", Y, Y)


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
    for start in range(0, len(i), 4096):
        a, b = i[start : start + 4096], j[start : start + 4096]
        diff = Y[a] - Y[b]
        if sp.issparse(diff):
            out[start : start + 4096] = np.sqrt(np.asarray(diff.multiply(diff).sum(axis=1)).ravel())
        else:
            out[start : start + 4096] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


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
    Y = _items(X)
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


def _gram(A, B) -> np.ndarray:
    """Dense ``A @ B.T`` for dense or CSR row blocks."""
    G = A @ B.T
    return G.toarray() if sp.issparse(G) else np.asarray(G)


def _diameter(Y) -> float:
    """Exact largest pairwise distance, in row blocks pruned by distances to the centroid.

    Items sorted by their distance r to the centroid; a pair can only beat the
    best distance found so far if r_i + r_j exceeds it, so each block of rows
    is compared with a prefix of the sorted items only. Memory O(n * block).
    """
    n = Y.shape[0]
    if n < 2:
        return 0.0
    centroid = np.asarray(Y.mean(axis=0)).ravel()
    sq = _sq_norms(Y)
    r = np.sqrt(np.maximum(sq - 2 * np.asarray(Y @ centroid).ravel() + centroid @ centroid, 0))
    order = np.argsort(-r)
    Ys, sqs, rs = Y[order], sq[order], r[order]
    # farthest-point iterations give a good lower bound to prune with
    best2 = 0.0
    a = 0
    for _ in range(3):
        d2 = np.maximum(sqs + sqs[a] - 2 * _gram(Ys, Ys[a : a + 1]).ravel(), 0)
        b = int(np.argmax(d2))
        best2 = max(best2, float(d2[b]))
        a = b
    for start in range(0, n, _DIAMETER_BLOCK):
        if 2 * rs[start] <= np.sqrt(best2):
            break
        stop = min(start + _DIAMETER_BLOCK, n)
        reach = int(np.searchsorted(-rs, -(np.sqrt(best2) - rs[start]), side="right"))
        reach = max(reach, stop)
        d2 = sqs[start:stop, None] + sqs[None, start:reach] - 2 * _gram(Ys[start:stop], Ys[start:reach])
        best2 = max(best2, float(d2.max()))
    return float(np.sqrt(best2))


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
    Y = _items(X)
    n = Y.shape[0]
    if n < 2:
        raise ValueError(f"X must have at least 2 columns (items) to compute persistence, got {n}")
    if n_landmarks is not None:
        n_landmarks = check_positive_int(n_landmarks, "n_landmarks", minimum=2)
    if metric == "euclidean":
        edges, lengths = _mst_of_rows(Y)
        diameter = _diameter(Y)
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

        diameter = float(pairwise_distances(dense, metric=metric).max())
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
    return Barcodes(h0, h1, edges, diameter, n, metric, landmarks)


def _component_counts(deaths: np.ndarray, scales: np.ndarray, n: int) -> np.ndarray:
    """Components of the graph {D_ij < ε} at each ε: n minus the tree edges shorter than ε."""
    return n - np.searchsorted(deaths, scales, side="left")


def canonical_scales(
    barcodes_or_X: Barcodes | np.ndarray | sp.spmatrix,
    *,
    n_scales: int | None = None,
    method: str = "levels",
) -> np.ndarray:
    """Scales at which the ε-neighbourhood graph of the items changes connectivity.

    The full canonical set is the distinct H0 death times plus one scale just
    above the largest distance (diameter + 1e-9, as the authors' code), ascending:
    scale 1 is the finest (no edges), the last one the complete graph. The graph
    {D_ij < ε} has a fixed edge set between two consecutive scales of the set.

    Parameters
    ----------
    barcodes_or_X : Barcodes or array-like of shape (m, n)
        Diagrams from :func:`barcodes`, or the data (Euclidean H0 is computed).
    n_scales : int or None
        None keeps the full set. Otherwise at most this many scales of the full
        set are kept, always including the finest and the top scale:

        - ``"levels"``: the scales where the number of components first drops to
          or below levels spaced geometrically from n down to 1 (equal relative
          change in connectivity between kept scales);
        - ``"gaps"``: the scales that end the ``n_scales - 2`` largest gaps between
          consecutive canonical scales (the most persistent configurations).
    method : {"levels", "gaps"}

    Returns
    -------
    ndarray, shape (T,)
        Ascending scales.
    """
    if not isinstance(barcodes_or_X, Barcodes):
        barcodes_or_X = barcodes(barcodes_or_X, maxdim=0)
    bc = barcodes_or_X
    check_choice(method, "method", SCALE_METHODS)
    deaths = np.sort(bc.deaths)
    full = np.append(np.unique(deaths), bc.diameter + 1e-9)
    if n_scales is None or n_scales >= full.size:
        if n_scales is not None:
            check_positive_int(n_scales, "n_scales", minimum=2)
        return full
    n_scales = check_positive_int(n_scales, "n_scales", minimum=2)
    last = full.size - 1
    if method == "levels":
        counts = _component_counts(deaths, full, bc.n_items)
        levels = np.geomspace(bc.n_items, 1, n_scales)
        # first scale whose component count is at or below each level (counts decrease)
        picked = np.searchsorted(-counts, -levels, side="left")
        picked = np.unique(np.clip(picked, 0, last))
        if picked.size < n_scales:
            spare = np.setdiff1d(np.arange(full.size), picked)
            fill = spare[np.linspace(0, spare.size - 1, n_scales - picked.size).round().astype(int)]
            picked = np.union1d(picked, fill)
    else:
        gaps = np.diff(full)
        ends = np.argsort(-gaps, kind="stable")[: n_scales - 2] + 1
        picked = np.union1d([0, last], ends)
    return full[picked]
