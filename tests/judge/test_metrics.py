"""Measures of a factorisation on inputs whose answer is known."""

import numpy as np
import pytest

from nmfcore.judge.metrics import (
    cluster_scores,
    hoyer_sparsity,
    hungarian_accuracy,
    knn_accuracy,
    match_factors,
    purity,
    spectral_angle_distance,
)


def _clusters(seed, per_class=20, centres=((10.0, 0.0, 0.0), (0.0, 10.0, 0.0), (0.0, 0.0, 10.0))):
    """Three tight clusters of columns, far apart, and their labels."""
    rng = np.random.default_rng(seed)
    centres = np.asarray(centres).T
    labels = np.repeat(np.arange(centres.shape[1]), per_class)
    return centres[:, labels] + 0.1 * rng.random((centres.shape[0], labels.size)), labels


def test_hoyer_sparsity_is_one_for_one_hot_and_zero_for_constant_vectors():
    A = np.column_stack([np.eye(6)[:, 2], np.full(6, 3.0), np.zeros(6), [1, 1, 0, 0, 0, 0]])
    sparsity = hoyer_sparsity(A, axis=0)
    assert sparsity[0] == pytest.approx(1.0)
    assert sparsity[1] == pytest.approx(0.0, abs=1e-12)
    assert sparsity[2] == 0.0  # all-zero: defined as 0
    k = 6  # two equal non-zeros: (√k − √2) / (√k − 1)
    assert sparsity[3] == pytest.approx((np.sqrt(k) - np.sqrt(2)) / (np.sqrt(k) - 1))
    np.testing.assert_allclose(hoyer_sparsity(A.T, axis=1), sparsity)
    with pytest.raises(ValueError, match="length >= 2"):
        hoyer_sparsity(np.ones((1, 3)), axis=0)


def test_match_factors_recovers_a_permutation_of_rescaled_factors():
    rng = np.random.default_rng(0)
    A = rng.random((30, 5))
    perm = np.array([2, 4, 0, 1, 3])
    B = np.empty_like(A)
    B[:, perm] = A * rng.uniform(0.5, 4.0, 5)  # B[:, perm[k]] is column k of A, rescaled
    found, angles = match_factors(A, B)
    np.testing.assert_array_equal(found, perm)
    np.testing.assert_allclose(angles, 0.0, atol=1e-5)
    wider = np.column_stack([B, rng.random((30, 2))])  # extra factors of B stay unmatched
    np.testing.assert_array_equal(match_factors(A, wider)[0], perm)
    with pytest.raises(ValueError, match="at least as many"):
        match_factors(A, B[:, :3])


def test_spectral_angle_distance_is_zero_for_identical_and_90_for_orthogonal_spectra():
    rng = np.random.default_rng(1)
    W = rng.random((40, 3))
    mean, per_column, perm = spectral_angle_distance(W[:, [1, 2, 0]], W)
    assert mean == pytest.approx(0.0, abs=1e-5)
    np.testing.assert_allclose(per_column, 0.0, atol=1e-5)
    np.testing.assert_array_equal(perm, [2, 0, 1])
    orthogonal = np.array([[0, 0], [0, 0], [1, 0], [0, 1.0]])
    mean, per_column, _ = spectral_angle_distance(orthogonal, np.array([[1, 0], [0, 1], [0, 0], [0, 0.0]]))
    assert mean == pytest.approx(90.0)
    np.testing.assert_allclose(per_column, 90.0)


def test_cluster_scores_are_perfect_on_separated_clusters_and_low_on_shuffled_labels():
    H, labels = _clusters(0)
    scores = cluster_scores(H, labels)
    assert set(scores) == {"ari", "nmi", "purity", "accuracy"}
    assert scores["ari"] == pytest.approx(1.0)
    assert scores["nmi"] == pytest.approx(1.0)
    assert scores["purity"] == 1.0 and scores["accuracy"] == 1.0
    shuffled = cluster_scores(H, np.random.default_rng(0).permutation(labels))
    assert shuffled["ari"] < 0.2
    with pytest.raises(ValueError, match="one entry per column"):
        cluster_scores(H, labels[:-1])
    with pytest.raises(ValueError, match="two classes"):
        cluster_scores(H, np.zeros(labels.size))


def test_purity_and_hungarian_accuracy_on_a_known_confusion():
    truth = np.array([0, 0, 0, 1, 1, 1])
    predicted = np.array([5, 5, 7, 7, 7, 7])  # cluster 7 mixes one item of class 0 with class 1
    assert purity(truth, predicted) == pytest.approx(5 / 6)
    assert hungarian_accuracy(truth, predicted) == pytest.approx(5 / 6)
    assert hungarian_accuracy(truth, 1 - truth) == 1.0  # names of clusters do not matter


def test_knn_accuracy_is_one_on_separable_clusters():
    H, labels = _clusters(2)
    assert knn_accuracy(H, labels, k=5) == 1.0
    assert knn_accuracy(H, np.random.default_rng(0).permutation(labels), k=5) < 0.6
    with pytest.raises(ValueError, match="k must be"):
        knn_accuracy(H, labels, k=labels.size)
