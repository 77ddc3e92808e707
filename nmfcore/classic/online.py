"""Online (minibatch) NMF in memory: the items a batch at a time, a few passes over the data.

:func:`online_nmf` cuts X into column blocks of ``batch_size`` items and visits
them in order, pass after pass, with the per-batch step of
:class:`~nmfcore.classic.online_solver.OnlineSolver` (whose docstring gives the
rules: Mairal et al.'s HALS updates for β = 2, scikit-learn's multiplicative
scheme for any β, forgetting or incremental statistics). Like
:func:`~nmfcore.classic.fit.nmf` it works on X divided by its mean and reports
the whole objective in X's units, once per pass. Its pass loop, :func:`run_passes`,
also drives :mod:`nmfcore.distributed.online` over a Dask array's chunks.
"""

from __future__ import annotations

import math
import time
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import scipy.sparse as sp

from nmfcore.classic.blocks import DataBlock
from nmfcore.classic.data import prepare_data
from nmfcore.classic.init import INIT_METHODS, check_custom_init, initialize
from nmfcore.classic.online_solver import (
    HALS_BATCH_SWEEPS,
    MU_BATCH_STEPS,
    BatchTerms,
    OnlineSolver,
    choose_rule,
    flat_start,
    item_batches,
)
from nmfcore.results import NMFResult, relative_error
from nmfcore.utils.validation import (
    check_beta,
    check_choice,
    check_nonnegative_float,
    check_positive_int,
    check_rank,
    resolve_seed,
)


def _column_blocks(X: np.ndarray | sp.csr_matrix, scale: float, batches: list[slice]) -> list[DataBlock]:
    """The column blocks of X / scale as C-ordered (dense) or CSR (sparse) tiles."""
    if sp.issparse(X):
        Xc = X.tocsc()
        return [DataBlock((Xc[:, cols] * (1.0 / scale)).tocsr().astype(X.dtype)) for cols in batches]
    return [DataBlock(np.ascontiguousarray(X[:, cols] * (1.0 / scale), dtype=X.dtype)) for cols in batches]


class _NoImprovement:
    """scikit-learn's early stop: an exponentially weighted average of the batch costs that stopped improving."""

    def __init__(self, patience: int | None, n_items: int) -> None:
        self.patience, self.n_items = patience, n_items
        self.ewa: float | None = None
        self.best: float | None = None
        self.count = 0

    def stop(self, step: int, cost: float, n_t: int) -> bool:
        if self.patience is None or step == 1:  # the first step's cost predates any W update
            return False
        if self.ewa is None:
            self.ewa = cost
        else:
            alpha = min(n_t / (self.n_items + 1), 1.0)
            self.ewa = self.ewa * (1 - alpha) + cost * alpha
        if self.best is None or self.ewa < self.best:
            self.best, self.count = self.ewa, 0
        else:
            self.count += 1
        return self.count >= self.patience


