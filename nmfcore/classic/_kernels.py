"""Compiled inner loops that NumPy cannot express without large temporaries.

Operations of the solvers that are not a matrix product or one NumPy call:

- the sampled product (W H)_ij at the non-zeros of a sparse X (SDDMM), which in
  NumPy needs nnz x r gathered copies of W and H;
- the HALS coordinate sweep, a sequential loop over the r factors whose
  per-factor work is too small for NumPy calls to amortise their overhead;
- HALS's extrapolation step, in the sweep while a tile is in cache (or in one
  pass instead of four NumPy passes).

numba compiles them (numba is already required by scanpy). Each kernel works on
independent blocks (rows of X, columns of a factor), so a chunked array library
can map it over blocks; the dense ones release the GIL, so that the solvers'
block threads (:mod:`nmfcore.utils.parallel`) run them side by side.
"""

from __future__ import annotations

import numba
import numpy as np

from nmfcore.utils.compile_cache import cached_njit


@cached_njit(parallel=True, fastmath=True)
def csr_sampled_product(indptr, indices, W, Ht, out):  # pragma: no cover - compiled
    """out[k] = W[i] · Ht[j] for the k-th stored entry (i, j) of a CSR pattern."""
    m = indptr.size - 1
    r = W.shape[1]
    for i in numba.prange(m):
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            acc = 0.0
            for q in range(r):
                acc += W[i, q] * Ht[j, q]
            out[k] = acc


# The HALS sweep works on tiles of TILE columns (an r x 64 tile of doubles stays in
# L1/L2 cache) and delays the rank-one corrections of R by blocks of BLOCK
# coordinates, so that R is read and written once per block, not once per
# coordinate. Both are compile-time constants: fixed trip counts let LLVM unroll
# and vectorise the loops. Blocks of 8 beat 4, 6, 12 and 16 over r = 20, 48 and
# 49 (timed interleaved, one core).
HALS_TILE = 64
HALS_BLOCK = 8


@cached_njit(nogil=True, fastmath=True)
def _hals_tile_sweep(Ft, Rt, Bp, l1, l2, D):  # pragma: no cover - compiled
    """One coordinate sweep over the r rows of a tile; returns the squared change.

    Ft, Rt : (r, HALS_TILE) factor and residual-gradient tiles, updated in place.
    Bp : (r, r padded to a multiple of HALS_BLOCK) Gram matrix, zero padding.
    D : (HALS_BLOCK, HALS_TILE) scratch for the moves of one block of coordinates.
    """
    r = Ft.shape[0]
    change = 0.0
    for k0 in range(0, r, HALS_BLOCK):
        k1 = min(k0 + HALS_BLOCK, r)
        block_moved = False
        for k in range(k0, k1):
            dk = D[k - k0]
            bkk = Bp[k, k] + l2
            if bkk <= 0.0:
                dk[:] = 0.0
                continue
            inv = 1.0 / bkk
            f = Ft[k]
            g = Rt[k]
            moved = 0.0
            for j in range(HALS_TILE):
                old = f[j]
                new = max(old + (g[j] - l1 - l2 * old) * inv, 0.0)
                dk[j] = new - old
                f[j] = new
                moved += dk[j] * dk[j]
            if moved > 0.0:
                block_moved = True
                change += moved
                # the block's own rows are needed at once, by the next coordinates
                for q in range(k0, k1):
                    c = Bp[q, k]
                    row = Rt[q]
                    for j in range(HALS_TILE):
                        row[j] -= c * dk[j]
        D[k1 - k0 :] = 0.0
        if not block_moved:
            continue
        n_block = k1 - k0
        for q in range(r):
            if k0 <= q < k1:
                continue
            row = Rt[q]
            if n_block == HALS_BLOCK:
                for j in range(HALS_TILE):
                    acc = 0.0
                    for a in range(HALS_BLOCK):
                        acc += Bp[q, k0 + a] * D[a, j]
                    row[j] -= acc
            else:  # the last, short block: no work on its padding
                for a in range(n_block):
                    c = Bp[q, k0 + a]
                    for j in range(HALS_TILE):
                        row[j] -= c * D[a, j]
    return change


@cached_njit(nogil=True, fastmath=True)
def hals_sweeps(F_start, R, B, l1, l2, max_inner, delta, F, F_prev, beta, F_ext):  # pragma: no cover - compiled
    """Accelerated HALS on columns, which are independent problems, with optional extrapolation.

    Each column f of the (r x p) factor minimises ½ fᵀBf − aᵀf + l1 Σf + ½ l2 ‖f‖²
    over f ≥ 0 by coordinate descent over its r entries, in order, from its value
    in ``F_start``. ``R`` holds the residual gradients A − B F_start on entry (one
    matrix product for all columns); each coordinate move then corrects R, which
    is left equal to A − B F. Columns are taken a tile at a time
    (:func:`_hals_tile_sweep`); sweeps over a tile repeat while the last one moved
    it by more than ``delta`` times the first. The result goes to ``F`` (which may
    be ``F_start``) and, when ``beta`` > 0, max(F + beta (F − F_prev), 0) to
    ``F_ext``, while the tile is still in cache.
    """
    r, p = F.shape
    padded = -(-r // HALS_BLOCK) * HALS_BLOCK
    Bp = np.zeros((r, padded), dtype=B.dtype)
    Bp[:, :r] = B
    Ft = np.empty((r, HALS_TILE), dtype=F.dtype)
    Rt = np.empty((r, HALS_TILE), dtype=R.dtype)
    D = np.zeros((HALS_BLOCK, HALS_TILE), dtype=F.dtype)
    for j0 in range(0, p, HALS_TILE):
        w = min(HALS_TILE, p - j0)
        # padding columns (0 factor, 0 gradient) never move
        Ft[:, w:] = 0.0
        Rt[:, w:] = 0.0
        Ft[:, :w] = F_start[:, j0 : j0 + w]
        Rt[:, :w] = R[:, j0 : j0 + w]
        first = -1.0
        for _ in range(max_inner):
            change = _hals_tile_sweep(Ft, Rt, Bp, l1, l2, D)
            if first < 0.0:
                first = change
            elif change <= delta * delta * first:
                break
        F[:, j0 : j0 + w] = Ft[:, :w]
        R[:, j0 : j0 + w] = Rt[:, :w]
        if beta > 0.0:
            for i in range(r):
                for j in range(w):
                    F_ext[i, j0 + j] = max(Ft[i, j] + beta * (Ft[i, j] - F_prev[i, j0 + j]), 0.0)


@cached_njit(nogil=True, fastmath=True)
def hals_columns(F, R, B, l1, l2, max_inner, delta):  # pragma: no cover - compiled
    """:func:`hals_sweeps` in place on F, without extrapolation."""
    hals_sweeps(F, R, B, l1, l2, max_inner, delta, F, F, 0.0, F)


@cached_njit(nogil=True, fastmath=True)
def extrapolate(new, previous, beta, out):  # pragma: no cover - compiled
    """out = max(new + beta (new − previous), 0), entrywise over 2-D arrays of one shape."""
    p, q = new.shape
    for i in range(p):
        for j in range(q):
            out[i, j] = max(new[i, j] + beta * (new[i, j] - previous[i, j]), 0.0)
