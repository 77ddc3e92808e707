"""Reading one chunk of items (cells) from an HDF5 or zarr store, checked as it is read.

A :class:`ChunkReader` holds only what it needs to find the matrix again (the path,
the node inside the store, the layout and the sizes), so it pickles and each call opens
the store itself: a Dask worker on another process or machine reads its own chunks.

Every chunk comes back as features x items: a CSR matrix for sparse storage (the
layout :class:`nmfcore.classic.blocks.DataBlock` works on) or a C-ordered ndarray for
dense storage. Its structure (pointers, indices) and values (finite, nonnegative) are
checked before SciPy touches them; a corrupt chunk raises :class:`DataError` when it is
computed, naming the items it holds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.data.errors import DataError, reading
from nmfcore.data.hdf5 import HDF5_ERRORS
from nmfcore.data.limits import human
from nmfcore.data.sparse import checked_csr, structure_problem

#: How chunks sit in storage: "items-major" is a compressed sparse matrix whose pointers
#: run over the items (AnnData CSR, cells x genes; 10x CSC, genes x cells);
#: "dense-rows" a dense items x features array (AnnData's dense X); "dense-columns" a
#: dense features x items array (a plain zarr matrix, columns are the items).
LAYOUTS = ("items-major", "dense-rows", "dense-columns")
#: Bytes of one stored entry of a chunk beyond its value: a 4-byte index.
INDEX_BYTES = 4
_FIX = "the file is corrupt: write it again"


@contextlib.contextmanager
def open_store(path: str, store: str) -> Iterator[Any]:
    """The root of an HDF5 file or a zarr store (group or array), opened read-only."""
    if store == "hdf5":
        import h5py

        with h5py.File(path, "r") as f:
            yield f
    else:
        import zarr

        yield zarr.open(path, mode="r")


@contextlib.contextmanager
def opened(path: str, store: str, what: str) -> Iterator[Any]:
    """:func:`open_store`, with a failure to open as :class:`DataError` (what the block raises passes)."""
    with contextlib.ExitStack() as stack:
        yield read(what, stack.enter_context, open_store(path, store))


def read(what: str, fetch: Any, *args: Any) -> Any:
    """``fetch(*args)`` (a read from a store), with the store's failures as :class:`DataError`."""
    with reading(f"{what} cannot be read", _FIX, HDF5_ERRORS):
        return fetch(*args)


