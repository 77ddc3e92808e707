""":func:`fit_online`: online (minibatch) NMF of a Dask array of item chunks, on local threads or a cluster.

The fit is :func:`nmfcore.classic.online.online_nmf`'s, visit for visit: the same
options, start-point lift, scaling, statistics and stopping rules, the same pass
loop (:func:`~nmfcore.classic.online.run_passes`) and per-batch math
(:func:`~nmfcore.classic.online_solver.solve_batch` where the chunk is,
:meth:`~nmfcore.classic.online_solver.OnlineSolver.fold` here). The batches are the
chunks' runs of ``batch_size`` items (each chunk's last one may be shorter), so when
``batch_size`` divides every chunk the fit equals ``online_nmf`` on the computed X
from the same start point (to rounding).

Each visit is one task on the worker holding its chunk: it gets W and the chunk's H
block, solves the batch's coefficients, keeps the new H block there and returns only
the batch's r x r and m x r terms; W is updated here. W changes after every batch, so
the visits of a pass run one after the other: however many workers the cluster has,
one visit task runs at a time (inherent to online NMF; the parallel passes are the
objective's, once per pass, and the final coefficient solve). Use it for data read
in few passes; the full-batch solvers of :func:`~nmfcore.distributed.fit_chunked`
use every worker at once.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable, Iterator

import numpy as np
from dask.array.utils import meta_from_array

from nmfcore.classic.init import INIT_METHODS
from nmfcore.classic.online import forget_rate, online_options, online_params, run_passes
from nmfcore.classic.online_solver import BatchTerms, OnlineSolver, item_batches
from nmfcore.classic.penalty import Penalty
from nmfcore.data.lazy import as_item_chunks
from nmfcore.distributed.chunk_tasks import Prep, rescaled
from nmfcore.distributed.connect import backend_for
from nmfcore.distributed.init import SketchPlan, plan_sketch, start_point, statistics_pass
from nmfcore.distributed.memory import USABLE_FRACTION, WORKER_BASELINE_BYTES, check_worker_memory, chunk_bytes
from nmfcore.distributed.online_tasks import ClusterVisits, LocalVisits, chunk_counts, objective_pass
from nmfcore.results import NMFResult, relative_error_from_sums
from nmfcore.utils.validation import check_beta, check_choice, check_positive_int, check_rank, resolve_seed

log = logging.getLogger("nmfcore.distributed")


class ChunkBatches:
    """The batches of a chunked fit, for :func:`~nmfcore.classic.online.run_passes`.

    Parameters
    ----------
    solver : OnlineSolver
        Its W is updated after each visit.
    backend : LocalBackend or ClusterBackend
    runner : LocalVisits or ClusterVisits
    blocks : list
        The chunks' H blocks (backend handles), in the fit's units.
    widths : list of int
        Items per chunk.
    batch_size : int
    prep : Prep
    fresh : bool
        ``fresh_restarts``.
    """

    def __init__(self, solver: OnlineSolver, backend: Any, runner: Any, blocks: list[Any], widths: list[int],
                 batch_size: int, prep: Prep, fresh: bool) -> None:
        self.solver, self.backend, self.runner, self.blocks = solver, backend, runner, blocks
        self.widths, self.batch_size, self.prep, self.fresh = widths, batch_size, prep, fresh
        self.residual: tuple[float, float] | None = None

    def visits(self, n_iter: int, tol: float, with_loss: bool) -> Iterator[BatchTerms]:
        """One pass: every batch's visit in order, folded into the solver, its terms yielded."""
        key = 0
        try:
            for b, width in enumerate(self.widths):
                chunk = self.runner.fetch(b, self.blocks)
                for cols in item_batches(width, self.batch_size):
                    self.blocks[b], terms = self.runner.visit(chunk, self.blocks[b], cols, self.solver.W,
                                                              self.solver.batch, self.prep, n_iter, tol, with_loss,
                                                              self.fresh)
                    self.solver.fold(terms, key)
                    key += 1
                    yield terms
        finally:
            self.runner.close()

    def _pass(self, n_iter: int, tol: float, with_residual: bool) -> tuple[list[Any], tuple]:
        shared = (self.backend.share(self.solver.W), self.solver.batch, self.prep, self.batch_size, n_iter, tol,
                  self.fresh, with_residual)
        chunks = self.runner.pass_inputs(self.blocks)
        if chunks is None:
            (H,), part = self.backend.run_pass(objective_pass, [self.blocks], shared, 1)
        else:
            (H,), part = self.backend.run_pass(objective_pass, [chunks, self.blocks], shared, 1, data=None)
        return H, part

    def objective_parts(self) -> tuple[float, float]:
        """(Σ_t D_β(X_t | W H_t), Σ_t penalty of H_t) at the current factors: one pass over the chunks."""
        _, (divergence, penalty, _, _) = self._pass(0, 0.0, False)
        return divergence, penalty

    def finish(self, n_iter: int, tol: float) -> tuple[float, float]:
        """Every batch's coefficients updated ``n_iter`` times at the final W, and :meth:`objective_parts`."""
        self.blocks, (divergence, penalty, residual2, norm2) = self._pass(n_iter, tol, True)
        self.residual = (residual2, norm2)
        return divergence, penalty

    def residual_sums(self) -> tuple[float, float]:
        """(‖X/s − W H‖², ‖X/s‖²) at the current factors (a pass, unless :meth:`finish` gave them)."""
        if self.residual is None:
            _, (_, _, residual2, norm2) = self._pass(0, 0.0, True)
            self.residual = (residual2, norm2)
        return self.residual

    def H(self) -> Any:
        """The H blocks as one Dask array (r, n), in the fit's units."""
        rank = self.solver.W.shape[1]
        return self.backend.as_dask_array(self.blocks, [(rank, w) for w in self.widths], self.prep.dtype)


