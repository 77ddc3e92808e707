"""A rank scan as a job of a user interface: its cost before it runs, and a queued job.

:func:`nmfcore.judge.rank_scan` fits ``n_runs`` seeds at each rank, so on a large data
set it is the heaviest thing the app runs. Like a fit from the Model page it goes
through the server's :class:`~nmfcore.app.queue.FitQueue` (a bounded number running
at once, memory reserved up front, withdrawn when its session goes away), as a
:class:`~nmfcore.app.jobs.FitJob` whose "iterations" are the scan's fits.

Example
-------
>>> estimate = estimate_scan(X.shape, range(2, 8), n_runs=6, beta=2, max_iter=100)  # doctest: +SKIP
>>> job = scan_job(X, range(2, 8), n_runs=6, beta=2, max_iter=100).start()         # doctest: +SKIP
>>> job.progress().iteration, job.max_iter       # fits done, fits in all           # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from nmfcore.app.cost import FitEstimate, estimate_fit
from nmfcore.app.jobs import FitJob
from nmfcore.judge import RankScan, rank_scan
from nmfcore.utils.validation import check_positive_int


def _checked(ranks: Sequence[int], n_runs: int) -> tuple[list[int], int]:
    """The ranks, sorted and deduplicated, and ``n_runs``, checked as ``rank_scan`` wants them."""
    ranks = sorted({check_positive_int(r, "rank") for r in ranks})
    if not ranks:
        raise ValueError("ranks must name at least one rank")
    return ranks, check_positive_int(n_runs, "n_runs", minimum=2)


def estimate_scan(
    shape: tuple[int, int],
    ranks: Sequence[int],
    *,
    n_runs: int,
    beta: float | str = 2.0,
    max_iter: int = 200,
    nnz: int | None = None,
    dtype: type | np.dtype = np.float64,
    max_items: int = 1000,
) -> FitEstimate:
    """Time and peak memory of :func:`scan_job` before it runs.

    Parameters
    ----------
    shape : (m, n)
        Shape of X.
    ranks : sequence of int
        The ranks scanned.
    n_runs : int
        Seeds per rank.
    beta, max_iter, nnz, dtype
        As for :func:`nmfcore.app.cost.estimate_fit`, of each fit.
    max_items : int
        The consensus matrix's items at most (``rank_scan``'s ``max_items``).

    Returns
    -------
    FitEstimate
        Time and operations of all ``len(ranks) * n_runs`` fits; memory of the
        largest fit, plus the factors the scan keeps while it runs (every run of
        the rank being scanned and the best run of each rank done) and its
        consensus matrix.
    """
    ranks, n_runs = _checked(ranks, n_runs)
    fits = [estimate_fit(shape, r, model="nmf", beta=beta, max_iter=max_iter, nnz=nnz, dtype=dtype) for r in ranks]
    itemsize = np.dtype(dtype).itemsize
    factor_bytes = (shape[0] + shape[1]) * itemsize  # of W and H, per unit of rank
    items = min(shape[1], max_items)
    kept = factor_bytes * (n_runs * ranks[-1] + sum(ranks)) + items * items * 8
    flops = n_runs * sum(f.flops for f in fits)
    return FitEstimate(
        memory_bytes=int(max(f.memory_bytes for f in fits) + kept),
        data_bytes=fits[0].data_bytes,
        flops=flops,
        seconds=n_runs * sum(f.seconds for f in fits),
        flops_per_second=fits[0].flops_per_second,
    )


def _scan(X: Any, ranks: Sequence[int], *, max_iter: int, iterations: int,
          callback: Callable[..., Any], **options: Any) -> RankScan:
    """``rank_scan`` under :class:`FitJob`'s contract: ``max_iter`` counts the fits, and
    ``callback(done)`` follows each (returning False stops the scan after that fit)."""
    del max_iter  # the job's budget of fits, len(ranks) * n_runs: the scan counts them itself
    return rank_scan(X, ranks, max_iter=iterations, callback=lambda done, total: callback(done), **options)


def scan_job(
    X: Any,
    ranks: Sequence[int],
    *,
    n_runs: int,
    beta: float | str = 2.0,
    max_iter: int = 200,
    random_state: int | None = 0,
    name: str = "rank scan",
) -> FitJob:
    """A (not yet started) :class:`FitJob` of :func:`nmfcore.judge.rank_scan` of NMF.

    The job's progress counts fits (``job.max_iter`` is ``len(ranks) * n_runs``);
    :meth:`FitJob.stop` ends the scan after the fit that is running, and the
    result is then the :class:`~nmfcore.judge.RankScan` of the ranks done, with
    ``stopped=True``.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
    ranks : sequence of int
    n_runs : int
        Seeds per rank.
    beta : float or str
    max_iter : int
        Iterations of each fit.
    random_state : int or None
        Seeds of the runs are drawn from it.
    name : str
        Label of the job.

    Returns
    -------
    FitJob
    """
    ranks, n_runs = _checked(ranks, n_runs)
    return FitJob(_scan, X, ranks, max_iter=len(ranks) * n_runs, name=name, n_runs=n_runs, beta=beta,
                  iterations=check_positive_int(max_iter, "max_iter"), random_state=random_state)
