"""Exports of any result's factors (every layer, every scale), a replayable JSON recipe,
and reading an exported result back without refitting.

Every function works through the interface shared by all result types:
``result.layers()`` (name, W of shape (m, r), H of shape (r, n)), ``result.params``
(with a "model" key), ``result.loss``, ``result.times`` and ``result.stopped``.
"""

from __future__ import annotations

import csv
import importlib
import inspect
import io
import json
import platform
import tempfile
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from nmfcore.data.dataset import Dataset
from nmfcore.data.errors import DataError
from nmfcore.data.source import as_source
from nmfcore.data.fingerprint import data_fingerprint
from nmfcore.results import Layer

RECIPE_FORMAT = "nmfcore-recipe"
RECIPE_VERSION = 1
_PACKAGES = ("numpy", "scipy", "scikit-learn", "anndata", "scanpy", "h5py", "pillow")
_MODELS = {"nmf": "nmfcore.classic.fit", "deep_nmf": "nmfcore.deep.model", "multilayer_nmf": "nmfcore.deep.model",
           "gnmf": "nmfcore.topology.graph_nmf", "pnmf": "nmfcore.topology.persistent"}


@dataclass
class ExportedResult:
    """A result read back from an export: enough to show it without refitting.

    Attributes
    ----------
    layer_list : list of Layer
        Every layer or scale, each with W (m, r) and H (r, n).
    params : dict
        The original ``params`` (with its "model").
    loss, times : ndarray, shape (n_iter + 1,)
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return {"ndarray": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"ndarray", "dtype"}:
            return np.asarray(value["ndarray"], dtype=np.dtype(value["dtype"]))
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _versions() -> dict[str, str]:
    import nmfcore

    found = {"python": platform.python_version(), "nmfcore": nmfcore.__version__}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _layers(result: Any, dataset: Dataset | None) -> list[Layer]:
    if not hasattr(result, "layers") or not hasattr(result, "params"):
        raise ValueError(
            f"result must be an nmfcore result with .layers() and .params, got "
            f"{type(result).__name__}; pass the object returned by nmf, deep_nmf, gnmf or pnmf"
        )
    layers = [Layer(str(l.name), np.asarray(l.W), np.asarray(l.H)) for l in result.layers()]
    if not layers:
        raise ValueError("result.layers() is empty, so there is nothing to export")
    if dataset is not None:
        m, n = dataset.shape
        for layer in layers:
            if layer.W.shape[0] != m or layer.H.shape[1] != n:
                raise ValueError(
                    f"layer {layer.name!r} has W {layer.W.shape} and H {layer.H.shape}, which do "
                    f"not fit the data set of shape {m} x {n}; pass the data set the result was "
                    "fitted on, or none"
                )
    return layers


def recipe(result: Any, dataset: Dataset | None = None) -> dict[str, Any]:
    """The JSON-ready recipe of a result: data fingerprint, preprocessing, model, parameters,
    seed and package versions.

    Parameters
    ----------
    result : any nmfcore result
    dataset : Dataset, optional
        The data set the result was fitted on; without it the recipe has no fingerprint.

    Returns
    -------
    dict
        Keys "format", "version", "model", "params", "seed", "data", "packages",
        "history" (n_iter, stopped, final loss) and "layers" (names and shapes).
    """
    layers = _layers(result, dataset)
    params = dict(result.params)
    if "model" not in params:
        raise ValueError("result.params has no 'model' key; export results made by nmfcore")
    data: dict[str, Any] = {}
    if dataset is not None:
        data = {
            "fingerprint": data_fingerprint(dataset.X),
            "shape": list(dataset.shape),
            "sparse": dataset.is_sparse,
            "kind": dataset.kind,
            "source": dataset.meta.get("source"),
            "sample": dataset.meta.get("sample"),
            "format": dataset.meta.get("format"),
            "detected": dataset.meta.get("detected"),
            "steps": list(dataset.meta.get("steps", [])),
        }
    loss = np.asarray(getattr(result, "loss", []), dtype=float)
    return _jsonable({
        "format": RECIPE_FORMAT,
        "version": RECIPE_VERSION,
        "model": params["model"],
        "params": params,
        "seed": params.get("random_state"),
        "data": data,
        "packages": _versions(),
        "history": {
            "n_iter": max(len(loss) - 1, 0),
            "stopped": bool(getattr(result, "stopped", False)),
            "final_loss": float(loss[-1]) if loss.size else None,
        },
        "layers": [{"name": l.name, "W": list(l.W.shape), "H": list(l.H.shape)} for l in layers],
    })


def to_recipe_json(result: Any, dataset: Dataset | None = None) -> bytes:
    """:func:`recipe` as indented UTF-8 JSON."""
    return json.dumps(recipe(result, dataset), indent=2).encode("utf-8")


def read_recipe(source: Any) -> dict[str, Any]:
    """Read a recipe from a path, bytes, an upload or an already parsed dict.

    Raises
    ------
    DataError
        Not JSON, or JSON that is not an nmfcore recipe.
    """
    if isinstance(source, dict):
        found = source
    else:
        src = as_source(source, name="recipe.json")
        try:
            found = json.loads(src.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{src.name!r} is not a JSON recipe ({exc}); export the recipe again") from None
    if not isinstance(found, dict) or found.get("format") != RECIPE_FORMAT:
        raise DataError(
            "this JSON is not an nmfcore recipe (its 'format' is not "
            f"{RECIPE_FORMAT!r}); use the recipe file from the Export page or export.recipe()"
        )
    return found


def replay(recipe_: Any, X: Any, *, check_data: bool = True, **overrides: Any) -> Any:
    """Refit the model of a recipe on X, to get the same factors.

    Parameters
    ----------
    recipe_ : dict, path, bytes or upload
        A recipe from :func:`recipe`.
    X : Dataset, array or sparse matrix, shape (m, n)
        The data, loaded and preprocessed as the recipe's "data" entry says.
    check_data : bool
        Refuse X when its fingerprint differs from the recipe's.
    **overrides
        Arguments that a JSON recipe cannot carry (e.g. ``mask=``) or that should change.

    Returns
    -------
    The result of ``nmfcore.<model>`` (``nmf``, ``deep_nmf``, ``multilayer_nmf``, ``gnmf`` or
    ``pnmf``).

    Raises
    ------
    ValueError
        Other data than the recipe's, an unknown model, or a fit that used arrays the
        recipe does not hold (a mask or a custom initialisation) without overrides.
    """
    import nmfcore

    found = read_recipe(recipe_)
    matrix = X.X if isinstance(X, Dataset) else X
    expected = found.get("data", {}).get("fingerprint")
    if check_data and expected and data_fingerprint(matrix) != expected:
        steps = "; ".join(found["data"].get("steps", [])) or "none"
        raise ValueError(
            f"X (shape {tuple(matrix.shape)}) is not the data of this recipe (fingerprint "
            f"differs; the recipe's data has shape {tuple(found['data'].get('shape', ()))}, source "
            f"{found['data'].get('source')!r}, preprocessing: {steps}); load the same file with "
            "the same options, or pass check_data=False"
        )
    model = str(found.get("model"))
    if model not in _MODELS:
        raise ValueError(f"recipe model {model!r} is unknown; replay supports {sorted(_MODELS)}")
    function = getattr(nmfcore, model, None)
    if not callable(function):  # a submodule of the same name is not the function
        try:
            function = getattr(importlib.import_module(_MODELS[model]), model)
        except (ImportError, AttributeError):
            raise ValueError(f"this version of nmfcore has no {model}(); upgrade nmfcore") from None
    params = _from_json(found.get("params", {}))
    if params.get("masked") and "mask" not in overrides:
        raise ValueError("the recipe's fit used a mask, which a recipe cannot hold; pass mask=")
    custom = [k for k, v in params.items() if v == "custom" and k not in overrides]
    if custom:
        raise ValueError(
            f"the recipe's fit used custom arrays for {custom}, which a recipe cannot hold; pass "
            + ", ".join(f"{k}=" for k in custom) + " with the same arrays (init=(W, H) for factors)"
        )
    accepted = inspect.signature(function).parameters
    arguments = {k: v for k, v in params.items() if k in accepted and k != "X"}
    arguments.update(overrides)
    return function(matrix, **arguments)


def _names(dataset: Dataset | None, attribute: str, count: int, prefix: str) -> list[str]:
    if dataset is not None:
        return [str(s) for s in getattr(dataset, attribute)]
    return [f"{prefix} {i}" for i in range(count)]


def to_npz(result: Any, dataset: Dataset | None = None) -> bytes:
    """Every layer's W and H as a compressed ``.npz`` (no pickled objects).

    Keys: ``W_0``, ``H_0``, ``W_1``, ... (W (m, r_l), H (r_l, n)), ``layer_names``,
    ``loss``, ``times``, ``recipe`` (JSON text), and ``feature_names`` / ``item_names``
    when ``dataset`` is given.
    """
    layers = _layers(result, dataset)
    arrays: dict[str, np.ndarray] = {}
    for i, layer in enumerate(layers):
        arrays[f"W_{i}"], arrays[f"H_{i}"] = layer.W, layer.H
    arrays["layer_names"] = np.array([l.name for l in layers], dtype=str)
    arrays["loss"] = np.asarray(getattr(result, "loss", []), dtype=float)
    arrays["times"] = np.asarray(getattr(result, "times", []), dtype=float)
    arrays["recipe"] = np.array(json.dumps(recipe(result, dataset)))
    if dataset is not None:
        arrays["feature_names"] = np.array(_names(dataset, "feature_names", 0, ""), dtype=str)
        arrays["item_names"] = np.array(_names(dataset, "item_names", 0, ""), dtype=str)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _csv(rows: list[list[Any]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode("utf-8")


def to_csv_zip(result: Any, dataset: Dataset | None = None) -> bytes:
    """A ZIP of CSVs with row and column names: per layer ``<i>_<name>_W.csv`` (features x
    factors) and ``<i>_<name>_H.csv`` (factors x items), plus ``loss.csv`` and ``recipe.json``."""
    layers = _layers(result, dataset)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i, layer in enumerate(layers):
            slug = "".join(c if c.isalnum() else "_" for c in layer.name).strip("_").lower() or "layer"
            factors = [f"factor {k}" for k in range(layer.W.shape[1])]
            features = _names(dataset, "feature_names", layer.W.shape[0], "feature")
            items = _names(dataset, "item_names", layer.H.shape[1], "item")
            archive.writestr(f"{i}_{slug}_W.csv", _csv(
                [["feature", *factors]] + [[f, *map(repr, map(float, row))] for f, row in zip(features, layer.W)]))
            archive.writestr(f"{i}_{slug}_H.csv", _csv(
                [["factor", *items]] + [[k, *map(repr, map(float, row))] for k, row in zip(factors, layer.H)]))
        loss = np.asarray(getattr(result, "loss", []), dtype=float)
        times = np.asarray(getattr(result, "times", []), dtype=float)
        archive.writestr("loss.csv", _csv(
            [["iteration", "loss", "seconds"]] + [[i, repr(float(l)), repr(float(t))]
                                                  for i, (l, t) in enumerate(zip(loss, times))]))
        archive.writestr("recipe.json", json.dumps(recipe(result, dataset), indent=2))
    return buffer.getvalue()


def _uns_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in _jsonable(params).items() if isinstance(v, (bool, int, float, str))}


def to_h5ad(result: Any, dataset: Dataset | None = None) -> bytes:
    """An ``.h5ad`` for scanpy users: items are observations, features variables.

    Layer 0's coefficients go to ``obsm["X_nmf"]`` (n x r) and its basis to
    ``varm["NMF_basis"]`` (m x r); layer i > 0 to ``obsm["X_nmf_<i>"]`` and
    ``varm["NMF_basis_<i>"]``. ``uns["nmf"]`` holds the parameters, the loss history,
    the layer names and the recipe (JSON). With a data set, ``X`` is its transpose
    (items x features) and its labels go to ``obs``.
    """
    import anndata
    import pandas as pd

    layers = _layers(result, dataset)
    m, n = layers[0].W.shape[0], layers[0].H.shape[1]
    obs = pd.DataFrame(index=_names(dataset, "item_names", n, "item"))
    var = pd.DataFrame(index=_names(dataset, "feature_names", m, "feature"))
    obs.index = obs.index.astype(str)
    var.index = var.index.astype(str)
    X = None
    if dataset is not None:
        X = dataset.X.T.tocsr() if dataset.is_sparse else np.asarray(dataset.X.T)
        for key, values in dataset.label_options.items():
            obs[key] = pd.Categorical(np.asarray(values).astype(str))
    adata = anndata.AnnData(X=X, obs=obs, var=var)
    if not obs.index.is_unique:
        adata.obs_names_make_unique()
    if not var.index.is_unique:
        adata.var_names_make_unique()
    for i, layer in enumerate(layers):
        suffix = "" if i == 0 else f"_{i}"
        adata.obsm[f"X_nmf{suffix}"] = np.ascontiguousarray(layer.H.T)
        adata.varm[f"NMF_basis{suffix}"] = np.ascontiguousarray(layer.W)
    adata.uns["nmf"] = {
        "model": str(result.params.get("model")),
        "params": _uns_params(result.params),
        "loss": np.asarray(getattr(result, "loss", []), dtype=float),
        "times": np.asarray(getattr(result, "times", []), dtype=float),
        "layer_names": np.array([l.name for l in layers], dtype=str),
        "recipe": json.dumps(recipe(result, dataset)),
    }
    with tempfile.TemporaryDirectory(prefix="nmfcore-export-") as folder:
        path = Path(folder) / "result.h5ad"
        adata.write_h5ad(path)
        return path.read_bytes()


def _tile(values: np.ndarray, scale: int) -> np.ndarray:
    top = float(values.max())
    grey = values / top if top > 0 else values
    return np.kron(np.clip(grey, 0, 1), np.ones((scale, scale)))


def to_png(result: Any, dataset: Dataset, *, layer: int = 0, n_cols: int | None = None) -> bytes:
    """A PNG of a layer's factors: basis images, abundance maps, or top features.

    Image data gives a grid of basis images, a hyperspectral scene a grid of
    abundance maps; any other data (text, genes, a plain matrix) a heat map of the
    basis on each factor's top features, labelled with the feature names.

    Parameters
    ----------
    result : any nmfcore result
    dataset : Dataset
        Gives ``image_shape`` (each ``W[:, k]`` drawn as an image) or ``spatial_shape``
        (each ``H[k]`` drawn as a map).
    layer : int
        Which layer or scale of ``result.layers()``.
    n_cols : int, optional
        Tiles per row; default about the square root of r.

    Returns
    -------
    bytes
        PNG, white factors on black, each tile (or heat-map column) scaled to its
        own maximum.
    """
    from PIL import Image

    layers = _layers(result, dataset)
    if not -len(layers) <= layer < len(layers):
        raise ValueError(f"layer={layer} is out of range; the result has {len(layers)} layer(s)")
    chosen = layers[layer]
    if dataset.image_shape is not None:
        shape, tiles = dataset.image_shape, [chosen.W[:, k] for k in range(chosen.W.shape[1])]
    elif dataset.spatial_shape is not None:
        shape, tiles = dataset.spatial_shape, list(chosen.H)
    else:
        return _top_features_png(chosen.W, dataset.feature_names)
    r = len(tiles)
    n_cols = n_cols or int(np.ceil(np.sqrt(r)))
    n_rows = int(np.ceil(r / n_cols))
    scale = max(1, 64 // max(shape))
    h, w, gap = shape[0] * scale, shape[1] * scale, 2
    canvas = np.full((n_rows * (h + gap) + gap, n_cols * (w + gap) + gap), 0.5)
    for k, values in enumerate(tiles):
        row, col = divmod(k, n_cols)
        y, x = gap + row * (h + gap), gap + col * (w + gap)
        canvas[y:y + h, x:x + w] = _tile(np.asarray(values, dtype=float).reshape(shape), scale)
    buffer = io.BytesIO()
    Image.fromarray(np.round(255 * canvas).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def top_feature_rows(W: np.ndarray, n_top: int = 8) -> np.ndarray:
    """Indices of the features that rank among the ``n_top`` largest of some factor.

    Parameters
    ----------
    W : ndarray, shape (m, r)
    n_top : int

    Returns
    -------
    ndarray of int
        Feature indices grouped by the first factor that picks them, in that
        factor's order of weight.
    """
    order = np.argsort(-W, axis=0)[: min(n_top, W.shape[0])]
    seen: dict[int, None] = {}
    for k in range(W.shape[1]):
        for i in order[:, k]:
            seen.setdefault(int(i), None)
    return np.fromiter(seen, dtype=int)


def _top_features_png(W: np.ndarray, feature_names: Any, *, n_top: int = 8, cell: tuple[int, int] = (12, 28)) -> bytes:
    """Heat map of W on each factor's top features, names on the left, factor numbers on top."""
    from PIL import Image, ImageDraw, ImageFont

    rows = top_feature_rows(W, n_top)
    block = W[rows] / np.maximum(W.max(axis=0, keepdims=True), np.finfo(float).tiny)
    names = [str(feature_names[i]) if feature_names is not None else str(i) for i in rows]
    font = ImageFont.load_default()
    label_w = 8 + max(int(font.getlength(n[:24])) for n in names)
    ch, cw = cell
    header = ch + 6
    image = Image.new("L", (label_w + cw * W.shape[1] + 4, header + ch * len(rows) + 4), 255)
    draw = ImageDraw.Draw(image)
    for k in range(W.shape[1]):
        draw.text((label_w + k * cw + 4, 2), str(k), fill=0, font=font)
    for i, name in enumerate(names):
        draw.text((4, header + i * ch), name[:24], fill=0, font=font)
    heat = np.round(255 * (1 - np.clip(block, 0, 1))).astype(np.uint8)
    image.paste(Image.fromarray(np.kron(heat, np.ones((ch, cw), dtype=np.uint8))), (label_w, header))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


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
    info = adata.uns.get("nmf")
    if info is None or "X_nmf" not in adata.obsm or "NMF_basis" not in adata.varm:
        raise DataError(
            f"{source.name!r} has no NMF result (it needs obsm['X_nmf'], varm['NMF_basis'] and "
            "uns['nmf']); use the .h5ad from the Export page or export.to_h5ad()"
        )
    names = [str(s) for s in info.get("layer_names", [])]
    layers, i = [], 0
    while f"X_nmf{'' if i == 0 else f'_{i}'}" in adata.obsm:
        suffix = "" if i == 0 else f"_{i}"
        layers.append(Layer(names[i] if i < len(names) else f"layer {i}",
                            np.asarray(adata.varm[f"NMF_basis{suffix}"]),
                            np.asarray(adata.obsm[f"X_nmf{suffix}"]).T))
        i += 1
    found_recipe = json.loads(str(info["recipe"]))
    return ExportedResult(
        layers, _from_json(found_recipe["params"]), np.asarray(info.get("loss", [])),
        np.asarray(info.get("times", [])), bool(found_recipe.get("history", {}).get("stopped")),
        np.asarray(adata.var_names, dtype=str), np.asarray(adata.obs_names, dtype=str), found_recipe,
    )


def read_result(source: Any) -> ExportedResult:
    """Read an exported ``.npz`` or ``.h5ad`` back into an object with ``.layers()``,
    ``.params``, ``.loss``, ``.times`` and ``.stopped``, so it can be shown without refitting.

    Parameters
    ----------
    source : path, bytes (with an .npz/.h5ad name) or an upload

    Returns
    -------
    ExportedResult

    Raises
    ------
    DataError
        Any other file, or one that is not an nmfcore export.
    """
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
