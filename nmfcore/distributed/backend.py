"""Where the chunk tasks run: Dask's local threads, or a ``dask.distributed`` cluster.

A fit is a sequence of *passes*. A pass maps one task of
:mod:`nmfcore.distributed.chunk_tasks` over the chunks (each task gets its chunk of X,
that chunk's H blocks and the shared small values), keeps the H blocks the tasks
return where they are, and sums the tasks' last results (the m x r, r x r and scalar
partials) in a tree; only that sum comes back. Both backends offer the same
:meth:`run_pass`, so the driver's iteration loop is written once.

- :class:`LocalBackend` (no cluster): each pass is one graph run by Dask's threaded
  scheduler. X's chunks are read (from disk, for a lazy file) by the pass that needs
  them and dropped once their task is done, so memory holds a few chunks per thread,
  not X. H blocks are NumPy arrays in this process.
- :class:`ClusterBackend` (a :class:`distributed.Client`): tasks are submitted as
  futures; H blocks stay on the workers that computed them, W is scattered to every
  worker once per pass, and the tree sums partials on the worker holding them before
  moving one partial per worker. With a checkpoint folder the W of every pass since
  the last checkpoint is kept, so that Dask can recompute the H blocks of a worker
  that dies from that checkpoint's files (see :mod:`nmfcore.distributed.checkpoint`).
"""

from __future__ import annotations

import operator
import sys
import time
import uuid
from typing import Any, Callable, Sequence

import numpy as np

from nmfcore.distributed.chunk_tasks import Prep, prepared, total
from nmfcore.utils.heap import release_freed
from nmfcore.utils.parallel import single_threaded_blas

#: Parts summed per node of the reduction tree.
SPLIT_EVERY = 8
#: Attempts to scatter W while a dead worker is being removed.
SCATTER_TRIES = 5
#: "client" value that forces Dask's local threads even while a distributed client is active.
THREADS = "threads"


class WorkerLostError(RuntimeError):
    """Workers died during a pass and the chunks they held cannot be rebuilt."""


