"""Barcodes, the exact Euclidean MST and canonical scales."""

import numpy as np
import pytest
import scipy.sparse as sp
from ripser import ripser
from scipy.cluster.hierarchy import linkage
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial.distance import pdist, squareform

from nmfcore.topology.homology import barcodes, euclidean_mst
from nmfcore.topology.scales import canonical_scales


def _ripser_deaths(points: np.ndarray) -> np.ndarray:
    dgm = ripser(points, maxdim=0)["dgms"][0]
    return np.sort(dgm[np.isfinite(dgm[:, 1]), 1])


def _separated_blobs(n_per: int, dim: int, seed: int) -> np.ndarray:
    # well-separated clusters larger than the neighbour lists: every list stays
    # inside its cluster, so the exact out-of-component search must be used
    rng = np.random.default_rng(seed)
    centres = 50.0 * np.eye(4, dim) + 60.0
    return np.vstack([c + rng.random((n_per, dim)) for c in centres])


@pytest.mark.parametrize(
    "points",
    [
        np.abs(np.random.default_rng(0).normal(size=(2000, 3))),
        _separated_blobs(100, 5, 1),
    ],
    ids=["n2000-3d", "separated-blobs"],
)
def test_h0_deaths_equal_ripser(points):
    bc = barcodes(points.T, maxdim=0)
    np.testing.assert_allclose(bc.deaths, _ripser_deaths(points), rtol=2e-6, atol=1e-6)
    assert np.isinf(bc.h0[-1, 1]) and np.all(bc.h0[:, 0] == 0)


def test_mst_is_the_minimum_spanning_tree_and_matches_single_linkage():
    points = _separated_blobs(60, 4, 2)
    edges, lengths = euclidean_mst(points.T, n_neighbors=4)
    n = points.shape[0]
    assert edges.shape == (n - 1, 2)
    tree = sp.coo_matrix((lengths, (edges[:, 0], edges[:, 1])), shape=(n, n))
    assert connected_components(tree, directed=False)[0] == 1
    D = squareform(pdist(points))
    np.testing.assert_allclose(lengths.sum(), minimum_spanning_tree(D).sum(), rtol=1e-12)
    np.testing.assert_allclose(lengths, np.sort(linkage(points, "single")[:, 2]), rtol=1e-12)
    np.testing.assert_allclose(lengths, np.linalg.norm(points[edges[:, 0]] - points[edges[:, 1]], axis=1))


def test_sparse_items_and_duplicates_match_single_linkage():
    X = sp.random(40, 250, density=0.1, random_state=3, format="csr")  # many duplicate zero columns
    dense_items = X.toarray().T
    bc = barcodes(X, maxdim=0)
    merge = np.sort(linkage(dense_items, "single")[:, 2])
    np.testing.assert_allclose(bc.deaths, merge, atol=1e-12)
    assert np.sum(bc.deaths == 0) > 0
    np.testing.assert_allclose(bc.diameter, pdist(dense_items).max(), rtol=1e-12)


def test_h1_finds_the_loop_and_reports_landmarks():
    angle = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    circle = np.stack([1 + np.cos(angle), 1 + np.sin(angle)])
    full = barcodes(circle, maxdim=1)
    persistence = np.sort(full.h1[:, 1] - full.h1[:, 0])
    assert persistence[-1] > 1.0 and (persistence.size == 1 or persistence[-2] < 0.1)
    assert full.h1_landmarks is None and "H1 exact" in full.note
    sub = barcodes(circle, maxdim=1, n_landmarks=60)
    assert sub.h1_landmarks == 60 and "60 of 300" in sub.note
    assert np.max(sub.h1[:, 1] - sub.h1[:, 0]) > 1.0
    # H0 never subsamples
    np.testing.assert_allclose(sub.deaths, full.deaths)


def test_canonical_scales_full_set():
    points = np.random.default_rng(4).random((150, 3))
    bc = barcodes(points.T, maxdim=0)
    scales = canonical_scales(bc)
    np.testing.assert_allclose(scales[:-1], np.unique(_ripser_deaths(points)), rtol=2e-6)
    assert scales[-1] == pytest.approx(pdist(points).max() + 1e-9, rel=1e-12)
    assert np.all(np.diff(scales) > 0)
    np.testing.assert_allclose(canonical_scales(points.T), scales)


@pytest.mark.parametrize("method", ["levels", "gaps"])
def test_reduced_scales_are_a_subset_with_both_ends(method):
    points = _separated_blobs(40, 3, 5)
    full = canonical_scales(points.T)
    reduced = canonical_scales(points.T, n_scales=12, method=method)
    assert 2 <= reduced.size <= 12
    assert np.all(np.isin(reduced, full))
    assert reduced[0] == full[0] and reduced[-1] == full[-1]
    assert np.all(np.diff(reduced) > 0)
    if method == "gaps":
        # the three separations between the four blobs are the largest gaps
        gaps = np.diff(full)
        ends = full[np.argsort(-gaps)[:3] + 1]
        assert np.all(np.isin(ends, reduced))


def test_levels_follow_geometric_component_counts():
    points = np.random.default_rng(6).random((400, 2))
    bc = barcodes(points.T, maxdim=0)
    full = canonical_scales(bc)
    reduced = canonical_scales(bc, n_scales=9)
    counts = 400 - np.searchsorted(bc.deaths, reduced, side="left")
    assert reduced.size == 9
    levels = np.geomspace(400, 1, 9)
    np.testing.assert_array_less(counts, levels + 1e-9)
    # each kept scale is the first one reaching its level
    position = np.searchsorted(full, reduced)
    previous = 400 - np.searchsorted(bc.deaths, full[np.maximum(position - 1, 0)], side="left")
    assert np.all((previous[1:] > levels[1:]))


def test_bad_arguments_name_the_problem():
    X = np.random.default_rng(0).random((3, 20))
    with pytest.raises(ValueError, match="maxdim"):
        barcodes(X, maxdim=2)
    with pytest.raises(ValueError, match="n_scales"):
        canonical_scales(X, n_scales=1)
    with pytest.raises(ValueError, match="method"):
        canonical_scales(X, n_scales=3, method="biggest")
    with pytest.raises(ValueError, match="at least 2 columns"):
        barcodes(X[:, :1])
