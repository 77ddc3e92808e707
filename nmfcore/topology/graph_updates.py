"""The multiplicative step of graph-regularised NMF, shared by GNMF and persistent NMF.

For ‖X - W H‖_F² + λ Tr(H L Hᵀ), L = diag(A 1) - A, the updates of Cai et al.
(IEEE TPAMI 2011)

    W <- W ⊙ (X Hᵀ) ⊘ (W H Hᵀ),
    H <- H ⊙ (WᵀX + λ H A) ⊘ (WᵀW H + λ H diag(A 1)),

never increase the objective. :func:`nmfcore.topology.graph_nmf.gnmf` iterates
them; persistent NMF runs them in its initial coarse-to-fine chain.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

# Floor of the denominators of the multiplicative updates and of the relative
# stopping test.
EPS = 1e-16

Adjacency = np.ndarray | sp.spmatrix | Callable[[np.ndarray], np.ndarray]


def graph_product(A: Adjacency, H: np.ndarray) -> np.ndarray:
    """H A for a symmetric adjacency A, shape (r, n).

    Parameters
    ----------
    A : ndarray or sparse matrix of shape (n, n), or a callable H -> H A
    H : ndarray, shape (r, n)
    """
    if callable(A):
        return A(H)
    if sp.issparse(A):
        return np.asarray(A @ H.T).T
    return H @ A


def graph_energy(H: np.ndarray, HA: np.ndarray, deg: np.ndarray) -> float:
    """Tr(H L Hᵀ) = Σ_j deg_j ‖h_j‖² - <H A, H>, accumulated in float64.

    Parameters
    ----------
    H, HA : ndarray, shape (r, n)
        The factor and its graph product H A.
    deg : ndarray, shape (n,)
        Degrees A 1.
    """
    return float(
        np.einsum("ij,j,ij->", H, deg, H, dtype=np.float64) - np.einsum("ij,ij->", HA, H, dtype=np.float64)
    )


def _xt_w(X, W: np.ndarray) -> np.ndarray:
    """WᵀX, shape (r, n), for dense or sparse X."""
    if sp.issparse(X):
        return np.asarray(X.T @ W).T
    return W.T @ X


def graph_step(
    X: np.ndarray | sp.csr_matrix,
    W: np.ndarray,
    H: np.ndarray,
    HA: np.ndarray,
    A: Adjacency,
    deg: np.ndarray,
    weight: float,
    xx: float,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One W and one H multiplicative update of ‖X - WH‖² + weight Tr(H L Hᵀ), in place.

    Parameters
    ----------
    X : ndarray or csr_matrix, shape (m, n)
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
    HA : ndarray, shape (r, n)
        H A at the current H; overwritten with H A at the new H.
    A : adjacency, see :func:`graph_product`
    deg : ndarray, shape (n,)
        Degrees A 1.
    weight : float
        λ >= 0; with 0 the graph is never touched (plain multiplicative NMF).
    xx : float
        ‖X‖_F².

    Returns
    -------
    W, H : the updated factors (the arrays passed in)
    recon : float
        ‖X - WH‖_F² at the new factors.
    graph : float
        Tr(H L Hᵀ) at the new H (0 when ``weight`` is 0).
    """
    HHt = H @ H.T
    XHt = np.asarray(X @ H.T)
    W *= XHt / np.maximum(W @ HHt, EPS)
    WtX = _xt_w(X, W)
    WtW = W.T @ W
    num = WtX + weight * HA
    den = WtW @ H + weight * H * deg
    H *= num / np.maximum(den, EPS)
    HA[...] = graph_product(A, H) if weight else 0.0
    recon = (
        xx
        - 2.0 * np.einsum("ij,ij->", WtX, H, dtype=np.float64)
        + np.einsum("ij,ij->", WtW, H @ H.T, dtype=np.float64)
    )
    graph = graph_energy(H, HA, deg) if weight else 0.0
    return W, H, max(float(recon), 0.0), graph
