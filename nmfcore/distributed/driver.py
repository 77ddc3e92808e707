""":func:`fit_chunked`: classic NMF of a Dask array of item chunks, pass by pass.

The fit is :func:`nmfcore.nmf`'s, step for step (the same scaling of X by its mean,
the same start-point lift, penalties, stopping rule and final rescaling), with the
update rules run per chunk by :mod:`nmfcore.distributed.chunk_tasks` and the
iterations of :mod:`nmfcore.distributed.solvers`; only the partial sums come back
from the chunks.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from dask.array.utils import meta_from_array

from nmfcore.classic.fit import choose_solver
from nmfcore.classic.init import INIT_METHODS
from nmfcore.classic.penalty import Penalty
from nmfcore.data.lazy import as_item_chunks
from nmfcore.distributed import checkpoint as checkpoints
from nmfcore.distributed.backend import WorkerLostError
from nmfcore.distributed.chunk_tasks import Prep, chunk_stats, rescaled, row_squares
from nmfcore.distributed.connect import backend_for
from nmfcore.distributed.init import plan_sketch, start_point, statistics_pass
from nmfcore.distributed.memory import USABLE_FRACTION, WORKER_BASELINE_BYTES, check_worker_memory, chunk_bytes
from nmfcore.distributed.online import fit_online
from nmfcore.distributed.solvers import ChunkedHALS, ChunkedMU
from nmfcore.results import NMFResult, relative_error_from_sums
from nmfcore.utils.validation import (
    check_choice,
    check_fit_options,
    check_positive_int,
    check_rank,
    resolve_seed,
)

log = logging.getLogger("nmfcore.distributed")
#: Times a fit with a checkpoint folder continues from its last checkpoint after losing workers.
MAX_RECOVERIES = 3

Callback = Callable[[int, np.ndarray, Any, float], Any]


def _stats(chunk: Any, dtype: np.dtype) -> tuple[tuple[int, int], tuple[float, float, np.ndarray]]:
    total, squares, stored, rows = chunk_stats(chunk, dtype)
    nonzero = int(chunk.count_nonzero()) if sp.issparse(chunk) else int(np.count_nonzero(chunk))
    return (stored, nonzero), (total, squares, rows)


def fit_chunked(
    X: Any,
    rank: int,
    *,
    beta: float | str = 2,
    solver: str = "auto",
    init: str | tuple[Any, Any] = "nndsvda",
    max_iter: int = 200,
    tol: float = 1e-4,
    alpha_W: float = 0.0,
    alpha_H: float = 0.0,
    l1_ratio: float = 0.0,
    dtype: Any = None,
    random_state: None | int | np.random.Generator = None,
    callback: Callback | None = None,
    client: Any = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 10,
    resume: bool = False,
    persist: bool | str = "auto",
    threads: int | None = None,
    memory_limit: int | None = None,
    connect_timeout: float = 10.0,
    batch_size: int | None = None,
    forget_factor: float | None = None,
) -> NMFResult:
    """Classic NMF X ≈ W H of a chunked Dask array, on local threads or a Dask cluster.

    Minimises the objective of :func:`nmfcore.nmf` by its iterations; from the same
    start point and for the same iteration count the factors are the in-memory fit's
    (to rounding). Each iteration is one pass over X's chunks (HALS: two when an
    extrapolated step is discarded): the H block of each chunk is updated where the
    chunk is, and only m x r and r x r partial sums move.

    Parameters
    ----------
    X : dask.array.Array, shape (m, n)
        Features x items (:func:`nmfcore.data.lazy.open_lazy`, or any Dask array: it is
        brought to chunks of items by :func:`~nmfcore.data.lazy.as_item_chunks`), dense or
        CSR chunks, nonnegative.
    rank, beta, solver, max_iter, tol, alpha_W, alpha_H, l1_ratio, dtype, random_state
        As :func:`nmfcore.nmf` (no mask). ``solver="online"`` runs
        :func:`~nmfcore.distributed.online.fit_online` (``max_iter`` passes), with
        ``batch_size`` (default 1024) and ``forget_factor`` (default 0.7) as in :func:`nmfcore.nmf`.
    init : {"nndsvd", "nndsvda", "nndsvdar", "random"} or (W, H)
        As :func:`nmfcore.nmf`; the SVD of the NNDSVD variants is a randomized range
        finder over the chunks and "random" draws each H block from its own seed, so
        these start points differ from the in-memory ones. A pair (W (m, r), H (r, n),
        NumPy or Dask) gives the same start as ``nmf(..., init=(W, H))``.
    callback : callable, optional
        ``callback(iteration, W, H, loss)`` once per iteration, W a NumPy array and H a
        Dask array; returning ``False`` stops the fit at that iteration. For β ≠ 2 MU
        it comes one pass late (the loss of iteration k is computed by pass k + 1).
    client : distributed.Client, str or None
        A client, a scheduler address to connect to, None (the active client if there
        is one, else Dask's local threads) or "threads" (local threads).
    checkpoint : path, optional
        Folder for checkpoints of (W, H blocks, iteration), every ``checkpoint_every``
        iterations and when the fit ends or is interrupted. On a cluster it must be
        shared by the workers; with it, Dask rebuilds the blocks of a worker that dies.
    checkpoint_every : int
    resume : bool
        Continue from the folder's checkpoint when there is one (refused if it is of
        other data or arguments). Without ``resume`` a folder holding a checkpoint is
        refused, so that no fit overwrites another.
    persist : bool or "auto"
        Keep the prepared chunks in memory (on the workers) across passes, instead of
        reading them again each pass; "auto" keeps them when they take at most half of
        the memory the fit may use.
    threads : int, optional
        Local threads (default: the cores); ignored on a cluster.
    memory_limit : int, optional
        Bytes a worker (here: this process) may use; default the cluster's memory limit
        per worker, or the memory available here.
    connect_timeout : float
        Seconds to wait for a scheduler given by address.

    Returns
    -------
    NMFResult
        ``W`` (m, r) NumPy, ``H`` (r, n) a Dask array chunked as X's items (its blocks
        stay on the workers), losses, times and the fields of :func:`nmfcore.nmf`'s
        result; ``extra`` records the backend, the chunking and the passes.

    Raises
    ------
    ChunkMemoryError
        When a chunk's tasks cannot fit a worker's memory, naming the chunk size to use.
    ConnectionError
        When the scheduler at ``client`` cannot be reached.
    WorkerLostError
        When workers die with blocks that cannot be rebuilt (no checkpoint folder).
    """
    if solver == "online":
        if checkpoint is not None or resume:
            raise ValueError("solver='online' keeps no checkpoint; pass neither checkpoint nor resume, or use "
                             "solver='auto', 'mu', 'relaxed-mu' or 'hals' for a fit that can resume")
        return fit_online(X, rank, beta=beta, init=init, batch_size=1024 if batch_size is None else batch_size,
                          max_iter=max_iter, tol=tol, forget_factor=0.7 if forget_factor is None else forget_factor,
                          alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio, dtype=dtype,
                          random_state=random_state, callback=callback, client=client, persist=persist,
                          threads=threads, memory_limit=memory_limit, connect_timeout=connect_timeout)
    if batch_size is not None or forget_factor is not None:
        raise ValueError(f"batch_size and forget_factor are options of solver='online', not of solver={solver!r}")
    start = time.perf_counter()
    beta, max_iter, tol, alpha_W, alpha_H, l1_ratio = check_fit_options(beta, max_iter, tol, alpha_W, alpha_H,
                                                                       l1_ratio, callback)
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    if persist not in (True, False, "auto"):
        raise ValueError(f"persist must be True, False or 'auto', got {persist!r}")
    X = as_item_chunks(X, dtype=dtype)
    dtype = X.dtype
    rank = check_rank(rank, X.shape)
    chosen = choose_solver(solver, beta)
    if isinstance(init, str):
        check_choice(init, "init", INIT_METHODS)
    folder = Path(checkpoint) if checkpoint is not None else None
    if folder is not None and checkpoints.exists(folder) and not resume:
        raise ValueError(f"{str(folder)!r} holds the checkpoint of a fit; pass resume=True to continue it, "
                         "or choose an empty folder")
    rng, seed = resolve_seed(random_state)
    m, n = X.shape
    widths = [int(c) for c in X.chunks[1]]

    backend, limit, workers = backend_for(client, X, threads, memory_limit, resilient=folder is not None,
                                          timeout=connect_timeout)
    log.info("fitting a %d x %d matrix in %d chunks on %s", m, n, len(widths), backend.describe())
    itemsize = np.dtype(dtype).itemsize
    sparse = not isinstance(meta_from_array(X), np.ndarray)
    threads_per = backend.threads if backend.kind == "threads" else _worker_threads(backend)
    h_copies = 4 if chosen == "hals" else 2
    held = int(h_copies * rank * n * itemsize / workers)
    baseline = 0 if backend.kind == "threads" else WORKER_BASELINE_BYTES
    if not sparse:  # known before reading anything
        check_worker_memory((m, max(widths)), None, rank, dtype, limit, threads=threads_per, beta=beta,
                            held_bytes=held, baseline=baseline, where=_where(backend))

    plan = plan_sketch(init, rank, (m, n), backend.n_chunks, rng)
    counts, (x_sum, x_sq_raw, row_sums), sketch = statistics_pass(backend, _stats, (dtype,), plan)
    counts = backend.gather(counts)
    stored = [c[0] for c in counts]
    if x_sum == 0:
        raise ValueError("X is all zeros; there is nothing to factorise")
    if beta == 0 and sum(c[1] for c in counts) < m * n:
        raise ValueError("beta=0 (Itakura-Saito) is undefined where X has zeros; add a small positive "
                         "offset to X, or use beta > 0")
    widest = int(np.argmax([chunk_bytes((m, w), s if sparse else None, itemsize) for w, s in zip(widths, stored)]))
    nnz = stored[widest] if sparse else None
    check_worker_memory((m, widths[widest]), nnz, rank, dtype, limit, threads=threads_per, beta=beta,
                        held_bytes=held, baseline=baseline, where=_where(backend))
    data_bytes = sum(chunk_bytes((m, w), s if sparse else None, itemsize) for w, s in zip(widths, stored))
    kept_bytes = (2 if sparse else 1) * data_bytes / workers
    if persist is True or (persist == "auto" and held + kept_bytes <= 0.5 * USABLE_FRACTION * limit):
        persist = True

    s = x_sum / (m * n)
    state = checkpoints.load(folder, _fingerprint(X, rank, beta, chosen, alpha_W, alpha_H, l1_ratio, x_sum,
                                                  x_sq_raw)) if folder is not None and resume and \
        checkpoints.exists(folder) else None
    if state is not None:
        s = state["stats"]["s"]
    prep = Prep(1.0 / s, np.dtype(dtype))
    if persist is True:
        backend.persist(prep)
    penalty_W = Penalty.elastic_net(alpha_W, l1_ratio, s, beta)
    penalty_H = Penalty.elastic_net(alpha_H, l1_ratio, s, beta)
    x_sq = state["stats"]["x_sq"] if state is not None else x_sq_raw / s**2
    row_sums = state["arrays"]["row_sums"] if state is not None else row_sums / s

    if state is None:
        W, H, init_param = start_point(backend, X, rank, init, chosen, rng, s, prep, x_sum, sketch)
    else:
        W, H, init_param = state["arrays"]["W"], None, state["init"]
    if chosen == "hals":
        solver_state: Any = ChunkedHALS(backend, W, H, penalty_W, penalty_H, prep, x_sq, (m, n), row_sums)
    else:
        solver_state = ChunkedMU(backend, W, H, beta, penalty_W, penalty_H, chosen == "relaxed-mu", prep, x_sq)
    del H  # the solver replaces the start's blocks as it goes; a name here would keep them all fit long

    loss_scale = s**beta
    shapes = [(rank, w) for w in widths]
    record = {
        "fingerprint": _fingerprint(X, rank, beta, chosen, alpha_W, alpha_H, l1_ratio, x_sum, x_sq_raw),
        "stats": {"s": s, "x_sq": x_sq}, "row_sums": row_sums, "init": init_param, "random_state": seed,
    }
    def restored(saved: dict[str, Any]) -> tuple[list[float], list[float], int]:
        blocks = {name: backend.load_blocks(checkpoints.block_paths(folder, saved, name))
                  for name in saved["blocks"]}
        solver_state.restore(saved["arrays"], blocks, saved["meta"])
        log.info("resumed from the checkpoint at iteration %d in %s", saved["iteration"], folder)
        return list(saved["losses"]), list(saved["times"]), int(saved["iteration"])

    if state is not None:
        losses, times, n_done = restored(state)
    else:
        losses, times, n_done = [], [], 0
        first = solver_state.start()
        if first is not None:
            losses.append(first * loss_scale)
            times.append(time.perf_counter() - start)
    base = times[-1] - (time.perf_counter() - start) if state is not None else 0.0
    flags = {"converged": False, "stopped": False, "interrupted": False}
    called = [n_done]  # the last iteration the callback saw (iterations redone after a recovery are not shown again)
    root = float(np.sqrt(s))

    def report(iteration: int, W_at: np.ndarray, H_at: list[Any], loss: float) -> bool:
        losses.append(loss * loss_scale)
        times.append(base + time.perf_counter() - start)
        if iteration == 0:
            return False
        log.info("iteration %d: loss %.6g (%.2f s)", iteration, losses[-1], times[-1] - times[-2])
        if callback is not None and iteration > called[0]:
            called[0] = iteration
            H_view = backend.as_dask_array(H_at, shapes, dtype) * root
            if callback(iteration, W_at * root, H_view, losses[-1]) is False:
                flags["stopped"] = True
                return True
        previous = losses[-2]
        if tol > 0 and previous > 0 and (previous - losses[-1]) / previous < tol:
            flags["converged"] = True
            return True
        return False

    def save(iteration: int) -> None:
        record["losses"], record["times"] = losses, times
        written = checkpoints.save(folder, iteration, solver_state, backend, record)
        fresh = {name: backend.anchor(checkpoints.block_paths(folder, written, name), handles)
                 for name, handles in solver_state.blocks().items()}
        solver_state.rebind(fresh)

    def _iterate() -> bool:
        """Iterations from the solver's current state to the end; True when stopped early."""
        nonlocal n_done
        done = False
        while n_done < max_iter and not done:
            W_before, H_before = solver_state.W, solver_state.H
            known = solver_state.advance()
            n_done += 1
            if solver_state.lagged:
                # a checkpoint written when a fit stopped already holds this loss
                done = n_done - 1 >= len(losses) and report(n_done - 1, W_before, H_before, known)
                if done and n_done - 1 > 0:
                    solver_state.rewind()
                    n_done -= 1
            else:
                done = report(n_done, solver_state.W, solver_state.H, known)
            if folder is not None and not done and n_done % checkpoint_every == 0:
                save(n_done)
        if solver_state.lagged:
            if done:
                solver_state.finish(need_loss=False)
            else:
                report(n_done, solver_state.W, solver_state.H, solver_state.finish(need_loss=True))
        return done

    recoveries = 0
    while True:
        try:
            _iterate()
            break
        except WorkerLostError:
            if folder is None or not checkpoints.exists(folder) or recoveries == MAX_RECOVERIES:
                raise
            recoveries += 1
            log.warning("workers were lost: continuing from the last checkpoint in %s", folder)
            client_of(backend).wait_for_workers(1, timeout=connect_timeout)
            losses[:], times[:], n_done = restored(checkpoints.load(folder, record["fingerprint"]))
        except KeyboardInterrupt:
            flags["stopped"] = flags["interrupted"] = True
            log.warning("interrupted at iteration %d: returning the last complete iterate", n_done)
            break
    if folder is not None:
        save(n_done)
    if len(losses) < n_done + 1:  # interrupted before the current iterate's loss was computed
        losses.append(float("nan"))
        times.append(base + time.perf_counter() - start)

    W = solver_state.W * root
    divisor = None
    if chosen == "hals" and not (alpha_W or alpha_H):  # as nmf's balance_scales
        _, squares = backend.run_pass(row_squares, [solver_state.H], (), 0, data=None)
        w_norm = np.linalg.norm(W, axis=0)
        h_norm = np.sqrt(squares) * root
        ok = (w_norm > 0) & (h_norm > 0)
        divisor = np.ones_like(w_norm)
        divisor[ok] = np.sqrt(h_norm[ok] / w_norm[ok])
        W *= divisor
    H_blocks = backend.map_blocks(rescaled, [solver_state.H], (root, divisor))
    if flags["interrupted"] and solver_state.lagged:
        error = float("nan")
    else:
        error = relative_error_from_sums(*solver_state.residual_sums())
    params = {
        "model": "nmf", "rank": rank, "beta": beta, "solver": chosen, "init": init_param, "max_iter": max_iter,
        "tol": tol, "masked": False, "alpha_W": alpha_W, "alpha_H": alpha_H, "l1_ratio": l1_ratio,
        "dtype": np.dtype(dtype).name, "random_state": seed,
    }
    extra = {"backend": backend.describe(), "chunks": widths, "persisted": persist is True,
             "checkpoint": None if folder is None else str(folder), "interrupted": flags["interrupted"]}
    return NMFResult(
        W=W, H=backend.as_dask_array(H_blocks, shapes, dtype), loss=np.asarray(losses), times=np.asarray(times),
        n_iter=n_done, converged=flags["converged"], params=params, relative_error=error,
        stopped=flags["stopped"], extra=extra,
    )


def client_of(backend: Any) -> Any:
    """The backend's distributed client (worker loss only happens on a cluster)."""
    return backend.client


def _where(backend: Any) -> str:
    return "this process" if backend.kind == "threads" else "each worker"


def _worker_threads(backend: Any) -> int:
    info = backend.client.scheduler_info(n_workers=-1)["workers"]
    return max((w.get("nthreads", 1) for w in info.values()), default=1)


def _fingerprint(X: Any, rank: int, beta: float, solver: str, alpha_W: float, alpha_H: float, l1_ratio: float,
                 x_sum: float, x_sq: float) -> dict[str, Any]:
    return {"shape": list(X.shape), "chunks": [int(c) for c in X.chunks[1]], "dtype": np.dtype(X.dtype).name,
            "rank": rank, "beta": beta, "solver": solver, "alpha_W": alpha_W, "alpha_H": alpha_H,
            "l1_ratio": l1_ratio, "x_sum": x_sum, "x_sq": x_sq}
