"""Figures of the Learn page's lessons: the probability simplex, and balls growing on a point cloud."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from nmfcore.plot._style import colour, layout, segments

_ITEMS = dict(size=5, color="black", opacity=0.6)


def _plane_points(P: np.ndarray, name: str) -> np.ndarray:
    P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != 2:
        raise ValueError(f"{name} must be plane coordinates of shape (2, n), got {P.shape}; "
                         "project 3-D columns with nmfcore.app.lessons.ternary first")
    return P


def _simplex(points: np.ndarray, title: str | None) -> go.Figure:
    """The simplex's triangle and the items, before anything drawn on top."""
    corners = np.array([[0, 0], [1, 0], [0.5, np.sqrt(3) / 2], [0, 0]])
    fig = go.Figure(go.Scatter(x=corners[:, 0], y=corners[:, 1], mode="lines", line=dict(color="grey"),
                               name="simplex"))
    fig.add_trace(go.Scatter(x=points[0], y=points[1], mode="markers", name="items (columns of X)",
                             marker=_ITEMS))
    fig.update_layout(xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x"))
    return layout(fig, title, height=420)


def simplex_cones(
    points: np.ndarray,
    cones: Mapping[str, np.ndarray],
    *,
    title: str | None = None,
) -> go.Figure:
    """Items in the probability simplex, with the cones of one or more bases as polygons.

    Parameters
    ----------
    points : ndarray, shape (2, n)
        Plane coordinates of the items (columns of a 3 x n X scaled to sum 1), e.g.
        :func:`nmfcore.app.lessons.ternary`.
    cones : mapping name -> ndarray, shape (2, r)
        Plane coordinates of each basis' columns; each is drawn as a closed polygon,
        the first solid, the others dashed.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: the triangle, the items, then one closed polygon per cone (its
        first corner repeated at the end).
    """
    fig = _simplex(_plane_points(points, "points"), title)
    for k, (name, corners) in enumerate(cones.items()):
        corners = _plane_points(corners, f"cones[{name!r}]")
        closed = np.hstack([corners, corners[:, :1]])
        fig.add_trace(go.Scatter(x=closed[0], y=closed[1], mode="lines+markers", name=str(name),
                                 line=dict(color=colour(k), dash="solid" if k == 0 else "dash", width=2),
                                 marker=dict(size=10)))
    return fig


def simplex_picks(
    points: np.ndarray,
    vertices: Sequence[int],
    picked: Sequence[int],
    *,
    method: str = "SNPA",
    title: str | None = None,
) -> go.Figure:
    """Separable items in the simplex: the true vertices and the columns an algorithm picked, in order.

    Parameters
    ----------
    points : ndarray, shape (2, n)
        Plane coordinates of the items.
    vertices : sequence of int
        Indices of the pure columns.
    picked : sequence of int
        Indices chosen by the algorithm, first pick first; each is labelled by its
        rank in the order.
    method : str
        Name of the algorithm, for the legend.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: the triangle, the items, the true vertices (open circles), the picks
        (crosses labelled 1, 2, ...).
    """
    points = _plane_points(points, "points")
    vertices, picked = np.asarray(vertices, dtype=int), np.asarray(picked, dtype=int)
    fig = _simplex(points, title)
    fig.add_trace(go.Scatter(x=points[0, vertices], y=points[1, vertices], mode="markers", name="true vertices",
                             marker=dict(size=16, symbol="circle-open", color=colour(2), line_width=3)))
    fig.add_trace(go.Scatter(x=points[0, picked], y=points[1, picked], mode="markers+text",
                             text=[str(i + 1) for i in range(picked.size)], textposition="top center",
                             name=f"picked by {method}", marker=dict(size=10, symbol="x", color=colour(3))))
    return fig


def filtration_balls(
    X: np.ndarray,
    edges: np.ndarray,
    epsilon: float,
    *,
    labels: Sequence | None = None,
    title: str | None = None,
) -> go.Figure:
    """A plane point cloud with a ball of diameter ε around every point and the edges it makes.

    Parameters
    ----------
    X : ndarray, shape (2, n)
        Points as columns.
    edges : ndarray of int, shape (k, 2)
        Pairs closer than ε (their balls touch), e.g. from
        :func:`nmfcore.app.lessons.filtration_at`.
    epsilon : float
        The scale: every ball has radius ε / 2.
    labels : sequence, length n, optional
        Classes colouring the points.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: the edges (one trace, segments separated by NaN), then the points;
        one circle shape per point.
    """
    X = _plane_points(X, "X")
    coords = X.T
    if labels is not None and len(labels) != coords.shape[0]:
        raise ValueError(f"labels has {len(labels)} entries but X has {coords.shape[0]} points")
    xs, ys = segments(coords, edges)
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", name=f"{len(edges)} edges",
                               line=dict(color="lightgrey", width=1), showlegend=False))
    _, classes = (None, None) if labels is None else np.unique(np.asarray(labels).astype(str), return_inverse=True)
    colours = None if classes is None else [colour(int(c)) for c in classes]
    fig.add_trace(go.Scatter(x=coords[:, 0], y=coords[:, 1], mode="markers", name="points", showlegend=False,
                             marker=dict(size=8, color=colours)))
    radius = float(epsilon) / 2
    for x, y in coords:
        fig.add_shape(type="circle", x0=x - radius, x1=x + radius, y0=y - radius, y1=y + radius,
                      line=dict(color="rgba(31,119,180,0.3)"), fillcolor="rgba(31,119,180,0.05)")
    fig.update_layout(yaxis=dict(scaleanchor="x"))
    return layout(fig, title, height=420)
