"""Persistent NMF and GNMF: monotone objectives, the paper's simulation, results and replay."""

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from _shared import shared_path

from nmfcore import cluster_scores, knn_accuracy, nmf
from nmfcore.topology import persistent_solver
from nmfcore.topology.graph_nmf import gnmf
from nmfcore.topology.graphs import ScaleGraphs, knn_graph, laplacian
from nmfcore.topology.persistent import PNMFResult, _chain_plan, pnmf, preprocess_items, total_objective
from nmfcore.topology.scales import canonical_scales

LAMBDAS_SIM = (100.0, 100.0, 1.0)


@pytest.fixture(scope="module")
def circles():
    data = scipy.io.loadmat(shared_path("3D_concentric_circles.mat"))
    return data["X"].T, data["Y"].ravel()


@pytest.fixture(scope="module")
def circles_fit(circles):
    X, _ = circles
    snapshots = []

    def keep(sweep, W, H, loss):
        snapshots.append((W.copy(), H.copy(), loss))

    result = pnmf(X, 2, lambdas=LAMBDAS_SIM, max_iter=12, random_state=0, callback=keep)
    return result, snapshots


def _small_data(seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.random((12, 5)) @ rng.random((5, 40)) + 0.05 * rng.random((12, 40))
    return sp.csr_matrix(np.where(X > 0.9, X, 0.0)) if sparse else X


def test_total_objective_never_increases_and_is_the_true_objective(circles, circles_fit):
    X, _ = circles
    result, snapshots = circles_fit
    assert np.all(np.diff(result.loss) <= 1e-10 * result.loss[:-1])
    assert result.loss[-1] < result.loss[0]
    graphs = ScaleGraphs(X, result.scales)
    for (W, H, loss), recorded in zip(snapshots, result.loss[1:]):
        assert loss == recorded
        assert total_objective(X, W, H, graphs, LAMBDAS_SIM) == pytest.approx(loss, rel=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_monotone_on_small_data_dense_and_sparse(sparse):
    X = _small_data(1, sparse)
    result = pnmf(X, 3, lambdas=(1.0, 1.0, 1.0), max_iter=15, tol=0, random_state=1)
    assert result.n_sweeps == 15 and not result.converged
    assert np.all(np.diff(result.loss) <= 1e-10 * result.loss[:-1])
    graphs = ScaleGraphs(X, result.scales)
    assert total_objective(X, result.W, result.H, graphs, (1.0, 1.0, 1.0)) == pytest.approx(result.loss[-1], rel=1e-9)


def test_several_passes_per_product_stay_monotone_and_descend_further():
    X = _small_data(9)
    one = pnmf(X, 3, lambdas=(1.0, 1.0, 1.0), max_iter=6, tol=0, random_state=2)
    three = pnmf(X, 3, lambdas=(1.0, 1.0, 1.0), max_iter=6, tol=0, inner_iter=3, random_state=2)
    assert np.all(np.diff(three.loss) <= 1e-10 * three.loss[:-1])
    assert three.loss[0] == one.loss[0] and three.loss[-1] < one.loss[-1]
    graphs = ScaleGraphs(X, three.scales)
    assert total_objective(X, three.W, three.H, graphs, (1.0, 1.0, 1.0)) == pytest.approx(three.loss[-1], rel=1e-9)


def test_batches_on_threads_give_the_serial_result(monkeypatch):
    import numba

    X = _small_data(10)
    monkeypatch.setattr(persistent_solver, "_MAX_BATCH", 2)  # several batches per half
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = pnmf(X, 3, n_scales=12, max_iter=3, random_state=4)
    finally:
        numba.set_num_threads(threads)
    parallel = pnmf(X, 3, n_scales=12, max_iter=3, random_state=4)
    np.testing.assert_array_equal(parallel.H, serial.H)
    np.testing.assert_array_equal(parallel.loss, serial.loss)


def test_float32_follows_the_float64_path():
    X = _small_data(11)
    double = pnmf(X, 3, n_scales=8, max_iter=4, random_state=5)
    single = pnmf(X.astype(np.float32), 3, n_scales=8, max_iter=4, random_state=5)
    assert single.H.dtype == single.W.dtype == np.float32 and single.params["dtype"] == "float32"
    assert double.H.dtype == np.float64 and double.params["dtype"] == "float64"
    np.testing.assert_allclose(single.loss, double.loss, rtol=1e-4)
    np.testing.assert_allclose(single.H, double.H, rtol=1e-2, atol=1e-3)
    forced = pnmf(X, 3, n_scales=8, max_iter=4, random_state=5, dtype=np.float32)
    assert forced.H.dtype == np.float32
    np.testing.assert_allclose(forced.H, single.H, rtol=1e-4, atol=1e-5)  # X itself was not rounded
    with pytest.raises(ValueError, match="dtype"):
        pnmf(X, 3, dtype=np.int64)


def test_default_chain_spreads_about_300_updates():
    n_iter, updated = _chain_plan(700, None)
    assert n_iter == 1 and updated.sum() == 300 and updated[0] and updated[-1]
    # the skipped scales are spread out: never more than two in a row
    assert np.max(np.diff(np.flatnonzero(updated))) <= 3
    n_iter, updated = _chain_plan(40, None)
    assert n_iter == 8 and updated.all()
    n_iter, updated = _chain_plan(700, 2)
    assert n_iter == 2 and updated.all()


def test_sparse_and_dense_input_give_the_same_path():
    Xs = _small_data(2, sparse=True)
    a = pnmf(Xs, 3, n_scales=6, max_iter=5, random_state=3)
    b = pnmf(Xs.toarray(), 3, n_scales=6, max_iter=5, random_state=3)
    np.testing.assert_allclose(a.scales, b.scales)
    np.testing.assert_allclose(a.H, b.H, rtol=1e-7, atol=1e-10)


def test_simulation_keeps_nested_rings_and_neighbourhoods(circles, circles_fit):
    X, labels = circles
    result, _ = circles_fit
    H1 = result.H[0]
    radius = np.linalg.norm(H1 - H1.mean(axis=1, keepdims=True), axis=0)
    medians = [np.median(radius[labels == c]) for c in np.unique(labels)]
    # the four circles stay four rings around one centre, ordered from inside out
    assert np.all(np.diff(medians) > 0)
    plain = nmf(X, 2, random_state=0)
    assert knn_accuracy(H1, labels, k=5) >= knn_accuracy(plain.H, labels, k=5)


def test_reduced_scales_against_the_full_set_on_the_simulation(circles, circles_fit):
    X, labels = circles
    full, _ = circles_fit
    reduced = pnmf(X, 2, n_scales=10, lambdas=LAMBDAS_SIM, max_iter=12, random_state=0)
    assert full.scales.size == X.shape[1] and reduced.scales.size == 10
    assert np.all(np.isin(reduced.scales, full.scales))
    assert reduced.scales[0] == full.scales[0] and reduced.scales[-1] == full.scales[-1]
    plain = knn_accuracy(nmf(X, 2, random_state=0).H, labels, k=5)
    acc_full, acc_reduced = knn_accuracy(full.H[0], labels), knn_accuracy(reduced.H[0], labels)
    assert acc_reduced >= plain
    assert abs(acc_reduced - acc_full) <= 0.1


def test_result_layers_params_and_replay():
    X = _small_data(4)
    result = pnmf(X, 2, n_scales=5, max_iter=4, random_state=7)
    assert isinstance(result, PNMFResult)
    T, m, n = 5, *X.shape
    assert result.W.shape == (T, m, 2) and result.H.shape == (T, 2, n)
    np.testing.assert_allclose(np.linalg.norm(result.W, axis=1), 1.0)  # the unit-norm gauge of W
    layers = result.layers()
    assert [layer.name for layer in layers][0] == f"scale 1 (ε={result.scales[0]:.3g})"
    assert len(layers) == T and np.array_equal(layers[2].W, result.W[2]) and layers[2].H.shape == (2, n)
    assert result.loss.shape == result.times.shape == (result.n_sweeps + 1,)
    np.testing.assert_allclose(result.increments, np.linalg.norm(np.diff(result.H, axis=0), axis=(1, 2)))
    params = dict(result.params)
    assert params.pop("model") == "pnmf"
    rank = params.pop("rank")
    params.pop("n_scales")
    replay = pnmf(X, rank, **params)
    np.testing.assert_array_equal(replay.H, result.H)


def test_callback_stops_cleanly():
    X = _small_data(5)
    result = pnmf(X, 2, n_scales=4, max_iter=50, tol=0, callback=lambda s, W, H, loss: s < 3)
    assert result.stopped and result.n_sweeps == 3 and result.loss.size == 4


def test_preprocessing_scales_items_to_unit_norm():
    X = _small_data(6)
    for method in ("l2", "log1p_l2"):
        out = preprocess_items(X, method)
        np.testing.assert_allclose(np.linalg.norm(out, axis=0), 1.0)
    np.testing.assert_allclose(preprocess_items(X, "log1p_l2"), preprocess_items(np.log10(1 + X), "l2"))
    sparse = preprocess_items(sp.csr_matrix(X), "log1p_l2")
    assert sp.issparse(sparse)
    np.testing.assert_allclose(sparse.toarray(), preprocess_items(X, "log1p_l2"))


def test_gnmf_objective_decreases_and_uses_the_graph():
    X = _small_data(7)
    result = gnmf(X, 3, lambdas=5.0, max_iter=200, tol=0, random_state=0)
    assert result.params["model"] == "gnmf" and result.n_iter == 200
    assert np.all(np.diff(result.loss) <= 1e-10 * result.loss[:-1])
    L = laplacian(knn_graph(X, 8)).toarray()
    direct = np.sum((X - result.W @ result.H) ** 2) + 5.0 * np.trace(result.H @ L @ result.H.T)
    assert direct == pytest.approx(result.loss[-1], rel=1e-9)
    # the graph term pulls neighbours together compared with λ = 0
    free = gnmf(X, 3, lambdas=0.0, max_iter=200, tol=0, random_state=0)
    smooth = lambda H: np.trace(H @ L @ H.T) / np.sum(H**2)  # noqa: E731
    assert smooth(result.H) < smooth(free.H)


def test_bad_arguments_name_the_problem():
    X = _small_data(8)
    with pytest.raises(ValueError, match="lambdas"):
        pnmf(X, 2, lambdas=(1, 1))
    with pytest.raises(ValueError, match="preprocess"):
        pnmf(X, 2, preprocess="zscore")
    with pytest.raises(ValueError, match="strictly increasing"):
        pnmf(X, 2, scales=[0.3, 0.1])
    with pytest.raises(ValueError, match="graph must have shape"):
        gnmf(X, 2, graph=np.eye(3))


@pytest.mark.slow
def test_pbmc_finest_scale_beats_plain_nmf():
    import scanpy

    adata = scanpy.datasets.pbmc68k_reduced()
    X = preprocess_items(adata.raw.X.T.toarray(), "l2")
    labels = adata.obs["bulk_labels"].to_numpy()
    rank = 27
    path = pnmf(X, rank, n_scales=20, random_state=0)
    plain = nmf(X, rank, random_state=0)
    assert cluster_scores(path.H[0], labels)["ari"] > cluster_scores(plain.H, labels)["ari"]
    assert canonical_scales(X, n_scales=20).tolist() == path.scales.tolist()
