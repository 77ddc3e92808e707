"""A rank scan as a queued job: its estimate, its progress in fits, its result and its stop."""

from __future__ import annotations

import numpy as np
import pytest

from nmfcore.app.cost import estimate_fit
from nmfcore.app.lessons import planted_example
from nmfcore.app.queue import FitQueue, QueueRefusal
from nmfcore.app.scan import estimate_scan, scan_job
from nmfcore.judge import rank_scan

MB = 1 << 20


def test_the_estimate_sums_every_fit_and_keeps_the_runs_of_a_rank():
    shape, ranks = (300, 500), [2, 3, 5]
    estimate = estimate_scan(shape, ranks, n_runs=4, beta=1, max_iter=50)
    fits = [estimate_fit(shape, r, model="nmf", beta=1, max_iter=50) for r in ranks]
    assert estimate.seconds == pytest.approx(4 * sum(f.seconds for f in fits))
    assert estimate.flops == pytest.approx(4 * sum(f.flops for f in fits))
    kept = (300 + 500) * 8 * (4 * 5 + sum(ranks)) + 500 * 500 * 8  # runs of rank 5, best of each, consensus
    assert estimate.memory_bytes == max(f.memory_bytes for f in fits) + kept
    more_runs = estimate_scan(shape, ranks, n_runs=8, beta=1, max_iter=50)
    assert more_runs.seconds == pytest.approx(2 * estimate.seconds) and more_runs.memory_bytes > estimate.memory_bytes


@pytest.mark.parametrize("ranks, n_runs, match", [([], 3, "at least one rank"), ([2, 3], 1, "n_runs"),
                                                  ([0, 2], 3, "rank")])
def test_bad_scan_arguments_are_named(ranks, n_runs, match):
    with pytest.raises(ValueError, match=match):
        estimate_scan((20, 30), ranks, n_runs=n_runs)


def test_a_queued_scan_counts_fits_and_gives_the_scan_rank_scan_gives():
    X = planted_example()[0]
    queue = FitQueue(max_running=1, memory_budget=1000 * MB, rss=lambda: 100 * MB)
    job = scan_job(X, [3, 4, 5], n_runs=3, beta=2, max_iter=60, random_state=0)
    assert job.max_iter == 9
    queue.submit("session", job, 10 * MB)
    scan = job.wait(120)
    assert scan is not None, job.progress().error
    progress = job.progress()
    assert (progress.state, progress.iteration, progress.fraction) == ("done", 9, 1.0)
    direct = rank_scan(X, [3, 4, 5], n_runs=3, beta=2, max_iter=60, random_state=0)
    np.testing.assert_array_equal(scan.ranks, direct.ranks)
    np.testing.assert_allclose(scan.error, direct.error)
    assert scan.suggested == direct.suggested and not scan.stopped
    assert queue.wait_idle(10)


def test_the_scan_is_the_session_s_one_fit_in_the_queue():
    X = planted_example()[0]
    queue = FitQueue(max_running=1, memory_budget=1000 * MB, rss=lambda: 100 * MB)
    first = scan_job(X, range(2, 8), n_runs=4, max_iter=200, name="rank scan of planted")
    queue.submit("session", first, 10 * MB)
    with pytest.raises(QueueRefusal, match="rank scan of planted"):
        queue.submit("session", scan_job(X, [2, 3], n_runs=2), 10 * MB)
    first.stop()
    assert first.wait(120) is not None
    assert queue.wait_idle(10)


def test_a_stop_ends_the_scan_after_the_fit_that_runs():
    X = planted_example()[0]
    job = scan_job(X, [3, 4], n_runs=2, max_iter=30)
    job.stop()  # seen at the first fit's end: no rank has its two runs
    job.start()
    scan = job.wait(120)
    assert job.progress().state == "stopped" and job.progress().iteration == 1
    assert scan.stopped and scan.ranks.size == 0
