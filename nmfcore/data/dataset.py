"""The :class:`Dataset` container that every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

KINDS = ("images", "text", "hyperspectral", "scrna", "matrix")


@dataclass
class Dataset:
    """A nonnegative data matrix with the names and shapes needed to show its factors.

    Attributes
    ----------
    X : ndarray or scipy.sparse.csr_matrix, shape (m, n)
        Nonnegative data; the n columns are the items (images, documents, pixels, cells)
        and the m rows the features (pixels of an image, words, bands, genes).
    kind : str
        One of "images", "text", "hyperspectral", "scrna", "matrix".
    feature_names : ndarray of str, shape (m,)
        Words, genes, band wavelengths or pixel positions.
    item_names : ndarray of str, shape (n,)
        File names, document names, pixel positions or cell barcodes.
    image_shape : tuple (h, w) or None
        For images: ``X[:, j].reshape(image_shape)`` (C order) is image j, and a basis
        column ``W[:, k]`` is drawn the same way.
    spatial_shape : tuple (rows, cols) or None
        For a hyperspectral scene: ``H[k].reshape(spatial_shape)`` (C order) is the
        abundance map of factor k.
    labels : ndarray, shape (n,), or None
        An optional class per item.
    label_options : dict of str to ndarray, shape (n,) each
        Every per-item annotation that can serve as ``labels`` (e.g. AnnData ``obs``
        columns); see :meth:`with_labels`.
    wavelengths : ndarray, shape (m,), or None
        Band centres for hyperspectral data, when the file gives them.
    meta : dict
        Provenance: the source, the detected format and kind and why, the
        preprocessing steps in order, and the original orientation.
    """

    X: np.ndarray | sp.csr_matrix
    kind: str
    feature_names: np.ndarray
    item_names: np.ndarray
    image_shape: tuple[int, int] | None = None
    spatial_shape: tuple[int, int] | None = None
    labels: np.ndarray | None = None
    label_options: dict[str, np.ndarray] = field(default_factory=dict)
    wavelengths: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """(m, n): features x items."""
        return tuple(int(s) for s in self.X.shape)  # type: ignore[return-value]

    @property
    def is_sparse(self) -> bool:
        """True when ``X`` is a SciPy sparse matrix."""
        return sp.issparse(self.X)

    def with_labels(self, name: str | None) -> "Dataset":
        """A copy whose ``labels`` are ``label_options[name]`` (None removes them).

        Raises
        ------
        ValueError
            When ``name`` is not a key of ``label_options``.
        """
        if name is None:
            return replace(self, labels=None)
        if name not in self.label_options:
            raise ValueError(
                f"label column {name!r} is not available; choose one of "
                f"{sorted(self.label_options) or 'none (this data set has no annotations)'}"
            )
        return replace(self, labels=self.label_options[name], meta={**self.meta, "labels": name})

    def summary(self) -> str:
        """One line describing the data set, e.g. for the app's sidebar."""
        m, n = self.shape
        storage = f"sparse, {self.X.nnz} non-zeros" if self.is_sparse else "dense"
        return f"{self.kind}: {m} features x {n} items ({storage}); {self.meta.get('detected', '')}".rstrip("; ")
