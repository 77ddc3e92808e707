"""Online (minibatch) NMF: the items seen a batch at a time, a few passes over the data.

X = [X_1 … X_B] in column blocks of ``batch_size`` items (ALGORITHMS.md §4). A
visit of batch t solves its coefficients H_t with W fixed, then folds the
batch's statistics into running sums and updates W from the sums alone.

- ``rule="hals"`` (β = 2; Mairal, Bach, Ponce & Sapiro, JMLR 2010): H_t by HALS
  sweeps (:func:`~nmfcore.classic.hals_rules.hals_h_update`);
  A ← ρA + H_tH_tᵀ, B ← ρB + X_tH_tᵀ; W by HALS sweeps on (B, A) in place of
  (X Hᵀ, H Hᵀ) (:func:`~nmfcore.classic.hals_rules.hals_w_update`).
- ``rule="mu"`` (any β; the scheme of scikit-learn's ``MiniBatchNMF``): H_t by
  multiplicative steps (:func:`~nmfcore.classic.mu_rules.mu_h_partials`); with
  N_t and D_t the numerator and denominator of W's MU step at (W, H_t)
  (:func:`~nmfcore.classic.mu_rules.mu_w_partials`, penalty gradient in D_t),
  A ← ρA + W^(1/γ) ⊙ N_t, B ← ρB + D_t and W ← (A ⊘ B)^γ: for γ = 1 the
  minimiser of the weighted sum of the batches' MU majorisers (stochastic
  majorisation–minimisation, Mairal 2013; online EM for KL), and with ρ = 0 and
  one batch exactly the full-batch MU step. ALGORITHMS.md writes instead
  W ← W ⊙ (N ⊘ D)^γ with N and D summed without the W^(1/γ) weights (Lefèvre,
  Bach & Févotte 2011): every visit then applies the stale sums' step again, and
  on a planted KL problem with 20 batches per pass its loss rose to 13 times
  the optimum within 13 passes, so it is not used.

Two ways to weight the past: forgetting, ρ = ``forget_factor``^(batch_size / n)
at each visit (scikit-learn's; the state is O(m r), for streams and
``partial_fit``), or incremental (``forget_factor=None``), where a visit replaces
the batch's previous terms (Neal & Hinton's incremental EM, Mairal's MISO), so the
sums hold every batch once: for HALS the W step then descends the whole objective
at the current coefficients, and the fit reaches the full-batch loss in a few
passes (state O(m r) per batch, r / batch_size of X's size).

An L1/L2 penalty on W is per item (each batch adds its share, ``n_t`` times the
per-item weights), so a pass over the data carries the whole objective's penalty.
:class:`OnlineSolver` is the per-batch state and step, on data divided by the
fit's scale (see :func:`~nmfcore.classic.fit.nmf`); a chunked-array driver can
feed it blocks. :func:`online_nmf` is the in-memory driver.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from nmfcore.classic.blocks import DataBlock, cross_product, frobenius_loss
from nmfcore.classic.data import prepare_data
from nmfcore.classic.hals_rules import hals_h_update, hals_w_update, revive_dead_factors
from nmfcore.classic.init import INIT_METHODS, check_custom_init, initialize
from nmfcore.classic.mu_rules import (
    MUStep,
    mu_exponent,
    mu_h_partials,
    mu_update_h,
    mu_w_partials,
    relaxation_holds,
    relaxed_factor,
)
from nmfcore.classic.penalty import Penalty
from nmfcore.results import NMFResult, relative_error
from nmfcore.utils.validation import (
    check_beta,
    check_choice,
    check_nonnegative_float,
    check_positive_int,
    check_rank,
    resolve_seed,
)

ONLINE_RULES = ("auto", "hals", "mu")

# Defaults of the coefficient solve per visit: HALS sweeps (stopping early once a
# sweep moves H_t by under a tenth of the first) and MU steps (scikit-learn's one).
HALS_BATCH_SWEEPS = 10
MU_BATCH_STEPS = 10
# HALS sweeps of W on the running sums per visit.
W_SWEEPS = 3


def choose_rule(rule: str, beta: float) -> str:
    """The online rule that runs: "auto" is HALS for β = 2 and MU otherwise."""
    check_choice(rule, "rule", ONLINE_RULES)
    if rule == "hals" and beta != 2:
        raise ValueError(f"rule='hals' solves the Frobenius loss only (beta=2), but beta={beta:g}; use rule='mu'")
    if rule == "auto":
        return "hals" if beta == 2 else "mu"
    return rule


def item_batches(n: int, batch_size: int) -> list[slice]:
    """Consecutive slices of ``batch_size`` items covering range(n) (the last may be shorter)."""
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def flat_start(block: DataBlock, rank: int) -> np.ndarray:
    """The constant start sqrt(mean(X_t) / r) of a batch's coefficients, shape (r, n_t)."""
    m, n_t = block.shape
    return np.full((rank, n_t), np.sqrt(max(block.x_sum, 0.0) / (m * n_t) / rank), dtype=block.dtype)


