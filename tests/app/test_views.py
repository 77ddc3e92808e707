"""What the pages show, computed in nmfcore.app.views: data summaries, result tables, scale views."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from nmfcore.app import views
from nmfcore.classic import nmf
from nmfcore.deep import deep_nmf
from nmfcore.judge import compare_results, score_result
from nmfcore.topology import barcodes, gnmf, pnmf


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return rng.random((12, 3)) @ rng.random((3, 20)) + 0.01


def test_data_summary_dense_and_sparse():
    dense = np.array([[0.0, 2.0], [1.0, 0.0], [3.0, 0.5]])
    summary = views.data_summary(dense)
    assert summary == {"shape": (3, 2), "zeros": pytest.approx(2 / 6), "low": 0.0, "high": 3.0, "sparse": False}
    sparse = views.data_summary(sp.csr_matrix(dense + 1))
    assert sparse["low"] == 1.0 and sparse["zeros"] == 0 and sparse["sparse"]
    assert views.data_summary(sp.csr_matrix(dense))["low"] == 0.0  # implicit zeros
    assert views.data_summary(sp.csr_matrix((2, 2)))["high"] == 0.0


def test_preview_quantities():
    X = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 5.0]])
    for A in (X, sp.csr_matrix(X)):
        np.testing.assert_allclose(views.item_totals(A), [1.0, 0.0, 7.0])
        np.testing.assert_array_equal(views.detected_per_item(A), [1, 0, 2])
        totals, names = views.top_rows(A, ["a", "b"], 1)
        np.testing.assert_allclose(totals, [5.0])
        assert names == ["b"]
        assert views.first_items(A, 2).shape == (2, 2) and views.first_items(A, 9).shape == (2, 3)
        np.testing.assert_allclose(views.dense(A), X)
    picked = views.random_items(10, 4)
    assert len(set(picked.tolist())) == 4 and np.array_equal(picked, views.random_items(10, 4))
    assert views.random_items(3, 5).size == 3


def test_dense_copy_is_needed_only_by_dense_only_families_on_sparse_data():
    X = sp.random(50, 40, density=0.1, format="csr", random_state=0)
    assert views.dense_copy_bytes("deep_nmf", X) == 50 * 40 * 8
    assert views.dense_copy_bytes("min_vol_deep_nmf", X.astype(np.float32)) == 50 * 40 * 4
    assert views.dense_copy_bytes("nmf", X) is None
    assert views.dense_copy_bytes("deep_nmf", X.toarray()) is None


def test_result_rows_and_loss_curves_follow_the_protocol(X):
    first = nmf(X, 3, max_iter=5, tol=0.0, random_state=0)
    empty = SimpleNamespace(loss=np.zeros(0), stopped=True, layers=lambda: [None, None], params={"model": "x"})
    rows = views.result_rows({"a": first, "b": empty})
    assert rows[0] == {"name": "a", "layers": 1, "final loss": pytest.approx(first.loss[-1]),
                       "iterations": 5, "stopped early": False}
    assert rows[1]["final loss"] is None and rows[1]["iterations"] is None and rows[1]["stopped early"]
    curves = views.loss_curves({"a": first, "b": empty}, ["a", "b"])
    assert list(curves) == ["a"]
    np.testing.assert_allclose(curves["a"], first.loss)
    assert views.results_of_model({"a": first, "b": empty}, "nmf") == ["a"]


def test_family_specific_views(X):
    one = nmf(X, 3, max_iter=5, random_state=0)
    deep = deep_nmf(X, [4, 2], max_iter=3, init_iter=3, random_state=0)
    graph = gnmf(X, 3, max_iter=3, random_state=0)
    coupling = views.coupling_matrices(deep)
    assert [h.shape for h in coupling] == [(2, 4)]
    np.testing.assert_allclose(coupling[0], deep.H[1])
    assert views.coupling_matrices(one) is None
    np.testing.assert_allclose(views.layer_error_history(deep), deep.layer_errors)
    assert views.layer_error_history(one) is None
    assert views.relative_error_of(one) == pytest.approx(one.relative_error)
    assert views.relative_error_of(graph) == pytest.approx(graph.relative_error)
    assert views.relative_error_of(deep) is None
    assert not views.is_per_scale(one)


def test_factor_labels_and_dominant_factor():
    W = np.array([[3.0, 0.0], [2.0, 1.0], [0.0, 5.0]])
    layer = SimpleNamespace(W=W)
    assert views.factor_labels([layer], ["a", "b", "c"], 2) == [["a b", "c b"]]
    assert views.dominant_factor(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 1.0]])).tolist() == [
        "factor 0", "factor 1", "factor 0"]


def test_embedding_points_keep_rank_two_as_is():
    H = np.arange(10.0).reshape(2, 5)
    points, titles = views.embedding_points(H)
    np.testing.assert_allclose(points, H.T)
    assert titles == ("h1", "h2")
    points, titles = views.embedding_points(np.random.default_rng(0).random((4, 6)))
    assert points.shape == (6, 2) and titles == ("PC 1", "PC 2")


def test_scale_views_of_a_pnmf_result():
    rng = np.random.default_rng(1)
    X = np.abs(np.vstack([rng.normal(0, 0.1, (2, 15)) + [[1], [0]], rng.normal(0, 0.1, (2, 15)) + [[0], [1]]])
               .reshape(2, 30)) + 0.01
    result = pnmf(X, 2, n_scales=3, max_iter=2, random_state=0)
    np.testing.assert_allclose(views.result_scales(result), result.scales)
    np.testing.assert_allclose(views.scale_increments(result), result.increments)
    assert views.is_per_scale(result) == (len(result.layers()) > 1)
    assert views.result_scales(nmf(X, 2, max_iter=2)) is None
    labels = np.repeat([0, 1], 15)
    scores = views.scale_cluster_scores(result, labels)
    assert set(scores) == set(views.SCORES) and all(len(v) == len(result.layers()) for v in scores.values())


def test_scale_graph_edges_use_the_spanning_tree_for_many_items():
    X = np.abs(np.random.default_rng(2).random((3, 40)))
    bars = barcodes(X, maxdim=0)
    eps = float(np.median(bars.deaths))
    edges, note = views.scale_graph_edges(X, bars, eps)
    assert edges.shape[1] == 2 and "ε-graph" in note and len(edges) >= np.sum(bars.deaths < eps)
    tree, note = views.scale_graph_edges(X, bars, eps, max_items=10)
    assert "spanning-tree" in note and len(tree) == np.sum(bars.deaths < eps)


def test_alignment_table_and_score_rows(X):
    first = nmf(X, 3, max_iter=30, random_state=0)
    swapped = nmf(X, 3, init=(first.W[:, [2, 0, 1]], first.H[[2, 0, 1]]), max_iter=1)
    table = views.alignment_table(compare_results(first, swapped))
    assert sorted(table["matched factor of B"].tolist()) == [1, 2, 3]
    assert np.all(table["angle (°)"] < 5)
    rows = views.score_rows(score_result(first, labels=np.arange(20) % 3))
    assert rows[0]["layer"] == first.layers()[0].name and "ari" in rows[0]
    rows = views.score_rows({"L1": {"sad_deg": [1.234, 5.0], "sad_mean_deg": 3.1}})
    assert rows == [{"layer": "L1", "sad_deg": "1.2, 5.0", "sad_mean_deg": 3.1}]
