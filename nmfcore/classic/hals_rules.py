"""HALS for Frobenius NMF (β = 2) as rules on one tile of the data.

HALS is exact block coordinate descent on the factors (Cichocki & Phan 2009):
each column of H minimises ½ hᵀ(WᵀW)h − (WᵀX)ᵀh (+ penalty) over h ≥ 0, one
coordinate at a time, and likewise each row of W with X Hᵀ and H Hᵀ. Once the
products exist the sweeps are cheap, so they repeat while they make progress
(Gillis & Glineur 2012), in the compiled kernels of :mod:`nmfcore.classic._kernels`.

Over column blocks X = [X_1 … X_B] (blocks of items), per iteration:

- H: :func:`hals_h_update` of block b needs W, X_b and WᵀW (r x r, formed once
  from W and sent to every block); it returns H_b H_bᵀ (r x r) of the new H_b and
  which rows of H_b are non-zero.
- W: :func:`~nmfcore.classic.blocks.cross_product` gives X_b H_bᵀ (m x r); the
  sums C = Σ_b X_b H_bᵀ and G = Σ_b H_b H_bᵀ go to :func:`hals_w_update`, which
  may itself run over row blocks of W (rows of C). Nothing else moves.
- Loss: :func:`~nmfcore.classic.blocks.frobenius_loss` of ‖X‖² (Σ_b ‖X_b‖²),
  ⟨W, C⟩, WᵀW and G: no product with X.

A row of H that is zero in every block is set to eps, so the factor can recover,
and the blocks' H_b H_bᵀ are then formed again from the revived H_b; a column of
W that is zero likewise (:func:`revive_dead_factors`).

The NumPy solver (:class:`nmfcore.classic.hals.HALSSolver`) runs the H rule over
column blocks and the W rule over row blocks of a dense X on its threads, and
adds extrapolation on top.
"""

from __future__ import annotations

import numpy as np

from nmfcore.classic._kernels import hals_columns, hals_sweeps
from nmfcore.classic.blocks import DataBlock, scratch, transposed_cross_product
from nmfcore.classic.penalty import Penalty

# Gillis & Glineur's rule: at most 1 + α ρ inner sweeps, where ρ is the flop cost
# of forming the products relative to one sweep, stopping once a sweep changes the
# factor by less than δ times the first sweep's change. They suggest α = 0.5, for
# sweeps as fast per flop as the products; ours run at about half BLAS's rate. On
# CBCL (benchmarks/bench_nmf.py, four starts) α = 0.07 (1 sweep on H, at most 4 on
# W) keeps an iteration within 1.4x of its products and reaches scikit-learn's
# 200-iteration loss in 0.63 s; α = 0.12 (2 and 7 sweeps) gets there in 0.52 s
# with iterations 1.8x their products.
SWEEP_ALPHA = 0.07
SWEEP_DELTA = 0.1


def sweep_budget(m: int, n: int, r: int, alpha: float = SWEEP_ALPHA) -> tuple[int, int]:
    """Most inner sweeps per update of H and of W, by Gillis & Glineur's rule.

    Parameters
    ----------
    m, n : int
        Shape of the whole X (the products' cost is what the sweeps amortise).
    r : int
        Rank.

    Returns
    -------
    sweeps_H, sweeps_W : int
    """
    sweeps_H = 1 + int(alpha * (1 + (m * n + n * r) / (n * (r + 1))))
    sweeps_W = 1 + int(alpha * (1 + (m * n + m * r) / (m * (r + 1))))
    return sweeps_H, sweeps_W


