"""Validation of sparse structure read from files, before SciPy touches it.

SciPy's sparse constructors check lengths but not that every column index is in range
or that the row pointers never decrease; its compiled conversions (``tocsc``,
``tocsr``, sums, products) then write out of bounds and crash the interpreter. Every
reader that builds a sparse matrix from a file's arrays goes through
:func:`checked_csr` (or :func:`checked_sparse` for a matrix a library already built).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.data.errors import DataError

_INT32_MAX = np.iinfo(np.int32).max
_INT64_MAX = np.iinfo(np.int64).max


def _index_array(values: Any, name: str) -> tuple[np.ndarray | None, str | None]:
    array = np.asarray(values)
    if array.ndim != 1:
        return None, f"its {name} have {array.ndim} dimensions instead of 1"
    if array.dtype.kind not in "iu":
        return None, f"its {name} are {array.dtype} values, not integers"
    return array, None


def structure_problem(indptr: Any, indices: Any, n_data: int, shape: tuple[int, int]) -> str | None:
    """Describe what is wrong with a compressed sparse structure, or None when it is valid.

    Parameters
    ----------
    indptr : array-like of int, shape (major + 1,)
        Row pointers (CSR) or column pointers (CSC).
    indices : array-like of int, shape (nnz,)
        Column (CSR) or row (CSC) index of every stored entry.
    n_data : int
        Number of stored values.
    shape : (major, minor)
        Rows and columns for CSR; columns and rows for CSC.

    Returns
    -------
    str or None
        E.g. ``"its indices reach 912 but it has only 30 columns"``.
    """
    major, minor = (int(s) for s in shape)
    if major < 0 or minor < 0:
        return f"its shape {shape} is negative"
    indptr, problem = _index_array(indptr, "pointers")
    if problem:
        return problem
    indices, problem = _index_array(indices, "indices")
    if problem:
        return problem
    nnz = indices.size
    if indptr.size != major + 1:
        return f"it has {indptr.size} pointers but needs {major + 1} (one more than its {major} rows)"
    if n_data != nnz:
        return f"it stores {n_data} values but {nnz} indices"
    if int(indptr[0]) != 0:
        return f"its pointers start at {int(indptr[0])} instead of 0"
    if indptr.dtype.kind == "u" and indptr.size and int(indptr.max()) > _INT64_MAX:
        return "its pointers exceed the largest 64-bit index"
    if int(indptr[-1]) != nnz:
        return f"its pointers end at {int(indptr[-1])} but it stores {nnz} entries"
    if indptr.size > 1 and (np.diff(indptr.astype(np.int64)) < 0).any():
        return "its pointers decrease"
    if nnz:
        low, high = int(indices.min()), int(indices.max())
        if low < 0:
            return f"it has the negative index {low}"
        if high >= minor:
            return f"its indices reach {high} but it has only {minor} columns (in storage order)"
    return None


def checked_csr(data: Any, indices: Any, indptr: Any, shape: Any, *, what: str,
                fmt: str = "csr", fix: str = "save it again") -> sp.csr_matrix:
    """Build a CSR matrix from a file's arrays, after checking their structure.

    Parameters
    ----------
    data : array-like, shape (nnz,)
        Stored values; any real numeric dtype.
    indices : array-like of int, shape (nnz,)
    indptr : array-like of int, shape (major + 1,)
    shape : (rows, cols)
    what : str
        The matrix's owner for messages, e.g. ``"'X' in cells.h5ad"``.
    fmt : {"csr", "csc"}
        How the arrays are laid out: rows (CSR) or columns (CSC) compressed.
    fix : str
        What the user can do, for messages.

    Returns
    -------
    csr_matrix, shape (rows, cols)

    Raises
    ------
    DataError
        Non-integer or out-of-range indices, pointers that do not start at 0, decrease or
        disagree with the number of entries, a shape that is not two whole numbers, or
        non-numeric values.
    """
    if fmt not in ("csr", "csc"):
        raise ValueError(f"fmt={fmt!r} is not valid; choose 'csr' or 'csc'")
    shape_array = np.asarray(shape)
    if shape_array.shape != (2,) or shape_array.dtype.kind not in "iu":
        raise DataError(
            f"{what} is a sparse matrix whose shape {shape!r} is not two whole numbers; the "
            f"file is corrupt: {fix}"
        )
    rows, cols = (int(s) for s in shape_array)
    data = np.asarray(data)
    if data.ndim != 1 or data.dtype.kind not in "biuf":
        raise DataError(
            f"{what} is a sparse matrix whose values are {data.dtype} of {data.ndim} dimension(s), "
            f"not a list of real numbers; the file is corrupt: {fix}"
        )
    major, minor = (rows, cols) if fmt == "csr" else (cols, rows)
    problem = structure_problem(indptr, indices, data.size, (major, minor))
    if problem:
        raise DataError(
            f"{what} is a {rows} x {cols} sparse matrix whose structure is inconsistent: "
            f"{problem}; the file is corrupt: {fix}"
        )
    index_dtype = np.int32 if max(major, minor, data.size) <= _INT32_MAX else np.int64
    indices = np.asarray(indices).astype(index_dtype, copy=False)
    indptr = np.asarray(indptr).astype(index_dtype, copy=False)
    if fmt == "csr":
        return sp.csr_matrix((data, indices, indptr), shape=(rows, cols))
    return sp.csc_matrix((data, indices, indptr), shape=(rows, cols)).tocsr()


def checked_sparse(matrix: Any, *, what: str, fix: str = "save it again") -> sp.csr_matrix:
    """Re-check a sparse matrix that a library built from a file, and return it as CSR.

    anndata, SciPy's MATLAB reader and MatrixMarket reader construct matrices from a
    file's arrays without checking indices; this checks them before any conversion.

    Raises
    ------
    DataError
        As :func:`checked_csr`, or a COO matrix with an index outside its shape.
    """
    if isinstance(matrix, (sp.csr_matrix, sp.csr_array)):
        return checked_csr(matrix.data, matrix.indices, matrix.indptr, matrix.shape, what=what,
                           fix=fix)
    if isinstance(matrix, (sp.csc_matrix, sp.csc_array)):
        return checked_csr(matrix.data, matrix.indices, matrix.indptr, matrix.shape, what=what,
                           fmt="csc", fix=fix)
    if isinstance(matrix, (sp.coo_matrix, sp.coo_array)):
        return checked_coo(matrix.data, matrix.row, matrix.col, matrix.shape, what=what, fix=fix)
    raise DataError(f"{what} is a {type(matrix).__name__} sparse matrix, which cannot be read; {fix}")


def checked_coo(data: Any, row: Any, col: Any, shape: Any, *, what: str,
                fix: str = "save it again") -> sp.csr_matrix:
    """Build a CSR matrix from coordinate triplets after checking every index is inside ``shape``.

    Raises
    ------
    DataError
        An index outside the shape, non-integer indices, or lengths that disagree.
    """
    rows, cols = (int(s) for s in shape)
    data, row, col = np.asarray(data), np.asarray(row), np.asarray(col)
    problem = None
    if data.ndim != 1 or data.dtype.kind not in "biuf":
        problem = f"its values are {data.dtype}, not real numbers"
    elif row.shape != data.shape or col.shape != data.shape:
        problem = f"it has {data.size} values but {row.size} row and {col.size} column indices"
    elif row.dtype.kind not in "iu" or col.dtype.kind not in "iu":
        problem = "its indices are not integers"
    elif data.size and (int(row.min()) < 0 or int(col.min()) < 0):
        problem = "it has a negative index"
    elif data.size and (int(row.max()) >= rows or int(col.max()) >= cols):
        problem = (f"it has an entry at row {int(row.max())} or column {int(col.max())}, outside "
                   f"its {rows} x {cols} shape")
    if problem:
        raise DataError(
            f"{what} is a sparse matrix whose entries are inconsistent: {problem}; the file is "
            f"corrupt: {fix}"
        )
    return sp.coo_matrix((data, (row, col)), shape=(rows, cols)).tocsr()
