"""Initial factors for NMF solvers.

NNDSVD (Boutsidis & Gallopoulos 2008) builds W and H from the positive and
negative parts of the leading singular vectors; its variants fill the zeros it
leaves with the mean of X ("nndsvda") or small random values ("nndsvdar"), which
multiplicative updates need because they cannot move an exact zero.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nmfcore.utils.validation import check_choice, check_matrix, check_positive_int, check_random_state, check_rank

INIT_METHODS = ("nndsvd", "nndsvda", "nndsvdar", "random")
#: Extra columns of the randomized SVD's sketch, here and in the chunked start.
OVERSAMPLE = 10
#: Power iterations of the in-memory randomized SVD.
POWER_ITERATIONS = 6


def _mean(X: np.ndarray | sp.spmatrix) -> float:
    return float(X.sum()) / (X.shape[0] * X.shape[1])


def flip_signs(U: np.ndarray) -> np.ndarray:
    """Signs, shape (r,), that make each column of U's largest-magnitude entry positive.

    The convention of scikit-learn's ``svd_flip`` on U, so that a start point does not
    depend on the arbitrary signs an SVD returns.
    """
    signs = np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])])
    signs[signs == 0] = 1.0
    return signs


def leading_svd(
    X: np.ndarray | sp.spmatrix, rank: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``rank`` singular triplets by a randomized SVD, the same path for dense and sparse X.

    Halko, Martinsson & Tropp (2011), Algorithm 4.4: a Gaussian sketch of
    rank + :data:`OVERSAMPLE` columns, :data:`POWER_ITERATIONS` power iterations
    normalised by LU on both sides (as scikit-learn does), an orthonormal basis by QR,
    then the SVD of the small k x n projection, in X's precision (SciPy's LU and SVD). These
    are the settings nmfcore called scikit-learn's ``randomized_svd`` with; doing it here
    with NumPy and SciPy spares a first fit the 0.9 s of importing scikit-learn. The
    chunked start (:mod:`nmfcore.distributed.init`) shares its oversampling and signs, with
    fewer power iterations, each one pass over the chunks.

    Returns
    -------
    U : ndarray, shape (m, r)
    S : ndarray, shape (r,)
    Vt : ndarray, shape (r, n)
        Signs as :func:`flip_signs` chooses them.
    """
    from scipy.linalg import lu, svd  # loaded already by numba's first kernel

    m, n = X.shape
    k = min(rank + OVERSAMPLE, m, n)
    # in X's precision: a float64 sketch would make SciPy copy a float32 X to float64 at every product
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    Q = np.random.default_rng(int(rng.integers(0, 2**31 - 1))).standard_normal((n, k)).astype(dtype)
    for _ in range(POWER_ITERATIONS):
        # LU keeps the columns apart between products at a fraction of QR's cost on the n side
        Q = lu(np.asarray(X @ Q), permute_l=True, check_finite=False)[0]
        Q = lu(np.asarray(X.T @ Q), permute_l=True, check_finite=False)[0]
    Q = np.linalg.qr(np.asarray(X @ Q))[0]
    B = np.asarray(X.T @ Q).T  # Qᵀ X, k x n
    U_B, S, Vt = svd(B, full_matrices=False, check_finite=False)  # SciPy's: twice NumPy's speed on a wide B
    U = (Q @ U_B[:, :rank]).astype(np.float64, copy=False)
    signs = flip_signs(U)
    return U * signs, S[:rank].astype(np.float64), Vt[:rank].astype(np.float64) * signs[:, None]


def _nndsvd(X: np.ndarray | sp.spmatrix, rank: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    U, S, Vt = leading_svd(X, rank, rng)
    W = np.zeros((X.shape[0], rank))
    H = np.zeros((rank, X.shape[1]))
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(S[0]) * np.abs(Vt[0])
    for j in range(1, rank):
        x, y = U[:, j], Vt[j]
        xp, xn = np.maximum(x, 0), np.maximum(-x, 0)
        yp, yn = np.maximum(y, 0), np.maximum(-y, 0)
        xpn, ypn = np.linalg.norm(xp), np.linalg.norm(yp)
        xnn, ynn = np.linalg.norm(xn), np.linalg.norm(yn)
        if xpn * ypn >= xnn * ynn:
            u, v, sigma = xp / max(xpn, 1e-300), yp / max(ypn, 1e-300), xpn * ypn
        else:
            u, v, sigma = xn / max(xnn, 1e-300), yn / max(ynn, 1e-300), xnn * ynn
        scale = np.sqrt(S[j] * sigma)
        W[:, j] = scale * u
        H[j] = scale * v
    W[W < 1e-12] = 0
    H[H < 1e-12] = 0
    return W, H


def initialize(
    X: np.ndarray | sp.spmatrix,
    rank: int,
    init: str = "nndsvda",
    random_state: None | int | np.random.Generator = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Initial nonnegative factors for ``X ≈ W H``.

    Parameters
    ----------
    X : ndarray or sparse matrix, shape (m, n)
        Nonnegative data.
    rank : int
        Number of factors r.
    init : {"nndsvd", "nndsvda", "nndsvdar", "random"}
        "random" draws uniform entries scaled so that the mean of W H equals the
        mean of X.
    random_state : int, Generator or None
        Seed for the randomized SVD and the random variants.

    Returns
    -------
    W : ndarray, shape (m, r)
    H : ndarray, shape (r, n)
        Same floating dtype as X.
    """
    X = check_matrix(X)
    check_choice(init, "init", INIT_METHODS)
    # the SVD needs r <= min(m, n); a random start takes any rank
    rank = check_positive_int(rank, "rank") if init == "random" else check_rank(rank, X.shape)
    rng = check_random_state(random_state)
    mean = _mean(X)
    if init == "random":
        scale = 2.0 * np.sqrt(mean / rank)
        W = scale * rng.random((X.shape[0], rank))
        H = scale * rng.random((rank, X.shape[1]))
    else:
        W, H = _nndsvd(X, rank, rng)
        if init == "nndsvda":
            W[W == 0] = mean
            H[H == 0] = mean
        elif init == "nndsvdar":
            W[W == 0] = mean / 100 * rng.random(int((W == 0).sum()))
            H[H == 0] = mean / 100 * rng.random(int((H == 0).sum()))
    return W.astype(X.dtype, copy=False), H.astype(X.dtype, copy=False)


def check_custom_init(
    init: tuple[np.ndarray, np.ndarray], shape: tuple[int, int], rank: int, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a user-supplied ``(W, H)`` pair and return float copies of it."""
    if not (isinstance(init, (tuple, list)) and len(init) == 2):
        raise ValueError(
            f"init must be one of {INIT_METHODS} or a (W, H) pair of arrays, got {type(init).__name__}"
        )
    W = np.array(init[0], dtype=dtype)
    H = np.array(init[1], dtype=dtype)
    m, n = shape
    if W.shape != (m, rank) or H.shape != (rank, n):
        raise ValueError(
            f"init=(W, H) must have shapes ({m}, {rank}) and ({rank}, {n}), got {W.shape} and {H.shape}"
        )
    for name, A in (("W", W), ("H", H)):
        if not np.all(np.isfinite(A)) or np.any(A < 0):
            raise ValueError(f"init {name} must be finite and nonnegative")
    return W, H
