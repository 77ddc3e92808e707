"""Multi-scale ε-graphs, their Laplacians and the kNN graph of GNMF."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import pdist, squareform

from nmfcore.topology.graphs import ScaleGraphs, knn_graph, scale_graphs
from nmfcore.topology.scales import canonical_scales


def _dense_formula(points: np.ndarray, eps: float) -> np.ndarray:
    D = squareform(pdist(points))
    A = np.where((D < eps) & ~np.eye(len(D), dtype=bool), np.exp(-(D**2) / eps**1.5), 0.0)
    return np.diag(A.sum(axis=1)) - A


def test_laplacians_match_a_hand_computed_example():
    # three items on a line at 0, 1 and 3: D01 = 1, D12 = 2, D02 = 3
    X = np.array([[0.0, 1.0, 3.0]])
    L1, L2, L3, L4 = scale_graphs(X, [1.5, 2.0, 2.5, 4.0])
    w = np.exp(-1.0 / 1.5**1.5)
    np.testing.assert_allclose(L1.toarray(), [[w, -w, 0], [-w, w, 0], [0, 0, 0]])
    # D12 = 2 is not below ε = 2: still only the first edge
    w = np.exp(-1.0 / 2.0**1.5)
    np.testing.assert_allclose(L2.toarray(), [[w, -w, 0], [-w, w, 0], [0, 0, 0]])
    a, b = np.exp(-1.0 / 2.5**1.5), np.exp(-4.0 / 2.5**1.5)
    np.testing.assert_allclose(L3.toarray(), [[a, -a, 0], [-a, a + b, -b], [0, -b, b]])
    a, b, c = np.exp(-1 / 8.0), np.exp(-4 / 8.0), np.exp(-9 / 8.0)
    np.testing.assert_allclose(L4.toarray(), [[a + c, -a, -c], [-a, a + b, -b], [-c, -b, b + c]])
    assert all(sp.issparse(L) for L in (L1, L2, L3, L4))


def test_graphs_match_the_dense_formula_for_dense_and_sparse_input():
    X = sp.random(30, 60, density=0.3, random_state=1, format="csr")
    points = X.toarray().T
    scales = np.quantile(pdist(points), [0.05, 0.3, 0.7, 1.0]) + 1e-6
    for data in (X, X.toarray()):
        for L, eps in zip(scale_graphs(data, scales), scales):
            np.testing.assert_allclose(L.toarray(), _dense_formula(points, eps), atol=1e-12)


def test_scales_share_one_edge_list_and_add_edges_only():
    points = np.random.default_rng(2).random((120, 4))
    scales = canonical_scales(points.T, n_scales=15)
    graphs = ScaleGraphs(points.T, scales)
    assert np.all(np.diff(graphs.edge_counts) >= 0)
    assert graphs.edge_counts[-1] == 120 * 119 // 2  # the top scale is the complete graph
    # memory is the sorted pair list (two int32 and one float64 per pair) and its
    # rows per item (an int32 and a float64 per direction of a pair), not T n x n
    assert graphs.nbytes == 16 * graphs.edge_counts[-1] + 24 * graphs.edge_counts[-1] + 8 * 121
    previous = set()
    for t in range(len(graphs)):
        edges = set(zip(*sp.triu(sp.csr_matrix(graphs.adjacency(t)), k=1).nonzero()))
        assert previous <= edges
        previous = edges


def test_connectivity_is_constant_between_canonical_scales():
    points = np.random.default_rng(3).random((80, 2))
    scales = canonical_scales(points.T)
    middles = (scales[:-1] + scales[1:]) / 2
    at_scales = ScaleGraphs(points.T, scales)
    between = ScaleGraphs(points.T, middles)
    for t in range(len(middles)):
        n_between = connected_components(sp.csr_matrix(between.adjacency(t)))[0]
        n_next = connected_components(sp.csr_matrix(at_scales.adjacency(t + 1)))[0]
        assert n_between == n_next
    # each canonical scale has one component more than the next (distinct deaths)
    counts = [connected_components(sp.csr_matrix(at_scales.adjacency(t)))[0] for t in range(len(scales))]
    assert counts[0] == 80 and counts[-1] == 1
    assert np.all(np.diff(counts) == -1)


def test_products_match_the_adjacency():
    points = np.random.default_rng(4).random((90, 3))
    scales = canonical_scales(points.T, n_scales=6)
    graphs = ScaleGraphs(points.T, scales)
    H = np.random.default_rng(5).random((len(graphs), 4, 90))
    batch = graphs.products(np.arange(len(graphs))[::-1], H)
    single = graphs.products(np.arange(len(graphs)), H.astype(np.float32))
    assert single.dtype == np.float32
    for t in range(len(graphs)):
        A = graphs.adjacency(t)
        A = A.toarray() if sp.issparse(A) else A
        np.testing.assert_allclose(graphs.product(t, H[t]), H[t] @ A, atol=1e-12)
        np.testing.assert_allclose(batch[len(graphs) - 1 - t], H[len(graphs) - 1 - t] @ A, atol=1e-12)
        np.testing.assert_allclose(single[t], H[t] @ A, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(graphs.degrees(t), A.sum(axis=1))
    np.testing.assert_array_equal(graphs.degrees(np.array([1, 3])), [graphs.degrees(1), graphs.degrees(3)])
    assert isinstance(graphs.adjacency(len(graphs) - 1), np.ndarray)  # complete graph: dense
    assert sp.issparse(graphs.adjacency(0))


def test_knn_graph_is_the_symmetric_heat_kernel():
    points = np.random.default_rng(6).random((50, 3))
    A = knn_graph(points.T, n_neighbors=5)
    assert (abs(A - A.T)).max() == 0
    D = squareform(pdist(points))
    scale = D.max() ** 1.5
    nearest = np.argsort(D, axis=1)[:, 1:6]
    for i in range(50):
        for j in nearest[i]:
            assert A[i, j] == pytest.approx(np.exp(-D[i, j] ** 2 / scale), rel=1e-10)
    # every nonzero is a kNN pair in at least one direction
    rows, cols = A.nonzero()
    assert all(j in nearest[i] or i in nearest[j] for i, j in zip(rows, cols))


def test_bad_scales_and_neighbours_are_refused():
    X = np.random.default_rng(0).random((3, 10))
    with pytest.raises(ValueError, match="strictly increasing"):
        scale_graphs(X, [0.5, 0.2])
    with pytest.raises(ValueError, match="scales must be"):
        scale_graphs(X, [])
    with pytest.raises(ValueError, match="n_neighbors"):
        knn_graph(X, n_neighbors=10)
