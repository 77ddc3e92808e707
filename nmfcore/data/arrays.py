"""Plain numeric containers: ``.npy``, ``.npz`` (arrays or a SciPy sparse matrix),
MatrixMarket ``.mtx`` and delimited text tables."""

from __future__ import annotations

import csv
import io
import tokenize
from dataclasses import dataclass

import numpy as np
import scipy.io
import scipy.sparse as sp

from nmfcore.data.archive import SafeZip
from nmfcore.data.errors import MALFORMED, DataError, reading
from nmfcore.data.limits import check_dense_size, check_claimed_size
from nmfcore.data.source import Source
from nmfcore.data.sparse import checked_csr, checked_sparse

_SPARSE_KEYS = {"format", "shape", "data", "indices", "indptr"}
#: Fewest bytes of one MatrixMarket entry line: "1 1\n" (a pattern entry) and "1\n".
_MTX_ENTRY_BYTES = {"coordinate": 4, "array": 2}


def _npy_header(fh: io.BytesIO, what: str) -> tuple[tuple[int, ...], np.dtype]:
    with reading(f"{what} is not a readable .npy array",
                 "the file is truncated or corrupt: save it again with numpy.save",
                 MALFORMED + (SyntaxError, TypeError, tokenize.TokenError)):
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    if dtype.hasobject:
        raise DataError(
            f"{what} holds Python objects (dtype {dtype}), which could only be read by "
            "unpickling, and pickles are never loaded; save a numeric array instead, e.g. "
            "numpy.save(path, X.astype(float))"
        )
    return shape, dtype


def read_npy(data: bytes, what: str, limit: int) -> np.ndarray:
    """Read a ``.npy`` array, checking its header (no objects, size under ``limit`` and
    within the file) first.

    Returns
    -------
    ndarray
        Any shape, numeric dtype.
    """
    fh = io.BytesIO(data)
    shape, dtype = _npy_header(fh, what)
    check_claimed_size(shape, what=what, limit=limit, file_size=len(data) - fh.tell(),
                       stored_itemsize=dtype.itemsize)
    fh.seek(0)
    with reading(f"{what} cannot be read", "the file is truncated or corrupt: save it again with numpy.save"):
        return np.load(fh, allow_pickle=False)


def read_npz(source: Source, limit: int) -> dict[str, np.ndarray | sp.csr_matrix]:
    """Read every array of an ``.npz`` archive; a SciPy sparse matrix comes back under "X".

    Returns
    -------
    dict of str to ndarray or csr_matrix
    """
    archive = SafeZip(source, limit)
    arrays = {}
    for member in archive.with_suffix(".npy"):
        key = member.name[: -len(".npy")]
        arrays[key] = read_npy(archive.read(member), f"array {key!r} in {source.name!r}", limit)
    if not arrays:
        raise DataError(
            f"{source.name!r} holds no .npy arrays; save it with numpy.savez or "
            "scipy.sparse.save_npz"
        )
    if _SPARSE_KEYS <= set(arrays):
        fix = "save it again with scipy.sparse.save_npz"
        fmt = arrays["format"]
        fmt = fmt.item() if fmt.size == 1 else None
        fmt = fmt.decode("utf-8", "replace") if isinstance(fmt, bytes) else str(fmt)
        if fmt not in ("csr", "csc"):
            raise DataError(
                f"{source.name!r} looks like a SciPy sparse matrix but is inconsistent (its "
                f"format {fmt[:20]!r} is not 'csr' or 'csc'); {fix}"
            )
        shape = np.ravel(arrays["shape"])
        if shape.size == 2 and shape.dtype.kind in "iu":
            check_claimed_size(shape, what=repr(source.name), limit=limit, nnz=arrays["data"].size)
        matrix = checked_csr(arrays["data"], arrays["indices"], arrays["indptr"], shape,
                             what=repr(source.name), fmt=fmt, fix=fix)
        others = {k: v for k, v in arrays.items() if k not in _SPARSE_KEYS}
        return {"X": matrix, **others}
    return arrays


def largest_key(arrays: dict[str, np.ndarray | sp.spmatrix], key: str | None, name: str) -> str:
    """Pick ``key`` if given, else "X" if present, else the largest 2-D or 3-D array."""
    if key is not None:
        if key not in arrays:
            raise DataError(f"variable={key!r} is not in {name!r}; choose one of {sorted(arrays)}")
        return key
    if "X" in arrays:
        return "X"
    candidates = {k: v for k, v in arrays.items() if v.ndim >= 2}
    if not candidates:
        raise DataError(
            f"{name!r} holds no matrix, only {', '.join(f'{k} {v.shape}' for k, v in arrays.items())}; "
            "save the data as a 2-D (or 3-D) array"
        )
    return max(candidates, key=lambda k: np.prod(candidates[k].shape))