def fit_online(
    X: Any,
    rank: int,
    *,
    beta: float | str = 2,
    rule: str = "auto",
    init: str | tuple[Any, Any] = "nndsvda",
    batch_size: int = 1024,
    max_iter: int = 10,
    tol: float = 1e-4,
    forget_factor: float | None = None,
    batch_iter: int | None = None,
    final_iter: int | None = None,
    fresh_restarts: bool = False,
    max_no_improvement: int | None = None,
    basis_tol: float | None = None,
    batch_tol: float | None = None,
    relaxed: bool = True,
    alpha_W: float = 0.0,
    alpha_H: float = 0.0,
    l1_ratio: float = 0.0,
    dtype: Any = None,
    random_state: None | int | np.random.Generator = None,
    callback: Callable[[int, np.ndarray, Any, float], Any] | None = None,
    client: Any = None,
    persist: bool | str = "auto",
    threads: int | None = None,
    memory_limit: int | None = None,
    connect_timeout: float = 10.0,
) -> NMFResult:
    """Online NMF X ≈ W H of a chunked Dask array: minibatches of items, ``max_iter`` passes.

    Parameters
    ----------
    X : dask.array.Array, shape (m, n)
        Features x items, dense or CSR chunks, nonnegative (brought to item chunks by
        :func:`~nmfcore.data.lazy.as_item_chunks`).
    rank, beta, rule, batch_size, max_iter, tol, forget_factor, batch_iter, final_iter, fresh_restarts
        As :func:`~nmfcore.classic.online.online_nmf`; the batches are runs of
        ``batch_size`` items within each chunk.
    max_no_improvement, basis_tol, batch_tol, relaxed, alpha_W, alpha_H, l1_ratio, dtype, random_state
        As :func:`~nmfcore.classic.online.online_nmf`.
    init : {"nndsvd", "nndsvda", "nndsvdar", "random"} or (W, H)
        As :func:`~nmfcore.distributed.fit_chunked` (the SVD starts are computed over the
        chunks, so they differ from the in-memory ones; a pair gives the same start).
    callback : callable, optional
        ``callback(pass, W, H, loss)`` once per pass, W NumPy and H a Dask array;
        returning ``False`` stops the fit.
    client, persist, threads, memory_limit, connect_timeout
        As :func:`~nmfcore.distributed.fit_chunked`. Without kept chunks each pass reads
        X twice (the visits, one chunk ahead; the objective's pass).

    Returns
    -------
    NMFResult
        As :func:`~nmfcore.classic.online.online_nmf`'s, with ``H`` (r, n) a Dask array
        chunked as X's items (its blocks stay on the workers) and ``extra`` also holding
        the backend, the chunking and whether the chunks were kept.

    Raises
    ------
    ChunkMemoryError
        When a chunk's tasks cannot fit a worker's memory, naming the chunk size to use.
    ConnectionError
        When the scheduler at ``client`` cannot be reached.
    WorkerLostError
        When a worker dies with blocks of the fit.
    """
    start = time.perf_counter()
    beta = check_beta(beta)
    options = online_options(
        beta, rule=rule, batch_size=batch_size, max_iter=max_iter, tol=tol, forget_factor=forget_factor,
        batch_iter=batch_iter, final_iter=final_iter, fresh_restarts=fresh_restarts,
        max_no_improvement=max_no_improvement, basis_tol=basis_tol, batch_tol=batch_tol, relaxed=relaxed,
        alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio, callback=callback,
    )
    if persist not in (True, False, "auto"):
        raise ValueError(f"persist must be True, False or 'auto', got {persist!r}")
    X = as_item_chunks(X, dtype=dtype)
    dtype = np.dtype(X.dtype)
    svd_init = isinstance(init, str) and init != "random"
    rank = check_rank(rank, X.shape) if svd_init else check_positive_int(rank, "rank")
    if isinstance(init, str):
        check_choice(init, "init", INIT_METHODS)
    rng, seed = resolve_seed(random_state)
    m, n = X.shape
    widths = [int(c) for c in X.chunks[1]]

    backend, limit, workers = backend_for(client, X, threads, memory_limit, resilient=False,
                                          timeout=connect_timeout)
    log.info("online fit of a %d x %d matrix in %d chunks on %s", m, n, len(widths), backend.describe())
    plan = plan_sketch(init, rank, (m, n), backend.n_chunks, rng)
    x_sum, persisted, sketch = _memory_plan(backend, X, rank, beta, limit, workers, persist, plan)
    s = x_sum / (m * n)
    prep = Prep(1.0 / s, dtype)
    if persisted:
        backend.persist(prep)
    W, H, init_param = start_point(backend, X, rank, init, options["rule"], rng, s, prep, x_sum, sketch)
    solver = OnlineSolver(
        W, beta, options["rule"], forget_rate(options, n), Penalty.elastic_net(options["alpha_W"] / n,
                                                                               options["l1_ratio"], s, beta),
        Penalty.elastic_net(options["alpha_H"], options["l1_ratio"], s, beta), None, options["relaxed"],
    )
    runner = (LocalVisits if backend.kind == "threads" else ClusterVisits)(backend, prep, persisted)
    source = ChunkBatches(solver, backend, runner, H, widths, options["batch_size"], prep,
                          options["fresh_restarts"])
    del H  # the batches replace the start's blocks as they go; a name here would keep them all fit long

    def report(n_pass: int, W_now: np.ndarray, H_now: Any, loss: float) -> Any:
        log.info("pass %d: loss %.6g (%.2f s)", n_pass, loss, time.perf_counter() - start)
        return None if callback is None else callback(n_pass, W_now, H_now, loss)

    record = run_passes(source, solver, n, s, options, report, start)
    root = math.sqrt(s)
    H_blocks = backend.map_blocks(rescaled, [source.blocks], (root, None))
    params = {"model": "nmf", "rank": rank, "beta": beta, "solver": "online", **online_params(options),
              "init": init_param, "dtype": dtype.name, "random_state": seed}
    extra = {"n_steps": solver.n_steps, "statistics": solver.stats, "scale": s, "backend": backend.describe(),
             "chunks": widths, "persisted": persisted}
    return NMFResult(
        W=solver.W * root, H=backend.as_dask_array(H_blocks, [(rank, w) for w in widths], dtype),
        loss=np.asarray(record.losses), times=np.asarray(record.times), n_iter=record.n_passes,
        converged=record.converged, params=params, relative_error=relative_error_from_sums(*source.residual_sums()),
        stopped=record.stopped, extra=extra,
    )


