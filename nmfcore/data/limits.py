"""Memory limit, and the one check that every size claimed by a file's header goes through.

Headers (a ``.npy`` shape, a MatrixMarket size line, an HDF5 dataspace, ENVI's
``samples``/``lines``/``bands``, an image's width and height) are untrusted: a flipped
byte can claim billions of entries. :func:`check_claimed_size` compares the claim with
the memory limit and with the file's real size before anything is allocated.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from nmfcore.data.errors import DataError

ENV_VARIABLE = "NMFCORE_MAX_BYTES"
DEFAULT_MAX_BYTES = 2 * 1024**3

#: Bytes of one stored entry of a CSR matrix in memory: an 8-byte value and a 4-byte column index.
SPARSE_ENTRY_BYTES = 12
#: Bytes per row or column name (a short Python string and its pointer) that a Dataset holds.
NAME_BYTES = 80
#: Largest expansion accepted from an archive (ZIP, gzip) before extracting anything:
#: the ZIP-bomb rule of :mod:`nmfcore.data.archive`.
MAX_RATIO = 200
#: Deflate, the codec of PNG, of compressed MATLAB elements and of HDF5's gzip filter,
#: cannot expand data more than 1032 times; real data (flat image areas, sparse
#: patterns) comes close, so sizes claimed inside such files are bounded by this.
DEFLATE_RATIO = 1032
#: Images may also use LZW (TIFF, GIF), whose 12-bit codes stand for up to 4096 bytes.
IMAGE_RATIO = 4096
#: No extent of a real data set comes near this; larger header values are corrupt.
MAX_EXTENT = 2**48


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


def human(n_bytes: float) -> str:
    """``n_bytes`` in the largest binary unit below it, e.g. ``"9.8 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n_bytes < 1024 or unit == "TiB":
            return f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def _extent(value: Any, what: str) -> int:
    try:
        extent = operator.index(value)
    except TypeError:
        raise DataError(
            f"{what} declares the size {value!r}, which is not a whole number; the file's "
            "header is corrupt: save the file again"
        ) from None
    if extent < 0 or extent > MAX_EXTENT:
        raise DataError(
            f"{what} declares the impossible size {extent}; the file's header is corrupt: "
            "save the file again"
        )
    return extent


def check_claimed_size(
    shape: Sequence[Any], *, what: str, limit: int, itemsize: int = 8, nnz: Any = None,
    file_size: int | None = None, stored_itemsize: float | None = None, ratio: float = 1.0,
    names: bool = True, fix: str = "the header is corrupt or the file is truncated: save it again",
    unit: str = "entries",
) -> tuple[int, ...]:
    """Refuse a size read from a file before anything of that size is allocated.

    Every reader calls this with the header's claim. The claim must be whole,
    nonnegative numbers; the matrix it describes must fit in ``limit`` bytes once
    loaded (as float64 values, or 12-byte CSR entries, plus one name per row and
    column); and, when ``file_size`` is given, the file must be large enough to hold
    the claimed entries (allowing an expansion of ``ratio`` for compressed content).

    Parameters
    ----------
    shape : sequence of int
        Claimed extents. For a sparse matrix, its (rows, columns).
    what : str
        The claim's owner for messages, e.g. ``"'X' in data.mat"``.
    limit : int
        Memory limit in bytes (see :func:`max_bytes`).
    itemsize : int
        Bytes per entry once loaded (8 for float64).
    nnz : int, optional
        Claimed stored non-zeros of a sparse matrix; None for a dense array.
    file_size : int, optional
        Real number of bytes that hold the entries (the file, or the data part of it).
    stored_itemsize : float, optional
        Fewest bytes one entry takes in the file before any compression; default
        ``itemsize``.
    ratio : float
        Largest expansion of the file's bytes: 1 for uncompressed data.
    names : bool
        Count the row and column names that a 2-D :class:`Dataset` of this shape holds.
    fix : str
        What the user can do when the file is too small for the claim.
    unit : str
        What a one-dimensional claim counts, for messages (e.g. "bytes of content").

    Returns
    -------
    tuple of int
        The claimed shape as Python integers.

    Raises
    ------
    DataError
        A negative, fractional or absurd extent; a matrix above ``limit``; a claim that
        the file is too small to hold.
    """
    dims = tuple(_extent(s, what) for s in shape)
    sparse = nnz is not None
    entries = _extent(nnz, what) if sparse else float(np.prod([float(s) for s in dims]))
    if sparse:
        matrix = entries * SPARSE_ENTRY_BYTES + 8.0 * (dims[0] + 1 if dims else 1)
    else:
        matrix = entries * itemsize
    name_bytes = 0.0
    if names and len(dims) >= 2 and min(dims) > 0:
        # the most names any grouping of the axes into rows and columns needs
        name_bytes = NAME_BYTES * (float(np.prod([float(s) for s in dims])) / min(dims) + min(dims))
    if matrix + name_bytes > limit:
        if sparse:
            claim = f"{what} has {entries} stored non-zeros" + (f" in a {dims} matrix" if dims else "")
        elif len(dims) == 1:
            claim = f"{what} declares {dims[0]} {unit}"
        else:
            claim = f"{what} has shape {dims}"
        extra = f" (and {human(name_bytes)} for its row and column names)" if name_bytes > 0.01 * matrix else ""
        raise DataError(
            f"{claim}, which needs {human(matrix)} in memory{extra}, above the limit of "
            f"{human(limit)}; crop or subsample the data, store it as a sparse matrix, or "
            f"raise the limit with max_bytes= (or the {ENV_VARIABLE} environment variable)"
        )
    if file_size is not None:
        needed = entries * (itemsize if stored_itemsize is None else stored_itemsize)
        if needed > max(file_size, 0) * ratio:
            count = f"{entries} stored entries" if sparse else f"{dims[0]} {unit}" if len(dims) == 1 else f"shape {dims}"
            expansion = "" if ratio == 1 else f", even at {ratio:g} times compression"
            raise DataError(
                f"{what} declares {count}, which needs at least {human(needed)} of data, but "
                f"the file holds only {human(max(file_size, 0))}{expansion}; {fix}"
            )
    return dims


def check_dense_size(shape: Sequence[Any], limit: int, what: str, itemsize: int = 8) -> None:
    """Refuse a dense array of ``shape`` whose size would exceed ``limit`` bytes.

    A shorthand for :func:`check_claimed_size` without a file-size check, for arrays
    whose size comes from data already in memory (decoded images, a cube to densify).
    """
    check_claimed_size(shape, what=what, limit=limit, itemsize=itemsize)


def check_sparse_size(nnz: int, limit: int, what: str) -> None:
    """Refuse a sparse matrix whose ``nnz`` stored entries would exceed ``limit`` bytes.

    A CSR entry costs about 12 bytes (8 for the value, 4 for the column index).
    """
    check_claimed_size((), what=what, limit=limit, nnz=nnz, names=False)
