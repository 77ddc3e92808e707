"""Compiled inner loops of persistent NMF (:mod:`nmfcore.topology.persistent_solver`).

A pNMF fit works on hundreds of scales whose per-scale arrays are small
(r x n, m x r), so NumPy and SciPy calls per scale cost more in overhead than
in arithmetic. These kernels take a batch of c scales at once:

- the graph products H_t A_t and the degrees straight from the item rows of
  :class:`nmfcore.topology.graphs.ScaleGraphs`, with the weights exp(-D² / ε^1.5)
  computed on the fly (no per-scale sparse matrix is ever built);
- the exact unit-sphere HALS step for the columns of W_t;
- the multiplicative H_t update with the graph, coupling and anchor terms.

Every kernel is generic in the float type and runs the jobs ``offset``,
``offset + stride``, ... of its batch (scales, or (scale, block of items)
pairs), so :func:`nmfcore.utils.parallel.run_jobs` can deal a batch out to
threads; dealing rather than splitting into halves balances coarse scales
(many edges) against fine ones. The kernels release the GIL and are not
numba-parallel: between the solver's BLAS calls, OpenMP worker threads
spinning beside OpenBLAS's made alternating calls about ten times slower on
two cores.
"""

from __future__ import annotations

import numpy as np

from nmfcore.utils.compile_cache import cached_njit

# Below this norm a column of W is left as it is (its optimum on the sphere is undefined).
_NORM_EPS = 1e-16


# Items per parallel job of the graph kernels: jobs are (scale, block of items)
# pairs, so even a single scale keeps every thread busy.
_ITEM_BLOCK = 64


