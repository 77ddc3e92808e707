"""Matrix products that never form a dense m x n array from sparse data.

The β-divergence updates need ``V = W H`` only at the non-zeros of a sparse X
(Kullback–Leibler) or in row blocks (other β). These helpers do that with
bounded memory, one block of rows at a time, so they map onto chunked arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nmfcore.classic._kernels import csr_sampled_product

# Entries of a dense (rows x n) block of W H kept in memory at once: 2**22
# float64 values are 32 MiB.
_BLOCK_ENTRIES = 1 << 22


def sampled_product(
    W: np.ndarray, H: np.ndarray, X: sp.csr_matrix, out: np.ndarray | None = None
) -> np.ndarray:
    """Entries of ``W @ H`` at the stored entries of a CSR matrix, without forming ``W @ H``.

    Parameters
    ----------
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
    X : csr_matrix, shape (m, n)
        Only its pattern (``indptr``, ``indices``) is used.
    out : ndarray, shape (nnz,), optional
        Array to write into.

    Returns
    -------
    ndarray, shape (nnz,)
        In X's storage order, so it can serve as the ``data`` of a matrix with X's pattern.
    """
    if out is None:
        out = np.empty(X.nnz, dtype=np.result_type(W, H))
    csr_sampled_product(
        X.indptr, X.indices, np.ascontiguousarray(W), np.ascontiguousarray(H.T), out
    )
    return out


def row_blocks(m: int, n: int) -> list[slice]:
    """Split ``range(m)`` into row blocks whose dense (rows x n) slab stays small."""
    step = max(1, _BLOCK_ENTRIES // max(1, n))
    return [slice(start, min(m, start + step)) for start in range(0, m, step)]


def sparse_with_data(X: sp.csr_matrix, data: np.ndarray) -> sp.csr_matrix:
    """A CSR matrix with X's sparsity pattern and new values ``data`` (no copy of indices)."""
    return sp.csr_matrix((data, X.indices, X.indptr), shape=X.shape)
