"""MATLAB ``.mat`` files: v5 through SciPy, v7.3 (HDF5) through h5py; never pickled objects."""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np
import scipy.io
import scipy.sparse as sp

from nmfcore.data.errors import MALFORMED, DataError, reading
from nmfcore.data.hdf5 import check_datasets, open_hdf5
from nmfcore.data.limits import DEFLATE_RATIO, check_claimed_size
from nmfcore.data.matv5 import check_variable
from nmfcore.data.source import Source
from nmfcore.data.sparse import checked_csr, checked_sparse

_NUMERIC_CLASSES = {
    "double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
    "uint64", "logical", "sparse",
}
_CLASS_BYTES = {"double": 8, "single": 4, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2,
                "int32": 4, "uint32": 4, "int64": 8, "uint64": 8, "logical": 1}
#: scipy.io's MATLAB reader raises MatReadError, and TypeError or NotImplementedError for
#: element types and layouts it cannot decode, besides the usual malformed-input errors.
_MAT_ERRORS = MALFORMED + (scipy.io.matlab.MatReadError, TypeError, NotImplementedError)


@dataclass(frozen=True)
class Variable:
    """A numeric variable of a ``.mat`` file, described without loading it.

    Attributes
    ----------
    name : str
    shape : tuple of int
        In MATLAB's orientation (rows, cols, ...).
    sparse : bool
    cls : str
        MATLAB class, e.g. "double" or "uint16".
    """

    name: str
    shape: tuple[int, ...]
    sparse: bool
    cls: str = "double"

    @property
    def size(self) -> int:
        """Number of entries."""
        return int(np.prod([float(s) for s in self.shape]))


class MatFile:
    """Read access to the numeric variables of a ``.mat`` file.

    Parameters
    ----------
    source : Source
    limit : int
        Memory limit in bytes; a variable whose claimed size is larger than this, or than
        the file can hold, is refused before loading.

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
        if self.hdf5:
            self.variables = self._hdf5_variables()
        else:
            with reading(*self._failure()):
                self.variables = self._v5_variables()
        if not self.variables:
            raise DataError(
                f"{source.name!r} holds no numeric matrix (only text, cells or structs); "
                "save the data matrix itself as a numeric variable"
            )

    def _failure(self, name: str | None = None) -> tuple[str, str, tuple[type[BaseException], ...]]:
        """(problem, fix, exception types) for :func:`reading` around the MATLAB parsers."""
        if name is None:
            problem = f"{self.source.name!r} cannot be read as a MATLAB file"
            fix = "it is truncated or corrupt: save it again from MATLAB (save -v7 or -v7.3)"
        else:
            problem = f"variable {name!r} of {self.source.name!r} cannot be read"
            fix = "the file is truncated or corrupt: save it again"
        return problem, fix, _MAT_ERRORS

    def _v5_variables(self) -> dict[str, Variable]:
        with self.source.open() as fh:
            check_variable(fh, None, repr(self.source.name))
            fh.seek(0)
            listing = scipy.io.whosmat(fh)
        return {
            name: Variable(name, tuple(int(s) for s in shape), cls == "sparse", cls)
            for name, shape, cls in listing
            if cls in _NUMERIC_CLASSES
        }

    def _hdf5_variables(self) -> dict[str, Variable]:
        found: dict[str, Variable] = {}
        with open_hdf5(self.source, *self._failure()[:2]) as f:
            check_datasets(f, repr(self.source.name), self.limit, self.source.size)
            for name, item in f.items():
                cls = item.attrs.get("MATLAB_class", b"")
                cls = cls.decode("utf-8", "replace") if isinstance(cls, bytes) else str(cls)
                if cls not in _NUMERIC_CLASSES:
                    continue
                if isinstance(item, h5py.Group) and "MATLAB_sparse" in item.attrs:
                    jc = item.get("jc")
                    if not isinstance(jc, h5py.Dataset) or jc.ndim != 1 or jc.shape[0] < 1:
                        raise DataError(
                            f"sparse variable {name!r} of {self.source.name!r} has no column "
                            "pointers (jc); the file is corrupt: save it again"
                        )
                    n_rows = np.ravel(item.attrs["MATLAB_sparse"])
                    if n_rows.size != 1 or n_rows.dtype.kind not in "iu":
                        raise DataError(
                            f"sparse variable {name!r} of {self.source.name!r} declares "
                            f"{n_rows.tolist()!r} rows; the file is corrupt: save it again"
                        )
                    found[name] = Variable(name, (int(n_rows[0]), int(jc.shape[0]) - 1), True, cls)
                elif isinstance(item, h5py.Dataset) and item.dtype.kind in "biuf":
                    found[name] = Variable(name, tuple(int(s) for s in item.shape[::-1]), False, cls)
        return found

    def load(self, name: str) -> np.ndarray | sp.csr_matrix:
        """Load variable ``name`` in MATLAB's orientation, after the size checks.

        Returns
        -------
        ndarray, or csr_matrix for a sparse variable (its structure checked).
        """
        var = self.variables.get(name)
        if var is None:
            raise DataError(
                f"{self.source.name!r} has no numeric variable {name!r}; choose one of "
                f"{sorted(self.variables)}"
            )
        what = f"variable {name!r} in {self.source.name!r}"
        # a v7.3 file's datasets were checked against the file when it was opened
        file_size = None if self.hdf5 else self.source.size
        check_claimed_size(var.shape, what=what, limit=self.limit, nnz=0 if var.sparse else None,
                           file_size=None if var.sparse else file_size, ratio=DEFLATE_RATIO,
                           stored_itemsize=_CLASS_BYTES.get(var.cls, 1))
        if self.hdf5:
            with open_hdf5(self.source, *self._failure(name)[:2]) as f:
                value = self._load_hdf5(f, var, what)
        else:
            with self.source.open() as fh:
                check_variable(fh, name, what)
            with reading(*self._failure(name)), self.source.open() as fh:
                value = scipy.io.loadmat(fh, variable_names=[name])[name]
        if sp.issparse(value):
            value = checked_sparse(value, what=what)
            check_claimed_size(var.shape, what=what, limit=self.limit, nnz=value.nnz)
        return value

    def _load_hdf5(self, f: h5py.File, var: Variable, what: str) -> np.ndarray | sp.csr_matrix:
        item = f[var.name]
        if var.sparse:
            ir, jc = item["ir"][()] if "ir" in item else np.zeros(0, dtype=np.int64), item["jc"][()]
            data = item["data"][()] if "data" in item else np.ones(ir.shape)
            return checked_csr(data, ir, jc, var.shape, what=what, fmt="csc")
        return np.asarray(item[()]).T

    def scalar(self, *names: str) -> float | None:
        """The value of the first of ``names`` that is a real numeric scalar, else None."""
        for name in names:
            var = self.variables.get(name)
            if var is not None and var.size == 1 and not var.sparse:
                value = np.asarray(self.load(name)).ravel()
                if value.size == 1 and value.dtype.kind in "biuf":
                    return float(value[0])
        return None

    def vector(self, length: int, *names: str) -> np.ndarray | None:
        """The first of ``names`` that is a real numeric vector of ``length`` entries, else None."""
        for name in names:
            var = self.variables.get(name)
            if var is not None and not var.sparse and var.size == length and max(var.shape) == length:
                value = np.asarray(self.load(name)).ravel()
                if value.size == length and value.dtype.kind in "biuf":
                    return value
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

