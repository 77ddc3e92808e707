"""Curves: loss against iteration or time, layer errors, quantities across scales or ranks."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nmfcore.plot._style import colour, integer_ticks, layout, log_ticks, plain


def convergence(
    curves: Mapping[str, np.ndarray] | np.ndarray,
    *,
    times: Mapping[str, np.ndarray] | np.ndarray | None = None,
    log_y: bool = True,
    title: str | None = None,
    ylabel: str = "loss",
    xlabel: str | None = None,
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
    xlabel : str, optional
        Default ``"iteration"``, or ``"seconds"`` with ``times``.

    Returns
    -------
    plotly.graph_objects.Figure
        One line per curve, named by its key, its y the curve's values; a log axis
        is ticked by :func:`~nmfcore.plot._style.log_ticks` (labels written in full).
    """
    if not isinstance(curves, Mapping):
        curves = {"loss": curves}
        if times is not None and not isinstance(times, Mapping):
            times = {"loss": times}
    fig = go.Figure()
    positive = True
    values, longest = [], 0
    for k, (name, loss) in enumerate(curves.items()):
        loss = np.asarray(loss, dtype=float).ravel()
        positive &= bool(np.all(loss > 0))
        values.append(loss)
        longest = max(longest, loss.size)
        x = np.arange(loss.size) if times is None else np.asarray(times[name], dtype=float).ravel()
        if x.size != loss.size:
            raise ValueError(f"times[{name!r}] has {x.size} entries but the curve has {loss.size}")
        fig.add_trace(go.Scatter(x=x, y=loss, mode="lines", name=plain(name), line=dict(color=colour(k))))
    fig.update_xaxes(title=xlabel or ("iteration" if times is None else "seconds"))
    if times is None:
        fig.update_xaxes(**integer_ticks(longest))
    if log_y and positive:
        fig.update_yaxes(title=ylabel, type="log", **log_ticks(np.concatenate(values) if values else []))
    else:
        fig.update_yaxes(title=ylabel, type="linear")
    return layout(fig, title, height=350)


def layer_errors(
    errors: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    title: str | None = "Error of each layer",
    xlabel: str | None = None,
) -> go.Figure:
    """Per-layer error against iteration, one line per layer of a deep model.

    Parameters
    ----------
    errors : ndarray, shape (k, L)
        Error of each of L layers at each of k iterations.
    names : sequence of str, optional
        Layer names.
    title : str, optional
    xlabel : str, optional
        Default ``"iteration"``.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    errors = np.asarray(errors, dtype=float)
    if errors.ndim == 1:
        errors = errors[:, None]
    names = names or [f"layer {l + 1}" for l in range(errors.shape[1])]
    return convergence({names[l]: errors[:, l] for l in range(errors.shape[1])}, title=title,
                       ylabel="error", xlabel=xlabel)


def convergence_by_time(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    title: str | None = None,
) -> go.Figure:
    """Loss against iteration and against seconds, side by side, one colour per run.

    Parameters
    ----------
    curves : mapping name -> (loss, times)
        Each run's loss history, shape (k,), and the seconds at each entry, shape (k,).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Two traces per run (iteration panel first), log-scale loss.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss vs iteration", "loss vs seconds"))
    for k, (name, (loss, times)) in enumerate(curves.items()):
        loss, times = np.asarray(loss, dtype=float).ravel(), np.asarray(times, dtype=float).ravel()
        if loss.size != times.size:
            raise ValueError(f"curves[{name!r}] has {loss.size} losses but {times.size} times")
        line = dict(color=colour(k))
        fig.add_trace(go.Scatter(x=np.arange(loss.size), y=loss, name=plain(name), line=line), row=1, col=1)
        fig.add_trace(go.Scatter(x=times, y=loss, name=plain(name), showlegend=False, line=line), row=1, col=2)
    fig.update_xaxes(title_text="iteration", row=1, col=1)
    fig.update_xaxes(title_text="seconds", row=1, col=2)
    fig.update_yaxes(type="log", **log_ticks(np.concatenate([np.ravel(loss) for loss, _ in curves.values()])
                                             if curves else []))
    return layout(fig, title, height=320)


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
        fig.add_trace(go.Scatter(x=x, y=values, mode="lines+markers", name=plain(name), line=dict(color=colour(k))))
    if current is not None:
        fig.add_vline(x=float(current), line=dict(color="black", dash="dash"))
    fig.update_xaxes(title="scale index" if scales is None else "scale ε")
    if scales is None:  # whole scale numbers
        fig.update_xaxes(**integer_ticks(max((len(t.x) for t in fig.data), default=0)))
    fig.update_yaxes(title=ylabel)
    return layout(fig, title, height=350)