def online_nmf(
    X: Any,
    rank: int,
    *,
    beta: float | str = 2,
    rule: str = "auto",
    init: str | tuple[np.ndarray, np.ndarray] = "nndsvda",
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
    callback: Callable[[int, np.ndarray, np.ndarray, float], Any] | None = None,
) -> NMFResult:
    """Online NMF X ≈ W H: minibatches of items, ``max_iter`` passes over the data.

    Minimises the objective of :func:`nmfcore.nmf` (β-divergence plus elastic-net
    penalties) for data read in few passes; the rules are
    :class:`~nmfcore.classic.online_solver.OnlineSolver`'s.

    Parameters
    ----------
    X : array-like or sparse matrix, shape (m, n)
        Nonnegative data; columns are the items, taken in order in batches.
    rank : int
    beta : float or str
        As in :func:`nmfcore.nmf`.
    rule : {"auto", "hals", "mu"}
        "hals": Mairal et al.'s updates (β = 2). "mu": the multiplicative form, any
        β. "auto": HALS for β = 2, MU otherwise.
    init : {"nndsvd", "nndsvda", "nndsvdar", "random"} or (W, H)
        Start point, computed on the whole X (as in :func:`nmfcore.nmf`).
    batch_size : int
        Items per batch (the last batch may be smaller).
    max_iter : int
        Most passes over the data.
    tol : float
        Stop when a pass lowers the objective by less than ``tol`` relative to
        the previous pass. 0 turns this off.
    forget_factor : float, optional
        ρ^(batch_size / n) weights the past statistics at each visit, so that a
        pass forgets them by ``forget_factor`` in [0, 1] (scikit-learn's
        convention; the state is O(m r), as for a stream). None (the default):
        each visit replaces the batch's previous statistics, so the sums hold
        every batch once (state O(m r) per batch, r / batch_size of X's size per
        rule term); this reaches the full-batch loss in far fewer passes.
    batch_iter : int, optional
        Coefficient updates per visit: HALS sweeps (default 10, stopping early) or
        MU steps (default 1, as scikit-learn).
    final_iter : int, optional
        Coefficient updates of every batch with the final W after the passes
        (default ``batch_iter``; 0 keeps the coefficients of the last visits).
    fresh_restarts : bool
        Solve each batch's coefficients from the constant start sqrt(mean(X_t)/r)
        at every visit (and at the end) instead of from their last value.
    max_no_improvement : int, optional
        Stop once an exponentially weighted average of the batches' costs has not
        improved for this many consecutive batches (scikit-learn's heuristic).
    basis_tol : float, optional
        Stop once a pass changes W by at most ``basis_tol`` relative to its norm
        (scikit-learn's rule, there per batch, where a batch of items without data
        would stop it; not after a first pass of one visit).
    batch_tol : float, optional
        The relative change of H_t that ends a visit's MU steps early (default ``tol``).
    relaxed : bool
        MU for 1 ≤ β ≤ 2: relaxed coefficient steps and W terms
        (:class:`~nmfcore.classic.online_solver.OnlineSolver`), about twice the progress per pass; False runs
        scikit-learn's plain steps.
    alpha_W, alpha_H, l1_ratio : float
        Penalties of the whole objective, as in :func:`nmfcore.nmf`.
    dtype, random_state
        As in :func:`nmfcore.nmf`.
    callback : callable, optional
        ``callback(pass, W, H, loss)`` after each pass; ``False`` stops the fit.

    Returns
    -------
    NMFResult
        ``loss`` and ``times`` have entry 0 at the start point and one entry per
        pass: the whole objective at that pass's W and the coefficients of the
        batches' last visits (the last entry after the final coefficient updates).
        ``n_iter`` counts passes (a pass cut short by ``max_no_improvement``
        counts); ``params["solver"]`` is "online". ``extra["n_steps"]`` counts
        batch visits and ``extra["statistics"]`` holds the running sums
        (:class:`~nmfcore.classic.online_solver.OnlineStatistics`, in units of X / ``extra["scale"]``).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfcore.classic.online import online_nmf
    >>> X = np.random.default_rng(0).random((30, 500))
    >>> result = online_nmf(X, 3, batch_size=100, max_iter=5, random_state=0)
    >>> result.W.shape, result.H.shape, result.params["solver"]
    ((30, 3), (3, 500), 'online')
    """
    start = time.perf_counter()
    beta = check_beta(beta)
    options = online_options(
        beta, rule=rule, batch_size=batch_size, max_iter=max_iter, tol=tol, forget_factor=forget_factor,
        batch_iter=batch_iter, final_iter=final_iter, fresh_restarts=fresh_restarts,
        max_no_improvement=max_no_improvement, basis_tol=basis_tol, batch_tol=batch_tol, relaxed=relaxed,
        alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio, callback=callback,
    )
    X, _ = prepare_data(X, beta, None, dtype)
    m, n = X.shape
    svd_init = isinstance(init, str) and init != "random"
    rank = check_rank(rank, X.shape) if svd_init else check_positive_int(rank, "rank")
    rng, seed = resolve_seed(random_state)
    if isinstance(init, str):
        check_choice(init, "init", INIT_METHODS)
        W, H = initialize(X, rank, init, rng)
        W, H = np.array(W, order="C"), H.copy()
        init_param: Any = init
    else:
        W, H = check_custom_init(init, X.shape, rank, X.dtype)
        W = np.ascontiguousarray(W)
        init_param = "custom"
    if options["rule"] == "mu":  # MU cannot move an exact zero
        np.maximum(W, np.finfo(X.dtype).eps, out=W)
        np.maximum(H, np.finfo(X.dtype).eps, out=H)

    # The data's scale, as in nmf: the floors relative to it, losses reported in X's units.
    s = float(X.sum()) / (m * n)
    batches = item_batches(n, options["batch_size"])
    solver = OnlineSolver.for_data(
        W, beta=beta, rule=options["rule"], scale=s, rho=forget_rate(options, n), alpha_W=alpha_W / n,
        alpha_H=alpha_H, l1_ratio=l1_ratio, relaxed=relaxed,
    )
    source = MemoryBatches(
        solver, _column_blocks(X, s, batches), [np.ascontiguousarray(H[:, cols]) / math.sqrt(s) for cols in batches],
        options["fresh_restarts"],
    )
    record = run_passes(source, solver, n, s, options, callback, start)
    W = solver.W * math.sqrt(s)
    H = np.hstack(source.H_blocks) * math.sqrt(s)
    params = {"model": "nmf", "rank": rank, "beta": beta, "solver": "online", **online_params(options),
              "init": init_param, "dtype": np.dtype(X.dtype).name, "random_state": seed}
    return NMFResult(
        W=W,
        H=H,
        loss=np.asarray(record.losses),
        times=np.asarray(record.times),
        n_iter=record.n_passes,
        converged=record.converged,
        params=params,
        relative_error=relative_error(X, W, H),
        stopped=record.stopped,
        extra={"n_steps": solver.n_steps, "statistics": solver.stats, "scale": s},
    )


