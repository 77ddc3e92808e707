"""Layout shared by every figure: a strip for the toolbar, titles below it, readable ticks."""

from __future__ import annotations

import numpy as np
import pytest

from nmfcore import plot
from nmfcore.plot._style import LEGEND_BELOW_PX, SUBPLOT_TITLE_PX, TITLE_PX, TOOLBAR_PX, integer_ticks, log_ticks


def _figures():
    rng = np.random.default_rng(0)
    W, H = rng.random((6, 2)), rng.random((2, 5))
    scan_like = type("Scan", (), dict(ranks=[2, 3, 4], error=[0.3, 0.2, 0.1], error_std=[0.01] * 3,
                                      explained_variance=[0.7, 0.8, 0.9], cophenetic=[0.9, 0.95, 0.8],
                                      silhouette=[0.8, 0.9, 0.7], sparsity_W=[0.3] * 3, sparsity_H=[0.4] * 3,
                                      suggested_rank=3))()
    return {
        "image_grid": plot.image_grid(rng.random((20, 3)), (4, 5), title="basis"),
        "heatmap": plot.heatmap(W, title="W"),
        "panels": plot.factorization_panels(W @ H, W, H),
        "convergence": plot.convergence({"a": np.array([30278.0, 900.0, 417.0]), "b": np.array([1913.0, 966, 417])}),
        "layer_errors": plot.layer_errors(np.array([[2.0, 9.0], [1.0, 2.0]]), title=None,
                                          xlabel="deep iteration (0 = multilayer start)"),
        "by_time": plot.convergence_by_time({"MU": (np.array([3.0, 2.0]), np.array([0.0, 0.1]))}),
        "rank_curve": plot.rank_error_curve([1, 2, 3], [0.5, 0.2, 0.0], current=2),
        "rank_scan": plot.rank_scan_curves(scan_like),
        "barcode": plot.barcode({0: np.array([[0.0, 1.0], [0.0, np.inf]])}),
        "embedding": plot.embedding(rng.random((5, 2)), title="Graph at ε = 1: 3 edges"),
    }


@pytest.mark.parametrize("name", list(_figures()))
def test_every_figure_keeps_the_toolbar_strip_free_above_its_title(name):
    fig = _figures()[name]
    title = fig.layout.title
    expected = TOOLBAR_PX + (TITLE_PX if title.text else 0)
    if any(a.yanchor == "bottom" and a.y is not None and a.y >= 0.99 for a in fig.layout.annotations):
        expected += SUBPLOT_TITLE_PX
    assert fig.layout.margin.t == expected
    assert title.yref == "container" and title.yanchor == "top" and title.pad.t == TOOLBAR_PX
    assert title.x == 0 and title.xanchor == "left"
    assert "lasso2d" in fig.layout.modebar.remove  # a narrower toolbar


def test_a_horizontal_legend_goes_below_the_axis_titles():
    fig = _figures()["rank_scan"]
    legend = fig.layout.legend
    assert legend.orientation == "h" and legend.yref == "container" and legend.y == 0
    assert fig.layout.margin.b == 60 + LEGEND_BELOW_PX


def test_axis_titles_get_room_at_the_bottom_and_left():
    fig = _figures()["layer_errors"]
    assert fig.layout.xaxis.title.text == "deep iteration (0 = multilayer start)"
    assert fig.layout.margin.b >= 60 and fig.layout.margin.l >= 60
    assert plot.image_grid(np.ones((4, 1)), (2, 2)).layout.margin.b == 40  # no axis titles, no room


def test_log_axes_are_labelled_in_full_not_by_single_digits():
    fig = _figures()["convergence"]
    axis = fig.layout.yaxis
    assert axis.type == "log"
    shown = [t for v, t in zip(axis.tickvals, axis.ticktext) if 417 <= v <= 30278]
    assert shown == ["500", "1,000", "2,000", "5,000", "10,000", "20,000"]
    deep = log_ticks([1e-12, 1e3])
    inside = [t for v, t in zip(deep["tickvals"], deep["ticktext"]) if 1e-12 <= v <= 1e3]
    assert inside[0] == "10<sup>-12</sup>" and inside[-1] == "10<sup>3</sup>" and len(inside) <= 8
    narrow = log_ticks([417.0, 423.0])
    assert 420.0 in narrow["tickvals"]
    assert log_ticks([0.0, -1.0, np.nan]) == {}
    time_axes = _figures()["by_time"].layout
    assert time_axes.yaxis.ticktext == time_axes.yaxis2.ticktext


def test_index_and_rank_axes_tick_whole_numbers_only():
    assert _figures()["rank_curve"].layout.xaxis.dtick == 1
    assert integer_ticks(5) == {"tick0": 0, "dtick": 1}
    assert [integer_ticks(n)["dtick"] for n in (13, 31, 81, 101, 300, 2000)] == [2, 5, 10, 20, 50, 200]
    assert plot.convergence(np.array([3.0, 2.0, 1.0])).layout.xaxis.dtick == 1
    assert plot.scale_curves({"ari": [0.1, 0.2, 0.3]}).layout.xaxis.dtick == 1
    heat = _figures()["heatmap"].layout
    assert heat.xaxis.dtick == 1 and heat.yaxis.dtick == 1


def test_lesson_panels_number_the_factors_of_w_and_h():
    fig = _figures()["panels"]
    assert list(fig.layout.xaxis2.tickvals) == [0, 1] and list(fig.layout.xaxis2.ticktext) == ["1", "2"]
    assert list(fig.layout.yaxis3.tickvals) == [0, 1] and fig.layout.yaxis3.title.text == "factor"
    assert fig.layout.xaxis2.title.text == "factor"
