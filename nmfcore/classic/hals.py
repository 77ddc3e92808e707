"""Accelerated HALS with extrapolation for Frobenius NMF: the solver over the rules of
:mod:`nmfcore.classic.hals_rules`.

The work is cut into blocks, one per thread (:mod:`nmfcore.utils.parallel`): WᵀX,
the H sweeps and extrapolation on column blocks, XHᵀ and the W sweeps on row
blocks of a dense X (a sparse X is one block).

On top, each iteration starts from an extrapolated point, H + β (H − H_prev) and
likewise for W, with β adapted as in Ang & Gillis's HER scheme (2019): grown
after an iteration that lowers the objective, cut after one that does not. Here
an iteration that does not lower the objective (by more than rounding) is
discarded and replaced by a plain HALS iteration from the last kept point, so
the kept iterates' objective never increases (HER itself keeps the worse point
and only restarts the extrapolation). The objective of a kept pair comes free
from the products the W update already formed.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nmfcore.classic._kernels import extrapolate
from nmfcore.classic.blocks import DataBlock, cross_product, frobenius_loss
from nmfcore.classic.hals_rules import hals_h_update, hals_w_update, revive_dead_factors, sweep_budget
from nmfcore.classic.penalty import Penalty
from nmfcore.utils.parallel import block_count, blocks, run_tasks, summed

# HER's parameters (Ang & Gillis 2019, their defaults; nmfcore.distributed's chunked HALS uses them too): start β, its growth after a
# kept iteration, the growth of its cap, and its cut after a discarded one.
HER_START = 0.5
HER_GROW = 1.05
HER_GROW_CAP = 1.01
HER_CUT = 1.5
# An extrapolated iteration is kept only if it lowers the objective by more than
# rounding could: near convergence, gains at rounding level would make the choice
# (and so the factors) depend on the order of floating-point sums.
HER_MIN_GAIN = 1e-10


def balance_scales(W: np.ndarray, H: np.ndarray) -> None:
    """Rescale in place so that each column of W and the matching row of H have equal norms.

    W H is unchanged. HALS (and more so with extrapolation) lets the split of each
    factor's scale between W and H drift, to 100:1 and beyond, which matters to
    anything that reads H alone (k-means on the coefficients, say).

    Parameters
    ----------
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
    """
    w = np.linalg.norm(W, axis=0)
    h = np.linalg.norm(H, axis=1)
    ok = (w > 0) & (h > 0)
    d = np.ones_like(w)
    d[ok] = np.sqrt(h[ok] / w[ok])
    W *= d
    H /= d[:, None]


class HALSSolver:
    """HALS steps with safeguarded extrapolation for β = 2 without a mask.

    Parameters
    ----------
    X : ndarray or csr_matrix, shape (m, n)
        A dense X is C-ordered.
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
        Initial factors. The kept iterate is ``solver.W``, ``solver.H`` (W is
        updated in place; H is rebound to the solver's own arrays).
    penalty_W, penalty_H : Penalty
        Elastic-net penalties on W and H.
    """

    def __init__(
        self, X: np.ndarray | sp.csr_matrix, W: np.ndarray, H: np.ndarray, penalty_W: Penalty, penalty_H: Penalty
    ) -> None:
        self.W, self.H = W, H
        self.penalty_W, self.penalty_H = penalty_W, penalty_H
        self.data = DataBlock(X)
        self.x_sq = self.data.x_sq  # here, before the fit limits BLAS (whose sums round differently)
        self.eps = self.data.eps
        m, n = X.shape
        r = W.shape[1]
        self.inner_H, self.inner_W = sweep_budget(m, n, r)
        count = 1 if sp.issparse(X) else block_count(m, m * n * r)
        self.row_blocks, self.col_blocks = blocks(m, count), blocks(n, count)
        if count == 1:
            self.row_data = self.col_data = [self.data]
        else:
            self.row_data = [DataBlock(X[rows]) for rows in self.row_blocks]
            self.col_data = [DataBlock(X[:, cols]) for cols in self.col_blocks]
        self._work_H: list[dict] = [{} for _ in self.col_blocks]
        self._work_W: list[dict] = [{} for _ in self.row_blocks]
        self.parallel = count > 1
        self.beta, self.beta_cap = HER_START, 1.0
        # where the next iteration starts, the last non-extrapolated iterates, and work
        # arrays; step() swaps them rather than allocating (fresh pages cost more than a copy)
        self.W_start, self.H_start = W.copy(), H.copy()
        self.W_prev, self.H_prev = W.copy(), H.copy()
        self.W_new, self.H_new, self.H_ext = W.copy(), H.copy(), H.copy()
        self._loss: float | None = None

    # -- objective -----------------------------------------------------------

    def _objective(self, W: np.ndarray, H: np.ndarray, XHt: np.ndarray, HHt: np.ndarray) -> float:
        """½‖X − WH‖² plus penalties, from XHᵀ and HHᵀ (no product with X)."""
        data = frobenius_loss(self.x_sq, float(np.vdot(W, XHt)), W.T @ W, HHt)
        return data + self.penalty_W.value(W) + self.penalty_H.value(H)

    def loss(self) -> float:
        """Objective at the kept iterate (W, H)."""
        if self._loss is None:
            H = self.H
            self._loss = self._objective(self.W, H, cross_product(self.data, H), H @ H.T)
        return self._loss

    # -- block updates -------------------------------------------------------

    def _update_H(
        self, W: np.ndarray, H: np.ndarray, H_prev: np.ndarray, beta: float, H_out: np.ndarray,
        H_from: np.ndarray | None = None,
    ) -> np.ndarray:
        """:func:`hals_h_update` on the column blocks of H (in place), then extrapolation.

        The sweeps start from ``H_from`` if given (H receives the result), else
        from H in place; ``H_out`` receives max(H + beta (H − H_prev), 0) (H itself
        if beta = 0). Returns H_out H_outᵀ.
        """
        WtW = W.T @ W

        def block(c: int) -> tuple[np.ndarray, np.ndarray]:
            cols = self.col_blocks[c]
            return hals_h_update(
                self.col_data[c], W, H[:, cols], WtW, self.penalty_H, self.inner_H,
                start=None if H_from is None else H_from[:, cols], previous=H_prev[:, cols],
                extrapolation=beta, out=H_out[:, cols], work=self._work_H[c],
            )

        grams, alive = zip(*run_tasks(block, len(self.col_blocks)))
        alive = np.logical_or.reduce(alive)
        if not beta and H_out is not H:
            H_out[...] = H
        if not alive.all():  # a factor whose row of H died gets a tiny value, so it can recover
            H[~alive] = self.eps
            if not beta:
                return H_out @ H_out.T
        return summed(list(grams))

    def _update_W(self, W: np.ndarray, H: np.ndarray, HHt: np.ndarray) -> np.ndarray:
        """:func:`hals_w_update` on the row blocks of W (in place) with XHᵀ and HHᵀ; returns XHᵀ."""
        XHt = np.empty_like(W)

        def block(b: int) -> None:
            rows = self.row_blocks[b]
            cross_product(self.row_data[b], H, out=XHt[rows])
            hals_w_update(W[rows], XHt[rows], HHt, self.penalty_W, self.inner_W, work=self._work_W[b])

        run_tasks(block, len(self.row_blocks))
        revive_dead_factors(W, self.eps)
        return XHt

    def update_H(self) -> None:
        """A plain HALS update of the kept H with W fixed (as for a transform)."""
        self._update_H(self.W, self.H, self.H, 0.0, self.H)
        self._loss = None

    # -- iterations ----------------------------------------------------------

    def _plain_step(self) -> None:
        """One HALS iteration from the kept pair; exact block descent cannot raise the objective."""
        W, H = self.W, self.H
        HHt = self._update_H(W, H, H, 0.0, H)
        XHt = self._update_W(W, H, HHt)
        self._loss = self._objective(W, H, XHt, HHt)
        for start, prev, kept in ((self.W_start, self.W_prev, W), (self.H_start, self.H_prev, H)):
            start[...] = kept
            prev[...] = kept

    def step(self) -> None:
        """One extrapolated iteration, kept if it lowers the objective, else a plain one."""
        previous = self.loss()
        beta = self.beta
        W_new, H_new, H_ext = self.W_new, self.H_new, self.H_ext
        HHt = self._update_H(self.W_start, H_new, self.H_prev, beta, H_ext, H_from=self.H_start)
        W_new[...] = self.W_start
        XHt = self._update_W(W_new, H_ext, HHt)
        candidate = self._objective(W_new, H_ext, XHt, HHt)
        if candidate > previous * (1.0 - HER_MIN_GAIN):
            self.beta_cap, self.beta = beta, beta / HER_CUT
            self._plain_step()
            return
        self.W[...] = W_new
        self._loss = candidate
        extrapolate(W_new, self.W_prev, beta, self.W_start)
        # the kept H is the extrapolated one, and the next start: rebind, don't copy
        self.H, self.H_start, self.H_ext = H_ext, H_ext, self.H
        self.W_prev, self.W_new = W_new, self.W_prev
        self.H_prev, self.H_new = H_new, self.H_prev
        self.beta = min(self.beta_cap, HER_GROW * beta)
        self.beta_cap = min(1.0, HER_GROW_CAP * self.beta_cap)
