"""What can be checked of a lazy ``X`` (a Dask array of item chunks) without computing it.

Kept free of Dask at import time (and of :class:`~nmfcore.data.dataset.Dataset`), so that
the data set's own checks can use it: a Dask array can only exist once ``dask.array``
has been imported.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import scipy.sparse as sp


def is_lazy_array(X: Any) -> bool:
    """True when ``X`` is a :class:`dask.array.Array`."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(X, module.Array)


def lazy_problem(X: Any) -> str | None:
    """What is wrong with a lazy ``X``, or None.

    Checks what is known without computing: a Dask array, 2-D, non-empty, of known
    size, float32/float64, one chunk along the features (rows), chunks of CSR matrices
    or ndarrays. The values are checked per chunk, as the chunks are read.
    """
    if not is_lazy_array(X):
        return f"X is a {type(X).__name__}, not a Dask array"
    from dask.array.utils import meta_from_array

    if X.ndim != 2 or any(math.isnan(s) for s in X.shape) or min(X.shape) < 1:
        return f"X has shape {X.shape}, not a non-empty 2-D matrix of known size"
    if X.dtype not in (np.float32, np.float64):
        return f"X has dtype {X.dtype}, not float32 or float64"
    if X.numblocks[0] != 1:
        return f"X has {X.numblocks[0]} chunks along the features; chunks must span every feature"
    block = meta_from_array(X)
    if not isinstance(block, (np.ndarray, sp.csr_matrix)):
        return f"X's chunks are {type(block).__name__}, not CSR matrices or ndarrays"
    return None
