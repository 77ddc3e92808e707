"""Default model parameters per kind of data, for a user interface.

The defaults follow the source papers where they say something: the KL divergence
for counts and text, the deep β-NMF paper's ranks [80, 40, 20] for faces and
[4, 2] for hyperspectral scenes, the pNMF paper's rank ⌈√n⌉ and λ = (1, 1, 1) for
single cells. Ranks are clipped so that every family accepts them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nmfcore.utils.validation import check_choice

KINDS = ("images", "text", "hyperspectral", "scrna", "matrix")
FAMILIES = ("nmf", "deep_nmf", "min_vol_deep_nmf", "gnmf", "pnmf")

_NMF_RANK = {"images": 16, "text": 8, "hyperspectral": 4, "scrna": 10, "matrix": 5}
_DEEP_RANKS = {
    "images": [80, 40, 20],
    "text": [12, 6, 3],
    "hyperspectral": [4, 2],
    "scrna": [12, 6],
    "matrix": [6, 3],
}
_BETA = {"images": 2.0, "text": 1.0, "hyperspectral": 1.0, "scrna": 1.0, "matrix": 2.0}


def _clip_ranks(ranks: list[int], limit: int) -> list[int]:
    """Keep a strictly decreasing list of ranks below ``limit`` (at least one rank)."""
    out: list[int] = []
    for r in ranks:
        r = min(r, limit if not out else out[-1] - 1)
        if r >= 1:
            out.append(r)
    return out or [1]


def default_params(
    kind: str,
    shape: tuple[int, int],
    family: str,
    *,
    n_endmembers: int | None = None,
) -> dict[str, Any]:
    """Sensible starting parameters of a model family for a kind of data.

    Parameters
    ----------
    kind : {"images", "text", "hyperspectral", "scrna", "matrix"}
    shape : (m, n)
        Shape of X (features x items).
    family : {"nmf", "deep_nmf", "min_vol_deep_nmf", "gnmf", "pnmf"}
    n_endmembers : int, optional
        Known number of materials of a hyperspectral sample; sets the first rank.

    Returns
    -------
    dict
        Keyword arguments in the vocabulary of the family's function:
        ``rank`` or ``ranks``, ``beta``, iteration counts, and the family's
        own knobs (``min_volume``, ``lam``, ``lambdas``, ``n_scales``).
    """
    kind = check_choice(kind, "kind", KINDS)
    family = check_choice(family, "family", FAMILIES)
    m, n = (int(s) for s in shape)
    limit = max(1, min(m, n) - 1) if min(m, n) > 1 else 1
    rank = min(_NMF_RANK[kind], limit)
    if kind == "hyperspectral" and n_endmembers:
        rank = min(int(n_endmembers), limit)
    beta = _BETA[kind]

    if family == "nmf":
        return {"rank": rank, "beta": beta, "solver": "auto", "init": "nndsvda", "max_iter": 200,
                "tol": 1e-4, "alpha_W": 0.0, "alpha_H": 0.0, "l1_ratio": 0.0}
    if family in ("deep_nmf", "min_vol_deep_nmf"):
        ranks = list(_DEEP_RANKS[kind])
        if kind == "hyperspectral" and n_endmembers:
            ranks = [int(n_endmembers), 2]
        ranks = _clip_ranks(ranks, limit)
        params: dict[str, Any] = {"ranks": ranks, "beta": 1.0 if family == "min_vol_deep_nmf" else beta,
                                  "init_iter": 100, "max_iter": 100}
        if family == "min_vol_deep_nmf":
            params["min_volume"] = [0.1] * len(ranks)
            if kind != "hyperspectral":  # its volume steps cost seconds per iteration on wide layers
                params["init_iter"] = params["max_iter"] = 20
        return params
    if family == "gnmf":
        return {"rank": rank, "lam": 1.0, "n_neighbors": min(8, max(1, n - 1)), "max_iter": 200}
    pnmf_rank = math.ceil(math.sqrt(n)) if kind == "scrna" else min(rank, 2 if kind == "matrix" else rank)
    return {"rank": min(pnmf_rank, limit), "lambdas": (1.0, 1.0, 1.0), "n_scales": 10, "max_sweeps": 10}


def _literal(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return repr(value.tolist()) if value.size <= 20 else "..."  # long arrays are not inlined
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_literal(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    return repr(value)


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
        initialisation) are written as ``...`` with a comment.
    """
    if "model" not in params:
        raise ValueError("params has no 'model' key; pass the params of an nmfcore result")
    import inspect

    import nmfcore

    model = str(params["model"])
    args = {k: v for k, v in params.items() if k != "model"}
    function = getattr(nmfcore, model, None)
    lines = ["import nmfcore", "", f"data = {data_call}"]
    if function is not None:
        accepted = inspect.signature(function).parameters
        notes = {k: args.pop(k) for k in list(args) if k not in accepted}
        if notes:
            lines.append("# recorded with the result, not arguments: "
                         + ", ".join(f"{k}={_literal(v)}" for k, v in notes.items()))
    call = [f"result = nmfcore.{model}(", "    data.X.toarray()," if densify else "    data.X,"]
    for key, value in args.items():
        text = _literal(value)
        note = "  # arrays of the original run; load them to reproduce exactly" if "..." in text else ""
        call.append(f"    {key}={text},{note}")
    call.append(")")
    lines += call + ["for layer in result.layers():", "    print(layer.name, layer.W.shape, layer.H.shape)"]
    return "\n".join(lines) + "\n"