def _memory_plan(backend: Any, X: Any, rank: int, beta: float, limit: int, workers: int,
                 persist: bool | str, plan: SketchPlan | None) -> tuple[float, bool, np.ndarray | None]:
    """X's sum, read in one pass, whether to keep the prepared chunks, and the start's sketch X Ω (``plan``).

    Refuses chunks too large for a worker.

    A worker runs a task per thread in the objective's passes, and holds a chunk and
    the next one during the visits; it keeps its share of the H blocks (and a copy of
    one). Chunks are kept when they take at most half of the memory the fit may use.
    """
    m, n = X.shape
    widths = [int(c) for c in X.chunks[1]]
    dtype = np.dtype(X.dtype)
    sparse = not isinstance(meta_from_array(X), np.ndarray)
    if backend.kind == "threads":
        per_worker, baseline, where = backend.threads, 0, "this process"
    else:
        info = backend.client.scheduler_info(n_workers=-1)["workers"].values()
        per_worker, baseline, where = max((w.get("nthreads", 1) for w in info), default=1), \
            WORKER_BASELINE_BYTES, "each worker"
    tasks = max(per_worker, 2)
    held = int(2 * rank * n * dtype.itemsize / workers)
    check = dict(threads=tasks, beta=beta, held_bytes=held, baseline=baseline, where=where)
    if not sparse:  # known before reading anything
        check_worker_memory((m, max(widths)), None, rank, dtype, limit, **check)
    counts, (x_sum, _), sketch = statistics_pass(backend, chunk_counts, (dtype,), plan)
    counts = backend.gather(counts)
    if x_sum == 0:
        raise ValueError("X is all zeros; there is nothing to factorise")
    if beta == 0 and sum(c[1] for c in counts) < m * n:
        raise ValueError("beta=0 (Itakura-Saito) is undefined where X has zeros; add a small positive "
                         "offset to X, or use beta > 0")
    sizes = [chunk_bytes((m, w), c[0] if sparse else None, dtype.itemsize) for w, c in zip(widths, counts)]
    widest = int(np.argmax(sizes))
    check_worker_memory((m, widths[widest]), counts[widest][0] if sparse else None, rank, dtype, limit, **check)
    kept_bytes = (2 if sparse else 1) * sum(sizes) / workers
    fits = held + kept_bytes <= 0.5 * USABLE_FRACTION * limit
    return x_sum, persist is True or (persist == "auto" and fits), sketch
