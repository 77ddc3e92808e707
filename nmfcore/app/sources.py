"""Loading a data set from what a user interface remembers of it: a bundled sample, uploaded bytes,
or a file of the operator's data folder (:mod:`nmfcore.app.datadir`)."""

from __future__ import annotations

import importlib.machinery
import io
import logging
import sys
from typing import Any, Mapping

from nmfcore.app.datadir import ENV_VARIABLE, check_in_memory, data_dir, opens_lazily, resolve
from nmfcore.data import Dataset, DataError, load, load_sample, sample_path
from nmfcore.data.isolated import load_isolated
from nmfcore.data.samples import sample_title

_LOG = logging.getLogger(__name__)


def _handles(files: list[tuple[str, bytes]]) -> Any:
    """Named in-memory files, one handle or a list, as the loader takes them."""
    handles = []
    for name, payload in files:
        handle = io.BytesIO(payload)
        handle.name = name
        handles.append(handle)
    return handles[0] if len(handles) == 1 else handles


def _main_without_path() -> None:
    """Keep a parser process from running the app's script before it parses.

    Streamlit runs the app as a stand-in ``__main__`` module with a ``__file__`` and no
    ``__spec__``; a multiprocessing child re-runs such a ``__main__`` from its path first
    (seconds of page code, in bare mode). A ``__spec__`` named ``__main__`` tells the
    child there is nothing to re-import. Each run installs a new stand-in, so this is
    done before every parse.
    """
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None and hasattr(main, "__file__"):
        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)


def load_source(source: Mapping[str, Any], options: Mapping[str, Any] | None = None, *,
                max_file_bytes: int | None = None) -> Dataset:
    """Load a data set from a remembered source with loader options.

    Parameters
    ----------
    source : dict
        ``{"sample": name, "kind": kind or None}`` for a bundled sample,
        ``{"files": [(file name, bytes), ...], "kind": kind or None}`` for uploaded files,
        or ``{"datadir": relative path, "kind": kind or None}`` for a file of the data
        folder ``$NMFCORE_DATA_DIR`` (:func:`nmfcore.app.datadir.list_files` lists them).
    options : dict, optional
        Keyword arguments of :func:`nmfcore.load` (preprocessing); a sample without
        options loads as bundled, by :func:`nmfcore.load_sample`. Uploaded files, and
        data-folder files that do not open lazily, are parsed in a separate process with
        memory and time limits (:func:`nmfcore.data.isolated.load_isolated`). A
        data-folder ``.h5ad``, ``.h5`` or zarr store opens lazily
        (``nmfcore.load(path, lazy=True)``: X a Dask array, nothing read yet; it takes
        no preprocessing options).
    max_file_bytes : int, optional
        Size above which a data-folder file that would be read whole is refused
        (the server's upload cap).

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        (:class:`nmfcore.data.DataError` among them) from the loader, with its fix in the
        message; for a data-folder path that leaves the folder or does not exist, or a
        file over ``max_file_bytes``.
    """
    options = dict(options or {})
    if "sample" in source and not options:
        return load_sample(source["sample"])
    if "sample" in source:
        return load(sample_path(source["sample"]), kind=source.get("kind"), **options)
    if "datadir" in source:
        root = data_dir()
        if root is None:
            raise DataError(f"this server has no data folder ({ENV_VARIABLE} is not set); upload the file instead")
        path = resolve(root, source["datadir"])
        if opens_lazily(path):
            return load(str(path), kind=source.get("kind"), lazy=True, **options)
        if max_file_bytes is not None:
            check_in_memory(path, max_file_bytes)
        parse: Any = str(path)
        names = source["datadir"]
    else:
        parse = _handles(source["files"])
        names = ", ".join(name for name, _ in source["files"])
    _main_without_path()
    try:  # files are parsed in a child process: a parser crash costs this file, not the server
        return load_isolated(parse, kind=source.get("kind"), **options)
    except RuntimeError as exc:  # a bug the child reported with its traceback: log it, tell the user
        _LOG.error("parsing %s failed: %s", names, exc)
        raise DataError(f"{names} could not be read: the parser failed on it ({str(exc).splitlines()[0]}); "
                        "check the file, or save it again from the program that made it") from exc


def lazy_summary(ds: Dataset) -> dict[str, Any]:
    """What the Data page states about a lazy data set, from its headers only (X is not read).

    Parameters
    ----------
    ds : Dataset
        ``ds.X`` a Dask array (:func:`nmfcore.data.lazy.open_lazy`).

    Returns
    -------
    dict
        ``shape`` (m, n); ``sparse``; ``zeros`` the share of zero entries of sparse
        storage (None for dense storage: unknown until read); ``n_chunks``,
        ``chunk_items`` and ``chunk_bytes`` of the chunking.
    """
    m, n = ds.shape
    nnz = ds.meta.get("nnz")
    chunking = ds.meta.get("chunking") or {}
    sparse = ds.is_sparse
    return {"shape": (m, n), "sparse": sparse, "zeros": 1 - nnz / (m * n) if sparse and nnz is not None else None,
            "n_chunks": int(ds.X.numblocks[1]), "chunk_items": int(max(ds.X.chunks[1])),
            "chunk_bytes": chunking.get("chunk_bytes")}


def source_label(source: Mapping[str, Any]) -> str:
    """A short name of a source: ``"sample faces"``, ``"upload a.png, b.png, c.png…"`` or ``"data folder atlas.h5ad"``."""
    if "sample" in source:
        return f"sample {source['sample']}"
    if "datadir" in source:
        return f"data folder {source['datadir']}"
    names = [name for name, _ in source["files"]]
    return "upload " + ", ".join(names[:3]) + ("…" if len(names) > 3 else "")


def source_title(source: Mapping[str, Any]) -> str:
    """How a source is named for a person: a sample's title with its size, else :func:`source_label`.

    E.g. ``"Faces (LFW, 100 images of 25 × 25 pixels)"`` or ``"upload cells.h5ad"``.
    """
    return sample_title(source["sample"]) if "sample" in source else source_label(source)
