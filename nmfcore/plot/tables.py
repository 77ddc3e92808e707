"""Tables and simple charts: top features per factor, bar charts, histograms.

The helpers that compute what these show (:func:`top_features`, :func:`mean_by_label`)
are public because notebooks need them too.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from nmfcore.plot._style import as_2d, layout, plain, plain_all

# factors beyond which a topic table lists one factor per row
_WIDE_TABLE = 8


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
    W = as_2d(W, "W")
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
    headers = plain_all(factor_names) if factor_names is not None else [f"factor {j}" for j in range(len(tops))]
    cells = [[plain(name) for name, _ in top] for top in tops]
    if len(tops) > _WIDE_TABLE:  # many factors: one row per factor reads better than narrow columns
        fig = go.Figure(go.Table(columnwidth=[1, 6], header=dict(values=["factor", f"top {n_top}"]),
                                 cells=dict(values=[headers, [", ".join(c) for c in cells]], align="left")))
        return layout(fig, title, height=min(900, 80 + 26 * len(tops)))
    fig = go.Figure(go.Table(header=dict(values=headers), cells=dict(values=cells)))
    return layout(fig, title, height=min(700, 80 + 24 * len(cells[0]) if cells else 200))


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
    fig = go.Figure(go.Bar(x=values[order], y=[plain(labels[i]) for i in order], orientation="h"))
    fig.update_xaxes(title=xlabel)
    return layout(fig, title, height=max(250, 22 * len(values) + 80))


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
    return layout(fig, title, height=300)


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
    H = as_2d(H, "H")
    labels = np.asarray(labels).astype(str)
    if labels.size != H.shape[1]:
        raise ValueError(f"labels has {labels.size} entries but H has {H.shape[1]} columns (items)")
    classes = sorted(np.unique(labels))
    means = np.column_stack([H[:, labels == c].mean(axis=1) for c in classes])
    total = means.sum(axis=1, keepdims=True)
    return np.divide(means, total, out=np.zeros_like(means), where=total > 0), classes
