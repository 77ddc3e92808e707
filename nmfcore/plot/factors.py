"""Figures of data and factors as pictures: image mosaics, spectra, scenes, heat maps.

Arrays follow the project's orientation: X is m x n with items as columns, W is
m x r, H is r x n.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nmfcore.plot._style import as_2d, check_shape2, colour, integer_ticks, layout, plain, plain_all


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
    columns = as_2d(columns, "columns")
    h, w = check_shape2(image_shape, columns.shape[0], "image_shape")
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
    columns = as_2d(columns, "columns")[:, :max_images]
    h, w = check_shape2(image_shape, columns.shape[0], "image_shape")
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
    return layout(fig, title, height)


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
    H = as_2d(H, "H")
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
    W = as_2d(W, "W")
    x = np.arange(W.shape[0]) if wavelengths is None else np.asarray(wavelengths)
    if len(x) != W.shape[0]:
        raise ValueError(f"wavelengths has {len(x)} values but W has {W.shape[0]} rows (bands)")
    fig = go.Figure()
    for j in range(W.shape[1]):
        name = plain(names[j]) if names is not None else f"factor {j}"
        fig.add_trace(go.Scatter(x=x, y=W[:, j], mode="lines", name=name, line=dict(color=colour(j))))
    fig.update_xaxes(title="wavelength" if wavelengths is not None else "band")
    fig.update_yaxes(title=ylabel)
    return layout(fig, title)


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
    X = as_2d(X, "X")
    rows, cols = check_shape2(spatial_shape, X.shape[1], "spatial_shape")
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
    return layout(fig, title or f"bands {list(map(int, bands))} as RGB")


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
        Column labels (plain text); column indices at whole positions when absent.
    y : sequence of str, length p, optional
        Row labels (plain text).
    title : str, optional
    colorscale : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    M = as_2d(M, "M")
    fig = go.Figure(go.Heatmap(z=M, x=plain_all(x) if x is not None else None,
                               y=plain_all(y) if y is not None else None, colorscale=colorscale))
    fig.update_yaxes(autorange="reversed")
    if x is None:  # index axes: ticks at whole rows and columns, not at -0.5, 0.5...
        fig.update_xaxes(**integer_ticks(M.shape[1]))
    if y is None:
        fig.update_yaxes(**integer_ticks(M.shape[0]))
    return layout(fig, title, height=max(300, 28 * M.shape[0] + 120))


def factorization_panels(X: np.ndarray, W: np.ndarray, H: np.ndarray, *, title: str | None = None) -> go.Figure:
    """X, W, H and W H side by side as heat maps, X and W H on one colour range.

    Parameters
    ----------
    X : ndarray, shape (m, n)
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Four heat maps, in the order X, W, H, W H; the first and last share
        ``zmax = max(X)`` so that a good fit looks like the data. W's columns and
        H's rows are ticked "1".."r" under the axis title "factor".
    """
    X, W, H = as_2d(X, "X"), as_2d(W, "W"), as_2d(H, "H")
    if W.shape[0] != X.shape[0] or H.shape[1] != X.shape[1] or W.shape[1] != H.shape[0]:
        raise ValueError(f"W {W.shape} and H {H.shape} do not factor X {X.shape}; "
                         "W must be (m, r) and H (r, n)")
    fig = make_subplots(rows=1, cols=4, subplot_titles=("X", "W", "H", "W H"),
                        column_widths=[0.35, 0.1, 0.2, 0.35])
    zmax = float(X.max())
    for col, (A, name, top) in enumerate(((X, "X", zmax), (W, "W", None), (H, "H", None), (W @ H, "WH", zmax)),
                                         start=1):
        fig.add_trace(go.Heatmap(z=A, zmin=0, zmax=top, colorscale="Viridis", showscale=False, name=name),
                      row=1, col=col)
        fig.update_xaxes(**integer_ticks(A.shape[1]), row=1, col=col)
        fig.update_yaxes(autorange="reversed", **integer_ticks(A.shape[0]), row=1, col=col)
    # the factors: numbered from 1 at whole positions (a 2-column W is not an axis from -0.5 to 1.5)
    factors = dict(tickmode="array", tickvals=list(range(W.shape[1])),
                   ticktext=[str(k + 1) for k in range(W.shape[1])])
    fig.update_xaxes(title_text="factor", **factors, row=1, col=2)
    fig.update_yaxes(title_text="factor", **factors, row=1, col=3)
    return layout(fig, title, height=360)


def spectrogram_panels(
    matrices: Mapping[str, np.ndarray],
    *,
    floor_db: float = -60.0,
    ceil_db: float = 10.0,
    title: str | None = None,
) -> go.Figure:
    """Power matrices side by side in decibels, ``10 log10(A)``, on one colour range.

    Parameters
    ----------
    matrices : mapping name -> ndarray, shape (n_freq, n_time)
        Nonnegative power, e.g. the data and each fit's W H.
    floor_db, ceil_db : float
        Colour range in dB; entries below 1e-8 are drawn at -80 dB.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One heat map per entry, titled by its name; only the first shows the scale.
    """
    if not matrices:
        raise ValueError("matrices is empty; pass at least one power matrix, e.g. {'data': X}")
    names = list(matrices)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=plain_all(names))
    for col, name in enumerate(names, start=1):
        A = as_2d(matrices[name], f"matrices[{name!r}]")
        fig.add_trace(go.Heatmap(z=10 * np.log10(np.maximum(A, 1e-8)), zmin=floor_db, zmax=ceil_db,
                                 colorscale="Magma", showscale=col == 1, name=name), row=1, col=col)
    return layout(fig, title, height=320)


def matched_bases(
    W_a: np.ndarray,
    W_b: np.ndarray,
    pairs: np.ndarray,
    *,
    titles: tuple[str, str] = ("A", "B (matched order)"),
) -> go.Figure:
    """Two bases side by side, B's factors in the order that matches A's.

    Parameters
    ----------
    W_a : ndarray, shape (m, r_a)
    W_b : ndarray, shape (m, r_b)
    pairs : ndarray of int, shape (k, 2)
        Matched factors ``(j_a, j_b)``, e.g. ``Alignment.pairs`` of
        :func:`nmfcore.compare_results`.
    titles : (str, str)

    Returns
    -------
    plotly.graph_objects.Figure
        Two heat maps of shape (m, k): the matched columns of each basis, each
        scaled to a maximum of one so that shapes compare whatever the scale.
    """
    W_a, W_b = as_2d(W_a, "W_a"), as_2d(W_b, "W_b")
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    if W_a.shape[0] != W_b.shape[0]:
        raise ValueError(f"W_a has {W_a.shape[0]} rows but W_b has {W_b.shape[0]}; "
                         "matched bases must share the feature space")
    fig = make_subplots(rows=1, cols=2, subplot_titles=plain_all(titles))
    for col, (W, chosen) in enumerate(((W_a, pairs[:, 0]), (W_b, pairs[:, 1])), start=1):
        columns = W[:, chosen]
        scaled = columns / np.maximum(columns.max(axis=0), np.finfo(float).tiny)
        fig.add_trace(go.Heatmap(z=scaled, x=[str(j + 1) for j in chosen], colorscale="Viridis",
                                 showscale=False), row=1, col=col)
    fig.update_xaxes(title_text="factor")
    return layout(fig, None, height=420)
