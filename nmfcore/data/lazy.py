"""Lazy, chunked input for data sets larger than memory (single-cell atlases).

:func:`open_lazy` opens an ``.h5ad`` file, a zarr store (AnnData or a plain 2-D array)
or a Cell Ranger ``.h5`` file without reading its matrix: the :class:`Dataset` it returns
holds a :class:`dask.array.Array` ``X`` of shape (features, items), chunked along the
items only (one chunk spans every feature). Each chunk is read from the file when it is
computed and comes back as a SciPy CSR matrix (sparse storage) or a C-ordered ndarray
(dense storage) of the chunk's dtype, its structure and values checked as it is read.

:func:`as_item_chunks` brings any Dask array a user built into the same form, and
:func:`subsample_items` draws a random set of items and computes only their columns
(views show a subsample while the factors stay complete).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.data.dataset import Dataset
from nmfcore.data.errors import DataError, reading
from nmfcore.data.hdf5 import HDF5_ERRORS
from nmfcore.data.lazy_checks import lazy_problem
from nmfcore.data.lazy_chunks import INDEX_BYTES, checked_block, open_store
from nmfcore.data.lazy_layout import Store, anndata_layout, array_layout, tenx_layout
from nmfcore.data.limits import human
from nmfcore.data.limits import max_bytes as resolve_limit
from nmfcore.utils.validation import check_dtype, check_positive_int, resolve_seed

__all__ = ["LAZY_OPTIONS", "LAZY_SUFFIXES", "MAX_DENSE_CHUNK_BYTES", "TARGET_CHUNK_BYTES", "as_item_chunks",
           "check_lazy", "chunk_items_for", "lazy_problem", "open_lazy", "subsample_items"]

#: Default memory of one chunk's stored data (values and indices for sparse storage). A fit's
#: thread holds a chunk, its prepared copy and its transpose: at 64 MiB, two threads took a
#: 2 M-cell fit past 1 GiB.
TARGET_CHUNK_BYTES = 32 * 2**20
#: Most memory a chunk may take once dense (m x n_t in its dtype), the size of the
#: dense products a fit may form per chunk.
MAX_DENSE_CHUNK_BYTES = 512 * 2**20
#: Suffixes :func:`open_lazy` reads; a zarr store is a folder (named ``.zarr`` or not).
LAZY_SUFFIXES = (".h5ad", ".h5", ".hdf5", ".zarr")
#: Keywords of :func:`open_lazy` that ``nmfcore.load(path, lazy=True)`` passes on.
LAZY_OPTIONS = ("chunk_items", "use", "label", "dtype")
#: Name prefix of the arrays :func:`open_lazy` builds (their chunks are checked already).
_PREFIX = "open-lazy-"


def open_lazy(path: str | os.PathLike, *, chunk_items: int | None = None,
              max_bytes: int | None = None, use: str = "auto", label: str | None = None,
              dtype: Any = None) -> Dataset:
    """Open a large data file as a :class:`Dataset` whose ``X`` is a chunked Dask array.

    Only headers are read: shapes, entry counts, dtypes, the feature and item names and
    categorical ``obs`` columns (the candidate labels). Claimed sizes are checked against
    the file's size; each chunk's structure and values are checked when it is read.

    Parameters
    ----------
    path : str or PathLike
        An ``.h5ad`` file (X stored by cell: CSR or dense), a zarr folder (an AnnData
        store, or a plain 2-D array whose columns are the items) or a Cell Ranger ``.h5``.
    chunk_items : int, optional
        Items (cells) per chunk; default so that a chunk's stored data take about
        :data:`TARGET_CHUNK_BYTES` (at most a quarter of the memory limit) and the dense
        chunk at most :data:`MAX_DENSE_CHUNK_BYTES`.
    max_bytes : int, optional
        Memory limit for what is held up front (names, labels) and for one chunk; default
        ``$NMFCORE_MAX_BYTES`` or 2 GiB. The whole matrix may be larger.
    use : {"auto", "X", "counts", "raw"}
        AnnData's matrix, chosen as :func:`nmfcore.load` chooses it.
    label : str, optional
        ``obs`` column to use as labels; default the first usable one.
    dtype : {None, numpy.float32, numpy.float64}
        The chunks' dtype; None keeps float32 storage in float32, float64 otherwise.

    Returns
    -------
    Dataset
        ``X`` a :class:`dask.array.Array` of shape (features, items) with chunks
        ``((features,), (chunk_items, ...))``; ``meta["lazy"]`` is True and
        ``meta["chunking"]`` records the chunks.

    Raises
    ------
    DataError
        A file that is missing, of another format, corrupt in its headers, stored by
        gene (CSC), or whose names exceed the memory limit; later, when a chunk is
        computed, a corrupt chunk or NaN, infinite or negative values.
    ValueError
        A bad ``chunk_items``, ``use``, ``label`` or ``dtype``.
    """
    import dask.array as da
    from dask.base import tokenize

    path = Path(path)
    limit = resolve_limit(max_bytes)
    dtype = None if dtype is None else check_dtype(dtype, np.float64)
    store, fmt = _store_kind(path)
    size = _folder_size(path) if store == "zarr" else path.stat().st_size
    name = repr(path.name)
    where = Store(str(path), store, size, name, limit, dtype)
    with reading(f"{name} cannot be read as {fmt}", "the file is truncated or corrupt: write it again",
                 HDF5_ERRORS + (AttributeError, NotImplementedError)), open_store(str(path), store) as root:
        if fmt == "10x .h5":
            layout = tenx_layout(root, where)
        elif store == "zarr" and not hasattr(root, "keys"):
            layout, fmt = array_layout(root, where), "zarr array"
        else:
            layout = anndata_layout(root, where, use)
    reader = layout.reader
    m, n = reader.shape
    sparse = reader.layout == "items-major"
    count = chunk_items_for(reader.shape, reader.nnz if sparse else None, reader.dtype.itemsize,
                            limit, chunk_items, align=layout.align)
    starts = range(0, n, count)
    sizes = tuple(min(count, n - s) for s in starts)
    key = _PREFIX + tokenize(reader, path.stat().st_mtime_ns, size, count)
    graph = {(key, 0, j): (reader, s, s + c) for j, (s, c) in enumerate(zip(starts, sizes))}
    meta_block = sp.csr_matrix((0, 0), dtype=reader.dtype) if sparse else np.empty((0, 0), reader.dtype)
    X = da.Array(graph, key, chunks=((m,), sizes), dtype=reader.dtype, meta=meta_block)
    if label is not None and label not in layout.label_options:
        raise DataError(f"label={label!r} is not a usable obs column; choose one of {sorted(layout.label_options)}")
    chosen = label or next(iter(layout.label_options), None)
    chunk_bytes = _item_bytes(reader.shape, reader.nnz if sparse else None, reader.dtype.itemsize) * count
    meta = {
        **layout.meta, "lazy": True, "source": str(path), "format": fmt, "labels": chosen, "steps": [],
        "chunking": {"chunk_items": count, "n_chunks": len(sizes), "chunk_bytes": int(chunk_bytes)},
        "detected": f"{fmt}; read lazily as {layout.kind} in {len(sizes)} chunk(s) of up to {count} items "
                    f"(about {human(chunk_bytes)} each)",
    }
    if sparse:
        meta["nnz"] = reader.nnz
    dataset = Dataset(X=X, kind=layout.kind, feature_names=layout.feature_names,
                      item_names=layout.item_names, labels=layout.label_options.get(chosen),
                      label_options=layout.label_options, meta=meta)
    return check_lazy(dataset)


def _store_kind(path: Path) -> tuple[str, str]:
    """("hdf5" or "zarr", the format's name) for a path :func:`open_lazy` can read."""
    if not path.exists():
        raise DataError(f"{str(path)!r} does not exist; check the path")
    if path.is_dir():
        if not any((path / marker).exists() for marker in ("zarr.json", ".zgroup", ".zarray")):
            raise DataError(f"{str(path)!r} is a folder but not a zarr store (it has no zarr.json, "
                            ".zgroup or .zarray); open an .h5ad, a 10x .h5 or a zarr store")
        return "zarr", "zarr"
    suffix = path.suffix.lower()
    if suffix == ".h5ad":
        return "hdf5", "h5ad"
    if suffix in (".h5", ".hdf5"):
        return "hdf5", "10x .h5"
    raise DataError(
        f"{path.name!r} cannot be opened lazily; open_lazy reads .h5ad, 10x .h5 and zarr stores "
        "(convert other formats, or load the file in memory with nmfcore.load)"
    )


def _folder_size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        total += sum(os.lstat(os.path.join(folder, f)).st_size for f in files)
    return total


def _item_bytes(shape: tuple[int, int], nnz: int | None, itemsize: int) -> float:
    m, n = shape
    if nnz is None:
        return float(m * itemsize)
    return nnz / max(n, 1) * (itemsize + INDEX_BYTES) + INDEX_BYTES


def chunk_items_for(shape: tuple[int, int], nnz: int | None, itemsize: int, limit: int,
                    chunk_items: int | None = None, align: int = 1) -> int:
    """Items per chunk of a (features, items) matrix.

    Parameters
    ----------
    shape : (m, n)
    nnz : int or None
        Stored entries of a sparse matrix; None for dense storage.
    itemsize : int
        Bytes of one value in the chunks' dtype.
    limit : int
        Memory limit; a chunk's data must fit in it.
    chunk_items : int, optional
        The caller's choice, checked against ``limit``.
    align : int
        Storage chunk length along the items: the default is a multiple of it when it
        can be, so that no stored chunk is read twice.

    Returns
    -------
    int
        Between 1 and n.

    Raises
    ------
    ValueError
        ``chunk_items`` not a positive integer, or its chunks above ``limit``.
    """
    m, n = shape
    per_item = _item_bytes(shape, nnz, itemsize)
    if chunk_items is not None:
        count = check_positive_int(chunk_items, "chunk_items")
        if min(count, n) * per_item > limit:
            raise ValueError(
                f"chunk_items={count} gives chunks of about {human(min(count, n) * per_item)}, above the "
                f"memory limit of {human(limit)}; choose at most {max(int(limit // per_item), 1)}"
            )
        return min(count, n)
    count = min(min(TARGET_CHUNK_BYTES, limit / 4) / per_item, MAX_DENSE_CHUNK_BYTES / max(m * itemsize, 1))
    count = max(int(count), 1)
    if align > 1 and count >= align:
        count = count // align * align
    return min(count, n)


def check_lazy(dataset: Dataset) -> Dataset:
    """:meth:`Dataset.check` for a data set whose ``X`` is lazy; nothing is computed.

    The values are checked per chunk as the chunks are read.

    Raises
    ------
    ValueError
        Naming the first invariant that does not hold.
    """
    problem = lazy_problem(dataset.X)
    if problem is None:
        # the other invariants (names, labels, shapes) against an empty stand-in of X's shape
        stand_in = sp.csr_matrix(dataset.X.shape, dtype=dataset.X.dtype)
        problem = replace(dataset, X=stand_in)._problem()
    if problem:
        raise ValueError(f"Dataset invariant broken: {problem}")
    return dataset


def as_item_chunks(X: Any, *, chunk_items: int | None = None, dtype: Any = None) -> Any:
    """A user's Dask array as item chunks: one chunk along the rows, checked floats.

    Parameters
    ----------
    X : dask.array.Array, shape (m, n)
        Features x items, with ndarray or SciPy sparse chunks of any numeric dtype.
        Chunks along the rows are merged (each chunk then holds every feature).
    chunk_items : int, optional
        Rechunk the columns to this many items per chunk; default keep X's chunks.
    dtype : {None, numpy.float32, numpy.float64}
        None keeps float32, everything else becomes float64.

    Returns
    -------
    dask.array.Array, shape (m, n)
        Chunks ``((m,), ...)``, each a CSR matrix (sparse chunks) or C-ordered ndarray,
        checked when computed: a corrupt structure, NaN, infinite or negative values
        raise :class:`DataError` naming the chunk's items. An array from
        :func:`open_lazy` comes back as it is (its chunks are checked as read).

    Raises
    ------
    TypeError
        X is not a Dask array, or its chunks are neither ndarrays nor SciPy sparse.
    ValueError
        X is not 2-D, empty, of unknown chunk sizes or not numeric.
    """
    import dask.array as da
    from dask.array.utils import meta_from_array

    if not isinstance(X, da.Array):
        raise TypeError(
            f"X is a {type(X).__name__}, not a Dask array; wrap an in-memory matrix with "
            "dask.array.from_array(X, chunks=(X.shape[0], 10_000)), or open a file with open_lazy"
        )
    if X.ndim != 2:
        raise ValueError(f"X has {X.ndim} dimension(s); a data matrix needs exactly 2")
    if any(math.isnan(c) for c in X.chunks[0] + X.chunks[1]):
        raise ValueError("X has chunks of unknown size; call X.compute_chunk_sizes() first")
    if min(X.shape) < 1:
        raise ValueError(f"X has shape {X.shape}; a data matrix needs at least one feature and one item")
    block = meta_from_array(X)
    sparse = sp.issparse(block)
    if not (sparse or isinstance(block, np.ndarray)):
        raise TypeError(f"X's chunks are {type(block).__name__}; use ndarray or SciPy sparse chunks")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X holds {X.dtype} values, not numbers")
    dtype = check_dtype(dtype, X.dtype)
    if X.name.startswith(_PREFIX) and X.numblocks[0] == 1 and chunk_items is None and X.dtype == dtype:
        return X
    if X.numblocks[0] > 1:
        X = X.rechunk({0: -1})
    if chunk_items is not None:
        X = X.rechunk({1: check_positive_int(chunk_items, "chunk_items")})
    out = sp.csr_matrix((0, 0), dtype=dtype) if sparse else np.empty((0, 0), dtype)
    return X.map_blocks(functools.partial(_checked, dtype=dtype), dtype=dtype, meta=out)


def _checked(block: Any, dtype: np.dtype, block_info: dict | None = None) -> Any:
    location = (block_info or {}).get(0, {}).get("array-location")
    what = f"items {location[1][0]}:{location[1][1]} of X" if location else "a chunk of X"
    return checked_block(block, dtype, what)


def subsample_items(X: Any, n: int, seed: Any = None) -> tuple[np.ndarray, np.ndarray | sp.csr_matrix]:
    """A random subsample of at most ``n`` items, and their columns of X computed.

    Only the sampled columns are kept from each chunk, so memory holds the subsample
    and the chunks being read, never X.

    Parameters
    ----------
    X : dask.array.Array, ndarray or sparse matrix, shape (m, n_items)
        Features x items.
    n : int
        Items to draw; all of them when ``n >= n_items``.
    seed : None, int or numpy Generator
        As a fit's ``random_state``.

    Returns
    -------
    items : ndarray of int64, shape (k,)
        The sampled item indices, increasing; k = min(n, n_items).
    X_sub : ndarray or csr_matrix, shape (m, k)
        ``X[:, items]``, CSR when X (or its chunks) is sparse.
    """
    import dask
    import dask.array as da

    n_items = int(X.shape[1])
    count = min(check_positive_int(n, "n"), n_items)
    rng, _ = resolve_seed(seed)
    items = np.sort(rng.choice(n_items, size=count, replace=False)).astype(np.int64)
    if not isinstance(X, da.Array):
        return items, (sp.csr_matrix(X)[:, items] if sp.issparse(X) else np.asarray(X)[:, items])
    if X.numblocks[0] > 1:
        X = X.rechunk({0: -1})
    bounds = np.concatenate([[0], np.cumsum(X.chunks[1])]).astype(np.int64)
    blocks = X.to_delayed()
    parts = []
    for j in range(X.numblocks[1]):
        local = items[(items >= bounds[j]) & (items < bounds[j + 1])] - bounds[j]
        if local.size:
            parts.append(dask.delayed(_columns)(blocks[0, j], local))
    columns = dask.compute(*parts)
    if any(sp.issparse(c) for c in columns):
        return items, sp.hstack([sp.csr_matrix(c) for c in columns], format="csr")
    return items, np.hstack(columns)


def _columns(block: Any, local: np.ndarray) -> Any:
    return sp.csr_matrix(block)[:, local] if sp.issparse(block) else np.ascontiguousarray(block[:, local])