@dataclass(frozen=True)
class ChunkReader:
    """Reads items ``start:stop`` of a stored matrix as a features x items chunk.

    Attributes
    ----------
    path : str
        The file (HDF5) or store folder (zarr).
    store : {"hdf5", "zarr"}
    node : str
        The matrix inside the store: a sparse group ("X", "layers/counts", "matrix")
        or a dense array; "" for a store that is the array itself.
    layout : str
        One of :data:`LAYOUTS`.
    n_features, n_items : int
        Stored extents (before ``rows`` selects features).
    nnz : int
        Stored entries of a sparse matrix (0 for dense).
    dtype : numpy.dtype
        float32 or float64: the chunks' dtype.
    max_bytes : int
        A chunk needing more memory than this is refused (a corrupt pointer can claim
        the whole matrix for one chunk).
    rows : tuple of int, optional
        Features to keep, in order (10x files: gene-expression features only).
    what : str
        The matrix in messages, e.g. ``"'X' of 'atlas.h5ad'"``.
    """

    path: str
    store: str
    node: str
    layout: str
    n_features: int
    n_items: int
    nnz: int
    dtype: np.dtype
    max_bytes: int
    rows: tuple[int, ...] | None = None
    what: str = "the matrix"

    @property
    def shape(self) -> tuple[int, int]:
        """(features, items) of the matrix the chunks tile, after ``rows``."""
        return (self.n_features if self.rows is None else len(self.rows)), self.n_items

    def __call__(self, start: int, stop: int) -> np.ndarray | sp.csr_matrix:
        """Items ``start:stop`` as a (features, stop - start) chunk.

        Raises
        ------
        DataError
            An unreadable store, a corrupt sparse structure, NaN, infinite or negative
            values, or a chunk above ``max_bytes``.
        """
        what = f"items {start}:{stop} of {self.what}"
        with opened(self.path, self.store, what) as root:
            node = read(what, root.__getitem__, self.node) if self.node else root
            if self.layout == "items-major":
                chunk = self._sparse(node, start, stop, what)
            else:
                chunk = self._dense(node, start, stop, what)
        if self.rows is not None:
            chunk = chunk[np.asarray(self.rows, dtype=np.int64)]
        return chunk

    def _sparse(self, group: Any, start: int, stop: int, what: str) -> sp.csr_matrix:
        pointers = np.asarray(read(what, _slice, group, "indptr", start, stop + 1))
        if pointers.dtype.kind not in "iu" or pointers.shape != (stop - start + 1,):
            raise DataError(f"{what}: its pointers are {pointers.dtype} of shape {pointers.shape}; {_FIX}")
        pointers = pointers.astype(np.int64)
        first, last = int(pointers[0]), int(pointers[-1])
        problem = None
        if pointers.min() < 0 or pointers.max() > self.nnz:
            problem = (f"its pointers run from {int(pointers.min())} to {int(pointers.max())}, outside "
                       f"the {self.nnz} stored entries")
        elif (np.diff(pointers) < 0).any():
            problem = "its pointers decrease"
        elif start == 0 and first != 0:
            problem = f"its pointers start at {first} instead of 0"
        elif stop == self.n_items and last != self.nnz:
            problem = f"its pointers end at {last} but the matrix stores {self.nnz} entries"
        if problem:
            raise DataError(f"{what} has an inconsistent sparse structure: {problem}; {_FIX}")
        needed = (last - first) * (self.dtype.itemsize + INDEX_BYTES)
        if needed > self.max_bytes:
            raise DataError(
                f"{what} holds {last - first} stored entries ({human(needed)}), above the limit of "
                f"{human(self.max_bytes)}; open the file with a smaller chunk_items, or raise max_bytes="
            )
        indices = np.asarray(read(what, _slice, group, "indices", first, last))
        values = _checked_values(np.asarray(read(what, _slice, group, "data", first, last)), what)
        # stored with pointers over the items, the arrays are a CSC features x items chunk;
        # checked_csr checks the indices before SciPy converts it to CSR
        return checked_csr(values.astype(self.dtype, copy=False), indices, pointers - first,
                           np.array([self.n_features, stop - start]), what=what, fmt="csc",
                           fix="write it again")

    def _dense(self, array: Any, start: int, stop: int, what: str) -> np.ndarray:
        if self.layout == "dense-rows":
            block = np.asarray(read(what, array.__getitem__, slice(start, stop))).T
        else:
            block = np.asarray(read(what, array.__getitem__, (slice(None), slice(start, stop))))
        return np.ascontiguousarray(_checked_values(block, what), dtype=self.dtype)


def _slice(group: Any, name: str, start: int, stop: int) -> Any:
    return group[name][start:stop]


def _checked_values(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` if they are finite nonnegative real numbers.

    Raises
    ------
    DataError
        Non-numeric, NaN, infinite or negative values.
    """
    if values.dtype.kind not in "biuf":
        raise DataError(f"{what} holds {values.dtype} values, not numbers; {_FIX}")
    if values.size and values.dtype.kind == "f":
        # min and max propagate NaN, so two reductions check finiteness without a temporary
        low, high = values.min(), values.max()
        if not (np.isfinite(low) and np.isfinite(high)):
            raise DataError(
                f"{what} has NaN or infinite values; fix the file, or load it in memory with "
                "nmfcore.load(path, nan='zero')"
            )
    elif values.size and values.dtype.kind in "iu":
        low = values.min()
    else:
        return values
    if low < 0:
        raise DataError(
            f"{what} has negative values (minimum {float(low):g}) but NMF needs nonnegative data; "
            "fix the file, or load it in memory with nmfcore.load(path, negative='clip')"
        )
    return values


def checked_block(block: Any, dtype: np.dtype, what: str = "a chunk of X") -> np.ndarray | sp.csr_matrix:
    """A chunk of a user's Dask array as a float CSR matrix or C-ordered ndarray, checked.

    Parameters
    ----------
    block : ndarray or scipy sparse matrix/array, shape (m, n_t)
    dtype : numpy.dtype
        float32 or float64.
    what : str
        The chunk in messages.

    Raises
    ------
    DataError
        A corrupt sparse structure, non-numeric, NaN, infinite or negative values.
    """
    if sp.issparse(block):
        csr = sp.csr_matrix(block)
        problem = structure_problem(csr.indptr, csr.indices, csr.data.size, csr.shape)
        if problem:
            raise DataError(f"{what} has an inconsistent sparse structure: {problem}")
        _checked_values(csr.data, what)
        return csr.astype(dtype, copy=False)
    return np.ascontiguousarray(_checked_values(np.asarray(block), what), dtype=dtype)
