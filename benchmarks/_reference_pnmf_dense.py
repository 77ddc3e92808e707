"""Dense baseline: the published pNMF formulation as the authors' code runs it.

Written for the benchmark from the description in ALGORITHMS.md section 3 (not
a copy of the authors' code): the n x n distance matrix, one dense n x n
adjacency per scale for all T scales at once (degrees kept as vectors, the
Laplacian never stored, so this is the leanest dense variant), NNDSVDA then a
GNMF chain from the coarsest to the finest scale run to convergence at every
scale, then a fixed number of Gauss–Seidel sweeps t = 1..T whose inner loops
run Lin's safeguarded multiplicative updates until the relative change of the
scale's loss is at most 1e-3, renormalising the columns of W after each step.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist, squareform

from nmfcore.classic.init import initialize
from nmfcore.topology.scales import canonical_scales

_SAFE = 1e-9


def dense_graphs(X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Canonical scales and the dense adjacency and degree vector of every scale."""
    D = squareform(pdist(X.T))
    scales = canonical_scales(X)
    off_diagonal = ~np.eye(D.shape[0], dtype=bool)
    adjacency, degrees = [], []
    for eps in scales:
        A = np.where((D < eps) & off_diagonal, np.exp(-(D**2) / eps**1.5), 0.0)
        adjacency.append(A)
        degrees.append(A.sum(axis=1))
    return scales, adjacency, degrees


def _loss(X, W, H, A, deg, l1, prev, a, nxt, b, l3) -> float:
    graph = np.sum(H * H * deg) - np.sum((H @ A) * H)
    return float(
        np.sum((X - W @ H) ** 2)
        + l1 * graph
        + a * np.sum((H - prev) ** 2)
        + b * np.sum((H - nxt) ** 2)
        + l3 * np.sum(H**2)
    )


def _safeguarded_step(X, W, H, A, deg, l1, prev, a, nxt, b, l3):
    grad_w = W @ (H @ H.T) - X @ H.T
    W_safe = np.where(grad_w >= 0, W, np.maximum(W, _SAFE))
    W = W - W_safe / (W_safe @ (H @ H.T) + _SAFE) * grad_w
    WtW = W.T @ W
    grad_h = WtW @ H - W.T @ X + l1 * (H * deg - H @ A) + a * (H - prev) + b * (H - nxt) + l3 * H
    H_safe = np.where(grad_h >= 0, H, np.maximum(H, _SAFE))
    den = WtW @ H_safe + l1 * H_safe * deg + (a + b + l3) * H_safe + _SAFE
    H = H - H_safe / den * grad_h
    norms = np.linalg.norm(W, axis=0)
    return W / norms, H * norms[:, None]


def _fit_scale(X, W, H, A, deg, l1, prev, a, nxt, b, l3, tol=1e-3, max_iter=1000):
    previous = _loss(X, W, H, A, deg, l1, prev, a, nxt, b, l3)
    for _ in range(max_iter):
        W, H = _safeguarded_step(X, W, H, A, deg, l1, prev, a, nxt, b, l3)
        current = _loss(X, W, H, A, deg, l1, prev, a, nxt, b, l3)
        if abs(previous - current) <= tol * abs(previous):
            break
        previous = current
    return W, H


def reference_pnmf(X: np.ndarray, rank: int, lambdas=(1.0, 1.0, 1.0), n_sweeps: int = 10, random_state=0):
    """Dense pNMF; returns (scales, H list finest first, total loss after each sweep)."""
    l1, l2, l3 = lambdas
    scales, adjacency, degrees = dense_graphs(X)
    T = len(scales)
    W, H = initialize(X, rank, "nndsvda", random_state)
    Ws, Hs = [None] * T, [None] * T
    zero = np.zeros_like(H)
    for t in range(T - 1, -1, -1):
        W, H = _fit_scale(X, W, H, adjacency[t], degrees[t], l1, zero, 0.0, zero, 0.0, 0.0)
        Ws[t], Hs[t] = W, H
    totals = []
    for _ in range(n_sweeps):
        for t in range(T):
            a = l2 if t > 0 else 0.0
            b = l2 if t < T - 1 else 0.0
            prev, nxt = Hs[max(t - 1, 0)], Hs[min(t + 1, T - 1)]
            Ws[t], Hs[t] = _fit_scale(X, Ws[t], Hs[t], adjacency[t], degrees[t], l1, prev, a, nxt, b, l3)
        total = sum(
            np.sum((X - Ws[t] @ Hs[t]) ** 2)
            + l1 * (np.sum(Hs[t] ** 2 * degrees[t]) - np.sum((Hs[t] @ adjacency[t]) * Hs[t]))
            + l3 * np.sum(Hs[t] ** 2)
            for t in range(T)
        ) + l2 * sum(np.sum((Hs[t] - Hs[t - 1]) ** 2) for t in range(1, T))
        totals.append(float(total))
    return scales, Hs, totals