def read_mtx_header(data: bytes, what: str, limit: int) -> str:
    """Check a MatrixMarket header: real or integer values, declared size within ``limit``
    and within the file. Returns the layout, "coordinate" or "array"."""
    if b"\x00" in data:
        # MatrixMarket is text; SciPy's fast_matrix_market parser writes out of bounds
        # (and crashes the interpreter) on a NUL byte after a number
        raise DataError(
            f"{what} contains NUL bytes, so it is not MatrixMarket text; the file is corrupt "
            "or binary: save it again with scipy.io.mmwrite"
        )
    with reading(f"{what} is not a valid MatrixMarket file",
                 "it should start with '%%MatrixMarket matrix coordinate real general': save "
                 "it with scipy.io.mmwrite"):
        rows, cols, entries, layout, field, symmetry = scipy.io.mminfo(io.BytesIO(data))
    if field == "complex":
        raise DataError(f"{what} holds complex numbers; NMF needs real, nonnegative values")
    if layout not in _MTX_ENTRY_BYTES:
        raise DataError(f"{what} has the layout {layout!r}; MatrixMarket files are 'coordinate' or 'array'")
    mirrored = symmetry != "general"  # the reader writes the other triangle too
    if layout == "coordinate":
        check_claimed_size((rows, cols), what=what, limit=limit,
                           nnz=entries * (2 if mirrored else 1), file_size=len(data),
                           stored_itemsize=_MTX_ENTRY_BYTES[layout] / (2 if mirrored else 1))
    else:
        check_claimed_size((rows, cols), what=what, limit=limit, file_size=len(data),
                           stored_itemsize=_MTX_ENTRY_BYTES[layout] / (2 if mirrored else 1))
    return layout


def read_mtx(data: bytes, what: str, limit: int) -> sp.csr_matrix | np.ndarray:
    """Read a MatrixMarket matrix, checking its declared size first and its indices after.

    Returns
    -------
    csr_matrix (coordinate format) or ndarray (array format), in the file's orientation.
    """
    read_mtx_header(data, what, limit)
    with reading(f"{what} cannot be read", "the file is truncated or corrupt: write it again"):
        matrix = scipy.io.mmread(io.BytesIO(data))
    if sp.issparse(matrix):
        return checked_sparse(matrix, what=what, fix="write it again with scipy.io.mmwrite")
    return np.asarray(matrix)


@dataclass
class Table:
    """Cells of a delimited text file.

    Attributes
    ----------
    header : list of str or None
        Column names, when the first row is a header.
    rows : list of list of str
        The other rows, all of the header's length.
    """

    header: list[str] | None
    rows: list[list[str]]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return cell.strip() == ""
    return True


def read_table(source: Source, limit: int) -> Table:
    """Split a CSV/TSV file into cells, refusing ragged rows.

    The delimiter is a tab for ``.tsv`` and sniffed among ``,;\\t`` otherwise. The first
    row is a header when any of its cells after the first is not a number.
    """
    check_dense_size((source.size // 2,), limit, f"{source.name!r} (estimated entries)")
    try:
        text = source.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{source.name!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it "
            "as UTF-8 CSV"
        ) from None
    if source.suffix == ".tsv":
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(text[:20000], delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
    try:
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    except csv.Error as exc:
        raise DataError(f"{source.name!r} is not valid delimited text ({exc}); fix the quoting") from None
    if not rows:
        raise DataError(f"{source.name!r} has no rows; choose a file with data in it")
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise DataError(
                f"{source.name!r} has ragged rows: line {number} has {len(row)} fields but the "
                f"first line has {width}; every row needs the same number of "
                f"{'tabs' if delimiter == chr(9) else repr(delimiter)}-separated fields"
            )
    header = None
    if not all(_is_number(c) for c in rows[0][1:]):
        header, rows = rows[0], rows[1:]
    return Table(header, rows)


def numeric_table(table: Table, name: str) -> tuple[np.ndarray, list[str] | None, list[str] | None]:
    """Convert a table to numbers; a non-numeric first column becomes row names.

    Returns
    -------
    values : ndarray, shape (rows, cols)
        Empty cells become NaN.
    row_names : list of str or None
    column_names : list of str or None
    """
    rows, header = table.rows, table.header
    if not rows:
        raise DataError(f"{name!r} has a header but no data rows; add the data below the header")
    row_names = None
    if not all(_is_number(r[0]) for r in rows):
        row_names = [r[0] for r in rows]
        rows = [r[1:] for r in rows]
        header = header[1:] if header else None
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            if not _is_number(cell):
                raise DataError(
                    f"{name!r} has text where a number should be: {cell[:40]!r} in data row "
                    f"{i + 1}, column {j + 1 + (row_names is not None)}; remove or fix that "
                    "cell (names belong in the header row or the first column only), or load "
                    "a column of documents as raw text with text_column='<column name>'"
                )
    values = np.array([[float(c) if c.strip() else np.nan for c in r] for r in rows], dtype=float)
    return values.reshape(len(rows), -1), row_names, header

