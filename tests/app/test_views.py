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


# ----------------------------------------------------------------------------- subsampled items


def _lazy(H: np.ndarray, width: int):
    """H as a Dask array of item chunks, and the list of (start, stop) of the chunks computed."""
    import dask
    import dask.array as da

    read: list[tuple[int, int]] = []

    def block(start: int, stop: int) -> np.ndarray:
        read.append((start, stop))
        return H[:, start:stop].copy()

    n = H.shape[1]
    return da.concatenate([da.from_delayed(dask.delayed(block)(s, min(s + width, n)),
                                           shape=(H.shape[0], min(width, n - s)), dtype=H.dtype)
                           for s in range(0, n, width)], axis=1), read


def test_small_in_memory_h_is_drawn_whole():
    H = np.random.default_rng(0).random((3, 40))
    shown = views.view_items(H, limit=40)
    assert shown.items is None and shown.H is H and shown.note is None and shown.n_items == 40
    labels = np.arange(40) % 2
    assert shown.take(labels) is labels and shown.take(None) is None
    assert views.MAX_VIEW_ITEMS == 20_000


def test_large_h_is_drawn_as_a_fixed_sorted_random_subsample():
    H = np.random.default_rng(1).random((3, 500))
    shown = views.view_items(H, limit=50)
    assert shown.items.size == 50 and np.all(np.diff(shown.items) > 0)
    np.testing.assert_array_equal(shown.H, H[:, shown.items])
    np.testing.assert_array_equal(views.view_items(H, limit=50).items, shown.items)  # same seed, same items
    assert not np.array_equal(views.view_items(H, limit=50, seed=1).items, shown.items)
    assert shown.items.min() < 100 and shown.items.max() > 400  # drawn from all of H, not its start
    assert shown.note == "showing 50 of 500 items"
    names = np.array([f"cell {j}" for j in range(500)])
    np.testing.assert_array_equal(shown.take(names), names[shown.items])


def test_lazy_h_computes_only_its_drawn_columns():
    H = np.random.default_rng(2).random((4, 1000))
    lazy, read = _lazy(H, 100)
    shown = views.view_items(lazy, limit=5)
    assert shown.items.size == 5 and shown.note == "showing 5 of 1,000 items"
    np.testing.assert_array_equal(shown.H, H[:, shown.items])
    assert len(read) == len({int(j) // 100 for j in shown.items}) <= 5  # only the chunks holding them, once each
    np.testing.assert_array_equal(views.view_items(H, limit=5).items, shown.items)  # lazy or not, same items
    small, _ = _lazy(H[:, :30], 10)
    whole = views.view_items(small, limit=100)
    assert whole.items is None and whole.note is None
    np.testing.assert_array_equal(whole.H, H[:, :30])


def test_abundance_maps_keep_every_few_rows_and_columns():
    rows, cols = 150, 200
    H = np.random.default_rng(3).random((2, rows * cols))
    shown = views.view_map(H, (rows, cols), limit=20_000)
    assert shown.shape == (75, 100) and shown.items.size == 7500
    for k in range(2):
        np.testing.assert_array_equal(shown.H[k].reshape(shown.shape), H[k].reshape(rows, cols)[::2, ::2])
    assert shown.note.startswith("showing 7,500 of 30,000 pixels (a 75 x 100 grid")
    assert views.view_map(H, (rows, cols), limit=30_000).items is None
    lazy, _ = _lazy(H, 5000)
    np.testing.assert_array_equal(views.view_map(lazy, (rows, cols), limit=7000).H,  # stride 3: 50 x 67 pixels
                                  H.reshape(2, rows, cols)[:, ::3, ::3].reshape(2, -1))


def test_layers_page_draws_a_subsample_of_a_lazy_result(monkeypatch):
    import json

    import dask.array as da
    from streamlit.testing.v1 import AppTest

    import nmfcore
    from _app_helpers import APP, TIMEOUT, no_exception

    monkeypatch.setattr(views, "MAX_VIEW_ITEMS", 200)
    n = 1000
    X = da.from_array(np.random.default_rng(4).random((15, n)), chunks=(15, 250))
    result = nmfcore.nmf(X, 3, max_iter=2)
    names = np.array([f"c{j}" for j in range(n)])
    ds = nmfcore.Dataset(X=X, kind="scrna", feature_names=np.array([f"g{i}" for i in range(15)]),
                         item_names=names, labels=np.arange(n) % 4)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    no_exception(at)
    at.session_state["dataset"] = ds
    at.session_state["results"] = {"NMF · atlas": result}
    at.switch_page("pages/layers.py").run()
    no_exception(at)
    assert any("Cells: showing 200 of 1,000 items" in c.value for c in at.caption)
    cells = next(c for c in at.get("plotly_chart") if "Cells in 2-D" in c.proto.spec)
    drawn = [name for trace in json.loads(cells.proto.spec)["data"] for name in trace["text"]]
    assert len(drawn) == 200 and sorted(drawn) == sorted(views.view_items(result.H, 200).take(names))
