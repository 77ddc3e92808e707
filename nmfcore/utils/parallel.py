"""Block parallelism shared by the solvers: one thread pool, single-threaded BLAS.

The solvers alternate BLAS products with compiled entrywise passes. Run each on
all cores in turn (multithreaded BLAS, then numba-parallel kernels) and the two
thread pools' idle workers spin against each other: on two cores that made the
pair about three times slower than running the passes on one core. Instead a
solver cuts its arrays into blocks (rows of X, or columns of H), and each thread
of one pool takes whole blocks, products included, with BLAS limited to one
thread. Idle pool threads sleep, and the arithmetic between products runs on
every core. The blocks are what a chunked array library would map over.

Kernels called from the blocks must be compiled with ``nogil=True``.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import numba
from threadpoolctl import threadpool_limits

_POOL: ThreadPoolExecutor | None = None
_PREFIX = "nmfcore-pool"


def n_threads() -> int:
    """Threads the solvers use: numba's count (``NUMBA_NUM_THREADS``, default the cores)."""
    return numba.get_num_threads()


def _pool(size: int) -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None or _POOL._max_workers < size:
        _POOL = ThreadPoolExecutor(max_workers=size, thread_name_prefix=_PREFIX)
    return _POOL


def run_tasks(task: Callable[[int], Any], n_tasks: int) -> list[Any]:
    """``[task(0), ..., task(n_tasks − 1)]``, task 0 on the calling thread, the rest on the pool.

    Called from a pool thread (a task that starts tasks), it runs them all in
    turn: waiting there on the pool could wait for itself.
    """
    if n_tasks <= 1 or threading.current_thread().name.startswith(_PREFIX):
        return [task(i) for i in range(n_tasks)]
    futures = [_pool(n_tasks - 1).submit(task, i) for i in range(1, n_tasks)]
    first = task(0)
    return [first] + [future.result() for future in futures]


def run_jobs(kernel, n_jobs: int, *args, threads: int | None = None) -> None:
    """``kernel(*args, offset, stride)`` on ``threads`` threads (default :func:`n_threads`, at most ``n_jobs``).

    Each thread runs the jobs ``offset``, ``offset + stride``, ... of a batch.
    """
    count = min(n_threads() if threads is None else threads, n_jobs)
    run_tasks(lambda offset: kernel(*args, offset, max(count, 1)), max(count, 1))


def summed(parts: list[Any]) -> Any:
    """The sum of per-block partial results (arrays), accumulated into the first."""
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total


def blocks(size: int, n_blocks: int) -> list[slice]:
    """``range(size)`` cut into ``n_blocks`` contiguous slices of nearly equal length."""
    return [slice(size * b // n_blocks, size * (b + 1) // n_blocks) for b in range(n_blocks)]


def block_count(rows: int, work: float, min_rows: int = 16, min_work: float = 2e6) -> int:
    """How many row blocks a pass over ``rows`` rows and ``work`` flops is worth (1 = serial).

    Blocks below ``min_rows`` rows, or a pass too small to amortise a thread
    hand-off (``min_work`` flops), are not worth splitting.
    """
    if work < min_work:
        return 1
    return max(1, min(n_threads(), rows // min_rows))


@contextlib.contextmanager
def single_threaded_blas(active: bool = True) -> Iterator[None]:
    """Limit BLAS to one thread while the block-parallel solver runs (no-op if not ``active``)."""
    if not active:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield
