"""The multiplicative-update solver: the rules of :mod:`nmfcore.classic.mu_rules` on one machine.

A dense X under KL (the common case, and the costliest per entry) is cut into row
blocks, one per thread (:mod:`nmfcore.utils.parallel`): each block's W rows take
their whole update from their own tile, and the H terms (r x n) are summed over
the blocks. Every other case is one block, its products multithreaded by BLAS.
The loss comes with the H terms of the same (W, H), so one evaluation of W H
serves both.

For 1 ≤ β ≤ 2 the relaxed variant (``relaxed=True``) steps twice as far on the
same majoriser (:func:`~nmfcore.classic.mu_rules.relaxed_factor`): the objective
still never increases, and the fit needs about half the iterations.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nmfcore.classic.blocks import DataBlock, Partials, frobenius_loss, summed_partials
from nmfcore.classic.mu_rules import MUStep, mu_h_partials, mu_update_h, mu_update_w, mu_w_partials
from nmfcore.classic.penalty import Penalty
from nmfcore.utils.parallel import block_count, blocks, run_tasks


class MUSolver:
    """State and steps of the multiplicative updates for one problem.

    Parameters
    ----------
    X : ndarray or csr_matrix, shape (m, n)
        Nonnegative data (masked entries already set to 0); a dense X is C-ordered.
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
        Initial factors, updated in place.
    beta : float
    mask : ndarray, shape (m, n), optional
        1 = observed, 0 = missing.
    penalty_W, penalty_H : Penalty
        Elastic-net penalties on W and H.
    relaxed : bool
        Take the relaxed step on each factor for which
        :func:`~nmfcore.classic.mu_rules.relaxation_holds`; the plain MM step otherwise.
    """

    def __init__(
        self,
        X: np.ndarray | sp.csr_matrix,
        W: np.ndarray,
        H: np.ndarray,
        beta: float,
        mask: np.ndarray | None,
        penalty_W: Penalty,
        penalty_H: Penalty,
        relaxed: bool = False,
    ) -> None:
        self.W, self.H, self.beta = W, H, beta
        self.penalty_W, self.penalty_H = penalty_W, penalty_H
        self.step_W = MUStep.for_factor(beta, penalty_W, relaxed, X.dtype)
        self.step_H = MUStep.for_factor(beta, penalty_H, relaxed, X.dtype)
        m, n = X.shape
        dense_kl = beta == 1 and not sp.issparse(X)
        count = block_count(m, m * n * W.shape[1]) if dense_kl else 1
        self.row_blocks = blocks(m, count)
        if count == 1:
            self.data = [DataBlock(X, mask)]
        else:
            self.data = [DataBlock(X[rows], None if mask is None else mask[rows]) for rows in self.row_blocks]
        self._work: list[dict] = [{} for _ in self.data]
        # the fit runs under single_threaded_blas when the blocks run on threads
        self.parallel = count > 1
        self.frobenius_fast = beta == 2 and mask is None
        # KL without a mask: the row sums of H, shared by every row block's terms
        self._share_h_sums = beta == 1 and mask is None and count > 1
        # ‖X‖² here, before the fit limits BLAS (whose sums round differently)
        self.x_sq = self.data[0].x_sq if self.frobenius_fast else None
        self._h_terms: Partials | None = None  # H's update terms at the current (W, H)
        self._HHt: np.ndarray | None = None  # H Hᵀ at the current H (β = 2 without a mask)

    def _h_sums(self) -> np.ndarray | None:
        """Row sums of the current H when the row blocks share them, else None."""
        return self.H.sum(axis=1) if self._share_h_sums else None

    def _h_side(self, with_loss: bool) -> Partials:
        """The H terms (and the loss) at the current (W, H), summed over the row blocks."""
        h_sums = self._h_sums()

        def block(b: int) -> Partials:
            rows = self.row_blocks[b]
            return mu_h_partials(
                self.data[b], self.W[rows], self.H, self.beta, with_loss=with_loss, work=self._work[b],
                h_sums=h_sums,
            )

        self._h_terms = summed_partials(run_tasks(block, len(self.data)))
        return self._h_terms

    def loss(self) -> float:
        """Objective at the current (W, H): β-divergence plus penalties."""
        penalty = self.penalty_W.value(self.W) + self.penalty_H.value(self.H)
        if self.frobenius_fast:
            terms = self._h_terms if self._h_terms is not None else self._h_side(False)
            if self._HHt is None:
                self._HHt = self.H @ self.H.T
            cross = float(np.vdot(terms.num, self.H))
            return frobenius_loss(self.x_sq, cross, terms.den, self._HHt) + penalty
        if self._h_terms is None or self._h_terms.loss is None:
            self._h_side(with_loss=True)
        return self._h_terms.loss + penalty

    def update_H(self) -> None:
        """One MM (or relaxed) update of H."""
        terms = self._h_terms if self._h_terms is not None else self._h_side(False)
        mu_update_h(self.H, terms, self.step_H)
        self._h_terms = self._HHt = None

    def update_W(self) -> None:
        """One MM (or relaxed) update of W, each row block from its own tile."""

        h_sums = self._h_sums()

        def block(b: int) -> Partials:
            rows = self.row_blocks[b]
            terms = mu_w_partials(self.data[b], self.W[rows], self.H, self.beta, work=self._work[b], h_sums=h_sums)
            mu_update_w(self.W[rows], terms, self.step_W)
            return terms

        parts = run_tasks(block, len(self.data))
        if self.frobenius_fast:
            self._HHt = parts[0].den  # H did not change: its Gram serves the loss
        self._h_terms = None

    def step(self) -> None:
        """One iteration: update H, then W."""
        self.update_H()
        self.update_W()
