"""Accelerated HALS for Frobenius NMF (Cichocki & Phan 2009; Gillis & Glineur 2012).

Exact block coordinate descent on each row of H and each column of W. The
products WᵀX, WᵀW (or XHᵀ, HHᵀ) are formed once per outer iteration; the cheap
row sweeps are then repeated while they still make progress.
"""

from __future__ import annotations

import numpy as np

from nmfcore._mu import MUSolver

# Gillis & Glineur's rule: at most 1 + α ρ inner sweeps, stopping once a sweep
# changes the factor by less than δ times the first sweep's change.
_ALPHA = 0.5
_DELTA = 0.1


def hals_sweeps(
    F: np.ndarray,
    A: np.ndarray,
    B: np.ndarray,
    *,
    l1: float = 0.0,
    l2: float = 0.0,
    max_inner: int = 1,
    eps: float = 1e-16,
) -> None:
    """Minimise ½ tr(FᵀBF) − ⟨A, F⟩ + l1 ΣF + ½ l2 ‖F‖² over F ≥ 0, row by row, in place.

    Parameters
    ----------
    F : ndarray, shape (r, n)
        Factor whose rows are updated (H, or Wᵀ).
    A : ndarray, shape (r, n)
        Linear term (WᵀX, or HXᵀ).
    B : ndarray, shape (r, r)
        Gram matrix (WᵀW, or HHᵀ), symmetric positive semi-definite.
    l1, l2 : float
        Elastic-net weights.
    max_inner : int
        Most sweeps over the rows.
    eps : float
        Value given to a row that becomes all zero, so that it can recover.
    """
    first_change = None
    for _ in range(max_inner):
        before = F.copy()
        for k in range(F.shape[0]):
            bkk = B[k, k] + l2
            if bkk <= 0:
                continue
            grad = A[k] - B[k] @ F
            if l1 or l2:
                grad -= l1 + l2 * F[k]
            grad *= 1.0 / bkk
            grad += F[k]
            np.maximum(grad, 0.0, out=F[k])
        dead = ~F.any(axis=1)
        if dead.any():
            F[dead] = eps
        before -= F
        change = float(np.vdot(before, before))
        if first_change is None:
            first_change = change
        elif change <= _DELTA**2 * first_change:
            break


class HALSSolver(MUSolver):
    """HALS steps for β = 2 without a mask; shares the loss and Gram cache of :class:`MUSolver`."""

    def __init__(self, X, W, H, penalty_W, penalty_H) -> None:
        super().__init__(X, W, H, 2.0, None, penalty_W, penalty_H)
        m, n = X.shape
        r = W.shape[1]
        self.inner_H = 1 + int(_ALPHA * (1 + (m * n + n * r) / (n * (r + 1))))
        self.inner_W = 1 + int(_ALPHA * (1 + (m * n + m * r) / (m * (r + 1))))

    def update_H(self) -> None:
        """Row sweeps on H with WᵀX and WᵀW fixed."""
        WtX, WtW = self._gram_terms()
        p = self.penalty_H
        hals_sweeps(self.H, WtX, WtW, l1=p.l1, l2=p.l2, max_inner=self.inner_H, eps=self.eps)
        self._cache.clear()

    def update_W(self) -> None:
        """Row sweeps on Wᵀ with HXᵀ and HHᵀ fixed."""
        H = self.H
        HXt = np.ascontiguousarray(np.asarray(self.X @ H.T).T)
        Wt = np.ascontiguousarray(self.W.T)
        p = self.penalty_W
        hals_sweeps(Wt, HXt, H @ H.T, l1=p.l1, l2=p.l2, max_inner=self.inner_W, eps=self.eps)
        self.W[...] = Wt.T
        self._cache.clear()
