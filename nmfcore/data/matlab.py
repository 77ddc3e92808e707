"""MATLAB ``.mat`` files: v5 through SciPy, v7.3 (HDF5) through h5py; never pickled objects."""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np
import scipy.io
import scipy.sparse as sp

from nmfcore.data.errors import DataError
from nmfcore.data.limits import check_dense_size
from nmfcore.data.source import Source

_NUMERIC_CLASSES = {
    "double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
    "uint64", "logical", "sparse",
}


@dataclass(frozen=True)
class Variable:
    """A numeric variable of a ``.mat`` file, described without loading it.

    Attributes
    ----------
    name : str
    shape : tuple of int
        In MATLAB's orientation (rows, cols, ...).
    sparse : bool
    """

    name: str
    shape: tuple[int, ...]
    sparse: bool

    @property
    def size(self) -> int:
        """Number of entries."""
        return int(np.prod(self.shape))


class MatFile:
    """Read access to the numeric variables of a ``.mat`` file.

    Parameters
    ----------
    source : Source
    limit : int
        Memory limit in bytes; a dense variable larger than this is refused before loading.

    Raises
    ------
    DataError
        Truncated or corrupt file, or one without any numeric variable.
    """

    def __init__(self, source: Source, limit: int):
        self.source = source
        self.limit = limit
        head = source.head(128)
        self.hdf5 = len(head) >= 128 and head[124:128] in (b"\x00\x02IM", b"\x02\x00MI")
        try:
            self.variables = self._hdf5_variables() if self.hdf5 else self._v5_variables()
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - any parser failure means a bad file
            raise DataError(
                f"{source.name!r} cannot be read as a MATLAB file ({type(exc).__name__}: {exc}); "
                "it is truncated or corrupt: save it again from MATLAB (save -v7 or -v7.3)"
            ) from None
        if not self.variables:
            raise DataError(
                f"{source.name!r} holds no numeric matrix (only text, cells or structs); "
                "save the data matrix itself as a numeric variable"
            )

    def _v5_variables(self) -> dict[str, Variable]:
        with self.source.open() as fh:
            listing = scipy.io.whosmat(fh)
        return {
            name: Variable(name, tuple(int(s) for s in shape), cls == "sparse")
            for name, shape, cls in listing
            if cls in _NUMERIC_CLASSES
        }

    def _hdf5_variables(self) -> dict[str, Variable]:
        found: dict[str, Variable] = {}
        with self.source.open() as fh, h5py.File(fh, "r") as f:
            for name, item in f.items():
                cls = item.attrs.get("MATLAB_class", b"")
                cls = cls.decode() if isinstance(cls, bytes) else str(cls)
                if cls not in _NUMERIC_CLASSES:
                    continue
                if isinstance(item, h5py.Group) and "MATLAB_sparse" in item.attrs:
                    n_rows = int(item.attrs["MATLAB_sparse"])
                    n_cols = int(item["jc"].shape[0]) - 1
                    found[name] = Variable(name, (n_rows, n_cols), True)
                elif isinstance(item, h5py.Dataset) and item.dtype.kind in "biuf":
                    found[name] = Variable(name, tuple(int(s) for s in item.shape[::-1]), False)
        return found

    def load(self, name: str) -> np.ndarray | sp.csc_matrix:
        """Load variable ``name`` in MATLAB's orientation, after the memory check."""
        var = self.variables.get(name)
        if var is None:
            raise DataError(
                f"{self.source.name!r} has no numeric variable {name!r}; choose one of "
                f"{sorted(self.variables)}"
            )
        if not var.sparse:
            check_dense_size(var.shape, self.limit, f"variable {name!r} in {self.source.name!r}")
        try:
            if self.hdf5:
                return self._load_hdf5(var)
            with self.source.open() as fh:
                value = scipy.io.loadmat(fh, variable_names=[name])[name]
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - any parser failure means a bad file
            raise DataError(
                f"variable {name!r} of {self.source.name!r} cannot be read "
                f"({type(exc).__name__}: {exc}); the file is truncated or corrupt: save it again"
            ) from None
        return value

    def _load_hdf5(self, var: Variable) -> np.ndarray | sp.csc_matrix:
        with self.source.open() as fh, h5py.File(fh, "r") as f:
            item = f[var.name]
            if var.sparse:
                data = item["data"][()] if "data" in item else np.ones(item["ir"].shape)
                return sp.csc_matrix((data, item["ir"][()], item["jc"][()]), shape=var.shape)
            return np.asarray(item[()]).T

    def scalar(self, *names: str) -> float | None:
        """The value of the first of ``names`` that is a numeric scalar, else None."""
        for name in names:
            var = self.variables.get(name)
            if var is not None and var.size == 1:
                return float(np.asarray(self.load(name)).ravel()[0])
        return None

    def vector(self, length: int, *names: str) -> np.ndarray | None:
        """The first of ``names`` that is a numeric vector of ``length`` entries, else None."""
        for name in names:
            var = self.variables.get(name)
            if var is not None and not var.sparse and var.size == length and max(var.shape) == length:
                return np.asarray(self.load(name)).ravel()
        return None

    def pick(self, variable: str | None) -> tuple[str, str]:
        """Choose the data variable: ``variable`` if given, else the largest numeric one.

        Returns
        -------
        name : str
        note : str
            How the choice was made, for the data set's provenance.
        """
        if variable is not None:
            if variable not in self.variables:
                raise DataError(
                    f"variable={variable!r} is not a numeric variable of {self.source.name!r}; "
                    f"choose one of {sorted(self.variables)}"
                )
            return variable, f"variable {variable!r} (chosen by the user)"
        matrices = [v for v in self.variables.values() if len(v.shape) >= 2 and min(v.shape) > 1]
        if not matrices:
            shapes = {v.name: v.shape for v in self.variables.values()}
            raise DataError(
                f"{self.source.name!r} holds no numeric matrix, only scalars or vectors "
                f"{shapes}; save the data as a 2-D (or 3-D) numeric array"
            )
        best = max(matrices, key=lambda v: v.size)
        others = sorted(v.name for v in matrices if v.name != best.name)
        note = f"variable {best.name!r}, the largest numeric matrix"
        if others:
            note += f" (others: {others}; pass variable= to choose one)"
        return best.name, note

