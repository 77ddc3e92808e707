"""Accelerated HALS for Frobenius NMF (Cichocki & Phan 2009; Gillis & Glineur 2012).

Exact block coordinate descent on the factors. The products WᵀX, WᵀW (or XHᵀ,
HHᵀ) are formed once per outer iteration; the cheap coordinate sweeps are then
repeated while they still make progress. Every column of H (and every row of W)
is an independent problem given those products; the sweeps run over tiles of
them (:func:`nmfcore._kernels.hals_columns`).
"""

from __future__ import annotations

import numpy as np

from nmfcore._kernels import hals_columns
from nmfcore._mu import MUSolver

# Gillis & Glineur's rule: at most 1 + α ρ inner sweeps, where ρ is the flop cost
# of forming the products relative to one sweep, stopping once a sweep changes the
# factor by less than δ times the first sweep's change. They suggest α = 0.5; the
# sweeps here run on one core while the products use all of them, and α = 0.12
# (2 sweeps on H, at most 7 on W for CBCL) reached scikit-learn's loss soonest
# per unit of time over five CBCL starts (benchmarks/bench_nmf.py).
_ALPHA = 0.12
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
        p = self.penalty_H
        R = WtW @ -self.H
        R += WtX
        hals_columns(self.H, R, WtW, p.l1, p.l2, self.inner_H, _DELTA)
        _revive_dead_factors(self.H.T, self.eps)
        self._changed("H")

    def update_W(self) -> None:
        """Coordinate sweeps on the rows of W with XHᵀ and HHᵀ fixed."""
        H = self.H
        HHt = self._gram_H()
        p = self.penalty_W
        Wt = np.ascontiguousarray(self.W.T)
        R = HHt @ -Wt
        R += np.asarray((self.X @ H.T).T)
        hals_columns(Wt, R, HHt, p.l1, p.l2, self.inner_W, _DELTA)
        _revive_dead_factors(Wt.T, self.eps)
        self.W[...] = Wt.T
        self._changed("W")
