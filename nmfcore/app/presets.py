"""Default model parameters per kind of data, for a user interface.

A family's starting point is its registry entry (:mod:`nmfcore.models`): its
``defaults`` and ``fixed`` keyword arguments. This module adds what depends on the
data: the ranks, β, and a few budgets. The adjustments follow the source papers where
they say something: the KL divergence for counts and text, the deep β-NMF paper's
ranks [80, 40, 20] for faces and [4, 2] for hyperspectral scenes, the pNMF paper's
rank ⌈√n⌉ for single cells. Ranks are clipped so that every family accepts them.
"""

from __future__ import annotations

import math
from typing import Any

from nmfcore.models import APP_FAMILIES, get
from nmfcore.utils.validation import check_choice

KINDS = ("images", "text", "hyperspectral", "scrna", "matrix")
FAMILIES = APP_FAMILIES

_NMF_RANK = {"images": 16, "text": 8, "hyperspectral": 4, "scrna": 10, "matrix": 5}
_DEEP_RANKS = {
    "images": [80, 40, 20],
    "text": [12, 6, 3],
    "hyperspectral": [4, 2],
    "scrna": [12, 6],
    "matrix": [6, 3],
}
_BETA = {"images": 2.0, "text": 1.0, "hyperspectral": 1.0, "scrna": 1.0, "matrix": 2.0}
# minimum-volume steps cost seconds per iteration on wide layers: fewer iterations
# except on hyperspectral scenes, the model's own setting
_MIN_VOLUME_ITER = 20
_MIN_VOLUME_WEIGHT = 0.1


def _clip_ranks(ranks: list[int], limit: int) -> list[int]:
    """Keep a strictly decreasing list of ranks below ``limit`` (at least one rank)."""
    out: list[int] = []
    for r in ranks:
        r = min(r, limit if not out else out[-1] - 1)
        if r >= 1:
            out.append(r)
    return out or [1]


def _rank(kind: str, family: str, n: int, limit: int, n_endmembers: int | None) -> int:
    rank = min(_NMF_RANK[kind], limit)
    if kind == "hyperspectral" and n_endmembers:
        rank = min(int(n_endmembers), limit)
    if family == "pnmf":
        rank = math.ceil(math.sqrt(n)) if kind == "scrna" else min(rank, 2 if kind == "matrix" else rank)
    return min(rank, limit)


def _ranks(kind: str, limit: int, n_endmembers: int | None) -> list[int]:
    ranks = list(_DEEP_RANKS[kind])
    if kind == "hyperspectral" and n_endmembers:
        ranks = [int(n_endmembers), 2]
    return _clip_ranks(ranks, limit)


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
        A name of :data:`nmfcore.models.APP_FAMILIES`.
    n_endmembers : int, optional
        Known number of materials of a hyperspectral sample; sets the first rank.

    Returns
    -------
    dict
        Keyword arguments in the vocabulary of the family's function: ``rank`` or
        ``ranks`` first, then the registry's ``defaults`` and ``fixed`` with the
        per-kind adjustments (β, the number of neighbours, minimum-volume weights
        and budgets).
    """
    kind = check_choice(kind, "kind", KINDS)
    entry = get(check_choice(family, "family", FAMILIES))
    m, n = (int(s) for s in shape)
    limit = max(1, min(m, n) - 1) if min(m, n) > 1 else 1
    if entry.rank_keyword == "ranks":
        params: dict[str, Any] = {"ranks": _ranks(kind, limit, n_endmembers)}
    else:
        params = {"rank": _rank(kind, entry.name, n, limit, n_endmembers)}
    params.update(entry.defaults)
    if "beta" in entry.defaults:
        params["beta"] = _BETA[kind]
    params.update(entry.fixed)
    if "n_neighbors" in params:
        params["n_neighbors"] = min(params["n_neighbors"], max(1, n - 1))
    if entry.name == "min_vol_deep_nmf":
        params["min_volume"] = [_MIN_VOLUME_WEIGHT] * len(params["ranks"])
        if kind != "hyperspectral":
            params["init_iter"] = params["max_iter"] = _MIN_VOLUME_ITER
    return params
