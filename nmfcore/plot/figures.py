"""Plotly figure builders for NMF data and results, usable in the app and in notebooks.

Every builder takes arrays in the project's orientation (X is m x n with items as
columns, W is m x r, H is r x n) and returns a :class:`plotly.graph_objects.Figure`.
A few small helpers compute what a figure shows (top features, a 2-D embedding of
the items, the edges of a graph, mean factor usage per label); they are public
because notebooks need them too.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import scipy.sparse as sp

# factors beyond which a topic table lists one factor per row
_WIDE_TABLE = 8
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)


def _as_2d(A: np.ndarray, name: str) -> np.ndarray:
    A = A.toarray() if sp.issparse(A) else np.asarray(A, dtype=float)
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got {A.ndim} dimension(s)")
    return A


def _check_shape2(shape: Sequence[int], rows: int, name: str) -> tuple[int, int]:
    if shape is None or len(shape) != 2:
        raise ValueError(f"{name} must be (height, width), got {shape!r}")
    h, w = int(shape[0]), int(shape[1])
    if h * w != rows:
        raise ValueError(
            f"{name}={tuple(shape)} holds {h * w} pixels, but the arrays have {rows} rows; "
            "pass the shape the data was loaded with"
        )
    return h, w


def _layout(fig: go.Figure, title: str | None, height: int | None = None) -> go.Figure:
    fig.update_layout(title=title, margin=dict(l=40, r=20, t=50 if title else 20, b=40))
    if height is not None:
        fig.update_layout(height=height)
    return fig


def mosaic(
    columns: np.ndarray,
    image_shape: Sequence[int],
    *,
    n_cols: int | None = None,
    order: str = "C",
    pad: int = 1,
) -> np.ndarray:
    """Tile the columns of an array as images into one 2-D mosaic.

    Parameters
    ----------
    columns : ndarray, shape (h * w, k)
        One image per column.
    image_shape : (h, w)
    n_cols : int, optional
        Images per mosaic row; default ``ceil(sqrt(k))``.
    order : {"C", "F"}
        Memory order in which a column was flattened from an image.
    pad : int
        Pixels of NaN (drawn blank) between images.

    Returns
    -------
    ndarray, shape (n_rows * (h + pad) - pad, n_cols * (w + pad) - pad)
        Each image scaled to [0, 1] on its own; NaN between images.
    """
    columns = _as_2d(columns, "columns")
    h, w = _check_shape2(image_shape, columns.shape[0], "image_shape")
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    k = columns.shape[1]
    n_cols = max(1, min(k, n_cols or math.ceil(math.sqrt(k))))
    n_rows = math.ceil(k / n_cols)
    tile = np.full((n_rows * (h + pad) - pad, n_cols * (w + pad) - pad), np.nan)
    for j in range(k):
        image = columns[:, j].reshape((h, w), order=order)
        low, high = float(np.min(image)), float(np.max(image))
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        r, c = divmod(j, n_cols)
        tile[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = image
    return tile


def image_grid(
    columns: np.ndarray,
    image_shape: Sequence[int],
    *,
    n_cols: int | None = None,
    order: str = "C",
    colorscale: str = "gray",
    reverse: bool = False,
    title: str | None = None,
    max_images: int = 100,
) -> go.Figure:
    """Grid of images, one per column: basis images, data samples or abundance maps.

    Parameters
    ----------
    columns : ndarray, shape (h * w, k)
        One image per column (e.g. W for basis images, H.T for abundance maps).
    image_shape : (h, w)
    n_cols : int, optional
        Images per row.
    order : {"C", "F"}
        How a column was flattened from its image.
    colorscale : str
        Plotly colour scale, e.g. ``"gray"`` or ``"Viridis"``.
    reverse : bool
        Reverse the colour scale.
    title : str, optional
    max_images : int
        Only the first ``max_images`` columns are drawn.

    Returns
    -------
    plotly.graph_objects.Figure
        One heat map of the mosaic; hovering names the image index.
    """
    columns = _as_2d(columns, "columns")[:, :max_images]
    h, w = _check_shape2(image_shape, columns.shape[0], "image_shape")
    k = columns.shape[1]
    n_cols = max(1, min(k, n_cols or math.ceil(math.sqrt(k))))
    tile = mosaic(columns, (h, w), n_cols=n_cols, order=order)
    rows_idx, cols_idx = np.indices(tile.shape)
    index = (rows_idx // (h + 1)) * n_cols + cols_idx // (w + 1)
    fig = go.Figure(
        go.Heatmap(
            z=tile,
            customdata=index,
            colorscale=colorscale,
            reversescale=reverse,
            showscale=False,
            hovertemplate="image %{customdata}<br>value %{z:.2f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False)
    n_rows = math.ceil(k / n_cols)
    height = int(min(900, max(250, 60 + n_rows * 700 / max(n_cols, 1) * h / max(w, 1))))
    return _layout(fig, title, height)


def abundance_maps(
    H: np.ndarray,
    spatial_shape: Sequence[int],
    *,
    order: str = "C",
    title: str | None = None,
) -> go.Figure:
    """Abundance maps of a hyperspectral unmixing, one per row of H.

    Parameters
    ----------
    H : ndarray, shape (r, rows * cols)
        Coefficients of every pixel.
    spatial_shape : (rows, cols)
        Scene shape.
    order : {"C", "F"}
        How pixels were flattened from the scene.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    H = _as_2d(H, "H")
    return image_grid(H.T, spatial_shape, n_cols=min(H.shape[0], 6), order=order,
                      colorscale="Viridis", title=title)


