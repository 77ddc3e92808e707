"""Compiled inner loops that NumPy cannot express without large temporaries.

Two operations of the solvers are not a matrix product or an entrywise step:

- the sampled product (W H)_ij at the non-zeros of a sparse X (SDDMM), which in
  NumPy needs nnz x r gathered copies of W and H;
- the HALS coordinate sweep, a sequential loop over the r factors whose
  per-factor work is too small for NumPy calls to amortise their overhead.

numba compiles both (numba is already required by scanpy). Each kernel works on
one block of rows at a time, so a chunked array library can map it over blocks.
"""

from __future__ import annotations

import numba


@numba.njit(parallel=True, cache=True, fastmath=True)
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


@numba.njit(cache=True, fastmath=True)
def hals_rows(G, R, B, l1, l2, max_inner, delta):  # pragma: no cover - compiled
    """Accelerated HALS on the rows of G, which are independent problems.

    Each row g of G (p x r) minimises ½ gᵀBg − aᵀg + l1 Σg + ½ l2 ‖g‖² over g ≥ 0
    by coordinate descent, repeating sweeps while the last one moved g by more
    than ``delta`` times the first. ``R`` holds the residual gradients a − B g
    on entry (one matrix product for all rows); each coordinate move then costs
    one rank-one correction, and none when the coordinate stays put (as most
    zero entries of a sparse factor do). G and R are updated in place.
    """
    p, r = G.shape
    for i in range(p):
        g = G[i]
        grad = R[i]
        first = -1.0
        for _ in range(max_inner):
            change = 0.0
            for k in range(r):
                bkk = B[k, k] + l2
                if bkk <= 0.0:
                    continue
                new = g[k] + (grad[k] - l1 - l2 * g[k]) / bkk
                if new < 0.0:
                    new = 0.0
                d = new - g[k]
                if d != 0.0:
                    g[k] = new
                    for q in range(r):
                        grad[q] -= d * B[k, q]
                    change += d * d
            if first < 0.0:
                first = change
            elif change <= delta * delta * first:
                break
