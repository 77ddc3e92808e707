"""The replayable JSON recipe of a result, and its replay.

A recipe records the data's fingerprint and preprocessing, the model, its parameters, the
seed and the package versions; :func:`replay` refits the model, looked up in
:mod:`nmfcore.models`, from it. Every function works through the
:class:`~nmfcore.results.FitResult` protocol shared by all result types.
"""

from __future__ import annotations

import inspect
import json
import platform
from importlib import metadata
from typing import Any

import numpy as np

from nmfcore.data.dataset import Dataset
from nmfcore.data.errors import DataError
from nmfcore.data.fingerprint import data_fingerprint
from nmfcore.data.lazy_checks import is_lazy_array
from nmfcore.data.source import as_source
from nmfcore.models import FAMILIES, get
from nmfcore.results import FitResult, Layer
from nmfcore.version import __version__

RECIPE_FORMAT = "nmfcore-recipe"
RECIPE_VERSION = 2
"""Version 2 records the parameter names shared by every family (``max_iter``, ``lambdas``)."""
_PACKAGES = ("numpy", "scipy", "scikit-learn", "anndata", "scanpy", "h5py", "pillow")
_RENAMED = {
    "gnmf": {"lam": "lambdas"},
    "pnmf": {"max_sweeps": "max_iter"},
    "multilayer_nmf": {"init_iter": "max_iter"},
}
"""Parameters a version-1 recipe spells the old way, by model: old name -> new name."""


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
    found = {"python": platform.python_version(), "nmfcore": __version__}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _layers(result: Any, dataset: Dataset | None, *, lazy: bool = False) -> list[Layer]:
    """The result's layers as arrays, checked against the data set's shape; with ``lazy``,
    a Dask H stays a Dask array (nothing is computed)."""
    if not isinstance(result, FitResult):
        raise ValueError(
            f"result must be an nmfcore result (params, loss, times, stopped, layers()), got "
            f"{type(result).__name__}; pass the object returned by nmf, deep_nmf, gnmf or pnmf"
        )
    layers = [Layer(str(l.name), np.asarray(l.W), l.H if lazy and is_lazy_array(l.H) else np.asarray(l.H))
              for l in result.layers()]
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
    layers = _layers(result, dataset, lazy=True)
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
    loss = np.asarray(result.loss, dtype=float)
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
            "stopped": bool(result.stopped),
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
    FitResult
        The result of the fit function of the recipe's model in :mod:`nmfcore.models`
        (``nmf``, ``deep_nmf``, ``multilayer_nmf``, ``gnmf`` or ``pnmf``). Parameters of a
        version-1 recipe that have since been renamed (gnmf's ``lam``, pnmf's
        ``max_sweeps``, multilayer_nmf's ``init_iter``) are passed under their new names.

    Raises
    ------
    ValueError
        Other data than the recipe's, an unknown model, or a fit that used arrays the
        recipe does not hold (a mask or a custom initialisation) without overrides.
    """
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
    known = sorted({family.model for family in FAMILIES.values()})
    if model not in known:
        raise ValueError(f"recipe model {model!r} is unknown; replay supports {known}")
    function = get(model).fit
    params = _current_names(model, _from_json(found.get("params", {})), found.get("version", 1))
    if params.get("masked") and "mask" not in overrides:
        raise ValueError("the recipe's fit used a mask, which a recipe cannot hold; pass mask=")
    custom = [k for k, v in params.items() if isinstance(v, str) and v == "custom" and k not in overrides]
    if custom:
        raise ValueError(
            f"the recipe's fit used custom arrays for {custom}, which a recipe cannot hold; pass "
            + ", ".join(f"{k}=" for k in custom) + " with the same arrays (init=(W, H) for factors)"
        )
    accepted = inspect.signature(function).parameters
    arguments = {k: v for k, v in params.items() if k in accepted and k != "X"}
    arguments.update(overrides)
    return function(matrix, **arguments)


def _current_names(model: str, params: dict[str, Any], version: Any) -> dict[str, Any]:
    """``params`` of a recipe of the given version, with renamed parameters under their new names."""
    if not isinstance(version, int) or version >= 2:
        return params
    renamed = _RENAMED.get(model, {})
    return {renamed.get(key, key): value for key, value in params.items()}