def spectra(
    W: np.ndarray,
    *,
    wavelengths: Sequence[float] | None = None,
    names: Sequence[str] | None = None,
    title: str | None = None,
    ylabel: str = "reflectance",
) -> go.Figure:
    """Line plot of columns of W (endmember spectra) or of a few pixel spectra.

    Parameters
    ----------
    W : ndarray, shape (bands, k)
    wavelengths : sequence of float, optional
        x values; band index when absent.
    names : sequence of str, optional
        Legend entries, one per column.
    title, ylabel : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    W = _as_2d(W, "W")
    x = np.arange(W.shape[0]) if wavelengths is None else np.asarray(wavelengths)
    if len(x) != W.shape[0]:
        raise ValueError(f"wavelengths has {len(x)} values but W has {W.shape[0]} rows (bands)")
    fig = go.Figure()
    for j in range(W.shape[1]):
        name = names[j] if names is not None else f"factor {j}"
        fig.add_trace(go.Scatter(x=x, y=W[:, j], mode="lines", name=name,
                                 line=dict(color=_PALETTE[j % len(_PALETTE)])))
    fig.update_xaxes(title="wavelength" if wavelengths is not None else "band")
    fig.update_yaxes(title=ylabel)
    return _layout(fig, title)


def rgb_composite(
    X: np.ndarray,
    spatial_shape: Sequence[int],
    *,
    bands: Sequence[int] | None = None,
    order: str = "C",
    title: str | None = None,
) -> go.Figure:
    """False-colour RGB image of a hyperspectral scene from three bands.

    Parameters
    ----------
    X : ndarray, shape (bands, rows * cols)
    spatial_shape : (rows, cols)
    bands : three ints, optional
        Bands drawn as red, green and blue; default three bands evenly spread.
    order : {"C", "F"}
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Each channel stretched between its 2nd and 98th percentiles.
    """
    X = _as_2d(X, "X")
    rows, cols = _check_shape2(spatial_shape, X.shape[1], "spatial_shape")
    n_bands = X.shape[0]
    if bands is None:
        bands = [int(round(q * (n_bands - 1))) for q in (0.8, 0.5, 0.2)]
    if len(bands) != 3 or not all(0 <= int(b) < n_bands for b in bands):
        raise ValueError(f"bands must be three band indices in [0, {n_bands - 1}], got {bands!r}")
    channels = []
    for b in bands:
        image = X[int(b)].reshape((rows, cols), order=order)
        low, high = np.percentile(image, [2, 98])
        channels.append(np.clip((image - low) / (high - low if high > low else 1.0), 0, 1))
    rgb = (np.stack(channels, axis=-1) * 255).astype(np.uint8)
    fig = go.Figure(go.Image(z=rgb))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title or f"bands {list(map(int, bands))} as RGB")


def top_features(
    W: np.ndarray, names: Sequence[str] | None = None, n_top: int = 10
) -> list[list[tuple[str, float]]]:
    """Largest entries of each column of W, with their feature names.

    Parameters
    ----------
    W : ndarray, shape (m, r)
    names : sequence of str, optional
        Feature names (length m); row indices when absent.
    n_top : int

    Returns
    -------
    list of r lists of (name, weight), heaviest first.
    """
    W = _as_2d(W, "W")
    if names is not None and len(names) != W.shape[0]:
        raise ValueError(f"names has {len(names)} entries but W has {W.shape[0]} rows")
    n_top = max(1, min(int(n_top), W.shape[0]))
    out = []
    for j in range(W.shape[1]):
        idx = np.argsort(-W[:, j], kind="stable")[:n_top]
        out.append([(str(names[i]) if names is not None else str(i), float(W[i, j])) for i in idx])
    return out


def topic_table(
    W: np.ndarray,
    names: Sequence[str] | None = None,
    *,
    n_top: int = 10,
    factor_names: Sequence[str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Table of the top features (words, genes) of each factor, one column per factor.

    Parameters
    ----------
    W : ndarray, shape (m, r)
    names : sequence of str, optional
        Feature names.
    n_top : int
    factor_names : sequence of str, optional
        Column headers.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    tops = top_features(W, names, n_top)
    headers = list(factor_names) if factor_names is not None else [f"factor {j}" for j in range(len(tops))]
    cells = [[name for name, _ in top] for top in tops]
    if len(tops) > _WIDE_TABLE:  # many factors: one row per factor reads better than narrow columns
        fig = go.Figure(go.Table(columnwidth=[1, 6], header=dict(values=["factor", f"top {n_top}"]),
                                 cells=dict(values=[headers, [", ".join(c) for c in cells]], align="left")))
        return _layout(fig, title, height=min(900, 80 + 26 * len(tops)))
    fig = go.Figure(go.Table(header=dict(values=headers), cells=dict(values=cells)))
    return _layout(fig, title, height=min(700, 80 + 24 * len(cells[0]) if cells else 200))


def bar_chart(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    title: str | None = None,
    xlabel: str | None = None,
) -> go.Figure:
    """Horizontal bar chart, largest value on top (e.g. the most frequent terms).

    Parameters
    ----------
    values : sequence of float, length k
    labels : sequence of str, length k
    title, xlabel : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    values = np.asarray(values, dtype=float)
    if len(labels) != len(values):
        raise ValueError(f"labels has {len(labels)} entries but values has {len(values)}")
    order = np.argsort(values, kind="stable")
    fig = go.Figure(go.Bar(x=values[order], y=[str(labels[i]) for i in order], orientation="h"))
    fig.update_xaxes(title=xlabel)
    return _layout(fig, title, height=max(250, 22 * len(values) + 80))


