"""Checks of a MATLAB v5 variable's data elements before SciPy's compiled reader reads them.

``scipy.io.loadmat`` looks up each data element's type code in a fixed table of 20
entries without a bounds check (``VarReader5.read_numeric``), so a flipped type byte
makes it read a wild pointer and crash the interpreter. :func:`check_variable` walks
the variable's elements the way SciPy does and refuses any type code SciPy cannot read.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

from nmfcore.data.errors import DataError

_MATRIX, _COMPRESSED = 14, 15
#: The type codes that SciPy's numeric reader has a dtype for: int8..uint32, single,
#: double, int64, uint64 and the UTF-8/16/32 codes.
NUMERIC_TYPES = frozenset((1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 16, 17, 18))
_NUMERIC_CLASSES = frozenset(range(6, 16))  # mxDOUBLE_CLASS .. mxUINT64_CLASS
_SPARSE_CLASS = 5
_OPAQUE_CLASS = 17
#: MATLAB names are at most 63 characters (namelengthmax); far longer is a corrupt header.
MAX_NAME = 4096
_CHUNK = 1 << 16


class _Elements:
    """Sequential reads from one top-level element of a file, decompressing an
    miCOMPRESSED element lazily, so that memory stays at one chunk whatever the size."""

    def __init__(self, fh: BinaryIO, count: int, compressed: bool, order: str):
        self.order = order
        self._fh = fh
        self._left = count  # input bytes of the element not read from the file yet
        self._inflate = zlib.decompressobj() if compressed else None
        self._buffer = b""

    def read(self, n: int) -> bytes:
        if self._inflate is None:
            data = self._fh.read(min(n, self._left))
            self._left -= len(data)
        else:
            while len(self._buffer) < n and (self._left or self._inflate.unconsumed_tail):
                chunk = self._inflate.unconsumed_tail or self._fh.read(min(_CHUNK, self._left))
                if not self._inflate.unconsumed_tail:
                    self._left -= len(chunk)
                    if not chunk:
                        self._left = 0
                self._buffer += self._inflate.decompress(chunk, _CHUNK)
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        if len(data) < n:
            raise DataError("ends inside an element")
        return data

    def skip(self, n: int) -> None:
        if self._inflate is None and n <= self._left:
            self._fh.seek(n, 1)
            self._left -= n
            return
        while n > 0:
            step = min(n, _CHUNK)
            self.read(step)
            n -= step

    def finish(self) -> None:
        """Move the file to the end of this element."""
        self._fh.seek(self._left, 1)
        self._left = 0

    def tag(self) -> tuple[int, int, bytes | None]:
        """(type code, byte count, data of a small element or None) of the next element."""
        word = self.read(8)
        first, second = struct.unpack(self.order + "II", word)
        if first >> 16:  # small data element: type and count in one word, data in the other
            return first & 0xFFFF, first >> 16, word[4:4 + (first >> 16)]
        return first, second, None

    def data(self, count: int, small: bytes | None) -> bytes:
        """The data of an element whose tag was just read."""
        if small is not None:
            return small
        data = self.read(count)
        self.skip(-count % 8)
        return data

    def element(self) -> int:
        """Read past the next element; return its type code."""
        code, count, small = self.tag()
        if small is None:
            self.skip(count + (-count % 8))
        return code


def check_variable(fh: BinaryIO, name: str | None, what: str) -> None:
    """Check the headers SciPy reads to list the variables, and the data elements it would
    read for variable ``name``.

    Parameters
    ----------
    fh : binary file
        The .mat file, positioned anywhere.
    name : str or None
        A variable listed by ``scipy.io.whosmat`` (numeric or sparse class); None checks
        only the headers of every variable, as ``whosmat`` reads them.
    what : str
        The variable's (or file's) owner for messages.

    Raises
    ------
    DataError
        A variable name longer than any MATLAB writes (SciPy allocates what the header
        says), a data element of an unknown type, or an element that ends early.
    """
    fh.seek(0)
    header = fh.read(128)
    order = ">" if header[126:128] == b"MI" else "<"
    while True:
        top = fh.read(8)
        if len(top) < 8:
            return  # the end: scipy.io reports a missing variable itself
        code, count = struct.unpack(order + "II", top)
        if code not in (_MATRIX, _COMPRESSED):
            fh.seek(count, 1)
            continue
        elements = _Elements(fh, count, code == _COMPRESSED, order)
        try:
            if code == _MATRIX:
                found = _read_matrix(elements, name, _MATRIX)
            else:
                found = _read_matrix(elements, name, elements.tag()[0])
        except (DataError, zlib.error, struct.error) as exc:
            problem = str(exc) if isinstance(exc, DataError) else f"is corrupt ({exc})"
            raise DataError(
                f"{what} {problem}; the file is truncated or corrupt: save it again"
            ) from None
        if found:
            return
        elements.finish()


def _read_matrix(elements: _Elements, name: str | None, code: int) -> bool:
    """Check the matrix element (whose tag was read) if it is variable ``name``; return
    whether it was."""
    if code != _MATRIX:
        return False
    elements.read(8)  # the array flags' tag, which scipy.io reads without looking at it
    flags, _ = struct.unpack(elements.order + "II", elements.read(8))
    if flags & 0xFF != _OPAQUE_CLASS:  # scipy.io reads no dimensions for opaque objects
        elements.element()  # dimensions: scipy.io checks their type and size
    _, name_count, small = elements.tag()
    if small is None and name_count > MAX_NAME:
        raise DataError(f"declares a variable name of {name_count} bytes")
    if name is None or elements.data(name_count, small).decode("latin1") != name:
        return False
    mclass, complex_ = flags & 0xFF, bool(flags >> 11 & 1)
    if mclass in _NUMERIC_CLASSES:
        parts = ["real part", "imaginary part"][: 2 if complex_ else 1]
    elif mclass == _SPARSE_CLASS:
        parts = ["row indices", "column pointers", "values"] + (["imaginary values"] if complex_ else [])
    else:
        raise DataError(f"has the MATLAB class code {mclass}, not that of a numeric or sparse array")
    for part in parts:
        code = elements.element()
        if code not in NUMERIC_TYPES:
            raise DataError(f"stores its {part} with the unknown element type {code}")
    return True
