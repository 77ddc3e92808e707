"""Argument checks, colours, text and layout shared by the figure modules of :mod:`nmfcore.plot`.

Every figure is laid out by :func:`layout`: a strip at the top is kept free for
plotly's toolbar (the modebar, top right), the title sits below it on the left,
and axis titles get room at the bottom, so that nothing a figure says is hidden.
Text from data (feature and item names, labels, file names) goes through
:func:`plain` first: plotly reads a subset of HTML in every label.
"""

from __future__ import annotations

import html
import math
from typing import Iterable, Sequence

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


TOOLBAR_PX = 36
"""Height of the strip kept free for plotly's toolbar above the title and the plot."""
TITLE_PX = 30
SUBPLOT_TITLE_PX = 24
LEGEND_BELOW_PX = 56
"""Room at the bottom for a horizontal legend (two rows), below the axis titles."""
# buttons the views do not need: a narrower toolbar
_TOOLBAR_REMOVE = ["lasso2d", "select2d", "autoScale2d", "toggleSpikelines",
                   "hoverClosestCartesian", "hoverCompareCartesian"]


def plain(text: object) -> str:
    """``text`` as plotly shows it literally: ``&``, ``<`` and ``>`` written as HTML entities.

    Plotly reads ``<b>``, ``<a href=...>``, ``<br>`` and a few other tags in titles,
    tick labels, legend entries, hover text and table cells; a name from a file must
    not become markup.
    """
    return html.escape(str(text), quote=False)


def plain_all(texts: Iterable[object]) -> list[str]:
    """:func:`plain` of every entry."""
    return [plain(t) for t in texts]


def _has_subplot_titles(fig: go.Figure) -> bool:
    return any(a.yref == "paper" and a.yanchor == "bottom" and a.y is not None and a.y >= 0.99
               for a in fig.layout.annotations)


def layout(fig: go.Figure, title: str | None, height: int | None = None) -> go.Figure:
    """Set the title, margins and (optionally) the height; return ``fig``.

    The top margin keeps :data:`TOOLBAR_PX` free for the toolbar, then room for the
    title (left-aligned, below the toolbar) and for subplot titles; the bottom and
    left margins leave room for axis titles, and a horizontal legend goes to the
    bottom of the figure, below them. ``title`` is plain text.
    """
    has_subtitles = _has_subplot_titles(fig)
    top = TOOLBAR_PX + (TITLE_PX if title else 0) + (SUBPLOT_TITLE_PX if has_subtitles else 0)
    x_titled = any(axis.title.text for axis in fig.select_xaxes())
    y_titled = any(axis.title.text for axis in fig.select_yaxes())
    bottom = 60 if x_titled else 40
    if fig.layout.legend.orientation == "h":
        fig.update_layout(legend=dict(x=0, xanchor="left", y=0, yanchor="bottom", yref="container"))
        bottom += LEGEND_BELOW_PX
    fig.update_layout(
        title=dict(text=None if title is None else plain(title), x=0, xref="paper", xanchor="left",
                   y=1, yref="container", yanchor="top", pad=dict(t=TOOLBAR_PX)),
        margin=dict(l=64 if y_titled else 40, r=20, t=top, b=bottom),
        modebar=dict(remove=_TOOLBAR_REMOVE),
    )
    if height is not None:
        fig.update_layout(height=height)
    return fig


def integer_ticks(count: int) -> dict:
    """Axis settings for an axis of indices 0..count-1: whole numbers only, never halves.

    A tick at every index up to 12 of them; beyond, a step of 1, 2 or 5 times a power of
    ten that gives at most about ten ticks (0, 20, 40... for 81 iterations).
    """
    if count <= 12:
        return dict(tick0=0, dtick=1)
    rough = count / 10
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    return dict(tick0=0, dtick=int(step))


def _tick_label(value: float, powers: bool) -> str:
    exponent = math.floor(math.log10(value) + 1e-9)
    if not powers:
        return f"{int(round(value)):,}" if value >= 1 and abs(value - round(value)) < 1e-9 else f"{value:.3g}"
    mantissa = value / 10 ** exponent
    head = "" if abs(mantissa - 1) < 1e-9 else f"{mantissa:.2g}×"
    return f"{head}10<sup>{exponent}</sup>"


def log_ticks(values: Iterable[float] | np.ndarray) -> dict:
    """Tick positions and labels for a log axis over ``values``, written in full.

    Plotly's own log ticks label the steps between powers of ten with one digit
    ("2, 10k, 5, 2, 1000"); these are 1-2-5 (or 1..9) multiples of powers of ten,
    or powers of ten only over many decades, each labelled as a whole number
    ("2,000", "0.05"; over a range beyond 10⁻³..10⁵ all as powers: "10<sup>-8</sup>").

    Returns
    -------
    dict
        ``tickvals`` and ``ticktext`` for ``fig.update_yaxes``; empty when no value
        is positive and finite.
    """
    v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return {}
    low, high = float(v.min()), float(v.max())
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    inside: list[float] = []
    if last - first > 6:
        stride = math.ceil((last - first) / 6)
        ticks = [10.0 ** e for e in range(first, last + 1, stride)]
    else:
        for steps in ((1,), (1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
            ticks = [m * 10.0 ** e for e in range(first, last + 1) for m in steps]
            inside = [t for t in ticks if low * (1 - 1e-9) <= t <= high * (1 + 1e-9)]
            if len(inside) >= 3:
                break
        if len(inside) < 2:  # less than a step apart: the ends themselves, to two digits
            ticks = sorted(set(ticks) | {float(f"{low:.2g}"), float(f"{high:.2g}")})
    # whole numbers while they stay short, else every label a power of ten
    shown = [t for t in ticks if low * (1 - 1e-9) <= t <= high * (1 + 1e-9)] or ticks
    powers = not all(-3 <= math.floor(math.log10(t) + 1e-9) <= 5 for t in shown)
    return dict(tickvals=ticks, ticktext=[_tick_label(t, powers) for t in ticks])


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
