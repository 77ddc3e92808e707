"""What an online fit runs where a chunk is: batch visits, the objective's pass, and how chunks are fetched.

A chunk of X (m x n_b items) holds ⌈n_b / batch_size⌉ batches of consecutive items
(:func:`~nmfcore.classic.online_solver.item_batches` of the chunk). A *visit* solves
one batch's coefficients with W fixed and returns the chunk's H block (which stays
where the chunk is) and the batch's :class:`~nmfcore.classic.online_solver.BatchTerms`
(r x r and m x r arrays and two scalars), the only thing that moves to the driver.
The math is :func:`~nmfcore.classic.online_solver.solve_batch`, the in-memory
solver's. Tasks never modify their inputs, so H blocks are updated in copies.
"""

from __future__ import annotations

import operator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.classic.blocks import DataBlock
from nmfcore.classic.mu_rules import mu_h_partials
from nmfcore.classic.online_solver import (
    BatchRule,
    BatchTerms,
    batch_coefficients,
    flat_start,
    item_batches,
    solve_batch,
)
from nmfcore.distributed.backend import WorkerLostError
from nmfcore.distributed.chunk_tasks import Prep, chunk_stats, prepared
from nmfcore.results import residual_sums
from nmfcore.utils.heap import release_freed

#: Bytes of W above which it is scattered to the chunk's worker instead of travelling inside the task.
INLINE_W_BYTES = 2**20


def batch_block(block: DataBlock, cols: slice) -> DataBlock:
    """The batch ``cols`` of a prepared chunk, as the in-memory solver tiles it (C-ordered or CSR).

    A sparse batch is cut from the chunk's transpose (rows of Xᵀ, whose cost is the
    batch's entries; a column slice of the CSR chunk reads all of the chunk's), and
    keeps that slice as its own transpose.
    """
    if not block.sparse:
        return DataBlock(np.ascontiguousarray(block.X[:, cols]))
    XT = block.XT[cols]
    return DataBlock(XT.T.tocsr(), XT=XT)


def chunk_counts(chunk: Any, dtype: np.dtype) -> tuple[tuple[int, int], tuple[float, float]]:
    """((stored entries, nonzeros), (Σ X_b, ‖X_b‖²)) of a raw chunk."""
    total, squares, stored, _ = chunk_stats(chunk, dtype)
    nonzero = int(chunk.count_nonzero()) if sp.issparse(chunk) else int(np.count_nonzero(chunk))
    return (stored, nonzero), (total, squares)


def visit(
    chunk: Any, H: np.ndarray, cols: slice, W: np.ndarray, rule: BatchRule, prep: Prep, n_iter: int, tol: float,
    with_loss: bool, fresh: bool,
) -> tuple[np.ndarray, BatchTerms]:
    """One batch's visit on its chunk: (the chunk's H block with the batch's columns solved, the batch's terms).

    Parameters
    ----------
    chunk : raw chunk or DataBlock, shape (m, n_b)
    H : ndarray, shape (r, n_b)
        The chunk's coefficients (not modified).
    cols : slice
        The batch's items within the chunk.
    W : ndarray, shape (m, r)
    rule, n_iter, tol, with_loss
        As :func:`~nmfcore.classic.online_solver.solve_batch`.
    prep : Prep
    fresh : bool
        Start the batch's coefficients from the constant start (``fresh_restarts``).
    """
    block = batch_block(prepared(chunk, prep), cols)
    H_t = flat_start(block, H.shape[0]) if fresh else np.ascontiguousarray(H[:, cols])
    terms = solve_batch(block, W, H_t, rule, n_iter, tol, with_loss)
    out = H.copy()
    out[:, cols] = H_t
    return out, terms


