"""Compiled entrywise passes of the deep KL-NMF W step (Wright omega).

NumPy evaluates the Wright-omega iteration as some thirty separate passes over
the (m x r) arrays, each with its own temporary. These kernels fuse the
arithmetic between the transcendental functions into single passes; log, exp
and log1p stay in NumPy, whose vectorised versions are several times faster
than the scalar libm calls numba makes. Kernels take C-contiguous arrays and
write into the buffers they are given.
"""

from __future__ import annotations

import math

from nmfcore.utils.compile_cache import cached_njit

# Clipping meets ±inf (log 0) and must not assume finite inputs.
_INF_SAFE = {"nsz", "arcp", "contract", "afn", "reassoc"}
_NO_REASSOC = {"nsz", "arcp", "afn"}


@cached_njit(fastmath=_INF_SAFE, error_model="numpy")
def product_ratio(W, Q, Wbar, low, high, B, T):  # pragma: no cover - compiled
    """B = W ⊙ Q and T = B ⊘ W̄ (all (m, r)); the number of T outside [low, high] with B > 0.

    Outside that range the quotient has over- or underflowed and its logarithm
    must be taken as log B − log W̄ instead.
    """
    m, r = W.shape
    bad = 0
    for i in range(m):
        for k in range(r):
            b = W[i, k] * Q[i, k]
            t = b / Wbar[i, k]
            B[i, k] = b
            T[i, k] = t
            bad += (b > 0.0) & ((t < low) | (t > high))
    return bad


@cached_njit(fastmath=_INF_SAFE, error_model="numpy")
def shift_clip_start(log_t, shift, low, high, Z, S):  # pragma: no cover - compiled
    """Z = clip(log_t + shift[k], low, high), S = −|Z| (for exp then log1p); all (m, r)."""
    m, r = log_t.shape
    for i in range(m):
        for k in range(r):
            z = log_t[i, k] + shift[k]
            if z < low:
                z = low
            elif z > high:
                z = high
            Z[i, k] = z
            S[i, k] = -abs(z)


@cached_njit(fastmath=_INF_SAFE, error_model="numpy")
def clip_start(z, low, high, Z, S):  # pragma: no cover - compiled
    """Flat version of :func:`shift_clip_start` without the shift."""
    for i in range(z.size):
        v = z[i]
        if v < low:
            v = low
        elif v > high:
            v = high
        Z[i] = v
        S[i] = -abs(v)


@cached_njit(fastmath=_NO_REASSOC, error_model="numpy")
def softplus_start(e, log_u, z):  # pragma: no cover - compiled
    """e ← log1p(e) + max(z, 0) = log(1 + e^z) for e = e^{−|z|}, given log_u = log(1 + e) (flat arrays).

    log1p(e) = e · log(u) / (u − 1) with u = 1 + e (Goldberg's trick, a few ulps),
    so that the logarithm can be NumPy's vectorised one; u − 1 must not be
    simplified to e, hence no reassociation here. u is rounded in the arrays'
    dtype, as NumPy rounded it for log_u: a float64 u beside a float32 log_u
    gives 0 for e below float32's epsilon.
    """
    one = e.dtype.type(1.0)
    for i in range(e.size):
        ei = e[i]
        u = one + ei
        w = ei if u == 1.0 else log_u[i] * ei / (u - 1.0)
        if z[i] > 0.0:
            w += z[i]
        e[i] = w


@cached_njit(fastmath=True, error_model="numpy")
def fritsch_step(w, z, logw):  # pragma: no cover - compiled
    """One fourth-order Fritsch step of w + log w = z, in place on flat w; logw = log w.

    w ← w (1 + (p − q) q / (p − 2q)) with r = z − w − log w, t = 1 + w,
    p = 2 (t + 2r/3), q = r / t (no product of t with itself: w reaches 1e300).
    """
    for i in range(w.size):
        wi = w[i]
        r = z[i] - (logw[i] + wi)
        t = wi + 1.0
        p = 2.0 * (t + r * (2.0 / 3.0))
        q = r / t
        w[i] = wi * ((p - q) * q / (p - q - q) + 1.0)


@cached_njit(fastmath=True, error_model="numpy")
def kl_w_finish(B, omega, Wbar, a_over, inv_lam, small, floor, out):  # pragma: no cover - compiled
    """out = max(B ⊘ (λ ω), floor), or its equal W̄ e^{ω − a/λ} where ω < small (all (m, r)).

    The second form holds the 0/0 limit where B = 0 and stays exact where ω
    would lose digits (or was clipped) near the underflow threshold. Those
    entries are rare and fixed in a second loop, so that the main loop holds no
    call to exp and vectorises.
    """
    m, r = B.shape
    tails = 0
    for i in range(m):
        for k in range(r):
            w = omega[i, k]
            tails += w < small
            v = B[i, k] / w * inv_lam
            out[i, k] = v if v > floor else floor
    if tails:
        for i in range(m):
            for k in range(r):
                if omega[i, k] < small:
                    v = Wbar[i, k] * math.exp(omega[i, k] - a_over[k])
                    out[i, k] = v if v > floor else floor
