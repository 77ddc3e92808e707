"""Accelerated HALS with extrapolation for Frobenius NMF.

HALS is exact block coordinate descent on the factors (Cichocki & Phan 2009).
The products WᵀX, WᵀW (or XHᵀ, HHᵀ) are formed once per update; the cheap
coordinate sweeps over them are then repeated while they still make progress
(Gillis & Glineur 2012). Every column of H (and every row of W) is an
independent problem given those products; the sweeps run over tiles of them
(:func:`nmfcore._kernels.hals_columns`).

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

from nmfcore.classic._kernels import extrapolate, hals_columns, hals_sweeps
from nmfcore.utils.parallel import block_count, blocks, run_tasks, summed
from nmfcore.classic.penalty import Penalty

# Gillis & Glineur's rule: at most 1 + α ρ inner sweeps, where ρ is the flop cost
# of forming the products relative to one sweep, stopping once a sweep changes the
# factor by less than δ times the first sweep's change. They suggest α = 0.5, for
# sweeps as fast per flop as the products; ours run at about half BLAS's rate. On
# CBCL (benchmarks/bench_nmf.py, four starts) α = 0.07 (1 sweep on H, at most 4 on
# W) keeps an iteration within 1.4x of its products and reaches scikit-learn's
# 200-iteration loss in 0.63 s; α = 0.12 (2 and 7 sweeps) gets there in 0.52 s
# with iterations 1.8x their products.
_ALPHA = 0.07
_DELTA = 0.1

# HER's parameters (Ang & Gillis 2019, their defaults): start β, its growth after a
# kept iteration, the growth of its cap, and its cut after a discarded one.
_BETA_START = 0.5
_GROW = 1.05
_GROW_CAP = 1.01
_CUT = 1.5
# An extrapolated iteration is kept only if it lowers the objective by more than
# rounding could: near convergence, gains at rounding level would make the choice
# (and so the factors) depend on the order of floating-point sums.
_MIN_GAIN = 1e-10


def _revive_dead_factors(G: np.ndarray, eps: float) -> None:
    """Give a factor (column of G) that became all zero a tiny value, so it can recover."""
    dead = ~G.any(axis=0)
    if dead.any():
        G[:, dead] = eps


def balance_scales(W: np.ndarray, H: np.ndarray) -> None:
    """Rescale in place so that each column of W and the matching row of H have equal norms.

    W H is unchanged. HALS (and more so with extrapolation) lets the split of each
    factor's scale between W and H drift, to 100:1 and beyond, which matters to
    anything that reads H alone (k-means on the coefficients, say).
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

    The work is cut into blocks, one per thread (:mod:`nmfcore.utils.parallel`): WᵀX,
    the H sweeps and extrapolation on column blocks, XHᵀ and the W sweeps on row
    blocks of a dense X.

    Parameters
    ----------
    X : ndarray or csr_matrix, shape (m, n)
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
        Initial factors. The kept iterate is ``solver.W``, ``solver.H`` (W is
        updated in place; H is rebound to the solver's own arrays).
    penalty_W, penalty_H : Penalty
        Elastic-net penalties on W and H.
    """

    def __init__(self, X, W: np.ndarray, H: np.ndarray, penalty_W: Penalty, penalty_H: Penalty) -> None:
        self.X, self.W, self.H = X, W, H
        self.penalty_W, self.penalty_H = penalty_W, penalty_H
        self.sparse = sp.issparse(X)
        if self.sparse:
            self.XT = X.T.tocsr()
        self.x_sq = float(X.multiply(X).sum()) if self.sparse else float(np.vdot(X, X))
        self.eps = float(np.finfo(X.dtype).eps)
        m, n = X.shape
        r = W.shape[1]
        self.inner_H = 1 + int(_ALPHA * (1 + (m * n + n * r) / (n * (r + 1))))
        self.inner_W = 1 + int(_ALPHA * (1 + (m * n + m * r) / (m * (r + 1))))
        count = 1 if self.sparse else block_count(m, m * n * r)
        self.row_blocks, self.col_blocks = blocks(m, count), blocks(n, count)
        self.parallel = count > 1
        self._grams = [np.empty((r, r), dtype=H.dtype) for _ in range(count)]
        self._residuals = [np.empty((r, c.stop - c.start), dtype=H.dtype) for c in self.col_blocks]
        self._products = [np.empty_like(R) for R in self._residuals]
        self._w_residuals = [np.empty((r, b.stop - b.start), dtype=W.dtype) for b in self.row_blocks]
        self.beta, self.beta_cap = _BETA_START, 1.0
        # where the next iteration starts, the last non-extrapolated iterates, and work
        # arrays; step() swaps them rather than allocating (fresh pages cost more than a copy)
        self.W_start, self.H_start = W.copy(), H.copy()
        self.W_prev, self.H_prev = W.copy(), H.copy()
        self.W_new, self.H_new, self.H_ext = W.copy(), H.copy(), H.copy()
        self._loss: float | None = None

    # -- objective -----------------------------------------------------------

    def _objective(self, W: np.ndarray, H: np.ndarray, XHt: np.ndarray, HHt: np.ndarray) -> float:
        """½‖X − WH‖² plus penalties, from XHᵀ and HHᵀ (no product with X)."""
        cross = float(np.vdot(W, XHt))
        quad = float(np.vdot(W.T @ W, HHt))
        data = max(0.5 * (self.x_sq - 2.0 * cross + quad), 0.0)
        return data + self.penalty_W.value(W) + self.penalty_H.value(H)

    def loss(self) -> float:
        """Objective at the kept iterate (W, H)."""
        if self._loss is None:
            H = self.H
            self._loss = self._objective(self.W, H, np.asarray(self.X @ H.T), H @ H.T)
        return self._loss

    # -- block updates -------------------------------------------------------

    def _update_H(
        self, W: np.ndarray, H: np.ndarray, H_prev: np.ndarray, beta: float, H_out: np.ndarray,
        H_from: np.ndarray | None = None,
    ) -> np.ndarray:
        """Sweeps on the columns of H (in place) with WᵀX and WᵀW, then extrapolation.

        Each column block forms its own slice of WᵀX (the columns of a C-ordered X
        are a strided matrix that BLAS reads in place) and keeps it in cache for
        its sweeps. The sweeps start from ``H_from`` if given (H receives the
        result), else from H in place; ``H_out`` receives max(H + beta (H − H_prev), 0)
        (H itself if beta = 0). Returns H_out H_outᵀ.
        """
        WtW = W.T @ W
        WtX_sparse = np.ascontiguousarray((self.XT @ W).T) if self.sparse else None
        p = self.penalty_H
        grams = self._grams

        def block(c: int) -> np.ndarray:
            cols = self.col_blocks[c]
            Hc = H[:, cols]
            start = Hc if H_from is None else H_from[:, cols]
            R, BH = self._residuals[c], self._products[c]
            if WtX_sparse is None:
                np.matmul(W.T, self.X[:, cols], out=R)
            else:
                R[...] = WtX_sparse[:, cols]
            R -= np.matmul(WtW, start, out=BH)
            out = H_out[:, cols] if beta else Hc
            hals_sweeps(start, R, WtW, p.l1, p.l2, self.inner_H, _DELTA, Hc, H_prev[:, cols], beta, out)
            np.matmul(out, out.T, out=grams[c])
            return Hc.any(axis=1)

        alive = np.logical_or.reduce(run_tasks(block, len(self.col_blocks)))
        if not beta and H_out is not H:
            H_out[...] = H
        if not alive.all():  # a factor whose row of H died gets a tiny value, so it can recover
            H[~alive] = self.eps
            if not beta:
                return H_out @ H_out.T
        return summed(grams)

    def _update_W(self, W: np.ndarray, H: np.ndarray, HHt: np.ndarray) -> np.ndarray:
        """Sweeps on the rows of W (in place) with XHᵀ and HHᵀ; returns XHᵀ."""
        XHt = np.empty_like(W)
        p = self.penalty_W

        def block(b: int) -> None:
            rows = self.row_blocks[b]
            if self.sparse:
                XHt[rows] = self.X[rows] @ H.T
            else:
                np.matmul(self.X[rows], H.T, out=XHt[rows])
            Wt = W[rows].T  # the rows of W are the sweeps' columns: a strided view, no copy
            R = np.matmul(HHt, Wt, out=self._w_residuals[b])
            np.subtract(XHt[rows].T, R, out=R)
            hals_columns(Wt, R, HHt, p.l1, p.l2, self.inner_W, _DELTA)

        run_tasks(block, len(self.row_blocks))
        _revive_dead_factors(W, self.eps)
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
        if candidate > previous * (1.0 - _MIN_GAIN):
            self.beta_cap, self.beta = beta, beta / _CUT
            self._plain_step()
            return
        self.W[...] = W_new
        self._loss = candidate
        extrapolate(W_new, self.W_prev, beta, self.W_start)
        # the kept H is the extrapolated one, and the next start: rebind, don't copy
        self.H, self.H_start, self.H_ext = H_ext, H_ext, self.H
        self.W_prev, self.W_new = W_new, self.W_prev
        self.H_prev, self.H_new = H_new, self.H_prev
        self.beta = min(self.beta_cap, _GROW * beta)
        self.beta_cap = min(1.0, _GROW_CAP * self.beta_cap)
