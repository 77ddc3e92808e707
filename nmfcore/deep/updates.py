"""MM steps of deep β-NMF on H_l and W_l (Leplat, Hien, Onwunta, Gillis 2024).

Each function performs one majorisation–minimisation (MM) step on one block of
the layer-centric objective ``Σ_l λ_l D_β(W_{l-1} | W_l H_l)``, so the objective
never increases. Everything is a few matrix products and entrywise operations;
the Lagrange multipliers of the sum-to-one constraints come from
:mod:`nmfcore.deep.newton`, the Wright omega of the β = 1 W step from
:mod:`nmfcore.deep.omega`. The steps of the minimum-volume model are in
:mod:`nmfcore.deep.minvol_updates`.

Notation: ``Y`` is the matrix the layer approximates (W_{l-1}; X for layer 1),
``W`` (m, r) and ``H`` (r, p) the layer's factors, ``V = W H``, ``Wbar`` the
next layer's approximation W_{l+1} H_{l+1} of ``W``.
"""

from __future__ import annotations

import numpy as np

from nmfcore.deep import _kernels as kernels
from nmfcore.deep.newton import newton_gaps, newton_start
from nmfcore.deep.omega import _omega_bounds, _omega_from_start


def tiny(dtype: np.dtype) -> float:
    """Floor kept under every factor entry so that multiplicative steps can move it."""
    return float(np.finfo(dtype).eps)


# --------------------------------------------------------------------------- H steps