def objective_pass(
    chunk: Any, H: np.ndarray, W: np.ndarray, rule: BatchRule, prep: Prep, batch_size: int, n_iter: int,
    tol: float, fresh: bool, with_residual: bool,
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The chunk's part of the objective at W, after ``n_iter`` coefficient updates of each batch (0: none).

    Returns
    -------
    H_new : ndarray, shape (r, n_b)
        H itself when ``n_iter`` is 0.
    part : tuple
        (Σ_t D_β(X_t | W H_t), Σ_t penalty of H_t, ‖X_b − W H_b‖², ‖X_b‖²), the last two 0
        without ``with_residual``; over the chunk's batches, on X / s.
    """
    whole = prepared(chunk, prep)
    out = H.copy() if n_iter else H
    divergence = penalty = residual2 = norm2 = 0.0
    for cols in item_batches(whole.shape[1], batch_size):
        block = batch_block(whole, cols)
        H_t = np.ascontiguousarray(out[:, cols])
        if n_iter:
            if fresh:
                H_t = flat_start(block, H.shape[0])
            batch_coefficients(block, W, H_t, rule, n_iter, tol)
            out[:, cols] = H_t
        divergence += mu_h_partials(block, W, H_t, rule.beta, with_loss=True).loss
        penalty += rule.penalty_H.value(H_t)
        if with_residual:
            r2, x2 = residual_sums(block.X, W, H_t)
            residual2, norm2 = residual2 + r2, norm2 + x2
    return out, (divergence, penalty, residual2, norm2)


class LocalVisits:
    """Visits in this process (Dask's local threads): chunks read one ahead in a background thread.

    Parameters
    ----------
    backend : LocalBackend
    prep : Prep
    persisted : bool
        The backend's chunks are prepared and kept (``backend.data``); else each pass
        reads them again, one chunk ahead of the visits.
    """

    def __init__(self, backend: Any, prep: Prep, persisted: bool) -> None:
        self.backend, self.prep, self.persisted = backend, prep, persisted
        self._reader: ThreadPoolExecutor | None = None
        self._ahead: dict[int, Future] = {}

    def _read(self, b: int) -> DataBlock:
        raw = self.backend.raw[b].compute(scheduler="threads", num_workers=self.backend.threads)
        return prepared(raw, self.prep)

    def fetch(self, b: int, blocks: list[Any]) -> Any:
        """Chunk b, prepared (and chunk b + 1 requested; ``blocks``, the H blocks, are not needed here)."""
        if self.persisted:
            return self.backend.data[b]
        if self._reader is None:
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="nmfcore-online-read")
        for k in (b, b + 1):
            if k < self.backend.n_chunks and k not in self._ahead:
                self._ahead[k] = self._reader.submit(self._read, k)
        return self._ahead.pop(b).result()

    def visit(self, chunk: Any, H: np.ndarray, cols: slice, W: np.ndarray, *args: Any) -> tuple[Any, BatchTerms]:
        """:func:`visit` here: the new H block and the batch's terms."""
        return visit(chunk, H, cols, W, *args)

    def pass_inputs(self, blocks: list[Any]) -> None:
        """None: a parallel pass reads the backend's chunks (kept, or read by Dask's threads)."""
        return None

    def close(self) -> None:
        """Drop the chunks read ahead, stop the reader and give the freed memory back (:func:`release_freed`)."""
        if self._reader is not None:
            self._reader.shutdown(wait=True, cancel_futures=True)
        self._reader, self._ahead = None, {}
        release_freed()


class ClusterVisits:
    """Visits as tasks on a ``dask.distributed`` cluster, each on the worker holding its chunk.

    The chunks stay on the workers: a visit's task gets the chunk's future, the H
    block's future and W, and only its :class:`BatchTerms` come back. Without kept
    chunks, a chunk is read on a worker when its batches are due (the next one is
    requested at the same time) and released after them.

    Parameters
    ----------
    backend : ClusterBackend
    prep : Prep
    persisted : bool
        The prepared chunks are kept on the workers (``backend.data``).
    """

    def __init__(self, backend: Any, prep: Prep, persisted: bool) -> None:
        self.backend, self.prep, self.persisted = backend, prep, persisted
        self.client = backend.client
        self._ahead: dict[int, Any] = {}
        self._holder: str | None = None  # the worker of the chunk being visited

    def _holder_of(self, future: Any) -> str | None:
        return min(self.client.who_has([future]).get(future.key) or ("",)) or None

    def _near(self, holder: str | None) -> dict[str, Any]:
        return {} if holder is None else {"workers": [holder], "allow_other_workers": True}

    def fetch(self, b: int, blocks: list[Any]) -> Any:
        """The future of chunk b, prepared, once it is there (and chunk b + 1 requested), each read on the
        worker of its H block in ``blocks``."""
        import dask

        if self.persisted:
            chunk = self.backend.data[b]
        else:
            for k in (b, b + 1):
                if k < self.backend.n_chunks and k not in self._ahead:
                    task = dask.delayed(prepared, pure=False)(self.backend.raw[k], self.prep)
                    self._ahead[k] = self.client.compute(task, **self._near(self._holder_of(blocks[k])))
            chunk = self._ahead.pop(b)
        self.result(chunk, "reading a chunk", value=False)
        self._holder = self._holder_of(chunk)
        return chunk

    def pass_inputs(self, blocks: list[Any]) -> list[Any] | None:
        """The chunks for a parallel pass over ``blocks``: None for the kept chunks, else X's chunks read
        on the workers of their H blocks (so that neither moves)."""
        if self.persisted:
            return None
        return [self.client.compute(raw, **self._near(self._holder_of(H))) for raw, H in zip(self.backend.raw, blocks)]

    def visit(self, chunk: Any, H: Any, cols: slice, W: np.ndarray, *args: Any) -> tuple[Any, BatchTerms]:
        """:func:`visit` as a task on ``chunk``'s worker: the future of the new H block, and the batch's terms.

        The task is pinned there (while that worker lives): Dask does not know a prepared
        chunk's size and could otherwise move it to the H block.
        """
        near = self._near(self._holder)
        if W.nbytes > INLINE_W_BYTES:
            W = self.client.scatter(W, workers=near.get("workers"), hash=False)
        submit = self.client.submit
        task = submit(visit, chunk, H, cols, W, *args, pure=False, **near)
        H_new = submit(operator.getitem, task, 0, pure=False)
        terms = submit(operator.getitem, task, 1, pure=False)
        return H_new, self.result(terms, "a batch's visit")

    def result(self, future: Any, what: str, value: bool = True) -> Any:
        """The future's value (or, without ``value``, once it is computed); a lost worker or a cancelled
        task becomes a :class:`WorkerLostError`."""
        from distributed import wait
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        try:
            if not value:
                with self.client.as_current():  # distributed.wait needs a current client
                    wait([future])
                if future.status == "error":
                    future.result()
                return None
            return future.result()
        except (FutureCancelledError, KilledWorker) as error:
            raise WorkerLostError(f"workers were lost while {what} ran ({type(error).__name__}: {error}); an "
                                  "online fit keeps no checkpoint: run it again") from error

    def close(self) -> None:
        """Release the chunks read ahead."""
        self._ahead = {}