def rank_error_curve(
    ranks: Sequence[int],
    errors: Sequence[float],
    *,
    current: int | None = None,
    title: str | None = None,
) -> go.Figure:
    """Relative error of a fit against its rank, with the rank in use marked.

    Parameters
    ----------
    ranks : sequence of int, length k
    errors : sequence of float, length k
        ``‖X − WH‖ / ‖X‖`` at each rank.
    current : int, optional
        Rank drawn as a dotted vertical line.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One line with markers.
    """
    ranks, errors = np.asarray(ranks), np.asarray(errors, dtype=float)
    if ranks.size != errors.size:
        raise ValueError(f"ranks has {ranks.size} entries but errors has {errors.size}")
    fig = go.Figure(go.Scatter(x=ranks, y=errors, mode="lines+markers", name="relative error"))
    if current is not None:
        fig.add_vline(x=current, line_dash="dot")
    fig.update_xaxes(title="rank r", tick0=0, dtick=1)
    fig.update_yaxes(title="relative error")
    return layout(fig, title, height=260)


def variance_law(
    means: Sequence[float],
    variances: Sequence[float],
    *,
    title: str | None = None,
) -> go.Figure:
    """Noise variance against the mean of the entries, on log-log axes.

    Parameters
    ----------
    means, variances : sequence of float, length k
        Binned means of the clean entries and the variance of the noise in each bin,
        e.g. from :func:`nmfcore.app.lessons.variance_slope`. A straight line of slope
        p means variance ∝ mean^p, the noise of the β-divergence with β = 2 − p.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    means, variances = np.asarray(means, dtype=float), np.asarray(variances, dtype=float)
    if means.size != variances.size:
        raise ValueError(f"means has {means.size} entries but variances has {variances.size}")
    fig = go.Figure(go.Scatter(x=means, y=variances, mode="lines+markers", name="noise variance"))
    fig.update_xaxes(type="log", title="mean of the entry", **log_ticks(means))
    fig.update_yaxes(type="log", title="variance of the noise", **log_ticks(variances))
    return layout(fig, title, height=300)


def rank_scan_curves(scan: Any, *, title: str | None = None) -> go.Figure:
    """What a rank scan measured, against the rank, with the suggested rank marked.

    Parameters
    ----------
    scan : RankScan
        From :func:`nmfcore.rank_scan`: its ``ranks``, ``error`` (with ``error_std``),
        ``explained_variance``, ``cophenetic``, ``silhouette``, ``sparsity_W``,
        ``sparsity_H`` and ``suggested_rank`` are drawn.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Three panels: error and explained variance; cophenetic correlation and
        silhouette; the sparsity of W and of H. The suggested rank is a red dashed
        line on each.
    """
    fig = make_subplots(rows=1, cols=3, subplot_titles=(
        "relative error / explained variance", "stability", "mean Hoyer sparsity"))
    r = np.asarray(scan.ranks)
    panels = (
        (1, "relative error", scan.error),
        (1, "explained variance", scan.explained_variance),
        (2, "cophenetic correlation", scan.cophenetic),
        (2, "silhouette of factors", scan.silhouette),
        (3, "sparsity of W", scan.sparsity_W),
        (3, "sparsity of H", scan.sparsity_H),
    )
    for col, name, values in panels:
        error_y = dict(array=scan.error_std) if name == "relative error" else None
        fig.add_trace(go.Scatter(x=r, y=values, name=name, error_y=error_y), row=1, col=col)
    if scan.suggested_rank is not None:
        for col in (1, 2, 3):
            fig.add_vline(x=scan.suggested_rank, line_dash="dash", line_color="red", row=1, col=col)
    fig.update_xaxes(title_text="rank", dtick=1)
    fig.update_layout(legend=dict(orientation="h"))
    return layout(fig, title, height=430)
