"""Final checks that turn a loaded array into a valid :class:`Dataset`."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.data.dataset import Dataset
from nmfcore.data.errors import DataError

NAN_POLICIES = ("error", "zero")
NEGATIVE_POLICIES = ("error", "clip", "shift")


def _position(flags: np.ndarray | sp.csr_matrix) -> tuple[int, int]:
    if sp.issparse(flags):
        coo = sp.coo_matrix(flags)
        first = np.lexsort((coo.col, coo.row))[0]
        return int(coo.row[first]), int(coo.col[first])
    row, col = np.argwhere(flags)[0]
    return int(row), int(col)


def _flags(X: np.ndarray | sp.csr_matrix, values: np.ndarray) -> np.ndarray | sp.csr_matrix:
    if sp.issparse(X):
        return sp.csr_matrix((values.astype(np.int8), X.indices, X.indptr), shape=X.shape)
    return values


def require_numeric(array: np.ndarray, what: str) -> np.ndarray:
    """Return ``array`` if it holds real numbers (bool, integer or float).

    Raises
    ------
    DataError
        Text, complex, date, structured or object values.
    """
    if array.dtype.kind not in "biuf":
        raise DataError(
            f"{what} holds {array.dtype} values, not numbers; keep only numeric columns "
            "(names go in a header row or first column)"
        )
    return array


def per_item(values: Any, count: int, what: str, name: str = "labels") -> np.ndarray | None:
    """``values`` as a 1-D array of ``count`` entries (one per item), or None.

    Raises
    ------
    DataError
        When the file gives a different number of entries.
    """
    if values is None:
        return None
    array = np.asarray(values)
    array = array.ravel() if array.ndim > 1 and max(array.shape) == array.size else array
    if array.shape != (count,):
        raise DataError(
            f"{what} has {count} items but its {name} have shape {array.shape}; supply exactly "
            "one label per item"
        )
    return array


def as_float_matrix(X: Any, what: str) -> np.ndarray | sp.csr_matrix:
    """Convert ``X`` to a floating 2-D array or CSR matrix without densifying sparse input.

    float32 stays float32; every other numeric type becomes float64.

    Raises
    ------
    DataError
        Non-numeric content or a number of dimensions other than 2.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    else:
        X = require_numeric(np.asarray(X), what)
    if X.ndim != 2:
        raise DataError(f"{what} has {X.ndim} dimension(s) but a data matrix needs exactly 2")
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    return X.astype(dtype, copy=False)


def finish(
    X: Any,
    kind: str,
    *,
    what: str,
    feature_names: Any = None,
    item_names: Any = None,
    nan: str = "error",
    negative: str = "error",
    steps: list[str] | None = None,
    **fields: Any,
) -> Dataset:
    """Check a features x items matrix and wrap it as a :class:`Dataset`.

    Parameters
    ----------
    X : array-like or sparse, shape (m, n)
        Features x items.
    kind : str
        The data kind.
    what : str
        How to name the data in messages, e.g. ``"'X' in scene.mat"``.
    feature_names, item_names : sequence of str, optional
        Length m and n; default to "feature i" and "item j".
    nan : {"error", "zero"}
        What to do with NaN and infinite entries.
    negative : {"error", "clip", "shift"}
        What to do with negative entries: refuse, set them to 0, or subtract the minimum.
    steps : list of str, optional
        Preprocessing already applied, in order; this function appends its own.
    **fields
        Other :class:`Dataset` fields (image_shape, spatial_shape, labels, label_options,
        wavelengths, meta).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        Fewer than 2 rows or columns, NaN/inf or negative entries (with ``"error"``), or
        an all-zero matrix.
    """
    if nan not in NAN_POLICIES:
        raise ValueError(f"nan={nan!r} is not valid; choose one of {NAN_POLICIES}")
    if negative not in NEGATIVE_POLICIES:
        raise ValueError(f"negative={negative!r} is not valid; choose one of {NEGATIVE_POLICIES}")
    steps = list(steps or [])
    X = as_float_matrix(X, what)
    m, n = X.shape
    if m < 2 or n < 2:
        raise DataError(
            f"{what} has shape {m} x {n} (features x items), but a factorisation needs at "
            "least 2 features and 2 items; load a larger matrix, or check that the file "
            "was read with the right orientation (items are columns)"
        )
    values = X.data if sp.issparse(X) else X
    finite = np.isfinite(values)
    if not finite.all():
        n_nan, n_inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
        row, col = _position(_flags(X, ~finite))
        if nan == "error":
            raise DataError(
                f"{what} contains {n_nan} NaN and {n_inf} infinite value(s), the first at "
                f"feature {row}, item {col}; fix the file, or load it with nan='zero' to "
                "replace them with 0"
            )
        values[~finite] = 0
        steps.append(f"replaced {n_nan} NaN and {n_inf} infinite value(s) with 0")
    below = values < 0
    if below.any():
        count, low = int(below.sum()), float(values.min())
        row, col = _position(_flags(X, below))
        if negative == "error":
            raise DataError(
                f"{what} has {count} negative entr{'y' if count == 1 else 'ies'} (minimum "
                f"{low:g}, the first at feature {row}, item {col}) but NMF needs nonnegative "
                "data; load it with negative='clip' to set them to 0, or negative='shift' "
                "to subtract the minimum from every entry"
            )
        if negative == "clip":
            values[below] = 0
            steps.append(f"clipped {count} negative entries to 0")
        else:
            if sp.issparse(X):
                raise DataError(
                    f"{what} is sparse, and shifting it by its minimum ({low:g}) would make "
                    "every entry non-zero; load it with negative='clip' instead"
                )
            values -= low
            steps.append(f"shifted every entry by {-low:g} to remove negatives")
    if sp.issparse(X):
        X.eliminate_zeros()
        X.sort_indices()
        empty = X.nnz == 0
    else:
        empty = not values.any()
    if empty:
        raise DataError(
            f"{what} is all zeros, so there is nothing to factorise; check that the right "
            "variable, sheet or layer was loaded"
        )
    if fields.get("labels") is not None:
        fields["labels"] = per_item(fields["labels"], n, what)
    fields["label_options"] = {key: per_item(value, n, what, f"{key!r} annotations")
                               for key, value in fields.get("label_options", {}).items()}
    meta = dict(fields.pop("meta", {}))
    meta["steps"] = steps
    return Dataset(
        X=X,
        kind=kind,
        feature_names=_names(feature_names, m, "feature", what),
        item_names=_names(item_names, n, "item", what),
        meta=meta,
        **fields,
    )


def _names(names: Any, count: int, prefix: str, what: str) -> np.ndarray:
    if names is None:
        return np.array([f"{prefix} {i}" for i in range(count)], dtype=object)
    names = np.asarray(names, dtype=object)
    if names.ndim == 1:
        names = np.asarray([str(s) for s in names], dtype=object)
    if names.shape != (count,):
        raise DataError(
            f"{what} has {count} {prefix}s but {names.size} {prefix} names were given; "
            f"supply exactly one name per {prefix}"
        )
    return names
