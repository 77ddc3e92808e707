"""What the app's pages show, computed: summaries of data and results, and the quantities behind views.

The pages gather input and draw; everything they show that needs computing comes
from here (or from the engine), so it can be tested without a browser. Results are
used through the :class:`~nmfcore.results.FitResult` protocol; what only one family
has (a deep model's coupling matrices, pNMF's scales) is read from its own result class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from nmfcore.data.lazy_checks import is_lazy_array
from nmfcore.models import get
from nmfcore.results import NMFResult

MAX_DENSIFY_BYTES = 2e9
"""Largest dense copy of a sparse X that a dense-only family is given (bytes)."""
MAX_GRAPH_ITEMS = 3000
"""Items up to which the Persistence page draws the ε-graph itself, not its spanning tree."""
SCORES = ("ari", "nmi", "purity", "accuracy")
MAX_VIEW_ITEMS = 20_000
"""Items the per-item views (embeddings, label means, abundance maps) draw at most; the factors stay whole."""


# ----------------------------------------------------------------------------- data


def data_summary(X: Any) -> dict[str, Any]:
    """What the Data page states about X.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)

    Returns
    -------
    dict
        ``shape`` (m, n), ``zeros`` the share of zero entries, ``low`` and ``high`` the
        value range (a sparse X with implicit zeros has ``low`` 0), ``sparse``.
    """
    m, n = X.shape
    if sp.issparse(X):
        nnz, high = X.nnz, float(X.data.max()) if X.nnz else 0.0
        low = 0.0 if nnz < m * n else float(X.data.min())
    else:
        nnz, low, high = int(np.count_nonzero(X)), float(X.min()), float(X.max())
    return {"shape": (m, n), "zeros": 1 - nnz / (m * n), "low": low, "high": high, "sparse": sp.issparse(X)}


def dense(X: Any) -> np.ndarray:
    """X as a dense array (a sparse X is copied)."""
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def first_items(X: Any, count: int) -> np.ndarray:
    """The first ``count`` columns of X (at most n), dense, shape (m, min(count, n))."""
    return dense(X[:, : min(count, X.shape[1])])


def item_totals(X: Any) -> np.ndarray:
    """Sum of each column of X (a document's length, a cell's total), shape (n,)."""
    return np.asarray(X.sum(axis=0)).ravel()


def detected_per_item(X: Any) -> np.ndarray:
    """Non-zero entries in each column of X (genes detected per cell), shape (n,)."""
    return np.diff(X.tocsc().indptr) if sp.issparse(X) else np.count_nonzero(X, axis=0)


def top_rows(X: Any, names: Sequence[str], count: int = 20) -> tuple[np.ndarray, list[str]]:
    """The rows of X with the largest sums (the most frequent terms), heaviest first.

    Returns
    -------
    totals : ndarray, shape (k,)
    labels : list of str, length k
        With k = min(count, m).
    """
    totals = np.asarray(X.sum(axis=1)).ravel()
    top = np.argsort(-totals, kind="stable")[:count]
    return totals[top], [str(names[i]) for i in top]


def random_items(n: int, count: int, seed: int = 0) -> np.ndarray:
    """``min(count, n)`` distinct item indices drawn at random, reproducibly."""
    return np.random.default_rng(seed).choice(n, size=min(count, n), replace=False)


def dense_copy_bytes(family: str, X: Any) -> int | None:
    """Bytes of the dense copy of X that a family needs, or None when it needs none.

    A copy is needed when the registry entry is ``dense_only`` and X is sparse;
    compare with :data:`MAX_DENSIFY_BYTES` before making it.
    """
    if not (get(family).dense_only and sp.issparse(X)):
        return None
    return int(X.shape[0]) * int(X.shape[1]) * X.dtype.itemsize


# ----------------------------------------------------------------------------- results


def result_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per kept result: its name, layers, final loss, iterations and whether it stopped early."""
    rows = []
    for name, result in results.items():
        loss = np.asarray(result.loss)
        rows.append({"name": name, "layers": len(result.layers()),
                     "final loss": float(loss[-1]) if loss.size else None,
                     "iterations": loss.size - 1 if loss.size else None,
                     "stopped early": bool(result.stopped)})
    return rows


def results_of_model(results: Mapping[str, Any], model: str) -> list[str]:
    """Names of the kept results whose ``params["model"]`` is ``model``, oldest first."""
    return [name for name, result in results.items() if result.params.get("model") == model]


def is_per_scale(result: Any) -> bool:
    """True for a pNMF result with several scales (shown one scale at a time)."""
    return result.params.get("model") == "pnmf" and len(result.layers()) > 1


def coupling_matrices(result: Any) -> list[np.ndarray] | None:
    """H_2, ..., H_L of a deep result (factor-to-factor weights), or None for other results."""
    from nmfcore.deep import DeepNMFResult

    if isinstance(result, DeepNMFResult) and len(result.H) > 1:
        return [np.asarray(h) for h in result.H[1:]]
    return None


