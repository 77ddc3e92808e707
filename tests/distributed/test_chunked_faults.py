"""A worker killed mid-fit on the LocalCluster: with a checkpoint folder Dask rebuilds the lost H blocks
and the fit ends with the factors of an uninterrupted fit; without one the fit stops with a clear error.
Also: what moves between the processes per iteration (only W and the m x r and r x r partials)."""

from __future__ import annotations

import os

import pytest

import nmfcore
from _chunked import M, RANK, assert_same_fit, chunked, problem, start_point
from nmfcore.distributed import WorkerLostError, fit_chunked


def _killer(client, at: int):
    """A callback that kills the worker holding the most of the fit at iteration ``at`` (its nanny restarts it)."""

    def callback(iteration, W, H, loss):
        if iteration == at:
            victim = max(client.has_what().items(), key=lambda item: len(item[1]))[0]
            try:
                client.run(os._exit, 1, workers=[victim])
            except Exception:  # the worker dies before it answers  # noqa: BLE001
                pass
        return True

    return callback


@pytest.fixture
def two_workers(client):
    yield client
    client.wait_for_workers(2, timeout=60)


@pytest.mark.parametrize("beta,solver", [(1.0, "mu"), (2.0, "hals")])
def test_killed_worker_is_recomputed_from_the_checkpoint(two_workers, tmp_path, beta, solver):
    client = two_workers
    X = problem("sparse")
    W0, H0 = start_point()
    expected = nmfcore.nmf(X, RANK, beta=beta, solver=solver, init=(W0, H0), max_iter=7, tol=0)
    result = fit_chunked(chunked(X), RANK, beta=beta, solver=solver, init=(W0, H0), max_iter=7, tol=0,
                         client=client, checkpoint=tmp_path, checkpoint_every=2, callback=_killer(client, 4))
    assert_same_fit(result, expected)


def test_killed_worker_without_checkpoint_is_a_clear_error(two_workers):
    client = two_workers
    X = problem("dense")
    W0, H0 = start_point()
    with pytest.raises(WorkerLostError, match="pass checkpoint="):
        fit_chunked(chunked(X), RANK, beta=1.0, init=(W0, H0), max_iter=6, tol=0, client=client,
                    callback=_killer(client, 2))


def test_bytes_moved_per_iteration(client):
    """Worker-to-worker and worker-to-client bytes per iteration stay about workers x (m r + r²) x 8 x 2."""
    X = problem("sparse")
    W0, H0 = start_point()

    def moved() -> int:
        return sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total).values())

    per_fit = []
    for iterations in (2, 7):
        before = moved()
        fit_chunked(chunked(X), RANK, beta=1.0, init=(W0, H0), max_iter=iterations, tol=0, client=client)
        per_fit.append(moved() - before)
    per_iteration = (per_fit[1] - per_fit[0]) / 5
    workers = len(client.scheduler_info(n_workers=-1)["workers"])
    formula = workers * (M * RANK + RANK**2) * 8 * 2
    assert per_iteration <= 4 * formula, (per_iteration, formula)
    print(f"bytes out of the workers per iteration: {per_iteration:.0f} (formula {formula})")
