"""Where a matrix sits in an AnnData store (``.h5ad``, ``.zarr``), a 10x ``.h5`` file or a
plain zarr array, read from headers only: shapes, entry counts, dtypes and the names.

Each ``*_layout`` function takes the opened root of a store and returns a
:class:`Layout`: the :class:`~nmfcore.data.lazy_chunks.ChunkReader` of the matrix, the
feature and item names, the per-item annotations that can be labels, and provenance.
No value of the matrix is read, except AnnData's ``use="auto"``, which looks at the
first 100,000 stored values (as :func:`nmfcore.load` does) to see whether they are counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nmfcore.data.errors import DataError
from nmfcore.data.lazy_chunks import ChunkReader
from nmfcore.data.limits import DEFLATE_RATIO, NAME_BYTES, check_claimed_size, human

MATRICES = ("auto", "X", "counts", "raw")
#: The whole matrix of a lazy data set need not fit in memory; only its file's size bounds it.
UNBOUNDED = 2**62
#: Largest expansion accepted from a zarr array's stored bytes: zarr fills chunks that are
#: not on disk and its codecs (zstd, blosc) compress more than deflate, so only absurd
#: claims (a flipped byte in a shape) are refused.
ZARR_RATIO = 2**16
_SAMPLE = 100_000
_FIX = "the file is corrupt: write it again"


@dataclass
class Layout:
    """What :func:`nmfcore.data.lazy.open_lazy` needs to build a lazy data set."""

    reader: ChunkReader
    kind: str
    feature_names: np.ndarray
    item_names: np.ndarray
    label_options: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    #: Items per storage chunk of a dense matrix (1 when sparse or not chunked).
    align: int = 1


@dataclass(frozen=True)
class Store:
    """An opened store's location and budget.

    Attributes
    ----------
    path : str
    store : {"hdf5", "zarr"}
    size : int
        Bytes on disk (the file, or every file under a zarr folder).
    name : str
        For messages, e.g. ``"'atlas.h5ad'"``.
    limit : int
        Memory limit: what is held up front (names, labels) and each chunk.
    dtype : numpy.dtype or None
        The chunks' dtype, or None for float32 when stored as float32, else float64.
    """

    path: str
    store: str
    size: int
    name: str
    limit: int
    dtype: np.dtype | None


def _is_group(node: Any) -> bool:
    return hasattr(node, "keys")


def _is_array(node: Any) -> bool:
    return not _is_group(node) and hasattr(node, "shape") and hasattr(node, "dtype")


def _attr(node: Any, key: str, default: Any = None) -> Any:
    value = node.attrs.get(key, default)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _encoding(node: Any) -> str | None:
    """"csr", "csc" or "dense" for an AnnData matrix node, else None."""
    if _is_array(node):
        return "dense"
    if not _is_group(node):
        return None
    encoding = str(_attr(node, "encoding-type", _attr(node, "h5sparse_format", "")))
    encoding = encoding.removesuffix("_matrix")
    return encoding if encoding in ("csr", "csc") else None


def _ratio(array: Any, store: Store) -> float:
    if store.store == "zarr":
        return ZARR_RATIO
    return DEFLATE_RATIO if getattr(array, "chunks", None) else 1


def _dtype(stored: np.dtype, store: Store) -> np.dtype:
    if store.dtype is not None:
        return store.dtype
    return np.dtype(np.float32 if stored == np.float32 else np.float64)


def _sparse_header(group: Any, shape: tuple[int, int], major: int, what: str,
                   store: Store) -> int:
    """Check a compressed sparse group's arrays against its shape and the file; its nnz."""
    arrays = {k: group.get(k) for k in ("data", "indices", "indptr")}
    missing = [k for k, v in arrays.items() if v is None or not _is_array(v)]
    if missing:
        raise DataError(f"{what} is a sparse matrix without its {', '.join(missing)} array(s); {_FIX}")
    data, indices, indptr = arrays["data"], arrays["indices"], arrays["indptr"]
    problem = None
    if any(len(a.shape) != 1 for a in arrays.values()):
        problem = "its data, indices and indptr are not all 1-D"
    elif data.dtype.kind not in "biuf":
        problem = f"its values are {data.dtype}, not numbers"
    elif indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
        problem = f"its indices ({indices.dtype}) or pointers ({indptr.dtype}) are not integers"
    elif indptr.shape[0] != major + 1:
        problem = f"it has {indptr.shape[0]} pointers but needs {major + 1}"
    elif indices.shape[0] != data.shape[0]:
        problem = f"it stores {data.shape[0]} values but {indices.shape[0]} indices"
    if problem:
        raise DataError(f"{what} is a {shape[0]} x {shape[1]} sparse matrix whose structure is "
                        f"inconsistent: {problem}; {_FIX}")
    nnz = int(data.shape[0])
    check_claimed_size(shape, what=what, limit=UNBOUNDED, nnz=nnz, file_size=store.size,
                       stored_itemsize=data.dtype.itemsize + indices.dtype.itemsize,
                       ratio=_ratio(data, store), names=False)
    return nnz


