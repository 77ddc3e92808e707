"""What runs on one chunk of items: the classic rules applied to a column block, and the sums.

Every function here is a task of one pass over the chunks of X (features x items, a
chunk holds every feature and a block of items, see :mod:`nmfcore.classic.blocks`):
it takes one chunk (a raw chunk as the array computes it, or a prepared
:class:`~nmfcore.classic.blocks.DataBlock`), that chunk's blocks of H, and the small
shared values (W, W^T W, the step), calls the rules of
:mod:`nmfcore.classic.mu_rules` and :mod:`nmfcore.classic.hals_rules`, and returns the
chunk's new H blocks followed by one *part*: the m x r, r x r and scalar partial sums
that :func:`total` adds up over the chunks. Nothing else leaves a chunk.

Tasks never modify their inputs (a scheduler may hand the same object to two tasks, or
run a task again after a worker was lost), so each H block is updated in a copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

import nmfcore.distributed.sizes  # noqa: F401  (Dask's sizes of our objects, registered wherever tasks run)
from nmfcore.classic.blocks import DataBlock, Partials, cross_product, summed_partials
from nmfcore.classic.hals_rules import hals_h_update
from nmfcore.classic.mu_rules import MUStep, mu_h_partials, mu_update_h, mu_w_partials
from nmfcore.classic.penalty import Penalty
from nmfcore.results import residual_sums


@dataclass(frozen=True)
class Prep:
    """How a raw chunk becomes the chunk a fit works on: X_b / s in the fit's dtype.

    Attributes
    ----------
    inv_scale : float
        1 / s, s the mean entry of X (the fit works on X / s, as :func:`nmfcore.nmf` does).
    dtype : numpy.dtype
    """

    inv_scale: float
    dtype: np.dtype


def prepared(chunk: Any, prep: Prep) -> DataBlock:
    """The chunk as a :class:`DataBlock` of X_b / s (a prepared block is returned as it is).

    The scaling is :func:`nmfcore.nmf`'s, entry by entry, so the chunks of X / s equal the
    columns of the in-memory X / s.
    """
    if isinstance(chunk, DataBlock):
        return chunk
    if sp.issparse(chunk):
        X = sp.csr_matrix(chunk)  # a CSR chunk as it is; its structure is shared, only the values are new
        data = (X.data * prep.inv_scale).astype(prep.dtype, copy=False)
        return DataBlock(sp.csr_matrix((data, X.indices, X.indptr), shape=X.shape))
    X = np.asarray(chunk)
    return DataBlock(np.multiply(X, prep.inv_scale, out=np.empty(X.shape, dtype=prep.dtype, order="C")))


# -- sums over chunks -------------------------------------------------------------


def total(parts: Sequence[Any]) -> Any:
    """The sum of the chunks' parts, in the order given; no part is modified.

    A part is a :class:`Partials` (summed by :func:`summed_partials`), an ndarray, a
    float, None, or a tuple of these (summed field by field).
    """
    first = parts[0]
    if isinstance(first, tuple) and not isinstance(first, Partials):
        return tuple(total([part[i] for part in parts]) for i in range(len(first)))
    if isinstance(first, Partials):
        head = Partials(first.num.copy(), first.den.copy(), first.form, first.loss)
        return summed_partials([head, *parts[1:]])
    if first is None:
        return None
    if isinstance(first, np.ndarray):
        out = first.copy()
        for part in parts[1:]:
            out += part
        return out
    return sum(parts[1:], first)


def chunk_stats(chunk: Any, dtype: np.dtype) -> tuple[float, float, int, np.ndarray]:
    """(Σ X_b, ‖X_b‖², stored entries, row sums of X_b (m,)) of a raw chunk, in ``dtype``."""
    X = chunk.astype(dtype, copy=False)
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        rows = np.asarray(X.sum(axis=1), dtype=np.float64).ravel()
        return float(X.sum()), float(X.multiply(X).sum()), int(X.nnz), rows
    X = np.asarray(X)
    return float(X.sum()), float(np.vdot(X, X)), int(X.size), X.sum(axis=1, dtype=np.float64)


# -- multiplicative updates ----------------------------------------------------------


def mu_pass(
    chunk: Any, H: np.ndarray, W: np.ndarray, prep: Prep, beta: float, step_H: MUStep, penalty_H: Penalty,
    with_loss: bool,
) -> tuple[np.ndarray, tuple]:
    """One MU iteration's work on a chunk: H_b's update, then the chunk's terms of W's.

    Parameters
    ----------
    chunk : raw chunk or DataBlock, shape (m, n_b)
    H : ndarray, shape (r, n_b)
        H_b at the iterate (W, H).
    W : ndarray, shape (m, r)
    prep, beta, step_H, penalty_H
        As the fit has them.
    with_loss : bool
        Also return D_β(X_b | W H_b) at the incoming iterate (β ≠ 2; the Frobenius loss
        comes from the W terms).

    Returns
    -------
    H_new : ndarray, shape (r, n_b)
    part : tuple
        (:class:`Partials` of W's update at (W, H_new), D_β(X_b | W H_b) or None,
        penalty of H_b, penalty of H_new).
    """
    block = prepared(chunk, prep)
    terms = mu_h_partials(block, W, H, beta, with_loss=with_loss)
    H_new = H.copy()
    mu_update_h(H_new, terms, step_H)
    w_terms = mu_w_partials(block, W, H_new, beta)
    return H_new, (w_terms, terms.loss, penalty_H.value(H), penalty_H.value(H_new))


def loss_pass(
    chunk: Any, H: np.ndarray, W: np.ndarray, prep: Prep, beta: float, penalty_H: Penalty, with_loss: bool,
) -> tuple[float | None, float, float, float]:
    """(D_β(X_b | W H_b) or None, penalty of H_b, ‖X_b − W H_b‖², ‖X_b‖²) on X / s."""
    block = prepared(chunk, prep)
    loss = mu_h_partials(block, W, H, beta, with_loss=True).loss if with_loss else None
    residual2, norm2 = residual_sums(block.X, W, H)
    return loss, penalty_H.value(H), residual2, norm2


# -- HALS ------------------------------------------------------------------------


def hals_pass(
    chunk: Any, H_start: np.ndarray, H_prev: np.ndarray, W: np.ndarray, WtW: np.ndarray, prep: Prep,
    penalty_H: Penalty, n_sweeps: int, extrapolation: float,
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """HALS sweeps on H_b from ``H_start`` with W fixed, the extrapolated point, and X_b H_extᵀ.

    With ``extrapolation`` = 0 this is a plain HALS update of H_b (``H_prev`` unused)
    and the point returned twice is the updated H_b.

    Returns
    -------
    H_new : ndarray, shape (r, n_b)
        The sweeps' result.
    H_ext : ndarray, shape (r, n_b)
        max(H_new + extrapolation (H_new − H_prev), 0), or H_new itself.
    part : tuple
        (H_ext H_extᵀ (r, r), how many columns keep each row of H_new alive (r,),
        X_b H_extᵀ (m, r), penalty of H_ext).
    """
    block = prepared(chunk, prep)
    H_new = np.empty_like(H_start)
    H_ext = np.empty_like(H_start) if extrapolation else None
    gram, alive = hals_h_update(
        block, W, H_new, WtW, penalty_H, n_sweeps, start=H_start, previous=H_prev,
        extrapolation=extrapolation, out=H_ext,
    )
    point = H_new if H_ext is None else H_ext
    part = (gram, alive.astype(np.int64), cross_product(block, point), penalty_H.value(point))
    return H_new, point, part


def revived(H: np.ndarray, dead: np.ndarray, eps: float, penalty_H: Penalty) -> tuple[np.ndarray, tuple]:
    """H_b with the rows dead in every chunk set to eps, and (its Gram matrix, its penalty)."""
    out = H.copy()
    out[dead] = eps
    return out, (out @ out.T, penalty_H.value(out))


# -- the factors' bookkeeping ------------------------------------------------------


def row_squares(H: np.ndarray) -> np.ndarray:
    """Σ over the chunk's columns of H_b², shape (r,) (for the rows' norms)."""
    return np.einsum("ij,ij->i", H, H)


def rescaled(H: np.ndarray, factor: float, divisor: np.ndarray | None) -> np.ndarray:
    """H_b · factor, then divided row by row by ``divisor`` when given (as :func:`nmfcore.nmf` rescales)."""
    out = H * factor
    if divisor is not None:
        out /= divisor[:, None]
    return out


def save_block(H: np.ndarray, path: str) -> str:
    """Write H_b to ``path`` (.npy) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.npy")
    np.save(partial, H)
    partial.replace(target)
    return path


def load_block(path: str) -> np.ndarray:
    """H_b read back from ``path``."""
    return np.load(path)
