"""Initial factors of a chunked fit, computed chunk by chunk.

"random" draws W as :func:`nmfcore.initialize` does and each H block from its own seed
(so the factors depend on the seed and on the chunking). The NNDSVD variants need the
leading singular triplets of X: a randomized range finder (Halko, Martinsson & Tropp
2011) over the chunks, where every pass sums m x k products (the first, X_b Ω_b, in
the fit's statistics pass, see :func:`plan_sketch`; then X_b (X_bᵀ Q)) and the chunks
keep their k x n_b blocks in the fit's dtype; sparse chunks are never densified. The
singular vectors then go through NNDSVD's positive and negative parts as in
:mod:`nmfcore.classic.init`, W on the client and each H block on its chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from nmfcore.classic.init import OVERSAMPLE, check_custom_init, flip_signs
from nmfcore.data.lazy_checks import is_lazy_array
from nmfcore.distributed.chunk_tasks import Prep, prepared

#: Power iterations of the chunked randomized SVD. One is enough for a start point
#: (without it the loss was 11 % higher three iterations later on the atlas benchmark),
#: and each costs a pass over X; the in-memory start takes 6.
POWER_ITERATIONS = 1
#: Entries below this are zero in NNDSVD's factors (as in nmfcore.classic.init).
ZERO_BELOW = 1e-12


@dataclass(frozen=True)
class SketchPlan:
    """The first sketch Y = X Ω of the randomized SVD, taken in the statistics pass.

    Attributes
    ----------
    k : int
        Sketch columns (rank + :data:`OVERSAMPLE`, at most min(m, n)).
    seeds : list of int
        One per chunk: Ω's block of rows for that chunk's items.
    """

    k: int
    seeds: list[int]


def plan_sketch(init: Any, rank: int, shape: tuple[int, int], n_chunks: int,
                rng: np.random.Generator) -> SketchPlan | None:
    """The sketch an NNDSVD start needs from the first pass, or None for other starts."""
    if not (isinstance(init, str) and init.startswith("nndsvd")):
        return None
    seeds = [int(s) for s in rng.integers(0, 2**63 - 1, size=n_chunks)]
    return SketchPlan(min(rank + OVERSAMPLE, *shape), seeds)


def _sketched(chunk: Any, seed: int, stats: Callable[..., tuple[Any, tuple]], k: int, *args: Any) -> tuple[Any, tuple]:
    """``stats(chunk, *args)`` with X_b Ω_b (m x k, raw units) appended to its summed part."""
    kept, part = stats(chunk, *args)
    omega = np.random.default_rng(seed).standard_normal((chunk.shape[1], k))
    return kept, (*part, np.asarray(chunk @ omega, dtype=np.float64))


def statistics_pass(backend: Any, stats: Callable[..., tuple[Any, tuple]], args: tuple,
                    plan: SketchPlan | None) -> tuple[list[Any], tuple, np.ndarray | None]:
    """The fit's first pass, ``stats(chunk, *args)`` on X's raw chunks, with the start's sketch if ``plan`` asks.

    ``stats`` returns a per-chunk value and a tuple of parts to sum. Returns the
    per-chunk values, the summed parts, and X Ω (m x k, raw units) or None.
    """
    if plan is None:
        (kept,), part = backend.run_pass(stats, [], args, 1, data="raw")
        return kept, part, None
    (kept,), (*part, sketch) = backend.run_pass(_sketched, [plan.seeds], (stats, plan.k, *args), 1, data="raw")
    return kept, tuple(part), sketch


def random_block(seed: int, shape: tuple[int, int], scale: float, dtype: np.dtype) -> np.ndarray:
    """``scale`` times uniform [0, 1) entries, from ``seed``."""
    return (scale * np.random.default_rng(seed).random(shape)).astype(dtype, copy=False)


def _power(chunk: Any, Q: np.ndarray, prep: Prep) -> tuple[np.ndarray]:
    X = prepared(chunk, prep).X
    return (np.asarray(X @ np.asarray(X.T @ Q)),)


def _project(chunk: Any, Q: np.ndarray, prep: Prep) -> tuple[np.ndarray, np.ndarray]:
    """(Qᵀ X_b (k x n_b) in the fit's dtype, its Gram matrix in float64)."""
    B = np.asarray((prepared(chunk, prep).X.T @ Q).T)
    return B.astype(prep.dtype, copy=False), B @ B.T


def _right_vectors(B: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """V_bᵀ = rotation B_b (r x n_b), in float64, the first row as |v₁| (its sign is arbitrary)."""
    Vt = rotation @ B
    Vt[0] = np.abs(Vt[0])
    return Vt


def _part_norms(B: np.ndarray, rotation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared norms of the positive and negative parts of each row of V_bᵀ."""
    Vt = _right_vectors(B, rotation)
    return np.square(np.maximum(Vt, 0)).sum(axis=1), np.square(np.maximum(-Vt, 0)).sum(axis=1)


def _nndsvd_block(
    B: np.ndarray, seed: int, rotation: np.ndarray, coefficients: np.ndarray, negative: np.ndarray, fill: str,
    fill_value: float, dtype: np.dtype,
) -> np.ndarray:
    """H_b of NNDSVD: row j is coefficients[j] times the chosen part of Vᵀ's row j, zeros filled."""
    Vt = _right_vectors(B, rotation)
    H = np.where(negative[:, None], np.maximum(-Vt, 0), np.maximum(Vt, 0)) * coefficients[:, None]
    H[H < ZERO_BELOW] = 0
    zeros = H == 0
    if fill == "nndsvda":
        H[zeros] = fill_value
    elif fill == "nndsvdar":
        H[zeros] = fill_value / 100 * np.random.default_rng(seed).random(int(zeros.sum()))
    return H.astype(dtype, copy=False)


def chunked_svd(backend: Any, rank: int, prep: Prep, scale: float,
                sketch: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Any], np.ndarray]:
    """Top-``rank`` singular triplets of X = s (X / s), by a randomized range finder over the chunks.

    Parameters
    ----------
    sketch : ndarray, shape (m, k)
        X Ω in X's units, from the statistics pass (:func:`statistics_pass`).

    Returns
    -------
    U : ndarray, shape (m, r)
        Signs flipped so that each column's largest entry is positive.
    S : ndarray, shape (r,)
        Singular values of X (``scale`` = s times those of X / s).
    B : list
        The blocks Qᵀ X_b / s (k x n_b, the fit's dtype), kept where their chunks are.
    rotation : ndarray, shape (r, k)
        Vᵀ's block b is ``rotation @ B[b]``.
    """
    Q = np.linalg.qr(sketch)[0]
    for _ in range(POWER_ITERATIONS):
        _, (Y,) = backend.run_pass(_power, [], (Q, prep), 0)
        Q = np.linalg.qr(Y)[0]
    (B,), G = backend.run_pass(_project, [], (Q, prep), 1)
    evals, vecs = np.linalg.eigh(G)
    order = np.argsort(evals)[::-1][:rank]
    S = np.sqrt(np.maximum(evals[order], 0.0))
    vecs = vecs[:, order]
    U = Q @ vecs
    signs = flip_signs(U)
    U *= signs
    rotation = (vecs * signs).T / np.where(S > 0, S, 1.0)[:, None]
    return U, S * scale, B, rotation


def nndsvd(backend: Any, shape: tuple[int, int], rank: int, variant: str, prep: Prep, mean: float,
           rng: np.random.Generator, dtype: np.dtype, sketch: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """NNDSVD (``variant`` "nndsvd", "nndsvda" or "nndsvdar") of X: W (m, r) and the H blocks, in X's units.

    Vᵀ is never kept: its blocks are formed from B's twice, once for the norms of their
    positive and negative parts and once for H, so that the start holds B and H only.
    """
    scale = 1.0 / prep.inv_scale
    U, S, B, rotation = chunked_svd(backend, rank, prep, scale, sketch)
    _, (pos2, neg2) = backend.run_pass(_part_norms, [B], (rotation,), 0, data=None)
    m = shape[0]
    W = np.zeros((m, rank))
    coefficients = np.zeros(rank)
    negative = np.zeros(rank, dtype=bool)
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    coefficients[0] = np.sqrt(S[0])
    for j in range(1, rank):
        x = U[:, j]
        xp, xn = np.maximum(x, 0), np.maximum(-x, 0)
        xpn, xnn = np.linalg.norm(xp), np.linalg.norm(xn)
        ypn, ynn = np.sqrt(pos2[j]), np.sqrt(neg2[j])
        if xpn * ypn >= xnn * ynn:
            u, norm_v, sigma = xp / max(xpn, 1e-300), max(ypn, 1e-300), xpn * ypn
        else:
            u, norm_v, sigma, negative[j] = xn / max(xnn, 1e-300), max(ynn, 1e-300), xnn * ynn, True
        weight = np.sqrt(S[j] * sigma)
        W[:, j] = weight * u
        coefficients[j] = weight / norm_v
    W[W < ZERO_BELOW] = 0
    seeds = [int(s) for s in rng.integers(0, 2**63 - 1, size=backend.n_chunks)]
    if variant == "nndsvda":
        W[W == 0] = mean
    elif variant == "nndsvdar":
        W[W == 0] = mean / 100 * rng.random(int((W == 0).sum()))
    H = backend.map_blocks(_nndsvd_block, [B, seeds], (rotation, coefficients, negative, variant, mean, dtype))
    return W.astype(dtype, copy=False), H


def start_point(backend: Any, X: Any, rank: int, init: Any, chosen: str, rng: np.random.Generator, s: float,
                prep: Prep, x_sum: float, sketch: np.ndarray | None = None) -> tuple[np.ndarray, list[Any], str]:
    """W and the H blocks of the start point in the fit's units (/ √s), lifted off zero for MU.

    ``sketch`` is X Ω from the statistics pass, for the NNDSVD variants (:func:`statistics_pass`).
    """
    m, n = X.shape
    dtype = prep.dtype
    mean = x_sum / (m * n)
    widths = [int(c) for c in X.chunks[1]]
    if isinstance(init, str):
        if init == "random":
            scale = 2.0 * np.sqrt(mean / rank)
            W = (scale * rng.random((m, rank))).astype(dtype, copy=False)
            seeds = [int(v) for v in rng.integers(0, 2**63 - 1, size=len(widths))]
            H = backend.map_blocks(random_block, [seeds, [(rank, w) for w in widths]], (scale, dtype))
        else:
            W, H = nndsvd(backend, (m, n), rank, init, prep, mean, rng, dtype, sketch)
        init_param = init
    else:
        H0 = init[1]
        if is_lazy_array(H0):
            H0 = H0.compute()
        W, H0 = check_custom_init((init[0], H0), (m, n), rank, dtype)
        bounds = np.concatenate([[0], np.cumsum(widths)])
        H = backend.put_blocks([H0[:, bounds[b]:bounds[b + 1]] for b in range(len(widths))])
        init_param = "custom"
    W = W.copy()
    tiny = float(np.finfo(dtype).eps) if chosen != "hals" else None
    if tiny is not None:  # MU cannot move an exact zero
        np.maximum(W, tiny, out=W)
    W /= np.sqrt(s)
    H = backend.map_blocks(start_block, [H], (tiny, float(np.sqrt(s))))
    return W, H, init_param


def start_block(H: np.ndarray, tiny: float | None, root: float) -> np.ndarray:
    """An H block of the start point in the fit's units: lifted to ``tiny`` (MU), divided by √s."""
    out = np.array(H)
    if tiny is not None:
        np.maximum(out, tiny, out=out)
    out /= root
    return out
