"""Tiles of the data, the partial sums that move between them, and the Frobenius loss.

The update rules of :mod:`nmfcore.classic.mu_rules` and
:mod:`nmfcore.classic.hals_rules` work on one *tile* of the problem at a time:

    X_t = X[I, J]  (m_t x n_t),   W_t = W[I]  (m_t x r),   H_t = H[:, J]  (r x n_t)

for a set of rows I and of columns J. A rule returns *partial sums*: the terms
of the H update (shape r x n_t, or r x r, or r x 1) are sums over the tiles
that share the columns J; the terms of the W update (m_t x r, or r x r, or
1 x r) are sums over the tiles that share the rows I. So:

- over **column blocks** (I = all rows; a block of items, as a chunked array
  holds them), the H update is local to each block, and the W update needs
  its m x r and r x r partials summed over the blocks (a tree reduction);
- over **row blocks** (J = all columns; how the NumPy solvers thread a dense X),
  the W update is local and the H terms (r x n) are summed.

Nothing else moves between blocks: never a block of X, nor an m x n array.
Per-block constants of the data (its sum, its squared norm, the transpose of a
sparse block) are computed once, by :class:`DataBlock`.
"""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple, Sequence

import numpy as np
import scipy.sparse as sp

from nmfcore.utils.parallel import summed


class DataBlock:
    """One tile X_t of the data, with the constants the rules reuse across iterations.

    Parameters
    ----------
    X : ndarray or csr_matrix, shape (m_t, n_t)
        Nonnegative data. A dense tile may be a strided view (a column block of
        a C-ordered X); missing entries already set to 0.
    mask : ndarray, shape (m_t, n_t), optional
        1 = observed, 0 = missing; the same tile of the mask. Dense X only.
    XT : csr_matrix, shape (n_t, m_t), optional
        X's transpose in CSR form, when the caller has it (sparse X only); else it is
        formed on first use.

    Attributes
    ----------
    X, mask
        As given.
    sparse : bool
    eps : float
        Machine epsilon of X's dtype, the floor of the multiplicative updates.
    """

    def __init__(self, X: np.ndarray | sp.csr_matrix, mask: np.ndarray | None = None,
                 XT: sp.csr_matrix | None = None) -> None:
        self.sparse = sp.issparse(X)
        if self.sparse and mask is not None:
            raise ValueError("a sparse data block takes no mask; densify X where a mask is given")
        if mask is not None and mask.shape != X.shape:
            raise ValueError(f"the mask block has shape {mask.shape}, but X's block has {X.shape}")
        self.X, self.mask = X, mask
        self.eps = float(np.finfo(X.dtype).eps)
        if XT is not None:
            if not self.sparse or XT.shape != X.shape[::-1]:
                raise ValueError(f"XT must be the sparse transpose of X, shape {X.shape[::-1]}")
            self.__dict__["XT"] = XT  # where the cached property below keeps its value

    @property
    def shape(self) -> tuple[int, int]:
        """(m_t, n_t)."""
        return self.X.shape

    @property
    def dtype(self) -> np.dtype:
        """X's floating dtype."""
        return self.X.dtype

    @cached_property
    def XT(self) -> sp.csr_matrix:
        """X_tᵀ in CSR form, shape (n_t, m_t) (sparse X only): its columns as rows."""
        return self.X.T.tocsr()

    @cached_property
    def x_sum(self) -> float:
        """Σ of the (observed) entries of X_t."""
        return float(self.X.sum())

    @cached_property
    def x_sq(self) -> float:
        """‖X_t‖²_F."""
        return float(self.X.multiply(self.X).sum()) if self.sparse else float(np.vdot(self.X, self.X))