def item_jobs(c: int, n: int) -> int:
    """Number of jobs of a graph kernel over c scales of n items."""
    return c * -(-n // _ITEM_BLOCK)


@cached_njit()
def _prefix(nd2, start, stop, limit):  # pragma: no cover - compiled
    """End of the prefix of nd2[start:stop] (ascending) below ``limit``, by bisection."""
    lo, hi = start, stop
    while lo < hi:
        mid = (lo + hi) // 2
        if nd2[mid] < limit:
            lo = mid + 1
        else:
            hi = mid
    return lo


@cached_njit(nogil=True, fastmath=True)
def weighted_degrees(indptr, nd2, limits, inv_scales, out, offset, stride):  # pragma: no cover - compiled
    """out[s, a] = Σ_b A_s[a, b], the degrees of every scale s.

    indptr, nd2 : the item rows of :class:`nmfcore.topology.graphs.ScaleGraphs` (squared
    distances ascending within a row); limits : (c,) the squared scales (a pair
    counts when D² < limit); inv_scales : (c,) 1 / ε^1.5; out : (c, n).
    """
    c, n = out.shape
    n_blocks = (n + _ITEM_BLOCK - 1) // _ITEM_BLOCK
    for job in range(offset, c * n_blocks, stride):
        s = job // n_blocks
        a0 = (job % n_blocks) * _ITEM_BLOCK
        for a in range(a0, min(a0 + _ITEM_BLOCK, n)):
            stop = _prefix(nd2, indptr[a], indptr[a + 1], limits[s])
            acc = 0.0
            for p in range(indptr[a], stop):
                acc += np.exp(-nd2[p] * inv_scales[s])
            out[s, a] = acc


@cached_njit(nogil=True, fastmath=True)
def graph_products(indptr, nbr, nd2, limits, inv_scales, H, out, offset, stride):  # pragma: no cover - compiled
    """out[s] = H[s] A_s for a batch of scales, A_s built on the fly from the item rows.

    Column a of out[s] is Σ_b w_ab H[s][:, b] over the neighbours b of a at
    scale s (a prefix of row a); the weights are computed once per row.
    H, out : (c, r, n); limits, inv_scales : (c,), see :func:`weighted_degrees`.
    """
    c, r, n = H.shape
    n_blocks = (n + _ITEM_BLOCK - 1) // _ITEM_BLOCK
    for job in range(offset, c * n_blocks, stride):
        s = job // n_blocks
        a0 = (job % n_blocks) * _ITEM_BLOCK
        Hs = H[s]
        w = np.empty(n, dtype=H.dtype)
        for a in range(a0, min(a0 + _ITEM_BLOCK, n)):
            start = indptr[a]
            size = _prefix(nd2, start, indptr[a + 1], limits[s]) - start
            for q in range(size):
                w[q] = np.exp(-nd2[start + q] * inv_scales[s])
            cols = nbr[start : start + size]
            for k in range(r):
                hk = Hs[k]
                acc = 0.0
                for q in range(size):
                    acc += w[q] * hk[cols[q]]
                out[s, k, a] = acc


@cached_njit(nogil=True, fastmath=True)
def unit_column_passes(W, XHt, HHt, n_passes, offset, stride):  # pragma: no cover - compiled
    """``n_passes`` exact unit-sphere HALS passes over the columns of each W[s], in place.

    With ‖w_k‖ = 1 fixed, ‖X - W H‖² = const - 2 w_kᵀ v_k with
    v_k = (X Hᵀ)_k - W (H Hᵀ)_k + w_k (H Hᵀ)_kk; its minimiser over w_k >= 0 on
    the sphere is the normalised positive part of v_k. Columns with v_k ≤ 0
    everywhere keep their value.

    W : (c, m, r); XHt : (m, c * r), columns s r .. s r + r - 1 hold X H[s]ᵀ;
    HHt : (c, r, r).
    """
    c, m, r = W.shape
    for s in range(offset, c, stride):
        Ws = W[s]
        G = HHt[s]
        v = np.empty(m, dtype=W.dtype)
        for _ in range(n_passes):
            for k in range(r):
                gk = G[:, k]
                total = 0.0
                for p in range(m):
                    row = Ws[p]
                    acc = XHt[p, s * r + k] + row[k] * gk[k]
                    for q in range(r):
                        acc -= row[q] * gk[q]
                    acc = max(acc, 0.0)
                    v[p] = acc
                    total += acc * acc
                norm = np.sqrt(total)
                if norm > _NORM_EPS:
                    inv = 1.0 / norm
                    for p in range(m):
                        Ws[p, k] = v[p] * inv


@cached_njit(nogil=True, fastmath=True)
def multiplicative_h(H, WtX, WtW, HA, deg, H_all, idx, l1, l2, l3, eps, offset, stride):  # pragma: no cover - compiled
    """One multiplicative update of each H[s], in place:

    H ← H ⊙ (WᵀX + l1 H A + a H_{t-1} + b H_{t+1}) ⊘ (WᵀW H + l1 H D + (a + b + l3) H),

    with t = idx[s], a = l2 if t > 0 else 0 and b = l2 if t < T - 1 else 0; the
    neighbours are read from ``H_all`` (T, r, n), which must not alias H.

    H, WtX, HA : (c, r, n); WtW : (c, r, r); deg : (c, n).
    """
    c, r, n = H.shape
    T = H_all.shape[0]
    for s in range(offset, c, stride):
        t = idx[s]
        a = l2 if t > 0 else 0.0
        b = l2 if t < T - 1 else 0.0
        shrink = a + b + l3
        Hs = H[s]
        new = np.empty((r, n), dtype=H.dtype)
        den = np.empty(n, dtype=H.dtype)
        for k in range(r):
            den[:] = 0.0
            for q in range(r):
                wq = WtW[s, k, q]
                hq = Hs[q]
                for p in range(n):
                    den[p] += wq * hq[p]
            hk = Hs[k]
            num = WtX[s, k]
            ha = HA[s, k]
            dg = deg[s]
            for p in range(n):
                top = num[p] + l1 * ha[p]
                if a != 0.0:
                    top += a * H_all[t - 1, k, p]
                if b != 0.0:
                    top += b * H_all[t + 1, k, p]
                bottom = den[p] + (l1 * dg[p] + shrink) * hk[p]
                new[k, p] = hk[p] * top / max(bottom, eps)
        Hs[:] = new