def _names_fit(n_features: int, n_items: int, store: Store) -> None:
    needed = NAME_BYTES * (n_features + n_items)
    if needed > store.limit:
        raise DataError(
            f"the {n_features} feature and {n_items} item names of {store.name} need "
            f"{human(needed)}, above the limit of {human(store.limit)}; raise max_bytes="
        )


def _strings(values: Any, count: int, what: str) -> np.ndarray:
    """Names read from a store as an object array of ``count`` str."""
    array = np.ravel(np.asarray(values, dtype=object))
    if array.shape != (count,):
        raise DataError(f"{what} has {array.size} entries but there are {count}; {_FIX}")
    return np.array([v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in array],
                    dtype=object)


def _index(frame: Any, count: int, what: str) -> np.ndarray:
    """The index of an AnnData dataframe group (``obs`` or ``var``)."""
    from anndata.io import read_elem

    key = _attr(frame, "_index", "_index")
    if key not in frame:
        raise DataError(f"{what} has no index {key!r}; {_FIX}")
    return _strings(read_elem(frame[key]), count, what)


def _labels(obs: Any, n_items: int) -> dict[str, np.ndarray]:
    """Categorical and boolean ``obs`` columns with few values, as :func:`nmfcore.load` offers them.

    Text columns that are not categorical are skipped: reading them costs one string per
    cell (anndata stores text columns as categoricals by default).
    """
    from anndata.io import read_elem

    options = {}
    for column in np.ravel(np.asarray(_attr(obs, "column-order", []), dtype=object)):
        node = obs.get(str(column))
        if node is None:
            continue
        if _is_group(node) and _attr(node, "encoding-type") == "categorical":
            categorical = read_elem(node)
            codes = np.asarray(categorical.codes)
            categories = np.asarray(categorical.categories.astype(str), dtype=object)
            values = np.append(categories, "nan")[codes]
            n_unique = np.unique(codes[codes >= 0]).size
        elif _is_array(node) and node.dtype == bool and len(node.shape) == 1:
            values = np.asarray(node[()]).astype(str).astype(object)
            n_unique = np.unique(values).size
        else:
            continue
        if values.shape == (n_items,) and 1 < n_unique <= max(2, min(100, n_items // 2)):
            options[str(column)] = values
    return options


def _is_integer(node: Any, encoding: str) -> bool:
    """Whether the first stored values of an AnnData matrix are whole numbers."""
    if encoding == "dense":
        rows = math.ceil(_SAMPLE / max(int(node.shape[1]), 1)) if len(node.shape) == 2 else 0
        sample = np.asarray(node[:rows]).ravel()[:_SAMPLE]
    else:
        sample = np.asarray(node["data"][:_SAMPLE]) if "data" in node else np.zeros(0)
    if sample.dtype.kind not in "biuf":
        return False
    return bool(np.all(np.isfinite(sample)) and np.all(sample == np.round(sample)))


def _choose(root: Any, use: str, name: str) -> tuple[str, str, str]:
    """(matrix node, its var node, note) for ``use``, following :func:`nmfcore.load`'s rule."""
    if use not in MATRICES:
        raise ValueError(f"use={use!r} is not valid; choose one of {MATRICES}")
    layers = root.get("layers")
    has_counts = layers is not None and _is_group(layers) and "counts" in layers
    raw = root.get("raw")
    has_raw = raw is not None and _is_group(raw) and "X" in raw
    if use == "counts" or (use == "auto" and has_counts):
        if not has_counts:
            available = list(layers.keys()) if layers is not None and _is_group(layers) else []
            raise DataError(f"{name} has no layers['counts']; available layers: {available}; use='X' or 'raw'")
        return "layers/counts", "var", "layers['counts']"
    x_integer = _is_integer(root["X"], _encoding(root["X"]) or "csr")
    if use == "raw" or (use == "auto" and has_raw and not x_integer
                        and _is_integer(raw["X"], _encoding(raw["X"]) or "csr")):
        if not has_raw:
            raise DataError(f"{name} has no .raw; use='X' or 'counts'")
        return "raw/X", "raw/var", ".raw.X"
    return "X", "var", f"X ({'integer counts' if x_integer else 'non-integer values, used as they are'})"


def anndata_layout(root: Any, store: Store, use: str = "auto") -> Layout:
    """The layout of an AnnData store (``.h5ad`` or ``.zarr``): cells x genes, cells become columns.

    Raises
    ------
    DataError
        No ``X``, an empty or inconsistent matrix, CSC storage (not readable by cell), a
        claim larger than the file, or names above the memory limit.
    """
    name = store.name
    if "X" not in root:
        raise DataError(f"{name} has no 'X' matrix, so it is not an AnnData store; write it with "
                        "adata.write_h5ad() or adata.write_zarr()")
    key, var_key, note = _choose(root, use, name)
    node = root[key]
    what = f"{key!r} of {name}"
    encoding = _encoding(node)
    if encoding is None:
        raise DataError(f"{what} is neither a dense array nor a CSR/CSC sparse matrix; {_FIX}")
    if encoding == "dense":
        shape = tuple(int(s) for s in node.shape)
        if len(shape) != 2 or node.dtype.kind not in "biuf":
            raise DataError(f"{what} is a {len(shape)}-D {node.dtype} array, not a 2-D numeric matrix; {_FIX}")
    else:
        shape = tuple(int(s) for s in np.ravel(_attr(node, "shape", _attr(node, "h5sparse_shape", ()))))
        if len(shape) != 2:
            raise DataError(f"{what} is a sparse matrix without a (cells, genes) shape; {_FIX}")
    n_cells, n_genes = shape
    if n_cells == 0 or n_genes == 0:
        raise DataError(f"{name} has {n_cells} cells x {n_genes} genes, so there is nothing to factorise; "
                        "check the filtering that produced the file")
    if encoding == "csc":
        raise DataError(
            f"{what} is stored by gene (CSC), so a chunk of cells would read the whole matrix; "
            "store it by cell: adata.X = adata.X.tocsr(); adata.write_h5ad(path), or load it in "
            "memory with nmfcore.load(path)"
        )
    if encoding == "csr":
        nnz = _sparse_header(node, (n_cells, n_genes), n_cells, what, store)
        layout, stored = "items-major", node["data"].dtype
    else:
        check_claimed_size(shape, what=what, limit=UNBOUNDED, itemsize=node.dtype.itemsize,
                           file_size=store.size, ratio=_ratio(node, store), names=False)
        nnz, layout, stored = 0, "dense-rows", node.dtype
    align = int(node.chunks[0]) if encoding == "dense" and getattr(node, "chunks", None) else 1
    _names_fit(n_genes, n_cells, store)
    genes = _index(root[var_key], n_genes, f"the gene names ({var_key}) of {name}")
    cells = _index(root["obs"], n_cells, f"the cell names (obs) of {name}")
    reader = ChunkReader(store.path, store.store, key, layout, n_genes, n_cells, nnz,
                         _dtype(stored, store), store.limit, what=what)
    return Layout(reader, "scrna", genes, cells, _labels(root["obs"], n_cells),
                  {"matrix": note, "orientation": "genes x cells (cells were rows in the file)"}, align)


def tenx_layout(root: Any, store: Store) -> Layout:
    """The layout of a Cell Ranger ``.h5`` matrix: genes x cells CSC, read by cell.

    Only "Gene Expression" features are kept, as scanpy's ``read_10x_h5`` does; gene
    names are made unique and the counts become float32 (by default) the same way.

    Raises
    ------
    DataError
        No matrix group, an inconsistent matrix, a claim larger than the file, or names
        above the memory limit.
    """
    import anndata
    import pandas as pd

    name = store.name
    groups = [root[k] for k in root.keys() if _is_group(root[k])]
    group = root["matrix"] if "matrix" in root and _is_group(root["matrix"]) else next(iter(groups), None)
    if group is None or "shape" not in group:
        raise DataError(f"{name} has no 10x matrix group (with data, indices, indptr and shape); use "
                        "Cell Ranger's filtered_feature_bc_matrix.h5, or an .h5ad file")
    what = f"the matrix of {name}"
    shape = np.ravel(group["shape"][()])
    if shape.size != 2 or shape.dtype.kind not in "iu" or (shape <= 0).any():
        raise DataError(f"{what} has the shape {shape.tolist()!r}, not (genes, cells); {_FIX}")
    n_genes, n_cells = (int(s) for s in shape)
    nnz = _sparse_header(group, (n_genes, n_cells), n_cells, what, store)
    _names_fit(n_genes, n_cells, store)
    features = group.get("features")
    if features is not None and "name" in features:
        genes = _strings(features["name"][()], n_genes, f"the feature names of {name}")
        types = features.get("feature_type")
        types = None if types is None else _strings(types[()], n_genes, f"the feature types of {name}")
    else:
        genes = _strings(group["gene_names"][()] if "gene_names" in group else [f"gene {i}" for i in range(n_genes)],
                         n_genes, f"the gene names of {name}")
        types = None
    rows = None
    if types is not None and (types != "Gene Expression").any():
        rows = tuple(int(i) for i in np.flatnonzero(types == "Gene Expression"))
        genes = genes[list(rows)]
    genes = np.asarray(anndata.utils.make_index_unique(pd.Index(genes)), dtype=object)
    cells = _strings(group["barcodes"][()], n_cells, f"the barcodes of {name}") if "barcodes" in group \
        else np.array([f"cell {j}" for j in range(n_cells)], dtype=object)
    reader = ChunkReader(store.path, store.store, group.name.lstrip("/"), "items-major", n_genes,
                         n_cells, nnz, store.dtype or np.dtype(np.float32), store.limit, rows=rows,
                         what=what)
    kept = "" if rows is None else f", {len(rows)} Gene Expression features of {n_genes}"
    return Layout(reader, "scrna", genes, cells, {},
                  {"matrix": f"10x matrix{kept}", "orientation": "genes x cells (as in the file)"})


def array_layout(array: Any, store: Store) -> Layout:
    """The layout of a plain 2-D zarr array: features x items as stored (columns are the items).

    Raises
    ------
    DataError
        Not a 2-D numeric array, a claim larger than the store, or names above the limit.
    """
    shape = tuple(int(s) for s in array.shape)
    if len(shape) != 2 or array.dtype.kind not in "biuf" or min(shape) == 0:
        raise DataError(f"{store.name} is a {len(shape)}-D {array.dtype} array of shape {shape}, not a "
                        "non-empty 2-D numeric matrix")
    check_claimed_size(shape, what=store.name, limit=UNBOUNDED, itemsize=array.dtype.itemsize,
                       file_size=store.size, ratio=ZARR_RATIO, names=False)
    m, n = shape
    _names_fit(m, n, store)
    reader = ChunkReader(store.path, store.store, "", "dense-columns", m, n, 0,
                         _dtype(array.dtype, store), store.limit, what=store.name)
    return Layout(reader, "matrix", np.array([f"feature {i}" for i in range(m)], dtype=object),
                  np.array([f"item {j}" for j in range(n)], dtype=object), {},
                  {"matrix": "zarr array", "orientation": "as in the file (columns are the items)"},
                  int(array.chunks[1]))
