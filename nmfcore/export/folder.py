"""Where a server writes chunked exports (:func:`nmfcore.export.write_chunked`), and when
they are small enough to offer for download.

An operator sets ``NMFCORE_EXPORT_DIR`` to a folder on the server (e.g. one the users
can reach by SFTP or a shared mount); without it, exports go to ``nmfcore-exports`` in
the system's temporary folder. Each export gets a new name there, so sessions never
overwrite each other's files; nothing is deleted (the folder is the operator's to clean).
"""

from __future__ import annotations

import io
import os
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nmfcore.data.dataset import Dataset
from nmfcore.export.chunked import CHUNKED_SUFFIXES, write_chunked

EXPORT_DIR_VARIABLE = "NMFCORE_EXPORT_DIR"
#: Largest export offered for download through the browser (bytes on disk); larger ones are
#: fetched from the server.
MAX_DOWNLOAD_BYTES = 200 * 2**20


def export_dir() -> Path:
    """``$NMFCORE_EXPORT_DIR``, or ``<temporary folder>/nmfcore-exports`` (created) when it is unset.

    Raises
    ------
    ValueError
        The variable names something that is not an existing folder.
    """
    value = os.environ.get(EXPORT_DIR_VARIABLE, "").strip()
    if value:
        folder = Path(value).expanduser()
        if not folder.is_dir():
            raise ValueError(f"${EXPORT_DIR_VARIABLE} is {value!r}, which is not an existing folder; "
                             "create it, or unset the variable to write exports to the temporary folder")
        return folder
    folder = Path(tempfile.gettempdir()) / "nmfcore-exports"
    folder.mkdir(exist_ok=True)
    return folder


@dataclass(frozen=True)
class WrittenExport:
    """A chunked export on the server's disk.

    Attributes
    ----------
    path : Path
        The ``.h5ad`` file or ``.zarr`` folder.
    size : int
        Bytes on disk (every file of a zarr folder).
    """

    path: Path
    size: int

    @property
    def downloadable(self) -> bool:
        """Whether it is small enough (:data:`MAX_DOWNLOAD_BYTES`) to offer for download."""
        return self.size <= MAX_DOWNLOAD_BYTES

    @property
    def download_name(self) -> str:
        """The file name of its download: a zarr folder comes as a ZIP of the folder."""
        return self.path.name + (".zip" if self.path.is_dir() else "")


def write_export(result: Any, stem: str, suffix: str, dataset: Dataset | None = None,
                 folder: str | Path | None = None) -> WrittenExport:
    """:func:`~nmfcore.export.write_chunked` to a new file ``<stem>-<8 hex digits><suffix>`` in the export folder.

    Parameters
    ----------
    result : any nmfcore result
    stem : str
        The start of the file name (letters, digits and ``_``, e.g. from the result's name).
    suffix : {".zarr", ".h5ad"}
    dataset : Dataset, optional
    folder : str or Path, optional
        Default :func:`export_dir`.

    Returns
    -------
    WrittenExport
    """
    if suffix not in CHUNKED_SUFFIXES:
        raise ValueError(f"suffix must be one of {CHUNKED_SUFFIXES}, got {suffix!r}")
    if not stem or not all(c.isalnum() or c == "_" for c in stem):
        raise ValueError(f"stem {stem!r} must be letters, digits and _ (see nmfcore.app.reproduce.file_stem)")
    target = (export_dir() if folder is None else Path(folder)) / f"{stem}-{uuid.uuid4().hex[:8]}{suffix}"
    path = write_chunked(result, target, dataset)
    files = path.rglob("*") if path.is_dir() else [path]
    return WrittenExport(path, sum(f.stat().st_size for f in files if f.is_file()))


def download_bytes(written: WrittenExport) -> bytes:
    """The bytes of an export's download: the ``.h5ad`` itself, or a ZIP of the ``.zarr`` folder.

    The ZIP holds the folder under its own name, uncompressed (zarr's chunks are
    compressed already): unzipped, ``anndata.read_zarr`` reads it.
    """
    if not written.path.is_dir():
        return written.path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for file in sorted(written.path.rglob("*")):
            if file.is_file():
                archive.write(file, Path(written.path.name) / file.relative_to(written.path))
    return buffer.getvalue()