@dataclass
class OnlineStatistics:
    """The running sums of an online fit, enough to resume it (in units of X / scale).

    Attributes
    ----------
    A : ndarray
        HALS: (r, r) Σ_t w_t H_t H_tᵀ. MU: (m, r) Σ_t w_t W_t^(1/γ) ⊙ N_t.
    B : ndarray, shape (m, r)
        HALS: Σ_t w_t X_t H_tᵀ. MU: Σ_t w_t D_t.
    weight : float
        Σ_t w_t n_t, the items behind the sums (the weight of W's per-item penalty, HALS).
    parts : dict, optional
        Incremental mode (no forgetting): each batch's latest terms (A_t, B_t, n_t) by
        key, which its next visit replaces; the sums are theirs (w_t = 1).
    """

    A: np.ndarray
    B: np.ndarray
    weight: float
    parts: dict[Any, tuple[np.ndarray, np.ndarray, int]] | None = None

    def add(self, key: Any, A_t: np.ndarray, B_t: np.ndarray, n_t: int, rho: float | None) -> None:
        """Fold one visit's terms in: decay the past by ``rho``, or (``rho`` None) replace the batch's last terms."""
        if rho is not None:
            self.A *= rho
            self.B *= rho
            self.weight *= rho
        elif key in self.parts:
            old_A, old_B, old_n = self.parts[key]
            self.A -= old_A
            self.B -= old_B
            self.weight -= old_n
        if rho is None:
            self.parts[key] = (A_t.copy(), B_t.copy(), n_t)
        self.A += A_t
        self.B += B_t
        self.weight += n_t

    def resum(self) -> None:
        """Sums formed afresh from the parts (incremental mode), so that replacements leave no rounding drift."""
        if self.parts:
            self.A = sum(a for a, _, _ in self.parts.values())
            self.B = sum(b for _, b, _ in self.parts.values())
            self.weight = float(sum(n for _, _, n in self.parts.values()))


