"""Update steps of deep β-NMF (Leplat, Hien, Onwunta, Gillis 2024).

Each function performs one majorisation–minimisation (MM) step on one block of
the layer-centric objective ``Σ_l λ_l D_β(W_{l-1} | W_l H_l)`` (plus, for the
minimum-volume model, ``Σ_l α_l logdet(W_lᵀ W_l + δ I)``), so the objective
never increases. Everything is a few matrix products and entrywise operations;
the Lagrange multipliers of the sum-to-one constraints are found by Newton's
method vectorised over rows (or columns).

Notation: ``Y`` is the matrix the layer approximates (W_{l-1}; X for layer 1),
``W`` (m, r) and ``H`` (r, p) the layer's factors, ``V = W H``, ``Wbar`` the
next layer's approximation W_{l+1} H_{l+1} of ``W``.
"""

from __future__ import annotations

import numpy as np

from nmfcore.deep import _kernels as kernels

_NEWTON_MAX_ITER = 100


def tiny(dtype: np.dtype) -> float:
    """Floor kept under every factor entry so that multiplicative steps can move it."""
    return float(np.finfo(dtype).eps)


def _newton_tol(dtype: np.dtype) -> float:
    return 1e-13 if np.dtype(dtype) == np.float64 else 1e-6


# --------------------------------------------------------------------------- Wright omega


def wright_omega(z: np.ndarray) -> np.ndarray:
    """Wright omega function ω(z) for real z: the solution w of w + log w = z.

    Vectorised; equal to ``scipy.special.wrightomega`` on reals to about 1e-15
    relative, but several times faster and without complex arithmetic. Never
    overflows: ω(z) ≈ z − log z for large z and ω(z) ≈ exp(z) for very negative z;
    arguments are clipped to [−740, 1e300] ([−103, 1e30] in float32), where ω is 0 (to double precision)
    and z − log z.

    Parameters
    ----------
    z : ndarray
        Real arguments, any shape, float32 or float64.

    Returns
    -------
    ndarray
        Same shape and dtype as ``z``.
    """
    z = np.asarray(z)
    dtype = z.dtype if z.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    flat = np.ascontiguousarray(z, dtype=dtype).ravel()
    Z = np.empty_like(flat)
    w = np.empty_like(flat)
    low, high = _omega_bounds(dtype)
    kernels.clip_start(flat, low, high, Z, w)
    return _omega_from_start(Z, w).reshape(z.shape)


def _omega_bounds(dtype: np.dtype) -> tuple[float, float]:
    # Beyond these bounds ω is 0 or z − log z to machine precision anyway; the
    # clip keeps every intermediate finite.
    return (-740.0, 1e300) if dtype == np.float64 else (-103.0, 1e30)


def _omega_from_start(Z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """ω(Z) for flat contiguous Z already clipped, in place in w, which holds −|Z| on entry."""
    # Start from log(1 + e^z) (exact in both tails), then two steps of Fritsch's
    # fourth-order iteration reach machine precision.
    np.exp(w, out=w)
    logw = np.add(w, 1.0)
    np.log(logw, out=logw)
    kernels.softplus_start(w, logw, Z)
    for _ in range(2):
        np.log(w, out=logw)
        kernels.fritsch_step(w, Z, logw)
    return w


# --------------------------------------------------------------------------- multipliers


def newton_gaps(
    C: np.ndarray, D: np.ndarray, H: np.ndarray, gap0: np.ndarray
) -> tuple[np.ndarray, int]:
    """Root μ_k of f(μ_k) = Σ_j H_kj C_kj / (D_kj − μ_k) − 1 for every row k.

    The unknown is the gap g_k = min_j D_kj − μ_k > 0 (so that a root a hair
    from the pole is not lost to cancellation). With F(g) = f + 1, a sum of
    a_j / (b_j + g), 1/F is increasing and concave in g, so Newton's method on
    1/F = 1 started left of the root (f >= 0) climbs monotonically to it without
    reaching the pole. All rows are iterated together.

    Parameters
    ----------
    C, D, H : ndarray, shape (r, p)
        Nonnegative; D > 0.
    gap0 : ndarray, shape (r,)
        Starting gap g⁰ > 0 with f >= 0 there (see :func:`newton_start`).

    Returns
    -------
    gap : ndarray, shape (r,)
        g_k = min_j D_kj − μ_k > 0 at the root.
    n_steps : int
        Newton steps taken (at most 100).
    """
    d_min = D.min(axis=1)
    offset = D - d_min[:, None]
    floor = np.finfo(C.dtype).tiny
    g = np.maximum(gap0.astype(C.dtype, copy=True), floor)
    HC = H * C
    tol = _newton_tol(C.dtype)
    n_steps = 0
    for n_steps in range(1, _NEWTON_MAX_ITER + 1):
        denom = offset + g[:, None]
        G = HC / denom
        f = G.sum(axis=1) - 1.0
        slope = (G / denom).sum(axis=1)
        # Newton on 1/F(g) = 1 with F = f + 1: 1/F is concave, so from the start
        # (F >= 1) the steps rise monotonically to the root; exact in one step when
        # D is constant along the row (β = 1), where plain Newton would creep.
        step = np.divide(f * (f + 1.0), slope, out=np.zeros_like(f), where=slope > 0)
        g = np.maximum(g + step, floor)
        if np.all(np.abs(f) <= tol) or np.all(np.abs(step) <= tol * g):
            break
    return g, n_steps


def newton_multipliers(
    C: np.ndarray, D: np.ndarray, H: np.ndarray, gap0: np.ndarray
) -> tuple[np.ndarray, int]:
    """The multipliers μ_k = min_j D_kj − g_k of :func:`newton_gaps`, shape (r,), and the step count."""
    g, n_steps = newton_gaps(C, D, H, gap0)
    return D.min(axis=1) - g, n_steps


def newton_start(C: np.ndarray, D: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Starting gap g⁰_k = C_kj* H_kj* with j* = argmin_j D_kj, i.e. μ⁰ = D_kj* − C_kj* H_kj*.

    The term j* of f equals one there, so f(μ⁰) >= 0: right of the root, left of the pole.
    """
    rows = np.arange(C.shape[0])
    j = np.argmin(D, axis=1)
    return C[rows, j] * H[rows, j]


def _divide_by_gap(H, C, D, gap):
    """H ⊙ C ⊘ (D − μ) with D − μ formed as (D − min D) + gap, free of cancellation."""
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


def h_terms(Y: np.ndarray, W: np.ndarray, H: np.ndarray, V: np.ndarray, beta: float, R=None):
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


# --------------------------------------------------------------------------- minimum volume


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