def _divide_by_gap(H: np.ndarray, C: np.ndarray, D: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """H ⊙ C ⊘ (D − μ), all (r, p), with D − μ formed as (D − min D) + gap (gap (r,)), free of cancellation."""
    return H * C / ((D - D.min(axis=1, keepdims=True)) + gap[:, None])


def _constrained_rows(H: np.ndarray, C: np.ndarray, D: np.ndarray, beta: float) -> np.ndarray:
    """MM update of H with every row summing to one (see :func:`constrained_h_step`)."""
    eps = tiny(H.dtype)
    D = np.maximum(D, eps)
    if beta == 1 and (D == D[:, :1]).all():
        # D − μ is then one gap per row and f(μ) = 0 gives it in closed form:
        # g_k = Σ_j H_kj C_kj, where Newton's method would land in one step.
        out = H * C
        out /= np.maximum(out.sum(axis=1, keepdims=True), np.finfo(H.dtype).tiny)
    elif beta == 1:
        gap, _ = newton_gaps(C, D, H, newton_start(C, D, H))
        out = _divide_by_gap(H, C, D, gap)
    else:
        # For β > 1 the rule H C / (D − μ) is an MM step only for μ <= 0; for μ > 0
        # the MM step majorises the linear term differently and gives H (C + μ) / D.
        ratio = H / D
        s0 = (ratio * C).sum(axis=1)
        neg = s0 >= 1.0
        out = np.empty_like(H)
        if neg.any():
            Cn, Dn, Hn = C[neg], D[neg], H[neg]
            # μ⁰ = min(D_kj* − C_kj* H_kj*, 0): both points lie right of the root.
            gap0 = np.maximum(newton_start(Cn, Dn, Hn), Dn.min(axis=1))
            gap, _ = newton_gaps(Cn, Dn, Hn, gap0)
            out[neg] = _divide_by_gap(Hn, Cn, Dn, gap)
        pos = ~neg
        if pos.any():
            mu = (1.0 - s0[pos]) / ratio[pos].sum(axis=1)
            out[pos] = ratio[pos] * (C[pos] + mu[:, None])
    return np.maximum(out, eps, out=out)


def constrained_h_step(
    H: np.ndarray, C: np.ndarray, D: np.ndarray, beta: float, constraint: str
) -> np.ndarray:
    """One MM step on H with the rows (H e = e) or columns (Hᵀ e = e) summing to one.

    With C = Wᵀ(Y ⊙ V^(β−2)) and D = Wᵀ V^(β−1), the step is
    H ← H ⊙ C ⊘ (D − μ) with the multipliers μ making the constraint hold
    (Leplat, Gillis & Idier 2021).

    Parameters
    ----------
    H, C, D : ndarray, shape (r, p)
    beta : {1, 1.5, 2}
    constraint : {"rows", "cols"}

    Returns
    -------
    ndarray, shape (r, p)
        New H; its rows (or columns) sum to one to about 1e-13 in float64.
    """
    if constraint == "rows":
        return _constrained_rows(H, C, D, beta)
    return _constrained_rows(H.T, C.T, D.T, beta).T


def h_terms(
    Y: np.ndarray, W: np.ndarray, H: np.ndarray, V: np.ndarray, beta: float, R: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """C = Wᵀ(Y ⊙ V^(β−2)) and D = Wᵀ V^(β−1), shapes (r, p); ``R = Y ⊘ V`` may be given for β = 1."""
    if beta == 1:
        if R is None:
            R = Y / V
        C = W.T @ R
        D = np.broadcast_to(W.sum(axis=0)[:, None], C.shape)
    elif beta == 2:
        C = W.T @ Y
        D = (W.T @ W) @ H
    else:
        S = np.sqrt(V)
        C = W.T @ (Y / S)
        D = W.T @ S
    return C, D


def mu_h_step(Y: np.ndarray, W: np.ndarray, H: np.ndarray, V: np.ndarray, beta: float) -> np.ndarray:
    """Plain β-MU step on H (γ(β) = 1 for β in [1, 2]): H ⊙ C ⊘ D."""
    C, D = h_terms(Y, W, H, V, beta)
    return np.maximum(H * C / np.maximum(D, tiny(H.dtype)), tiny(H.dtype))


def mu_w_step(Y: np.ndarray, W: np.ndarray, H: np.ndarray, V: np.ndarray, beta: float) -> np.ndarray:
    """Plain β-MU step on W: the H step applied to the transposed problem."""
    return mu_h_step(Y.T, H.T, W.T, V.T, beta).T


# --------------------------------------------------------------------------- coupled W steps


def w_step_kl(
    W: np.ndarray, H: np.ndarray, Q: np.ndarray, Wbar: np.ndarray, lam: float
) -> np.ndarray:
    """MM step on W for KL(Y | W H) + λ KL(W | W̄) (β = 1), in Wright-omega form.

    With A = 1 Hᵀ − λ log W̄ and B = W ⊙ Q, Q = (Y ⊘ W H) Hᵀ, the minimiser of
    the majoriser is W = B ⊘ (λ ω(log(B/λ) + A/λ)) — the Lambert-W form
    B / (λ W₀((B/λ) e^{A/λ})) without the overflow of exp.

    Parameters
    ----------
    W : ndarray, shape (m, r)
        Current W.
    H : ndarray, shape (r, p)
    Q : ndarray, shape (m, r)
        (Y ⊘ (W H)) Hᵀ at the current W.
    Wbar : ndarray, shape (m, r)
        W_{l+1} H_{l+1}.
    lam : float
        λ_{l+1} / λ_l.

    Returns
    -------
    ndarray, shape (m, r)
    """
    eps = tiny(W.dtype)
    a_over = np.ascontiguousarray(H.sum(axis=1) / lam)
    W, Q, Wbar = (np.ascontiguousarray(a) for a in (W, Q, Wbar))
    B, log_t, S = np.empty_like(W), np.empty_like(W), np.empty_like(W)
    info = np.finfo(B.dtype)
    with np.errstate(divide="ignore"):
        if kernels.product_ratio(W, Q, Wbar, float(info.tiny), float(info.max), B, log_t):
            np.subtract(np.log(B), np.log(Wbar), out=log_t)
        else:
            np.log(log_t, out=log_t)
    # z = log(B/λ) + A/λ with A = 1Hᵀ − λ log W̄, clipped so that ω stays above
    # the smallest normal number (no slow, inexact subnormals); where ω would be
    # smaller, the finish uses W̄ e^{ω − a/λ}, exact as ω → 0.
    shift = np.ascontiguousarray(a_over - np.log(lam))
    tiny_normal = float(info.tiny)
    low, high = np.log(tiny_normal) + 1.0, _omega_bounds(B.dtype)[1]
    # Z overwrites log(B ⊘ W̄).
    Z = log_t
    kernels.shift_clip_start(log_t, shift, low, high, Z, S)
    omega = _omega_from_start(Z.ravel(), S.ravel()).reshape(B.shape)
    # ω e^ω = e^z gives B / (λ ω) = W̄ exp(ω − a/λ): the minimiser W̄ e^{−a/λ}
    # where B = 0 (a zero row of Y), where the direct form is 0/0.
    out = np.empty_like(B)
    kernels.kl_w_finish(B, omega, Wbar, a_over, 1.0 / lam, 4.0 * tiny_normal, eps, out)
    return out


def w_step_beta32(
    W: np.ndarray, H: np.ndarray, Y: np.ndarray, V: np.ndarray, Wbar: np.ndarray, lam: float
) -> np.ndarray:
    """MM step on W for D_{3/2}(Y | W H) + λ D_{3/2}(W | W̄): the positive root of a quadratic in √W.

    Parameters
    ----------
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, p)
    Y, V : ndarray, shape (m, p)
        Data of the layer and V = W H.
    Wbar : ndarray, shape (m, r)
    lam : float
        λ_{l+1} / λ_l.

    Returns
    -------
    ndarray, shape (m, r)
    """
    S = np.sqrt(V)
    sw = np.sqrt(W)
    A = (S @ H.T) / sw + 2.0 * lam
    B = sw * ((Y / S) @ H.T)
    Cc = 2.0 * lam * np.sqrt(Wbar)
    out = 0.25 * ((Cc + np.sqrt(Cc * Cc + 4.0 * A * B)) / A) ** 2
    return np.maximum(out, tiny(W.dtype), out=out)


def w_step_frobenius(
    W: np.ndarray, H: np.ndarray, Y: np.ndarray, Wbar: np.ndarray, lam: float
) -> np.ndarray:
    """MM step on W for ½‖Y − W H‖² + λ ½‖W − W̄‖²: W ⊙ (Y Hᵀ + λ W̄) ⊘ (W H Hᵀ + λ W).

    Shapes as in :func:`w_step_beta32`.
    """
    num = Y @ H.T + lam * Wbar
    den = W @ (H @ H.T) + lam * W
    out = W * num / np.maximum(den, tiny(W.dtype))
    return np.maximum(out, tiny(W.dtype), out=out)