def _groups(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


class LocalBackend:
    """Passes run by Dask's threaded scheduler in this process.

    Parameters
    ----------
    blocks : list of dask.delayed.Delayed
        X's chunks in item order.
    threads : int
        Scheduler threads (the chunks read and worked on at the same time).
    """

    kind = "threads"

    def __init__(self, blocks: list[Any], threads: int) -> None:
        self.raw = blocks
        self.data: list[Any] = blocks
        self.threads = threads
        self.resilient = False

    @property
    def n_chunks(self) -> int:
        return len(self.raw)

    def persist(self, prep: Prep) -> None:
        """Read and prepare every chunk once and keep them in memory for the passes."""
        import dask

        tasks = [dask.delayed(prepared, pure=False)(block, prep) for block in self.raw]
        with single_threaded_blas(self.threads > 1):
            self.data = list(dask.compute(*tasks, scheduler="threads", num_workers=self.threads))

    def share(self, value: np.ndarray) -> np.ndarray:
        """A value every task reads (W): here, the array itself."""
        return value

    def put_blocks(self, blocks: Sequence[np.ndarray]) -> list[np.ndarray]:
        """H blocks given by the caller, as the passes take them."""
        return [np.array(block) for block in blocks]

    def run_pass(
        self, func: Callable[..., Any], per_chunk: Sequence[Sequence[Any]], shared: tuple, n_keep: int,
        data: str | None = "data",
    ) -> tuple[list[list[Any]], Any]:
        """``func(chunk, *per_chunk[.][b], *shared)`` for every chunk b, keeping ``n_keep`` results.

        Parameters
        ----------
        func : callable
            A task of :mod:`~nmfcore.distributed.chunk_tasks`; it returns the tuple of
            ``n_keep`` per-chunk results and the part to sum (just the part when
            ``n_keep`` is 0).
        per_chunk : sequence of sequences
            Per-chunk arguments (H blocks), one sequence per argument.
        shared : tuple
            Arguments every task gets.
        n_keep : int
        data : {"data", "raw", None}
            The chunk argument: the fit's chunks (prepared if persisted), X's raw chunks,
            or none (a task on H blocks only).

        Returns
        -------
        kept : list of lists
            ``kept[i][b]``, the i-th result of chunk b.
        total
            The sum of the parts, in chunk order.
        """
        import dask

        source = {"data": self.data, "raw": self.raw, None: None}[data]
        tasks = []
        for b in range(self.n_chunks):
            head = [] if source is None else [source[b]]
            call = dask.delayed(func, pure=False, nout=n_keep + 1 if n_keep else None)
            tasks.append(call(*head, *(h[b] for h in per_chunk), *shared))
        parts: list[Any] = [task[n_keep] for task in tasks] if n_keep else tasks
        while len(parts) > 1:
            parts = [dask.delayed(total, pure=False)(group) for group in _groups(parts, SPLIT_EVERY)]
        kept = [[task[i] for task in tasks] for i in range(n_keep)]
        root = parts[0]
        with single_threaded_blas(self.threads > 1):
            kept_values, value = dask.compute(kept, root, scheduler="threads", num_workers=self.threads)
        release_freed()
        return [list(values) for values in kept_values], value

    def map_blocks(self, func: Callable[..., Any], per_chunk: Sequence[Sequence[Any]], shared: tuple) -> list[Any]:
        """``[func(*per_chunk[.][b], *shared) for b]`` (a task on H blocks, nothing summed)."""
        return [func(*(h[b] for h in per_chunk), *shared) for b in range(self.n_chunks)]

    def gather(self, handles: Sequence[Any]) -> list[np.ndarray]:
        return list(handles)

    def anchor(self, paths: Sequence[str], handles: Sequence[Any]) -> list[Any]:
        """After a checkpoint: the H blocks as they are (nothing to recompute here)."""
        return list(handles)

    def load_blocks(self, paths: Sequence[str]) -> list[np.ndarray]:
        """H blocks read from checkpoint files."""
        from nmfcore.distributed.chunk_tasks import load_block

        return [load_block(path) for path in paths]

    def as_dask_array(self, handles: Sequence[Any], shapes: Sequence[tuple[int, int]], dtype: np.dtype) -> Any:
        """H blocks as one Dask array, chunked as X's items, holding the blocks themselves.

        The graph is written out rather than built with ``from_array``, which copies
        each block: a callback's H would cost a copy of H every iteration.
        """
        import dask.array as da

        name = f"nmfcore-H-{uuid.uuid4().hex}"
        graph = {(name, 0, b): h for b, h in enumerate(handles)}
        rows = (shapes[0][0],) if shapes else (0,)
        return da.Array(graph, name, chunks=(rows, tuple(shape[1] for shape in shapes)), dtype=dtype,
                        meta=np.empty((0, 0), dtype=dtype))

    def describe(self) -> str:
        return f"Dask's threaded scheduler ({self.threads} threads)"


class ClusterBackend:
    """Passes submitted to a ``dask.distributed`` cluster.

    Parameters
    ----------
    client : distributed.Client
    blocks : list of dask.delayed.Delayed
        X's chunks in item order.
    resilient : bool
        Keep every shared W since the last :meth:`anchor`, so that the lost H blocks
        of a dead worker can be recomputed from the anchor.
    """

    kind = "cluster"

    def __init__(self, client: Any, blocks: list[Any], resilient: bool) -> None:
        self.client = client
        self.raw = blocks
        self.data: list[Any] | None = None  # persisted futures of the prepared chunks
        self.resilient = resilient
        self._kept_shared: list[Any] = []
        self._placement: list[Any] | None = None  # the worker of each persisted chunk

    @property
    def n_chunks(self) -> int:
        return len(self.raw)

    @property
    def workers(self) -> int:
        return max(len(self.client.scheduler_info(n_workers=-1)["workers"]), 1)

    def persist(self, prep: Prep) -> None:
        """Read and prepare every chunk once, on the workers, and keep them there."""
        import dask

        tasks = [dask.delayed(prepared, pure=False)(block, prep) for block in self.raw]
        self.data = self.client.compute(tasks)
        self._wait(self.data, "reading X's chunks")
        self._placement = self._holders(self.data)

    def share(self, value: np.ndarray) -> Any:
        """W scattered to every worker (one copy each); kept until the next anchor when resilient."""
        from distributed.comm.core import CommClosedError

        for attempt in range(SCATTER_TRIES):
            try:
                future = self.client.scatter(value, broadcast=True, hash=False)
                break
            # a worker died: the scheduler has yet to notice (CommClosedError, OSError), or is removing it
            # while it replicates W (KeyError of its address)
            except (CommClosedError, OSError, KeyError) as error:
                if attempt == SCATTER_TRIES - 1:
                    raise WorkerLostError(f"W could not be sent to the workers ({error}); check the cluster") from error
                time.sleep(0.5 * (attempt + 1))
        if self.resilient:
            self._kept_shared.append(future)
        return future

    def put_blocks(self, blocks: Sequence[np.ndarray]) -> list[Any]:
        """H blocks given by the caller, each sent to the worker of its chunk as a task that holds it
        (so that Dask can rebuild it)."""
        holders = self._holders(self.data) if self.data is not None else [None] * len(blocks)
        futures = [self._submit_near(h, np.array, block) for block, h in zip(blocks, holders)]
        self._wait(futures, "sending the start point")
        return futures

    def _submit_near(self, holder: str | None, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)`` as a task, preferably on ``holder`` (any worker when it is gone)."""
        if holder is None:
            return self.client.submit(func, *args, pure=False)
        return self.client.submit(func, *args, pure=False, workers=[holder], allow_other_workers=True)

    def _chunks(self, data: str | None) -> list[Any] | None:
        if data is None:
            return None
        if data == "data" and self.data is not None:
            return self.data
        return self.client.compute(self.raw)

    def _tree(self, parts: list[Any], holders: list[Any]) -> Any:
        """Sum ``parts`` on the workers: each worker's parts first (in chunk order), then across workers."""
        submit = self.client.submit
        by_worker: dict[Any, list[Any]] = {}
        for part, holder in zip(parts, holders):
            by_worker.setdefault(holder, []).append(part)
        sums = []
        for group in by_worker.values():
            while len(group) > 1:
                group = [submit(total, g, pure=False) for g in _groups(group, SPLIT_EVERY)]
            sums.append(group[0])
        while len(sums) > 1:
            sums = [submit(total, g, pure=False) for g in _groups(sums, SPLIT_EVERY)]
        return sums[0]

    def _holders(self, handles: list[Any] | None) -> list[Any]:
        if not handles:
            return [None] * self.n_chunks
        where = self.client.who_has(handles)
        return [min(where.get(h.key, ()) or ("",)) or None for h in handles]

    def run_pass(
        self, func: Callable[..., Any], per_chunk: Sequence[Sequence[Any]], shared: tuple, n_keep: int,
        data: str | None = "data",
    ) -> tuple[list[list[Any]], Any]:
        """As :meth:`LocalBackend.run_pass`; the kept results are futures on the workers."""
        source = self._chunks(data)
        submit = self.client.submit
        # chunk b's task goes to the worker that keeps chunk b (its H block is there too), so that
        # neither moves when the scheduler balances the tasks
        holders = self._placement or [None] * self.n_chunks
        tasks = []
        for b in range(self.n_chunks):
            head = [] if source is None else [source[b]]
            tasks.append(self._submit_near(holders[b], func, *head, *(h[b] for h in per_chunk), *shared))
        kept = [[submit(operator.getitem, t, i, pure=False) for t in tasks] for i in range(n_keep)]
        parts = [submit(operator.getitem, t, n_keep, pure=False) for t in tasks] if n_keep else tasks
        root = self._tree(parts, holders)
        value = self._wait([root, *(f for row in kept for f in row)], func.__name__, result=root)
        return kept, value

    def map_blocks(self, func: Callable[..., Any], per_chunk: Sequence[Sequence[Any]], shared: tuple) -> list[Any]:
        futures = [self.client.submit(func, *(h[b] for h in per_chunk), *shared, pure=False)
                   for b in range(self.n_chunks)]
        self._wait(futures, func.__name__)
        return futures

    def gather(self, handles: Sequence[Any]) -> list[np.ndarray]:
        return self.client.gather(list(handles))

    def anchor(self, paths: Sequence[str], handles: Sequence[Any]) -> list[Any]:
        """H blocks reloaded from the checkpoint files just written: new roots any worker can rebuild.

        The W kept since the previous anchor is released: no lost block needs it now.
        """
        fresh = self.load_blocks(paths, near=handles)
        self._kept_shared = []
        if self.data is not None:  # a worker may have been replaced since the chunks were placed
            self._placement = self._holders(self.data)
        return fresh

    def load_blocks(self, paths: Sequence[str], near: Sequence[Any] | None = None) -> list[Any]:
        """H blocks read from checkpoint files by the workers holding ``near`` (or the chunks)."""
        from nmfcore.distributed.chunk_tasks import load_block

        near = near if near is not None else self.data
        holders = self._holders(list(near)) if near is not None else [None] * len(paths)
        fresh = [self._submit_near(holder, load_block, path) for path, holder in zip(paths, holders)]
        self._wait(fresh, "reading the checkpoint's blocks")
        return fresh

    def as_dask_array(self, handles: Sequence[Any], shapes: Sequence[tuple[int, int]], dtype: np.dtype) -> Any:
        """H blocks (futures) as one Dask array, chunked as X's items; it holds the futures."""
        import dask
        import dask.array as da

        return da.concatenate(
            [da.from_delayed(dask.delayed(h), shape=s, dtype=dtype) for h, s in zip(handles, shapes)], axis=1
        )

    def describe(self) -> str:
        return f"the Dask cluster at {self.client.scheduler.address} ({self.workers} workers)"

    def _wait(self, futures: list[Any], what: str, result: Any = None) -> Any:
        from distributed import wait
        from distributed.client import FutureCancelledError, FuturesCancelledError
        from distributed.scheduler import KilledWorker

        try:
            with self.client.as_current():  # distributed.wait needs a current client; ours need not be the default
                wait(futures)
            for future in futures:
                if future.status == "error":
                    future.result()
            return None if result is None else result.result()
        except (FutureCancelledError, FuturesCancelledError, KilledWorker) as error:
            hint = ("the checkpoint folder's last checkpoint holds the fit: rerun with resume=True"
                    if self.resilient else
                    "pass checkpoint=<folder shared by the workers> so that the fit survives the loss of "
                    "a worker (Dask rebuilds its chunks from the last checkpoint)")
            raise WorkerLostError(f"workers were lost while {what} ran, with chunks of the fit "
                                  f"that cannot be rebuilt ({type(error).__name__}: {error}); {hint}") from error


def is_client(value: Any) -> bool:
    """True for a :class:`distributed.Client` (without importing distributed)."""
    module = sys.modules.get("distributed")
    return module is not None and isinstance(value, module.Client)
