"""Single-cell RNA-seq: ``.h5ad`` through anndata, 10x ``.h5`` and ``.mtx`` triplets through scanpy.

X is genes x cells (cells are the items), sparse when the file is.
"""

from __future__ import annotations

import gzip
import io
import tempfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import scipy.sparse as sp

from nmfcore.data.archive import SafeZip
from nmfcore.data.arrays import read_mtx
from nmfcore.data.dataset import Dataset
from nmfcore.data.errors import DataError, reading
from nmfcore.data.hdf5 import (
    HDF5_ERRORS, check_datasets, check_sparse_group, dataset_names, open_hdf5, sparse_groups,
)
from nmfcore.data.limits import MAX_RATIO, check_claimed_size
from nmfcore.data.source import Source
from nmfcore.data.sparse import checked_sparse
from nmfcore.data.validate import finish

MATRICES = ("auto", "X", "counts", "raw")
_TRIPLET = ("matrix.mtx", "barcodes.tsv")
_TENX_V3 = {"barcodes", "data", "indices", "indptr", "shape", "id", "name", "feature_type"}
_TENX_V2 = {"barcodes", "data", "indices", "indptr", "shape", "genes", "gene_names"}


def _h5_shape(node: Any, what: str) -> tuple[tuple[int, ...], int | None]:
    """(shape, nnz or None for dense) of an AnnData matrix node, as claimed by the file."""
    if isinstance(node, h5py.Dataset):
        return tuple(int(s) for s in node.shape or ()), None
    shape = np.ravel(node.attrs.get("shape", node.attrs.get("h5sparse_shape", (0, 0))))
    if shape.dtype.kind not in "iu" or shape.size != 2:
        raise DataError(
            f"{what} is a sparse matrix whose shape {shape.tolist()!r} is not two whole numbers; "
            "the file is corrupt: write it again with adata.write_h5ad()"
        )
    data = node.get("data")
    return tuple(int(s) for s in shape), int(data.shape[0]) if isinstance(data, h5py.Dataset) and data.ndim == 1 else 0


def inspect_h5ad(source: Source, limit: int) -> None:
    """Check an ``.h5ad`` file's structure and sizes before anndata reads it.

    Every dataset's claimed size must fit the file and the memory limit, and every
    sparse matrix (X, layers, raw, obsp...) must have a valid structure, because
    anndata hands the arrays to SciPy unchecked.

    Raises
    ------
    DataError
        Not HDF5 or corrupt, no ``X``, no cells or genes, a matrix above the memory limit,
        a dataset larger than the file, or an inconsistent sparse matrix.
    """
    name = repr(source.name)
    with open_hdf5(source, f"{name} cannot be read as HDF5/AnnData",
                   "the file is truncated or corrupt: write it again with adata.write_h5ad()") as f:
        check_datasets(f, name, limit, source.size)
        if "X" not in f:
            raise DataError(
                f"{name} is HDF5 but has no 'X' matrix, so it is not an AnnData "
                "file; write it with adata.write_h5ad()"
            )
        shape, nnz = _h5_shape(f["X"], f"'X' of {name}")
        if len(shape) != 2 or shape[0] == 0 or shape[1] == 0:
            raise DataError(
                f"{name} has {shape[0] if shape else 0} cells x "
                f"{shape[1] if len(shape) > 1 else 0} genes, so there are no cells (or no genes) to "
                "factorise; check the filtering that produced the file"
            )
        check_claimed_size(shape, what=f"'X' of {name}", limit=limit, nnz=nnz)
        for key, group, fmt in sparse_groups(f):
            group_shape, _ = _h5_shape(group, f"{key!r} of {name}")
            check_sparse_group(group, group_shape, fmt, f"{key!r} of {name}")


def _is_integer(matrix: Any) -> bool:
    values = matrix.data if sp.issparse(matrix) else np.asarray(matrix)
    sample = values.ravel()[:100_000]
    return bool(np.all(np.isfinite(sample)) and np.all(sample == np.round(sample)))


