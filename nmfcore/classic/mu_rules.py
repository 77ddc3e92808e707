"""Multiplicative updates for β-NMF as rules on one tile of the data.

With V = W H, one update of H is

    H ← H ⊙ S( Wᵀ(M ⊙ X ⊙ V^(β−2)) ⊘ (Wᵀ(M ⊙ V^(β−1)) + penalty gradient) )

and symmetrically for W, where S(R) = R^γ(β) is the majorisation–minimisation
step (Févotte & Idier 2011) or, for 1 ≤ β ≤ 2, the relaxed step of
:func:`relaxed_factor`. Both keep the objective from increasing.

The rules take a tile X_t = X[I, J] (a :class:`~nmfcore.classic.blocks.DataBlock`)
with W_t = W[I] and H_t = H[:, J] and return
:class:`~nmfcore.classic.blocks.Partials`, the numerator and denominator of one
factor's update (see :mod:`nmfcore.classic.blocks` for which tiles' partials add
up). What moves between column blocks of X (blocks of items), per iteration:

- H: nothing; :func:`mu_h_partials` of block b gives H_b's whole update, and its
  loss D_β(X_b | W H_b) (one scalar).
- W: the sums over b of :func:`mu_w_partials`, m x r each, except: for β = 2
  without a mask the numerator X_b H_bᵀ (m x r) and the Gram matrix H_b H_bᵀ
  (r x r, the denominator is W Σ_b H_b H_bᵀ); for KL without a mask the
  numerator (X_b ⊘ W H_b) H_bᵀ (m x r) and the row sums of H_b (1 x r).

:func:`mu_update_h` and :func:`mu_update_w` then apply one step, with the
factor's :class:`MUStep`. The NumPy solver (:class:`nmfcore.classic.mu.MUSolver`)
runs these same functions over row blocks of a dense X on its threads.

Where they can, the rules touch a sparse X at its non-zeros only: KL runs
through fused compiled passes (:mod:`nmfcore.classic._mu_kernels`), β = 2 through
products with X, and other β evaluate W H at the non-zeros plus the dense
power terms in row blocks of bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmfcore.classic._mu_kernels import csr_quotient_product, dense_quotient, mu_step, xlogq_sum
from nmfcore.classic.blocks import (
    DataBlock,
    Partials,
    cross_product,
    frobenius_loss,
    scratch,
    transposed_cross_product,
)
from nmfcore.classic.penalty import Penalty
from nmfcore.classic.products import row_blocks, sampled_product, sparse_with_data


def mu_exponent(beta: float) -> float:
    """γ(β) of the MM multiplicative update."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def relaxed_factor(ratio: np.ndarray) -> np.ndarray:
    """The relaxed step's multiplier: R² where R ≤ 1, 2R − 1 where R > 1.

    For 1 ≤ β ≤ 2 the MU majoriser of one entry, as a function of its relative
    value t = h / h̃, is g(t) = t^β/β − R t^(β−1)/(β−1) (t − R log t at β = 1),
    minimised by the MM step t = R and touching the objective at t = 1. The
    relaxed step goes twice as far: R² downwards (twice as far in log t) and
    2R − 1 upwards (twice as far in t), and still has g(new) ≤ g(1), so the
    objective cannot increase. At β = 1, g(R²) − g(1) = R² − 1 − 2R log R and
    g(2R − 1) − g(1) = 2R − 2 − R log(2R − 1) are 0 at R = 1 and move away from
    it downhill; at β = 2, g(R²) − g(1) = ½ (R − 1)³ (R + 1) ≤ 0 for R ≤ 1 and
    2R − 1 is the mirror image of 1 on the parabola. Tests check a grid of β
    and R. The compiled :func:`nmfcore.classic._mu_kernels.mu_step` applies this rule.

    Parameters
    ----------
    ratio : ndarray
        MM ratios R ≥ 0 (numerator over denominator).

    Returns
    -------
    ndarray
        Same shape: the multiplier of the current factor entries.
    """
    return np.where(ratio <= 1.0, ratio * ratio, 2.0 * ratio - 1.0)