def histogram(values: Sequence[float], *, title: str | None = None, xlabel: str | None = None,
              nbins: int = 40) -> go.Figure:
    """Histogram of one quantity (e.g. counts per cell for QC).

    Parameters
    ----------
    values : sequence of float
    title, xlabel : str, optional
    nbins : int

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure(go.Histogram(x=np.asarray(values, dtype=float), nbinsx=nbins))
    fig.update_xaxes(title=xlabel)
    fig.update_yaxes(title="count")
    return _layout(fig, title, height=300)


def convergence(
    curves: Mapping[str, np.ndarray] | np.ndarray,
    *,
    times: Mapping[str, np.ndarray] | np.ndarray | None = None,
    log_y: bool = True,
    title: str | None = None,
    ylabel: str = "loss",
) -> go.Figure:
    """Loss against iteration (or against time when ``times`` are given).

    Parameters
    ----------
    curves : ndarray, shape (k,), or mapping name -> ndarray
        Loss histories; entry 0 is the initialisation.
    times : same structure as ``curves``, optional
        Seconds of each entry; then time is on the x axis.
    log_y : bool
        Log scale for the loss (skipped when a value is not positive).
    title, ylabel : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if not isinstance(curves, Mapping):
        curves = {"loss": curves}
        if times is not None and not isinstance(times, Mapping):
            times = {"loss": times}
    fig = go.Figure()
    positive = True
    for k, (name, loss) in enumerate(curves.items()):
        loss = np.asarray(loss, dtype=float).ravel()
        positive &= bool(np.all(loss > 0))
        x = np.arange(loss.size) if times is None else np.asarray(times[name], dtype=float).ravel()
        if x.size != loss.size:
            raise ValueError(f"times[{name!r}] has {x.size} entries but the curve has {loss.size}")
        fig.add_trace(go.Scatter(x=x, y=loss, mode="lines", name=str(name),
                                 line=dict(color=_PALETTE[k % len(_PALETTE)])))
    fig.update_xaxes(title="iteration" if times is None else "seconds")
    fig.update_yaxes(title=ylabel, type="log" if log_y and positive else "linear")
    return _layout(fig, title, height=350)


