"""Downloads of any result's factors, every layer and every scale: ``.npz``, a ZIP of CSVs,
``.h5ad`` for scanpy users and a PNG of a layer's factors.

Each export embeds the result's recipe (:mod:`nmfcore.export.recipe`), so that
:func:`nmfcore.export.read_result` can show it again and :func:`nmfcore.export.replay`
refit it. Every function works through the :class:`~nmfcore.results.FitResult` protocol.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nmfcore.data.dataset import Dataset
from nmfcore.export.recipe import _jsonable, _layers, recipe
from nmfcore.tl.layout import store_result


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
    arrays["loss"] = np.asarray(result.loss, dtype=float)
    arrays["times"] = np.asarray(result.times, dtype=float)
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
        loss = np.asarray(result.loss, dtype=float)
        times = np.asarray(result.times, dtype=float)
        archive.writestr("loss.csv", _csv(
            [["iteration", "loss", "seconds"]] + [[i, repr(float(l)), repr(float(t))]
                                                  for i, (l, t) in enumerate(zip(loss, times))]))
        archive.writestr("recipe.json", json.dumps(recipe(result, dataset), indent=2))
    return buffer.getvalue()


def to_h5ad(result: Any, dataset: Dataset | None = None) -> bytes:
    """An ``.h5ad`` for scanpy users: items are observations, features variables.

    The factors go where :mod:`nmfcore.tl` puts them (one layout,
    :func:`nmfcore.tl.layout.store_result` with key ``"nmf"``): layer 0's coefficients to
    ``obsm["X_nmf"]`` (n x r) and its basis to ``varm["NMF_basis"]`` (m x r); layer i > 0
    to ``obsm["X_nmf_<i>"]`` and ``varm["NMF_basis_<i>"]``. ``uns["nmf"]`` holds the
    parameters, the loss history, the layer names, the keys and the recipe (JSON). With a
    data set, ``X`` is its transpose (items x features) and its labels go to ``obs``.
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
    store_result(adata, result, "nmf", extra_uns={"recipe": json.dumps(recipe(result, dataset))})
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
