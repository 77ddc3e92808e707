"""Argument checks shared by every model family.

Each check raises :class:`ValueError` whose message names the argument, the
problem and what to do about it, so that the app can show it verbatim.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp

BETA_NAMES = {
    "frobenius": 2.0,
    "kullback-leibler": 1.0,
    "kl": 1.0,
    "itakura-saito": 0.0,
    "is": 0.0,
}

ArrayLike = Any


def check_beta(beta: float | str) -> float:
    """Return ``beta`` as a float, accepting the names of the common divergences.

    Parameters
    ----------
    beta : float or {"frobenius", "kullback-leibler", "kl", "itakura-saito", "is"}

    Returns
    -------
    float
    """
    if isinstance(beta, str):
        key = beta.strip().lower()
        if key not in BETA_NAMES:
            raise ValueError(
                f"beta={beta!r} is not a known divergence; use a number or one of "
                f"{sorted(BETA_NAMES)}"
            )
        return BETA_NAMES[key]
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not np.isfinite(beta):
        raise ValueError(f"beta must be a finite number or a divergence name, got {beta!r}")
    return float(beta)


def check_random_state(seed: None | int | np.random.Generator) -> np.random.Generator:
    """Turn ``None``, an integer seed or a Generator into a :class:`numpy.random.Generator`."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**31 - 1))
    raise ValueError(f"random_state must be None, an int or a numpy Generator, got {seed!r}")


def resolve_seed(random_state: Any) -> tuple[np.random.Generator, int | None]:
    """The generator a fit draws from, and the seed its ``params`` record.

    Every family records its seed through this function, so that passing
    ``params["random_state"]`` back reruns the same fit.

    Parameters
    ----------
    random_state : None, int (Python or NumPy), Generator or RandomState

    Returns
    -------
    rng : numpy.random.Generator
    recorded : int or None
        The integer itself for an integer seed. For a Generator or RandomState, one
        integer is drawn from it, seeds ``rng`` and is recorded. None for None (fresh
        entropy: the fit is not reproducible, and the record says so).
    """
    if random_state is None:
        return np.random.default_rng(), None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state)), int(random_state)
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        drawn = int(check_random_state(random_state).integers(0, 2**31 - 1))
        return np.random.default_rng(drawn), drawn
    raise ValueError(f"random_state must be None, an int or a numpy Generator, got {random_state!r}")


def check_dtype(dtype: Any, data_dtype: Any) -> np.dtype:
    """Working precision: ``dtype`` if given (float32 or float64), else float32 for
    float32 data and float64 otherwise."""
    if dtype is None:
        dtype = np.float32 if data_dtype == np.float32 else np.float64
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _first_position(X: np.ndarray | sp.csr_matrix, flags: np.ndarray) -> tuple[int, int]:
    """Row and column of the first flagged entry (row-major order).

    ``flags`` is a boolean array over X's entries (dense) or over its stored
    values (CSR with sorted indices).
    """
    if sp.issparse(X):
        k = int(np.flatnonzero(flags)[0])
        row = int(np.searchsorted(X.indptr, k, side="right") - 1)
        return row, int(X.indices[k])
    idx = np.argwhere(flags)[0]
    return int(idx[0]), int(idx[1])


