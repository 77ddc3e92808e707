"""Argument checks, colours and layout shared by the figure modules of :mod:`nmfcore.plot`."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import scipy.sparse as sp

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)


def colour(k: int) -> str:
    """The k-th colour of the palette, cycling."""
    return PALETTE[k % len(PALETTE)]


def as_2d(A: np.ndarray, name: str) -> np.ndarray:
    """A dense float 2-D array from an array or sparse matrix, or a ValueError naming ``name``."""
    A = A.toarray() if sp.issparse(A) else np.asarray(A, dtype=float)
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got {A.ndim} dimension(s)")
    return A


def check_shape2(shape: Sequence[int], rows: int, name: str) -> tuple[int, int]:
    """``(h, w)`` of an image shape whose ``h * w`` must equal ``rows``."""
    if shape is None or len(shape) != 2:
        raise ValueError(f"{name} must be (height, width), got {shape!r}")
    h, w = int(shape[0]), int(shape[1])
    if h * w != rows:
        raise ValueError(
            f"{name}={tuple(shape)} holds {h * w} pixels, but the arrays have {rows} rows; "
            "pass the shape the data was loaded with"
        )
    return h, w


def layout(fig: go.Figure, title: str | None, height: int | None = None) -> go.Figure:
    """Set the title, margins and (optionally) the height; return ``fig``."""
    fig.update_layout(title=title, margin=dict(l=40, r=20, t=50 if title else 20, b=40))
    if height is not None:
        fig.update_layout(height=height)
    return fig


def segments(coords: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of line segments between point pairs, NaN-separated, for one Scatter trace.

    Parameters
    ----------
    coords : ndarray, shape (n, 2)
    edges : ndarray of int, shape (k, 2)

    Returns
    -------
    xs, ys : ndarray, shape (3 k,)
    """
    edges = np.asarray(edges, dtype=int).reshape(-1, 2)
    gap = np.full(len(edges), np.nan)
    xs = np.column_stack([coords[edges[:, 0], 0], coords[edges[:, 1], 0], gap]).ravel()
    ys = np.column_stack([coords[edges[:, 0], 1], coords[edges[:, 1], 1], gap]).ravel()
    return xs, ys
