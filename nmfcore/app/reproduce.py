"""Python that reproduces a session's fit: the call that loads its data and the call that fits it."""

from __future__ import annotations

import inspect
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

from nmfcore.models import FAMILIES

UNKNOWN_DATA = 'nmfcore.load("your_data_file")'


def data_call(source: Mapping[str, Any] | None, options: Mapping[str, Any] | None = None) -> str:
    """Expression that loads a data set again, as it was loaded in the app.

    Parameters
    ----------
    source : dict or None
        Where the data came from: ``{"sample": name, "kind": ...}`` for a bundled sample,
        ``{"files": [(file name, bytes), ...], "kind": ...}`` for an upload; None when
        it is not known (then a placeholder call is returned).
    options : dict, optional
        Loader options it was loaded with (preprocessing).

    Returns
    -------
    str
        E.g. ``'nmfcore.load_sample("faces")'`` or
        ``"nmfcore.load('cells.h5ad', kind='scrna', n_top_genes=60)"``.
    """
    if not source:
        return UNKNOWN_DATA
    options = dict(options or {})
    if "sample" in source and not options:
        return f'nmfcore.load_sample("{source["sample"]}")'
    if "sample" in source:
        target = f'nmfcore.data.sample_path("{source["sample"]}")'
    else:
        files = [name for name, _ in source["files"]]
        target = repr(files[0] if len(files) == 1 else files)
    if source.get("kind"):
        options = {"kind": source["kind"], **options}
    extra = "".join(f", {key}={value!r}" for key, value in options.items())
    return f"nmfcore.load({target}{extra})"


def file_stem(name: str) -> str:
    """A file-name stem from a result's name: letters and digits kept, the rest ``_``, lower case."""
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower() or "result"


def needs_dense_copy(params: Mapping[str, Any], X: Any) -> bool:
    """Whether rerunning a fit must pass ``X.toarray()``: its family is ``dense_only`` and X is sparse.

    Parameters
    ----------
    params : mapping
        The result's ``params``; an unknown ``"model"`` needs no copy.
    X : ndarray, sparse matrix or None
        The data it is rerun on (None when unknown).
    """
    family = FAMILIES.get(params.get("model"))
    return family is not None and family.dense_only and sp.issparse(X)


def _literal(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return repr(value.tolist()) if value.size <= 20 else "..."  # long arrays are not inlined
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_literal(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    return repr(value)


def _auto_solver(beta: float, masked: bool) -> str:
    """What ``nmf(..., solver="auto")`` runs (see :func:`nmfcore.nmf`); tested against it."""
    if beta == 2 and not masked:
        return "hals"
    return "relaxed-mu" if 1 <= beta <= 2 else "mu"


def _notes(model: str, params: Mapping[str, Any], recorded: Mapping[str, Any]) -> list[str]:
    """Plain-words comments for the snippet: the solver that ran, and what the result records besides arguments."""
    lines = []
    masked = bool(params.get("masked", False))
    if model == "nmf" and "solver" in params and "beta" in params:
        solver, beta = params["solver"], float(params["beta"])
        auto = _auto_solver(beta, masked)
        condition = f"for β = {beta:g} {'with' if masked else 'without'} a mask"
        if solver == auto:
            lines.append(f"solver={solver!r} is what ran: the one solver='auto' (the default) chooses {condition}")
        else:
            lines.append(f"solver={solver!r} is what ran, as asked (solver='auto' would choose {auto!r} {condition})")
    for key, value in recorded.items():
        if key == "masked":
            lines.append("mask: the fit used a mask of missing entries; pass the same mask=... to reproduce it"
                         if value else "mask: none was used (every entry of X counted)")
        else:
            lines.append(f"also recorded with the result, not an argument of nmfcore.{model}: {key}={_literal(value)}")
    return lines


def python_snippet(params: dict[str, Any], data_call: str, *, densify: bool = False) -> str:
    """Python code that reruns a fit with ``nmfcore``.

    Parameters
    ----------
    params : dict
        A result's ``params``: the ``"model"`` name (the nmfcore function) and its
        keyword arguments.
    data_call : str
        Expression that loads the data set, e.g. ``'nmfcore.load_sample("faces")'``.
    densify : bool
        Pass ``data.X.toarray()`` (deep NMF of sparse data runs on a dense copy).

    Returns
    -------
    str
        A short script; arguments that are large arrays (such as a custom
        initialisation) are written as ``...`` with a comment. Comments say in plain
        words which solver ran and why (for NMF) and what ``params`` records that the
        registry's fit function does not take (``masked``: whether a mask was used).
    """
    if "model" not in params:
        raise ValueError("params has no 'model' key; pass the params of an nmfcore result")
    model = str(params["model"])
    args = {k: v for k, v in params.items() if k != "model"}
    lines = ["import nmfcore", "", f"data = {data_call}"]
    family = FAMILIES.get(model)
    if family is not None:
        accepted = inspect.signature(family.fit).parameters
        notes = {k: args.pop(k) for k in list(args) if k not in accepted}
        lines += [f"# {line}" for line in _notes(model, params, notes)]
    call = [f"result = nmfcore.{model}(", "    data.X.toarray()," if densify else "    data.X,"]
    for key, value in args.items():
        text = _literal(value)
        note = "  # arrays of the original run; load them to reproduce exactly" if "..." in text else ""
        call.append(f"    {key}={text},{note}")
    call.append(")")
    lines += call + ["for layer in result.layers():", "    print(layer.name, layer.W.shape, layer.H.shape)"]
    return "\n".join(lines) + "\n"