def scratch(work: dict | None, key: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An array of ``shape`` kept in ``work`` under ``key`` across calls (fresh pages are slow).

    With ``work=None`` it is a new array each call.
    """
    if work is None:
        return np.empty(shape, dtype=dtype)
    array = work.get(key)
    if array is None or array.shape != shape or array.dtype != dtype:
        array = work[key] = np.empty(shape, dtype=dtype)
    return array


class Partials(NamedTuple):
    """The terms of one factor's multiplicative update contributed by one tile.

    Attributes
    ----------
    num : ndarray
        Numerator, the factor tile's shape: (r, n_t) for H, (m_t, r) for W.
    den : ndarray
        Denominator, in the form ``form`` names.
    form : {"full", "gram", "sums"}
        "full": ``den`` has ``num``'s shape. "gram" (β = 2 without a mask): ``den``
        is the r x r Gram matrix of the other factor (W_tᵀW_t for H, H_tH_tᵀ for
        W) and the denominator is ``den @ H`` or ``W @ den``. "sums" (β = 1
        without a mask): ``den`` holds the other factor's sums, (r, 1) column
        sums of W_t for H, (1, r) row sums of H_t for W.
    loss : float or None
        The tile's β-divergence D_β(X_t | W_t H_t) when it was asked for.
    """

    num: np.ndarray
    den: np.ndarray
    form: str
    loss: float | None = None


def summed_partials(parts: Sequence[Partials]) -> Partials:
    """Sum of the partials of several tiles, accumulated in the first one's arrays, in order.

    Parameters
    ----------
    parts : sequence of Partials
        Of one factor's update, from tiles that share its block (rows for W,
        columns for H); all of one ``form``.

    Returns
    -------
    Partials
        ``loss`` is None unless every part has one.
    """
    if len(parts) == 1:
        return parts[0]
    if len({p.form for p in parts}) != 1:
        raise ValueError("partials of different forms cannot be summed")
    losses = [p.loss for p in parts]
    loss = None if any(value is None for value in losses) else sum(losses)
    return Partials(summed([p.num for p in parts]), summed([p.den for p in parts]), parts[0].form, loss)


def cross_product(block: DataBlock, H: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """X_t H_tᵀ, the tile's part of X Hᵀ (summed over column blocks).

    Parameters
    ----------
    block : DataBlock, shape (m_t, n_t)
    H : ndarray, shape (r, n_t)
    out : ndarray, shape (m_t, r), optional

    Returns
    -------
    ndarray, shape (m_t, r)
    """
    if block.sparse:
        product = block.X @ H.T
        if out is None:
            return np.asarray(product)
        out[...] = product
        return out
    return np.matmul(block.X, H.T, out=out)


def transposed_cross_product(block: DataBlock, W: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """W_tᵀ X_t, the tile's part of Wᵀ X (summed over row blocks).

    Parameters
    ----------
    block : DataBlock, shape (m_t, n_t)
    W : ndarray, shape (m_t, r)
    out : ndarray, shape (r, n_t), optional

    Returns
    -------
    ndarray, shape (r, n_t), C-ordered
    """
    if block.sparse:
        product = (block.XT @ W).T
        if out is None:
            return np.ascontiguousarray(product)
        out[...] = product
        return out
    return np.matmul(W.T, block.X, out=out)


def frobenius_loss(x_sq: float, cross: float, WtW: np.ndarray, HHt: np.ndarray) -> float:
    """½ ‖X − W H‖²_F from reduced sums, with no product with X.

    ½ (‖X‖² − 2 ⟨W, X Hᵀ⟩ + ⟨WᵀW, H Hᵀ⟩), each term a sum over blocks.

    Parameters
    ----------
    x_sq : float
        ‖X‖²_F (Σ of the blocks' :attr:`DataBlock.x_sq`).
    cross : float
        ⟨W, X Hᵀ⟩ = ⟨Wᵀ X, H⟩ (Σ over blocks of either inner product).
    WtW : ndarray, shape (r, r)
    HHt : ndarray, shape (r, r)

    Returns
    -------
    float
        Clipped at 0 (cancellation can make it slightly negative at an exact fit).
    """
    quad = float(np.vdot(WtW, HHt))
    return max(0.5 * (x_sq - 2.0 * cross + quad), 0.0)