def _choose(adata: Any, use: str) -> tuple[Any, Any, str]:
    """(matrix cells x genes, gene names, note) for ``use``."""
    if use not in MATRICES:
        raise ValueError(f"use={use!r} is not valid; choose one of {MATRICES}")
    if use == "counts" or (use == "auto" and "counts" in adata.layers):
        if "counts" not in adata.layers:
            raise DataError(f"the file has no layers['counts']; available layers: {list(adata.layers)}; use='X' or 'raw'")
        return adata.layers["counts"], adata.var_names, "layers['counts']"
    if use == "raw" or (use == "auto" and adata.raw is not None and _is_integer(adata.raw.X)
                        and not _is_integer(adata.X)):
        if adata.raw is None:
            raise DataError("the file has no .raw; use='X' or 'counts'")
        return adata.raw.X, adata.raw.var_names, ".raw.X"
    kind = "integer counts" if _is_integer(adata.X) else "non-integer values, used as they are"
    return adata.X, adata.var_names, f"X ({kind})"


def label_options(obs: Any) -> dict[str, np.ndarray]:
    """``obs`` columns that can serve as class labels: categorical or text with few values."""
    options = {}
    for column in obs.columns:
        values = obs[column]
        n_unique = values.nunique()
        is_class = str(values.dtype) in ("category", "object", "bool", "string")
        if is_class and 1 < n_unique <= max(2, min(100, len(values) // 2)):
            options[str(column)] = np.asarray(values.astype(str), dtype=object)
    return options


def from_anndata(adata: Any, *, origin: str, use: str = "auto", label: str | None = None,
                 min_genes: int | None = None, min_cells: int | None = None,
                 normalize_total: float | bool | None = None, log1p: bool = False,
                 n_top_genes: int | None = None, pnmf_recipe: bool = False,
                 **checks: Any) -> Dataset:
    """Turn an AnnData object into a genes x cells :class:`Dataset`.

    Parameters
    ----------
    adata : anndata.AnnData, shape (n_cells, n_genes)
    origin : str
        Description for messages and provenance.
    use : {"auto", "X", "counts", "raw"}
        Which matrix: "auto" takes ``layers["counts"]``, else ``.raw`` when it holds
        integer counts and ``X`` does not, else ``X``.
    label : str, optional
        ``obs`` column to use as labels; default the first usable one.
    min_genes, min_cells : int, optional
        ``scanpy.pp.filter_cells(min_genes=)`` and ``filter_genes(min_cells=)``.
    normalize_total : float or True, optional
        ``scanpy.pp.normalize_total`` (True = scanpy's default target sum).
    log1p : bool
        ``scanpy.pp.log1p``.
    n_top_genes : int, optional
        Keep the most highly variable genes (``scanpy.pp.highly_variable_genes``).
    pnmf_recipe : bool
        The pNMF paper's preprocessing: log10(1 + x), then every cell scaled to unit norm.

    Returns
    -------
    Dataset
        X of shape (n_genes, n_cells), sparse when the chosen matrix is.
    """
    import anndata
    import scanpy as sc

    matrix, genes, note = _choose(adata, use)
    if sp.issparse(matrix):
        matrix = checked_sparse(matrix, what=f"the {note} matrix of {origin}")
    elif np.asarray(matrix).dtype.kind not in "biuf":
        raise DataError(f"the {note} matrix of {origin} holds {np.asarray(matrix).dtype} values, not numbers")
    work = anndata.AnnData(X=matrix, obs=adata.obs.copy())
    work.var_names = [str(g) for g in genes]
    steps = [f"used {note}"]
    if min_genes:
        sc.pp.filter_cells(work, min_genes=min_genes)
        steps.append(f"scanpy.pp.filter_cells(min_genes={min_genes})")
    if min_cells:
        sc.pp.filter_genes(work, min_cells=min_cells)
        steps.append(f"scanpy.pp.filter_genes(min_cells={min_cells})")
    if work.n_obs < 2 or work.n_vars < 2:
        raise DataError(
            f"after filtering, {origin} has {work.n_obs} cells and {work.n_vars} genes; lower "
            "min_genes / min_cells"
        )
    if normalize_total:
        target = None if normalize_total is True else float(normalize_total)
        sc.pp.normalize_total(work, target_sum=target)
        steps.append(f"scanpy.pp.normalize_total(target_sum={target})")
    if log1p:
        sc.pp.log1p(work)
        steps.append("scanpy.pp.log1p")
    if n_top_genes:
        if n_top_genes < work.n_vars:
            sc.pp.highly_variable_genes(work, n_top_genes=int(n_top_genes), subset=True)
            steps.append(f"kept the {n_top_genes} most highly variable genes (scanpy, flavor='seurat')")
    X = work.X
    if pnmf_recipe:
        X = X.log1p() / np.log(10) if sp.issparse(X) else np.log10(1 + np.asarray(X, dtype=float))
        norms = np.sqrt(np.asarray((X.multiply(X) if sp.issparse(X) else X * X).sum(axis=1))).ravel()
        norms[norms == 0] = 1
        X = sp.diags(1 / norms) @ X if sp.issparse(X) else X / norms[:, None]
        steps.append("pNMF recipe: log10(1 + x), then every cell scaled to unit Euclidean norm")
    X = sp.csr_matrix(X).T.tocsr() if sp.issparse(X) else np.asarray(X).T
    options = label_options(work.obs)
    if label is not None and label not in options:
        raise DataError(f"label={label!r} is not a usable obs column; choose one of {sorted(options)}")
    chosen = label or next(iter(options), None)
    return finish(
        X, "scrna", what=origin, feature_names=work.var_names, item_names=work.obs_names,
        steps=steps, labels=options.get(chosen) if chosen else None, label_options=options,
        meta={"orientation": "genes x cells (cells were rows in the file)", "matrix": note,
              "labels": chosen},
        **checks,
    )


def read_h5ad(source: Source, limit: int, **options: Any) -> Dataset:
    """Load an ``.h5ad`` file (see :func:`from_anndata` for the options)."""
    import anndata

    inspect_h5ad(source, limit)
    # the file passed inspect_h5ad, so what anndata still raises is a malformed part it
    # decodes itself: an unknown encoding (IORegistryError, which anndata does not export
    # publicly), dataframes, categories
    from anndata._io.specs.registry import IORegistryError

    with reading(f"{source.name!r} cannot be read by anndata", "write it again with adata.write_h5ad()",
                 HDF5_ERRORS + (IORegistryError,)), source.as_path() as path:
        adata = anndata.read_h5ad(path)
    return from_anndata(adata, origin=repr(source.name), **options)


def _inspect_10x_h5(source: Source, limit: int) -> None:
    name = repr(source.name)
    with open_hdf5(source, f"{name} is not a readable 10x Genomics .h5 matrix",
                   "use Cell Ranger's filtered_feature_bc_matrix.h5, or an .h5ad file") as f:
        check_datasets(f, name, limit, source.size)
        groups = [f[k] for k in f if isinstance(f[k], h5py.Group)]
        group = f["matrix"] if isinstance(f.get("matrix"), h5py.Group) else next(iter(groups), None)
        if group is None or not isinstance(group.get("shape"), h5py.Dataset):
            raise DataError(
                f"{name} has no 10x matrix group (with data, indices, indptr and shape); use "
                "Cell Ranger's filtered_feature_bc_matrix.h5, or an .h5ad file"
            )
        shape = np.ravel(group["shape"][()])
        if shape.size != 2 or shape.dtype.kind not in "iu":
            raise DataError(
                f"the matrix of {name} has the shape {shape.tolist()!r}, not (genes, cells); the "
                "file is corrupt: use Cell Ranger's filtered_feature_bc_matrix.h5"
            )
        data = group.get("data")
        nnz = data.shape[0] if isinstance(data, h5py.Dataset) and data.ndim == 1 else 0
        genes, cells = check_claimed_size(shape, what=f"the matrix of {name}", limit=limit, nnz=nnz)
        # scanpy reads these by name (v3 flattens the features group) and turns a missing one
        # into a bare Exception
        required = _TENX_V3 if "matrix" in f else _TENX_V2
        missing = sorted(required - dataset_names(group))
        if missing:
            raise DataError(
                f"the matrix of {name} lacks the dataset(s) {missing}; use Cell Ranger's "
                "filtered_feature_bc_matrix.h5, or an .h5ad file"
            )
        # stored by cell: a genes x cells CSC matrix
        check_sparse_group(group, (genes, cells), "csc", f"the matrix of {name}")


def read_10x_h5(source: Source, limit: int, **options: Any) -> Dataset:
    """Load a Cell Ranger ``filtered_feature_bc_matrix.h5`` through scanpy."""
    import scanpy as sc

    _inspect_10x_h5(source, limit)
    with reading(f"{source.name!r} is not a readable 10x Genomics .h5 matrix",
                 "use Cell Ranger's filtered_feature_bc_matrix.h5, or an .h5ad file",
                 HDF5_ERRORS), source.as_path() as path:
        adata = sc.read_10x_h5(path)
    adata.var_names_make_unique()
    return from_anndata(adata, origin=repr(source.name), **options)


def is_10x_archive(archive: SafeZip) -> bool:
    """True when a ZIP holds a 10x ``matrix.mtx`` + ``barcodes.tsv`` triplet."""
    names = [Path(m.name).name.removesuffix(".gz") for m in archive.members]
    return all(n in names for n in _TRIPLET)


def _gunzip(data: bytes, limit: int, name: str) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            plain = fh.read(limit + 1)
    except (OSError, EOFError) as exc:
        raise DataError(f"a .gz member of {name!r} is corrupt ({exc}); create the archive again") from None
    if len(plain) > limit:
        raise DataError(
            f"a .gz member of {name!r} expands more than {MAX_RATIO} times; this looks "
            "like a compression bomb, so it was not read"
        )
    return plain


def read_10x_archive(archive: SafeZip, limit: int, **options: Any) -> Dataset:
    """Load a ZIP of a 10x ``matrix.mtx``/``barcodes.tsv``/``features.tsv`` triplet through scanpy."""
    files = {Path(m.name).name: archive.read(m) for m in archive.members}
    sizes = {Path(m.name).name: m.size for m in archive.members}
    return read_10x_files(files, sizes, repr(archive.name), limit, **options)


def read_10x_folder(folder: Path, limit: int, **options: Any) -> Dataset:
    """Load a folder holding a 10x ``matrix.mtx``/``barcodes.tsv``/``features.tsv`` triplet."""
    files = {p.name: p.read_bytes() for p in folder.iterdir()
             if p.is_file() and p.name.removesuffix(".gz") in (*_TRIPLET, "features.tsv", "genes.tsv")}
    return read_10x_files(files, {k: len(v) for k, v in files.items()}, repr(str(folder)), limit,
                          **options)


def read_10x_files(files: dict[str, bytes], sizes: dict[str, int], origin: str, limit: int,
                   **options: Any) -> Dataset:
    """Load a 10x triplet given as file name -> content (plain or gzipped) through scanpy.

    Parameters
    ----------
    files : dict of str to bytes
        Any files; only matrix.mtx, barcodes.tsv and features.tsv/genes.tsv (optionally
        .gz) are used.
    sizes : dict of str to int
        Compressed sizes, to bound decompression.
    origin : str
        Description for messages and provenance.
    limit : int
        Memory limit in bytes.
    """
    import scanpy as sc

    plain_names = {name.removesuffix(".gz") for name in files}
    legacy = "genes.tsv" in plain_names  # Cell Ranger 2 files are plain text, version 3 gzipped
    with tempfile.TemporaryDirectory(prefix="nmfcore-10x-") as folder:
        for name, data in files.items():
            plain = name.removesuffix(".gz")
            if plain not in (*_TRIPLET, "features.tsv", "genes.tsv"):
                continue
            if name.endswith(".gz"):
                data = _gunzip(data, max(sizes.get(name, len(data)), 1) * MAX_RATIO, origin)
            if plain == "matrix.mtx":
                read_mtx(data, f"matrix.mtx of {origin}", limit)  # sizes and indices, before scanpy
            target = Path(folder) / (plain if legacy else plain + ".gz")
            target.write_bytes(data if legacy else gzip.compress(data, compresslevel=1))
        with reading(f"the 10x triplet in {origin} cannot be read",
                     "it needs matrix.mtx, barcodes.tsv and features.tsv (or genes.tsv) from Cell Ranger"):
            adata = sc.read_10x_mtx(folder, var_names="gene_symbols", make_unique=True)
    return from_anndata(adata, origin=origin, **options)
