"""What a worker needs to hold while a chunked fit runs, checked before the fit starts.

One task works on one chunk: the chunk as read, its prepared copy (X_b / s; for a
sparse chunk also its transpose), the dense temporaries of the rule (W H_b over the
whole chunk for dense KL, a few of them for other β, a bounded slab for sparse β ∉
{1, 2}), its H blocks and the m x r partials. A worker runs ``threads`` such tasks at a
time and also holds its share of the H blocks (and of X when the chunks are kept in
memory). :func:`required_per_worker` adds this up; :func:`check_worker_memory` refuses a
fit that cannot fit, naming the largest chunk that would.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nmfcore.data.limits import human

#: A worker process with NumPy, SciPy, numba's kernels and Dask loaded, before any data.
WORKER_BASELINE_BYTES = 256 * 2**20
#: Share of a worker's memory limit the fit may plan for (``distributed`` pauses a
#: worker at 80 % of its limit).
USABLE_FRACTION = 0.8
#: Entries of the dense slab a sparse chunk's β ∉ {1, 2} terms form at a time (products.row_blocks).
SLAB_ENTRIES = 2**22
#: Bytes of one stored index of a sparse chunk.
INDEX_BYTES = 4


class ChunkMemoryError(MemoryError):
    """A chunk is too large for the workers' memory.

    Attributes
    ----------
    chunk_items : int
        The largest number of items per chunk that fits (0 when none does).
    """

    def __init__(self, message: str, chunk_items: int) -> None:
        super().__init__(message)
        self.chunk_items = chunk_items


def chunk_bytes(shape: tuple[int, int], nnz: int | None, itemsize: int) -> int:
    """Bytes of one chunk (m, n_t): dense, or CSR with ``nnz`` stored entries."""
    m, n_t = shape
    if nnz is None:
        return m * n_t * itemsize
    return nnz * (itemsize + INDEX_BYTES) + (m + 1) * 8


def task_bytes(shape: tuple[int, int], nnz: int | None, rank: int, itemsize: int, beta: float) -> int:
    """Peak memory of one chunk task (the chunk, its copies, temporaries and blocks).

    Parameters
    ----------
    shape : (m, n_t)
        The chunk's shape.
    nnz : int or None
        Its stored entries when sparse.
    rank : int
    itemsize : int
        Bytes of one value of the fit's dtype.
    beta : float
    """
    m, n_t = shape
    stored = chunk_bytes(shape, nnz, itemsize)
    if nnz is None:
        temporaries = {1.0: 1, 2.0: 0}.get(beta, 4) * m * n_t * itemsize
        copies = 2 * stored
    else:
        slab = 0 if beta in (1.0, 2.0) else 2 * min(m * n_t, SLAB_ENTRIES) * itemsize
        temporaries = (1 if beta in (1.0, 2.0) else 3) * nnz * itemsize + slab
        copies = 3 * stored  # as read, scaled, transposed
    return copies + temporaries + 6 * rank * n_t * itemsize + 4 * m * rank * itemsize


def required_per_worker(
    chunk_shape: tuple[int, int], nnz: int | None, rank: int, dtype: Any, *, threads: int = 1,
    beta: float = 2.0, held_bytes: int = 0, baseline: int = WORKER_BASELINE_BYTES,
) -> int:
    """Bytes a worker needs to run a chunked fit's tasks.

    Parameters
    ----------
    chunk_shape : (m, n_t)
        The largest chunk's shape (features x items).
    nnz : int or None
        Its stored entries (None for dense chunks).
    rank : int
    dtype : numpy dtype
    threads : int
        Tasks the worker runs at a time.
    beta : float
    held_bytes : int
        What the worker keeps between tasks: its share of the H blocks, and of X when
        the chunks stay in memory.
    baseline : int
        The process before any data (0 when the limit is what is still available to a
        process already running, as for local threads).

    Returns
    -------
    int
        ``baseline`` + ``threads`` tasks + ``held_bytes``.
    """
    itemsize = np.dtype(dtype).itemsize
    return baseline + threads * task_bytes(chunk_shape, nnz, rank, itemsize, beta) + held_bytes


def largest_chunk(
    chunk_shape: tuple[int, int], nnz: int | None, rank: int, dtype: Any, limit: int, *, threads: int = 1,
    beta: float = 2.0, held_bytes: int = 0, baseline: int = WORKER_BASELINE_BYTES,
) -> int:
    """The most items per chunk (at the same density) whose tasks fit ``limit``; 0 if none do."""
    m, n_t = chunk_shape
    per_item = None if nnz is None else nnz / max(n_t, 1)
    budget = USABLE_FRACTION * limit

    def fits(items: int) -> bool:
        count = None if per_item is None else int(np.ceil(per_item * items))
        return required_per_worker((m, items), count, rank, dtype, threads=threads, beta=beta,
                                   held_bytes=held_bytes, baseline=baseline) <= budget

    if not fits(1):
        return 0
    low, high = 1, max(n_t, 1)
    while fits(high):
        high *= 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def check_worker_memory(
    chunk_shape: tuple[int, int], nnz: int | None, rank: int, dtype: Any, limit: int, *, threads: int = 1,
    beta: float = 2.0, held_bytes: int = 0, baseline: int = WORKER_BASELINE_BYTES, where: str = "each worker",
) -> int:
    """Refuse a fit whose chunk tasks cannot fit a worker's memory limit.

    Parameters are those of :func:`required_per_worker`, and ``limit`` (bytes) and
    ``where`` (the worker, in the message).

    Returns
    -------
    int
        The bytes needed, when they fit in :data:`USABLE_FRACTION` of ``limit``.

    Raises
    ------
    ChunkMemoryError
        Naming the need, the limit and the chunk size to use.
    """
    need = required_per_worker(chunk_shape, nnz, rank, dtype, threads=threads, beta=beta, held_bytes=held_bytes,
                               baseline=baseline)
    if need <= USABLE_FRACTION * limit:
        return need
    m, n_t = chunk_shape
    best = largest_chunk(chunk_shape, nnz, rank, dtype, limit, threads=threads, beta=beta, held_bytes=held_bytes,
                         baseline=baseline)
    what = (f"chunks of {n_t} items ({m} features, rank {rank}, {np.dtype(dtype).name}) need about "
            f"{human(need)} on {where} ({threads} task(s) at a time and {human(held_bytes)} of held blocks), "
            f"but its memory limit is {human(limit)} (at most {USABLE_FRACTION:.0%} of it is planned for)")
    if best == 0:
        raise ChunkMemoryError(
            f"{what}; even one item per chunk does not fit: use workers with more memory, fewer threads per "
            "worker, or a lower rank", 0)
    raise ChunkMemoryError(
        f"{what}; use chunks of at most {best} items: X.rechunk({{1: {best}}}), or "
        f"open_lazy(path, chunk_items={best})", best)
