"""Reading an exported ``.npz``, ``.h5ad`` or ``.zarr`` back, to show a result without refitting."""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nmfcore.data.errors import DataError
from nmfcore.data.source import as_source
from nmfcore.export.recipe import _from_json
from nmfcore.tl.layout import layer_keys
from nmfcore.results import Layer


@dataclass
class ExportedResult:
    """A result read back from an export: enough to show it without refitting.

    It follows the :class:`~nmfcore.results.FitResult` protocol, so views and exports
    treat it like the result it was exported from.

    Attributes
    ----------
    layer_list : list of Layer
        Every layer or scale, each with W (m, r) and H (r, n).
    params : dict
        The original ``params`` (with its "model").
    loss, times : ndarray, shape (n_iter + 1,)
        The original history; empty arrays, shape (0,), when the export holds none.
    stopped : bool
    feature_names, item_names : ndarray of str or None
        Row names of W and column names of H, when the export had a data set.
    recipe : dict
        The full recipe stored with the export.
    """

    layer_list: list[Layer]
    params: dict[str, Any]
    loss: np.ndarray
    times: np.ndarray
    stopped: bool = False
    feature_names: np.ndarray | None = None
    item_names: np.ndarray | None = None
    recipe: dict[str, Any] = field(default_factory=dict)

    def layers(self) -> list[Layer]:
        """The stored layers, in their original order."""
        return list(self.layer_list)

    @property
    def W(self) -> np.ndarray:
        """Basis of the first layer, shape (m, r)."""
        return self.layer_list[0].W

    @property
    def H(self) -> np.ndarray:
        """Coefficients of the first layer, shape (r, n)."""
        return self.layer_list[0].H

    @property
    def n_iter(self) -> int:
        """Iterations of the original fit."""
        return max(len(self.loss) - 1, 0)


def _result_from_npz(data: bytes, name: str) -> ExportedResult:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as found:
            arrays = {k: found[k] for k in found.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{name!r} is not a readable .npz export ({exc}); export the result again") from None
    if "W_0" not in arrays or "H_0" not in arrays or "recipe" not in arrays:
        raise DataError(
            f"{name!r} is an .npz but not an nmfcore export (it needs W_0, H_0 and recipe); "
            "use the .npz from the Export page or export.to_npz()"
        )
    names = [str(s) for s in arrays.get("layer_names", [])]
    layers = []
    i = 0
    while f"W_{i}" in arrays:
        layers.append(Layer(names[i] if i < len(names) else f"layer {i}", arrays[f"W_{i}"], arrays[f"H_{i}"]))
        i += 1
    found_recipe = json.loads(str(arrays["recipe"]))
    return ExportedResult(
        layers, _from_json(found_recipe["params"]), arrays.get("loss", np.zeros(0)),
        arrays.get("times", np.zeros(0)), bool(found_recipe.get("history", {}).get("stopped")),
        arrays.get("feature_names"), arrays.get("item_names"), found_recipe,
    )


def _result_from_h5ad(source: Any) -> ExportedResult:
    import anndata

    from nmfcore.data.scrna import inspect_h5ad
    from nmfcore.data.limits import max_bytes

    try:
        inspect_h5ad(source, max_bytes())
    except DataError as exc:
        if "no 'X' matrix" not in str(exc):
            raise
    try:
        with source.as_path() as path:
            adata = anndata.read_h5ad(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure means a bad file
        raise DataError(f"{source.name!r} cannot be read by anndata ({exc}); export it again") from None
    return _result_from_adata(adata, source.name)


def _result_from_zarr(path: Path) -> ExportedResult:
    import anndata

    try:
        adata = anndata.read_zarr(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure means a bad store
        raise DataError(f"{path.name!r} cannot be read by anndata as a zarr store ({exc}); export it again") from None
    return _result_from_adata(adata, path.name)


def _result_from_adata(adata: Any, name: str) -> ExportedResult:
    info = adata.uns.get("nmf")
    if info is None or "X_nmf" not in adata.obsm or "NMF_basis" not in adata.varm:
        raise DataError(
            f"{name!r} has no NMF result (it needs obsm['X_nmf'], varm['NMF_basis'] and "
            "uns['nmf']); use the .h5ad or .zarr from the Export page or export.to_h5ad()"
        )
    names = [str(s) for s in info.get("layer_names", [])]
    obsm_keys, varm_keys = layer_keys("nmf", len(names))
    layers = [Layer(layer_name, np.asarray(adata.varm[varm_key]), np.asarray(adata.obsm[obsm_key]).T)
              for layer_name, obsm_key, varm_key in zip(names, obsm_keys, varm_keys)
              if obsm_key in adata.obsm and varm_key in adata.varm]
    found_recipe = json.loads(str(info["recipe"]))
    return ExportedResult(
        layers, _from_json(found_recipe["params"]), np.asarray(info.get("loss", [])),
        np.asarray(info.get("times", [])), bool(found_recipe.get("history", {}).get("stopped")),
        np.asarray(adata.var_names, dtype=str), np.asarray(adata.obs_names, dtype=str), found_recipe,
    )


def read_result(source: Any) -> ExportedResult:
    """Read an exported ``.npz`` or ``.h5ad`` back into a
    :class:`~nmfcore.results.FitResult`, so it can be shown without refitting.

    Parameters
    ----------
    source : path, bytes (with an .npz/.h5ad name) or an upload
        Or the path of a ``.zarr`` store from :func:`nmfcore.export.write_chunked`.

    Returns
    -------
    ExportedResult

    Raises
    ------
    DataError
        Any other file, or one that is not an nmfcore export.
    """
    if isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".zarr" and Path(source).is_dir():
        return _result_from_zarr(Path(source))
    src = as_source(source)
    if src.suffix == ".npz":
        return _result_from_npz(src.read(), src.name)
    if src.suffix == ".h5ad":
        return _result_from_h5ad(src)
    if src.suffix == ".json":
        raise DataError(
            f"{src.name!r} is a recipe, which holds no factors; replay it on the data with "
            "export.replay(recipe, X), or upload the .npz or .h5ad export"
        )
    raise DataError(
        f"{src.name!r} is not an exported result; upload the .npz or .h5ad from the Export page"
    )