def relaxation_holds(beta: float, penalty: Penalty) -> bool:
    """Whether the relaxed step decreases the majoriser for this β and penalty.

    It needs 1 ≤ β ≤ 2; an L2 penalty keeps it only at β = 2, where it joins the
    quadratic majoriser exactly (for β < 2 the MU form of the L2 term is not a
    majoriser, so those factors take the plain step).
    """
    return 1.0 <= beta <= 2.0 and (beta == 2.0 or penalty.l2 == 0.0)


@dataclass(frozen=True)
class MUStep:
    """How one factor takes its multiplicative step.

    Attributes
    ----------
    gamma : float
        Exponent γ(β) of the MM step.
    relaxed : bool
        Take the relaxed step (:func:`relaxed_factor`) instead.
    l1, l2 : float
        The factor's elastic-net penalty, added to the denominator as l1 + l2 F.
    eps : float
        Floor of the denominator and of the factor's entries.
    """

    gamma: float
    relaxed: bool
    l1: float
    l2: float
    eps: float

    @classmethod
    def for_factor(cls, beta: float, penalty: Penalty, relaxed: bool, dtype: np.dtype) -> "MUStep":
        """The step of a factor with ``penalty``; relaxed only where :func:`relaxation_holds`."""
        return cls(
            mu_exponent(beta), relaxed and relaxation_holds(beta, penalty), penalty.l1, penalty.l2,
            float(np.finfo(dtype).eps),
        )

    def apply(self, F: np.ndarray, num: np.ndarray, den: np.ndarray) -> None:
        """F ← F ⊙ S(num ⊘ (den + l1 + l2 F)) in place (den: F's shape, or (p, 1) / (1, q))."""
        mu_step(F, num, den, self.l1, self.l2, self.gamma, self.relaxed, self.eps)


def mu_update_h(H: np.ndarray, partials: Partials, step: MUStep) -> None:
    """One multiplicative step on H_t (r x n_t) in place, from its reduced partials."""
    den = partials.den @ H if partials.form == "gram" else partials.den
    step.apply(H, partials.num, den)


def mu_update_w(W: np.ndarray, partials: Partials, step: MUStep) -> None:
    """One multiplicative step on W_t (m_t x r) in place, from its reduced partials."""
    den = W @ partials.den if partials.form == "gram" else partials.den
    step.apply(W, partials.num, den)


def mu_h_partials(
    block: DataBlock, W: np.ndarray, H: np.ndarray, beta: float, *, with_loss: bool = False,
    work: dict | None = None, h_sums: np.ndarray | None = None,
) -> Partials:
    """The terms of the MU update of H_t that the tile X_t contributes, and its loss.

    Parameters
    ----------
    block : DataBlock, shape (m_t, n_t)
        The tile X[I, J] (and its mask).
    W : ndarray, shape (m_t, r)
        W[I], C-ordered rows.
    H : ndarray, shape (r, n_t)
        H[:, J], the current coefficients of the tile's columns.
    beta : float
    with_loss : bool
        Also return D_β(X_t | W_t H_t) (masked entries left out) in ``loss``; it
        comes from the same W_t H_t as the terms (for β = 2 without a mask it
        costs one r x r product H_t H_tᵀ more).
    work : dict, optional
        Scratch arrays kept across calls (one dict per tile); the returned arrays
        may live there, until the next call with the same ``work``.
    h_sums : ndarray, shape (r,), optional
        ``H.sum(axis=1)`` if the caller has it (row blocks of X share the whole H);
        only KL without a mask uses it.

    Returns
    -------
    Partials
        ``num`` (r, n_t) = W_tᵀ(M ⊙ X_t ⊙ V^(β−2)); ``den`` (r, n_t) = W_tᵀ(M ⊙ V^(β−1)),
        or W_tᵀW_t ("gram", β = 2 without a mask), or the column sums of W_t
        ("sums", (r, 1), β = 1 without a mask). Sums over the tiles that share J;
        a column block (I = all rows) gives H_t's whole update.
    """
    if beta == 1:
        return _kl_h(block, W, H, with_loss, work, h_sums)
    if beta == 2 and block.mask is None:
        WtX = transposed_cross_product(block, W)
        WtW = W.T @ W
        loss = frobenius_loss(block.x_sq, float(np.vdot(WtX, H)), WtW, H @ H.T) if with_loss else None
        return Partials(WtX, WtW, "gram", loss)
    return _general_h(block, W, H, beta, with_loss, work)