def layer_errors(
    errors: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    title: str | None = "Error of each layer",
) -> go.Figure:
    """Per-layer error against iteration, one line per layer of a deep model.

    Parameters
    ----------
    errors : ndarray, shape (k, L)
        Error of each of L layers at each of k iterations.
    names : sequence of str, optional
        Layer names.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    errors = np.asarray(errors, dtype=float)
    if errors.ndim == 1:
        errors = errors[:, None]
    names = names or [f"layer {l + 1}" for l in range(errors.shape[1])]
    return convergence({names[l]: errors[:, l] for l in range(errors.shape[1])}, title=title,
                       ylabel="error")


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
                                 line=dict(width=3 if len(pairs) < 100 else 1,
                                           color=_PALETTE[k % len(_PALETTE)])))
    for eps in ([] if scales is None else scales):
        fig.add_vline(x=float(eps), line=dict(color="lightgrey", width=1))
    for eps in ([] if selected is None else selected):
        fig.add_vline(x=float(eps), line=dict(color="crimson", width=2))
    if current is not None:
        fig.add_vline(x=float(current), line=dict(color="black", width=2, dash="dash"))
    fig.update_xaxes(title="scale ε", range=[0, cap])
    fig.update_yaxes(visible=False)
    return _layout(fig, title, height=max(300, min(700, 6 * row + 100)))


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
            marker=dict(color=_PALETTE[k % len(_PALETTE)], symbol=np.where(infinite, "triangle-up", "circle")),
        ))
    fig.add_trace(go.Scatter(x=[0, cap], y=[0, cap], mode="lines", name="diagonal",
                             line=dict(color="grey", dash="dot")))
    for eps in ([] if scales is None else scales):
        fig.add_hline(y=float(eps), line=dict(color="lightgrey", width=1))
    for eps in ([] if selected is None else selected):
        fig.add_hline(y=float(eps), line=dict(color="crimson", width=2))
    fig.update_xaxes(title="birth", range=[-0.02 * cap, cap])
    fig.update_yaxes(title="death", range=[-0.02 * cap, cap * 1.02])
    return _layout(fig, title, height=400)


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
        edges = np.asarray(edges, dtype=int)
        xs = np.column_stack([coords[edges[:, 0], 0], coords[edges[:, 1], 0], np.full(len(edges), np.nan)]).ravel()
        ys = np.column_stack([coords[edges[:, 0], 1], coords[edges[:, 1], 1], np.full(len(edges), np.nan)]).ravel()
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"{len(edges)} edges",
                                 line=dict(color="rgba(120,120,120,0.35)", width=1), hoverinfo="skip"))
    text = None if hover is None else [str(h) for h in hover]
    values = None if color is None else np.asarray(color)
    if values is not None and values.dtype.kind in "fc" and np.unique(values).size > 12:
        fig.add_trace(go.Scatter(
            x=coords[:, 0], y=coords[:, 1], mode="markers", text=text, name="items",
            marker=dict(color=values, colorscale="Viridis", showscale=True, size=6,
                        colorbar=dict(title=color_title)),
        ))
    elif values is not None:
        for k, cls in enumerate(np.unique(values.astype(str))):
            sel = values.astype(str) == cls
            fig.add_trace(go.Scatter(
                x=coords[sel, 0], y=coords[sel, 1], mode="markers", name=cls,
                text=None if text is None else [t for t, s in zip(text, sel) if s],
                marker=dict(size=6, color=_PALETTE[k % len(_PALETTE)]),
            ))
    else:
        fig.add_trace(go.Scatter(x=coords[:, 0], y=coords[:, 1], mode="markers", text=text,
                                 name="items", marker=dict(size=6)))
    fig.update_xaxes(title=axis_titles[0])
    fig.update_yaxes(title=axis_titles[1])
    return _layout(fig, title, height=450)


def mean_by_label(H: np.ndarray, labels: Sequence) -> tuple[np.ndarray, list[str]]:
    """Mean usage of each factor within each label class.

    Parameters
    ----------
    H : ndarray, shape (r, n)
    labels : sequence, length n

    Returns
    -------
    means : ndarray, shape (r, k)
        Row-normalised (each factor's means sum to one) so factors compare.
    classes : list of str, length k
    """
    H = _as_2d(H, "H")
    labels = np.asarray(labels).astype(str)
    if labels.size != H.shape[1]:
        raise ValueError(f"labels has {labels.size} entries but H has {H.shape[1]} columns (items)")
    classes = sorted(np.unique(labels))
    means = np.column_stack([H[:, labels == c].mean(axis=1) for c in classes])
    total = means.sum(axis=1, keepdims=True)
    return np.divide(means, total, out=np.zeros_like(means), where=total > 0), classes


def heatmap(
    M: np.ndarray,
    *,
    x: Sequence[str] | None = None,
    y: Sequence[str] | None = None,
    title: str | None = None,
    colorscale: str = "Blues",
) -> go.Figure:
    """Heat map of a matrix with labelled rows and columns (e.g. factors by labels).

    Parameters
    ----------
    M : ndarray, shape (p, q)
    x : sequence of str, length q, optional
    y : sequence of str, length p, optional
    title : str, optional
    colorscale : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    M = _as_2d(M, "M")
    fig = go.Figure(go.Heatmap(z=M, x=list(map(str, x)) if x is not None else None,
                               y=list(map(str, y)) if y is not None else None, colorscale=colorscale))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=max(300, 28 * M.shape[0] + 120))


