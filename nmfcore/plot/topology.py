"""Figures of scales and neighbourhoods: barcodes, persistence diagrams, item embeddings and graphs.

:func:`embed_items` and :func:`graph_edges` compute what :func:`embedding` draws; they
are public because notebooks need them too.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import scipy.sparse as sp

from nmfcore.plot._style import colour, layout, plain, plain_all, segments


def _finite_bars(bars: np.ndarray, cap: float) -> tuple[np.ndarray, np.ndarray]:
    bars = np.asarray(bars, dtype=float).reshape(-1, 2)
    infinite = ~np.isfinite(bars[:, 1])
    deaths = np.where(infinite, cap, bars[:, 1])
    return np.column_stack([bars[:, 0], deaths]), infinite


def _bar_cap(bars: Mapping[int, np.ndarray], scales: Sequence[float] | None) -> float:
    finite = [np.asarray(b, dtype=float).reshape(-1, 2) for b in bars.values()]
    values = np.concatenate([b[np.isfinite(b)] for b in finite] + [np.asarray([] if scales is None else scales, float)])
    top = float(values.max()) if values.size else 1.0
    return top * 1.1 if top > 0 else 1.0


def barcode(
    bars: Mapping[int, np.ndarray],
    *,
    scales: Sequence[float] | None = None,
    selected: Sequence[float] | None = None,
    current: float | None = None,
    title: str | None = "Barcode",
) -> go.Figure:
    """Persistence barcode, one horizontal bar per feature, with scales as vertical lines.

    Parameters
    ----------
    bars : mapping dimension -> ndarray, shape (k, 2)
        (birth, death) pairs per homology dimension; infinite deaths are drawn to
        the right edge.
    scales : sequence of float, optional
        Canonical scales, drawn as thin grey lines.
    selected : sequence of float, optional
        The reduced set in use, drawn as thicker red lines.
    current : float, optional
        The scale of the slider, drawn dashed.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One trace per dimension, each bar a segment of it (separated by None).
    """
    cap = _bar_cap(bars, scales)
    fig = go.Figure()
    row = 0
    for k, (dim, b) in enumerate(sorted(bars.items())):
        pairs, _ = _finite_bars(b, cap)
        pairs = pairs[np.argsort(pairs[:, 1] - pairs[:, 0])[::-1]]
        xs, ys = [], []
        for birth, death in pairs:
            xs += [birth, death, None]
            ys += [row, row, None]
            row += 1
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"H{dim}",
                                 line=dict(width=3 if len(pairs) < 100 else 1, color=colour(k))))
    for eps in ([] if scales is None else scales):
        fig.add_vline(x=float(eps), line=dict(color="lightgrey", width=1))
    for eps in ([] if selected is None else selected):
        fig.add_vline(x=float(eps), line=dict(color="crimson", width=2))
    if current is not None:
        fig.add_vline(x=float(current), line=dict(color="black", width=2, dash="dash"))
    fig.update_xaxes(title="scale ε", range=[0, cap])
    fig.update_yaxes(visible=False)
    return layout(fig, title, height=max(300, min(700, 6 * row + 100)))


def persistence_diagram(
    bars: Mapping[int, np.ndarray],
    *,
    scales: Sequence[float] | None = None,
    selected: Sequence[float] | None = None,
    title: str | None = "Persistence diagram",
) -> go.Figure:
    """Persistence diagram: one point (birth, death) per feature, above the diagonal.

    Parameters
    ----------
    bars : mapping dimension -> ndarray, shape (k, 2)
    scales, selected : sequence of float, optional
        Canonical and selected scales, drawn as horizontal lines (a death at a
        scale means the graph changes there).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    cap = _bar_cap(bars, scales)
    fig = go.Figure()
    for k, (dim, b) in enumerate(sorted(bars.items())):
        pairs, infinite = _finite_bars(b, cap)
        fig.add_trace(go.Scatter(
            x=pairs[:, 0], y=pairs[:, 1], mode="markers", name=f"H{dim}",
            marker=dict(color=colour(k), symbol=np.where(infinite, "triangle-up", "circle")),
        ))
    fig.add_trace(go.Scatter(x=[0, cap], y=[0, cap], mode="lines", name="diagonal",
                             line=dict(color="grey", dash="dot")))
    for eps in ([] if scales is None else scales):
        fig.add_hline(y=float(eps), line=dict(color="lightgrey", width=1))
    for eps in ([] if selected is None else selected):
        fig.add_hline(y=float(eps), line=dict(color="crimson", width=2))
    fig.update_xaxes(title="birth", range=[-0.02 * cap, cap])
    fig.update_yaxes(title="death", range=[-0.02 * cap, cap * 1.02])
    return layout(fig, title, height=400)


