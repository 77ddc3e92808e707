"""The solvers' block parallelism: partitions, task running, nesting."""

import numpy as np
import pytest

import nmfcore
import nmfcore.classic.mu as mu
from nmfcore.utils import parallel as _parallel


def test_blocks_cover_the_range_in_order_without_overlap():
    for size, count in [(10, 3), (7, 7), (5, 1), (1000, 4)]:
        parts = _parallel.blocks(size, count)
        assert len(parts) == count
        assert np.array_equal(np.concatenate([np.arange(size)[p] for p in parts]), np.arange(size))


def test_small_work_stays_serial_and_large_work_uses_every_thread(monkeypatch):
    monkeypatch.setattr(_parallel, "n_threads", lambda: 4)
    assert _parallel.block_count(1000, 1e5) == 1  # too little work for a hand-off
    assert _parallel.block_count(1000, 1e9) == 4
    assert _parallel.block_count(40, 1e9) == 2  # at least 16 rows a block


def test_tasks_return_in_order_and_nested_tasks_do_not_wait_on_themselves():
    assert _parallel.run_tasks(lambda i: i * i, 5) == [0, 1, 4, 9, 16]
    assert _parallel.run_tasks(lambda i: sum(_parallel.run_tasks(lambda j: j + i, 3)), 2) == [3, 6]


def test_a_block_parallel_fit_inside_a_pool_task_completes(monkeypatch):
    monkeypatch.setattr(mu, "block_count", lambda rows, work: 2)
    X = np.random.default_rng(0).random((40, 30))
    losses = _parallel.run_tasks(lambda i: nmfcore.nmf(X, 3, beta=1, max_iter=5, random_state=i).loss[-1], 2)
    assert losses[0] == pytest.approx(nmfcore.nmf(X, 3, beta=1, max_iter=5, random_state=0).loss[-1], rel=1e-12)
