"""Iteration state of deep NMF: the factors of every layer and the products and buffers they reuse.

:class:`DeepState` holds deep β-NMF with sum-to-one H_l; :class:`MinVolState`
the minimum-volume KL model with column-stochastic W_l. Both work on X divided
by its mean (the caller scales the factors back) and expose ``error(l)`` and
``step(l)`` for layer l = 0..L−1 (0-based).
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from nmfcore.deep.losses import _CHUNK, _divergence, _kl_plain, _kl_ratio_sum, _logdet
from nmfcore.deep.minvol_updates import minvol_w_admm, minvol_w_last
from nmfcore.deep.updates import (
    constrained_h_step,
    h_terms,
    mu_h_step,
    mu_w_step,
    tiny,
    w_step_beta32,
    w_step_frobenius,
    w_step_kl,
)


class DeepState:
    """Factors in scaled units, their products V_l = W_l H_l, and the cached X ⊘ V_1.

    Parameters
    ----------
    Xs : ndarray, shape (m, n)
        X divided by its mean.
    Ws, Hs : list of ndarray
        W_l (m, r_l) and H_l (r_l, r_{l−1}), updated in place of the lists.
    beta : {1, 1.5, 2}
    constraint : {"rows", "cols"}
        Which sums of every H_l equal one.
    lambdas : array-like, shape (L,)
        Layer weights λ_l of the scaled problem.
    """

    def __init__(
        self,
        Xs: np.ndarray,
        Ws: list[np.ndarray],
        Hs: list[np.ndarray],
        beta: float,
        constraint: str,
        lambdas: np.ndarray,
    ) -> None:
        self.X, self.W, self.H = Xs, Ws, Hs
        self.beta, self.constraint = beta, constraint
        self.lam = np.asarray(lambdas, dtype=float)
        self.V = [W @ H for W, H in zip(Ws, Hs)]
        self.sum_x = float(Xs.sum())
        self.x_has_zeros = bool((Xs == 0).any())
        # Work arrays shaped like each layer's data, reused to spare allocations.
        self.ratio = [np.empty_like(V) for V in self.V]
        self.work = [np.empty_like(V) for V in self.V]
        self.buffer = np.empty(max(_CHUNK, max(V.shape[1] for V in self.V)), dtype=Xs.dtype)
        self.L = len(Ws)

    def data(self, l: int) -> np.ndarray:
        """The matrix layer l approximates: X for l = 0, else W_{l−1}."""
        return self.X if l == 0 else self.W[l - 1]

    def error(self, l: int) -> float:
        """D_β of layer l; for β = 1 it leaves Y ⊘ V in ``ratio[l]`` for the next H step."""
        Y, W, H, V = self.data(l), self.W[l], self.H[l], self.V[l]
        if self.beta != 1:
            return _divergence(Y, W, H, V, self.beta)[0]
        sum_y = self.sum_x if l == 0 else float(Y.sum())
        sum_v = float(W.sum(axis=0) @ H.sum(axis=1))
        R = self.ratio[l]
        # Factors are floored above zero, so only X can hold zeros.
        if l == 0 and self.x_has_zeros:
            np.divide(Y, V, out=R)
            return float(xlogy(Y, R, out=self.work[l]).sum()) - sum_y + sum_v
        return _kl_ratio_sum(Y, V, R, self.buffer) - sum_y + sum_v

    def step(self, l: int) -> float:
        """One MM step on H_l then W_l; returns the layer's new error."""
        beta, Y = self.beta, self.data(l)
        W, H = self.W[l], self.H[l]
        last = l == self.L - 1
        if last and self.constraint == "rows":
            H = mu_h_step(Y, W, H, self.V[l], beta)
        else:
            R = None
            if beta == 1:
                # X ⊘ V_1 is still current from the last loss; deeper data W_{l−1} moved.
                R = self.ratio[l]
                if l > 0:
                    np.divide(Y, self.V[l], out=R)
            C, D = h_terms(Y, W, H, self.V[l], beta, R)
            H = constrained_h_step(H, C, D, beta, self.constraint)
        V = np.matmul(W, H, out=self.V[l])
        if last:
            W = mu_w_step(Y, W, H, V, beta)
            if self.constraint == "rows":
                d = H.sum(axis=1)
                W, H = W * d, H / d[:, None]
        else:
            Wbar = self.V[l + 1]
            lam = float(self.lam[l + 1] / self.lam[l])
            if beta == 1:
                W = w_step_kl(W, H, np.divide(Y, V, out=self.work[l]) @ H.T, Wbar, lam)
            elif beta == 2:
                W = w_step_frobenius(W, H, Y, Wbar, lam)
            else:
                W = w_step_beta32(W, H, Y, V, Wbar, lam)
        self.W[l], self.H[l] = W, H
        np.matmul(W, H, out=self.V[l])
        return self.error(l)