def hals_h_update(
    block: DataBlock,
    W: np.ndarray,
    H: np.ndarray,
    WtW: np.ndarray,
    penalty: Penalty,
    n_sweeps: int,
    *,
    start: np.ndarray | None = None,
    previous: np.ndarray | None = None,
    extrapolation: float = 0.0,
    out: np.ndarray | None = None,
    work: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """HALS sweeps on the columns of H_t with W fixed, for a column block X_t.

    The block forms its own Wᵀ X_t (a strided column block of a C-ordered X is
    read in place by BLAS) and keeps it in cache for its sweeps. The early stop
    is decided per tile of ``HALS_TILE`` = 64 columns from the block's first
    column, so with ``n_sweeps`` > 1 blocks reproduce the one-block iterate
    exactly (to rounding) when every block but the last has a multiple of 64
    columns; otherwise a column may take one sweep more or fewer (still a
    descent step).

    Parameters
    ----------
    block : DataBlock, shape (m, n_t)
        A column block of X (all rows).
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n_t)
        Receives the result; without ``start`` it is also the start point.
    WtW : ndarray, shape (r, r)
        Wᵀ W (the same for every block).
    penalty : Penalty
        Elastic-net penalty on H.
    n_sweeps : int
        Most sweeps; they stop early once one moves H_t by less than
        :data:`SWEEP_DELTA` times the first.
    start : ndarray, shape (r, n_t), optional
        Where the sweeps start, if not from H.
    previous : ndarray, shape (r, n_t), optional
        The previous iterate, for extrapolation.
    extrapolation : float
        With ``extrapolation`` > 0, ``out`` receives max(H + extrapolation (H − previous), 0),
        computed while each tile of H is in cache.
    out : ndarray, shape (r, n_t), optional
        Needed with ``extrapolation`` > 0.
    work : dict, optional
        Scratch arrays kept across calls (one dict per block).

    Returns
    -------
    gram : ndarray, shape (r, r)
        F Fᵀ of the result F (``out`` when extrapolating, else H): this block's part
        of H Hᵀ for the W update. It may live in ``work``.
    alive : ndarray of bool, shape (r,)
        Which rows of H_t are not all zero; a row dead in every block is to be
        set to eps (and ``gram`` formed again).
    """
    start = H if start is None else start
    target = out if extrapolation else H
    if target is None:
        raise ValueError("extrapolation needs out= for the extrapolated point")
    r, n_t = H.shape
    R = transposed_cross_product(block, W, out=scratch(work, "R", (r, n_t), H.dtype))
    R -= np.matmul(WtW, start, out=scratch(work, "BH", (r, n_t), H.dtype))
    hals_sweeps(
        start, R, WtW, penalty.l1, penalty.l2, n_sweeps, SWEEP_DELTA, H,
        H if previous is None else previous, extrapolation, target,
    )
    gram = np.matmul(target, target.T, out=scratch(work, "gram", (r, r), H.dtype))
    return gram, H.any(axis=1)


def hals_w_update(
    W: np.ndarray, XHt: np.ndarray, HHt: np.ndarray, penalty: Penalty, n_sweeps: int,
    work: dict | None = None,
) -> None:
    """HALS sweeps on rows of W in place, from the reduced C = X Hᵀ and G = H Hᵀ.

    Every row of W is an independent problem given C and G, so the rows may be
    split into blocks (with the matching rows of C; the early stop is per tile
    of 64 rows, as in :func:`hals_h_update`).

    Parameters
    ----------
    W : ndarray, shape (m_t, r)
        Rows of W (a C-ordered block: the sweeps run on its transpose, a strided view).
    XHt : ndarray, shape (m_t, r)
        The same rows of C = Σ_b X_b H_bᵀ.
    HHt : ndarray, shape (r, r)
        G = Σ_b H_b H_bᵀ.
    penalty : Penalty
        Elastic-net penalty on W.
    n_sweeps : int
        Most sweeps (stopping as in :func:`hals_h_update`).
    work : dict, optional
        Scratch arrays kept across calls (one dict per row block).
    """
    Wt = W.T
    R = np.matmul(HHt, Wt, out=scratch(work, "R_w", Wt.shape, W.dtype))
    np.subtract(XHt.T, R, out=R)
    hals_columns(Wt, R, HHt, penalty.l1, penalty.l2, n_sweeps, SWEEP_DELTA)


def revive_dead_factors(W: np.ndarray, eps: float) -> None:
    """Give a column of W (m x r) that became all zero the value eps, so it can recover."""
    dead = ~W.any(axis=0)
    if dead.any():
        W[:, dead] = eps
