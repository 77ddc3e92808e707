"""Multiplicative updates (MM) for β-NMF, dense or sparse, with an optional mask.

With V = W H, one update of H is

    H ← H ⊙ [ Wᵀ(M ⊙ X ⊙ V^(β−2)) ⊘ (Wᵀ(M ⊙ V^(β−1)) + reg) ]^γ(β)

and symmetrically for W. γ(β) makes each step a majorisation–minimisation step,
so the objective never increases (Févotte & Idier 2011). A sparse X is only ever
touched at its non-zeros for β = 1 and β = 2; other β need every entry of V,
which is produced in row blocks so that memory stays bounded.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nmfcore._products import row_blocks, sampled_product, sparse_with_data
from nmfcore._regularization import Penalty


def mu_exponent(beta: float) -> float:
    """γ(β) of the MM multiplicative update."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


class MUSolver:
    """State and steps of the multiplicative updates for one problem.

    Parameters
    ----------
    X : ndarray or csr_matrix, shape (m, n)
        Nonnegative data (masked entries already set to 0).
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
        Initial factors, updated in place.
    beta : float
    mask : ndarray, shape (m, n), optional
        1 = observed, 0 = missing.
    penalty_W, penalty_H : Penalty
        Elastic-net penalties on W and H.
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
    ) -> None:
        self.X, self.W, self.H, self.beta, self.mask = X, W, H, beta, mask
        self.penalty_W, self.penalty_H = penalty_W, penalty_H
        self.gamma = mu_exponent(beta)
        self.eps = float(np.finfo(X.dtype).eps)
        self.sparse = sp.issparse(X)
        if self.sparse:
            self.x = X.data
            self.XT = X.T.tocsr()
        self.frobenius_fast = beta == 2 and mask is None
        if self.frobenius_fast:
            self.x_sq = float(X.multiply(X).sum()) if self.sparse else float(np.vdot(X, X))
        if beta == 1:
            # Σ x log x and Σ x are constant: the KL loss then needs one log per entry.
            data = X.data if self.sparse else X
            positive = data[data > 0]
            self.x_log_x = float(np.vdot(positive, np.log(positive)))
            self.x_sum = float(positive.sum())
        self._cache: dict[str, np.ndarray] = {}
        self._buffer: np.ndarray | None = None
        self._log_buffer: np.ndarray | None = None

    # -- products that the loss and the H update share -----------------------

    def _gram_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """WᵀX and WᵀW for the current W (β = 2, no mask)."""
        if "WtX" not in self._cache:
            WtX = (self.XT @ self.W).T if self.sparse else self.W.T @ self.X
            self._cache["WtX"] = np.ascontiguousarray(WtX)
            self._cache["WtW"] = self.W.T @ self.W
        return self._cache["WtX"], self._cache["WtW"]

    def _gram_H(self) -> np.ndarray:
        """H Hᵀ for the current H (kept across a W update, which does not change it)."""
        if "HHt" not in self._cache:
            self._cache["HHt"] = self.H @ self.H.T
        return self._cache["HHt"]

    def _changed(self, factor: str) -> None:
        """Forget the cached products that depend on ``factor`` ("W" or "H")."""
        HHt = self._cache.get("HHt") if factor == "W" else None
        self._cache.clear()
        if HHt is not None:
            self._cache["HHt"] = HHt

    def _approximation(self) -> np.ndarray:
        """V = W H at the non-zeros of a sparse X, or in full for a dense X."""
        if "V" not in self._cache:
            # V is rebuilt twice per iteration: reuse one buffer instead of a fresh m x n array.
            if self._buffer is None:
                self._buffer = np.empty(self.x.shape if self.sparse else self.X.shape, dtype=self.X.dtype)
            if self.sparse:
                V = sampled_product(self.W, self.H, self.X, out=self._buffer)
            else:
                V = np.matmul(self.W, self.H, out=self._buffer)
            if self.beta != 1:
                # For KL, W, H ≥ eps already keep V > 0; other β floor V as they raise it to β − 2.
                np.maximum(V, self.eps, out=V)
            self._cache["V"] = V
        return self._cache["V"]

    # -- objective -----------------------------------------------------------

    def loss(self) -> float:
        """Objective at the current (W, H): β-divergence plus penalties."""
        beta = self.beta
        penalty = self.penalty_W.value(self.W) + self.penalty_H.value(self.H)
        if self.frobenius_fast:
            WtX, WtW = self._gram_terms()
            cross = float(np.vdot(WtX, self.H))
            quad = float(np.vdot(WtW, self._gram_H()))
            return max(0.5 * (self.x_sq - 2.0 * cross + quad), 0.0) + penalty
        V = self._approximation()
        if self.sparse:
            x = self.x
            if beta == 1:
                total_v = float(self.W.sum(axis=0) @ self.H.sum(axis=1))
                return self.x_log_x - float(np.vdot(x, np.log(V))) - self.x_sum + total_v + penalty
            if beta == 2:
                total_sq = float(np.vdot(self.W.T @ self.W, self.H @ self.H.T))
                return 0.5 * (float(np.vdot(x, x)) - 2 * float(np.vdot(x, V)) + total_sq) + penalty
            power_sum = sum(
                float(np.sum(np.maximum(self.W[b] @ self.H, self.eps) ** beta))
                for b in row_blocks(*self.X.shape)
            )
            at_nz = float(np.sum(x**beta - beta * x * V ** (beta - 1)))
            return (at_nz + (beta - 1) * power_sum) / (beta * (beta - 1)) + penalty
        X, M = self.X, self.mask
        if beta == 1:
            total_v = float(np.vdot(M, V)) if M is not None else float(self.W.sum(axis=0) @ self.H.sum(axis=1))
            if self._log_buffer is None:
                self._log_buffer = np.empty_like(V)
            log_v = np.log(V, out=self._log_buffer)
            x_log_v = float(np.dot(X.reshape(-1), log_v.reshape(-1)))
            return self.x_log_x - x_log_v - self.x_sum + total_v + penalty
        if beta == 2:
            R = X - V
            d = 0.5 * R * R
        elif beta == 0:
            ratio = X / V
            d = ratio - np.log(ratio) - 1.0
        else:
            d = (X**beta + (beta - 1) * V**beta - beta * X * V ** (beta - 1)) / (beta * (beta - 1))
        if M is not None:
            d *= M
        return float(d.sum()) + penalty

    # -- updates -------------------------------------------------------------

    def _ratio_terms(self, V: np.ndarray) -> tuple[np.ndarray | sp.csr_matrix, np.ndarray | None]:
        """Numerator factor X ⊙ V^(β−2) and denominator factor M ⊙ V^(β−1) (None: all ones).

        For β = 1 the ratio X ⊘ V overwrites V, which the caller no longer needs.
        """
        beta = self.beta
        if self.sparse:
            num = np.divide(self.x, V, out=V) if beta == 1 else self.x * V ** (beta - 2)
            return sparse_with_data(self.X, num), None
        if beta == 1:
            return np.divide(self.X, V, out=V), self.mask
        num = self.X * V ** (beta - 2)
        den = V ** (beta - 1)
        if self.mask is not None:
            den *= self.mask
        return num, den

    def _dense_power_products(self, side: str) -> np.ndarray:
        """Wᵀ V^(β−1) (side "H") or V^(β−1) Hᵀ (side "W") over all entries, in row blocks."""
        W, H, beta = self.W, self.H, self.beta
        if side == "H":
            out = np.zeros_like(H)
            for b in row_blocks(*self.X.shape):
                out += W[b].T @ np.maximum(W[b] @ H, self.eps) ** (beta - 1)
            return out
        out = np.empty_like(W)
        for b in row_blocks(*self.X.shape):
            out[b] = np.maximum(W[b] @ H, self.eps) ** (beta - 1) @ H.T
        return out

    def _apply(self, F: np.ndarray, num: np.ndarray, den: np.ndarray, penalty: Penalty) -> None:
        den = penalty.add_to_denominator(den, F)
        np.maximum(den, self.eps, out=den)
        ratio = np.divide(num, den, out=num)
        if self.gamma != 1.0:
            np.power(ratio, self.gamma, out=ratio)
        F *= ratio
        np.maximum(F, self.eps, out=F)

    def update_H(self) -> None:
        """One MM update of H."""
        W, H, beta = self.W, self.H, self.beta
        if self.frobenius_fast:
            WtX, WtW = self._gram_terms()
            num, den = WtX.copy(), WtW @ H
        else:
            V = self._approximation()
            num_factor, den_factor = self._ratio_terms(V)
            if self.sparse:
                num = np.ascontiguousarray((num_factor.T @ W).T)
            else:
                num = W.T @ num_factor
            if den_factor is not None:
                den = W.T @ den_factor
            elif beta == 1:
                den = np.broadcast_to(W.sum(axis=0)[:, None], H.shape).copy()
            elif beta == 2:
                den = (W.T @ W) @ H
            else:
                den = self._dense_power_products("H")
        self._apply(H, num, den, self.penalty_H)
        self._changed("H")

    def update_W(self) -> None:
        """One MM update of W."""
        W, H, beta = self.W, self.H, self.beta
        if self.frobenius_fast:
            num = np.asarray(self.X @ H.T)
            den = W @ self._gram_H()
        else:
            V = self._approximation()
            num_factor, den_factor = self._ratio_terms(V)
            num = np.asarray(num_factor @ H.T)
            if den_factor is not None:
                den = den_factor @ H.T
            elif beta == 1:
                den = np.broadcast_to(H.sum(axis=1)[None, :], W.shape).copy()
            elif beta == 2:
                den = W @ (H @ H.T)
            else:
                den = self._dense_power_products("W")
        self._apply(W, num, den, self.penalty_W)
        self._changed("W")

    def step(self) -> None:
        """One iteration: update H, then W."""
        self.update_H()
        self.update_W()