def mu_w_partials(
    block: DataBlock, W: np.ndarray, H: np.ndarray, beta: float, *, work: dict | None = None,
    h_sums: np.ndarray | None = None,
) -> Partials:
    """The terms of the MU update of W_t that the tile X_t contributes.

    Parameters
    ----------
    block : DataBlock, shape (m_t, n_t)
    W : ndarray, shape (m_t, r)
        W[I], the current basis rows.
    H : ndarray, shape (r, n_t)
        H[:, J].
    beta : float
    work, h_sums
        As in :func:`mu_h_partials`.

    Returns
    -------
    Partials
        ``num`` (m_t, r) = (M ⊙ X_t ⊙ V^(β−2)) H_tᵀ; ``den`` (m_t, r) = (M ⊙ V^(β−1)) H_tᵀ,
        or H_t H_tᵀ ("gram", r x r, β = 2 without a mask), or the row sums of H_t
        ("sums", (1, r), β = 1 without a mask). Sums over the tiles that share I:
        over column blocks these are the m x r and r x r partials to reduce; a
        row block (J = all columns) gives W_t's whole update. ``loss`` is None.
    """
    if beta == 1:
        return _kl_w(block, W, H, work, h_sums)
    if beta == 2 and block.mask is None:
        return Partials(cross_product(block, H), H @ H.T, "gram")
    return _general_w(block, W, H, beta, work)


# -- KL: the quotient X ⊘ W H, in compiled passes ----------------------------


def _kl_h(
    block: DataBlock, W: np.ndarray, H: np.ndarray, with_loss: bool, work: dict | None, h_sums: np.ndarray | None
) -> Partials:
    X, M, dtype = block.X, block.mask, block.dtype
    w_sums = W.sum(axis=0)
    if with_loss and M is None and h_sums is None:
        h_sums = H.sum(axis=1)
    if block.sparse:
        XT = block.XT
        q = scratch(work, "q", (XT.nnz,), dtype)
        num_t = scratch(work, "num_h", (H.shape[1], H.shape[0]), dtype)
        csr_quotient_product(XT.indptr, XT.indices, XT.data, np.ascontiguousarray(H.T), W, q, num_t)
        loss = None
        if with_loss:
            loss = xlogq_sum(XT.data, q) - block.x_sum + float(w_sums @ h_sums)
        return Partials(num_t.T, w_sums[:, None], "sums", loss)
    V = np.matmul(W, H, out=scratch(work, "V", X.shape, dtype))
    observed_v = float(np.vdot(M, V)) if with_loss and M is not None else 0.0
    x_log_q = dense_quotient(X, V, with_loss)  # V now holds X ⊘ W H
    num = np.matmul(W.T, V, out=scratch(work, "num_h", H.shape, dtype))
    loss = None
    if M is None:
        if with_loss:
            loss = x_log_q - block.x_sum + float(w_sums @ h_sums)
        return Partials(num, w_sums[:, None], "sums", loss)
    den = np.matmul(W.T, M, out=scratch(work, "den_h", H.shape, dtype))
    if with_loss:
        loss = x_log_q - block.x_sum + observed_v
    return Partials(num, den, "full", loss)