def online_options(beta: float, **options: Any) -> dict[str, Any]:
    """:func:`online_nmf`'s keyword options (all but X, rank, init, dtype, random_state) for a checked β,
    checked and completed: the rule chosen, the solves' defaults filled in."""
    o = dict(options)
    o["batch_size"] = check_positive_int(o["batch_size"], "batch_size")
    o["max_iter"] = check_positive_int(o["max_iter"], "max_iter", minimum=0)
    o["tol"] = check_nonnegative_float(o["tol"], "tol")
    if o["forget_factor"] is not None:
        o["forget_factor"] = check_nonnegative_float(o["forget_factor"], "forget_factor")
        if o["forget_factor"] > 1:
            raise ValueError(f"forget_factor must be in [0, 1], got {o['forget_factor']}")
    o["l1_ratio"] = check_nonnegative_float(o["l1_ratio"], "l1_ratio")
    if o["l1_ratio"] > 1:
        raise ValueError(f"l1_ratio must be in [0, 1], got {o['l1_ratio']}")
    o["alpha_W"] = check_nonnegative_float(o["alpha_W"], "alpha_W")
    o["alpha_H"] = check_nonnegative_float(o["alpha_H"], "alpha_H")
    if o["max_no_improvement"] is not None:
        o["max_no_improvement"] = check_positive_int(o["max_no_improvement"], "max_no_improvement")
    if o["basis_tol"] is not None:
        o["basis_tol"] = check_nonnegative_float(o["basis_tol"], "basis_tol")
    o["batch_tol"] = o["tol"] if o["batch_tol"] is None else check_nonnegative_float(o["batch_tol"], "batch_tol")
    if o["callback"] is not None and not callable(o["callback"]):
        raise ValueError("callback must be callable as callback(pass, W, H, loss)")
    o["rule"] = choose_rule(o["rule"], beta)
    default_iter = HALS_BATCH_SWEEPS if o["rule"] == "hals" else MU_BATCH_STEPS
    o["batch_iter"] = check_positive_int(default_iter if o["batch_iter"] is None else o["batch_iter"], "batch_iter")
    final = o["final_iter"]
    o["final_iter"] = o["batch_iter"] if final is None else check_positive_int(final, "final_iter", minimum=0)
    return o


def forget_rate(options: dict[str, Any], n: int) -> float | None:
    """ρ, the weight of the past statistics at each visit (None: incremental), for ``n`` items."""
    factor = options["forget_factor"]
    return None if factor is None else factor ** (min(options["batch_size"], n) / n)


def online_params(options: dict[str, Any]) -> dict[str, Any]:
    """The result's ``params`` entries of the online options (beside model, rank, beta, solver, init, dtype, seed)."""
    names = ("rule", "max_iter", "tol", "batch_size", "forget_factor", "batch_iter", "final_iter",
             "fresh_restarts", "max_no_improvement", "basis_tol", "batch_tol", "relaxed")
    params = {name: options[name] for name in names}
    params["fresh_restarts"], params["relaxed"] = bool(params["fresh_restarts"]), bool(params["relaxed"])
    params.update(masked=False, alpha_W=options["alpha_W"], alpha_H=options["alpha_H"], l1_ratio=options["l1_ratio"])
    return params


