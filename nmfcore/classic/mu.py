"""Multiplicative updates (MM) for β-NMF, dense or sparse, with an optional mask.

With V = W H, one update of H is

    H ← H ⊙ [ Wᵀ(M ⊙ X ⊙ V^(β−2)) ⊘ (Wᵀ(M ⊙ V^(β−1)) + reg) ]^γ(β)

and symmetrically for W. γ(β) makes each step a majorisation–minimisation step,
so the objective never increases (Févotte & Idier 2011). A sparse X is only ever
touched at its non-zeros for β = 1 and β = 2; other β need every entry of V,
which is produced in row blocks so that memory stays bounded.

For 1 ≤ β ≤ 2 the relaxed variant (``relaxed=True``) steps twice as far on the
same majoriser (:func:`relaxed_factor`): the majoriser still decreases, so the
objective still never increases, and the fit needs about half the iterations.

KL (β = 1), the common case, runs through compiled passes
(:mod:`nmfcore.classic._mu_kernels`): for a dense X, two matrix products per factor plus
one pass for X ⊘ V (and the loss); for a sparse X, one fused pass per factor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.classic._mu_kernels import csr_quotient_product, dense_quotient, mu_step, xlogq_sum
from nmfcore.utils.parallel import block_count, blocks, run_tasks, summed
from nmfcore.classic.products import row_blocks, sampled_product, sparse_with_data
from nmfcore.classic.penalty import Penalty


def mu_exponent(beta: float) -> float:
    """γ(β) of the MM multiplicative update."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def relaxed_factor(ratio: np.ndarray) -> np.ndarray:
    """The relaxed step's multiplier: R² where R ≤ 1, 2R − 1 where R > 1.

    For 1 ≤ β ≤ 2 the MU majoriser of one entry, as a function of its relative
    value t = h / h̃, is g(t) = t^β/β − R t^(β−1)/(β−1) (t − R log t at β = 1),
    minimised by the MM step t = R and touching the objective at t = 1. The
    relaxed step goes twice as far: R² downwards (twice as far in log t) and
    2R − 1 upwards (twice as far in t), and still has g(new) ≤ g(1), so the
    objective cannot increase. At β = 1, g(R²) − g(1) = R² − 1 − 2R log R and
    g(2R − 1) − g(1) = 2R − 2 − R log(2R − 1) are 0 at R = 1 and move away from
    it downhill; at β = 2, g(R²) − g(1) = ½ (R − 1)³ (R + 1) ≤ 0 for R ≤ 1 and
    2R − 1 is the mirror image of 1 on the parabola. Tests check a grid of β
    and R. The compiled :func:`nmfcore._mu_kernels.mu_step` applies this rule.

    Parameters
    ----------
    ratio : ndarray
        MM ratios R ≥ 0 (numerator over denominator).

    Returns
    -------
    ndarray
        Same shape: the multiplier of the current factor entries.
    """
    return np.where(ratio <= 1.0, ratio * ratio, 2.0 * ratio - 1.0)