class OnlineSolver:
    """State and per-batch step of online NMF, on data divided by the fit's scale.

    Parameters
    ----------
    W : ndarray, shape (m, r)
        Initial basis, C-ordered; updated in place.
    beta : float
    rule : {"hals", "mu"}
    rho : float or None
        Weight of the past statistics at each visit, in [0, 1] (scikit-learn's
        forgetting; state O(m r)). None: incremental, each visit replaces the
        batch's previous terms (Neal & Hinton's incremental EM, Mairal's MISO),
        so that the sums hold every batch once; state O(m r) per batch. Then for
        HALS the W step descends the whole objective at the batches' current
        coefficients, and for MU it minimises a sum of majorisers of it.
    penalty_W : Penalty
        Penalty on W per item: a batch of n_t items adds n_t times it.
    penalty_H : Penalty
        Penalty on the coefficients (entrywise, so the same for any batch).
    statistics : OnlineStatistics, optional
        Running sums to resume from. By default zero, except MU with forgetting,
        which starts from A = W^(1/γ), B = 1 (scikit-learn's start, a prior that
        fades as ρ^k).
    relaxed : bool
        MU, where :func:`~nmfcore.classic.mu_rules.relaxation_holds`: the
        coefficients take relaxed steps (which still never raise the batch's
        objective), and each visit's W term is anchored at the relaxed target
        W_t ⊙ S(N_t ⊘ D_t) instead of the MM one (A_t = W_t ⊙ S(N_t ⊘ D_t) ⊙ D_t),
        so that W is a D-weighted mean of the batches' relaxed targets: the
        relaxed full-batch step for one batch without forgetting, a heuristic
        beyond (the tests check that the loss still falls over passes).
    """

    def __init__(
        self,
        W: np.ndarray,
        beta: float,
        rule: str,
        rho: float | None,
        penalty_W: Penalty,
        penalty_H: Penalty,
        statistics: OnlineStatistics | None = None,
        relaxed: bool = False,
    ) -> None:
        self.W, self.beta, self.rule, self.rho = W, beta, rule, rho
        self.penalty_W, self.penalty_H = penalty_W, penalty_H
        self.eps = float(np.finfo(W.dtype).eps)
        self.gamma = mu_exponent(beta)
        self.step_H = MUStep.for_factor(beta, penalty_H, relaxed, W.dtype)
        self.relaxed_W = relaxed and relaxation_holds(beta, penalty_W)
        m, r = W.shape
        if statistics is None:
            parts = None if rho is not None else {}
            if rule == "mu" and rho is not None:
                statistics = OnlineStatistics(W ** (1.0 / self.gamma), np.ones((m, r), W.dtype), 0.0)
            else:
                A = np.zeros((r, r) if rule == "hals" else (m, r), W.dtype)
                statistics = OnlineStatistics(A, np.zeros((m, r), W.dtype), 0.0, parts)
        self.stats = statistics
        self.n_steps = 0
        self._work: dict[tuple[int, int], dict] = {}

    @classmethod
    def for_data(
        cls,
        W: np.ndarray,
        *,
        beta: float,
        rule: str,
        scale: float,
        rho: float | None,
        alpha_W: float,
        alpha_H: float,
        l1_ratio: float,
        relaxed: bool,
        statistics: OnlineStatistics | None = None,
    ) -> "OnlineSolver":
        """A solver for data divided by ``scale``, from W and the penalties in X's units.

        Parameters
        ----------
        W : ndarray, shape (m, r)
            Basis in X's units (copied).
        alpha_W : float
            Weight of W's elastic-net penalty per item.
        alpha_H : float
            Weight of the coefficients' penalty.
        beta, rule, rho, relaxed, statistics
            As for the constructor; ``statistics`` in units of X / ``scale``.
        """
        return cls(
            np.ascontiguousarray(W / math.sqrt(scale)), beta, rule, rho,
            Penalty.elastic_net(alpha_W, l1_ratio, scale, beta), Penalty.elastic_net(alpha_H, l1_ratio, scale, beta),
            statistics, relaxed,
        )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_work"] = {}  # scratch arrays, rebuilt on use
        return state

    def _scratch(self, block: DataBlock) -> dict:
        return self._work.setdefault(block.shape, {})

    def divergence(self, block: DataBlock, H: np.ndarray) -> float:
        """D_β(X_t | W H_t) at the current W (no penalty)."""
        return mu_h_partials(block, self.W, H, self.beta, with_loss=True, work=self._scratch(block)).loss

    def coefficients(
        self, block: DataBlock, H: np.ndarray, n_iter: int, tol: float = 0.0, with_loss: bool = False
    ) -> tuple[np.ndarray | None, float | None]:
        """Update the batch's coefficients H_t (r x n_t) in place with W fixed.

        HALS: one call of up to ``n_iter`` sweeps (stopping early by the sweeps'
        own rule). MU: up to ``n_iter`` steps, stopping once one changes H_t by at
        most ``tol`` relative to its norm (``tol`` > 0).

        Returns
        -------
        gram : ndarray, shape (r, r), or None
            H_t H_tᵀ of the result (HALS).
        loss : float or None
            With ``with_loss``, MU: D_β(X_t | W H_t) before the last step (free with its terms).
        """
        work = self._scratch(block)
        if self.rule == "hals":
            gram, _ = hals_h_update(block, self.W, H, self.W.T @ self.W, self.penalty_H, n_iter, work=work)
            return gram.copy(), None
        loss = None
        previous = H.copy() if tol > 0 and n_iter > 1 else None
        for _ in range(n_iter):
            terms = mu_h_partials(block, self.W, H, self.beta, with_loss=with_loss, work=work)
            loss = terms.loss
            mu_update_h(H, terms, self.step_H)
            if previous is not None:
                change = np.linalg.norm(H - previous) / max(np.linalg.norm(H), self.eps)
                if change <= tol:
                    break
                previous[...] = H
        return None, loss

    def update_basis(
        self, block: DataBlock, H: np.ndarray, gram: np.ndarray | None = None, key: Any = None
    ) -> float | None:
        """Fold the batch's statistics into the sums and update W from them.

        Parameters
        ----------
        block : DataBlock, shape (m, n_t)
        H : ndarray, shape (r, n_t)
            The batch's coefficients (as just solved).
        gram : ndarray, shape (r, r), optional
            H Hᵀ if the caller has it (HALS).
        key : hashable, optional
            The batch's identity (incremental mode: its previous terms are replaced).

        Returns
        -------
        float or None
            HALS: D_β(X_t | W H_t) at the W before the update (free from the terms).
        """
        stats, W = self.stats, self.W
        n_t = block.shape[1]
        self.n_steps += 1
        if self.rule == "hals":
            gram = H @ H.T if gram is None else gram
            XHt = cross_product(block, H)
            loss = frobenius_loss(block.x_sq, float(np.vdot(W, XHt)), W.T @ W, gram)
            stats.add(key, gram, XHt, n_t, self.rho)
            penalty = Penalty(stats.weight * self.penalty_W.l1, stats.weight * self.penalty_W.l2)
            hals_w_update(W, stats.B, stats.A, penalty, W_SWEEPS, work=self._scratch(block))
            revive_dead_factors(W, self.eps)
            return loss
        terms = mu_w_partials(block, W, H, self.beta, work=self._scratch(block))
        den = W @ terms.den if terms.form == "gram" else np.broadcast_to(terms.den, W.shape)
        if self.penalty_W.l1 or self.penalty_W.l2:
            den = den + n_t * (self.penalty_W.l1 + self.penalty_W.l2 * W)
        if self.relaxed_W:
            den = np.maximum(den, self.eps)
            anchored = W * relaxed_factor(terms.num / den) * den
        else:
            anchored = (W if self.gamma == 1 else W ** (1.0 / self.gamma)) * terms.num
        stats.add(key, anchored, den, n_t, self.rho)
        np.divide(stats.A, np.maximum(stats.B, self.eps), out=W)
        if self.gamma != 1:
            W **= self.gamma
        np.maximum(W, self.eps, out=W)
        return None

    def step(
        self, block: DataBlock, H: np.ndarray, n_iter: int, tol: float = 0.0, with_loss: bool = False,
        key: Any = None,
    ) -> float | None:
        """One visit of a batch: :meth:`coefficients`, then :meth:`update_basis`.

        Returns
        -------
        float or None
            With ``with_loss``, the batch's divergence near the visit's start point:
            at (W before the update, H_t after it) for HALS, at (W, H_t before the
            last coefficient step) for MU.
        """
        gram, loss = self.coefficients(block, H, n_iter, tol, with_loss=with_loss)
        hals_loss = self.update_basis(block, H, gram, key)
        return hals_loss if self.rule == "hals" else loss


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
    penalties) for data read in few passes; see the module docstring for the rules.

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
        (:class:`OnlineSolver`), about twice the progress per pass; False runs
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
        (:class:`OnlineStatistics`, in units of X / ``extra["scale"]``).

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