class MemoryBatches:
    """The batches of an in-memory fit for :func:`run_passes`: ``data`` (DataBlocks of X / s) and their
    coefficients ``H_blocks`` ((r, n_t) each, updated in place), visited by ``solver``."""

    def __init__(self, solver: OnlineSolver, data: list[DataBlock], H_blocks: list[np.ndarray],
                 fresh_restarts: bool) -> None:
        self.solver, self.data, self.H_blocks, self.fresh_restarts = solver, data, H_blocks, fresh_restarts

    def _start(self, b: int) -> None:
        if self.fresh_restarts:
            self.H_blocks[b] = flat_start(self.data[b], self.H_blocks[b].shape[0])

    def visits(self, n_iter: int, tol: float, with_loss: bool) -> Iterator[BatchTerms]:
        """One pass: each batch's visit in order (solved and folded), its terms yielded."""
        for b, block in enumerate(self.data):
            self._start(b)
            yield self.solver.step(block, self.H_blocks[b], n_iter, tol, with_loss=with_loss, key=b)

    def objective_parts(self) -> tuple[float, float]:
        """(Σ_t D_β(X_t | W H_t), Σ_t penalty of H_t) at the current factors."""
        solver = self.solver
        divergence = sum(solver.divergence(block, Hb) for block, Hb in zip(self.data, self.H_blocks))
        return divergence, sum(solver.penalty_H.value(Hb) for Hb in self.H_blocks)

    def finish(self, n_iter: int, tol: float) -> tuple[float, float]:
        """Every batch's coefficients updated ``n_iter`` times at the final W; then :meth:`objective_parts`."""
        for b, block in enumerate(self.data):
            self._start(b)
            self.solver.coefficients(block, self.H_blocks[b], n_iter, tol)
        return self.objective_parts()

    def H(self) -> np.ndarray:
        """The coefficients (r, n), in the fit's units."""
        return np.hstack(self.H_blocks)


@dataclass
class PassRecord:
    """What :func:`run_passes` records: the objective and time per pass, the passes, how the fit ended."""

    losses: list[float]
    times: list[float]
    n_passes: int
    converged: bool
    stopped: bool


def run_passes(source: Any, solver: OnlineSolver, n: int, scale: float, options: dict[str, Any],
               callback: Callable[..., Any] | None, start: float) -> PassRecord:
    """The passes of an online fit over ``source``'s batches, and its stopping rules.

    Parameters
    ----------
    source : MemoryBatches or nmfcore.distributed.online.ChunkBatches
        ``visits(n_iter, tol, with_loss)`` (a pass: each visit's :class:`BatchTerms`, in
        order, after ``solver`` folded them), ``objective_parts()``, ``finish(n_iter, tol)``, ``H()``.
    solver : OnlineSolver
    n : int
        Items of X.
    scale : float
        s, X's mean entry (the fit works on X / s).
    options : dict
        From :func:`online_options`.
    callback, start
        ``callback(pass, W, H, loss)`` in X's units (``False`` stops); the fit's ``time.perf_counter()``.
    """
    penalty_W = solver.penalty_W
    loss_scale, root = scale**solver.beta, math.sqrt(scale)
    max_no_improvement, basis_tol, tol = options["max_no_improvement"], options["basis_tol"], options["tol"]

    def objective(parts: tuple[float, float]) -> float:
        divergence, penalty_H = parts
        return (divergence + (n * penalty_W.value(solver.W) + penalty_H)) * loss_scale

    losses, times = [objective(source.objective_parts())], [time.perf_counter() - start]
    early_stop = _NoImprovement(max_no_improvement, n)
    converged = stopped = False
    n_passes = 0
    for n_passes in range(1, options["max_iter"] + 1):
        solver.stats.resum()
        steps_before, W_before = solver.n_steps, solver.W.copy() if basis_tol else None
        with closing(source.visits(options["batch_iter"], options["batch_tol"], max_no_improvement is not None)) \
                as visits:
            for terms in visits:
                if terms.loss is None:
                    continue
                n_t = terms.n_items
                cost = (terms.loss + terms.penalty + n_t * penalty_W.value(solver.W)) * loss_scale / n_t
                if early_stop.stop(solver.n_steps, cost, n_t):
                    converged = True
                    break
        losses.append(objective(source.objective_parts()))
        times.append(time.perf_counter() - start)
        # scikit-learn skips its first visit, which starts from the initial W
        if W_before is not None and not converged and (n_passes > 1 or solver.n_steps - steps_before > 1):
            change = np.linalg.norm(solver.W - W_before) / max(np.linalg.norm(solver.W), solver.eps)
            converged = change <= basis_tol
        if converged:
            break
        if callback is not None and callback(n_passes, solver.W * root, source.H() * root, losses[-1]) is False:
            stopped = True
            break
        previous = losses[-2]
        if tol > 0 and previous > 0 and (previous - losses[-1]) / previous < tol:
            converged = True
            break
    if options["final_iter"]:
        losses[-1] = objective(source.finish(options["final_iter"], options["batch_tol"]))
        times[-1] = time.perf_counter() - start
    return PassRecord(losses, times, n_passes, converged, stopped)
