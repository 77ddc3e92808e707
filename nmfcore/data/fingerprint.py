"""A content hash of a data matrix, shared by the app's result cache and the export recipe."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import scipy.sparse as sp


def data_fingerprint(X: Any) -> str:
    """SHA-256 of a matrix's shape, dtype and values (dense or sparse), as hex.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)

    Returns
    -------
    str
        Equal for equal values, whatever the memory layout, index width or
        floating precision (values are hashed as float64).
    """
    digest = hashlib.sha256()
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)
        X.sum_duplicates()
        X.sort_indices()
        digest.update(f"csr{X.shape}".encode())
        for part in (X.indptr.astype(np.int64), X.indices.astype(np.int64), X.data):
            digest.update(np.ascontiguousarray(part).tobytes())
    else:
        X = np.ascontiguousarray(X, dtype=np.float64)
        digest.update(f"dense{X.shape}".encode())
        digest.update(X.tobytes())
    return digest.hexdigest()