def relaxation_holds(beta: float, penalty: Penalty) -> bool:
    """Whether the relaxed step decreases the majoriser for this β and penalty.

    It needs 1 ≤ β ≤ 2; an L2 penalty keeps it only at β = 2, where it joins the
    quadratic majoriser exactly (for β < 2 the MU form of the L2 term is not a
    majoriser, so those factors take the plain step).
    """
    return 1.0 <= beta <= 2.0 and (beta == 2.0 or penalty.l2 == 0.0)


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
        Take the relaxed step (:func:`relaxed_factor`) on each factor for which
        :func:`relaxation_holds`; the plain MM step otherwise.
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
        self.X, self.W, self.H, self.beta, self.mask = X, W, H, beta, mask
        self.penalty_W, self.penalty_H = penalty_W, penalty_H
        self.relaxed_W = relaxed and relaxation_holds(beta, penalty_W)
        self.relaxed_H = relaxed and relaxation_holds(beta, penalty_H)
        self.gamma = mu_exponent(beta)
        self.eps = float(np.finfo(X.dtype).eps)
        self.sparse = sp.issparse(X)
        if self.sparse:
            self.x = X.data
            self.XT = X.T.tocsr()
        self.frobenius_fast = beta == 2 and mask is None
        if self.frobenius_fast:
            self.x_sq = float(X.multiply(X).sum()) if self.sparse else float(np.vdot(X, X))
        self.kl = beta == 1
        if self.kl:
            self.x_sum = float(X.sum())
        self._cache: dict[str, Any] = {}  # products (and the KL loss) of the current (W, H)
        self._buffer: np.ndarray | None = None
        self._scratch: dict[Any, np.ndarray] = {}
        m, n = X.shape
        dense_kl = self.kl and not self.sparse
        self.row_blocks = blocks(m, block_count(m, m * n * W.shape[1]) if dense_kl else 1)
        # the fit runs under single_threaded_blas when the blocks run on threads
        self.parallel = len(self.row_blocks) > 1

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

    def _dense_buffer(self) -> np.ndarray:
        """The m x n buffer that holds W H, then X ⊘ W H (rebuilt twice per iteration)."""
        if self._buffer is None:
            self._buffer = np.empty(self.x.shape if self.sparse else self.X.shape, dtype=self.X.dtype)
        return self._buffer

    def _scratch_array(self, key: Any, shape: tuple[int, ...]) -> np.ndarray:
        """A scratch array kept across iterations under ``key`` (fresh pages are slow)."""
        if key not in self._scratch:
            self._scratch[key] = np.empty(shape, dtype=self.X.dtype)
        return self._scratch[key]

    def _approximation(self) -> np.ndarray:
        """V = W H at the non-zeros of a sparse X, or in full for a dense X (β ≠ 1)."""
        if "V" not in self._cache:
            if self.sparse:
                V = sampled_product(self.W, self.H, self.X, out=self._dense_buffer())
            else:
                V = np.matmul(self.W, self.H, out=self._dense_buffer())
            np.maximum(V, self.eps, out=V)  # V is raised to β − 2 and β − 1
            self._cache["V"] = V
        return self._cache["V"]

    # -- KL: the quotient X ⊘ W H and the numerators -------------------------
    #
    # A dense X is cut into row blocks (one per thread, see nmfcore.utils.parallel):
    # V = W H, X ⊘ V, the loss terms and the W update are row by row; the H
    # numerator Wᵀ(X ⊘ V) is a sum of one (r x n) product per block.

    def _kl_h_side(self, with_loss: bool) -> None:
        """Cache the H numerator (Wᵀ (X ⊘ W H), "HNum") for the current (W, H), and the loss.

        With a mask the H denominator Wᵀ M ("HDen") comes from the same blocks.
        """
        W, H, M = self.W, self.H, self.mask
        if self.sparse:
            XT = self.XT
            q = self._dense_buffer()
            num_t = self._scratch_array("HNum", (H.shape[1], H.shape[0]))
            csr_quotient_product(XT.indptr, XT.indices, XT.data, np.ascontiguousarray(H.T), W, q, num_t)
            self._cache["HNum"] = num_t.T
            x_log_q = xlogq_sum(XT.data, q) if with_loss else 0.0
            total_v = float(W.sum(axis=0) @ H.sum(axis=1))
        else:
            V = self._dense_buffer()
            count = len(self.row_blocks)
            nums = [self._scratch_array(("HNum", b), H.shape) for b in range(count)]
            dens = [self._scratch_array(("HDen", b), H.shape) for b in range(count)] if M is not None else []

            def block(b: int) -> tuple[float, float]:
                rows = self.row_blocks[b]
                Vb = np.matmul(W[rows], H, out=V[rows])
                observed_v = float(np.vdot(M[rows], Vb)) if with_loss and M is not None else 0.0
                x_log_q_b = dense_quotient(self.X[rows], Vb, with_loss)
                np.matmul(W[rows].T, Vb, out=nums[b])
                if M is not None:
                    np.matmul(W[rows].T, M[rows], out=dens[b])
                return x_log_q_b, observed_v

            parts = run_tasks(block, len(self.row_blocks))
            self._cache["HNum"] = summed(nums)
            if M is not None:
                self._cache["HDen"] = summed(dens)
            x_log_q = sum(p[0] for p in parts)
            total_v = sum(p[1] for p in parts) if M is not None else float(W.sum(axis=0) @ H.sum(axis=1))
        if with_loss:
            self._cache["loss"] = x_log_q - self.x_sum + total_v

    def _kl_update_H(self) -> None:
        if "HNum" not in self._cache:
            self._kl_h_side(with_loss=False)
        den = self._cache["HDen"] if self.mask is not None else self.W.sum(axis=0)[:, None]
        self._step(self.H, self._cache["HNum"], den, self.penalty_H, self.relaxed_H)

    def _kl_update_W(self) -> None:
        W, H, M = self.W, self.H, self.mask
        if self.sparse:
            X = self.X
            num = self._scratch_array("WNum", W.shape)
            csr_quotient_product(X.indptr, X.indices, X.data, W, np.ascontiguousarray(H.T), self._dense_buffer(), num)
            self._step(W, num, H.sum(axis=1)[None, :], self.penalty_W, self.relaxed_W)
            return
        V = self._dense_buffer()
        num = self._scratch_array("WNum", W.shape)
        shared_den = H.sum(axis=1)[None, :]

        def block(b: int) -> None:
            rows = self.row_blocks[b]
            Qb = np.matmul(W[rows], H, out=V[rows])
            dense_quotient(self.X[rows], Qb, False)
            np.matmul(Qb, H.T, out=num[rows])
            den = shared_den if M is None else M[rows] @ H.T
            self._step(W[rows], num[rows], den, self.penalty_W, self.relaxed_W)

        run_tasks(block, len(self.row_blocks))

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
        if self.kl:
            if "loss" not in self._cache:
                self._kl_h_side(with_loss=True)
            return self._cache["loss"] + penalty
        V = self._approximation()
        if self.sparse:
            x = self.x
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
        """Numerator factor X ⊙ V^(β−2) and denominator factor M ⊙ V^(β−1) (None: all ones)."""
        beta = self.beta
        if self.sparse:
            return sparse_with_data(self.X, self.x * V ** (beta - 2)), None
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

    def _step(self, F: np.ndarray, num: np.ndarray, den: np.ndarray, penalty: Penalty, relaxed: bool) -> None:
        """F ← F ⊙ S(num ⊘ (den + penalty gradient)), S the MM or the relaxed multiplier."""
        mu_step(F, num, den, penalty.l1, penalty.l2, self.gamma, relaxed, self.eps)

    def update_H(self) -> None:
        """One MM (or relaxed) update of H."""
        W, H, beta = self.W, self.H, self.beta
        if self.kl:
            self._kl_update_H()
        else:
            if self.frobenius_fast:
                WtX, WtW = self._gram_terms()
                num, den = WtX, WtW @ H
            else:
                V = self._approximation()
                num_factor, den_factor = self._ratio_terms(V)
                if self.sparse:
                    num = np.ascontiguousarray((num_factor.T @ W).T)
                else:
                    num = W.T @ num_factor
                if den_factor is not None:
                    den = W.T @ den_factor
                elif beta == 2:
                    den = (W.T @ W) @ H
                else:
                    den = self._dense_power_products("H")
            self._step(H, num, den, self.penalty_H, self.relaxed_H)
        self._changed("H")

    def update_W(self) -> None:
        """One MM (or relaxed) update of W."""
        W, H, beta = self.W, self.H, self.beta
        if self.kl:
            self._kl_update_W()
        else:
            if self.frobenius_fast:
                num = np.asarray(self.X @ H.T)
                den = W @ self._gram_H()
            else:
                V = self._approximation()
                num_factor, den_factor = self._ratio_terms(V)
                num = np.asarray(num_factor @ H.T)
                if den_factor is not None:
                    den = den_factor @ H.T
                elif beta == 2:
                    den = W @ (H @ H.T)
                else:
                    den = self._dense_power_products("W")
            self._step(W, num, den, self.penalty_W, self.relaxed_W)
        self._changed("W")

    def step(self) -> None:
        """One iteration: update H, then W."""
        self.update_H()
        self.update_W()
