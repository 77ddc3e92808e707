"""Compiled entrywise passes of the multiplicative updates.

A KL multiplicative update is two matrix products and, around them, entrywise
work: the quotient Q = X ⊘ (W H), the loss term Σ x log(x / (W H)), and the step
F ← F ⊙ (numerator ⊘ denominator). In NumPy each of those is several passes
with temporaries, and the logarithm is scalar on CPUs without AVX-512. These
kernels do each in one pass (the logarithm by :mod:`nmfcore.classic._fastlog`). For a
sparse X the quotient and the product with a factor are fused, so W H is
evaluated at X's non-zeros only and never stored.

Every kernel maps over independent rows, so a chunked array library can run it
block by block. All arrays are C-contiguous unless a docstring says otherwise.

The dense passes take one block of rows each and release the GIL: the solver
runs them, with the BLAS products of the same block, on the threads of
:mod:`nmfcore.utils.parallel`. The sparse kernels are the products themselves, with
no BLAS call around them, and are numba-parallel over rows.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from nmfcore.classic._fastlog import log_normal, outside_domain
from nmfcore.utils.compile_cache import cached_njit

# Fast-math without "nnan"/"ninf": the kernels must see infinite quotients to route them to libm.
_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}

# Entries of one task of a flat reduction: large enough to amortise a thread's start.
_CHUNK = 1 << 16


@cached_njit(nogil=True, fastmath=_FAST, error_model="numpy")
def dense_quotient(X, V, with_loss):  # pragma: no cover - compiled
    """V ← X ⊘ V in place; returns Σ x log(x / v) over x > 0 when ``with_loss``.

    X, V : (m, n). V = W H must be positive where X is.
    """
    m, n = X.shape
    total = 0.0
    for i in range(m):
        x_row = X[i]
        v_row = V[i]
        row = 0.0
        bad = False
        for j in range(n):
            q = x_row[j] / v_row[j]
            v_row[j] = q
        if with_loss:
            for j in range(n):
                x = np.float64(x_row[j])
                q = np.float64(v_row[j])
                row += x * log_normal(q)
                bad |= (x > 0.0) & outside_domain(q)
            if bad:  # an underflowed or infinite quotient: libm takes the rare row
                row = 0.0
                for j in range(n):
                    x = np.float64(x_row[j])
                    if x > 0.0:
                        row += x * math.log(np.float64(v_row[j]))
        total += row
    return total


@cached_njit(parallel=True, fastmath=_FAST, error_model="numpy")
def csr_quotient_product(indptr, indices, data, A, B, Q, out):  # pragma: no cover - compiled
    """Fused quotient and product for a sparse X: out = (X ⊘ (A Bᵀ)) B at X's pattern.

    For the stored entry x = X[i, j] (CSR ``indptr``, ``indices``, ``data``),
    q = x / (A[i] · B[j]) is written to ``Q`` (in storage order) and
    ``out[i] = Σ_j q B[j]``. A : (p, r), B : (s, r), out : (p, r), Q : (nnz,).
    With X's pattern, A = W and B = Hᵀ give the W numerator (X ⊘ WH) Hᵀ; with
    Xᵀ's pattern, A = Hᵀ and B = W give the H numerator (Wᵀ (X ⊘ WH))ᵀ.
    """
    p = indptr.size - 1
    r = A.shape[1]
    for i in numba.prange(p):
        a = A[i]
        acc = out[i]
        acc[:] = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            b = B[indices[k]]
            v = 0.0
            for c in range(r):
                v += a[c] * b[c]
            q = data[k] / v
            Q[k] = q
            for c in range(r):
                acc[c] += q * b[c]


@cached_njit(parallel=True, fastmath=_FAST, error_model="numpy")
def xlogq_sum(x, q):  # pragma: no cover - compiled
    """Σ x log q over x > 0, for the flat arrays of a sparse X and its quotient."""
    size = x.size
    n_chunks = (size + _CHUNK - 1) // _CHUNK
    total = 0.0
    for c in numba.prange(n_chunks):
        start = c * _CHUNK
        stop = min(start + _CHUNK, size)
        part = 0.0
        bad = False
        for k in range(start, stop):
            xk = np.float64(x[k])
            qk = np.float64(q[k])
            part += xk * log_normal(qk)
            bad |= (xk > 0.0) & outside_domain(qk)
        if bad:
            part = 0.0
            for k in range(start, stop):
                xk = np.float64(x[k])
                if xk > 0.0:
                    part += xk * math.log(np.float64(q[k]))
        total += part
    return total


@numba.njit(inline="always")
def _multiplier(f, num, den, l1, l2, gamma, relaxed, eps):  # pragma: no cover - compiled
    ratio = num / max(den + l1 + l2 * f, eps)
    if relaxed:
        step = ratio * ratio if ratio <= 1.0 else 2.0 * ratio - 1.0
    elif gamma != 1.0:
        step = ratio**gamma
    else:
        step = ratio
    return max(f * step, eps)


@cached_njit(nogil=True, fastmath=_FAST, error_model="numpy")
def mu_step(F, num, den, l1, l2, gamma, relaxed, eps):  # pragma: no cover - compiled
    """One multiplicative step on F (p, q) in place, floored at ``eps``.

    With D = max(den + l1 + l2 F, eps) and R = num ⊘ D, F ← F ⊙ S(R) where S(R)
    is R^gamma (the MM step), or, when ``relaxed``, R² for R ≤ 1 and 2R − 1 for
    R > 1 (twice the MM step, see :func:`nmfcore.classic.mu_rules.relaxed_factor`). ``den``
    is (p, q), or (p, 1) / (1, q) for a denominator shared along a row / column
    (a C-contiguous array: broadcast views are several times slower here).
    """
    p, q = F.shape
    if den.shape[0] == p and den.shape[1] == q:
        for i in range(p):
            for j in range(q):
                F[i, j] = _multiplier(F[i, j], num[i, j], den[i, j], l1, l2, gamma, relaxed, eps)
    elif den.shape[0] == p:
        for i in range(p):
            d = den[i, 0]
            for j in range(q):
                F[i, j] = _multiplier(F[i, j], num[i, j], d, l1, l2, gamma, relaxed, eps)
    else:
        d_row = den[0]
        for i in range(p):
            for j in range(q):
                F[i, j] = _multiplier(F[i, j], num[i, j], d_row[j], l1, l2, gamma, relaxed, eps)
