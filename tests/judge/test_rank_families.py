"""Rank scans of registry families other than plain NMF, and results checked by protocol."""

import numpy as np
import pytest

from nmfcore.judge import compare_results, rank_scan, score_result
from nmfcore.results import Layer


def _blocks(seed=0, m=20, n=30, rank=3):
    rng = np.random.default_rng(seed)
    W = np.kron(np.eye(rank), np.ones((m // rank + 1, 1)))[:m] + 0.01
    labels = np.repeat(np.arange(rank), n // rank)
    H = 0.05 * rng.random((rank, n))
    H[labels, np.arange(n)] += 1.0
    return W @ H + 0.05 * rng.random((m, n))


def test_rank_scan_runs_a_registry_family_from_random_starts():
    scan = rank_scan(_blocks(), [2, 3], n_runs=2, model="gnmf", max_iter=20, random_state=0, n_neighbors=4)
    assert list(scan.ranks) == [2, 3] and scan.params["model"] == "gnmf"
    best = scan.best[3]
    assert best.params["model"] == "gnmf" and best.params["init"] == "random"
    assert best.params["n_neighbors"] == 4 and best.params["max_iter"] == 20
    assert np.all(np.isfinite(scan.error))


def test_rank_scan_nmf_runs_start_at_random_with_the_scan_settings():
    scan = rank_scan(_blocks(1), [2], n_runs=2, beta=1, max_iter=15, tol=1e-3, random_state=0)
    params = scan.best[2].params
    assert params["init"] == "random" and params["beta"] == 1 and params["max_iter"] == 15
    assert params["tol"] == 1e-3


@pytest.mark.parametrize("model", ["deep_nmf", "pca"])
def test_rank_scan_refuses_families_without_a_single_rank(model):
    with pytest.raises(ValueError, match=rf"model='{model}' is not supported; use one of \['gnmf', 'nmf', 'pnmf'\]"):
        rank_scan(_blocks(), [2], model=model)


def test_results_are_recognised_by_protocol_not_by_a_layers_method():
    class OnlyLayers:
        def layers(self):
            return [Layer("x", np.ones((4, 2)), np.ones((2, 3)))]

    with pytest.raises(ValueError, match="FitResult"):
        score_result(OnlyLayers(), labels=[0, 1, 1])
    with pytest.raises(ValueError, match="nmfcore result"):
        compare_results(OnlyLayers(), np.ones((4, 2)))
