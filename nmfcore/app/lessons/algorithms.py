"""Lesson 4, algorithms: MU against HALS, why MU cannot leave zero, the effect of the initialisation."""

from __future__ import annotations

from typing import Any

import numpy as np

from nmfcore.classic import initialize, nmf
from nmfcore.results import NMFResult


def solver_curves(X: np.ndarray, rank: int, max_iter: int = 100, seed: int = 0) -> dict[str, NMFResult]:
    """MU, relaxed MU and HALS on the Frobenius loss from the same random start.

    Returns
    -------
    dict
        ``{"MU": result, "relaxed MU": result, "HALS": result}``; ``loss`` and
        ``times`` give the curves against iteration and against seconds.
    """
    W0, H0 = initialize(X, rank, "random", np.random.default_rng(seed))
    return {
        name: nmf(X, rank, beta=2, solver=solver, init=(W0, H0), max_iter=max_iter, tol=0.0)
        for name, solver in (("MU", "mu"), ("relaxed MU", "relaxed-mu"), ("HALS", "hals"))
    }


def solver_race(X: np.ndarray, rank: int, max_iter: int = 100, seed: int = 0) -> dict[str, Any]:
    """:func:`solver_curves` as plain arrays, with the ratio of MU's final loss to HALS's.

    Returns
    -------
    dict
        ``curves`` mapping each solver to ``(loss, times)``, both of shape
        (max_iter + 1,); ``mu_over_hals`` the final loss of MU over that of HALS.
    """
    results = solver_curves(X, rank, max_iter, seed)
    return {
        "curves": {name: (r.loss, r.times) for name, r in results.items()},
        "mu_over_hals": float(results["MU"].loss[-1] / results["HALS"].loss[-1]),
    }


def zero_entry_trace(n_iter: int = 50, seed: int = 0) -> dict[str, np.ndarray]:
    """Value of one coefficient started at exactly 0, iteration by iteration, under MU and HALS.

    The data are exact, X = W H with H[0, 0] = 1, so the optimum needs that
    entry positive. MU multiplies an entry by a ratio, so a zero (or the tiny
    floor the solver keeps) stays there; HALS sets each row by an exact
    minimisation and moves it at once.

    Returns
    -------
    dict
        ``{"MU": trace, "HALS": trace, "target": 1.0}``, traces of shape (n_iter,).
    """
    rng = np.random.default_rng(seed)
    W, H = rng.random((8, 2)) + 0.1, rng.random((2, 12)) + 0.1
    H[0, 0] = 1.0
    X = W @ H
    W0, H0 = rng.random((8, 2)) + 0.1, rng.random((2, 12)) + 0.1
    H0[0, 0] = 0.0
    traces: dict[str, Any] = {"target": 1.0}
    for name, solver in (("MU", "mu"), ("HALS", "hals")):
        trace: list[float] = []
        nmf(X, 2, solver=solver, init=(W0, H0), max_iter=n_iter, tol=0.0,
            callback=lambda i, W, H, loss: trace.append(float(H[0, 0])))
        traces[name] = np.array(trace)
    return traces


def init_curves(
    X: np.ndarray, rank: int, solver: str = "mu", max_iter: int = 100, seed: int = 0
) -> dict[str, NMFResult]:
    """The same solver from each initialisation: random, NNDSVD, NNDSVDa, NNDSVDar."""
    return {
        init: nmf(X, rank, solver=solver, init=init, max_iter=max_iter, tol=0.0, random_state=seed)
        for init in ("random", "nndsvd", "nndsvda", "nndsvdar")
        if not (solver == "mu" and init == "nndsvd")
    }


def _number(value: float) -> str:
    """Four significant digits, always positional: ``1,913``, ``30,280``, ``1.235``, never ``3.028e+04``."""
    text = np.format_float_positional(float(value), precision=4, unique=False, fractional=False, trim="-")
    return f"{int(text):,}" if "." not in text and abs(int(text)) >= 1000 else text


def init_remark(losses: dict[str, np.ndarray]) -> str | None:
    """A sentence on where NNDSVDa and random start, after one iteration, and where they end.

    Parameters
    ----------
    losses : mapping init -> ndarray, shape (k,)
        Loss histories with at least two entries, e.g. from :func:`init_curves`.

    Returns
    -------
    str or None
        None when either run is missing.
    """
    if "nndsvda" not in losses or "random" not in losses:
        return None
    a, r = np.asarray(losses["nndsvda"]), np.asarray(losses["random"])
    if a.size < 2 or r.size < 2:
        return None
    return (f"Here NNDSVDa starts at {_number(a[0])} against {_number(r[0])} for random, is at "
            f"{_number(a[1])} after one iteration (random: {_number(r[1])}), and they end at "
            f"{_number(a[-1])} and {_number(r[-1])}.")


def init_table(losses: dict[str, np.ndarray]) -> dict[str, list[str]]:
    """Loss at the start and at the end of each initialisation's run, as text with 4 digits.

    Every entry is written the same way (positional, thousands separated), so that
    starts of very different sizes read side by side.

    Parameters
    ----------
    losses : mapping init -> ndarray, shape (k,)
        Loss histories, e.g. the ``loss`` of each :func:`init_curves` result.

    Returns
    -------
    dict
        Columns ``init``, ``loss at start`` and ``loss at the end``.
    """
    return {"init": list(losses),
            "loss at start": [_number(v[0]) for v in losses.values()],
            "loss at the end": [_number(v[-1]) for v in losses.values()]}
