import numpy as np
import pytest
import scipy.sparse as sp

from nmfcore.judge import (
    compare_results,
    consensus_matrix,
    cophenetic_correlation,
    explained_variance,
    factor_silhouette,
    rank_scan,
    score_result,
    suggest_rank,
)
from nmfcore.results import NMFResult


def _planted_blocks(seed, m=40, n=80, rank=4, noise=0.1):
    rng = np.random.default_rng(seed)
    W = np.kron(np.eye(rank), np.ones((m // rank, 1))) * (0.5 + rng.random((m, 1)))
    labels = np.repeat(np.arange(rank), n // rank)
    H = 0.05 * rng.random((rank, n))
    H[labels, np.arange(n)] += 1 + rng.random(n)
    return W @ H + noise * rng.random((m, n)), W, labels


def _planted_counts(seed, m=50, n=80, rank=4):
    rng = np.random.default_rng(seed)
    W = rng.random((m, rank)) ** 2
    labels = np.repeat(np.arange(rank), n // rank)
    H = 0.1 * rng.random((rank, n))
    H[labels, np.arange(n)] += 1
    return rng.poisson(20 * W @ H).astype(float)


@pytest.mark.parametrize("seed", [0, 1])
def test_rank_scan_picks_planted_rank_on_both_stability_measures(seed):
    X, _, _ = _planted_blocks(seed)
    scan = rank_scan(X, range(2, 8), n_runs=6, max_iter=100, random_state=seed)
    assert scan.suggested["cophenetic"] == 4
    assert scan.suggested["silhouette"] == 4
    assert scan.suggested_rank == 4
    i = list(scan.ranks).index(4)
    assert scan.silhouette[i] > scan.silhouette[i + 1] + 0.05  # over-factorising is unstable


def test_rank_scan_picks_planted_rank_on_poisson_counts():
    scan = rank_scan(_planted_counts(0), [3, 4, 5, 6], n_runs=6, max_iter=100, random_state=0)
    assert scan.suggested == {"cophenetic": 4, "silhouette": 4, "combined": 4}


def test_rank_scan_reports_every_measure_per_rank_and_sparse_input():
    X, _, _ = _planted_blocks(0)
    scan = rank_scan(sp.csr_matrix(X), [1, 3, 5], n_runs=3, max_iter=50, random_state=0)
    assert list(scan.ranks) == [1, 3, 5]
    assert np.all(np.diff(scan.error) < 0)
    assert np.all(np.diff(scan.explained_variance) > 0)
    assert np.isnan(scan.cophenetic[0]) and np.isnan(scan.silhouette[0])
    assert set(scan.best) == {1, 3, 5} and scan.best[3].rank == 3
    assert [row["rank"] for row in scan.table()] == [1, 3, 5]
    assert scan.consensus[5].shape == (80, 80)


def test_rank_scan_callback_stops_and_keeps_ranks_done():
    X, _, _ = _planted_blocks(0)
    calls = []
    scan = rank_scan(X, [2, 3, 4], n_runs=2, max_iter=20, random_state=0,
                     callback=lambda done, total: calls.append((done, total)) or done < 4)
    assert scan.stopped and list(scan.ranks) == [2, 3]
    assert calls[-1] == (4, 6)


def test_rank_scan_accepts_a_model_function():
    from nmfcore import nmf

    seen = []

    def model(X, rank, random_state):
        seen.append(random_state)
        return nmf(X, rank, init="random", max_iter=30, random_state=random_state, beta=1)

    X, _, _ = _planted_blocks(0)
    scan = rank_scan(X, [2, 4], n_runs=3, model=model, random_state=1)
    assert len(set(seen)) == 6 and scan.params["model"] == "model"


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"ranks": []}, "ranks"),
        ({"ranks": 4}, "ranks"),
        ({"ranks": [2, 99]}, "rank"),
        ({"ranks": [2], "n_runs": 1}, "n_runs"),
        ({"ranks": [2], "model": "pca"}, "model"),
        ({"ranks": [2], "init": "nndsvd"}, "init"),
    ],
)
def test_rank_scan_rejects_bad_arguments(kwargs, word):
    X, _, _ = _planted_blocks(0)
    ranks = kwargs.pop("ranks")
    with pytest.raises(ValueError, match=word):
        rank_scan(X, ranks, **kwargs)


def test_consensus_and_cophenetic_on_agreeing_and_disagreeing_runs():
    H1 = np.array([[1, 1, 0, 0], [0, 0, 1, 1.0]])
    agree = consensus_matrix([H1, H1[::-1]])
    assert np.array_equal(agree, np.kron(np.eye(2), np.ones((2, 2))))
    H2 = np.array([[1, 0, 1, 0], [0, 1, 0, 1.0]])
    mixed = consensus_matrix([H1, H2])
    assert mixed[0, 1] == 0.5 and mixed[0, 3] == 0.0
    assert cophenetic_correlation(np.kron(np.eye(3), np.ones((3, 3)))) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    noisy = consensus_matrix([rng.random((3, 30)) for _ in range(5)])
    assert cophenetic_correlation(noisy) < 0.9
    with pytest.raises(ValueError, match="H_runs"):
        consensus_matrix([H1, np.ones((2, 5))])


def test_factor_silhouette_high_for_repeated_factors_low_for_random():
    rng = np.random.default_rng(0)
    W = rng.random((30, 3)) ** 4
    repeated = [W[:, rng.permutation(3)] * rng.uniform(0.5, 2, 3) + 0.01 * rng.random((30, 3))
                for _ in range(5)]
    assert factor_silhouette(repeated) > 0.9
    assert factor_silhouette([rng.random((30, 3)) for _ in range(5)]) < 0.3


def test_explained_variance_dense_and_sparse_agree_and_bound():
    rng = np.random.default_rng(0)
    W, H = rng.random((20, 3)), rng.random((3, 15))
    X = W @ H
    assert explained_variance(X, W, H) == pytest.approx(1.0)
    mean = X.mean(axis=1, keepdims=True)
    assert explained_variance(X, mean, np.ones((1, 15))) == pytest.approx(0.0, abs=1e-12)
    Xs = sp.random(20, 15, density=0.3, random_state=0, format="csr")
    assert explained_variance(Xs, W, H) == pytest.approx(explained_variance(Xs.toarray(), W, H))
    with pytest.raises(ValueError, match="W"):
        explained_variance(X, W[:5], H)


def test_suggest_rank_skips_underfitting_ranks_and_prefers_parsimony():
    ranks = [2, 3, 4, 5]
    error = [0.5, 0.3, 0.01, 0.009]
    assert suggest_rank(ranks, [1.0, 1.0, 1.0, 1.0], error) == 4
    assert suggest_rank(ranks, [1.0, 1.0, 0.9, 0.95], error) == 5
    assert suggest_rank(ranks, [np.nan] * 4, error) is None


def test_compare_results_recovers_a_known_permutation_and_scaling():
    rng = np.random.default_rng(3)
    W, H = rng.random((25, 5)), rng.random((5, 40))
    perm = np.array([3, 0, 4, 1, 2])
    scale = np.array([2.0, 0.5, 3.0, 1.5, 0.25])
    inverse = np.argsort(perm)  # B's column perm[k] is A's column k times scale[k]
    Wb = W[:, inverse] * scale[inverse]
    Hb = H[inverse] / scale[inverse][:, None]
    alignment = compare_results((W, H), (Wb, Hb))
    assert np.array_equal(alignment.perm, perm)
    assert np.allclose(alignment.angles_deg, 0.0, atol=1e-5)
    assert np.allclose(alignment.scales, scale)
    assert np.allclose(alignment.H_correlation, 1.0)
    assert np.allclose(Wb[:, alignment.perm], W * scale)


def test_compare_results_with_different_ranks_and_result_objects():
    rng = np.random.default_rng(0)
    W, H = rng.random((25, 4)), rng.random((4, 30))

    def result(W, H):
        return NMFResult(W, H, np.zeros(1), np.zeros(1), 0, True, {"model": "nmf"}, 0.0)

    small = result(W[:, [2, 0]], H[[2, 0]])
    alignment = compare_results(result(W, H), small)
    assert alignment.n_factors == (4, 2)
    assert sorted(map(tuple, alignment.pairs)) == [(0, 1), (2, 0)]
    assert list(alignment.perm) == [1, -1, 0, -1]
    with pytest.raises(ValueError, match="layer_a"):
        compare_results(result(W, H), small, layer_a=3)
    with pytest.raises(ValueError, match="rows"):
        compare_results(W, W[:10])


def test_score_result_against_truth_and_labels():
    X, W_true, labels = _planted_blocks(0)
    from nmfcore import nmf

    result = nmf(X, 4, max_iter=200, random_state=0)
    scores = score_result(result, W_true=W_true, labels=labels)
    (entry,) = scores.values()
    assert entry["sad_mean_deg"] < 5
    assert entry["ari"] > 0.95
    shuffled = score_result(result, labels=np.random.default_rng(0).permutation(labels))
    assert next(iter(shuffled.values()))["ari"] < 0.2
    with pytest.raises(ValueError, match="W_true"):
        score_result(result)
