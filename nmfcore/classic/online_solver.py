"""The per-batch state and step of online (minibatch) NMF, in units of X / scale.

X = [X_1 … X_B] in column blocks of items (ALGORITHMS.md §4). A visit of batch t
solves its coefficients H_t with W fixed, then folds the batch's statistics into
running sums and updates W from the sums alone.

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

Two ways to weight the past: forgetting, a factor ρ at each visit
(scikit-learn's; the state is O(m r), for streams and ``partial_fit``), or
incremental (ρ = None), where a visit replaces the batch's previous terms (Neal &
Hinton's incremental EM, Mairal's MISO), so the sums hold every batch once: for
HALS the W step then descends the whole objective at the current coefficients
(state O(m r) per batch, r / batch_size of X's size).

An L1/L2 penalty on W is per item (each batch adds its share, ``n_t`` times the
per-item weights), so a pass over the data carries the whole objective's penalty.
A visit has two halves: :func:`solve_batch` (H_t with W fixed, and the batch's
terms; where the data is) and :meth:`OnlineSolver.fold` (the sums and W; small
inputs only), run by :func:`nmfcore.classic.online.online_nmf` in memory and by
:mod:`nmfcore.distributed.online` where a Dask array's chunks are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nmfcore.classic.blocks import DataBlock, Partials, cross_product, frobenius_loss
from nmfcore.classic.hals_rules import hals_h_update, hals_w_update, revive_dead_factors
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
from nmfcore.utils.validation import check_choice

ONLINE_RULES = ("auto", "hals", "mu")

# Defaults of the coefficient solve per visit: HALS sweeps (stopping early once a
# sweep moves H_t by under a tenth of the first) and MU steps (scikit-learn takes
# one, which MiniBatchNMF keeps; with one, the coefficients of items seen a few
# times stay far from solved: on the planted KL problem of tests/classic/test_online.py,
# 20 passes of 8 batches end 350 % above the full-batch loss, against 0.4 % with 10).
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
        Weight of the past statistics at each visit, in [0, 1] (forgetting), or None
        (incremental: each visit replaces the batch's previous terms; see above).
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

    Attributes
    ----------
    batch : BatchRule
        What :func:`solve_batch` needs of this solver.
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
        self.batch = BatchRule(beta, rule, penalty_H, self.step_H, self.eps)
        self._work: dict[Any, dict] = {}

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
        """:func:`batch_coefficients` at the current W."""
        return batch_coefficients(block, self.W, H, self.batch, n_iter, tol, with_loss, self._scratch(block))

    def fold(self, terms: BatchTerms, key: Any = None) -> None:
        """The driver's half of a visit: fold the batch's terms into the sums and update W from them.

        Parameters
        ----------
        terms : BatchTerms
            From :func:`solve_batch` at the current W.
        key : hashable, optional
            The batch's identity (incremental mode: its previous terms are replaced).
        """
        stats, W = self.stats, self.W
        n_t = terms.n_items
        self.n_steps += 1
        work = self._work.setdefault("basis", {})
        if self.rule == "hals":
            stats.add(key, terms.gram, terms.cross, n_t, self.rho)
            penalty = Penalty(stats.weight * self.penalty_W.l1, stats.weight * self.penalty_W.l2)
            hals_w_update(W, stats.B, stats.A, penalty, W_SWEEPS, work=work)
            revive_dead_factors(W, self.eps)
            return
        partials = terms.partials
        den = W @ partials.den if partials.form == "gram" else np.broadcast_to(partials.den, W.shape)
        if self.penalty_W.l1 or self.penalty_W.l2:
            den = den + n_t * (self.penalty_W.l1 + self.penalty_W.l2 * W)
        if self.relaxed_W:
            den = np.maximum(den, self.eps)
            anchored = W * relaxed_factor(partials.num / den) * den
        else:
            anchored = (W if self.gamma == 1 else W ** (1.0 / self.gamma)) * partials.num
        stats.add(key, anchored, den, n_t, self.rho)
        np.divide(stats.A, np.maximum(stats.B, self.eps), out=W)
        if self.gamma != 1:
            W **= self.gamma
        np.maximum(W, self.eps, out=W)

    def step(
        self, block: DataBlock, H: np.ndarray, n_iter: int, tol: float = 0.0, with_loss: bool = False,
        key: Any = None,
    ) -> BatchTerms:
        """One visit of a batch in this process: :func:`solve_batch`, then :meth:`fold`."""
        terms = solve_batch(block, self.W, H, self.batch, n_iter, tol, with_loss, self._scratch(block))
        self.fold(terms, key)
        return terms


@dataclass(frozen=True)
class BatchRule:
    """What a visit's coefficient solve needs besides X_t, W and H_t (small; it travels to the data):
    β, the rule ("hals" or "mu"), the coefficients' penalty and MU step, the dtype's machine epsilon."""

    beta: float
    rule: str
    penalty_H: Penalty
    step_H: MUStep
    eps: float


@dataclass
class BatchTerms:
    """What a visit of a batch sends to the W update: (r x r and) m x r terms, and its cost.

    Attributes
    ----------
    n_items : int
        n_t, the batch's items.
    gram, cross : ndarray or None
        HALS: H_t H_tᵀ (r, r) and X_t H_tᵀ (m, r). MU: None.
    partials : Partials or None
        MU: the terms of W's multiplicative step at (W, H_t).
    loss, penalty : float or None
        With ``with_loss``: D_β(X_t | W H_t) at the visit's W (HALS: at H_t after the solve,
        MU: before its last step, free with its terms), and the penalty of H_t after the solve.
    """

    n_items: int
    gram: np.ndarray | None = None
    cross: np.ndarray | None = None
    partials: Partials | None = None
    loss: float | None = None
    penalty: float | None = None


def batch_coefficients(
    block: DataBlock, W: np.ndarray, H: np.ndarray, rule: BatchRule, n_iter: int, tol: float = 0.0,
    with_loss: bool = False, work: dict | None = None,
) -> tuple[np.ndarray | None, float | None]:
    """Update a batch's coefficients H_t (r x n_t) in place with W (m x r) fixed.

    HALS: one call of up to ``n_iter`` sweeps (stopping early by the sweeps' own
    rule). MU: up to ``n_iter`` steps, stopping once one changes H_t by at most
    ``tol`` relative to its norm (``tol`` > 0).

    Returns
    -------
    gram : ndarray, shape (r, r), or None
        H_t H_tᵀ of the result (HALS).
    loss : float or None
        With ``with_loss``, MU: D_β(X_t | W H_t) before the last step (free with its terms).
    """
    if rule.rule == "hals":
        gram, _ = hals_h_update(block, W, H, W.T @ W, rule.penalty_H, n_iter, work=work)
        return gram.copy(), None
    loss = None
    previous = H.copy() if tol > 0 and n_iter > 1 else None
    for _ in range(n_iter):
        terms = mu_h_partials(block, W, H, rule.beta, with_loss=with_loss, work=work)
        loss = terms.loss
        mu_update_h(H, terms, rule.step_H)
        if previous is not None:
            change = np.linalg.norm(H - previous) / max(np.linalg.norm(H), rule.eps)
            if change <= tol:
                break
            previous[...] = H
    return None, loss


def solve_batch(
    block: DataBlock, W: np.ndarray, H: np.ndarray, rule: BatchRule, n_iter: int, tol: float = 0.0,
    with_loss: bool = False, work: dict | None = None,
) -> BatchTerms:
    """The data's half of a visit: H_t's solve with W fixed (in place), and the terms of W's update.

    It runs where the batch is (this process, or the worker holding the chunk); only
    the returned terms go to :meth:`OnlineSolver.fold`.

    Parameters
    ----------
    block : DataBlock, shape (m, n_t)
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n_t)
        The batch's coefficients, updated in place.
    rule, n_iter, tol, with_loss, work
        As :func:`batch_coefficients` (``work``: scratch arrays kept across calls).
    """
    gram, loss = batch_coefficients(block, W, H, rule, n_iter, tol, with_loss, work)
    n_t = block.shape[1]
    penalty = rule.penalty_H.value(H) if with_loss else None
    if rule.rule == "hals":
        cross = cross_product(block, H)
        if with_loss:
            loss = frobenius_loss(block.x_sq, float(np.vdot(W, cross)), W.T @ W, gram)
        return BatchTerms(n_t, gram=gram, cross=cross, loss=loss, penalty=penalty)
    return BatchTerms(n_t, partials=mu_w_partials(block, W, H, rule.beta, work=work), loss=loss, penalty=penalty)
