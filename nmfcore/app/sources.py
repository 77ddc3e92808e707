"""Loading a data set from what a user interface remembers of it: a bundled sample or uploaded bytes."""

from __future__ import annotations

import importlib.machinery
import io
import logging
import sys
from typing import Any, Mapping

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


def load_source(source: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> Dataset:
    """Load a data set from a remembered source with loader options.

    Parameters
    ----------
    source : dict
        ``{"sample": name, "kind": kind or None}`` for a bundled sample, or
        ``{"files": [(file name, bytes), ...], "kind": kind or None}`` for uploaded files.
    options : dict, optional
        Keyword arguments of :func:`nmfcore.load` (preprocessing); a sample without
        options loads as bundled, by :func:`nmfcore.load_sample`. Uploaded files are
        parsed in a separate process with memory and time limits
        (:func:`nmfcore.data.isolated.load_isolated`).

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        (:class:`nmfcore.data.DataError` among them) from the loader, with its fix in the message.
    """
    options = dict(options or {})
    if "sample" in source and not options:
        return load_sample(source["sample"])
    if "sample" in source:
        return load(sample_path(source["sample"]), kind=source.get("kind"), **options)
    _main_without_path()
    try:  # uploads are parsed in a child process: a parser crash costs this upload, not the server
        return load_isolated(_handles(source["files"]), kind=source.get("kind"), **options)
    except RuntimeError as exc:  # a bug the child reported with its traceback: log it, tell the user
        _LOG.error("parsing an upload failed: %s", exc)
        names = ", ".join(name for name, _ in source["files"])
        raise DataError(f"{names} could not be read: the parser failed on it ({str(exc).splitlines()[0]}); "
                        "check the file, or save it again from the program that made it") from exc


def source_label(source: Mapping[str, Any]) -> str:
    """A short name of a source: ``"sample faces"`` or ``"upload a.png, b.png, c.png…"``."""
    if "sample" in source:
        return f"sample {source['sample']}"
    names = [name for name, _ in source["files"]]
    return "upload " + ", ".join(names[:3]) + ("…" if len(names) > 3 else "")


def source_title(source: Mapping[str, Any]) -> str:
    """How a source is named for a person: a sample's title with its size, else :func:`source_label`.

    E.g. ``"Faces (LFW, 100 images of 25 × 25 pixels)"`` or ``"upload cells.h5ad"``.
    """
    return sample_title(source["sample"]) if "sample" in source else source_label(source)
