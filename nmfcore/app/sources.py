"""Loading a data set from what a user interface remembers of it: a bundled sample or uploaded bytes."""

from __future__ import annotations

import io
from typing import Any, Mapping

from nmfcore.data import Dataset, load, load_sample, sample_path
from nmfcore.data.samples import sample_title


def _handles(files: list[tuple[str, bytes]]) -> Any:
    """Named in-memory files, one handle or a list, as the loader takes them."""
    handles = []
    for name, payload in files:
        handle = io.BytesIO(payload)
        handle.name = name
        handles.append(handle)
    return handles[0] if len(handles) == 1 else handles


def load_source(source: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> Dataset:
    """Load a data set from a remembered source with loader options.

    Parameters
    ----------
    source : dict
        ``{"sample": name, "kind": kind or None}`` for a bundled sample, or
        ``{"files": [(file name, bytes), ...], "kind": kind or None}`` for uploaded files.
    options : dict, optional
        Keyword arguments of :func:`nmfcore.load` (preprocessing); a sample without
        options loads as bundled, by :func:`nmfcore.load_sample`.

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
    target = sample_path(source["sample"]) if "sample" in source else _handles(source["files"])
    return load(target, kind=source.get("kind"), **options)


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
