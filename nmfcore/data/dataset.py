"""The :class:`Dataset` container that every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.data.lazy_checks import is_lazy_array, lazy_problem
from nmfcore.data.sparse import structure_problem

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
    def is_lazy(self) -> bool:
        """True when ``X`` is a Dask array read chunk by chunk (:func:`nmfcore.data.lazy.open_lazy`)."""
        return is_lazy_array(self.X)

    @property
    def is_sparse(self) -> bool:
        """True when ``X`` is a SciPy sparse matrix, or lazy with sparse chunks."""
        if self.is_lazy:
            from dask.array.utils import meta_from_array

            return sp.issparse(meta_from_array(self.X))
        return sp.issparse(self.X)

    def check(self) -> "Dataset":
        """Check the invariants every loader guarantees, and return the data set.

        ``X`` is a 2-D float32/float64 array or CSR matrix with a valid structure, its
        entries finite and nonnegative; names, labels, annotations and wavelengths have
        one entry per feature or item; ``image_shape`` and ``spatial_shape`` multiply to
        the number of features and items.

        Raises
        ------
        ValueError
            Naming the first invariant that does not hold (a bug in whatever built the
            data set, never a property of a user's file).
        """
        problem = self._problem()
        if problem:
            raise ValueError(f"Dataset invariant broken: {problem}")
        return self

    def _problem(self) -> str | None:
        if self.kind not in KINDS:
            return f"kind {self.kind!r} is not one of {KINDS}"
        X = self.X
        if is_lazy_array(X):
            problem = lazy_problem(X)
            if problem:
                return problem
            values = np.zeros(0, X.dtype)  # a lazy X's values are checked per chunk, as read
        elif sp.issparse(X):
            if X.format != "csr":
                return f"X is a sparse {X.format} matrix, not CSR"
            problem = structure_problem(X.indptr, X.indices, X.data.size, X.shape)
            if problem:
                return f"X's sparse structure is inconsistent: {problem}"
            values = X.data
        elif isinstance(X, np.ndarray):
            values = X
        else:
            return f"X is a {type(X).__name__}, not an ndarray or CSR matrix"
        if X.ndim != 2 or min(X.shape) < 1:
            return f"X has shape {X.shape}, not a non-empty 2-D matrix"
        if X.dtype not in (np.float32, np.float64):
            return f"X has dtype {X.dtype}, not float32 or float64"
        if values.size:
            # min and max propagate NaN, so two passes check finiteness without a temporary
            low, high = values.min(), values.max()
            if not (np.isfinite(low) and np.isfinite(high)):
                return "X has NaN or infinite entries"
            if low < 0:
                return f"X has negative entries (minimum {float(low):g})"
        m, n = X.shape
        per_item = {"item_names": self.item_names, "labels": self.labels,
                    **{f"label_options[{k!r}]": v for k, v in self.label_options.items()}}
        per_feature = {"feature_names": self.feature_names, "wavelengths": self.wavelengths}
        for count, axis, arrays in ((n, "items", per_item), (m, "features", per_feature)):
            for name, array in arrays.items():
                if array is not None and np.shape(array) != (count,):
                    return f"{name} has shape {np.shape(array)} but there are {count} {axis}"
        for name, shape, count in (("image_shape", self.image_shape, m),
                                   ("spatial_shape", self.spatial_shape, n)):
            if shape is not None and (len(shape) != 2 or int(np.prod(shape)) != count):
                return f"{name} {shape} does not multiply to {count}"
        if not isinstance(self.meta, dict):
            return "meta is not a dict"
        return None

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
        if self.is_lazy:
            storage = f"lazy, {self.X.numblocks[1]} chunks of items" + (
                f", {self.meta['nnz']} non-zeros" if "nnz" in self.meta else "")
        else:
            storage = f"sparse, {self.X.nnz} non-zeros" if self.is_sparse else "dense"
        return f"{self.kind}: {m} features x {n} items ({storage}); {self.meta.get('detected', '')}".rstrip("; ")