def layer_error_history(result: Any) -> np.ndarray | None:
    """Each layer's error at each iteration, shape (n_iter + 1, L), of a deep result; else None."""
    from nmfcore.deep import DeepNMFResult

    if isinstance(result, DeepNMFResult) and np.size(result.layer_errors):
        return np.asarray(result.layer_errors)
    return None


def relative_error_of(result: Any) -> float | None:
    """``‖X − WH‖ / ‖X‖`` of a one-layer NMF or GNMF result; None for other results."""
    return float(result.relative_error) if isinstance(result, NMFResult) else None


def loss_curves(results: Mapping[str, Any], names: Sequence[str]) -> dict[str, np.ndarray]:
    """The loss histories of the named results that have one."""
    curves = {name: np.asarray(results[name].loss) for name in names}
    return {name: loss for name, loss in curves.items() if loss.size}


def factor_labels(layers: Sequence[Any], feature_names: Sequence[str], count: int = 3) -> list[list[str]]:
    """A label per factor per layer: its ``count`` heaviest features joined by spaces."""
    from nmfcore.plot import top_features  # plotly's figures load with the first view, not the first page

    return [[" ".join(name for name, _ in top[:count]) for top in top_features(layer.W, feature_names, count)]
            for layer in layers]


def dominant_factor(H: np.ndarray) -> np.ndarray:
    """``"factor k"`` for each item, k the factor it uses most; shape (n,)."""
    return np.array([f"factor {k}" for k in np.asarray(H).argmax(axis=0)])


def embedding_points(H: np.ndarray) -> tuple[np.ndarray, tuple[str, str]]:
    """2-D points of the items of an embedding H, shape (n, 2), with their axis titles.

    A rank-2 H is drawn as it is; a larger one through its first two principal components.
    """
    H = np.asarray(H)
    if H.shape[0] == 2:
        return H.T, ("h1", "h2")
    from nmfcore.plot import embed_items

    return embed_items(H), ("PC 1", "PC 2")


# ----------------------------------------------------------------------------- subsampled items


@dataclass(frozen=True)
class ItemView:
    """The items a per-item view draws: all of them, or a subsample of a large or lazy H.

    Attributes
    ----------
    items : ndarray of int64, shape (k,), or None
        The drawn items' indices, increasing; None when every item is drawn.
    H : ndarray, shape (r, k)
        Their coefficients (in memory, also for a Dask H).
    n_items : int
        Items of the whole result.
    shape : tuple (rows, cols) or None
        For an abundance map: the grid of the drawn pixels.
    """

    items: np.ndarray | None
    H: np.ndarray
    n_items: int
    shape: tuple[int, int] | None = None

    @property
    def note(self) -> str | None:
        """E.g. ``"showing 20,000 of 2,000,000 items"`` (for a map, also its grid); None when every item is shown."""
        if self.items is None:
            return None
        if self.shape is not None:
            return (f"showing {self.items.size:,} of {self.n_items:,} pixels "
                    f"(a {self.shape[0]} x {self.shape[1]} grid of every few rows and columns)")
        return f"showing {self.items.size:,} of {self.n_items:,} items"

    def take(self, values: Any) -> Any:
        """Per-item ``values`` (labels, names; shape (n_items,)) of the drawn items, or None for None."""
        if values is None or self.items is None:
            return values
        return np.asarray(values)[self.items]


def view_items(H: Any, limit: int | None = None, seed: int = 0) -> ItemView:
    """The items to draw of H: all when there are at most ``limit`` (and H is in memory), else a
    random subsample of ``limit`` items, the same for the same seed, in increasing order.

    Parameters
    ----------
    H : ndarray or dask.array.Array, shape (r, n)
    limit : int, optional
        Default :data:`MAX_VIEW_ITEMS`.
    seed : int

    Returns
    -------
    ItemView
        Only the drawn columns of a Dask H are computed
        (:func:`nmfcore.data.lazy.subsample_items`).
    """
    n = int(H.shape[1])
    limit = MAX_VIEW_ITEMS if limit is None else limit
    if n <= limit and not is_lazy_array(H):
        return ItemView(None, np.asarray(H), n)
    from nmfcore.data.lazy import subsample_items

    items, columns = subsample_items(H, limit, seed)
    return ItemView(None if items.size == n else items, np.asarray(columns), n)