def _kl_w(
    block: DataBlock, W: np.ndarray, H: np.ndarray, work: dict | None, h_sums: np.ndarray | None
) -> Partials:
    X, M, dtype = block.X, block.mask, block.dtype
    num = scratch(work, "num_w", W.shape, dtype)
    if M is None and h_sums is None:
        h_sums = H.sum(axis=1)
    if block.sparse:
        q = scratch(work, "q", (X.nnz,), dtype)
        csr_quotient_product(X.indptr, X.indices, X.data, W, np.ascontiguousarray(H.T), q, num)
        return Partials(num, h_sums[None, :], "sums")
    Q = np.matmul(W, H, out=scratch(work, "V", X.shape, dtype))
    dense_quotient(X, Q, False)
    np.matmul(Q, H.T, out=num)
    if M is None:
        return Partials(num, h_sums[None, :], "sums")
    return Partials(num, M @ H.T, "full")


# -- any other β (and β = 2 with a mask) --------------------------------------


def _approximation(block: DataBlock, W: np.ndarray, H: np.ndarray, work: dict | None) -> np.ndarray:
    """V = W_t H_t floored at eps, at the non-zeros of a sparse X_t or in full (V is raised to β − 2)."""
    X = block.X
    if block.sparse:
        V = sampled_product(W, H, X, out=scratch(work, "q", (X.nnz,), block.dtype))
    else:
        V = np.matmul(W, H, out=scratch(work, "V", X.shape, block.dtype))
    np.maximum(V, block.eps, out=V)
    return V


def _dense_divergence(X: np.ndarray, V: np.ndarray, M: np.ndarray | None, beta: float) -> float:
    """Σ d_β(X | V) over the observed entries of a dense tile (V floored)."""
    if beta == 2:
        R = X - V
        d = 0.5 * R * R
    elif beta == 0:
        ratio = X / V
        if M is not None:  # a hidden entry of X is 0, where d_0 is infinite (and ∞ · 0 is NaN)
            ratio[M == 0] = 1.0
        d = ratio - np.log(ratio) - 1.0
    else:
        d = (X**beta + (beta - 1) * V**beta - beta * X * V ** (beta - 1)) / (beta * (beta - 1))
    if M is not None:
        d *= M
    return float(d.sum())


def _general_h(
    block: DataBlock, W: np.ndarray, H: np.ndarray, beta: float, with_loss: bool, work: dict | None
) -> Partials:
    X, M = block.X, block.mask
    V = _approximation(block, W, H, work)
    if not block.sparse:
        loss = _dense_divergence(X, V, M, beta) if with_loss else None
        num = W.T @ (X * V ** (beta - 2))
        den_factor = V ** (beta - 1)
        if M is not None:
            den_factor *= M
        return Partials(num, W.T @ den_factor, "full", loss)
    x = X.data
    num = np.ascontiguousarray((sparse_with_data(X, x * V ** (beta - 2)).T @ W).T)
    # Wᵀ V^(β−1) needs every entry of W H: row blocks of bounded memory, which also
    # give the loss's Σ (W H)^β
    den = np.zeros_like(H)
    power_sum = 0.0
    for rows in row_blocks(*X.shape):
        P = np.maximum(W[rows] @ H, block.eps)
        den += W[rows].T @ P ** (beta - 1)
        if with_loss:
            power_sum += float(np.sum(P**beta))
    loss = None
    if with_loss:
        at_nonzeros = float(np.sum(x**beta - beta * x * V ** (beta - 1)))
        loss = (at_nonzeros + (beta - 1) * power_sum) / (beta * (beta - 1))
    return Partials(num, den, "full", loss)


def _general_w(block: DataBlock, W: np.ndarray, H: np.ndarray, beta: float, work: dict | None) -> Partials:
    X, M = block.X, block.mask
    V = _approximation(block, W, H, work)
    if not block.sparse:
        num = np.asarray((X * V ** (beta - 2)) @ H.T)
        den_factor = V ** (beta - 1)
        if M is not None:
            den_factor *= M
        return Partials(num, den_factor @ H.T, "full")
    num = np.asarray(sparse_with_data(X, X.data * V ** (beta - 2)) @ H.T)
    den = np.empty_like(W)
    for rows in row_blocks(*X.shape):
        den[rows] = np.maximum(W[rows] @ H, block.eps) ** (beta - 1) @ H.T
    return Partials(num, den, "full")
