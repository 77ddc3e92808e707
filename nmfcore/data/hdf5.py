"""HDF5 files (``.h5ad``, 10x ``.h5``, MATLAB v7.3): opened through h5py with every
dataset's claimed size and every sparse group's structure checked before a reader
(anndata, scanpy, our MATLAB reader) loads anything."""

from __future__ import annotations

import contextlib
import mmap
import struct
from collections.abc import Iterator

import h5py
import numpy as np
from h5py import h5t

from nmfcore.data.errors import MALFORMED, DataError, reading
from nmfcore.data.limits import DEFLATE_RATIO, check_claimed_size, human
from nmfcore.data.source import Source
from nmfcore.data.sparse import structure_problem

#: h5py raises RuntimeError for corrupt metadata (bad B-trees, heaps, symbol tables) and
#: TypeError for datatypes it cannot map to NumPy, besides the usual OSError and KeyError.
HDF5_ERRORS = MALFORMED + (RuntimeError, TypeError)
#: Memory per element of a variable-length string once decoded to a Python str.
_STRING_BYTES = 64
#: Type classes of the files we read: numbers, strings (fixed or variable length), enums
#: (h5py's booleans), compounds (MATLAB's complex numbers) and references (its cells).
_TYPE_CLASSES = frozenset((h5t.INTEGER, h5t.FLOAT, h5t.STRING, h5t.ENUM, h5t.COMPOUND, h5t.REFERENCE))


_SUPERBLOCK = b"\x89HDF\r\n\x1a\n"
_HEAP = b"GCOL"


@contextlib.contextmanager
def open_hdf5(source: Source, problem: str, fix: str) -> Iterator[h5py.File]:
    """Open ``source`` with h5py; any h5py failure inside the block becomes a :class:`DataError`.

    The file's global heaps are checked first (see :func:`check_global_heaps`). The
    block should hold only h5py reads and our checks (which raise DataError
    themselves), so that the conversion hides no bug of ours.
    """
    with _view(source) as view:
        check_global_heaps(view, repr(source.name))
    with reading(problem, fix, HDF5_ERRORS), source.open() as fh, h5py.File(fh, "r") as f:
        yield f


