"""solver="online" on a Dask array (nmfcore.distributed.fit_online): the in-memory online_nmf's fit, visit
for visit, on Dask's local threads and on a LocalCluster of 2 worker processes; H comes back as a Dask
array chunked as X; the loss falls over passes to within 1 % of the full-batch loss."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import nmfcore
from _chunked import BOUNDS, RANK, assert_same_fit, chunked, problem, start_point
from nmfcore.classic.online import online_nmf
from nmfcore.distributed import fit_online

#: Divides every chunk of BOUNDS (70, 30, 120, 80 items), so the batches are online_nmf's.
BATCH = 10


def _pair(X, beta, client="threads", persist="auto", bounds=BOUNDS, batch_size=BATCH, max_iter=4, **options):
    """fit_online on X's uneven chunks and online_nmf on X, from the same start and batches."""
    W0, H0 = start_point()
    settings = dict(beta=beta, init=(W0, H0), batch_size=batch_size, max_iter=max_iter, tol=0, **options)
    return (fit_online(chunked(X, bounds), RANK, client=client, persist=persist, **settings),
            online_nmf(X, RANK, **settings))


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("beta", [2.0, 1.0])
def test_threads_equal_in_memory_online(kind, beta):
    result, expected = _pair(problem(kind), beta)
    assert_same_fit(result, expected)
    assert result.params == expected.params
    assert result.extra["n_steps"] == expected.extra["n_steps"] == 4 * 30


@pytest.mark.parametrize("beta", [2.0, 1.0])
def test_streamed_chunks_with_forgetting_and_penalties_equal_in_memory(beta):
    """Chunks read again each pass (one ahead of the visits), forgetting, penalties, fresh restarts."""
    result, expected = _pair(problem("sparse", seed=2), beta, persist=False, forget_factor=0.7, alpha_W=0.01,
                             alpha_H=0.02, l1_ratio=0.5, fresh_restarts=True)
    assert not result.extra["persisted"]
    assert_same_fit(result, expected)


@pytest.mark.parametrize("persist", [True, False])
def test_cluster_equals_in_memory_online(client, persist):
    """Uneven chunks of 100, 50 and 150 items, batches of 50 (each visit is a round trip to a worker)."""
    result, expected = _pair(problem("sparse"), 1.0, client=client, persist=persist, bounds=(0, 100, 150, 300),
                             batch_size=50, max_iter=3)
    assert "cluster" in result.extra["backend"] and result.extra["persisted"] is persist
    assert_same_fit(result, expected)


def test_H_is_a_dask_array_chunked_as_X():
    X = problem("dense")
    result = fit_online(chunked(X), RANK, init="random", batch_size=25, max_iter=2, random_state=0,
                        client="threads")
    assert isinstance(result.W, np.ndarray) and isinstance(result.H, da.Array)
    assert result.H.chunks[1] == tuple(np.diff(BOUNDS)) and result.H.shape == (RANK, X.shape[1])
    # batches are runs of 25 items within each chunk: 3 + 2 + 5 + 4 per pass
    assert result.extra["n_steps"] == 2 * 14
    assert result.loss[-1] == pytest.approx(nmfcore.beta_divergence(X, result.W, result.H.compute(), 2), rel=1e-9)


def _planted(beta, m=20, n=4000, r=3, seed=0):
    """As tests/classic/test_online.py: Poisson counts for KL, 30 % clipped Gaussian noise for β = 2."""
    rng = np.random.default_rng(seed)
    W0 = rng.random((m, r)) * (rng.random((m, r)) < 0.6) + 0.01
    V = W0 @ rng.gamma(1.0, size=(r, n))
    if beta == 1:
        return rng.poisson(10 * V).astype(float)
    return np.maximum(V + 0.3 * V.mean() * rng.standard_normal((m, n)), 0)


@pytest.mark.parametrize("beta, passes", [(2, 5), (1, 15)])
def test_loss_falls_over_passes_to_within_one_percent_of_the_full_batch_loss(beta, passes):
    X = _planted(beta)
    full = nmfcore.nmf(X, 3, beta=beta, max_iter=2000, tol=1e-8, random_state=0)
    result = fit_online(chunked(X, (0, 1000, 1500, 3000, 4000)), 3, beta=beta, batch_size=500, max_iter=passes,
                        tol=0, random_state=0, client="threads")
    assert result.n_iter == passes and result.loss.shape == (passes + 1,)
    assert np.all(np.diff(result.loss) <= 1e-12 * result.loss[:-1])
    assert result.loss[-1] <= 1.01 * full.loss[-1]


def test_callback_once_per_pass_and_false_stops():
    X = chunked(problem("sparse"))
    seen = []

    def callback(n_pass, W, H, loss):
        seen.append((n_pass, type(W), isinstance(H, da.Array), H.shape, loss))
        return n_pass < 3

    result = nmfcore.nmf(X, RANK, solver="online", batch_size=BATCH, max_iter=10, tol=0, init="random",
                         random_state=0, callback=callback)
    assert [s[0] for s in seen] == [1, 2, 3] and result.stopped and result.n_iter == 3
    assert seen[0][1:4] == (np.ndarray, True, (RANK, X.shape[1]))
    assert [s[4] for s in seen[:2]] == list(result.loss[1:3])  # the last entry is after the final solve


def test_online_options_are_checked():
    X = chunked(problem("dense"))
    with pytest.raises(ValueError, match="options of solver='online'"):
        nmfcore.nmf(X, RANK, batch_size=100)
    with pytest.raises(ValueError, match="solver='online' keeps no checkpoint"):
        nmfcore.distributed.fit_chunked(X, RANK, solver="online", checkpoint="somewhere")
    with pytest.raises(ValueError, match="forget_factor"):
        fit_online(X, RANK, forget_factor=2.0)
