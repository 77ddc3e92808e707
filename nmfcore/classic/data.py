"""Data checks and preparation shared by :func:`~nmfcore.classic.fit.nmf` and the estimator."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.utils.validation import check_mask, check_matrix


def prepare_data(
    X: Any, beta: float, mask: Any = None, dtype: Any = None
) -> tuple[np.ndarray | sp.csr_matrix, np.ndarray | None]:
    """Validate X (and its mask) for a fit under the β-divergence ``beta``.

    Parameters
    ----------
    X : array-like or sparse matrix, shape (m, n)
        Nonnegative data; with a mask, entries it hides may be NaN.
    beta : float
        Checked β (see :func:`nmfcore.utils.validation.check_beta`).
    mask : array-like, shape (m, n), optional
        1 = observed, 0 = missing.
    dtype : {None, numpy.float32, numpy.float64}
        Working precision; None keeps float32 data in float32, float64 otherwise.

    Returns
    -------
    X : ndarray or csr_matrix, shape (m, n)
        Floating data; with a mask, dense with the hidden entries set to 0.
    mask : ndarray, shape (m, n), or None
        The mask as a dense array of X's dtype.

    Raises
    ------
    ValueError
        For data ``check_matrix`` refuses, a bad mask, NaN where the mask observes,
        an X that is zero on every observed entry, or zeros under β = 0.
    """
    X = check_matrix(X, dtype=dtype, allow_nan=mask is not None)
    M = check_mask(mask, X.shape, X.dtype)
    if M is not None:
        if sp.issparse(X):
            X = X.toarray()  # the mask is already dense m x n, so this adds no new order of memory
        X = np.where(M > 0, X, 0.0).astype(X.dtype, copy=False)
        if np.isnan(X).any():
            raise ValueError("X has NaN entries that the mask marks as observed; set mask to 0 there")
    observed_sum = float(X.sum())
    if observed_sum == 0:
        raise ValueError("X is all zeros (on its observed entries); there is nothing to factorise")
    if beta == 0:
        zeros = (X.nnz < X.shape[0] * X.shape[1]) if sp.issparse(X) else bool(
            np.any((X == 0) if M is None else ((X == 0) & (M > 0)))
        )
        if zeros:
            raise ValueError(
                "beta=0 (Itakura-Saito) is undefined where X has zeros; add a small positive "
                "offset to X, mask the zeros, or use beta > 0"
            )
    return X, M
