"""Matrix products that never form a dense m x n array from sparse data.

The β-divergence updates need ``V = W H`` only at the non-zeros of a sparse X
(Kullback–Leibler) or in row blocks (other β). These helpers do that with
bounded memory; each is a gather, a batched dot product and a scatter, so they
map onto chunked array libraries.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Entries of the gathered (nnz x r) blocks or of a dense (rows x n) block kept in
# memory at once: 2**22 float64 values are 32 MiB.
_BLOCK_ENTRIES = 1 << 22


def sampled_product(
    W: np.ndarray, H: np.ndarray, rows: np.ndarray, cols: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Entries ``(W @ H)[rows[k], cols[k]]`` without computing ``W @ H``.

    Parameters
    ----------
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
    rows, cols : ndarray of int, shape (nnz,)
        Positions of the wanted entries.
    out : ndarray, shape (nnz,), optional
        Array to write into.

    Returns
    -------
    ndarray, shape (nnz,)
    """
    nnz = rows.size
    if out is None:
        out = np.empty(nnz, dtype=np.result_type(W, H))
    Ht = np.ascontiguousarray(H.T)
    step = max(1, _BLOCK_ENTRIES // max(1, W.shape[1]))
    for start in range(0, nnz, step):
        stop = min(nnz, start + step)
        np.einsum("ij,ij->i", W[rows[start:stop]], Ht[cols[start:stop]], out=out[start:stop])
    return out


def row_blocks(m: int, n: int) -> list[slice]:
    """Split ``range(m)`` into row blocks whose dense (rows x n) slab stays small."""
    step = max(1, _BLOCK_ENTRIES // max(1, n))
    return [slice(start, min(m, start + step)) for start in range(0, m, step)]


def sparse_with_data(X: sp.csr_matrix, data: np.ndarray) -> sp.csr_matrix:
    """A CSR matrix with X's sparsity pattern and new values ``data`` (no copy of indices)."""
    return sp.csr_matrix((data, X.indices, X.indptr), shape=X.shape)


def coo_positions(X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Row and column index of each stored entry of a CSR matrix, in storage order."""
    rows = np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr))
    return rows, X.indices.astype(np.int64, copy=False)
