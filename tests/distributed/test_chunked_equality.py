"""fit_chunked equals the in-memory nmf from the same start point and iteration count (float64, 1e-8):
MU for β = 0.5, 1, 1.5, 2, relaxed MU and HALS, dense and CSR chunks of uneven sizes, on Dask's local
threads and on a LocalCluster of 2 worker processes."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import nmfcore
from _chunked import BOUNDS, M, N, RANK, assert_same_fit, chunked, problem, start_point
from nmfcore.distributed import fit_chunked

CASES = [(1.0, "mu"), (1.5, "mu"), (2.0, "mu"), (0.5, "mu"), (1.5, "relaxed-mu"), (1.0, "relaxed-mu"),
         (2.0, "hals")]


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("beta,solver", CASES)
def test_threads_equal_in_memory(kind, beta, solver):
    X = problem(kind)
    W0, H0 = start_point()
    expected = nmfcore.nmf(X, RANK, beta=beta, solver=solver, init=(W0, H0), max_iter=25, tol=0)
    result = fit_chunked(chunked(X), RANK, beta=beta, solver=solver, init=(W0, H0), max_iter=25, tol=0,
                         client="threads")
    assert_same_fit(result, expected)
    assert isinstance(result.W, np.ndarray) and isinstance(result.H, da.Array)
    assert result.H.chunks[1] == tuple(np.diff(BOUNDS))
    assert result.params == expected.params


@pytest.mark.parametrize("beta,solver", [(1.0, "mu"), (2.0, "hals"), (1.5, "relaxed-mu")])
def test_stopping_rule_and_penalties_match(beta, solver):
    """tol stops at the same iteration (MU β ≠ 2 learns each loss one pass late); penalties scale alike."""
    X = problem("sparse", seed=3)
    W0, H0 = start_point(seed=4)
    options = dict(beta=beta, solver=solver, init=(W0, H0), max_iter=200, tol=1e-3, alpha_W=0.01,
                   alpha_H=0.02, l1_ratio=0.5)
    expected = nmfcore.nmf(X, RANK, **options)
    result = fit_chunked(chunked(X), RANK, client="threads", **options)
    assert expected.converged and expected.n_iter < 200
    assert_same_fit(result, expected)


def test_float32_and_one_chunk():
    X = problem("dense").astype(np.float32)
    W0, H0 = start_point()
    expected = nmfcore.nmf(X, RANK, beta=1, init=(W0, H0), max_iter=10, tol=0)
    result = fit_chunked(da.from_array(X, chunks=(M, N)), RANK, beta=1, init=(W0, H0), max_iter=10, tol=0,
                         client="threads")
    assert result.W.dtype == np.float32 and result.H.dtype == np.float32
    assert_same_fit(result, expected, rtol=1e-4)


@pytest.mark.parametrize("init", ["nndsvda", "nndsvd", "nndsvdar", "random"])
def test_chunked_start_points(init):
    """The chunked NNDSVD (a randomized SVD over chunks) starts near nmf's and reaches the same loss."""
    X = problem("sparse")
    expected = nmfcore.nmf(X, RANK, init=init, max_iter=150, tol=1e-5, random_state=0)
    result = fit_chunked(chunked(X), RANK, init=init, max_iter=300, tol=1e-6, random_state=0, client="threads")
    assert result.params["init"] == init and result.params["random_state"] == 0
    assert np.all(np.diff(result.loss) <= 1e-9 * result.loss[0])
    assert result.loss[0] == pytest.approx(expected.loss[0], rel=0.1)
    assert result.loss[-1] == pytest.approx(expected.loss[-1], rel=0.01)
    again = fit_chunked(chunked(X), RANK, init=init, max_iter=3, random_state=0, client="threads")
    assert again.loss[0] == result.loss[0]


@pytest.mark.parametrize("kind,beta,solver", [("sparse", 1.0, "mu"), ("dense", 1.5, "relaxed-mu"),
                                              ("sparse", 2.0, "hals"), ("dense", 2.0, "mu")])
def test_cluster_equals_in_memory(client, kind, beta, solver):
    X = problem(kind)
    W0, H0 = start_point()
    expected = nmfcore.nmf(X, RANK, beta=beta, solver=solver, init=(W0, H0), max_iter=12, tol=0)
    result = fit_chunked(chunked(X), RANK, beta=beta, solver=solver, init=(W0, H0), max_iter=12, tol=0,
                         client=client)
    assert_same_fit(result, expected)
    assert isinstance(result.W, np.ndarray) and isinstance(result.H, da.Array)
    assert "cluster" in result.extra["backend"]


def test_active_client_is_used(client):
    X = problem("dense")
    result = fit_chunked(chunked(X), RANK, init="random", max_iter=2, tol=0, random_state=0)
    assert "cluster" in result.extra["backend"]