class MinVolState(DeepState):
    """Minimum-volume deep KL-NMF: columns of W_l sum to one, logdet penalties.

    Parameters
    ----------
    Xs, Ws, Hs, lambdas
        As in :class:`DeepState` (β = 1; W_l columns sum to one).
    alphas : array-like, shape (L,)
        Weights α_l of the logdet terms.
    delta : float
        δ > 0 in logdet(WᵀW + δI).
    rho : float
        ADMM penalty of the W steps of layers l < L.
    """

    def __init__(
        self,
        Xs: np.ndarray,
        Ws: list[np.ndarray],
        Hs: list[np.ndarray],
        lambdas: np.ndarray,
        alphas: np.ndarray,
        delta: float,
        rho: float,
    ) -> None:
        super().__init__(Xs, Ws, Hs, 1.0, "w_cols", lambdas)
        self.alpha = np.asarray(alphas, dtype=float)
        self.delta, self.rho = delta, rho
        self.mu = [np.zeros(W.shape[1], dtype=W.dtype) for W in Ws]
        self.rejected = 0

    def penalty(self) -> float:
        """Σ_l α_l logdet(W_lᵀ W_l + δ I)."""
        return float(sum(a * _logdet(W, self.delta) for a, W in zip(self.alpha, self.W)))

    def _block(self, l: int, W: np.ndarray) -> float:
        """The part of the objective that depends on W_l (for the ADMM safeguard)."""
        Y, H = self.data(l), self.H[l]
        value = self.lam[l] * _kl_plain(Y, W @ H) + self.alpha[l] * _logdet(W, self.delta)
        return value + self.lam[l + 1] * _kl_plain(W, self.V[l + 1])

    def step(self, l: int) -> float:
        Y, W, H = self.data(l), self.W[l], self.H[l]
        R = self.ratio[l]
        if l > 0:
            np.divide(Y, self.V[l], out=R)
        Q = R @ H.T
        a = float(self.alpha[l] / self.lam[l])
        if l == self.L - 1:
            W, self.mu[l] = minvol_w_last(W, H, Q, a, self.delta, self.mu[l])
        else:
            W_new, mu, _ = minvol_w_admm(
                W, H, Q, self.V[l + 1], a, float(self.lam[l]), float(self.lam[l + 1]),
                self.delta, self.rho, self.mu[l],
            )
            # ADMM solves the majoriser only approximately: keep its answer only if
            # the objective did not increase, so that every step stays a descent step.
            if self._block(l, W_new) <= self._block(l, W):
                W, self.mu[l] = W_new, mu
            else:
                self.rejected += 1
        eps = tiny(W.dtype)
        V = W @ H
        H = np.maximum(H * (W.T @ (Y / V)) / np.maximum(W.sum(axis=0), eps)[:, None], eps)
        self.W[l], self.H[l] = W, H
        self.V[l] = W @ H
        return self.error(l)
