"""Accelerated HALS for Frobenius NMF (Cichocki & Phan 2009; Gillis & Glineur 2012).

Exact block coordinate descent on the factors. The products WᵀX, WᵀW (or XHᵀ,
HHᵀ) are formed once per outer iteration; the cheap coordinate sweeps are then
repeated while they still make progress. Every column of H (and every row of W)
is an independent problem given those products, so the sweeps run in parallel
over them (:func:`nmfcore._kernels.hals_rows`).
"""

from __future__ import annotations

import numpy as np

from nmfcore._kernels import hals_rows
from nmfcore._mu import MUSolver

# Gillis & Glineur's rule: at most 1 + α ρ inner sweeps, where ρ is the flop cost
# of forming the products relative to one sweep, stopping once a sweep changes the
# factor by less than δ times the first sweep's change. They suggest α = 0.5; a
# sweep here runs at a fraction of BLAS's flop rate, and α = 0.2 reached
# scikit-learn's loss soonest on CBCL (benchmarks/bench_nmf.py).
_ALPHA = 0.2
_DELTA = 0.1


def _revive_dead_factors(G: np.ndarray, eps: float) -> None:
    """Give a factor (column of G) that became all zero a tiny value, so it can recover."""
    dead = ~G.any(axis=0)
    if dead.any():
        G[:, dead] = eps


class HALSSolver(MUSolver):
    """HALS steps for β = 2 without a mask; shares the loss and Gram cache of :class:`MUSolver`."""

    def __init__(self, X, W, H, penalty_W, penalty_H) -> None:
        super().__init__(X, W, H, 2.0, None, penalty_W, penalty_H)
        m, n = X.shape
        r = W.shape[1]
        self.inner_H = 1 + int(_ALPHA * (1 + (m * n + n * r) / (n * (r + 1))))
        self.inner_W = 1 + int(_ALPHA * (1 + (m * n + m * r) / (m * (r + 1))))

    def update_H(self) -> None:
        """Coordinate sweeps on the columns of H with WᵀX and WᵀW fixed."""
        WtX, WtW = self._gram_terms()
        G = np.ascontiguousarray(self.H.T)
        p = self.penalty_H
        R = G @ -WtW
        R += WtX.T
        hals_rows(G, R, WtW, p.l1, p.l2, self.inner_H, _DELTA)
        _revive_dead_factors(G, self.eps)
        self.H[...] = G.T
        self._cache.clear()

    def update_W(self) -> None:
        """Coordinate sweeps on the rows of W with XHᵀ and HHᵀ fixed."""
        H = self.H
        HHt = H @ H.T
        p = self.penalty_W
        R = self.W @ -HHt
        R += self.X @ H.T
        hals_rows(self.W, R, HHt, p.l1, p.l2, self.inner_W, _DELTA)
        _revive_dead_factors(self.W, self.eps)
        self._cache.clear()