def view_map(H: Any, spatial_shape: tuple[int, int], limit: int | None = None) -> ItemView:
    """The pixels to draw of a scene's abundance maps: every s-th row and column, s the
    smallest stride that leaves at most ``limit`` pixels (1: all of them).

    Parameters
    ----------
    H : ndarray or dask.array.Array, shape (r, rows * cols)
        Pixel j is at ``divmod(j, cols)`` (C order).
    spatial_shape : (rows, cols)
    limit : int, optional
        Default :data:`MAX_VIEW_ITEMS`.

    Returns
    -------
    ItemView
        ``shape`` the grid of the drawn pixels; ``H[k].reshape(shape)`` is factor k's map.
    """
    rows, cols = (int(s) for s in spatial_shape)
    limit = MAX_VIEW_ITEMS if limit is None else limit
    stride = 1
    while -(-rows // stride) * -(-cols // stride) > limit:
        stride += 1
    if stride == 1 and not is_lazy_array(H):
        return ItemView(None, np.asarray(H), rows * cols, (rows, cols))
    grid = (np.arange(0, rows, stride)[:, None] * cols + np.arange(0, cols, stride)[None, :]).ravel()
    shape = (-(-rows // stride), -(-cols // stride))
    return ItemView(None if stride == 1 else grid, np.asarray(H[:, grid]), rows * cols, shape)


# ----------------------------------------------------------------------------- scales


def result_scales(result: Any) -> np.ndarray | None:
    """The scales of a pNMF result, shape (T,), or None (uploaded or other results)."""
    from nmfcore.topology import PNMFResult

    return np.asarray(result.scales, dtype=float) if isinstance(result, PNMFResult) else None


def scale_increments(result: Any) -> np.ndarray | None:
    """‖H_{t+1} − H_t‖_F between neighbouring scales of a pNMF result, or None."""
    from nmfcore.topology import PNMFResult

    if isinstance(result, PNMFResult) and np.size(result.increments):
        return np.asarray(result.increments)
    return None


def scale_graph_edges(X: Any, bars: Any, epsilon: float, max_items: int = MAX_GRAPH_ITEMS) -> tuple[np.ndarray, str]:
    """Edges to draw for the graph of the items at scale ε, and what they are.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
    bars : Barcodes
        Of X, from :func:`nmfcore.barcodes` (its minimum spanning tree is used for many items).
    epsilon : float
    max_items : int
        Up to this many items, the heaviest 3000 edges of the ε-graph itself; beyond,
        the spanning-tree edges shorter than ε, which show the same components
        without the ~n² edges of a coarse graph.

    Returns
    -------
    edges : ndarray of int, shape (k, 2)
    note : str
    """
    from nmfcore.plot import graph_edges
    from nmfcore.topology import scale_graphs

    if X.shape[1] <= max_items:
        return graph_edges(scale_graphs(X, [epsilon])[0]), "the edges of the ε-graph (the heaviest 3000)"
    edges = bars.mst_edges[bars.deaths < epsilon] if bars.mst_edges is not None else np.empty((0, 2), int)
    return edges, "the spanning-tree edges shorter than ε (the same components, far fewer edges)"


def scale_graph_title(epsilon: float, n_edges: int) -> str:
    """Title of the graph at scale ε: what it shows, so that a graph without edges says so.

    E.g. ``"Graph at ε = 0.25: 120 edges"`` or
    ``"Graph at ε = 0: no edges yet (every item is its own component)"``.
    """
    if n_edges == 0:
        return f"Graph at ε = {epsilon:.4g}: no edges yet (every item is its own component)"
    return f"Graph at ε = {epsilon:.4g}: {n_edges:,} edge{'s' if n_edges != 1 else ''}"


def scale_cluster_scores(result: Any, labels: Sequence) -> dict[str, list[float]]:
    """k-means on each layer's H against the labels: ARI, NMI, purity and accuracy per scale."""
    from nmfcore.judge import cluster_scores

    per_scale = [cluster_scores(layer.H, labels) for layer in result.layers()]
    return {key: [scores[key] for scores in per_scale] for key in SCORES}


# ----------------------------------------------------------------------------- ranks and comparisons


def rank_range(default_rank: int, limit: int, spread: int = 3) -> tuple[int, int]:
    """Ranks a scan tries first: ``max(2, r − spread) … r + spread`` around the Model page's rank r.

    Parameters
    ----------
    default_rank : int
        The rank the Model page proposes for the data (``default_params(...)["rank"]``).
    limit : int
        Largest rank allowed (at least 1).
    spread : int

    Returns
    -------
    (low, high)
        With ``1 <= low <= high <= limit``.
    """
    limit = max(1, int(limit))
    rank = min(max(1, int(default_rank)), limit)
    low = min(max(2, rank - spread), limit)
    return low, max(low, min(rank + spread, limit))


def alignment_table(alignment: Any) -> dict[str, np.ndarray]:
    """Columns of the table of matched factors of two results (from :func:`nmfcore.compare_results`).

    Factors are numbered from 1; angles in degrees to 0.01, scales and H-row correlations to 0.001.
    """
    return {
        "factor of A": alignment.pairs[:, 0] + 1,
        "matched factor of B": alignment.pairs[:, 1] + 1,
        "angle (°)": np.round(alignment.angles_deg, 2),
        "scale B / A": np.round(alignment.scales, 3),
        "correlation of H rows": np.round(alignment.H_correlation, 3),
    }


def score_rows(scores: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per layer of :func:`nmfcore.score_result`'s scores; per-factor lists shown as text to 0.1."""
    return [
        {"layer": layer, **{key: (", ".join(f"{v:.1f}" for v in value) if np.ndim(value) else value)
                            for key, value in entry.items()}}
        for layer, entry in scores.items()
    ]
