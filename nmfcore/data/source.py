"""Uniform access to a path, bytes or an uploaded file, and format sniffing.

A :class:`Source` knows a file's name and can hand out its bytes, a binary
file object or a real path (for libraries that need one), whichever way the
user supplied it.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from nmfcore.data.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif")
SUPPORTED_SUFFIXES = IMAGE_SUFFIXES + (
    ".zip", ".npy", ".npz", ".mat", ".csv", ".tsv", ".txt", ".mtx", ".h5ad", ".h5",
    ".hdf5", ".hdr",
)

_MAGIC = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "bmp": (b"BM",),
    "tiff": (b"II*\x00", b"MM\x00*"),
    "zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "npy": (b"\x93NUMPY",),
    "hdf5": (b"\x89HDF\r\n\x1a\n",),
    "mat": (b"MATLAB",),
    "mtx": (b"%%MatrixMarket", b"%%matrixmarket"),
    "envi": (b"ENVI",),
}

_SUFFIX_FORMAT = {
    ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".bmp": "bmp",
    ".tif": "tiff", ".tiff": "tiff", ".zip": "zip", ".npz": "zip", ".npy": "npy",
    ".h5ad": "hdf5", ".h5": "hdf5", ".hdf5": "hdf5", ".mat": "mat", ".mtx": "mtx",
    ".hdr": "envi", ".csv": "text", ".tsv": "text", ".txt": "text",
}


@dataclass
class Source:
    """A file to load, however it was supplied.

    Attributes
    ----------
    name : str
        File name (used for the extension and in messages).
    path : Path or None
        Location on disk, when the source is a path.
    data : bytes or None
        The file's content, when the source came as bytes or an upload.
    within : str or None
        The archive holding it, for a member of a ZIP.
    """

    name: str
    path: Path | None = None
    data: bytes | None = None
    within: str | None = None

    @property
    def label(self) -> str:
        """How messages name the file, e.g. ``"'a.png' in 'faces.zip'"``."""
        return repr(self.name) + (f" in {self.within!r}" if self.within else "")

    @property
    def suffix(self) -> str:
        """Lower-case extension with the dot, e.g. ``".mat"``."""
        return Path(self.name).suffix.lower()

    @property
    def size(self) -> int:
        """Size in bytes."""
        if self.data is not None:
            return len(self.data)
        return self.path.stat().st_size  # type: ignore[union-attr]

    def head(self, n: int = 1024) -> bytes:
        """The first ``n`` bytes."""
        if self.data is not None:
            return self.data[:n]
        with open(self.path, "rb") as fh:  # type: ignore[arg-type]
            return fh.read(n)

    def read(self) -> bytes:
        """The whole content."""
        if self.data is not None:
            return self.data
        return self.path.read_bytes()  # type: ignore[union-attr]

    def open(self) -> BinaryIO:
        """A binary file object positioned at the start.

        Its ``read(n)`` never asks for more than the bytes left: parsers call it with
        sizes read from the file, and a file object allocates the ``n`` asked for.
        """
        if self.data is not None:
            return io.BytesIO(self.data)
        return _BoundedFile(self.path, "rb")  # type: ignore[arg-type]

    @contextlib.contextmanager
    def as_path(self) -> Iterator[Path]:
        """A real path to the content; a temporary copy for in-memory sources."""
        if self.path is not None:
            yield self.path
            return
        with tempfile.TemporaryDirectory(prefix="nmfcore-") as folder:
            path = Path(folder) / Path(self.name).name
            path.write_bytes(self.data)  # type: ignore[arg-type]
            yield path


class _BoundedFile(io.FileIO):
    """A file whose ``read(n)`` is capped at what is left (``FileIO`` allocates ``n`` first)."""

    def __init__(self, path: Path, mode: str = "rb"):
        super().__init__(path, mode)
        self._size = os.fstat(self.fileno()).st_size

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size > 0:
            size = min(size, max(self._size - self.tell(), 0))
        return super().read(size)


def as_source(source: Any, name: str | None = None) -> Source:
    """Wrap a path, bytes or file-like object (e.g. a Streamlit upload) as a :class:`Source`.

    Parameters
    ----------
    source : str, os.PathLike, bytes or file-like with ``read()``/``getvalue()``
    name : str, optional
        File name to use for bytes, or to override a file-like object's name.

    Returns
    -------
    Source

    Raises
    ------
    DataError
        Missing file, a folder, an empty file, or an object that is none of the above.
    """
    if isinstance(source, Source):
        result = source
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise DataError(f"file {str(path)!r} does not exist; check the path")
        if path.is_dir():
            raise DataError(
                f"{str(path)!r} is a folder; pass one file, or a ZIP of the folder's files"
            )
        result = Source(name or path.name, path=path)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        result = Source(name or "upload", data=bytes(source))
    elif hasattr(source, "getvalue") or hasattr(source, "read"):
        raw = source.getvalue() if hasattr(source, "getvalue") else source.read()
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        label = name or getattr(source, "name", None) or "upload"
        result = Source(Path(str(label)).name, data=bytes(raw))
    else:
        raise DataError(
            f"cannot load an object of type {type(source).__name__}; pass a file path, "
            "bytes, or an uploaded file object"
        )
    if result.size == 0:
        raise DataError(f"{result.name!r} is empty (0 bytes); choose a file that has data in it")
    return result


def sniff(head: bytes) -> str | None:
    """Name the container format from a file's first bytes, or None for plain text/unknown.

    Returns one of "png", "jpeg", "gif", "bmp", "tiff", "zip", "npy", "hdf5", "mat",
    "mtx", "envi", or None.
    """
    for fmt, magics in _MAGIC.items():
        if any(head.startswith(m) for m in magics):
            return fmt
    return None


def detect_format(source: Source) -> str:
    """Decide a source's format from its extension and check its content agrees.

    Returns
    -------
    str
        One of "png", "jpeg", "gif", "bmp", "tiff", "zip", "npy", "npz", "hdf5",
        "mat", "mtx", "envi", "text".

    Raises
    ------
    DataError
        Unknown extension, or content that does not match the extension.
    """
    suffix = source.suffix
    head = source.head(1024)
    found = sniff(head)
    expected = _SUFFIX_FORMAT.get(suffix)
    if expected is None:
        hint = f" (its content looks like {found.upper()})" if found else ""
        raise DataError(
            f"{source.label} has the extension {suffix or '(none)'!r}, which is not a supported "
            f"format{hint}; use one of {', '.join(SUPPORTED_SUFFIXES)}, or rename the file "
            "to its real extension"
        )
    if expected == "text":
        if found is not None or b"\x00" in head:
            raise DataError(
                f"{source.label} should be plain text ({suffix}) but it is binary"
                + (f" ({found.upper()} content)" if found else "")
                + "; save it as comma- or tab-separated text, or rename it to its real extension"
            )
        return "text"
    if expected == "envi":
        return "envi"
    if found != expected:
        what = f"{found.upper()} data" if found else "not recognisable"
        raise DataError(
            f"{source.label} is named {suffix} but its content is {what}; the file may be "
            f"truncated, corrupt or misnamed: re-export it, or rename it to its real extension"
        )
    if suffix == ".npz":
        return "npz"
    return found
