"""Reading a decoded array (2-D, or 3-D for image stacks and cubes) as each data kind,
and the side arrays a file stores beside it (scene and image shapes, labels, word lists)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.data import hyperspectral, images, text
from nmfcore.data.dataset import Dataset
from nmfcore.data.errors import DataError, reading
from nmfcore.data.limits import MAX_EXTENT, check_dense_size
from nmfcore.data.validate import finish, per_item

CHECKS = ("nan", "negative")
CUBE_OPTIONS = ("wavelengths", "max_value", "drop_bands", "drop_bad_bands")


def pick_options(options: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The options among ``names`` that were given."""
    return {k: options[k] for k in names if k in options}


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """The ``nan`` and ``negative`` policies among ``options``."""
    return pick_options(options, CHECKS)


def from_array(X: Any, kind: str, origin: str, options: dict[str, Any], *, limit: int,
             terms: Sequence[str] | None = None, items: Sequence[str] | None = None,
             features: Sequence[str] | None = None, labels: Any = None,
             pixel_order: str = "C", layout: str = "nhw", **fields: Any) -> Dataset:
    """Read an array (2-D, or 3-D for images and cubes) as ``kind``.

    Parameters
    ----------
    X : array-like or sparse
        As stored in the file.
    kind : str
        One of :data:`nmfcore.data.KINDS`.
    origin : str
        How messages name the array, e.g. ``"'X' in data.npz"``.
    options : dict
        The caller's ``load`` options.
    limit : int
        Memory limit in bytes.
    terms, items, features, labels
        Side arrays found in the file: vocabulary, item and feature names, labels.
    pixel_order, layout : str
        The file's conventions ("F" and "hwn" for MATLAB).
    **fields
        image_shape, spatial_shape, wavelengths, max_value found in the file.
    """
    checks = check_options(options)
    if kind == "images":
        if sp.issparse(X):
            raise DataError(f"{origin} is sparse; images need a dense array")
        return images.from_array(np.asarray(X), layout=layout, origin=origin,
                                 order=options.get("order", pixel_order),
                                 image_shape=options.get("image_shape", fields.get("image_shape")),
                                 **checks)
    if kind == "hyperspectral":
        if sp.issparse(X):
            check_dense_size(X.shape, limit, origin)
            X = X.toarray()
        X = np.asarray(X)
        if X.ndim not in (2, 3):
            raise DataError(
                f"{origin} has {X.ndim} dimension(s); a hyperspectral scene is a rows x cols x "
                "bands cube or a bands x pixels matrix"
            )
        cube_options = pick_options(options, CUBE_OPTIONS)
        cube_options.setdefault("wavelengths", fields.get("wavelengths"))
        cube_options.setdefault("max_value", fields.get("max_value"))
        if X.ndim == 3:
            return hyperspectral.from_cube(X, origin=origin, **cube_options, **checks)
        return hyperspectral.from_bands_by_pixels(
            X, origin=origin, pixel_order=options.get("pixel_order", pixel_order),
            spatial_shape=options.get("spatial_shape", fields.get("spatial_shape")),
            **cube_options, **checks)
    if getattr(X, "ndim", 2) != 2:
        raise DataError(
            f"{origin} has {X.ndim} dimensions; kind={kind!r} needs a 2-D matrix (a 3-D array "
            "is read as images or a hyperspectral cube)"
        )
    if kind == "text":
        terms = options.get("vocabulary", terms)
        if isinstance(terms, (str, Path)):
            terms = vocabulary_file(Path(terms))
        elif terms is not None:
            terms = [str(t) for t in np.ravel(np.asarray(terms, dtype=object))]
        documents_are = options.get("documents_are")
        if documents_are is None:
            documents_are = "columns" if terms is not None and len(terms) == X.shape[0] != X.shape[1] else "rows"
        if terms is not None and len(terms) != X.shape[1 if documents_are == "rows" else 0]:
            raise DataError(
                f"the vocabulary has {len(terms)} terms but {origin} is {X.shape[0]} x "
                f"{X.shape[1]}; supply the word list that belongs to this matrix"
            )
        return text.from_dtm(X, documents_are=documents_are, terms=terms, documents=items,
                             origin=origin, labels=labels, **checks)
    if kind == "scrna":
        raise DataError(
            f"{origin} is a plain matrix; single-cell data must come as .h5ad, a 10x .h5 or a "
            "ZIP of a 10x matrix.mtx/barcodes.tsv/features.tsv triplet (or use kind='matrix')"
        )
    if options.get("transpose"):
        X = X.T
        features, items = items, features
    label_array = None if labels is None else np.asarray(labels).ravel()
    return finish(X, "matrix", what=origin, feature_names=features, item_names=items,
                  labels=label_array,
                  label_options={} if label_array is None else {"labels": label_array},
                  steps=["transposed"] if options.get("transpose") else [],
                  meta={"orientation": "as in the file (columns are the items)"}, **checks)


def vocabulary_file(path: Path) -> list[str]:
    """The terms of a word list, one per line (a tab ends the term, as in 10x features.tsv)."""
    with reading(f"the vocabulary {path.name!r} cannot be read", "save it as UTF-8 text, one term per line"):
        lines = path.read_bytes().decode("utf-8").splitlines()
    return [line.split("\t")[0].strip() for line in lines if line.strip()]


def stored_shape(value: np.ndarray, what: str, option: str) -> tuple[int, int]:
    """An (h, w) or (rows, cols) pair stored in a file (as integers or MATLAB doubles), checked."""
    shape = np.ravel(value)
    if (shape.size != 2 or shape.dtype.kind not in "iuf" or not np.isfinite(shape).all()
            or (shape < 1).any() or (shape != np.round(shape)).any() or (shape > MAX_EXTENT).any()):
        raise DataError(
            f"{what} is {shape.tolist()!r}, not a pair of positive whole numbers; fix it, or "
            f"pass {option}= explicitly"
        )
    return int(shape[0]), int(shape[1])


def attach_labels(dataset: Dataset, labels: Any, origin: str) -> None:
    """Offer a label vector found beside the data, when the reader has not used it."""
    if labels is not None and dataset.labels is None:
        dataset.labels = per_item(labels, dataset.shape[1], origin)
        dataset.label_options = {"labels": dataset.labels}
