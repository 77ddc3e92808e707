"""Online (minibatch) NMF in memory: the items a batch at a time, a few passes over the data.

:func:`online_nmf` cuts X into column blocks of ``batch_size`` items and visits
them in order, pass after pass, with the per-batch step of
:class:`~nmfcore.classic.online_solver.OnlineSolver` (whose docstring gives the
rules: Mairal et al.'s HALS updates for β = 2, scikit-learn's multiplicative
scheme for any β, forgetting or incremental statistics). Like
:func:`~nmfcore.classic.fit.nmf` it works on X divided by its mean and reports
the whole objective in X's units, once per pass.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from nmfcore.classic.blocks import DataBlock
from nmfcore.classic.data import prepare_data
from nmfcore.classic.init import INIT_METHODS, check_custom_init, initialize
from nmfcore.classic.online_solver import (
    HALS_BATCH_SWEEPS,
    MU_BATCH_STEPS,
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
    batch_size = check_positive_int(batch_size, "batch_size")
    max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
    tol = check_nonnegative_float(tol, "tol")
    if forget_factor is not None:
        forget_factor = check_nonnegative_float(forget_factor, "forget_factor")
        if forget_factor > 1:
            raise ValueError(f"forget_factor must be in [0, 1], got {forget_factor}")
    l1_ratio = check_nonnegative_float(l1_ratio, "l1_ratio")
    if l1_ratio > 1:
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio}")
    alpha_W = check_nonnegative_float(alpha_W, "alpha_W")
    alpha_H = check_nonnegative_float(alpha_H, "alpha_H")
    if max_no_improvement is not None:
        max_no_improvement = check_positive_int(max_no_improvement, "max_no_improvement")
    if basis_tol is not None:
        basis_tol = check_nonnegative_float(basis_tol, "basis_tol")
    batch_tol = tol if batch_tol is None else check_nonnegative_float(batch_tol, "batch_tol")
    if callback is not None and not callable(callback):
        raise ValueError("callback must be callable as callback(pass, W, H, loss)")
    rule = choose_rule(rule, beta)
    batch_iter = (HALS_BATCH_SWEEPS if rule == "hals" else MU_BATCH_STEPS) if batch_iter is None else batch_iter
    batch_iter = check_positive_int(batch_iter, "batch_iter")
    final_iter = batch_iter if final_iter is None else check_positive_int(final_iter, "final_iter", minimum=0)
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
    if rule == "mu":  # MU cannot move an exact zero
        np.maximum(W, np.finfo(X.dtype).eps, out=W)
        np.maximum(H, np.finfo(X.dtype).eps, out=H)

    # The data's scale, as in nmf: the floors relative to it, losses reported in X's units.
    s = float(X.sum()) / (m * n)
    batches = item_batches(n, batch_size)
    data = _column_blocks(X, s, batches)
    H_blocks = [np.ascontiguousarray(H[:, cols]) / math.sqrt(s) for cols in batches]
    rho = None if forget_factor is None else forget_factor ** (min(batch_size, n) / n)
    solver = OnlineSolver.for_data(
        W, beta=beta, rule=rule, scale=s, rho=rho, alpha_W=alpha_W / n, alpha_H=alpha_H, l1_ratio=l1_ratio,
        relaxed=relaxed,
    )
    penalty_W, penalty_H = solver.penalty_W, solver.penalty_H
    loss_scale = s**beta

    def objective() -> float:
        value = sum(solver.divergence(block, Hb) for block, Hb in zip(data, H_blocks))
        value += n * penalty_W.value(solver.W) + sum(penalty_H.value(Hb) for Hb in H_blocks)
        return value * loss_scale

    def solve(block: DataBlock, b: int, n_iter: int, with_loss: bool) -> float | None:
        if fresh_restarts:
            H_blocks[b] = flat_start(block, rank)
        return solver.step(block, H_blocks[b], n_iter, batch_tol, with_loss=with_loss, key=b)

    losses, times = [objective()], [time.perf_counter() - start]
    early_stop = _NoImprovement(max_no_improvement, n)
    converged = stopped = False
    n_passes = 0
    for n_passes in range(1, max_iter + 1):
        solver.stats.resum()
        steps_before, W_before = solver.n_steps, solver.W.copy() if basis_tol else None
        for b, block in enumerate(data):
            n_t = block.shape[1]
            cost = solve(block, b, batch_iter, with_loss=max_no_improvement is not None)
            if cost is not None:
                cost = (cost + penalty_H.value(H_blocks[b]) + n_t * penalty_W.value(solver.W)) * loss_scale / n_t
                if early_stop.stop(solver.n_steps, cost, n_t):
                    converged = True
                    break
        losses.append(objective())
        times.append(time.perf_counter() - start)
        # scikit-learn skips its first visit, which starts from the initial W
        if W_before is not None and not converged and (n_passes > 1 or solver.n_steps - steps_before > 1):
            change = np.linalg.norm(solver.W - W_before) / max(np.linalg.norm(solver.W), solver.eps)
            converged = change <= basis_tol
        if converged:
            break
        if callback is not None and callback(
            n_passes, solver.W * math.sqrt(s), np.hstack(H_blocks) * math.sqrt(s), losses[-1]
        ) is False:
            stopped = True
            break
        previous = losses[-2]
        if tol > 0 and previous > 0 and (previous - losses[-1]) / previous < tol:
            converged = True
            break
    if final_iter:
        for b, block in enumerate(data):
            if fresh_restarts:
                H_blocks[b] = flat_start(block, rank)
            solver.coefficients(block, H_blocks[b], final_iter, batch_tol)
        losses[-1] = objective()
        times[-1] = time.perf_counter() - start
    W = solver.W * math.sqrt(s)
    H = np.hstack(H_blocks) * math.sqrt(s)
    params = {
        "model": "nmf",
        "rank": rank,
        "beta": beta,
        "solver": "online",
        "rule": rule,
        "init": init_param,
        "max_iter": max_iter,
        "tol": tol,
        "batch_size": batch_size,
        "forget_factor": forget_factor,
        "batch_iter": batch_iter,
        "final_iter": final_iter,
        "fresh_restarts": bool(fresh_restarts),
        "max_no_improvement": max_no_improvement,
        "basis_tol": basis_tol,
        "batch_tol": batch_tol,
        "relaxed": bool(relaxed),
        "masked": False,
        "alpha_W": alpha_W,
        "alpha_H": alpha_H,
        "l1_ratio": l1_ratio,
        "dtype": np.dtype(X.dtype).name,
        "random_state": seed,
    }
    return NMFResult(
        W=W,
        H=H,
        loss=np.asarray(losses),
        times=np.asarray(times),
        n_iter=n_passes,
        converged=converged,
        params=params,
        relative_error=relative_error(X, W, H),
        stopped=stopped,
        extra={"n_steps": solver.n_steps, "statistics": solver.stats, "scale": s},
    )
