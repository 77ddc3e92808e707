"""The figures the Learn and Rank & compare pages draw: what each one shows."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nmfcore import plot


def test_factorization_panels_show_x_w_h_and_their_product_on_one_range():
    rng = np.random.default_rng(0)
    W, H = rng.random((6, 2)), rng.random((2, 5))
    X = W @ H + 0.1
    fig = plot.factorization_panels(X, W, H)
    assert [t.name for t in fig.data] == ["X", "W", "H", "WH"]
    for trace, expected in zip(fig.data, (X, W, H, W @ H)):
        np.testing.assert_allclose(np.asarray(trace.z, dtype=float), expected)
    assert fig.data[0].zmax == fig.data[3].zmax == pytest.approx(X.max())
    assert fig.data[1].zmax is None
    assert [a.text for a in fig.layout.annotations] == ["X", "W", "H", "W H"]
    with pytest.raises(ValueError, match="do not factor X"):
        plot.factorization_panels(X, W.T, H)


def test_rank_error_curve_marks_the_current_rank():
    fig = plot.rank_error_curve([1, 2, 3], [0.5, 0.2, 0.0], current=2)
    np.testing.assert_allclose(fig.data[0].x, [1, 2, 3])
    np.testing.assert_allclose(fig.data[0].y, [0.5, 0.2, 0.0])
    assert fig.layout.xaxis.title.text == "rank r" and fig.layout.yaxis.title.text == "relative error"
    assert [shape.x0 for shape in fig.layout.shapes] == [2]
    with pytest.raises(ValueError, match="errors has 2"):
        plot.rank_error_curve([1, 2, 3], [0.5, 0.2])


def test_simplex_cones_draw_the_items_and_one_closed_polygon_per_cone():
    points = np.array([[0.5, 0.4, 0.6], [0.3, 0.2, 0.25]])
    first = np.array([[0.0, 1.0, 0.5], [0.0, 0.0, 0.8]])
    second = first * 0.9 + 0.05
    fig = plot.simplex_cones(points, {"W": first, "W Q": second})
    assert [t.name for t in fig.data] == ["simplex", "items (columns of X)", "W", "W Q"]
    np.testing.assert_allclose(fig.data[1].x, points[0])
    np.testing.assert_allclose(fig.data[2].x, [0.0, 1.0, 0.5, 0.0])      # closed: first corner again
    np.testing.assert_allclose(fig.data[3].y, [0.05, 0.05, 0.77, 0.05])
    assert fig.data[2].line.dash == "solid" and fig.data[3].line.dash == "dash"
    with pytest.raises(ValueError, match="shape \\(2, n\\)"):
        plot.simplex_cones(np.ones((3, 4)), {})


def test_simplex_picks_number_the_picks_in_order():
    points = np.array([[0.0, 1.0, 0.5, 0.5], [0.0, 0.0, 0.8, 0.3]])
    fig = plot.simplex_picks(points, [0, 1, 2], [2, 0, 3], method="SPA")
    assert [t.name for t in fig.data] == ["simplex", "items (columns of X)", "true vertices", "picked by SPA"]
    np.testing.assert_allclose(fig.data[2].x, [0.0, 1.0, 0.5])
    np.testing.assert_allclose(fig.data[3].x, [0.5, 0.0, 0.5])
    np.testing.assert_allclose(fig.data[3].y, [0.8, 0.0, 0.3])
    assert list(fig.data[3].text) == ["1", "2", "3"]


def test_variance_law_is_log_log():
    fig = plot.variance_law([1.0, 2.0, 4.0], [1.0, 4.0, 16.0])
    np.testing.assert_allclose(fig.data[0].y, [1.0, 4.0, 16.0])
    assert fig.layout.xaxis.type == fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.title.text == "variance of the noise"


def test_spectrogram_panels_are_in_decibels():
    data = np.array([[1.0, 10.0], [0.1, 0.0]])
    fig = plot.spectrogram_panels({"data": data, "fit": data * 10})
    assert [t.name for t in fig.data] == ["data", "fit"]
    np.testing.assert_allclose(np.asarray(fig.data[0].z, dtype=float), [[0.0, 10.0], [-10.0, -80.0]])
    np.testing.assert_allclose(np.asarray(fig.data[1].z, dtype=float)[0], [10.0, 20.0])
    assert fig.data[0].showscale and not fig.data[1].showscale
    assert (fig.data[0].zmin, fig.data[0].zmax) == (-60.0, 10.0)
    with pytest.raises(ValueError, match="matrices is empty"):
        plot.spectrogram_panels({})


def test_convergence_by_time_draws_each_run_against_iteration_and_seconds():
    curves = {"MU": (np.array([3.0, 2.0, 1.5]), np.array([0.0, 0.1, 0.2])),
              "HALS": (np.array([3.0, 1.0, 0.5]), np.array([0.0, 0.3, 0.6]))}
    fig = plot.convergence_by_time(curves)
    assert [t.name for t in fig.data] == ["MU", "MU", "HALS", "HALS"]
    np.testing.assert_allclose(fig.data[0].x, [0, 1, 2])
    np.testing.assert_allclose(fig.data[3].x, [0.0, 0.3, 0.6])
    np.testing.assert_allclose(fig.data[3].y, [3.0, 1.0, 0.5])
    assert fig.data[0].xaxis == "x" and fig.data[1].xaxis == "x2"
    assert fig.layout.xaxis2.title.text == "seconds" and fig.layout.yaxis.type == "log"
    with pytest.raises(ValueError, match="3 losses but 2 times"):
        plot.convergence_by_time({"MU": (np.ones(3), np.ones(2))})


def test_convergence_and_layer_errors_take_an_x_label():
    fig = plot.convergence({"MU": [1.0, 0.5]}, log_y=False, ylabel="H[0, 0]", xlabel="step")
    assert fig.layout.xaxis.title.text == "step" and fig.layout.yaxis.title.text == "H[0, 0]"
    assert fig.layout.yaxis.type == "linear"
    errors = plot.layer_errors(np.array([[2.0, 1.0], [1.0, 0.5]]), title=None, xlabel="deep iteration")
    assert errors.layout.xaxis.title.text == "deep iteration" and errors.layout.title.text is None


def test_filtration_balls_draw_a_ball_per_point_and_the_edges():
    X = np.array([[0.0, 1.0, 5.0], [0.0, 0.0, 0.0]])
    fig = plot.filtration_balls(X, np.array([[0, 1]]), 1.5, labels=[0, 0, 1])
    edges, points = fig.data
    np.testing.assert_allclose(np.asarray(edges.x, dtype=float)[:2], [0.0, 1.0])
    assert np.isnan(np.asarray(edges.x, dtype=float)[2])
    np.testing.assert_allclose(points.x, [0.0, 1.0, 5.0])
    assert points.marker.color[0] == points.marker.color[1] != points.marker.color[2]
    assert len(fig.layout.shapes) == 3
    assert fig.layout.shapes[2].x0 == pytest.approx(5.0 - 0.75) and fig.layout.shapes[2].x1 == pytest.approx(5.75)
    with pytest.raises(ValueError, match="labels has 2 entries"):
        plot.filtration_balls(X, np.empty((0, 2), int), 1.0, labels=[0, 1])


def test_rank_scan_curves_show_every_measure_and_the_suggested_rank():
    ranks = np.array([2, 3, 4])
    scan = SimpleNamespace(ranks=ranks, error=np.array([0.5, 0.3, 0.2]), error_std=np.array([0.01, 0.02, 0.0]),
                           explained_variance=np.array([0.7, 0.9, 0.95]), cophenetic=np.array([0.9, 0.95, 0.8]),
                           silhouette=np.array([0.8, 0.9, 0.6]), sparsity_W=np.array([0.1, 0.2, 0.3]),
                           sparsity_H=np.array([0.3, 0.2, 0.1]), suggested_rank=3)
    fig = plot.rank_scan_curves(scan)
    assert [t.name for t in fig.data] == ["relative error", "explained variance", "cophenetic correlation",
                                          "silhouette of factors", "sparsity of W", "sparsity of H"]
    np.testing.assert_allclose(fig.data[0].y, scan.error)
    np.testing.assert_allclose(fig.data[0].error_y.array, scan.error_std)
    np.testing.assert_allclose(fig.data[5].y, scan.sparsity_H)
    assert [t.xaxis for t in fig.data] == ["x", "x", "x2", "x2", "x3", "x3"]
    assert [shape.x0 for shape in fig.layout.shapes] == [3, 3, 3]
    scan.suggested_rank = None
    assert not plot.rank_scan_curves(scan).layout.shapes


def test_matched_bases_reorder_b_and_scale_each_factor_to_one():
    W_a = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 2.0]])
    W_b = W_a[:, ::-1] * 3
    fig = plot.matched_bases(W_a, W_b, np.array([[0, 1], [1, 0]]), titles=("A: first", "B: second"))
    a, b = (np.asarray(t.z, dtype=float) for t in fig.data)
    np.testing.assert_allclose(a, [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(b, a)                       # same shapes once matched and scaled
    assert list(fig.data[1].x) == ["2", "1"]              # B's factors in the order matching A's
    assert [ann.text for ann in fig.layout.annotations] == ["A: first", "B: second"]
    with pytest.raises(ValueError, match="share the feature space"):
        plot.matched_bases(W_a, W_b[:2], np.array([[0, 1]]))