def check_matrix(
    X: ArrayLike,
    name: str = "X",
    *,
    dtype: type | np.dtype | None = None,
    allow_nan: bool = False,
) -> np.ndarray | sp.csr_matrix:
    """Validate a nonnegative 2-D matrix, dense or SciPy sparse, without densifying it.

    Parameters
    ----------
    X : array-like or sparse matrix, shape (m, n)
    name : str
        Name used in error messages.
    dtype : dtype, optional
        Target floating dtype. By default float32 input stays float32 and anything
        else becomes float64.
    allow_nan : bool
        Accept NaN entries (they must then be masked out by the caller).

    Returns
    -------
    ndarray or csr_matrix, shape (m, n)
        Floating-point data, dense input without a copy where possible; sparse
        input becomes a CSR copy with sorted indices and no explicit zeros.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X, copy=True)  # the checks below sort and prune in place
        X.sum_duplicates()
        data = X.data
    else:
        X = np.asarray(X)
        if X.dtype == object or not (
            np.issubdtype(X.dtype, np.number) or X.dtype == bool
        ):
            raise ValueError(f"{name} must hold numbers, got an array of dtype {X.dtype}")
        data = X
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got {X.ndim} dimension(s)")
    dtype = check_dtype(dtype, X.dtype)
    if X.dtype != dtype:
        X = X.astype(dtype)
        data = X.data if sp.issparse(X) else X
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} is empty (shape {X.shape}); it needs at least one row and column")

    finite = np.isfinite(data)
    if not finite.all():
        n_nan = int(np.isnan(data).sum())
        n_inf = int(np.isinf(data).sum())
        if n_inf or not allow_nan:
            row, col = _first_position(X, ~finite)
            raise ValueError(
                f"{name} contains {n_nan} NaN and {n_inf} infinite value(s), the first at "
                f"row {row}, column {col}; pass mask= (1 = observed, 0 = missing) "
                "to leave those entries out of the fit, or replace them"
            )
    negative = np.less(data, 0, where=finite, out=np.zeros(data.shape, dtype=bool))
    if negative.any():
        count = int(negative.sum())
        row, col = _first_position(X, negative)
        raise ValueError(
            f"{name} must be nonnegative, but {count} entr{'y is' if count == 1 else 'ies are'} "
            f"negative, the first at row {row}, column {col}; clip them to 0 or shift "
            f"{name} by its minimum before factorising"
        )
    if sp.issparse(X):
        X.eliminate_zeros()
    return X


def check_rank(rank: Any, shape: tuple[int, int], name: str = "rank") -> int:
    """Check 1 <= rank <= min(m, n) and return it as an int."""
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral):
        raise ValueError(f"{name} must be a positive integer, got {rank!r}")
    limit = min(shape)
    if rank < 1 or rank > limit:
        raise ValueError(
            f"{name}={rank} is out of range: it must be between 1 and min(m, n) = {limit} "
            f"for a matrix of shape {shape}"
        )
    return int(rank)


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Check that ``value`` is an integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_nonnegative_float(value: Any, name: str) -> float:
    """Check that ``value`` is a finite real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    """Check that ``value`` is one of the strings in ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not valid; choose one of {', '.join(map(repr, allowed))}")
    return value


def check_mask(mask: ArrayLike | None, shape: tuple[int, int], dtype: np.dtype) -> np.ndarray | None:
    """Validate a 0/1 mask of ``shape`` (1 = observed) and return it as a dense float array."""
    if mask is None:
        return None
    if sp.issparse(mask):
        mask = mask.toarray()
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"mask has shape {mask.shape}, but it must have X's shape {tuple(shape)}")
    if not np.isin(mask, (0, 1)).all():
        raise ValueError("mask must hold only 0 (missing) and 1 (observed)")
    if not mask.any():
        raise ValueError("mask hides every entry of X; at least one entry must be observed (1)")
    return mask.astype(dtype)


def reject_renamed(function: str, given: dict[str, Any], renamed: dict[str, str]) -> None:
    """Refuse keyword arguments that a fit no longer takes, naming the new spelling.

    A fit collects unknown keywords with ``**given`` and passes them here, so an
    old spelling fails with a message that says what to write instead.

    Parameters
    ----------
    function : str
        Name of the fit, for the message.
    given : dict
        The keywords the fit did not recognise.
    renamed : dict
        Old name -> new name.

    Raises
    ------
    TypeError
        "pnmf's max_sweeps was renamed max_iter; pass max_iter=10" for an old name, Python's
        own "unexpected keyword argument" message for any other.
    """
    for name, value in given.items():
        if name in renamed:
            new = renamed[name]
            raise TypeError(f"{function}'s {name} was renamed {new}; pass {new}={value!r}")
        raise TypeError(f"{function}() got an unexpected keyword argument {name!r}")


def check_fit_options(beta: float | str, max_iter: Any, tol: Any, alpha_W: Any, alpha_H: Any, l1_ratio: Any,
                      callback: Any) -> tuple[float, int, float, float, float, float]:
    """The options every classic fit takes, checked: (β, max_iter, tol, alpha_W, alpha_H, l1_ratio).

    Raises
    ------
    ValueError
        An unknown β, a negative count or penalty, l1_ratio outside [0, 1], or a
        callback that cannot be called.
    """
    beta = check_beta(beta)
    max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
    tol = check_nonnegative_float(tol, "tol")
    alpha_W = check_nonnegative_float(alpha_W, "alpha_W")
    alpha_H = check_nonnegative_float(alpha_H, "alpha_H")
    l1_ratio = check_nonnegative_float(l1_ratio, "l1_ratio")
    if l1_ratio > 1:
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio}")
    if callback is not None and not callable(callback):
        raise ValueError("callback must be callable as callback(iteration, W, H, loss)")
    return beta, max_iter, tol, alpha_W, alpha_H, l1_ratio
