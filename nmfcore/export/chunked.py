"""Exports of a lazy result (H a Dask array, e.g. of an atlas): ``.zarr`` or ``.h5ad``
written to disk with H streamed chunk by chunk, never held whole.

Both files have the AnnData layout of :func:`nmfcore.tl.layout.store_result` (key
``"nmf"``): ``obsm["X_nmf"]`` = Hᵀ (items x r), ``varm["NMF_basis"]`` = W, ``uns["nmf"]``
with the parameters, the history and the recipe; ``obs`` the item names and labels,
``var`` the feature names. X is not copied: the data stays in its own file, which the
recipe names. ``anndata.read_zarr`` / ``anndata.read_h5ad`` read them, and so does
:func:`nmfcore.export.read_result`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from nmfcore.data.dataset import Dataset
from nmfcore.data.lazy_checks import is_lazy_array
from nmfcore.export.recipe import _layers, recipe
from nmfcore.tl.layout import store_result

#: File suffixes :func:`write_chunked` writes.
CHUNKED_SUFFIXES = (".zarr", ".h5ad")
#: How AnnData marks a dense array in its stores.
_ARRAY_ENCODING = {"encoding-type": "array", "encoding-version": "0.2.0"}


def is_lazy_result(result: Any) -> bool:
    """True when some layer's H is a Dask array (a fit on a lazy data set)."""
    return any(is_lazy_array(layer.H) for layer in result.layers())


def _frames(dataset: Dataset | None, m: int, n: int) -> tuple[Any, Any]:
    import pandas as pd

    def names(values: Any, count: int, prefix: str) -> Any:
        if values is None:
            return prefix + pd.RangeIndex(count).astype(str)
        return pd.Index(np.asarray(values).astype(str, copy=False))

    obs = pd.DataFrame(index=names(None if dataset is None else dataset.item_names, n, "item "))
    var = pd.DataFrame(index=names(None if dataset is None else dataset.feature_names, m, "feature "))
    if dataset is not None:
        for key, values in dataset.label_options.items():
            obs[key] = pd.Categorical(np.asarray(values).astype(str))
    return obs, var


def write_chunked(result: Any, path: str | Path, dataset: Dataset | None = None, *,
                  overwrite: bool = False) -> Path:
    """Write a result, lazy or not, to a ``.zarr`` store or an ``.h5ad`` file on disk.

    A Dask H is written one chunk at a time from this process: each chunk is computed
    (on the cluster, if H lives there), written at its rows of ``obsm["X_nmf"]`` and
    dropped before the next, so memory holds one chunk of H, never H whole, and the
    file lands on this machine even when the workers have other disks.

    Parameters
    ----------
    result : any nmfcore result
        Its layers' H, shape (r, n), NumPy or Dask (chunked along the items).
    path : str or Path
        Ending in ``.zarr`` (a folder) or ``.h5ad``.
    dataset : Dataset, optional
        The data set of the fit: its item and feature names, labels and fingerprint.
    overwrite : bool
        Replace what is at ``path``; otherwise an existing path is refused.

    Returns
    -------
    Path
        ``path``. The rows of ``obsm["X_nmf"]`` are stored in chunks of H's items.

    Raises
    ------
    ValueError
        Another suffix, an existing ``path`` without ``overwrite``, or a result that
        does not fit ``dataset``.
    """
    import anndata

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CHUNKED_SUFFIXES:
        raise ValueError(f"{path.name!r} does not end in .zarr or .h5ad; name the export e.g. result.zarr")
    if path.exists():
        if not overwrite:
            raise ValueError(f"{str(path)!r} exists; choose another name, or pass overwrite=True")
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    layers = _layers(result, dataset, lazy=True)
    obs, var = _frames(dataset, layers[0].W.shape[0], layers[0].H.shape[1])
    adata = anndata.AnnData(obs=obs, var=var)
    if not adata.obs_names.is_unique:
        adata.obs_names_make_unique()
    if not adata.var_names.is_unique:
        adata.var_names_make_unique()
    store_result(adata, result, "nmf", extra_uns={"recipe": json.dumps(recipe(result, dataset))})
    lazy = {key: adata.obsm[key] for key in list(adata.obsm) if is_lazy_array(adata.obsm[key])}
    for key in lazy:
        del adata.obsm[key]
    if suffix == ".zarr":
        adata.write_zarr(path)
        _stream_zarr(path, lazy)
    else:
        adata.write_h5ad(path)
        _stream_h5(path, lazy)
    return path


def _stream_zarr(path: Path, arrays: dict[str, Any]) -> None:
    import zarr

    obsm = zarr.open_group(str(path), mode="r+")["obsm"]
    for key, values in arrays.items():
        values = _one_chunk_across(values)
        target = obsm.create_array(key, shape=values.shape, dtype=values.dtype,
                                   chunks=(max(values.chunks[0]), values.shape[1]))
        target.attrs.update(_ARRAY_ENCODING)
        _write_blocks(values, target)
    zarr.consolidate_metadata(str(path))  # anndata reads the consolidated metadata, which must list them


def _stream_h5(path: Path, arrays: dict[str, Any]) -> None:
    import h5py

    with h5py.File(path, "r+") as file:
        for key, values in arrays.items():
            values = _one_chunk_across(values)
            target = file["obsm"].create_dataset(key, shape=values.shape, dtype=values.dtype,
                                                 chunks=(max(values.chunks[0]), values.shape[1]))
            target.attrs.update(_ARRAY_ENCODING)
            _write_blocks(values, target)


def _one_chunk_across(values: Any) -> Any:
    """Hᵀ (items x r) with each chunk holding all r factors of its items."""
    return values.rechunk({1: -1}) if values.numblocks[1] > 1 else values


def _write_blocks(values: Any, target: Any) -> None:
    """Compute ``values`` (Dask, items x r) block by block into ``target`` (an HDF5 or zarr array)."""
    start = 0
    for j in range(values.numblocks[0]):
        block = np.asarray(values.blocks[j, 0].compute())
        target[start:start + block.shape[0], :] = block
        start += block.shape[0]
        del block  # before the next block is computed