def scale_curves(
    series: Mapping[str, Sequence[float]],
    *,
    scales: Sequence[float] | None = None,
    title: str | None = None,
    ylabel: str | None = None,
    current: float | None = None,
) -> go.Figure:
    """Quantities across the scales of a persistent model (increments, ARI, NMI...).

    Parameters
    ----------
    series : mapping name -> sequence of float
        One value per scale (or per pair of consecutive scales).
    scales : sequence of float, optional
        x values; scale index when absent.
    title, ylabel : str, optional
    current : float, optional
        x position of the slider, drawn dashed.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    for k, (name, values) in enumerate(series.items()):
        values = np.asarray(values, dtype=float)
        x = np.arange(1, values.size + 1) if scales is None else np.asarray(scales, dtype=float)[: values.size]
        fig.add_trace(go.Scatter(x=x, y=values, mode="lines+markers", name=str(name),
                                 line=dict(color=_PALETTE[k % len(_PALETTE)])))
    if current is not None:
        fig.add_vline(x=float(current), line=dict(color="black", dash="dash"))
    fig.update_xaxes(title="scale index" if scales is None else "scale ε")
    fig.update_yaxes(title=ylabel)
    return _layout(fig, title, height=350)


def merge_tree(
    H_layers: Sequence[np.ndarray],
    *,
    layer_names: Sequence[str] | None = None,
    factor_labels: Sequence[Sequence[str]] | None = None,
    min_weight: float = 0.1,
    title: str | None = "Merge tree between layers",
) -> go.Figure:
    """Sankey diagram of how the factors of each layer merge into the next layer's.

    Parameters
    ----------
    H_layers : sequence of ndarray
        The deep model's coupling matrices H_2, ..., H_L; H_l has shape
        (r_l, r_{l-1}) and its entry (k, j) says how much layer-(l-1) factor j
        goes into layer-l factor k.
    layer_names : sequence of str, optional
        Names of layers 1..L.
    factor_labels : sequence of sequences of str, optional
        A label per factor per layer (e.g. a topic's top words).
    min_weight : float
        Links whose share of factor j's column (H_l[:, j] normalised to sum 1) is
        below this are dropped.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if not H_layers:
        raise ValueError("H_layers is empty; a merge tree needs a model with at least two layers")
    mats = [_as_2d(Hl, "H_layers") for Hl in H_layers]
    sizes = [mats[0].shape[1]] + [Hl.shape[0] for Hl in mats]
    for l, Hl in enumerate(mats):
        if Hl.shape[1] != sizes[l]:
            raise ValueError(
                f"H_layers[{l}] has {Hl.shape[1]} columns but layer {l + 1} has {sizes[l]} factors"
            )
    names = list(layer_names) if layer_names is not None else [f"layer {l + 1}" for l in range(len(sizes))]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    node_labels, node_x = [], []
    for l, size in enumerate(sizes):
        for k in range(size):
            extra = f": {factor_labels[l][k]}" if factor_labels is not None else ""
            node_labels.append(f"{names[l]} · {k}{extra}")
            node_x.append(0.01 + 0.98 * l / max(len(sizes) - 1, 1))
    source, target, value = [], [], []
    for l, Hl in enumerate(mats):
        share = Hl / np.maximum(Hl.sum(axis=0, keepdims=True), np.finfo(float).tiny)
        for k, j in zip(*np.nonzero(share >= min_weight)):
            source.append(int(offsets[l] + j))
            target.append(int(offsets[l + 1] + k))
            value.append(float(share[k, j]))
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=node_labels, x=node_x, pad=8, thickness=14),
        link=dict(source=source, target=target, value=value),
    ))
    return _layout(fig, title, height=max(300, 22 * max(sizes) + 100))
