"""Callbacks, checkpoints and resuming, the memory check and the scheduler address of fit_chunked."""

from __future__ import annotations

import json

import dask.array as da
import numpy as np
import pytest

import nmfcore
from _chunked import RANK, assert_same_fit, chunked, problem, start_point
from nmfcore.distributed import ChunkMemoryError, check_worker_memory, fit_chunked, required_per_worker
from nmfcore.distributed.memory import USABLE_FRACTION


@pytest.mark.parametrize("beta,solver", [(1.0, "mu"), (2.0, "hals")])
def test_callback_fires_per_iteration_and_false_stops(beta, solver):
    X = problem("sparse")
    W0, H0 = start_point()
    seen = []

    def callback(iteration, W, H, loss):
        seen.append((iteration, W.shape, type(H), H.shape, loss))
        return iteration < 6

    result = fit_chunked(chunked(X), RANK, beta=beta, solver=solver, init=(W0, H0), max_iter=30, tol=0,
                         callback=callback, client="threads")
    assert [s[0] for s in seen] == list(range(1, 7))
    assert all(s[1] == W0.shape and s[2] is da.Array and s[3] == H0.shape for s in seen)
    assert result.stopped and result.n_iter == 6 and len(result.loss) == 7
    assert [s[4] for s in seen] == pytest.approx(list(result.loss[1:]), rel=1e-12)
    expected = nmfcore.nmf(X, RANK, beta=beta, solver=solver, init=(W0, H0), max_iter=6, tol=0)
    assert_same_fit(result, expected)


@pytest.mark.parametrize("beta,solver", [(1.0, "mu"), (2.0, "hals"), (1.5, "relaxed-mu")])
def test_resumed_fit_equals_uninterrupted(tmp_path, beta, solver):
    X = problem("dense")
    W0, H0 = start_point()
    options = dict(beta=beta, solver=solver, init=(W0, H0), tol=0, client="threads", checkpoint=tmp_path,
                   checkpoint_every=4)
    first = fit_chunked(chunked(X), RANK, max_iter=30, callback=lambda i, W, H, loss: i < 10, **options)
    assert first.stopped and first.n_iter == 10
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    assert state["iteration"] == 10 and len(list(tmp_path.glob("iter-*"))) == 1
    with pytest.raises(ValueError, match="resume=True"):
        fit_chunked(chunked(X), RANK, max_iter=30, **options)
    resumed = fit_chunked(chunked(X), RANK, max_iter=30, resume=True, **options)
    uninterrupted = fit_chunked(chunked(X), RANK, beta=beta, solver=solver, init=(W0, H0), tol=0, max_iter=30,
                                client="threads")
    assert resumed.n_iter == 30 and not resumed.stopped
    assert_same_fit(resumed, uninterrupted, rtol=1e-12)
    assert np.all(np.diff(resumed.times) >= 0)
    with pytest.raises(ValueError, match="another fit"):
        fit_chunked(chunked(X * 2), RANK, max_iter=30, resume=True, **options)


def test_resume_without_checkpoint_starts_fresh(tmp_path):
    X = problem("sparse")
    W0, H0 = start_point()
    result = fit_chunked(chunked(X), RANK, init=(W0, H0), max_iter=3, tol=0, client="threads",
                         checkpoint=tmp_path / "new", resume=True)
    assert result.n_iter == 3 and (tmp_path / "new" / "checkpoint.json").is_file()


def test_memory_need_grows_with_chunk_rank_and_threads():
    base = required_per_worker((2000, 1000), None, 10, np.float64)
    assert required_per_worker((2000, 2000), None, 10, np.float64) > base
    assert required_per_worker((2000, 1000), None, 50, np.float64) > base
    assert required_per_worker((2000, 1000), None, 10, np.float64, threads=4) > base
    assert required_per_worker((2000, 1000), None, 10, np.float32) < base
    assert required_per_worker((2000, 1000), 100_000, 10, np.float64) < base  # 5 % dense


def test_refusal_names_a_chunk_size_that_fits():
    limit = 512 * 2**20
    with pytest.raises(ChunkMemoryError, match=r"use chunks of at most (\d+) items") as caught:
        check_worker_memory((20_000, 10_000), None, 20, np.float64, limit, beta=1.0)
    best = caught.value.chunk_items
    assert 0 < best < 10_000 and f"chunk_items={best}" in str(caught.value)
    assert check_worker_memory((20_000, best), None, 20, np.float64, limit, beta=1.0) <= USABLE_FRACTION * limit
    with pytest.raises(ChunkMemoryError):
        check_worker_memory((20_000, best + 1), None, 20, np.float64, limit, beta=1.0)


def test_fit_refused_before_reading_when_a_chunk_cannot_fit_a_worker():
    """A cluster whose worker has a 400 MB memory limit refuses 2000 x 40000 dense chunks, naming a size."""
    import distributed

    X = da.ones((2000, 80_000), chunks=(2000, 40_000))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, memory_limit="400MB",
                                  dashboard_address=":0") as cluster, distributed.Client(cluster, set_as_default=False) as client:
        with pytest.raises(ChunkMemoryError, match=r"memory limit is 381\.5 MiB.*X\.rechunk\(\{1: \d+\}\)"):
            fit_chunked(X, 5, beta=1, client=client)
    with pytest.raises(ChunkMemoryError, match="this process"):
        fit_chunked(X, 5, beta=1, client="threads", memory_limit=400 * 10**6)


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ConnectionError, match=r"cannot reach a Dask scheduler at 'tcp://127\.0\.0\.1:9'.*threads"):
        fit_chunked(chunked(problem("dense")), RANK, client="tcp://127.0.0.1:9", connect_timeout=1)


def test_bad_arguments():
    X = chunked(problem("dense"))
    with pytest.raises(ValueError, match="beta=2"):
        fit_chunked(X, RANK, beta=1, solver="hals", client="threads")
    with pytest.raises(TypeError, match="client must be"):
        fit_chunked(X, RANK, client=3)
    with pytest.raises(ValueError, match="persist"):
        fit_chunked(X, RANK, persist="sometimes", client="threads")
