"""The operator's data folder: files on the server that users may open by name.

An operator sets ``NMFCORE_DATA_DIR`` to a folder of data files (atlases too large to
upload). :func:`list_files` shows what it holds; :func:`resolve` turns a name a user
picked back into a path, refusing anything that would leave the folder (``..``,
absolute paths, symbolic links pointing outside); :func:`opens_lazily` and
:func:`check_in_memory` say how it is opened
(:func:`nmfcore.app.sources.load_source` opens it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nmfcore.data.lazy import LAZY_SUFFIXES
from nmfcore.data.limits import human

ENV_VARIABLE = "NMFCORE_DATA_DIR"
#: File suffixes listed, with the data kind each suggests (None: decided when loading).
SUFFIX_KINDS: dict[str, str | None] = {
    ".h5ad": "scrna", ".h5": "scrna", ".hdf5": "scrna", ".zarr": "scrna", ".mtx": None,
    ".npz": None, ".npy": None, ".mat": None, ".csv": None, ".tsv": None, ".txt": "text",
    ".zip": None, ".hdr": "hyperspectral", ".png": "images", ".jpg": "images",
    ".jpeg": "images", ".tif": None, ".tiff": None, ".bmp": "images", ".gif": "images",
}


@dataclass(frozen=True)
class DataFile:
    """One data file (or zarr folder) in the data folder.

    Attributes
    ----------
    name : str
        The file's name, e.g. ``"atlas.h5ad"``.
    path : str
        Its path relative to the data folder, with ``/`` separators: what
        :func:`resolve` takes back.
    size : int
        Bytes on disk (every file under a zarr folder).
    kind : str or None
        The data kind the suffix suggests ("scrna", "images", ...), None when the
        loader decides from the content.
    lazy : bool
        Whether it can be opened without loading its matrix (``.h5ad``, ``.h5``, zarr).
    """

    name: str
    path: str
    size: int
    kind: str | None
    lazy: bool


def data_dir() -> Path | None:
    """The data folder named by ``$NMFCORE_DATA_DIR``, or None when it is not set.

    Raises
    ------
    ValueError
        The variable names something that is not an existing folder.
    """
    value = os.environ.get(ENV_VARIABLE, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ValueError(f"{ENV_VARIABLE}={value!r} is not an existing folder; set it to the folder "
                         "that holds the data files, or unset it")
    return path.resolve()


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        total += sum(os.lstat(os.path.join(folder, f)).st_size for f in files)
    return total


def list_files(root: str | os.PathLike) -> list[DataFile]:
    """The supported data files under ``root``, by relative path.

    Hidden entries (names starting with ".") are skipped, zarr folders (``*.zarr``) are
    listed as one entry, and a symbolic link is listed only when it resolves inside
    ``root``; links to folders are not descended into.

    Parameters
    ----------
    root : path
        The data folder.

    Returns
    -------
    list of DataFile
        Sorted by ``path``.
    """
    base = Path(root).resolve(strict=True)
    found = []
    for folder, folders, files in os.walk(base):
        here = Path(folder)
        entries = [(name, True) for name in folders] + [(name, False) for name in files]
        descend = []
        for name, is_folder in entries:
            if name.startswith("."):
                continue
            path = here / name
            suffix = path.suffix.lower()
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except OSError:
                    continue  # a broken link or a loop
                if not _inside(target, base):
                    continue
            if is_folder and suffix != ".zarr":
                if not path.is_symlink():
                    descend.append(name)
                continue
            if suffix not in SUFFIX_KINDS or (suffix == ".zarr") != path.is_dir():
                continue
            relative = path.relative_to(base).as_posix()
            found.append(DataFile(name, relative, _size(path), SUFFIX_KINDS[suffix], opens_lazily(path)))
        folders[:] = descend
    return sorted(found, key=lambda f: f.path)


def opens_lazily(path: str | os.PathLike) -> bool:
    """Whether a data file is opened lazily (``.h5ad``, ``.h5``, zarr): its X stays on disk as a Dask array."""
    return Path(path).suffix.lower() in LAZY_SUFFIXES


def check_in_memory(path: str | os.PathLike, max_bytes: int) -> None:
    """Refuse a file that would be read whole into memory when it is larger than ``max_bytes``.

    Raises
    ------
    ValueError
        Saying how big the file is, the cap, and that an ``.h5ad`` or zarr copy opens lazily.
    """
    size = _size(Path(path))
    if size <= max_bytes:
        return
    raise ValueError(f"{Path(path).name!r} is {human(size)}, more than the {human(max_bytes)} this server reads "
                     "into memory for one session; save it as .h5ad or zarr (these open lazily, chunk by "
                     "chunk, whatever their size) or open a subset of it")


def resolve(root: str | os.PathLike, relative: str) -> Path:
    """The path of ``relative`` inside the data folder ``root``, refusing any way out of it.

    Parameters
    ----------
    root : path
        The data folder.
    relative : str
        A path relative to ``root`` (as :attr:`DataFile.path` gives it).

    Returns
    -------
    Path
        The resolved (real) path, inside ``root``.

    Raises
    ------
    ValueError
        An empty or absolute path, a ``..`` component, a path that does not exist, or
        one that leads outside ``root`` (through a symbolic link too).
    """
    if not isinstance(relative, str) or not relative.strip():
        raise ValueError(f"the data file {relative!r} is not a path; choose a file of the data folder")
    if "\x00" in relative:
        raise ValueError(f"the data file path {relative!r} contains a NUL character")
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or Path(relative).is_absolute():
        raise ValueError(f"the data file path {relative!r} is absolute; give a path relative to the data folder")
    if ".." in pure.parts:
        raise ValueError(f"the data file path {relative!r} has a '..' component; paths may not leave "
                         "the data folder")
    base = Path(root).resolve(strict=True)
    try:
        target = (base / pure).resolve(strict=True)
    except FileNotFoundError:
        raise ValueError(f"the data file {relative!r} does not exist in the data folder") from None
    except (OSError, RuntimeError) as exc:  # a symbolic link loop
        raise ValueError(f"the data file {relative!r} cannot be resolved ({exc})") from None
    if not _inside(target, base):
        raise ValueError(f"the data file {relative!r} leads outside the data folder (to {str(target)!r}); "
                         "only files inside it can be opened")
    return target