@contextlib.contextmanager
def _view(source: Source) -> Iterator[bytes | mmap.mmap]:
    if source.data is not None:
        yield source.data
        return
    with open(source.path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:  # type: ignore[arg-type]
        yield view


def _size_of_lengths(view: bytes | mmap.mmap) -> int:
    """The superblock's "size of lengths" (8 in every file h5py writes), or 8 when unreadable."""
    at = 0
    while at + 16 <= len(view) and view[at:at + 8] != _SUPERBLOCK:
        at = 512 if at == 0 else at * 2  # the superblock follows a user block of 512 * 2^k bytes
    if at + 16 > len(view):
        return 8
    version = view[at + 8]
    size = view[at + 14] if version in (0, 1) else view[at + 10]
    return size if size in (2, 4, 8) else 8


def check_global_heaps(view: bytes | mmap.mmap, what: str) -> None:
    """Refuse a global heap collection whose objects do not tile it.

    Variable-length strings (AnnData's names and encodings) live in "global heap
    collections". HDF5 (up to 2.0 at least) walks a collection's objects by their
    declared sizes and loops forever on an object header of zeros (index 0, size 0),
    which a zeroed block or a few flipped bytes produce; a size that overflows the
    collection makes it read outside its buffer. This walk mirrors HDF5's on the raw
    bytes and refuses such a collection before h5py reads anything.

    Raises
    ------
    DataError
        A collection whose next object would not advance or would run past its end.
    """
    lengths = _size_of_lengths(view)
    header = 8 + lengths  # signature, version, 3 reserved bytes, collection size
    object_header = struct.Struct("<HH4x" + {2: "H", 4: "I", 8: "Q"}[lengths])  # index, references, size
    at = view.find(_HEAP)
    while at != -1:
        if view[at + 4:at + 8] == b"\x01\x00\x00\x00" and at + header <= len(view):
            size = int.from_bytes(view[at + 8:at + header], "little")
            end = at + size
            if header <= size and end <= len(view):
                p = at + header
                while p + object_header.size <= end:
                    index, _, length = object_header.unpack_from(view, p)
                    need = object_header.size + (length + 7) // 8 * 8 if index else length
                    if need <= 0 or p + need > end:
                        raise DataError(
                            f"{what} has a corrupt HDF5 global heap (an object of {length} bytes at "
                            f"byte {p} does not fit its collection), where its text values are "
                            "stored; the file is truncated or corrupt: write it again"
                        )
                    p += need
        at = view.find(_HEAP, at + 1)


def check_datasets(f: h5py.File, what: str, limit: int, file_size: int) -> None:
    """Check every dataset's and attribute's type, and every dataset's claimed size.

    Call it before reading any value. A dataset's shape comes from its dataspace, which
    a corrupt file can inflate; h5py would allocate the claimed size (filling missing
    chunks) when a reader loads it. Each dataset must fit in the file (with up to
    :data:`DEFLATE_RATIO` times expansion when it is chunked, as compression needs), and
    all of them together in ``limit``. Types are limited to those the writers of
    AnnData, Cell Ranger and MATLAB files use: libhdf5 crashes reading a value whose
    type message a flipped byte turned into, e.g., a variable-length sequence.

    Raises
    ------
    DataError
        An unexpected type, a dataset larger than its file allows, or all datasets above
        ``limit``.
    """
    total = 0.0
    for name, item in [("/", f), *_items(f)]:
        for key in item.attrs:
            _check_type(item.attrs.get_id(key).get_type(), f"attribute {key!r} of {name!r} in {what}")
        if not isinstance(item, h5py.Dataset):
            continue
        _check_type(item.id.get_type(), f"dataset {name!r} of {what}")
        strings = item.dtype.kind == "O"
        itemsize = _STRING_BYTES if strings else max(item.dtype.itemsize, 1)
        shape = check_claimed_size(
            item.shape or (), what=f"dataset {name!r} of {what}", limit=limit,
            itemsize=itemsize, file_size=file_size, names=False,
            stored_itemsize=1 if strings else item.dtype.itemsize,
            ratio=DEFLATE_RATIO if item.chunks else 1)
        total += float(np.prod([float(s) for s in shape])) * itemsize
    if total > limit:
        raise DataError(
            f"the datasets of {what} need {human(total)} in memory together, above the limit "
            f"of {human(limit)}; subsample the data, or raise the limit with max_bytes="
        )


def _check_type(type_id: h5t.TypeID, what: str) -> None:
    if type_id.get_class() not in _TYPE_CLASSES:
        raise DataError(
            f"{what} has the HDF5 type class {type_id.get_class()}, which no AnnData, Cell "
            "Ranger or MATLAB file uses; the file is corrupt: write it again"
        )


def _items(group: h5py.Group) -> list[tuple[str, h5py.Group | h5py.Dataset]]:
    found: list[tuple[str, h5py.Group | h5py.Dataset]] = []
    group.visititems(lambda name, item: found.append((name, item)))
    return found


def dataset_names(group: h5py.Group) -> set[str]:
    """The last path component of every dataset below ``group``."""
    return {name.rsplit("/", 1)[-1] for name, item in _items(group) if isinstance(item, h5py.Dataset)}


def sparse_groups(f: h5py.File) -> list[tuple[str, h5py.Group, str]]:
    """(path, group, "csr" or "csc") of every sparse matrix anndata wrote in ``f``."""
    return [(name, item, fmt) for name, item in _items(f) if (fmt := sparse_encoding(item))]


def sparse_encoding(node: object) -> str | None:
    """"csr" or "csc" for a group holding a sparse matrix written by anndata, else None."""
    if not isinstance(node, h5py.Group):
        return None
    encoding = node.attrs.get("encoding-type", node.attrs.get("h5sparse_format", b""))
    encoding = encoding.decode("utf-8", "replace") if isinstance(encoding, bytes) else str(encoding)
    encoding = encoding.removesuffix("_matrix")
    return encoding if encoding in ("csr", "csc") else None


def check_sparse_group(group: h5py.Group, shape: tuple[int, int], fmt: str, what: str) -> None:
    """Check a sparse group's ``indptr``/``indices``/``data`` before a library builds a matrix.

    Parameters
    ----------
    group : h5py.Group
        Holding ``data``, ``indices`` and ``indptr`` datasets.
    shape : (rows, cols)
    fmt : {"csr", "csc"}
    what : str
        The matrix's owner for messages.

    Raises
    ------
    DataError
        Missing arrays, or any problem :func:`nmfcore.data.sparse.structure_problem` finds.
    """
    missing = [k for k in ("data", "indices", "indptr") if not isinstance(group.get(k), h5py.Dataset)]
    if missing:
        raise DataError(
            f"{what} is a sparse matrix without its {', '.join(missing)} array(s); the file is "
            "corrupt: write it again"
        )
    rows, cols = shape
    major, minor = (rows, cols) if fmt == "csr" else (cols, rows)
    data = group["data"]
    problem = None
    if data.ndim != 1 or data.dtype.kind not in "biuf":
        problem = f"its values are {data.dtype} of {data.ndim} dimension(s)"
    else:
        problem = structure_problem(group["indptr"][()], group["indices"][()], data.shape[0],
                                    (major, minor))
    if problem:
        raise DataError(
            f"{what} is a {rows} x {cols} sparse matrix whose structure is inconsistent: "
            f"{problem}; the file is corrupt: write it again"
        )
