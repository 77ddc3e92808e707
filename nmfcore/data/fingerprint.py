"""A content hash of a data matrix, shared by the app's result cache and the export recipe."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.data.lazy_checks import is_lazy_array

#: Items in each window of columns that the fingerprint of a lazy X reads.
LAZY_WINDOW_ITEMS = 64


def data_fingerprint(X: Any) -> str:
    """SHA-256 of a matrix's shape, dtype and values (dense or sparse), as hex.

    Parameters
    ----------
    X : ndarray, sparse matrix or dask.array.Array, shape (m, n)

    Returns
    -------
    str
        Equal for equal values, whatever the memory layout, index width or
        floating precision (values are hashed as float64). A lazy X (a Dask array)
        gets :func:`lazy_fingerprint`, which never reads X whole.
    """
    if is_lazy_array(X):
        return lazy_fingerprint(X)
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


def lazy_windows(n: int, width: int = LAZY_WINDOW_ITEMS) -> list[tuple[int, int]]:
    """The column ranges :func:`lazy_fingerprint` reads: the first, middle and last ``width`` items.

    Parameters
    ----------
    n : int
        Items (columns) of X.
    width : int

    Returns
    -------
    list of (start, stop)
        Increasing, not overlapping; one range ``(0, n)`` when ``n <= 3 * width``.
    """
    if n <= 3 * width:
        return [(0, n)]
    middle = (n - width) // 2
    return [(0, width), (middle, middle + width), (n - width, n)]


def lazy_fingerprint(X: Any) -> str:
    """A fingerprint of a lazy X from its shape and three windows of its items, read alone.

    Reading a whole atlas to hash it would cost a pass over the file, so only the
    columns of :func:`lazy_windows` are computed (the chunks that hold them are read,
    nothing else). The fingerprint does not depend on the chunking, the dtype or the
    file it came from; it differs from :func:`data_fingerprint` of the same values in
    memory, and two matrices that differ only outside the windows share it.

    Parameters
    ----------
    X : dask.array.Array, shape (m, n)

    Returns
    -------
    str
        SHA-256, as hex, of ``"lazy"``, the shape and the in-memory fingerprint of
        each window (dense or CSR, as the chunks are).
    """
    import dask

    windows = lazy_windows(int(X.shape[1]))
    digest = hashlib.sha256(f"lazy{tuple(int(s) for s in X.shape)}{windows}".encode())
    for block in dask.compute(*(X[:, start:stop] for start, stop in windows)):
        digest.update(data_fingerprint(block).encode())
    return digest.hexdigest()