def embed_items(A: np.ndarray, random_state: int = 0) -> np.ndarray:
    """Two-dimensional embedding of the items (columns) of A by principal components.

    Parameters
    ----------
    A : ndarray or sparse matrix, shape (p, n)
        Items as columns: X itself, or coefficients H (r x n).
    random_state : int
        Seed of the randomised solver for sparse input.

    Returns
    -------
    ndarray, shape (n, 2)
        Coordinates; a 1-row A gives a zero second coordinate. Sparse A is not
        densified (truncated SVD without centring).
    """
    from sklearn.decomposition import PCA, TruncatedSVD

    if A.ndim != 2:
        raise ValueError(f"A must be a 2-D array, got {A.ndim} dimension(s)")
    items = A.T.tocsr() if sp.issparse(A) else np.asarray(A, dtype=float).T
    n, p = items.shape
    if p == 1 or n < 3:
        coords = np.zeros((n, 2))
        coords[:, 0] = (items.toarray() if sp.issparse(items) else items)[:, 0]
        return coords
    if sp.issparse(items):
        return TruncatedSVD(n_components=2, random_state=random_state).fit_transform(items)
    return PCA(n_components=2, random_state=random_state).fit_transform(items)


def graph_edges(graph: np.ndarray, max_edges: int = 3000) -> np.ndarray:
    """Edges of a graph given by its Laplacian or adjacency, strongest first.

    Parameters
    ----------
    graph : ndarray or sparse matrix, shape (n, n)
        Symmetric; only off-diagonal entries count, by absolute value.
    max_edges : int
        Keep at most this many edges (the heaviest).

    Returns
    -------
    ndarray, shape (k, 2) of int
        Pairs (i, j) with i < j.
    """
    coo = sp.coo_matrix(graph)
    keep = (coo.row < coo.col) & (coo.data != 0)
    rows, cols, weights = coo.row[keep], coo.col[keep], np.abs(coo.data[keep])
    order = np.argsort(-weights, kind="stable")[: int(max_edges)]
    return np.column_stack([rows[order], cols[order]]).astype(int)


def embedding(
    coords: np.ndarray,
    *,
    color: Sequence | None = None,
    edges: np.ndarray | None = None,
    hover: Sequence[str] | None = None,
    title: str | None = None,
    color_title: str | None = None,
    axis_titles: tuple[str, str] = ("1", "2"),
) -> go.Figure:
    """Scatter plot of items in 2-D, coloured by labels or by a value, with optional edges.

    Parameters
    ----------
    coords : ndarray, shape (n, 2)
    color : sequence, length n, optional
        Categorical labels (one trace per class) or numbers (a colour scale).
    edges : ndarray, shape (k, 2), optional
        Index pairs drawn as thin lines below the points (the graph at a scale).
    hover : sequence of str, optional
        Item names.
    title, color_title : str, optional
    axis_titles : (str, str)

    Returns
    -------
    plotly.graph_objects.Figure
    """
    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"coords must have shape (n, 2), got {coords.shape}")
    n = coords.shape[0]
    if color is not None and len(color) != n:
        raise ValueError(f"color has {len(color)} entries but there are {n} items")
    fig = go.Figure()
    if edges is not None and len(edges):
        xs, ys = segments(coords, edges)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"{len(edges)} edges",
                                 line=dict(color="rgba(120,120,120,0.35)", width=1), hoverinfo="skip"))
    text = None if hover is None else plain_all(hover)
    values = None if color is None else np.asarray(color)
    if values is not None and values.dtype.kind in "fc" and np.unique(values).size > 12:
        fig.add_trace(go.Scatter(
            x=coords[:, 0], y=coords[:, 1], mode="markers", text=text, name="items",
            marker=dict(color=values, colorscale="Viridis", showscale=True, size=6,
                        colorbar=dict(title=None if color_title is None else plain(color_title))),
        ))
    elif values is not None:
        for k, cls in enumerate(np.unique(values.astype(str))):
            sel = values.astype(str) == cls
            fig.add_trace(go.Scatter(
                x=coords[sel, 0], y=coords[sel, 1], mode="markers", name=plain(cls),
                text=None if text is None else [t for t, s in zip(text, sel) if s],
                marker=dict(size=6, color=colour(k)),
            ))
    else:
        fig.add_trace(go.Scatter(x=coords[:, 0], y=coords[:, 1], mode="markers", text=text,
                                 name="items", marker=dict(size=6)))
    fig.update_xaxes(title=axis_titles[0])
    fig.update_yaxes(title=axis_titles[1])
    return layout(fig, title, height=450)
