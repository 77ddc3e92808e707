"""MM steps on W_l of minimum-volume deep KL-NMF: KL data terms plus α_l logdet(W_lᵀ W_l + δ I), W_lᵀ e = e.

The logdet term is majorised at the current W̃ through A = (W̃ᵀ W̃ + δ I)⁻¹ split
into its positive and negative parts; the minimiser of the majoriser is then an
entrywise quadratic root whose column sums are fixed by Newton's method on the
multipliers. W_l of an inner layer (coupled to W_{l+1} H_{l+1} by a second KL
term) is found by an ADMM on that majoriser.
"""

from __future__ import annotations

import numpy as np

from nmfcore.deep.newton import _NEWTON_MAX_ITER, _newton_tol
from nmfcore.deep.omega import wright_omega
from nmfcore.deep.updates import tiny


def _column_roots(
    B: np.ndarray, c: np.ndarray, b0: np.ndarray, mu: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Solve c w² + (b0 + μ_k) w − B = 0 entrywise with Σ_i w_ik = 1 for every column k.

    Each entry's positive root decreases convexly in μ_k, so Newton's method on
    the column sums converges monotonically after its first step.

    Parameters
    ----------
    B, c, b0 : ndarray, shape (m, r)
        B >= 0, c > 0.
    mu : ndarray, shape (r,)
        Starting multipliers.

    Returns
    -------
    w : ndarray, shape (m, r)
    mu : ndarray, shape (r,)
    n_steps : int
    """
    tol = _newton_tol(B.dtype)
    floor = tiny(B.dtype)
    mu = mu.astype(B.dtype, copy=True)
    n_steps = 0
    for n_steps in range(1, _NEWTON_MAX_ITER + 1):
        b = b0 + mu
        s = np.maximum(np.sqrt(b * b + 4.0 * c * B), floor)
        # Stable form of the positive root for either sign of b.
        w = np.where(b >= 0, 2.0 * B / np.maximum(b + s, floor), (s - b) / (2.0 * c))
        g = w.sum(axis=0) - 1.0
        slope = (w / s).sum(axis=0)
        step = np.divide(g, slope, out=np.zeros_like(g), where=slope > 0)
        mu += step
        if np.all(np.abs(g) <= tol):
            break
    b = b0 + mu
    s = np.maximum(np.sqrt(b * b + 4.0 * c * B), floor)
    w = np.where(b >= 0, 2.0 * B / np.maximum(b + s, floor), (s - b) / (2.0 * c))
    return w, mu, n_steps


def logdet_terms(W: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """A⁺ and A⁻ of A = (Wᵀ W + δ I)⁻¹, each (r, r): the majoriser of logdet at W."""
    r = W.shape[1]
    A = np.linalg.inv(W.T @ W + delta * np.eye(r, dtype=W.dtype))
    return np.maximum(A, 0), np.maximum(-A, 0)


def minvol_w_last(
    W: np.ndarray, H: np.ndarray, Q: np.ndarray, a: float, delta: float, mu: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """MM step on W for KL(Y | W H) + a logdet(Wᵀ W + δ I) subject to Wᵀ e = e.

    W = W̃ ⊙ (√((Φ + 1μᵀ)² + Η) − (Φ + 1μᵀ)) ⊘ Ψ with Φ = 1 Hᵀ − 4a W̃A⁻,
    Ψ = 4a W̃(A⁺ + A⁻), Η = 2 Ψ ⊙ Q, written as the stable root of
    (Ψ ⊘ 2W̃) w² + (Φ + μ) w − W̃ ⊙ Q = 0.

    Parameters
    ----------
    W : ndarray, shape (m, r)
        Current W (columns sum to one).
    H : ndarray, shape (r, p)
    Q : ndarray, shape (m, r)
        (Y ⊘ (W H)) Hᵀ.
    a : float
        α_l / λ_l, > 0.
    delta : float
    mu : ndarray, shape (r,)
        Starting multipliers (the previous ones).

    Returns
    -------
    W : ndarray, shape (m, r)
    mu : ndarray, shape (r,)
    """
    Ap, Am = logdet_terms(W, delta)
    eps = tiny(W.dtype)
    c = np.maximum(2.0 * a * (W @ (Ap + Am)) / W, eps)
    b0 = H.sum(axis=1)[None, :] - 4.0 * a * (W @ Am)
    w, mu, _ = _column_roots(W * Q, c, b0, mu)
    return np.maximum(w, eps), mu


def minvol_w_admm(
    W: np.ndarray,
    H: np.ndarray,
    Q: np.ndarray,
    Wbar: np.ndarray,
    a: float,
    lam_l: float,
    lam_next: float,
    delta: float,
    rho: float,
    mu: np.ndarray,
    *,
    max_iter: int = 200,
    tol: float = 1e-7,
) -> tuple[np.ndarray, np.ndarray, int]:
    """ADMM on the majoriser of the min-vol layer problem for W_l, l < L.

    Minimises the majoriser of λ_l KL(Y | W H) + α logdet(WᵀW + δI) at W̃, plus
    λ_{l+1} KL(Z | W̄), subject to W = Z and Wᵀ e = e. The W-step is the
    column-constrained root of :func:`minvol_w_last` with the proximal term
    (ρ/2λ_l)‖W − (Z − U)‖²; the Z-step is Z = ω(log(ν W̄) + ν(W + U)) / ν with
    ν = ρ / λ_{l+1} (Wright omega); then U ← U + W − Z.

    Parameters
    ----------
    W : ndarray, shape (m, r)
        Current W̃ (columns sum to one).
    H : ndarray, shape (r, p)
    Q : ndarray, shape (m, r)
        (Y ⊘ (W̃ H)) Hᵀ.
    Wbar : ndarray, shape (m, r)
        W_{l+1} H_{l+1}.
    a : float
        α_l / λ_l.
    lam_l, lam_next : float
        λ_l and λ_{l+1}.
    delta, rho : float
    mu : ndarray, shape (r,)
        Starting multipliers.
    max_iter : int
        Most ADMM iterations.
    tol : float
        Stop when ‖W − Z‖_F <= tol · √r.

    Returns
    -------
    W : ndarray, shape (m, r)
        Columns sum to one.
    mu : ndarray, shape (r,)
    n_iter : int
    """
    Ap, Am = logdet_terms(W, delta)
    eps = tiny(W.dtype)
    prox = rho / lam_l
    nu = rho / lam_next
    c = 2.0 * a * (W @ (Ap + Am)) / W + prox
    base = H.sum(axis=1)[None, :] - 4.0 * a * (W @ Am)
    B = W * Q
    log_nu_wbar = np.log(nu * np.maximum(Wbar, eps))
    Z = W.copy()
    U = np.zeros_like(W)
    Wk = W
    limit = tol * np.sqrt(W.shape[1])
    k = 0
    for k in range(1, max_iter + 1):
        Wk, mu, _ = _column_roots(B, c, base - prox * (Z - U), mu)
        np.maximum(Wk, eps, out=Wk)
        Z = wright_omega(log_nu_wbar + nu * (Wk + U)) / nu
        U += Wk - Z
        if np.linalg.norm(Wk - Z) <= limit:
            break
    return Wk, mu, k
