"""Memory limit for loaded matrices, checked before anything large is allocated."""

from __future__ import annotations

import os

import numpy as np

from nmfcore.data.errors import DataError

ENV_VARIABLE = "NMFCORE_MAX_BYTES"
DEFAULT_MAX_BYTES = 2 * 1024**3


def max_bytes(value: int | None = None) -> int:
    """Return the memory limit in bytes: ``value``, else ``$NMFCORE_MAX_BYTES``, else 2 GiB.

    Parameters
    ----------
    value : int, optional
        Explicit limit; must be a positive integer.

    Returns
    -------
    int
    """
    if value is None:
        value = os.environ.get(ENV_VARIABLE)
        if value is None:
            return DEFAULT_MAX_BYTES
        try:
            value = int(value)
        except ValueError:
            raise ValueError(
                f"{ENV_VARIABLE}={value!r} is not an integer; set it to a number of bytes, "
                "e.g. 2147483648 for 2 GiB"
            ) from None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"max_bytes must be a positive integer number of bytes, got {value!r}")
    return int(value)


def _human(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n_bytes < 1024 or unit == "TiB":
            return f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def check_dense_size(shape: tuple[int, ...], limit: int, what: str, itemsize: int = 8) -> None:
    """Refuse a dense array of ``shape`` whose size would exceed ``limit`` bytes.

    Parameters
    ----------
    shape : tuple of int
        Shape of the array that would be allocated.
    limit : int
        Memory limit in bytes (see :func:`max_bytes`).
    what : str
        Description of the array for the message, e.g. ``"'X' in data.mat"``.
    itemsize : int
        Bytes per entry once converted to floating point (8 for float64).

    Raises
    ------
    DataError
        When ``prod(shape) * itemsize > limit``.
    """
    n_bytes = float(np.prod([float(s) for s in shape])) * itemsize
    if n_bytes > limit:
        raise DataError(
            f"{what} has shape {tuple(int(s) for s in shape)}, which needs {_human(n_bytes)} "
            f"in memory, above the limit of {_human(limit)}; crop or subsample the data, "
            f"store it as a sparse matrix, or raise the limit with max_bytes= "
            f"(or the {ENV_VARIABLE} environment variable)"
        )


def check_sparse_size(nnz: int, limit: int, what: str) -> None:
    """Refuse a sparse matrix whose ``nnz`` stored entries would exceed ``limit`` bytes.

    A CSR entry costs about 12 bytes (8 for the value, 4 for the column index).
    """
    check_dense_size((nnz,), limit, what + " (stored non-zeros)", itemsize=12)
